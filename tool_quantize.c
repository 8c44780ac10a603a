/* tool_quantize.c - `llm quantize`: fp32/f16 models to Q8_0, Q4_0 or Q4_K,
 * with the error it costs (build/llm only).
 *
 *   llm quantize IN OUT --type q8_0|q4_0|q4_k [--format gguf|v2]
 *       [--vocab TOKENIZER] [--group N]
 *   llm quantize --compare MODEL_A MODEL_B [--prompt-ids "1 403 407"]...
 *       [--prompt-ids-file F] [--n 64]
 *
 * Input: llama2.c legacy / version 1 (fp32) or GGUF with F32/F16/BF16
 * tensors (already quantized inputs are refused: requantizing compounds the
 * error). Output format: --format, else OUT's extension (.gguf: GGUF, .bin:
 * llama2.c version 2).
 *
 * GGUF output. Every 2-D ".weight" tensor gets the requested type, like
 * llama-quantize --pure; 1-D tensors (norms) stay F32 as every converter
 * keeps them. A row length the type's block does not divide falls back, as
 * llama.cpp's llama_tensor_get_type does: Q4_K (256-value blocks) to Q4_0
 * (llama.cpp takes Q5_0, a type this project does not compute with; Q4_0
 * keeps the 4-bit budget), and anything to F16 when not even 32 divides the
 * row. Each fallback is named in the table. A GGUF input keeps all its
 * metadata (general.file_type and general.quantization_version are
 * rewritten, split.* dropped); a llama2.c input gets llama.* keys and the
 * vocabulary of --vocab (a llama2.c tokenizer.bin, converted the way
 * llama.cpp's convert-llama2c-to-ggml does, or a GGUF whose tokenizer.*
 * keys are copied), without which llama.cpp could not load the file.
 *
 * llama2.c version 2 output (Q8_0 only: the format holds int8 groups with
 * fp32 scales, as llama2.c's export.py writes them). Group size: --group N,
 * else the largest of 32 (Q8_0's block), 16, 8, ... that divides both dim
 * and hidden_dim -- our loader keeps groups inside rows; export.py starts
 * at 64 and checks dim only. stories260K (dim 64, hidden 172) gets groups
 * of 4. Scales are max|w|/127 and q = round-half-even(w / scale), as
 * export.py's torch.round.
 *
 * The table: per tensor the RMS of (dequantized - original) and that RMS
 * relative to the RMS of the original weights; "total" sums over all
 * tensors of the file. The output goes to OUT.tmp, renamed to OUT when
 * complete; OUT may not be the input.
 *
 * --compare: tool_compare.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errors.h"
#include "gguf.h"
#include "gguf_write.h"
#include "lib.h"
#include "model.h"
#include "quant.h"
#include "quant_stats.h"
#include "tokenizer.h"
#include "transformer.h"

int quantize_main(int argc, char **argv);

#define V2_MAX_GROUP 32

/* llama.cpp's llama_ftype for general.file_type ("pure" Q4_K is Q4_K_S). */
enum { FTYPE_Q4_0 = 2, FTYPE_Q8_0 = 7, FTYPE_Q4_K_S = 14 };

/* ---- the input: named tensors in float ------------------------------------------ */

/* One input tensor under its GGUF name; F32, F16 or BF16. */
struct src_tensor {
    char name[GGUF_MAX_NAME + 1];
    uint32_t n_dims;
    uint64_t dims[GGUF_MAX_DIMS]; /* dims[0] = row length */
    uint64_t rows, cols;
    int type;
    const void *mem;              /* llama2.c: inside the loaded model */
    const struct gguf_tensor *gt; /* GGUF: read from its file */
};

struct source {
    const char *path;
    int is_gguf;
    struct model m;      /* llama2.c input, loaded whole; cfg for both */
    struct gguf_file g;  /* GGUF input: metadata and tensor infos */
    struct src_tensor *t;
    int n;
};

/* llama2.c tensors of a layer under their GGUF names, in stories260K.gguf's
 * order (llama.cpp's convert-llama2c-to-ggml). */
