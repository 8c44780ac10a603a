/* http_client.c - one non-blocking request/response exchange. See http_client.h.
 *
 * rx holds the response head until it is parsed; after that it is only a
 * read buffer whose bytes go straight to on_body. tx holds the request head;
 * the request body is sent from the caller's buffer. */
#include "http_client.h"

#include "errors.h"
#include "json.h"
#include "lib.h"
#include "platform.h"

enum { CL_IDLE, CL_HEAD, CL_BODY, CL_DONE };
enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };

#define CLIENT_RX (HTTP_MAX_HEAD + 4096)
#define CLIENT_TX 8192
#define CLIENT_TIMEOUT_US 30000000ull

int http_client_init(struct http_client *c)
{
    memset(c, 0, sizeof *c);
    c->mem_size = CLIENT_RX + CLIENT_TX;
    c->mem = plat_alloc(c->mem_size);
    if (!c->mem)
        return ERR_NOMEM;
    c->rx = c->mem;
    c->rx_cap = CLIENT_RX;
    c->tx = c->mem + CLIENT_RX;
    c->tx_cap = CLIENT_TX;
    return 0;
}

void http_client_free(struct http_client *c)
{
    if (c->mem)
        plat_free(c->mem, c->mem_size);
    memset(c, 0, sizeof *c);
}

static int fail_start(struct http_client *c, int rc, const char *why)
{
    str_copy(c->err, sizeof c->err, why);
    return rc;
}

/* Visible ASCII only: no space or control could end the line early. */
static int is_visible(const char *s, int allow_slash)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || (!allow_slash && *s == '/'))
            return 0;
    return 1;
}

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return 0;
    return 1;
}

int http_client_start(struct http_client *c, const struct http_stream *st,
                      const struct http_client_req *r, uint64_t now_us)
{
    if (!c->mem)
        return ERR_INVAL;
    c->err[0] = 0;
    if (!r->method || !is_token(r->method))
        return fail_start(c, ERR_INVAL, "http: bad method");
    if (!r->path || (r->path[0] != '/' && strcmp(r->path, "*") != 0) || !is_visible(r->path, 1))
        return fail_start(c, ERR_INVAL, "http: the path must start with / and have no spaces");
    if (!r->host || !is_visible(r->host, 0))
        return fail_start(c, ERR_INVAL, "http: bad host");
    if (!http_headers_valid(r->headers))
        return fail_start(c, ERR_INVAL, "http: extra headers must be \"Name: value\\r\\n\" lines");
    struct textbuf b;
    tb_init(&b, c->tx, c->tx_cap);
    tb_printf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: llm-baremetal\r\n", r->method,
              r->path, r->host);
    int has_body = r->body_len > 0 || !strcmp(r->method, "POST") || !strcmp(r->method, "PUT") ||
                   !strcmp(r->method, "PATCH");
    if (has_body)
        tb_printf(&b, "Content-Length: %zu\r\n", r->body_len);
    if (!r->keep_alive)
        tb_puts(&b, "Connection: close\r\n");
    if (r->headers)
        tb_puts(&b, r->headers);
    tb_puts(&b, "\r\n");
    if (b.overflow)
        return fail_start(c, ERR_RANGE, "http: request head too long");
    c->st = *st;
    c->req = *r;
    if (!r->body)
        c->req.body_len = 0;
    c->tx_len = b.len;
    c->tx_pos = c->body_pos = 0;
    c->rx_len = 0;
    memset(&c->scan, 0, sizeof c->scan);
    c->framing = BODY_NONE;
    c->left = c->body_bytes = c->bytes_in = 0;
    c->status = c->rc = c->reusable = 0;
    c->t_last = now_us;
    c->state = CL_HEAD;
    return 0;
}

/* ---- ending ---------------------------------------------------------------------------- */
static int finish(struct http_client *c, int rc)
{
    c->state = CL_DONE;
    c->rc = rc;
    if (c->req.on_done)
        c->req.on_done(c->req.ctx, rc, c->status);
    return rc;
}

