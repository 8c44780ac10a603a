/* client.c - remote inference and model downloads over HTTP (client.h):
 * what the two jobs share. client_remote.c holds remote inference,
 * client_download.c the downloads; client_int.h is their private header.
 *
 * A job is a connection (resolve the host, open TCP) carrying one
 * http_client exchange; the job's phase says what client_step does next.
 * Callbacks of the HTTP client only record what arrived (and store a
 * download's bytes); decisions that close the connection are taken in
 * client_step, after http_client_poll has returned. */
#include "client_int.h"

#include "errors.h"
#include "lib.h"
#include "net.h"
#include "netsvc.h"
#include "platform.h"

/* ---- small helpers ------------------------------------------------------------------- */

void client_msg(struct client *c, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (c->progress_open) { /* the message goes below the bar */
        c->hooks.progress(c->hooks.ctx, NULL);
        c->progress_open = 0;
    }
    c->hooks.say(c->hooks.ctx, line);
}

int client_starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        char a = *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s;
        if (a != *prefix)
            return 0;
    }
    return 1;
}

/* ---- init ----------------------------------------------------------------------------- */

int client_init(struct client *c, const struct client_hooks *hooks, struct net *net)
{
    memset(c, 0, sizeof *c);
    c->hooks = *hooks;
    c->net = net;
    c->dns = -1;
    c->mem_size = SSE_BUF + TEXT_BUF + BODY_BUF + CLIENT_HISTORY + REPLY_BUF + WRITE_BUF +
                  N_TOK * sizeof(struct json_tok);
    c->mem = plat_alloc(c->mem_size);
    if (!c->mem)
        return ERR_NOMEM;
    char *p = c->mem;
    c->sse_buf = p, p += SSE_BUF;
    c->text = p, p += TEXT_BUF;
    c->body = p, p += BODY_BUF;
    c->history = p, p += CLIENT_HISTORY;
    c->reply = p, p += REPLY_BUF;
    c->wbuf = p, p += WRITE_BUF;
    c->tok = (struct json_tok *)p; /* 64-byte aligned block, offsets are multiples of 4 KiB */
    int rc = http_client_init(&c->http);
    if (rc) {
        plat_free(c->mem, c->mem_size);
        c->mem = NULL;
    }
    return rc;
}

void client_free(struct client *c)
{
    if (c->job)
        client_stop(c);
    http_client_free(&c->http);
    if (c->mem)
        plat_free(c->mem, c->mem_size);
    c->mem = NULL;
}

int client_busy(const struct client *c)
{
    return c->job != JOB_NONE;
}

/* ---- the connection -------------------------------------------------------------------- */

