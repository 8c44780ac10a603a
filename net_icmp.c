/* net_icmp.c - ICMP (RFC 792): echo requests are answered, everything else
 * is ignored (net.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

#define ICMP_HDR 8
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

/* Turns the request into the reply in place: same identifier, sequence and
 * data, so only the type and the checksum change. */
void icmp_input(struct net *n, uint32_t src, struct netbuf *b)
{
    uint8_t *p = b->data;
    if (b->len < ICMP_HDR || net_csum_fold(net_csum_add(0, p, b->len)) != 0)
        goto drop;
    if (p[0] != ICMP_ECHO_REQUEST || p[1] != 0)
        goto drop;
    p[0] = ICMP_ECHO_REPLY;
    net_put16(p + 2, 0);
    net_put16(p + 2, net_csum_fold(net_csum_add(0, p, b->len)));
    ip_output(n, src, IP_PROTO_ICMP, b);
    return;
drop:
    n->rx_dropped++;
    netbuf_free(n, b);
}
