/* client.h - the app as an HTTP client (issue 7): prompts answered by a
 * remote OpenAI-compatible server, and model files downloaded onto the
 * volume. Freestanding (lib.h, platform.h, the stack).
 *
 * One job at a time, advanced by client_step from the event loop like a
 * generation or a model load: nothing here blocks, so the HTTP API keeps
 * answering while a reply streams in or a file downloads.
 *
 * Remote inference (/remote URL [MODEL], /remote off): each prompt goes as
 *   POST <base>/v1/chat/completions  {"messages": [system, the conversation
 *   so far, the prompt], "stream": true, "max_tokens", "temperature", "top_p"}
 * with "Authorization: Bearer <remote_key>" when one is set. The answer's
 * server-sent events are printed as they arrive (choices[0].delta.content,
 * or a completions-style choices[0].text); a server that answers without
 * streaming (one JSON object) is printed too. Errors are one line.
 *
 * Download (/download URL [SHA256]): the file goes to models/NAME.part
 * while it arrives (SHA-256 computed on the way), then is renamed to
 * models/NAME. A dropped connection resumes with a Range request after a
 * back-off; a .part left by an earlier attempt is resumed (its bytes are
 * hashed first). A server that ignores Range (200) restarts from zero. A
 * digest mismatch or a full volume deletes the .part file.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "http_client.h"
#include "json.h"
#include "sha256.h"

struct net;
struct tcp_conn;
struct json_tok;

#define CLIENT_NAME_MAX 48           /* longest downloaded file name */
#define CLIENT_FILE_MAX 0xFFFFFFFFull /* FAT32's largest file */
#define CLIENT_HISTORY 16384         /* bytes of remote conversation kept */
#define CLIENT_TURNS 64              /* messages of remote conversation kept */
#define CLIENT_RETRIES 5             /* download attempts in a row without progress */
#define CLIENT_CONNECT_US 10000000ull /* the TCP handshake must finish in this */

/* What the app lends the client. Every hook but open_stream is required. */
struct client_hooks {
    /* Text of a remote reply as it streams (sanitised: no control
     * characters but newline and tab). */
    void (*text)(void *ctx, const char *s, size_t n);
    /* One message line (no newline). */
    void (*say)(void *ctx, const char *line);
    /* Redraws the download progress line (line: no newline), or ends it
     * (line == NULL: the next output starts on a new line). */
    void (*progress)(void *ctx, const char *line);
    /* A file was added to the volume (path, e.g. "models/x.bin"). */
    void (*downloaded)(void *ctx, const char *path);
    /* Tests: a stream to host:port at once, instead of DNS and TCP. */
    int (*open_stream)(void *ctx, const char *host, uint16_t port, struct http_stream *ret);
    void *ctx;
};

/* Settings a remote request takes from the app (strings: caller-owned,
 * used during the call only). */
struct client_gen {
    const char *system;   /* "" or NULL: no system message */
    int max_tokens;       /* 0: the server's default */
    float temperature, top_p;
    const char *key;      /* bearer token, "" or NULL: none */
};

struct client_turn {
    uint8_t assistant;    /* 0: user */
    uint32_t off, len;    /* in history */
};

struct client {
    struct client_hooks hooks;
    struct net *net;                /* NULL: no network (open_stream in tests) */
    struct http_client http;
    char *mem;                      /* plat_alloc'd buffers below */
    size_t mem_size;
    char *sse_buf, *text, *body, *history, *reply, *wbuf;
    struct json_tok *tok;
    int job;                        /* enum in client_int.h */
    int phase;
    char err[160];                  /* the failure of the current step */

    /* the connection */
    struct http_url url;            /* host and port of the job, its path */
    int dns;                        /* resolver handle, -1 when none */
    uint32_t ip;
    struct tcp_conn *tcp;           /* NULL with open_stream */
    struct http_stream st;
    int have_stream, established;
    uint64_t t_conn;                /* when the connection attempt started */
    int http_rc, http_status;       /* on_done's */
    int http_done;

    /* remote inference */
    int remote_on;
    struct http_url remote;         /* path: the chat endpoint */
    char remote_model[64];
    struct textbuf req;             /* the request body (growing) */
    struct http_sse_parser sse;
    int sse_mode;                   /* the answer is text/event-stream */
    int got_done;                   /* "data: [DONE]" seen */
    int bad_stream;                 /* an event was not a chunk: stop */
    int chunks;
    size_t body_len;                /* non-stream or error answer collected */
    size_t reply_len;
    uint64_t t_start;
    struct client_turn turns[CLIENT_TURNS];
    int n_turns;
    size_t history_len;
    char user[1024];                /* the prompt being answered */
    char headers[256];              /* the request's extra header lines */

