/* test_tcp.c - TCP (net_tcp.c): two stacks joined by a simulated wire with
 * a fake clock. The wire copies each segment out of the sender's netbuf,
 * checks its checksum independently, may drop, duplicate, delay (reorder)
 * or rewrite it, and delivers it at its due time. Streams carry a position
 * dependent byte pattern so any loss, duplication or misordering of data
 * shows. Hand-built segments check the wire format byte by byte. */
#include "testlib.h"
#include "tcp_ref.h"

#include "../errors.h"
#include "../lib.h"
#include "../net.h"

#define IP_A NET_IP(10, 0, 0, 1)
#define IP_B NET_IP(10, 0, 0, 2)
#define PORT 8080
#define MS 1000ull
#define SEC 1000000ull

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

enum { PASS, DROP, DUP, PASS_MODIFIED };

struct wire_seg {
    int to;
    uint64_t due, order;
    uint32_t src, dst;
    size_t len;
    uint8_t bytes[1600];
};

struct trace {
    uint64_t t;
    int from;
    uint8_t flags;
    uint32_t seq, ack, len;
    uint16_t wnd;
};

struct harness;
struct side {
    struct harness *h;
    int id;
};

struct harness {
    struct net net;
    struct tcp_stack st[2];
    struct side side[2];
    uint64_t now, order;
    uint64_t latency, jitter;        /* one way: latency + rand % jitter */
    int (*fault)(struct harness *h, int from, uint8_t *seg, size_t len);
    void *fault_ctx;
    int capture;                     /* keep segments queued for take_out() */
    struct wire_seg q[512];
    int nq;
    struct trace tr[8192];
    int ntr;
    uint64_t sent[2], dropped, bad_csum, lost_no_buf;
    uint64_t rng;
};

static uint32_t rnd(struct harness *h)
{
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return (uint32_t)(h->rng >> 32);
}

static void fix_csum(uint32_t src, uint32_t dst, uint8_t *p, size_t len)
{
    p[16] = p[17] = 0;
    net_put16(p + 16, tcp_ref_csum(src, dst, p, len));
}

static int link_send(void *ctx, const void *frame, size_t len)
{
    (void)ctx, (void)frame, (void)len;
    return 0;
}

static int link_recv(void *ctx, void *buf, size_t cap, size_t *ret_len)
{
    (void)ctx, (void)buf, (void)cap;
    *ret_len = 0;
    return 0;
}

static void queue_seg(struct harness *h, int to, uint32_t src, uint32_t dst, const uint8_t *p,
                      size_t len, uint64_t due)
{
    if (h->nq == (int)ARRAY_LEN(h->q) || len > sizeof h->q[0].bytes) {
        h->dropped++;
        return;
    }
    struct wire_seg *w = &h->q[h->nq++];
    w->to = to;
    w->due = due;
    w->order = h->order++;
    w->src = src;
    w->dst = dst;
    w->len = len;
    memcpy(w->bytes, p, len);
}

static int wire_output(void *ctx, uint32_t src, uint32_t dst, struct netbuf *seg)
{
    struct side *sd = ctx;
    struct harness *h = sd->h;
    uint8_t p[1600];
    size_t len = seg->len;
    CHECK(len >= 20 && len <= sizeof p);
    if (len > sizeof p)
        len = sizeof p;
    memcpy(p, seg->data, len);
    netbuf_free(&h->net, seg);
    h->sent[sd->id]++;
    if (tcp_ref_csum(src, dst, p, len) != 0) {
        h->bad_csum++;
        CHECK_MSG(0, "segment from side %d has a bad checksum", sd->id);
    }
    if (h->ntr < (int)ARRAY_LEN(h->tr)) {
        struct trace *t = &h->tr[h->ntr++];
        t->t = h->now;
        t->from = sd->id;
        t->flags = p[13];
        t->seq = net_get32(p + 4);
        t->ack = net_get32(p + 8);
        t->len = (uint32_t)(len - (size_t)(p[12] >> 4) * 4);
        t->wnd = net_get16(p + 14);
    }
    int act = h->fault ? h->fault(h, sd->id, p, len) : PASS;
    if (act == DROP) {
        h->dropped++;
        return 0;
    }
    if (act == PASS_MODIFIED)
        fix_csum(src, dst, p, len);
    uint64_t due = h->now + h->latency + (h->jitter ? rnd(h) % h->jitter : 0);
    queue_seg(h, !sd->id, src, dst, p, len, due);
    if (act == DUP)
        queue_seg(h, !sd->id, src, dst, p, len, due + h->latency + 3 * MS);
    return 0;
}

static struct harness *harness_new(void)
{
    struct harness *h = calloc(1, sizeof *h);
    struct net_link link = {{2, 0, 0, 0, 0, 1}, link_send, link_recv, NULL};
    struct net_config cfg = {IP_A, NET_IP(255, 255, 255, 0), 0, 0, 0};
    if (!h || net_init(&h->net, &link, &cfg) != 0) {
        free(h);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        struct tcp_stack *t = &h->st[i];
        CHECK(tcp_init(t, &h->net) == 0);
        h->side[i] = (struct side){h, i};
        t->output = wire_output;
        t->output_ctx = &h->side[i];
        t->local_ip = i ? IP_B : IP_A;
    }
    h->latency = 1 * MS;
    h->rng = 0x9E3779B97F4A7C15ull;
    h->now = 1 * SEC;
    tcp_timer(&h->st[0], h->now);
    tcp_timer(&h->st[1], h->now);
    return h;
}

/* TCP_TRACE=1 prints every segment of the failing test's wire. */
static void dump_trace(const struct harness *h, int from, int to)
{
    if (!getenv("TCP_TRACE"))
        return;
    for (int i = from; i < to && i < h->ntr; i++) {
        const struct trace *t = &h->tr[i];
        fprintf(stderr, "  %8.3f ms %c->%c %c%c%c%c%c seq %u ack %u len %u wnd %u\n", t->t / 1000.0,
                "AB"[t->from], "BA"[t->from], t->flags & F_SYN ? 'S' : '.', t->flags & F_ACK ? 'A' : '.',
                t->flags & F_FIN ? 'F' : '.', t->flags & F_RST ? 'R' : '.', t->flags & F_PSH ? 'P' : '.',
                t->seq, t->ack, t->len, t->wnd);
    }
}

static int pool_free(struct harness *h)
{
    int n = 0;
    for (struct netbuf *b = h->net.free_list; b; b = b->next)
        n++;
    return n;
}

static void harness_free(struct harness *h)
{
    if (test_failures)
        dump_trace(h, 0, h->ntr);
    CHECK_INT(pool_free(h), NETBUF_POOL); /* no netbuf leaked */
    CHECK_INT(h->bad_csum, 0);
    tcp_shutdown(&h->st[0]);
    tcp_shutdown(&h->st[1]);
    net_shutdown(&h->net);
    free(h);
}

