/* http_server.c - connection slots and their state machine. See http_server.h.
 *
 * Each slot owns one block: rx (request head + body + pipelined bytes) and
 * tx (queued response bytes). A request is parsed in place in rx, so it
 * stays put until its response is complete; only then are pipelined bytes
 * moved to the front for the next request. The next request is read only
 * once the previous response has been handed to the stream completely,
 * which keeps responses in order and gives http_respond the whole of tx.
 */
#include "http_server.h"

#include "errors.h"
#include "json.h"
#include "lib.h"
#include "platform.h"

enum conn_state {
    C_FREE,    /* slot unused */
    C_HEAD,    /* reading a request head (idle when rx is empty) */
    C_BODY,    /* reading its body */
    C_APP,     /* the application has the request, no response yet */
    C_STREAM,  /* the application is writing a streamed body */
    C_SEND,    /* the whole response is queued: flushing it */
    C_CLOSING  /* flushing a final error response, then close */
};

#define RX_SLACK 2048 /* over head + body: a read's worth of pipelined bytes */
#define CHUNK_FRAME 12 /* "ffffffff\r\n" before a chunk, "\r\n" after */
#define CHUNK_END 5    /* "0\r\n\r\n" */

struct http_conn {
    struct http_server *srv;
    enum conn_state state;
    uint32_t serial;
    struct http_stream st;
    uint8_t *mem;            /* rx then tx, plat_alloc'd, mem_size bytes */
    size_t mem_size;
    /* input */
    char *rx;
    size_t rx_cap, rx_len;
    struct http_head_scan scan;
    size_t head_len;         /* the parsed head at rx */
    size_t body_len;         /* decoded body, right after the head */
    size_t raw_pos;          /* first input byte not yet consumed */
    struct http_chunked chunk;
    struct http_msg req;
    int have_req;            /* req is parsed (for the log) */
    int peer_eof;            /* the client closed its side */
    int n_requests;
    /* output */
    char *tx;
    size_t tx_cap, tx_start, tx_len; /* queued bytes are tx[tx_start..tx_len) */
    int keep_alive;          /* after this response */
    int head_only;           /* HEAD request: no body bytes */
    int chunked_out;         /* streamed body uses chunk frames */
    int status;
    int logged;
    uint64_t bytes_out;
    /* clock */
    uint64_t t_start;        /* first byte of the current request */
    uint64_t t_idle;         /* waiting for a request since */
    uint64_t t_progress;     /* last send progress (or queueing into empty tx) */
};

void http_server_default_cfg(struct http_server_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_conns = 4;
    cfg->max_body = HTTP_DEFAULT_MAX_BODY;
    cfg->tx_buf = 32 * 1024;
    cfg->read_timeout_us = 10000000;
    cfg->idle_timeout_us = 15000000;
    cfg->send_timeout_us = 30000000;
    cfg->max_requests = 100;
}

/* ---- slots ------------------------------------------------------------------------ */
static size_t tx_queued(const struct http_conn *c)
{
    return c->tx_len - c->tx_start;
}

static void conn_reset_request(struct http_conn *c)
{
    memset(&c->scan, 0, sizeof c->scan);
    c->head_len = c->body_len = c->raw_pos = 0;
    c->have_req = c->logged = c->head_only = c->chunked_out = 0;
    c->status = 0;
    c->bytes_out = 0;
    c->state = C_HEAD;
}

static void conn_log(struct http_conn *c, int aborted)
{
    struct http_server *s = c->srv;
    if (c->logged)
        return;
    c->logged = 1;
    if (!s->cfg.log)
        return;
    struct http_log_entry e = {
        .method = c->have_req ? c->req.method_name : "-",
        .path = c->have_req ? c->req.path : "-",
        .status = c->status,
        .bytes = c->bytes_out,
        .duration_us = s->now_us > c->t_start ? s->now_us - c->t_start : 0,
        .aborted = aborted,
    };
    s->cfg.log(s->cfg.ctx, &e);
}

