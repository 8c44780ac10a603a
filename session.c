/* session.c - sessions on the boot volume (session.h). */
#include "session.h"

#include "chat.h"
#include "engine.h"
#include "errors.h"
#include "lib.h"
#include "lz4.h"
#include "platform.h"
#include "storage.h"

#define META_MAX (64 * 1024) /* metadata.json is a few hundred bytes */
#define META_TOKENS 64
#define RECORD_TOKENS 16
#define LIST_MAX 4096        /* sessions /sessions shows */
#define PREVIEW_BYTES 4096   /* of the log, for the first prompt */
/* A turn's text in the log is cut to this, so that even fully escaped
 * (\u0001 is 6 bytes) its record stays under the reader's limit. */
#define RECORD_TEXT_MAX (JSON_MAX_BYTES / 8)

static void say(void (*note)(const char *, void *), void *ctx, const char *msg)
{
    if (note)
        note(msg, ctx);
    else
        diag_printf("%s\n", msg);
}

static void quiet(const char *msg, void *ctx)
{
    (void)msg;
    (void)ctx;
}

/* "sessions/session_007" + "/" + file (file may be ""). */
static int session_path(char *out, size_t cap, int number, const char *file)
{
    int n = fmt_snprintf(out, cap, SESSION_DIR "/session_%03d%s%s", number, *file ? "/" : "",
                         file);
    return n < 0 || (size_t)n >= cap ? ERR_RANGE : 0;
}

/* session_NNN -> NNN (1..999999); 0 for any other name. */
static int parse_number(const char *name)
{
    if (strncmp(name, "session_", 8) != 0)
        return 0;
    const char *d = name + 8;
    int v = 0, k = 0;
    for (; d[k] >= '0' && d[k] <= '9'; k++)
        if (k < 6)
            v = v * 10 + (d[k] - '0');
    return d[k] == 0 && k >= 1 && k <= 6 ? v : 0;
}

/* 1 if path is a file that opens, else 0. */
static int file_exists(const char *path)
{
    plat_file *f;
    if (plat_file_open(path, &f) != 0)
        return 0;
    plat_file_close(f);
    return 1;
}

/* ---- listing sessions/ ------------------------------------------------------- */

struct scan {
    int max;                /* highest number taken */
    int *nums, n, cap;      /* session directories (nums may be NULL) */
    void (*note)(const char *, void *);
    void *ctx;
};

static int scan_entry(const struct plat_dirent *e, void *ctx)
{
    struct scan *s = ctx;
    int v = parse_number(e->name);
    char msg[200];
    if (v == 0 || !e->is_dir) {
        /* a file named session_NNN still takes its number: never clobbered */
        fmt_snprintf(msg, sizeof msg, SESSION_DIR "/%s: not a session directory, skipped",
                     e->name);
        say(s->note, s->ctx, msg);
    } else if (s->nums && s->n < s->cap) {
        s->nums[s->n++] = v;
    }
    if (v > s->max)
        s->max = v;
    return 0;
}

/* ---- metadata.json ------------------------------------------------------------------ */

static int write_meta(const struct session *s)
{
    struct textbuf b;
    struct json_writer w;
    char path[STORAGE_PATH_MAX];
    int rc;

    if ((rc = session_path(path, sizeof path, s->number, "metadata.json")) != 0)
        return rc;
    tb_init_grow(&b);
    json_w_init(&w, &b, 1);
    export_meta_json(&w, &s->meta);
    if ((rc = json_w_finish(&w)) == 0) {
        tb_put(&b, "\n", 1);
        rc = tb_status(&b) ? tb_status(&b) : storage_write_mirrored(path, b.p, b.len, ' ');
    }
    tb_free(&b);
    return rc;
}

/* String member key of obj into buf: "" when absent or null. */
static int get_str(const struct json_doc *d, int obj, const char *key, char *buf, size_t cap)
{
    int v = json_find(d, obj, key);
    buf[0] = 0;
    if (v < 0 || json_type(d, v) == JSON_NULL)
        return 0;
    return json_string(d, v, buf, cap, NULL);
}

static int get_u64(const struct json_doc *d, int obj, const char *key, uint64_t *ret)
{
    int v = json_find(d, obj, key);
    *ret = 0;
    return v < 0 || json_type(d, v) == JSON_NULL ? 0 : json_u64(d, v, ret);
}

/* Points m's strings at s's arrays. */
static void link_strings(struct session *s)
{
    s->meta.model_file = s->model_file;
    s->meta.family = s->family;
    s->meta.quantization = s->quantization;
    s->meta.template_name = s->template_name;
    s->meta.app_version = s->app_version;
}

/* Reads and checks one copy (file) of session number's metadata into s
 * (untrusted: every field is type-checked). err gets the reason on failure. */
