/* transformer.c - llama forward pass: RMSNorm, RoPE, grouped-query attention
 * with a KV cache, SwiGLU FFN, classifier. Arithmetic order follows the
 * reference (llama2.c run.c) exactly so greedy decoding matches token for
 * token; the SIMD paths later get differential tests against this file. */
#include "transformer.h"
#include "errors.h"
#include "lib.h"
#include "kernels.h"
#include "mathf.h"
#include "quant.h"
#include "simd.h"
#include "prof.h"

#define SLOT_ALIGN 64

static uint64_t align_up(uint64_t n)
{
    return (n + SLOT_ALIGN - 1) & ~(uint64_t)(SLOT_ALIGN - 1);
}

#define N_SLOTS 13

/* Largest scratch any weight type needs to quantize one activation row
 * (qmatvec), in bytes, rounded up to the row alignment. */
static uint64_t qscratch_row_bytes(const struct model_config *c)
{
    int n = MAX(c->dim, c->hidden_dim);
    static const int types[] = {GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
                                GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    size_t most = 0;
    for (size_t i = 0; i < ARRAY_LEN(types); i++)
        if (n % 256 == 0 || (n % 32 == 0 && types[i] != GGML_TYPE_Q4_K &&
                             types[i] != GGML_TYPE_Q6_K) || i < 2)
            most = MAX(most, qmatvec_scratch_bytes(types[i], n));
    if (c->group_size) /* llama2.c int8 groups: the values, then one scale per group */
        most = MAX(most, (size_t)n + 4 + (size_t)(n / c->group_size) * 4);
    return align_up(most);
}

/* Float counts of the state's buffers, in struct order. Per-token buffers
 * hold TRANSFORMER_BATCH rows; hb2 rows also hold phi2's MLP output (dim). */
static int state_sizes(const struct model_config *c, uint64_t sizes[N_SLOTS])
{
    const uint64_t B = TRANSFORMER_BATCH;
    uint64_t kv, dim = (uint64_t)c->dim, kv_dim = (uint64_t)model_kv_dim(c);
    if (size_mul((uint64_t)c->n_layers * (uint64_t)c->seq_len, kv_dim, &kv))
        return ERR_RANGE;
    uint64_t hid = (uint64_t)MAX(c->hidden_dim, c->dim);
    uint64_t s[N_SLOTS] = {
        B * dim, B * dim, B * dim, B * hid, B * hid, B * dim,
        (uint64_t)c->n_heads * (uint64_t)c->seq_len, (uint64_t)c->vocab_size, kv, kv,
        B * (dim + 2 * kv_dim), B * qscratch_row_bytes(c) / 4,
        B * (uint64_t)model_head_size(c),
    };
    memcpy(sizes, s, sizeof s);
    return 0;
}

int run_state_bytes(const struct model_config *cfg, uint64_t *ret_bytes)
{
    uint64_t sizes[N_SLOTS], total = 0;
    if (state_sizes(cfg, sizes))
        return ERR_RANGE;
    for (int i = 0; i < N_SLOTS; i++) {
        uint64_t b;
        if (size_mul(sizes[i], 4, &b) || size_add(total, align_up(b), &total))
            return ERR_RANGE;
    }
    *ret_bytes = total;
    return 0;
}

int run_state_alloc(struct run_state *s, const struct model_config *cfg)
{
    uint64_t sizes[N_SLOTS], total;
    memset(s, 0, sizeof *s);
    if (run_state_bytes(cfg, &total) || total > SIZE_MAX)
        return ERR_RANGE;
    state_sizes(cfg, sizes);
    unsigned char *p = plat_alloc((size_t)total);
    if (!p)
        return ERR_NOMEM;
    s->block = p;
    s->block_bytes = (size_t)total;
    float **slots[N_SLOTS] = {&s->x, &s->xb, &s->xb2, &s->hb, &s->hb2, &s->q,
                              &s->att, &s->logits, &s->key_cache, &s->value_cache,
                              &s->qkv, &s->qscratch, &s->rope_cs};
    for (int i = 0; i < N_SLOTS; i++) {
        *slots[i] = (float *)p;
        p += align_up(sizes[i] * 4);
    }
    return 0;
}

void run_state_free(struct run_state *s)
{
    if (s->block)
        plat_free(s->block, s->block_bytes);
    memset(s, 0, sizeof *s);
}

/* ---- building blocks ------------------------------------------------------ */

/* outs[k] (nb, ts[k]->rows) = nb activation rows x (nb, cols) times
 * ts[k], for count (<= QMAT_MAX) tensors of the same width, each in its own
 * type: F32 of llama2.c files through the reference kernel, quantized types
 * the way llama.cpp computes them. Quantized tensors of one type (q, k and
 * v; gate and up) share the activation conversion and one parallel pass.
 * Every row product is the same function call whatever nb and count are, so
 * batched prefill and token-by-token decoding agree bit for bit. */
/* Tensors of one ggml type: x converted to the type's activations once,
 * then one parallel pass over all their rows. */
static void quantized_matmul(struct run_state *s, float *const *outs,
                             const struct tensor *const *ts, int count, const float *x, int nb)
{
    int n = ts[0]->cols, type = ts[0]->type;
    size_t stride = align_up(qmatvec_scratch_bytes(type, n));
    unsigned char *xq = (unsigned char *)s->qscratch;
    for (int b = 0; b < nb; b++)
        qmatvec_prepare(type, x + (size_t)b * n, n, xq + (size_t)b * stride);
    struct qmat mats[QMAT_MAX];
    for (int k = 0; k < count; k++)
        mats[k] = (struct qmat){outs[k], ts[k]->data, ts[k]->rows};
    qmatmul_prepared_many(mats, count, type, xq, stride, n, nb);
}

static void matvec_many(struct run_state *s, float *const *outs, const struct tensor *const *ts,
                        int count, const float *x, int nb)
{
    uint64_t t0 = prof_begin();
    int n = ts[0]->cols, type = ts[0]->type, same = 1;
    for (int k = 1; k < count; k++)
        same &= ts[k]->type == type;
    if (type == GGML_TYPE_F32 || type == TENSOR_Q8_GROUPS || !same) {
        for (int k = 0; k < count; k++) {
            const struct tensor *t = ts[k];
            if (t->type == GGML_TYPE_F32) {
                k_matmul_batch(outs[k], x, t->data, n, t->rows, nb);
            } else if (t->type == TENSOR_Q8_GROUPS) {
                int8_t *xq = (int8_t *)s->qscratch;
                float *xs = (float *)(xq + (((size_t)n * (size_t)nb + 3) & ~(size_t)3));
                for (int b = 0; b < nb; b++)
                    k_quantize_q8g(x + (size_t)b * n, xq + (size_t)b * n,
                                   xs + (size_t)b * (n / t->group), n, t->group);
                k_matmul_q8g_batch(outs[k], xq, xs, t->data, t->scales, n, t->rows, t->group, nb);
            } else {
                quantized_matmul(s, &outs[k], &ts[k], 1, x, nb);
            }
        }
    } else {
        quantized_matmul(s, outs, ts, count, x, nb);
    }
    prof_end(PROF_MATMUL, t0);
}

static void matvec(struct run_state *s, float *out, const struct tensor *t, const float *x, int nb)
{
    matvec_many(s, &out, &t, 1, x, nb);
}

/* Adds the bias row to each of nb rows of b->cols values. */
static void add_bias(float *x, const struct tensor *b, int nb)
{
    if (!b->data)
        return;
    const float *v = b->data;
    for (int r = 0; r < nb; r++, x += b->cols)
        for (int i = 0; i < b->cols; i++)
            x[i] += v[i];
}

/* x = row `token` of the embedding table, dequantized if need be. */
static void embed(const struct tensor *emb, int token, float *x)
{
    if (emb->type == TENSOR_Q8_GROUPS) {
        const int8_t *q = (const int8_t *)emb->data + (size_t)token * (size_t)emb->cols;
        const float *s = emb->scales + (size_t)token * (size_t)emb->cols / (size_t)emb->group;
        for (int i = 0; i < emb->cols; i++)
            x[i] = (float)q[i] * s[i / emb->group];
        return;
    }
    uint64_t row_bytes = (uint64_t)emb->cols * 4;
    if (emb->type != GGML_TYPE_F32)
        qtype_row_bytes(emb->type, (uint64_t)emb->cols, &row_bytes);
    dequantize_row(emb->type, (const char *)emb->data + (uint64_t)token * row_bytes, x,
                   emb->cols);
}

/* ggml's RMSNorm: squares summed in double, then out = (x * scale) * w. */
static void rmsnorm_ggml(float *out, const float *x, const float *w, int n, float eps)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    float scale = 1.0f / m_sqrtf((float)(sum / n) + eps);
    for (int i = 0; i < n; i++)
        out[i] = (x[i] * scale) * w[i];
}

