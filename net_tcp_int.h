/* net_tcp_int.h - TCP internals shared by net_tcp.c and net_tcp_sock.c.
 *
 * PRIVATE: include only from those two files. Everyone else uses the
 * public API of net_tcp.h, where struct tcp_conn and struct tcp_listener
 * stay opaque.
 *
 * net_tcp.c is the protocol: segments in and out, the state machine,
 * congestion control and timers. net_tcp_sock.c is the connection table
 * (slots, listeners, ISNs, ephemeral ports) and the socket API.
 *
 * Each connection owns a send ring (bytes from SND.UNA on: unacknowledged,
 * then unsent) and a receive ring (bytes the application has not read, then
 * room for the window, where out-of-order data waits in place). The send
 * ring is the retransmission queue, so no netbuf is held between calls:
 * segments are built when they leave and freed by the output path.
 * Sequence numbers are compared modulo 2^32 (seq_lt and friends).
 */
#ifndef NET_TCP_INT_H
#define NET_TCP_INT_H

#include "lib.h"
#include "net.h"

/* Receiver silly-window avoidance (RFC 9293 3.8.6.2.2): the right edge
 * moves in steps of at least this much. */
#define TCP_SWS_STEP MIN(TCP_RX_BUF / 2, TCP_MSS_OURS)
#define TCP_CWND_MAX 0x40000000u /* keeps cwnd arithmetic far from overflow */

enum { OWNER_NONE, OWNER_PENDING, OWNER_APP }; /* who may use the conn */

struct seq_range {
    uint32_t start, end;
};

struct tcp_conn {
    struct tcp_stack *stack;
    struct tcp_listener *listener;   /* passive opens, until accepted */
    enum tcp_state state;
    int err;                         /* ERR_RESET / ERR_TIMEOUT once failed */
    uint8_t in_use, owner;
    uint8_t fin_queued;              /* tcp_close: FIN follows the data */
    uint8_t fin_sent, fin_received;
    uint8_t have_fin;                /* the peer's FIN seen at fin_in_seq */
    uint8_t rtt_timing, have_rtt, syn_lost, in_recovery, ack_now;
    uint8_t dupacks, retries, unacked_segs, n_ooo;
    uint32_t accept_order;
    uint32_t local_ip, remote_ip;
    uint16_t local_port, remote_port;
    uint16_t mss;                    /* largest segment we send */
    /* send side: tx ring = [snd_una, snd_una + tx_len), FIN after it */
    uint32_t iss, snd_una, snd_nxt, snd_max;
    uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
    uint32_t fin_seq;
    uint32_t cwnd, ssthresh, recover;
    /* receive side */
    uint32_t irs, rcv_nxt, rcv_adv;  /* rcv_adv: right edge last advertised */
    uint32_t fin_in_seq;
    struct seq_range ooo[TCP_OOO_RANGES]; /* received beyond rcv_nxt */
    /* timers: absolute microseconds, 0 = off */
    uint64_t rtx_at, delack_at, linger_at, rtt_start, oow_ack_at;
    uint32_t rtt_seq, srtt, rttvar, rto;
    uint64_t retransmits;
    size_t tx_head, tx_len, rx_head, rx_len;
    uint8_t rx[TCP_RX_BUF];
    uint8_t tx[TCP_TX_BUF];
};

struct tcp_listener {
    struct tcp_stack *stack;
    uint16_t port;
    uint8_t in_use;
    int backlog;
};

/* ---- small helpers ------------------------------------------------------------- */

static inline int seq_lt(uint32_t a, uint32_t b) { return (uint32_t)(a - b) >> 31; }
static inline int seq_le(uint32_t a, uint32_t b) { return a == b || seq_lt(a, b); }
static inline int seq_gt(uint32_t a, uint32_t b) { return seq_lt(b, a); }
static inline int seq_ge(uint32_t a, uint32_t b) { return seq_le(b, a); }
/* start <= x < start + len, modulo 2^32 */
static inline int seq_in(uint32_t x, uint32_t start, uint32_t len) { return x - start < len; }

static inline void ring_write(uint8_t *ring, size_t cap, size_t pos, const uint8_t *src, size_t n)
{
    pos %= cap;
    size_t first = MIN(n, cap - pos);
    memcpy(ring + pos, src, first);
    memcpy(ring, src + first, n - first);
}

static inline void ring_read(const uint8_t *ring, size_t cap, size_t pos, uint8_t *dst, size_t n)
{
    pos %= cap;
    size_t first = MIN(n, cap - pos);
    memcpy(dst, ring + pos, first);
    memcpy(dst + first, ring, n - first);
}

static inline int addr_unusable(uint32_t ip)
{
    return ip == 0 || ip == 0xffffffffu || (ip >> 28) == 0xe;
}

static inline int state_synced(enum tcp_state s) { return s >= TCP_SYN_RECEIVED && s != TCP_TIME_WAIT; }

/* States in which our data (and FIN) may leave. */
static inline int state_sends(enum tcp_state s)
{
    return s == TCP_ESTABLISHED || s == TCP_CLOSE_WAIT || s == TCP_FIN_WAIT_1 ||
           s == TCP_CLOSING || s == TCP_LAST_ACK;
}

/* States in which the peer's data is taken. */
static inline int state_receives(enum tcp_state s)
{
    return s == TCP_ESTABLISHED || s == TCP_FIN_WAIT_1 || s == TCP_FIN_WAIT_2;
}

/* ---- net_tcp.c: the protocol side the socket API drives ------------------------- */

/* tcp_conn_output modes. Without OUT_FLUSH only full segments leave: the
 * application's writes of one event-loop turn coalesce, and tcp_timer
 * (later in the same net_poll) flushes the tail. That saves segments
 * like Nagle without Nagle's wait for an ACK. */
enum { OUT_FORCE = 1, OUT_FLUSH = 2 };

/* Sends what the windows allow, a pending ACK, and (re)arms the timer. */
void tcp_conn_output(struct tcp_conn *c, int mode);
/* Sends our SYN (or SYN-ACK) and times the round trip of its answer. */
void tcp_open_with_syn(struct tcp_conn *c);
/* A RST for c's current sequence numbers. */
void tcp_send_rst(struct tcp_conn *c);
/* Moves c to CLOSED and stops its timers (tcp_conn_reap frees the slot). */
void tcp_enter_closed(struct tcp_conn *c);
/* Closes c with err (the first error sticks) and empties the send ring. */
void tcp_conn_fail(struct tcp_conn *c, int err);

/* ---- net_tcp_sock.c: the connection table --------------------------------------- */

/* A free slot, else the oldest released TIME_WAIT one, else NULL. */
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *t);
/* Fills a slot from tcp_conn_alloc for the given endpoints: defaults,
 * ISN; state and owner are the caller's. */
void tcp_conn_setup(struct tcp_conn *c, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);
/* Frees c once it is closed and the application no longer holds it. */
void tcp_conn_reap(struct tcp_conn *c);
/* The listener on port, NULL when none. */
struct tcp_listener *tcp_listener_find(struct tcp_stack *t, uint16_t port);

#endif
