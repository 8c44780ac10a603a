/* net_tcp_sock.c - TCP (RFC 9293): the connection table (slots, listeners,
 * initial sequence numbers, ephemeral ports) and the socket API of
 * net_tcp.h.
 *
 * The protocol itself (segments, state machine, timers) is in net_tcp.c;
 * the shared structures are in the private net_tcp_int.h.
 */
#include "errors.h"
#include "lib.h"
#include "net.h"
#include "net_tcp_int.h"
#include "platform.h"

#define TCP_PORT_FIRST 49152         /* ephemeral range (RFC 6335) */
#define TCP_PORT_COUNT 16384

#define TCP_MEM_BYTES \
    (TCP_MAX_CONNS * sizeof(struct tcp_conn) + TCP_MAX_LISTENERS * sizeof(struct tcp_listener))

/* ---- connection slots --------------------------------------------------------------- */

static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* RFC 9293 3.4.1 / RFC 6528: a keyed hash of the connection plus a 4 us
 * clock, so a new incarnation starts beyond the old one's numbers. */
static uint32_t isn_for(const struct tcp_stack *t, const struct tcp_conn *c)
{
    uint32_t h = mix32(t->isn_seed ^ c->local_ip);
    h = mix32(h ^ c->remote_ip);
    h = mix32(h ^ ((uint32_t)c->local_port << 16 | c->remote_port));
    return h + (uint32_t)(t->now_us / 4);
}

struct tcp_conn *tcp_conn_alloc(struct tcp_stack *t)
{
    struct tcp_conn *pick = NULL;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &t->conns[i];
        if (!c->in_use) {
            pick = c;
            break;
        }
        if (c->state == TCP_TIME_WAIT && c->owner != OWNER_APP &&
            (!pick || c->linger_at < pick->linger_at))
            pick = c;
    }
    if (pick) {
        memset(pick, 0, offsetof(struct tcp_conn, rx)); /* the rings need no clearing */
        pick->stack = t;
    }
    return pick;
}

void tcp_conn_setup(struct tcp_conn *c, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    c->in_use = 1;
    c->local_ip = lip;
    c->local_port = lport;
    c->remote_ip = rip;
    c->remote_port = rport;
    c->mss = TCP_MSS_DEFAULT;
    c->rto = TCP_RTO_INIT_US;
    c->cwnd = TCP_CWND_MAX;
    c->ssthresh = TCP_CWND_MAX;
    c->iss = isn_for(c->stack, c);
    c->snd_una = c->iss;
    c->snd_nxt = c->iss;
    c->snd_max = c->iss;
}

void tcp_conn_reap(struct tcp_conn *c)
{
    if (c->in_use && c->state == TCP_CLOSED && c->owner != OWNER_APP) {
        c->in_use = 0;
        c->listener = NULL;
    }
}

struct tcp_listener *tcp_listener_find(struct tcp_stack *t, uint16_t port)
{
    for (int i = 0; i < TCP_MAX_LISTENERS; i++)
        if (t->listeners[i].in_use && t->listeners[i].port == port)
            return &t->listeners[i];
    return NULL;
}

/* ---- set-up ----------------------------------------------------------------------- */

int tcp_init(struct tcp_stack *t, struct net *n)
{
    memset(t, 0, sizeof *t);
    t->conns = plat_alloc(TCP_MEM_BYTES);
    if (!t->conns)
        return ERR_NOMEM;
    t->listeners = (struct tcp_listener *)(t->conns + TCP_MAX_CONNS);
    t->net = n;
    uint64_t clock = plat_time_us() ^ plat_time_wall() << 20;
    t->isn_seed = mix32((uint32_t)clock ^ mix32((uint32_t)(clock >> 32)));
    t->next_port = (uint16_t)(TCP_PORT_FIRST + t->isn_seed % TCP_PORT_COUNT);
    return 0;
}

void tcp_shutdown(struct tcp_stack *t)
{
    if (t->conns)
        plat_free(t->conns, TCP_MEM_BYTES);
    t->conns = NULL;
    t->listeners = NULL;
}

