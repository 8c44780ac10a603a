/* net_dhcp.h - DHCP client (RFC 2131) for the stack's one interface.
 *
 * Implemented in net_dhcp.c; included by net.h (struct net embeds the
 * client). net_init starts it when the configuration asks for DHCP; from
 * then on net_poll drives it through dhcp_timer:
 *
 *   INIT -> SELECTING   DISCOVER broadcast, resent after 4, 8, 16, 32, 64,
 *                       64 ... s (+ up to 1 s of jitter)
 *   SELECTING -> REQUESTING  on the first OFFER: REQUEST broadcast (resent
 *                       like DISCOVER, back to INIT after DHCP_REQUEST_TRIES)
 *   REQUESTING -> BOUND on ACK: n->ip/netmask/gateway/dns set, logged as
 *                       "dhcp: bound 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 86400 s"
 *   BOUND -> RENEWING   at T1 (option 58, default lease/2): REQUEST unicast to
 *                       the server, resent after half the time left to T2
 *                       (at least 60 s)
 *   RENEWING -> REBINDING  at T2 (option 59, default 7/8 lease): broadcast
 *   any -> INIT         on NAK, or when the lease expires (address removed)
 *
 * Lease times count from when the REQUEST that earned the ACK was first sent.
 * Every reply must carry our xid and MAC; its options are parsed with bounds
 * checks (dhcp_parse, also used by the fuzzer).
 */
#ifndef NET_DHCP_H
#define NET_DHCP_H

#include <stddef.h>
#include <stdint.h>

struct net;

#define DHCP_CLIENT_PORT 68
#define DHCP_SERVER_PORT 67
#define DHCP_REQUEST_TRIES 4       /* REQUESTs in REQUESTING before INIT */
#define DHCP_LEASE_INFINITE 0xffffffffu

enum dhcp_state {
    DHCP_OFF, DHCP_INIT, DHCP_SELECTING, DHCP_REQUESTING,
    DHCP_BOUND, DHCP_RENEWING, DHCP_REBINDING
};

/* Message types (option 53). */
enum {
    DHCP_DISCOVER = 1, DHCP_OFFER, DHCP_REQUEST, DHCP_DECLINE,
    DHCP_ACK, DHCP_NAK, DHCP_RELEASE, DHCP_INFORM
};

/* What a server's message says; 0 for an option it did not send. */
struct dhcp_msg {
    uint8_t type;                 /* option 53 */
    uint8_t op;                   /* 1 request, 2 reply */
    uint32_t xid;
    uint32_t ciaddr, yiaddr;
    uint8_t chaddr[6];
    uint32_t server_id;           /* option 54 */
    uint32_t netmask;             /* option 1 */
    uint32_t router;              /* option 3, the first one */
    uint32_t dns;                 /* option 6, the first one */
    uint32_t lease_s, t1_s, t2_s; /* options 51, 58, 59 (seconds) */
};

struct dhcp_client {
    uint8_t state;                /* enum dhcp_state */
    uint8_t tries;                /* transmissions of the current message */
    uint32_t xid;
    uint32_t rand;                /* xorshift state: xids and jitter */
    uint32_t offered_ip, server_ip;
    uint64_t exchange_us;         /* first DISCOVER/REQUEST of this exchange */
    uint64_t next_us;             /* next (re)transmission */
    uint64_t t1_us, t2_us, expire_us;  /* absolute; UINT64_MAX = never */
    uint32_t lease_s;
    uint64_t offers, acks, naks;
};

/* Starts (or restarts) address acquisition; binds UDP port 68. 0, or the
 * udp_bind error. */
int dhcp_start(struct net *n);
/* Stops the client and unbinds its port (the address stays). */
void dhcp_stop(struct net *n);
/* Sends, resends and moves through the states; called from net_poll. */
void dhcp_timer(struct net *n);
/* A message to our port 68 from src_ip (the UDP receive callback, public for
 * tests and the fuzzer): data[0..len) is untrusted. */
void dhcp_input(struct net *n, uint32_t src_ip, const uint8_t *data, size_t len);
/* Parses a BOOTP/DHCP message: 0 and ret, or ERR_FORMAT (short, no magic
 * cookie, bad option lengths, no message type). Never reads outside data. */
int dhcp_parse(const uint8_t *data, size_t len, struct dhcp_msg *ret);

#endif
