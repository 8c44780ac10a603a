/* net_tcp.c - TCP (RFC 9293): segments in and out, the state machine,
 * congestion control, retransmission and the other timers.
 *
 * The connection table and the socket API of net_tcp.h are in
 * net_tcp_sock.c; the structures and helpers both share are in the private
 * net_tcp_int.h, which also describes the send and receive rings.
 */
#include "errors.h"
#include "lib.h"
#include "net.h"
#include "net_tcp_int.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define TCP_HDR 20
#define TCP_OPT_MSS 2
#define TCP_MSS_MIN 64               /* a tinier MSS option would only cost us */
#define TCP_RTO_AFTER_SYN_LOSS_US 3000000u /* RFC 6298 5.7 */
#define TCP_CLOCK_G_US 1000u         /* the G of RFC 6298 2.2 */
#define TCP_OOW_ACK_GAP_US 500000u  /* replies to bare out-of-window segments (Linux: 500 ms) */

/* One parsed incoming segment; data points into the netbuf. */
struct seg {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t wnd, mss;               /* mss: option value, 0 = absent */
    uint8_t flags;
    const uint8_t *data;
    uint32_t len;
};

/* One segment to build. */
struct seg_out {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags, with_mss;
    uint16_t wnd;
};

/* ---- small helpers ------------------------------------------------------------- */

static uint32_t seg_space(const struct seg *s)
{
    return s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
}

/* The IP layer stamps n->now_us before delivering frames; tcp_timer runs
 * later in the same poll, so take the newer clock. */
static void sync_clock(struct tcp_stack *t)
{
    if (t->net && t->net->now_us > t->now_us)
        t->now_us = t->net->now_us;
}

/* ---- parsing -------------------------------------------------------------------- */

/* The MSS option of a SYN, 0 when absent; options are untrusted. */
static uint16_t parse_mss(const uint8_t *o, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (o[i] == 0)
            break;
        if (o[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n || o[i + 1] < 2 || o[i + 1] > n - i)
            break;
        if (o[i] == TCP_OPT_MSS && o[i + 1] == 4)
            return net_get16(o + i + 2);
        i += o[i + 1];
    }
    return 0;
}

static int seg_parse(const uint8_t *p, size_t len, struct seg *s)
{
    if (len < TCP_HDR || len > 0xffff)
        return ERR_FORMAT;
    size_t hlen = (size_t)(p[12] >> 4) * 4;
    if (hlen < TCP_HDR || hlen > len)
        return ERR_FORMAT;
    s->sport = net_get16(p);
    s->dport = net_get16(p + 2);
    s->seq = net_get32(p + 4);
    s->ack = net_get32(p + 8);
    s->flags = p[13] & 0x3f;
    s->wnd = net_get16(p + 14);
    s->mss = (s->flags & TCP_SYN) ? parse_mss(p + TCP_HDR, hlen - TCP_HDR) : 0;
    s->data = p + hlen;
    s->len = (uint32_t)(len - hlen);
    return 0;
}

/* A correct segment sums to 0xffff, which net_csum_fold complements to 0. */
static int csum_ok(uint32_t src, uint32_t dst, const uint8_t *p, size_t len)
{
    uint32_t sum = ip_pseudo_sum(src, dst, IP_PROTO_TCP, (uint16_t)len);
    return net_csum_fold(net_csum_add(sum, p, len)) == 0;
}

/* ---- segments out --------------------------------------------------------------- */

/* Builds and sends one segment with n payload bytes from c's send ring at
 * ring offset off (c may be NULL when n is 0). A missing buffer drops the
 * segment like a lossy wire would: retransmission covers it. */
