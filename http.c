/* http.c - HTTP/1.1 message parsing and formatting: heads, chunked bodies,
 * response heads, URLs, server-sent events. See http.h. */
#include "http.h"

#include "errors.h"
#include "json.h"
#include "lib.h"

/* ---- character classes (RFC 9110 5.6.2, 5.5) ------------------------------------- */
static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_tchar(int c)
{
    return is_digit(c) || is_alpha(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Field values: visible ASCII, space, tab and obs-text; no other controls. */
static int is_field_char(int c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int lower_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive comparison of s[0..n) with the NUL-terminated word. */
static int span_eq_ci(const char *s, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n && word[i]; i++)
        if (lower_ascii((unsigned char)s[i]) != lower_ascii((unsigned char)word[i]))
            return 0;
    return i == n && word[i] == 0;
}

static int is_ows(int c)
{
    return c == ' ' || c == '\t';
}

/* memchr, which lib.h does not provide on the firmware. */
static char *find_byte(const char *s, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == c)
            return (char *)(s + i);
    return NULL;
}

/* ---- names --------------------------------------------------------------------------- */
static const struct {
    const char *name;
    int method;
} methods[] = {
    {"GET", HTTP_GET},       {"HEAD", HTTP_HEAD},       {"POST", HTTP_POST},
    {"PUT", HTTP_PUT},       {"DELETE", HTTP_DELETE},   {"OPTIONS", HTTP_OPTIONS},
    {"PATCH", HTTP_PATCH},
};

const char *http_method_name(int method)
{
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        if (methods[i].method == method)
            return methods[i].name;
    return "-";
}

const char *http_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        {100, "Continue"}, {200, "OK"}, {201, "Created"}, {202, "Accepted"},
        {204, "No Content"}, {206, "Partial Content"}, {301, "Moved Permanently"},
        {302, "Found"}, {304, "Not Modified"}, {400, "Bad Request"}, {401, "Unauthorized"},
        {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
        {408, "Request Timeout"}, {409, "Conflict"}, {411, "Length Required"},
        {413, "Content Too Large"}, {414, "URI Too Long"}, {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"}, {417, "Expectation Failed"}, {422, "Unprocessable Content"},
        {429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
        {503, "Service Unavailable"}, {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < ARRAY_LEN(reasons); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "Unknown";
}

const char *http_header(const struct http_msg *m, const char *name)
{
    for (int i = 0; i < m->n_headers; i++)
        if (str_casecmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}

int http_bearer_token(const struct http_msg *m, const char **ret_token)
{
    const char *v = http_header(m, "Authorization");
    if (!v)
        return ERR_NOT_FOUND;
    size_t scheme = 0;
    while (v[scheme] && !is_ows(v[scheme]))
        scheme++;
    if (!span_eq_ci(v, scheme, "Bearer"))
        return ERR_NOT_FOUND;
    const char *t = v + scheme;
    while (is_ows(*t))
        t++;
    /* token68 (RFC 9110 11.2): letters, digits, -._~+/ then '=' padding */
    size_t n = 0;
    while (t[n] && (is_alpha(t[n]) || is_digit(t[n]) || strchr("-._~+/", t[n])))
        n++;
    while (t[n] == '=')
        n++;
    if (n == 0 || t[n] != 0)
        return ERR_FORMAT;
    *ret_token = t;
    return 0;
}

/* ---- finding the head ------------------------------------------------------------------
 * States: 0 inside a line, 1 just after LF, 2 after LF CR. LF in state 1 or 2
 * is the blank line. A bare CR elsewhere is left for the parser to reject. */
size_t http_head_end(struct http_head_scan *s, const char *data, size_t len)
{
    for (; s->pos < len; s->pos++) {
        char c = data[s->pos];
        if (c == '\n') {
            if (s->state != 0) {
                s->pos++;
                s->state = 0;
                return s->pos;
            }
            s->state = 1;
        } else if (c == '\r' && s->state == 1) {
            s->state = 2;
        } else {
            s->state = 0;
        }
    }
    return 0;
}

/* ---- parsing the head ----------------------------------------------------------------- */
/* Internal verdict: 0 or the status a request gets (400, 431, ...). */
#define BAD 400

/* Cuts the next line out of head[*pos..len): NUL-terminates it (over the
 * LF, or over a CR before it) and returns its start, NULL when there is no
 * complete line. A CR anywhere else, or a NUL, makes the line bad (*bad). */
static char *take_line(char *head, size_t len, size_t *pos, size_t *ret_n, int *bad)
{
    size_t start = *pos, i = start;
    while (i < len && head[i] != '\n')
        i++;
    if (i >= len)
        return NULL;
    size_t n = i - start;
    if (n > 0 && head[i - 1] == '\r')
        n--;
    for (size_t k = start; k < start + n; k++)
        if (head[k] == '\r' || head[k] == 0)
            *bad = 1;
    head[start + n] = 0;
    *pos = i + 1;
    *ret_n = n;
    return head + start;
}

/* "HTTP/1.x": 0 and the minor version, 505 for another HTTP version, 400
 * for anything else. */
static int parse_version(const char *s, size_t n, int *minor)
{
    if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]))
        return BAD;
    if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
        return 505;
    *minor = s[7] - '0';
    return 0;
}

static int parse_method(struct http_msg *m, const char *s, size_t n)
{
    if (n == 0)
        return BAD;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return BAD;
    for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
        if (strlen(methods[i].name) == n && memcmp(methods[i].name, s, n) == 0) {
            m->method = methods[i].method;
            m->method_name = methods[i].name;
            return 0;
        }
    }
    /* known to HTTP but never served here (tunnels, echoing requests) */
    if ((n == 7 && memcmp(s, "CONNECT", 7) == 0) || (n == 5 && memcmp(s, "TRACE", 5) == 0))
        return 405;
    return 501;
}

/* Request target (RFC 9112 3.2): origin form "/p?q", absolute form
 * "http://host/p?q" (reduced to its path), "*" for OPTIONS. */
static int parse_target(struct http_msg *m, char *s, size_t n)
{
    if (n == 0)
        return BAD;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return BAD;
    if (n == 1 && s[0] == '*') {
        if (m->method != HTTP_OPTIONS)
            return BAD;
        m->path = s;
        m->query = s + n; /* the NUL after the target */
        return 0;
    }
    char *path = s;
    if (s[0] != '/') {
        if (n < 8 || !span_eq_ci(s, 7, "http://"))
            return BAD;
        size_t i = 7;
        while (i < n && s[i] != '/' && s[i] != '?')
            i++;
        if (i == 7)
            return BAD; /* no host */
        path = s + i;
    }
    char *q = find_byte(path, '?', (size_t)(s + n - path));
    m->query = s + n;
    if (q) {
        *q = 0;
        m->query = q + 1;
    }
    m->path = path == q || path == s + n ? "/" : path;
    return 0;
}

static int parse_request_line(struct http_msg *m, char *line, size_t n)
{
    char *sp1 = find_byte(line, ' ', n);
    if (!sp1)
        return BAD;
    char *target = sp1 + 1;
    char *sp2 = find_byte(target, ' ', n - (size_t)(target - line));
    if (!sp2)
        return BAD;
    char *version = sp2 + 1;
    int rc;
    if ((rc = parse_version(version, n - (size_t)(version - line), &m->minor)) != 0)
        return rc;
    if ((rc = parse_method(m, line, (size_t)(sp1 - line))) != 0)
        return rc;
    *sp1 = 0;
    *sp2 = 0;
    return parse_target(m, target, (size_t)(sp2 - target));
}

static int parse_status_line(struct http_msg *m, char *line, size_t n)
{
    if (n < 12 || line[8] != ' ' || parse_version(line, 8, &m->minor) != 0)
        return BAD;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (!is_digit(line[i]))
            return BAD;
        status = status * 10 + line[i] - '0';
    }
    if (status < 100 || status > 599 || (n > 12 && line[12] != ' '))
        return BAD;
    for (size_t i = 13; i < n; i++)
        if (!is_field_char((unsigned char)line[i]))
            return BAD;
    m->status = status;
    m->reason = n > 12 ? line + 13 : line + n;
    return 0;
}