/* ggml's LayerNorm (phi2): mean and variance in double, then weight + bias. */
static void layernorm_ggml(float *out, const float *x, const struct tensor *w,
                           const struct tensor *b, int n, float eps)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += (double)x[i];
    float mean = (float)(sum / n);
    double var = 0.0;
    for (int i = 0; i < n; i++) {
        float d = x[i] - mean;
        out[i] = d;
        var += (double)(d * d);
    }
    float scale = 1.0f / m_sqrtf((float)(var / n) + eps);
    const float *wv = w->data, *bv = b->data;
    for (int i = 0; i < n; i++)
        out[i] = out[i] * scale * wv[i] + (bv ? bv[i] : 0.0f);
}

/* The model's norm of each of nb rows of dim values. */
static void norm(const struct model_config *c, float *out, const float *x,
                 const struct tensor *w, const struct tensor *b, int nb)
{
    uint64_t t0 = prof_begin();
    for (int r = 0; r < nb; r++, out += c->dim, x += c->dim) {
        if (c->arch == ARCH_PHI2)
            layernorm_ggml(out, x, w, b, c->dim, c->norm_eps);
        else if (c->format == MODEL_FMT_GGUF)
            rmsnorm_ggml(out, x, w->data, c->dim, c->norm_eps);
        else
            g_simd->rmsnorm(out, x, w->data, c->dim); /* generic: llama2.c's exact arithmetic */
    }
    prof_end(PROF_NORM, t0);
}

