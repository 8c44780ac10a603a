/* fuzz_tcp.c - libFuzzer target for TCP input (net_tcp.c).
 *
 * Each input runs on a fresh stack (10.0.0.2) with a listener on port 80,
 * one connection it opened to 10.0.0.1:5000 and one it accepted from
 * 10.0.0.1:6000, both established by hand-built segments. The input is a
 * program of operations:
 *   raw segment      arbitrary bytes from a chosen source (checksum fixed
 *                    or left as is) - the parser and the closed-port path
 *   shaped segment   to one of the connections: flags, window, payload and
 *                    sequence/acknowledgment numbers as offsets from what
 *                    the stack last sent, so they land near the window
 *   time             tcp_timer after a chosen delay (retransmission,
 *                    delayed ACK, TIME_WAIT, give-up)
 *   application      send, recv, close, abort, release, accept, connect
 * Promises checked: every segment the stack sends has a correct checksum
 * and a sane header; recv/send never claim more than asked; after the
 * application releases everything and an hour passes, every connection
 * slot is free; no netbuf is leaked (the pool is full again).
 * Any broken promise aborts, so libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../lib.h"
#include "../net.h"

#include "fuzz_require.h"
#include "tcp_ref.h"

#define IP_US NET_IP(10, 0, 0, 2)
#define IP_PEER NET_IP(10, 0, 0, 1)
#define MAX_HANDLES 8

struct peer_view {      /* what the stack last told a peer port */
    uint16_t port, our_port;
    uint32_t rcv_nxt;   /* the stack's ack */
    uint32_t snd_nxt;   /* the stack's seq + length */
};

static struct net net;
static struct tcp_stack tcp;
static struct peer_view views[4];
static struct tcp_conn *handles[MAX_HANDLES];
static struct tcp_listener *listener;
static uint64_t now;

static const uint8_t *in;
static size_t in_len;

static uint32_t take(size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v << 8;
        if (in_len) {
            v |= *in++;
            in_len--;
        }
    }
    return v;
}

static int link_send(void *ctx, const void *f, size_t n) { (void)ctx, (void)f, (void)n; return 0; }
static int link_recv(void *ctx, void *b, size_t c, size_t *r) { (void)ctx, (void)b, (void)c; *r = 0; return 0; }

static struct peer_view *view_for(uint16_t port)
{
    for (size_t i = 0; i < ARRAY_LEN(views); i++)
        if (views[i].port == port)
            return &views[i];
    return NULL;
}

static int output(void *ctx, uint32_t src, uint32_t dst, struct netbuf *seg)
{
    (void)ctx;
    const uint8_t *p = seg->data;
    size_t len = seg->len;
    REQUIRE(len >= 20 && len <= 24 + TCP_MSS_OURS, "segment of %zu bytes", len);
    size_t hlen = (size_t)(p[12] >> 4) * 4;
    REQUIRE(hlen == 20 || hlen == 24, "header of %zu bytes", hlen);
    REQUIRE(hlen <= len, "header past the end");
    REQUIRE(src == IP_US, "source %08x", src);
    REQUIRE(tcp_ref_csum(src, dst, p, len) == 0, "bad checksum");
    REQUIRE(!(p[13] & 0x02) || hlen == 24, "SYN without MSS");
    struct peer_view *v = view_for(net_get16(p + 2));
    if (v && !(p[13] & 0x04)) {
        v->rcv_nxt = net_get32(p + 8);
        v->snd_nxt = net_get32(p + 4) + (uint32_t)(len - hlen) + !!(p[13] & 0x03);
    }
    netbuf_free(&net, seg);
    return 0;
}

