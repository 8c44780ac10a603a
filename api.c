/* api.c - the OpenAI-compatible HTTP API and the chat page (api.h). */
#include "api.h"

#include "engine.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"
#include "template.h"
#include "tokenizer.h"

#define API_TURN_BYTES (CHAT_ARENA_BYTES + 16384)
#define API_JSON_TOKENS 2048
#define API_TEXT_MAX 8192          /* bytes of one message or prompt */
#define STREAM_ROOM 2048           /* client buffer space before the next token */

extern const unsigned char web_chat_html[];
extern const unsigned long web_chat_html_len;

/* ---- small helpers ----------------------------------------------------------------- */

static void say(struct api *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct api *a, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (a->hooks.say)
        a->hooks.say(a->hooks.ctx, line);
}

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8
 * sequence (a token can be one byte of a character). */
static size_t utf8_whole(const char *s, size_t n)
{
    size_t i = n, back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return back + 1 >= need || need == 1 ? n : i - 1;
}

/* Compares secrets without an early exit (the time says nothing). */
static int same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned diff = (unsigned)(na != nb);
    for (size_t i = 0; i < nb; i++)
        diff |= (unsigned)(unsigned char)(a[i < na ? i : 0] ^ b[i]);
    return diff == 0;
}

static int json_reply(struct http_conn *c, int status, struct textbuf *b)
{
    int rc = http_respond(c, status, "application/json", b->p, b->len);
    if (rc == ERR_RANGE) { /* larger than the connection's buffer: stream it */
        if ((rc = http_stream_begin(c, status, "application/json", NULL)) == 0 &&
            (rc = http_stream_write_all(c, b->p, b->len)) == 0)
            rc = http_stream_end(c);
    }
    return rc;
}

/* {"error": {"message": msg, "type": type}} with status. */
static void error_reply(struct http_conn *c, int status, const char *type, const char *msg)
{
    struct textbuf b;
    struct json_writer w;
    tb_init_grow(&b);
    json_w_init(&w, &b, 0);
    json_w_begin_object(&w);
    json_w_key(&w, "error");
    json_w_begin_object(&w);
    json_w_key(&w, "message");
    json_w_string(&w, msg);
    json_w_key(&w, "type");
    json_w_string(&w, type);
    json_w_end_object(&w);
    json_w_end_object(&w);
    json_w_finish(&w);
    tb_put(&b, "\n", 1);
    json_reply(c, status, &b);
    tb_free(&b);
}

static const char *model_id(struct api *a)
{
    const char *m = a->hooks.model_name ? a->hooks.model_name(a->hooks.ctx, 0) : NULL;
    return m ? m : "none";
}

/* ---- simple endpoints -------------------------------------------------------------- */

static void health(struct api *a, struct http_conn *c)
{
    struct textbuf b;
    struct json_writer w;
    const char *m = a->hooks.model_name ? a->hooks.model_name(a->hooks.ctx, 0) : NULL;
    tb_init_grow(&b);
    json_w_init(&w, &b, 0);
    json_w_begin_object(&w);
    json_w_key(&w, "status");
    json_w_string(&w, "ok");
    json_w_key(&w, "model");
    json_w_string(&w, m);
    json_w_key(&w, "queue");
    json_w_int(&w, a->count);
    json_w_key(&w, "busy");
    json_w_bool(&w, a->running);
    json_w_end_object(&w);
    json_w_finish(&w);
    tb_put(&b, "\n", 1);
    json_reply(c, 200, &b);
    tb_free(&b);
}