static int read_meta_copy(int number, const char *file, struct session *s, char *err,
                          size_t errcap)
{
    static struct json_tok tok[META_TOKENS];
    char path[STORAGE_PATH_MAX], fmt[48];
    struct json_doc d;
    size_t len = 0;
    int64_t v;
    float f;
    char *text = plat_alloc(META_MAX);
    int rc;

    memset(s, 0, sizeof *s);
    if (!text)
        return ERR_NOMEM;
    if ((rc = session_path(path, sizeof path, number, file)) != 0 ||
        (rc = storage_read_file(path, text, META_MAX, &len)) != 0) {
        fmt_snprintf(err, errcap, "%s: %s", file, err_str(rc));
        goto out;
    }
    if ((rc = json_parse(&d, file, text, len, tok, META_TOKENS)) != 0) {
        str_copy(err, errcap, d.err);
        goto out;
    }
    int model = json_find(&d, 0, "model"), smp = json_find(&d, 0, "sampler");
    uint64_t created, updated, seed, in, out_tok;
    rc = ERR_FORMAT;
    if (get_str(&d, 0, "format", fmt, sizeof fmt) || strcmp(fmt, "llm-baremetal session") ||
        json_int(&d, json_find(&d, 0, "version"), &v) || v != 1 ||
        json_int(&d, json_find(&d, 0, "session"), &v) || v != number ||
        json_int(&d, json_find(&d, 0, "turn_count"), &v) || v < 0 || v > 1000000000 ||
        json_type(&d, model) != JSON_OBJECT || json_type(&d, smp) != JSON_OBJECT ||
        get_str(&d, model, "file", s->model_file, sizeof s->model_file) ||
        get_str(&d, model, "family", s->family, sizeof s->family) ||
        get_str(&d, model, "quantization", s->quantization, sizeof s->quantization) ||
        get_str(&d, 0, "template", s->template_name, sizeof s->template_name) ||
        get_str(&d, 0, "app_version", s->app_version, sizeof s->app_version) ||
        get_u64(&d, 0, "created_s", &created) || get_u64(&d, 0, "updated_s", &updated) ||
        get_u64(&d, 0, "tokens_in", &in) || get_u64(&d, 0, "tokens_out", &out_tok) ||
        get_u64(&d, smp, "seed", &seed)) {
        fmt_snprintf(err, errcap, "%s: missing or mistyped fields", file);
        goto out;
    }
    s->number = number;
    s->meta.session = number;
    s->meta.turns = (int)v;
    s->meta.created_s = created;
    s->meta.updated_s = updated;
    s->meta.tokens_in = in;
    s->meta.tokens_out = out_tok;
    s->meta.seed = seed;
    if (json_float(&d, json_find(&d, smp, "temperature"), &f) == 0)
        s->meta.temperature = f;
    if (json_float(&d, json_find(&d, smp, "topp"), &f) == 0)
        s->meta.topp = f;
    if (json_float(&d, json_find(&d, 0, "tok_per_s"), &f) == 0)
        s->meta.tok_per_s = f;
    link_strings(s);
    rc = 0;
out:
    plat_free(text, META_MAX);
    return rc;
}

/* Session number's metadata: the newer of the two valid copies (a cut
 * tears at most one, storage_write_mirrored). err gets metadata.json's
 * reason when neither is valid. */
static int read_meta(int number, struct session *s, char *err, size_t errcap)
{
    static struct session bak; /* large: off the firmware's small stack */
    char bak_err[8];
    int rc = read_meta_copy(number, "metadata.json", s, err, errcap);
    if (read_meta_copy(number, "metadata.json.bak", &bak, bak_err, sizeof bak_err) != 0)
        return rc;
    if (rc == 0 && (s->meta.turns > bak.meta.turns ||
                    (s->meta.turns == bak.meta.turns && s->meta.updated_s >= bak.meta.updated_s)))
        return 0;
    *s = bak;
    link_strings(s); /* its strings pointed into bak */
    return 0;
}

/* ---- starting a session and recording turns ---------------------------------------- */

int session_start(struct session *s, const struct session_settings *set,
                  void (*note)(const char *msg, void *ctx), void *ctx)
{
    struct scan sc = {.note = note, .ctx = ctx};
    char path[STORAGE_PATH_MAX];
    int rc;

    memset(s, 0, sizeof *s);
    if ((rc = storage_mkdirs(SESSION_DIR)) != 0)
        return rc;
    if ((rc = plat_dir_list(SESSION_DIR, scan_entry, &sc)) != 0)
        return rc;
    if (sc.max >= 999999)
        return ERR_RANGE;
    if ((rc = session_path(path, sizeof path, sc.max + 1, "")) != 0 ||
        (rc = plat_mkdir(path)) != 0)
        return rc;
    str_copy(s->model_file, sizeof s->model_file, set->model_file ? set->model_file : "");
    str_copy(s->family, sizeof s->family, set->family ? set->family : "");
    str_copy(s->quantization, sizeof s->quantization, set->quantization ? set->quantization : "");
    str_copy(s->template_name, sizeof s->template_name,
             set->template_name ? set->template_name : "");
    str_copy(s->app_version, sizeof s->app_version, set->app_version ? set->app_version : "");
    link_strings(s);
    s->compress = set->compress;
    s->meta.session = sc.max + 1;
    s->meta.temperature = set->temperature;
    s->meta.topp = set->topp;
    s->meta.seed = set->seed;
    s->meta.created_s = s->meta.updated_s = plat_time_wall();
    s->number = sc.max + 1;
    /* every file a turn writes is allocated now, not during the turns */
    if ((rc = session_path(path, sizeof path, s->number, "conversation.log")) != 0 ||
        (rc = storage_preallocate(path, SESSION_LOG_GROW)) != 0 || (rc = write_meta(s)) != 0)
        s->number = 0; /* the directory stays: its number is never reused */
    return rc;
}