static const struct {
    const char *name;
    size_t field;
} layer_tensors[] = {
    {"blk.%d.attn_q.weight", offsetof(struct layer_weights, wq)},
    {"blk.%d.attn_k.weight", offsetof(struct layer_weights, wk)},
    {"blk.%d.attn_v.weight", offsetof(struct layer_weights, wv)},
    {"blk.%d.attn_output.weight", offsetof(struct layer_weights, wo)},
    {"blk.%d.attn_norm.weight", offsetof(struct layer_weights, attn_norm)},
    {"blk.%d.ffn_gate.weight", offsetof(struct layer_weights, w_gate)},
    {"blk.%d.ffn_down.weight", offsetof(struct layer_weights, w_down)},
    {"blk.%d.ffn_up.weight", offsetof(struct layer_weights, w_up)},
    {"blk.%d.ffn_norm.weight", offsetof(struct layer_weights, ffn_norm)},
};

static void add_view(struct source *s, const char *name, const struct tensor *v)
{
    struct src_tensor *t = &s->t[s->n++];
    memset(t, 0, sizeof *t);
    str_copy(t->name, sizeof t->name, name);
    t->n_dims = v->rows == 1 ? 1 : 2;
    t->dims[0] = t->cols = (uint64_t)v->cols;
    t->dims[1] = t->rows = (uint64_t)v->rows;
    t->dims[2] = t->dims[3] = 1;
    t->type = v->type;
    t->mem = v->data;
}

static int open_llama2c(struct source *s, char *err, size_t errcap)
{
    int rc = model_load(&s->m, s->path, err, errcap);
    if (rc)
        return rc;
    const struct model_config *c = &s->m.cfg;
    if (c->format == MODEL_FMT_V2) {
        fmt_snprintf(err, errcap, "already quantized (llama2.c version 2, int8 groups of %d); "
                     "quantize from the fp32 model", c->group_size);
        return ERR_UNSUPPORTED;
    }
    size_t n = 3 + (size_t)c->n_layers * ARRAY_LEN(layer_tensors);
    if (!(s->t = calloc(n, sizeof *s->t))) {
        fmt_snprintf(err, errcap, "out of memory");
        return ERR_NOMEM;
    }
    add_view(s, "token_embd.weight", &s->m.w.token_embd);
    add_view(s, "output_norm.weight", &s->m.w.output_norm);
    if (!c->shared_classifier)
        add_view(s, "output.weight", &s->m.w.output);
    for (int l = 0; l < c->n_layers; l++)
        for (size_t i = 0; i < ARRAY_LEN(layer_tensors); i++) {
            char name[GGUF_MAX_NAME + 1];
            fmt_snprintf(name, sizeof name, layer_tensors[i].name, l);
            add_view(s, name, (const struct tensor *)((const char *)&s->m.w.layers[l] +
                                                      layer_tensors[i].field));
        }
    return 0;
}

static int open_gguf(struct source *s, char *err, size_t errcap)
{
    int rc = gguf_open(&s->g, s->path, err, errcap);
    if (rc)
        return rc;
    /* the config is needed for version 2 output and names the model */
    if ((rc = model_gguf_config(&s->g, &s->m.cfg, err, errcap)) != 0)
        return rc;
    if (!(s->t = calloc(s->g.n_tensors ? s->g.n_tensors : 1, sizeof *s->t))) {
        fmt_snprintf(err, errcap, "out of memory");
        return ERR_NOMEM;
    }
    for (uint64_t i = 0; i < s->g.n_tensors; i++) {
        const struct gguf_tensor *g = &s->g.tensors[i];
        if (g->type != GGML_TYPE_F32 && g->type != GGML_TYPE_F16 && g->type != GGML_TYPE_BF16) {
            fmt_snprintf(err, errcap, "tensor %s is %s: quantize from an F32/F16/BF16 model "
                         "(requantizing compounds the error)", g->name, qtype_name((int)g->type));
            return ERR_UNSUPPORTED;
        }
        if (g->dims[0] == 0 || g->dims[0] > INT32_MAX) {
            fmt_snprintf(err, errcap, "tensor %s: row length %llu is out of range", g->name,
                         (unsigned long long)g->dims[0]);
            return ERR_FORMAT;
        }
        struct src_tensor *t = &s->t[s->n++];
        str_copy(t->name, sizeof t->name, g->name);
        t->n_dims = g->n_dims ? g->n_dims : 1;
        memcpy(t->dims, g->dims, sizeof t->dims);
        t->cols = g->dims[0];
        t->rows = g->n_elements / g->dims[0];
        t->type = (int)g->type;
        t->gt = g;
    }
    return 0;
}

static int is_gguf_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    int yes = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4);
    if (f)
        fclose(f);
    return yes;
}

static int source_open(struct source *s, const char *path, char *err, size_t errcap)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->is_gguf = is_gguf_file(path);
    return s->is_gguf ? open_gguf(s, err, errcap) : open_llama2c(s, err, errcap);
}

