/* tool_synth.c - host tools of `llm` for GGUF parity tests (build/llm only):
 *
 *   llm synth OUT.gguf --arch llama|phi2 --type TYPE [--dim 256 --hidden 512
 *       --layers 2 --heads 4 --kv-heads 2 --vocab 512 --ctx 256 --seed 1
 *       --vocab-from GGUF --struct 6 --noise 1.5 --print-map]
 *       writes a small synthetic model (see synth_model below).
 *   llm greedy-ids MODEL (--prompt-ids "1 5 9" | --prompt-ids-file F) [--n 50]
 *       [--stats] [--logits [--all] [--raw]] [--check-ids "ID ..."]
 *       greedy decoding with the project's loader and forward pass; prints
 *       what tests/oracle/llama.mjs generate (or, with --logits, llama.mjs
 *       logits) prints, in the same JSON format; --check-ids teacher-forces
 *       another engine's ids and reports our argmax, runner-up and gaps.
 *   llm gguf-split IN.gguf --parts N [--out PREFIX]
 *       writes PREFIX-00001-of-0000N.gguf ... (PREFIX defaults to IN without
 *       .gguf) in llama.cpp's gguf-split layout.
 *
 * Output files are written through stdio; models are read through the
 * platform layer (paths relative to the current directory or absolute). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "gguf.h"
#include "gguf_write.h"
#include "kernels.h"
#include "lib.h"
#include "mathf.h"
#include "model.h"
#include "quant.h"
#include "transformer.h"

int tool_main(int argc, char **argv);

/* ---- small helpers ---------------------------------------------------------- */

static int file_sink(void *ctx, const void *data, size_t n)
{
    return fwrite(data, 1, n, ctx) == n ? 0 : ERR_IO;
}

static int arg_int(const char *opt, const char *s, long lo, long hi, long *ret)
{
    long v;
    if (parse_long(s, &v) || v < lo || v > hi) {
        fprintf(stderr, "llm: %s: expected an integer in %ld..%ld, got '%s'\n", opt, lo, hi, s);
        return ERR_INVAL;
    }
    *ret = v;
    return 0;
}

static int arg_float(const char *opt, const char *s, float *ret)
{
    if (parse_float(s, ret)) {
        fprintf(stderr, "llm: %s: expected a number, got '%s'\n", opt, s);
        return ERR_INVAL;
    }
    return 0;
}

/* Parses "1 5 9" (spaces or commas) into ids; returns the count or -1. */
static int parse_ids(const char *s, int *ids, int cap)
{
    int n = 0;
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s)
            break;
        if (*s < '0' || *s > '9' || n == cap)
            return -1;
        long v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s++ - '0');
            if (v > INT32_MAX)
                return -1;
        }
        ids[n++] = (int)v;
    }
    return n;
}

/* ---- random numbers ------------------------------------------------------- */

struct rng {
    uint64_t s;
    const float *table; /* --fast: 2^RNG_TABLE_BITS normals to draw from, else NULL */
};

/* --fast draws each value from a table of normals: one splitmix step instead
 * of Box-Muller's two and a logarithm (~30 ns a value: 4 minutes for a 7B
 * shape). Same scale and shape, fine for speed benchmarks; the default keeps
 * exact per-value draws, so the test models do not change. */
#define RNG_TABLE_BITS 16

static uint64_t rng_u64(struct rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static float rng_unit(struct rng *r)
{
    return (float)((rng_u64(r) >> 40) + 1) * (1.0f / 16777216.0f);
}

static float rng_normal(struct rng *r) /* Box-Muller */
{
    if (r->table)
        return r->table[rng_u64(r) >> (64 - RNG_TABLE_BITS)];
    float u1 = rng_unit(r), u2 = rng_unit(r);
    return m_sqrtf(-2.0f * m_logf(u1)) * m_cosf(6.2831853f * u2);
}

/* ---- synth ------------------------------------------------------------------- */

struct synth_opts {
    const char *out, *vocab_from;
    int arch;             /* ARCH_LLAMA / ARCH_PHI2 */
    int type;             /* ggml type of the 2-D weights */
    int dim, hidden, layers, heads, kv_heads, vocab, ctx;
    uint64_t seed;
    float structure;      /* logit of the structural successor */
    float noise;          /* std of the history-dependent classifier part */
    int print_map;
    int fast;             /* --fast: table-drawn weights (struct rng) */
};

/* Tensor buffers of a model being built, freed together. */
struct synth_buf {
    void *p[1024]; /* a 7B shape: 9 per layer */
    int n;
};

static void *sb_alloc(struct synth_buf *b, size_t bytes)
{
    if (b->n == (int)ARRAY_LEN(b->p))
        return NULL;
    void *p = calloc(1, bytes ? bytes : 1);
    if (p)
        b->p[b->n++] = p;
    return p;
}

static void sb_free(struct synth_buf *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->p[i]);
    b->n = 0;
}

/* Adds tensor name of rows x cols values (cols contiguous) converted to
 * type (F32 for vectors), a row at a time: the rows of x (copied), or with
 * x NULL rows drawn from N(mean, std^2) in row-major order, so a big model
 * never holds its float weights. */