int session_add_turn(struct session *s, const char *role, const char *text, size_t n,
                     int tokens, double tok_per_s)
{
    char path[STORAGE_PATH_MAX];
    struct textbuf b;
    struct json_writer w;
    uint64_t now = plat_time_wall();
    int rc;

    if (!s->number)
        return ERR_INVAL;
    if ((rc = session_path(path, sizeof path, s->number, "conversation.log")) != 0)
        return rc;
    tb_init_grow(&b);
    json_w_init(&w, &b, 0);
    json_w_begin_object(&w);
    json_w_key(&w, "role");
    json_w_string(&w, role);
    json_w_key(&w, "time_s");
    json_w_uint(&w, now);
    json_w_key(&w, "tokens");
    json_w_int(&w, tokens);
    json_w_key(&w, "tok_per_s");
    json_w_double(&w, tok_per_s);
    json_w_key(&w, "text");
    json_w_string_n(&w, text, MIN(n, (size_t)RECORD_TEXT_MAX));
    json_w_end_object(&w);
    if ((rc = json_w_finish(&w)) == 0) {
        tb_put(&b, "\n", 1);
        rc = tb_status(&b) ? tb_status(&b)
                           : storage_log_write(path, &s->log_end, b.p, b.len, SESSION_LOG_GROW);
    }
    tb_free(&b);
    if (rc)
        return rc;
    s->meta.turns++;
    s->meta.updated_s = now;
    if (!strcmp(role, "assistant")) {
        s->meta.tokens_out += (uint64_t)MAX(tokens, 0);
        if (tok_per_s > 0) {
            s->tps_sum += tok_per_s;
            s->meta.tok_per_s = s->tps_sum / ++s->tps_n;
        }
    } else {
        s->meta.tokens_in += (uint64_t)MAX(tokens, 0);
    }
    return write_meta(s);
}

/* ---- reading the log ------------------------------------------------------------------ */

int session_log_parse(const char *text, size_t n, const char *name,
                      void (*fn)(const struct export_turn *t, void *ctx), void *ctx,
                      void (*note)(const char *msg, void *ctx), void *note_ctx)
{
    static struct json_tok tok[RECORD_TOKENS];
    char role[16], msg[300];
    size_t pos = 0;
    int line = 0, good = 0;
    char *buf;

    /* the log is preallocated: its used part ends at the first zero byte */
    for (size_t i = 0; i < n; i++)
        if (text[i] == 0) {
            n = i;
            break;
        }
    buf = n ? plat_alloc(n + 1) : NULL; /* any record's text fits */
    if (n && !buf)
        return ERR_NOMEM;
    while (pos < n) {
        size_t end = pos;
        while (end < n && text[end] != '\n')
            end++;
        line++;
        if (end == n) { /* no newline: the append was cut */
            fmt_snprintf(msg, sizeof msg, "%s: line %d: torn last record (cut off), ignored",
                         name, line);
            if (note)
                note(msg, note_ctx);
            break;
        }
        struct json_doc d;
        struct export_turn t = {0};
        int64_t tokens = 0;
        float tps = 0;
        uint64_t when = 0;
        int ok = json_parse(&d, name, text + pos, end - pos, tok, RECORD_TOKENS) == 0 &&
                 get_str(&d, 0, "role", role, sizeof role) == 0 && role[0] &&
                 json_string(&d, json_find(&d, 0, "text"), buf, n + 1, NULL) == 0 &&
                 get_u64(&d, 0, "time_s", &when) == 0 &&
                 json_int(&d, json_find(&d, 0, "tokens"), &tokens) == 0 && tokens >= 0 &&
                 tokens <= 0x7fffffff &&
                 json_float(&d, json_find(&d, 0, "tok_per_s"), &tps) == 0;
        if (ok) {
            t.role = role;
            t.text = buf;
            t.time_s = when;
            t.tokens = (int)tokens;
            t.tok_per_s = tps;
            if (fn)
                fn(&t, ctx);
            good++;
        } else if (note) {
            fmt_snprintf(msg, sizeof msg, "%s: line %d: not a valid record, skipped", name,
                         line);
            note(msg, note_ctx);
        }
        pos = end + 1;
    }
    if (buf)
        plat_free(buf, n + 1);
    return good;
}

/* Reads a whole log (plat_alloc'd into *ret_text, *ret_len bytes; free
 * with plat_free(*ret_text, *ret_len + 1)). A missing log is empty. */
