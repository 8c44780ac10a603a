/* menu.c - finds model and tokenizer files on the volume, classifies them
 * (usable model, broken model with its reason, tokenizer) and prints the
 * numbered model menu. */
#include "menu.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"
#include "quant.h"
#include "kernels.h"
#include "tokenizer.h"
#include "transformer.h"

/* A llama2.c tokenizer needs <unk>, BOS, EOS and the 256 byte tokens. */
#define MIN_TOKENIZER_VOCAB 259

struct scan_ctx {
    struct catalog *c;
    const char *dir;
};

static void classify(struct catalog_entry *e)
{
    char err[sizeof e->error];
    uint64_t size;
    if (model_probe_file(e->path, &e->cfg, &size, e->error, sizeof e->error) == 0) {
        e->kind = CAT_MODEL;
        return;
    }
    /* not a model: maybe a tokenizer; otherwise keep the model's reason */
    struct tokenizer t;
    if (tokenizer_load(&t, e->path, err, sizeof err) == 0) {
        int vocab = tokenizer_vocab_size(&t);
        tokenizer_free(&t);
        if (vocab >= MIN_TOKENIZER_VOCAB) {
            e->kind = CAT_TOKENIZER;
            e->vocab_size = vocab;
            return;
        }
    }
    e->kind = CAT_BROKEN;
}

static int on_entry(const struct plat_dirent *d, void *ctx)
{
    struct scan_ctx *s = ctx;
    struct catalog *c = s->c;
    uint32_t part, parts;
    if (d->is_dir || !(str_ends_with_ci(d->name, ".bin") || str_ends_with_ci(d->name, ".gguf")))
        return 0;
    if (gguf_split_name(d->name, &part, &parts) && part > 1)
        return 0; /* later parts of a split model load with the first */
    if (c->n == CATALOG_MAX)
        return 1;
    struct catalog_entry *e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    if (fmt_snprintf(e->path, sizeof e->path, "%s%s%s", s->dir, *s->dir ? "/" : "",
                     d->name) >= (int)sizeof e->path)
        return 0; /* a path this long cannot be a model we were asked for */
    e->size = d->size;
    classify(e);
    c->n++;
    return 0;
}

/* Orders entries by path so the menu is the same on every boot. */
static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct catalog_entry *)a)->path,
                  ((const struct catalog_entry *)b)->path);
}

uint64_t model_memory_need(const struct model_config *cfg)
{
    uint64_t state = 0;
    run_state_bytes(cfg, &state);
    return cfg->weight_bytes + state;
}

void catalog_scan(struct catalog *c)
{
    static struct catalog_entry tmp[CATALOG_MAX];
    c->n = 0;
    c->mem_free = plat_mem_free();
    if (c->bandwidth == 0.0)
        c->bandwidth = k_read_bandwidth(); /* once: it takes a moment */
    struct scan_ctx root = {c, ""}, models = {c, "models"};
    plat_dir_list("", on_entry, &root);
    plat_dir_list("models", on_entry, &models);
    lib_sort(c->e, (size_t)c->n, sizeof c->e[0], tmp, by_path);
    c->n_choices = 0;
    for (int i = 0; i < c->n; i++) {
        struct catalog_entry *e = &c->e[i];
        c->n_choices += e->kind != CAT_TOKENIZER;
        if (e->kind == CAT_MODEL) {
            e->need_bytes = model_memory_need(&e->cfg);
            e->too_big = c->mem_free && e->need_bytes > c->mem_free;
        }
    }
}

const struct catalog_entry *catalog_choice(const struct catalog *c, int i)
{
    for (int k = 0; k < c->n; k++)
        if (c->e[k].kind != CAT_TOKENIZER && i-- == 0)
            return &c->e[k];
    return NULL;
}

int catalog_find(const struct catalog *c, const char *path)
{
    for (int i = 0; i < c->n_choices; i++) {
        const struct catalog_entry *e = catalog_choice(c, i);
        if (!str_casecmp(e->path, path) || !str_casecmp(path_base(e->path), path))
            return i;
    }
    return -1;
}

int catalog_first_model(const struct catalog *c)
{
    for (int i = 0; i < c->n_choices; i++)
        if (catalog_choice(c, i)->kind == CAT_MODEL)
            return i;
    return -1;
}

/* How well a tokenizer file name fits a model: 2 when it starts with the
 * model's stem ("aidreams260K_tok512.bin" for "aidreams260K.bin"), 1 for the
 * conventional names (tok512.bin, tokenizer.bin), 0 otherwise. */
static int tokenizer_fit(const char *tok_path, const char *model_path, int vocab)
{
    const char *tok = path_base(tok_path), *model = path_base(model_path);
    size_t stem = 0;
    while (model[stem] && model[stem] != '.')
        stem++;
    if (stem && !strncmp(tok, model, stem) && (tok[stem] == '_' || tok[stem] == '.'))
        return 2;
    char conventional[32];
    fmt_snprintf(conventional, sizeof conventional, "tok%d.bin", vocab);
    return !str_casecmp(tok, conventional) || !str_casecmp(tok, "tokenizer.bin");
}

const char *catalog_tokenizer_for(const struct catalog *c, int vocab_size, const char *model_path)
{
    const char *best = NULL;
    int best_fit = -1;
    for (int i = 0; i < c->n; i++) {
        const struct catalog_entry *e = &c->e[i];
        if (e->kind != CAT_TOKENIZER || e->vocab_size != vocab_size)
            continue;
        int fit = tokenizer_fit(e->path, model_path, vocab_size);
        if (fit > best_fit) {
            best = e->path;
            best_fit = fit;
        }
    }
    return best;
}

