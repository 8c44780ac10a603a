/* client.c - remote inference and model downloads over HTTP (client.h).
 *
 * A job is a connection (resolve the host, open TCP) carrying one
 * http_client exchange; the job's phase says what client_step does next.
 * Callbacks of the HTTP client only record what arrived (and store a
 * download's bytes); decisions that close the connection are taken in
 * client_step, after http_client_poll has returned. */
#include "client.h"

#include "errors.h"
#include "lib.h"
#include "net.h"
#include "netsvc.h"
#include "platform.h"

enum { JOB_NONE, JOB_REMOTE, JOB_DOWNLOAD };
/* Phases: connecting (resolve, TCP), the HTTP exchange, and for a download
 * hashing an earlier .part first and waiting out a back-off. */
enum { PH_HASH, PH_RESOLVE, PH_CONNECT, PH_HTTP, PH_WAIT };

#define SSE_BUF (32 * 1024)     /* the largest event */
#define TEXT_BUF (32 * 1024)    /* text of one event or a whole answer */
#define BODY_BUF (64 * 1024)    /* a non-streamed or error answer */
#define REPLY_BUF (16 * 1024)   /* the reply kept for the conversation */
#define WRITE_BUF (64 * 1024)   /* download bytes written in pieces this big */
#define N_TOK 2048              /* JSON tokens of one answer object */
#define HASH_STEP (1u << 20)    /* .part bytes hashed per step */
#define FLUSH_EVERY (8u << 20)  /* a download is flushed this often */
#define REMOTE_TIMEOUT_US 120000000ull /* a big remote model may think a while */
#define BAR_CELLS 30

/* ---- small helpers ------------------------------------------------------------------- */

static void say(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct client *c, const char *fmt, ...)
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

/* Untrusted text for the console: printable ASCII and valid UTF-8, newline
 * and tab; anything else (escape sequences, NUL) is dropped. */
static size_t sanitize(char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        size_t k = ch < 0x80 ? 1 : utf8_seq_len(s + i, n - i);
        if (k == 0) {
            i++;
            continue;
        }
        if (k > 1 || (ch >= 0x20 && ch != 0x7f) || ch == '\n' || ch == '\t')
            for (size_t j = 0; j < k; j++)
                s[w++] = s[i + j];
        i += k;
    }
    return w;
}

static int starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        char a = *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s;
        if (a != *prefix)
            return 0;
    }
    return 1;
}

/* Decimal digits at *p, advancing it; overflow-safe, at most 2^63. */
static int parse_u63(const char **p, uint64_t *ret)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return ERR_FORMAT;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > ((1ull << 63) - d) / 10)
            return ERR_FORMAT;
        v = v * 10 + d;
    }
    *p = s;
    *ret = v;
    return 0;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
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

