/* test_net_dhcp_dns.c - the DHCP client (net_dhcp.c) and the DNS resolver
 * (net_dns.c) against fake servers on the in-memory link: DISCOVER ->
 * OFFER -> REQUEST -> ACK, renewal at T1, NAK, retransmission back-off,
 * rebinding and lease expiry; answers with compression pointers and CNAMEs,
 * NXDOMAIN, timeouts with retries, malformed and spoofed answers, and
 * every prefix of a reply parsed without reading past it (ASan). */
#include "testlib.h"

#include "../errors.h"
#include "../lib.h"
#include "../net.h"
#include "net_testlink.h"

/* ---- DHCP ----------------------------------------------------------------------------- */

/* A DHCP server at 10.0.2.2 (also answering ARP for itself) that offers
 * 10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3 and 8.8.8.8. */
struct fake_dhcp {
    int silent;          /* answer nothing */
    int nak_next;        /* refuse the next REQUEST */
    uint32_t lease, t1, t2;
    int discovers, requests;
    uint8_t last_type;
    uint32_t last_xid, last_ciaddr, last_dst, last_requested, last_server;
    uint64_t last_time;
    uint16_t last_flags;
};

/* Finds option code in a DHCP message's options; its length or -1. */
static int opt_find(const uint8_t *m, size_t len, uint8_t code, const uint8_t **ret_v)
{
    for (size_t i = 240; i + 1 < len && m[i] != 255;) {
        if (m[i] == 0) {
            i++;
            continue;
        }
        if (m[i] == code && i + 2 + m[i + 1] <= len) {
            *ret_v = m + i + 2;
            return m[i + 1];
        }
        i += 2 + (size_t)m[i + 1];
    }
    return -1;
}

static uint32_t opt_ip(const uint8_t *m, size_t len, uint8_t code)
{
    const uint8_t *v;
    return opt_find(m, len, code, &v) == 4 ? net_get32(v) : 0;
}

static size_t dhcp_reply_msg(uint8_t *m, const struct fake_dhcp *s, uint8_t type, uint32_t xid)
{
    memset(m, 0, 300);
    m[0] = 2;
    m[1] = 1;
    m[2] = 6;
    net_put32(m + 4, xid);
    if (type != DHCP_NAK)
        net_put32(m + 16, IP_US);
    net_put32(m + 20, IP_PEER);
    memcpy(m + 28, MAC_US, 6);
    memcpy(m + 236, "\x63\x82\x53\x63", 4);
    uint8_t *p = m + 240;
    *p++ = 53, *p++ = 1, *p++ = type;
    *p++ = 0;   /* a pad option */
    *p++ = 54, *p++ = 4, net_put32(p, IP_PEER), p += 4;
    if (type != DHCP_NAK) {
        *p++ = 51, *p++ = 4, net_put32(p, s->lease), p += 4;
        if (s->t1)
            *p++ = 58, *p++ = 4, net_put32(p, s->t1), p += 4;
        if (s->t2)
            *p++ = 59, *p++ = 4, net_put32(p, s->t2), p += 4;
        *p++ = 1, *p++ = 4, net_put32(p, MASK24), p += 4;
        *p++ = 3, *p++ = 4, net_put32(p, IP_PEER), p += 4;
        *p++ = 6, *p++ = 8, net_put32(p, IP_DNS), net_put32(p + 4, NET_IP(8, 8, 8, 8)), p += 8;
        *p++ = 12, *p++ = 3, memcpy(p, "srv", 3), p += 3;   /* unknown to the client */
    }
    *p++ = 255;
    return 300;
}