/* "Name: value" (RFC 9112 5): no space before the colon, no obs-fold. */
static int parse_header_line(struct http_msg *m, char *line, size_t n)
{
    if (is_ows(line[0]))
        return BAD; /* obs-fold: a continuation line */
    char *colon = find_byte(line, ':', n);
    if (!colon || colon == line)
        return BAD;
    for (char *p = line; p < colon; p++)
        if (!is_tchar((unsigned char)*p))
            return BAD;
    char *v = colon + 1, *end = line + n;
    while (v < end && is_ows(*v))
        v++;
    while (end > v && is_ows(end[-1]))
        end--;
    for (char *p = v; p < end; p++)
        if (!is_field_char((unsigned char)*p))
            return BAD;
    if (m->n_headers >= HTTP_MAX_HEADERS)
        return 431;
    *colon = 0;
    *end = 0;
    m->headers[m->n_headers].name = line;
    m->headers[m->n_headers].value = v;
    m->n_headers++;
    return 0;
}

/* 1 if the comma-separated list v holds token (case-insensitive). */
static int list_has(const char *v, const char *token)
{
    while (*v) {
        while (*v == ',' || is_ows(*v))
            v++;
        const char *start = v;
        while (*v && *v != ',')
            v++;
        const char *end = v;
        while (end > start && is_ows(end[-1]))
            end--;
        if (end > start && span_eq_ci(start, (size_t)(end - start), token))
            return 1;
    }
    return 0;
}