static int read_log(int number, char **ret_text, size_t *ret_len)
{
    char path[STORAGE_PATH_MAX];
    plat_file *f;
    uint64_t size = 0;
    size_t len = 0;
    int rc;

    if ((rc = session_path(path, sizeof path, number, "conversation.log")) != 0)
        return rc;
    if ((rc = plat_file_open(path, &f)) == ERR_NOT_FOUND)
        size = 0;
    else if (rc)
        return rc;
    else {
        rc = plat_file_size(f, &size);
        plat_file_close(f);
        if (rc)
            return rc;
        if (size > SESSION_LOG_MAX)
            return ERR_RANGE;
    }
    char *text = plat_alloc((size_t)size + 1);
    if (!text)
        return ERR_NOMEM;
    if (size && (rc = storage_read_file(path, text, (size_t)size, &len)) != 0) {
        plat_free(text, (size_t)size + 1);
        return rc;
    }
    *ret_text = text;
    *ret_len = (size_t)size;
    return 0;
}

/* ---- exports ------------------------------------------------------------------------ */

struct collect {
    struct export_turn *turns; /* NULL: only count */
    int n;
    char *arena;               /* copies of the strings */
    size_t used;
};

static void collect_turn(const struct export_turn *t, void *ctx)
{
    struct collect *c = ctx;
    if (c->turns) {
        struct export_turn *d = &c->turns[c->n];
        *d = *t;
        size_t r = strlen(t->role) + 1, x = strlen(t->text) + 1;
        d->role = memcpy(c->arena + c->used, t->role, r);
        d->text = memcpy(c->arena + c->used + r, t->text, x);
        c->used += r + x;
    }
    c->n++;
}

/* Writes data as path, or as path.lz4 when compress and large enough (the
 * other variant is removed, so one export of each format is left). */
static int write_maybe_lz4(const char *path, const char *data, size_t n, int compress,
                           char *ret_path, size_t cap)
{
    char lz[STORAGE_PATH_MAX];
    int rc, packed = compress && n >= SESSION_LZ4_MIN;

    if (fmt_snprintf(lz, sizeof lz, "%s.lz4", path) >= (int)sizeof lz)
        return ERR_RANGE;
    if (!packed) {
        rc = storage_write_file(path, data, n);
    } else {
        size_t bound = lz4_frame_bound(n), len = 0;
        void *dst = bound ? plat_alloc(bound) : NULL, *work = plat_alloc(LZ4_WORK_BYTES);
        rc = dst && work ? lz4_frame_compress(data, n, dst, bound, &len, work) : ERR_NOMEM;
        if (rc == 0)
            rc = storage_write_file(lz, dst, len);
        if (dst)
            plat_free(dst, bound);
        if (work)
            plat_free(work, LZ4_WORK_BYTES);
    }
    if (rc == 0) {
        plat_file_delete(packed ? path : lz); /* best effort: an older variant */
        if (ret_path)
            str_copy(ret_path, cap, packed ? lz : path);
    }
    return rc;
}

int session_export(int number, enum export_format f, int compress, char *ret_path, size_t cap,
                   void (*note)(const char *msg, void *ctx), void *ctx)
{
    static struct session meta; /* ~400 bytes of strings: off the small firmware stack */
    char err[200], path[STORAGE_PATH_MAX], name[40];
    struct collect c = {0};
    struct textbuf b;
    char *log = NULL;
    size_t log_len = 0, arena_bytes = 0, turn_bytes = 0;
    int rc;

    if ((rc = read_meta(number, &meta, err, sizeof err)) != 0) {
        if (rc == ERR_NOT_FOUND)
            return rc; /* no such session */
        if (rc != ERR_NOMEM)
            say(note, ctx, err);
        return rc == ERR_NOMEM ? rc : ERR_FORMAT;
    }
    if ((rc = read_log(number, &log, &log_len)) != 0)
        return rc;
    fmt_snprintf(name, sizeof name, "session_%03d/conversation.log", number);
    int n = session_log_parse(log, log_len, name, collect_turn, &c, quiet, NULL);
    if (n < 0) {
        rc = n;
        goto out;
    }
    turn_bytes = (size_t)(n ? n : 1) * sizeof(struct export_turn);
    arena_bytes = log_len + 1;
    c.turns = plat_alloc(turn_bytes);
    c.arena = plat_alloc(arena_bytes);
    c.n = 0;
    if (!c.turns || !c.arena) {
        rc = ERR_NOMEM;
        goto out;
    }
    session_log_parse(log, log_len, name, collect_turn, &c, note ? note : quiet, ctx);
    tb_init_grow(&b);
    rc = export_write(&b, f, &meta.meta, c.turns, c.n);
    fmt_snprintf(name, sizeof name, "export/session_%03d.%s", number, export_format_ext(f));
    if (rc == 0 && (rc = session_path(path, sizeof path, number, "export")) == 0 &&
        (rc = storage_mkdirs(path)) == 0 && (rc = session_path(path, sizeof path, number, name)) == 0)
        rc = write_maybe_lz4(path, b.p, b.len, compress, ret_path, cap);
    tb_free(&b);
out:
    if (c.turns)
        plat_free(c.turns, turn_bytes);
    if (c.arena)
        plat_free(c.arena, arena_bytes);
    plat_free(log, log_len + 1);
    return rc;
}

