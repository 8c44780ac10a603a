/* export.c - conversation exports: text, JSON, Markdown, CSV (export.h). */
#include "export.h"

#include "errors.h"
#include "lib.h"

static const char *const ext_names[EXPORT_FORMATS] = {"txt", "json", "md", "csv"};

int export_format_from_name(const char *name, enum export_format *ret)
{
    for (int f = 0; f < EXPORT_FORMATS; f++)
        if (str_casecmp(name, ext_names[f]) == 0) {
            *ret = (enum export_format)f;
            return 0;
        }
    return ERR_NOT_FOUND;
}

const char *export_format_ext(enum export_format f)
{
    return (unsigned)f < EXPORT_FORMATS ? ext_names[f] : "";
}

void export_time(char *buf, size_t cap, uint64_t t, char sep)
{
    /* up to 9999-12-31 23:59:59; later values are not a real clock */
    if (t == 0 || t > 253402300799ULL) {
        if (cap)
            buf[0] = 0;
        return;
    }
    /* days -> civil date (H. Hinnant's days_from_civil inverse) */
    uint64_t days = t / 86400, secs = t % 86400;
    uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1), m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    uint64_t y = yoe + era * 400 + (m <= 2);
    fmt_snprintf(buf, cap, "%04u-%02u-%02u%c%02u:%02u:%02u", (unsigned)y, m, d, sep,
                 (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
}

/* Caller strings go through tb_put_utf8 so every export is valid UTF-8. */
static void put_text(struct textbuf *b, const char *s)
{
    if (s)
        tb_put_utf8(b, s, strlen(s));
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_time(struct json_writer *w, const char *key, uint64_t t)
{
    char buf[24];
    export_time(buf, sizeof buf, t, 'T');
    json_w_key(w, key);
    if (t)
        json_w_uint(w, t);
    else
        json_w_null(w);
    /* "created_s" -> "created" */
    char name[32];
    str_copy(name, sizeof name, key);
    name[strlen(name) - 2] = 0;
    json_w_key(w, name);
    json_w_string(w, buf[0] ? buf : NULL);
}

void export_meta_json(struct json_writer *w, const struct export_meta *m)
{
    json_w_begin_object(w);
    json_w_key(w, "format");
    json_w_string(w, "llm-baremetal session");
    json_w_key(w, "version");
    json_w_int(w, 1);
    json_w_key(w, "session");
    json_w_int(w, m->session);
    json_time(w, "created_s", m->created_s);
    json_time(w, "updated_s", m->updated_s);
    json_w_key(w, "model");
    json_w_begin_object(w);
    json_w_key(w, "file");
    json_w_string(w, m->model_file);
    json_w_key(w, "family");
    json_w_string(w, m->family);
    json_w_key(w, "quantization");
    json_w_string(w, m->quantization);
    json_w_end_object(w);
    json_w_key(w, "sampler");
    json_w_begin_object(w);
    json_w_key(w, "temperature");
    json_w_float(w, m->temperature);
    json_w_key(w, "topp");
    json_w_float(w, m->topp);
    json_w_key(w, "seed");
    json_w_uint(w, m->seed);
    json_w_end_object(w);
    json_w_key(w, "template");
    json_w_string(w, m->template_name);
    json_w_key(w, "turn_count");
    json_w_int(w, m->turns);
    json_w_key(w, "tokens_in");
    json_w_uint(w, m->tokens_in);
    json_w_key(w, "tokens_out");
    json_w_uint(w, m->tokens_out);
    json_w_key(w, "tok_per_s");
    json_w_double(w, m->tok_per_s);
    json_w_key(w, "app_version");
    json_w_string(w, m->app_version);
    json_w_end_object(w);
}

static int write_json(struct textbuf *b, const struct export_meta *m,
                      const struct export_turn *turns, int n)
{
    struct json_writer w;
    json_w_init(&w, b, 1);
    json_w_begin_object(&w);
    json_w_key(&w, "metadata");
    export_meta_json(&w, m);
    json_w_key(&w, "turns");
    json_w_begin_array(&w);
    for (int i = 0; i < n; i++) {
        const struct export_turn *t = &turns[i];
        json_w_begin_object(&w);
        json_w_key(&w, "index");
        json_w_int(&w, i + 1);
        json_w_key(&w, "role");
        json_w_string(&w, t->role);
        json_time(&w, "time_s", t->time_s);
        json_w_key(&w, "tokens");
        json_w_int(&w, t->tokens);
        json_w_key(&w, "tok_per_s");
        json_w_double(&w, t->tok_per_s);
        json_w_key(&w, "text");
        json_w_string(&w, t->text);
        json_w_end_object(&w);
    }
    json_w_end_array(&w);
    json_w_end_object(&w);
    return json_w_finish(&w);
}

/* ---- text and Markdown (one layout, two decorations) -------------------------------- */

/* Starts a metadata line: "Label: " or "- **Label:** ". */
static void label(struct textbuf *b, int md, const char *name)
{
    tb_printf(b, md ? "- **%s:** " : "%s: ", name);
}

static void meta_lines(struct textbuf *b, const struct export_meta *m, int md)
{
    char t[24];
    tb_printf(b, md ? "# Session %d\n\n" : "Session %d\n", m->session);
    label(b, md, "Model");
    put_text(b, m->model_file ? m->model_file : "?");
    if (m->family || m->quantization) {
        tb_puts(b, " (");
        put_text(b, m->family);
        tb_puts(b, m->family && m->quantization ? ", " : "");
        put_text(b, m->quantization);
        tb_puts(b, ")");
    }
    tb_puts(b, "\n");
    if (m->created_s) {
        export_time(t, sizeof t, m->created_s, ' ');
        label(b, md, "Created");
        tb_printf(b, "%s\n", t);
    }
    if (m->updated_s) {
        export_time(t, sizeof t, m->updated_s, ' ');
        label(b, md, "Updated");
        tb_printf(b, "%s\n", t);
    }
    label(b, md, "Sampler");
    tb_printf(b, "temperature %.2f, top-p %.2f, seed %llu\n", (double)m->temperature,
              (double)m->topp, (unsigned long long)m->seed);
    if (m->template_name) {
        label(b, md, "Template");
        put_text(b, m->template_name);
        tb_puts(b, "\n");
    }
    label(b, md, "Turns");
    tb_printf(b, "%d; tokens %llu in, %llu out; %.2f tok/s\n", m->turns,
              (unsigned long long)m->tokens_in, (unsigned long long)m->tokens_out, m->tok_per_s);
    if (m->app_version) {
        label(b, md, "App");
        put_text(b, m->app_version);
        tb_puts(b, "\n");
    }
}

/* "[2] assistant, 2025-01-02 03:04:05, 42 tokens, 12.30 tok/s:" or
 * "## 2. Assistant\n\n*2025-01-02 03:04:05, 42 tokens, 12.30 tok/s*" */
static void turn_heading(struct textbuf *b, int index, const struct export_turn *t, int md)
{
    const char *role = t->role ? t->role : "?";
    char time[24];
    tb_printf(b, md ? "## %d. " : "[%d] ", index);
    if (md && *role >= 'a' && *role <= 'z') {
        char up = (char)(*role - 'a' + 'A');
        tb_put(b, &up, 1);
        role++;
    }
    put_text(b, role);
    tb_puts(b, md ? "\n\n*" : ", ");
    export_time(time, sizeof time, t->time_s, ' ');
    tb_printf(b, "%s%s%d tokens", time, time[0] ? ", " : "", t->tokens);
    if (t->tok_per_s > 0)
        tb_printf(b, ", %.2f tok/s", t->tok_per_s);
    tb_puts(b, md ? "*\n\n" : ":\n");
}

static int write_text(struct textbuf *b, const struct export_meta *m,
                      const struct export_turn *turns, int n, int md)
{
    meta_lines(b, m, md);
    for (int i = 0; i < n; i++) {
        tb_puts(b, "\n");
        turn_heading(b, i + 1, &turns[i], md);
        const char *s = turns[i].text ? turns[i].text : "";
        size_t len = strlen(s);
        tb_put_utf8(b, s, len);
        if (len == 0 || s[len - 1] != '\n')
            tb_puts(b, "\n");
    }
    return tb_status(b);
}

/* ---- CSV (RFC 4180) ------------------------------------------------------------------ */

static void csv_field(struct textbuf *b, const char *s)
{
    s = s ? s : "";
    size_t n = strlen(s), i = 0, run = 0;
    int quote = 0;
    for (size_t k = 0; k < n; k++)
        quote |= s[k] == ',' || s[k] == '"' || s[k] == '\r' || s[k] == '\n';
    if (!quote) {
        tb_put_utf8(b, s, n);
        return;
    }
    tb_puts(b, "\"");
    for (; i < n; i++) {
        if (s[i] != '"')
            continue;
        tb_put_utf8(b, s + run, i + 1 - run);
        tb_puts(b, "\""); /* a quote is doubled */
        run = i + 1;
    }
    tb_put_utf8(b, s + run, n - run);
    tb_puts(b, "\"");
}

static int write_csv(struct textbuf *b, const struct export_turn *turns, int n)
{
    tb_puts(b, "index,role,time,tokens,tokens_per_s,text\r\n");
    for (int i = 0; i < n; i++) {
        const struct export_turn *t = &turns[i];
        char time[24];
        export_time(time, sizeof time, t->time_s, 'T');
        tb_printf(b, "%d,", i + 1);
        csv_field(b, t->role);
        tb_printf(b, ",%s,%d,%.2f,", time, t->tokens, t->tok_per_s);
        csv_field(b, t->text);
        tb_puts(b, "\r\n");
    }
    return tb_status(b);
}

int export_write(struct textbuf *out, enum export_format f, const struct export_meta *m,
                 const struct export_turn *turns, int n)
{
    switch (f) {
    case EXPORT_TXT: return write_text(out, m, turns, n, 0);
    case EXPORT_MD: return write_text(out, m, turns, n, 1);
    case EXPORT_JSON: return write_json(out, m, turns, n);
    case EXPORT_CSV: return write_csv(out, turns, n);
    default: return ERR_INVAL;
    }
}
