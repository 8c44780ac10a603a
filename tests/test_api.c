/* test_api.c - the OpenAI-compatible API (api.c) over in-memory streams with
 * stories260K: greedy completions equal the engine's own generation, the
 * streamed chunks add up to the same text, access rules (401), bad requests
 * (400/404/405), a full queue (503) and clients that go away. */
#include "testlib.h"

#include "../api.h"
#include "../engine.h"
#include "../errors.h"
#include "../json.h"
#include "../lib.h"
#include "../template.h"
#include "memstream.h"

static struct engine eng;
static int eng_loaded, eng_busy, cache_used, want_engine;
static char said[64][256];
static int n_said;

/* 1 if a console line contained text. */
static int was_said(const char *text)
{
    for (int i = 0; i < n_said && i < 64; i++)
        if (strstr(said[i], text))
            return 1;
    return 0;
}

static struct engine *hook_engine(void *ctx)
{
    (void)ctx;
    return eng_busy ? NULL : &eng;
}

static int hook_want(void *ctx)
{
    (void)ctx;
    want_engine++;
    return 0;
}

static const struct chat_template *hook_template(void *ctx)
{
    (void)ctx;
    return template_find("qa");
}

static void hook_cache(void *ctx)
{
    (void)ctx;
    cache_used++;
}

static const char *hook_model(void *ctx, int i)
{
    (void)ctx;
    return i == 0 ? "stories260K.bin" : NULL;
}

static void hook_say(void *ctx, const char *line)
{
    (void)ctx;
    snprintf(said[n_said % 64], sizeof said[0], "%s", line);
    n_said++;
}

static int load_engine(void)
{
    char model[512], tok[512], err[256];
    if (eng_loaded)
        return 1;
    snprintf(model, sizeof model, "%s/stories260K.bin", test_models_dir());
    snprintf(tok, sizeof tok, "%s/tok512.bin", test_models_dir());
    if (engine_load(&eng, model, tok, err, sizeof err)) {
        CHECK_MSG(0, "load: %s", err);
        return 0;
    }
    eng_loaded = 1;
    return 1;
}

static int start_api(struct api *a, const char *key, int open)
{
    const struct api_settings set = {key, open, 24};
    const struct api_hooks hooks = {hook_engine, hook_want, hook_template, hook_cache,
                                    hook_model, hook_say, NULL};
    eng_busy = cache_used = want_engine = n_said = 0;
    return load_engine() && api_init(a, &set, &hooks) == 0;
}

/* Frees the API and the engine (later tests check that nothing leaks). */
static void stop_api(struct api *a)
{
    api_free(a);
    if (eng_loaded)
        engine_free(&eng);
    eng_loaded = 0;
}

static uint64_t now_us = 1000000;

/* Runs the API's loop a while (polls and tokens). */
static void run(struct api *a, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        api_poll(a, now_us);
        api_step(a);
        now_us += 1000;
    }
}

/* Sends raw on a new connection and runs until it is answered; returns the
 * whole response (static) and the connection in *ret (caller frees). */
static const char *request(struct api *a, const char *raw, struct tconn **ret)
{
    struct tconn *t = tconn_new();
    struct http_stream st = stream_of(&t->server);
    CHECK_INT(api_accept(a, &st, now_us), 0);
    client_write(t, raw, strlen(raw));
    run(a, 3000);
    const char *out = server_output(t);
    if (ret)
        *ret = t;
    else
        free(t);
    return out;
}

/* POST path with a JSON body as HTTP/1.0 (the body ends at the close). */
static const char *post(struct api *a, const char *path, const char *body, const char *auth)
{
    static char raw[8192];
    snprintf(raw, sizeof raw,
             "POST %s HTTP/1.0\r\nHost: t\r\nContent-Type: application/json\r\n%s%s%s"
             "Content-Length: %zu\r\n\r\n%s",
             path, auth ? "Authorization: Bearer " : "", auth ? auth : "", auth ? "\r\n" : "",
             strlen(body), body);
    return request(a, raw, NULL);
}

