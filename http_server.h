/* http_server.h - a polled HTTP/1.1 server over byte streams (http.h).
 *
 * The caller accepts connections (e.g. tcp_accept) and hands each one over
 * with http_server_add; http_server_poll(now_us), called from the event
 * loop, moves every connection forward without blocking: read and parse a
 * request, give it to the handler, flush the answer, then keep-alive
 * (pipelined requests are answered in order) or close.
 *
 * Answering. The handler gets (conn, request) and either
 *  - answers at once: http_respond(conn, 200, "application/json", body, n);
 *  - answers later: returns HTTP_PENDING, keeps conn, and calls
 *    http_respond (or the stream calls) from a later step of the event loop;
 *  - streams: http_stream_begin(conn, 200, "text/event-stream", NULL), then
 *    http_stream_write / http_sse_send as tokens come (chunked encoding),
 *    http_stream_end(conn) at the end. http_stream_space(conn) says how many
 *    body bytes fit now: the generator waits when the client reads slowly.
 * The application holds conn from the handler call until the response is
 * complete (http_respond or http_stream_end returned 0) or until on_abort
 * says the connection is gone; after either it must forget conn.
 *
 * Limits: HTTP_MAX_HEAD / HTTP_MAX_HEADERS (431), max_body (413), slow
 * requests (408), idle keep-alive connections and clients that stop reading
 * are closed; every slot is freed in bounded time unless the application
 * holds it.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include "http.h"

struct http_conn; /* one connection slot, opaque */

/* Handler results. */
enum { HTTP_HANDLED = 0, HTTP_PENDING = 1 };

/* One finished (or abandoned) response for the access log. The strings
 * are valid during the call only. */
struct http_log_entry {
    const char *method;    /* "-" when the request line could not be read */
    const char *path;
    int status;
    uint64_t bytes;        /* response bytes handed to the stream, head included */
    uint64_t duration_us;  /* first request byte to the last response byte sent */
    int aborted;           /* the connection ended before the response did */
};

struct http_server_cfg {
    int max_conns;             /* connection slots (1..64), default 4 */
    size_t max_body;           /* request body limit (413), default 64 KiB */
    size_t tx_buf;             /* output buffer per connection, default 32 KiB:
                                * the largest http_respond (head + body) */
    uint64_t read_timeout_us;  /* whole request from its first byte (408), default 10 s */
    uint64_t idle_timeout_us;  /* keep-alive wait for the next request, default 15 s */
    uint64_t send_timeout_us;  /* output stuck this long: drop the client, default 30 s */
    int max_requests;          /* per connection, then Connection: close; default 100 */
    /* The request is valid until the response is complete or aborted. */
    int (*handler)(void *ctx, struct http_conn *c, const struct http_msg *req);
    /* The connection of a request the application holds is gone (optional). */
    void (*on_abort)(void *ctx, struct http_conn *c);
    void (*log)(void *ctx, const struct http_log_entry *e); /* optional */
    void *ctx;
};

struct http_server {
    struct http_server_cfg cfg;
    struct http_conn *conns;   /* cfg.max_conns slots, plat_alloc'd */
    uint64_t now_us;           /* time of the last poll/add */
    uint32_t next_serial;
    uint64_t requests, rejected; /* counters for status pages */
};

/* Defaults for every field (handler and ctx NULL). */
void http_server_default_cfg(struct http_server_cfg *cfg);
/* Allocates the slots and their buffers. 0, ERR_INVAL or ERR_NOMEM. */
int http_server_init(struct http_server *s, const struct http_server_cfg *cfg);
/* Aborts every connection (on_abort for held ones) and frees the memory. */
void http_server_free(struct http_server *s);
/* Takes a connected stream (the server closes it when done). ERR_AGAIN when
 * every slot is busy: the client then gets a 503 and the stream is closed. */
int http_server_add(struct http_server *s, const struct http_stream *st, uint64_t now_us);
/* Moves every connection forward; never blocks. */
void http_server_poll(struct http_server *s, uint64_t now_us);
/* Connections open now. */
int http_server_active(const struct http_server *s);

/* Answers the request on c with a whole body (copied; caller keeps body).
 * extra_headers: NULL or "Name: value\r\n" lines. Returns 0, ERR_INVAL
 * (c does not await a response, bad status or headers) or ERR_RANGE (head +
 * body larger than tx_buf: answer smaller, or stream it). */
int http_respond(struct http_conn *c, int status, const char *content_type,
                 const void *body, size_t len);
int http_respond_ex(struct http_conn *c, int status, const char *content_type,
                    const char *extra_headers, const void *body, size_t len);

/* Streamed response: chunked for HTTP/1.1, delimited by the close for 1.0. */
int http_stream_begin(struct http_conn *c, int status, const char *content_type,
                      const char *extra_headers);
/* Body bytes a write accepts now (0: wait for the client to read). */
size_t http_stream_space(const struct http_conn *c);
/* Queues up to len bytes (data is copied). Returns the bytes taken (may be
 * fewer than len, 0 when full) or ERR_INVAL when c is not streaming. */
long http_stream_write(struct http_conn *c, const void *data, size_t len);
/* All of data or nothing: 0, ERR_AGAIN (no room now) or ERR_INVAL. */
int http_stream_write_all(struct http_conn *c, const void *data, size_t len);
/* One server-sent event (http_sse_format), all or nothing like write_all. */
int http_sse_send(struct http_conn *c, const char *event, const char *data, size_t len);
/* Ends the body; the server flushes it and goes on with the connection. */
int http_stream_end(struct http_conn *c);

/* A number unique to this connection (serial, never reused): lets an
 * application check a handle it kept. */
uint32_t http_conn_serial(const struct http_conn *c);

#endif
