/* net_eth.c - Ethernet II framing: filter and demultiplex received frames,
 * prepend the header on the way out (net.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

#define ETH_HDR 14

static int eth_is_broadcast(const uint8_t *mac)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return memcmp(mac, bcast, 6) == 0;
}

/* Frames for other hosts reach us on hubs, bridges and promiscuous
 * devices; multicast is not used by this stack (no IGMP, no IPv6). */
void eth_input(struct net *n, struct netbuf *b)
{
    if (b->len < ETH_HDR)
        goto drop;
    const uint8_t *h = b->data;
    if (memcmp(h, n->link.mac, 6) != 0 && !eth_is_broadcast(h))
        goto drop;
    uint16_t type = net_get16(h + 12);
    netbuf_pull(b, ETH_HDR);
    switch (type) {
    case ETH_TYPE_IP:
        ip_input(n, b);
        return;
    case ETH_TYPE_ARP:
        arp_input(n, b);
        return;
    default:
        break;
    }
drop:
    n->rx_dropped++;
    netbuf_free(n, b);
}

int eth_output(struct net *n, const uint8_t dst_mac[6], uint16_t ethertype, struct netbuf *b)
{
    uint8_t *h = netbuf_push(b, ETH_HDR);
    if (!h || b->len > ETH_HDR + 1500) {
        n->tx_dropped++;
        netbuf_free(n, b);
        return ERR_RANGE;
    }
    memcpy(h, dst_mac, 6);
    memcpy(h + 6, n->link.mac, 6);
    net_put16(h + 12, ethertype);
    int rc = n->link.send(n->link.ctx, b->data, b->len);
    if (rc == 0)
        n->tx_frames++;
    else
        n->tx_dropped++;
    netbuf_free(n, b);
    return rc;
}