/* The cos/sin pairs RoPE rotates position pos by, into cs (head_size
 * floats): they are the same in every layer and every head, so each position
 * computes them once per forward pass instead of once per layer and pair.
 * llama2.c: pair i of a head turns by pos / 10000^(i / head_size), each
 * frequency from powf as run.c does. ggml: theta multiplied down by a
 * constant ratio over the first rope_dim values. */
static void rope_angles(const struct model_config *c, int pos, float *cs)
{
    int head = model_head_size(c);
    if (c->format != MODEL_FMT_GGUF) {
        for (int i = 0; i < head; i += 2) {
            float freq = 1.0f / m_powf(10000.0f, (float)i / (float)head);
            float val = (float)pos * freq;
            cs[i] = m_cosf(val);
            cs[i + 1] = m_sinf(val);
        }
        return;
    }
    int nd = c->rope_dim;
    float theta = (float)pos, step = m_powf(c->rope_theta, -2.0f / (float)nd);
    for (int i = 0; i < nd; i += 2) {
        cs[i] = m_cosf(theta);
        cs[i + 1] = m_sinf(theta);
        theta *= step;
    }
}

/* Rotates the first n_rot values of each of n_heads heads by the pairs in
 * cs: adjacent pairs (llama, llama2.c) or the two halves (NeoX style, phi2). */
