/* net_udp.h - UDP (RFC 768): a small table of bound ports with receive
 * callbacks, and datagram sending.
 *
 * Implemented in net_udp.c; included by net.h (struct net embeds the table).
 * Checksums are verified when the sender filled one (nonzero) and always
 * generated on send. Ports are in host byte order.
 */
#ifndef NET_UDP_H
#define NET_UDP_H

#include <stddef.h>
#include <stdint.h>

struct net;
struct netbuf;

#define UDP_MAX_BINDS 8
#define UDP_MAX_PAYLOAD 1472   /* 1500 - IPv4 - UDP headers: no fragments */

/* Called for each datagram to a bound port from net_poll. data[0..len) is
 * only valid during the call (copy what you keep). The callback may call
 * udp_send, udp_bind and udp_unbind. */
typedef void (*udp_recv_fn)(void *ctx, uint32_t src_ip, uint16_t src_port,
                            const uint8_t *data, size_t len);

struct udp_binding {
    uint16_t port;     /* 0 = free slot */
    udp_recv_fn fn;
    void *ctx;
};

struct udp_table {
    struct udp_binding b[UDP_MAX_BINDS];
    uint64_t rx_datagrams, rx_bad, rx_no_port;
};

/* Delivers datagrams to port (nonzero) to fn(ctx, ...). 0, ERR_EXISTS when
 * the port is bound already, ERR_NOMEM when the table is full, ERR_INVAL. */
int udp_bind(struct net *n, uint16_t port, udp_recv_fn fn, void *ctx);
/* Stops delivery to port (no-op when not bound). */
void udp_unbind(struct net *n, uint16_t port);
/* Sends len bytes of data (copied; len <= UDP_MAX_PAYLOAD) from src_port of
 * our address to dst_ip:dst_port. 0 when sent or queued behind ARP
 * resolution (UDP promises no delivery anyway); ERR_RANGE when too long,
 * ERR_NOMEM when the buffer pool is empty, ERR_NOT_FOUND when dst_ip is off
 * the subnet and there is no gateway, ERR_IO on a device error. */
int udp_send(struct net *n, uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
             const void *data, size_t len);
/* A datagram arrived (takes b, data at the UDP header, len = IP payload). */
void udp_input(struct net *n, uint32_t src, uint32_t dst, struct netbuf *b);

#endif