static int emit(struct tcp_stack *t, const struct seg_out *o, const struct tcp_conn *c,
                size_t off, uint32_t n)
{
    struct netbuf *b = netbuf_alloc(t->net);
    if (!b)
        return ERR_NOMEM;
    size_t hlen = TCP_HDR + (o->with_mss ? 4 : 0);
    uint8_t *h = netbuf_put(b, hlen + n);
    if (!h) {
        netbuf_free(t->net, b);
        return ERR_RANGE;
    }
    net_put16(h, o->sport);
    net_put16(h + 2, o->dport);
    net_put32(h + 4, o->seq);
    net_put32(h + 8, (o->flags & TCP_ACK) ? o->ack : 0);
    h[12] = (uint8_t)(hlen / 4 << 4);
    h[13] = o->flags;
    net_put16(h + 14, o->wnd);
    net_put32(h + 16, 0); /* checksum, urgent pointer */
    if (o->with_mss) {
        h[20] = TCP_OPT_MSS;
        h[21] = 4;
        net_put16(h + 22, TCP_MSS_OURS);
    }
    if (n)
        ring_read(c->tx, TCP_TX_BUF, c->tx_head + off, h + hlen, n);
    uint32_t sum = ip_pseudo_sum(o->src, o->dst, IP_PROTO_TCP, (uint16_t)(hlen + n));
    net_put16(h + 16, net_csum_fold(net_csum_add(sum, h, hlen + n)));
    t->segs_out++;
    if (!t->output) {
        netbuf_free(t->net, b);
        return ERR_IO;
    }
    return t->output(t->output_ctx, o->src, o->dst, b);
}

/* The window to advertise; the right edge never moves back and moves
 * forward only in TCP_SWS_STEP steps. */
static uint16_t advertise(struct tcp_conn *c)
{
    uint32_t edge = c->rcv_nxt + (uint32_t)(TCP_RX_BUF - c->rx_len);
    if (seq_lt(c->rcv_adv, c->rcv_nxt))
        c->rcv_adv = c->rcv_nxt;
    if (seq_gt(edge, c->rcv_adv) && edge - c->rcv_adv >= TCP_SWS_STEP)
        c->rcv_adv = edge;
    uint32_t wnd = c->rcv_adv - c->rcv_nxt;
    return (uint16_t)MIN(wnd, 0xffffu);
}

/* A segment of c at seq with n bytes of the send ring from seq on. */
static void conn_emit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t n)
{
    struct seg_out o = {c->local_ip, c->remote_ip, c->local_port, c->remote_port,
                        seq, c->rcv_nxt, flags, (flags & TCP_SYN) != 0, 0};
    o.wnd = advertise(c);
    if (flags & TCP_ACK) {
        c->ack_now = 0;
        c->delack_at = 0;
        c->unacked_segs = 0;
    }
    emit(c->stack, &o, c, seq - c->snd_una, n);
}

static void send_syn(struct tcp_conn *c)
{
    conn_emit(c, c->iss, TCP_SYN | (c->state == TCP_SYN_RECEIVED ? TCP_ACK : 0), 0);
}

static void send_ack(struct tcp_conn *c)
{
    if (c->state == TCP_SYN_RECEIVED)
        send_syn(c); /* what a peer still in SYN_SENT needs */
    else if (c->state != TCP_SYN_SENT && c->state != TCP_CLOSED)
        conn_emit(c, c->snd_max, TCP_ACK, 0); /* not SND.NXT: it went back after a timeout */
}

/* RFC 9293 3.10.7.1: the answer to a segment nobody wants. */
static void reply_rst(struct tcp_stack *t, const struct seg *s)
{
    if ((s->flags & TCP_RST) || addr_unusable(s->dst))
        return;
    struct seg_out o = {s->dst, s->src, s->dport, s->sport, 0, 0, TCP_RST, 0, 0};
    if (s->flags & TCP_ACK) {
        o.seq = s->ack;
    } else {
        o.ack = s->seq + seg_space(s);
        o.flags |= TCP_ACK;
    }
    t->rsts_sent++;
    emit(t, &o, NULL, 0, 0);
}

void tcp_send_rst(struct tcp_conn *c)
{
    struct seg_out o = {c->local_ip, c->remote_ip, c->local_port, c->remote_port,
                        c->snd_max, c->rcv_nxt, TCP_RST | TCP_ACK, 0, 0};
    c->stack->rsts_sent++;
    emit(c->stack, &o, NULL, 0, 0);
}

/* ---- connection states ------------------------------------------------------------- */

void tcp_enter_closed(struct tcp_conn *c)
{
    c->state = TCP_CLOSED;
    c->rtx_at = 0;
    c->delack_at = 0;
    c->linger_at = 0;
    c->ack_now = 0;
}

void tcp_conn_fail(struct tcp_conn *c, int err)
{
    if (!c->err)
        c->err = err;
    c->tx_len = 0;
    tcp_enter_closed(c);
}