/* Decimal Content-Length: digits only (a list "5, 5" is refused). */
static int parse_length(const char *v, int64_t *ret)
{
    int64_t n = 0;
    if (!*v)
        return BAD;
    for (; *v; v++) {
        if (!is_digit(*v) || n > (INT64_MAX - 9) / 10)
            return BAD;
        n = n * 10 + (*v - '0');
    }
    *ret = n;
    return 0;
}

/* The headers that decide framing and the connection (RFC 9112 6, 9). */
static int interpret_headers(struct http_msg *m, int is_request)
{
    int n_te = 0, n_host = 0, conn_close = 0, conn_keep = 0;
    for (int i = 0; i < m->n_headers; i++) {
        const char *name = m->headers[i].name, *v = m->headers[i].value;
        if (str_casecmp(name, "Content-Length") == 0) {
            int64_t len;
            if (parse_length(v, &len) != 0 || (m->content_length >= 0 && len != m->content_length))
                return BAD; /* smuggling risk: refuse rather than guess */
            m->content_length = len;
        } else if (str_casecmp(name, "Transfer-Encoding") == 0) {
            n_te++;
            if (str_casecmp(v, "chunked") == 0)
                m->chunked = 1;
            else if (is_request)
                return 501;
        } else if (str_casecmp(name, "Connection") == 0) {
            conn_close |= list_has(v, "close");
            conn_keep |= list_has(v, "keep-alive");
        } else if (is_request && str_casecmp(name, "Expect") == 0) {
            if (str_casecmp(v, "100-continue") != 0)
                return 417;
            m->expect_continue = 1;
        } else if (str_casecmp(name, "Host") == 0) {
            n_host++;
        }
    }
    m->keep_alive = m->minor >= 1 ? !conn_close : conn_keep && !conn_close;
    if (is_request) {
        if (n_te > 1 || (n_te && m->content_length >= 0) || (n_te && m->minor == 0))
            return BAD;
        if (n_host > 1 || (m->minor >= 1 && n_host == 0))
            return BAD;
    } else if (n_te) {
        /* Transfer-Encoding overrides Content-Length; an unknown coding
         * leaves the body delimited by the close (RFC 9112 6.3). */
        m->content_length = -1;
        if (!m->chunked || n_te > 1) {
            m->chunked = 0;
            m->keep_alive = 0;
        }
    }
    return 0;
}

static int parse_head(char *head, size_t len, struct http_msg *m, int is_request)
{
    memset(m, 0, sizeof *m);
    m->content_length = -1;
    size_t pos = 0, n;
    int bad = 0, rc;
    char *line = take_line(head, len, &pos, &n, &bad);
    if (!line || bad)
        return BAD;
    rc = is_request ? parse_request_line(m, line, n) : parse_status_line(m, line, n);
    if (rc != 0)
        return rc;
    for (;;) {
        line = take_line(head, len, &pos, &n, &bad);
        if (!line || bad)
            return BAD;
        if (n == 0)
            break;
        if ((rc = parse_header_line(m, line, n)) != 0)
            return rc;
    }
    if (pos != len)
        return BAD; /* bytes after the blank line are not part of a head */
    return interpret_headers(m, is_request);
}

int http_parse_request(char *head, size_t len, struct http_msg *m)
{
    return parse_head(head, len, m, 1);
}

int http_parse_response(char *head, size_t len, struct http_msg *m)
{
    int rc = parse_head(head, len, m, 0);
    return rc == 0 ? 0 : rc == 431 ? ERR_RANGE : ERR_FORMAT;
}

