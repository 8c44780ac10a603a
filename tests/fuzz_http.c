/* fuzz_http.c - libFuzzer target for the HTTP code (http.c, http_server.c,
 * http_client.c).
 *
 * Every input is used as
 *  1. a request stream to the server, arriving in pieces of pseudo-random
 *     size (seeded from the input) while the output side takes a few bytes
 *     at a time; the application answers at once, later, as a stream, or
 *     not at all, chosen by the request path. Promise: no crash, output
 *     that starts with a status line, the stream closed exactly once, and
 *     no connection left after the timeouts have run out (no hang).
 *  2. a response stream to the client (GET or HEAD): it must finish with a
 *     result within the timeout, deliver no more body bytes than it got,
 *     and call on_done once.
 *  3. plain input to the head parsers, the chunked decoder, the SSE parser,
 *     the URL parser and the header validator.
 * Any broken promise prints why and aborts, so libFuzzer saves the input.
 * Built and run by tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../http.h"
#include "../http_client.h"
#include "../http_server.h"
#include "../lib.h"

#include "fuzz_require.h"

static uint64_t rng;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* ---- a stream over the input --------------------------------------------------------- */
struct fstream {
    const uint8_t *in;
    size_t len, pos;
    int stall;        /* after the input: no bytes forever instead of EOF */
    int closes;
    size_t out_len;   /* bytes the peer "received" */
    char out_head[16];
};

static long f_recv(void *ctx, void *buf, size_t n)
{
    struct fstream *s = ctx;
    REQUIRE(s->closes == 0, "recv after close");
    if (s->pos == s->len)
        return s->stall ? 0 : ERR_EOF;
    if (next_rand() % 4 == 0)
        return 0; /* nothing yet */
    size_t k = 1 + next_rand() % 97;
    k = MIN(k, MIN(n, s->len - s->pos));
    memcpy(buf, s->in + s->pos, k);
    s->pos += k;
    return (long)k;
}

static long f_send(void *ctx, const void *buf, size_t n)
{
    struct fstream *s = ctx;
    REQUIRE(s->closes == 0, "send after close");
    REQUIRE(n > 0, "empty send");
    size_t k = MIN(n, (size_t)(next_rand() % 200));
    for (size_t i = 0; i < k && s->out_len + i < sizeof s->out_head; i++)
        s->out_head[s->out_len + i] = ((const char *)buf)[i];
    s->out_len += k;
    return (long)k;
}

static void f_close(void *ctx)
{
    struct fstream *s = ctx;
    s->closes++;
}

/* ---- the application ---------------------------------------------------------------------- */
struct app {
    struct http_conn *held;
    int mode;   /* 1: answer later, 2: stream */
    int steps;
};

static int app_handler(void *ctx, struct http_conn *c, const struct http_msg *req)
{
    struct app *a = ctx;
    REQUIRE(a->held == NULL, "a second request while one is held");
    REQUIRE(req->path && req->query && req->method_name, "request strings");
    REQUIRE(req->body_len <= 4096, "body over the limit: %zu", req->body_len);
    switch (strlen(req->path) % 5) {
    case 0:
        http_respond(c, 200, "text/plain", req->body, req->body_len);
        return HTTP_HANDLED;
    case 1:
        a->held = c;
        a->mode = 1;
        a->steps = 0;
        return HTTP_PENDING;
    case 2:
        REQUIRE(http_stream_begin(c, 200, "text/event-stream", "X-A: b\r\n") == 0, "stream_begin");
        a->held = c;
        a->mode = 2;
        a->steps = 0;
        return HTTP_PENDING;
    case 3:
        return HTTP_HANDLED; /* no answer: the server says 500 */
    default:
        http_respond_ex(c, 404, NULL, "X-Y: z\r\n", "nope", 4);
        return HTTP_HANDLED;
    }
}

static void app_abort(void *ctx, struct http_conn *c)
{
    struct app *a = ctx;
    REQUIRE(c == a->held, "abort of a connection the app does not hold");
    a->held = NULL;
}