static int fail(struct http_client *c, int rc, const char *why)
{
    str_copy(c->err, sizeof c->err, why);
    return finish(c, rc);
}

static int complete(struct http_client *c, int clean_end)
{
    c->reusable = clean_end && c->req.keep_alive && c->resp.keep_alive &&
                  c->framing != BODY_CLOSE && c->tx_pos == c->tx_len &&
                  c->body_pos == c->req.body_len;
    return finish(c, 0);
}

static void deliver(struct http_client *c, const char *data, size_t n)
{
    if (n == 0)
        return;
    c->body_bytes += n;
    if (c->req.on_body)
        c->req.on_body(c->req.ctx, data, n);
}

/* ---- sending -------------------------------------------------------------------------- */
/* Head, then the caller's body. A server may answer early (e.g. 413): the
 * rest of the body is then no longer sent. 0 or the stream's error. */
static int send_request(struct http_client *c)
{
    while (c->tx_pos < c->tx_len || c->body_pos < c->req.body_len) {
        int head = c->tx_pos < c->tx_len;
        const char *p = head ? c->tx + c->tx_pos : (const char *)c->req.body + c->body_pos;
        size_t n = head ? c->tx_len - c->tx_pos : c->req.body_len - c->body_pos;
        long sent = c->st.send(c->st.ctx, p, n);
        if (sent < 0)
            return (int)sent;
        if (sent == 0)
            return 0;
        if ((size_t)sent > n)
            return ERR_INVAL;
        *(head ? &c->tx_pos : &c->body_pos) += (size_t)sent;
    }
    return 0;
}

/* ---- receiving ------------------------------------------------------------------------- */
/* Body bytes of the response (decoded per the framing). Returns ERR_AGAIN
 * while more are expected, or the finished result. */
static int take_body(struct http_client *c, const char *data, size_t n)
{
    switch (c->framing) {
    case BODY_LENGTH: {
        size_t k = n < c->left ? n : (size_t)c->left;
        deliver(c, data, k);
        c->left -= k;
        return c->left == 0 ? complete(c, k == n) : ERR_AGAIN;
    }
    case BODY_CHUNKED:
        while (n > 0 && !http_chunked_done(&c->chunk)) {
            const char *span;
            size_t got;
            long used = http_chunked_feed(&c->chunk, data, n, &span, &got);
            if (used < 0)
                return fail(c, ERR_FORMAT, "http: malformed chunked body from the server");
            deliver(c, span, got);
            data += used;
            n -= (size_t)used;
        }
        return http_chunked_done(&c->chunk) ? complete(c, n == 0) : ERR_AGAIN;
    case BODY_CLOSE:
        deliver(c, data, n);
        return ERR_AGAIN;
    default:
        return complete(c, n == 0);
    }
}

/* Framing of the response body (RFC 9112 6.3). */
static void choose_framing(struct http_client *c)
{
    const struct http_msg *m = &c->resp;
    if (!strcmp(c->req.method, "HEAD") || m->status == 204 || m->status == 304) {
        c->framing = BODY_NONE;
    } else if (m->chunked) {
        c->framing = BODY_CHUNKED;
        http_chunked_init(&c->chunk, UINT64_MAX);
    } else if (m->content_length >= 0) {
        c->framing = m->content_length > 0 ? BODY_LENGTH : BODY_NONE;
        c->left = (uint64_t)m->content_length;
    } else {
        c->framing = BODY_CLOSE;
    }
}