/* ---- chunked transfer coding ------------------------------------------------------------ */
#define CHUNK_LINE_MAX 1024    /* size line with extensions */
#define CHUNK_TRAILER_MAX 4096 /* all trailer fields */

enum {
    CH_SIZE, CH_SIZE_WS, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF,
    CH_TRAILER, CH_TRAILER_LINE, CH_TRAILER_LF, CH_END_LF, CH_DONE
};

void http_chunked_init(struct http_chunked *c, uint64_t max_total)
{
    memset(c, 0, sizeof *c);
    c->max_total = max_total;
}

int http_chunked_done(const struct http_chunked *c)
{
    return c->state == CH_DONE;
}

/* The size line ended: data next, or the trailer after the last chunk. */
static int chunk_size_done(struct http_chunked *c)
{
    c->line = 0;
    if (c->left == 0) {
        c->state = CH_TRAILER;
        return 0;
    }
    if (c->left > c->max_total - c->total)
        return ERR_RANGE;
    c->total += c->left;
    c->state = CH_DATA;
    return 0;
}

/* One byte of framing (everything but chunk data). */
static int chunk_framing_byte(struct http_chunked *c, int b)
{
    if (c->state <= CH_SIZE_LF && ++c->line > CHUNK_LINE_MAX)
        return ERR_FORMAT;
    switch (c->state) {
    case CH_SIZE: {
        int h = hex_value(b);
        if (h >= 0) {
            if (c->left > (UINT64_MAX >> 4))
                return ERR_RANGE;
            c->left = c->left << 4 | (uint64_t)h;
            c->digits++;
            return 0;
        }
        if (c->digits == 0)
            return ERR_FORMAT;
        if (is_ows(b))
            c->state = CH_SIZE_WS;
        else if (b == ';')
            c->state = CH_EXT;
        else if (b == '\r')
            c->state = CH_SIZE_LF;
        else if (b == '\n')
            return chunk_size_done(c);
        else
            return ERR_FORMAT;
        return 0;
    }
    case CH_SIZE_WS:
        if (b == ';')
            c->state = CH_EXT;
        else if (b == '\r')
            c->state = CH_SIZE_LF;
        else if (b == '\n')
            return chunk_size_done(c);
        else if (!is_ows(b))
            return ERR_FORMAT;
        return 0;
    case CH_EXT: /* extensions are ignored, but must be text */
        if (b == '\r')
            c->state = CH_SIZE_LF;
        else if (b == '\n')
            return chunk_size_done(c);
        else if (!is_field_char(b))
            return ERR_FORMAT;
        return 0;
    case CH_SIZE_LF:
        return b == '\n' ? chunk_size_done(c) : ERR_FORMAT;
    case CH_DATA_CR:
        if (b == '\r')
            c->state = CH_DATA_LF;
        else if (b == '\n')
            c->state = CH_SIZE;
        else
            return ERR_FORMAT;
        c->digits = 0;
        return 0;
    case CH_DATA_LF:
        if (b != '\n')
            return ERR_FORMAT;
        c->state = CH_SIZE;
        return 0;
    case CH_TRAILER:
        if (b == '\r')
            c->state = CH_END_LF;
        else if (b == '\n')
            c->state = CH_DONE;
        else if (is_field_char(b))
            c->state = CH_TRAILER_LINE;
        else
            return ERR_FORMAT;
        break;
    case CH_TRAILER_LINE: /* trailer fields are read and dropped */
        if (b == '\r')
            c->state = CH_TRAILER_LF;
        else if (b == '\n')
            c->state = CH_TRAILER;
        else if (!is_field_char(b))
            return ERR_FORMAT;
        break;
    case CH_TRAILER_LF:
        if (b != '\n')
            return ERR_FORMAT;
        c->state = CH_TRAILER;
        break;
    case CH_END_LF:
        if (b != '\n')
            return ERR_FORMAT;
        c->state = CH_DONE;
        return 0;
    default:
        return ERR_FORMAT;
    }
    return ++c->trailer > CHUNK_TRAILER_MAX ? ERR_RANGE : 0;
}