/* One step of "generation" for a held request. */
static void app_step(struct app *a)
{
    static const char token[] = "token with\nnew line";
    struct http_conn *c = a->held;
    if (!c)
        return;
    a->steps++;
    if (a->mode == 1) {
        if (a->steps >= 3) {
            a->held = NULL;
            REQUIRE(http_respond(c, 200, "application/json", "{\"ok\":true}", 11) == 0, "respond later");
        }
        return;
    }
    if (a->steps > 20) {
        a->held = NULL;
        REQUIRE(http_stream_end(c) == 0, "stream_end");
    } else if (a->steps % 2) {
        int rc = http_sse_send(c, NULL, token, sizeof token - 1);
        REQUIRE(rc == 0 || rc == ERR_AGAIN, "sse_send %d", rc);
    } else {
        size_t space = http_stream_space(c);
        long n = http_stream_write(c, token, sizeof token - 1);
        REQUIRE(n >= 0 && (size_t)n <= MAX(space, sizeof token - 1), "stream_write %ld", n);
    }
}

static void fuzz_server(const uint8_t *data, size_t size)
{
    static struct http_server srv;
    struct app a = {0};
    struct http_server_cfg cfg;
    http_server_default_cfg(&cfg);
    cfg.max_conns = 1;
    cfg.max_body = 4096;
    cfg.tx_buf = 512;
    cfg.read_timeout_us = 1000000;
    cfg.idle_timeout_us = 2000000;
    cfg.send_timeout_us = 3000000;
    cfg.max_requests = 8;
    cfg.handler = app_handler;
    cfg.on_abort = app_abort;
    cfg.ctx = &a;
    REQUIRE(http_server_init(&srv, &cfg) == 0, "server init");
    struct fstream fs = {.in = data, .len = size, .stall = (int)(next_rand() % 2)};
    struct http_stream st = {f_recv, f_send, f_close, &fs};
    uint64_t now = 0;
    REQUIRE(http_server_add(&srv, &st, now) == 0, "add");
    int i;
    for (i = 0; i < 4000 && http_server_active(&srv) > 0; i++) {
        now += 50000;
        http_server_poll(&srv, now);
        app_step(&a);
    }
    REQUIRE(http_server_active(&srv) == 0, "connection still open after %d polls", i);
    REQUIRE(fs.closes == 1, "stream closed %d times", fs.closes);
    REQUIRE(a.held == NULL, "the app still holds a connection");
    if (fs.out_len > 0)
        REQUIRE(memcmp(fs.out_head, "HTTP/1.1 ", MIN(fs.out_len, (size_t)9)) == 0,
                "output does not start with a status line");
    http_server_free(&srv);
}

/* ---- the client ------------------------------------------------------------------------------ */
struct cres {
    int done, rc, heads;
    uint64_t body;
};

static void c_head(void *ctx, const struct http_msg *m)
{
    struct cres *r = ctx;
    r->heads++;
    REQUIRE(m->status >= 200 && m->status <= 599, "status %d", m->status);
    for (int i = 0; i < m->n_headers; i++)
        REQUIRE(m->headers[i].name[0] && http_header(m, m->headers[i].name), "header lookup");
}

static void c_body(void *ctx, const void *data, size_t len)
{
    struct cres *r = ctx;
    REQUIRE(data && len > 0, "empty body callback");
    r->body += len;
}

static void c_done(void *ctx, int rc, int status)
{
    struct cres *r = ctx;
    (void)status;
    r->done++;
    r->rc = rc;
}