/* ---- /sessions ------------------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

struct first_prompt {
    char text[64];
    int found;
};

static void take_first_user(const struct export_turn *t, void *ctx)
{
    struct first_prompt *p = ctx;
    if (p->found || strcmp(t->role, "user"))
        return;
    size_t n = 0, len = strlen(t->text);
    while (n < len) { /* whole UTF-8 sequences up to the room left */
        size_t k = utf8_seq_len(t->text + n, len - n);
        if (k == 0 || n + k > sizeof p->text - 4)
            break;
        n += k;
    }
    memcpy(p->text, t->text, n);
    if (n < len)
        memcpy(p->text + n++, "~", 1);
    p->text[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p->text[i] < 0x20)
            p->text[i] = ' '; /* one line per session */
    p->found = 1;
}

/* The first user prompt of a session, from the start of its log. */
static void first_prompt(int number, struct first_prompt *p)
{
    static char head[PREVIEW_BYTES];
    char path[STORAGE_PATH_MAX];
    plat_file *f;
    size_t got = 0;

    p->found = 0;
    str_copy(p->text, sizeof p->text, "(no prompt)");
    if (session_path(path, sizeof path, number, "conversation.log") ||
        plat_file_open(path, &f))
        return;
    if (plat_file_read(f, head, sizeof head, &got))
        got = 0;
    plat_file_close(f);
    while (got && head[got - 1] != '\n')
        got--; /* whole lines only: a record cut here is not torn */
    session_log_parse(head, got, "", take_first_user, p, NULL, NULL);
}

int session_list(struct textbuf *out)
{
    static int nums[LIST_MAX], tmp[LIST_MAX];
    static struct session s;
    struct scan sc = {.nums = nums, .cap = LIST_MAX, .note = quiet};
    char err[200], when[24];
    int rc, listed = 0;

    if ((rc = plat_dir_list(SESSION_DIR, scan_entry, &sc)) != 0)
        return rc;
    lib_sort(nums, (size_t)sc.n, sizeof nums[0], tmp, cmp_int);
    for (int i = 0; i < sc.n; i++) {
        if ((rc = read_meta(nums[i], &s, err, sizeof err)) != 0) {
            tb_printf(out, "  session_%03d: %s; skipped\n", nums[i], err);
            continue;
        }
        struct first_prompt p;
        first_prompt(nums[i], &p);
        export_time(when, sizeof when, s.meta.created_s, ' ');
        when[16] = 0; /* minutes are enough here */
        tb_printf(out, "%4d  %-16s  %-20s  %d turns  ", nums[i], when[0] ? when : "(no date)",
                  s.model_file, s.meta.turns);
        tb_put_utf8(out, p.text, strlen(p.text));
        tb_puts(out, "\n");
        listed++;
    }
    return listed;
}

/* ---- /resume ---------------------------------------------------------------------- */

int session_read_turns(int number, void (*fn)(const struct export_turn *t, void *ctx), void *ctx,
                       void (*note)(const char *msg, void *ctx), void *note_ctx)
{
    static struct session meta;
    char err[200], name[40];
    char *log = NULL;
    size_t len = 0;
    int rc;

    if ((rc = read_meta(number, &meta, err, sizeof err)) != 0) {
        if (rc != ERR_NOT_FOUND && rc != ERR_NOMEM)
            say(note, note_ctx, err);
        return rc == ERR_NOT_FOUND || rc == ERR_NOMEM ? rc : ERR_FORMAT;
    }
    if ((rc = read_log(number, &log, &len)) != 0)
        return rc;
    fmt_snprintf(name, sizeof name, "session_%03d/conversation.log", number);
    rc = session_log_parse(log, len, name, fn, ctx, note ? note : quiet, note_ctx);
    plat_free(log, len + 1);
    return rc;
}

/* ---- output files ------------------------------------------------------------------ */

struct outputs {
    int number, have, seen, rc;
};

static void write_output(const struct export_turn *t, void *ctx)
{
    struct outputs *o = ctx;
    char name[32], path[STORAGE_PATH_MAX];
    if (strcmp(t->role, "assistant") || o->rc || ++o->seen <= o->have)
        return;
    fmt_snprintf(name, sizeof name, "output_%03d.txt", o->seen);
    if ((o->rc = session_path(path, sizeof path, o->number, name)) == 0 &&
        (o->rc = storage_write_file(path, t->text, strlen(t->text))) == 0)
        o->have = o->seen;
}

/* Number of output_NNN.txt files session number has, counted from 1 up. */
static int count_outputs(int number)
{
    char name[32], path[STORAGE_PATH_MAX];
    int k = 0;
    for (;;) {
        fmt_snprintf(name, sizeof name, "output_%03d.txt", k + 1);
        if (session_path(path, sizeof path, number, name) || file_exists(path) != 1)
            return k;
        k++;
    }
}

