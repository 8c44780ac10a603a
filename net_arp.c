/* net_arp.c - ARP: answers for our address, a timed cache, and one held
 * packet per address being resolved (net_arp.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

static const uint8_t mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_zero[6] = {0};

static struct arp_entry *arp_find(struct net *n, uint32_t ip)
{
    for (int i = 0; i < ARP_CACHE_SIZE; i++)
        if (n->arp.e[i].state != ARP_FREE && n->arp.e[i].ip == ip)
            return &n->arp.e[i];
    return NULL;
}

static void arp_entry_clear(struct net *n, struct arp_entry *e)
{
    if (e->held) {
        netbuf_free(n, e->held);
        n->tx_dropped++;
    }
    memset(e, 0, sizeof *e);
}

/* A free slot, else the one closest to its deadline (resolved entries are
 * cheaper to lose than pending ones, which hold a packet). */
static struct arp_entry *arp_slot(struct net *n)
{
    struct arp_entry *best = NULL;
    for (int i = 0; i < ARP_CACHE_SIZE; i++) {
        struct arp_entry *e = &n->arp.e[i];
        if (e->state == ARP_FREE)
            return e;
        if (!best || (e->state == ARP_RESOLVED && best->state == ARP_PENDING) ||
            (e->state == best->state && e->deadline_us < best->deadline_us))
            best = e;
    }
    arp_entry_clear(n, best);
    return best;
}

/* Builds and sends one ARP packet from our MAC and address. */
static int arp_send(struct net *n, uint16_t op, const uint8_t dst_mac[6],
                    const uint8_t target_mac[6], uint32_t target_ip)
{
    struct netbuf *b = netbuf_alloc(n);
    if (!b)
        return ERR_NOMEM;
    uint8_t *p = netbuf_put(b, ARP_LEN);
    net_put16(p, 1);              /* Ethernet */
    net_put16(p + 2, ETH_TYPE_IP);
    p[4] = 6;
    p[5] = 4;
    net_put16(p + 6, op);
    memcpy(p + 8, n->link.mac, 6);
    net_put32(p + 14, n->ip);
    memcpy(p + 18, target_mac, 6);
    net_put32(p + 24, target_ip);
    return eth_output(n, dst_mac, ETH_TYPE_ARP, b);
}

static int arp_request(struct net *n, uint32_t ip)
{
    n->arp.requests_sent++;
    return arp_send(n, ARP_OP_REQUEST, mac_broadcast, mac_zero, ip);
}

/* The entry became resolved: remember the MAC and send what was waiting. */
static void arp_resolved(struct net *n, struct arp_entry *e, const uint8_t mac[6])
{
    memcpy(e->mac, mac, 6);
    e->state = ARP_RESOLVED;
    e->tries = 0;
    e->deadline_us = n->now_us + ARP_ENTRY_TTL_US;
    struct netbuf *held = e->held;
    e->held = NULL;
    if (held)
        eth_output(n, e->mac, ETH_TYPE_IP, held);
}

void arp_input(struct net *n, struct netbuf *b)
{
    const uint8_t *p = b->data;
    if (b->len < ARP_LEN || net_get16(p) != 1 || net_get16(p + 2) != ETH_TYPE_IP ||
        p[4] != 6 || p[5] != 4)
        goto drop;
    uint16_t op = net_get16(p + 6);
    uint8_t sender_mac[6];
    memcpy(sender_mac, p + 8, 6);
    uint32_t sender_ip = net_get32(p + 14), target_ip = net_get32(p + 24);
    if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
        goto drop;
    /* group or own MACs are never a host's address; our frames may loop back */
    if ((sender_mac[0] & 1) || memcmp(sender_mac, n->link.mac, 6) == 0)
        goto drop;
    if (n->ip != 0 && sender_ip == n->ip) {
        net_logf(n, "arp: address conflict: %02x:%02x:%02x:%02x:%02x:%02x claims our address",
                 sender_mac[0], sender_mac[1], sender_mac[2], sender_mac[3], sender_mac[4],
                 sender_mac[5]);
        goto drop;
    }
    int for_us = n->ip != 0 && target_ip == n->ip;
    /* sender 0.0.0.0 is an address probe (RFC 5227): nothing to learn */
    if (sender_ip != 0) {
        struct arp_entry *e = arp_find(n, sender_ip);
        if (!e && for_us) {
            e = arp_slot(n);
            e->ip = sender_ip;
        }
        if (e)
            arp_resolved(n, e, sender_mac);
    }
    if (op == ARP_OP_REQUEST && for_us) {
        n->arp.replies_sent++;
        arp_send(n, ARP_OP_REPLY, sender_mac, sender_mac, sender_ip);
    }
drop:
    netbuf_free(n, b);
}

int arp_output(struct net *n, uint32_t next_hop, struct netbuf *b)
{
    struct arp_entry *e = arp_find(n, next_hop);
    if (e && e->state == ARP_RESOLVED)
        return eth_output(n, e->mac, ETH_TYPE_IP, b);
    if (!e) {
        e = arp_slot(n);
        e->ip = next_hop;
        e->state = ARP_PENDING;
        e->tries = 1;
        e->deadline_us = n->now_us + ARP_RETRY_US;
        if (arp_request(n, next_hop) != 0) {
            /* no buffer for the request: forget the entry, the caller retries */
            memset(e, 0, sizeof *e);
            netbuf_free(n, b);
            n->tx_dropped++;
            return ERR_NOMEM;
        }
    }
    if (e->held) {
        netbuf_free(n, e->held);
        n->tx_dropped++;
    }
    e->held = b;
    return ERR_AGAIN;
}

int arp_lookup(const struct net *n, uint32_t ip, uint8_t ret_mac[6])
{
    for (int i = 0; i < ARP_CACHE_SIZE; i++) {
        const struct arp_entry *e = &n->arp.e[i];
        if (e->state == ARP_RESOLVED && e->ip == ip) {
            memcpy(ret_mac, e->mac, 6);
            return 0;
        }
    }
    return ERR_NOT_FOUND;
}

/* A request for our own address: peers that cached an old MAC update it. */
void arp_announce(struct net *n)
{
    if (n->ip != 0)
        arp_send(n, ARP_OP_REQUEST, mac_broadcast, mac_zero, n->ip);
}

static void arp_entry_timer(struct net *n, struct arp_entry *e)
{
    if (e->state == ARP_FREE || n->now_us < e->deadline_us)
        return;
    if (e->state == ARP_RESOLVED) {
        arp_entry_clear(n, e);
        return;
    }
    if (e->tries >= ARP_MAX_TRIES) {
        char ip[16];
        net_format_ip(e->ip, ip);
        net_logf(n, "arp: no answer from %s", ip);
        n->arp.failures++;
        arp_entry_clear(n, e);
        return;
    }
    e->tries++;
    e->deadline_us = n->now_us + ARP_RETRY_US;
    arp_request(n, e->ip);
}

void arp_timer(struct net *n)
{
    for (int i = 0; i < ARP_CACHE_SIZE; i++)
        arp_entry_timer(n, &n->arp.e[i]);
}

void arp_flush(struct net *n)
{
    for (int i = 0; i < ARP_CACHE_SIZE; i++)
        arp_entry_clear(n, &n->arp.e[i]);
}
