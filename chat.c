/* chat.c - conversation state and its rendering through a template (see
 * chat.h). Turns are stored as plain text so that a hot-swapped model gets
 * the same conversation in its own format. */
#include "chat.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

int chat_init(struct chat *c, const struct chat_template *tpl)
{
    memset(c, 0, sizeof *c);
    c->arena = plat_alloc(CHAT_ARENA_BYTES);
    if (!c->arena)
        return ERR_NOMEM;
    c->tpl = tpl;
    return 0;
}

void chat_free(struct chat *c)
{
    if (c->arena)
        plat_free(c->arena, CHAT_ARENA_BYTES);
    if (c->few_text)
        plat_free(c->few_text, c->few_bytes);
    memset(c, 0, sizeof *c);
}

void chat_reset(struct chat *c)
{
    c->used = 0;
    c->n_turns = 0;
    c->kv_pos = 0;
    c->reply_open = 0;
    c->carry[0] = 0;
}

int chat_set_few_shot(struct chat *c, const char *text, size_t len, int *err_line)
{
    char *copy = plat_alloc(len + 1);
    if (!copy)
        return ERR_NOMEM;
    memcpy(copy, text, len);
    struct few_shot few;
    int rc = few_shot_parse(&few, copy, len, err_line);
    if (rc) {
        plat_free(copy, len + 1);
        return rc;
    }
    if (c->few_text)
        plat_free(c->few_text, c->few_bytes);
    c->few_text = copy;
    c->few_bytes = len + 1;
    c->few = few;
    return 0;
}

static struct chat_opts opts_of(const struct chat *c)
{
    struct chat_opts o = {c->system, c->few.count ? &c->few : NULL, c->cot};
    return o;
}

/* Appends s to out at *len; ERR_RANGE (nothing written) when it won't fit. */
static int put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > cap)
        return ERR_RANGE;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = 0;
    return 0;
}

static int put_user(const struct chat *c, int first, const char *user, char *out, size_t cap,
                    size_t *len)
{
    struct chat_opts o = opts_of(c);
    int n = template_render_user(c->tpl, &o, first, user, out + *len, cap - *len);
    if (n < 0)
        return n;
    *len += (size_t)n;
    return 0;
}

int chat_render_turn(const struct chat *c, const char *user, char *out, size_t cap)
{
    size_t len = 0;
    int rc;
    if (cap == 0)
        return ERR_RANGE;
    out[0] = 0;
    const char *end = template_end_of_reply(c->tpl);
    if ((rc = put(out, cap, &len, c->carry, strlen(c->carry))) ||
        (c->reply_open && (rc = put(out, cap, &len, end, strlen(end)))) ||
        (rc = put_user(c, c->n_turns == 0, user, out, cap, &len)))
        return rc;
    return (int)len;
}

int chat_render_history(const struct chat *c, char *out, size_t cap)
{
    size_t len = 0, at = 0;
    int rc, turn = 0;
    if (cap == 0)
        return ERR_RANGE;
    out[0] = 0;
    const char *end = template_end_of_reply(c->tpl);
    while (at < c->used) {
        char role = c->arena[at];
        const char *text = c->arena + at + 1;
        size_t n = strlen(text);
        if (role == CHAT_USER)
            rc = put_user(c, turn == 0, text, out, cap, &len);
        else if ((rc = put(out, cap, &len, text, n)) == 0)
            rc = put(out, cap, &len, end, strlen(end));
        if (rc)
            return rc;
        turn += role == CHAT_USER;
        at += n + 2;
    }
    return (int)len;
}

static int add_turn(struct chat *c, char role, const char *text, size_t n)
{
    if (c->used + n + 2 > CHAT_ARENA_BYTES)
        return ERR_RANGE;
    c->arena[c->used] = role;
    memcpy(c->arena + c->used + 1, text, n);
    c->arena[c->used + 1 + n] = 0;
    c->used += n + 2;
    return 0;
}

int chat_add_exchange(struct chat *c, const char *user, const char *reply, size_t reply_len)
{
    size_t before = c->used;
    if (add_turn(c, CHAT_USER, user, strlen(user)) ||
        add_turn(c, CHAT_ASSISTANT, reply, reply_len)) {
        c->used = before;
        return ERR_RANGE;
    }
    c->n_turns++;
    return 0;
}

void chat_set_cached(struct chat *c, int kv_end, const char *unfed, size_t unfed_len)
{
    c->kv_pos = kv_end;
    c->reply_open = 1;
    if (kv_end < 0 || unfed_len >= sizeof c->carry) {
        c->kv_pos = -1; /* cannot continue the cache exactly: prefill again */
        c->carry[0] = 0;
        return;
    }
    memcpy(c->carry, unfed, unfed_len);
    c->carry[unfed_len] = 0;
}

int chat_is_raw(const struct chat *c)
{
    return !strcmp(template_name(c->tpl), "raw");
}

int chat_choose_template(struct chat *c, const struct model *m, const char *name)
{
    c->kv_pos = -1; /* a new model's cache holds nothing of the conversation */
    c->reply_open = 0;
    c->carry[0] = 0;
    if (name && *name) {
        const struct chat_template *t = template_find(name);
        if (!t)
            return ERR_NOT_FOUND;
        c->tpl = t;
        return 0;
    }
    struct gguf_str jinja;
    const struct chat_template *t = NULL;
    if (gguf_get_str(&m->gguf, "tokenizer.chat_template", &jinja) == 0)
        t = template_detect(jinja.s, (size_t)jinja.n);
    c->tpl = t ? t : template_find("raw");
    return 0;
}

int chat_begin_reply(struct chat *c, struct engine *e, const char *user, int max_new,
                     char *buf, size_t cap, struct generation *g, gen_emit_fn emit,
                     void *emit_ctx)
{
    int n, start = c->kv_pos;
    size_t len = 0;
    if (start < 0) { /* prefill the history first, into an empty cache */
        if ((n = chat_render_history(c, buf, cap)) < 0)
            return n;
        len = (size_t)n;
        start = 0;
        c->reply_open = 0;
        c->carry[0] = 0;
    }
    if ((n = chat_render_turn(c, user, buf + len, cap - len)) < 0)
        return n;
    /* GGUF vocabularies name their end-of-generation tokens; a llama2.c one
     * ends a reply with EOS (2) as well as BOS */
    int llama2c = e->tok.kind == TOKENIZER_LLAMA2C;
    struct gen_request r = {buf, start == 0 && !template_bos_in_text(c->tpl), start,
                            e->model.cfg.seq_len, max_new, template_stop_strings(c->tpl),
                            {2}, llama2c, 1};
    return gen_begin_request(g, &e->model, &e->state, &e->tok, &e->sampler, &r, emit,
                             emit_ctx);
}

int chat_end_reply(struct chat *c, const struct generation *g, const char *user)
{
    int rc = chat_add_exchange(c, user, g->reply, g->reply_len);
    if (rc) { /* the transcript is full: start over rather than lose sync */
        chat_reset(c);
        return rc;
    }
    size_t unfed_len;
    const char *unfed = gen_unfed_text(g, &unfed_len);
    chat_set_cached(c, gen_kv_end(g), unfed, unfed_len);
    return 0;
}