int client_remote_on(const struct client *c)
{
    return c->remote_on;
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
static int conn_start(struct client *c, uint64_t now)
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
static void conn_close(struct client *c, int abort)
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
        conn_close(c, 1);
        return fail_conn(c, ERR_TIMEOUT, "no answer from %s (connection timed out)",
                         c->url.authority);
    }
    if (s == TCP_CLOSED) { /* the error tcp_recv reports: RST or handshake timeout */
        char dummy;
        long e = tcp_recv(c->tcp, &dummy, 0);
        conn_close(c, 1);
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
static int conn_step(struct client *c, uint64_t now)
{
    if (c->phase == PH_HTTP)
        return 0;
    return conn_poll(c, now);
}

/* ---- HTTP callbacks -------------------------------------------------------------------- */

static void on_done(void *ctx, int rc, int status)
{
    struct client *c = ctx;
    c->http_rc = rc;
    c->http_status = status;
    c->http_done = 1;
}

/* The message of an error answer: {"error": {"message": ...}}, {"error":
 * "..."}, {"message"|"detail": "..."}, else the body's first line. */
static void error_message(struct client *c, char *out, size_t cap)
{
    struct json_doc d;
    out[0] = 0;
    if (json_parse(&d, "answer", c->body, c->body_len, c->tok, N_TOK) == 0) {
        int e = json_find(&d, 0, "error"), m;
        if (json_type(&d, e) == JSON_OBJECT)
            e = json_find(&d, e, "message");
        m = json_type(&d, e) == JSON_STRING ? e : json_find(&d, 0, "message");
        if (json_type(&d, m) != JSON_STRING)
            m = json_find(&d, 0, "detail");
        size_t n;
        if (json_type(&d, m) == JSON_STRING && json_string(&d, m, c->text, TEXT_BUF, &n) == 0) {
            n = sanitize(c->text, MIN(n, cap - 1));
            memcpy(out, c->text, n);
            out[n] = 0;
            return;
        }
    }
    size_t n = 0;
    while (n < c->body_len && n + 1 < cap && c->body[n] != '\n' && c->body[n] != '\r')
        n++;
    memcpy(out, c->body, n);
    out[sanitize(out, n)] = 0;
}

/* ---- remote inference ------------------------------------------------------------------- */

int client_answer_text(const char *data, size_t len, struct json_tok *tok, int cap_tok,
                       char *out, size_t cap, size_t *ret_len, char *why, size_t why_cap)
{
    struct json_doc d;
    if (json_parse(&d, "chunk", data, len, tok, cap_tok) != 0 || json_type(&d, 0) != JSON_OBJECT) {
        str_copy(why, why_cap, "not a JSON object");
        return ERR_FORMAT;
    }
    int e = json_find(&d, 0, "error");
    if (e >= 0) {
        int m = json_type(&d, e) == JSON_OBJECT ? json_find(&d, e, "message") : e;
        size_t n = 0;
        why[0] = 0;
        if (json_type(&d, m) == JSON_STRING && json_string(&d, m, out, cap, &n) == 0)
            str_copy(why, why_cap, out);
        else
            str_copy(why, why_cap, "the server reported an error");
        why[sanitize(why, strlen(why))] = 0;
        return ERR_IO;
    }
    int ch = json_at(&d, json_find(&d, 0, "choices"), 0);
    if (json_type(&d, ch) != JSON_OBJECT) {
        str_copy(why, why_cap, "no choices[0] in the answer");
        return ERR_FORMAT;
    }
    int v = -1, o = json_find(&d, ch, "delta");
    if (o < 0)
        o = json_find(&d, ch, "message");
    if (json_type(&d, o) == JSON_OBJECT)
        v = json_find(&d, o, "content");
    else if (o < 0)
        v = json_find(&d, ch, "text");
    else {
        str_copy(why, why_cap, "choices[0].delta is not an object");
        return ERR_FORMAT;
    }
    if (v < 0 || json_type(&d, v) == JSON_NULL) { /* a role-only or final chunk */
        *ret_len = 0;
        return 0;
    }
    if (json_type(&d, v) != JSON_STRING) {
        str_copy(why, why_cap, "the content is not a string");
        return ERR_FORMAT;
    }
    if (json_string(&d, v, out, cap, ret_len) != 0) {
        str_copy(why, why_cap, "the text is too long");
        return ERR_RANGE;
    }
    return 0;
}

/* Reply text: to the console and into the reply kept for the history. */
static void emit_text(struct client *c, char *s, size_t n)
{
    n = sanitize(s, n);
    if (n == 0)
        return;
    c->hooks.text(c->hooks.ctx, s, n);
    size_t k = MIN(n, REPLY_BUF - c->reply_len);
    memcpy(c->reply + c->reply_len, s, k);
    c->reply_len += k;
}

static void on_sse_event(void *ctx, const char *event, const char *data, size_t len)
{
    struct client *c = ctx;
    size_t n;
    char why[160];
    (void)event;
    if (c->got_done || c->bad_stream)
        return;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        c->got_done = 1;
        return;
    }
    int rc = client_answer_text(data, len, c->tok, N_TOK, c->text, TEXT_BUF, &n, why, sizeof why);
    if (rc) {
        fmt_snprintf(c->err, sizeof c->err, rc == ERR_IO ? "the server reported: %s"
                                                         : "malformed stream event: %s", why);
        c->bad_stream = 1;
        return;
    }
    c->chunks++;
    emit_text(c, c->text, n);
}

static void remote_head(void *ctx, const struct http_msg *resp)
{
    struct client *c = ctx;
    const char *type = http_header(resp, "Content-Type");
    c->sse_mode = resp->status == 200 && type && starts_with_ci(type, "text/event-stream");
    if (c->sse_mode)
        http_sse_init(&c->sse, c->sse_buf, SSE_BUF, on_sse_event, c);
}

static void remote_body(void *ctx, const void *data, size_t len)
{
    struct client *c = ctx;
    if (c->sse_mode) {
        if (http_sse_feed(&c->sse, data, len) != 0 && !c->bad_stream) {
            str_copy(c->err, sizeof c->err, "malformed stream: an event over 32 KiB");
            c->bad_stream = 1;
        }
        return;
    }
    size_t k = MIN(len, BODY_BUF - c->body_len); /* the rest of a huge answer is cut */
    memcpy(c->body + c->body_len, data, k);
    c->body_len += k;
}

static void history_drop_first(struct client *c)
{
    uint32_t cut = c->turns[0].off + c->turns[0].len;
    memmove(c->history, c->history + cut, c->history_len - cut);
    c->history_len -= cut;
    memmove(c->turns, c->turns + 1, (size_t)(c->n_turns - 1) * sizeof c->turns[0]);
    c->n_turns--;
    for (int i = 0; i < c->n_turns; i++)
        c->turns[i].off -= cut;
}

/* Keeps a message of the conversation, dropping the oldest ones for room;
 * a message over half the room is cut. */
