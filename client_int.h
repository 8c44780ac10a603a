/* client_int.h - private to client.c, client_remote.c and client_download.c
 * (the rest of the app uses client.h): the job and phase codes, the buffers
 * client_init lays out, and what the two jobs share: the console line, the
 * connection and the HTTP client's done callback. */
#ifndef CLIENT_INT_H
#define CLIENT_INT_H

#include "client.h"

enum { JOB_NONE, JOB_REMOTE, JOB_DOWNLOAD };
/* Phases: connecting (resolve, TCP), the HTTP exchange, and for a download
 * hashing an earlier .part first and waiting out a back-off. */
enum { PH_HASH, PH_RESOLVE, PH_CONNECT, PH_HTTP, PH_WAIT };

/* client_init's buffers, one plat_alloc */
#define SSE_BUF (32 * 1024)     /* the largest event */
#define TEXT_BUF (32 * 1024)    /* text of one event or a whole answer */
#define BODY_BUF (64 * 1024)    /* a non-streamed or error answer */
#define REPLY_BUF (16 * 1024)   /* the reply kept for the conversation */
#define WRITE_BUF (64 * 1024)   /* download bytes written in pieces this big */
#define N_TOK 2048              /* JSON tokens of one answer object */

/* ---- client.c ------------------------------------------------------------------------- */

/* One message line (printf-style) for the console, below an open progress
 * line. */
void client_msg(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 if s begins with prefix (lower case), ignoring ASCII case in s. */
int client_starts_with_ci(const char *s, const char *prefix);
/* The connection to c->url's host: client_conn_start begins it (0 or an
 * error with c->err), client_conn_step advances it (ERR_AGAIN, 0 once the
 * stream is open, or an error with c->err), client_conn_close ends it
 * (abort: with a reset). */
int client_conn_start(struct client *c, uint64_t now);
int client_conn_step(struct client *c, uint64_t now);
void client_conn_close(struct client *c, int abort);
/* The on_done callback of both jobs' exchanges (ctx: the client). */
void client_on_done(void *ctx, int rc, int status);

/* ---- client_remote.c, client_download.c: the jobs ----------------------------------- */

/* client_step of the job: 1 if something happened. */
int client_remote_step(struct client *c, uint64_t now);
int client_download_step(struct client *c, uint64_t now);
/* client_stop of the job (Esc). */
void client_remote_stop(struct client *c);
void client_download_stop(struct client *c);

#endif
