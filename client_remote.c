/* client_remote.c - remote inference (client.h): /remote, the chat
 * completion request with the conversation so far, and its answer streamed
 * as server-sent events (or one JSON object) to the console. */
#include "client_int.h"

#include "errors.h"
#include "lib.h"

#define REMOTE_TIMEOUT_US 120000000ull /* a big remote model may think a while */

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

int client_remote_on(const struct client *c)
{
    return c->remote_on;
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
    c->sse_mode = resp->status == 200 && type && client_starts_with_ci(type, "text/event-stream");
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

/* The prompt being answered and its reply join the conversation. */
static void history_keep(struct client *c)
{
    history_add(c, 0, c->user, strlen(c->user));
    history_add(c, 1, c->reply, c->reply_len);
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
            client_msg(c, "remote: prompts go to http://%s%s%s%s (/remote off: the local model)",
                       c->remote.authority, c->remote.path, c->remote_model[0] ? " as " : "",
                       c->remote_model);
        else
            client_msg(c, "remote: off; /remote http://host:port[/v1] [MODEL] sends prompts there");
        return;
    }
    if (!str_casecmp(args, "off")) {
        if (c->job == JOB_REMOTE)
            client_stop(c);
        c->remote_on = 0;
        client_msg(c, "remote: off; prompts go to the local model");
        return;
    }
    const char *m = args + n;
    while (*m == ' ')
        m++;
    if (n >= sizeof url || strlen(m) >= sizeof model || strchr(m, ' ')) {
        client_msg(c, "remote: /remote URL [MODEL] (one URL, one model name)");
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
        client_msg(c, "remote: %s: %s", url, why ? why : err_str(rc));
        return;
    }
    c->remote = u;
    str_copy(c->remote_model, sizeof c->remote_model, model);
    c->remote_on = 1;
    client_msg(c, "remote: prompts go to http://%s%s (/remote off: the local model)", u.authority,
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
        client_msg(c, "remote: not available (out of memory)");
        return ERR_NOMEM;
    }
    if (g->key && g->key[0] && (strchr(g->key, '\r') || strchr(g->key, '\n')))
        return ERR_INVAL; /* config.c allows no control characters; belt and braces */
    if (build_request(c, prompt, g) != 0) {
        client_msg(c, "remote: out of memory for the request");
        tb_free(&c->req);
        return ERR_NOMEM;
    }
    c->url = c->remote;
    c->ip = 0;
    c->err[0] = 0;
    int rc = client_conn_start(c, now_us);
    if (rc) {
        client_msg(c, "remote: %s", c->err);
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
        .on_done = client_on_done, .ctx = c};
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
    client_conn_close(c, c->bad_stream || (!c->http_done && !c->got_done));
    if (status && status != 200) {
        error_message(c, msg, sizeof msg);
        client_msg(c, "remote: HTTP %d %s%s%s", status, http_reason(status), msg[0] ? ": " : "",
                   msg);
        c->err[0] = 0;
    } else if (c->err[0] && !c->reply_len) {
        client_msg(c, "remote: %s", c->err);
    } else if (status == 200 && !c->sse_mode) { /* the server did not stream: one object */
        size_t n;
        int rc = client_answer_text(c->body, c->body_len, c->tok, N_TOK, c->text, TEXT_BUF, &n,
                                    msg, sizeof msg);
        if (rc)
            client_msg(c, "remote: %s%s",
                       rc == ERR_IO ? "the server reported: " : "bad answer: ", msg);
        else
            emit_text(c, c->text, n);
    }
    if (c->reply_len) {
        history_keep(c);
        c->hooks.text(c->hooks.ctx, "\n", 1);
        if (c->err[0])
            client_msg(c, "remote: %s", c->err);
        else if (c->sse_mode && !c->got_done)
            client_msg(c, "remote: the stream ended without [DONE]; the answer may be cut");
        client_msg(c, "[remote: %d chunks, %.1f s]", c->chunks, (double)(now - c->t_start) / 1e6);
    } else if (c->sse_mode && !c->err[0]) {
        client_msg(c, "remote: the answer was empty");
    }
    tb_free(&c->req);
    c->job = JOB_NONE;
}

int client_remote_step(struct client *c, uint64_t now)
{
    if (c->phase != PH_HTTP) {
        int rc = client_conn_step(c, now);
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

/* Esc: what arrived stays in the conversation, as locally. */
void client_remote_stop(struct client *c)
{
    c->hooks.text(c->hooks.ctx, "\n", 1);
    c->err[0] = 0;
    client_conn_close(c, 1);
    if (c->reply_len)
        history_keep(c);
    tb_free(&c->req);
    c->job = JOB_NONE;
    client_msg(c, "[remote: stopped after %d chunks]", c->chunks);
}