static void conn_close(struct http_conn *c)
{
    c->state = C_FREE;
    if (c->st.close)
        c->st.close(c->st.ctx);
    memset(&c->st, 0, sizeof c->st);
}

/* Drops the connection at once; the application is told if it holds it. */
static void conn_abort(struct http_conn *c)
{
    enum conn_state was = c->state;
    if (c->have_req && was != C_CLOSING)
        conn_log(c, 1);
    /* Closed first: respond calls from on_abort fail, and a connection the
     * application adds from there may take this slot. */
    conn_close(c);
    if ((was == C_APP || was == C_STREAM) && c->srv->cfg.on_abort)
        c->srv->cfg.on_abort(c->srv->cfg.ctx, c);
}

/* ---- output ------------------------------------------------------------------------- */
/* Moves queued bytes to the front so all free space is at the end. */
static void tx_compact(struct http_conn *c)
{
    if (c->tx_start == 0)
        return;
    memmove(c->tx, c->tx + c->tx_start, tx_queued(c));
    c->tx_len -= c->tx_start;
    c->tx_start = 0;
}

static size_t tx_free(const struct http_conn *c)
{
    return c->tx_cap - tx_queued(c);
}

/* The stall clock starts when output appears in an empty queue. */
static void tx_note_queued(struct http_conn *c, size_t before)
{
    if (before == 0 && tx_queued(c) > 0)
        c->t_progress = c->srv->now_us;
}

static void tx_put(struct http_conn *c, const void *data, size_t n)
{
    memcpy(c->tx + c->tx_len, data, n);
    c->tx_len += n;
}

/* Sends what the stream takes. 0, or the stream's error. */
static int conn_flush(struct http_conn *c, int *progress)
{
    while (tx_queued(c) > 0) {
        long n = c->st.send(c->st.ctx, c->tx + c->tx_start, tx_queued(c));
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        if ((size_t)n > tx_queued(c))
            return ERR_INVAL; /* a broken stream must not walk us off tx */
        c->tx_start += (size_t)n;
        c->bytes_out += (uint64_t)n;
        c->t_progress = c->srv->now_us;
        *progress = 1;
    }
    if (c->tx_start == c->tx_len)
        c->tx_start = c->tx_len = 0;
    return 0;
}

/* Formats a head into the free end of tx. 0 or ERR_RANGE (nothing queued). */
static int tx_head(struct http_conn *c, int status, const char *content_type, const char *extra,
                   int64_t content_length)
{
    struct textbuf b;
    tx_compact(c);
    tb_init(&b, c->tx + c->tx_len, c->tx_cap - c->tx_len);
    http_write_response_head(&b, c->req.minor, status, content_type, extra, content_length,
                             c->keep_alive);
    if (b.overflow)
        return ERR_RANGE;
    c->tx_len += b.len;
    return 0;
}

/* An answer the server makes itself (400, 408, 413, ...), then close. */
static void conn_error(struct http_conn *c, int status)
{
    static const char allow[] = "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n";
    char body[64];
    int n = fmt_snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
    size_t before = tx_queued(c);
    c->keep_alive = 0;
    c->status = status;
    if (!c->have_req)
        c->req.minor = 1;
    if (tx_head(c, status, "text/plain", status == 405 ? allow : NULL, n) == 0 &&
        (size_t)n <= c->tx_cap - c->tx_len && !c->head_only)
        tx_put(c, body, (size_t)n);
    tx_note_queued(c, before);
    conn_log(c, 0);
    c->rx_len = 0; /* the rest of the input is drained, not parsed */
    c->state = C_CLOSING;
}