static void deliver(struct harness *h, struct wire_seg *w)
{
    struct netbuf *b = netbuf_alloc(&h->net);
    if (!b) {
        h->lost_no_buf++;
        return;
    }
    memcpy(netbuf_put(b, w->len), w->bytes, w->len);
    tcp_input(&h->st[w->to], w->src, w->dst, b);
}

/* Delivers every segment due by now, earliest first. */
static void deliver_due(struct harness *h)
{
    for (;;) {
        int best = -1;
        for (int i = 0; i < h->nq; i++)
            if (h->q[i].due <= h->now &&
                (best < 0 || h->q[i].due < h->q[best].due ||
                 (h->q[i].due == h->q[best].due && h->q[i].order < h->q[best].order)))
                best = i;
        if (best < 0)
            return;
        struct wire_seg w = h->q[best];
        h->q[best] = h->q[--h->nq];
        deliver(h, &w);
    }
}

static void step(struct harness *h, uint64_t dt)
{
    h->now += dt;
    tcp_timer(&h->st[0], h->now);
    tcp_timer(&h->st[1], h->now);
    if (!h->capture)
        deliver_due(h);
}

static void run(struct harness *h, uint64_t us)
{
    uint64_t end = h->now + us;
    while (h->now < end)
        step(h, MS);
}

/* ---- streams ---------------------------------------------------------------------- */

static uint8_t pat(int dir, size_t i)
{
    return (uint8_t)(((uint32_t)i * 2654435761u ^ (uint32_t)dir * 0x5bd1e995u) >> 24);
}

struct stream {
    struct tcp_conn *tx, *rx;
    int dir;
    size_t total, sent, got;
    long err;
    int bad, eof;
};

static void pump(struct stream *s)
{
    uint8_t buf[4096];
    while (s->sent < s->total) {
        size_t n = MIN(sizeof buf, s->total - s->sent);
        for (size_t k = 0; k < n; k++)
            buf[k] = pat(s->dir, s->sent + k);
        long r = tcp_send(s->tx, buf, n);
        if (r <= 0) {
            if (r < 0)
                s->err = r;
            break;
        }
        s->sent += (size_t)r;
    }
    for (;;) {
        long r = tcp_recv(s->rx, buf, sizeof buf);
        if (r <= 0) {
            if (r == ERR_EOF)
                s->eof = 1;
            else if (r < 0)
                s->err = r;
            break;
        }
        for (long k = 0; k < r; k++)
            s->bad += buf[k] != pat(s->dir, s->got + (size_t)k);
        s->got += (size_t)r;
    }
}

static int streams_done(const struct stream *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i].got < s[i].total || s[i].err)
            return 0;
    return 1;
}

/* Pumps until every stream arrived; 1 on success. */
static int run_streams(struct harness *h, struct stream *s, int n, uint64_t max_us)
{
    uint64_t end = h->now + max_us;
    for (;;) {
        for (int i = 0; i < n; i++)
            pump(&s[i]);
        if (streams_done(s, n) || h->now >= end)
            break;
        step(h, MS);
    }
    int ok = streams_done(s, n);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(s[i].got == s[i].total, "stream %d: %zu of %zu bytes (err %ld)", i, s[i].got,
                  s[i].total, s[i].err);
        CHECK_MSG(s[i].bad == 0, "stream %d: %d bytes differ", i, s[i].bad);
        CHECK_INT(s[i].err, 0);
    }
    return ok;
}

/* A connects to B's listener: 1 and both ends, or 0. */
static int establish(struct harness *h, struct tcp_listener *l, struct tcp_conn **ret_a,
                     struct tcp_conn **ret_b, uint64_t max_us)
{
    struct tcp_conn *a = tcp_connect(&h->st[0], IP_B, PORT), *b = NULL;
    CHECK(a != NULL);
    if (!a)
        return 0;
    uint64_t end = h->now + max_us;
    while (h->now < end && !(b && tcp_conn_state(a) == TCP_ESTABLISHED)) {
        step(h, MS);
        if (!b)
            b = tcp_accept(l);
    }
    CHECK_MSG(b && tcp_conn_state(a) == TCP_ESTABLISHED, "handshake did not complete (a in %d)",
              tcp_conn_state(a));
    *ret_a = a;
    *ret_b = b;
    return b && tcp_conn_state(a) == TCP_ESTABLISHED;
}

/* A closes first, then B; both released. Runs until both slots are free. */
static void close_both(struct harness *h, struct tcp_conn *a, struct tcp_conn *b)
{
    uint8_t buf[256];
    tcp_close(a);
    int b_eof = 0;
    for (int i = 0; i < 60000 && !b_eof; i++) {
        step(h, MS);
        long r;
        while ((r = tcp_recv(b, buf, sizeof buf)) > 0)
            ;
        b_eof = r == ERR_EOF;
    }
    CHECK(b_eof);
    tcp_close(b);
    for (int i = 0; i < 60000 && tcp_conn_state(b) != TCP_CLOSED; i++)
        step(h, MS);
    while (tcp_recv(a, buf, sizeof buf) > 0)
        ;
    CHECK_INT(tcp_recv(a, buf, sizeof buf), ERR_EOF);
    CHECK_INT(tcp_conn_state(b), TCP_CLOSED);
    CHECK(tcp_conn_state(a) == TCP_TIME_WAIT || tcp_conn_state(a) == TCP_CLOSED);
    tcp_release(a);
    tcp_release(b);
    run(h, TCP_TIME_WAIT_US + 10 * MS);
    CHECK_INT(tcp_conns_in_use(&h->st[0]), 0);
    CHECK_INT(tcp_conns_in_use(&h->st[1]), 0);
}

/* Transfers n_ab bytes A->B and n_ba B->A at once, then closes. */
static void transfer_test(struct harness *h, size_t n_ab, size_t n_ba, uint64_t max_us)
{
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    CHECK(l != NULL);
    if (!establish(h, l, &a, &b, 60 * SEC))
        return;
    struct stream s[2] = {{a, b, 0, n_ab, 0, 0, 0, 0, 0}, {b, a, 1, n_ba, 0, 0, 0, 0, 0}};
    uint64_t t0 = h->now;
    run_streams(h, s, 2, max_us);
    if (getenv("TCP_TRACE"))
        fprintf(stderr, "  transfer: %.1f ms, %llu + %llu retransmits, %llu dropped\n",
                (h->now - t0) / 1000.0, (unsigned long long)h->st[0].retransmits,
                (unsigned long long)h->st[1].retransmits, (unsigned long long)h->dropped);
    close_both(h, a, b);
    tcp_unlisten(l);
}

/* ---- faults -------------------------------------------------------------------------- */

static int seg_flags(const uint8_t *p) { return p[13]; }
static uint32_t seg_payload(const uint8_t *p, size_t len) { return (uint32_t)(len - (size_t)(p[12] >> 4) * 4); }

