/* generate.c - the generation job (see generate.h); mirrors llama2.c
 * generate(): prompt tokens are forced, the rest sampled, BOS stops. */
#include "generate.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

#define TOKEN_BOS 1

int gen_begin(struct generation *g, const struct model *m, struct run_state *s,
              const struct tokenizer *tok, struct sampler *smp, const char *prompt, int steps,
              gen_emit_fn emit, void *emit_ctx)
{
    memset(g, 0, sizeof *g);
    /* worst case one token per byte, plus BOS, dummy prefix and EOS */
    size_t cap = strlen(prompt) + 3;
    g->prompt_bytes = cap * sizeof(int);
    g->prompt_tokens = plat_alloc(g->prompt_bytes);
    if (!g->prompt_tokens)
        return ERR_NOMEM;
    int rc = tokenizer_encode(tok, prompt, 1, 0, g->prompt_tokens, (int)cap, &g->n_prompt);
    if (rc == 0 && g->n_prompt < 1)
        rc = ERR_FORMAT;
    if (rc) {
        plat_free(g->prompt_tokens, g->prompt_bytes);
        g->prompt_tokens = NULL;
        return rc;
    }
    g->model = m;
    g->state = s;
    g->tok = tok;
    g->sampler = smp;
    g->emit = emit;
    g->emit_ctx = emit_ctx;
    g->steps = steps <= 0 || steps > m->cfg.seq_len ? m->cfg.seq_len : steps;
    g->token = g->prompt_tokens[0];
    return 0;
}

void gen_step(struct generation *g)
{
    if (g->done)
        return;
    float *logits = transformer_forward(g->model, g->state, g->token, g->pos);
    int next = g->pos < g->n_prompt - 1 ? g->prompt_tokens[g->pos + 1]
                                        : sampler_sample(g->sampler, logits);
    g->pos++;
    g->last_next = next;
    if (next != TOKEN_BOS) {
        const char *piece = tokenizer_decode(g->tok, g->token, next);
        if (tokenizer_piece_printable(piece))
            g->emit(piece, strlen(piece), g->emit_ctx);
        g->token = next;
        if (g->t_first_us == 0)
            g->t_first_us = plat_time_us();
    }
    if (next == TOKEN_BOS || g->pos >= g->steps) {
        g->done = 1;
        g->t_end_us = plat_time_us();
    }
}

double gen_tokens_per_s(const struct generation *g)
{
    if (g->pos <= 1 || g->t_end_us <= g->t_first_us)
        return 0.0;
    return (double)(g->pos - 1) * 1e6 / (double)(g->t_end_us - g->t_first_us);
}

void gen_end(struct generation *g)
{
    if (g->prompt_tokens)
        plat_free(g->prompt_tokens, g->prompt_bytes);
    memset(g, 0, sizeof *g);
}
