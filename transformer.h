/* transformer.h - the llama forward pass (scalar reference kernels). */
#ifndef TRANSFORMER_H
#define TRANSFORMER_H

#include "model.h"

/* Tokens a prefill batch runs through each weight matrix together. */
#define TRANSFORMER_BATCH 32

/* Activations and KV cache for one sequence, allocated once per model load
 * (never per token) in one plat_alloc'd block. The per-token buffers hold
 * TRANSFORMER_BATCH rows for prefill; decoding uses the first. */
struct run_state {
    float *x;      /* (dim) residual stream */
    float *xb;     /* (dim) scratch */
    float *xb2;    /* (dim) scratch */
    float *hb;     /* (hidden_dim) FFN gate */
    float *hb2;    /* (hidden_dim) FFN up */
    float *q;      /* (dim) query */
    float *att;    /* (n_heads, seq_len) attention scores */
    float *logits; /* (vocab_size) */
    float *key_cache;   /* (layer, seq_len, kv_dim) */
    float *value_cache; /* (layer, seq_len, kv_dim) */
    float *qkv;         /* (dim + 2*kv_dim) fused projection output */
    float *qscratch;    /* activations quantized for qmatvec (raw bytes) */
    float *rope_cs;     /* (batch, head_size) RoPE cos/sin pairs of each position */
    void *block;
    size_t block_bytes;
};

/* Bytes run_state_alloc needs for cfg (ERR_RANGE on overflow). */
int run_state_bytes(const struct model_config *cfg, uint64_t *ret_bytes);
/* Allocates the state for cfg. ERR_NOMEM when memory is short. */
int run_state_alloc(struct run_state *s, const struct model_config *cfg);
void run_state_free(struct run_state *s);

/* Runs token at position pos (0 <= pos < seq_len) through the model, filling
 * the KV cache at pos; returns s->logits (vocab_size floats, owned by s). */
float *transformer_forward(const struct model *m, struct run_state *s, int token, int pos);

/* Runs n tokens at positions pos..pos+n-1 (pos + n <= seq_len) in batches:
 * each weight matrix is read once per batch instead of once per token.
 * Fills the KV cache exactly as n transformer_forward calls would (bit for
 * bit) and returns the logits of the last token (s->logits), or NULL when
 * n <= 0. */
float *transformer_prefill(const struct model *m, struct run_state *s, const int *tokens, int n,
                           int pos);

#endif