/* ---- input -------------------------------------------------------------------------- */
/* Reads what the stream has. In C_CLOSING input is drained and dropped. */
static void conn_read(struct http_conn *c, int *progress)
{
    if (c->peer_eof)
        return;
    if (c->state == C_CLOSING)
        c->rx_len = 0;
    size_t space = c->rx_cap - c->rx_len;
    if (space == 0)
        return; /* holding a request and pipelined input: the client waits */
    long n = c->st.recv(c->st.ctx, c->rx + c->rx_len, space);
    if (n == 0)
        return;
    if (n > 0 && (size_t)n > space)
        n = ERR_INVAL; /* a broken stream must not walk us off rx */
    if (n > 0) {
        if (c->rx_len == 0 && c->state == C_HEAD)
            c->t_start = c->srv->now_us;
        c->rx_len += (size_t)n;
        *progress = 1;
        return;
    }
    *progress = 1;
    if (n == ERR_EOF) {
        /* Half-closed: requests already received are still answered
         * (conn_poll closes once no complete one is left). */
        c->peer_eof = 1;
        return;
    }
    conn_abort(c);
}

static void conn_dispatch(struct http_conn *c)
{
    struct http_server *s = c->srv;
    c->req.body = (const uint8_t *)c->rx + c->head_len;
    c->req.body_len = c->body_len;
    c->state = C_APP;
    s->requests++;
    int rc = s->cfg.handler ? s->cfg.handler(s->cfg.ctx, c, &c->req) : HTTP_HANDLED;
    if (c->state == C_APP && rc != HTTP_PENDING)
        http_respond(c, 500, "text/plain", "500 Internal Server Error\n", 26);
}

/* A complete head is at rx[0..head_len): check it, set up the body. */
static void conn_start_request(struct http_conn *c)
{
    struct http_server *s = c->srv;
    int status = http_parse_request(c->rx, c->head_len, &c->req);
    if (status != 0) {
        conn_error(c, status);
        return;
    }
    c->have_req = 1;
    c->n_requests++;
    c->head_only = c->req.method == HTTP_HEAD;
    c->keep_alive = c->req.keep_alive && !c->peer_eof && c->n_requests < s->cfg.max_requests;
    if (c->req.content_length > 0 && (uint64_t)c->req.content_length > s->cfg.max_body) {
        conn_error(c, 413);
        return;
    }
    if (c->req.chunked)
        http_chunked_init(&c->chunk, s->cfg.max_body);
    int has_body = c->req.chunked || c->req.content_length > 0;
    if (c->req.expect_continue && has_body && c->req.minor >= 1 && c->rx_len == c->head_len) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        size_t before = tx_queued(c);
        tx_compact(c);
        tx_put(c, cont, sizeof cont - 1);
        tx_note_queued(c, before);
    }
    c->raw_pos = c->head_len;
    c->state = C_BODY;
}

static void conn_read_head(struct http_conn *c)
{
    /* empty lines before a request are ignored (RFC 9112 2.2) */
    if (c->scan.pos == 0) {
        size_t k = 0;
        while (k < c->rx_len && (c->rx[k] == '\r' || c->rx[k] == '\n'))
            k++;
        memmove(c->rx, c->rx + k, c->rx_len - k);
        c->rx_len -= k;
        if (c->rx_len == 0)
            return;
    }
    size_t scan_len = MIN(c->rx_len, (size_t)HTTP_MAX_HEAD);
    c->head_len = http_head_end(&c->scan, c->rx, scan_len);
    if (c->head_len > 0) {
        conn_start_request(c);
    } else if (scan_len == HTTP_MAX_HEAD) {
        /* no line end at all: the request line alone is too long */
        size_t k = 0;
        while (k < scan_len && c->rx[k] != '\n')
            k++;
        conn_error(c, k < scan_len ? 431 : 414);
    }
}

/* Decodes chunked input in place: body bytes move down to follow the
 * body so far, framing is dropped. */