static void enter_time_wait(struct tcp_conn *c)
{
    c->state = TCP_TIME_WAIT;
    c->rtx_at = 0;
    c->linger_at = c->stack->now_us + TCP_TIME_WAIT_US;
}

static struct tcp_conn *conn_find(struct tcp_stack *t, const struct seg *s)
{
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &t->conns[i];
        if (c->in_use && c->state != TCP_CLOSED && c->remote_port == s->sport &&
            c->local_port == s->dport && c->remote_ip == s->src && c->local_ip == s->dst)
            return c;
    }
    return NULL;
}

/* ---- timers and congestion ------------------------------------------------------- */

static uint32_t unsent_bytes(const struct tcp_conn *c)
{
    uint32_t sent = c->snd_nxt - c->snd_una;
    return c->tx_len > sent ? (uint32_t)c->tx_len - sent : 0;
}

/* The retransmission timer runs while anything is unacknowledged; it is
 * also the persist timer while a zero window holds data back. */
static void arm_timer(struct tcp_conn *c)
{
    int outstanding = c->snd_una != c->snd_max;
    int blocked = !outstanding && c->snd_wnd == 0 && unsent_bytes(c) && state_sends(c->state);
    if (!outstanding && !blocked)
        c->rtx_at = 0;
    else if (!c->rtx_at)
        c->rtx_at = c->stack->now_us + c->rto;
}

void tcp_open_with_syn(struct tcp_conn *c)
{
    c->snd_nxt = c->snd_max = c->iss + 1;
    c->rtt_timing = 1;
    c->rtt_seq = c->iss;
    c->rtt_start = c->stack->now_us;
    send_syn(c);
    arm_timer(c);
}