static int add_rows(struct gguf_writer *w, struct synth_buf *b, const char *name, int type,
                    int rows, int cols, const float *x, struct rng *r, float mean, float std)
{
    uint64_t row_bytes;
    if (qtype_row_bytes(type, (uint64_t)cols, &row_bytes)) {
        fprintf(stderr, "llm synth: %s: row length %d is not a multiple of the %s block size\n",
                name, cols, qtype_name(type));
        return ERR_INVAL;
    }
    unsigned char *dst = sb_alloc(b, (size_t)row_bytes * (size_t)rows);
    float *row = x ? NULL : malloc((size_t)cols * sizeof(float));
    int rc = dst && (x || row) ? 0 : ERR_NOMEM;
    for (int i = 0; i < rows && !rc; i++) {
        const float *src = x ? x + (size_t)i * (size_t)cols : row;
        for (int c = 0; !x && c < cols; c++)
            row[c] = mean + std * rng_normal(r);
        if ((rc = quantize_row(type, src, dst + (size_t)i * row_bytes, cols)) != 0)
            fprintf(stderr, "llm synth: %s: cannot quantize to %s\n", name, qtype_name(type));
    }
    free(row);
    uint64_t dims[2] = {(uint64_t)cols, (uint64_t)rows};
    return rc ? rc : gguf_w_tensor(w, name, (uint32_t)type, rows == 1 ? 1 : 2, dims, dst);
}

static int add_tensor(struct gguf_writer *w, struct synth_buf *b, const char *name, int type,
                      const float *x, int rows, int cols)
{
    return add_rows(w, b, name, type, rows, cols, x, NULL, 0.0f, 0.0f);
}

/* Fills n floats with N(mean, std^2). */
static float *randn(struct synth_buf *b, struct rng *r, size_t n, float mean, float std)
{
    float *x = sb_alloc(b, n * sizeof(float));
    if (x)
        for (size_t i = 0; i < n; i++)
            x[i] = mean + std * rng_normal(r);
    return x;
}

/* tokenizer.ggml.*: copied from a GGUF vocabulary, or a generated llama
 * (SentencePiece) vocabulary: <unk> <s> </s>, the 256 byte tokens, then
 * "▁t<i>" pieces. Returns the vocabulary size in *ret_n. */
static int write_vocab(struct gguf_writer *w, struct synth_buf *b, const struct synth_opts *o,
                       int *ret_n)
{
    if (o->vocab_from) {
        struct gguf_file g;
        char err[256];
        int rc = gguf_open(&g, o->vocab_from, err, sizeof err);
        if (rc) {
            fprintf(stderr, "llm synth: %s: %s\n", o->vocab_from, err);
            return rc;
        }
        const struct gguf_kv *toks = gguf_find(&g, "tokenizer.ggml.tokens");
        if (!toks || toks->type != GGUF_TYPE_ARRAY || toks->elem_type != GGUF_TYPE_STRING ||
            toks->n > INT32_MAX) {
            fprintf(stderr, "llm synth: %s has no tokenizer.ggml.tokens\n", o->vocab_from);
            gguf_close(&g);
            return ERR_FORMAT;
        }
        *ret_n = (int)toks->n;
        for (uint64_t i = 0; i < g.n_kv; i++)
            if (!strncmp(g.kv[i].key.s, "tokenizer.", 10))
                gguf_w_kv(w, NULL, &g.kv[i]);
        gguf_close(&g);
        return w->rc;
    }
    int n = o->vocab;
    if (n < 259 + 1) {
        fprintf(stderr, "llm synth: --vocab must be at least 260 for the generated vocabulary\n");
        return ERR_INVAL;
    }
    struct gguf_str *tok = sb_alloc(b, (size_t)n * sizeof *tok);
    char *text = sb_alloc(b, (size_t)n * 16);
    float *scores = sb_alloc(b, (size_t)n * sizeof(float));
    int32_t *types = sb_alloc(b, (size_t)n * sizeof(int32_t));
    if (!tok || !text || !scores || !types)
        return ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        char *s = text + (size_t)i * 16;
        if (i < 3) {
            static const char *const sp[] = {"<unk>", "<s>", "</s>"};
            snprintf(s, 16, "%s", sp[i]);
            types[i] = i == 0 ? 2 : 3; /* unknown, control */
        } else if (i < 259) {
            snprintf(s, 16, "<0x%02X>", i - 3);
            types[i] = 6; /* byte */
        } else {
            snprintf(s, 16, "\xe2\x96\x81t%d", i); /* U+2581 then t<i> */
            types[i] = 1; /* normal */
            scores[i] = -(float)(i - 259);
        }
        tok[i].s = s;
        tok[i].n = strlen(s);
    }
    gguf_w_str(w, "tokenizer.ggml.model", "llama");
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", tok, (uint64_t)n);
    gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, (uint64_t)n);
    gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n);
    gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);
    *ret_n = n;
    return w->rc;
}

/* The model: random weights scaled so every projection keeps activations of
 * RMS about 1, plus a structured embedding/classifier pair. Token t embeds
 * as a random vector u_t; the classifier row of token v is
 *   (structure / dim) * u_{pred(v)} + (noise / sqrt(dim)) * g_v
 * where succ = pred^-1 is one random cycle through the ordinary tokens. The
 * first term gives the successor of the current token a logit of about
 * `structure` (times the share of u_t left in the residual stream), the
 * second turns the history-dependent rest of the stream (attention over
 * earlier positions, FFN) into logit noise of about `noise`, so the layers
 * decide many of the steps and greedy sequences wander instead of settling
 * into a short loop. Special tokens 0..2 (unk, BOS, EOS) get weak rows. */
