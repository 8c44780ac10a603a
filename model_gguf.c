/* model_gguf.c - GGUF models: the config from the metadata (architectures
 * llama and phi2) and the tensor plan (which tensor fills which view, with
 * shape and type checks) for the chunked loader in model.c. */
#include "errors.h"
#include "lib.h"
#include "model.h"
#include "quant.h"

/* ---- metadata ------------------------------------------------------------ */

/* "<arch>.<key>" as an integer; ERR_NOT_FOUND when absent. */
static int arch_int(const struct gguf_file *g, const char *arch, const char *key, int64_t *ret)
{
    char name[128];
    fmt_snprintf(name, sizeof name, "%s.%s", arch, key);
    const struct gguf_kv *kv = gguf_find(g, name);
    if (!kv)
        return ERR_NOT_FOUND;
    return gguf_kv_int(kv, ret);
}

static int arch_float(const struct gguf_file *g, const char *arch, const char *key, float *ret)
{
    char name[128];
    fmt_snprintf(name, sizeof name, "%s.%s", arch, key);
    return gguf_get_f32(g, name, ret);
}

/* Reads a required positive integer into an int field. */
static int need_int(const struct gguf_file *g, const char *arch, const char *key, int *ret,
                    char *err, size_t errcap)
{
    int64_t v;
    int rc = arch_int(g, arch, key, &v);
    if (rc == ERR_NOT_FOUND) {
        fmt_snprintf(err, errcap, "gguf: metadata %s.%s is missing", arch, key);
        return ERR_FORMAT;
    }
    if (rc || v < 1 || v > INT32_MAX) {
        fmt_snprintf(err, errcap, "gguf: metadata %s.%s: expected a positive integer", arch, key);
        return ERR_FORMAT;
    }
    *ret = (int)v;
    return 0;
}

static int opt_int(const struct gguf_file *g, const char *arch, const char *key, int dflt,
                   int *ret)
{
    int64_t v;
    if (arch_int(g, arch, key, &v) != 0)
        v = dflt;
    if (v < 0 || v > INT32_MAX)
        return ERR_FORMAT;
    *ret = (int)v;
    return 0;
}

static float opt_float(const struct gguf_file *g, const char *arch, const char *key, float dflt)
{
    float v;
    return arch_float(g, arch, key, &v) == 0 && v > 0.0f ? v : dflt;
}