static int drop_every_7th_data(struct harness *h, int from, uint8_t *p, size_t len)
{
    static uint64_t n[2];
    (void)h;
    if (!seg_payload(p, len))
        return PASS;
    return ++n[from] % 7 == 0 ? DROP : PASS;
}

static int drop_first_matching(struct harness *h, int from, uint8_t *p, size_t len)
{
    int *want = h->fault_ctx; /* {side, flags mask, flags value, count left} */
    (void)len;
    if (want[3] > 0 && from == want[0] && (seg_flags(p) & want[1]) == want[2]) {
        want[3]--;
        return DROP;
    }
    return PASS;
}

static int drop_all_from_a(struct harness *h, int from, uint8_t *p, size_t len)
{
    (void)h, (void)p, (void)len;
    return from == 0 ? DROP : PASS;
}

static int duplicate_all(struct harness *h, int from, uint8_t *p, size_t len)
{
    (void)h, (void)from, (void)p, (void)len;
    return DUP;
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST(tcp_handshake_both_ways)
{
    struct harness *h = harness_new();
    CHECK(h != NULL);
    if (!h)
        return;
    struct tcp_listener *lb = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_listener *la = tcp_listen(&h->st[0], 9090, 4);
    CHECK(lb && la);
    CHECK(tcp_listen(&h->st[1], PORT, 4) == NULL); /* port taken */
    struct tcp_conn *a, *b;
    if (establish(h, lb, &a, &b, SEC)) {
        CHECK_INT(tcp_conn_state(b), TCP_ESTABLISHED);
        uint32_t ip;
        uint16_t port;
        tcp_conn_peer(b, &ip, &port);
        CHECK_INT(ip, IP_A);
        struct tcp_conn_info ia, ib;
        tcp_conn_info(a, &ia);
        tcp_conn_info(b, &ib);
        CHECK_INT(port, ia.local_port);
        CHECK(ia.local_port >= 49152);
        CHECK_INT(ia.mss, TCP_MSS_OURS);
        CHECK_INT(ib.mss, TCP_MSS_OURS);
        CHECK_INT(ia.snd_wnd, TCP_RX_BUF);
        CHECK(tcp_accept(lb) == NULL);
        /* three segments: SYN, SYN-ACK, ACK */
        CHECK_INT(h->ntr, 3);
        CHECK_INT(h->tr[0].flags, F_SYN);
        CHECK_INT(h->tr[1].flags, F_SYN | F_ACK);
        CHECK_INT(h->tr[1].ack, h->tr[0].seq + 1);
        CHECK_INT(h->tr[2].flags, F_ACK);
        CHECK_INT(h->tr[2].ack, h->tr[1].seq + 1);
        close_both(h, a, b);
    }
    /* the other way round: B connects to A */
    struct tcp_conn *c = tcp_connect(&h->st[1], IP_A, 9090), *d = NULL;
    CHECK(c != NULL);
    for (int i = 0; i < 100 && !d; i++) {
        step(h, MS);
        d = tcp_accept(la);
    }
    CHECK(d != NULL);
    CHECK_INT(tcp_conn_state(c), TCP_ESTABLISHED);
    if (d) {
        CHECK_INT(tcp_send(c, "ping", 4), 4);
        run(h, 10 * MS);
        char buf[8] = {0};
        CHECK_INT(tcp_recv(d, buf, sizeof buf), 4);
        CHECK(memcmp(buf, "ping", 4) == 0);
        tcp_close(d);
        tcp_close(c);
        run(h, 100 * MS);
        tcp_release(c);
        tcp_release(d);
        run(h, TCP_TIME_WAIT_US + 10 * MS);
        CHECK_INT(tcp_conns_in_use(&h->st[0]) + tcp_conns_in_use(&h->st[1]), 0);
    }
    harness_free(h);
}

TEST(tcp_simultaneous_open)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    h->st[0].next_port = 50000;
    h->st[1].next_port = 50001;
    struct tcp_conn *a = tcp_connect(&h->st[0], IP_B, 50001);
    struct tcp_conn *b = tcp_connect(&h->st[1], IP_A, 50000);
    CHECK(a && b);
    run(h, 50 * MS);
    CHECK_INT(tcp_conn_state(a), TCP_ESTABLISHED);
    CHECK_INT(tcp_conn_state(b), TCP_ESTABLISHED);
    struct stream s[2] = {{a, b, 0, 100000, 0, 0, 0, 0, 0}, {b, a, 1, 100000, 0, 0, 0, 0, 0}};
    run_streams(h, s, 2, 10 * SEC);
    CHECK(h->ntr < 400); /* no SYN ping-pong */
    close_both(h, a, b);
    harness_free(h);
}

TEST(tcp_transfer_1mb_both_ways)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    transfer_test(h, 1 << 20, (1 << 20) + 12345, 30 * SEC);
    CHECK_INT(h->st[0].retransmits + h->st[1].retransmits, 0);
    harness_free(h);
}

TEST(tcp_loss_every_7th_segment)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    h->fault = drop_every_7th_data;
    transfer_test(h, 1 << 20, 1 << 20, 300 * SEC);
    CHECK(h->dropped > 100);
    CHECK(h->st[0].retransmits >= h->dropped / 2 / 2 && h->st[1].retransmits > 0);
    harness_free(h);
}

TEST(tcp_syn_lost)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    int want[4] = {0, F_SYN | F_ACK, F_SYN, 1};
    h->fault = drop_first_matching;
    h->fault_ctx = want;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    uint64_t t0 = h->now;
    if (establish(h, l, &a, &b, 10 * SEC)) {
        /* the SYN again after the initial RTO of 1 s */
        CHECK(h->ntr >= 2 && h->tr[1].flags == F_SYN);
        CHECK_INT(h->tr[1].t - t0, TCP_RTO_INIT_US);
        CHECK_INT(h->tr[1].seq, h->tr[0].seq);
        struct tcp_conn_info ia;
        tcp_conn_info(a, &ia);
        CHECK_INT(ia.rto_us, 3 * SEC); /* RFC 6298 5.7 */
        CHECK_INT(ia.srtt_us, 0);      /* Karn: no sample from the resent SYN */
        struct stream s[1] = {{a, b, 0, 50000, 0, 0, 0, 0, 0}};
        run_streams(h, s, 1, 10 * SEC);
        tcp_conn_info(a, &ia);
        CHECK(ia.srtt_us > 0 && ia.rto_us == TCP_RTO_MIN_US);
        close_both(h, a, b);
    }
    harness_free(h);
}