static int synth_model(const struct synth_opts *o)
{
    struct gguf_writer w;
    struct synth_buf b = {{0}, 0};
    struct rng r = {o->seed * 0x2545F4914F6CDD1Dull + 1, NULL};
    float *table = o->fast ? malloc(sizeof(float) << RNG_TABLE_BITS) : NULL;
    if (table) {
        for (int i = 0; i < 1 << RNG_TABLE_BITS; i++)
            table[i] = rng_normal(&r);
        r.table = table;
    }
    int D = o->dim, H = o->hidden, L = o->layers, head = o->dim / o->heads;
    int KV = head * o->kv_heads, V = 0, T = o->type, phi2 = o->arch == ARCH_PHI2;
    const char *arch = phi2 ? "phi2" : "llama";
    char key[96], name[64];
    int rc;
    gguf_writer_init(&w);

    /* metadata */
    gguf_w_str(&w, "general.architecture", arch);
    snprintf(key, sizeof key, "synthetic %s %s seed %llu", arch, qtype_name(T),
             (unsigned long long)o->seed);
    gguf_w_str(&w, "general.name", key);
#define ARCH_KEY(k) (snprintf(key, sizeof key, "%s.%s", arch, k), key)
    gguf_w_u32(&w, ARCH_KEY("context_length"), (uint32_t)o->ctx);
    gguf_w_u32(&w, ARCH_KEY("embedding_length"), (uint32_t)D);
    gguf_w_u32(&w, ARCH_KEY("feed_forward_length"), (uint32_t)H);
    gguf_w_u32(&w, ARCH_KEY("block_count"), (uint32_t)L);
    gguf_w_u32(&w, ARCH_KEY("attention.head_count"), (uint32_t)o->heads);
    gguf_w_u32(&w, ARCH_KEY("attention.head_count_kv"), (uint32_t)o->kv_heads);
    /* phi2 rotates part of each head (Phi-2 itself: 32 of 80) */
    gguf_w_u32(&w, ARCH_KEY("rope.dimension_count"), (uint32_t)(phi2 ? head / 2 : head));
    /* not the default 10000, so a reader that ignores the key shows */
    gguf_w_f32(&w, ARCH_KEY("rope.freq_base"), 20000.0f);
    /* a large epsilon, so a reader that misses the key (default 1e-5)
     * computes visibly different norms */
    gguf_w_f32(&w, ARCH_KEY(phi2 ? "attention.layer_norm_epsilon"
                                 : "attention.layer_norm_rms_epsilon"), 2.5e-1f);
#undef ARCH_KEY
    if ((rc = write_vocab(&w, &b, o, &V)) != 0)
        goto out;
    if (V < 8) {
        fprintf(stderr, "llm synth: vocabulary of %d tokens is too small\n", V);
        rc = ERR_INVAL;
        goto out;
    }

    /* the successor cycle over tokens 3..V-1; specials lead into it */
    int *order = sb_alloc(&b, (size_t)V * sizeof(int)), *succ = sb_alloc(&b, (size_t)V * sizeof(int));
    int *pred = sb_alloc(&b, (size_t)V * sizeof(int));
    float *u = randn(&b, &r, (size_t)V * (size_t)D, 0.0f, 1.0f);
    float *cls = sb_alloc(&b, (size_t)V * (size_t)D * sizeof(float));
    if (!order || !succ || !pred || !u || !cls) {
        rc = ERR_NOMEM;
        goto out;
    }
    int n_ord = V - 3;
    for (int i = 0; i < n_ord; i++)
        order[i] = i + 3;
    for (int i = n_ord - 1; i > 0; i--) {
        int j = (int)(rng_u64(&r) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < n_ord; i++) {
        succ[order[i]] = order[(i + 1) % n_ord];
        pred[order[(i + 1) % n_ord]] = order[i];
    }
    for (int t = 0; t < 3; t++)
        succ[t] = order[(t * n_ord) / 3];
    for (int v = 0; v < V; v++) {
        float *row = cls + (size_t)v * (size_t)D;
        float sn = o->noise / m_sqrtf((float)D), ss = o->structure / (float)D;
        if (v < 3) {
            for (int i = 0; i < D; i++)
                row[i] = 0.3f * sn * rng_normal(&r);
            continue;
        }
        const float *up = u + (size_t)pred[v] * (size_t)D;
        for (int i = 0; i < D; i++)
            row[i] = ss * up[i] + sn * rng_normal(&r);
    }
    if (o->print_map) {
        printf("{\"succ\":[");
        for (int v = 0; v < V; v++)
            printf("%s%d", v ? "," : "", succ[v]);
        printf("]}\n");
    }

    float sD = 1.0f / m_sqrtf((float)D), sH = 1.0f / m_sqrtf((float)H);
    if ((rc = add_tensor(&w, &b, "token_embd.weight", T, u, V, D)) != 0)
        goto out;
    for (int l = 0; l < L; l++) {
        float *x;
#define T_ADD(fmt, type, data, rows, cols)                                   \
        do {                                                                 \
            snprintf(name, sizeof name, fmt, l);                             \
            if (!(x = (data))) {                                             \
                rc = ERR_NOMEM;                                              \
                goto out;                                                    \
            }                                                                \
            if ((rc = add_tensor(&w, &b, name, type, x, rows, cols)) != 0)   \
                goto out;                                                    \
        } while (0)
#define R_ADD(fmt, rows, cols, std)                                          \
        do {                                                                 \
            snprintf(name, sizeof name, fmt, l);                             \
            if ((rc = add_rows(&w, &b, name, T, rows, cols, NULL, &r, 0.0f, std)) != 0) \
                goto out;                                                    \
        } while (0)
        T_ADD("blk.%d.attn_norm.weight", GGML_TYPE_F32, randn(&b, &r, (size_t)D, 1.0f, 0.1f), 1, D);
        if (phi2) {
            T_ADD("blk.%d.attn_norm.bias", GGML_TYPE_F32, randn(&b, &r, (size_t)D, 0.0f, 0.05f), 1, D);
            /* fused q, k, v rows; q and k a little larger for peaked attention */
            float *qkv = sb_alloc(&b, (size_t)(D + 2 * KV) * (size_t)D * sizeof(float));
            if (!qkv) {
                rc = ERR_NOMEM;
                goto out;
            }
            for (int i = 0; i < (D + 2 * KV) * D; i++)
                qkv[i] = (i < (D + KV) * D ? 1.5f : 1.0f) * sD * rng_normal(&r);
            T_ADD("blk.%d.attn_qkv.weight", T, qkv, D + 2 * KV, D);
            T_ADD("blk.%d.attn_qkv.bias", GGML_TYPE_F32, randn(&b, &r, (size_t)(D + 2 * KV), 0.0f, 0.1f), 1, D + 2 * KV);
            R_ADD("blk.%d.attn_output.weight", D, D, 0.7f * sD);
            T_ADD("blk.%d.attn_output.bias", GGML_TYPE_F32, randn(&b, &r, (size_t)D, 0.0f, 0.05f), 1, D);
            R_ADD("blk.%d.ffn_up.weight", H, D, sD);
            T_ADD("blk.%d.ffn_up.bias", GGML_TYPE_F32, randn(&b, &r, (size_t)H, 0.0f, 0.1f), 1, H);
            R_ADD("blk.%d.ffn_down.weight", D, H, sH);
            T_ADD("blk.%d.ffn_down.bias", GGML_TYPE_F32, randn(&b, &r, (size_t)D, 0.0f, 0.05f), 1, D);
        } else {
            R_ADD("blk.%d.attn_q.weight", D, D, 1.5f * sD);
            R_ADD("blk.%d.attn_k.weight", KV, D, 1.5f * sD);
            R_ADD("blk.%d.attn_v.weight", KV, D, sD);
            R_ADD("blk.%d.attn_output.weight", D, D, 0.7f * sD);
            T_ADD("blk.%d.ffn_norm.weight", GGML_TYPE_F32, randn(&b, &r, (size_t)D, 1.0f, 0.1f), 1, D);
            R_ADD("blk.%d.ffn_gate.weight", H, D, sD);
            R_ADD("blk.%d.ffn_up.weight", H, D, sD);
            R_ADD("blk.%d.ffn_down.weight", D, H, 1.5f * sH);
        }
#undef T_ADD
#undef R_ADD
    }
    {
        float *x = randn(&b, &r, (size_t)D, 1.0f, 0.1f);
        if (!x || (rc = add_tensor(&w, &b, "output_norm.weight", GGML_TYPE_F32, x, 1, D)) != 0)
            goto out;
        if (phi2 && (!(x = randn(&b, &r, (size_t)D, 0.0f, 0.05f)) ||
                     (rc = add_tensor(&w, &b, "output_norm.bias", GGML_TYPE_F32, x, 1, D)) != 0))
            goto out;
        if ((rc = add_tensor(&w, &b, "output.weight", T, cls, V, D)) != 0)
            goto out;
        if (phi2 && (!(x = randn(&b, &r, (size_t)V, 0.0f, 0.1f)) ||
                     (rc = add_tensor(&w, &b, "output.bias", GGML_TYPE_F32, x, 1, V)) != 0))
            goto out;
    }
    if (w.rc) {
        rc = w.rc;
        fprintf(stderr, "llm synth: building the GGUF failed: %s\n", err_str(rc));
        goto out;
    }
    FILE *f = fopen(o->out, "wb");
    if (!f) {
        perror(o->out);
        rc = ERR_IO;
        goto out;
    }
    rc = gguf_w_write(&w, file_sink, f);
    if (fclose(f) != 0 && !rc)
        rc = ERR_IO;
    if (rc)
        fprintf(stderr, "llm synth: writing %s failed: %s\n", o->out, err_str(rc));
out:
    if (rc && w.rc && rc == w.rc)
        fprintf(stderr, "llm synth: %s\n", err_str(rc));
    gguf_writer_free(&w);
    sb_free(&b);
    free(table);
    return rc;
}

static int parse_type(const char *s)
{
    static const int types[] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0,
                                GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    for (size_t i = 0; i < ARRAY_LEN(types); i++)
        if (!str_casecmp(s, qtype_name(types[i])))
            return types[i];
    return -1;
}

static int cmd_synth(int argc, char **argv)
{
    struct synth_opts o = {0};
    o.arch = ARCH_LLAMA;
    o.type = -1;
    o.dim = 256, o.hidden = 512, o.layers = 2, o.heads = 4, o.kv_heads = 2, o.vocab = 512;
    o.ctx = 256, o.seed = 1, o.structure = 6.0f, o.noise = 1.5f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (o.out)
                goto usage;
            o.out = a;
            continue;
        }
        if (!strcmp(a, "--print-map")) {
            o.print_map = 1;
            continue;
        }
        if (!strcmp(a, "--fast")) {
            o.fast = 1;
            continue;
        }
        if (i + 1 >= argc)
            goto usage;
        const char *v = argv[++i];
        long n;
        struct {
            const char *name;
            int *dst;
            long lo, hi;
        } ints[] = {{"--dim", &o.dim, 2, 1 << 16},       {"--hidden", &o.hidden, 1, 1 << 18},
                    {"--layers", &o.layers, 1, 64},      {"--heads", &o.heads, 1, 1024},
                    {"--kv-heads", &o.kv_heads, 1, 1024}, {"--vocab", &o.vocab, 8, 1 << 20},
                    {"--ctx", &o.ctx, 1, 1 << 20}};
        size_t k;
        for (k = 0; k < ARRAY_LEN(ints); k++)
            if (!strcmp(a, ints[k].name))
                break;
        if (k < ARRAY_LEN(ints)) {
            if (arg_int(a, v, ints[k].lo, ints[k].hi, &n))
                return 2;
            *ints[k].dst = (int)n;
        } else if (!strcmp(a, "--seed")) {
            if (arg_int(a, v, 0, LONG_MAX, &n))
                return 2;
            o.seed = (uint64_t)n;
        } else if (!strcmp(a, "--arch")) {
            if (!strcmp(v, "llama"))
                o.arch = ARCH_LLAMA;
            else if (!strcmp(v, "phi2"))
                o.arch = ARCH_PHI2;
            else
                goto usage;
        } else if (!strcmp(a, "--type")) {
            if ((o.type = parse_type(v)) < 0) {
                fprintf(stderr, "llm synth: unknown --type %s (f32 f16 bf16 q8_0 q4_0 q4_1 "
                                "q4_K q6_K)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--vocab-from")) {
            o.vocab_from = v;
        } else if (!strcmp(a, "--struct")) {
            if (arg_float(a, v, &o.structure))
                return 2;
        } else if (!strcmp(a, "--noise")) {
            if (arg_float(a, v, &o.noise))
                return 2;
        } else {
            goto usage;
        }
    }
    if (!o.out || o.type < 0)
        goto usage;
    if (o.dim % o.heads || o.heads % o.kv_heads || (o.dim / o.heads) % 4) {
        fprintf(stderr, "llm synth: --heads must divide --dim (head size a multiple of 4) and "
                        "--kv-heads must divide --heads\n");
        return 2;
    }
    return synth_model(&o) ? 1 : 0;
usage:
    fprintf(stderr,
            "usage: llm synth OUT.gguf --arch llama|phi2 --type f32|f16|bf16|q8_0|q4_0|q4_1|"
            "q4_K|q6_K\n"
            "           [--dim 256 --hidden 512 --layers 2 --heads 4 --kv-heads 2 --vocab 512 "
            "--ctx 256 --seed 1]\n"
            "           [--vocab-from GGUF] [--struct 6 --noise 1.5] [--print-map] [--fast]\n"
            "  K-quants (q4_K, q6_K) need --dim and --hidden multiples of 256, the others of 32.\n"
            "  --vocab-from copies tokenizer.* from a GGUF (its size wins over --vocab).\n"
            "  --fast draws weights from a table of normals: for big benchmark shapes.\n");
    return 2;
}