static void fake_dhcp_serve(struct tlink *l, struct fake_dhcp *s, uint64_t t)
{
    uint8_t f[600], m[300];
    for (int i = 0; i < l->n_out; i++) {
        const struct tframe *o = &l->out[i];
        if (f_is_arp_request_for(o, IP_PEER)) {
            tl_inject(l, f, tn_build_arp(f, 2, MAC_US, MAC_PEER, IP_PEER, MAC_US, net_get32(o->b + 28)));
            continue;
        }
        if (!f_is_udp(o) || f_dport(o) != 67)
            continue;
        const uint8_t *d = o->b + 42;
        size_t len = net_get16(o->b + 38) - 8u;
        const uint8_t *v;
        if (opt_find(d, len, 53, &v) != 1) {
            CHECK(!"DHCP message without a type");
            continue;
        }
        s->last_type = v[0];
        s->last_xid = net_get32(d + 4);
        s->last_flags = net_get16(d + 10);
        s->last_ciaddr = net_get32(d + 12);
        s->last_dst = f_ipdst(o);
        s->last_requested = opt_ip(d, len, 50);
        s->last_server = opt_ip(d, len, 54);
        s->last_time = t;
        CHECK(len >= 300 && memcmp(d + 28, MAC_US, 6) == 0 && d[0] == 1);
        CHECK(f_ipsrc(o) == (s->last_ciaddr ? IP_US : 0));
        uint8_t reply = 0;
        if (v[0] == DHCP_DISCOVER) {
            s->discovers++;
            reply = DHCP_OFFER;
        } else if (v[0] == DHCP_REQUEST) {
            s->requests++;
            reply = s->nak_next ? DHCP_NAK : DHCP_ACK;
            s->nak_next = 0;
        }
        if (s->silent || !reply)
            continue;
        size_t n = dhcp_reply_msg(m, s, reply, s->last_xid);
        /* OFFER unicast to the offered address, the rest broadcast */
        if (reply == DHCP_OFFER)
            tl_inject(l, f, tn_build_udp(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 67, 68, m, n, 1));
        else
            tl_inject(l, f, tn_build_udp(f, MAC_BCAST, MAC_PEER, IP_PEER, 0xffffffffu, 67, 68, m, n, 1));
    }
    l->n_out = 0;
}

static void dhcp_run(struct fake_dhcp *s, uint64_t t)
{
    for (int i = 0; i < 6; i++) {
        net_poll(&net_a, t);
        fake_dhcp_serve(&link_a, s, t);
    }
}

TEST(net_dhcp_bind_renew_nak)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, 0, 0, 0) != 0)
        return;
    CHECK(!net_is_up(&net_a));
    struct fake_dhcp s = {.lease = 86400};
    uint64_t t0 = 5 * US;
    dhcp_run(&s, t0);
    CHECK_INT(s.discovers, 1);
    CHECK_INT(s.requests, 1);
    CHECK_INT(s.last_type, DHCP_REQUEST);
    CHECK_INT(s.last_requested, IP_US);
    CHECK_INT(s.last_server, IP_PEER);
    CHECK_INT(s.last_ciaddr, 0);
    CHECK_INT(s.last_dst, 0xffffffffu);
    CHECK_INT(s.last_flags, 0x8000);
    CHECK(net_is_up(&net_a));
    CHECK_INT(net_a.ip, IP_US);
    CHECK_INT(net_a.netmask, MASK24);
    CHECK_INT(net_a.gateway, IP_PEER);
    CHECK_INT(net_a.dns, IP_DNS);
    CHECK_INT(net_a.tcp.local_ip, IP_US);
    CHECK_INT(net_a.dhcp.state, DHCP_BOUND);
    CHECK_STR(tn_log, "dhcp: bound 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 86400 s\n");

    /* renewal at T1 = lease/2: unicast to the server, our address in ciaddr */
    uint32_t xid0 = s.last_xid;
    dhcp_run(&s, t0 + 43200 * US - 1);
    CHECK_INT(s.requests, 1);
    dhcp_run(&s, t0 + 43200 * US);
    CHECK_INT(s.requests, 2);
    CHECK_INT(s.last_dst, IP_PEER);
    CHECK_INT(s.last_ciaddr, IP_US);
    CHECK_INT(s.last_requested, 0);
    CHECK_INT(s.last_flags, 0);
    CHECK(s.last_xid != xid0);
    CHECK_INT(net_a.dhcp.state, DHCP_BOUND);
    CHECK_INT(net_a.dhcp.t1_us, t0 + 2 * 43200 * US);
    CHECK(strstr(tn_log, "dhcp: renewed 10.0.2.15 lease 86400 s\n") != NULL);
    CHECK_INT(net_a.ip, IP_US);

    /* a NAK on the next renewal: the address goes, DISCOVER starts over */
    s.nak_next = 1;
    tn_log[0] = 0;
    dhcp_run(&s, t0 + 2 * 43200 * US);
    CHECK(strstr(tn_log, "dhcp: NAK from server, address 10.0.2.15 removed\n") != NULL);
    CHECK(strstr(tn_log, "dhcp: bound 10.0.2.15/24") != NULL);
    CHECK_INT(s.discovers, 2);
    CHECK_INT(s.requests, 4);
    CHECK_INT(net_a.dhcp.naks, 1);
    CHECK(net_is_up(&net_a));
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

