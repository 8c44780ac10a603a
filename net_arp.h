/* net_arp.h - ARP (RFC 826) for IPv4 over Ethernet with a timed cache.
 *
 * Implemented in net_arp.c; included by net.h (struct net embeds the cache).
 * A resolved entry lives ARP_ENTRY_TTL_US after it was last confirmed by the
 * peer, then is forgotten (the next packet asks again). An unresolved entry
 * asks once a second, ARP_MAX_TRIES times, then fails and drops the one
 * packet it held. Learning follows RFC 826: senders already in the cache are
 * updated by any ARP packet; new entries come only from packets addressed to
 * us, so a gratuitous ARP refreshes but never fills the cache.
 */
#ifndef NET_ARP_H
#define NET_ARP_H

#include <stdint.h>

struct net;
struct netbuf;

#define ARP_CACHE_SIZE 16
#define ARP_ENTRY_TTL_US (300ull * 1000000)  /* 5 minutes */
#define ARP_RETRY_US (1000000ull)            /* between requests */
#define ARP_MAX_TRIES 3                      /* requests before giving up */

enum arp_state { ARP_FREE, ARP_PENDING, ARP_RESOLVED };

struct arp_entry {
    uint32_t ip;
    uint8_t mac[6];
    uint8_t state;           /* enum arp_state */
    uint8_t tries;           /* requests sent while pending */
    uint64_t deadline_us;    /* next retry (pending) or expiry (resolved) */
    struct netbuf *held;     /* pending: the one IP packet waiting, or NULL */
};

struct arp_cache {
    struct arp_entry e[ARP_CACHE_SIZE];
    uint64_t requests_sent, replies_sent, failures;
};

/* An ARP frame arrived (takes b, data at the ARP header). */
void arp_input(struct net *n, struct netbuf *b);
/* Sends the IPv4 packet b (data at the IP header) to next_hop's MAC; takes
 * b. 0 when sent, ERR_AGAIN when next_hop is being resolved: b is held
 * (replacing an older held packet, which is dropped) and goes out when the
 * reply comes. ERR_NOMEM when no request could be sent or no slot found. */
int arp_output(struct net *n, uint32_t next_hop, struct netbuf *b);
/* The cached MAC of ip: 0 and ret_mac, or ERR_NOT_FOUND (also while pending). */
int arp_lookup(const struct net *n, uint32_t ip, uint8_t ret_mac[6]);
/* Announces our own address (gratuitous request) after configuration. */
void arp_announce(struct net *n);
/* Retries and expiry; called from net_poll with n->now_us set. */
void arp_timer(struct net *n);
/* Forgets every entry and drops the held packets (net_shutdown, new address). */
void arp_flush(struct net *n);

#endif