int session_write_outputs(int number, int *outputs)
{
    struct outputs o = {.number = number, .have = *outputs};
    int rc;
    if (o.have < 0)
        o.have = count_outputs(number);
    rc = session_read_turns(number, write_output, &o, NULL, NULL);
    *outputs = o.have;
    return rc < 0 ? rc : o.rc;
}

void session_recover(void (*note)(const char *msg, void *ctx), void *ctx)
{
    struct scan sc = {.note = quiet};
    char path[STORAGE_PATH_MAX], msg[200];
    int before, outputs = -1;

    if (plat_dir_list(SESSION_DIR, scan_entry, &sc) != 0 || sc.max == 0 ||
        session_path(path, sizeof path, sc.max, "") != 0)
        return;
    storage_recover(path, note, ctx);
    before = count_outputs(sc.max);
    outputs = before;
    int rc = session_write_outputs(sc.max, &outputs);
    if (outputs > before) {
        fmt_snprintf(msg, sizeof msg, "session %d: wrote the output files of %d replies%s",
                     sc.max, outputs - before, rc ? " (not all)" : "");
        say(note, ctx, msg);
    }
}

/* ---- KV snapshots ----------------------------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

int session_model_sum(const char *path, const void *tensor, size_t n, uint32_t *ret_sum)
{
    static unsigned char head[4096];
    plat_file *f;
    size_t got = 0;
    int rc;

    if ((rc = plat_file_open(path, &f)) != 0)
        return rc;
    rc = plat_file_read(f, head, sizeof head, &got);
    plat_file_close(f);
    if (rc)
        return rc;
    uint32_t h = lz4_xxh32(head, got, 0);
    *ret_sum = lz4_xxh32(tensor, tensor ? MIN(n, sizeof head) : 0, h);
    return 0;
}

/* Payload bytes of a snapshot: keys and values of pos positions per layer. */
static size_t kv_payload_bytes(const struct kv_snapshot *k, int pos)
{
    return (size_t)k->n_layers * (size_t)pos * (size_t)k->kv_dim * sizeof(float) * 2;
}

int session_save_kv(int number, const struct kv_snapshot *k, int compress)
{
    char path[STORAGE_PATH_MAX];
    size_t carry = strlen(k->carry), raw = kv_payload_bytes(k, k->pos);
    size_t row = (size_t)k->pos * (size_t)k->kv_dim * sizeof(float);
    size_t layer = (size_t)k->seq_len * (size_t)k->kv_dim;
    size_t bound = compress ? lz4_frame_bound(raw) : raw;
    size_t total = SESSION_KV_HEADER + carry + bound, len = raw;
    unsigned char *file, *body;
    void *work = NULL;
    int rc;

    if (k->pos < 0 || k->pos > k->seq_len || carry >= SESSION_KV_CARRY_MAX || (compress && !bound))
        return ERR_RANGE;
    if ((rc = session_path(path, sizeof path, number, SESSION_KV_FILE)) != 0)
        return rc;
    char *rawbuf = plat_alloc(raw + 1);
    if (!rawbuf || (file = plat_alloc(total)) == NULL) {
        if (rawbuf)
            plat_free(rawbuf, raw + 1);
        return ERR_NOMEM;
    }
    for (int l = 0; l < k->n_layers; l++) { /* [0,pos) of each layer, keys then values */
        memcpy(rawbuf + (size_t)l * row, k->key + (size_t)l * layer, row);
        memcpy(rawbuf + (size_t)(k->n_layers + l) * row, k->value + (size_t)l * layer, row);
    }
    body = file + SESSION_KV_HEADER + carry;
    if (!compress)
        memcpy(body, rawbuf, raw);
    else if ((work = plat_alloc(LZ4_WORK_BYTES)) == NULL)
        rc = ERR_NOMEM;
    else
        rc = lz4_frame_compress(rawbuf, raw, body, bound, &len, work);
    if (rc == 0) {
        memcpy(file, SESSION_KV_MAGIC, 8);
        put32(file + 8, SESSION_KV_VERSION);
        put32(file + 12, compress ? 1 : 0);
        put64(file + 16, k->model_size);
        put32(file + 24, k->model_sum);
        put32(file + 28, (uint32_t)k->n_layers);
        put32(file + 32, (uint32_t)k->seq_len);
        put32(file + 36, (uint32_t)k->kv_dim);
        put32(file + 40, (uint32_t)k->pos);
        put32(file + 44, k->conv_sum);
        put32(file + 48, (uint32_t)k->reply_open);
        put32(file + 52, (uint32_t)carry);
        put64(file + 56, len);
        put32(file + 64, lz4_xxh32(rawbuf, raw, 0));
        put32(file + 68, lz4_xxh32(file, 68, 0) ^ lz4_xxh32(k->carry, carry, 0));
        memcpy(file + SESSION_KV_HEADER, k->carry, carry);
        rc = storage_write_file(path, file, SESSION_KV_HEADER + carry + len);
    }
    if (work)
        plat_free(work, LZ4_WORK_BYTES);
    plat_free(file, total);
    plat_free(rawbuf, raw + 1);
    return rc;
}

