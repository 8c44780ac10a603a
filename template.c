/* template.c - chat prompt templates, few-shot examples (template.h). */
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "lib.h"
#include "template.h"

/* ---- the built-in templates ----------------------------------------------
 * Sources of the formats: Meta's llama generation.py chat_completion and the
 * Llama-2-chat tokenizer_config.json chat_template (llama2), Mistral's
 * Instruct v0.1/v0.2 chat_template (mistral), the Qwen2 / OpenHermes
 * templates (chatml), TinyLlama-1.1B-Chat-v1.0 / zephyr-7b-beta (zephyr),
 * Meta-Llama-3-8B-Instruct (llama3), the Phi-2 model card (phi2) and the
 * Stanford Alpaca prompt (alpaca). Where a Jinja template is rendered with
 * the HF settings (trim_blocks, lstrip_blocks), the concatenation of our
 * turns equals its output; tests/test_template.c checks whole transcripts. */

static const char *const no_names[] = {NULL};
static const char *const no_stops[] = {NULL};

static const char *const raw_names[] = {"none", NULL};
static const char *const alpaca_stops[] = {"### Instruction:", "### Response:", "### Input:", NULL};
static const char *const llama2_names[] = {"llama2-chat", NULL};
static const char *const llama2_stops[] = {"</s>", "[INST]", NULL};
static const char *const mistral_names[] = {"mistral-instruct", NULL};
static const char *const chatml_names[] = {"qwen", "qwen2", NULL};
static const char *const chatml_stops[] = {"<|im_end|>", "<|im_start|>", "<|endoftext|>", NULL};
static const char *const zephyr_names[] = {"tinyllama", NULL};
static const char *const zephyr_stops[] = {"</s>", "<|user|>", "<|system|>", NULL};
static const char *const llama3_stops[] = {"<|eot_id|>", "<|end_of_text|>",
                                           "<|start_header_id|>", NULL};
static const char *const phi2_names[] = {"phi", NULL};
static const char *const phi2_stops[] = {"\nInstruct:", "<|endoftext|>", NULL};
static const char *const qa_stops[] = {"\nQ:", NULL};
static const char *const ua_names[] = {"ua", NULL};
static const char *const ua_stops[] = {"\nUser:", NULL};

enum { T_RAW, T_ALPACA, T_LLAMA2, T_MISTRAL, T_CHATML, T_ZEPHYR, T_LLAMA3, T_PHI2, T_QA, T_UA };

