/* net.c - the stack as a whole: set-up, the receive loop and the timers
 * (net.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"
#include "platform.h"

/* Frames taken from the link per net_poll, so that a flood cannot starve
 * the rest of the event loop; the remainder waits in the device. */
#define NET_RX_BUDGET 64

/* TCP hands over segments with its own idea of the source address; the
 * IP layer always uses n->ip, which tcp.local_ip mirrors. */
static int net_tcp_output(void *ctx, uint32_t src, uint32_t dst, struct netbuf *seg)
{
    (void)src;
    return ip_output(ctx, dst, IP_PROTO_TCP, seg);
}

static int net_pool_init(struct net *n)
{
    n->pool_bytes = (size_t)NETBUF_POOL * sizeof(struct netbuf);
    n->pool = plat_alloc(n->pool_bytes);
    if (!n->pool)
        return ERR_NOMEM;
    struct netbuf *bufs = n->pool;
    for (int i = NETBUF_POOL - 1; i >= 0; i--) {
        bufs[i].next = n->free_list;
        n->free_list = &bufs[i];
    }
    return 0;
}

/* The log hook is set by the caller after net_init (it clears *n); a
 * static setup is therefore reported by the first net_poll. */
int net_init(struct net *n, const struct net_link *link, const struct net_config *cfg)
{
    int rc;
    memset(n, 0, sizeof *n);
    n->link = *link;
    if ((rc = net_pool_init(n)) != 0)
        goto err_pool;
    if ((rc = tcp_init(&n->tcp, n)) != 0)
        goto err_tcp;
    n->tcp.output = net_tcp_output;
    n->tcp.output_ctx = n;
    if (cfg->ip != 0) {
        n->ip = cfg->ip;
        n->netmask = cfg->netmask;
        n->gateway = cfg->gateway;
        n->dns = cfg->dns;
        n->ip_id = (uint16_t)(cfg->ip * 2654435761u >> 16);
    } else if (cfg->use_dhcp && (rc = dhcp_start(n)) != 0) {
        goto err_dhcp;
    }
    n->tcp.local_ip = n->ip;
    return 0;
err_dhcp:
    tcp_shutdown(&n->tcp);
err_tcp:
    plat_free(n->pool, n->pool_bytes);
    n->pool = NULL;
err_pool:
    return rc;
}

void net_shutdown(struct net *n)
{
    if (!n->pool)
        return;
    dhcp_stop(n);
    tcp_shutdown(&n->tcp);
    arp_flush(n);
    plat_free(n->pool, n->pool_bytes);
    n->pool = NULL;
    n->free_list = NULL;
}

static void net_receive(struct net *n)
{
    for (int i = 0; i < NET_RX_BUDGET; i++) {
        struct netbuf *b = netbuf_alloc(n);
        if (!b)
            return;
        size_t len = 0;
        int rc = n->link.recv(n->link.ctx, b->data, NETBUF_CAP - NETBUF_HEADROOM, &len);
        if (rc != 0 || len == 0 || len > NETBUF_CAP - NETBUF_HEADROOM) {
            netbuf_free(n, b);
            return;
        }
        b->len = len;
        n->rx_frames++;
        eth_input(n, b);
    }
}

void net_poll(struct net *n, uint64_t now_us)
{
    if (!n->pool)
        return;
    n->now_us = now_us;
    n->tcp.local_ip = n->ip;
    net_receive(n);
    arp_timer(n);
    dhcp_timer(n);
    dns_timer(n);
    /* DHCP may have (re)configured or removed the address just now */
    n->tcp.local_ip = n->ip;
    tcp_timer(&n->tcp, now_us);
}

int net_is_up(const struct net *n)
{
    return n->ip != 0;
}
