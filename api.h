/* api.h - the OpenAI-compatible HTTP API and the chat page (api.c).
 *
 * Endpoints (served by http_server.h over the stack's TCP connections):
 *   GET  /health                 {"status":"ok", "model":..., "queue":N}; always open
 *   GET  /                       the chat page (web/chat.html, embedded)
 *   GET  /v1/models              the loaded model (or the models on the volume)
 *   POST /v1/completions         prompt -> text        \  model, max_tokens, temperature,
 *   POST /v1/chat/completions    messages -> message   /  top_p, seed, stop, stream
 * "stream": true answers with server-sent events (OpenAI's chunk objects,
 * then "data: [DONE]").
 *
 * Generation requests are queued (API_QUEUE) and run one at a time on the
 * app's engine, one token per api_step, so health and models keep
 * answering while a reply is generated; a full queue gets 503. Access:
 * with api_key set, /v1/... needs "Authorization: Bearer KEY" (else 401, and
 * the attempt is logged); without a key the API is open only with
 * api_open=1.
 */
#ifndef API_H
#define API_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "generate.h"
#include "http_server.h"
#include "json.h"

#define API_QUEUE 24       /* generation requests waiting or running */
#define API_CONNS 40       /* HTTP connections at once: more than API_QUEUE, so
                            * /health answers while the queue is full */
#define API_MAX_STOPS 4    /* OpenAI allows up to 4 stop strings */
#define API_STOP_MAX 64    /* bytes per stop string */

/* What the app lends the API. */
struct api_hooks {
    /* The loaded engine if it is free now (no console generation, no model
     * load running), else NULL. */
    struct engine *(*engine)(void *ctx);
    /* A request is waiting and engine() said NULL: load a model if none is.
     * 0: wait (busy or loading); < 0: no model can serve it (503). */
    int (*want_engine)(void *ctx);
    /* The template chat requests are rendered in (the console chat's). */
    const struct chat_template *(*chat_template)(void *ctx);
    /* A request used the engine's KV cache: the console chat must prefill
     * its conversation again before its next turn. */
    void (*cache_used)(void *ctx);
    /* Name of the i-th model for /v1/models (0: the loaded one), NULL past
     * the end. */
    const char *(*model_name)(void *ctx, int i);
    /* One console line (no newline). */
    void (*say)(void *ctx, const char *line);
    void *ctx;
};

struct api_settings {
    const char *api_key;  /* "" or NULL: none */
    int api_open;         /* serve /v1/... without a key */
    int steps;            /* default max_tokens of chat requests (the config's steps) */
};

struct api_job {
    struct http_conn *conn;
    uint32_t serial;               /* http_conn_serial: the handle is still ours */
    int chat, stream;
    int max_tokens;
    float temperature, top_p;
    uint64_t seed;                 /* 0: keep the sampler's stream */
    int n_stops;
    char stops[API_MAX_STOPS][API_STOP_MAX];
    int id;                        /* cmpl-N / chatcmpl-N */
    uint64_t created_s, start_us;
    uint64_t first_us;             /* when the first reply text went out (streams) */
    char *body;                    /* plat_alloc'd copy of the request body */
    size_t body_len;
};

struct api {
    struct api_settings set;
    char api_key[128];
    struct api_hooks hooks;
    struct http_server server;
    struct api_job queue[API_QUEUE];
    int head, count;               /* ring of waiting jobs; queue[head] runs when running */
    int running;
    struct generation gen;
    struct chat chat;              /* scratch conversation for chat requests */
    char *turn_text;               /* rendered prompt (API_TURN_BYTES) */
    struct textbuf out;            /* reply text of the running job */
    size_t sent;                   /* bytes of out streamed so far */
    int stop_hit;                  /* an API stop string ended the reply */
    int next_id;
};

/* 0, or ERR_NOMEM. The settings' strings are copied. */
int api_init(struct api *a, const struct api_settings *set, const struct api_hooks *hooks);
void api_free(struct api *a);
/* A new connection (the API owns the stream from now; a full server
 * answers 503 and closes it). */
int api_accept(struct api *a, const struct http_stream *st, uint64_t now_us);
/* Moves the connections on and starts the next queued request when the
 * engine is free. */
void api_poll(struct api *a, uint64_t now_us);
/* One token of the running request; 1 if there was one to run. */
int api_step(struct api *a);
/* 1 while a request is running or waiting. */
int api_busy(const struct api *a);

#endif