static void history_add(struct client *c, int assistant, const char *s, size_t n)
{
    n = MIN(n, (size_t)CLIENT_HISTORY / 2);
    while (c->n_turns && (c->n_turns == CLIENT_TURNS || c->history_len + n > CLIENT_HISTORY))
        history_drop_first(c);
    c->turns[c->n_turns].assistant = (uint8_t)assistant;
    c->turns[c->n_turns].off = (uint32_t)c->history_len;
    c->turns[c->n_turns].len = (uint32_t)n;
    memcpy(c->history + c->history_len, s, n);
    c->history_len += n;
    c->n_turns++;
}

void client_remote_reset(struct client *c)
{
    c->n_turns = 0;
    c->history_len = 0;
}

static void message(struct json_writer *w, const char *role, const char *s, size_t n)
{
    json_w_begin_object(w);
    json_w_key(w, "role");
    json_w_string(w, role);
    json_w_key(w, "content");
    json_w_string_n(w, s, n);
    json_w_end_object(w);
}

/* The chat completion request for prompt (into c->req). */
static int build_request(struct client *c, const char *prompt, const struct client_gen *g)
{
    struct json_writer w;
    tb_free(&c->req);
    tb_init_grow(&c->req);
    json_w_init(&w, &c->req, 0);
    json_w_begin_object(&w);
    if (c->remote_model[0]) {
        json_w_key(&w, "model");
        json_w_string(&w, c->remote_model);
    }
    json_w_key(&w, "messages");
    json_w_begin_array(&w);
    if (g->system && g->system[0])
        message(&w, "system", g->system, strlen(g->system));
    for (int i = 0; i < c->n_turns; i++)
        message(&w, c->turns[i].assistant ? "assistant" : "user",
                c->history + c->turns[i].off, c->turns[i].len);
    message(&w, "user", prompt, strlen(prompt));
    json_w_end_array(&w);
    json_w_key(&w, "stream");
    json_w_bool(&w, 1);
    if (g->max_tokens > 0) {
        json_w_key(&w, "max_tokens");
        json_w_int(&w, g->max_tokens);
    }
    json_w_key(&w, "temperature");
    json_w_float(&w, g->temperature);
    json_w_key(&w, "top_p");
    json_w_float(&w, g->top_p);
    json_w_end_object(&w);
    return json_w_finish(&w);
}

/* Base URL -> the chat endpoint: trailing slashes and a trailing "/v1",
 * "/chat/completions" or "/v1/chat/completions" are taken as meant, so
 * whichever form the user copied is not doubled. */
static int remote_endpoint(struct http_url *u)
{
    static const char *const tails[] = {"/v1/chat/completions", "/chat/completions", "/v1"};
    size_t n = strlen(u->path);
    if (strchr(u->path, '?'))
        return ERR_INVAL;
    while (n > 0 && u->path[n - 1] == '/')
        n--;
    u->path[n] = 0;
    for (size_t i = 0; i < ARRAY_LEN(tails); i++) {
        size_t t = strlen(tails[i]);
        if (n >= t && !strcmp(u->path + n - t, tails[i])) {
            u->path[n -= t] = 0;
            break;
        }
    }
    if (n + sizeof "/v1/chat/completions" > sizeof u->path)
        return ERR_RANGE;
    memcpy(u->path + n, "/v1/chat/completions", sizeof "/v1/chat/completions");
    return 0;
}

void client_remote_command(struct client *c, const char *args)
{
    char url[512], model[sizeof c->remote_model] = "";
    const char *why = NULL;
    size_t n = 0;
    while (args[n] && args[n] != ' ')
        n++;
    if (!args[0]) {
        if (c->remote_on)
            say(c, "remote: prompts go to http://%s%s%s%s (/remote off: the local model)",
                c->remote.authority, c->remote.path, c->remote_model[0] ? " as " : "",
                c->remote_model);
        else
            say(c, "remote: off; /remote http://host:port[/v1] [MODEL] sends prompts there");
        return;
    }
    if (!str_casecmp(args, "off")) {
        if (c->job == JOB_REMOTE)
            client_stop(c);
        c->remote_on = 0;
        say(c, "remote: off; prompts go to the local model");
        return;
    }
    const char *m = args + n;
    while (*m == ' ')
        m++;
    if (n >= sizeof url || strlen(m) >= sizeof model || strchr(m, ' ')) {
        say(c, "remote: /remote URL [MODEL] (one URL, one model name)");
        return;
    }
    memcpy(url, args, n);
    url[n] = 0;
    str_copy(model, sizeof model, m);
    struct http_url u;
    int rc = http_parse_url(url, &u, &why);
    if (rc == 0 && (rc = remote_endpoint(&u)) != 0)
        why = "the URL must be the server's base (http://host:port or .../v1), without a query";
    if (rc) {
        say(c, "remote: %s: %s", url, why ? why : err_str(rc));
        return;
    }
    c->remote = u;
    str_copy(c->remote_model, sizeof c->remote_model, model);
    c->remote_on = 1;
    say(c, "remote: prompts go to http://%s%s (/remote off: the local model)", u.authority,
        u.path);
}