static void conn_read_chunked(struct http_conn *c)
{
    while (c->raw_pos < c->rx_len && !http_chunked_done(&c->chunk)) {
        const char *data;
        size_t n;
        long used = http_chunked_feed(&c->chunk, c->rx + c->raw_pos, c->rx_len - c->raw_pos,
                                      &data, &n);
        if (used < 0) {
            conn_error(c, used == ERR_RANGE ? 413 : 400);
            return;
        }
        memmove(c->rx + c->head_len + c->body_len, data, n);
        c->body_len += n;
        c->raw_pos += (size_t)used;
    }
    size_t keep = c->head_len + c->body_len;
    memmove(c->rx + keep, c->rx + c->raw_pos, c->rx_len - c->raw_pos);
    c->rx_len -= c->raw_pos - keep;
    c->raw_pos = keep;
    if (http_chunked_done(&c->chunk))
        conn_dispatch(c);
}

static void conn_read_body(struct http_conn *c)
{
    if (c->req.chunked) {
        conn_read_chunked(c);
        return;
    }
    size_t want = c->req.content_length > 0 ? (size_t)c->req.content_length : 0;
    if (c->rx_len - c->head_len < want)
        return;
    c->body_len = want;
    c->raw_pos = c->head_len + want;
    conn_dispatch(c);
}

/* The response went out: next request (pipelined bytes first) or close. */
static void conn_response_done(struct http_conn *c)
{
    conn_log(c, 0);
    if (!c->keep_alive || (c->peer_eof && c->rx_len == c->raw_pos)) {
        conn_close(c);
        return;
    }
    memmove(c->rx, c->rx + c->raw_pos, c->rx_len - c->raw_pos);
    c->rx_len -= c->raw_pos;
    conn_reset_request(c);
    c->t_idle = c->t_start = c->srv->now_us;
}

/* Time since `since`; 0 if the clock seems to have gone back. */
static uint64_t elapsed(uint64_t now, uint64_t since)
{
    return now > since ? now - since : 0;
}

static void conn_timeouts(struct http_conn *c, uint64_t now)
{
    const struct http_server_cfg *cfg = &c->srv->cfg;
    if (tx_queued(c) > 0 && elapsed(now, c->t_progress) >= cfg->send_timeout_us) {
        conn_abort(c); /* the client stopped reading */
    } else if (c->state == C_HEAD && c->rx_len == 0) {
        if (elapsed(now, c->t_idle) >= cfg->idle_timeout_us)
            conn_close(c);
    } else if ((c->state == C_HEAD || c->state == C_BODY) &&
               elapsed(now, c->t_start) >= cfg->read_timeout_us) {
        conn_error(c, 408);
    }
}

/* One connection, as far as it goes without waiting. */
static void conn_poll(struct http_conn *c, uint64_t now)
{
    for (int round = 0; round < 16 && c->state != C_FREE; round++) {
        int progress = 0;
        if (conn_flush(c, &progress) != 0) {
            conn_abort(c);
            return;
        }
        if (tx_queued(c) == 0 && c->state == C_SEND) {
            conn_response_done(c);
            progress = 1;
        } else if (tx_queued(c) == 0 && c->state == C_CLOSING) {
            conn_close(c);
            return;
        }
        if (c->state == C_FREE)
            return;
        conn_read(c, &progress);
        if (c->state == C_HEAD)
            conn_read_head(c);
        if (c->state == C_BODY)
            conn_read_body(c);
        if (c->peer_eof && (c->state == C_HEAD || c->state == C_BODY)) {
            conn_abort(c); /* nothing more will come: no request to answer */
            return;
        }
        if (!progress)
            break;
    }
    if (c->state != C_FREE)
        conn_timeouts(c, now);
}