TEST(tcp_synack_lost)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    int want[4] = {1, F_SYN | F_ACK, F_SYN | F_ACK, 2};
    h->fault = drop_first_matching;
    h->fault_ctx = want;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (establish(h, l, &a, &b, 20 * SEC)) {
        CHECK_INT(want[3], 0);
        CHECK(h->st[1].retransmits + h->st[0].retransmits >= 2);
        struct stream s[2] = {{a, b, 0, 20000, 0, 0, 0, 0, 0}, {b, a, 1, 20000, 0, 0, 0, 0, 0}};
        run_streams(h, s, 2, 10 * SEC);
        close_both(h, a, b);
    }
    harness_free(h);
}

TEST(tcp_fin_lost)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    int want[4] = {0, F_FIN, F_FIN, 1};
    h->fault = drop_first_matching;
    h->fault_ctx = want;
    transfer_test(h, 30000, 1000, 10 * SEC);
    CHECK_INT(want[3], 0);
    CHECK(h->st[0].retransmits >= 1);
    harness_free(h);
}

TEST(tcp_last_fin_lost)
{
    /* B's FIN (LAST_ACK side) lost: retransmitted, A in TIME_WAIT acks */
    struct harness *h = harness_new();
    if (!h)
        return;
    int want[4] = {1, F_FIN, F_FIN, 1};
    h->fault = drop_first_matching;
    h->fault_ctx = want;
    transfer_test(h, 1000, 30000, 10 * SEC);
    CHECK_INT(want[3], 0);
    CHECK(h->st[1].retransmits >= 1);
    harness_free(h);
}

/* Established A->B with a blackhole from A on: returns A's retransmission
 * times (up to cap) and how the connection ended. */
static int blackhole_run(struct harness *h, uint64_t *times, int cap, long *ret_recv, long *ret_send)
{
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (!establish(h, l, &a, &b, SEC))
        return 0;
    struct stream s[1] = {{a, b, 0, 100000, 0, 0, 0, 0, 0}};
    run_streams(h, s, 1, 5 * SEC); /* an RTT estimate first */
    h->fault = drop_all_from_a;
    int ntr0 = h->ntr;
    CHECK_INT(tcp_send(a, "x", 1), 1);
    uint8_t c;
    long r = 0;
    for (int i = 0; i < 30 * 60 * 1000 && r == 0; i++) { /* 30 min at most */
        step(h, MS);
        r = tcp_recv(a, &c, 1);
    }
    int n = 0;
    for (int i = ntr0; i < h->ntr && n < cap; i++)
        if (h->tr[i].from == 0)
            times[n++] = h->tr[i].t;
    *ret_recv = r;
    *ret_send = tcp_send(a, "y", 1);
    CHECK_INT(tcp_conn_state(a), TCP_CLOSED);
    tcp_release(a);
    tcp_abort(b);
    tcp_release(b);
    run(h, 10 * MS);
    return n;
}

TEST(tcp_rto_backoff)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    uint64_t t[32];
    long r, s;
    int n = blackhole_run(h, t, 32, &r, &s);
    CHECK_INT(n, 1 + TCP_MAX_RETRIES); /* the first send, then the retries */
    if (n >= 8) {
        /* the first wait may be longer: a late delayed ACK of earlier data
         * restarts the timer (RFC 6298 5.3); then 200 ms doubles */
        CHECK(t[1] - t[0] >= TCP_RTO_MIN_US && t[1] - t[0] <= 400 * MS);
        CHECK_INT(t[2] - t[1], 2 * TCP_RTO_MIN_US);
        for (int i = 3; i < n; i++) {
            uint64_t prev = t[i - 1] - t[i - 2], gap = t[i] - t[i - 1];
            uint64_t want = MIN(prev * 2, (uint64_t)TCP_RTO_MAX_US);
            CHECK_MSG(gap >= want - MS && gap <= want + MS, "retry %d after %llu us, then %llu us",
                      i, (unsigned long long)prev, (unsigned long long)gap);
        }
        CHECK_INT(t[n - 1] - t[n - 2], TCP_RTO_MAX_US); /* capped at 60 s */
    }
    harness_free(h);
}

TEST(tcp_give_up_timeout)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    uint64_t t[32];
    long r, s;
    blackhole_run(h, t, 32, &r, &s);
    CHECK_INT(r, ERR_TIMEOUT);
    CHECK_INT(s, ERR_TIMEOUT);
    CHECK_INT(tcp_conns_in_use(&h->st[0]), 0);
    /* a SYN into the void gives up after TCP_SYN_RETRIES */
    h->fault = drop_all_from_a;
    int ntr0 = h->ntr;
    struct tcp_conn *a = tcp_connect(&h->st[0], IP_B, PORT);
    char c;
    long rr = 0;
    for (int i = 0; i < 10 * 60 * 1000 && rr == 0; i++) {
        step(h, MS);
        rr = tcp_recv(a, &c, 1);
    }
    CHECK_INT(rr, ERR_TIMEOUT);
    CHECK_INT(h->ntr - ntr0, 1 + TCP_SYN_RETRIES);
    tcp_release(a);
    CHECK_INT(tcp_conns_in_use(&h->st[0]), 0);
    harness_free(h);
}

/* Drops A's data segment number want[0] (counting from 1) once. */
static int drop_nth_data_from_a(struct harness *h, int from, uint8_t *p, size_t len)
{
    int *want = h->fault_ctx;
    if (from != 0 || !seg_payload(p, len))
        return PASS;
    return ++want[1] == want[0] ? DROP : PASS;
}

TEST(tcp_fast_retransmit)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    int want[2] = {20, 0};
    h->fault = drop_nth_data_from_a;
    h->fault_ctx = want;
    transfer_test(h, 200000, 0, 10 * SEC);
    /* the lost segment came again after three duplicate ACKs, long
     * before the 200 ms timeout */
    int lost = -1, again = -1;
    for (int i = 0, k = 0; i < h->ntr; i++) {
        if (h->tr[i].from != 0 || !h->tr[i].len)
            continue;
        if (++k == want[0])
            lost = i;
        else if (lost >= 0 && h->tr[i].seq == h->tr[lost].seq)
            again = i;
    }
    CHECK(lost >= 0 && again > lost);
    if (again > lost)
        CHECK_MSG(h->tr[again].t - h->tr[lost].t < 20 * MS, "resent after %llu us",
                  (unsigned long long)(h->tr[again].t - h->tr[lost].t));
    CHECK_INT(h->st[0].retransmits, 1);
    harness_free(h);
}

TEST(tcp_reordering)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    h->jitter = 20 * MS; /* each segment 1..21 ms: heavy reordering */
    transfer_test(h, 400000, 300000, 300 * SEC);
    harness_free(h);
}

TEST(tcp_duplicates)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    h->fault = duplicate_all;
    transfer_test(h, 300000, 200000, 60 * SEC);
    harness_free(h);
}

TEST(tcp_reorder_loss_and_duplicates)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    h->jitter = 5 * MS;
    h->fault = drop_every_7th_data;
    transfer_test(h, 300000, 300000, 600 * SEC);
    harness_free(h);
}

