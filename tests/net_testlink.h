/* net_testlink.h - helpers shared by the network unit tests (test_net.c,
 * test_net_dhcp_dns.c), implemented in test_net_link.c: an in-memory
 * link, stacks on it, and frame builders written independently of the
 * stack's own output code. */
#ifndef NET_TESTLINK_H
#define NET_TESTLINK_H

#include <stddef.h>
#include <stdint.h>

#include "../net.h"

#define US 1000000ull

/* ---- an in-memory link ----------------------------------------------------------
 * Frames the stack sends land in `out`; frames in `in` are what it receives.
 * Like a real NIC the link pads short frames to 60 bytes; a full queue drops. */
#define TQ_CAP 64
#define TF_MAX 1600
struct tframe {
    size_t len;
    uint8_t b[TF_MAX];
};
struct tlink {
    struct tframe in[TQ_CAP], out[TQ_CAP];
    int n_in, n_out;
};
int tl_send(void *ctx, const void *frame, size_t len);
int tl_recv(void *ctx, void *buf, size_t cap, size_t *ret_len);
/* Queues a frame for the stack to receive. */
void tl_inject(struct tlink *l, const void *frame, size_t len);

/* ---- stacks and logs ---------------------------------------------------------- */
extern const uint8_t MAC_US[6], MAC_PEER[6], MAC_DNS[6], MAC_BCAST[6];
#define IP_US NET_IP(10, 0, 2, 15)
#define IP_PEER NET_IP(10, 0, 2, 2)
#define IP_DNS NET_IP(10, 0, 2, 3)
#define MASK24 NET_IP(255, 255, 255, 0)

/* Every line the stacks log since the last tn_stack_up, '\n'-terminated. */
extern char tn_log[8192];
extern struct net net_a, net_b;
extern struct tlink link_a, link_b;

/* Brings n up on a fresh link l: static /24 address ip (gateway gw, DNS
 * dns) when ip != 0, DHCP otherwise; logs into tn_log. 0 or net_init's error. */
int tn_stack_up(struct net *n, struct tlink *l, const uint8_t mac[6], uint32_t ip, uint32_t gw,
                uint32_t dns);
/* Buffers in n's free list. */
int tn_pool_free(const struct net *n);

/* ---- frame builders: each writes a whole Ethernet frame into f, returns its length */
uint16_t tn_csum(const void *p, size_t n);
size_t tn_put_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type);
size_t tn_build_arp(uint8_t *f, uint16_t op, const uint8_t *eth_dst, const uint8_t *sha,
                    uint32_t spa, const uint8_t *tha, uint32_t tpa);
/* IPv4 with options opts[0..optlen) and the flags/offset field frag; id 1, TTL 64. */
size_t tn_build_ip_ex(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint32_t src,
                      uint32_t dst, uint8_t proto, const void *opts, size_t optlen, uint16_t frag,
                      const void *payload, size_t plen);
size_t tn_build_ip(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint32_t src,
                   uint32_t dst, uint8_t proto, const void *payload, size_t plen);
/* The UDP checksum of u[0..len) (header included) between src and dst. */
uint16_t tn_udp_csum(uint32_t src, uint32_t dst, const uint8_t *u, size_t len);
size_t tn_build_udp(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint32_t src,
                    uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len,
                    int with_csum);

/* Field access into frames the stack sent (its IP headers are 20 bytes). */
static inline uint16_t f_type(const struct tframe *f) { return net_get16(f->b + 12); }
static inline uint8_t f_proto(const struct tframe *f) { return f->b[23]; }
static inline uint32_t f_ipsrc(const struct tframe *f) { return net_get32(f->b + 26); }
static inline uint32_t f_ipdst(const struct tframe *f) { return net_get32(f->b + 30); }
static inline uint16_t f_dport(const struct tframe *f) { return net_get16(f->b + 36); }
static inline int f_is_udp(const struct tframe *f)
{
    return f_type(f) == ETH_TYPE_IP && f_proto(f) == IP_PROTO_UDP;
}
static inline int f_is_arp_request_for(const struct tframe *f, uint32_t ip)
{
    return f_type(f) == ETH_TYPE_ARP && net_get16(f->b + 20) == 1 && net_get32(f->b + 38) == ip;
}

#endif
