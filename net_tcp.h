/* net_tcp.h - TCP (RFC 9293): connections and the non-blocking socket API.
 *
 * Implemented in net_tcp.c (segments, states, timers) and net_tcp_sock.c
 * (the connection table and this socket API). Segments leave through
 * tcp_stack.output (net.c points it at ip_output; unit tests wire two
 * stacks together directly, with loss and reordering). Everything is polled: tcp_timer from net_poll runs
 * retransmission (RTT estimate per RFC 6298, exponential back-off), delayed
 * ACKs, zero-window probes and TIME_WAIT expiry.
 *
 * Socket API used by the HTTP server/client (all non-blocking):
 *   listener = tcp_listen(stack, port, backlog)
 *   conn = tcp_accept(listener)          NULL when none is ready
 *   conn = tcp_connect(stack, ip, port)  then poll tcp_conn_state
 *   tcp_recv / tcp_send                  bytes moved now, 0 when none/no room
 *   tcp_close (FIN after queued data)    tcp_abort (RST)
 *   tcp_release                          the application lets go of conn; the
 *                                        stack frees it once closed
 *
 * What the stack does (and does not): MSS option (ours 1460, the peer's
 * honoured, 536 without one); no window scaling, SACK or timestamps (the
 * receive ring is 16 KiB, a plain 16-bit window covers it); out-of-order
 * data is kept in the receive ring (TCP_OOO_RANGES holes tracked); slow
 * start, congestion avoidance, fast retransmit and NewReno recovery;
 * delayed ACKs (every second segment, else after TCP_DELACK_US); no Nagle
 * (an HTTP reply should leave at once): tcp_send sends full segments at
 * once and the partial tail with the next tcp_timer, i.e. in the same
 * event-loop turn, so several small writes share a segment; keep-alive off.
 */
#ifndef NET_TCP_H
#define NET_TCP_H

#include <stddef.h>
#include <stdint.h>

struct netbuf;
struct net;

#define TCP_MAX_CONNS 32       /* connections at once, listeners excluded */
#define TCP_MAX_LISTENERS 4
#define TCP_RX_BUF 16384       /* receive ring per connection (the window) */
#define TCP_TX_BUF 32768       /* send ring per connection (unacked + unsent) */
#define TCP_MSS_DEFAULT 536    /* a peer without the MSS option (RFC 9293 3.7.1) */
#define TCP_MSS_OURS 1460      /* Ethernet MTU 1500 - IPv4 20 - TCP 20 */
#define TCP_OOO_RANGES 4       /* out-of-order ranges remembered per connection */

/* Retransmission (RFC 6298): 1 s before the first RTT sample, then
 * SRTT + 4 RTTVAR within [200 ms, 60 s], doubled on every timeout. A
 * connection gives up (ERR_TIMEOUT) after TCP_MAX_RETRIES timeouts in a row
 * (TCP_SYN_RETRIES for the handshake), about 5 minutes of silence. */
#define TCP_RTO_INIT_US 1000000u
#define TCP_RTO_MIN_US 200000u
#define TCP_RTO_MAX_US 60000000u
#define TCP_MAX_RETRIES 12
#define TCP_SYN_RETRIES 6
#define TCP_DELACK_US 40000u
/* TIME_WAIT lasts 4 s instead of 2 MSL = 4 min: this server lives on a LAN
 * with 32 slots; 4 s still answers the peer's first two FIN retransmissions
 * (initial RTO 1 s, then 2 s) if our last ACK was lost, and old duplicates
 * of a previous incarnation cannot be accepted by a new one because ISNs
 * advance with a 4 us clock (RFC 9293 3.4.1). When every slot is taken, a
 * new connection reuses the oldest TIME_WAIT slot the application released. */
#define TCP_TIME_WAIT_US 4000000u
/* A released connection stuck in FIN_WAIT_2 (peer never closes) is
 * dropped after this (Linux's tcp_fin_timeout idea). */
#define TCP_ORPHAN_FIN_WAIT_2_US 30000000u

enum tcp_state {
    TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
    TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK,
    TCP_TIME_WAIT
};

struct tcp_conn;      /* defined in net_tcp_int.h (private) */
struct tcp_listener;  /* defined in net_tcp_int.h (private) */

