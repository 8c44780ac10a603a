/* json.c - text buffers, the JSON writer and the strict JSON reader (json.h). */
#include "json.h"

#include "errors.h"
#include "lib.h"
#include "platform.h"

/* ---- text buffer ------------------------------------------------------------ */

void tb_init(struct textbuf *b, char *buf, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->p = buf;
    b->cap = cap;
    if (cap)
        buf[0] = 0;
}

void tb_init_grow(struct textbuf *b)
{
    memset(b, 0, sizeof *b);
    b->grow = 1;
}

void tb_free(struct textbuf *b)
{
    if (!b->grow)
        return;
    if (b->p)
        plat_free(b->p, b->cap);
    tb_init_grow(b);
}

int tb_status(const struct textbuf *b)
{
    return !b->overflow ? 0 : b->grow ? ERR_NOMEM : ERR_RANGE;
}

/* Room for n more bytes and the NUL: 1, growing if allowed; 0 if not. */
static int tb_reserve(struct textbuf *b, size_t n)
{
    if (b->overflow)
        return 0;
    if (b->cap > b->len && b->cap - b->len > n)
        return 1;
    if (!b->grow || n > ((size_t)1 << 40))
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= n)
        cap *= 2;
    char *p = plat_alloc(cap);
    if (!p)
        return 0;
    if (b->p) {
        memcpy(p, b->p, b->len + 1);
        plat_free(b->p, b->cap);
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void tb_put(struct textbuf *b, const char *s, size_t n)
{
    b->need += n;
    if (!tb_reserve(b, n)) {
        /* keep a clean prefix in a fixed buffer; stop at the first cut */
        if (!b->overflow && b->cap > b->len + 1) {
            size_t k = b->cap - 1 - b->len;
            memcpy(b->p + b->len, s, k);
            b->len += k;
            b->p[b->len] = 0;
        }
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void tb_puts(struct textbuf *b, const char *s)
{
    tb_put(b, s, strlen(s));
}

void tb_printf(struct textbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[128];
    va_start(ap, fmt);
    int n = fmt_vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        tb_put(b, small, (size_t)n);
        return;
    }
    /* long output (a long %s): format straight into the buffer */
    if (!tb_reserve(b, (size_t)n)) {
        tb_put(b, small, sizeof small - 1);
        b->need += (size_t)n - (sizeof small - 1);
        b->overflow = 1;
        return;
    }
    va_start(ap, fmt);
    fmt_vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    b->need += (size_t)n;
}

size_t utf8_seq_len(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    /* utf8_is_text checks overlongs, surrogates and the range for us */
    return len && n >= len && utf8_is_text(s, len) ? len : 0;
}

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */

void tb_put_utf8(struct textbuf *b, const char *s, size_t n)
{
    size_t i = 0, run = 0;
    while (i < n) {
        size_t k = utf8_seq_len(s + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        tb_put(b, s + run, i - run);
        tb_put(b, REPLACEMENT, 3);
        run = ++i;
    }
    tb_put(b, s + run, n - run);
}

/* ---- writer ------------------------------------------------------------------ */

void json_w_init(struct json_writer *w, struct textbuf *out, int pretty)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->pretty = pretty;
    w->first[0] = 1;
}

static void w_newline(struct json_writer *w)
{
    if (!w->pretty)
        return;
    tb_put(w->out, "\n", 1);
    for (int i = 0; i < w->depth; i++)
        tb_put(w->out, "  ", 2);
}

/* Writes the separator before a value; 0 (and err set) if none may go here. */
static int w_value_start(struct json_writer *w)
{
    if (w->err)
        return 0;
    if (w->depth == 0) {
        if (!w->first[0])
            w->err = ERR_INVAL; /* a second top-level value */
        w->first[0] = 0;
    } else if (w->is_obj[w->depth]) {
        if (!w->after_key)
            w->err = ERR_INVAL; /* a value without its key */
        w->after_key = 0;
    } else {
        if (!w->first[w->depth])
            tb_put(w->out, ",", 1);
        w->first[w->depth] = 0;
        w_newline(w);
    }
    return !w->err;
}

static void w_escaped(struct textbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0, run = 0;
    tb_put(b, "\"", 1);
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = utf8_seq_len(s + i, n - i);
        if (k && c >= 0x20 && c != '"' && c != '\\') {
            i += k;
            continue;
        }
        tb_put(b, s + run, i - run);
        run = ++i;
        if (!k) {
            tb_put(b, REPLACEMENT, 3);
            continue;
        }
        char e[7] = {'\\', (char)c, 0};
        switch (c) {
        case '"': case '\\': break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
        }
        tb_puts(b, e);
    }
    tb_put(b, s + run, n - run);
    tb_put(b, "\"", 1);
}

static void w_begin(struct json_writer *w, int obj)
{
    if (!w_value_start(w))
        return;
    if (w->depth >= JSON_MAX_DEPTH) {
        w->err = ERR_INVAL;
        return;
    }
    tb_put(w->out, obj ? "{" : "[", 1);
    w->depth++;
    w->first[w->depth] = 1;
    w->is_obj[w->depth] = (uint8_t)obj;
}

static void w_end(struct json_writer *w, int obj)
{
    if (w->err)
        return;
    if (w->depth == 0 || w->is_obj[w->depth] != obj || w->after_key) {
        w->err = ERR_INVAL;
        return;
    }
    int empty = w->first[w->depth];
    w->depth--;
    if (!empty)
        w_newline(w);
    tb_put(w->out, obj ? "}" : "]", 1);
}

void json_w_begin_object(struct json_writer *w) { w_begin(w, 1); }
void json_w_end_object(struct json_writer *w) { w_end(w, 1); }
void json_w_begin_array(struct json_writer *w) { w_begin(w, 0); }
void json_w_end_array(struct json_writer *w) { w_end(w, 0); }

void json_w_key(struct json_writer *w, const char *key)
{
    if (w->err)
        return;
    if (w->depth == 0 || !w->is_obj[w->depth] || w->after_key || !key) {
        w->err = ERR_INVAL;
        return;
    }
    if (!w->first[w->depth])
        tb_put(w->out, ",", 1);
    w->first[w->depth] = 0;
    w_newline(w);
    w_escaped(w->out, key, strlen(key));
    tb_puts(w->out, w->pretty ? ": " : ":");
    w->after_key = 1;
}

void json_w_string_n(struct json_writer *w, const char *s, size_t n)
{
    if (!s) {
        json_w_null(w);
        return;
    }
    if (w_value_start(w))
        w_escaped(w->out, s, n);
}

void json_w_string(struct json_writer *w, const char *s)
{
    json_w_string_n(w, s, s ? strlen(s) : 0);
}

void json_w_int(struct json_writer *w, int64_t v)
{
    if (w_value_start(w))
        tb_printf(w->out, "%lld", (long long)v);
}

void json_w_uint(struct json_writer *w, uint64_t v)
{
    if (w_value_start(w))
        tb_printf(w->out, "%llu", (unsigned long long)v);
}

/* v with up to sig significant digits, trailing zeros dropped; fmt's %f
 * does the digits (it handles at most 9 decimals and values below 1e18). */
static void w_number(struct json_writer *w, double v, int sig)
{
    if (!w_value_start(w))
        return;
    if (v != v || v - v != 0) { /* NaN, +-inf: JSON has no such numbers */
        tb_puts(w->out, "null");
        return;
    }
    double a = v < 0 ? -v : v, m = a;
    int e10 = 0;
    if (a == 0) {
        tb_puts(w->out, "0");
        return;
    }
    while (m >= 10)
        m /= 10, e10++;
    while (m < 1)
        m *= 10, e10--;
    int expo = a >= 1e15 || a < 1e-3;
    int dec = expo ? sig - 1 : sig - 1 - e10;
    dec = dec < 0 ? 0 : dec > 9 ? 9 : dec;
    char buf[48];
    fmt_snprintf(buf, sizeof buf, "%.*f", dec, expo ? (v < 0 ? -m : m) : v);
    size_t n = strlen(buf);
    if (strchr(buf, '.')) {
        while (buf[n - 1] == '0')
            n--;
        if (buf[n - 1] == '.')
            n--;
    }
    buf[n] = 0;
    if (expo)
        fmt_snprintf(buf + n, sizeof buf - n, "e%d", e10);
    tb_puts(w->out, buf);
}

void json_w_double(struct json_writer *w, double v) { w_number(w, v, 15); }
void json_w_float(struct json_writer *w, float v) { w_number(w, (double)v, 7); }

void json_w_bool(struct json_writer *w, int v)
{
    if (w_value_start(w))
        tb_puts(w->out, v ? "true" : "false");
}

void json_w_null(struct json_writer *w)
{
    if (w_value_start(w))
        tb_puts(w->out, "null");
}

int json_w_finish(struct json_writer *w)
{
    if (!w->err && (w->depth != 0 || w->first[0] || w->after_key))
        w->err = ERR_INVAL;
    if (w->err)
        return w->err;
    if (w->pretty)
        tb_put(w->out, "\n", 1);
    return tb_status(w->out);
}

/* ---- reader ------------------------------------------------------------------ */

struct parser {
    struct json_doc *d;
    const char *s, *name;
    size_t n, pos;
    int depth;
};

static int p_fail(struct parser *p, size_t at, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int p_fail(struct parser *p, size_t at, int rc, const char *fmt, ...)
{
    struct json_doc *d = p->d;
    int k = fmt_snprintf(d->err, sizeof d->err, "%s: byte %zu: ", p->name, at);
    if (k > 0 && (size_t)k < sizeof d->err) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(d->err + k, sizeof d->err - (size_t)k, fmt, ap);
        va_end(ap);
    }
    d->err_offset = at;
    return rc;
}

static void p_ws(struct parser *p)
{
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int p_eof(struct parser *p)
{
    return p_fail(p, p->n, ERR_FORMAT, "unexpected end of input");
}

static int p_tok(struct parser *p, uint32_t type, int *ret)
{
    struct json_doc *d = p->d;
    if (d->n_tok >= d->cap_tok)
        return p_fail(p, p->pos, ERR_RANGE, "more than %d values", d->cap_tok);
    struct json_tok *t = &d->tok[d->n_tok];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->start = (uint32_t)p->pos;
    *ret = d->n_tok++;
    return 0;
}

/* The value of 4 hex digits; -1 if one is not hex, -2 if the input ends
 * first (only hex digits seen). */
static int hex4(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= n)
            return -2;
        char c = s[i];
        int x = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (x < 0)
            return -1;
        v = v * 16 + x;
    }
    return v;
}