/* ---- greedy-ids ------------------------------------------------------------- */

#define MAX_PROMPT 4096

struct greedy_stats {
    double margin_min, margin_sum;
    int steps, min_at;
    float *margins;       /* every step, for the median */
    int margins_cap;
};

/* k_argmax, and the margin of its logit over the runner-up's. */
static int argmax(const float *x, int n, float *ret_margin)
{
    int best = k_argmax(x, n);
    float second = -3.4e38f;
    for (int i = 0; i < n; i++)
        if (i != best && x[i] > second)
            second = x[i];
    *ret_margin = x[best] - second;
    return best;
}

/* End-of-generation ids of a GGUF model (EOS, EOT, EOM when present). */
static int eog_ids(const struct model *m, int64_t ids[3])
{
    static const char *const keys[] = {"tokenizer.ggml.eos_token_id",
                                       "tokenizer.ggml.eot_token_id",
                                       "tokenizer.ggml.eom_token_id"};
    int n = 0;
    if (m->cfg.format != MODEL_FMT_GGUF)
        return 0;
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        const struct gguf_kv *kv = gguf_find(&m->gguf, keys[i]);
        int64_t v;
        if (kv && gguf_kv_int(kv, &v) == 0 && v >= 0 && v < m->cfg.vocab_size)
            ids[n++] = v;
    }
    return n;
}