/* ---- server --------------------------------------------------------------------------- */
int http_server_init(struct http_server *s, const struct http_server_cfg *cfg)
{
    memset(s, 0, sizeof *s);
    if (cfg->max_conns < 1 || cfg->max_conns > 64 || cfg->max_body > (1u << 30) ||
        cfg->tx_buf < 256 || cfg->tx_buf > (1u << 30) || cfg->max_requests < 1)
        return ERR_INVAL;
    s->cfg = *cfg;
    s->conns = plat_alloc(sizeof *s->conns * (size_t)cfg->max_conns);
    if (!s->conns)
        return ERR_NOMEM;
    size_t rx_cap = HTTP_MAX_HEAD + cfg->max_body + RX_SLACK;
    for (int i = 0; i < cfg->max_conns; i++) {
        struct http_conn *c = &s->conns[i];
        c->srv = s;
        c->mem_size = rx_cap + cfg->tx_buf;
        c->mem = plat_alloc(c->mem_size);
        if (!c->mem) {
            http_server_free(s);
            return ERR_NOMEM;
        }
        c->rx = (char *)c->mem;
        c->rx_cap = rx_cap;
        c->tx = (char *)c->mem + rx_cap;
        c->tx_cap = cfg->tx_buf;
    }
    return 0;
}

void http_server_free(struct http_server *s)
{
    if (!s->conns)
        return;
    for (int i = 0; i < s->cfg.max_conns; i++) {
        struct http_conn *c = &s->conns[i];
        if (c->state != C_FREE)
            conn_abort(c);
        if (c->mem)
            plat_free(c->mem, c->mem_size);
    }
    plat_free(s->conns, sizeof *s->conns * (size_t)s->cfg.max_conns);
    s->conns = NULL;
}

int http_server_add(struct http_server *s, const struct http_stream *st, uint64_t now_us)
{
    s->now_us = now_us;
    for (int i = 0; i < s->cfg.max_conns; i++) {
        struct http_conn *c = &s->conns[i];
        if (c->state != C_FREE)
            continue;
        c->st = *st;
        c->serial = ++s->next_serial;
        c->rx_len = c->tx_start = c->tx_len = 0;
        c->peer_eof = 0;
        c->n_requests = 0;
        memset(&c->req, 0, sizeof c->req);
        conn_reset_request(c);
        c->t_idle = c->t_start = c->t_progress = now_us;
        return 0;
    }
    /* Best effort: one send, whatever fits, then close. */
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\nRetry-After: 1\r\n\r\n";
    s->rejected++;
    st->send(st->ctx, busy, sizeof busy - 1);
    st->close(st->ctx);
    return ERR_AGAIN;
}

void http_server_poll(struct http_server *s, uint64_t now_us)
{
    s->now_us = now_us;
    for (int i = 0; i < s->cfg.max_conns; i++)
        if (s->conns[i].state != C_FREE)
            conn_poll(&s->conns[i], now_us);
}

int http_server_active(const struct http_server *s)
{
    int n = 0;
    for (int i = 0; i < s->cfg.max_conns; i++)
        n += s->conns[i].state != C_FREE;
    return n;
}

uint32_t http_conn_serial(const struct http_conn *c)
{
    return c->serial;
}

/* ---- responses ------------------------------------------------------------------------- */
static int status_ok(int status)
{
    return status >= 200 && status <= 599;
}

int http_respond_ex(struct http_conn *c, int status, const char *content_type,
                    const char *extra_headers, const void *body, size_t len)
{
    if (c->state != C_APP || !status_ok(status) || !http_headers_valid(extra_headers))
        return ERR_INVAL;
    int no_body = status == 204 || status == 304;
    if (no_body)
        len = 0;
    size_t before = tx_queued(c), len0 = c->tx_len;
    if (tx_head(c, status, content_type, extra_headers, (int64_t)len) != 0)
        return ERR_RANGE;
    if (!c->head_only) {
        if (len > c->tx_cap - c->tx_len) {
            c->tx_len = len0;
            return ERR_RANGE;
        }
        tx_put(c, body, len);
    }
    tx_note_queued(c, before);
    c->status = status;
    c->state = C_SEND;
    return 0;
}

int http_respond(struct http_conn *c, int status, const char *content_type,
                 const void *body, size_t len)
{
    return http_respond_ex(c, status, content_type, NULL, body, len);
}