/* RFC 6298 2.2-2.4 in microseconds. */
static void rtt_sample(struct tcp_conn *c, uint64_t r64)
{
    uint32_t r = (uint32_t)MIN(r64, (uint64_t)TCP_RTO_MAX_US);
    if (!c->have_rtt) {
        c->srtt = r;
        c->rttvar = r / 2;
        c->have_rtt = 1;
    } else {
        uint32_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    uint32_t rto = c->srtt + MAX(TCP_CLOCK_G_US, 4 * c->rttvar);
    c->rto = MIN(MAX(rto, TCP_RTO_MIN_US), TCP_RTO_MAX_US);
}

/* Resends the first unacknowledged segment (fast retransmit, NewReno). */
static void retransmit_first(struct tcp_conn *c)
{
    uint32_t in_ring = (uint32_t)MIN((size_t)(c->snd_max - c->snd_una), c->tx_len);
    uint32_t n = MIN(in_ring, c->mss);
    int fin = c->fin_sent && c->snd_una + n == c->fin_seq;
    if (!n && !fin)
        return;
    c->rtt_timing = 0; /* Karn: no sample from a retransmitted segment */
    conn_emit(c, c->snd_una, TCP_ACK | (fin ? TCP_FIN : 0), n);
    c->stack->retransmits++;
    c->retransmits++;
}

static uint32_t flight_size(const struct tcp_conn *c) { return c->snd_max - c->snd_una; }

/* RFC 5681 3.1 and RFC 6582 for an ACK of new data. */
static void cc_new_ack(struct tcp_conn *c, uint32_t acked)
{
    if (c->in_recovery) {
        if (seq_lt(c->snd_una, c->recover)) { /* partial ACK: the next hole */
            retransmit_first(c);
            c->cwnd = c->cwnd > acked ? c->cwnd - acked + c->mss : c->mss;
            return;
        }
        c->in_recovery = 0;
        c->cwnd = MIN(c->ssthresh, flight_size(c) + c->mss);
    } else if (c->cwnd < c->ssthresh) {
        c->cwnd += MIN(acked, c->mss);
    } else {
        c->cwnd += MAX(1u, c->mss * c->mss / c->cwnd);
    }
    c->dupacks = 0;
    c->cwnd = MIN(c->cwnd, TCP_CWND_MAX);
}

static void cc_dup_ack(struct tcp_conn *c)
{
    if (c->in_recovery) {
        c->cwnd = MIN(c->cwnd + c->mss, TCP_CWND_MAX);
        return;
    }
    if (++c->dupacks != 3)
        return;
    c->ssthresh = MAX(flight_size(c) / 2, 2u * c->mss);
    c->cwnd = c->ssthresh + 3u * c->mss;
    c->in_recovery = 1;
    c->recover = c->snd_max;
    retransmit_first(c);
}

/* RFC 6928 initial window, once the MSS is known. */
static void cc_start(struct tcp_conn *c)
{
    c->cwnd = MIN(10u * c->mss, MAX(2u * c->mss, 14600u));
    c->ssthresh = TCP_CWND_MAX;
}

/* ---- output ------------------------------------------------------------------------ */

/* Sends the next segment of new (or, after a timeout, resent) data and/or
 * the FIN; returns 0 when nothing may go. OUT_FORCE: one segment even when
 * the windows are closed (retransmission timeout, zero-window probe). */
static int send_next(struct tcp_conn *c, int mode)
{
    int force = mode & OUT_FORCE;
    uint32_t data_end = c->snd_una + (uint32_t)c->tx_len;
    uint32_t unsent = unsent_bytes(c);
    uint32_t flight = c->snd_nxt - c->snd_una;
    uint32_t wnd = MIN(c->snd_wnd, c->cwnd);
    uint32_t usable = wnd > flight ? wnd - flight : 0;
    if (force && !usable)
        usable = 1;
    uint32_t n = MIN(MIN(unsent, usable), c->mss);
    int fin = c->fin_queued && seq_le(c->snd_nxt, data_end) && n == unsent;
    if (!n && !fin)
        return 0;
    if (!(mode & OUT_FLUSH) && n == unsent && n < c->mss)
        return 0; /* a tail (and the FIN) wait for the flush */
    /* sender silly-window avoidance; something in flight will bring an ACK */
    if (!force && flight && n < unsent && n < c->mss && n < c->max_snd_wnd / 2)
        return 0;
    if (seq_lt(c->snd_nxt, c->snd_max)) {
        c->stack->retransmits++;
        c->retransmits++;
    } else if (n && !c->rtt_timing) {
        c->rtt_timing = 1;
        c->rtt_seq = c->snd_nxt;
        c->rtt_start = c->stack->now_us;
    }
    uint8_t flags = TCP_ACK | (fin ? TCP_FIN : 0) | (n && n == unsent ? TCP_PSH : 0);
    conn_emit(c, c->snd_nxt, flags, n);
    c->snd_nxt += n + (uint32_t)fin;
    if (fin) {
        c->fin_sent = 1;
        c->fin_seq = data_end;
    }
    if (seq_gt(c->snd_nxt, c->snd_max))
        c->snd_max = c->snd_nxt;
    return 1;
}

void tcp_conn_output(struct tcp_conn *c, int mode)
{
    if (state_sends(c->state))
        while (send_next(c, mode))
            mode &= ~OUT_FORCE;
    if (c->ack_now)
        send_ack(c);
    arm_timer(c);
}

static void give_up(struct tcp_conn *c)
{
    if (c->owner == OWNER_APP && c->stack->net) { /* not every half-open SYN flood entry */
        char ip[16];
        net_format_ip(c->remote_ip, ip);
        net_logf(c->stack->net, "tcp: %s:%u timed out", ip, (unsigned)c->remote_port);
    }
    tcp_conn_fail(c, ERR_TIMEOUT);
}

/* RFC 6298 5.4-5.7: resend, back off, collapse the congestion window. */
static void on_rtx_timeout(struct tcp_conn *c)
{
    int syn = c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED;
    c->rtx_at = 0;
    if (++c->retries > (syn ? TCP_SYN_RETRIES : TCP_MAX_RETRIES)) {
        give_up(c);
        return;
    }
    c->rto = MIN(c->rto * 2, TCP_RTO_MAX_US);
    c->rtt_timing = 0;
    if (syn) {
        c->syn_lost = 1;
        c->stack->retransmits++;
        c->retransmits++;
        send_syn(c);
        arm_timer(c);
        return;
    }
    if (flight_size(c)) {
        c->ssthresh = MAX(flight_size(c) / 2, 2u * c->mss);
        c->cwnd = c->mss;
        c->in_recovery = 0;
        c->dupacks = 0;
    }
    c->snd_nxt = c->snd_una; /* go back: resend from the first hole on */
    tcp_conn_output(c, OUT_FORCE | OUT_FLUSH);
}

/* ---- input ------------------------------------------------------------------------ */

static void set_peer_mss(struct tcp_conn *c, uint16_t mss)
{
    c->mss = mss ? MIN(MAX(mss, TCP_MSS_MIN), TCP_MSS_OURS) : TCP_MSS_DEFAULT;
}

/* Both SYNs are acknowledged: data may flow. */
static void conn_synchronized(struct tcp_conn *c, const struct seg *s)
{
    struct tcp_stack *t = c->stack;
    c->snd_una = c->iss + 1;
    if (c->rtt_timing)
        rtt_sample(c, t->now_us - c->rtt_start);
    else if (c->syn_lost)
        c->rto = TCP_RTO_AFTER_SYN_LOSS_US;
    c->rtt_timing = 0;
    c->retries = 0;
    c->rtx_at = 0;
    c->snd_wnd = s->wnd;
    c->max_snd_wnd = s->wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    cc_start(c);
    c->state = c->fin_queued ? TCP_FIN_WAIT_1 : TCP_ESTABLISHED;
    if (c->owner == OWNER_PENDING)
        c->accept_order = ++t->accepted;
}

static void syn_sent_input(struct tcp_conn *c, const struct seg *s)
{
    int has_ack = (s->flags & TCP_ACK) != 0;
    if (has_ack && !(seq_gt(s->ack, c->iss) && seq_le(s->ack, c->snd_max))) {
        reply_rst(c->stack, s);
        return;
    }
    if (s->flags & TCP_RST) {
        if (has_ack)
            tcp_conn_fail(c, ERR_RESET); /* connection refused */
        return;
    }
    if (!(s->flags & TCP_SYN))
        return;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    set_peer_mss(c, s->mss);
    if (has_ack) {
        conn_synchronized(c, s);
        c->ack_now = 1;
        tcp_conn_output(c, 0); /* the ACK, with any data queued meanwhile */
        return;
    }
    c->state = TCP_SYN_RECEIVED; /* simultaneous open: SYN-ACK with our ISS */
    c->snd_wnd = s->wnd;
    send_syn(c);
}

/* The ACK for an unacceptable segment. Segments with data always get one
 * (the peer retransmits until it hears); bare ones at most every
 * TCP_OOW_ACK_GAP_US, so two ends that each find the other's ACKs out of
 * window (both windows zero with probes out) cannot ping-pong. */
static void reply_unacceptable(struct tcp_conn *c, const struct seg *s)
{
    uint64_t now = c->stack->now_us;
    if (!seg_space(s)) {
        if (c->oow_ack_at && now - c->oow_ack_at < TCP_OOW_ACK_GAP_US)
            return;
        c->oow_ack_at = MAX(now, 1);
    }
    send_ack(c);
}

/* RFC 9293 3.10.7.4, first check; also takes any segment that starts
 * exactly at RCV.NXT, which is how a zero window still hears ACKs, RSTs
 * and FINs (data beyond the window is trimmed off below). */
static int seg_acceptable(const struct tcp_conn *c, const struct seg *s)
{
    uint32_t wnd = (uint32_t)(TCP_RX_BUF - c->rx_len);
    uint32_t n = seg_space(s);
    if (s->seq == c->rcv_nxt)
        return 1;
    if (!wnd)
        return 0;
    if (n == 0)
        return seq_in(s->seq, c->rcv_nxt, wnd);
    return seq_in(s->seq, c->rcv_nxt, wnd) || seq_in(s->seq + n - 1, c->rcv_nxt, wnd);
}

/* Cuts what lies before RCV.NXT or beyond the receive ring; a FIN stays
 * only when all data before it fits. */
static void seg_trim(const struct tcp_conn *c, struct seg *s)
{
    uint32_t skip = seq_lt(s->seq, c->rcv_nxt) ? c->rcv_nxt - s->seq : 0;
    if (skip && (s->flags & TCP_SYN)) {
        s->flags &= (uint8_t)~TCP_SYN;
        s->seq++;
        skip--;
    }
    uint32_t cut = MIN(skip, s->len);
    s->data += cut;
    s->len -= cut;
    s->seq += cut;
    if (skip > cut)
        s->flags &= (uint8_t)~TCP_FIN; /* a FIN we already took */
    uint32_t room = (uint32_t)(TCP_RX_BUF - c->rx_len);
    uint32_t off = s->seq - c->rcv_nxt;
    uint32_t fit = off < room ? room - off : 0;
    if (s->len > fit) {
        s->len = fit;
        s->flags &= (uint8_t)~TCP_FIN;
    }
}

static void rst_input(struct tcp_conn *c, const struct seg *s)
{
    if (s->seq != c->rcv_nxt) {
        send_ack(c); /* RFC 5961 3.2: challenge ACK for an in-window guess */
        return;
    }
    if (c->state == TCP_SYN_RECEIVED || state_receives(c->state) || c->state == TCP_CLOSE_WAIT)
        tcp_conn_fail(c, ERR_RESET);
    else
        tcp_enter_closed(c); /* CLOSING, LAST_ACK, TIME_WAIT: it was ending anyway */
}

static void window_update(struct tcp_conn *c, const struct seg *s)
{
    if (seq_lt(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && seq_le(c->snd_wl2, s->ack))) {
        c->snd_wnd = s->wnd;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
        c->max_snd_wnd = MAX(c->max_snd_wnd, c->snd_wnd);
    }
    if (c->snd_wnd == 0)
        c->retries = 0; /* RFC 1122 4.2.2.17: a peer answering probes is alive */
}

static void ack_new_data(struct tcp_conn *c, uint32_t ack)
{
    uint32_t acked = ack - c->snd_una;
    size_t data = MIN((size_t)acked, c->tx_len);
    c->tx_head = (c->tx_head + data) % TCP_TX_BUF;
    c->tx_len -= data;
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, ack))
        c->snd_nxt = ack;
    if (c->rtt_timing && seq_gt(ack, c->rtt_seq)) {
        rtt_sample(c, c->stack->now_us - c->rtt_start);
        c->rtt_timing = 0;
    }
    c->retries = 0;
    c->rtx_at = 0; /* RFC 6298 5.3: restarted by tcp_conn_output */
    cc_new_ack(c, acked);
}