/* One prompt: prefill, then greedy steps. Prints {"ids":[...],"stop":...}. */
static int greedy_one(const struct model *m, struct run_state *s, const int *prompt, int n_prompt,
                      int n, struct greedy_stats *st)
{
    int64_t eog[3];
    int n_eog = eog_ids(m, eog);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= m->cfg.vocab_size) {
            fprintf(stderr, "llm greedy-ids: token id %d out of range (vocabulary has %d tokens)\n",
                    prompt[i], m->cfg.vocab_size);
            return ERR_RANGE;
        }
    if (n_prompt < 1 || n_prompt + n > m->cfg.seq_len + 1) {
        fprintf(stderr, "llm greedy-ids: prompt (%d) + n (%d) exceed the context of %d\n",
                n_prompt, n, m->cfg.seq_len);
        return ERR_RANGE;
    }
    const char *stop = "n";
    printf("{\"ids\":[");
    if (n > 0) {
        int pos = 0, token = prompt[0], count = 0;
        for (; pos < n_prompt - 1; pos++)
            transformer_forward(m, s, prompt[pos], pos);
        token = prompt[n_prompt - 1];
        for (;;) {
            float *logits = transformer_forward(m, s, token, pos++), margin;
            int next = argmax(logits, m->cfg.vocab_size, &margin);
            if (st->steps == 0 || margin < st->margin_min) {
                st->margin_min = margin;
                st->min_at = count;
            }
            st->margin_sum += margin;
            if (st->steps < st->margins_cap)
                st->margins[st->steps] = margin;
            st->steps++;
            printf("%s%d", count ? "," : "", next);
            count++;
            int is_eog = 0;
            for (int e = 0; e < n_eog; e++)
                is_eog |= next == eog[e];
            if (is_eog) {
                stop = "eog";
                break;
            }
            if (count >= n)
                break;
            token = next;
        }
    }
    printf("],\"stop\":\"%s\"}", stop);
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* log-softmax of the logits (doubles, like llama.mjs's ln(p)) printed as a
 * JSON array. */
static void print_log_softmax(const float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += m_exp((double)x[i] - (double)mx);
    double lse = (double)mx + m_log(sum);
    putchar('[');
    for (int i = 0; i < n; i++)
        printf("%s%.9g", i ? "," : "", (double)x[i] - lse);
    putchar(']');
}

/* --check-ids: our view of every step of a given continuation. */
static int check_ids(const struct model *m, struct run_state *s, const char *prompt_text,
                     const char *cont_text)
{
    static int prompt[MAX_PROMPT], cont[MAX_PROMPT];
    int np = parse_ids(prompt_text, prompt, MAX_PROMPT), nc = parse_ids(cont_text, cont, MAX_PROMPT);
    if (np < 1 || nc < 0 || np + nc > m->cfg.seq_len + 1) {
        fprintf(stderr, "llm greedy-ids: bad --prompt-ids/--check-ids (or longer than the context)\n");
        return ERR_INVAL;
    }
    for (int i = 0; i < np + nc; i++) {
        int t = i < np ? prompt[i] : cont[i - np];
        if (t < 0 || t >= m->cfg.vocab_size) {
            fprintf(stderr, "llm greedy-ids: token id %d out of range\n", t);
            return ERR_RANGE;
        }
    }
    int *top = calloc((size_t)nc + 1, sizeof(int)), *second = calloc((size_t)nc + 1, sizeof(int));
    float *margin = calloc((size_t)nc + 1, sizeof(float)), *gap = calloc((size_t)nc + 1, sizeof(float));
    if (!top || !second || !margin || !gap) {
        free(top), free(second), free(margin), free(gap);
        return ERR_NOMEM;
    }
    for (int pos = 0; pos < np + nc - 1; pos++) {
        int t = pos < np ? prompt[pos] : cont[pos - np];
        float *lg = transformer_forward(m, s, t, pos);
        if (pos < np - 1)
            continue;
        int k = pos - (np - 1);
        top[k] = argmax(lg, m->cfg.vocab_size, &margin[k]);
        second[k] = -1;
        for (int v = 0; v < m->cfg.vocab_size; v++)
            if (v != top[k] && (second[k] < 0 || lg[v] > lg[second[k]]))
                second[k] = v;
        gap[k] = lg[top[k]] - lg[cont[k]];
    }
    const char *names[4] = {"top", "second", "margin", "gap"};
    printf("{");
    for (int a = 0; a < 4; a++) {
        printf("%s\"%s\":[", a ? "," : "", names[a]);
        for (int k = 0; k < nc; k++) {
            if (a < 2)
                printf("%s%d", k ? "," : "", a ? second[k] : top[k]);
            else
                printf("%s%.6g", k ? "," : "", (double)(a == 2 ? margin[k] : gap[k]));
        }
        printf("]");
    }
    printf("}\n");
    free(top), free(second), free(margin), free(gap);
    return 0;
}

static int cmd_greedy(int argc, char **argv)
{
    const char *path = NULL, *ids_str = NULL, *ids_file = NULL, *check = NULL;
    long n = 50;
    int stats = 0, logits = 0, all = 0, raw = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (path)
                goto usage;
            path = a;
        } else if (!strcmp(a, "--stats")) {
            stats = 1;
        } else if (!strcmp(a, "--logits")) {
            logits = 1;
        } else if (!strcmp(a, "--all")) {
            all = 1;
        } else if (!strcmp(a, "--raw")) {
            raw = 1;
        } else if (i + 1 < argc && !strcmp(a, "--prompt-ids")) {
            ids_str = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--prompt-ids-file")) {
            ids_file = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--check-ids")) {
            check = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--n")) {
            if (arg_int(a, argv[++i], 0, MODEL_MAX_CONTEXT, &n))
                return 2;
        } else {
            goto usage;
        }
    }
    if (!path || !!ids_str + !!ids_file != 1 || ((logits || check) && ids_file) ||
        ((all || raw) && !logits) || (logits && check))
        goto usage;

    /* prompts: one line each */
    char *text = NULL;
    if (ids_file) {
        FILE *f = fopen(ids_file, "rb");
        if (!f) {
            perror(ids_file);
            return 1;
        }
        size_t cap = 1 << 16, len = 0;
        text = malloc(cap + 1);
        size_t got;
        while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len == cap) {
                char *t = realloc(text, (cap *= 2) + 1);
                if (!t) {
                    free(text);
                    text = NULL;
                }
                text = t;
            }
        }
        fclose(f);
        if (!text) {
            fprintf(stderr, "llm greedy-ids: out of memory\n");
            return 1;
        }
        text[len] = 0;
    } else {
        text = strdup(ids_str);
        if (!text)
            return 1;
    }

    struct model m;
    struct run_state s;
    char err[256];
    memset(&s, 0, sizeof s);
    if ((rc = model_load(&m, path, err, sizeof err)) != 0) {
        fprintf(stderr, "llm greedy-ids: %s: %s\n", path, err);
        free(text);
        return 1;
    }
    if ((rc = run_state_alloc(&s, &m.cfg)) != 0) {
        fprintf(stderr, "llm greedy-ids: no memory for the state: %s\n", err_str(rc));
        goto out;
    }
    static int ids[MAX_PROMPT];
    static float margins[1 << 16];
    struct greedy_stats st = {0, 0, 0, 0, margins, (int)ARRAY_LEN(margins)};
    if (logits) {
        int k = parse_ids(text, ids, MAX_PROMPT);
        if (k < 1 || k > m.cfg.seq_len) {
            fprintf(stderr, "llm greedy-ids: bad --prompt-ids for --logits\n");
            rc = ERR_INVAL;
            goto out;
        }
        for (int i = 0; i < k; i++)
            if (ids[i] < 0 || ids[i] >= m.cfg.vocab_size) {
                fprintf(stderr, "llm greedy-ids: token id %d out of range\n", ids[i]);
                rc = ERR_RANGE;
                goto out;
            }
        printf("{\"%s\":%s", raw ? "logits" : "log_softmax", all ? "[" : "");
        for (int i = 0; i < k; i++) {
            float *lg = transformer_forward(&m, &s, ids[i], i);
            if (all || i == k - 1) {
                if (all && i)
                    putchar(',');
                if (raw) { /* the logits themselves, to float precision */
                    for (int v = 0; v < m.cfg.vocab_size; v++)
                        printf("%s%.9g", v ? "," : "[", (double)lg[v]);
                    putchar(']');
                } else {
                    print_log_softmax(lg, m.cfg.vocab_size);
                }
            }
        }
        printf("%s}\n", all ? "]" : "");
        goto out;
    }
    if (check) {
        rc = check_ids(&m, &s, text, check);
        goto out;
    }
    int n_prompts = 0;
    if (ids_file)
        putchar('[');
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        int k = parse_ids(line, ids, MAX_PROMPT);
        if (k < 0) {
            fprintf(stderr, "llm greedy-ids: bad token ids '%s'\n", line);
            rc = ERR_FORMAT;
            goto out;
        }
        if (k == 0 && ids_file)
            continue; /* blank line */
        if (k == 0) {
            fprintf(stderr, "llm greedy-ids: empty prompt: give at least one token (BOS)\n");
            rc = ERR_INVAL;
            goto out;
        }
        if (n_prompts++)
            putchar(',');
        if ((rc = greedy_one(&m, &s, ids, k, (int)n, &st)) != 0)
            goto out;
        if (!ids_file)
            break;
    }
    if (ids_file)
        putchar(']');
    putchar('\n');
    if (n_prompts == 0) {
        fprintf(stderr, "llm greedy-ids: no prompts\n");
        rc = ERR_INVAL;
        goto out;
    }
    if (stats && st.steps) {
        int k = MIN(st.steps, st.margins_cap);
        qsort(st.margins, (size_t)k, sizeof(float), cmp_float);
        fprintf(stderr, "stats: steps %d margin min %.4f (step %d) p10 %.4f median %.4f mean %.4f\n",
                st.steps, st.margin_min, st.min_at, (double)st.margins[k / 10],
                (double)st.margins[k / 2], st.margin_sum / st.steps);
    }
