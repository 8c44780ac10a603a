/* fuzz_net.c - libFuzzer target for the lower network layers (net_*.c):
 * Ethernet, ARP, IPv4, ICMP, UDP, and the DHCP and DNS reply parsers.
 *
 * The input is a list of records [flags][length: 2 bytes][bytes]; each
 * record is one frame. Flags help the fuzzer past checksums it cannot guess:
 *   bit 0  address the frame to our MAC
 *   bit 1  fix the IPv4 header checksum
 *   bit 2  zero the UDP checksum / fix the ICMP checksum
 *   bits 4-7  time to advance before the frame (units of 300 ms)
 * Three runs per input, one after the other on one stack (net_init is
 * costly: TCP allocates its buffers):
 *  1. the statically configured stack receives every record as a frame;
 *  2. a DNS query is pending while every record's bytes arrive as its
 *     answer (with the query id patched in), and as a frame;
 *  3. the address is dropped and the DHCP client started: it gets every
 *     record's bytes as a DHCP message (with its current xid and our MAC
 *     patched in, to reach every state), and the frames themselves.
 * Promises: no crash or out-of-bounds access (ASan/UBSan), every netbuf is
 * back in the pool once the ARP cache lets go of its held packets, results
 * are within their documented sets. Built and run by tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../lib.h"
#include "../net.h"

#include "fuzz_require.h"

#define US 1000000ull
static const uint8_t mac_us[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
#define IP_US NET_IP(10, 0, 2, 15)
#define IP_GW NET_IP(10, 0, 2, 2)
#define IP_DNS NET_IP(10, 0, 2, 3)

/* ---- records -------------------------------------------------------------------- */

struct record {
    uint8_t flags;
    const uint8_t *data;
    size_t len;
};

/* Splits the next record off (*p, *n); 0 when none is left. */
static int next_record(const uint8_t **p, size_t *n, struct record *r)
{
    if (*n < 3)
        return 0;
    r->flags = (*p)[0];
    size_t len = (size_t)((*p)[1] << 8 | (*p)[2]);
    *p += 3;
    *n -= 3;
    r->len = MIN(len, *n);
    r->data = *p;
    *p += r->len;
    *n -= r->len;
    return 1;
}

static uint16_t csum(const uint8_t *p, size_t n) { return net_csum_fold(net_csum_add(0, p, n)); }

/* Applies the record's flags to a private copy of its frame. */
static size_t prepare_frame(const struct record *r, uint8_t *f, size_t cap)
{
    size_t len = MIN(r->len, cap);
    memcpy(f, r->data, len);
    if ((r->flags & 1) && len >= 6)
        memcpy(f, mac_us, 6);
    if (len < 34 || net_get16(f + 12) != ETH_TYPE_IP)
        return len;
    uint8_t *ip = f + 14;
    size_t hl = (size_t)(ip[0] & 15) * 4;
    if ((r->flags & 2) && hl >= 20 && 14 + hl <= len) {
        net_put16(ip + 10, 0);
        net_put16(ip + 10, csum(ip, hl));
    }
    size_t total = net_get16(ip + 2);
    if ((r->flags & 4) && hl >= 20 && total >= hl + 8 && 14 + total <= len) {
        uint8_t *l4 = ip + hl;
        if (ip[9] == IP_PROTO_UDP) {
            net_put16(l4 + 6, 0);
        } else if (ip[9] == IP_PROTO_ICMP) {
            net_put16(l4 + 2, 0);
            net_put16(l4 + 2, csum(l4, total - hl));
        }
    }
    return len;
}

/* ---- the link ------------------------------------------------------------------- */

struct fuzz_link {
    uint8_t frame[2048];
    size_t len;          /* waiting frame, 0 = none */
    uint64_t sent;
};

static int fl_send(void *ctx, const void *frame, size_t len)
{
    struct fuzz_link *l = ctx;
    REQUIRE(len >= 14 && len <= 1514, "sent a frame of %zu bytes", len);
    (void)frame;
    l->sent++;
    return 0;
}

static int fl_recv(void *ctx, void *buf, size_t cap, size_t *ret_len)
{
    struct fuzz_link *l = ctx;
    *ret_len = 0;
    if (l->len && l->len <= cap) {
        memcpy(buf, l->frame, l->len);
        *ret_len = l->len;
    }
    l->len = 0;
    return 0;
}

static struct fuzz_link flink;

static void stack_init(struct net *n)
{
    struct net_link link = {.send = fl_send, .recv = fl_recv, .ctx = &flink};
    memcpy(link.mac, mac_us, 6);
    struct net_config cfg = {.ip = IP_US, .netmask = NET_IP(255, 255, 255, 0), .gateway = IP_GW,
                             .dns = IP_DNS};
    REQUIRE(net_init(n, &link, &cfg) == 0, "net_init");
    memset(&flink, 0, sizeof flink);
}