int model_gguf_config(const struct gguf_file *g, struct model_config *ret_cfg, char *err,
                      size_t errcap)
{
    struct model_config c;
    memset(&c, 0, sizeof c);
    struct gguf_str a;
    char arch[32];
    if (gguf_get_str(g, "general.architecture", &a) != 0 || a.n == 0 || a.n >= sizeof arch) {
        fmt_snprintf(err, errcap, "gguf: general.architecture is missing");
        return ERR_FORMAT;
    }
    memcpy(arch, a.s, (size_t)a.n);
    arch[a.n] = 0;
    if (!strcmp(arch, "llama")) {
        c.arch = ARCH_LLAMA;
    } else if (!strcmp(arch, "phi2")) {
        c.arch = ARCH_PHI2;
    } else {
        fmt_snprintf(err, errcap, "gguf: architecture '%s' is not supported (llama, phi2)", arch);
        return ERR_UNSUPPORTED;
    }
    c.format = MODEL_FMT_GGUF;
    int rc;
    if ((rc = need_int(g, arch, "embedding_length", &c.dim, err, errcap)) ||
        (rc = need_int(g, arch, "feed_forward_length", &c.hidden_dim, err, errcap)) ||
        (rc = need_int(g, arch, "block_count", &c.n_layers, err, errcap)) ||
        (rc = need_int(g, arch, "attention.head_count", &c.n_heads, err, errcap)) ||
        (rc = need_int(g, arch, "context_length", &c.ctx_train, err, errcap)))
        return rc;
    if (opt_int(g, arch, "attention.head_count_kv", c.n_heads, &c.n_kv_heads) ||
        opt_int(g, arch, "attention.sliding_window", 0, &c.sliding_window)) {
        fmt_snprintf(err, errcap, "gguf: %s attention metadata out of range", arch);
        return ERR_FORMAT;
    }
    if (g->n_tensors == 0) {
        fmt_snprintf(err, errcap, "gguf: no tensors (a vocabulary-only file)");
        return ERR_FORMAT;
    }
    const struct gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2 || emb->dims[1] > INT32_MAX) {
        fmt_snprintf(err, errcap, "gguf: tensor token_embd.weight is missing or not 2-D");
        return ERR_FORMAT;
    }
    c.vocab_size = (int)emb->dims[1];
    c.seq_len = MIN(c.ctx_train, MODEL_MAX_CONTEXT);
    c.shared_classifier = gguf_find_tensor(g, "output.weight") == NULL;
    if ((rc = model_check_dims(&c, err, errcap)) != 0)
        return rc;
    int head = model_head_size(&c);
    if (opt_int(g, arch, "rope.dimension_count", head, &c.rope_dim) || c.rope_dim > head ||
        c.rope_dim % 2 || c.rope_dim > MODEL_MAX_ROPE_DIM) {
        fmt_snprintf(err, errcap, "gguf: %s.rope.dimension_count must be even and at most "
                     "the head size %d (and %d)", arch, head, MODEL_MAX_ROPE_DIM);
        return ERR_FORMAT;
    }
    c.rope_theta = opt_float(g, arch, "rope.freq_base", 10000.0f);
    c.norm_eps = opt_float(g, arch, c.arch == ARCH_PHI2 ? "attention.layer_norm_epsilon"
                                                        : "attention.layer_norm_rms_epsilon",
                           1e-5f);
    struct gguf_str name = {NULL, 0};
    gguf_get_str(g, "general.name", &name);
    model_guess_family(&c, name.s, (size_t)name.n);
    if (!c.family[0] && c.arch == ARCH_PHI2)
        str_copy(c.family, sizeof c.family, "Phi-2");
    /* the type holding most of the bytes names the quantization */
    uint64_t by_type[GGML_TYPE_ID_LIMIT] = {0};
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = &g->tensors[i];
        c.n_params += t->n_elements;
        c.weight_bytes += t->n_bytes;
        if (t->type < GGML_TYPE_ID_LIMIT)
            by_type[t->type] += t->n_bytes;
    }
    for (int t = 0; t < GGML_TYPE_ID_LIMIT; t++)
        if (by_type[t] > by_type[c.weight_type])
            c.weight_type = t;
    c.token_bytes = model_bytes_per_token(&c, emb->n_bytes);
    *ret_cfg = c;
    return 0;
}

/* ---- tensor plan ---------------------------------------------------------- */

enum extent { X_ONE, X_DIM, X_KV, X_HID, X_VOCAB, X_QKV };

/* One tensor the forward pass uses: name pattern ("%d" = layer), the view it
 * fills (offset in struct model_weights or struct layer_weights) and shape. */
struct want {
    const char *name;
    size_t field;
    int per_layer;
    enum extent rows, cols;
    int optional;
    int f32_only;     /* norms and biases are kept in F32 by every converter */
};

#define MW(f) offsetof(struct model_weights, f)
#define LW(f) offsetof(struct layer_weights, f)

static const struct want llama_wants[] = {
    {"token_embd.weight", MW(token_embd), 0, X_VOCAB, X_DIM, 0, 0},
    {"output_norm.weight", MW(output_norm), 0, X_ONE, X_DIM, 0, 1},
    {"output.weight", MW(output), 0, X_VOCAB, X_DIM, 1, 0},
    {"blk.%d.attn_norm.weight", LW(attn_norm), 1, X_ONE, X_DIM, 0, 1},
    {"blk.%d.attn_q.weight", LW(wq), 1, X_DIM, X_DIM, 0, 0},
    {"blk.%d.attn_k.weight", LW(wk), 1, X_KV, X_DIM, 0, 0},
    {"blk.%d.attn_v.weight", LW(wv), 1, X_KV, X_DIM, 0, 0},
    {"blk.%d.attn_q.bias", LW(bq), 1, X_ONE, X_DIM, 1, 1},
    {"blk.%d.attn_k.bias", LW(bk), 1, X_ONE, X_KV, 1, 1},
    {"blk.%d.attn_v.bias", LW(bv), 1, X_ONE, X_KV, 1, 1},
    {"blk.%d.attn_output.weight", LW(wo), 1, X_DIM, X_DIM, 0, 0},
    {"blk.%d.ffn_norm.weight", LW(ffn_norm), 1, X_ONE, X_DIM, 0, 1},
    {"blk.%d.ffn_gate.weight", LW(w_gate), 1, X_HID, X_DIM, 0, 0},
    {"blk.%d.ffn_up.weight", LW(w_up), 1, X_HID, X_DIM, 0, 0},
    {"blk.%d.ffn_down.weight", LW(w_down), 1, X_DIM, X_HID, 0, 0},
};