static void source_close(struct source *s)
{
    free(s->t);
    if (s->is_gguf)
        gguf_close(&s->g);
    model_free(&s->m);
    memset(s, 0, sizeof *s);
}

static const struct src_tensor *source_find(const struct source *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name))
            return &s->t[i];
    return NULL;
}

/* Fills dst (rows * cols floats) with tensor t's values. */
static int source_read(const struct source *s, const struct src_tensor *t, float *dst)
{
    uint64_t row_bytes;
    int rc = qtype_row_bytes(t->type, t->cols, &row_bytes);
    if (rc)
        return rc;
    if (t->mem) {
        for (uint64_t r = 0; r < t->rows && !rc; r++)
            rc = dequantize_row(t->type, (const char *)t->mem + r * row_bytes, dst + r * t->cols,
                                (int)t->cols);
        return rc;
    }
    plat_file *f;
    if ((rc = plat_file_open(s->g.parts[t->gt->part].path, &f)) != 0)
        return rc;
    unsigned char *row = malloc(row_bytes);
    if (!row)
        rc = ERR_NOMEM;
    else
        rc = plat_file_seek(f, t->gt->offset);
    for (uint64_t r = 0; r < t->rows && !rc; r++) {
        size_t got;
        if ((rc = plat_file_read(f, row, row_bytes, &got)) == 0 && got != row_bytes)
            rc = ERR_IO;
        if (!rc)
            rc = dequantize_row(t->type, row, dst + r * t->cols, (int)t->cols);
    }
    free(row);
    plat_file_close(f);
    return rc;
}

/* ---- choosing types ----------------------------------------------------------------- */

/* The type tensor t is written as, and in *ret_why (when not `want`) why. */
static int pick_type(const struct src_tensor *t, int want, char *why, size_t cap)
{
    why[0] = 0;
    size_t len = strlen(t->name);
    if (t->n_dims < 2 || len < 7 || strcmp(t->name + len - 7, ".weight")) {
        fmt_snprintf(why, cap, "%s", t->n_dims < 2 ? "1-D, kept" : "not a weight, kept");
        return GGML_TYPE_F32;
    }
    int block = qtype_get(want)->block_elems;
    if (t->cols % (uint64_t)block == 0)
        return want;
    if (want == GGML_TYPE_Q4_K && t->cols % QK4_0 == 0) {
        fmt_snprintf(why, cap, "row %llu %% 256 != 0", (unsigned long long)t->cols);
        return GGML_TYPE_Q4_0;
    }
    fmt_snprintf(why, cap, "row %llu %% 32 != 0", (unsigned long long)t->cols);
    return GGML_TYPE_F16;
}

/* ---- the table ---------------------------------------------------------------------- */

static void table_head(void)
{
    printf("| tensor | shape | type | rms error | rel rms |\n|---|---|---|---:|---:|\n");
}

static void table_row(const struct src_tensor *t, const char *type, const char *why,
                      const struct qerr *e)
{
    char shape[48];
    if (t->n_dims < 2)
        fmt_snprintf(shape, sizeof shape, "%llu", (unsigned long long)t->cols);
    else
        fmt_snprintf(shape, sizeof shape, "%llu x %llu", (unsigned long long)t->rows,
                     (unsigned long long)t->cols);
    printf("| %s | %s | %s%s%s%s | %.3e | %.4f%% |\n", t->name, shape, type, why[0] ? " (" : "",
           why, why[0] ? ")" : "", qerr_rms(e), 100.0 * qerr_rel(e));
}

static void table_total(const struct qerr *total, int n_fallback)
{
    printf("total: %llu weights, rms error %.3e, rel rms %.4f%%, %d fallback tensor(s)\n",
           (unsigned long long)total->n, qerr_rms(total), 100.0 * qerr_rel(total), n_fallback);
}

/* ---- GGUF output ---------------------------------------------------------------------- */

static int file_sink(void *ctx, const void *data, size_t n)
{
    return fwrite(data, 1, n, ctx) == n ? 0 : ERR_IO;
}

/* tokenizer.ggml.* from a llama2.c tokenizer.bin: pieces with ' ' back to
 * U+2581 and BOS/EOS as "<s>"/"</s>" (tokenizer.py wrote "\n<s>\n"), types
 * unknown / control / byte / normal. */
