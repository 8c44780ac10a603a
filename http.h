/* http.h - HTTP/1.1 messages (RFC 9110/9112) for a polled, non-blocking
 * server and client: byte streams, the incremental head/body parsers, the
 * response head writer, a URL parser and server-sent events.
 *
 * Freestanding (lib.h only). Every parser takes untrusted (data, len) input:
 * bounded sizes, overflow-safe numbers, strict syntax (no obs-fold, no bare
 * CR, no NUL), so a request can never crash, hang or smuggle a second one.
 *
 * The server is in http_server.h, the client in http_client.h.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

struct textbuf;

/* Request/status line plus headers, blank line included: past it a request
 * gets 431 (414 when the request line alone is longer). */
#define HTTP_MAX_HEAD 8192
#define HTTP_MAX_HEADERS 64            /* more: 431 */
#define HTTP_DEFAULT_MAX_BODY (64u * 1024)

/* ---- byte stream ---------------------------------------------------------------
 * What the server and client run over: a TCP connection (net_tcp.h) on the
 * device, an in-memory pipe in tests. All calls return at once. */
struct http_stream {
    /* Bytes copied into buf (> 0), 0 when none are there yet, ERR_EOF once
     * the peer closed and all was read, another negative ERR_* on failure. */
    long (*recv)(void *ctx, void *buf, size_t n);
    /* Bytes taken from buf (0 when the send buffer is full), or < 0. */
    long (*send)(void *ctx, const void *buf, size_t n);
    /* Ends the connection (graceful: queued bytes still go out). Called
     * exactly once by whoever owns the stream; ctx is not used after. */
    void (*close)(void *ctx);
    void *ctx;
};

/* ---- messages -------------------------------------------------------------------- */
enum http_method {
    HTTP_METHOD_NONE = 0, /* a response */
    HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS, HTTP_PATCH
};

/* Strings are NUL-terminated inside the head buffer the message was parsed
 * from (caller-owned); they live as long as that buffer is left alone. */
struct http_header {
    const char *name;  /* as sent; compare with http_header() (case-insensitive) */
    const char *value; /* surrounding spaces removed */
};

struct http_msg {
    /* request */
    int method;              /* enum http_method */
    const char *method_name; /* "GET" ... */
    const char *path;        /* "/v1/x" (origin form; absolute form is reduced to it) */
    const char *query;       /* after '?', "" when none */
    /* response */
    int status;              /* 100..599 */
    const char *reason;
    /* both */
    int minor;               /* 0: HTTP/1.0, 1: HTTP/1.1 */
    int n_headers;
    struct http_header headers[HTTP_MAX_HEADERS];
    int64_t content_length;  /* -1 when absent */
    int chunked;             /* Transfer-Encoding: chunked */
    int keep_alive;          /* the connection may carry another message */
    int expect_continue;     /* request: Expect: 100-continue */
    /* Server: the whole request body (decoded), in the connection's buffer. */
    const uint8_t *body;
    size_t body_len;
};

/* The first value of header name (case-insensitive), NULL if absent. */
const char *http_header(const struct http_msg *m, const char *name);
/* The token of "Authorization: Bearer <token>": 0 and *ret_token (points
 * into the message), ERR_NOT_FOUND (no such header or another scheme) or
 * ERR_FORMAT (empty or malformed token). */
int http_bearer_token(const struct http_msg *m, const char **ret_token);
/* "GET" ... for an enum http_method; "-" for none. */
const char *http_method_name(int method);
/* Reason phrase of a status code ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

/* Finds the end of a head (the blank line after the headers), resuming
 * where the last call stopped, so each byte is looked at once. */
struct http_head_scan {
    size_t pos;   /* bytes of the buffer already scanned */
    int state;    /* line-ending state machine */
};
/* Returns the head's length (blank line included) once data[0..len) holds
 * it, 0 while it is incomplete. data may grow between calls but its
 * scanned part must not change. */
size_t http_head_end(struct http_head_scan *s, const char *data, size_t len);

/* Parse a complete head (the bytes http_head_end measured) in place: line
 * ends and separators become NUL, m's strings point into head.
 *   http_parse_request returns 0 or the error status to answer: 400 bad
 *   syntax or framing, 405 CONNECT/TRACE, 431 too many headers, 501 unknown
 *   method or transfer coding, 505 not HTTP/1.x.
 *   http_parse_response returns 0, ERR_FORMAT or ERR_RANGE (too many headers). */