/* phi2: LayerNorm with bias, fused or separate QKV with biases, GELU MLP. */
static const struct want phi2_wants[] = {
    {"token_embd.weight", MW(token_embd), 0, X_VOCAB, X_DIM, 0, 0},
    {"output_norm.weight", MW(output_norm), 0, X_ONE, X_DIM, 0, 1},
    {"output_norm.bias", MW(output_norm_b), 0, X_ONE, X_DIM, 0, 1},
    {"output.weight", MW(output), 0, X_VOCAB, X_DIM, 0, 0},
    {"output.bias", MW(output_b), 0, X_ONE, X_VOCAB, 1, 1},
    {"blk.%d.attn_norm.weight", LW(attn_norm), 1, X_ONE, X_DIM, 0, 1},
    {"blk.%d.attn_norm.bias", LW(attn_norm_b), 1, X_ONE, X_DIM, 0, 1},
    {"blk.%d.attn_qkv.weight", LW(wqkv), 1, X_QKV, X_DIM, 1, 0},
    {"blk.%d.attn_qkv.bias", LW(bqkv), 1, X_ONE, X_QKV, 1, 1},
    {"blk.%d.attn_q.weight", LW(wq), 1, X_DIM, X_DIM, 1, 0},
    {"blk.%d.attn_k.weight", LW(wk), 1, X_KV, X_DIM, 1, 0},
    {"blk.%d.attn_v.weight", LW(wv), 1, X_KV, X_DIM, 1, 0},
    {"blk.%d.attn_q.bias", LW(bq), 1, X_ONE, X_DIM, 1, 1},
    {"blk.%d.attn_k.bias", LW(bk), 1, X_ONE, X_KV, 1, 1},
    {"blk.%d.attn_v.bias", LW(bv), 1, X_ONE, X_KV, 1, 1},
    {"blk.%d.attn_output.weight", LW(wo), 1, X_DIM, X_DIM, 0, 0},
    {"blk.%d.attn_output.bias", LW(bo), 1, X_ONE, X_DIM, 1, 1},
    {"blk.%d.ffn_up.weight", LW(w_up), 1, X_HID, X_DIM, 0, 0},
    {"blk.%d.ffn_up.bias", LW(b_up), 1, X_ONE, X_HID, 1, 1},
    {"blk.%d.ffn_down.weight", LW(w_down), 1, X_DIM, X_HID, 0, 0},
    {"blk.%d.ffn_down.bias", LW(b_down), 1, X_ONE, X_DIM, 1, 1},
};

static int extent(const struct model_config *c, enum extent e)
{
    switch (e) {
    case X_ONE: return 1;
    case X_DIM: return c->dim;
    case X_KV: return model_kv_dim(c);
    case X_HID: return c->hidden_dim;
    case X_VOCAB: return c->vocab_size;
    case X_QKV: return c->dim + 2 * model_kv_dim(c);
    }
    return 0;
}

/* Checks one found tensor against what the forward pass needs. */
static int check_tensor(const struct model_config *c, const struct want *w,
                        const struct gguf_tensor *t, char *err, size_t errcap)
{
    uint64_t rows = (uint64_t)extent(c, w->rows), cols = (uint64_t)extent(c, w->cols);
    if (t->dims[0] != cols || t->n_elements != rows * cols) {
        fmt_snprintf(err, errcap, "gguf: tensor %s: shape [%llu, %llu], expected [%llu, %llu]",
                     t->name, (unsigned long long)t->dims[0],
                     (unsigned long long)(t->dims[0] ? t->n_elements / t->dims[0] : 0),
                     (unsigned long long)cols, (unsigned long long)rows);
        return ERR_FORMAT;
    }
    const struct qtype_info *q = qtype_get((int)t->type);
    if (!q || !q->is_weight || (w->f32_only && t->type != GGML_TYPE_F32)) {
        fmt_snprintf(err, errcap, "gguf: tensor %s: type %s is not supported%s", t->name,
                     qtype_name((int)t->type), w->f32_only ? " here (expected f32)" : "");
        return ERR_UNSUPPORTED;
    }
    return 0;
}

/* Visits every wanted tensor; fn gets the found tensor (NULL when an
 * optional one is absent) and the view it fills. */
typedef int (*visit_fn)(void *ctx, const struct gguf_tensor *t, struct tensor *view,
                        const struct want *w);