out:
    fflush(stdout);
    run_state_free(&s);
    model_free(&m);
    free(text);
    return rc ? 1 : 0;
usage:
    fprintf(stderr,
            "usage: llm greedy-ids MODEL (--prompt-ids \"1 5 9\" | --prompt-ids-file F) [--n 50] "
            "[--stats]\n"
            "       llm greedy-ids MODEL --prompt-ids \"1 5 9\" --logits [--all] [--raw]\n"
            "       llm greedy-ids MODEL --prompt-ids \"1 5 9\" --check-ids \"ID ...\"\n"
            "  Greedy ids after the prompt (argmax, lowest id on ties), stopping at an\n"
            "  end-of-generation id (GGUF eos/eot/eom, included) or after n: the JSON of\n"
            "  tests/oracle/llama.mjs generate. --logits prints llama.mjs logits' JSON\n"
            "  (log-softmax of the last position, of every position with --all; --raw:\n"
            "  the logits themselves, as {\"logits\":...}).\n"
            "  --stats: top-1 minus top-2 logit margins of the chosen ids on stderr.\n"
            "  --check-ids: teacher-forced check of a continuation (another engine's greedy\n"
            "  ids): feeds prompt + ids and prints, for each id, our argmax, runner-up,\n"
            "  top-1 minus top-2 margin and gap = logit[argmax] - logit[id] (0 when equal):\n"
            "  {\"top\":[..],\"second\":[..],\"margin\":[..],\"gap\":[..]}.\n");
    return 2;
}

