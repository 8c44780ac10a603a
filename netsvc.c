/* netsvc.c - the network as a service of the app (netsvc.h). */
#include "netsvc.h"

#include "api.h"
#include "config.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

#define LISTEN_BACKLOG TCP_MAX_CONNS /* a burst of clients: none of their SYNs dropped */

static long stream_recv(void *ctx, void *buf, size_t n)
{
    return tcp_recv(ctx, buf, n);
}

static long stream_send(void *ctx, const void *buf, size_t n)
{
    return tcp_send(ctx, buf, n);
}

static void stream_close(void *ctx)
{
    tcp_close(ctx);
    tcp_release(ctx);
}

void netsvc_tcp_stream(struct tcp_conn *c, struct http_stream *ret_stream)
{
    ret_stream->recv = stream_recv;
    ret_stream->send = stream_send;
    ret_stream->close = stream_close;
    ret_stream->ctx = c;
}

static void say(struct netsvc *s, const char *line)
{
    if (s->say)
        s->say(s->say_ctx, line);
}

/* The stack's own events (DHCP lease, ARP conflicts) go to the console. */
static void stack_log(void *ctx, const char *line)
{
    char msg[200];
    fmt_snprintf(msg, sizeof msg, "network: %s", line);
    say(ctx, msg);
}

/* Reads one IPv4 setting ("" = 0). */
static int setting_ip(const char *text, uint32_t *ret)
{
    *ret = 0;
    return text[0] ? net_parse_ip(text, ret) : 0;
}

int netsvc_start(struct netsvc *s, const struct config *cfg, struct api *api,
                 void (*say_fn)(void *ctx, const char *line), void *say_ctx, char *why,
                 size_t why_cap)
{
    struct net_link link;
    struct net_config nc = {0};
    int rc;

    memset(s, 0, sizeof *s);
    s->say = say_fn;
    s->say_ctx = say_ctx;
    s->api = api;
    s->port = (uint16_t)cfg->port;
    if (setting_ip(cfg->ip, &nc.ip) || setting_ip(cfg->netmask, &nc.netmask) ||
        setting_ip(cfg->gateway, &nc.gateway) || setting_ip(cfg->dns, &nc.dns)) {
        str_copy(why, why_cap, "ip/netmask/gateway/dns: not IPv4 addresses");
        return ERR_INVAL;
    }
    nc.use_dhcp = nc.ip == 0;
    if (nc.ip && !nc.netmask)
        nc.netmask = NET_IP(255, 255, 255, 0);
    if ((rc = plat_net_open(&link, why, why_cap)) != 0)
        return rc;
    if ((rc = net_init(&s->net, &link, &nc)) != 0) {
        plat_net_close();
        str_copy(why, why_cap, err_str(rc));
        return rc;
    }
    s->net.log = stack_log;
    s->net.log_ctx = s;
    s->listener = tcp_listen(&s->net.tcp, s->port, LISTEN_BACKLOG);
    if (!s->listener) {
        net_shutdown(&s->net);
        plat_net_close();
        fmt_snprintf(why, why_cap, "cannot listen on port %d", cfg->port);
        return ERR_NOMEM;
    }
    s->running = 1;
    char msg[128];
    fmt_snprintf(msg, sizeof msg, "network: %02x:%02x:%02x:%02x:%02x:%02x, %s",
                 link.mac[0], link.mac[1], link.mac[2], link.mac[3], link.mac[4], link.mac[5],
                 nc.use_dhcp ? "asking DHCP for an address" : "static address");
    say(s, msg);
    return 0;
}

/* Prints where the API is once the interface has its address. */
static void announce(struct netsvc *s)
{
    char ip[16], msg[160];
    if (s->announced || !net_is_up(&s->net))
        return;
    s->announced = 1;
    net_format_ip(s->net.ip, ip);
    fmt_snprintf(msg, sizeof msg, "network: HTTP API on http://%s:%d/ (address %s)", ip,
                 s->port, ip);
    say(s, msg);
}

void netsvc_poll(struct netsvc *s, uint64_t now_us)
{
    struct tcp_conn *c;
    if (!s->running)
        return;
    net_poll(&s->net, now_us);
    announce(s);
    while ((c = tcp_accept(s->listener)) != NULL) {
        struct http_stream st;
        netsvc_tcp_stream(c, &st);
        api_accept(s->api, &st, now_us);
    }
}

void netsvc_stop(struct netsvc *s)
{
    if (!s->running)
        return;
    net_shutdown(&s->net);
    plat_net_close();
    s->running = 0;
}