static int visit(struct model *m, visit_fn fn, void *ctx, char *err, size_t errcap)
{
    const struct want *wants = m->cfg.arch == ARCH_PHI2 ? phi2_wants : llama_wants;
    size_t n_wants = m->cfg.arch == ARCH_PHI2 ? ARRAY_LEN(phi2_wants) : ARRAY_LEN(llama_wants);
    for (size_t i = 0; i < n_wants; i++) {
        const struct want *w = &wants[i];
        int layers = w->per_layer ? m->cfg.n_layers : 1;
        for (int l = 0; l < layers; l++) {
            char name[GGUF_MAX_NAME + 1];
            fmt_snprintf(name, sizeof name, w->name, l);
            const struct gguf_tensor *t = gguf_find_tensor(&m->gguf, name);
            if (!t && !w->optional) {
                fmt_snprintf(err, errcap, "gguf: tensor %s is missing", name);
                return ERR_FORMAT;
            }
            int rc;
            if (t && (rc = check_tensor(&m->cfg, w, t, err, errcap)) != 0)
                return rc;
            struct tensor *view = NULL; /* none yet while measuring */
            if (m->w.layers)
                view = w->per_layer ? (struct tensor *)((char *)&m->w.layers[l] + w->field)
                                    : (struct tensor *)((char *)&m->w + w->field);
            if ((rc = fn(ctx, t, view, w)) != 0)
                return rc;
        }
    }
    return 0;
}

/* Pass 1 sums the sizes; pass 2 (cursor set) places each tensor in the
 * block, fills its view and appends it to the load list. */
struct plan_ctx {
    struct model_loader *ld;
    const struct model_config *cfg;
    uint64_t bytes;          /* pass 1: block bytes of the tensors */
    int n;                   /* tensors found */
    unsigned char *cursor;   /* pass 2: next free byte of the block */
};

static uint64_t align64(uint64_t n)
{
    return (n + 63) & ~(uint64_t)63;
}

static int measure(void *ctx, const struct gguf_tensor *t, struct tensor *view,
                   const struct want *w)
{
    struct plan_ctx *p = ctx;
    (void)view, (void)w;
    if (t) {
        p->n++;
        if (size_add(p->bytes, align64(t->n_bytes), &p->bytes))
            return ERR_RANGE;
    }
    return 0;
}

static int place(void *ctx, const struct gguf_tensor *t, struct tensor *view,
                 const struct want *w)
{
    struct plan_ctx *p = ctx;
    memset(view, 0, sizeof *view);
    if (!t)
        return 0;
    view->data = p->cursor;
    view->type = (int)t->type;
    view->rows = extent(p->cfg, w->rows);
    view->cols = extent(p->cfg, w->cols);
    struct load_item *it = &p->ld->items[p->n++];
    it->part = t->part;
    it->offset = t->offset;
    it->bytes = t->n_bytes;
    it->dst = p->cursor;
    p->ld->total += t->n_bytes;
    p->cursor += align64(t->n_bytes);
    return 0;
}

int model_gguf_plan(struct model *m, struct model_loader *ld, char *err, size_t errcap)
{
    struct plan_ctx p = {ld, &m->cfg, 0, 0, NULL};
    int rc = visit(m, measure, &p, err, errcap);
    if (rc) {
        if (rc == ERR_RANGE)
            fmt_snprintf(err, errcap, "gguf: tensor sizes overflow");
        return rc;
    }
    if (m->cfg.arch == ARCH_PHI2 && !gguf_find_tensor(&m->gguf, "blk.0.attn_qkv.weight") &&
        !gguf_find_tensor(&m->gguf, "blk.0.attn_q.weight")) {
        fmt_snprintf(err, errcap, "gguf: phi2 needs attn_qkv or attn_q/k/v tensors");
        return ERR_FORMAT;
    }
    ld->items_bytes = (size_t)p.n * sizeof *ld->items;
    if ((ld->items = plat_alloc(ld->items_bytes)) == NULL) {
        fmt_snprintf(err, errcap, "out of memory");
        return ERR_NOMEM;
    }
    if ((rc = model_alloc_block(m, p.bytes, err, errcap)) != 0)
        return rc;
    p.cursor = m->block;
    p.n = 0;
    visit(m, place, &p, err, errcap); /* cannot fail: pass 1 checked everything */
    ld->n_items = p.n;
    if (m->cfg.shared_classifier)
        m->w.output = m->w.token_embd;
    return 0;
}