TEST(tcp_zero_window)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (!establish(h, l, &a, &b, SEC)) {
        harness_free(h);
        return;
    }
    /* B reads nothing for 10 minutes: its window closes, A probes */
    struct stream s = {a, b, 0, 200000, 0, 0, 0, 0, 0};
    struct stream writer = s;
    for (int i = 0; i < 10 * 60 * 1000; i++) {
        if (writer.sent < writer.total) {
            uint8_t buf[4096];
            size_t n = MIN(sizeof buf, writer.total - writer.sent);
            for (size_t k = 0; k < n; k++)
                buf[k] = pat(0, writer.sent + k);
            long r = tcp_send(a, buf, n);
            CHECK(r >= 0);
            writer.sent += r > 0 ? (size_t)r : 0;
        }
        step(h, MS);
    }
    CHECK_INT(tcp_conn_state(a), TCP_ESTABLISHED);
    CHECK_INT(writer.sent, TCP_RX_BUF + TCP_TX_BUF);
    CHECK_INT(tcp_send_space(a), 0);
    int zero_wnd = 0, probes = 0;
    for (int i = 0; i < h->ntr; i++) {
        zero_wnd += h->tr[i].from == 1 && h->tr[i].wnd == 0;
        probes += h->tr[i].from == 0 && h->tr[i].len == 1;
    }
    CHECK(zero_wnd > 0);
    CHECK(probes > TCP_MAX_RETRIES); /* kept probing past the give-up count */
    /* the reader wakes up: everything arrives */
    s.sent = writer.sent;
    run_streams(h, &s, 1, 10 * 60 * SEC);
    close_both(h, a, b);
    harness_free(h);
}

TEST(tcp_rst_to_closed_port)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_conn *a = tcp_connect(&h->st[0], IP_B, 4444);
    run(h, 10 * MS);
    char c;
    CHECK_INT(tcp_conn_state(a), TCP_CLOSED);
    CHECK_INT(tcp_recv(a, &c, 1), ERR_RESET);
    CHECK_INT(tcp_send(a, "x", 1), ERR_RESET);
    CHECK_INT(h->st[1].rsts_sent, 1);
    CHECK_INT(h->ntr, 2);
    CHECK_INT(h->tr[1].flags, F_RST | F_ACK);
    CHECK_INT(h->tr[1].ack, h->tr[0].seq + 1);
    tcp_release(a);
    CHECK_INT(tcp_conns_in_use(&h->st[0]), 0);
    harness_free(h);
}

TEST(tcp_rst_aborts_connection)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (establish(h, l, &a, &b, SEC)) {
        struct stream s[1] = {{a, b, 0, 5000, 0, 0, 0, 0, 0}};
        run_streams(h, s, 1, SEC);
        CHECK_INT(tcp_send(b, "unsent", 6), 6);
        tcp_abort(a);
        run(h, 10 * MS);
        char c;
        CHECK_INT(tcp_conn_state(b), TCP_CLOSED);
        CHECK_INT(tcp_recv(b, &c, 1), ERR_RESET);
        CHECK_INT(tcp_send(b, "x", 1), ERR_RESET);
        CHECK_INT(tcp_recv(a, &c, 1), ERR_RESET);
        /* B's data crossed the RST: A answers it with an RST of its own */
        CHECK(h->st[0].rsts_sent >= 1);
        tcp_release(a);
        tcp_release(b);
        CHECK_INT(tcp_conns_in_use(&h->st[0]) + tcp_conns_in_use(&h->st[1]), 0);
    }
    harness_free(h);
}

TEST(tcp_simultaneous_close)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (establish(h, l, &a, &b, SEC)) {
        struct stream s[2] = {{a, b, 0, 3000, 0, 0, 0, 0, 0}, {b, a, 1, 3000, 0, 0, 0, 0, 0}};
        run_streams(h, s, 2, SEC);
        tcp_close(a);
        tcp_close(b);
        CHECK_INT(tcp_conn_state(a), TCP_FIN_WAIT_1);
        run(h, 100 * MS);
        CHECK_INT(tcp_conn_state(a), TCP_TIME_WAIT);
        CHECK_INT(tcp_conn_state(b), TCP_TIME_WAIT);
        char c;
        CHECK_INT(tcp_recv(a, &c, 1), ERR_EOF);
        CHECK_INT(tcp_recv(b, &c, 1), ERR_EOF);
        run(h, TCP_TIME_WAIT_US);
        CHECK_INT(tcp_conn_state(a), TCP_CLOSED);
        tcp_release(a);
        tcp_release(b);
        CHECK_INT(tcp_conns_in_use(&h->st[0]) + tcp_conns_in_use(&h->st[1]), 0);
    }
    harness_free(h);
}

TEST(tcp_time_wait_expiry_frees_slot)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (establish(h, l, &a, &b, SEC)) {
        tcp_close(a);
        run(h, 10 * MS);
        CHECK_INT(tcp_conn_state(a), TCP_FIN_WAIT_2);
        tcp_release(b); /* releasing closes too */
        run(h, 10 * MS);
        CHECK_INT(tcp_conn_state(a), TCP_TIME_WAIT);
        tcp_release(a);
        CHECK_INT(tcp_conns_in_use(&h->st[0]), 1);
        CHECK_INT(tcp_conns_in_use(&h->st[1]), 0);
        run(h, TCP_TIME_WAIT_US - 100 * MS);
        CHECK_INT(tcp_conns_in_use(&h->st[0]), 1);
        run(h, 200 * MS);
        CHECK_INT(tcp_conns_in_use(&h->st[0]), 0);
    }
    harness_free(h);
}

TEST(tcp_many_connections)
{
    enum { N = 20 };
    struct harness *h = harness_new();
    if (!h)
        return;
    h->jitter = 2 * MS;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, N);
    struct tcp_conn *a[N], *b[N];
    int nb = 0;
    for (int i = 0; i < N; i++) {
        a[i] = tcp_connect(&h->st[0], IP_B, PORT);
        CHECK(a[i] != NULL);
    }
    for (int i = 0; i < 1000 && nb < N; i++) {
        step(h, MS);
        struct tcp_conn *c;
        while (nb < N && (c = tcp_accept(l)) != NULL)
            b[nb++] = c;
    }
    CHECK_INT(nb, N);
    if (nb == N) {
        /* match server ends to clients by port, then all streams at once */
        struct stream s[2 * N];
        for (int i = 0; i < N; i++) {
            struct tcp_conn_info ia;
            tcp_conn_info(a[i], &ia);
            struct tcp_conn *peer = NULL;
            for (int j = 0; j < N; j++) {
                uint16_t port;
                tcp_conn_peer(b[j], NULL, &port);
                if (port == ia.local_port)
                    peer = b[j];
            }
            CHECK(peer != NULL);
            s[2 * i] = (struct stream){a[i], peer, 2 * i, 20000 + 1000 * (size_t)i, 0, 0, 0, 0, 0};
            s[2 * i + 1] = (struct stream){peer, a[i], 2 * i + 1, 30000, 0, 0, 0, 0, 0};
        }
        run_streams(h, s, 2 * N, 60 * SEC);
        for (int i = 0; i < N; i++) {
            tcp_close(a[i]);
            tcp_release(a[i]);
            tcp_release(b[i]);
        }
        run(h, 100 * MS); /* both closed at once: TIME_WAIT on both sides */
        CHECK_INT(tcp_conns_in_use(&h->st[0]), N);
        run(h, TCP_TIME_WAIT_US);
        CHECK_INT(tcp_conns_in_use(&h->st[0]) + tcp_conns_in_use(&h->st[1]), 0);
    }
    harness_free(h);
}