/* Our FIN was acknowledged. Returns 0 when c closed. */
static int fin_acked(struct tcp_conn *c)
{
    switch (c->state) {
    case TCP_FIN_WAIT_1:
        c->state = TCP_FIN_WAIT_2;
        if (c->owner == OWNER_NONE)
            c->linger_at = c->stack->now_us + TCP_ORPHAN_FIN_WAIT_2_US;
        return 1;
    case TCP_CLOSING:
        enter_time_wait(c);
        return 1;
    case TCP_LAST_ACK:
        tcp_enter_closed(c);
        return 0;
    default:
        return 1;
    }
}

/* RFC 9293 3.10.7.4, fifth check. Returns 0 when the segment is done. */
static int ack_input(struct tcp_conn *c, const struct seg *s)
{
    if (c->state == TCP_SYN_RECEIVED) {
        if (!(seq_gt(s->ack, c->snd_una) && seq_le(s->ack, c->snd_max))) {
            reply_rst(c->stack, s);
            return 0;
        }
        conn_synchronized(c, s);
    }
    if (seq_gt(s->ack, c->snd_max)) {
        send_ack(c); /* acknowledges something never sent */
        return 0;
    }
    if (seq_lt(s->ack, c->snd_una))
        return 1; /* an old duplicate: its data may still be new */
    int dup = s->ack == c->snd_una && s->len == 0 && !(s->flags & (TCP_SYN | TCP_FIN)) &&
              s->wnd == c->snd_wnd && c->snd_una != c->snd_max;
    window_update(c, s);
    if (seq_gt(s->ack, c->snd_una))
        ack_new_data(c, s->ack);
    else if (dup)
        cc_dup_ack(c);
    if (c->fin_sent && seq_gt(c->snd_una, c->fin_seq))
        return fin_acked(c);
    return 1;
}

