/* generate.h - one text generation as a job the event loop advances one
 * token at a time: prompt prefill, sampling, streaming decode, stops.
 *
 * Two uses: a completion (llama2.c semantics: BOS + prompt from position 0,
 * `steps` positions in all, stop at BOS) and a chat turn (the turn's text is
 * appended after the positions the KV cache already holds, the reply stops
 * at an end-of-generation token or a stop string). */
#ifndef GENERATE_H
#define GENERATE_H

#include <stdint.h>
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"
#include "transformer.h"

/* Receives each printable piece of text as soon as it is produced. */
typedef void (*gen_emit_fn)(const char *text, size_t len, void *ctx);

#define GEN_MAX_STOP_IDS 4

struct gen_request {
    const char *text;          /* prompt or rendered turn (UTF-8) */
    int add_bos;               /* start a fresh sequence with BOS */
    int start_pos;             /* KV positions already filled (0 for a completion) */
    int limit_pos;             /* stop when this position is reached (<= seq_len) */
    int max_new;               /* > 0: also stop after this many new tokens */
    const char *const *stops;  /* NULL-terminated stop strings, or NULL */
    int stop_ids[GEN_MAX_STOP_IDS]; /* tokens that end the reply (e.g. BOS, EOS) */
    int n_stop_ids;
    int special;               /* parse special-token markers in text */
};

struct generation {
    const struct model *model;
    struct run_state *state;
    const struct tokenizer *tok;
    struct sampler *sampler;
    gen_emit_fn emit;
    void *emit_ctx;
    struct gen_request req;
    int *prompt_tokens;   /* (n_prompt) owned, from plat_alloc */
    size_t prompt_bytes;
    int n_prompt;
    int pos;              /* position of `token` */
    int token;            /* last token fed or chosen */
    int last_next;        /* token the last step forced or sampled (stop ids too) */
    int done;
    uint64_t t_first_us;  /* time the first token was emitted */
    uint64_t t_end_us;
    /* the reply: generated text (stop string cut off), for the chat history */
    char *reply;
    size_t reply_len, reply_cap, emitted, max_stop;
    int *tok_end;         /* (limit) reply bytes after each generated token */
    int *gen_ids;         /* (limit) the generated tokens */
    int n_gen;            /* tokens sampled (stop tokens included) */
    int n_fed;            /* generated tokens whose KV entries are kept */
    void *block;          /* reply + tok_end + gen_ids */
    size_t block_bytes;
};

/* Completion: encodes prompt with BOS and prepares up to steps positions
 * (clamped to the context length; 0 means the whole context). The caller
 * keeps the model, state, tokenizer and sampler alive until gen_end. */
int gen_begin(struct generation *g, const struct model *m, struct run_state *s,
              const struct tokenizer *tok, struct sampler *smp, const char *prompt, int steps,
              gen_emit_fn emit, void *emit_ctx);
/* The positions gen_begin prepares for `steps` (prompt included): ERR_RANGE
 * from it means the prompt takes all of them. */
int gen_steps_limit(const struct model *m, int steps);
/* General form (chat turns). ERR_RANGE when the text does not fit in the
 * context left. */
int gen_begin_request(struct generation *g, const struct model *m, struct run_state *s,
                      const struct tokenizer *tok, struct sampler *smp,
                      const struct gen_request *req, gen_emit_fn emit, void *emit_ctx);
/* Runs one position (forward pass, then the forced prompt token or a sampled
 * one, emitted as text), or a batch of prompt positions at once when the
 * prompt still has several to go. Sets g->done at a stop or the limit. */
void gen_step(struct generation *g);
/* Ends the generation early (a key press): what was emitted stays. */
void gen_stop(struct generation *g);
/* Positions of the KV cache that hold this turn's text and the part of the
 * reply that was fed back (the last sampled token never is). */
int gen_kv_end(const struct generation *g);
/* The reply text that is not in the KV cache (tokens after n_fed): it must be
 * prefilled before the next turn. Points into g. */
const char *gen_unfed_text(const struct generation *g, size_t *ret_len);
/* Tokens per second after the first emitted token (llama2.c's measure). */
double gen_tokens_per_s(const struct generation *g);
void gen_end(struct generation *g);

#endif