static void rope_rotate(float *vec, int n_heads, int head, int n_rot, int neox, const float *cs)
{
    for (int h = 0; h < n_heads; h++) {
        float *v = vec + h * head;
        for (int i = 0; i < n_rot; i += 2) {
            int a = neox ? i / 2 : i, b = neox ? i / 2 + n_rot / 2 : i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * cs[i] - x1 * cs[i + 1];
            v[b] = x0 * cs[i + 1] + x1 * cs[i];
        }
    }
}

/* Attention of one head for one position: q's scores against the cached
 * keys 0..pos of one layer (or the sliding window's), softmax into att,
 * the weighted sum of the values into out. */
static void attend_head(const struct model_config *c, struct run_state *s, const float *q,
                        float *out, float *att, size_t head_off, int pos)
{
    int head_size = model_head_size(c), kv_dim = model_kv_dim(c);
    int t0 = c->sliding_window > 0 && pos >= c->sliding_window ? pos - c->sliding_window + 1 : 0;
    float sq = m_sqrtf((float)head_size), inv = 1.0f / sq;
    int nk = pos - t0 + 1;
    size_t first = head_off + (size_t)t0 * (size_t)kv_dim;
    g_simd->attn_scores(q, s->key_cache + first, (size_t)kv_dim, nk, head_size, att);
    for (int t = 0; t < nk; t++) /* llama2.c divides, ggml multiplies by the inverse */
        att[t] = c->format == MODEL_FMT_GGUF ? att[t] * inv : att[t] / sq;
    k_softmax(att, nk);
    g_simd->attn_values(att, s->value_cache + first, (size_t)kv_dim, nk, head_size, out);
}

/* ggml's GELU (tanh form), evaluated on fp16 inputs and rounded to fp16 as
 * its lookup table does. */
static float gelu_ggml(float x)
{
    if (x <= -10.0f)
        return 0.0f;
    if (x >= 10.0f)
        return x;
    float h = f16_to_f32(f32_to_f16(x));
    float u = 0.7978845608028654f * h * (1.0f + 0.044715f * h * h);
    float th = 1.0f - 2.0f / (m_expf(2.0f * u) + 1.0f); /* tanh(u) */
    return f16_to_f32(f32_to_f16(0.5f * h * (1.0f + th)));
}

/* ---- the layer ---------------------------------------------------------------- */

/* q, k, v of nb positions of layer l: q to s->q, k and v straight into the
 * cache rows of those positions (consecutive, kv_dim apart). */
static void qkv_projection(const struct model *m, struct run_state *s, const struct layer_weights *L,
                           float *k, float *v, int nb)
{
    const struct model_config *c = &m->cfg;
    int dim = c->dim, kv_dim = model_kv_dim(c), qkv_dim = dim + 2 * kv_dim;
    if (L->wqkv.data) { /* fused (phi2): rows are q, then k, then v */
        matvec(s, s->qkv, &L->wqkv, s->xb, nb);
        add_bias(s->qkv, &L->bqkv, nb);
        for (int b = 0; b < nb; b++) {
            const float *r = s->qkv + (size_t)b * qkv_dim;
            memcpy(s->q + (size_t)b * dim, r, (size_t)dim * sizeof(float));
            memcpy(k + (size_t)b * kv_dim, r + dim, (size_t)kv_dim * sizeof(float));
            memcpy(v + (size_t)b * kv_dim, r + dim + kv_dim, (size_t)kv_dim * sizeof(float));
        }
        return;
    }
    float *const outs[3] = {s->q, k, v};
    const struct tensor *const ts[3] = {&L->wq, &L->wk, &L->wv};
    matvec_many(s, outs, ts, 3, s->xb, nb);
    add_bias(s->q, &L->bq, nb);
    add_bias(k, &L->bk, nb);
    add_bias(v, &L->bv, nb);
}

