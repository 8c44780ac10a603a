/* net_udp.c - UDP datagrams to and from bound ports (net_udp.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

#define UDP_HDR 8

static struct udp_binding *udp_find(struct net *n, uint16_t port)
{
    for (int i = 0; i < UDP_MAX_BINDS; i++)
        if (n->udp.b[i].port == port)
            return &n->udp.b[i];
    return NULL;
}

int udp_bind(struct net *n, uint16_t port, udp_recv_fn fn, void *ctx)
{
    if (port == 0 || !fn)
        return ERR_INVAL;
    if (udp_find(n, port))
        return ERR_EXISTS;
    struct udp_binding *slot = udp_find(n, 0);
    if (!slot)
        return ERR_NOMEM;
    slot->port = port;
    slot->fn = fn;
    slot->ctx = ctx;
    return 0;
}

void udp_unbind(struct net *n, uint16_t port)
{
    struct udp_binding *slot = port ? udp_find(n, port) : NULL;
    if (slot)
        memset(slot, 0, sizeof *slot);
}

int udp_send(struct net *n, uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
             const void *data, size_t len)
{
    if (len > UDP_MAX_PAYLOAD)
        return ERR_RANGE;
    struct netbuf *b = netbuf_alloc(n);
    if (!b)
        return ERR_NOMEM;
    if (len)
        memcpy(netbuf_put(b, len), data, len);
    uint8_t *h = netbuf_push(b, UDP_HDR);
    uint16_t ulen = (uint16_t)b->len;
    net_put16(h, src_port);
    net_put16(h + 2, dst_port);
    net_put16(h + 4, ulen);
    net_put16(h + 6, 0);
    uint32_t sum = ip_pseudo_sum(n->ip, dst_ip, IP_PROTO_UDP, ulen);
    uint16_t csum = net_csum_fold(net_csum_add(sum, h, ulen));
    /* 0 on the wire means "no checksum"; its one's complement twin is sent */
    net_put16(h + 6, csum ? csum : 0xffff);
    int rc = ip_output(n, dst_ip, IP_PROTO_UDP, b);
    return rc == ERR_AGAIN ? 0 : rc;
}

void udp_input(struct net *n, uint32_t src, uint32_t dst, struct netbuf *b)
{
    const uint8_t *h = b->data;
    if (b->len < UDP_HDR)
        goto bad;
    uint16_t ulen = net_get16(h + 4);
    if (ulen < UDP_HDR || ulen > b->len)
        goto bad;
    netbuf_trim(b, ulen);
    if (net_get16(h + 6) != 0 &&
        net_csum_fold(net_csum_add(ip_pseudo_sum(src, dst, IP_PROTO_UDP, ulen), h, ulen)) != 0)
        goto bad;
    uint16_t dst_port = net_get16(h + 2);
    struct udp_binding *slot = dst_port ? udp_find(n, dst_port) : NULL;
    if (!slot) {
        n->udp.rx_no_port++;
        goto drop;
    }
    n->udp.rx_datagrams++;
    /* copy the binding: the callback may unbind and rebind the slot */
    struct udp_binding to = *slot;
    to.fn(to.ctx, src, net_get16(h), h + UDP_HDR, ulen - UDP_HDR);
    netbuf_free(n, b);
    return;
bad:
    n->udp.rx_bad++;
drop:
    n->rx_dropped++;
    netbuf_free(n, b);
}