TEST(tcp_backlog_full_drops_syn)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 2);
    struct tcp_conn *a[4];
    for (int i = 0; i < 4; i++)
        a[i] = tcp_connect(&h->st[0], IP_B, PORT);
    run(h, 100 * MS);
    int est = 0;
    for (int i = 0; i < 4; i++)
        est += tcp_conn_state(a[i]) == TCP_ESTABLISHED;
    CHECK_INT(est, 2);
    CHECK_INT(tcp_conns_in_use(&h->st[1]), 2);
    struct tcp_conn *b[4];
    int nb = 0;
    for (int i = 0; i < 8000 && nb < 4; i++) {
        struct tcp_conn *c;
        while ((c = tcp_accept(l)) != NULL)
            b[nb++] = c;
        step(h, MS);
    }
    CHECK_INT(nb, 4); /* the others came with their SYN retransmission */
    for (int i = 0; i < nb; i++)
        tcp_release(b[i]);
    for (int i = 0; i < 4; i++)
        tcp_release(a[i]);
    run(h, TCP_TIME_WAIT_US + SEC);
    CHECK_INT(tcp_conns_in_use(&h->st[0]) + tcp_conns_in_use(&h->st[1]), 0);
    /* unlisten resets what waits in the queue */
    for (int i = 0; i < 2; i++)
        a[i] = tcp_connect(&h->st[0], IP_B, PORT);
    run(h, 20 * MS);
    tcp_unlisten(l);
    run(h, 20 * MS);
    char c;
    CHECK_INT(tcp_recv(a[0], &c, 1), ERR_RESET);
    CHECK_INT(tcp_recv(a[1], &c, 1), ERR_RESET);
    CHECK_INT(tcp_conns_in_use(&h->st[1]), 0);
    tcp_release(a[0]);
    tcp_release(a[1]);
    harness_free(h);
}

/* ISN = keyed hash of the 4-tuple + now/4: an observed ISN at a known time
 * tells when to connect again to start at target. */
static uint64_t time_for_isn(uint32_t seen, uint64_t seen_at, uint32_t target, uint64_t after)
{
    uint32_t keyed = seen - (uint32_t)(seen_at / 4);
    uint32_t want = target - keyed;
    uint64_t x = after / 4 + 1000;
    x += (uint32_t)(want - (uint32_t)x);
    return 4 * x;
}

TEST(tcp_sequence_wraparound)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    for (int aim = 0; aim < 2; aim++) { /* A's ISN, then B's, just below 2^32 */
        h->st[0].next_port = 50000;
        int ntr0 = h->ntr;
        struct tcp_conn *a, *b;
        if (!establish(h, l, &a, &b, SEC))
            break;
        const struct trace *syn = &h->tr[ntr0 + aim];
        uint64_t t = time_for_isn(syn->seq, syn->t, 0xffffffffu - 150000, h->now + TCP_TIME_WAIT_US);
        tcp_abort(a);
        tcp_release(a);
        tcp_release(b);
        run(h, 10 * MS);
        CHECK_INT(tcp_conns_in_use(&h->st[0]) + tcp_conns_in_use(&h->st[1]), 0);
        h->now = t - MS - (aim ? h->latency : 0);
        step(h, MS);
        h->st[0].next_port = 50000;
        ntr0 = h->ntr;
        if (!establish(h, l, &a, &b, SEC))
            break;
        uint32_t isn = h->tr[ntr0 + aim].seq;
        CHECK_MSG(isn - (0xffffffffu - 150000) < 10000, "ISN %08x", isn);
        struct stream s[2] = {{a, b, 0, 400000, 0, 0, 0, 0, 0}, {b, a, 1, 400000, 0, 0, 0, 0, 0}};
        h->fault = drop_every_7th_data; /* retransmissions across the wrap too */
        run_streams(h, s, 2, 120 * SEC);
        h->fault = NULL;
        close_both(h, a, b);
    }
    harness_free(h);
}

/* Rewrites the MSS option of A's SYN to 1000. */
static int mss_1000(struct harness *h, int from, uint8_t *p, size_t len)
{
    (void)h;
    if (from == 0 && (p[13] & F_SYN) && len >= 24 && p[20] == 2) {
        net_put16(p + 22, 1000);
        return PASS_MODIFIED;
    }
    return PASS;
}

/* Strips the MSS option of A's SYN (replaced by NOPs). */
static int mss_none(struct harness *h, int from, uint8_t *p, size_t len)
{
    (void)h;
    if (from == 0 && (p[13] & F_SYN) && len >= 24) {
        memset(p + 20, 1, 4);
        return PASS_MODIFIED;
    }
    return PASS;
}

TEST(tcp_mss_honoured)
{
    int (*faults[2])(struct harness *, int, uint8_t *, size_t) = {mss_1000, mss_none};
    uint32_t want[2] = {1000, TCP_MSS_DEFAULT};
    for (int k = 0; k < 2; k++) {
        struct harness *h = harness_new();
        if (!h)
            return;
        h->fault = faults[k];
        struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
        struct tcp_conn *a, *b;
        if (establish(h, l, &a, &b, SEC)) {
            struct stream s[2] = {{a, b, 0, 50000, 0, 0, 0, 0, 0}, {b, a, 1, 50000, 0, 0, 0, 0, 0}};
            run_streams(h, s, 2, 10 * SEC);
            uint32_t max[2] = {0, 0};
            for (int i = 0; i < h->ntr; i++)
                max[h->tr[i].from] = MAX(max[h->tr[i].from], h->tr[i].len);
            CHECK_INT(max[1], want[k]);
            CHECK_INT(max[0], TCP_MSS_OURS);
            close_both(h, a, b);
        }
        harness_free(h);
    }
}