int client_remote_send(struct client *c, const char *prompt, const struct client_gen *g,
                       uint64_t now_us)
{
    static const char json_headers[] = "Content-Type: application/json\r\n"
                                       "Accept: text/event-stream\r\n";
    if (!c->remote_on || c->job)
        return ERR_INVAL;
    if (!c->mem) {
        say(c, "remote: not available (out of memory)");
        return ERR_NOMEM;
    }
    if (g->key && g->key[0] && (strchr(g->key, '\r') || strchr(g->key, '\n')))
        return ERR_INVAL; /* config.c allows no control characters; belt and braces */
    if (build_request(c, prompt, g) != 0) {
        say(c, "remote: out of memory for the request");
        tb_free(&c->req);
        return ERR_NOMEM;
    }
    c->url = c->remote;
    c->ip = 0;
    c->err[0] = 0;
    int rc = conn_start(c, now_us);
    if (rc) {
        say(c, "remote: %s", c->err);
        tb_free(&c->req);
        return rc;
    }
    c->job = JOB_REMOTE;
    str_copy(c->user, sizeof c->user, prompt);
    c->sse_mode = c->got_done = c->bad_stream = c->chunks = 0;
    c->body_len = c->reply_len = 0;
    c->http_done = 0;
    c->t_start = now_us;
    /* kept until the connection is up and the exchange starts */
    str_copy(c->headers, sizeof c->headers, json_headers);
    if (g->key && g->key[0]) {
        size_t k = strlen(c->headers);
        fmt_snprintf(c->headers + k, sizeof c->headers - k, "Authorization: Bearer %s\r\n",
                     g->key);
    }
    return 0;
}

/* Starts the exchange once the connection is up. */
static int remote_start_http(struct client *c, uint64_t now)
{
    struct http_client_req r = {
        .method = "POST", .host = c->url.authority, .path = c->url.path, .headers = c->headers,
        .body = c->req.p, .body_len = c->req.len, .keep_alive = 0,
        .timeout_us = REMOTE_TIMEOUT_US, .on_head = remote_head, .on_body = remote_body,
        .on_done = on_done, .ctx = c};
    int rc = http_client_start(&c->http, &c->st, &r, now);
    if (rc)
        str_copy(c->err, sizeof c->err, c->http.err);
    return rc;
}

/* The answer is over (or failed): one line when it went wrong, the
 * exchange into the conversation, and the statistics. */
static void remote_finish(struct client *c, uint64_t now)
{
    char msg[200];
    int status = c->http.status;
    conn_close(c, c->bad_stream || (!c->http_done && !c->got_done));
    if (status && status != 200) {
        error_message(c, msg, sizeof msg);
        say(c, "remote: HTTP %d %s%s%s", status, http_reason(status), msg[0] ? ": " : "", msg);
        c->err[0] = 0;
    } else if (c->err[0] && !c->reply_len) {
        say(c, "remote: %s", c->err);
    } else if (status == 200 && !c->sse_mode) { /* the server did not stream: one object */
        size_t n;
        int rc = client_answer_text(c->body, c->body_len, c->tok, N_TOK, c->text, TEXT_BUF, &n,
                                    msg, sizeof msg);
        if (rc)
            say(c, "remote: %s%s", rc == ERR_IO ? "the server reported: " : "bad answer: ", msg);
        else
            emit_text(c, c->text, n);
    }
    if (c->reply_len) {
        history_add(c, 0, c->user, strlen(c->user));
        history_add(c, 1, c->reply, c->reply_len);
        c->hooks.text(c->hooks.ctx, "\n", 1);
        if (c->err[0])
            say(c, "remote: %s", c->err);
        else if (c->sse_mode && !c->got_done)
            say(c, "remote: the stream ended without [DONE]; the answer may be cut");
        say(c, "[remote: %d chunks, %.1f s]", c->chunks, (double)(now - c->t_start) / 1e6);
    } else if (c->sse_mode && !c->err[0]) {
        say(c, "remote: the answer was empty");
    }
    tb_free(&c->req);
    c->job = JOB_NONE;
}

static int remote_step(struct client *c, uint64_t now)
{
    if (c->phase != PH_HTTP) {
        int rc = conn_step(c, now);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc == 0)
            rc = remote_start_http(c, now);
        if (rc) {
            remote_finish(c, now);
            return 1;
        }
    }
    uint64_t before = c->http.bytes_in;
    int rc = http_client_poll(&c->http, now);
    if (rc != ERR_AGAIN && rc != 0 && !c->err[0]) {
        if (rc == ERR_RESET && c->http.bytes_in == 0)
            fmt_snprintf(c->err, sizeof c->err, "%s reset the connection", c->url.authority);
        else
            str_copy(c->err, sizeof c->err, c->http.err[0] ? c->http.err : err_str(rc));
    }
    if (rc != ERR_AGAIN || c->got_done || c->bad_stream)
        remote_finish(c, now);
    return c->http.bytes_in != before || !c->job;
}