TEST(net_dhcp_retries_rebind_expiry)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, 0, 0, 0) != 0)
        return;
    struct fake_dhcp s = {.lease = 1000, .t1 = 400, .t2 = 700, .silent = 1};
    /* silence: DISCOVER again after 4, 8, 16 s (+ < 1 s jitter) */
    uint64_t sent[8];
    int k = 0;
    for (uint64_t t = 0; t <= 35 * US; t += 50000) {
        int before = s.discovers;
        dhcp_run(&s, t);
        if (s.discovers != before && k < 8)
            sent[k++] = t;
    }
    CHECK_INT(k, 4);
    if (k == 4) {
        CHECK(sent[1] - sent[0] >= 4 * US && sent[1] - sent[0] <= 5 * US + 50000);
        CHECK(sent[2] - sent[1] >= 8 * US && sent[2] - sent[1] <= 9 * US + 50000);
        CHECK(sent[3] - sent[2] >= 16 * US && sent[3] - sent[2] <= 17 * US + 50000);
    }
    CHECK(!net_is_up(&net_a));

    /* an OFFER for another transaction, or another MAC, is ignored */
    uint8_t m[300], f[600];
    size_t n = dhcp_reply_msg(m, &s, DHCP_OFFER, s.last_xid + 1);
    tl_inject(&link_a, f, tn_build_udp(f, MAC_BCAST, MAC_PEER, IP_PEER, 0xffffffffu, 67, 68, m, n, 1));
    n = dhcp_reply_msg(m, &s, DHCP_OFFER, s.last_xid);
    m[33] ^= 1;
    tl_inject(&link_a, f, tn_build_udp(f, MAC_BCAST, MAC_PEER, IP_PEER, 0xffffffffu, 67, 68, m, n, 1));
    dhcp_run(&s, 36 * US);
    CHECK_INT(s.requests, 0);
    CHECK_INT(net_a.dhcp.state, DHCP_SELECTING);

    /* answered at the next DISCOVER: bound with T1 400 s, T2 700 s */
    s.silent = 0;
    uint64_t t = 36 * US;
    while (!net_is_up(&net_a) && t < 200 * US)
        dhcp_run(&s, t += 100000);
    CHECK(net_is_up(&net_a));
    uint64_t t_bound = t;
    CHECK_STR(tn_log, "dhcp: bound 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 1000 s\n");

    /* the server goes away: renewing from T1 (unicast), rebinding from T2
     * (broadcast), the address removed when the lease ends */
    s.silent = 1;
    int renew = 0, rebind = 0;
    uint64_t first_renew = 0, first_rebind = 0, gone = 0;
    for (t = t_bound; t <= t_bound + 1100 * US && !gone; t += US / 4) {
        int before = s.requests;
        dhcp_run(&s, t);
        if (s.requests != before) {
            CHECK_INT(s.last_ciaddr, IP_US);
            if (s.last_dst == IP_PEER) {
                renew++;
                first_renew = first_renew ? first_renew : t;
            } else {
                CHECK_INT(s.last_dst, 0xffffffffu);
                rebind++;
                first_rebind = first_rebind ? first_rebind : t;
            }
        }
        if (!net_is_up(&net_a))
            gone = t;
    }
    CHECK(first_renew >= t_bound + 400 * US - US && first_renew <= t_bound + 400 * US);
    CHECK(first_rebind >= t_bound + 700 * US - US && first_rebind <= t_bound + 700 * US);
    CHECK(gone >= t_bound + 1000 * US - US && gone <= t_bound + 1000 * US);
    CHECK(renew >= 3 && renew <= 5);   /* 400, 550, 625, 685 s: half the rest, >= 60 s */
    CHECK(rebind >= 2 && rebind <= 4);
    CHECK(strstr(tn_log, "dhcp: lease expired, address 10.0.2.15 removed") != NULL);
    CHECK_INT(net_a.ip, 0);
    CHECK_INT(net_a.gateway, 0);
    CHECK_INT(net_a.dhcp.state, DHCP_SELECTING);   /* DISCOVER went out again */
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

