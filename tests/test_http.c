/* test_http.c - HTTP/1.1 parsing (http.c), the server (http_server.c) and
 * the client (http_client.c) over in-memory pipes with a fake clock. */
#include "testlib.h"

#include "../errors.h"
#include "../http.h"
#include "../http_client.h"
#include "../http_server.h"
#include "../json.h"
#include "../lib.h"
#include "memstream.h"

/* ---- parsing -------------------------------------------------------------------------- */
static int parse_req(const char *text, struct http_msg *m)
{
    static char buf[16384];
    size_t n = strlen(text);
    memcpy(buf, text, n);
    return http_parse_request(buf, n, m);
}

TEST(http_parse_request_table)
{
    static const struct {
        const char *text;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
        {"GET /x?y=1 HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.1\nHost: a\n\n", 0},
        {"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 0},
        {"PUT /p HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n", 0},
        {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0},
        {"GET http://h:1/a?b HTTP/1.1\r\nHost: h\r\n\r\n", 0},
        {"DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\n\r\n", 400},                              /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
        {"GET /\r\n\r\n", 400},                                       /* HTTP/0.9 */
        {"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
        {"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 501},
        {"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 405},
        {"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
        {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET a HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},        /* obs-fold */
        {"GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400},                /* bare CR */
        {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417},
        {"GET / HTTP/1.1\r\nHost: a\r\n", 400},                      /* no blank line */
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\nX", 400},                 /* bytes after it */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct http_msg m;
        int got = parse_req(cases[i].text, &m);
        CHECK_MSG(got == cases[i].status, "case %zu: %d, want %d", i, got, cases[i].status);
    }
    /* a NUL inside a header (strlen would stop there) */
    char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    struct http_msg m;
    CHECK_INT(http_parse_request(nul, sizeof nul - 1, &m), 400);
    /* 431 past HTTP_MAX_HEADERS */
    char many[16384] = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < HTTP_MAX_HEADERS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "X-%d: %d\r\n", i, i);
    strcat(many, "\r\n");
    CHECK_INT(parse_req(many, &m), 431);
}

TEST(http_parse_request_fields)
{
    struct http_msg m;
    CHECK_INT(parse_req("POST /v1/chat?stream=1&x=2 HTTP/1.1\r\nhost:  example  \r\n"
                        "CONTENT-LENGTH: 12\r\nConnection: Upgrade, close\r\n"
                        "Authorization: Bearer abc.DEF-1~+/==\r\n\r\n", &m), 0);
    CHECK_INT(m.method, HTTP_POST);
    CHECK_STR(m.method_name, "POST");
    CHECK_STR(m.path, "/v1/chat");
    CHECK_STR(m.query, "stream=1&x=2");
    CHECK_INT(m.minor, 1);
    CHECK_INT(m.content_length, 12);
    CHECK_INT(m.keep_alive, 0);
    CHECK_STR(http_header(&m, "Host"), "example");
    CHECK(http_header(&m, "X-None") == NULL);
    const char *tok = NULL;
    CHECK_INT(http_bearer_token(&m, &tok), 0);
    CHECK_STR(tok, "abc.DEF-1~+/==");

    CHECK_INT(parse_req("GET http://h:1?b=2 HTTP/1.1\r\nHost: h\r\n\r\n", &m), 0);
    CHECK_STR(m.path, "/");
    CHECK_STR(m.query, "b=2");
    CHECK_INT(m.keep_alive, 1);
    CHECK_INT(m.content_length, -1);
    CHECK_INT(http_bearer_token(&m, &tok), ERR_NOT_FOUND);

    CHECK_INT(parse_req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
                        "Authorization: Basic dXNlcg==\r\n\r\n", &m), 0);
    CHECK_INT(m.keep_alive, 1);
    CHECK_INT(http_bearer_token(&m, &tok), ERR_NOT_FOUND);
    CHECK_INT(parse_req("GET / HTTP/1.0\r\n\r\n", &m), 0);
    CHECK_INT(m.keep_alive, 0);
    CHECK_INT(parse_req("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: bearer a b\r\n\r\n", &m), 0);
    CHECK_INT(http_bearer_token(&m, &tok), ERR_FORMAT);
    CHECK_INT(parse_req("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer\r\n\r\n", &m), 0);
    CHECK_INT(http_bearer_token(&m, &tok), ERR_FORMAT);
    CHECK_INT(parse_req("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n", &m), 0);
    CHECK_INT(m.expect_continue, 1);
}

TEST(http_parse_response)
{
    char a[] = "HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nContent-Range: bytes 0-9/99\r\n\r\n";
    struct http_msg m;
    CHECK_INT(http_parse_response(a, sizeof a - 1, &m), 0);
    CHECK_INT(m.status, 206);
    CHECK_STR(m.reason, "Partial Content");
    CHECK_INT(m.content_length, 10);
    CHECK_STR(http_header(&m, "content-range"), "bytes 0-9/99");
    char b[] = "HTTP/1.0 200\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n";
    CHECK_INT(http_parse_response(b, sizeof b - 1, &m), 0);
    CHECK_INT(m.chunked, 1);
    CHECK_INT(m.content_length, -1);
    char c[] = "HTTP/1.1 20 OK\r\n\r\n";
    CHECK_INT(http_parse_response(c, sizeof c - 1, &m), ERR_FORMAT);
    char d[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    CHECK_INT(http_parse_response(d, sizeof d - 1, &m), ERR_FORMAT);
    char e[] = "HTTP/1.1 700 What\r\n\r\n";
    CHECK_INT(http_parse_response(e, sizeof e - 1, &m), ERR_FORMAT);
}

TEST(http_head_end_incremental)
{
    const char *text = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET";
    size_t want = strlen(text) - 3;
    struct http_head_scan s = {0};
    size_t end = 0, n;
    for (n = 1; n <= strlen(text) && !end; n++)
        end = http_head_end(&s, text, n);
    CHECK_INT(end, want);
    CHECK_INT(n - 1, want);
    struct http_head_scan s2 = {0};
    CHECK_INT(http_head_end(&s2, "a\n\n", 3), 3);
    struct http_head_scan s3 = {0};
    CHECK_INT(http_head_end(&s3, "a\r\r\n", 4), 0); /* a bare CR is no blank line */
}

/* ---- chunked ---------------------------------------------------------------------------- */
/* Decodes in[0..len) in pieces of `step` bytes; returns the rc and the body. */
static int dechunk(const char *in, size_t len, size_t step, uint64_t max, char *out,
                   size_t *out_n, size_t *used)
{
    struct http_chunked c;
    http_chunked_init(&c, max);
    size_t pos = 0;
    *out_n = 0;
    while (pos < len && !http_chunked_done(&c)) {
        size_t piece = MIN(step, len - pos), off = 0;
        while (off < piece && !http_chunked_done(&c)) {
            const char *d;
            size_t n;
            long r = http_chunked_feed(&c, in + pos + off, piece - off, &d, &n);
            if (r < 0)
                return (int)r;
            CHECK(r > 0 || n > 0 || off == piece);
            memcpy(out + *out_n, d, n);
            *out_n += n;
            off += (size_t)r;
        }
        pos += off;
    }
    *used = pos;
    return http_chunked_done(&c) ? 0 : ERR_AGAIN;
}

TEST(http_chunked_decode)
{
    static const char in[] = "4\r\nWiki\r\n5;name=\"v\"\r\npedia\r\nE  \r\n in\r\n\r\nchunks.\r\n"
                             "000\r\nTrailer: x\r\n\r\nNEXT";
    const char *want = "Wikipedia in\r\n\r\nchunks.";
    size_t len = sizeof in - 1, n, used;
    char out[256];
    for (size_t step = 1; step <= len; step++) {
        CHECK_INT(dechunk(in, len, step, 1000, out, &n, &used), 0);
        CHECK(n == strlen(want) && memcmp(out, want, n) == 0);
        CHECK_INT(used, len - 4); /* "NEXT" is left for the next message */
    }
    /* a split at every byte boundary, in two feeds */
    for (size_t cut = 0; cut <= len; cut++) {
        struct http_chunked c;
        http_chunked_init(&c, 1000);
        size_t got = 0, pos = 0;
        while (pos < len && !http_chunked_done(&c)) {
            size_t end = pos < cut ? cut : len;
            const char *d;
            size_t k;
            long r = http_chunked_feed(&c, in + pos, end - pos, &d, &k);
            CHECK(r >= 0);
            if (r < 0)
                break;
            memcpy(out + got, d, k);
            got += k;
            pos += (size_t)r;
        }
        CHECK(http_chunked_done(&c) && got == strlen(want) && memcmp(out, want, got) == 0);
    }
    CHECK_INT(dechunk("0\n\n", 3, 1, 10, out, &n, &used), 0); /* bare LF is accepted */
    CHECK_INT(n, 0);
    static const struct {
        const char *in;
        int rc;
    } bad[] = {
        {"g\r\n", ERR_FORMAT},
        {"\r\n", ERR_FORMAT},
        {";x\r\n", ERR_FORMAT},
        {"-1\r\n", ERR_FORMAT},
        {"4\r\nWikiX", ERR_FORMAT},
        {"4\r\nWiki\rX", ERR_FORMAT},
        {"4\rX", ERR_FORMAT},
        {"4 x\r\n", ERR_FORMAT},
        {"4;\x01\r\n", ERR_FORMAT},
        {"0\r\n\rX", ERR_FORMAT},
        {"0\r\nT: \x01\r\n\r\n", ERR_FORMAT},
        {"10000000000000000\r\n", ERR_RANGE},         /* 2^64: overflow */
        {"ffffffffffffffff\r\n", ERR_RANGE},          /* over the limit */
        {"b\r\n", ERR_RANGE},                          /* 11 > 10 */
        {"5\r\n12345\r\n6\r\n", ERR_RANGE},            /* 11 in total */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = dechunk(bad[i].in, strlen(bad[i].in), 1, 10, out, &n, &used);
        CHECK_MSG(rc == bad[i].rc, "bad case %zu: %d", i, rc);
    }
    /* an endless size line or trailer is cut off */
    static char longline[3000];
    memset(longline, '0', sizeof longline);
    CHECK_INT(dechunk(longline, sizeof longline, 7, 10, out, &n, &used), ERR_FORMAT);
    static char trailer[8000];
    memcpy(trailer, "0\r\n", 3);
    memset(trailer + 3, 'a', sizeof trailer - 3);
    CHECK_INT(dechunk(trailer, sizeof trailer, 100, 10, out, &n, &used), ERR_RANGE);
}

/* ---- server fixture ----------------------------------------------------------------------- */
struct fixture {
    struct http_server srv;
    struct tconn *t;
    struct http_conn *held;       /* a deferred or streamed request */
    int handled, aborted;
    int n_log;
    struct {
        char method[16], path[64];
        int status, aborted;
        uint64_t bytes;
    } log[16];
};

static int fx_handler(void *ctx, struct http_conn *c, const struct http_msg *req)
{
    struct fixture *fx = ctx;
    fx->handled++;
    if (!strcmp(req->path, "/echo"))
        return http_respond(c, 200, "text/plain", req->body, req->body_len) == 0 ? HTTP_HANDLED : -1;
    if (!strcmp(req->path, "/hello")) {
        char extra[64];
        snprintf(extra, sizeof extra, "X-Query: %s\r\n", req->query);
        http_respond_ex(c, 200, "text/plain", extra, "hi\n", 3);
        return HTTP_HANDLED;
    }
    if (!strcmp(req->path, "/defer") || !strcmp(req->path, "/held")) {
        fx->held = c;
        return HTTP_PENDING;
    }
    if (!strcmp(req->path, "/stream")) {
        http_stream_begin(c, 200, "text/plain", NULL);
        http_stream_write(c, "hello", 5);
        http_stream_write(c, "", 0);
        http_stream_write(c, " world, 16 bytes", 16);
        http_stream_end(c);
        return HTTP_HANDLED;
    }
    if (!strcmp(req->path, "/noanswer"))
        return HTTP_HANDLED;
    http_respond(c, 404, "text/plain", "not found\n", 10);
    return HTTP_HANDLED;
}

static void fx_abort(void *ctx, struct http_conn *c)
{
    struct fixture *fx = ctx;
    CHECK(c == fx->held);
    fx->held = NULL;
    fx->aborted++;
}

static void fx_log(void *ctx, const struct http_log_entry *e)
{
    struct fixture *fx = ctx;
    if (fx->n_log >= (int)ARRAY_LEN(fx->log))
        return;
    snprintf(fx->log[fx->n_log].method, sizeof fx->log[0].method, "%s", e->method);
    snprintf(fx->log[fx->n_log].path, sizeof fx->log[0].path, "%s", e->path);
    fx->log[fx->n_log].status = e->status;
    fx->log[fx->n_log].aborted = e->aborted;
    fx->log[fx->n_log].bytes = e->bytes;
    fx->n_log++;
}

static struct fixture *fx_new_cfg(const struct http_server_cfg *base)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    struct http_server_cfg cfg = *base;
    cfg.handler = fx_handler;
    cfg.on_abort = fx_abort;
    cfg.log = fx_log;
    cfg.ctx = fx;
    CHECK_INT(http_server_init(&fx->srv, &cfg), 0);
    fx->t = tconn_new();
    struct http_stream st = stream_of(&fx->t->server);
    CHECK_INT(http_server_add(&fx->srv, &st, 0), 0);
    return fx;
}

static struct fixture *fx_new(void)
{
    struct http_server_cfg cfg;
    http_server_default_cfg(&cfg);
    cfg.max_body = 1024;
    return fx_new_cfg(&cfg);
}

static void fx_free(struct fixture *fx)
{
    http_server_free(&fx->srv);
    free(fx->t);
    free(fx);
}

static void fx_poll(struct fixture *fx, uint64_t now)
{
    for (int i = 0; i < 4; i++)
        http_server_poll(&fx->srv, now);
}

/* Sends one request text and returns the server's output. */
static const char *fx_exchange(struct fixture *fx, const char *req)
{
    client_write(fx->t, req, strlen(req));
    fx_poll(fx, 1000);
    return server_output(fx->t);
}

TEST(http_server_basic)
{
    struct fixture *fx = fx_new();
    CHECK_STR(fx_exchange(fx, "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
              "HTTP/1.1 200 OK\r\nServer: llm-baremetal\r\nContent-Type: text/plain\r\n"
              "Content-Length: 3\r\nX-Query: x=1\r\n\r\nhi\n");
    CHECK_STR(fx_exchange(fx, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"),
              "HTTP/1.1 404 Not Found\r\nServer: llm-baremetal\r\nContent-Type: text/plain\r\n"
              "Content-Length: 10\r\n\r\nnot found\n");
    /* HEAD: the length of the body, not the body */
    CHECK_STR(fx_exchange(fx, "HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n"),
              "HTTP/1.1 200 OK\r\nServer: llm-baremetal\r\nContent-Type: text/plain\r\n"
              "Content-Length: 3\r\nX-Query: \r\n\r\n");
    /* no answer from the handler: 500 */
    const char *out = fx_exchange(fx, "GET /noanswer HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(strncmp(out, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    CHECK_INT(fx->n_log, 4);
    CHECK_STR(fx->log[0].method, "GET");
    CHECK_STR(fx->log[0].path, "/hello");
    CHECK_INT(fx->log[0].status, 200);
    CHECK_INT(fx->log[0].bytes, 104);
    CHECK_STR(fx->log[2].method, "HEAD");
    CHECK_INT(fx->log[3].status, 500);
    CHECK_INT(http_server_active(&fx->srv), 1);
    CHECK(!fx->t->server.closed);
    fx_free(fx);
}

/* Sends req to a fresh server; returns the status line's code, checks the close. */
static int error_status(const char *req, size_t len)
{
    struct fixture *fx = fx_new();
    client_write(fx->t, req, len);
    fx_poll(fx, 1000);
    const char *out = server_output(fx->t);
    int status = 0;
    sscanf(out, "HTTP/1.1 %d", &status);
    CHECK_MSG(strstr(out, "Connection: close\r\n") != NULL, "no close in %s", out);
    CHECK(fx->t->server.closed);
    CHECK_INT(http_server_active(&fx->srv), 0);
    CHECK_INT(fx->handled, 0);
    CHECK_INT(fx->n_log, 1);
    CHECK_INT(fx->log[0].status, status);
    fx_free(fx);
    return status;
}

TEST(http_server_errors)
{
    const char *bad = "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n";
    CHECK_INT(error_status(bad, strlen(bad)), 400);
    bad = "BREW / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_INT(error_status(bad, strlen(bad)), 501);
    bad = "CONNECT h:1 HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_INT(error_status(bad, strlen(bad)), 405);
    bad = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    CHECK_INT(error_status(bad, strlen(bad)), 400);
    bad = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    CHECK_INT(error_status(bad, strlen(bad)), 400);
}

TEST(http_server_limits_413_431)
{
    /* Content-Length over max_body (1024): refused before the body is read */
    const char *big = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n";
    CHECK_INT(error_status(big, strlen(big)), 413);
    /* a chunked body that grows past it */
    static char req[8192];
    int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "100\r\n%0256d\r\n", 0);
    CHECK_INT(error_status(req, (size_t)n), 413);
    /* exactly max_body is fine */
    struct fixture *fx = fx_new();
    n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1024\r\n\r\n");
    memset(req + n, 'b', 1024);
    client_write(fx->t, req, (size_t)n + 1024);
    fx_poll(fx, 1000);
    const char *out = server_output(fx->t);
    CHECK(strstr(out, "Content-Length: 1024\r\n\r\nbbbb") != NULL);
    fx_free(fx);
    /* a head over HTTP_MAX_HEAD */
    static char head[HTTP_MAX_HEAD + 200];
    n = snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(head + n, 'x', sizeof head - (size_t)n);
    CHECK_INT(error_status(head, sizeof head), 431);
    /* a request line over it */
    memcpy(head, "GET /", 5);
    memset(head + 5, 'a', sizeof head - 5);
    CHECK_INT(error_status(head, sizeof head), 414);
    /* too many headers */
    n = snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        n += snprintf(head + n, sizeof head - (size_t)n, "X-%d: 1\r\n", i);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    CHECK_INT(error_status(head, (size_t)n), 431);
}

TEST(http_server_timeout_408)
{
    struct http_server_cfg cfg;
    http_server_default_cfg(&cfg);
    cfg.read_timeout_us = 5000000;
    cfg.idle_timeout_us = 7000000;
    struct fixture *fx = fx_new_cfg(&cfg);
    http_server_poll(&fx->srv, 1000000);
    client_write(fx->t, "GET / HTTP/1.1\r\nHo", 18); /* a slow client */
    http_server_poll(&fx->srv, 2000000);
    http_server_poll(&fx->srv, 6999999);
    CHECK_INT(fx->t->s2c.len, 0);
    CHECK(!fx->t->server.closed);
    fx_poll(fx, 7000000); /* 5 s after the first byte */
    const char *out = server_output(fx->t);
    CHECK(strncmp(out, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
    CHECK(strstr(out, "Connection: close\r\n") != NULL);
    CHECK(fx->t->server.closed);
    CHECK_INT(http_server_active(&fx->srv), 0);
    fx_free(fx);

    /* an idle keep-alive connection is closed without a word */
    fx = fx_new_cfg(&cfg);
    client_write(fx->t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", 32);
    fx_poll(fx, 1000000);
    CHECK(strncmp(server_output(fx->t), "HTTP/1.1 200 OK\r\n", 17) == 0);
    fx_poll(fx, 7999999);
    CHECK(!fx->t->server.closed);
    fx_poll(fx, 8000000);
    CHECK(fx->t->server.closed);
    CHECK_INT(fx->t->s2c.len, 0);
    fx_free(fx);

    /* a client that does not read: dropped after send_timeout */
    cfg.send_timeout_us = 3000000;
    fx = fx_new_cfg(&cfg);
    client_write(fx->t, "GET /held HTTP/1.1\r\nHost: a\r\n\r\n", 31);
    fx_poll(fx, 0);
    CHECK(fx->held != NULL);
    fx->t->s2c.len = sizeof fx->t->s2c.buf; /* the pipe is full */
    CHECK_INT(http_stream_begin(fx->held, 200, "text/event-stream", NULL), 0);
    fx_poll(fx, 2999999);
    CHECK(!fx->t->server.closed);
    fx_poll(fx, 3000000);
    CHECK(fx->t->server.closed);
    CHECK_INT(fx->aborted, 1);
    CHECK_INT(fx->n_log, 1);
    CHECK_INT(fx->log[0].aborted, 1);
    fx_free(fx);
}

TEST(http_server_pipelined_keepalive)
{
    struct fixture *fx = fx_new();
    const char *two = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\none"
                      "\r\n" /* a stray CRLF between requests is ignored */
                      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\ntwo\r\n0\r\n\r\n";
    const char *want1 = "HTTP/1.1 200 OK\r\nServer: llm-baremetal\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 3\r\n\r\none";
    const char *want2 = "HTTP/1.1 200 OK\r\nServer: llm-baremetal\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 3\r\n\r\ntwo";
    char both[512];
    snprintf(both, sizeof both, "%s%s", want1, want2);
    CHECK_STR(fx_exchange(fx, two), both);
    CHECK_INT(fx->handled, 2);
    CHECK(!fx->t->server.closed);
    /* the same, one byte per poll */
    for (size_t i = 0; i < strlen(two); i++) {
        client_write(fx->t, two + i, 1);
        http_server_poll(&fx->srv, 2000);
    }
    CHECK_STR(server_output(fx->t), both);
    /* the last request asks to close */
    const char *out = fx_exchange(fx, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    CHECK(strstr(out, "\r\nConnection: close\r\n") != NULL);
    CHECK(fx->t->server.closed);
    CHECK_INT(fx->n_log, 5);
    fx_free(fx);

    /* max_requests: the last allowed one says close */
    struct http_server_cfg cfg;
    http_server_default_cfg(&cfg);
    cfg.max_requests = 2;
    fx = fx_new_cfg(&cfg);
    out = fx_exchange(fx, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
                          "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(strstr(out, "Connection: close") != NULL);
    CHECK_INT(fx->handled, 2);
    CHECK(fx->t->server.closed);
    fx_free(fx);

    /* a client that sends two requests and shuts its side: both answered */
    fx = fx_new();
    client_write(fx->t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n", 64);
    fx->t->c2s.eof = 1;
    fx_poll(fx, 1000);
    out = server_output(fx->t);
    CHECK(strstr(out, "200 OK") != NULL && strstr(out, "404 Not Found") != NULL);
    CHECK(fx->t->server.closed);
    fx_free(fx);
}

TEST(http_server_http10)
{
    struct fixture *fx = fx_new();
    const char *out = fx_exchange(fx, "GET /hello HTTP/1.0\r\n\r\n");
    CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(out, "Connection: close\r\n") != NULL);
    CHECK(fx->t->server.closed);
    fx_free(fx);
    /* keep-alive asked for explicitly */
    fx = fx_new();
    out = fx_exchange(fx, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(strstr(out, "Connection: keep-alive\r\n") != NULL);
    CHECK(!fx->t->server.closed);
    /* a streamed answer to 1.0 has no chunks and ends with the connection */
    out = fx_exchange(fx, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_STR(out, "HTTP/1.1 200 OK\r\nServer: llm-baremetal\r\nContent-Type: text/plain\r\n"
                   "Connection: close\r\n\r\nhello world, 16 bytes");
    CHECK(fx->t->server.closed);
    fx_free(fx);
}

TEST(http_server_deferred)
{
    struct fixture *fx = fx_new();
    CHECK_STR(fx_exchange(fx, "POST /defer HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                              "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"), "");
    CHECK(fx->held != NULL);
    CHECK_INT(fx->handled, 1); /* the pipelined request waits its turn */
    struct http_conn *c = fx->held;
    fx->held = NULL;
    fx_poll(fx, 5000000);
    CHECK_INT(fx->t->s2c.len, 0);
    CHECK_INT(http_respond(c, 201, "application/json", "{}", 2), 0);
    CHECK_INT(http_respond(c, 200, NULL, "", 0), ERR_INVAL); /* answered already */
    fx_poll(fx, 6000000);
    const char *out = server_output(fx->t);
    CHECK(strncmp(out, "HTTP/1.1 201 Created\r\n", 22) == 0);
    const char *second = strstr(out, "\r\n\r\n{}HTTP/1.1 200 OK\r\n");
    CHECK(second != NULL);
    CHECK_INT(fx->handled, 2);
    CHECK_INT(fx->n_log, 2);
    CHECK_INT(fx->log[0].status, 201);
    fx_free(fx);

    /* the client goes away while the answer is pending: on_abort */
    fx = fx_new();
    fx_exchange(fx, "GET /defer HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(fx->held != NULL);
    uint32_t serial = http_conn_serial(fx->held);
    fx->t->server.reset = 1;
    fx_poll(fx, 2000);
    CHECK_INT(fx->aborted, 1);
    CHECK(fx->held == NULL);
    CHECK(fx->t->server.closed);
    CHECK_INT(http_server_active(&fx->srv), 0);
    CHECK_INT(fx->log[0].aborted, 1);
    /* the slot is reused with a new serial */
    struct tconn *t2 = tconn_new();
    struct http_stream st = stream_of(&t2->server);
    CHECK_INT(http_server_add(&fx->srv, &st, 3000), 0);
    client_write(t2, "GET /defer HTTP/1.1\r\nHost: a\r\n\r\n", 32);
    fx_poll(fx, 3000);
    CHECK(fx->held != NULL && http_conn_serial(fx->held) != serial);
    fx_free(fx); /* frees with a held request: on_abort again */
    free(t2);
}

TEST(http_server_stream_chunked)
{
    struct fixture *fx = fx_new();
    CHECK_STR(fx_exchange(fx, "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n"),
              "HTTP/1.1 200 OK\r\nServer: llm-baremetal\r\nContent-Type: text/plain\r\n"
              "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\n world, 16 bytes\r\n0\r\n\r\n");
    /* server-sent events on a held connection */
    fx_exchange(fx, "GET /held HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n");
    struct http_conn *c = fx->held;
    CHECK(c != NULL);
    CHECK_INT(http_stream_write(c, "x", 1), ERR_INVAL); /* not begun */
    CHECK_INT(http_stream_begin(c, 200, "text/event-stream", "Cache-Control: no-cache\r\n"), 0);
    CHECK_INT(http_sse_send(c, NULL, "tok 1", 5), 0);
    CHECK_INT(http_sse_send(c, "done", "a\nb", 3), 0);
    CHECK_INT(http_stream_end(c), 0);
    fx->held = NULL;
    fx_poll(fx, 2000);
    CHECK_STR(server_output(fx->t),
              "HTTP/1.1 200 OK\r\nServer: llm-baremetal\r\nContent-Type: text/event-stream\r\n"
              "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n"
              "d\r\ndata: tok 1\n\n\r\n1d\r\nevent: done\ndata: a\ndata: b\n\n\r\n0\r\n\r\n");
    CHECK(!fx->t->server.closed);
    /* bad extra headers are refused */
    fx_exchange(fx, "GET /held HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(http_respond_ex(fx->held, 200, NULL, "X: a\r\nInjected", "", 0), ERR_INVAL);
    CHECK_INT(http_respond_ex(fx->held, 200, NULL, "X: a\nY: b\r\n", "", 0), ERR_INVAL);
    CHECK_INT(http_respond_ex(fx->held, 200, NULL, "X: a\r\n\r\n", "", 0), ERR_INVAL);
    CHECK_INT(http_respond_ex(fx->held, 99, NULL, NULL, "", 0), ERR_INVAL);
    CHECK_INT(http_respond_ex(fx->held, 204, NULL, "X: a\r\nY-Z: b c\r\n", "ignored", 7), 0);
    fx->held = NULL;
    fx_poll(fx, 3000);
    CHECK_STR(server_output(fx->t), "HTTP/1.1 204 No Content\r\nServer: llm-baremetal\r\n"
                                    "X: a\r\nY-Z: b c\r\n\r\n");
    fx_free(fx);
}

/* Decodes a chunked body that follows a head in text; returns its length. */
static size_t body_of_chunked(const char *text, size_t len, char *out)
{
    const char *body = strstr(text, "\r\n\r\n");
    CHECK(body != NULL);
    if (!body)
        return 0;
    body += 4;
    size_t n, used;
    CHECK_INT(dechunk(body, len - (size_t)(body - text), 1 << 20, UINT64_MAX, out, &n, &used), 0);
    CHECK_INT(used, len - (size_t)(body - text));
    return n;
}

TEST(http_server_backpressure)
{
    struct http_server_cfg cfg;
    http_server_default_cfg(&cfg);
    cfg.tx_buf = 256;
    struct fixture *fx = fx_new_cfg(&cfg);
    fx->t->server.send_limit = 3; /* the network takes a few bytes at a time */
    fx->t->server.out_cap = 50;
    client_write(fx->t, "GET /held HTTP/1.1\r\nHost: a\r\n\r\n", 31);
    fx_poll(fx, 0);
    struct http_conn *c = fx->held;
    CHECK_INT(http_stream_begin(c, 200, "text/plain", NULL), 0);
    static char want[20000], got[20000], wire[40000];
    size_t n_wire = 0;
    for (size_t i = 0; i < sizeof want; i++)
        want[i] = (char)('a' + i % 26);
    size_t sent = 0;
    int partial = 0, rounds = 0, again = 0, continue_wait = 0;
    /* the client reads 7 bytes per round */
    #define DRAIN()                                                     \
        do {                                                            \
            size_t k_ = MIN(fx->t->s2c.len, 7);                         \
            memcpy(wire + n_wire, fx->t->s2c.buf, k_);                  \
            n_wire += k_;                                               \
            memmove(fx->t->s2c.buf, fx->t->s2c.buf + k_, fx->t->s2c.len - k_); \
            fx->t->s2c.len -= k_;                                       \
        } while (0)
    while (sent < sizeof want && rounds++ < 100000) {
        size_t space = http_stream_space(c);
        CHECK(space < cfg.tx_buf);
        if (space == 0) {
            continue_wait++;
        } else if (rounds % 3 == 0) {
            /* all or nothing */
            size_t n = MIN(sizeof want - sent, 40);
            int rc = http_stream_write_all(c, want + sent, n);
            if (rc == ERR_AGAIN) {
                again++;
            } else {
                CHECK_INT(rc, 0);
                sent += n;
            }
        } else {
            long n = http_stream_write(c, want + sent, sizeof want - sent);
            CHECK(n > 0 && (size_t)n <= space);
            sent += (size_t)n;
            partial += sent < sizeof want; /* took only part */
        }
        http_server_poll(&fx->srv, 1000);
        DRAIN();
    }
    CHECK_INT(sent, sizeof want);
    CHECK_MSG(partial > 0 && again > 0, "partial writes %d, write_all refused %d, full %d", partial, again, continue_wait);
    CHECK_INT(http_stream_end(c), 0);
    for (int i = 0; i < 100000 && fx->n_log == 0; i++) {
        http_server_poll(&fx->srv, 2000);
        DRAIN();
    }
    while (fx->t->s2c.len)
        DRAIN();
    #undef DRAIN
    CHECK_INT(fx->n_log, 1);
    CHECK(n_wire < sizeof wire);
    size_t n = body_of_chunked(wire, n_wire, got);
    CHECK(n == sizeof want && memcmp(got, want, n) == 0);
    CHECK_INT(fx->log[0].bytes, n_wire);
    /* respond larger than tx_buf: ERR_RANGE, then a smaller answer */
    fx->t->s2c.len = 0;
    fx_exchange(fx, "GET /held HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(http_respond(fx->held, 200, "text/plain", want, 300), ERR_RANGE);
    CHECK_INT(http_respond(fx->held, 200, "text/plain", want, 30), 0);
    fx_free(fx);
}

TEST(http_server_expect_continue)
{
    struct fixture *fx = fx_new();
    const char *out = fx_exchange(fx, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                      "Content-Length: 4\r\n\r\n");
    CHECK_STR(out, "HTTP/1.1 100 Continue\r\n\r\n");
    out = fx_exchange(fx, "body");
    CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(out, "\r\n\r\nbody") != NULL);
    fx_free(fx);
    /* too large: a final 413 instead of 100 */
    const char *big = "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n";
    CHECK_INT(error_status(big, strlen(big)), 413);
}

TEST(http_server_slots_full)
{
    struct http_server_cfg cfg;
    http_server_default_cfg(&cfg);
    cfg.max_conns = 1;
    struct fixture *fx = fx_new_cfg(&cfg);
    struct tconn *t2 = tconn_new();
    struct http_stream st = stream_of(&t2->server);
    CHECK_INT(http_server_add(&fx->srv, &st, 0), ERR_AGAIN);
    CHECK(strncmp(server_output(t2), "HTTP/1.1 503 ", 13) == 0);
    CHECK(t2->server.closed);
    CHECK_INT(fx->srv.rejected, 1);
    free(t2);
    fx_free(fx);
}

/* ---- client ------------------------------------------------------------------------------- */
struct client_result {
    int status, done, rc, heads;
    char ctype[64];
    char body[40000];
    size_t body_len;
};

static void cr_head(void *ctx, const struct http_msg *m)
{
    struct client_result *r = ctx;
    r->heads++;
    const char *ct = http_header(m, "Content-Type");
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
}

static void cr_body(void *ctx, const void *data, size_t len)
{
    struct client_result *r = ctx;
    CHECK(r->body_len + len <= sizeof r->body);
    if (r->body_len + len <= sizeof r->body) {
        memcpy(r->body + r->body_len, data, len);
        r->body_len += len;
    }
}

static void cr_done(void *ctx, int rc, int status)
{
    struct client_result *r = ctx;
    r->done++;
    r->rc = rc;
    r->status = status;
}

/* Runs a client request against the fixture's server until it ends. */
static int run_client(struct fixture *fx, struct http_client *cl, struct http_client_req *r,
                      struct client_result *res)
{
    memset(res, 0, sizeof *res);
    r->on_head = cr_head;
    r->on_body = cr_body;
    r->on_done = cr_done;
    r->ctx = res;
    struct http_stream st = stream_of(&fx->t->client);
    CHECK_INT(http_client_start(cl, &st, r, 0), 0);
    int rc = ERR_AGAIN;
    for (int i = 0; i < 10000 && rc == ERR_AGAIN; i++) {
        rc = http_client_poll(cl, (uint64_t)i * 1000);
        http_server_poll(&fx->srv, (uint64_t)i * 1000);
    }
    CHECK_INT(res->done, 1);
    CHECK_INT(res->rc, rc);
    return rc;
}

TEST(http_client_against_server)
{
    struct fixture *fx = fx_new();
    struct http_client cl;
    CHECK_INT(http_client_init(&cl), 0);
    struct client_result *res = calloc(1, sizeof *res);
    fx->t->client.send_limit = 7; /* both sides move a few bytes at a time */
    fx->t->server.send_limit = 5;

    struct http_client_req get = {.method = "GET", .host = "a", .path = "/hello?q=1", .keep_alive = 1};
    CHECK_INT(run_client(fx, &cl, &get, res), 0);
    CHECK_INT(res->status, 200);
    CHECK_STR(res->ctype, "text/plain");
    CHECK(res->body_len == 3 && memcmp(res->body, "hi\n", 3) == 0);
    CHECK_INT(cl.reusable, 1);

    /* POST with a body (Content-Length response) */
    static char body[3000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('0' + i % 10);
    struct http_client_req post = {.method = "POST", .host = "a", .path = "/echo",
                                   .headers = "Content-Type: application/json\r\n",
                                   .body = body, .body_len = 1000, .keep_alive = 1};
    CHECK_INT(run_client(fx, &cl, &post, res), 0);
    CHECK_INT(res->status, 200);
    CHECK(res->body_len == 1000 && memcmp(res->body, body, 1000) == 0);

    /* a chunked response */
    struct http_client_req stream = {.method = "GET", .host = "a", .path = "/stream", .keep_alive = 1};
    CHECK_INT(run_client(fx, &cl, &stream, res), 0);
    CHECK_INT(res->body_len, 21);
    CHECK(memcmp(res->body, "hello world, 16 bytes", 21) == 0);
    CHECK_INT(cl.reusable, 1);

    /* 404 is a result, not an error; HEAD has no body */
    struct http_client_req head = {.method = "HEAD", .host = "a", .path = "/x", .keep_alive = 1};
    CHECK_INT(run_client(fx, &cl, &head, res), 0);
    CHECK_INT(res->status, 404);
    CHECK_INT(res->body_len, 0);

    /* too large for the server: 413, then the server closes */
    struct http_client_req big = {.method = "POST", .host = "a", .path = "/echo", .body = body,
                                  .body_len = 2000};
    CHECK_INT(run_client(fx, &cl, &big, res), 0);
    CHECK_INT(res->status, 413);
    CHECK_INT(cl.reusable, 0);
    CHECK(fx->t->server.closed);
    free(res);
    http_client_free(&cl);
    fx_free(fx);
}

TEST(http_client_stream_cut)
{
    /* the server goes away in the middle of a chunked body */
    struct fixture *fx = fx_new();
    struct http_client cl;
    CHECK_INT(http_client_init(&cl), 0);
    struct client_result *res = calloc(1, sizeof *res);
    struct http_client_req r = {.method = "GET", .host = "a", .path = "/held",
                                .on_head = cr_head, .on_body = cr_body, .on_done = cr_done, .ctx = res};
    struct http_stream st = stream_of(&fx->t->client);
    CHECK_INT(http_client_start(&cl, &st, &r, 0), 0);
    for (int i = 0; i < 10 && !fx->held; i++) {
        CHECK_INT(http_client_poll(&cl, 0), ERR_AGAIN);
        http_server_poll(&fx->srv, 0);
    }
    CHECK_INT(http_stream_begin(fx->held, 200, "text/event-stream", NULL), 0);
    CHECK_INT(http_sse_send(fx->held, NULL, "part", 4), 0);
    for (int i = 0; i < 5; i++) {
        http_server_poll(&fx->srv, 0);
        CHECK_INT(http_client_poll(&cl, 0), ERR_AGAIN);
    }
    CHECK_INT(res->heads, 1);
    CHECK_INT(res->body_len, 12);
    http_server_free(&fx->srv); /* aborts the held stream and closes */
    CHECK_INT(fx->aborted, 1);
    CHECK_INT(http_client_poll(&cl, 0), ERR_EOF);
    CHECK_INT(res->rc, ERR_EOF);
    CHECK(strstr(cl.err, "chunked") != NULL);
    CHECK_INT(http_client_poll(&cl, 0), ERR_EOF); /* stays done, on_done once */
    CHECK_INT(res->done, 1);
    free(fx->t);
    free(fx);
    free(res);
    http_client_free(&cl);
}

/* Runs a request against a canned response (written at once, then EOF). */
static int canned(const char *resp, size_t len, int eof, struct client_result *res, char *err,
                  const char *method)
{
    struct tconn *t = tconn_new();
    memcpy(t->s2c.buf, resp, len);
    t->s2c.len = len;
    t->s2c.eof = eof;
    t->client.recv_limit = 3;
    struct http_client cl;
    CHECK_INT(http_client_init(&cl), 0);
    memset(res, 0, sizeof *res);
    struct http_client_req r = {.method = method, .host = "h:8080", .path = "/", .timeout_us = 5000000,
                                .on_head = cr_head, .on_body = cr_body, .on_done = cr_done, .ctx = res};
    struct http_stream st = stream_of(&t->client);
    CHECK_INT(http_client_start(&cl, &st, &r, 0), 0);
    int rc = ERR_AGAIN;
    for (int i = 0; i < 100000 && rc == ERR_AGAIN; i++)
        rc = http_client_poll(&cl, (uint64_t)i * 1000);
    CHECK(strncmp(t->c2s.buf, method, strlen(method)) == 0);
    CHECK(strstr(t->c2s.buf, "\r\nHost: h:8080\r\n") != NULL);
    CHECK(strstr(t->c2s.buf, "\r\nConnection: close\r\n") != NULL);
    snprintf(err, 160, "%s", cl.err);
    http_client_free(&cl);
    free(t);
    return rc;
}

TEST(http_client_responses)
{
    struct client_result *res = calloc(1, sizeof *res);
    char err[160];
    const char *r = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    CHECK_INT(canned(r, strlen(r), 0, res, err, "GET"), 0);
    CHECK(res->status == 200 && res->body_len == 5 && memcmp(res->body, "hello", 5) == 0);
    /* delimited by the close */
    r = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
    CHECK_INT(canned(r, strlen(r), 1, res, err, "GET"), 0);
    CHECK(res->body_len == 13 && memcmp(res->body, "until the end", 13) == 0);
    /* cut short */
    r = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    CHECK_INT(canned(r, strlen(r), 1, res, err, "GET"), ERR_EOF);
    CHECK_STR(err, "http: connection closed after 3 of 10 body bytes");
    CHECK_INT(res->body_len, 3);
    r = "HTTP/1.1 200 OK\r\nContent-Le";
    CHECK_INT(canned(r, strlen(r), 1, res, err, "GET"), ERR_EOF);
    CHECK_INT(res->heads, 0);
    CHECK_INT(canned("", 0, 1, res, err, "GET"), ERR_EOF);
    CHECK_STR(err, "http: connection closed without a response");
    /* silence */
    r = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    CHECK_INT(canned(r, strlen(r), 0, res, err, "GET"), ERR_TIMEOUT);
    /* malformed */
    r = "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n";
    CHECK_INT(canned(r, strlen(r), 1, res, err, "GET"), ERR_FORMAT);
    r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    CHECK_INT(canned(r, strlen(r), 1, res, err, "GET"), ERR_FORMAT);
    r = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    CHECK_INT(canned(r, strlen(r), 1, res, err, "GET"), ERR_UNSUPPORTED);
    static char huge[HTTP_MAX_HEAD + 100];
    int n = snprintf(huge, sizeof huge, "HTTP/1.1 200 OK\r\nX: ");
    memset(huge + n, 'x', sizeof huge - (size_t)n);
    CHECK_INT(canned(huge, sizeof huge, 1, res, err, "GET"), ERR_RANGE);
    /* HEAD and 204: no body whatever the headers say */
    r = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    CHECK_INT(canned(r, strlen(r), 0, res, err, "HEAD"), 0);
    r = "HTTP/1.1 204 No Content\r\n\r\n";
    CHECK_INT(canned(r, strlen(r), 0, res, err, "DELETE"), 0);
    CHECK_INT(res->status, 204);
    free(res);

    /* bad requests never reach the stream */
    struct http_client cl;
    CHECK_INT(http_client_init(&cl), 0);
    struct tconn *t = tconn_new();
    struct http_stream st = stream_of(&t->client);
    struct http_client_req bad[] = {
        {.method = "GE T", .host = "h", .path = "/"},
        {.method = "GET", .host = "h", .path = "x"},
        {.method = "GET", .host = "h", .path = "/a b"},
        {.method = "GET", .host = "h\r\nX: y", .path = "/"},
        {.method = "GET", .host = "h", .path = "/", .headers = "X: y\r\n\r\nGET / HTTP/1.1\r\n"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        CHECK_INT(http_client_start(&cl, &st, &bad[i], 0), ERR_INVAL);
    CHECK_INT(t->c2s.len, 0);
    free(t);
    http_client_free(&cl);
}

/* ---- URLs ------------------------------------------------------------------------------------ */
TEST(http_url_parse)
{
    struct http_url u;
    const char *why = NULL;
    CHECK_INT(http_parse_url("http://example.com/v1/models?x=1#frag", &u, &why), 0);
    CHECK_STR(u.host, "example.com");
    CHECK_INT(u.port, 80);
    CHECK_STR(u.authority, "example.com");
    CHECK_STR(u.path, "/v1/models?x=1");
    CHECK_INT(http_parse_url("HTTP://10.0.2.2:8080", &u, &why), 0);
    CHECK_STR(u.host, "10.0.2.2");
    CHECK_INT(u.port, 8080);
    CHECK_STR(u.authority, "10.0.2.2:8080");
    CHECK_STR(u.path, "/");
    CHECK_INT(http_parse_url("http://h:80?q", &u, &why), 0);
    CHECK_STR(u.authority, "h");
    CHECK_STR(u.path, "/?q");
    CHECK_INT(http_parse_url("http://h:/x", &u, NULL), 0);
    CHECK_INT(u.port, 80);
    static const struct {
        const char *url;
        int rc;
        const char *why_part;
    } bad[] = {
        {"https://huggingface.co/x", ERR_UNSUPPORTED, "https"},
        {"ftp://h/x", ERR_UNSUPPORTED, "only http"},
        {"example.com/x", ERR_FORMAT, "http://host"},
        {"http://", ERR_FORMAT, "no host"},
        {"http:///x", ERR_FORMAT, "no host"},
        {"http://:80/x", ERR_FORMAT, "no host"},
        {"http://user:pw@h/x", ERR_UNSUPPORTED, "user"},
        {"http://[::1]:80/", ERR_UNSUPPORTED, "IPv6"},
        {"http://h:0/", ERR_RANGE, "port"},
        {"http://h:65536/", ERR_RANGE, "port"},
        {"http://h:99999999999999999999/", ERR_RANGE, "port"},
        {"http://h:8x/", ERR_FORMAT, "port"},
        {"http://h a/", ERR_FORMAT, "host"},
        {"http://h/a b", ERR_FORMAT, "encoded"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        why = NULL;
        int rc = http_parse_url(bad[i].url, &u, &why);
        CHECK_MSG(rc == bad[i].rc, "%s: %d", bad[i].url, rc);
        CHECK_MSG(why && strstr(why, bad[i].why_part), "%s: %s", bad[i].url, why ? why : "(null)");
    }
    static char longpath[3000] = "http://h/";
    memset(longpath + 9, 'a', sizeof longpath - 10);
    CHECK_INT(http_parse_url(longpath, &u, NULL), ERR_RANGE);
}

/* ---- server-sent events ---------------------------------------------------------------------- */
struct sse_events {
    int n;
    char event[8][64];
    char data[8][256];
    size_t len[8];
};

static void sse_collect(void *ctx, const char *event, const char *data, size_t len)
{
    struct sse_events *e = ctx;
    if (e->n >= 8)
        return;
    snprintf(e->event[e->n], 64, "%s", event);
    memcpy(e->data[e->n], data, MIN(len, 255));
    e->len[e->n] = len;
    e->n++;
}

TEST(http_sse_round_trip)
{
    char text[1024];
    struct textbuf b;
    tb_init(&b, text, sizeof text);
    http_sse_format(&b, NULL, "hello", 5);
    http_sse_format(&b, "delta", "line 1\nline 2\n", 14);
    http_sse_format(&b, "x\ny", "", 0);
    http_sse_format(&b, NULL, "a\r\nb\rc", 6);
    CHECK_STR(text, "data: hello\n\n"
                    "event: delta\ndata: line 1\ndata: line 2\ndata: \n\n"
                    "event: x\ndata: \n\n"
                    "data: a\ndata: b\ndata: c\n\n");
    /* parse it back, one byte at a time and all at once */
    for (int whole = 0; whole < 2; whole++) {
        struct sse_events ev = {0};
        char buf[128];
        struct http_sse_parser p;
        http_sse_init(&p, buf, sizeof buf, sse_collect, &ev);
        if (whole) {
            CHECK_INT(http_sse_feed(&p, text, strlen(text)), 0);
        } else {
            for (size_t i = 0; i < strlen(text); i++)
                CHECK_INT(http_sse_feed(&p, text + i, 1), 0);
        }
        CHECK_INT(ev.n, 4);
        CHECK_STR(ev.event[0], "message");
        CHECK_STR(ev.data[0], "hello");
        CHECK_STR(ev.event[1], "delta");
        CHECK_STR(ev.data[1], "line 1\nline 2\n");
        CHECK_INT(ev.len[1], 14);
        CHECK_STR(ev.event[2], "x");
        CHECK_INT(ev.len[2], 0);
        CHECK_STR(ev.data[3], "a\nb\nc");
    }
    /* the spec's details: BOM, comments, CRLF/CR endings, "data" without a
     * colon, no space after it, unknown fields, no dispatch without data */
    struct sse_events ev = {0};
    char buf[32];
    struct http_sse_parser p;
    http_sse_init(&p, buf, sizeof buf, sse_collect, &ev);
    const char *in = "\xef\xbb\xbf: comment\r\ndata:x\r\ndata\rid: 7\rretry: 10\nDATA: no\n\n"
                     "event: only\n\n"
                     "data: [DONE]\n\n";
    CHECK_INT(http_sse_feed(&p, in, strlen(in)), 0);
    CHECK_INT(ev.n, 2);
    CHECK_INT(ev.len[0], 2);
    CHECK(memcmp(ev.data[0], "x\n", 2) == 0);
    CHECK_STR(ev.data[1], "[DONE]");
    /* an event larger than the buffer is dropped, the next one gets through */
    char big[100];
    memset(big, 'z', sizeof big);
    CHECK_INT(http_sse_feed(&p, "data: ", 6), 0);
    CHECK_INT(http_sse_feed(&p, big, sizeof big), 0);
    CHECK_INT(http_sse_feed(&p, "\ndata: more\n\ndata: ok\n\n", 23), ERR_RANGE);
    CHECK_INT(ev.n, 3);
    CHECK_STR(ev.data[2], "ok");
}