static int vocab_from_bin(struct gguf_writer *w, const char *path, int want_n, char *err,
                          size_t errcap)
{
    struct tokenizer tok;
    int rc = tokenizer_load(&tok, path, err, errcap);
    if (rc)
        return rc;
    int n = tokenizer_vocab_size(&tok);
    if (n != want_n) {
        fmt_snprintf(err, errcap, "%s has %d tokens, the model needs %d", path, n, want_n);
        tokenizer_free(&tok);
        return ERR_FORMAT;
    }
    struct gguf_str *pieces = calloc((size_t)n, sizeof *pieces);
    int32_t *types = calloc((size_t)n, sizeof *types);
    char **text = calloc((size_t)n, sizeof *text);
    rc = pieces && types && text ? 0 : ERR_NOMEM;
    for (int i = 0; i < n && !rc; i++) {
        const char *p = tok.vocab[i];
        size_t len = strlen(p), k = 0;
        unsigned b;
        if (!(text[i] = malloc(len * 3 + 8))) {
            rc = ERR_NOMEM;
            break;
        }
        if (i == 1 || i == 2) { /* tokenizer.bin's fixed BOS / EOS ids */
            k = (size_t)fmt_snprintf(text[i], len * 3 + 8, "%s", i == 1 ? "<s>" : "</s>");
            types[i] = 3;
        } else {
            for (const char *c = p; *c; c++) {
                if (*c == ' ') {
                    memcpy(text[i] + k, "\xe2\x96\x81", 3);
                    k += 3;
                } else {
                    text[i][k++] = *c;
                }
            }
            text[i][k] = 0;
            types[i] = i == 0 ? 2 : len == 6 && sscanf(p, "<0x%2X>", &b) == 1 ? 6 : 1;
        }
        pieces[i].s = text[i];
        pieces[i].n = k;
    }
    if (!rc) {
        gguf_w_str(w, "tokenizer.ggml.model", "llama");
        gguf_w_arr_str(w, "tokenizer.ggml.tokens", pieces, (uint64_t)n);
        gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, tok.scores, (uint64_t)n);
        gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n);
        gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
        rc = gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);
    } else {
        fmt_snprintf(err, errcap, "out of memory converting %s", path);
    }
    for (int i = 0; text && i < n; i++)
        free(text[i]);
    free(text);
    free(types);
    free(pieces);
    tokenizer_free(&tok);
    return rc;
}

/* The tokenizer.* keys of a GGUF vocabulary file. */
static int vocab_from_gguf(struct gguf_writer *w, const char *path, int want_n, char *err,
                           size_t errcap)
{
    struct gguf_file g;
    int rc = gguf_open(&g, path, err, errcap);
    if (rc)
        return rc;
    uint64_t n = 0;
    const struct gguf_kv *toks = gguf_find(&g, "tokenizer.ggml.tokens");
    if (!toks || !gguf_arr_data(toks, GGUF_TYPE_STRING, &n) || n != (uint64_t)want_n) {
        fmt_snprintf(err, errcap, "%s: tokenizer.ggml.tokens %s %llu tokens, the model needs %d",
                     path, toks ? "has" : "is missing:", (unsigned long long)n, want_n);
        rc = ERR_FORMAT;
    }
    for (uint64_t i = 0; i < g.n_kv && !rc; i++)
        if (!strncmp(g.kv[i].key.s, "tokenizer.", 10))
            rc = gguf_w_kv(w, NULL, &g.kv[i]);
    gguf_close(&g);
    return rc;
}

/* Metadata of a llama2.c model (what convert-llama2c-to-ggml writes). */
static int llama2c_metadata(struct gguf_writer *w, const struct source *s, const char *vocab,
                            char *err, size_t errcap)
{
    const struct model_config *c = &s->m.cfg;
    char name[256];
    if (c->family[0]) {
        str_copy(name, sizeof name, c->family);
    } else {
        const char *base = strrchr(s->path, '/');
        str_copy(name, sizeof name, base ? base + 1 : s->path);
        char *dot = strrchr(name, '.');
        if (dot && dot != name)
            *dot = 0;
    }
    gguf_w_str(w, "general.architecture", "llama");
    gguf_w_str(w, "general.name", name);
    gguf_w_u32(w, "llama.context_length", (uint32_t)c->seq_len);
    gguf_w_u32(w, "llama.embedding_length", (uint32_t)c->dim);
    gguf_w_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden_dim);
    gguf_w_u32(w, "llama.block_count", (uint32_t)c->n_layers);
    gguf_w_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads);
    gguf_w_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    gguf_w_u32(w, "llama.rope.dimension_count", (uint32_t)model_head_size(c));
    gguf_w_f32(w, "llama.rope.freq_base", c->rope_theta);
    gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
    if (w->rc)
        return w->rc;
    if (!vocab) {
        fmt_snprintf(err, errcap, "a llama2.c model has no vocabulary and llama.cpp needs one "
                     "in the GGUF: give --vocab tokenizer.bin (or a GGUF to copy it from)");
        return ERR_INVAL;
    }
    return is_gguf_file(vocab) ? vocab_from_gguf(w, vocab, c->vocab_size, err, errcap)
                               : vocab_from_bin(w, vocab, c->vocab_size, err, errcap);
}