TEST(net_dhcp_parse_bounds)
{
    struct fake_dhcp s = {.lease = 3600};
    uint8_t m[300];
    size_t n = dhcp_reply_msg(m, &s, DHCP_ACK, 0x1234);
    struct dhcp_msg d;
    CHECK_INT(dhcp_parse(m, n, &d), 0);
    CHECK_INT(d.type, DHCP_ACK);
    CHECK_INT(d.xid, 0x1234);
    CHECK_INT(d.yiaddr, IP_US);
    CHECK_INT(d.server_id, IP_PEER);
    CHECK_INT(d.netmask, MASK24);
    CHECK_INT(d.router, IP_PEER);
    CHECK_INT(d.dns, IP_DNS);
    CHECK_INT(d.lease_s, 3600);
    /* every prefix: parses (cut between options) or is refused, never read
     * past (ASan); without the type option it is always refused */
    size_t end = 240;
    while (m[end] != 255)
        end += m[end] ? 2u + m[end + 1] : 1u;
    for (size_t len = 0; len < n; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, m, len);
        int rc = dhcp_parse(cut, len, &d);
        if (len < 243)
            CHECK_MSG(rc == ERR_FORMAT, "prefix %zu: %d", len, rc);
        else if (len >= end)
            CHECK_MSG(rc == 0, "prefix %zu: %d", len, rc);
        else
            CHECK_MSG(rc == 0 || rc == ERR_FORMAT, "prefix %zu: %d", len, rc);
        free(cut);
    }
    /* an option length running past the end */
    m[240 + 4 + 1] = 200;
    CHECK_INT(dhcp_parse(m, n, &d), ERR_FORMAT);
    /* no magic cookie */
    n = dhcp_reply_msg(m, &s, DHCP_ACK, 0x1234);
    m[236] = 0;
    CHECK_INT(dhcp_parse(m, n, &d), ERR_FORMAT);
    /* no message type */
    n = dhcp_reply_msg(m, &s, DHCP_ACK, 0x1234);
    m[240] = 0;
    m[241] = 0;
    m[242] = 0;
    CHECK_INT(dhcp_parse(m, n, &d), ERR_FORMAT);
}

/* ---- DNS ------------------------------------------------------------------------------ */

enum { DNS_SILENT, DNS_ANSWER, DNS_NXDOMAIN, DNS_LOOP_THEN_ANSWER, DNS_CNAME, DNS_NO_A };

struct fake_dns {
    int mode;
    int queries;
    uint64_t times[8];
    uint32_t addr;
};

/* A response to query q (its DNS bytes): the question copied, then answers
 * whose names point back at the question (offset 12). */
static size_t dns_response(uint8_t *r, const uint8_t *q, size_t qlen, int mode, uint32_t addr)
{
    memcpy(r, q, qlen);
    net_put16(r + 2, mode == DNS_NXDOMAIN ? 0x8183 : 0x8180);
    size_t k = qlen;
    int an = 0;
    if (mode == DNS_CNAME) {
        /* www.example.com CNAME example.com (a pointer into the question),
         * then example.com A: the owner is that pointer again */
        static const uint8_t cname[] = {0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 0x10};
        memcpy(r + k, cname, sizeof cname);
        k += sizeof cname;
        static const uint8_t a[] = {0xc0, 0x10, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4};
        memcpy(r + k, a, sizeof a);
        k += sizeof a;
        net_put32(r + k, addr);
        k += 4;
        an = 2;
    } else if (mode == DNS_ANSWER || mode == DNS_NO_A) {
        static const uint8_t a[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4};
        memcpy(r + k, a, sizeof a);
        if (mode == DNS_NO_A)
            r[k + 3] = 28;   /* AAAA-typed: not what we asked */
        k += sizeof a;
        net_put32(r + k, addr);
        k += 4;
        an = 1;
    } else if (mode == DNS_LOOP_THEN_ANSWER) {
        /* an answer whose name is a pointer to itself */
        r[k] = 0xc0;
        r[k + 1] = (uint8_t)k;
        memcpy(r + k + 2, "\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04", 10);
        k += 12;
        net_put32(r + k, addr);
        k += 4;
        an = 1;
    }
    net_put16(r + 6, (uint16_t)an);
    return k;
}