/* Size of path, or of its complete NAME.new (storage.h) when it is missing. */
static int stored_size(const char *path, uint64_t *ret)
{
    char alt[STORAGE_PATH_MAX];
    plat_file *f;
    int rc = plat_file_open(path, &f);
    if (rc == ERR_NOT_FOUND && fmt_snprintf(alt, sizeof alt, "%s.new", path) < (int)sizeof alt)
        rc = plat_file_open(alt, &f);
    if (rc)
        return rc;
    rc = plat_file_size(f, ret);
    plat_file_close(f);
    return rc;
}

int session_load_kv(int number, struct kv_snapshot *k, char *err, size_t errcap)
{
    char path[STORAGE_PATH_MAX], lzerr[120];
    unsigned char *file = NULL;
    char *rawbuf = NULL;
    uint64_t size = 0;
    size_t got = 0, raw = 0;
    int rc;

    err[0] = 0;
    if ((rc = session_path(path, sizeof path, number, SESSION_KV_FILE)) != 0 ||
        (rc = stored_size(path, &size)) != 0) {
        str_copy(err, errcap, rc == ERR_NOT_FOUND ? "no KV snapshot" : err_str(rc));
        return rc;
    }
    rc = ERR_FORMAT;
    if (size < SESSION_KV_HEADER || size > kv_payload_bytes(k, k->seq_len) * 2 + 65536 ||
        (file = plat_alloc((size_t)size)) == NULL) {
        if (size >= SESSION_KV_HEADER && size <= kv_payload_bytes(k, k->seq_len) * 2 + 65536)
            rc = ERR_NOMEM;
        str_copy(err, errcap, rc == ERR_NOMEM ? "out of memory" : "corrupt: impossible size");
        return rc;
    }
    if ((rc = storage_read_file(path, file, (size_t)size, &got)) != 0 || got != size) {
        str_copy(err, errcap, rc ? err_str(rc) : "corrupt: short read");
        rc = rc ? rc : ERR_FORMAT;
        goto out;
    }
    rc = ERR_FORMAT;
    uint32_t flags = get32(file + 12), pos = get32(file + 40), carry = get32(file + 52);
    uint64_t stored = get64(file + 56);
    if (memcmp(file, SESSION_KV_MAGIC, 8) || get32(file + 8) != SESSION_KV_VERSION ||
        flags > 1 || carry >= SESSION_KV_CARRY_MAX || SESSION_KV_HEADER + carry > size ||
        get32(file + 68) != (lz4_xxh32(file, 68, 0) ^
                             lz4_xxh32(file + SESSION_KV_HEADER, carry, 0))) {
        str_copy(err, errcap, "corrupt: bad header");
        goto out;
    }
    rc = ERR_INVAL; /* a whole header: does it describe this model and conversation? */
    if (get64(file + 16) != k->model_size || get32(file + 24) != k->model_sum) {
        str_copy(err, errcap, "stale: saved with another model file");
        goto out;
    }
    if (get32(file + 28) != (uint32_t)k->n_layers || get32(file + 32) != (uint32_t)k->seq_len ||
        get32(file + 36) != (uint32_t)k->kv_dim || pos > (uint32_t)k->seq_len) {
        str_copy(err, errcap, "stale: another cache shape");
        goto out;
    }
    if (get32(file + 44) != k->conv_sum) {
        str_copy(err, errcap, "stale: the conversation or its template changed since /save");
        goto out;
    }
    rc = ERR_FORMAT;
    raw = kv_payload_bytes(k, (int)pos);
    if (stored != size - SESSION_KV_HEADER - carry || (!flags && stored != raw)) {
        str_copy(err, errcap, "corrupt: payload size");
        goto out;
    }
    const unsigned char *body = file + SESSION_KV_HEADER + carry;
    if (flags) {
        size_t n = 0;
        if ((rawbuf = plat_alloc(raw + 1)) == NULL) {
            rc = ERR_NOMEM;
            str_copy(err, errcap, "out of memory");
            goto out;
        }
        if (lz4_frame_decompress(body, (size_t)stored, rawbuf, raw + 1, &n, lzerr, sizeof lzerr) ||
            n != raw) {
            fmt_snprintf(err, errcap, "corrupt: payload: %s", n != raw && !lzerr[0] ? "size" : lzerr);
            goto out;
        }
        body = (const unsigned char *)rawbuf;
    }
    if (lz4_xxh32(body, raw, 0) != get32(file + 64)) {
        str_copy(err, errcap, "corrupt: payload checksum");
        goto out;
    }
    size_t row = (size_t)pos * (size_t)k->kv_dim * sizeof(float);
    size_t layer = (size_t)k->seq_len * (size_t)k->kv_dim;
    for (int l = 0; l < k->n_layers; l++) {
        memcpy(k->key + (size_t)l * layer, body + (size_t)l * row, row);
        memcpy(k->value + (size_t)l * layer, body + (size_t)(k->n_layers + l) * row, row);
    }
    k->pos = (int)pos;
    k->reply_open = get32(file + 48) != 0;
    memcpy(k->carry, file + SESSION_KV_HEADER, carry);
    k->carry[carry] = 0;
    rc = 0;
out:
    if (rawbuf)
        plat_free(rawbuf, raw + 1);
    plat_free(file, (size_t)size);
    return rc;
}