struct tcp_stack {
    /* Sends one segment (data at the TCP header, checksum filled) from src
     * to dst; takes seg. net.c sets it to a wrapper around ip_output. */
    int (*output)(void *ctx, uint32_t src, uint32_t dst, struct netbuf *seg);
    void *output_ctx;
    struct net *net;         /* buffer pool and logging */
    uint32_t local_ip;       /* kept equal to net->ip by net.c */
    uint64_t now_us;         /* last tcp_timer time (or net->now_us if later) */
    uint32_t isn_seed;       /* mixed with time for initial sequence numbers */
    uint16_t next_port;      /* ephemeral ports for tcp_connect */
    uint32_t accepted;       /* handshakes completed (orders the accept queue) */
    struct tcp_conn *conns;  /* TCP_MAX_CONNS, plat_alloc'd by tcp_init */
    struct tcp_listener *listeners; /* TCP_MAX_LISTENERS */
    uint64_t segs_in, segs_out, retransmits, rsts_sent, bad_segs;
};

/* Clears *t, allocates every connection with its rings at once
 * (plat_alloc) and seeds ISNs and ephemeral ports from the clocks; set
 * output, output_ctx and local_ip afterwards. 0 or ERR_NOMEM. n provides
 * buffers (netbuf_alloc) and logging. */
int tcp_init(struct tcp_stack *t, struct net *n);
void tcp_shutdown(struct tcp_stack *t);
/* A segment arrived (takes seg, data at the TCP header, len = IP payload).
 * Checked here: length, header length, options, checksum. */
void tcp_input(struct tcp_stack *t, uint32_t src, uint32_t dst, struct netbuf *seg);
/* Runs timers; call from net_poll with the current time. */
void tcp_timer(struct tcp_stack *t, uint64_t now_us);

/* A listener on port with room for backlog connections that are half open
 * or waiting for tcp_accept (further SYNs are dropped; clients retry).
 * NULL when the port is taken or no listener slot is free. */
struct tcp_listener *tcp_listen(struct tcp_stack *t, uint16_t port, int backlog);
/* The oldest established connection waiting on l, now owned by the
 * application (tcp_release it); NULL when none is ready. */
struct tcp_conn *tcp_accept(struct tcp_listener *l);
/* Closes the listener; connections not yet accepted are reset. */
void tcp_unlisten(struct tcp_listener *l);
/* Active open to ip:port from an ephemeral port; NULL when no slot is free
 * (or the interface has no address). Owned by the application. */
struct tcp_conn *tcp_connect(struct tcp_stack *t, uint32_t ip, uint16_t port);

/* Bytes copied into buf (> 0); 0 when nothing is buffered yet; ERR_EOF
 * once the peer closed and everything was read; ERR_RESET after a reset
 * (also tcp_abort), ERR_TIMEOUT when retransmissions gave up. */
long tcp_recv(struct tcp_conn *c, void *buf, size_t n);
/* Bytes accepted into the send buffer (0 when it is full); ERR_RESET /
 * ERR_TIMEOUT / ERR_INVAL when the connection can no longer send. Data
 * queued during the handshake leaves once it completes. */
long tcp_send(struct tcp_conn *c, const void *buf, size_t n);
/* Bytes tcp_send would accept now. */
size_t tcp_send_space(const struct tcp_conn *c);
/* Bytes still unacknowledged or unsent (0 = everything delivered). */
size_t tcp_send_pending(const struct tcp_conn *c);
enum tcp_state tcp_conn_state(const struct tcp_conn *c);
void tcp_conn_peer(const struct tcp_conn *c, uint32_t *ret_ip, uint16_t *ret_port);
/* Graceful close: FIN once queued data is sent. */
void tcp_close(struct tcp_conn *c);
/* Sends RST and drops the connection. */
void tcp_abort(struct tcp_conn *c);
/* The application is done with c (after close/abort or on error); the slot
 * is reused once the connection has fully closed. c must not be used after.
 * Without an earlier tcp_close this closes gracefully; data still unread
 * and data arriving later is discarded (no RST, which would make the peer
 * drop a response it has not read yet). */
void tcp_release(struct tcp_conn *c);

/* Diagnostics (status pages, tests). */
struct tcp_conn_info {
    enum tcp_state state;
    uint16_t local_port, mss;   /* mss: the largest segment we send */
    uint32_t srtt_us, rto_us;   /* srtt 0 before the first sample */
    uint32_t cwnd, snd_wnd;     /* congestion window, peer's window */
    uint64_t retransmits;
};
void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *ret);
/* Connection slots taken (any state, released ones until they close). */
int tcp_conns_in_use(const struct tcp_stack *t);

#endif