static int ftype_of(int type)
{
    return type == GGML_TYPE_Q8_0 ? FTYPE_Q8_0 : type == GGML_TYPE_Q4_0 ? FTYPE_Q4_0 : FTYPE_Q4_K_S;
}

/* Everything that quantizing one tensor needs, reused tensor to tensor. */
struct work {
    float *x, *back;        /* the original values, a dequantized row */
    unsigned char *q;       /* the quantized tensor */
    size_t x_cap, q_cap;
};

static int work_reserve(struct work *wk, uint64_t n_floats, uint64_t cols, uint64_t q_bytes)
{
    if (n_floats > SIZE_MAX / sizeof(float) || q_bytes > SIZE_MAX)
        return ERR_RANGE;
    if (n_floats > wk->x_cap) {
        free(wk->x);
        free(wk->back);
        wk->x = malloc((size_t)n_floats * sizeof(float));
        wk->back = malloc((size_t)(cols > n_floats ? cols : n_floats) * sizeof(float));
        wk->x_cap = wk->x && wk->back ? (size_t)n_floats : 0;
        if (!wk->x_cap)
            return ERR_NOMEM;
    }
    if (q_bytes > wk->q_cap) {
        free(wk->q);
        wk->q_cap = (wk->q = malloc((size_t)q_bytes)) ? (size_t)q_bytes : 0;
        if (!wk->q_cap)
            return ERR_NOMEM;
    }
    return 0;
}

static void work_free(struct work *wk)
{
    free(wk->x);
    free(wk->back);
    free(wk->q);
    memset(wk, 0, sizeof *wk);
}

/* Reads tensor t, quantizes it to type into wk->q and measures the error. */
static int quantize_tensor(const struct source *s, const struct src_tensor *t, int type,
                           struct work *wk, uint64_t *ret_bytes, struct qerr *ret_err)
{
    uint64_t row_bytes;
    int rc = qtype_row_bytes(type, t->cols, &row_bytes);
    if (rc || (rc = work_reserve(wk, t->rows * t->cols, t->cols, row_bytes * t->rows)) ||
        (rc = source_read(s, t, wk->x)))
        return rc;
    struct qerr e = {0, 0, 0};
    for (uint64_t r = 0; r < t->rows && !rc; r++) {
        const float *x = wk->x + r * t->cols;
        unsigned char *q = wk->q + r * row_bytes;
        if ((rc = quantize_row(type, x, q, (int)t->cols)) == 0 &&
            (rc = dequantize_row(type, q, wk->back, (int)t->cols)) == 0)
            qerr_add(&e, x, wk->back, (size_t)t->cols);
    }
    *ret_bytes = row_bytes * t->rows;
    *ret_err = e;
    return rc;
}

