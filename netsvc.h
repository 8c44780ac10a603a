/* netsvc.h - the network as a service of the app: the NIC (plat_net_open),
 * the stack (net.h) configured by llm.cfg, the HTTP API's listener, and TCP
 * connections as HTTP byte streams (for the server and for clients). */
#ifndef NETSVC_H
#define NETSVC_H

#include <stdint.h>

#include "http.h"
#include "net.h"

struct api;
struct config;

struct netsvc {
    struct net net;
    int running;                 /* the stack is up (a NIC was found) */
    int announced;               /* the address line was printed */
    uint16_t port;
    struct tcp_listener *listener;
    struct api *api;             /* gets every accepted connection */
    void (*say)(void *ctx, const char *line);
    void *say_ctx;
};

/* Opens the NIC and starts the stack (static setup from cfg, else DHCP)
 * and the listener on cfg->port for api. Returns 0, ERR_NOT_FOUND (no NIC:
 * why says what was found), ERR_INVAL (bad settings) or ERR_NOMEM. */
int netsvc_start(struct netsvc *s, const struct config *cfg, struct api *api,
                 void (*say)(void *ctx, const char *line), void *say_ctx, char *why,
                 size_t why_cap);
/* Frames, timers, new connections; prints the address once it is known. */
void netsvc_poll(struct netsvc *s, uint64_t now_us);
void netsvc_stop(struct netsvc *s);

/* A TCP connection as an HTTP stream: close = graceful close + release. */
void netsvc_tcp_stream(struct tcp_conn *c, struct http_stream *ret_stream);

#endif
