/* memstream.h - in-memory duplex byte streams (struct http_stream) for the
 * HTTP and API tests: what one end sends the other receives, with limits
 * that mimic a slow or small TCP window. Header-only: each test file gets
 * its own copy of these small functions. */
#ifndef MEMSTREAM_H
#define MEMSTREAM_H

#include "testlib.h"

#include "../errors.h"
#include "../http.h"
#include "../lib.h"

/* ---- in-memory streams ------------------------------------------------------------ */
/* One direction: bytes written by one end, read by the other. */
struct tpipe {
    char buf[1 << 17];
    size_t len;
    int eof; /* the writer closed */
};

/* One end of a duplex connection. */
struct tend {
    struct tpipe *in, *out;
    size_t send_limit;  /* at most this many bytes per send (0: no limit) */
    size_t out_cap;     /* at most this many bytes unread in out (0: the buffer) */
    size_t recv_limit;
    int closed, reset;
};

struct tconn {
    struct tpipe c2s, s2c;
    struct tend client, server;
};

static inline long t_recv(void *ctx, void *buf, size_t n)
{
    struct tend *e = ctx;
    if (e->reset)
        return ERR_RESET;
    if (e->in->len == 0)
        return e->in->eof ? ERR_EOF : 0;
    size_t k = MIN(n, e->in->len);
    if (e->recv_limit)
        k = MIN(k, e->recv_limit);
    memcpy(buf, e->in->buf, k);
    memmove(e->in->buf, e->in->buf + k, e->in->len - k);
    e->in->len -= k;
    return (long)k;
}

static inline long t_send(void *ctx, const void *buf, size_t n)
{
    struct tend *e = ctx;
    if (e->closed)
        return ERR_INVAL;
    if (e->reset)
        return ERR_RESET;
    size_t k = MIN(n, sizeof e->out->buf - e->out->len);
    if (e->send_limit)
        k = MIN(k, e->send_limit);
    if (e->out_cap)
        k = MIN(k, e->out_cap > e->out->len ? e->out_cap - e->out->len : 0);
    memcpy(e->out->buf + e->out->len, buf, k);
    e->out->len += k;
    return (long)k;
}

static inline void t_close(void *ctx)
{
    struct tend *e = ctx;
    CHECK(!e->closed); /* closed exactly once */
    e->closed = 1;
    e->out->eof = 1;
}

static inline struct tconn *tconn_new(void)
{
    struct tconn *t = calloc(1, sizeof *t);
    t->client.in = &t->s2c;
    t->client.out = &t->c2s;
    t->server.in = &t->c2s;
    t->server.out = &t->s2c;
    return t;
}

static inline struct http_stream stream_of(struct tend *e)
{
    struct http_stream s = {t_recv, t_send, t_close, e};
    return s;
}

/* Appends text to what the client sent. */
static inline void client_write(struct tconn *t, const char *s, size_t n)
{
    memcpy(t->c2s.buf + t->c2s.len, s, n);
    t->c2s.len += n;
}

/* Takes everything the server sent so far as a string (static buffer). */
static inline const char *server_output(struct tconn *t)
{
    static char out[sizeof t->s2c.buf + 1];
    memcpy(out, t->s2c.buf, t->s2c.len);
    out[t->s2c.len] = 0;
    t->s2c.len = 0;
    return out;
}

#endif