static int write_gguf(const struct source *s, FILE *out, int want, const char *vocab, char *err,
                      size_t errcap)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    int rc = 0, *types = calloc((size_t)s->n + 1, sizeof *types);
    if (!types)
        return ERR_NOMEM;
    if (s->is_gguf) {
        for (uint64_t i = 0; i < s->g.n_kv; i++) {
            const char *k = s->g.kv[i].key.s;
            if (strncmp(k, "split.", 6) && strcmp(k, "general.file_type") &&
                strcmp(k, "general.quantization_version"))
                gguf_w_kv(&w, NULL, &s->g.kv[i]);
        }
    } else {
        rc = llama2c_metadata(&w, s, vocab, err, errcap);
    }
    gguf_w_u32(&w, "general.file_type", (uint32_t)ftype_of(want));
    gguf_w_u32(&w, "general.quantization_version", 2);
    char why[64];
    for (int i = 0; i < s->n && !rc; i++) {
        types[i] = pick_type(&s->t[i], want, why, sizeof why);
        rc = gguf_w_tensor(&w, s->t[i].name, (uint32_t)types[i], s->t[i].n_dims, s->t[i].dims,
                           NULL);
    }
    if (!rc && (rc = w.rc) != 0)
        fmt_snprintf(err, errcap, "building the GGUF header: %s", err_str(rc));
    if (!rc && (rc = gguf_w_write_header(&w, file_sink, out)) != 0)
        fmt_snprintf(err, errcap, "writing the header: %s", err_str(rc));
    struct work wk = {0};
    struct qerr total = {0, 0, 0};
    int n_fallback = 0;
    if (!rc)
        table_head();
    for (int i = 0; i < s->n && !rc; i++) {
        const struct src_tensor *t = &s->t[i];
        struct qerr e;
        uint64_t bytes;
        if ((rc = quantize_tensor(s, t, types[i], &wk, &bytes, &e)) != 0) {
            fmt_snprintf(err, errcap, "tensor %s: %s", t->name, err_str(rc));
            break;
        }
        if ((rc = gguf_w_write_data(&w, file_sink, out, wk.q, (size_t)bytes)) != 0) {
            fmt_snprintf(err, errcap, "writing tensor %s: %s", t->name, err_str(rc));
            break;
        }
        pick_type(t, want, why, sizeof why);
        n_fallback += types[i] != want && t->n_dims >= 2;
        table_row(t, qtype_name(types[i]), why, &e);
        qerr_merge(&total, &e);
    }
    if (!rc && (rc = gguf_w_write_end(&w)) != 0)
        fmt_snprintf(err, errcap, "tensor data incomplete");
    if (!rc)
        table_total(&total, n_fallback);
    work_free(&wk);
    free(types);
    gguf_writer_free(&w);
    return rc;
}

/* ---- llama2.c version 2 output ----------------------------------------------------------- */

/* v2 file order: fp32 norms, then the int8 matrices (per layer: values,
 * then their scales); "%d" names repeat over the layers. */
static const char *const v2_norms[] = {"blk.%d.attn_norm.weight", "blk.%d.ffn_norm.weight",
                                       "output_norm.weight"};
static const char *const v2_matrices[] = {
    "token_embd.weight",      "blk.%d.attn_q.weight",   "blk.%d.attn_k.weight",
    "blk.%d.attn_v.weight",   "blk.%d.attn_output.weight", "blk.%d.ffn_gate.weight",
    "blk.%d.ffn_down.weight", "blk.%d.ffn_up.weight",   "output.weight"};

static int v2_group(const struct model_config *c, long want)
{
    if (want > 0)
        return c->dim % want || c->hidden_dim % want ? 0 : (int)want;
    int g = V2_MAX_GROUP;
    while (c->dim % g || c->hidden_dim % g)
        g /= 2;
    return g;
}

/* export.py's quantize_q80 on n values (n % group == 0): q (int8), one
 * little-endian fp32 scale per group into scales (unaligned: it follows
 * the int8 values), the dequantized values into back. */
static void q8_groups(const float *x, size_t n, int group, int8_t *q, unsigned char *scales,
                      float *back)
{
    for (size_t g = 0; g < n / (size_t)group; g++) {
        const float *v = x + g * (size_t)group;
        float amax = 0.0f;
        for (int i = 0; i < group; i++)
            amax = v[i] > amax ? v[i] : -v[i] > amax ? -v[i] : amax;
        float scale = amax / 127.0f;
        memcpy(scales + g * 4, &scale, 4);
        for (int i = 0; i < group; i++) {
            /* round half to even: adding 1.5 * 2^23 leaves the integer part */
            float r = scale > 0.0f ? (v[i] / scale + 12582912.0f) - 12582912.0f : 0.0f;
            q[g * (size_t)group + (size_t)i] = (int8_t)r;
            back[g * (size_t)group + (size_t)i] = r * scale;
        }
    }
}

