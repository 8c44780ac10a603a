/* http_client.h - a polled HTTP/1.1 client: one request at a time over a
 * stream the caller has connected (http.h).
 *
 *   struct http_url u;  http_parse_url("http://10.0.2.2:8080/v1/x", &u, &why);
 *   ... connect a stream to u.host:u.port ...
 *   struct http_client_req r = {.method = "GET", .host = u.authority, .path = u.path,
 *                               .headers = "Range: bytes=0-1023\r\n",
 *                               .on_head = ..., .on_body = ..., .on_done = ..., .ctx = me};
 *   http_client_start(&cl, &stream, &r, now);
 *   while ((rc = http_client_poll(&cl, now)) == ERR_AGAIN) ... other work ...
 *
 * The body reaches on_body as it arrives, decoded (Content-Length, chunked,
 * or until the server closes). The client never closes the stream: the
 * caller does, after on_done (or reuses it when cl.reusable).
 */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include "http.h"

struct http_client_req {
    const char *method;     /* "GET", "POST", ... */
    const char *host;       /* Host header, e.g. http_url.authority */
    const char *path;       /* "/..." with the query */
    const char *headers;    /* NULL or extra "Name: value\r\n" lines */
    const void *body;       /* caller-owned, valid until done; NULL for none */
    size_t body_len;
    int keep_alive;         /* 0: ask the server to close after the response */
    uint64_t timeout_us;    /* longest silence from the server; 0 = 30 s */
    /* Status and headers; resp is valid during the call only. */
    void (*on_head)(void *ctx, const struct http_msg *resp);
    /* Body bytes as they arrive; data is valid during the call only. */
    void (*on_body)(void *ctx, const void *data, size_t len);
    /* Once, at the end: rc 0 (any status, even 404) or the error. */
    void (*on_done)(void *ctx, int rc, int status);
    void *ctx;
};

struct http_client {
    char *mem;              /* plat_alloc'd buffers (init/free) */
    size_t mem_size;
    int state;
    struct http_stream st;  /* caller-owned */
    struct http_client_req req;
    char *rx;
    size_t rx_cap, rx_len;
    char *tx;               /* the request head */
    size_t tx_cap, tx_len, tx_pos;
    size_t body_pos;        /* request body bytes sent */
    struct http_head_scan scan;
    struct http_msg resp;
    int framing;
    uint64_t left;          /* Content-Length bytes still to come */
    struct http_chunked chunk;
    uint64_t t_last;        /* last byte from the server (or the start) */
    uint64_t body_bytes;    /* response body bytes delivered */
    uint64_t bytes_in;      /* response bytes received */
    int status;             /* response status, 0 before the head */
    int rc;                 /* final result once done */
    int reusable;           /* done and the connection can carry another request */
    char err[160];          /* what went wrong, for the user */
};

/* 0 or ERR_NOMEM. */
int http_client_init(struct http_client *c);
void http_client_free(struct http_client *c);
/* Starts a request (r and the strings it points to are copied where
 * needed; body is not: it must live until done). 0, ERR_INVAL (bad
 * method, path, host or headers; c->err says which) or ERR_RANGE (head too
 * long). */
int http_client_start(struct http_client *c, const struct http_stream *st,
                      const struct http_client_req *r, uint64_t now_us);
/* Moves the request forward: ERR_AGAIN while it runs, then its result (0,
 * ERR_EOF: closed early, ERR_FORMAT: malformed response, ERR_RANGE: head
 * too large, ERR_TIMEOUT, ERR_UNSUPPORTED, or the stream's error). */
int http_client_poll(struct http_client *c, uint64_t now_us);

#endif
