/* net.h - the TCP/IP stack: shared types and the contract between layers.
 *
 * Platform-neutral C (lib.h only). One file per layer:
 *   net_buf.c   struct netbuf pool (buffers with headroom, iPXE io_buffer style)
 *   net.c       struct net: init, net_poll (receive frames, run timers)
 *   net_eth.c   Ethernet II framing          net_arp.c  ARP with a timed cache
 *   net_ip.c    IPv4 (checksum, routing via gateway, fragments dropped)
 *   net_icmp.c  echo reply                    net_udp.c  UDP sockets (callbacks)
 *   net_dhcp.c  DHCP client with renewal      net_dns.c  DNS A-record resolver
 *   net_tcp.c   TCP (net_tcp.h: connections, the socket API)
 * The device is a struct net_link: net_snp.c (UEFI Simple Network Protocol),
 * a TAP device on the host, or an in-memory link in tests.
 *
 * Conventions: addresses (uint32_t ip) and ports are in HOST byte order
 * everywhere in the API, 10.0.2.15 == 0x0A00020F; only the wire is big
 * endian. Every parser takes (data, len) of untrusted bytes and never reads
 * outside them. Nothing blocks: net_poll is called from the event loop and
 * every timer runs from it with the time passed in (microseconds, monotonic).
 * Functions return 0 or a negative ERR_* (errors.h).
 */
#ifndef NET_H
#define NET_H

#include <stddef.h>
#include <stdint.h>

/* ---- byte order ------------------------------------------------------------ */
static inline uint16_t net_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t net_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void net_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void net_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
#define NET_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Internet checksum (RFC 1071) of data[0..len) added to a running 32-bit sum
 * (start with 0); net_csum_fold turns the sum into the 16-bit field value. */
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t net_csum_fold(uint32_t sum);
/* "10.0.2.15" -> host order. 0 or ERR_FORMAT. */
int net_parse_ip(const char *s, uint32_t *ret_ip);
/* Writes "a.b.c.d" (at most 16 bytes with the NUL) into out. */
void net_format_ip(uint32_t ip, char out[16]);

/* ---- buffers ------------------------------------------------------------------
 * Fixed-size buffers from one pool allocated at net_init: a frame plus
 * headroom so each layer pushes its header in front without copying. The
 * payload is data[0..len). Ownership: whoever holds the pointer; a function
 * that "takes" a netbuf frees it on every path (also on error). */
#define NETBUF_HEADROOM 128
#define NETBUF_CAP (NETBUF_HEADROOM + 1536)
#define NETBUF_POOL 128
struct netbuf {
    uint8_t *data;          /* start of the current layer's bytes */
    size_t len;             /* bytes from data on */
    struct netbuf *next;    /* free list / queues */
    uint8_t mem[NETBUF_CAP];
};
struct net;
/* A buffer with data at NETBUF_HEADROOM and len 0, or NULL when the pool is
 * empty (callers drop the packet: TCP retransmits, DHCP/DNS retry). */
struct netbuf *netbuf_alloc(struct net *n);
void netbuf_free(struct net *n, struct netbuf *b);
/* Prepends hdr bytes (returns the new data pointer, NULL if the headroom is
 * used up); pulls hdr bytes off the front (NULL if len < hdr); appends. */
uint8_t *netbuf_push(struct netbuf *b, size_t hdr);
uint8_t *netbuf_pull(struct netbuf *b, size_t hdr);
uint8_t *netbuf_put(struct netbuf *b, size_t n);
/* Cuts the payload to len bytes (when shorter than it is). */
void netbuf_trim(struct netbuf *b, size_t len);

/* ---- the device ---------------------------------------------------------------
 * A link moves whole Ethernet frames (destination MAC first, no FCS). */
struct net_link {
    uint8_t mac[6];
    /* Sends one frame of len bytes (14..1514; the link pads to 60).
     * 0 = queued, ERR_IO on a device error; may drop when busy (like a wire). */
    int (*send)(void *ctx, const void *frame, size_t len);
    /* Copies one received frame into buf (cap bytes): *ret_len > 0, or 0
     * when none is waiting. Never blocks. */
    int (*recv)(void *ctx, void *buf, size_t cap, size_t *ret_len);
    void *ctx;
};

/* ---- configuration -------------------------------------------------------------- */
struct net_config {
    uint32_t ip, netmask, gateway, dns;  /* static setup when ip != 0 */
    int use_dhcp;                        /* 1 unless ip= was given */
};

#include "net_arp.h"
#include "net_udp.h"
#include "net_dhcp.h"
#include "net_dns.h"
#include "net_tcp.h"

/* ---- the stack ------------------------------------------------------------------ */
struct net {
    struct net_link link;
    uint32_t ip, netmask, gateway, dns;  /* 0 until configured (DHCP or static) */
    uint64_t now_us;                     /* time of the current net_poll */
    struct netbuf *free_list;
    void *pool;                          /* plat_alloc'd NETBUF_POOL buffers */
    size_t pool_bytes;
    uint16_t ip_id;                      /* next IPv4 identification */
    struct arp_cache arp;
    struct udp_table udp;
    struct dhcp_client dhcp;
    struct dns_client dns_client;
    struct tcp_stack tcp;
    /* Counters for diagnostics and tests. */
    uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
    /* Optional trace hook (NULL = quiet): one line per notable event, e.g.
     * "dhcp: bound 10.0.2.15/24 gw 10.0.2.2 lease 86400 s". */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
};

/* Sets up the stack on link with cfg (static or DHCP). Allocates the buffer
 * pool (plat_alloc). 0 or ERR_NOMEM. */
int net_init(struct net *n, const struct net_link *link, const struct net_config *cfg);
void net_shutdown(struct net *n);
/* Receives every waiting frame and runs all timers (ARP, DHCP, DNS, TCP).
 * Call often from the event loop. */
void net_poll(struct net *n, uint64_t now_us);
/* 1 once the interface has an address (static, or DHCP bound). */
int net_is_up(const struct net *n);
/* printf-style line to n->log (no-op without it). */
void net_logf(struct net *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- layers (called by each other; see the files) ----------------------------- */
/* Ethernet: frame in (takes b, data at the Ethernet header). */
void eth_input(struct net *n, struct netbuf *b);
/* Prepends the Ethernet header and sends (takes b). */
int eth_output(struct net *n, const uint8_t dst_mac[6], uint16_t ethertype, struct netbuf *b);
#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_ARP 0x0806

/* IPv4: packet in (takes b, data at the IP header). */
void ip_input(struct net *n, struct netbuf *b);
/* Prepends the IPv4 header (src = n->ip, or 0 before configuration) and
 * routes to dst directly or via the gateway; 255.255.255.255 is broadcast.
 * Takes b. ERR_AGAIN when the next hop's MAC is being resolved (the packet
 * is held and sent when the ARP reply comes, one per entry). */
int ip_output(struct net *n, uint32_t dst, uint8_t proto, struct netbuf *b);
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
/* Pseudo-header sum for TCP/UDP checksums (src, dst, proto, length). */
uint32_t ip_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

void icmp_input(struct net *n, uint32_t src, struct netbuf *b);

#endif