static int fail_conn(struct client *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_conn(struct client *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* Begins reaching c->url's host: at once with the test hook, else by DNS
 * (a dotted quad completes without a query). 0 or an error in c->err. */
int client_conn_start(struct client *c, uint64_t now)
{
    c->have_stream = c->established = 0;
    c->tcp = NULL;
    c->t_conn = now;
    c->http_done = 0;
    c->http.status = 0; /* no answer yet: nothing of the last job's counts */
    c->http.bytes_in = 0;
    c->http.err[0] = 0;
    if (c->hooks.open_stream) {
        int rc = c->hooks.open_stream(c->hooks.ctx, c->url.host, c->url.port, &c->st);
        if (rc)
            return fail_conn(c, rc, "cannot connect to %s: %s", c->url.authority, err_str(rc));
        c->have_stream = c->established = 1;
        c->phase = PH_CONNECT; /* conn_poll finds the stream ready */
        return 0;
    }
    if (!c->net)
        return fail_conn(c, ERR_UNSUPPORTED, "the network is off (no network interface, or "
                                             "net=off in llm.cfg)");
    if (!net_is_up(c->net))
        return fail_conn(c, ERR_AGAIN, "the network has no address yet (waiting for DHCP)");
    if (c->ip) { /* resolved by an earlier attempt of this job */
        c->phase = PH_CONNECT;
        return 0;
    }
    int rc = dns_resolve_start(c->net, c->url.host, &c->dns);
    if (rc == ERR_UNSUPPORTED)
        return fail_conn(c, rc, "cannot resolve %s: no DNS server (set dns= in llm.cfg, "
                                "or use DHCP, or give an IP address)", c->url.host);
    if (rc)
        return fail_conn(c, rc, "cannot resolve %s: %s", c->url.host, err_str(rc));
    c->phase = PH_RESOLVE;
    return 0;
}

/* Ends the connection: gracefully, or with a reset (abort) when the rest
 * of the answer is not wanted. */
void client_conn_close(struct client *c, int abort)
{
    if (c->dns >= 0 && c->net)
        dns_resolve_cancel(c->net, c->dns);
    c->dns = -1;
    if (c->have_stream) {
        if (abort && c->tcp) {
            tcp_abort(c->tcp);
            tcp_release(c->tcp);
        } else {
            c->st.close(c->st.ctx);
        }
    }
    c->have_stream = 0;
    c->tcp = NULL;
}

/* Resolving and the handshake. ERR_AGAIN while waiting; 0 once the stream
 * is open (phase PH_HTTP); else an error with c->err. */
static int conn_poll(struct client *c, uint64_t now)
{
    if (c->have_stream && !c->tcp) { /* the test hook's stream */
        c->phase = PH_HTTP;
        return 0;
    }
    if (c->phase == PH_RESOLVE) {
        int rc = dns_resolve_poll(c->net, c->dns, &c->ip);
        if (rc == ERR_AGAIN)
            return rc;
        c->dns = -1;
        if (rc == ERR_NOT_FOUND)
            return fail_conn(c, rc, "%s: no such host (DNS)", c->url.host);
        if (rc)
            return fail_conn(c, rc, "cannot resolve %s: %s", c->url.host, err_str(rc));
        c->phase = PH_CONNECT;
    }
    if (!c->tcp) {
        c->tcp = tcp_connect(&c->net->tcp, c->ip, c->url.port);
        if (!c->tcp)
            return fail_conn(c, ERR_NOMEM, "cannot connect to %s: no free TCP connection",
                             c->url.authority);
        netsvc_tcp_stream(c->tcp, &c->st);
        c->have_stream = 1;
        c->t_conn = now;
    }
    enum tcp_state s = tcp_conn_state(c->tcp);
    if (s == TCP_SYN_SENT || s == TCP_SYN_RECEIVED) {
        if (now - c->t_conn < CLIENT_CONNECT_US)
            return ERR_AGAIN;
        client_conn_close(c, 1);
        return fail_conn(c, ERR_TIMEOUT, "no answer from %s (connection timed out)",
                         c->url.authority);
    }
    if (s == TCP_CLOSED) { /* the error tcp_recv reports: RST or handshake timeout */
        char dummy;
        long e = tcp_recv(c->tcp, &dummy, 0);
        client_conn_close(c, 1);
        if (e == ERR_TIMEOUT)
            return fail_conn(c, ERR_TIMEOUT, "no answer from %s (connection timed out)",
                             c->url.authority);
        return fail_conn(c, ERR_RESET, "%s refused the connection", c->url.authority);
    }
    c->established = 1;
    c->phase = PH_HTTP;
    return 0;
}

/* One step of connecting: ERR_AGAIN, 0 (connected) or the failure. */
int client_conn_step(struct client *c, uint64_t now)
{
    if (c->phase == PH_HTTP)
        return 0;
    return conn_poll(c, now);
}

void client_on_done(void *ctx, int rc, int status)
{
    struct client *c = ctx;
    c->http_rc = rc;
    c->http_status = status;
    c->http_done = 1;
}

/* ---- the job ---------------------------------------------------------------------------- */

int client_step(struct client *c, uint64_t now_us)
{
    switch (c->job) {
    case JOB_REMOTE:
        return client_remote_step(c, now_us);
    case JOB_DOWNLOAD:
        return client_download_step(c, now_us);
    default:
        return 0;
    }
}

void client_stop(struct client *c)
{
    if (c->job == JOB_REMOTE)
        client_remote_stop(c);
    else if (c->job == JOB_DOWNLOAD)
        client_download_stop(c);
}
