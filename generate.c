/* generate.c - the generation job (see generate.h). A completion mirrors
 * llama2.c generate(): prompt tokens are forced and printed, the rest
 * sampled, BOS stops. A chat turn prints only the reply and also stops at a
 * stop string, which is cut from the reply; the reply's tokens are tracked
 * so the KV cache can be trimmed back to exactly the text kept. */
#include "generate.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

#define REPLY_BYTES_PER_TOKEN 16
#define REPLY_MAX (1u << 20)

int gen_begin(struct generation *g, const struct model *m, struct run_state *s,
              const struct tokenizer *tok, struct sampler *smp, const char *prompt, int steps,
              gen_emit_fn emit, void *emit_ctx)
{
    struct gen_request r = {prompt, 1, 0, 0, 0, NULL, {0}, 0, 0};
    r.limit_pos = gen_steps_limit(m, steps);
    return gen_begin_request(g, m, s, tok, smp, &r, emit, emit_ctx);
}

int gen_steps_limit(const struct model *m, int steps)
{
    return steps <= 0 || steps > m->cfg.seq_len ? m->cfg.seq_len : steps;
}

int gen_begin_request(struct generation *g, const struct model *m, struct run_state *s,
                      const struct tokenizer *tok, struct sampler *smp,
                      const struct gen_request *req, gen_emit_fn emit, void *emit_ctx)
{
    memset(g, 0, sizeof *g);
    size_t cap = (size_t)tokenizer_max_tokens(tok, strlen(req->text));
    int limit = MIN(req->limit_pos, m->cfg.seq_len);
    if (req->start_pos < 0 || req->start_pos >= limit)
        return ERR_RANGE;
    g->prompt_bytes = cap * sizeof(int);
    g->prompt_tokens = plat_alloc(g->prompt_bytes);
    if (!g->prompt_tokens)
        return ERR_NOMEM;
    int flags = (req->add_bos ? TOK_ADD_SPECIAL : 0) | (req->special ? TOK_PARSE_SPECIAL : 0);
    int rc = tokenizer_encode_ex(tok, req->text, flags, g->prompt_tokens, (int)cap, &g->n_prompt);
    if (rc == 0 && g->n_prompt < 1)
        rc = ERR_INVAL;
    if (rc == 0 && req->start_pos + g->n_prompt >= limit)
        rc = ERR_RANGE; /* no room left to answer */
    /* the last prompt position already yields the first new token */
    if (req->max_new > 0 && req->max_new < limit - req->start_pos - g->n_prompt + 1)
        limit = req->start_pos + g->n_prompt - 1 + req->max_new;
    size_t n_gen_max = (size_t)(limit - req->start_pos);
    g->reply_cap = MIN(n_gen_max * REPLY_BYTES_PER_TOKEN + 1024, REPLY_MAX) & ~(size_t)3;
    g->block_bytes = g->reply_cap + 2 * n_gen_max * sizeof(int);
    if (rc == 0 && (g->block = plat_alloc(g->block_bytes)) == NULL)
        rc = ERR_NOMEM;
    if (rc) {
        gen_end(g);
        return rc;
    }
    g->reply = g->block;
    g->tok_end = (int *)((char *)g->block + g->reply_cap);
    g->gen_ids = g->tok_end + n_gen_max;
    g->model = m;
    g->state = s;
    g->tok = tok;
    g->sampler = smp;
    g->emit = emit;
    g->emit_ctx = emit_ctx;
    g->req = *req;
    g->req.limit_pos = limit;
    for (const char *const *st = req->stops; st && *st; st++)
        g->max_stop = MAX(g->max_stop, strlen(*st));
    g->pos = req->start_pos;
    g->token = g->prompt_tokens[0];
    return 0;
}

/* Emits the reply up to what a stop string might still claim. */
static void flush_reply(struct generation *g, int all)
{
    size_t hold = all || g->max_stop == 0 ? 0 : g->max_stop - 1;
    if (g->reply_len > g->emitted + hold) {
        size_t n = g->reply_len - hold - g->emitted;
        g->emit(g->reply + g->emitted, n, g->emit_ctx);
        g->emitted += n;
    }
}

static void finish(struct generation *g)
{
    g->done = 1;
    g->t_end_us = plat_time_us();
    flush_reply(g, 1);
}

/* Appends a piece to the reply; returns 1 when it completed a stop string
 * (then the reply is cut where that string began). */
static int append_reply(struct generation *g, const char *piece)
{
    size_t n = strlen(piece), before = g->reply_len;
    if (g->reply_len + n > g->reply_cap)
        return 1; /* an endless reply: stop rather than lose text */
    memcpy(g->reply + g->reply_len, piece, n);
    g->reply_len += n;
    for (const char *const *st = g->req.stops; st && *st; st++) {
        size_t sl = strlen(*st);
        size_t from = before + 1 > sl ? before + 1 - sl : 0;
        for (size_t i = from; i + sl <= g->reply_len; i++) {
            if (!memcmp(g->reply + i, *st, sl)) {
                g->reply_len = i;
                return 1;
            }
        }
    }
    return 0;
}