/* ---- gguf-split --------------------------------------------------------------- */

static int is_split_key(const char *k)
{
    return !strncmp(k, "split.", 6);
}

/* Copies tensor t's bytes from its file into the writer's stream. */
static int copy_tensor(struct gguf_writer *w, FILE *out, const struct gguf_file *g,
                       const struct gguf_tensor *t, unsigned char *buf, size_t cap)
{
    plat_file *f;
    int rc = plat_file_open(g->parts[t->part].path, &f);
    if (rc)
        return rc;
    if ((rc = plat_file_seek(f, t->offset)) != 0)
        goto done;
    for (uint64_t left = t->n_bytes; left;) {
        size_t want = left < cap ? (size_t)left : cap, got;
        if ((rc = plat_file_read(f, buf, want, &got)) != 0)
            goto done;
        if (got == 0) {
            rc = ERR_IO;
            goto done;
        }
        if ((rc = gguf_w_write_data(w, file_sink, out, buf, got)) != 0)
            goto done;
        left -= got;
    }
done:
    plat_file_close(f);
    return rc;
}

static int cmd_split(int argc, char **argv)
{
    const char *in = NULL, *prefix_arg = NULL;
    long parts = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            if (in)
                goto usage;
            in = argv[i];
        } else if (i + 1 < argc && !strcmp(argv[i], "--parts")) {
            if (arg_int("--parts", argv[++i], 1, 99999, &parts))
                return 2;
        } else if (i + 1 < argc && !strcmp(argv[i], "--out")) {
            prefix_arg = argv[++i];
        } else {
            goto usage;
        }
    }
    if (!in || parts < 1)
        goto usage;
    char prefix[1024];
    if (prefix_arg) {
        snprintf(prefix, sizeof prefix, "%s", prefix_arg);
    } else {
        snprintf(prefix, sizeof prefix, "%s", in);
        if (str_ends_with_ci(prefix, ".gguf"))
            prefix[strlen(prefix) - 5] = 0;
    }
    struct gguf_file g;
    char err[256];
    int rc = gguf_open(&g, in, err, sizeof err);
    if (rc) {
        fprintf(stderr, "llm gguf-split: %s: %s\n", in, err);
        return 1;
    }
    if ((uint64_t)parts > g.n_tensors || g.n_tensors > INT32_MAX) {
        fprintf(stderr, "llm gguf-split: %llu tensors cannot fill %ld parts\n",
                (unsigned long long)g.n_tensors, parts);
        gguf_close(&g);
        return 1;
    }
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        gguf_close(&g);
        return 1;
    }
    const struct gguf_kv *align = gguf_find(&g, "general.alignment");
    for (long p = 0; p < parts && !rc; p++) {
        uint64_t t0 = g.n_tensors * (uint64_t)p / (uint64_t)parts;
        uint64_t t1 = g.n_tensors * (uint64_t)(p + 1) / (uint64_t)parts;
        struct gguf_writer w;
        gguf_writer_init(&w);
        /* like llama.cpp's gguf-split: all metadata in the first part, the
         * split keys after it in every part */
        for (uint64_t i = 0; i < g.n_kv; i++) {
            const char *k = g.kv[i].key.s;
            if (is_split_key(k) || (p > 0 && &g.kv[i] != align))
                continue;
            gguf_w_kv(&w, NULL, &g.kv[i]);
        }
        gguf_w_u16(&w, "split.no", (uint16_t)p);
        gguf_w_u16(&w, "split.count", (uint16_t)parts);
        gguf_w_i32(&w, "split.tensors.count", (int32_t)g.n_tensors);
        for (uint64_t i = t0; i < t1; i++) {
            const struct gguf_tensor *t = &g.tensors[i];
            gguf_w_tensor(&w, t->name, t->type, t->n_dims ? t->n_dims : 1, t->dims, NULL);
        }
        char path[1100];
        snprintf(path, sizeof path, "%s-%05ld-of-%05ld.gguf", prefix, p + 1, parts);
        FILE *f = NULL;
        if ((rc = w.rc) != 0) {
            fprintf(stderr, "llm gguf-split: building part %ld: %s\n", p + 1, err_str(rc));
        } else if (!(f = fopen(path, "wb"))) {
            perror(path);
            rc = ERR_IO;
        } else {
            rc = gguf_w_write_header(&w, file_sink, f);
            for (uint64_t i = t0; i < t1 && !rc; i++)
                rc = copy_tensor(&w, f, &g, &g.tensors[i], buf, cap);
            if (!rc)
                rc = gguf_w_write_end(&w);
            if (fclose(f) != 0 && !rc)
                rc = ERR_IO;
            if (rc)
                fprintf(stderr, "llm gguf-split: writing %s failed: %s\n", path, err_str(rc));
            else
                fprintf(stderr, "%s: %llu tensors\n", path, (unsigned long long)(t1 - t0));
        }
        gguf_writer_free(&w);
    }
    free(buf);
    gguf_close(&g);
    return rc ? 1 : 0;
usage:
    fprintf(stderr, "usage: llm gguf-split IN.gguf --parts N [--out PREFIX]\n"
                    "  writes PREFIX-00001-of-0000N.gguf ... (PREFIX: IN without .gguf): the\n"
                    "  metadata in the first part, the tensors spread in order over all parts.\n");
    return 2;
}

/* ---- dispatch ----------------------------------------------------------------- */

int tool_main(int argc, char **argv)
{
    if (!strcmp(argv[0], "synth"))
        return cmd_synth(argc, argv);
    if (!strcmp(argv[0], "greedy-ids"))
        return cmd_greedy(argc, argv);
    if (!strcmp(argv[0], "gguf-split"))
        return cmd_split(argc, argv);
    fprintf(stderr, "llm: unknown tool %s\n", argv[0]);
    return 2;
}