static void fake_dns_serve(struct tlink *l, struct fake_dns *s, uint64_t t)
{
    uint8_t f[700], r[600];
    for (int i = 0; i < l->n_out; i++) {
        const struct tframe *o = &l->out[i];
        if (f_is_arp_request_for(o, IP_DNS)) {
            tl_inject(l, f, tn_build_arp(f, 2, MAC_US, MAC_DNS, IP_DNS, MAC_US, IP_US));
            continue;
        }
        if (!f_is_udp(o) || f_dport(o) != 53 || f_ipdst(o) != IP_DNS)
            continue;
        if (s->queries < 8)
            s->times[s->queries] = t;
        s->queries++;
        const uint8_t *q = o->b + 42;
        size_t qlen = net_get16(o->b + 38) - 8u;
        CHECK(net_get16(q + 2) == 0x0100 && net_get16(q + 4) == 1);
        uint16_t sport = net_get16(o->b + 34);
        if (s->mode == DNS_SILENT)
            continue;
        size_t n = dns_response(r, q, qlen, s->mode, s->addr);
        tl_inject(l, f, tn_build_udp(f, MAC_US, MAC_DNS, IP_DNS, IP_US, 53, sport, r, n, 1));
        if (s->mode == DNS_LOOP_THEN_ANSWER) {
            /* a spoofed answer from another port, then the good one */
            n = dns_response(r, q, qlen, DNS_ANSWER, 0x01020304);
            tl_inject(l, f, tn_build_udp(f, MAC_US, MAC_DNS, IP_DNS, IP_US, 5353, sport, r, n, 1));
            n = dns_response(r, q, qlen, DNS_ANSWER, s->addr);
            tl_inject(l, f, tn_build_udp(f, MAC_US, MAC_DNS, IP_DNS, IP_US, 53, sport, r, n, 1));
        }
    }
    l->n_out = 0;
}

/* Polls the stack and the server until the resolution is over (or 60 s). */
static int dns_wait(struct fake_dns *s, int h, uint64_t *t, uint32_t *ret_ip)
{
    uint64_t limit = *t + 60 * US;
    for (;;) {
        fake_dns_serve(&link_a, s, *t);
        net_poll(&net_a, *t);
        int rc = dns_resolve_poll(&net_a, h, ret_ip);
        if (rc != ERR_AGAIN || *t >= limit)
            return rc;
        *t += 100000;
        net_poll(&net_a, *t);
    }
}