/* Delivers one frame through the link, as net_poll receives it. */
static void deliver(struct net *n, const struct record *r, uint64_t *t)
{
    *t += (uint64_t)(r->flags >> 4) * 300000;
    flink.len = prepare_frame(r, flink.frame, sizeof flink.frame);
    net_poll(n, *t);
}

/* Every buffer is either free or held by ARP; after a flush all are free. */
static void check_pool(struct net *n)
{
    int held = 0, free_bufs = 0;
    for (int i = 0; i < ARP_CACHE_SIZE; i++)
        held += n->arp.e[i].held != NULL;
    for (struct netbuf *b = n->free_list; b && free_bufs <= NETBUF_POOL; b = b->next)
        free_bufs++;
    REQUIRE(free_bufs + held == NETBUF_POOL, "%d free + %d held != %d", free_bufs, held,
            NETBUF_POOL);
    arp_flush(n);
    free_bufs = 0;
    for (struct netbuf *b = n->free_list; b && free_bufs <= NETBUF_POOL; b = b->next)
        free_bufs++;
    REQUIRE(free_bufs == NETBUF_POOL, "%d buffers free after the ARP flush", free_bufs);
}

/* ---- the three runs --------------------------------------------------------------- */

static struct net net;

static void run_frames(const uint8_t *data, size_t size, uint64_t *t)
{
    net_poll(&net, *t);
    struct record r;
    while (next_record(&data, &size, &r))
        deliver(&net, &r, t);
    /* held packets resolve or fail within the ARP retries */
    for (int i = 0; i <= ARP_MAX_TRIES; i++)
        net_poll(&net, *t += ARP_RETRY_US);
    check_pool(&net);
}

static void run_dhcp(const uint8_t *data, size_t size, uint64_t *t_io)
{
    uint64_t t = *t_io;
    net.ip = net.netmask = net.gateway = net.dns = 0;
    REQUIRE(dhcp_start(&net) == 0, "dhcp_start");
    net_poll(&net, t);
    struct record r;
    static uint8_t msg[2048];
    while (next_record(&data, &size, &r)) {
        size_t len = MIN(r.len, sizeof msg);
        memcpy(msg, r.data, len);
        if (len >= 34 && !(r.flags & 8)) {
            msg[0] = 2;
            net_put32(msg + 4, net.dhcp.xid);
            memcpy(msg + 28, mac_us, 6);
        }
        dhcp_input(&net, IP_GW, msg, len);
        struct dhcp_msg m;
        int rc = dhcp_parse(msg, len, &m);
        REQUIRE(rc == 0 || rc == ERR_FORMAT, "dhcp_parse returned %d", rc);
        REQUIRE(net.dhcp.state >= DHCP_INIT && net.dhcp.state <= DHCP_REBINDING, "state %d",
                net.dhcp.state);
        if (net_is_up(&net))
            REQUIRE(net.netmask != 0 && (net.gateway == 0 || (net.gateway & net.netmask) ==
                                                                 (net.ip & net.netmask)),
                    "bad configuration");
        deliver(&net, &r, &t);
        /* jump far ahead now and then: renewal, rebinding, expiry */
        if (r.flags & 8)
            net_poll(&net, t += (uint64_t)r.flags * 1000 * US);
    }
    check_pool(&net);
    *t_io = t;
}

static void run_dns(const uint8_t *data, size_t size, uint64_t *t_io)
{
    uint64_t t = *t_io;
    net_poll(&net, t);
    int h;
    REQUIRE(dns_resolve_start(&net, "example.com", &h) == 0, "dns_resolve_start");
    struct record r;
    static uint8_t msg[2048];
    int done = 0;
    while (next_record(&data, &size, &r)) {
        size_t len = MIN(r.len, sizeof msg);
        memcpy(msg, r.data, len);
        const struct dns_query *q = &net.dns_client.q[h & 15];
        if (len >= 2 && !(r.flags & 1))
            net_put16(msg, q->id);
        uint32_t ip, ttl;
        int rc = dns_parse_response(msg, len, q->id, "example.com", &ip, &ttl);
        REQUIRE(rc == 0 || rc == ERR_NOT_FOUND || rc == ERR_IO || rc == ERR_FORMAT,
                "dns_parse_response returned %d", rc);
        dns_input(&net, IP_DNS, DNS_PORT, msg, len);
        deliver(&net, &r, &t);
        if (!done) {
            rc = dns_resolve_poll(&net, h, &ip);
            REQUIRE(rc == 0 || rc == ERR_AGAIN || rc == ERR_NOT_FOUND || rc == ERR_IO ||
                        rc == ERR_TIMEOUT, "dns_resolve_poll returned %d", rc);
            done = rc != ERR_AGAIN;
        }
    }
    if (!done)
        dns_resolve_cancel(&net, h);
    check_pool(&net);
    *t_io = t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t t = US;
    stack_init(&net);
    run_frames(data, size, &t);
    run_dns(data, size, &t);
    run_dhcp(data, size, &t);
    net_shutdown(&net);
    return 0;
}