/* ---- download -------------------------------------------------------------------------- */

int client_file_name(const char *url_path, char *ret_name, size_t cap, const char **why)
{
    static const char *const reserved[] = {".part", ".tmp", ".new"};
    const char *end = url_path, *start;
    while (*end && *end != '?')
        end++;
    start = end;
    while (start > url_path && start[-1] != '/')
        start--;
    size_t n = (size_t)(end - start);
    if (n == 0)
        return *why = "the URL does not end in a file name", ERR_INVAL;
    if (n > CLIENT_NAME_MAX || n + 1 > cap)
        return *why = "the file name is too long (48 characters at most)", ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        char ch = start[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return *why = "the file name may only have letters, digits, '.', '_' and '-'",
                   ERR_INVAL;
        if (ch == '.' && i + 1 < n && start[i + 1] == '.')
            return *why = "the file name must not contain \"..\"", ERR_INVAL;
    }
    if (start[0] == '.')
        return *why = "the file name must not start with '.'", ERR_INVAL;
    memcpy(ret_name, start, n);
    ret_name[n] = 0;
    for (size_t i = 0; i < ARRAY_LEN(reserved); i++)
        if (str_ends_with_ci(ret_name, reserved[i]))
            return *why = "names ending in .part, .tmp or .new are the app's own", ERR_INVAL;
    return 0;
}

int client_parse_content_range(const char *s, uint64_t *ret_start, uint64_t *ret_end,
                               uint64_t *ret_total)
{
    uint64_t a = UINT64_MAX, b = UINT64_MAX, t = UINT64_MAX;
    if (!starts_with_ci(s, "bytes "))
        return ERR_FORMAT;
    s += 6;
    while (*s == ' ')
        s++;
    if (*s == '*') {
        s++;
    } else {
        if (parse_u63(&s, &a) || *s++ != '-' || parse_u63(&s, &b) || b < a)
            return ERR_FORMAT;
    }
    if (*s++ != '/')
        return ERR_FORMAT;
    if (*s == '*') {
        s++;
        if (a == UINT64_MAX) /* "*" and "*": says nothing */
            return ERR_FORMAT;
    } else if (parse_u63(&s, &t) || (b != UINT64_MAX && b >= t)) {
        return ERR_FORMAT;
    }
    while (*s == ' ')
        s++;
    if (*s)
        return ERR_FORMAT;
    *ret_start = a;
    *ret_end = b;
    *ret_total = t;
    return 0;
}

/* The progress line: a bar with the size known, else the bytes so far. */
static void draw_bar(struct client *c, int force)
{
    char line[160], bar[BAR_CELLS + 1];
    if (c->total) {
        int cells = (int)(c->have * BAR_CELLS / c->total);
        if (cells == c->bar && !force)
            return;
        c->bar = cells;
        for (int i = 0; i < BAR_CELLS; i++)
            bar[i] = i < cells ? '#' : '.';
        bar[BAR_CELLS] = 0;
        fmt_snprintf(line, sizeof line, "Downloading %s [%s] %3d%% %.1f/%.1f MiB", c->name, bar,
                     (int)(c->have * 100 / c->total), mib(c->have), mib(c->total));
    } else {
        if (c->have - c->bar_bytes < (1u << 20) && !force && c->bar >= 0)
            return;
        c->bar = 0;
        c->bar_bytes = c->have;
        fmt_snprintf(line, sizeof line, "Downloading %s: %.1f MiB", c->name, mib(c->have));
    }
    c->hooks.progress(c->hooks.ctx, line);
    c->progress_open = 1;
}

/* Writes the buffered bytes to the part file (and flushes now and then, so
 * a power cut keeps most of a long download). */
static int write_out(struct client *c, int flush)
{
    int rc = 0;
    if (c->wlen && (rc = plat_file_write(c->file, c->wbuf, c->wlen)) == 0) {
        c->since_flush += c->wlen;
        c->wlen = 0;
    }
    if (rc == 0 && (flush || c->since_flush >= FLUSH_EVERY)) {
        rc = plat_file_flush(c->file);
        c->since_flush = 0;
    }
    return rc;
}

static void part_close(struct client *c)
{
    if (c->file)
        plat_file_close(c->file);
    if (c->hash_file)
        plat_file_close(c->hash_file);
    c->file = c->hash_file = NULL;
}

/* The download ends. keep: leave the part file for a later resume (when
 * it holds anything). */
static void download_end(struct client *c, int keep)
{
    conn_close(c, 1);
    int wrc = c->file ? write_out(c, 1) : 0;
    part_close(c);
    if (wrc)
        keep = 0; /* what reached the file is unknown: do not resume from it */
    if (keep && c->have) {
        say(c, "download: %s kept (%llu bytes); /download with the same URL resumes it",
            c->part, (unsigned long long)c->have);
    } else if (plat_file_delete(c->part) == 0 && c->have) {
        say(c, "download: deleted %s", c->part);
    }
    c->job = JOB_NONE;
}