TEST(net_dns_resolve)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, IP_US, IP_PEER, IP_DNS) != 0)
        return;
    struct fake_dns s = {.mode = DNS_ANSWER, .addr = NET_IP(93, 184, 216, 34)};
    uint64_t t = US;
    net_poll(&net_a, t);
    int h;
    uint32_t ip = 0;
    CHECK_INT(dns_resolve_start(&net_a, "Example.COM.", &h), 0);
    CHECK_INT(dns_resolve_poll(&net_a, h, &ip), ERR_AGAIN);
    CHECK_INT(dns_wait(&s, h, &t, &ip), 0);
    CHECK_INT(ip, NET_IP(93, 184, 216, 34));
    CHECK_INT(s.queries, 1);
    CHECK_INT(dns_resolve_poll(&net_a, h, &ip), ERR_INVAL);   /* released */

    /* cached (any case), and dotted quads: no query */
    ip = 0;
    CHECK_INT(dns_resolve_start(&net_a, "example.com", &h), 0);
    CHECK_INT(dns_resolve_poll(&net_a, h, &ip), 0);
    CHECK_INT(ip, NET_IP(93, 184, 216, 34));
    CHECK_INT(dns_resolve_start(&net_a, "10.1.2.3", &h), 0);
    CHECK_INT(dns_resolve_poll(&net_a, h, &ip), 0);
    CHECK_INT(ip, NET_IP(10, 1, 2, 3));
    CHECK_INT(s.queries, 1);
    /* the cache entry expires with its TTL (300 s) */
    t += 301 * US;
    net_poll(&net_a, t);
    CHECK_INT(dns_resolve_start(&net_a, "example.com", &h), 0);
    CHECK_INT(dns_wait(&s, h, &t, &ip), 0);
    CHECK_INT(s.queries, 2);

    /* a CNAME chain */
    s.mode = DNS_CNAME;
    s.addr = NET_IP(10, 9, 8, 7);
    CHECK_INT(dns_resolve_start(&net_a, "www.example.com", &h), 0);
    CHECK_INT(dns_wait(&s, h, &t, &ip), 0);
    CHECK_INT(ip, NET_IP(10, 9, 8, 7));

    /* NXDOMAIN, and an answer without an A record */
    s.mode = DNS_NXDOMAIN;
    CHECK_INT(dns_resolve_start(&net_a, "nothing.example", &h), 0);
    CHECK_INT(dns_wait(&s, h, &t, &ip), ERR_NOT_FOUND);
    s.mode = DNS_NO_A;
    CHECK_INT(dns_resolve_start(&net_a, "v6only.example", &h), 0);
    CHECK_INT(dns_wait(&s, h, &t, &ip), ERR_NOT_FOUND);

    /* a malformed answer (pointer loop) and a spoofed one are ignored */
    s.mode = DNS_LOOP_THEN_ANSWER;
    s.addr = NET_IP(10, 5, 5, 5);
    uint64_t bad0 = net_a.dns_client.bad_answers;
    CHECK_INT(dns_resolve_start(&net_a, "loop.example", &h), 0);
    CHECK_INT(dns_wait(&s, h, &t, &ip), 0);
    CHECK_INT(ip, NET_IP(10, 5, 5, 5));
    CHECK_INT(net_a.dns_client.bad_answers - bad0, 1);

    /* bad names and arguments */
    static const char *bad[] = {"", ".", "a..b", ".a", "a b", "x.\xc3\xa9", "a/b"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        CHECK_MSG(dns_resolve_start(&net_a, bad[i], &h) == ERR_INVAL, "'%s'", bad[i]);
    char long_label[80];
    memset(long_label, 'a', 64);
    long_label[64] = 0;
    CHECK_INT(dns_resolve_start(&net_a, long_label, &h), ERR_INVAL);
    CHECK_INT(dns_resolve_poll(&net_a, 12345, &ip), ERR_INVAL);
    CHECK_INT(dns_resolve_poll(&net_a, -1, &ip), ERR_INVAL);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

TEST(net_dns_timeout_retry)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, IP_US, IP_PEER, IP_DNS) != 0)
        return;
    struct fake_dns s = {.mode = DNS_SILENT};
    uint64_t t = 0;
    int h;
    uint32_t ip;
    /* the server's MAC is known, so the first query leaves at once */
    uint8_t f[64];
    static const uint8_t zero[6] = {0};
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_DNS, IP_DNS, zero, IP_US));
    net_poll(&net_a, t);
    link_a.n_out = 0;
    CHECK_INT(dns_resolve_start(&net_a, "slow.example", &h), 0);
    CHECK_INT(dns_wait(&s, h, &t, &ip), ERR_TIMEOUT);
    CHECK_INT(s.queries, DNS_TRIES);
    /* tries 2 s, 4 s, 8 s apart from the first query */
    if (s.queries == 3) {
        CHECK(s.times[1] - s.times[0] >= 2 * US && s.times[1] - s.times[0] <= 2 * US + 100000);
        CHECK(s.times[2] - s.times[1] >= 4 * US && s.times[2] - s.times[1] <= 4 * US + 100000);
    }
    CHECK(t >= s.times[0] + 14 * US - 200000 && t <= s.times[0] + 14 * US + 200000);
    CHECK(strstr(tn_log, "dns: no answer for slow.example from 10.0.2.3") != NULL);
    /* a cancelled handle is gone, and its late answer is ignored */
    CHECK_INT(dns_resolve_start(&net_a, "late.example", &h), 0);
    CHECK_INT(dns_resolve_poll(&net_a, h, &ip), ERR_AGAIN);
    dns_resolve_cancel(&net_a, h);
    CHECK_INT(dns_resolve_poll(&net_a, h, &ip), ERR_INVAL);
    s.mode = DNS_ANSWER;
    s.addr = NET_IP(1, 1, 1, 1);
    fake_dns_serve(&link_a, &s, t);
    net_poll(&net_a, t);
    CHECK_INT(dns_resolve_start(&net_a, "late.example", &h), 0);
    CHECK_INT(dns_resolve_poll(&net_a, h, &ip), ERR_AGAIN);   /* not cached */
    dns_resolve_cancel(&net_a, h);
    link_a.n_out = 0;
    /* full table */
    int hs[DNS_MAX_QUERIES];
    for (int i = 0; i < DNS_MAX_QUERIES; i++)
        CHECK_INT(dns_resolve_start(&net_a, "many.example", &hs[i]), 0);
    CHECK_INT(dns_resolve_start(&net_a, "many.example", &h), ERR_NOMEM);
    for (int i = 0; i < DNS_MAX_QUERIES; i++)
        CHECK_INT(dns_wait(&s, hs[i], &t, &ip), 0);
    /* no server configured */
    net_a.dns = 0;
    CHECK_INT(dns_resolve_start(&net_a, "other.example", &h), ERR_UNSUPPORTED);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