TEST(tcp_rtt_estimate)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    h->latency = 50 * MS;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (establish(h, l, &a, &b, 2 * SEC)) {
        struct tcp_conn_info ia;
        tcp_conn_info(a, &ia);
        CHECK_INT(ia.srtt_us, 100 * MS); /* from the SYN */
        struct stream s[1] = {{a, b, 0, 300000, 0, 0, 0, 0, 0}};
        run_streams(h, s, 1, 60 * SEC);
        tcp_conn_info(a, &ia);
        CHECK_MSG(ia.srtt_us >= 100 * MS && ia.srtt_us <= 145 * MS, "srtt %u", ia.srtt_us);
        CHECK(ia.rto_us >= ia.srtt_us && ia.rto_us <= 400 * MS);
        CHECK_INT(ia.retransmits, 0);
        close_both(h, a, b);
    }
    harness_free(h);
}

TEST(tcp_release_semantics)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    struct tcp_listener *l = tcp_listen(&h->st[1], PORT, 4);
    struct tcp_conn *a, *b;
    if (establish(h, l, &a, &b, SEC)) {
        /* B releases with unread data and a reply queued: the reply still
         * arrives, then a FIN (not an RST) */
        CHECK_INT(tcp_send(a, "request", 7), 7);
        run(h, 10 * MS);
        CHECK_INT(tcp_send(b, "reply", 5), 5);
        tcp_release(b);
        CHECK_INT(tcp_send(a, "more", 4), 4); /* discarded by the orphan */
        run(h, 100 * MS);
        char buf[16];
        CHECK_INT(tcp_recv(a, buf, sizeof buf), 5);
        CHECK(memcmp(buf, "reply", 5) == 0);
        CHECK_INT(tcp_recv(a, buf, sizeof buf), ERR_EOF);
        CHECK_INT(h->st[1].rsts_sent, 0);
        CHECK_INT(tcp_send_pending(a), 0);
        tcp_release(a);
        run(h, 100 * MS);
        CHECK_INT(tcp_conns_in_use(&h->st[0]), 0); /* LAST_ACK done */
        CHECK_INT(tcp_conns_in_use(&h->st[1]), 1); /* B closed first: TIME_WAIT */
        run(h, TCP_TIME_WAIT_US);
        CHECK_INT(tcp_conns_in_use(&h->st[1]), 0);
    }
    /* an orphan whose peer never closes is dropped from FIN_WAIT_2 */
    if (establish(h, l, &a, &b, SEC)) {
        tcp_release(a);
        run(h, 100 * MS);
        CHECK_INT(tcp_conns_in_use(&h->st[0]), 1);
        run(h, TCP_ORPHAN_FIN_WAIT_2_US);
        CHECK_INT(tcp_conns_in_use(&h->st[0]), 0);
        tcp_abort(b);
        tcp_release(b);
    }
    harness_free(h);
}

/* ---- hand-built segments ------------------------------------------------------------------ */

static size_t build(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                    uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen,
                    const char *data)
{
    size_t dl = data ? strlen(data) : 0, hl = 20 + optlen;
    memset(p, 0, hl);
    net_put16(p, sport);
    net_put16(p + 2, dport);
    net_put32(p + 4, seq);
    net_put32(p + 8, ack);
    p[12] = (uint8_t)(hl / 4 << 4);
    p[13] = flags;
    net_put16(p + 14, wnd);
    if (optlen)
        memcpy(p + 20, opt, optlen);
    if (dl)
        memcpy(p + hl, data, dl);
    fix_csum(IP_A, IP_B, p, hl + dl);
    return hl + dl;
}

static void inject(struct harness *h, const uint8_t *p, size_t len)
{
    struct wire_seg w = {1, 0, 0, IP_A, IP_B, len, {0}};
    memcpy(w.bytes, p, len);
    deliver(h, &w);
}

/* The oldest segment B sent (removed from the wire), its length or 0. */
static size_t take_out(struct harness *h, uint8_t *p)
{
    for (int i = 0; i < h->nq; i++) {
        if (h->q[i].to != 0)
            continue;
        size_t len = h->q[i].len;
        memcpy(p, h->q[i].bytes, len);
        memmove(&h->q[i], &h->q[i + 1], (size_t)(h->nq - i - 1) * sizeof h->q[0]);
        h->nq--;
        return len;
    }
    return 0;
}