static int status_of(const char *resp)
{
    int st = 0;
    return sscanf(resp, "HTTP/1.%*d %d", &st) == 1 ? st : -1;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* The string at a path of keys/indexes in a JSON body ("choices", 0, "text"). */
static int json_text(const char *body, char *out, size_t cap, const char *k1, int idx,
                     const char *k2, const char *k3)
{
    static struct json_tok tok[512];
    struct json_doc d;
    if (json_parse(&d, "resp", body, strlen(body), tok, 512))
        return -1;
    int v = json_at(&d, json_find(&d, 0, k1), idx);
    v = json_find(&d, v, k2);
    if (k3)
        v = json_find(&d, v, k3);
    return json_string(&d, v, out, cap, NULL);
}

/* What the engine itself generates (greedy, no prompt echo) for prompt. */
static void expected(const char *prompt, int max_new, char *out, size_t cap)
{
    static const char *const none[] = {NULL};
    struct gen_request r = {prompt, 1, 0, eng.model.cfg.seq_len, max_new, none, {0}, 0, 0};
    struct generation g;
    static struct test_text sink;
    sink.n = 0;
    eng.sampler.temperature = 0;
    CHECK_INT(gen_begin_request(&g, &eng.model, &eng.state, &eng.tok, &eng.sampler, &r,
                                test_collect, &sink),
              0);
    while (!g.done)
        gen_step(&g);
    snprintf(out, cap, "%.*s", (int)g.reply_len, g.reply);
    gen_end(&g);
}

TEST(api_health_models_and_page)
{
    struct api a;
    if (!start_api(&a, "", 0))
        return;
    const char *r = request(&a, "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                            NULL);
    CHECK_INT(status_of(r), 200);
    CHECK(strstr(r, "\"status\":\"ok\"") && strstr(r, "\"model\":\"stories260K.bin\""));
    r = request(&a, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", NULL);
    CHECK_INT(status_of(r), 200);
    CHECK(strstr(r, "text/html") && strstr(r, "/v1/chat/completions"));
    /* closed API: /v1 needs a key or api_open */
    r = request(&a, "GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", NULL);
    CHECK_INT(status_of(r), 401);
    CHECK(strstr(r, "api_open=1") != NULL);
    api_free(&a);

    if (!start_api(&a, "", 1))
        return;
    r = request(&a, "GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", NULL);
    CHECK_INT(status_of(r), 200);
    CHECK(strstr(r, "\"id\":\"stories260K.bin\"") && strstr(r, "\"object\":\"list\""));
    r = request(&a, "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", NULL);
    CHECK_INT(status_of(r), 404);
    r = request(&a, "GET /v1/completions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", NULL);
    CHECK_INT(status_of(r), 405);
    CHECK(strstr(r, "Allow: POST") != NULL);
    stop_api(&a);
}

TEST(api_completion_matches_engine)
{
    struct api a;
    static char want[4096], got[4096];
    if (!start_api(&a, "", 1))
        return;
    expected("Once upon a time", 40, want, sizeof want);
    CHECK(strlen(want) > 20);
    const char *r = post(&a, "/v1/completions",
                         "{\"model\":\"x\",\"prompt\":\"Once upon a time\",\"max_tokens\":40,"
                         "\"temperature\":0}",
                         NULL);
    CHECK_INT(status_of(r), 200);
    CHECK_INT(json_text(body_of(r), got, sizeof got, "choices", 0, "text", NULL), 0);
    CHECK_STR(got, want);
    CHECK(strstr(r, "\"finish_reason\":\"length\"") && strstr(r, "\"completion_tokens\":40"));
    CHECK(cache_used == 1);
    /* a stop string ends the text before its first occurrence */
    char stop_body[256], stop[8];
    snprintf(stop, sizeof stop, "%.4s", want + 10);
    snprintf(stop_body, sizeof stop_body,
             "{\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"temperature\":0,"
             "\"stop\":[\"zzz\",\"%s\"]}",
             stop);
    r = post(&a, "/v1/completions", stop_body, NULL);
    CHECK_INT(json_text(body_of(r), got, sizeof got, "choices", 0, "text", NULL), 0);
    CHECK_INT((int)strlen(got), (int)(strstr(want, stop) - want));
    CHECK(!strncmp(got, want, strlen(got)));
    CHECK(strstr(r, "\"finish_reason\":\"stop\"") != NULL);
    stop_api(&a);
}

TEST(api_streamed_completion_adds_up)
{
    struct api a;
    static char want[4096], text[4096], piece[1024];
    if (!start_api(&a, "", 1))
        return;
    expected("The little dog", 30, want, sizeof want);
    const char *r = post(&a, "/v1/completions",
                         "{\"prompt\":\"The little dog\",\"max_tokens\":30,\"temperature\":0,"
                         "\"stream\":true}",
                         NULL);
    CHECK_INT(status_of(r), 200);
    CHECK(strstr(r, "text/event-stream") != NULL);
    text[0] = 0;
    int chunks = 0, done = 0, lengths = 0;
    for (const char *p = body_of(r); (p = strstr(p, "data: ")) != NULL;) {
        p += 6;
        const char *end = strstr(p, "\n\n");
        if (!end)
            break;
        static char ev[4096];
        snprintf(ev, sizeof ev, "%.*s", (int)(end - p), p);
        if (!strcmp(ev, "[DONE]")) {
            done++;
        } else {
            CHECK_INT(json_text(ev, piece, sizeof piece, "choices", 0, "text", NULL), 0);
            strcat(text, piece);
            chunks++;
            lengths += strstr(ev, "\"finish_reason\":\"length\"") != NULL;
        }
        p = end;
    }
    CHECK_STR(text, want);
    CHECK(chunks >= 10 && done == 1 && lengths == 1);
    stop_api(&a);
}

TEST(api_chat_completion)
{
    struct api a;
    static char got[4096];
    if (!start_api(&a, "", 1))
        return;
    const char *r = post(&a, "/v1/chat/completions",
                         "{\"messages\":[{\"role\":\"system\",\"content\":\"Short answers.\"},"
                         "{\"role\":\"user\",\"content\":\"Who is Lily?\"},"
                         "{\"role\":\"assistant\",\"content\":\"A girl.\"},"
                         "{\"role\":\"user\",\"content\":\"Where is she?\"}],"
                         "\"temperature\":0,\"max_tokens\":24}",
                         NULL);
    CHECK_INT(status_of(r), 200);
    CHECK(strstr(r, "\"object\":\"chat.completion\"") && strstr(r, "\"role\":\"assistant\""));
    CHECK_INT(json_text(body_of(r), got, sizeof got, "choices", 0, "message", "content"), 0);
    CHECK(got[0] != 0);
    /* the same conversation streamed: the deltas add up to the same reply */
    r = post(&a, "/v1/chat/completions",
             "{\"messages\":[{\"role\":\"system\",\"content\":\"Short answers.\"},"
             "{\"role\":\"user\",\"content\":\"Who is Lily?\"},"
             "{\"role\":\"assistant\",\"content\":\"A girl.\"},"
             "{\"role\":\"user\",\"content\":\"Where is she?\"}],"
             "\"temperature\":0,\"max_tokens\":24,\"stream\":true}",
             NULL);
    static char text[4096], piece[1024];
    text[0] = 0;
    for (const char *p = body_of(r); (p = strstr(p, "data: {")) != NULL; p++) {
        const char *end = strstr(p, "\n\n");
        static char ev[4096];
        snprintf(ev, sizeof ev, "%.*s", (int)(end - p - 6), p + 6);
        if (json_text(ev, piece, sizeof piece, "choices", 0, "delta", "content") == 0)
            strcat(text, piece);
    }
    CHECK_STR(text, got);
    CHECK(strstr(r, "chat.completion.chunk") && strstr(r, "data: [DONE]"));
    stop_api(&a);
}

/* Two user messages in a row are one turn: the same reply as the joined text. */
TEST(api_chat_joins_user_messages)
{
    struct api a;
    static char one[4096], two[4096];
    if (!start_api(&a, "", 1))
        return;
    const char *r = post(&a, "/v1/chat/completions",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"Who is Lily?\"},"
                         "{\"role\":\"user\",\"content\":\"Where is she?\"}],"
                         "\"temperature\":0,\"max_tokens\":16}",
                         NULL);
    CHECK_INT(json_text(body_of(r), two, sizeof two, "choices", 0, "message", "content"), 0);
    r = post(&a, "/v1/chat/completions",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"Who is Lily?\\nWhere is she?\"}],"
             "\"temperature\":0,\"max_tokens\":16}",
             NULL);
    CHECK_INT(json_text(body_of(r), one, sizeof one, "choices", 0, "message", "content"), 0);
    CHECK(one[0] != 0);
    CHECK_STR(two, one);
    stop_api(&a);
}

TEST(api_rejects_bad_requests)
{
    struct api a;
    if (!start_api(&a, "", 1))
        return;
    static const char *const bad[] = {
        "{\"prompt\":",                                   /* not JSON */
        "[1,2]",                                          /* not an object */
        "{\"max_tokens\":5}",                             /* no prompt */
        "{\"prompt\":\"a\",\"temperature\":5}",
        "{\"prompt\":\"a\",\"max_tokens\":0}",
        "{\"prompt\":\"a\",\"top_p\":0}",
        "{\"prompt\":\"a\",\"stream\":\"yes\"}",
        "{\"prompt\":\"a\",\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\"]}",
        "{\"prompt\":\"a\",\"seed\":-1}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        const char *r = post(&a, "/v1/completions", bad[i], NULL);
        CHECK_MSG(status_of(r) == 400 && strstr(r, "invalid_request_error"), "case %zu: %s", i,
                  r);
    }
    static const char *const bad_chat[] = {
        "{\"messages\":[]}",
        "{\"messages\":[{\"role\":\"user\"}]}",
        "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"y\"}]}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_chat); i++) {
        const char *r = post(&a, "/v1/chat/completions", bad_chat[i], NULL);
        CHECK_MSG(status_of(r) == 400, "chat case %zu: %s", i, r);
    }
    CHECK_INT(cache_used, 0); /* none of them reached the engine */
    stop_api(&a);
}

TEST(api_bearer_token)
{
    struct api a;
    if (!start_api(&a, "s3cret", 0))
        return;
    const char *body = "{\"prompt\":\"Once\",\"max_tokens\":2,\"temperature\":0}";
    CHECK_INT(status_of(post(&a, "/v1/completions", body, NULL)), 401);
    CHECK(was_said("api: 401 POST /v1/completions: no bearer token"));
    CHECK_INT(status_of(post(&a, "/v1/completions", body, "s3cre")), 401);
    CHECK(was_said("api: 401 POST /v1/completions: wrong bearer token"));
    CHECK_INT(status_of(post(&a, "/v1/completions", body, "s3cret")), 200);
    stop_api(&a);
}

/* Requests wait while the console has the engine; beyond API_QUEUE they get
 * 503; clients that leave drop their requests. */
TEST(api_queue_full_and_clients_leaving)
{
    struct api a;
    static struct tconn *conns[API_QUEUE + 1];
    static const char raw[] = "POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 48\r\n"
                              "\r\n{\"prompt\":\"Once\",\"max_tokens\":3,\"temperature\":0}";
    if (!start_api(&a, "", 1))
        return;
    CHECK_INT((int)strlen(strstr(raw, "{")), 48);
    eng_busy = 1; /* the console is generating */
    for (int i = 0; i <= API_QUEUE; i++) {
        conns[i] = tconn_new();
        struct http_stream st = stream_of(&conns[i]->server);
        CHECK_INT(api_accept(&a, &st, now_us), 0);
        client_write(conns[i], raw, strlen(raw));
        run(&a, 5);
    }
    CHECK_INT(a.count, API_QUEUE);
    CHECK(want_engine > 0);
    CHECK_INT(status_of(server_output(conns[API_QUEUE])), 503);
    /* health still answers */
    const char *r = request(&a, "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                            NULL);
    CHECK(status_of(r) == 200 && strstr(r, "\"queue\":24"));
    /* two clients leave: their requests are dropped */
    conns[0]->client.reset = conns[0]->server.reset = 1;
    conns[5]->client.reset = conns[5]->server.reset = 1;
    run(&a, 5);
    CHECK_INT(a.count, API_QUEUE - 2);
    eng_busy = 0; /* the console is done: the rest are answered in turn */
    run(&a, 3000);
    CHECK_INT(a.count, 0);
    for (int i = 1; i < API_QUEUE; i++) {
        if (i == 5)
            continue;
        const char *out = server_output(conns[i]);
        CHECK_MSG(status_of(out) == 200 && strstr(out, "\"completion_tokens\":3"), "client %d",
                  i);
    }
    stop_api(&a); /* closes the kept-alive connections first */
    for (int i = 0; i <= API_QUEUE; i++)
        free(conns[i]);
}