long http_chunked_feed(struct http_chunked *c, const char *in, size_t len,
                       const char **ret_data, size_t *ret_n)
{
    size_t i = 0;
    *ret_data = in;
    *ret_n = 0;
    while (i < len && c->state != CH_DONE) {
        if (c->state == CH_DATA) {
            size_t n = len - i;
            if (n > c->left)
                n = (size_t)c->left;
            *ret_data = in + i;
            *ret_n = n;
            c->left -= n;
            if (c->left == 0)
                c->state = CH_DATA_CR;
            return (long)(i + n);
        }
        int rc = chunk_framing_byte(c, (unsigned char)in[i]);
        if (rc != 0)
            return rc;
        i++;
    }
    return (long)i;
}

/* ---- writing ------------------------------------------------------------------------------- */
int http_headers_valid(const char *h)
{
    if (!h)
        return 1;
    while (*h) {
        size_t name = 0;
        while (is_tchar((unsigned char)h[name]))
            name++;
        if (name == 0 || h[name] != ':')
            return 0;
        const char *p = h + name + 1;
        for (; *p && *p != '\r'; p++)
            if (!is_field_char((unsigned char)*p))
                return 0;
        if (p[0] != '\r' || p[1] != '\n')
            return 0;
        h = p + 2;
    }
    return 1;
}

void http_write_response_head(struct textbuf *out, int minor, int status, const char *content_type,
                              const char *extra_headers, int64_t content_length, int keep_alive)
{
    tb_printf(out, "HTTP/1.1 %d %s\r\nServer: llm-baremetal\r\n", status, http_reason(status));
    if (content_type)
        tb_printf(out, "Content-Type: %s\r\n", content_type);
    /* 1xx and 204 carry no body and no length (RFC 9110 8.6) */
    int no_body = status < 200 || status == 204;
    if (!no_body && content_length >= 0)
        tb_printf(out, "Content-Length: %lld\r\n", (long long)content_length);
    else if (!no_body && content_length == -1)
        tb_puts(out, "Transfer-Encoding: chunked\r\n");
    if (!keep_alive)
        tb_puts(out, "Connection: close\r\n");
    else if (minor == 0)
        tb_puts(out, "Connection: keep-alive\r\n");
    if (extra_headers)
        tb_puts(out, extra_headers);
    tb_puts(out, "\r\n");
}

/* ---- URLs ---------------------------------------------------------------------------------- */
static int url_fail(int rc, const char *msg, const char **why)
{
    if (why)
        *why = msg;
    return rc;
}