/* ---- listeners --------------------------------------------------------------------- */

struct tcp_listener *tcp_listen(struct tcp_stack *t, uint16_t port, int backlog)
{
    if (!t->listeners || !port || tcp_listener_find(t, port))
        return NULL;
    for (int i = 0; i < TCP_MAX_LISTENERS; i++) {
        struct tcp_listener *l = &t->listeners[i];
        if (l->in_use)
            continue;
        l->in_use = 1;
        l->stack = t;
        l->port = port;
        l->backlog = backlog < 1 ? 1 : backlog > TCP_MAX_CONNS ? TCP_MAX_CONNS : backlog;
        return l;
    }
    return NULL;
}

struct tcp_conn *tcp_accept(struct tcp_listener *l)
{
    struct tcp_conn *best = NULL;
    if (!l || !l->in_use)
        return NULL;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &l->stack->conns[i];
        if (c->in_use && c->listener == l && c->owner == OWNER_PENDING &&
            c->state != TCP_SYN_RECEIVED && c->state != TCP_CLOSED &&
            (!best || seq_lt(c->accept_order, best->accept_order)))
            best = c;
    }
    if (best)
        best->owner = OWNER_APP;
    return best;
}

void tcp_unlisten(struct tcp_listener *l)
{
    if (!l || !l->in_use)
        return;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &l->stack->conns[i];
        if (!c->in_use || c->listener != l)
            continue;
        c->listener = NULL;
        if (c->owner != OWNER_PENDING)
            continue;
        if (state_synced(c->state))
            tcp_send_rst(c);
        tcp_enter_closed(c);
        tcp_conn_reap(c);
    }
    l->in_use = 0;
}

/* ---- active open ------------------------------------------------------------------ */

static int port_taken(const struct tcp_stack *t, uint16_t port)
{
    for (int i = 0; i < TCP_MAX_CONNS; i++)
        if (t->conns[i].in_use && t->conns[i].local_port == port)
            return 1;
    for (int i = 0; i < TCP_MAX_LISTENERS; i++)
        if (t->listeners[i].in_use && t->listeners[i].port == port)
            return 1;
    return 0;
}

static uint16_t pick_port(struct tcp_stack *t)
{
    for (int i = 0; i < TCP_PORT_COUNT; i++) {
        if (t->next_port < TCP_PORT_FIRST)
            t->next_port = TCP_PORT_FIRST;
        uint16_t port = t->next_port++;
        if (!port_taken(t, port))
            return port;
    }
    return 0;
}

struct tcp_conn *tcp_connect(struct tcp_stack *t, uint32_t ip, uint16_t port)
{
    if (!t->conns || !t->local_ip || addr_unusable(ip) || !port)
        return NULL;
    uint16_t lport = pick_port(t);
    struct tcp_conn *c = lport ? tcp_conn_alloc(t) : NULL;
    if (!c)
        return NULL;
    tcp_conn_setup(c, t->local_ip, lport, ip, port);
    c->owner = OWNER_APP;
    c->state = TCP_SYN_SENT;
    tcp_open_with_syn(c);
    return c;
}

/* ---- the application's side ----------------------------------------------------------- */

/* After a read: tell the peer when the window grew by a useful amount
 * (two segments, or from below one segment), so it need not probe. The
 * ACK leaves from the next tcp_timer: one for all reads of a loop turn. */
static void window_opened(struct tcp_conn *c)
{
    if (!state_receives(c->state))
        return;
    uint32_t edge = c->rcv_nxt + (uint32_t)(TCP_RX_BUF - c->rx_len);
    uint32_t growth = seq_gt(edge, c->rcv_adv) ? edge - c->rcv_adv : 0;
    uint32_t offered = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (growth >= 2u * TCP_MSS_OURS || (offered < TCP_MSS_OURS && growth >= TCP_SWS_STEP))
        c->delack_at = MAX(c->stack->now_us, 1);
}