TEST(tcp_captured_segments)
{
    struct harness *h = harness_new();
    if (!h)
        return;
    h->capture = 1;
    struct tcp_listener *l = tcp_listen(&h->st[1], 80, 4);
    uint8_t p[1600], o[1600];
    static const uint8_t mss1400[4] = {2, 4, 0x05, 0x78};
    static const uint8_t bad_opts[4] = {1, 2, 9, 0}; /* option length past the end */
    size_t n = build(p, 40000, 80, 0xfffffffcu, 0, F_SYN, 8192, mss1400, 4, NULL);
    inject(h, p, n);
    n = take_out(h, o);
    CHECK_INT(n, 24);
    static const uint8_t want_head[] = {0x00, 0x50, 0x9c, 0x40};    /* ports 80 -> 40000 */
    static const uint8_t want_tail[] = {0xff, 0xff, 0xff, 0xfd,     /* ack = seq + 1 */
                                        0x60, 0x12, 0x40, 0x00};    /* 24 bytes, SYN|ACK, 16384 */
    static const uint8_t want_opt[] = {0x00, 0x00, 0x02, 0x04, 0x05, 0xb4}; /* urg 0, MSS 1460 */
    CHECK(memcmp(o, want_head, 4) == 0);
    CHECK(memcmp(o + 8, want_tail, 8) == 0);
    CHECK(memcmp(o + 18, want_opt, 6) == 0);
    CHECK_INT(tcp_ref_csum(IP_B, IP_A, o, n), 0);
    uint32_t iss = net_get32(o + 4);
    /* the peer's SYN again (our SYN-ACK lost): the same SYN-ACK again */
    inject(h, p, build(p, 40000, 80, 0xfffffffcu, 0, F_SYN, 8192, mss1400, 4, NULL));
    CHECK_INT(take_out(h, o), 24);
    CHECK_INT(net_get32(o + 4), iss);
    /* ACK with 5 bytes of data (wrapping the peer's sequence space) */
    inject(h, p, build(p, 40000, 80, 0xfffffffdu, iss + 1, F_ACK | F_PSH, 8192, NULL, 0, "hello"));
    struct tcp_conn *c = tcp_accept(l);
    CHECK(c != NULL);
    char buf[16];
    CHECK_INT(tcp_recv(c, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_INT(take_out(h, o), 0); /* the ACK is delayed */
    step(h, TCP_DELACK_US);
    n = take_out(h, o);
    CHECK_INT(n, 20);
    CHECK_INT(net_get32(o + 4), iss + 1);
    CHECK_INT(net_get32(o + 8), 2); /* 0xfffffffd + 5 */
    CHECK_INT(o[12], 0x50);
    CHECK_INT(o[13], F_ACK);
    CHECK_INT(net_get16(o + 14), TCP_RX_BUF - 5); /* the right edge did not move by 5 */
    CHECK_INT(tcp_ref_csum(IP_B, IP_A, o, n), 0);
    /* our data: the peer's MSS of 1400 splits it */
    static char big[3000];
    memset(big, 'x', sizeof big);
    CHECK_INT(tcp_send(c, big, sizeof big), (long)sizeof big);
    CHECK_INT(take_out(h, o), 1420); /* full segments at once */
    CHECK_INT(take_out(h, o), 1420);
    CHECK_INT(take_out(h, o), 0);    /* the tail with the next poll */
    step(h, MS);
    CHECK_INT(take_out(h, o), 220);
    CHECK_INT(o[13], F_ACK | F_PSH);
    size_t lens[4] = {0};
    for (int i = 0; i < 4; i++)
        lens[i] = take_out(h, o);
    CHECK_INT(lens[0], 0);
    uint64_t bad0 = h->st[1].bad_segs;
    /* a corrupt checksum, and options running past the header: dropped */
    n = build(p, 40000, 80, 2, iss + 1, F_ACK, 8192, NULL, 0, "zz");
    p[20] ^= 1;
    inject(h, p, n);
    n = build(p, 40000, 80, 2, iss + 1, F_ACK, 8192, NULL, 0, NULL);
    p[12] = 0xf0; /* 60-byte header in a 20-byte segment */
    fix_csum(IP_A, IP_B, p, n);
    inject(h, p, n);
    inject(h, p, build(p, 40000, 80, 2, iss + 1, F_SYN, 8192, bad_opts, 4, NULL));
    CHECK_INT(h->st[1].bad_segs, bad0 + 2);
    /* ...the SYN with bad options parsed (no MSS), but in a synchronized
     * state it only earns a challenge ACK (RFC 5961 4.2) */
    n = take_out(h, o);
    CHECK_INT(n, 20);
    CHECK_INT(o[13], F_ACK);
    CHECK_INT(tcp_conn_state(c), TCP_ESTABLISHED);
    /* an RST in the window but not at RCV.NXT: challenge ACK, no reset */
    inject(h, p, build(p, 40000, 80, 1000, 0, F_RST, 0, NULL, 0, NULL));
    n = take_out(h, o);
    CHECK_INT(n, 20);
    CHECK_INT(o[13], F_ACK);
    CHECK_INT(net_get32(o + 8), 2);
    CHECK_INT(tcp_conn_state(c), TCP_ESTABLISHED);
    /* a SYN to a closed port: RST|ACK, seq 0, ack = seq + 1 */
    inject(h, p, build(p, 40001, 81, 0x12345678, 0, F_SYN, 8192, NULL, 0, NULL));
    n = take_out(h, o);
    static const uint8_t want_rst[20] = {0x00, 0x51, 0x9c, 0x41, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x79,
                                         0x50, 0x14, 0, 0, 0, 0, 0, 0};
    CHECK_INT(n, 20);
    CHECK(memcmp(o, want_rst, 16) == 0 && memcmp(o + 18, want_rst + 18, 2) == 0);
    CHECK_INT(tcp_ref_csum(IP_B, IP_A, o, n), 0);
    /* an ACK to a closed port: RST with seq = its ack, no ACK bit */
    inject(h, p, build(p, 40001, 81, 5, 0xabcdef01u, F_ACK, 8192, NULL, 0, "data"));
    n = take_out(h, o);
    CHECK_INT(n, 20);
    CHECK_INT(net_get32(o + 4), 0xabcdef01u);
    CHECK_INT(o[13], F_RST);
    /* an RST never gets an RST back */
    inject(h, p, build(p, 40001, 81, 5, 0, F_RST, 0, NULL, 0, NULL));
    CHECK_INT(take_out(h, o), 0);
    /* the exact RST (seq = RCV.NXT) resets */
    inject(h, p, build(p, 40000, 80, 2, 0, F_RST, 0, NULL, 0, NULL));
    CHECK_INT(tcp_recv(c, buf, 1), ERR_RESET);
    CHECK_INT(take_out(h, o), 0);
    tcp_release(c);
    CHECK_INT(tcp_conns_in_use(&h->st[1]), 0);
    h->nq = 0;
    harness_free(h);
}

TEST(tcp_out_of_order_hand_built)
{
    /* segments 3, 2, then 1 (with FIN on 3): the reader sees 1 2 3 and EOF */
    struct harness *h = harness_new();
    if (!h)
        return;
    h->capture = 1;
    struct tcp_listener *l = tcp_listen(&h->st[1], 80, 4);
    uint8_t p[1600], o[1600];
    inject(h, p, build(p, 40000, 80, 100, 0, F_SYN, 8192, NULL, 0, NULL));
    CHECK_INT(take_out(h, o), 24);
    uint32_t iss = net_get32(o + 4);
    inject(h, p, build(p, 40000, 80, 101, iss + 1, F_ACK, 8192, NULL, 0, NULL));
    struct tcp_conn *c = tcp_accept(l);
    CHECK(c != NULL);
    inject(h, p, build(p, 40000, 80, 109, iss + 1, F_ACK | F_FIN, 8192, NULL, 0, "three"));
    CHECK_INT(take_out(h, o), 20);
    CHECK_INT(net_get32(o + 8), 101); /* duplicate ACK at once */
    inject(h, p, build(p, 40000, 80, 105, iss + 1, F_ACK, 8192, NULL, 0, "two."));
    CHECK_INT(take_out(h, o), 20);
    CHECK_INT(net_get32(o + 8), 101);
    inject(h, p, build(p, 40000, 80, 101, iss + 1, F_ACK, 8192, NULL, 0, "one."));
    CHECK_INT(take_out(h, o), 20);
    CHECK_INT(net_get32(o + 8), 115); /* all data and the FIN */
    CHECK_INT(tcp_conn_state(c), TCP_CLOSE_WAIT);
    char buf[32] = {0};
    CHECK_INT(tcp_recv(c, buf, sizeof buf), 13);
    CHECK(memcmp(buf, "one.two.three", 13) == 0);
    CHECK_INT(tcp_recv(c, buf, sizeof buf), ERR_EOF);
    /* overlapping duplicate: old part trimmed, nothing new */
    inject(h, p, build(p, 40000, 80, 103, iss + 1, F_ACK, 8192, NULL, 0, "e.tw"));
    CHECK_INT(take_out(h, o), 20);
    CHECK_INT(net_get32(o + 8), 115);
    tcp_close(c);
    step(h, MS);
    CHECK_INT(take_out(h, o), 20);
    CHECK_INT(o[13], F_FIN | F_ACK);
    CHECK_INT(tcp_conn_state(c), TCP_LAST_ACK);
    inject(h, p, build(p, 40000, 80, 115, iss + 2, F_ACK, 8192, NULL, 0, NULL));
    CHECK_INT(tcp_conn_state(c), TCP_CLOSED);
    tcp_release(c);
    CHECK_INT(tcp_conns_in_use(&h->st[1]), 0);
    h->nq = 0;
    harness_free(h);
}