static void download_fail(struct client *c, int keep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void download_fail(struct client *c, int keep, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    say(c, "download: %s", msg);
    download_end(c, keep);
}

/* A write failed: a full volume loses the part file (it cannot finish). */
static void write_failed(struct client *c, int rc)
{
    if (rc == ERR_VOLUME_FULL)
        download_fail(c, 0, "the volume is full after %llu bytes of %s",
                      (unsigned long long)c->have, c->name);
    else if (rc == ERR_WRITE_PROTECTED)
        download_fail(c, 0, "the volume is write-protected");
    else
        download_fail(c, 0, "cannot write %s: %s", c->part, err_str(rc));
}

/* Truncates the part file: the next bytes are the file's first. */
static int part_restart(struct client *c)
{
    part_close(c);
    c->have = c->wlen = 0;
    c->since_flush = 0;
    sha256_init(&c->sha);
    return plat_file_create(c->part, (plat_file **)&c->file);
}

static void dl_body(void *ctx, const void *data, size_t len)
{
    struct client *c = ctx;
    const char *p = data;
    if (!c->attempt_ok)
        return;
    if (c->total && len > c->total - c->have) { /* a chunked body longer than announced */
        c->attempt_ok = 0;
        c->fatal = 1;
        str_copy(c->err, sizeof c->err, "the server sent more bytes than the file's size");
        return;
    }
    if (len > CLIENT_FILE_MAX - c->have) {
        c->attempt_ok = 0;
        c->fatal = 1;
        str_copy(c->err, sizeof c->err, "the file is larger than a FAT volume can hold (4 GiB)");
        return;
    }
    sha256_update(&c->sha, p, len);
    c->have += len;
    while (len) {
        size_t k = MIN(len, WRITE_BUF - c->wlen);
        memcpy(c->wbuf + c->wlen, p, k);
        c->wlen += k;
        p += k;
        len -= k;
        if (c->wlen == WRITE_BUF) {
            int rc = write_out(c, 0);
            if (rc) {
                c->attempt_ok = 0;
                c->fatal = rc; /* negative: a write error */
                return;
            }
        }
    }
}

/* The answer's status decides what its body is: the file from 0 (200),
 * the rest from our offset (206), nothing (416: maybe complete). */
static void dl_head(void *ctx, const struct http_msg *resp)
{
    struct client *c = ctx;
    uint64_t a, b, t, len = resp->content_length >= 0 ? (uint64_t)resp->content_length : 0;
    const char *cr = http_header(resp, "Content-Range");
    c->attempt_ok = 0;
    if (resp->status == 200) {
        if (c->have) { /* Range ignored: the whole file comes again */
            say(c, "download: the server ignores Range; starting over from 0");
            c->no_range = 1;
            if (part_restart(c) != 0) {
                c->fatal = 1;
                str_copy(c->err, sizeof c->err, "cannot truncate the part file");
                return;
            }
        }
        c->total = resp->content_length > 0 ? len : 0;
    } else if (resp->status == 206) {
        if (!cr || client_parse_content_range(cr, &a, &b, &t) || a != c->have ||
            (resp->content_length >= 0 && len != b - a + 1)) {
            c->no_range = c->restart = 1; /* trust no ranges from this server */
            str_copy(c->err, sizeof c->err, "the server's Content-Range does not fit our request");
            return;
        }
        c->total = t != UINT64_MAX ? t : 0;
    } else if (resp->status == 416) {
        if (cr && client_parse_content_range(cr, &a, &b, &t) == 0 && t == c->have)
            c->complete = 1; /* the part is the whole file */
        else
            c->restart = 1;
        return;
    } else {
        fmt_snprintf(c->err, sizeof c->err, "HTTP %d %s", resp->status, http_reason(resp->status));
        c->fatal = resp->status < 500; /* 5xx may pass: retried */
        return;
    }
    if (c->total > CLIENT_FILE_MAX) {
        c->fatal = 1;
        fmt_snprintf(c->err, sizeof c->err, "the file has %llu bytes, more than a FAT volume "
                     "can hold in one file (4 GiB)", (unsigned long long)c->total);
        return;
    }
    c->attempt_ok = 1;
    draw_bar(c, 1);
}

/* The part is complete: check the digest, rename it to its name. */
static void download_complete(struct client *c)
{
    uint8_t d[SHA256_BYTES];
    char hex[SHA256_HEX], want[SHA256_HEX];
    int rc = write_out(c, 1);
    conn_close(c, 0);
    if (rc) {
        write_failed(c, rc);
        return;
    }
    part_close(c);
    draw_bar(c, 1);
    sha256_final(&c->sha, d);
    sha256_to_hex(d, hex);
    if (c->check && memcmp(d, c->want, sizeof d) != 0) {
        sha256_to_hex(c->want, want);
        say(c, "download: SHA-256 mismatch for %s: got %s, expected %s", c->name, hex, want);
        c->have = 0; /* nothing is kept */
        download_end(c, 0);
        say(c, "download: deleted %s", c->part);
        return;
    }
    rc = plat_file_rename(c->part, c->path);
    if (rc == ERR_EXISTS) {
        say(c, "download: %s exists already (FAT cannot rename over it): the download "
            "stays in %s; delete %s and download again", c->path, c->part, c->path);
        c->job = JOB_NONE;
        return;
    }
    if (rc) {
        say(c, "download: cannot rename %s to %s: %s", c->part, c->path, err_str(rc));
        c->job = JOB_NONE;
        return;
    }
    say(c, "download: %s: %llu bytes, SHA-256 %s (%s)", c->path, (unsigned long long)c->have,
        hex, c->check ? "verified" : "not checked: give the digest to check it");
    c->job = JOB_NONE;
    c->hooks.downloaded(c->hooks.ctx, c->path);
}

/* Sends the GET for the bytes still missing. */
static int dl_start_http(struct client *c, uint64_t now)
{
    char range[64] = "";
    if (c->have && !c->no_range)
        fmt_snprintf(range, sizeof range, "Range: bytes=%llu-\r\n", (unsigned long long)c->have);
    struct http_client_req r = {
        .method = "GET", .host = c->url.authority, .path = c->url.path,
        .headers = range[0] ? range : NULL, .keep_alive = 0, .on_head = dl_head,
        .on_body = dl_body, .on_done = on_done, .ctx = c};
    c->http_done = 0;
    c->attempt_ok = c->restart = c->complete = c->fatal = 0;
    c->err[0] = 0;
    c->attempt_start_have = c->have;
    c->attempts++;
    int rc = http_client_start(&c->http, &c->st, &r, now);
    if (rc)
        str_copy(c->err, sizeof c->err, c->http.err);
    return rc;
}

/* An attempt ended without the whole file: try again after a back-off
 * (1, 2, 4, 8 s ...), or give up after CLIENT_RETRIES without progress. */
static void dl_retry(struct client *c, uint64_t now, int connected_once)
{
    conn_close(c, 1);
    int rc = write_out(c, 1);
    if (rc) {
        write_failed(c, rc);
        return;
    }
    if (c->have > c->attempt_start_have)
        c->fails = 0;
    c->fails++;
    if (c->fails > CLIENT_RETRIES || !connected_once) {
        download_fail(c, 1, "%s%s", c->err, c->fails > CLIENT_RETRIES ? "; giving up" : "");
        return;
    }
    if (c->restart && part_restart(c) != 0) {
        download_fail(c, 0, "cannot truncate %s", c->part);
        return;
    }
    uint64_t wait = 1000000ull << MIN(c->fails - 1, 5);
    say(c, "download: %s; retrying in %llu s from byte %llu", c->err,
        (unsigned long long)(wait / 1000000), (unsigned long long)c->have);
    c->retry_at = now + wait;
    c->phase = PH_WAIT;
}

/* The exchange ended (or the head said to stop): what next. */
static void dl_attempt_over(struct client *c, uint64_t now)
{
    if (c->fatal < 0) {
        int rc = c->fatal;
        conn_close(c, 1);
        write_failed(c, rc);
    } else if (c->fatal) {
        conn_close(c, 1);
        download_fail(c, 1, "%s", c->err);
    } else if (c->complete) {
        download_complete(c);
    } else if (c->restart) {
        dl_retry(c, now, 1);
    } else if (c->http_done && c->http_rc == 0 && c->attempt_ok &&
               (!c->total || c->have == c->total)) {
        download_complete(c);
    } else {
        if (!c->err[0])
            str_copy(c->err, sizeof c->err,
                     c->http.err[0] ? c->http.err : "the connection ended early");
        dl_retry(c, now, 1);
    }
}

/* Hashes HASH_STEP more bytes of an earlier .part (resume); then opens it
 * for appending and goes on to connect. */
static int dl_hash_step(struct client *c, uint64_t now)
{
    size_t got = 0;
    int rc = plat_file_read(c->hash_file, c->wbuf, MIN((size_t)WRITE_BUF, HASH_STEP), &got);
    if (rc) {
        download_fail(c, 1, "cannot read %s: %s", c->part, err_str(rc));
        return 1;
    }
    if (got) {
        sha256_update(&c->sha, c->wbuf, got);
        c->have += got;
        return 1;
    }
    plat_file_close(c->hash_file);
    c->hash_file = NULL;
    if ((rc = plat_file_append(c->part, (plat_file **)&c->file)) != 0) {
        write_failed(c, rc);
        return 1;
    }
    if ((rc = conn_start(c, now)) != 0)
        download_fail(c, 1, "%s", c->err);
    return 1;
}

static int download_step(struct client *c, uint64_t now)
{
    if (c->phase == PH_HASH)
        return dl_hash_step(c, now);
    if (c->phase == PH_WAIT) {
        if (now < c->retry_at)
            return 0;
        int rc = conn_start(c, now);
        if (rc && rc != ERR_AGAIN) {
            download_fail(c, 1, "%s", c->err);
            return 1;
        }
        if (rc == ERR_AGAIN) /* no address (DHCP): wait some more */
            c->retry_at = now + 1000000;
        return 1;
    }
    if (c->phase != PH_HTTP) {
        int rc = conn_step(c, now);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc == 0)
            rc = dl_start_http(c, now);
        if (rc) {
            dl_retry(c, now, c->attempts > 0);
            return 1;
        }
    }
    uint64_t before = c->http.bytes_in;
    int rc = http_client_poll(&c->http, now);
    if (c->job == JOB_DOWNLOAD && c->have)
        draw_bar(c, 0);
    if (rc != ERR_AGAIN || c->fatal || c->restart || c->complete)
        dl_attempt_over(c, now);
    return c->http.bytes_in != before || c->job != JOB_DOWNLOAD || c->phase != PH_HTTP;
}