static void fuzz_client(const uint8_t *data, size_t size)
{
    static struct http_client cl;
    if (!cl.mem)
        REQUIRE(http_client_init(&cl) == 0, "client init");
    struct cres r = {0};
    struct fstream fs = {.in = data, .len = size, .stall = (int)(next_rand() % 2)};
    struct http_stream st = {f_recv, f_send, f_close, &fs};
    int head = next_rand() % 4 == 0;
    struct http_client_req req = {.method = head ? "HEAD" : "POST", .host = "h", .path = "/x",
                                  .body = "body", .body_len = 4, .timeout_us = 1000000,
                                  .on_head = c_head, .on_body = c_body, .on_done = c_done, .ctx = &r};
    REQUIRE(http_client_start(&cl, &st, &req, 0) == 0, "client start");
    int rc = ERR_AGAIN, i;
    uint64_t now = 0;
    for (i = 0; i < 100000 && rc == ERR_AGAIN; i++) {
        now += 10000;
        rc = http_client_poll(&cl, now);
    }
    REQUIRE(rc != ERR_AGAIN, "client still running after %d polls", i);
    REQUIRE(r.done == 1 && r.rc == rc, "on_done %d times, rc %d vs %d", r.done, r.rc, rc);
    REQUIRE(r.body <= size, "more body (%llu) than input (%zu)", (unsigned long long)r.body, size);
    REQUIRE(rc != 0 || r.heads == 1, "success without a head");
    REQUIRE(rc == 0 || cl.err[0], "error without a message");
    REQUIRE(fs.closes == 0, "the client closed the caller's stream");
}

/* ---- plain parsers ---------------------------------------------------------------------------- */
static void sse_event(void *ctx, const char *event, const char *data, size_t len)
{
    size_t *total = ctx;
    REQUIRE(event && strlen(event) < 64, "event name");
    REQUIRE(data[len] == 0, "data not terminated");
    *total += len;
}

static void fuzz_parsers(const uint8_t *data, size_t size)
{
    static char buf[16384];
    size_t n = MIN(size, sizeof buf - 1);
    struct http_msg m;
    memcpy(buf, data, n);
    int st = http_parse_request(buf, n, &m);
    REQUIRE(st == 0 || (st >= 400 && st <= 505), "request status %d", st);
    if (st == 0)
        REQUIRE(m.path && m.query && m.n_headers <= HTTP_MAX_HEADERS, "request fields");
    memcpy(buf, data, n);
    int rc = http_parse_response(buf, n, &m);
    REQUIRE(rc == 0 || rc == ERR_FORMAT || rc == ERR_RANGE, "response rc %d", rc);

    struct http_chunked c;
    http_chunked_init(&c, 1000);
    size_t pos = 0, body = 0;
    while (pos < size && !http_chunked_done(&c)) {
        const char *d;
        size_t k;
        long used = http_chunked_feed(&c, (const char *)data + pos, size - pos, &d, &k);
        if (used < 0) {
            REQUIRE(used == ERR_FORMAT || used == ERR_RANGE, "chunked rc %ld", used);
            break;
        }
        REQUIRE((size_t)used <= size - pos && (used > 0 || http_chunked_done(&c)), "chunked progress");
        REQUIRE(d >= (const char *)data + pos && d + k <= (const char *)data + pos + used, "span");
        body += k;
        pos += (size_t)used;
    }
    REQUIRE(body <= 1000, "chunked body over its limit");

    static char sbuf[256];
    struct http_sse_parser p;
    size_t total = 0;
    http_sse_init(&p, sbuf, sizeof sbuf, sse_event, &total);
    rc = http_sse_feed(&p, (const char *)data, size);
    REQUIRE(rc == 0 || rc == ERR_RANGE, "sse rc %d", rc);
    REQUIRE(total <= size, "sse data grew");

    memcpy(buf, data, n);
    buf[n] = 0;
    struct http_url u;
    const char *why = NULL;
    rc = http_parse_url(buf, &u, &why);
    if (rc == 0)
        REQUIRE(u.path[0] == '/' && u.port > 0 && u.host[0], "url fields");
    else
        REQUIRE(why != NULL, "url error without a message");
    (void)http_headers_valid(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    rng = h | 1;
    fuzz_parsers(data, size);
    fuzz_server(data, size);
    fuzz_client(data, size);
    return 0;
}