/* Why a model cannot be written as version 2, or 0 when it can. */
static int v2_check(const struct source *s, char *err, size_t errcap)
{
    const struct model_config *c = &s->m.cfg;
    if (c->arch != ARCH_LLAMA || c->rope_dim != model_head_size(c) || c->rope_theta != 10000.0f ||
        c->norm_eps != 1e-5f || c->sliding_window) {
        fmt_snprintf(err, errcap, "llama2.c version 2 holds llama models with RoPE theta 10000, "
                     "full rotary heads and epsilon 1e-5 only: write GGUF instead");
        return ERR_UNSUPPORTED;
    }
    int known = 0;
    for (size_t k = 0; k < ARRAY_LEN(v2_norms) + ARRAY_LEN(v2_matrices); k++) {
        const char *pat = k < ARRAY_LEN(v2_norms) ? v2_norms[k]
                                                  : v2_matrices[k - ARRAY_LEN(v2_norms)];
        int layers = strchr(pat, '%') ? c->n_layers : 1;
        for (int l = 0; l < layers; l++) {
            char name[GGUF_MAX_NAME + 1];
            fmt_snprintf(name, sizeof name, pat, l);
            known += source_find(s, name) != NULL;
        }
    }
    if (known != s->n) {
        fmt_snprintf(err, errcap, "the model has %d tensor(s) llama2.c version 2 cannot hold "
                     "(biases, rope factors, ...): write GGUF instead", s->n - known);
        return ERR_UNSUPPORTED;
    }
    return 0;
}

static int write_v2(const struct source *s, FILE *out, long group_arg, char *err, size_t errcap)
{
    const struct model_config *c = &s->m.cfg;
    int rc = v2_check(s, err, errcap), group = v2_group(c, group_arg);
    if (rc)
        return rc;
    if (!group) {
        fmt_snprintf(err, errcap, "--group %ld does not divide dim %d and hidden_dim %d",
                     group_arg, c->dim, c->hidden_dim);
        return ERR_INVAL;
    }
    int shared = source_find(s, "output.weight") == NULL;
    int32_t hdr[64] = {0}; /* the 256-byte header */
    hdr[0] = (int32_t)MODEL_V1_MAGIC;
    hdr[1] = 2;
    int32_t dims[7] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                       c->n_kv_heads, c->vocab_size, s->is_gguf ? c->ctx_train : c->seq_len};
    memcpy(&hdr[2], dims, sizeof dims);
    unsigned char *h = (unsigned char *)hdr;
    h[36] = (unsigned char)shared;
    memcpy(h + 37, &group, 4);
    if (fwrite(hdr, 1, sizeof hdr, out) != sizeof hdr)
        return ERR_IO;
    printf("llama2.c version 2: int8 groups of %d values with fp32 scales\n", group);
    table_head();
    struct work wk = {0};
    struct qerr total = {0, 0, 0};
    for (size_t k = 0; k < ARRAY_LEN(v2_norms) + ARRAY_LEN(v2_matrices) && !rc; k++) {
        int is_norm = k < ARRAY_LEN(v2_norms);
        const char *pat = is_norm ? v2_norms[k] : v2_matrices[k - ARRAY_LEN(v2_norms)];
        int layers = strchr(pat, '%') ? c->n_layers : 1;
        for (int l = 0; l < layers && !rc; l++) {
            char name[GGUF_MAX_NAME + 1];
            fmt_snprintf(name, sizeof name, pat, l);
            const struct src_tensor *t = source_find(s, name);
            if (!t) /* only output.weight may be absent (shared classifier) */
                continue;
            uint64_t n = t->rows * t->cols;
            if ((rc = work_reserve(&wk, n, t->cols, n + n / (uint64_t)group * 4)) ||
                (rc = source_read(s, t, wk.x))) {
                fmt_snprintf(err, errcap, "tensor %s: %s", name, err_str(rc));
                break;
            }
            struct qerr e = {0, 0, 0};
            size_t bytes = (size_t)n * 4;
            const void *data = wk.x;
            if (is_norm) {
                qerr_add(&e, wk.x, wk.x, (size_t)n);
            } else {
                /* work_reserve sized back for the whole tensor */
                q8_groups(wk.x, (size_t)n, group, (int8_t *)wk.q, wk.q + n, wk.back);
                qerr_add(&e, wk.x, wk.back, (size_t)n);
                bytes = (size_t)(n + n / (uint64_t)group * 4);
                data = wk.q;
            }
            if (fwrite(data, 1, bytes, out) != bytes) {
                fmt_snprintf(err, errcap, "writing tensor %s failed", name);
                rc = ERR_IO;
            }
            table_row(t, is_norm ? "f32" : "int8 groups", "", &e);
            qerr_merge(&total, &e);
        }
    }
    if (!rc)
        table_total(&total, 0);
    work_free(&wk);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------- */