int http_parse_request(char *head, size_t len, struct http_msg *m);
int http_parse_response(char *head, size_t len, struct http_msg *m);

/* ---- chunked transfer coding (RFC 9112 7.1) ----------------------------------- */
struct http_chunked {
    int state;
    uint64_t left;      /* data bytes left in the current chunk */
    uint64_t total;     /* body bytes so far */
    uint64_t max_total; /* body limit (ERR_RANGE past it) */
    uint32_t line;      /* bytes of the current size/trailer line (bounded) */
    uint32_t trailer;   /* trailer bytes (bounded) */
    int digits;         /* hex digits of the current size */
};
void http_chunked_init(struct http_chunked *c, uint64_t max_total);
/* Decodes from in[0..len): returns the bytes used (>= 0) or ERR_FORMAT /
 * ERR_RANGE (body over max_total or a size too large). *ret_data and
 * *ret_n (may be 0) are body bytes found, a span of in. Call again with the
 * rest until all is used or http_chunked_done. Never uses bytes past the
 * body's end, so a pipelined next message stays in the caller's buffer. */
long http_chunked_feed(struct http_chunked *c, const char *in, size_t len,
                       const char **ret_data, size_t *ret_n);
int http_chunked_done(const struct http_chunked *c);

/* ---- writing ------------------------------------------------------------------------
 * extra_headers, here and in the server/client, is NULL or a block of
 * "Name: value\r\n" lines; http_headers_valid says whether it is one
 * (no NUL, no bare CR or LF, no empty line that would end the head early). */
int http_headers_valid(const char *extra_headers);
/* Writes a response head: status line, Server, Content-Type (when given),
 * Content-Length (content_length >= 0) or Transfer-Encoding: chunked
 * (content_length == -1; -2: neither, the body ends at close), Connection,
 * extra headers, blank line. minor is the request's HTTP version. */
void http_write_response_head(struct textbuf *out, int minor, int status, const char *content_type,
                              const char *extra_headers, int64_t content_length, int keep_alive);

/* ---- URLs -------------------------------------------------------------------------------- */
struct http_url {
    char host[256];       /* name or IPv4 address, no port */
    uint16_t port;        /* 80 unless given */
    char authority[264];  /* for the Host header: host, or host:port when not 80 */
    char path[2048];      /* "/..." with the query, without the fragment */
};
/* Parses "http://host[:port][/path][?query][#fragment]". Returns 0 and
 * *ret_url, or ERR_UNSUPPORTED (https or another scheme, IPv6 literals,
 * user:password@) / ERR_FORMAT / ERR_RANGE with *why (may be NULL) set to a
 * static message saying what is wrong. */
int http_parse_url(const char *url, struct http_url *ret_url, const char **why);

/* ---- server-sent events (text/event-stream) ------------------------------------------ */
/* Appends one event: "event: <name>\n" when name is not NULL, one
 * "data: <line>\n" per line of data[0..len) (split at \n, \r\n or \r),
 * then the blank line that dispatches it. */
void http_sse_format(struct textbuf *out, const char *event, const char *data, size_t len);

/* Incremental parser for the client side. Events are delivered with
 * on_event(ctx, event name ("message" when none was given), data, len); the
 * data buffer is caller-owned (init) and holds the largest event. */
struct http_sse_parser {
    char *buf;            /* caller-owned: the current line and data */
    size_t cap;
    size_t data_len;      /* data of the event so far (lines joined by \n) */
    size_t line_len;      /* the current line, stored after data */
    char event[64];
    int has_data;         /* a data field was seen */
    int overflow;         /* the event outgrew buf: it is dropped */
    int after_cr;         /* a CR ended the last line (skip a following LF) */
    int started;          /* past a leading byte order mark */
    void (*on_event)(void *ctx, const char *event, const char *data, size_t len);
    void *ctx;
};
void http_sse_init(struct http_sse_parser *p, char *buf, size_t cap,
                   void (*on_event)(void *ctx, const char *event, const char *data, size_t len),
                   void *ctx);
/* Feeds stream bytes. Returns 0, or ERR_RANGE when an event was dropped
 * for being larger than the buffer (parsing goes on with the next one). */
int http_sse_feed(struct http_sse_parser *p, const char *data, size_t len);

#endif