/* ---- a session's conversation in a chat ------------------------------------------- */

struct resume {
    struct chat *c;
    char *user;      /* the pending user turn (scratch) */
    size_t cap;
    int have_user, full;
    void (*show)(const char *role, const char *text, void *ctx);
    void *show_ctx;
};

static void resume_turn(const struct export_turn *t, void *ctx)
{
    struct resume *r = ctx;
    if (r->full)
        return;
    if (!strcmp(t->role, "user")) {
        str_copy(r->user, r->cap, t->text); /* a user turn without reply is replaced */
        r->have_user = 1;
    } else if (!strcmp(t->role, "assistant") && r->have_user) {
        if (chat_add_exchange(r->c, r->user, t->text, strlen(t->text))) {
            r->full = 1;
            return;
        }
        r->have_user = 0;
        if (r->show) {
            r->show("user", r->user, r->show_ctx);
            r->show("assistant", t->text, r->show_ctx);
        }
    }
}

/* The snapshot fields that describe e's model and c's conversation now. */
static int kv_describe(struct kv_snapshot *k, const struct chat *c, const struct engine *e,
                       char *scratch, size_t cap)
{
    const struct model *m = &e->model;
    const char *t = m->w.token_embd.data, *b = m->block;
    size_t n = 4096;
    int len, rc;

    if (t && b && t >= b && t < b + m->block_bytes)
        n = MIN(n, (size_t)(b + m->block_bytes - t));
    memset(k, 0, sizeof *k);
    if ((rc = session_model_sum(e->model_path, t, n, &k->model_sum)) != 0)
        return rc;
    if ((len = chat_render_history(c, scratch, cap)) < 0)
        return len;
    k->model_size = m->file_size;
    k->conv_sum = lz4_xxh32(scratch, (size_t)len, 0);
    k->n_layers = m->cfg.n_layers;
    k->seq_len = m->cfg.seq_len;
    k->kv_dim = model_kv_dim(&m->cfg);
    k->key = e->state.key_cache;
    k->value = e->state.value_cache;
    return 0;
}

int session_resume(int number, struct chat *c, struct engine *e, char *scratch, size_t cap,
                   void (*show)(const char *role, const char *text, void *ctx), void *show_ctx,
                   void (*note)(const char *msg, void *ctx), void *note_ctx, int *ret_from_kv)
{
    static struct kv_snapshot k;
    struct resume r = {c, scratch, cap, 0, 0, show, show_ctx};
    char err[160], msg[220];
    int rc;

    *ret_from_kv = 0;
    chat_reset(c);
    if ((rc = session_read_turns(number, resume_turn, &r, note, note_ctx)) < 0)
        return rc;
    if (r.full) {
        chat_reset(c);
        return ERR_RANGE;
    }
    c->kv_pos = c->n_turns ? -1 : 0; /* as after /model: prefill at the next turn */
    if (!c->n_turns || kv_describe(&k, c, e, scratch, cap) != 0)
        return c->n_turns;
    rc = session_load_kv(number, &k, err, sizeof err);
    if (rc == 0) {
        c->kv_pos = k.pos;
        c->reply_open = k.reply_open;
        str_copy(c->carry, sizeof c->carry, k.carry);
        *ret_from_kv = 1;
    } else if (rc != ERR_NOT_FOUND) {
        fmt_snprintf(msg, sizeof msg,
                     "session_%03d/" SESSION_KV_FILE ": %s; ignored, the conversation is "
                     "prefilled instead", number, err);
        say(note, note_ctx, msg);
    }
    return c->n_turns;
}

int session_save_chat_kv(int number, const struct chat *c, const struct engine *e, int compress,
                         char *scratch, size_t cap)
{
    static struct kv_snapshot k;
    int rc;

    if (c->kv_pos < 0 || !c->n_turns || strlen(c->carry) >= sizeof k.carry)
        return ERR_INVAL;
    if ((rc = kv_describe(&k, c, e, scratch, cap)) != 0)
        return rc;
    k.pos = c->kv_pos;
    k.reply_open = c->reply_open;
    str_copy(k.carry, sizeof k.carry, c->carry);
    return session_save_kv(number, &k, compress);
}

int session_add_chat_turns(struct session *s, const struct chat *c)
{
    size_t at = 0;
    int rc;

    while (at < c->used) { /* chat.h's arena: role byte, text, NUL */
        const char *text = c->arena + at + 1;
        size_t n = strlen(text);
        if ((rc = session_add_turn(s, c->arena[at] == CHAT_USER ? "user" : "assistant", text, n,
                                   0, 0)) != 0)
            return rc;
        at += n + 2;
    }
    return 0;
}
