/* net_dhcp.c - DHCP client: acquire, renew and rebind an IPv4 lease
 * (net_dhcp.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

#define US 1000000ull
#define NEVER UINT64_MAX

#define BOOTP_LEN 236            /* fixed header up to the options */
#define DHCP_MIN_LEN 300         /* RFC 1542: relays may drop shorter messages */
#define DHCP_MAX_BACKOFF_US (64 * US)
#define DHCP_MIN_RENEW_US (60 * US)
#define DHCP_DEFAULT_LEASE_S 3600u
#define DHCP_FLAG_BROADCAST 0x8000

static const uint8_t dhcp_cookie[4] = {99, 130, 83, 99};

/* ---- parsing ---------------------------------------------------------------------- */

static void dhcp_option(struct dhcp_msg *m, uint8_t code, const uint8_t *v, size_t len)
{
    if (code == 53 && len == 1)
        m->type = v[0];
    else if (len < 4)
        return;
    switch (code) {
    case 1: m->netmask = net_get32(v); break;
    case 3: m->router = net_get32(v); break;
    case 6: m->dns = net_get32(v); break;
    case 51: m->lease_s = net_get32(v); break;
    case 54: m->server_id = net_get32(v); break;
    case 58: m->t1_s = net_get32(v); break;
    case 59: m->t2_s = net_get32(v); break;
    default: break;
    }
}