static const struct chat_template templates[] = {
    [T_RAW] = {
        .name = "raw", .aliases = raw_names,
        .description = "no template: the text as typed (base models, stories)",
        .bos = "", .sys_begin = "", .sys_end = "\n\n",
        .user_begin = "", .user_end = "", .assistant = "",
        .reply_lead = "", .end_of_reply = "", .stops = no_stops,
    },
    [T_ALPACA] = {
        .name = "alpaca", .aliases = no_names,
        .description = "Alpaca: ### Instruction: / ### Response:",
        .bos = "", .sys_begin = "", .sys_end = "\n\n",
        .user_begin = "### Instruction:\n", .user_end = "\n\n",
        .assistant = "### Response:\n",
        .reply_lead = "", .end_of_reply = "\n\n", .stops = alpaca_stops,
    },
    [T_LLAMA2] = {
        .name = "llama2", .aliases = llama2_names,
        .description = "Llama 2 chat: <s>[INST] <<SYS>> ... [/INST]",
        .flags = TEMPLATE_F_BOS_IN_TEXT | TEMPLATE_F_SYSTEM_IN_USER,
        .bos = "", .sys_begin = "<<SYS>>\n", .sys_end = "\n<</SYS>>\n\n",
        .user_begin = "<s>[INST] ", .user_end = " [/INST]", .assistant = "",
        .reply_lead = " ", .end_of_reply = " </s>", .stops = llama2_stops,
    },
    [T_MISTRAL] = {
        .name = "mistral", .aliases = mistral_names,
        .description = "Mistral Instruct: <s>[INST] ... [/INST] (no system role)",
        .flags = TEMPLATE_F_BOS_IN_TEXT | TEMPLATE_F_SYSTEM_IN_USER,
        .bos = "<s>", .sys_begin = "", .sys_end = "\n\n",
        .user_begin = "[INST] ", .user_end = " [/INST]", .assistant = "",
        .reply_lead = " ", .end_of_reply = "</s>", .stops = llama2_stops,
    },
    [T_CHATML] = {
        .name = "chatml", .aliases = chatml_names,
        .description = "ChatML (Qwen, OpenHermes): <|im_start|>role ... <|im_end|>",
        .bos = "", .sys_begin = "<|im_start|>system\n", .sys_end = "<|im_end|>\n",
        .user_begin = "<|im_start|>user\n", .user_end = "<|im_end|>\n",
        .assistant = "<|im_start|>assistant\n",
        .reply_lead = "", .end_of_reply = "<|im_end|>\n", .stops = chatml_stops,
    },
    [T_ZEPHYR] = {
        .name = "zephyr", .aliases = zephyr_names,
        .description = "Zephyr / TinyLlama chat: <|user|> ... </s>",
        .bos = "", .sys_begin = "<|system|>\n", .sys_end = "</s>\n",
        .user_begin = "<|user|>\n", .user_end = "</s>\n", .assistant = "<|assistant|>\n",
        .reply_lead = "", .end_of_reply = "</s>\n", .stops = zephyr_stops,
    },
    [T_LLAMA3] = {
        .name = "llama3", .aliases = no_names,
        .description = "Llama 3 instruct: <|start_header_id|>role<|end_header_id|> ... <|eot_id|>",
        .flags = TEMPLATE_F_BOS_IN_TEXT,
        .bos = "<|begin_of_text|>",
        .sys_begin = "<|start_header_id|>system<|end_header_id|>\n\n", .sys_end = "<|eot_id|>",
        .user_begin = "<|start_header_id|>user<|end_header_id|>\n\n", .user_end = "<|eot_id|>",
        .assistant = "<|start_header_id|>assistant<|end_header_id|>\n\n",
        .reply_lead = "", .end_of_reply = "<|eot_id|>", .stops = llama3_stops,
    },
    [T_PHI2] = {
        .name = "phi2", .aliases = phi2_names,
        .description = "Phi-2: Instruct: ... Output:",
        .flags = TEMPLATE_F_SYSTEM_IN_USER,
        .bos = "", .sys_begin = "", .sys_end = "\n\n",
        .user_begin = "Instruct: ", .user_end = "\n", .assistant = "Output:",
        .reply_lead = " ", .end_of_reply = "\n", .stops = phi2_stops,
    },
    [T_QA] = {
        .name = "qa", .aliases = no_names,
        .description = "plain Q: ... A:",
        .bos = "", .sys_begin = "", .sys_end = "\n\n",
        .user_begin = "Q: ", .user_end = "\n", .assistant = "A:",
        .reply_lead = " ", .end_of_reply = "\n", .stops = qa_stops,
    },
    [T_UA] = {
        .name = "user-assistant", .aliases = ua_names,
        .description = "plain User: ... Assistant:",
        .bos = "", .sys_begin = "", .sys_end = "\n\n",
        .user_begin = "User: ", .user_end = "\n", .assistant = "Assistant:",
        .reply_lead = " ", .end_of_reply = "\n", .stops = ua_stops,
    },
};

int template_count(void)
{
    return (int)ARRAY_LEN(templates);
}

const struct chat_template *template_at(int i)
{
    return i >= 0 && i < template_count() ? &templates[i] : NULL;
}

const char *template_name(const struct chat_template *t)
{
    return t->name;
}

const char *template_end_of_reply(const struct chat_template *t)
{
    return t->end_of_reply;
}

const char *const *template_stop_strings(const struct chat_template *t)
{
    return t->stops;
}

int template_bos_in_text(const struct chat_template *t)
{
    return (t->flags & TEMPLATE_F_BOS_IN_TEXT) != 0;
}

/* ---- names ---------------------------------------------------------------- */

static int is_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Equal when the ASCII letters and digits agree, case-insensitively, and
 * there is at least one of them. */
static int name_eq(const char *a, const char *b)
{
    int seen = 0;
    for (;;) {
        while (*a && !is_alnum((unsigned char)*a))
            a++;
        while (*b && !is_alnum((unsigned char)*b))
            b++;
        if (!*a || !*b)
            return !*a && !*b && seen;
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
        a++, b++, seen = 1;
    }
}

const struct chat_template *template_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < template_count(); i++) {
        const struct chat_template *t = &templates[i];
        if (name_eq(name, t->name))
            return t;
        for (const char *const *a = t->aliases; *a; a++)
            if (name_eq(name, *a))
                return t;
    }
    return NULL;
}

/* ---- detection ------------------------------------------------------------ */

static int has(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0 || m > n)
        return m == 0;
    for (size_t i = 0; i + m <= n; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0)
            return 1;
    return 0;
}