int http_stream_begin(struct http_conn *c, int status, const char *content_type,
                      const char *extra_headers)
{
    if (c->state != C_APP || !status_ok(status) || status == 204 || status == 304 ||
        !http_headers_valid(extra_headers))
        return ERR_INVAL;
    /* HTTP/1.0 has no chunks: the body ends with the connection */
    if (c->req.minor == 0)
        c->keep_alive = 0;
    size_t before = tx_queued(c);
    if (tx_head(c, status, content_type, extra_headers, c->req.minor == 0 ? -2 : -1) != 0)
        return ERR_RANGE;
    tx_note_queued(c, before);
    c->chunked_out = c->req.minor >= 1 && !c->head_only;
    c->status = status;
    c->state = C_STREAM;
    return 0;
}

size_t http_stream_space(const struct http_conn *c)
{
    if (c->state != C_STREAM)
        return 0;
    size_t reserve = c->chunked_out ? CHUNK_FRAME + CHUNK_END : 0;
    size_t free = tx_free(c);
    return free > reserve ? free - reserve : 0;
}

/* Queues data[0..n) (n <= http_stream_space) as one chunk. */
static void stream_put(struct http_conn *c, const void *data, size_t n)
{
    size_t before = tx_queued(c);
    tx_compact(c);
    if (c->chunked_out) {
        char frame[16];
        int k = fmt_snprintf(frame, sizeof frame, "%zx\r\n", n);
        tx_put(c, frame, (size_t)k);
        tx_put(c, data, n);
        tx_put(c, "\r\n", 2);
    } else {
        tx_put(c, data, n);
    }
    tx_note_queued(c, before);
}

long http_stream_write(struct http_conn *c, const void *data, size_t len)
{
    if (c->state != C_STREAM)
        return ERR_INVAL;
    if (c->head_only)
        return (long)MIN(len, (size_t)LONG_MAX); /* HEAD: the body is not sent */
    size_t n = MIN(len, http_stream_space(c));
    n = MIN(n, (size_t)LONG_MAX);
    if (n > 0) /* an empty chunk would end the body */
        stream_put(c, data, n);
    return (long)n;
}

int http_stream_write_all(struct http_conn *c, const void *data, size_t len)
{
    if (c->state != C_STREAM)
        return ERR_INVAL;
    if (c->head_only || len == 0)
        return 0;
    if (len > http_stream_space(c))
        return ERR_AGAIN;
    stream_put(c, data, len);
    return 0;
}

int http_sse_send(struct http_conn *c, const char *event, const char *data, size_t len)
{
    if (c->state != C_STREAM)
        return ERR_INVAL;
    if (c->head_only)
        return 0;
    size_t space = http_stream_space(c);
    if (space == 0)
        return ERR_AGAIN;
    /* Format straight into tx after room for the largest frame header,
     * then slide it down behind the real one: no scratch buffer. */
    size_t gap = c->chunked_out ? CHUNK_FRAME - 2 : 0;
    size_t before = tx_queued(c);
    tx_compact(c);
    char *at = c->tx + c->tx_len + gap;
    struct textbuf b;
    tb_init(&b, at, MIN(space + 1, c->tx_cap - c->tx_len - gap));
    http_sse_format(&b, event, data, len);
    if (b.overflow || b.len > space)
        return ERR_AGAIN;
    if (c->chunked_out) {
        char frame[16];
        int k = fmt_snprintf(frame, sizeof frame, "%zx\r\n", b.len);
        memcpy(c->tx + c->tx_len, frame, (size_t)k);
        memmove(c->tx + c->tx_len + k, at, b.len);
        c->tx_len += (size_t)k + b.len;
        tx_put(c, "\r\n", 2);
    } else {
        c->tx_len += b.len;
    }
    tx_note_queued(c, before);
    return 0;
}

int http_stream_end(struct http_conn *c)
{
    if (c->state != C_STREAM)
        return ERR_INVAL;
    if (c->chunked_out) {
        size_t before = tx_queued(c);
        tx_compact(c);
        tx_put(c, "0\r\n\r\n", CHUNK_END); /* space was reserved */
        tx_note_queued(c, before);
    }
    c->state = C_SEND;
    return 0;
}