int client_download_command(struct client *c, const char *args, uint64_t now_us)
{
    char url[2300];
    const char *why = NULL, *digest;
    size_t n = 0;
    uint64_t size = 0;
    int rc;
    if (c->job)
        return ERR_INVAL;
    if (!c->mem) {
        say(c, "download: not available (out of memory)");
        return ERR_NOMEM;
    }
    while (args[n] && args[n] != ' ')
        n++;
    digest = args + n;
    while (*digest == ' ')
        digest++;
    if (n == 0 || n >= sizeof url) {
        say(c, "download: /download http://host[:port]/path/NAME [SHA256] saves models/NAME");
        return ERR_INVAL;
    }
    memcpy(url, args, n);
    url[n] = 0;
    c->check = digest[0] != 0;
    if (c->check && sha256_from_hex(digest, c->want) != 0) {
        say(c, "download: the digest must be 64 hex digits (SHA-256)");
        return ERR_INVAL;
    }
    if ((rc = http_parse_url(url, &c->url, &why)) != 0 ||
        (rc = client_file_name(c->url.path, c->name, sizeof c->name, &why)) != 0) {
        say(c, "download: %s: %s", url, why ? why : err_str(rc));
        return rc;
    }
    fmt_snprintf(c->path, sizeof c->path, "models/%s", c->name);
    fmt_snprintf(c->part, sizeof c->part, "models/%s.part", c->name);
    plat_file *f;
    if (plat_file_open(c->path, &f) == 0) {
        plat_file_close(f);
        say(c, "download: %s exists already; delete it first (the volume's FAT cannot "
            "replace a file by renaming)", c->path);
        return ERR_EXISTS;
    }
    if ((rc = plat_mkdir("models")) != 0) {
        say(c, "download: cannot create the models directory: %s", err_str(rc));
        return rc;
    }
    sha256_init(&c->sha);
    c->have = c->total = c->wlen = c->since_flush = 0;
    c->no_range = c->fails = c->attempts = 0;
    c->bar = -1;
    c->bar_bytes = 0;
    c->ip = 0;
    c->err[0] = 0;
    c->file = c->hash_file = NULL;
    rc = plat_file_open(c->part, (plat_file **)&c->hash_file);
    if (rc == 0 && plat_file_size(c->hash_file, &size) == 0 && size > 0) {
        say(c, "download: resuming %s (%llu bytes there; checking them)", c->part,
            (unsigned long long)size);
        c->job = JOB_DOWNLOAD;
        c->phase = PH_HASH;
        return 0;
    }
    part_close(c);
    if ((rc = plat_file_create(c->part, (plat_file **)&c->file)) != 0) {
        say(c, "download: cannot create %s: %s", c->part, err_str(rc));
        return rc;
    }
    c->job = JOB_DOWNLOAD;
    if ((rc = conn_start(c, now_us)) != 0) {
        download_fail(c, 0, "%s", c->err);
        return rc;
    }
    say(c, "download: %s -> %s", url, c->path);
    return 0;
}

/* ---- the job ---------------------------------------------------------------------------- */

int client_step(struct client *c, uint64_t now_us)
{
    switch (c->job) {
    case JOB_REMOTE:
        return remote_step(c, now_us);
    case JOB_DOWNLOAD:
        return download_step(c, now_us);
    default:
        return 0;
    }
}

static void end_job(struct client *c)
{
    if (c->job == JOB_REMOTE) {
        c->hooks.text(c->hooks.ctx, "\n", 1);
        c->err[0] = 0;
        conn_close(c, 1);
        if (c->reply_len) { /* what arrived stays in the conversation, as locally */
            history_add(c, 0, c->user, strlen(c->user));
            history_add(c, 1, c->reply, c->reply_len);
        }
        tb_free(&c->req);
        c->job = JOB_NONE;
        say(c, "[remote: stopped after %d chunks]", c->chunks);
    } else if (c->job == JOB_DOWNLOAD) {
        say(c, "download: stopped");
        download_end(c, 1);
    }
}

void client_stop(struct client *c)
{
    end_job(c);
}