/* A string at the opening quote; its token spans the bytes inside the quotes. */
static int p_string(struct parser *p, int *ret)
{
    int rc, t;
    p->pos++;
    if ((rc = p_tok(p, JSON_STRING, &t)) != 0)
        return rc;
    while (p->pos < p->n) {
        const char *s = p->s + p->pos;
        size_t left = p->n - p->pos;
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            p->d->tok[t].end = (uint32_t)p->pos++;
            p->d->tok[t].next = (uint32_t)p->d->n_tok;
            *ret = t;
            return 0;
        }
        if (c < 0x20)
            return p_fail(p, p->pos, ERR_FORMAT, "control character 0x%02x in a string", c);
        if (c != '\\') {
            size_t k = utf8_seq_len(s, left);
            if (!k)
                return p_fail(p, p->pos, ERR_FORMAT, "invalid UTF-8 in a string");
            p->pos += k;
            continue;
        }
        if (left < 2)
            break;
        if (s[1] && strchr("\"\\/bfnrt", s[1])) {
            p->pos += 2;
            continue;
        }
        if (s[1] != 'u')
            return p_fail(p, p->pos, ERR_FORMAT, "invalid escape");
        int u = hex4(s + 2, left - 2);
        if (u < 0)
            return u == -2 ? p_eof(p) : p_fail(p, p->pos, ERR_FORMAT, "invalid \\u escape");
        int lo = left >= 12 && s[6] == '\\' && s[7] == 'u' ? hex4(s + 8, left - 8) : -1;
        if ((u >= 0xd800 && u <= 0xdbff && !(lo >= 0xdc00 && lo <= 0xdfff)) ||
            (u >= 0xdc00 && u <= 0xdfff))
            return p_fail(p, p->pos, ERR_FORMAT, "lone surrogate \\u%04x", (unsigned)u);
        p->pos += u >= 0xd800 && u <= 0xdbff ? 12 : 6;
    }
    return p_eof(p);
}