    /* download */
    char name[CLIENT_NAME_MAX + 1];
    char path[CLIENT_NAME_MAX + 16];      /* models/NAME */
    char part[CLIENT_NAME_MAX + 24];      /* models/NAME.part */
    uint8_t want[SHA256_BYTES];
    int check;                      /* want is set */
    struct sha256 sha;
    void *file;                     /* plat_file * of the part, writing */
    void *hash_file;                /* plat_file * of the part, hashing it */
    uint64_t have;                  /* bytes of the part (written + buffered) */
    uint64_t total;                 /* the whole file's size, 0 = unknown */
    uint64_t since_flush;
    size_t wlen;                    /* bytes in wbuf */
    int attempt_ok;                 /* this attempt's answer is being stored */
    int no_range;                   /* the server mishandled Range: never again */
    int restart;                    /* start over from byte 0 on the next attempt */
    int complete;                   /* 416 said the part is already whole */
    int fatal;                      /* the attempt failed for good (4xx, too big) */
    int fails;                      /* attempts in a row without progress */
    int attempts;
    uint64_t attempt_start_have;
    uint64_t retry_at;
    int bar;                        /* progress cells drawn, -1 none */
    uint64_t bar_bytes;             /* bytes shown when the size is unknown */
    int progress_open;
};

/* 0 or ERR_NOMEM. net may be NULL (no network: the commands say so). */
int client_init(struct client *c, const struct client_hooks *hooks, struct net *net);
void client_free(struct client *c);

/* 1 while a job runs (the REPL waits; Esc calls client_stop). */
int client_busy(const struct client *c);
/* Advances the job; 1 if something happened (bytes moved, a phase
 * changed), 0 when it only waits. */
int client_step(struct client *c, uint64_t now_us);
/* Esc: closes the connection (RST) and ends the job, keeping a download's
 * .part file for a later resume. */
void client_stop(struct client *c);

/* "/remote ARGS": "" shows the state, "off" goes local, "URL [MODEL]"
 * sends prompts to URL (http://host[:port][/prefix][/v1]). */
void client_remote_command(struct client *c, const char *args);
int client_remote_on(const struct client *c);
/* Sends prompt to the remote server; the job runs until the answer ends.
 * 0, or an error already reported with one line. */
int client_remote_send(struct client *c, const char *prompt, const struct client_gen *g,
                       uint64_t now_us);
/* Forgets the remote conversation (/new). */
void client_remote_reset(struct client *c);

/* "/download URL [SHA256]": starts the download job. 0, or an error
 * already reported with one line. */
int client_download_command(struct client *c, const char *args, uint64_t now_us);

/* ---- pieces, public for the tests ------------------------------------------------ */
/* The file name a download of url_path ("/a/b/x.bin?q") gets: its last
 * segment, which must be a plain, FAT-friendly name (letters, digits, '.',
 * '_', '-'; not starting with '.'; no ".."; at most CLIENT_NAME_MAX bytes;
 * not one of storage's own suffixes). 0 and ret_name, or ERR_INVAL with
 * *why set. */
int client_file_name(const char *url_path, char *ret_name, size_t cap, const char **why);
/* "bytes START-END/TOTAL" or "bytes * /TOTAL" (416), TOTAL may be "*":
 * UINT64_MAX stands for each "*". 0 or ERR_FORMAT (also END < START,
 * END >= TOTAL, numbers over 2^63). */
int client_parse_content_range(const char *s, uint64_t *ret_start, uint64_t *ret_end,
                               uint64_t *ret_total);
/* The text of one streamed (or whole) answer object data[0..len):
 * choices[0].delta.content, choices[0].message.content or choices[0].text
 * (missing or null: ""). 0 with out/ret_len, ERR_IO when the object is an
 * error (why: its message), ERR_FORMAT when it is none of these, ERR_RANGE
 * when the text is larger than cap. tok (cap_tok entries) is scratch. */
int client_answer_text(const char *data, size_t len, struct json_tok *tok, int cap_tok,
                       char *out, size_t cap, size_t *ret_len, char *why, size_t why_cap);

#endif