int dhcp_parse(const uint8_t *data, size_t len, struct dhcp_msg *ret)
{
    struct dhcp_msg m;
    memset(&m, 0, sizeof m);
    if (len < BOOTP_LEN + 4 || data[1] != 1 || data[2] != 6 ||
        memcmp(data + BOOTP_LEN, dhcp_cookie, 4) != 0)
        return ERR_FORMAT;
    m.op = data[0];
    m.xid = net_get32(data + 4);
    m.ciaddr = net_get32(data + 12);
    m.yiaddr = net_get32(data + 16);
    memcpy(m.chaddr, data + 28, 6);
    size_t i = BOOTP_LEN + 4;
    while (i < len && data[i] != 255) {
        uint8_t code = data[i];
        if (code == 0) {
            i++;
            continue;
        }
        if (len - i < 2 || (size_t)data[i + 1] > len - i - 2)
            return ERR_FORMAT;
        dhcp_option(&m, code, data + i + 2, data[i + 1]);
        i += 2 + (size_t)data[i + 1];
    }
    if (m.type < DHCP_DISCOVER || m.type > DHCP_INFORM)
        return ERR_FORMAT;
    *ret = m;
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------- */

static struct dhcp_client *dhcp(struct net *n) { return &n->dhcp; }

static uint32_t dhcp_random(struct dhcp_client *c)
{
    uint32_t x = c->rand ? c->rand : 0x2545f491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rand = x;
    return x;
}

/* Contiguous ones from the top (255.255.255.0 yes, 255.0.255.0 no). */
static int mask_is_valid(uint32_t mask)
{
    return mask != 0 && (~mask & (~mask + 1)) == 0;
}

static int mask_prefix(uint32_t mask)
{
    int bits = 0;
    for (; mask & 0x80000000u; mask <<= 1)
        bits++;
    return bits;
}

/* The classful mask, for servers that send none. */
static uint32_t mask_default(uint32_t ip)
{
    if (ip >> 31 == 0)
        return 0xff000000u;
    if (ip >> 30 == 2)
        return 0xffff0000u;
    return 0xffffff00u;
}

/* A host address a server may hand out (not 0, broadcast, multicast,
 * loopback or class E). */
static int ip_is_assignable(uint32_t ip)
{
    return ip != 0 && (ip >> 24) != 127 && (ip >> 28) < 0xe;
}

static uint64_t add_seconds(uint64_t start_us, uint32_t s)
{
    return s == DHCP_LEASE_INFINITE ? NEVER : start_us + (uint64_t)s * US;
}

/* ---- sending ---------------------------------------------------------------------- */

static uint8_t *put_option(uint8_t *p, uint8_t code, uint8_t len, const void *v)
{
    p[0] = code;
    p[1] = len;
    memcpy(p + 2, v, len);
    return p + 2 + len;
}

static uint8_t *put_option_ip(uint8_t *p, uint8_t code, uint32_t ip)
{
    uint8_t v[4];
    net_put32(v, ip);
    return put_option(p, code, 4, v);
}

/* Builds and sends one client message. ciaddr is our address while renewing
 * or rebinding; requested/server go into options 50/54 when nonzero. */
static int dhcp_send(struct net *n, uint8_t type, uint32_t ciaddr, uint32_t requested,
                     uint32_t server, uint32_t dst)
{
    struct dhcp_client *c = dhcp(n);
    uint8_t msg[DHCP_MIN_LEN + 64];
    memset(msg, 0, sizeof msg);
    msg[0] = 1;   /* BOOTREQUEST */
    msg[1] = 1;   /* Ethernet */
    msg[2] = 6;
    net_put32(msg + 4, c->xid);
    uint64_t secs = (n->now_us - c->exchange_us) / US;
    net_put16(msg + 8, (uint16_t)(secs > 0xffff ? 0xffff : secs));
    /* broadcast replies while we cannot receive unicast to our address */
    net_put16(msg + 10, ciaddr ? 0 : DHCP_FLAG_BROADCAST);
    net_put32(msg + 12, ciaddr);
    memcpy(msg + 28, n->link.mac, 6);
    memcpy(msg + BOOTP_LEN, dhcp_cookie, 4);

    uint8_t *p = msg + BOOTP_LEN + 4;
    p = put_option(p, 53, 1, &type);
    uint8_t client_id[7] = {1};
    memcpy(client_id + 1, n->link.mac, 6);
    p = put_option(p, 61, sizeof client_id, client_id);
    if (requested)
        p = put_option_ip(p, 50, requested);
    if (server)
        p = put_option_ip(p, 54, server);
    static const uint8_t max_size[2] = {1500 >> 8, 1500 & 255};
    p = put_option(p, 57, 2, max_size);
    static const uint8_t wanted[] = {1, 3, 6, 51, 54, 58, 59};
    p = put_option(p, 55, sizeof wanted, wanted);
    *p++ = 255;
    size_t len = (size_t)(p - msg);
    return udp_send(n, DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT, msg, len < DHCP_MIN_LEN ? DHCP_MIN_LEN : len);
}

/* 4, 8, 16, 32, 64, 64 ... s after the try-th transmission, plus jitter
 * so that hosts booted together do not stay in step. */
static uint64_t dhcp_backoff(struct dhcp_client *c)
{
    uint64_t wait = 4 * US;
    for (int i = 1; i < c->tries && wait < DHCP_MAX_BACKOFF_US; i++)
        wait *= 2;
    return MIN(wait, DHCP_MAX_BACKOFF_US) + dhcp_random(c) % US;
}

static void dhcp_send_discover(struct net *n)
{
    struct dhcp_client *c = dhcp(n);
    c->tries++;
    c->next_us = n->now_us + dhcp_backoff(c);
    dhcp_send(n, DHCP_DISCOVER, 0, 0, 0, 0xffffffffu);
}

static void dhcp_send_select(struct net *n)
{
    struct dhcp_client *c = dhcp(n);
    c->tries++;
    c->next_us = n->now_us + dhcp_backoff(c);
    dhcp_send(n, DHCP_REQUEST, 0, c->offered_ip, c->server_ip, 0xffffffffu);
}

/* RENEWING/REBINDING: resend after half the time left to until_us, at least
 * a minute apart (RFC 2131 4.4.5), never past until_us. */
static void dhcp_send_extend(struct net *n, uint32_t dst, uint64_t until_us)
{
    struct dhcp_client *c = dhcp(n);
    uint64_t left = until_us > n->now_us ? until_us - n->now_us : 0;
    uint64_t wait = MAX(left / 2, DHCP_MIN_RENEW_US);
    c->next_us = until_us == NEVER ? n->now_us + wait : MIN(n->now_us + wait, until_us);
    c->tries++;
    dhcp_send(n, DHCP_REQUEST, n->ip, 0, 0, dst);
}

/* ---- state changes ---------------------------------------------------------------- */

static void dhcp_new_exchange(struct net *n, uint8_t state)
{
    struct dhcp_client *c = dhcp(n);
    c->state = state;
    c->tries = 0;
    c->xid = dhcp_random(c);
    c->exchange_us = n->now_us;
    c->next_us = n->now_us;
}

/* Gives the address up (lease gone or refused) and starts over. */
static void dhcp_restart(struct net *n, const char *why)
{
    if (n->ip != 0) {
        char ip[16];
        net_format_ip(n->ip, ip);
        net_logf(n, "dhcp: %s, address %s removed", why, ip);
        n->ip = n->netmask = n->gateway = n->dns = 0;
        arp_flush(n);
    } else {
        net_logf(n, "dhcp: %s, restarting", why);
    }
    dhcp_new_exchange(n, DHCP_INIT);
}

static void dhcp_bind(struct net *n, const struct dhcp_msg *m)
{
    struct dhcp_client *c = dhcp(n);
    uint32_t lease = m->lease_s ? m->lease_s : DHCP_DEFAULT_LEASE_S;
    uint32_t t1 = m->t1_s, t2 = m->t2_s;
    if (lease != DHCP_LEASE_INFINITE && (t2 == 0 || t2 > lease))
        t2 = (uint32_t)((uint64_t)lease * 7 / 8);
    if (lease != DHCP_LEASE_INFINITE && (t1 == 0 || t1 > t2))
        t1 = lease / 2;
    if (lease == DHCP_LEASE_INFINITE)
        t1 = t2 = DHCP_LEASE_INFINITE;
    c->lease_s = lease;
    c->t1_us = add_seconds(c->exchange_us, t1);
    c->t2_us = add_seconds(c->exchange_us, t2);
    c->expire_us = add_seconds(c->exchange_us, lease);

    int renewed = n->ip == m->yiaddr;
    if (n->ip != 0 && !renewed)
        arp_flush(n);   /* a new address: old neighbours may be on another net */
    n->ip = m->yiaddr;
    n->netmask = mask_is_valid(m->netmask) ? m->netmask : mask_default(m->yiaddr);
    n->gateway = (m->router & n->netmask) == (n->ip & n->netmask) ? m->router : 0;
    n->dns = m->dns;
    c->server_ip = m->server_id ? m->server_id : c->server_ip;
    c->state = DHCP_BOUND;
    c->tries = 0;
    c->acks++;

    char ip[16], gw[16], dns[16];
    net_format_ip(n->ip, ip);
    if (renewed) {
        net_logf(n, "dhcp: renewed %s lease %u s", ip, (unsigned)lease);
        return;
    }
    net_format_ip(n->gateway, gw);
    net_format_ip(n->dns, dns);
    net_logf(n, "dhcp: bound %s/%d gw %s dns %s lease %u s", ip, mask_prefix(n->netmask), gw,
             dns, (unsigned)lease);
    arp_announce(n);
}

/* ---- public ------------------------------------------------------------------------ */

static void dhcp_recv(void *ctx, uint32_t src_ip, uint16_t src_port, const uint8_t *data,
                      size_t len)
{
    (void)src_port;
    dhcp_input(ctx, src_ip, data, len);
}

int dhcp_start(struct net *n)
{
    struct dhcp_client *c = dhcp(n);
    if (c->state == DHCP_OFF) {
        int rc = udp_bind(n, DHCP_CLIENT_PORT, dhcp_recv, n);
        if (rc != 0)
            return rc;
    }
    /* different hosts must pick different xids: mix the MAC and the clock */
    uint32_t seed = c->rand ^ (uint32_t)n->now_us ^ (uint32_t)(n->now_us >> 32);
    for (int i = 0; i < 6; i++)
        seed = seed * 16777619u ^ n->link.mac[i];
    c->rand = seed ? seed : 1;
    dhcp_new_exchange(n, DHCP_INIT);
    return 0;
}

void dhcp_stop(struct net *n)
{
    if (dhcp(n)->state != DHCP_OFF)
        udp_unbind(n, DHCP_CLIENT_PORT);
    dhcp(n)->state = DHCP_OFF;
}

void dhcp_timer(struct net *n)
{
    struct dhcp_client *c = dhcp(n);
    uint64_t now = n->now_us;
    switch (c->state) {
    case DHCP_INIT:
        dhcp_new_exchange(n, DHCP_SELECTING);
        dhcp_send_discover(n);
        break;
    case DHCP_SELECTING:
        if (now >= c->next_us)
            dhcp_send_discover(n);
        break;
    case DHCP_REQUESTING:
        if (now < c->next_us)
            break;
        if (c->tries >= DHCP_REQUEST_TRIES)
            dhcp_restart(n, "no answer to REQUEST");
        else
            dhcp_send_select(n);
        break;
    case DHCP_BOUND:
        if (now >= c->t1_us) {
            dhcp_new_exchange(n, DHCP_RENEWING);
            dhcp_send_extend(n, c->server_ip, c->t2_us);
        }
        break;
    case DHCP_RENEWING:
    case DHCP_REBINDING:
        if (now >= c->expire_us) {
            dhcp_restart(n, "lease expired");
        } else if (c->state == DHCP_RENEWING && now >= c->t2_us) {
            c->state = DHCP_REBINDING;
            dhcp_send_extend(n, 0xffffffffu, c->expire_us);
        } else if (now >= c->next_us) {
            if (c->state == DHCP_RENEWING)
                dhcp_send_extend(n, c->server_ip, c->t2_us);
            else
                dhcp_send_extend(n, 0xffffffffu, c->expire_us);
        }
        break;
    default:
        break;
    }
}

/* Whether m answers our current exchange. */
static int dhcp_is_ours(const struct net *n, const struct dhcp_msg *m)
{
    return m->op == 2 && m->xid == n->dhcp.xid && memcmp(m->chaddr, n->link.mac, 6) == 0;
}

void dhcp_input(struct net *n, uint32_t src_ip, const uint8_t *data, size_t len)
{
    struct dhcp_client *c = dhcp(n);
    struct dhcp_msg m;
    if (dhcp_parse(data, len, &m) != 0 || !dhcp_is_ours(n, &m))
        return;
    int waiting_ack = c->state == DHCP_REQUESTING || c->state == DHCP_RENEWING ||
                      c->state == DHCP_REBINDING;
    if (m.type == DHCP_OFFER && c->state == DHCP_SELECTING) {
        if (!ip_is_assignable(m.yiaddr))
            return;
        c->offers++;
        c->offered_ip = m.yiaddr;
        c->server_ip = m.server_id ? m.server_id : src_ip;
        /* the REQUEST keeps the DISCOVER's xid (RFC 2131 4.4.1) */
        c->state = DHCP_REQUESTING;
        c->tries = 0;
        c->exchange_us = n->now_us;
        dhcp_send_select(n);
    } else if (m.type == DHCP_ACK && waiting_ack) {
        if (!ip_is_assignable(m.yiaddr))
            return;
        if (c->state == DHCP_REQUESTING && m.yiaddr != c->offered_ip)
            return;
        dhcp_bind(n, &m);
    } else if (m.type == DHCP_NAK && waiting_ack) {
        /* while selecting, only the chosen server may refuse */
        if (c->state == DHCP_REQUESTING && m.server_id && m.server_id != c->server_ip)
            return;
        c->naks++;
        dhcp_restart(n, "NAK from server");
    }
}