void model_config_describe(const struct model_config *cfg, char *buf, size_t cap)
{
    static const char *const formats[] = {"?", "llama2.c", "llama2.c v1", "GGUF", "llama2.c v2"};
    fmt_snprintf(buf, cap, "%s%s%s %s %s, %llu.%02lluM params, dim %d, hidden %d, %d layers, "
                 "%d heads, %d kv heads, vocab %d, context %d",
                 cfg->family, cfg->family[0] ? ": " : "",
                 formats[cfg->format], cfg->arch == ARCH_PHI2 ? "phi2" : "llama",
                 cfg->weight_type == TENSOR_Q8_GROUPS ? "int8 groups" : qtype_name(cfg->weight_type),
                 (unsigned long long)(cfg->n_params / 1000000),
                 (unsigned long long)(cfg->n_params / 10000 % 100), cfg->dim, cfg->hidden_dim,
                 cfg->n_layers, cfg->n_heads, cfg->n_kv_heads, cfg->vocab_size,
                 cfg->ctx_train);
}

static void print_size(uint64_t bytes)
{
    if (bytes >= (10u << 20))
        con_printf("%llu MiB", (unsigned long long)(bytes >> 20));
    else
        con_printf("%llu KiB", (unsigned long long)((bytes + 1023) >> 10));
}

void catalog_print(const struct catalog *c, int sel)
{
    con_printf("\nModels on this volume:\n");
    for (int i = 0; i < c->n_choices; i++) {
        const struct catalog_entry *e = catalog_choice(c, i);
        con_printf("%s%2d. %s  (", i == sel ? "> " : "  ", i + 1, e->path);
        print_size(e->size);
        con_printf(")\n");
        if (e->kind == CAT_MODEL) {
            char desc[200];
            model_config_describe(&e->cfg, desc, sizeof desc);
            con_printf("      %s\n", desc);
            con_printf("      needs %llu MiB", (unsigned long long)(e->need_bytes >> 20));
            if (e->too_big)
                con_printf(" -- TOO BIG: %llu MiB free\n",
                           (unsigned long long)(c->mem_free >> 20));
            else if (c->bandwidth > 0 && e->cfg.token_bytes)
                con_printf(", at most ~%.0f tokens/s (memory bound at %.1f GB/s)\n",
                           c->bandwidth / (double)e->cfg.token_bytes, c->bandwidth / 1e9);
            else
                con_printf("\n");
        } else {
            con_printf("      unusable: %s\n", e->error);
        }
    }
    int n_tok = 0;
    for (int i = 0; i < c->n; i++)
        if (c->e[i].kind == CAT_TOKENIZER)
            con_printf("%s%s (%d tokens)", n_tok++ ? ", " : "Tokenizers: ", c->e[i].path,
                       c->e[i].vocab_size);
    if (n_tok)
        con_printf("\n");
}

void catalog_print_details(const struct catalog *c, int i)
{
    const struct catalog_entry *e = catalog_choice(c, i);
    if (!e)
        return;
    con_printf("\n== %s ==\nfile size: %llu bytes\n", e->path, (unsigned long long)e->size);
    if (e->kind != CAT_MODEL) {
        con_printf("unusable: %s\n", e->error);
        return;
    }
    const struct model_config *m = &e->cfg;
    con_printf("format %d, architecture %s, weights %s, %llu parameters\n"
               "dim %d, hidden %d, layers %d, heads %d, kv heads %d, head size %d, "
               "rotary dims %d, rope base %.1f, norm eps %.7f\n"
               "vocabulary %d, trained context %d, KV cache for %d positions%s\n"
               "memory: %llu MiB weights + %llu MiB cache and buffers; %llu MiB free\n",
               m->format, m->arch == ARCH_PHI2 ? "phi2" : "llama",
               m->weight_type == TENSOR_Q8_GROUPS ? "int8 groups" : qtype_name(m->weight_type),
               (unsigned long long)m->n_params, m->dim, m->hidden_dim, m->n_layers,
               m->n_heads, m->n_kv_heads, model_head_size(m), m->rope_dim,
               (double)m->rope_theta, (double)m->norm_eps, m->vocab_size, m->ctx_train,
               m->seq_len, m->sliding_window ? ", sliding window" : "",
               (unsigned long long)(m->weight_bytes >> 20),
               (unsigned long long)((e->need_bytes - m->weight_bytes) >> 20),
               (unsigned long long)(c->mem_free >> 20));
    if (m->format != MODEL_FMT_GGUF)
        return;
    struct gguf_file g;
    char err[200];
    if (gguf_open(&g, e->path, err, sizeof err)) {
        con_printf("%s\n", err);
        return;
    }
    con_printf("metadata (%llu keys), %llu tensors:\n", (unsigned long long)g.n_kv,
               (unsigned long long)g.n_tensors);
    for (uint64_t k = 0; k < g.n_kv; k++) {
        char val[120];
        gguf_kv_format(&g.kv[k], val, sizeof val);
        con_printf("  %.*s = %s\n", (int)MIN(g.kv[k].key.n, 80), g.kv[k].key.s, val);
    }
    gguf_close(&g);
}