/* Merges [start, end) into the out-of-order list (dropped when full: the
 * bytes sit in the ring untracked and come again by retransmission). */
static void ooo_add(struct tcp_conn *c, uint32_t start, uint32_t end)
{
    for (int i = 0; i < c->n_ooo;) {
        struct seq_range *r = &c->ooo[i];
        if (seq_le(r->start, end) && seq_le(start, r->end)) {
            if (seq_lt(r->start, start))
                start = r->start;
            if (seq_gt(r->end, end))
                end = r->end;
            c->ooo[i] = c->ooo[--c->n_ooo];
            i = 0; /* the wider range may now touch another */
            continue;
        }
        i++;
    }
    if (c->n_ooo < TCP_OOO_RANGES)
        c->ooo[c->n_ooo++] = (struct seq_range){start, end};
}

/* Moves RCV.NXT over ranges it reached. 1 if any hole was filled. */
static int ooo_absorb(struct tcp_conn *c)
{
    int filled = 0;
    for (int i = 0; i < c->n_ooo;) {
        struct seq_range r = c->ooo[i];
        if (seq_gt(r.start, c->rcv_nxt)) {
            i++;
            continue;
        }
        if (seq_gt(r.end, c->rcv_nxt)) {
            c->rx_len += r.end - c->rcv_nxt;
            c->rcv_nxt = r.end;
        }
        c->ooo[i] = c->ooo[--c->n_ooo];
        filled = 1;
        i = 0;
    }
    return filled;
}

