/* net_ip.c - IPv4 (RFC 791): header checks and demultiplexing on the way
 * in, header, routing and next-hop resolution on the way out (net.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

#define IP_HDR 20
#define IP_MTU 1500
#define IP_TTL 64
#define IP_FLAG_DF 0x4000
#define IP_FLAG_MF 0x2000
#define IP_OFFSET_MASK 0x1fff
#define IP_BROADCAST 0xffffffffu

static const uint8_t mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static int ip_is_multicast(uint32_t ip) { return (ip >> 28) == 0xe; }

/* The directed broadcast of our subnet (only meaningful with a mask). */
static int ip_is_subnet_broadcast(const struct net *n, uint32_t ip)
{
    return n->ip != 0 && n->netmask != 0 && n->netmask != IP_BROADCAST &&
           ip == (n->ip | ~n->netmask);
}

static int ip_is_broadcast(const struct net *n, uint32_t ip)
{
    return ip == IP_BROADCAST || ip_is_subnet_broadcast(n, ip);
}

/* Whether a packet to dst is ours. Before an address is configured any UDP
 * is accepted, because a DHCP server may unicast its OFFER to the address it
 * offers. */
static int ip_accepts(const struct net *n, uint32_t dst, uint8_t proto)
{
    if (n->ip == 0)
        return proto == IP_PROTO_UDP;
    return dst == n->ip || ip_is_broadcast(n, dst);
}

uint32_t ip_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint8_t ph[12];
    net_put32(ph, src);
    net_put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    net_put16(ph + 10, len);
    return net_csum_add(0, ph, sizeof ph);
}

void ip_input(struct net *n, struct netbuf *b)
{
    const uint8_t *h = b->data;
    if (b->len < IP_HDR || h[0] >> 4 != 4)
        goto drop;
    size_t hlen = (size_t)(h[0] & 15) * 4;
    size_t total = net_get16(h + 2);
    if (hlen < IP_HDR || hlen > b->len || total < hlen || total > b->len)
        goto drop;
    if (net_csum_fold(net_csum_add(0, h, hlen)) != 0)
        goto drop;
    /* fragments are never reassembled: dropping all of them is safe */
    uint16_t frag = net_get16(h + 6);
    if (frag & (IP_FLAG_MF | IP_OFFSET_MASK))
        goto drop;
    uint8_t proto = h[9];
    uint32_t src = net_get32(h + 12), dst = net_get32(h + 16);
    if (src == IP_BROADCAST || ip_is_multicast(src) || !ip_accepts(n, dst, proto))
        goto drop;
    /* answers go back to src: it must be a host (not 0.0.0.0) */
    int unicast = n->ip != 0 && dst == n->ip && src != 0;
    netbuf_trim(b, total);
    netbuf_pull(b, hlen);
    switch (proto) {
    case IP_PROTO_UDP:
        udp_input(n, src, dst, b);
        return;
    case IP_PROTO_ICMP:
        /* no answers to broadcast pings (smurf amplification) */
        if (!unicast)
            break;
        icmp_input(n, src, b);
        return;
    case IP_PROTO_TCP:
        if (!unicast)
            break;
        tcp_input(&n->tcp, src, dst, b);
        return;
    default:
        break;
    }
drop:
    n->rx_dropped++;
    netbuf_free(n, b);
}

/* Same subnet (or no subnet known): direct; else through the gateway. */
static int ip_next_hop(const struct net *n, uint32_t dst, uint32_t *ret_hop)
{
    if (n->netmask == 0 || (dst & n->netmask) == (n->ip & n->netmask)) {
        *ret_hop = dst;
        return 0;
    }
    if (n->gateway == 0)
        return ERR_NOT_FOUND;
    *ret_hop = n->gateway;
    return 0;
}

int ip_output(struct net *n, uint32_t dst, uint8_t proto, struct netbuf *b)
{
    int rc = ERR_RANGE;
    uint32_t hop = dst;
    if (b->len > IP_MTU - IP_HDR)
        goto drop;
    int broadcast = ip_is_broadcast(n, dst);
    if (!broadcast && (rc = ip_next_hop(n, dst, &hop)) != 0)
        goto drop;
    uint8_t *h = netbuf_push(b, IP_HDR);
    if (!h) {
        rc = ERR_RANGE;
        goto drop;
    }
    h[0] = 0x45;
    h[1] = 0;
    net_put16(h + 2, (uint16_t)b->len);
    net_put16(h + 4, n->ip_id++);
    net_put16(h + 6, IP_FLAG_DF);
    h[8] = IP_TTL;
    h[9] = proto;
    net_put16(h + 10, 0);
    net_put32(h + 12, n->ip);
    net_put32(h + 16, dst);
    net_put16(h + 10, net_csum_fold(net_csum_add(0, h, IP_HDR)));
    if (broadcast)
        return eth_output(n, mac_broadcast, ETH_TYPE_IP, b);
    return arp_output(n, hop, b);
drop:
    n->tx_dropped++;
    netbuf_free(n, b);
    return rc;
}