/* Looks for the head in rx; parses it when complete. */
static int take_head(struct http_client *c)
{
    size_t head;
    for (;;) {
        size_t scan_len = MIN(c->rx_len, (size_t)HTTP_MAX_HEAD);
        head = http_head_end(&c->scan, c->rx, scan_len);
        if (head == 0) {
            if (scan_len == HTTP_MAX_HEAD)
                return fail(c, ERR_RANGE, "http: response head over 8 KiB");
            return ERR_AGAIN;
        }
        int rc = http_parse_response(c->rx, head, &c->resp);
        if (rc != 0)
            return fail(c, rc, rc == ERR_RANGE ? "http: too many response headers"
                                               : "http: malformed response head");
        if (c->resp.status >= 200)
            break;
        if (c->resp.status == 101)
            return fail(c, ERR_UNSUPPORTED, "http: the server switched protocols");
        /* 100 Continue, 103 Early Hints: the real answer follows */
        memmove(c->rx, c->rx + head, c->rx_len - head);
        c->rx_len -= head;
        memset(&c->scan, 0, sizeof c->scan);
    }
    c->status = c->resp.status;
    choose_framing(c);
    if (c->req.on_head)
        c->req.on_head(c->req.ctx, &c->resp);
    c->state = CL_BODY;
    /* bytes after the head are the body's start; rx is free after this */
    size_t rest = c->rx_len - head;
    c->rx_len = 0;
    return take_body(c, c->rx + head, rest);
}

/* The server closed its side. */
static int on_eof(struct http_client *c)
{
    char why[160];
    if (c->state == CL_HEAD) {
        return fail(c, ERR_EOF, c->rx_len ? "http: connection closed in the response head"
                                          : "http: connection closed without a response");
    }
    if (c->framing == BODY_CLOSE)
        return complete(c, 0);
    if (c->framing == BODY_LENGTH)
        fmt_snprintf(why, sizeof why, "http: connection closed after %llu of %llu body bytes",
                     (unsigned long long)c->body_bytes,
                     (unsigned long long)(c->body_bytes + c->left));
    else
        fmt_snprintf(why, sizeof why, "http: connection closed in the chunked body (%llu bytes)",
                     (unsigned long long)c->body_bytes);
    return fail(c, ERR_EOF, why);
}

static int receive(struct http_client *c)
{
    for (int round = 0; round < 64; round++) {
        char *at = c->state == CL_HEAD ? c->rx + c->rx_len : c->rx;
        size_t space = c->state == CL_HEAD ? c->rx_cap - c->rx_len : c->rx_cap;
        long n = c->st.recv(c->st.ctx, at, space);
        if (n == 0)
            return ERR_AGAIN;
        if (n == ERR_EOF)
            return on_eof(c);
        if (n < 0 || (size_t)n > space)
            return fail(c, n < 0 ? (int)n : ERR_INVAL, "http: connection failed while reading");
        c->bytes_in += (uint64_t)n;
        int rc;
        if (c->state == CL_HEAD) {
            c->rx_len += (size_t)n;
            rc = take_head(c);
        } else {
            rc = take_body(c, c->rx, (size_t)n);
        }
        if (rc != ERR_AGAIN)
            return rc;
    }
    return ERR_AGAIN;
}

int http_client_poll(struct http_client *c, uint64_t now_us)
{
    if (c->state == CL_DONE)
        return c->rc;
    if (c->state == CL_IDLE)
        return ERR_INVAL;
    /* once the answer has begun the rest of the request is moot */
    int send_rc = c->state == CL_HEAD ? send_request(c) : 0;
    uint64_t before = c->bytes_in;
    int rc = receive(c);
    if (rc != ERR_AGAIN)
        return rc;
    if (send_rc != 0)
        return fail(c, send_rc, "http: connection failed while sending the request");
    if (c->bytes_in != before) {
        c->t_last = now_us;
    } else {
        uint64_t timeout = c->req.timeout_us ? c->req.timeout_us : CLIENT_TIMEOUT_US;
        if (now_us > c->t_last && now_us - c->t_last >= timeout)
            return fail(c, ERR_TIMEOUT, "http: no answer from the server in time");
    }
    return ERR_AGAIN;
}