/* Reads a validated string's unescaped bytes one at a time. */
struct str_cur {
    const char *s;
    size_t pos, end;
    unsigned char pend[4];
    int npend, ipend;
};

static void cur_init(struct str_cur *c, const struct json_doc *d, int v)
{
    memset(c, 0, sizeof *c);
    c->s = d->text;
    c->pos = d->tok[v].start;
    c->end = d->tok[v].end;
}

static int cur_next(struct str_cur *c)
{
    if (c->ipend < c->npend)
        return c->pend[c->ipend++];
    if (c->pos >= c->end)
        return -1;
    unsigned char ch = (unsigned char)c->s[c->pos];
    if (ch != '\\') {
        c->pos++;
        return ch;
    }
    char e = c->s[c->pos + 1];
    c->pos += 2;
    switch (e) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default: return (unsigned char)e; /* " \ / */
    }
    uint32_t cp = (uint32_t)hex4(c->s + c->pos, 4);
    c->pos += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) { /* validated: a low surrogate follows */
        cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)hex4(c->s + c->pos + 2, 4) - 0xdc00);
        c->pos += 6;
    }
    unsigned char *o = c->pend;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp, c->npend = 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6), c->npend = 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12), c->npend = 3;
    } else {
        o[0] = (unsigned char)(0xf0 | cp >> 18), c->npend = 4;
    }
    for (int i = 1; i < c->npend; i++)
        o[i] = (unsigned char)(0x80 | ((cp >> (6 * (c->npend - 1 - i))) & 0x3f));
    c->ipend = 1;
    return o[0];
}