/* llama2.c's safe_printf rule for its own vocabularies; GGUF pieces can be
 * single bytes of a longer character and are printed as they come. */
static int worth_printing(const struct generation *g, const char *piece)
{
    return g->tok->kind == TOKENIZER_LLAMA2C ? tokenizer_piece_printable(piece) : *piece != 0;
}

static int is_stop_id(const struct generation *g, int token)
{
    if (tokenizer_is_eog(g->tok, token)) /* EOS, EOT, <|im_end|>, ...; BOS for llama2.c */
        return 1;
    for (int i = 0; i < g->req.n_stop_ids; i++)
        if (g->req.stop_ids[i] == token)
            return 1;
    return 0;
}

/* Generated tokens to keep in the KV cache: all that were fed back, except
 * any whose text reaches into a stop string cut from the reply. */
static void count_fed(struct generation *g)
{
    int fed = g->n_gen > 0 ? g->n_gen - 1 : 0; /* the last sampled token never is */
    for (int j = 0; j < fed; j++) {
        if ((size_t)g->tok_end[j] > g->reply_len) {
            fed = j;
            break;
        }
    }
    g->n_fed = fed;
}

/* Bookkeeping after the forward pass of position g->pos: the next token is
 * the forced prompt token or one sampled from logits (only read then). */
static void after_position(struct generation *g, float *logits)
{
    int in_prompt = g->pos - g->req.start_pos < g->n_prompt - 1;
    int next = in_prompt ? g->prompt_tokens[g->pos - g->req.start_pos + 1]
                         : sampler_sample(g->sampler, logits);
    g->pos++;
    g->last_next = next;
    int stop = 0;
    if (in_prompt) {
        /* a completion prints its prompt, as llama2.c does; a chat turn not */
        if (g->req.start_pos == 0 && !g->req.stops) {
            const char *piece = tokenizer_decode(g->tok, g->token, next);
            if (worth_printing(g, piece))
                g->emit(piece, strlen(piece), g->emit_ctx);
        }
    } else {
        g->gen_ids[g->n_gen++] = next;
        if (is_stop_id(g, next)) {
            stop = 1;
        } else {
            const char *piece = tokenizer_decode(g->tok, g->token, next);
            if (worth_printing(g, piece))
                stop = append_reply(g, piece);
            flush_reply(g, 0);
        }
        g->tok_end[g->n_gen - 1] = (int)g->reply_len;
    }
    g->token = next;
    if (g->t_first_us == 0)
        g->t_first_us = plat_time_us();
    if (stop || g->pos >= g->req.limit_pos) {
        count_fed(g);
        finish(g);
    }
}

void gen_step(struct generation *g)
{
    if (g->done)
        return;
    /* Prompt tokens whose successor is forced too go in as one batch (the
     * KV cache ends up bit for bit as one at a time would leave it). */
    int idx = g->pos - g->req.start_pos;
    int n = MIN(MIN(g->n_prompt - 1 - idx, TRANSFORMER_BATCH), g->req.limit_pos - g->pos);
    if (n > 1) {
        transformer_prefill(g->model, g->state, g->prompt_tokens + idx, n, g->pos);
        for (int i = 0; i < n && !g->done; i++)
            after_position(g, NULL);
        return;
    }
    after_position(g, transformer_forward(g->model, g->state, g->token, g->pos));
}

void gen_stop(struct generation *g)
{
    if (!g->done) {
        count_fed(g);
        finish(g);
    }
}

int gen_kv_end(const struct generation *g)
{
    if (g->n_gen == 0) /* stopped while the turn's text was still going in */
        return -1;
    return g->req.start_pos + g->n_prompt + g->n_fed;
}

const char *gen_unfed_text(const struct generation *g, size_t *ret_len)
{
    size_t from = g->n_fed > 0 ? (size_t)g->tok_end[g->n_fed - 1] : 0;
    from = MIN(from, g->reply_len);
    *ret_len = g->reply_len - from;
    return g->reply + from;
}

double gen_tokens_per_s(const struct generation *g)
{
    int n = g->pos - g->req.start_pos - 1;
    if (n <= 0 || g->t_end_us <= g->t_first_us)
        return 0.0;
    return (double)n * 1e6 / (double)(g->t_end_us - g->t_first_us);
}

void gen_end(struct generation *g)
{
    if (g->prompt_tokens)
        plat_free(g->prompt_tokens, g->prompt_bytes);
    if (g->block)
        plat_free(g->block, g->block_bytes);
    memset(g, 0, sizeof *g);
}