static int parse_qtype(const char *s)
{
    return !str_casecmp(s, "q8_0") ? GGML_TYPE_Q8_0
           : !str_casecmp(s, "q4_0") ? GGML_TYPE_Q4_0
           : !str_casecmp(s, "q4_k") ? GGML_TYPE_Q4_K : -1;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: llm quantize IN OUT --type q8_0|q4_0|q4_k [--format gguf|v2] "
            "[--vocab TOKENIZER] [--group N]\n"
            "       llm quantize --compare MODEL_A MODEL_B [--prompt-ids \"1 403\"]... "
            "[--prompt-ids-file F] [--n 64]\n"
            "  IN      llama2.c fp32 (legacy/v1) or GGUF F32/F16/BF16\n"
            "  OUT     .gguf: GGUF; .bin: llama2.c version 2 (q8_0 only)\n"
            "  --vocab llama2.c input to GGUF: tokenizer.bin or a GGUF to take tokenizer.* from\n"
            "  --group version 2 values per scale (default: 32 or the largest power of two\n"
            "          dividing dim and hidden_dim)\n"
            "  --compare  greedy agreement and mean KL(A || B) of the next-token distribution\n");
    return 2;
}

static int cmd_quantize(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *vocab = NULL, *format = NULL;
    int type = -1;
    long group = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-') {
            if (out)
                return usage();
            *(in ? &out : &in) = argv[i];
        } else if (i + 1 >= argc) {
            return usage();
        } else if (!strcmp(argv[i], "--type")) {
            if ((type = parse_qtype(argv[++i])) < 0) {
                fprintf(stderr, "llm quantize: --type: expected q8_0, q4_0 or q4_k, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--format")) {
            format = argv[++i];
        } else if (!strcmp(argv[i], "--vocab")) {
            vocab = argv[++i];
        } else if (!strcmp(argv[i], "--group")) {
            if (parse_long(argv[++i], &group) || group < 1 || group > 4096) {
                fprintf(stderr, "llm quantize: --group: expected 1..4096, got '%s'\n", argv[i]);
                return 2;
            }
        } else {
            return usage();
        }
    }
    if (!in || !out || type < 0)
        return usage();
    if (!format)
        format = str_ends_with_ci(out, ".gguf") ? "gguf" : str_ends_with_ci(out, ".bin") ? "v2" : "";
    int v2 = !strcmp(format, "v2");
    if (!v2 && strcmp(format, "gguf")) {
        fprintf(stderr, "llm quantize: %s: say --format gguf or v2 (or name it .gguf / .bin)\n",
                out);
        return 2;
    }
    if (v2 && type != GGML_TYPE_Q8_0) {
        fprintf(stderr, "llm quantize: llama2.c version 2 holds int8 groups only: use --type "
                        "q8_0, or write GGUF for %s\n", qtype_name(type));
        return 2;
    }
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp) {
        fprintf(stderr, "llm quantize: %s: path too long\n", out);
        return 2;
    }
    if (same_file(in, out) || same_file(in, tmp)) {
        fprintf(stderr, "llm quantize: %s is the input file; choose another output\n", out);
        return 1;
    }
    struct source s;
    char err[512];
    int rc = source_open(&s, in, err, sizeof err);
    if (rc) {
        fprintf(stderr, "llm quantize: %s: %s\n", in, err);
        source_close(&s);
        return 1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "llm quantize: cannot create %s: ", tmp);
        perror(NULL);
        source_close(&s);
        return 1;
    }
    printf("llm quantize: %s (%s) -> %s (%s, %s)\n", in, s.is_gguf ? "GGUF" : "llama2.c fp32",
           out, v2 ? "llama2.c version 2" : "GGUF", v2 ? "int8 groups" : qtype_name(type));
    err[0] = 0;
    rc = v2 ? write_v2(&s, f, group, err, sizeof err) : write_gguf(&s, f, type, vocab, err, sizeof err);
    if (fclose(f) != 0 && !rc) {
        rc = ERR_IO;
        fmt_snprintf(err, sizeof err, "closing the file failed");
    }
    if (!rc && rename(tmp, out) != 0) {
        rc = ERR_IO;
        fmt_snprintf(err, sizeof err, "cannot rename %s to %s", tmp, out);
    }
    source_close(&s);
    if (rc) {
        remove(tmp);
        fprintf(stderr, "llm quantize: %s: %s\n", out, err[0] ? err : err_str(rc));
        return 1;
    }
    printf("wrote %s: %ld bytes (input %ld bytes)\n", out, file_bytes(out), file_bytes(in));
    return 0;
}

/* tool_compare.c */
int compare_main(int argc, char **argv);

int quantize_main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--compare"))
        return compare_main(argc - 2, argv + 2);
    return cmd_quantize(argc - 1, argv + 1);
}