/* Stores len bytes at seq (RCV.NXT <= seq, inside the ring). */
static void rx_store(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len)
{
    uint32_t off = seq - c->rcv_nxt;
    ring_write(c->rx, TCP_RX_BUF, c->rx_head + c->rx_len + off, data, len);
    if (off) {
        ooo_add(c, seq, seq + len);
        c->ack_now = 1; /* a duplicate ACK tells the sender about the hole */
        return;
    }
    c->rx_len += len;
    c->rcv_nxt += len;
    if (ooo_absorb(c) || ++c->unacked_segs >= 2)
        c->ack_now = 1; /* RFC 5681 4.2: every second segment, holes at once */
    else if (!c->delack_at)
        c->delack_at = c->stack->now_us + TCP_DELACK_US;
}

/* The peer's FIN became the next byte: RFC 9293 3.10.7.4, eighth check. */
static void fin_take(struct tcp_conn *c)
{
    if (!c->have_fin || c->fin_received || c->fin_in_seq != c->rcv_nxt)
        return;
    c->rcv_nxt++;
    c->fin_received = 1;
    c->ack_now = 1;
    if (c->state == TCP_ESTABLISHED)
        c->state = TCP_CLOSE_WAIT;
    else if (c->state == TCP_FIN_WAIT_2) /* ack_input moved on once our FIN was acked */
        enter_time_wait(c);
    else if (c->state == TCP_FIN_WAIT_1)
        c->state = TCP_CLOSING; /* simultaneous close */
}

/* Notes the FIN at fin_seq; the stream ends there, so tracked ranges
 * beyond it are cut. */
static void fin_note(struct tcp_conn *c, uint32_t fin_seq)
{
    if (c->have_fin)
        return;
    c->have_fin = 1;
    c->fin_in_seq = fin_seq;
    for (int i = 0; i < c->n_ooo;) {
        struct seq_range *r = &c->ooo[i];
        if (seq_ge(r->start, fin_seq)) {
            *r = c->ooo[--c->n_ooo];
            continue;
        }
        if (seq_gt(r->end, fin_seq))
            r->end = fin_seq;
        i++;
    }
}

/* Sixth to eighth checks: segment text and FIN. */
static void data_input(struct tcp_conn *c, const struct seg *s)
{
    if (!state_receives(c->state))
        return; /* after the peer's FIN nothing more can come */
    uint32_t len = s->len;
    if (c->have_fin) /* nothing lies beyond the FIN */
        len = seq_lt(s->seq, c->fin_in_seq) ? MIN(len, c->fin_in_seq - s->seq) : 0;
    if (len)
        rx_store(c, s->seq, s->data, len);
    if ((s->flags & TCP_FIN) && len == s->len)
        fin_note(c, s->seq + len);
    if (c->owner == OWNER_NONE) { /* released: nobody will read it */
        c->rx_head = (c->rx_head + c->rx_len) % TCP_RX_BUF;
        c->rx_len = 0;
    }
    fin_take(c);
}