/* The RoPE pairs of nb positions starting at pos, for every layer. */
static void rope_prepare(const struct model_config *c, struct run_state *s, int nb, int pos)
{
    uint64_t t0 = prof_begin();
    for (int b = 0; b < nb; b++)
        rope_angles(c, pos + b, s->rope_cs + (size_t)b * (size_t)model_head_size(c));
    prof_end(PROF_ROPE, t0);
}

/* Rotates the q and k rows of nb positions starting at pos. */
static void rope(const struct model_config *c, struct run_state *s, float *k, int nb)
{
    uint64_t t0 = prof_begin();
    int dim = c->dim, kv_dim = model_kv_dim(c), head = model_head_size(c);
    int gguf = c->format == MODEL_FMT_GGUF, neox = c->arch == ARCH_PHI2;
    int n_rot = gguf ? c->rope_dim : head; /* llama2.c rotates every pair */
    for (int b = 0; b < nb; b++) {
        const float *cs = s->rope_cs + (size_t)b * (size_t)head;
        rope_rotate(s->q + (size_t)b * dim, c->n_heads, head, n_rot, gguf && neox, cs);
        rope_rotate(k + (size_t)b * kv_dim, c->n_kv_heads, head, n_rot, gguf && neox, cs);
    }
    prof_end(PROF_ROPE, t0);
}

struct attend_job {
    const struct model_config *c;
    struct run_state *s;
    size_t loff;
    int nb, pos;
};

/* Head h for each of the batch's positions in turn (one att row per head,
 * so heads run on different cores without sharing scratch). */
static void attend_one_head(int h, void *ctx)
{
    const struct attend_job *j = ctx;
    const struct model_config *c = j->c;
    int head_size = model_head_size(c), kv_mul = c->n_heads / c->n_kv_heads;
    size_t head_off = j->loff + (size_t)(h / kv_mul) * (size_t)head_size;
    float *att = j->s->att + (size_t)h * (size_t)c->seq_len;
    for (int b = 0; b < j->nb; b++) {
        size_t row = (size_t)b * (size_t)c->dim + (size_t)h * (size_t)head_size;
        attend_head(c, j->s, j->s->q + row, j->s->xb + row, att, head_off, j->pos + b);
    }
}

/* Attention of each of nb positions (each sees the cache up to itself),
 * heads spread over the cores; results in s->xb. */
static void attend(const struct model_config *c, struct run_state *s, size_t loff, int nb, int pos)
{
    uint64_t t0 = prof_begin();
    struct attend_job job = {c, s, loff, nb, pos};
    /* work per head: nb positions of (pos + nb) keys and values */
    int per_head = nb * (pos + nb) * 2 * model_head_size(c);
    k_parallel_rows(c->n_heads, per_head, attend_one_head, &job);
    prof_end(PROF_ATTENTION, t0);
}

/* SwiGLU FFN of llama on the nb rows of s->xb; result in s->xb. */
static void ffn_swiglu(const struct model *m, struct run_state *s, const struct layer_weights *L,
                       int nb)
{
    int hidden = m->cfg.hidden_dim;
    float *const outs[2] = {s->hb, s->hb2};
    const struct tensor *const ts[2] = {&L->w_gate, &L->w_up};
    matvec_many(s, outs, ts, 2, s->xb, nb);
    uint64_t t0 = prof_begin();
    /* hb and hb2 rows are hidden apart here (matvec's output stride) */
    if (m->cfg.format == MODEL_FMT_GGUF)
        g_simd->swiglu_ggml(s->hb, s->hb2, hidden * nb);
    else
        g_simd->swiglu(s->hb, s->hb2, hidden * nb);
    prof_end(PROF_FFN_ACT, t0);
    matvec(s, s->xb, &L->w_down, s->hb, nb);
}

