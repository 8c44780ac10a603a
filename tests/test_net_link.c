/* test_net_link.c - the shared helpers of the network unit tests
 * (net_testlink.h); it holds no tests itself. */
#include "testlib.h"

#include "../errors.h"
#include "../lib.h"
#include "net_testlink.h"

const uint8_t MAC_US[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
const uint8_t MAC_PEER[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
const uint8_t MAC_DNS[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x03};
const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

char tn_log[8192];
struct net net_a, net_b;
struct tlink link_a, link_b;

/* ---- the in-memory link ------------------------------------------------------------ */

int tl_send(void *ctx, const void *frame, size_t len)
{
    struct tlink *l = ctx;
    if (len < 14 || len > 1514)
        return ERR_INVAL;
    if (l->n_out == TQ_CAP)
        return 0;   /* a full wire drops */
    struct tframe *f = &l->out[l->n_out++];
    memset(f->b, 0, 60);
    memcpy(f->b, frame, len);
    f->len = len < 60 ? 60 : len;
    return 0;
}

int tl_recv(void *ctx, void *buf, size_t cap, size_t *ret_len)
{
    struct tlink *l = ctx;
    *ret_len = 0;
    if (l->n_in == 0)
        return 0;
    if (l->in[0].len <= cap) {
        memcpy(buf, l->in[0].b, l->in[0].len);
        *ret_len = l->in[0].len;
    }
    l->n_in--;
    memmove(&l->in[0], &l->in[1], (size_t)l->n_in * sizeof l->in[0]);
    return 0;
}

void tl_inject(struct tlink *l, const void *frame, size_t len)
{
    CHECK(l->n_in < TQ_CAP && len <= TF_MAX);
    if (l->n_in == TQ_CAP || len > TF_MAX)
        return;
    memcpy(l->in[l->n_in].b, frame, len);
    l->in[l->n_in++].len = len;
}

/* ---- stacks ------------------------------------------------------------------------ */

static void tn_log_line(void *ctx, const char *line)
{
    (void)ctx;
    size_t n = strlen(tn_log);
    snprintf(tn_log + n, sizeof tn_log - n, "%s\n", line);
}

int tn_stack_up(struct net *n, struct tlink *l, const uint8_t mac[6], uint32_t ip, uint32_t gw,
                uint32_t dns)
{
    memset(l, 0, sizeof *l);
    struct net_link link = {.send = tl_send, .recv = tl_recv, .ctx = l};
    memcpy(link.mac, mac, 6);
    struct net_config cfg = {.ip = ip, .netmask = ip ? MASK24 : 0, .gateway = gw, .dns = dns,
                             .use_dhcp = ip == 0};
    int rc = net_init(n, &link, &cfg);
    CHECK_INT(rc, 0);
    n->log = tn_log_line;
    tn_log[0] = 0;
    return rc;
}

int tn_pool_free(const struct net *n)
{
    int k = 0;
    for (const struct netbuf *b = n->free_list; b && k <= NETBUF_POOL; b = b->next)
        k++;
    return k;
}

/* ---- frame builders ---------------------------------------------------------------- */

uint16_t tn_csum(const void *p, size_t n) { return net_csum_fold(net_csum_add(0, p, n)); }

size_t tn_put_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    net_put16(f + 12, type);
    return 14;
}

size_t tn_build_arp(uint8_t *f, uint16_t op, const uint8_t *eth_dst, const uint8_t *sha,
                    uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
    size_t k = tn_put_eth(f, eth_dst, sha, ETH_TYPE_ARP);
    uint8_t *p = f + k;
    net_put16(p, 1);
    net_put16(p + 2, 0x0800);
    p[4] = 6;
    p[5] = 4;
    net_put16(p + 6, op);
    memcpy(p + 8, sha, 6);
    net_put32(p + 14, spa);
    memcpy(p + 18, tha, 6);
    net_put32(p + 24, tpa);
    return k + 28;
}

size_t tn_build_ip_ex(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint32_t src,
                      uint32_t dst, uint8_t proto, const void *opts, size_t optlen, uint16_t frag,
                      const void *payload, size_t plen)
{
    size_t k = tn_put_eth(f, dst_mac, src_mac, ETH_TYPE_IP);
    uint8_t *h = f + k;
    size_t hl = 20 + optlen;
    memset(h, 0, 20);
    h[0] = (uint8_t)(0x40 | hl / 4);
    net_put16(h + 2, (uint16_t)(hl + plen));
    net_put16(h + 4, 1);
    net_put16(h + 6, frag);
    h[8] = 64;
    h[9] = proto;
    net_put32(h + 12, src);
    net_put32(h + 16, dst);
    if (optlen)
        memcpy(h + 20, opts, optlen);
    net_put16(h + 10, tn_csum(h, hl));
    memcpy(h + hl, payload, plen);
    return k + hl + plen;
}

size_t tn_build_ip(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint32_t src,
                   uint32_t dst, uint8_t proto, const void *payload, size_t plen)
{
    return tn_build_ip_ex(f, dst_mac, src_mac, src, dst, proto, NULL, 0, 0, payload, plen);
}

uint16_t tn_udp_csum(uint32_t src, uint32_t dst, const uint8_t *u, size_t len)
{
    uint8_t ph[12];
    net_put32(ph, src);
    net_put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = 17;
    net_put16(ph + 10, (uint16_t)len);
    return net_csum_fold(net_csum_add(net_csum_add(0, ph, 12), u, len));
}

size_t tn_build_udp(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint32_t src,
                    uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len,
                    int with_csum)
{
    uint8_t u[1600];
    net_put16(u, sport);
    net_put16(u + 2, dport);
    net_put16(u + 4, (uint16_t)(8 + len));
    net_put16(u + 6, 0);
    memcpy(u + 8, data, len);
    if (with_csum) {
        uint16_t c = tn_udp_csum(src, dst, u, 8 + len);
        net_put16(u + 6, c ? c : 0xffff);
    }
    return tn_build_ip(f, dst_mac, src_mac, src, dst, IP_PROTO_UDP, u, 8 + len);
}