/* Builds a segment from the peer and feeds it in. */
static void inject(uint32_t src, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                   uint8_t flags, uint16_t wnd, uint16_t mss, const uint8_t *data, size_t n)
{
    struct netbuf *b = netbuf_alloc(&net);
    if (!b)
        return;
    size_t hlen = mss ? 24 : 20;
    uint8_t *p = netbuf_put(b, hlen + n);
    REQUIRE(p != NULL, "segment does not fit a netbuf");
    memset(p, 0, hlen);
    net_put16(p, sport);
    net_put16(p + 2, dport);
    net_put32(p + 4, seq);
    net_put32(p + 8, ack);
    p[12] = (uint8_t)(hlen / 4 << 4);
    p[13] = flags;
    net_put16(p + 14, wnd);
    if (mss) {
        p[20] = 2;
        p[21] = 4;
        net_put16(p + 22, mss);
    }
    if (n)
        memcpy(p + hlen, data, n);
    net_put16(p + 16, tcp_ref_csum(src, IP_US, p, hlen + n));
    tcp_input(&tcp, src, IP_US, b);
}

static void add_handle(struct tcp_conn *c)
{
    for (int i = 0; c && i < MAX_HANDLES; i++)
        if (!handles[i]) {
            handles[i] = c;
            return;
        }
    if (c)
        tcp_release(c); /* no room to remember it */
}

static void setup(void)
{
    memset(views, 0, sizeof views);
    memset(handles, 0, sizeof handles);
    now = 1000000;
    REQUIRE(tcp_init(&tcp, &net) == 0, "tcp_init");
    tcp.output = output;
    tcp.local_ip = IP_US;
    tcp.isn_seed = 12345;
    tcp.next_port = 50000;
    tcp_timer(&tcp, now);
    listener = tcp_listen(&tcp, 80, 4);
    /* active open to 5000 */
    views[0] = (struct peer_view){5000, 50000, 0, 0};
    struct tcp_conn *c = tcp_connect(&tcp, IP_PEER, 5000);
    REQUIRE(c != NULL, "tcp_connect");
    inject(IP_PEER, 5000, 50000, 1000, views[0].snd_nxt, 0x12, 8192, 1400, NULL, 0);
    REQUIRE(tcp_conn_state(c) == TCP_ESTABLISHED, "active open");
    add_handle(c);
    /* passive open from 6000 */
    views[1] = (struct peer_view){6000, 80, 0, 0};
    inject(IP_PEER, 6000, 80, 5000, 0, 0x02, 8192, 0, NULL, 0);
    inject(IP_PEER, 6000, 80, 5001, views[1].snd_nxt, 0x10, 8192, 0, NULL, 0);
    c = tcp_accept(listener);
    REQUIRE(c != NULL, "passive open");
    add_handle(c);
    /* further connections the input may open: a SYN from 6001, and
     * tcp_connect to 5001 (from the next ephemeral port) */
    views[2] = (struct peer_view){6001, 80, 0, 0};
    views[3] = (struct peer_view){5001, 50001, 0, 0};
}

static void op_raw(uint8_t op)
{
    static uint8_t seg[1500];
    size_t n = take(2) % (sizeof seg + 1);
    uint32_t src = op & 0x10 ? take(4) : IP_PEER;
    for (size_t i = 0; i < n; i++)
        seg[i] = (uint8_t)take(1);
    if (!(op & 0x20) && n >= 18) {
        seg[16] = seg[17] = 0;
        net_put16(seg + 16, tcp_ref_csum(src, IP_US, seg, n));
    }
    struct netbuf *b = netbuf_alloc(&net);
    if (!b)
        return;
    memcpy(netbuf_put(b, n), seg, n);
    tcp_input(&tcp, src, IP_US, b);
}

static void op_shaped(uint8_t op)
{
    static uint8_t data[1460];
    struct peer_view *v = &views[op >> 6 & 3];
    uint8_t flags = (uint8_t)take(1);
    int16_t dseq = (int16_t)take(2), dack = (int16_t)take(2);
    uint16_t wnd = (uint16_t)take(2);
    size_t n = take(1) * 8 % (sizeof data + 1);
    uint16_t mss = (flags & 0x02) && (op & 0x20) ? (uint16_t)take(2) : 0;
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)i;
    inject(IP_PEER, v->port, v->our_port, v->rcv_nxt + (uint32_t)(int32_t)dseq,
           v->snd_nxt + (uint32_t)(int32_t)dack, flags, wnd, mss, data, n);
}

