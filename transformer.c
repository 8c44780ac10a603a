/* transformer.c - llama forward pass: RMSNorm, RoPE, grouped-query attention
 * with a KV cache, SwiGLU FFN, classifier. Arithmetic order follows the
 * reference (llama2.c run.c) exactly so greedy decoding matches token for
 * token; the SIMD paths later get differential tests against this file. */
#include "transformer.h"
#include "errors.h"
#include "lib.h"
#include "kernels.h"
#include "mathf.h"

#define SLOT_ALIGN 64

static uint64_t align_up(uint64_t n)
{
    return (n + SLOT_ALIGN - 1) & ~(uint64_t)(SLOT_ALIGN - 1);
}

/* Float counts of the state's buffers, in struct order. */
static int state_sizes(const struct model_config *c, uint64_t sizes[10])
{
    uint64_t kv;
    if (size_mul((uint64_t)c->n_layers * (uint64_t)c->seq_len, (uint64_t)model_kv_dim(c), &kv))
        return ERR_RANGE;
    uint64_t s[10] = {
        (uint64_t)c->dim, (uint64_t)c->dim, (uint64_t)c->dim,
        (uint64_t)c->hidden_dim, (uint64_t)c->hidden_dim, (uint64_t)c->dim,
        (uint64_t)c->n_heads * (uint64_t)c->seq_len, (uint64_t)c->vocab_size, kv, kv,
    };
    memcpy(sizes, s, sizeof s);
    return 0;
}

int run_state_bytes(const struct model_config *cfg, uint64_t *ret_bytes)
{
    uint64_t sizes[10], total = 0;
    if (state_sizes(cfg, sizes))
        return ERR_RANGE;
    for (int i = 0; i < 10; i++) {
        uint64_t b;
        if (size_mul(sizes[i], 4, &b) || size_add(total, align_up(b), &total))
            return ERR_RANGE;
    }
    *ret_bytes = total;
    return 0;
}

int run_state_alloc(struct run_state *s, const struct model_config *cfg)
{
    uint64_t sizes[10], total;
    memset(s, 0, sizeof *s);
    if (run_state_bytes(cfg, &total) || total > SIZE_MAX)
        return ERR_RANGE;
    state_sizes(cfg, sizes);
    unsigned char *p = plat_alloc((size_t)total);
    if (!p)
        return ERR_NOMEM;
    s->block = p;
    s->block_bytes = (size_t)total;
    float **slots[10] = {&s->x, &s->xb, &s->xb2, &s->hb, &s->hb2, &s->q,
                         &s->att, &s->logits, &s->key_cache, &s->value_cache};
    for (int i = 0; i < 10; i++) {
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

/* Rotates query and key pairs by position (RoPE, theta 10000). */
static void rope(float *q, float *k, int dim, int kv_dim, int head_size, int pos)
{
    for (int i = 0; i < dim; i += 2) {
        int head_dim = i % head_size;
        float freq = 1.0f / m_powf(10000.0f, (float)head_dim / (float)head_size);
        float val = (float)pos * freq;
        float fcr = m_cosf(val), fci = m_sinf(val);
        int rotn = i < kv_dim ? 2 : 1; /* keys are narrower than queries under GQA */
        for (int v = 0; v < rotn; v++) {
            float *vec = v == 0 ? q : k;
            float v0 = vec[i], v1 = vec[i + 1];
            vec[i] = v0 * fcr - v1 * fci;
            vec[i + 1] = v0 * fci + v1 * fcr;
        }
    }
}

/* Multi-head attention of q over positions 0..pos of one layer's cache. */
static void attention(const struct model_config *c, struct run_state *s, size_t loff, int pos)
{
    int head_size = model_head_size(c), kv_dim = model_kv_dim(c);
    int kv_mul = c->n_heads / c->n_kv_heads; /* query heads per kv head */
    float scale = m_sqrtf((float)head_size);
    for (int h = 0; h < c->n_heads; h++) {
        const float *q = s->q + h * head_size;
        float *att = s->att + (size_t)h * (size_t)c->seq_len;
        size_t head_off = loff + (size_t)(h / kv_mul) * (size_t)head_size;
        for (int t = 0; t <= pos; t++) {
            const float *k = s->key_cache + head_off + (size_t)t * (size_t)kv_dim;
            float score = 0.0f;
            for (int i = 0; i < head_size; i++)
                score += q[i] * k[i];
            att[t] = score / scale;
        }
        k_softmax(att, pos + 1);
        float *xb = s->xb + h * head_size;
        memset(xb, 0, (size_t)head_size * sizeof(float));
        for (int t = 0; t <= pos; t++) {
            const float *v = s->value_cache + head_off + (size_t)t * (size_t)kv_dim;
            float a = att[t];
            for (int i = 0; i < head_size; i++)
                xb[i] += a * v[i];
        }
    }
}

float *transformer_forward(const struct model *m, struct run_state *s, int token, int pos)
{
    const struct model_config *c = &m->cfg;
    const struct model_weights *w = &m->w;
    int dim = c->dim, hidden = c->hidden_dim, kv_dim = model_kv_dim(c);
    size_t ddim = (size_t)dim * (size_t)dim, dkv = (size_t)dim * (size_t)kv_dim;
    size_t dhid = (size_t)dim * (size_t)hidden;
    float *x = s->x;

    memcpy(x, w->token_embedding + (size_t)token * (size_t)dim, (size_t)dim * sizeof *x);
    for (int l = 0; l < c->n_layers; l++) {
        k_rmsnorm(s->xb, x, w->rms_att + (size_t)l * dim, dim);
        size_t loff = (size_t)l * (size_t)c->seq_len * (size_t)kv_dim;
        float *k = s->key_cache + loff + (size_t)pos * (size_t)kv_dim;
        float *v = s->value_cache + loff + (size_t)pos * (size_t)kv_dim;
        k_matmul(s->q, s->xb, w->wq + l * ddim, dim, dim);
        k_matmul(k, s->xb, w->wk + l * dkv, dim, kv_dim);
        k_matmul(v, s->xb, w->wv + l * dkv, dim, kv_dim);
        rope(s->q, k, dim, kv_dim, model_head_size(c), pos);
        attention(c, s, loff, pos);
        k_matmul(s->xb2, s->xb, w->wo + l * ddim, dim, dim);
        for (int i = 0; i < dim; i++)
            x[i] += s->xb2[i];

        k_rmsnorm(s->xb, x, w->rms_ffn + (size_t)l * dim, dim);
        k_matmul(s->hb, s->xb, w->w1 + l * dhid, dim, hidden);
        k_matmul(s->hb2, s->xb, w->w3 + l * dhid, dim, hidden);
        for (int i = 0; i < hidden; i++) { /* SwiGLU: silu(gate) * up */
            float val = s->hb[i];
            val *= 1.0f / (1.0f + m_expf(-val));
            s->hb[i] = val * s->hb2[i];
        }
        k_matmul(s->xb, s->hb, w->w2 + l * dhid, hidden, dim);
        for (int i = 0; i < dim; i++)
            x[i] += s->xb[i];
    }
    k_rmsnorm(x, x, w->rms_final, dim);
    k_matmul(s->logits, x, w->wcls, dim, c->vocab_size);
    return s->logits;
}