TEST(net_dns_parse_bounds)
{
    uint8_t q[300], r[600];
    size_t qlen;
    CHECK_INT(dns_build_query(0xbeef, "example.com", q, sizeof q, &qlen), 0);
    static const uint8_t want_q[] = {0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a',
                                     'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
    CHECK(qlen == sizeof want_q && memcmp(q, want_q, qlen) == 0);
    CHECK_INT(dns_build_query(1, "example.com", q, qlen - 1, &qlen), ERR_RANGE);
    CHECK_INT(dns_build_query(1, "a..b", q, sizeof q, &qlen), ERR_INVAL);
    CHECK_INT(dns_build_query(0xbeef, "example.com", q, sizeof q, &qlen), 0);

    uint32_t ip = 0, ttl = 0;
    size_t n = dns_response(r, q, qlen, DNS_ANSWER, NET_IP(1, 2, 3, 4));
    CHECK_INT(dns_parse_response(r, n, 0xbeef, "example.com", &ip, &ttl), 0);
    CHECK_INT(ip, NET_IP(1, 2, 3, 4));
    CHECK_INT(ttl, 300);
    CHECK_INT(dns_parse_response(r, n, 0xbeee, "example.com", &ip, &ttl), ERR_FORMAT);
    CHECK_INT(dns_parse_response(r, n, 0xbeef, "example.org", &ip, &ttl), ERR_FORMAT);
    for (size_t len = 0; len < n; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, r, len);
        CHECK_MSG(dns_parse_response(cut, len, 0xbeef, "example.com", &ip, &ttl) == ERR_FORMAT,
                  "prefix %zu", len);
        free(cut);
    }
    /* a query is not a response */
    CHECK_INT(dns_parse_response(q, qlen, 0xbeef, "example.com", &ip, &ttl), ERR_FORMAT);
    /* pointer loop; pointer past the end; pointer to a pointer to itself */
    n = dns_response(r, q, qlen, DNS_LOOP_THEN_ANSWER, 1);
    CHECK_INT(dns_parse_response(r, n, 0xbeef, "example.com", &ip, &ttl), ERR_FORMAT);
    n = dns_response(r, q, qlen, DNS_ANSWER, 1);
    r[qlen + 1] = 0xff;
    CHECK_INT(dns_parse_response(r, n, 0xbeef, "example.com", &ip, &ttl), ERR_FORMAT);
    n = dns_response(r, q, qlen, DNS_ANSWER, 1);
    r[12] = 0xc0;
    r[13] = 12;
    CHECK_INT(dns_parse_response(r, n, 0xbeef, "example.com", &ip, &ttl), ERR_FORMAT);
    /* a label holding a dot must not match "example.com" */
    static const uint8_t dotted[] = {0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
                                     11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0,
                                     0, 1, 0, 1};
    CHECK_INT(dns_parse_response(dotted, sizeof dotted, 0xbeef, "example.com", &ip, &ttl), ERR_FORMAT);
    /* rcode SERVFAIL */
    n = dns_response(r, q, qlen, DNS_ANSWER, 1);
    r[3] = 0x82;
    CHECK_INT(dns_parse_response(r, n, 0xbeef, "example.com", &ip, &ttl), ERR_IO);
    /* TTL with the top bit set counts as 0 */
    n = dns_response(r, q, qlen, DNS_ANSWER, 1);
    r[qlen + 6] = 0x80;
    CHECK_INT(dns_parse_response(r, n, 0xbeef, "example.com", &ip, &ttl), 0);
    CHECK_INT(ttl, 0);
}