static void models(struct api *a, struct http_conn *c)
{
    struct textbuf b;
    struct json_writer w;
    tb_init_grow(&b);
    json_w_init(&w, &b, 0);
    json_w_begin_object(&w);
    json_w_key(&w, "object");
    json_w_string(&w, "list");
    json_w_key(&w, "data");
    json_w_begin_array(&w);
    for (int i = 0; a->hooks.model_name && i < 64; i++) {
        const char *name = a->hooks.model_name(a->hooks.ctx, i);
        if (!name)
            break;
        json_w_begin_object(&w);
        json_w_key(&w, "id");
        json_w_string(&w, name);
        json_w_key(&w, "object");
        json_w_string(&w, "model");
        json_w_key(&w, "created");
        json_w_int(&w, 0);
        json_w_key(&w, "owned_by");
        json_w_string(&w, "llm-baremetal");
        json_w_end_object(&w);
    }
    json_w_end_array(&w);
    json_w_end_object(&w);
    json_w_finish(&w);
    tb_put(&b, "\n", 1);
    json_reply(c, 200, &b);
    tb_free(&b);
}

/* ---- requests ------------------------------------------------------------------------ */

/* Reads the sampling fields of a request body into job; err gets the reason. */
static int parse_params(const struct json_doc *d, struct api_job *job, int default_max,
                        char *err, size_t cap)
{
    int64_t v;
    float f;
    int b, k;

    job->max_tokens = default_max;
    job->temperature = 1.0f;
    job->top_p = 1.0f;
    if ((k = json_find(d, 0, "max_tokens")) >= 0 && json_type(d, k) != JSON_NULL) {
        if (json_int(d, k, &v) || v < 1 || v > 1000000) {
            str_copy(err, cap, "max_tokens must be a whole number >= 1");
            return ERR_FORMAT;
        }
        job->max_tokens = (int)v;
    }
    if ((k = json_find(d, 0, "temperature")) >= 0 && json_type(d, k) != JSON_NULL) {
        if (json_float(d, k, &f) || !(f >= 0 && f <= 2)) {
            str_copy(err, cap, "temperature must be a number in 0..2");
            return ERR_FORMAT;
        }
        job->temperature = f;
    }
    if ((k = json_find(d, 0, "top_p")) >= 0 && json_type(d, k) != JSON_NULL) {
        if (json_float(d, k, &f) || !(f > 0 && f <= 1)) {
            str_copy(err, cap, "top_p must be a number in (0, 1]");
            return ERR_FORMAT;
        }
        job->top_p = f;
    }
    if ((k = json_find(d, 0, "seed")) >= 0 && json_type(d, k) != JSON_NULL &&
        json_u64(d, k, &job->seed)) {
        str_copy(err, cap, "seed must be a whole number >= 0");
        return ERR_FORMAT;
    }
    if ((k = json_find(d, 0, "stream")) >= 0 && json_type(d, k) != JSON_NULL) {
        if (json_bool(d, k, &b)) {
            str_copy(err, cap, "stream must be true or false");
            return ERR_FORMAT;
        }
        job->stream = b;
    }
    if ((k = json_find(d, 0, "stop")) >= 0 && json_type(d, k) != JSON_NULL) {
        int one = json_type(d, k) == JSON_STRING, n = one ? 1 : json_len(d, k);
        if ((!one && json_type(d, k) != JSON_ARRAY) || n > API_MAX_STOPS) {
            str_copy(err, cap, "stop must be a string or an array of up to 4 strings");
            return ERR_FORMAT;
        }
        for (int i = 0; i < n; i++) {
            size_t len;
            if (json_string(d, one ? k : json_at(d, k, i), job->stops[job->n_stops],
                            API_STOP_MAX, &len) ||
                len != strlen(job->stops[job->n_stops])) {
                str_copy(err, cap, "each stop string must be text of at most 63 bytes");
                return ERR_FORMAT;
            }
            job->n_stops += len > 0;
        }
    }
    return 0;
}

/* The request body of job, parsed (tokens static: one request at a time). */
static int parse_body(const struct api_job *job, struct json_doc *d)
{
    static struct json_tok tok[API_JSON_TOKENS];
    int rc = json_parse(d, "request", job->body, job->body_len, tok, API_JSON_TOKENS);
    if (rc == 0 && json_type(d, 0) != JSON_OBJECT) {
        str_copy(d->err, sizeof d->err, "request: the body must be a JSON object");
        rc = ERR_FORMAT;
    }
    return rc;
}

