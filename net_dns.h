/* net_dns.h - DNS A-record resolver (RFC 1035) over UDP, non-blocking.
 *
 * Implemented in net_dns.c; included by net.h (struct net embeds the
 * client). Queries go to n->dns (static config or DHCP option 6) from one
 * local port; answers are matched by server, port 53, id and question.
 *
 *   int h;
 *   rc = dns_resolve_start(n, "example.com", &h);    0, or an error
 *   ... each turn of the event loop (net_poll runs in between):
 *   rc = dns_resolve_poll(n, h, &ip);
 *        0             done, ip set (host order), handle released
 *        ERR_AGAIN     still waiting, poll again later
 *        ERR_NOT_FOUND NXDOMAIN or no A record, handle released
 *        ERR_TIMEOUT   no usable answer after DNS_TRIES tries, released
 *        ERR_IO        the server failed (SERVFAIL, REFUSED ...), released
 *        ERR_INVAL     not a live handle
 *   dns_resolve_cancel(n, h)   gives a pending handle up
 *
 * A dotted quad ("10.0.2.2") and a cached name complete without a query:
 * the first poll returns 0. Each try waits DNS_TIMEOUT_US times 2^try.
 * Answers follow CNAME chains inside one response; compression pointers are
 * followed with a jump limit, so loops fail instead of hanging.
 */
#ifndef NET_DNS_H
#define NET_DNS_H

#include <stddef.h>
#include <stdint.h>

struct net;

#define DNS_PORT 53
#define DNS_NAME_MAX 253           /* text form, without a trailing dot */
#define DNS_MAX_QUERIES 4          /* resolutions in flight */
#define DNS_CACHE_SIZE 8
#define DNS_TRIES 3
#define DNS_TIMEOUT_US 2000000ull  /* first try; doubled for each retry */
#define DNS_CACHE_MAX_TTL_S 3600u  /* longer TTLs are cut to this */

enum dns_query_state { DNS_Q_FREE, DNS_Q_PENDING, DNS_Q_DONE };

struct dns_query {
    uint8_t state;                 /* enum dns_query_state */
    uint8_t tries;
    uint8_t gen;                   /* part of the handle: stale handles miss */
    uint16_t id;                   /* of the last query sent */
    int result;                    /* DONE: 0 or ERR_* */
    uint32_t ip;                   /* DONE with 0: the address */
    uint64_t deadline_us;          /* PENDING: when the current try times out */
    char name[DNS_NAME_MAX + 1];
};

struct dns_cache_entry {
    char name[DNS_NAME_MAX + 1];   /* "" = free */
    uint32_t ip;
    uint64_t expires_us;
};

struct dns_client {
    struct dns_query q[DNS_MAX_QUERIES];
    struct dns_cache_entry cache[DNS_CACHE_SIZE];
    uint16_t port;                 /* our UDP port, bound on first use */
    uint32_t rand;
    uint64_t queries_sent, answers, bad_answers;
};

/* Starts resolving name to an IPv4 address; *ret_handle is for poll.
 * ERR_INVAL for a malformed name, ERR_NOMEM when DNS_MAX_QUERIES are in
 * flight, ERR_UNSUPPORTED when no DNS server is configured yet (dotted
 * quads still work), or the error of udp_bind. */
int dns_resolve_start(struct net *n, const char *name, int *ret_handle);
/* See above: 0 and *ret_ip, ERR_AGAIN, ERR_NOT_FOUND, ERR_TIMEOUT, ERR_IO,
 * ERR_INVAL. */
int dns_resolve_poll(struct net *n, int handle, uint32_t *ret_ip);
void dns_resolve_cancel(struct net *n, int handle);
/* Retries and timeouts; called from net_poll. */
void dns_timer(struct net *n);
/* A datagram to our port (the UDP callback, public for tests and the
 * fuzzer); data[0..len) is untrusted. */
void dns_input(struct net *n, uint32_t src_ip, uint16_t src_port, const uint8_t *data,
               size_t len);

/* Builds a standard query (recursion desired) for the A record of name
 * into out[0..cap): 0 and *ret_len, ERR_INVAL for a bad name, ERR_RANGE when
 * it does not fit. */
int dns_build_query(uint16_t id, const char *name, uint8_t *out, size_t cap, size_t *ret_len);
/* Reads the answer to query id for name from msg[0..len): 0 with *ret_ip
 * and *ret_ttl (seconds), ERR_NOT_FOUND (NXDOMAIN, or no A record),
 * ERR_IO (other server error), ERR_FORMAT (malformed, truncated, not a
 * response to this question). Never reads outside msg. */
int dns_parse_response(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                       uint32_t *ret_ip, uint32_t *ret_ttl);

#endif
