/* sampler.h - next-token choice: greedy, temperature, top-p (nucleus),
 * with the reference's xorshift64* RNG so seeded runs reproduce llama2.c. */
#ifndef SAMPLER_H
#define SAMPLER_H

#include <stddef.h>
#include <stdint.h>

struct prob_index {
    float prob;
    int index;
};

struct sampler {
    int vocab_size;
    float temperature;   /* 0 = greedy */
    float topp;          /* in (0,1) enables nucleus sampling */
    uint64_t rng_state;
    struct prob_index *candidates; /* (vocab_size) scratch for top-p */
    struct prob_index *sort_tmp;   /* (vocab_size) merge-sort scratch */
    void *block;
    size_t block_bytes;
};

/* Allocates the scratch for vocab_size tokens. seed must be nonzero. */
int sampler_init(struct sampler *s, int vocab_size, float temperature, float topp,
                 uint64_t seed);
void sampler_free(struct sampler *s);
/* Picks the next token; may modify logits in place (vocab_size floats). */
int sampler_sample(struct sampler *s, float *logits);

/* The reference RNG (exposed for tests). */
uint32_t sampler_random_u32(uint64_t *state);
float sampler_random_f32(uint64_t *state);

#endif
