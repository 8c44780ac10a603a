/* generate.h - one text generation as a job the event loop advances one
 * token at a time: BOS + prompt prefill, sampling, streaming decode. */
#ifndef GENERATE_H
#define GENERATE_H

#include <stdint.h>
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"
#include "transformer.h"

/* Receives each printable piece of text as soon as it is produced. */
typedef void (*gen_emit_fn)(const char *text, size_t len, void *ctx);

struct generation {
    const struct model *model;
    struct run_state *state;
    const struct tokenizer *tok;
    struct sampler *sampler;
    gen_emit_fn emit;
    void *emit_ctx;
    int *prompt_tokens;   /* (prompt_cap) owned, from plat_alloc */
    size_t prompt_bytes;
    int n_prompt;
    int steps;            /* stop when pos reaches this */
    int pos;              /* position of `token` */
    int token;            /* last token fed or chosen */
    int last_next;        /* token the last step forced or sampled (BOS too) */
    int done;
    uint64_t t_first_us;  /* time the first token was emitted */
    uint64_t t_end_us;
};

/* Encodes prompt and prepares generation of up to steps positions (clamped
 * to the context length; 0 means the whole context). The caller keeps the
 * model, state, tokenizer and sampler alive until gen_end. */
int gen_begin(struct generation *g, const struct model *m, struct run_state *s,
              const struct tokenizer *tok, struct sampler *smp, const char *prompt, int steps,
              gen_emit_fn emit, void *emit_ctx);
/* Runs one position: forward pass, then the forced prompt token or a sampled
 * one, emitted as text. Sets g->done at BOS or the step limit. */
void gen_step(struct generation *g);
/* Tokens per second after the first emitted token (llama2.c's measure). */
double gen_tokens_per_s(const struct generation *g);
void gen_end(struct generation *g);

#endif