const struct chat_template *template_detect(const char *jinja, size_t len)
{
    if (!jinja || len == 0)
        return NULL;
    const char *s = jinja;
    if (has(s, len, "<|start_header_id|>"))
        return &templates[T_LLAMA3];
    if (has(s, len, "<|im_start|>"))
        return has(s, len, "<|im_sep|>") ? NULL : &templates[T_CHATML];
    if (has(s, len, "[INST]"))
        return &templates[has(s, len, "<<SYS>>") ? T_LLAMA2 : T_MISTRAL];
    if (has(s, len, "<|user|>") && has(s, len, "<|assistant|>")) {
        if (has(s, len, "<|end|>"))
            return NULL; /* Phi-3: same tags, its own end marker */
        if (has(s, len, "eos_token") || has(s, len, "</s>"))
            return &templates[T_ZEPHYR];
        return NULL;
    }
    if (has(s, len, "### Instruction"))
        return &templates[T_ALPACA];
    if (has(s, len, "Instruct:") && has(s, len, "Output:"))
        return &templates[T_PHI2];
    return NULL;
}

/* ---- few-shot examples ---------------------------------------------------- */

/* UTF-8 text where TAB is the only control character allowed. */
static int line_is_text(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '\t') {
            if (!utf8_is_text(s + start, i - start))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

static const char *const q_marks[] = {"Q:", "User:", NULL};
static const char *const a_marks[] = {"A:", "Assistant:", NULL};

/* Length of the marker the (trimmed) line starts with, or 0. */
static size_t marker(const char *const *marks, const char *s, size_t n)
{
    for (; *marks; marks++) {
        size_t m = strlen(*marks);
        if (n >= m && memcmp(s, *marks, m) == 0)
            return m;
    }
    return 0;
}

struct fs_parse {
    struct few_shot fs;
    int state;                /* 0 before a question, 1 in a question, 2 in an answer */
    const char *part;         /* start of the current part's text */
    const char *part_end;     /* end of its last line seen */
    int part_line;            /* line the current part began on */
};

/* Closes the current part; 0 or ERR_FORMAT if it is empty. */
static int close_part(struct fs_parse *p)
{
    const char *s = p->part;
    size_t n = (size_t)(p->part_end - p->part);
    span_trim(&s, &n);
    if (n == 0)
        return ERR_FORMAT;
    struct few_shot_pair *q = &p->fs.pairs[p->fs.count];
    if (p->state == 1) {
        q->q = s, q->q_len = n;
    } else {
        q->a = s, q->a_len = n;
        p->fs.count++;
        p->fs.text_len = (size_t)(s + n - p->fs.text);
    }
    return 0;
}

int few_shot_parse(struct few_shot *ret, const char *text, size_t len, int *err_line)
{
    struct fs_parse p;
    struct line_reader lr;
    const char *s;
    size_t n;
    int rc = 0, line = 0;

    if (!ret || (!text && len > 0))
        return ERR_INVAL;
    if (len > FEW_SHOT_FILE_MAX) {
        rc = ERR_RANGE;
        goto fail;
    }
    memset(&p, 0, sizeof(p));
    line_reader_init(&lr, text ? text : "", len);
    while (line_reader_next(&lr, &s, &n)) {
        const char *end = s + n, *t = s;
        size_t tn = n, m;
        line = lr.line;
        if (!line_is_text(s, n && s[n - 1] == '\r' ? n - 1 : n)) {
            rc = ERR_FORMAT;
            goto fail;
        }
        span_trim(&t, &tn);
        if (tn == 0)
            continue; /* blank: kept inside a part, trimmed at its ends */
        if ((m = marker(q_marks, t, tn)) != 0) {
            if (p.state == 1) {
                rc = ERR_FORMAT; /* the previous question has no answer */
                line = p.part_line;
                goto fail;
            }
            if (p.state == 2 && (rc = close_part(&p)) != 0) {
                line = p.part_line;
                goto fail;
            }
            if (p.fs.count == FEW_SHOT_MAX) {
                rc = ERR_RANGE;
                goto fail;
            }
            if (p.fs.count == 0)
                p.fs.text = t;
            p.state = 1;
        } else if ((m = marker(a_marks, t, tn)) != 0) {
            if (p.state != 1) {
                rc = ERR_FORMAT; /* an answer without a question */
                goto fail;
            }
            if ((rc = close_part(&p)) != 0) {
                line = p.part_line;
                goto fail;
            }
            p.state = 2;
        } else {
            if (p.state == 0) {
                rc = ERR_FORMAT; /* text before the first question */
                goto fail;
            }
            p.part_end = end;
            continue;
        }
        p.part = t + m;
        p.part_end = end;
        p.part_line = line;
    }
    if (p.state == 1) {
        rc = ERR_FORMAT;
        line = p.part_line;
        goto fail;
    }
    if (p.state == 2 && (rc = close_part(&p)) != 0) {
        line = p.part_line;
        goto fail;
    }
    if (p.fs.count == 0) {
        rc = ERR_FORMAT;
        line = 0;
        goto fail;
    }
    *ret = p.fs;
    return 0;
fail:
    if (err_line)
        *err_line = line;
    return rc;
}

/* ---- rendering ------------------------------------------------------------ */

/* Output that counts everything and copies while it fits (cap - 1 bytes). */
struct out {
    char *buf;
    size_t cap, len;
};

static void put_n(struct out *o, const char *s, size_t n)
{
    if (o->buf && n < o->cap && o->len < o->cap - n)
        memcpy(o->buf + o->len, s, n);
    o->len = n > SIZE_MAX - o->len ? SIZE_MAX : o->len + n;
}

static void put(struct out *o, const char *s)
{
    put_n(o, s, strlen(s));
}

/* A span from the examples file: every "\r\n" becomes "\n". */
static void put_text(struct out *o, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
            put_n(o, s + start, i - start);
            start = i + 1;
        }
    }
    put_n(o, s + start, n - start);
}