static void conn_input(struct tcp_conn *c, struct seg *s)
{
    if (c->state == TCP_SYN_SENT) {
        syn_sent_input(c, s);
        return;
    }
    if (c->state == TCP_SYN_RECEIVED && (s->flags & TCP_SYN) && s->seq == c->irs) {
        if (!(s->flags & TCP_ACK)) {
            send_syn(c); /* the SYN again: our SYN-ACK was lost */
            return;
        }
        s->flags &= (uint8_t)~TCP_SYN; /* simultaneous open: the peer's SYN-ACK */
        s->seq++;
        c->ack_now = 1;
    }
    if (!seg_acceptable(c, s)) {
        if (c->state == TCP_TIME_WAIT && (s->flags & TCP_FIN))
            c->linger_at = c->stack->now_us + TCP_TIME_WAIT_US; /* our last ACK was lost */
        if (!(s->flags & TCP_RST))
            reply_unacceptable(c, s);
        return;
    }
    uint32_t space = seg_space(s);
    seg_trim(c, s);
    if (seg_space(s) < space)
        c->ack_now = 1; /* old or beyond the window (a zero-window probe): say where we are */
    if (s->flags & TCP_RST) {
        rst_input(c, s);
        return;
    }
    if (s->flags & TCP_SYN) {
        send_ack(c); /* RFC 5961 4.2: challenge ACK */
        return;
    }
    if (!(s->flags & TCP_ACK) || !ack_input(c, s))
        return;
    data_input(c, s);
    tcp_conn_output(c, 0);
}

/* A SYN for a TIME_WAIT connection above its sequence space may start a
 * new incarnation when someone listens (RFC 9293 3.10.7.4 note). */
static int time_wait_reopen(struct tcp_conn *c, const struct seg *s)
{
    if (c->state != TCP_TIME_WAIT || (s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN ||
        !seq_gt(s->seq, c->rcv_nxt) || !tcp_listener_find(c->stack, s->dport))
        return 0;
    tcp_enter_closed(c);
    tcp_conn_reap(c);
    return 1;
}

static int listener_load(const struct tcp_listener *l)
{
    int n = 0;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        const struct tcp_conn *c = &l->stack->conns[i];
        n += c->in_use && c->listener == l && c->owner == OWNER_PENDING;
    }
    return n;
}

/* RFC 9293 3.10.7.2. Text on the SYN is not kept: the peer resends it. */
static void listen_input(struct tcp_listener *l, const struct seg *s)
{
    struct tcp_stack *t = l->stack;
    if (s->flags & TCP_RST)
        return;
    if (s->flags & TCP_ACK) {
        reply_rst(t, s);
        return;
    }
    if (!(s->flags & TCP_SYN) || listener_load(l) >= l->backlog)
        return; /* a full backlog drops the SYN: the client retries */
    struct tcp_conn *c = tcp_conn_alloc(t);
    if (!c)
        return;
    tcp_conn_setup(c, s->dst, s->dport, s->src, s->sport);
    c->listener = l;
    c->owner = OWNER_PENDING;
    c->state = TCP_SYN_RECEIVED;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->snd_wnd = s->wnd;
    set_peer_mss(c, s->mss);
    tcp_open_with_syn(c);
}

void tcp_input(struct tcp_stack *t, uint32_t src, uint32_t dst, struct netbuf *seg)
{
    struct seg s;
    t->segs_in++;
    sync_clock(t);
    if (!t->conns || seg_parse(seg->data, seg->len, &s) != 0 ||
        !csum_ok(src, dst, seg->data, seg->len) || addr_unusable(src) || !s.sport || !s.dport) {
        t->bad_segs++;
        netbuf_free(t->net, seg);
        return;
    }
    s.src = src;
    s.dst = dst;
    struct tcp_conn *c = conn_find(t, &s);
    if (c && time_wait_reopen(c, &s))
        c = NULL;
    if (c) {
        conn_input(c, &s);
        tcp_conn_reap(c);
    } else {
        struct tcp_listener *l = tcp_listener_find(t, s.dport);
        if (l)
            listen_input(l, &s);
        else
            reply_rst(t, &s);
    }
    netbuf_free(t->net, seg);
}

/* ---- timers --------------------------------------------------------------------- */

void tcp_timer(struct tcp_stack *t, uint64_t now_us)
{
    t->now_us = now_us;
    if (!t->conns)
        return;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &t->conns[i];
        if (!c->in_use)
            continue;
        if (c->linger_at && now_us >= c->linger_at)
            tcp_enter_closed(c); /* TIME_WAIT over, or an orphan's FIN_WAIT_2 */
        if (c->rtx_at && now_us >= c->rtx_at)
            on_rtx_timeout(c);
        if (c->delack_at && now_us >= c->delack_at) {
            c->delack_at = 0;
            send_ack(c);
        }
        if (c->in_use && state_sends(c->state))
            tcp_conn_output(c, OUT_FLUSH);
        tcp_conn_reap(c);
    }
}