static void op_time(void)
{
    uint8_t b = (uint8_t)take(1);
    now += b < 128 ? (uint64_t)b * 1000 : (uint64_t)1 << (b & 31);
    tcp_timer(&tcp, now);
}

static void op_app(void)
{
    static uint8_t buf[40000];
    uint8_t what = (uint8_t)take(1);
    struct tcp_conn **h = &handles[what >> 4 & (MAX_HANDLES - 1)];
    switch (what & 15) {
    case 0: case 1: case 2:
        if (*h) {
            size_t n = take(2);
            memset(buf, 'x', MIN(n, sizeof buf));
            long r = tcp_send(*h, buf, MIN(n, sizeof buf));
            REQUIRE(r <= (long)MIN(n, sizeof buf), "tcp_send took %ld of %zu", r, n);
            REQUIRE(tcp_send_space(*h) <= TCP_TX_BUF, "send space");
            REQUIRE(tcp_send_pending(*h) <= TCP_TX_BUF, "send pending");
        }
        break;
    case 3: case 4: case 5:
        if (*h) {
            size_t n = take(2) % sizeof buf;
            long r = tcp_recv(*h, buf, n);
            REQUIRE(r <= (long)n, "tcp_recv gave %ld of %zu", r, n);
            REQUIRE(r >= 0 || r == ERR_EOF || r == ERR_RESET || r == ERR_TIMEOUT, "tcp_recv %ld", r);
        }
        break;
    case 6:
        tcp_close(*h);
        break;
    case 7:
        tcp_abort(*h);
        break;
    case 8:
        tcp_release(*h);
        *h = NULL;
        break;
    case 9:
        add_handle(tcp_accept(listener));
        break;
    case 10:
        add_handle(tcp_connect(&tcp, IP_PEER, 5001));
        break;
    case 11:
        if (listener) {
            tcp_unlisten(listener);
            listener = NULL;
        }
        break;
    default:
        if (*h) {
            struct tcp_conn_info info;
            tcp_conn_info(*h, &info);
            REQUIRE(info.mss >= 64 && info.mss <= TCP_MSS_OURS, "mss %u", info.mss);
        }
        break;
    }
}

static int pool_free(void)
{
    int n = 0;
    for (struct netbuf *b = net.free_list; b; b = b->next)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!net.pool) {
        struct net_link link = {{2, 0, 0, 0, 0, 2}, link_send, link_recv, NULL};
        struct net_config cfg = {IP_US, NET_IP(255, 255, 255, 0), 0, 0, 0};
        REQUIRE(net_init(&net, &link, &cfg) == 0, "net_init");
    }
    setup();
    in = data;
    in_len = size;
    for (int ops = 0; in_len && ops < 256; ops++) {
        uint8_t op = (uint8_t)take(1);
        switch (op & 7) {
        case 0: case 1: op_raw(op); break;
        case 2: case 3: case 4: op_shaped(op); break;
        case 5: op_time(); break;
        default: op_app(); break;
        }
        REQUIRE(pool_free() == NETBUF_POOL, "netbuf leaked after op %d", ops);
    }
    for (int i = 0; i < MAX_HANDLES; i++)
        tcp_release(handles[i]);
    if (listener)
        tcp_unlisten(listener);
    /* an hour of silence ends everything: 1 s steps for the short timers
     * (TIME_WAIT, FIN_WAIT_2), then 60 s ones (RTO tops out at 60 s) */
    for (int i = 0; i < 100 + 60; i++)
        tcp_timer(&tcp, now += i < 100 ? 1000000 : 60000000);
    REQUIRE(tcp_conns_in_use(&tcp) == 0, "%d connections left after an hour", tcp_conns_in_use(&tcp));
    tcp_shutdown(&tcp);
    REQUIRE(pool_free() == NETBUF_POOL, "netbuf leaked");
    return 0;
}