/* GELU MLP of phi2 on the nb rows of s->xb (the norm output the attention
 * also uses); result in out (nb rows of dim floats). */
static void ffn_gelu(const struct model *m, struct run_state *s, const struct layer_weights *L,
                     float *out, int nb)
{
    matvec(s, s->hb, &L->w_up, s->xb, nb);
    add_bias(s->hb, &L->b_up, nb);
    uint64_t t0 = prof_begin();
    for (int i = 0; i < m->cfg.hidden_dim * nb; i++)
        s->hb[i] = gelu_ggml(s->hb[i]);
    prof_end(PROF_FFN_ACT, t0);
    matvec(s, out, &L->w_down, s->hb, nb);
    add_bias(out, &L->b_down, nb);
}

/* x += y over n values (the residual connection). */
static void residual(float *x, const float *y, int n)
{
    for (int i = 0; i < n; i++)
        x[i] += y[i];
}

/* Runs nb (1..TRANSFORMER_BATCH) tokens at positions pos.. through every
 * layer, filling the KV cache; the logits of the last one when want_logits. */
static void forward_batch(const struct model *m, struct run_state *s, const int *tokens, int nb,
                          int pos, int want_logits)
{
    const struct model_config *c = &m->cfg;
    const struct model_weights *w = &m->w;
    int dim = c->dim, kv_dim = model_kv_dim(c);
    float *x = s->x;

    uint64_t t0 = prof_begin();
    for (int b = 0; b < nb; b++)
        embed(&w->token_embd, tokens[b], x + (size_t)b * dim);
    prof_end(PROF_OTHER, t0);
    rope_prepare(c, s, nb, pos);
    for (int l = 0; l < c->n_layers; l++) {
        const struct layer_weights *L = &w->layers[l];
        size_t loff = (size_t)l * (size_t)c->seq_len * (size_t)kv_dim;
        float *k = s->key_cache + loff + (size_t)pos * (size_t)kv_dim;
        float *v = s->value_cache + loff + (size_t)pos * (size_t)kv_dim;

        norm(c, s->xb, x, &L->attn_norm, &L->attn_norm_b, nb);
        qkv_projection(m, s, L, k, v, nb);
        rope(c, s, k, nb);
        if (c->arch == ARCH_PHI2) { /* parallel block: attention and MLP share the norm */
            ffn_gelu(m, s, L, s->hb2, nb);
            attend(c, s, loff, nb, pos);
            matvec(s, s->xb2, &L->wo, s->xb, nb);
            add_bias(s->xb2, &L->bo, nb);
            for (int i = 0; i < dim * nb; i++)
                x[i] += s->xb2[i] + s->hb2[i];
            continue;
        }
        attend(c, s, loff, nb, pos);
        matvec(s, s->xb2, &L->wo, s->xb, nb);
        add_bias(s->xb2, &L->bo, nb);
        residual(x, s->xb2, dim * nb);

        norm(c, s->xb, x, &L->ffn_norm, &L->ffn_norm_b, nb);
        ffn_swiglu(m, s, L, nb);
        residual(x, s->xb, dim * nb);
    }
    if (!want_logits)
        return;
    float *last = x + (size_t)(nb - 1) * dim;
    norm(c, last, last, &w->output_norm, &w->output_norm_b, 1);
    matvec(s, s->logits, &w->output, last, 1);
    add_bias(s->logits, &w->output_b, 1);
}

float *transformer_forward(const struct model *m, struct run_state *s, int token, int pos)
{
    forward_batch(m, s, &token, 1, pos, 1);
    return s->logits;
}

float *transformer_prefill(const struct model *m, struct run_state *s, const int *tokens, int n,
                           int pos)
{
    for (int done = 0; done < n;) {
        int nb = MIN(n - done, TRANSFORMER_BATCH);
        forward_batch(m, s, tokens + done, nb, pos + done, done + nb == n);
        done += nb;
    }
    return n > 0 ? s->logits : NULL;
}
