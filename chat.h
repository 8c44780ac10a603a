/* chat.h - a multi-turn conversation: the turns kept as text (so a new model
 * can be given the same conversation in its own template), the template and
 * its options, and how much of it the loaded model's KV cache holds. */
#ifndef CHAT_H
#define CHAT_H

#include <stddef.h>
#include "engine.h"
#include "generate.h"
#include "template.h"

#define CHAT_ARENA_BYTES (64 * 1024)  /* all turns of one conversation */
#define CHAT_SYSTEM_MAX 1024

enum chat_role { CHAT_USER = 'u', CHAT_ASSISTANT = 'a' };

struct chat {
    const struct chat_template *tpl;  /* never NULL once initialised */
    char system[CHAT_SYSTEM_MAX];
    int cot;                          /* TEMPLATE_COT_* */
    struct few_shot few;              /* spans into few_text */
    char *few_text;                   /* plat_alloc'd copy of the examples file */
    size_t few_bytes;
    char *arena;                      /* turns: role byte, text, NUL; plat_alloc'd */
    size_t used;
    int n_turns;
    int kv_pos;        /* cache positions holding the conversation; -1: prefill it again */
    int reply_open;    /* the last reply's end marker is not in the cache yet */
    char carry[1024];  /* reply text the cache lacks (prefilled before the next turn) */
};

/* Allocates the turn arena; the template starts as `tpl`. */
int chat_init(struct chat *c, const struct chat_template *tpl);
void chat_free(struct chat *c);
/* Forgets every turn (/new); settings stay. */
void chat_reset(struct chat *c);
/* Loads few-shot examples from text (copied). ERR_FORMAT with *err_line. */
int chat_set_few_shot(struct chat *c, const char *text, size_t len, int *err_line);
/* Text to prefill for a new user message, continuing the cached
 * conversation (kv_pos >= 0). Returns its length or ERR_RANGE if cap is too
 * small. */
int chat_render_turn(const struct chat *c, const char *user, char *out, size_t cap);
/* The whole conversation so far in the current template, for a cache that
 * holds none of it (another model, or a generation stopped early). */
int chat_render_history(const struct chat *c, char *out, size_t cap);
/* Records a finished exchange. ERR_RANGE when the arena is full. */
int chat_add_exchange(struct chat *c, const char *user, const char *reply, size_t reply_len);
/* After a reply: kv_end positions are cached (-1: unknown), `unfed` is the
 * tail of the reply the cache lacks. */
void chat_set_cached(struct chat *c, int kv_end, const char *unfed, size_t unfed_len);

/* 1 when the template is "raw": plain completions, no conversation kept. */
int chat_is_raw(const struct chat *c);
/* Picks the template for a loaded model: `name` if not empty (ERR_NOT_FOUND
 * when unknown: the template stays), else the one the model's GGUF
 * tokenizer.chat_template names, else raw. A cache of another model is gone:
 * the conversation is prefilled again at the next turn. */
int chat_choose_template(struct chat *c, const struct model *m, const char *name);
/* Starts the reply to `user` (at most max_new tokens when > 0): the turn's
 * text (after the whole history when the cache lacks it) is rendered into
 * buf and generation g begins on e. ERR_RANGE when the conversation no
 * longer fits in the context. */
int chat_begin_reply(struct chat *c, struct engine *e, const char *user, int max_new,
                     char *buf, size_t cap, struct generation *g, gen_emit_fn emit,
                     void *emit_ctx);
/* Records the finished exchange and what the cache now holds. */
int chat_end_reply(struct chat *c, const struct generation *g, const char *user);

#endif
