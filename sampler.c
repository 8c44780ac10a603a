/* sampler.c - greedy, multinomial and top-p sampling (see sampler.h). The
 * comparisons, the cutoff pruning and the coin follow llama2.c run.c so that
 * the same seed gives the same tokens. */
#include "sampler.h"
#include "errors.h"
#include "lib.h"
#include "kernels.h"
#include "platform.h"

int sampler_init(struct sampler *s, int vocab_size, float temperature, float topp,
                 uint64_t seed)
{
    memset(s, 0, sizeof *s);
    size_t bytes = 2 * (size_t)vocab_size * sizeof(struct prob_index);
    s->block = plat_alloc(bytes);
    if (!s->block)
        return ERR_NOMEM;
    s->block_bytes = bytes;
    s->candidates = s->block;
    s->sort_tmp = s->candidates + vocab_size;
    s->vocab_size = vocab_size;
    s->temperature = temperature;
    s->topp = topp;
    s->rng_state = seed;
    return 0;
}

void sampler_free(struct sampler *s)
{
    if (s->block)
        plat_free(s->block, s->block_bytes);
    memset(s, 0, sizeof *s);
}

uint32_t sampler_random_u32(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

float sampler_random_f32(uint64_t *state)
{
    return (float)(sampler_random_u32(state) >> 8) / 16777216.0f;
}

static int sample_mult(const float *p, int n, float coin)
{
    float cdf = 0.0f;
    for (int i = 0; i < n; i++) {
        cdf += p[i];
        if (coin < cdf)
            return i;
    }
    return n - 1; /* rounding left the cdf below the coin */
}

static int by_prob_desc(const void *a, const void *b)
{
    float pa = ((const struct prob_index *)a)->prob, pb = ((const struct prob_index *)b)->prob;
    return pa > pb ? -1 : pa < pb ? 1 : 0;
}

static int sample_topp(struct sampler *s, const float *p, float coin)
{
    int n = s->vocab_size, n0 = 0;
    /* tokens below this can never be in the nucleus: skip them before sorting */
    const float cutoff = (1.0f - s->topp) / (float)(n - 1);
    for (int i = 0; i < n; i++) {
        if (p[i] >= cutoff) {
            s->candidates[n0].index = i;
            s->candidates[n0].prob = p[i];
            n0++;
        }
    }
    lib_sort(s->candidates, (size_t)n0, sizeof *s->candidates, s->sort_tmp, by_prob_desc);
    float cumulative = 0.0f;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cumulative += s->candidates[i].prob;
        if (cumulative > s->topp) {
            last = i;
            break;
        }
    }
    float r = coin * cumulative, cdf = 0.0f;
    for (int i = 0; i <= last; i++) {
        cdf += s->candidates[i].prob;
        if (r < cdf)
            return s->candidates[i].index;
    }
    return s->candidates[last].index;
}

int sampler_sample(struct sampler *s, float *logits)
{
    if (s->temperature == 0.0f)
        return k_argmax(logits, s->vocab_size);
    for (int i = 0; i < s->vocab_size; i++)
        logits[i] /= s->temperature;
    k_softmax(logits, s->vocab_size);
    float coin = sampler_random_f32(&s->rng_state);
    if (s->topp <= 0.0f || s->topp >= 1.0f || s->vocab_size < 2)
        return sample_mult(logits, s->vocab_size, coin);
    return sample_topp(s, logits, coin);
}