static int url_authority(const char *s, size_t n, struct http_url *u, const char **why)
{
    if (n == 0)
        return url_fail(ERR_FORMAT, "no host name after http://", why);
    if (find_byte(s, '@', n))
        return url_fail(ERR_UNSUPPORTED, "user:password@ in URLs is not supported", why);
    if (s[0] == '[')
        return url_fail(ERR_UNSUPPORTED, "IPv6 addresses are not supported", why);
    const char *colon = find_byte(s, ':', n);
    size_t host_n = colon ? (size_t)(colon - s) : n;
    if (host_n == 0)
        return url_fail(ERR_FORMAT, "no host name after http://", why);
    if (host_n >= sizeof u->host)
        return url_fail(ERR_RANGE, "host name too long", why);
    for (size_t i = 0; i < host_n; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
            return url_fail(ERR_FORMAT, "invalid character in host name", why);
    memcpy(u->host, s, host_n);
    u->host[host_n] = 0;
    u->port = 80;
    if (colon && host_n + 1 < n) {
        uint32_t port = 0;
        for (size_t i = host_n + 1; i < n; i++) {
            if (!is_digit(s[i]))
                return url_fail(ERR_FORMAT, "port is not a number", why);
            port = port * 10 + (uint32_t)(s[i] - '0');
            if (port > 65535)
                return url_fail(ERR_RANGE, "port out of range (1-65535)", why);
        }
        if (port == 0)
            return url_fail(ERR_RANGE, "port out of range (1-65535)", why);
        u->port = (uint16_t)port;
    }
    if (u->port == 80)
        str_copy(u->authority, sizeof u->authority, u->host);
    else
        fmt_snprintf(u->authority, sizeof u->authority, "%s:%u", u->host, (unsigned)u->port);
    return 0;
}

int http_parse_url(const char *url, struct http_url *ret_url, const char **why)
{
    struct http_url u;
    size_t scheme = 0;
    while (is_alpha(url[scheme]) || is_digit(url[scheme]) || url[scheme] == '+' ||
           url[scheme] == '-' || url[scheme] == '.')
        scheme++;
    if (scheme == 0 || memcmp(url + scheme, "://", 3) != 0)
        return url_fail(ERR_FORMAT, "expected a URL like http://host:port/path", why);
    if (span_eq_ci(url, scheme, "https"))
        return url_fail(ERR_UNSUPPORTED, "https:// is not supported (no TLS here): use http://", why);
    if (!span_eq_ci(url, scheme, "http"))
        return url_fail(ERR_UNSUPPORTED, "only http:// URLs are supported", why);
    const char *auth = url + scheme + 3, *p = auth;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    int rc = url_authority(auth, (size_t)(p - auth), &u, why);
    if (rc != 0)
        return rc;
    size_t n = 0;
    if (*p != '/')
        u.path[n++] = '/';
    for (; *p && *p != '#'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return url_fail(ERR_FORMAT, "spaces and control or non-ASCII characters in the path must be %-encoded", why);
        if (n + 1 >= sizeof u.path)
            return url_fail(ERR_RANGE, "path too long", why);
        u.path[n++] = *p;
    }
    u.path[n] = 0;
    *ret_url = u;
    return 0;
}

/* ---- server-sent events ---------------------------------------------------------------- */
void http_sse_format(struct textbuf *out, const char *event, const char *data, size_t len)
{
    if (event) {
        size_t n = 0;
        while (event[n] && event[n] != '\r' && event[n] != '\n')
            n++; /* a line break in the name would forge fields */
        tb_puts(out, "event: ");
        tb_put(out, event, n);
        tb_puts(out, "\n");
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\r' && data[i] != '\n')
            continue;
        tb_puts(out, "data: ");
        tb_put(out, data + start, i - start);
        tb_puts(out, "\n");
        if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    tb_puts(out, "\n");
}

void http_sse_init(struct http_sse_parser *p, char *buf, size_t cap,
                   void (*on_event)(void *ctx, const char *event, const char *data, size_t len),
                   void *ctx)
{
    memset(p, 0, sizeof *p);
    p->buf = buf;
    p->cap = cap;
    p->on_event = on_event;
    p->ctx = ctx;
}

static void sse_reset_event(struct http_sse_parser *p)
{
    p->data_len = 0;
    p->event[0] = 0;
    p->has_data = 0;
    p->overflow = 0;
}

/* A blank line: deliver the event (its data without the last \n). */
static int sse_dispatch(struct http_sse_parser *p)
{
    int rc = p->overflow ? ERR_RANGE : 0;
    if (!p->overflow && p->has_data) {
        size_t n = p->data_len - 1;
        p->buf[n] = 0; /* over the final \n: callers may use it as a string */
        p->on_event(p->ctx, p->event[0] ? p->event : "message", p->buf, n);
    }
    sse_reset_event(p);
    return rc;
}

/* A complete line at buf[data_len .. data_len + line_len). */
static int sse_line(struct http_sse_parser *p)
{
    char *line = p->buf + p->data_len;
    size_t n = p->line_len;
    p->line_len = 0;
    if (n == 0)
        return sse_dispatch(p);
    if (p->overflow || line[0] == ':')
        return 0; /* comment, or the rest of a dropped event */
    size_t field = 0;
    while (field < n && line[field] != ':')
        field++;
    size_t v = field < n ? field + 1 : n;
    if (v < n && line[v] == ' ')
        v++;
    if (field == 4 && memcmp(line, "data", 4) == 0) {
        /* the value moves down over "data:"; +1 for \n fits in its place */
        memmove(line, line + v, n - v);
        p->data_len += n - v;
        p->buf[p->data_len++] = '\n';
        p->has_data = 1;
    } else if (field == 5 && memcmp(line, "event", 5) == 0) {
        size_t k = MIN(n - v, sizeof p->event - 1);
        memcpy(p->event, line + v, k);
        p->event[k] = 0;
    }
    return 0; /* id, retry and unknown fields are ignored */
}

int http_sse_feed(struct http_sse_parser *p, const char *data, size_t len)
{
    int rc = 0;
    size_t i = 0;
    if (!p->started && len > 0) {
        p->started = 1;
        if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
            i = 3;
    }
    for (; i < len; i++) {
        char c = data[i];
        if (c == '\n' && p->after_cr) {
            p->after_cr = 0;
            continue;
        }
        p->after_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            if (sse_line(p) != 0)
                rc = ERR_RANGE;
        } else if (p->data_len + p->line_len < p->cap) {
            p->buf[p->data_len + p->line_len++] = c;
        } else {
            p->overflow = 1;
        }
    }
    return rc;
}