long tcp_recv(struct tcp_conn *c, void *buf, size_t n)
{
    if (!c || !c->in_use)
        return ERR_INVAL;
    if (c->err)
        return c->err;
    if (!c->rx_len)
        return c->fin_received || c->state == TCP_CLOSED ? ERR_EOF : 0;
    size_t k = MIN(n, c->rx_len);
    ring_read(c->rx, TCP_RX_BUF, c->rx_head, buf, k);
    c->rx_head = (c->rx_head + k) % TCP_RX_BUF;
    c->rx_len -= k;
    window_opened(c);
    return (long)k;
}

static int may_queue(const struct tcp_conn *c)
{
    return !c->fin_queued && !c->err && (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED ||
                                         c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT);
}

long tcp_send(struct tcp_conn *c, const void *buf, size_t n)
{
    if (!c || !c->in_use)
        return ERR_INVAL;
    if (c->err)
        return c->err;
    if (!may_queue(c))
        return ERR_INVAL;
    size_t k = MIN(n, TCP_TX_BUF - c->tx_len);
    ring_write(c->tx, TCP_TX_BUF, c->tx_head + c->tx_len, buf, k);
    c->tx_len += k;
    if (k)
        tcp_conn_output(c, 0);
    return (long)k;
}

size_t tcp_send_space(const struct tcp_conn *c)
{
    return c && c->in_use && may_queue(c) ? TCP_TX_BUF - c->tx_len : 0;
}

size_t tcp_send_pending(const struct tcp_conn *c)
{
    return c && c->in_use ? c->tx_len : 0;
}

enum tcp_state tcp_conn_state(const struct tcp_conn *c)
{
    return c && c->in_use ? c->state : TCP_CLOSED;
}

void tcp_conn_peer(const struct tcp_conn *c, uint32_t *ret_ip, uint16_t *ret_port)
{
    if (!c)
        return;
    if (ret_ip)
        *ret_ip = c->remote_ip;
    if (ret_port)
        *ret_port = c->remote_port;
}

void tcp_close(struct tcp_conn *c)
{
    if (!c || !c->in_use || c->fin_queued)
        return;
    switch (c->state) {
    case TCP_SYN_SENT:
        tcp_enter_closed(c);
        return;
    case TCP_SYN_RECEIVED:
        c->fin_queued = 1; /* sent once the handshake completes */
        return;
    case TCP_ESTABLISHED:
        c->fin_queued = 1;
        c->state = TCP_FIN_WAIT_1;
        break;
    case TCP_CLOSE_WAIT:
        c->fin_queued = 1;
        c->state = TCP_LAST_ACK;
        break;
    default:
        return;
    }
    tcp_conn_output(c, 0);
}

void tcp_abort(struct tcp_conn *c)
{
    if (!c || !c->in_use || c->state == TCP_CLOSED)
        return;
    if (state_synced(c->state))
        tcp_send_rst(c);
    c->rx_len = 0;
    tcp_conn_fail(c, ERR_RESET);
}

void tcp_release(struct tcp_conn *c)
{
    if (!c || !c->in_use || c->owner != OWNER_APP)
        return;
    c->owner = OWNER_NONE;
    tcp_close(c);
    c->rx_head = (c->rx_head + c->rx_len) % TCP_RX_BUF; /* keeps out-of-order offsets */
    c->rx_len = 0;
    window_opened(c);
    if (c->state == TCP_FIN_WAIT_2)
        c->linger_at = c->stack->now_us + TCP_ORPHAN_FIN_WAIT_2_US;
    tcp_conn_reap(c);
}

void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *ret)
{
    memset(ret, 0, sizeof *ret);
    if (!c || !c->in_use)
        return;
    ret->state = c->state;
    ret->local_port = c->local_port;
    ret->mss = c->mss;
    ret->srtt_us = c->have_rtt ? c->srtt : 0;
    ret->rto_us = c->rto;
    ret->cwnd = c->cwnd;
    ret->snd_wnd = c->snd_wnd;
    ret->retransmits = c->retransmits;
}

int tcp_conns_in_use(const struct tcp_stack *t)
{
    int n = 0;
    for (int i = 0; t->conns && i < TCP_MAX_CONNS; i++)
        n += t->conns[i].in_use;
    return n;
}