/* Checks a generation request at arrival, so that a bad one is answered at
 * once (400) and never queued. */
static int check_request(struct api *a, struct api_job *job, char *err, size_t cap)
{
    struct json_doc d;
    int k;
    if (parse_body(job, &d) != 0) {
        str_copy(err, cap, d.err);
        return ERR_FORMAT;
    }
    if (parse_params(&d, job, job->chat ? a->set.steps : 16, err, cap))
        return ERR_FORMAT;
    if (!job->chat) {
        k = json_find(&d, 0, "prompt");
        if (json_type(&d, k) == JSON_ARRAY && json_len(&d, k) == 1)
            k = json_at(&d, k, 0); /* ["text"]: one prompt */
        if (json_type(&d, k) != JSON_STRING || d.tok[k].end - d.tok[k].start > API_TEXT_MAX) {
            str_copy(err, cap, "prompt must be a string (of at most 8192 bytes)");
            return ERR_FORMAT;
        }
        return 0;
    }
    k = json_find(&d, 0, "messages");
    int n = json_len(&d, k);
    if (json_type(&d, k) != JSON_ARRAY || n < 1) {
        str_copy(err, cap, "messages must be a non-empty array");
        return ERR_FORMAT;
    }
    for (int i = 0; i < n; i++) {
        int m = json_at(&d, k, i), role = json_find(&d, m, "role");
        int content = json_find(&d, m, "content");
        char r[16];
        if (json_string(&d, role, r, sizeof r, NULL) ||
            (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant")) ||
            json_type(&d, content) != JSON_STRING ||
            d.tok[content].end - d.tok[content].start > API_TEXT_MAX) {
            fmt_snprintf(err, cap,
                         "messages[%d] must be {\"role\": system|user|assistant, "
                         "\"content\": text of at most 8192 bytes}",
                         i);
            return ERR_FORMAT;
        }
        if (i == n - 1 && strcmp(r, "user")) {
            str_copy(err, cap, "the last message must be the user's");
            return ERR_FORMAT;
        }
    }
    return 0;
}

/* Access to /v1/...: 0 when allowed, else answered with 401. */
static int authorized(struct api *a, struct http_conn *c, const struct http_msg *req)
{
    const char *token = NULL;
    if (!a->api_key[0]) {
        if (a->set.api_open)
            return 1;
        error_reply(c, 401, "authentication_error",
                    "the API is closed: set api_key=SECRET (clients send Authorization: "
                    "Bearer SECRET) or api_open=1 in llm.cfg");
        return 0;
    }
    if (http_bearer_token(req, &token) == 0 && token && same_secret(token, a->api_key))
        return 1;
    say(a, "api: 401 %s %s: %s bearer token", req->method_name, req->path,
        token ? "wrong" : "no");
    error_reply(c, 401, "authentication_error", "missing or wrong bearer token");
    return 0;
}

static void free_job(struct api_job *job)
{
    if (job->body)
        plat_free(job->body, job->body_len + 1);
    memset(job, 0, sizeof *job);
}

/* Queues a generation request, or answers it (400, 503) at once. */
static int enqueue(struct api *a, struct http_conn *c, const struct http_msg *req, int chat)
{
    char err[256];
    if (a->count == API_QUEUE) {
        error_reply(c, 503, "server_busy", "the queue is full; try again shortly");
        return HTTP_HANDLED;
    }
    struct api_job *job = &a->queue[(a->head + a->count) % API_QUEUE];
    memset(job, 0, sizeof *job);
    job->chat = chat;
    job->body_len = req->body_len;
    job->body = plat_alloc(req->body_len + 1);
    if (!job->body) {
        error_reply(c, 503, "server_busy", "out of memory");
        return HTTP_HANDLED;
    }
    memcpy(job->body, req->body, req->body_len);
    if (check_request(a, job, err, sizeof err) != 0) {
        free_job(job);
        error_reply(c, 400, "invalid_request_error", err);
        return HTTP_HANDLED;
    }
    job->conn = c;
    job->serial = http_conn_serial(c);
    job->id = ++a->next_id;
    job->created_s = plat_time_wall();
    job->start_us = plat_time_us();
    a->count++;
    return HTTP_PENDING;
}

static int handle(void *ctx, struct http_conn *c, const struct http_msg *req)
{
    struct api *a = ctx;
    const char *p = req->path;
    int get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    int post = req->method == HTTP_POST;
    const char *allow = NULL;

    if (!strcmp(p, "/health")) {
        if (get)
            health(a, c);
        allow = "GET, HEAD";
    } else if (!strcmp(p, "/") || !strcmp(p, "/index.html")) {
        if (get)
            http_respond(c, 200, "text/html; charset=utf-8", web_chat_html,
                         (size_t)web_chat_html_len);
        allow = "GET, HEAD";
    } else if (!strcmp(p, "/v1/models")) {
        if (get && authorized(a, c, req))
            models(a, c);
        allow = "GET, HEAD";
    } else if (!strcmp(p, "/v1/completions") || !strcmp(p, "/v1/chat/completions")) {
        if (post)
            return authorized(a, c, req) ? enqueue(a, c, req, p[4] == 'c' && p[5] == 'h')
                                         : HTTP_HANDLED;
        allow = "POST";
    } else {
        error_reply(c, 404, "not_found", "no such endpoint");
        return HTTP_HANDLED;
    }
    if ((allow[0] == 'G' && !get) || (allow[0] == 'P' && !post)) {
        char extra[64];
        fmt_snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        http_respond_ex(c, 405, "text/plain", extra, "method not allowed\n", 19);
    }
    return HTTP_HANDLED;
}

/* ---- running a request ------------------------------------------------------------- */

static struct api_job *current(struct api *a)
{
    return a->running ? &a->queue[a->head] : NULL;
}

/* The reply text as it comes (only the reply: the prompt is not echoed);
 * an API stop string ends it. */
static void collect(const char *s, size_t n, void *ctx)
{
    struct api *a = ctx;
    struct api_job *job = current(a);
    size_t before = a->out.len;
    if (a->stop_hit || !job)
        return;
    tb_put(&a->out, s, n);
    for (int i = 0; i < job->n_stops; i++) {
        size_t sl = strlen(job->stops[i]);
        size_t from = before + 1 > sl ? before + 1 - sl : 0;
        for (size_t at = from; at + sl <= a->out.len; at++) {
            if (!memcmp(a->out.p + at, job->stops[i], sl)) {
                a->out.len = at;
                a->out.p[at] = 0;
                a->stop_hit = 1;
                return;
            }
        }
    }
}

static size_t longest_stop(const struct api_job *job)
{
    size_t m = 0;
    for (int i = 0; i < job->n_stops; i++)
        m = MAX(m, strlen(job->stops[i]));
    return m;
}

/* The object around a piece of text: a streamed chunk (done: with its
 * finish_reason) or the whole answer with usage. */
static void write_choice(struct api *a, struct json_writer *w, const char *text, size_t n,
                         int chunk, const char *finish)
{
    const struct api_job *job = current(a);
    char id[32];
    fmt_snprintf(id, sizeof id, "%s-%d", job->chat ? "chatcmpl" : "cmpl", job->id);
    json_w_begin_object(w);
    json_w_key(w, "id");
    json_w_string(w, id);
    json_w_key(w, "object");
    json_w_string(w, job->chat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                               : "text_completion");
    json_w_key(w, "created");
    json_w_uint(w, job->created_s);
    json_w_key(w, "model");
    json_w_string(w, model_id(a));
    json_w_key(w, "choices");
    json_w_begin_array(w);
    json_w_begin_object(w);
    json_w_key(w, "index");
    json_w_int(w, 0);
    if (job->chat) {
        json_w_key(w, chunk ? "delta" : "message");
        json_w_begin_object(w);
        if (!chunk || a->sent == 0) {
            json_w_key(w, "role");
            json_w_string(w, "assistant");
        }
        if (text) {
            json_w_key(w, "content");
            json_w_string_n(w, text, n);
        }
        json_w_end_object(w);
    } else {
        json_w_key(w, "text");
        json_w_string_n(w, text ? text : "", text ? n : 0);
        json_w_key(w, "logprobs");
        json_w_null(w);
    }
    json_w_key(w, "finish_reason");
    json_w_string(w, finish);
    json_w_end_object(w);
    json_w_end_array(w);
    if (!chunk) {
        json_w_key(w, "usage");
        json_w_begin_object(w);
        json_w_key(w, "prompt_tokens");
        json_w_int(w, a->gen.n_prompt);
        json_w_key(w, "completion_tokens");
        json_w_int(w, a->gen.n_gen);
        json_w_key(w, "total_tokens");
        json_w_int(w, a->gen.n_prompt + a->gen.n_gen);
        json_w_end_object(w);
    }
    json_w_end_object(w);
}

/* Sends one SSE chunk; ERR_AGAIN when the client's buffer is full. */
static int send_chunk(struct api *a, const char *text, size_t n, const char *finish)
{
    struct textbuf b;
    struct json_writer w;
    tb_init_grow(&b);
    json_w_init(&w, &b, 0);
    write_choice(a, &w, text, n, 1, finish);
    int rc = json_w_finish(&w);
    if (rc == 0)
        rc = http_sse_send(current(a)->conn, NULL, b.p, b.len);
    tb_free(&b);
    return rc;
}

/* Streams what may go out now: all of it when done, else up to what a stop
 * string could still claim and never half a UTF-8 character. */
static void stream_out(struct api *a, int done)
{
    struct api_job *job = current(a);
    size_t hold = done ? 0 : longest_stop(job) > 0 ? longest_stop(job) - 1 : 0;
    size_t upto = a->out.len > hold ? a->out.len - hold : 0;
    if (!done)
        upto = utf8_whole(a->out.p, upto);
    if (upto > a->sent && send_chunk(a, a->out.p + a->sent, upto - a->sent, NULL) == 0) {
        if (a->sent == 0)
            job->first_us = plat_time_us();
        a->sent = upto;
    }
}

/* "stop": a stop string or an end-of-text token ended the reply (also when
 * that token was the last one allowed); "length": the limit did. */
static const char *finish_reason(const struct api *a, const struct api_job *job)
{
    int n = a->gen.n_gen;
    if (a->stop_hit || (n > 0 && tokenizer_is_eog(a->gen.tok, a->gen.gen_ids[n - 1])))
        return "stop";
    return n >= job->max_tokens || a->gen.pos >= a->gen.req.limit_pos ? "length" : "stop";
}

/* The running job ends: the answer (or the stream's end) goes out. */
static void finish_job(struct api *a, int aborted)
{
    struct api_job *job = &a->queue[a->head];
    if (!aborted) {
        const char *finish = finish_reason(a, job);
        uint64_t ms = (plat_time_us() - job->start_us) / 1000;
        char first[48] = "";
        if (job->first_us)
            fmt_snprintf(first, sizeof first, ", first token sent at %llu ms",
                         (unsigned long long)((job->first_us - job->start_us) / 1000));
        say(a, "api: %s #%d: %d prompt + %d generated tokens, %llu ms%s, %.2f tok/s, %s",
            job->chat ? "chat" : "completion", job->id, a->gen.n_prompt, a->gen.n_gen,
            (unsigned long long)ms, first, gen_tokens_per_s(&a->gen), finish);
        if (job->stream) {
            stream_out(a, 1);
            send_chunk(a, NULL, 0, finish);
            http_sse_send(job->conn, NULL, "[DONE]", 6);
            http_stream_end(job->conn);
        } else {
            struct textbuf b;
            struct json_writer w;
            tb_init_grow(&b);
            json_w_init(&w, &b, 0);
            write_choice(a, &w, a->out.p ? a->out.p : "", a->out.len, 0, finish);
            if (json_w_finish(&w) == 0) {
                tb_put(&b, "\n", 1);
                json_reply(job->conn, 200, &b);
            }
            tb_free(&b);
        }
    }
    if (a->running) {
        gen_end(&a->gen);
        tb_free(&a->out);
    }
    free_job(job);
    a->head = (a->head + 1) % API_QUEUE;
    a->count--;
    a->running = 0;
}

/* Renders a chat request's messages in the template and starts the reply
 * to the last user message. Consecutive user messages are joined by a
 * newline (one turn of the template). */
static int render_chat(struct api *a, struct engine *e, const struct json_doc *d, int max_new)
{
    static char text[API_TEXT_MAX + 1], user[2 * API_TEXT_MAX + 2];
    int k = json_find(d, 0, "messages"), n = json_len(d, k), rc;
    const char *pending_user = NULL;

    chat_reset(&a->chat);
    a->chat.tpl = a->hooks.chat_template ? a->hooks.chat_template(a->hooks.ctx) : a->chat.tpl;
    a->chat.system[0] = 0;
    for (int i = 0; i < n; i++) {
        int m = json_at(d, k, i);
        char role[16];
        json_string(d, json_find(d, m, "role"), role, sizeof role, NULL);
        json_string(d, json_find(d, m, "content"), text, sizeof text, NULL);
        if (!strcmp(role, "system")) {
            str_copy(a->chat.system, sizeof a->chat.system, text);
        } else if (!strcmp(role, "user")) {
            size_t have = pending_user ? strlen(user) : 0, add = strlen(text);
            if (have + 1 + add >= sizeof user)
                return ERR_RANGE;
            if (have)
                user[have++] = '\n';
            memcpy(user + have, text, add + 1);
            pending_user = user;
        } else if (pending_user) { /* an assistant reply closes an exchange */
            if ((rc = chat_add_exchange(&a->chat, user, text, strlen(text))) != 0)
                return rc;
            pending_user = NULL;
        }
    }
    a->chat.kv_pos = -1; /* the engine's cache holds nothing of this conversation */
    return chat_begin_reply(&a->chat, e, user, max_new, a->turn_text, API_TURN_BYTES, &a->gen,
                            collect, a);
}

/* Starts the job at the head of the queue on engine e. */
static void start_job(struct api *a, struct engine *e)
{
    static const char *const no_stops[] = {NULL}; /* non-NULL: the prompt is not echoed */
    static char prompt[API_TEXT_MAX + 1];
    struct api_job *job = &a->queue[a->head];
    struct json_doc d;
    int rc;

    a->running = 1;
    a->sent = 0;
    a->stop_hit = 0;
    tb_init_grow(&a->out);
    if (a->hooks.cache_used)
        a->hooks.cache_used(a->hooks.ctx);
    e->sampler.temperature = job->temperature;
    e->sampler.topp = job->top_p;
    if (job->seed)
        e->sampler.rng_state = job->seed;
    if ((rc = parse_body(job, &d)) == 0) {
        if (job->chat) {
            rc = render_chat(a, e, &d, job->max_tokens);
        } else {
            int k = json_find(&d, 0, "prompt");
            if (json_type(&d, k) == JSON_ARRAY)
                k = json_at(&d, k, 0);
            json_string(&d, k, prompt, sizeof prompt, NULL);
            struct gen_request r = {prompt, 1, 0, e->model.cfg.seq_len, job->max_tokens,
                                    no_stops, {0}, 0, 0};
            rc = gen_begin_request(&a->gen, &e->model, &e->state, &e->tok, &e->sampler, &r,
                                   collect, a);
        }
    }
    if (rc) {
        error_reply(job->conn, rc == ERR_RANGE ? 400 : 500, "invalid_request_error",
                    rc == ERR_RANGE ? "the prompt does not fit in the model's context"
                                    : err_str(rc));
        memset(&a->gen, 0, sizeof a->gen);
        finish_job(a, 1);
        return;
    }
    if (job->stream &&
        http_stream_begin(job->conn, 200, "text/event-stream", "Cache-Control: no-cache\r\n"))
        finish_job(a, 1);
}

int api_step(struct api *a)
{
    struct api_job *job = current(a);
    if (!job)
        return 0;
    if (job->stream && http_stream_space(job->conn) < STREAM_ROOM)
        return 0; /* the client reads slowly: wait, the server keeps polling */
    gen_step(&a->gen);
    if (a->stop_hit)
        gen_stop(&a->gen);
    if (a->gen.done)
        finish_job(a, 0);
    else if (job->stream)
        stream_out(a, 0);
    return 1;
}

void api_poll(struct api *a, uint64_t now_us)
{
    http_server_poll(&a->server, now_us);
    if (a->running || a->count == 0)
        return;
    struct engine *e = a->hooks.engine ? a->hooks.engine(a->hooks.ctx) : NULL;
    if (e) {
        start_job(a, e);
    } else if (a->hooks.want_engine && a->hooks.want_engine(a->hooks.ctx) < 0) {
        error_reply(a->queue[a->head].conn, 503, "server_busy",
                    "no model is loaded and none could be loaded");
        finish_job(a, 1);
    }
}

int api_busy(const struct api *a)
{
    return a->count > 0;
}

/* ---- connections ------------------------------------------------------------------- */

/* The client went away: its queued request is dropped, a running one stops. */
static void on_abort(void *ctx, struct http_conn *c)
{
    struct api *a = ctx;
    for (int i = 0; i < a->count; i++) {
        struct api_job *job = &a->queue[(a->head + i) % API_QUEUE];
        if (job->conn != c)
            continue;
        if (i == 0 && a->running) {
            finish_job(a, 1);
            return;
        }
        free_job(job); /* close the gap: later jobs move up one */
        for (int j = i; j + 1 < a->count; j++)
            a->queue[(a->head + j) % API_QUEUE] = a->queue[(a->head + j + 1) % API_QUEUE];
        memset(&a->queue[(a->head + a->count - 1) % API_QUEUE], 0, sizeof *job);
        a->count--;
        return;
    }
}

static void access_log(void *ctx, const struct http_log_entry *e)
{
    struct api *a = ctx;
    say(a, "http: %s %s %d %llu bytes %llu ms%s", e->method, e->path, e->status,
        (unsigned long long)e->bytes, (unsigned long long)(e->duration_us / 1000),
        e->aborted ? " (client gone)" : "");
}

int api_init(struct api *a, const struct api_settings *set, const struct api_hooks *hooks)
{
    struct http_server_cfg cfg;
    int rc;

    memset(a, 0, sizeof *a);
    a->set = *set;
    str_copy(a->api_key, sizeof a->api_key, set->api_key ? set->api_key : "");
    a->set.api_key = a->api_key;
    a->hooks = *hooks;
    http_server_default_cfg(&cfg);
    cfg.max_conns = API_CONNS;
    cfg.handler = handle;
    cfg.on_abort = on_abort;
    cfg.log = access_log;
    cfg.ctx = a;
    cfg.read_timeout_us = 10000000;
    if ((rc = chat_init(&a->chat, template_find("raw"))) != 0)
        return rc;
    if (!(a->turn_text = plat_alloc(API_TURN_BYTES)) ||
        (rc = http_server_init(&a->server, &cfg)) != 0) {
        api_free(a);
        return rc ? rc : ERR_NOMEM;
    }
    return 0;
}

void api_free(struct api *a)
{
    while (a->count)
        finish_job(a, 1);
    if (a->server.conns)
        http_server_free(&a->server);
    chat_free(&a->chat);
    if (a->turn_text)
        plat_free(a->turn_text, API_TURN_BYTES);
    a->turn_text = NULL;
}

int api_accept(struct api *a, const struct http_stream *st, uint64_t now_us)
{
    return http_server_add(&a->server, st, now_us);
}