/* Compares string token a with token b (b >= 0) or with the C string key. */
static int str_eq(const struct json_doc *d, int a, int b, const char *key)
{
    struct str_cur x, y;
    cur_init(&x, d, a);
    if (b >= 0)
        cur_init(&y, d, b);
    for (size_t i = 0;; i++) {
        int ca = cur_next(&x);
        int cb = b >= 0 ? cur_next(&y) : key[i] ? (unsigned char)key[i] : -1;
        if (ca != cb)
            return 0;
        if (ca < 0)
            return 1;
    }
}

static int p_value(struct parser *p);

static int p_container(struct parser *p, int obj)
{
    int rc, t;
    if (p->depth >= JSON_MAX_DEPTH)
        return p_fail(p, p->pos, ERR_RANGE, "nested deeper than %d levels", JSON_MAX_DEPTH);
    if ((rc = p_tok(p, obj ? JSON_OBJECT : JSON_ARRAY, &t)) != 0)
        return rc;
    struct json_tok *tok = p->d->tok;
    char close = obj ? '}' : ']';
    p->depth++;
    p->pos++;
    p_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            p_ws(p);
            if (obj) {
                int k;
                if (p->pos >= p->n)
                    return p_eof(p);
                if (p->s[p->pos] != '"')
                    return p_fail(p, p->pos, ERR_FORMAT, "expected a string key");
                size_t at = p->pos;
                if ((rc = p_string(p, &k)) != 0)
                    return rc;
                /* quadratic, but bounded by the token array's capacity */
                for (uint32_t m = 0, prev = (uint32_t)t + 1; m < tok[t].n; m++, prev = tok[prev + 1].next)
                    if (str_eq(p->d, (int)prev, k, NULL))
                        return p_fail(p, at, ERR_FORMAT, "duplicate key");
                p_ws(p);
                if (p->pos >= p->n)
                    return p_eof(p);
                if (p->s[p->pos] != ':')
                    return p_fail(p, p->pos, ERR_FORMAT, "expected ':'");
                p->pos++;
            }
            if ((rc = p_value(p)) != 0)
                return rc;
            tok[t].n++;
            p_ws(p);
            if (p->pos >= p->n)
                return p_eof(p);
            char c = p->s[p->pos++];
            if (c == close)
                break;
            if (c != ',')
                return p_fail(p, p->pos - 1, ERR_FORMAT, "expected ',' or '%c'", close);
        }
    }
    p->depth--;
    tok[t].end = (uint32_t)p->pos;
    tok[t].next = (uint32_t)p->d->n_tok;
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int p_number(struct parser *p)
{
    const char *s = p->s;
    size_t n = p->n, start = p->pos, i = p->pos;
    int rc, t;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && is_digit(s[i])) {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return p_fail(p, start, ERR_FORMAT, "invalid number");
    }
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i]))
            return p_fail(p, start, ERR_FORMAT, "invalid number");
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return p_fail(p, start, ERR_FORMAT, "invalid number");
        while (i < n && is_digit(s[i]))
            i++;
    }
    /* "01", "1.2.3", "1x": say what is wrong instead of "expected ','" */
    if (i < n && (is_digit(s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '+' ||
                  ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
        return p_fail(p, start, ERR_FORMAT, "invalid number");
    if ((rc = p_tok(p, JSON_NUMBER, &t)) != 0)
        return rc;
    p->pos = i;
    p->d->tok[t].end = (uint32_t)i;
    p->d->tok[t].next = (uint32_t)p->d->n_tok;
    return 0;
}

static int p_value(struct parser *p)
{
    static const struct { const char *word; uint32_t type; } lits[] = {
        {"true", JSON_TRUE}, {"false", JSON_FALSE}, {"null", JSON_NULL}};
    p_ws(p);
    if (p->pos >= p->n)
        return p_eof(p);
    char c = p->s[p->pos];
    if (c == '{' || c == '[')
        return p_container(p, c == '{');
    if (c == '"') {
        int t;
        return p_string(p, &t);
    }
    if (c == '-' || is_digit(c))
        return p_number(p);
    for (size_t i = 0; i < ARRAY_LEN(lits); i++) {
        size_t k = strlen(lits[i].word), left = p->n - p->pos;
        if (c != lits[i].word[0])
            continue;
        if (left < k && memcmp(p->s + p->pos, lits[i].word, left) == 0)
            return p_eof(p);
        if (left < k || memcmp(p->s + p->pos, lits[i].word, k) != 0)
            break;
        int t, rc;
        if ((rc = p_tok(p, lits[i].type, &t)) != 0)
            return rc;
        p->pos += k;
        p->d->tok[t].end = (uint32_t)p->pos;
        p->d->tok[t].next = (uint32_t)p->d->n_tok;
        return 0;
    }
    return p_fail(p, p->pos, ERR_FORMAT, "expected a value");
}

int json_parse(struct json_doc *d, const char *name, const char *text, size_t len,
               struct json_tok *tok, int cap)
{
    memset(d, 0, sizeof *d);
    d->text = text;
    d->len = len;
    d->tok = tok;
    d->cap_tok = cap > 0 ? cap : 0;
    struct parser p = {d, text, name ? name : "json", len, 0, 0};
    if (len > JSON_MAX_BYTES)
        return p_fail(&p, 0, ERR_RANGE, "%zu bytes, more than the %u allowed", len,
                      (unsigned)JSON_MAX_BYTES);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.pos = 3;
    p_ws(&p);
    if (p.pos >= len)
        return p_fail(&p, p.pos, ERR_FORMAT, "no JSON value (empty file)");
    int rc = p_value(&p);
    if (rc)
        return rc;
    p_ws(&p);
    if (p.pos < len)
        return p_fail(&p, p.pos, ERR_FORMAT, "unexpected data after the value");
    return 0;
}

/* ---- lookups ----------------------------------------------------------------- */

int json_type(const struct json_doc *d, int v)
{
    return v >= 0 && v < d->n_tok ? (int)d->tok[v].type : -1;
}

int json_len(const struct json_doc *d, int v)
{
    int t = json_type(d, v);
    return t == JSON_ARRAY || t == JSON_OBJECT ? (int)d->tok[v].n : -1;
}

int json_find(const struct json_doc *d, int obj, const char *key)
{
    if (json_type(d, obj) != JSON_OBJECT)
        return -1;
    uint32_t k = (uint32_t)obj + 1;
    for (uint32_t m = 0; m < d->tok[obj].n; m++, k = d->tok[k + 1].next)
        if (str_eq(d, (int)k, -1, key))
            return (int)k + 1;
    return -1;
}

int json_at(const struct json_doc *d, int arr, int i)
{
    if (json_type(d, arr) != JSON_ARRAY || i < 0 || (uint32_t)i >= d->tok[arr].n)
        return -1;
    uint32_t v = (uint32_t)arr + 1;
    while (i-- > 0)
        v = d->tok[v].next;
    return (int)v;
}

/* 0 if v has type t, else ERR_NOT_FOUND (v < 0) or ERR_FORMAT. */
static int want(const struct json_doc *d, int v, int t)
{
    int have = json_type(d, v);
    return have == t ? 0 : have < 0 ? ERR_NOT_FOUND : ERR_FORMAT;
}

int json_string(const struct json_doc *d, int v, char *buf, size_t cap, size_t *ret_len)
{
    int rc = want(d, v, JSON_STRING);
    if (rc)
        return rc;
    struct str_cur c;
    size_t n = 0;
    cur_init(&c, d, v);
    while (cur_next(&c) >= 0)
        n++;
    if (n >= cap)
        return ERR_RANGE;
    cur_init(&c, d, v);
    for (int ch; (ch = cur_next(&c)) >= 0;)
        *buf++ = (char)ch;
    *buf = 0;
    if (ret_len)
        *ret_len = n;
    return 0;
}

/* An integer token as sign and magnitude. */
static int number_mag(const struct json_doc *d, int v, int *neg, uint64_t *mag)
{
    int rc = want(d, v, JSON_NUMBER);
    if (rc)
        return rc;
    const char *s = d->text + d->tok[v].start, *e = d->text + d->tok[v].end;
    *neg = *s == '-';
    s += *neg;
    uint64_t m = 0;
    for (; s < e; s++) {
        if (!is_digit(*s))
            return ERR_FORMAT; /* fraction or exponent */
        unsigned dgt = (unsigned)(*s - '0');
        if (m > (UINT64_MAX - dgt) / 10)
            rc = ERR_RANGE; /* keep scanning: "1e999999..." is still ERR_FORMAT */
        m = m * 10 + dgt;
    }
    *mag = m;
    return rc;
}

int json_int(const struct json_doc *d, int v, int64_t *ret)
{
    int neg, rc;
    uint64_t m;
    if ((rc = number_mag(d, v, &neg, &m)) != 0)
        return rc;
    if (m > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return ERR_RANGE;
    *ret = neg ? (int64_t)(0 - m) : (int64_t)m;
    return 0;
}

int json_u64(const struct json_doc *d, int v, uint64_t *ret)
{
    int neg, rc;
    uint64_t m;
    if ((rc = number_mag(d, v, &neg, &m)) != 0)
        return rc;
    if (neg && m != 0)
        return ERR_RANGE;
    *ret = m;
    return 0;
}

int json_float(const struct json_doc *d, int v, float *ret)
{
    int rc = want(d, v, JSON_NUMBER);
    if (rc)
        return rc;
    char buf[64];
    size_t n = d->tok[v].end - d->tok[v].start;
    if (n >= sizeof buf)
        return ERR_RANGE; /* no metadata number is that long */
    memcpy(buf, d->text + d->tok[v].start, n);
    buf[n] = 0;
    return parse_float(buf, ret);
}

int json_bool(const struct json_doc *d, int v, int *ret)
{
    int t = json_type(d, v);
    if (t != JSON_TRUE && t != JSON_FALSE)
        return t < 0 ? ERR_NOT_FOUND : ERR_FORMAT;
    *ret = t == JSON_TRUE;
    return 0;
}