struct render {
    const struct chat_template *t;
    struct out out;
    const char *sys; /* pending system prompt (trimmed), or NULL */
    size_t sys_len;
};

static void put_system(struct render *r)
{
    put(&r->out, r->t->sys_begin);
    put_n(&r->out, r->sys, r->sys_len);
    put(&r->out, r->t->sys_end);
    r->sys = NULL;
}

/* One user message; cot_user adds the CoT line. */
static void put_user(struct render *r, const char *s, size_t n, int file_text, int cot_user)
{
    put(&r->out, r->t->user_begin);
    if (r->sys)
        put_system(r); /* TEMPLATE_F_SYSTEM_IN_USER */
    if (file_text)
        put_text(&r->out, s, n);
    else
        put_n(&r->out, s, n);
    if (cot_user)
        put(&r->out, "\n" TEMPLATE_COT_TEXT);
    put(&r->out, r->t->user_end);
}

static int few_shot_ok(const struct few_shot *fs)
{
    if (fs->count < 0 || fs->count > FEW_SHOT_MAX || (fs->count && !fs->text))
        return 0;
    for (int i = 0; i < fs->count; i++)
        if (!fs->pairs[i].q || !fs->pairs[i].a)
            return 0;
    return 1;
}

int template_render_user(const struct chat_template *t, const struct chat_opts *o,
                         int first_turn, const char *user, char *out, size_t cap)
{
    static const struct chat_opts none;
    struct render r;
    const struct few_shot *fs;

    if (!o)
        o = &none;
    if (!t || !user || (!out && cap > 0) || o->cot < TEMPLATE_COT_OFF ||
        o->cot > TEMPLATE_COT_REPLY)
        return ERR_INVAL;
    fs = first_turn && o->few_shot && o->few_shot->count ? o->few_shot : NULL;
    if (fs && !few_shot_ok(fs))
        return ERR_FORMAT;

    memset(&r, 0, sizeof(r));
    r.t = t;
    r.out.buf = out;
    r.out.cap = cap;
    if (first_turn && o->system) {
        const char *s = o->system;
        size_t n = strlen(s);
        span_trim(&s, &n);
        if (n) {
            r.sys = s;
            r.sys_len = n;
        }
    }

    int raw = t == &templates[T_RAW];
    int no_prefix = !*t->assistant && !*t->reply_lead;
    if (first_turn)
        put(&r.out, t->bos);
    if (r.sys && !(t->flags & TEMPLATE_F_SYSTEM_IN_USER))
        put_system(&r);
    if (fs && raw) {
        put_text(&r.out, fs->text, fs->text_len);
        put(&r.out, "\n\n");
    } else if (fs) {
        for (int i = 0; i < fs->count; i++) {
            const struct few_shot_pair *p = &fs->pairs[i];
            put_user(&r, p->q, p->q_len, 1, 0);
            put(&r.out, t->assistant);
            put(&r.out, t->reply_lead);
            put_text(&r.out, p->a, p->a_len);
            put(&r.out, t->end_of_reply);
        }
    }

    const char *u = user;
    size_t un = strlen(user);
    if (!raw)
        span_trim(&u, &un);
    int cot_user = o->cot == TEMPLATE_COT_USER || (o->cot == TEMPLATE_COT_REPLY && no_prefix);
    put_user(&r, u, un, 0, cot_user);
    put(&r.out, t->assistant);
    if (o->cot == TEMPLATE_COT_REPLY && !no_prefix) {
        put(&r.out, t->reply_lead);
        put(&r.out, TEMPLATE_COT_TEXT);
    }

    if (r.out.len > (size_t)INT_MAX)
        goto range;
    if (!out)
        return (int)r.out.len;
    if (r.out.len >= cap)
        goto range;
    out[r.out.len] = 0;
    return (int)r.out.len;
range:
    if (out && cap > 0)
        out[0] = 0;
    return ERR_RANGE;
}
