/* test_net.c - the lower layers of the TCP/IP stack (net_buf.c, net.c,
 * net_eth.c, net_arp.c, net_ip.c, net_icmp.c, net_udp.c): checksum
 * vectors, hand-built frames answered byte for byte, malformed packets
 * dropped without leaking buffers, ARP timeouts, and two stacks pinging
 * each other on an in-memory wire. DHCP and DNS: test_net_dhcp_dns.c.
 * Runs under ASan/UBSan: any read outside a frame fails the test. */
#include "testlib.h"

#include "../errors.h"
#include "../lib.h"
#include "../net.h"
#include "net_testlink.h"

/* ---- checksums, addresses, buffers ------------------------------------------ */

TEST(net_checksum_vectors)
{
    /* RFC 1071 section 3 example, and a well-known IPv4 header */
    static const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK_INT(tn_csum(rfc, sizeof rfc), 0x220d);
    CHECK_INT(net_csum_add(0, rfc, sizeof rfc), 0x2ddf0);
    CHECK_INT(tn_csum(rfc, 7), 0x2304);   /* odd length: last byte is a high half */
    static const uint8_t hdr[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK_INT(tn_csum(hdr, sizeof hdr), 0xb861);
    uint8_t with[20];
    memcpy(with, hdr, 20);
    net_put16(with + 10, 0xb861);
    CHECK_INT(tn_csum(with, 20), 0);      /* a correct header sums to zero */
    /* split at an even offset = whole */
    CHECK_INT(net_csum_fold(net_csum_add(net_csum_add(0, hdr, 8), hdr + 8, 12)), 0xb861);
    CHECK_INT(tn_csum(NULL, 0), 0xffff);
    /* many 0xffff words: the carries must fold back */
    static uint8_t ff[4000];
    memset(ff, 0xff, sizeof ff);
    CHECK_INT(tn_csum(ff, sizeof ff), 0);
    CHECK_INT(ip_pseudo_sum(NET_IP(192, 168, 0, 1), NET_IP(192, 168, 0, 199), 17, 0x73),
              net_csum_add(0, (const uint8_t[]){192, 168, 0, 1, 192, 168, 0, 199, 0, 17, 0, 0x73}, 12));
}

TEST(net_ip_text)
{
    uint32_t ip = 1;
    CHECK_INT(net_parse_ip("10.0.2.15", &ip), 0);
    CHECK_INT(ip, 0x0A00020F);
    CHECK_INT(net_parse_ip("255.255.255.255", &ip), 0);
    CHECK_INT(ip, 0xffffffffu);
    CHECK_INT(net_parse_ip("0.0.0.0", &ip), 0);
    CHECK_INT(ip, 0);
    static const char *bad[] = {"", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
                                "1..2.3", " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "1.2.3.-4",
                                "1.2.3.0004", "99999999999.1.1.1", "example.com"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        ip = 7;
        CHECK_MSG(net_parse_ip(bad[i], &ip) == ERR_FORMAT && ip == 7, "'%s' accepted", bad[i]);
    }
    char s[16];
    net_format_ip(0x0A00020F, s);
    CHECK_STR(s, "10.0.2.15");
    net_format_ip(0xffffffffu, s);
    CHECK_STR(s, "255.255.255.255");
    net_format_ip(0, s);
    CHECK_STR(s, "0.0.0.0");
}

TEST(net_netbuf_pool)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, IP_US, IP_PEER, IP_DNS) != 0)
        return;
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    static struct netbuf *all[NETBUF_POOL];
    for (int i = 0; i < NETBUF_POOL; i++) {
        all[i] = netbuf_alloc(&net_a);
        CHECK(all[i] != NULL);
    }
    CHECK(netbuf_alloc(&net_a) == NULL);
    struct netbuf *b = all[0];
    CHECK(b->data == b->mem + NETBUF_HEADROOM && b->len == 0);
    CHECK(netbuf_put(b, 1536) != NULL);
    CHECK(netbuf_put(b, 1) == NULL);
    CHECK(netbuf_pull(b, 1537) == NULL && b->len == 1536);
    CHECK(netbuf_pull(b, 36) == b->mem + NETBUF_HEADROOM + 36 && b->len == 1500);
    CHECK(netbuf_push(b, NETBUF_HEADROOM + 36) == b->mem && b->len == 1536 + NETBUF_HEADROOM);
    CHECK(netbuf_push(b, 1) == NULL);
    netbuf_trim(b, 10);
    CHECK_INT(b->len, 10);
    netbuf_trim(b, 20);
    CHECK_INT(b->len, 10);
    for (int i = 0; i < NETBUF_POOL; i++)
        netbuf_free(&net_a, all[i]);
    uint8_t outside[sizeof(struct netbuf)];
    netbuf_free(&net_a, (struct netbuf *)outside);   /* refused, not linked in */
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

/* ---- ARP -------------------------------------------------------------------------- */

TEST(net_arp_request_reply)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, IP_US, IP_PEER, IP_DNS) != 0)
        return;
    uint8_t f[64], mac[6];
    static const uint8_t zero[6] = {0};
    /* a request for another host: no answer, nothing learned */
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_PEER, IP_PEER, zero, NET_IP(10, 0, 2, 99)));
    net_poll(&net_a, 0);
    CHECK_INT(link_a.n_out, 0);
    CHECK_INT(arp_lookup(&net_a, IP_PEER, mac), ERR_NOT_FOUND);

    /* a request for us: answered byte for byte, and the asker learned */
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_PEER, IP_PEER, zero, IP_US));
    net_poll(&net_a, 1000);
    CHECK_INT(link_a.n_out, 1);
    static const uint8_t want[42] = {
        0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x0a, 0x00, 0x02, 0x0f,
        0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x0a, 0x00, 0x02, 0x02};
    CHECK_INT(link_a.out[0].len, 60);
    CHECK(memcmp(link_a.out[0].b, want, sizeof want) == 0);
    CHECK_INT(arp_lookup(&net_a, IP_PEER, mac), 0);
    CHECK(memcmp(mac, MAC_PEER, 6) == 0);

    /* gratuitous ARP: a known host's new MAC is taken, an unknown one is not */
    static const uint8_t moved[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x77};
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, moved, IP_PEER, zero, IP_PEER));
    tl_inject(&link_a, f, tn_build_arp(f, 2, MAC_BCAST, MAC_DNS, IP_DNS, MAC_BCAST, IP_DNS));
    /* someone claiming our address, and a probe from 0.0.0.0, change nothing */
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_DNS, IP_US, zero, IP_US));
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_DNS, 0, zero, IP_PEER));
    link_a.n_out = 0;
    net_poll(&net_a, 2000);
    CHECK_INT(arp_lookup(&net_a, IP_PEER, mac), 0);
    CHECK(memcmp(mac, moved, 6) == 0);
    CHECK_INT(arp_lookup(&net_a, IP_DNS, mac), ERR_NOT_FOUND);
    CHECK(strstr(tn_log, "arp: address conflict: 52:55:0a:00:02:03") != NULL);
    CHECK_INT(link_a.n_out, 0);

    /* truncated and non-Ethernet/IPv4 ARP packets are dropped */
    size_t len = tn_build_arp(f, 1, MAC_BCAST, MAC_DNS, IP_DNS, zero, IP_US);
    tl_inject(&link_a, f, 14 + 27);
    f[14 + 5] = 16;   /* protocol address length */
    tl_inject(&link_a, f, len);
    net_poll(&net_a, 3000);
    CHECK_INT(link_a.n_out, 0);
    CHECK_INT(arp_lookup(&net_a, IP_DNS, mac), ERR_NOT_FOUND);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

/* An ICMP echo request of 8 data bytes from 10.0.0.2 / arbitrary id. */
static struct netbuf *make_echo(struct net *n, uint16_t seq)
{
    struct netbuf *b = netbuf_alloc(n);
    if (!b)
        return NULL;
    uint8_t *p = netbuf_put(b, 16);
    memcpy(p, "\x08\x00\x00\x00\x12\x34", 6);
    net_put16(p + 6, seq);
    memcpy(p + 8, "abcdefgh", 8);
    net_put16(p + 2, tn_csum(p, 16));
    return b;
}

TEST(net_arp_timeouts)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, IP_US, IP_PEER, IP_DNS) != 0)
        return;
    uint8_t f[64], mac[6];
    static const uint8_t zero[6] = {0};
    uint64_t t0 = 10 * US;
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_PEER, IP_PEER, zero, IP_US));
    net_poll(&net_a, t0);
    net_poll(&net_a, t0 + ARP_ENTRY_TTL_US - 1);
    CHECK_INT(arp_lookup(&net_a, IP_PEER, mac), 0);
    net_poll(&net_a, t0 + ARP_ENTRY_TTL_US);
    CHECK_INT(arp_lookup(&net_a, IP_PEER, mac), ERR_NOT_FOUND);

    /* unresolved: a request each second, three in all, then the held packet
     * is dropped; a newer packet replaces the held one */
    link_a.n_out = 0;
    uint64_t t1 = 1000 * US;
    net_poll(&net_a, t1);
    CHECK_INT(ip_output(&net_a, NET_IP(10, 0, 2, 50), IP_PROTO_ICMP, make_echo(&net_a, 1)), ERR_AGAIN);
    CHECK_INT(ip_output(&net_a, NET_IP(10, 0, 2, 50), IP_PROTO_ICMP, make_echo(&net_a, 2)), ERR_AGAIN);
    CHECK_INT(link_a.n_out, 1);
    CHECK(f_is_arp_request_for(&link_a.out[0], NET_IP(10, 0, 2, 50)));
    CHECK(memcmp(link_a.out[0].b, MAC_BCAST, 6) == 0);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL - 1);
    CHECK_INT(net_a.tx_dropped, 1);
    net_poll(&net_a, t1 + ARP_RETRY_US - 1);
    CHECK_INT(link_a.n_out, 1);
    net_poll(&net_a, t1 + ARP_RETRY_US);
    CHECK_INT(link_a.n_out, 2);
    net_poll(&net_a, t1 + 2 * ARP_RETRY_US);
    CHECK_INT(link_a.n_out, 3);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL - 1);
    net_poll(&net_a, t1 + 3 * ARP_RETRY_US);
    CHECK_INT(link_a.n_out, 3);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    CHECK_INT(net_a.arp.failures, 1);
    CHECK(strstr(tn_log, "arp: no answer from 10.0.2.50") != NULL);
    net_poll(&net_a, t1 + 10 * ARP_RETRY_US);
    CHECK_INT(link_a.n_out, 3);

    /* more addresses than cache slots: the oldest go, nothing leaks */
    for (int i = 0; i < ARP_CACHE_SIZE + 5; i++) {
        uint32_t ip = NET_IP(10, 0, 2, 100 + i);
        link_a.n_out = 0;
        tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_PEER, ip, zero, IP_US));
        net_poll(&net_a, t1 + 20 * US + (uint64_t)i);
        CHECK_INT(arp_lookup(&net_a, ip, mac), 0);
        CHECK_INT(ip_output(&net_a, NET_IP(10, 0, 2, 200 + i), IP_PROTO_ICMP, make_echo(&net_a, 3)), ERR_AGAIN);
    }
    CHECK(tn_pool_free(&net_a) >= NETBUF_POOL - ARP_CACHE_SIZE);
    for (int s = 0; s < ARP_MAX_TRIES; s++)
        net_poll(&net_a, t1 + (uint64_t)(60 + s) * US);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

/* ---- IPv4 and ICMP ----------------------------------------------------------------- */

/* A captured-style echo request 10.0.2.2 -> 10.0.2.15, id 0x1234 seq 1,
 * data "abcdefgh", checksums filled in by hand. */
static const uint8_t echo_request[50] = {
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x62, 0xc8,
    0x0a, 0x00, 0x02, 0x02, 0x0a, 0x00, 0x02, 0x0f,
    0x08, 0x00, 0x54, 0x35, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
static const uint8_t echo_reply[50] = {
    0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x24, 0x10, 0x00, 0x40, 0x00, 0x40, 0x01, 0x12, 0xc9,
    0x0a, 0x00, 0x02, 0x0f, 0x0a, 0x00, 0x02, 0x02,
    0x00, 0x00, 0x5c, 0x35, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};

/* A stack at 10.0.2.15 that knows 10.0.2.2's MAC. */
static int stack_with_peer(void)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, IP_US, IP_PEER, IP_DNS) != 0)
        return -1;
    uint8_t f[64];
    static const uint8_t zero[6] = {0};
    tl_inject(&link_a, f, tn_build_arp(f, 1, MAC_BCAST, MAC_PEER, IP_PEER, zero, IP_US));
    net_poll(&net_a, 0);
    link_a.n_out = 0;
    return 0;
}

TEST(net_icmp_echo_reply)
{
    if (stack_with_peer() != 0)
        return;
    CHECK_INT(tn_csum(echo_request + 14, 20), 0);
    CHECK_INT(tn_csum(echo_request + 34, 16), 0);
    net_a.ip_id = 0x1000;
    tl_inject(&link_a, echo_request, sizeof echo_request);
    net_poll(&net_a, 1);
    CHECK_INT(link_a.n_out, 1);
    CHECK_INT(link_a.out[0].len, 60);
    CHECK(memcmp(link_a.out[0].b, echo_reply, sizeof echo_reply) == 0);
    for (size_t i = 0; i < sizeof echo_reply; i++)
        if (link_a.out[0].b[i] != echo_reply[i])
            fprintf(stderr, "  byte %zu: %02x, want %02x\n", i, link_a.out[0].b[i], echo_reply[i]);

    /* padded to 60 by the sender's NIC: the reply still has 8 data bytes */
    uint8_t f[128];
    memset(f, 0xee, sizeof f);
    memcpy(f, echo_request, sizeof echo_request);
    tl_inject(&link_a, f, 60);
    /* IP options are skipped */
    uint8_t icmp[16];
    memcpy(icmp, echo_request + 34, 16);
    static const uint8_t nops[4] = {1, 1, 1, 0};
    tl_inject(&link_a, f, tn_build_ip_ex(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 1, nops, 4, 0, icmp, 16));
    link_a.n_out = 0;
    net_poll(&net_a, 2);
    CHECK_INT(link_a.n_out, 2);
    for (int i = 0; i < link_a.n_out; i++) {
        CHECK_INT(net_get16(link_a.out[i].b + 16), 36);
        CHECK(memcmp(link_a.out[i].b + 34, echo_reply + 34, 16) == 0);
        CHECK_INT(tn_csum(link_a.out[i].b + 14, 20), 0);
    }

    /* not answered: bad ICMP checksum, echo replies, other types, broadcast */
    link_a.n_out = 0;
    memcpy(f, echo_request, sizeof echo_request);
    f[49] ^= 1;
    tl_inject(&link_a, f, sizeof echo_request);
    memcpy(icmp, echo_reply + 34, 16);
    tl_inject(&link_a, f, tn_build_ip(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 1, icmp, 16));
    memcpy(icmp, echo_request + 34, 16);
    tl_inject(&link_a, f, tn_build_ip(f, MAC_BCAST, MAC_PEER, IP_PEER, 0xffffffffu, 1, icmp, 16));
    tl_inject(&link_a, f, tn_build_ip(f, MAC_BCAST, MAC_PEER, IP_PEER, NET_IP(10, 0, 2, 255), 1, icmp, 16));
    tl_inject(&link_a, f, tn_build_ip(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 1, icmp, 7));
    net_poll(&net_a, 3);
    CHECK_INT(link_a.n_out, 0);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

TEST(net_ip_drops_bad_packets)
{
    if (stack_with_peer() != 0)
        return;
    uint8_t f[128];
    uint8_t icmp[16];
    memcpy(icmp, echo_request + 34, 16);
    int n = 0;
    uint64_t dropped0 = net_a.rx_dropped;
    /* bad header checksum */
    memcpy(f, echo_request, sizeof echo_request);
    f[24] ^= 0x10;
    tl_inject(&link_a, f, sizeof echo_request), n++;
    /* shorter than a header; shorter than its total length; IHL < 5; IHL past the end */
    tl_inject(&link_a, echo_request, 14 + 19), n++;
    tl_inject(&link_a, echo_request, 14 + 20 + 15), n++;
    memcpy(f, echo_request, sizeof echo_request);
    f[14] = 0x44;
    net_put16(f + 24, 0);
    net_put16(f + 24, tn_csum(f + 14, 16));
    tl_inject(&link_a, f, sizeof echo_request), n++;
    memcpy(f, echo_request, sizeof echo_request);
    f[14] = 0x4f;
    tl_inject(&link_a, f, 14 + 40), n++;
    /* IPv6 version nibble */
    memcpy(f, echo_request, sizeof echo_request);
    f[14] = 0x65;
    tl_inject(&link_a, f, sizeof echo_request), n++;
    /* fragments: more-fragments set, or a nonzero offset */
    tl_inject(&link_a, f, tn_build_ip_ex(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 1, NULL, 0, 0x2000, icmp, 16)), n++;
    tl_inject(&link_a, f, tn_build_ip_ex(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 1, NULL, 0, 0x0001, icmp, 16)), n++;
    /* another host's address, a broadcast source, an unknown protocol */
    tl_inject(&link_a, f, tn_build_ip(f, MAC_US, MAC_PEER, IP_PEER, NET_IP(10, 0, 2, 16), 1, icmp, 16)), n++;
    tl_inject(&link_a, f, tn_build_ip(f, MAC_US, MAC_PEER, 0xffffffffu, IP_US, 1, icmp, 16)), n++;
    tl_inject(&link_a, f, tn_build_ip(f, MAC_US, MAC_PEER, 0, IP_US, 1, icmp, 16)), n++;
    tl_inject(&link_a, f, tn_build_ip(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 99, icmp, 16)), n++;
    /* Ethernet: runt, another MAC, unknown type */
    tl_inject(&link_a, echo_request, 13), n++;
    memcpy(f, echo_request, sizeof echo_request);
    f[5] = 0x57;
    tl_inject(&link_a, f, sizeof echo_request), n++;
    memcpy(f, echo_request, sizeof echo_request);
    net_put16(f + 12, 0x86dd);
    tl_inject(&link_a, f, sizeof echo_request), n++;
    net_poll(&net_a, 5);
    CHECK_INT(link_a.n_out, 0);
    CHECK_INT(net_a.rx_dropped - dropped0, n);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    /* the untouched request still works afterwards */
    tl_inject(&link_a, echo_request, sizeof echo_request);
    net_poll(&net_a, 6);
    CHECK_INT(link_a.n_out, 1);
    net_shutdown(&net_a);
}

TEST(net_ip_output_routes)
{
    if (tn_stack_up(&net_a, &link_a, MAC_US, IP_US, IP_PEER, IP_DNS) != 0)
        return;
    net_poll(&net_a, 0);
    /* off the subnet: ARP asks for the gateway */
    CHECK_INT(ip_output(&net_a, NET_IP(8, 8, 8, 8), IP_PROTO_ICMP, make_echo(&net_a, 1)), ERR_AGAIN);
    CHECK_INT(link_a.n_out, 1);
    CHECK(f_is_arp_request_for(&link_a.out[0], IP_PEER));
    /* limited and directed broadcast: straight to ff:ff:ff:ff:ff:ff */
    link_a.n_out = 0;
    CHECK_INT(ip_output(&net_a, 0xffffffffu, IP_PROTO_ICMP, make_echo(&net_a, 2)), 0);
    CHECK_INT(ip_output(&net_a, NET_IP(10, 0, 2, 255), IP_PROTO_ICMP, make_echo(&net_a, 3)), 0);
    CHECK_INT(link_a.n_out, 2);
    for (int i = 0; i < 2; i++) {
        const uint8_t *h = link_a.out[i].b + 14;
        CHECK(memcmp(link_a.out[i].b, MAC_BCAST, 6) == 0);
        CHECK(memcmp(link_a.out[i].b + 6, MAC_US, 6) == 0);
        CHECK_INT(h[0], 0x45);
        CHECK_INT(net_get16(h + 2), 36);
        CHECK_INT(net_get16(h + 6), 0x4000);   /* DF */
        CHECK_INT(h[8], 64);
        CHECK_INT(f_ipsrc(&link_a.out[i]), IP_US);
        CHECK_INT(tn_csum(h, 20), 0);
    }
    CHECK_INT((uint16_t)(net_get16(link_a.out[1].b + 18) - net_get16(link_a.out[0].b + 18)), 1);
    /* no gateway: off-subnet fails at once */
    net_a.gateway = 0;
    CHECK_INT(ip_output(&net_a, NET_IP(8, 8, 8, 8), IP_PROTO_ICMP, make_echo(&net_a, 4)), ERR_NOT_FOUND);
    /* larger than the MTU: refused, no fragmentation */
    struct netbuf *big = netbuf_alloc(&net_a);
    netbuf_put(big, 1481);
    CHECK_INT(ip_output(&net_a, 0xffffffffu, IP_PROTO_UDP, big), ERR_RANGE);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL - 1);   /* the held echo to 8.8.8.8 */
    net_shutdown(&net_a);
}

/* ---- UDP ------------------------------------------------------------------------------ */

struct udp_seen {
    int count;
    uint32_t ip;
    uint16_t port;
    size_t len;
    uint8_t data[64];
};

static void udp_record(void *ctx, uint32_t src_ip, uint16_t src_port, const uint8_t *data,
                       size_t len)
{
    struct udp_seen *s = ctx;
    s->count++;
    s->ip = src_ip;
    s->port = src_port;
    s->len = len;
    memcpy(s->data, data, MIN(len, sizeof s->data));
}

TEST(net_udp_send_receive)
{
    if (stack_with_peer() != 0)
        return;
    struct udp_seen seen = {0};
    CHECK_INT(udp_bind(&net_a, 7777, udp_record, &seen), 0);
    CHECK_INT(udp_bind(&net_a, 7777, udp_record, &seen), ERR_EXISTS);
    CHECK_INT(udp_bind(&net_a, 0, udp_record, &seen), ERR_INVAL);
    uint8_t f[256];
    tl_inject(&link_a, f, tn_build_udp(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 5000, 7777, "hello", 5, 1));
    net_poll(&net_a, 1);
    CHECK_INT(seen.count, 1);
    CHECK_INT(seen.ip, IP_PEER);
    CHECK_INT(seen.port, 5000);
    CHECK(seen.len == 5 && memcmp(seen.data, "hello", 5) == 0);
    /* no checksum (0) is accepted; a wrong one, a bad length, another port are not */
    tl_inject(&link_a, f, tn_build_udp(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 5000, 7777, "nocsum", 6, 0));
    size_t len = tn_build_udp(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 5000, 7777, "bad", 3, 1);
    f[len - 1] ^= 1;
    tl_inject(&link_a, f, len);
    len = tn_build_udp(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 5000, 7777, "len", 3, 0);
    net_put16(f + 38, 12);   /* UDP length past the IP payload */
    tl_inject(&link_a, f, len);
    tl_inject(&link_a, f, tn_build_udp(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 5000, 7778, "other", 5, 1));
    /* to the subnet broadcast: delivered */
    tl_inject(&link_a, f, tn_build_udp(f, MAC_BCAST, MAC_PEER, IP_PEER, NET_IP(10, 0, 2, 255), 5000, 7777, "bc", 2, 1));
    net_poll(&net_a, 2);
    CHECK_INT(seen.count, 3);
    CHECK(seen.len == 2 && memcmp(seen.data, "bc", 2) == 0);
    CHECK_INT(net_a.udp.rx_bad, 2);
    CHECK_INT(net_a.udp.rx_no_port, 1);

    /* sending: header and checksum as a receiver checks them */
    CHECK_INT(udp_send(&net_a, 7777, IP_PEER, 5000, "reply!", 6), 0);
    CHECK_INT(link_a.n_out, 1);
    const struct tframe *o = &link_a.out[0];
    CHECK(memcmp(o->b, MAC_PEER, 6) == 0);
    CHECK(f_is_udp(o) && f_ipsrc(o) == IP_US && f_ipdst(o) == IP_PEER);
    CHECK_INT(net_get16(o->b + 34), 7777);
    CHECK_INT(f_dport(o), 5000);
    CHECK_INT(net_get16(o->b + 38), 14);
    CHECK(net_get16(o->b + 40) != 0);
    CHECK_INT(tn_udp_csum(IP_US, IP_PEER, o->b + 34, 14), 0);
    CHECK(memcmp(o->b + 42, "reply!", 6) == 0);
    CHECK_INT(udp_send(&net_a, 7777, IP_PEER, 5000, f, UDP_MAX_PAYLOAD + 1), ERR_RANGE);
    static uint8_t maxi[UDP_MAX_PAYLOAD];
    CHECK_INT(udp_send(&net_a, 7777, IP_PEER, 5000, maxi, sizeof maxi), 0);
    CHECK_INT(link_a.out[1].len, 1514);

    udp_unbind(&net_a, 7777);
    tl_inject(&link_a, f, tn_build_udp(f, MAC_US, MAC_PEER, IP_PEER, IP_US, 5000, 7777, "gone", 4, 1));
    net_poll(&net_a, 3);
    CHECK_INT(seen.count, 3);
    for (int i = 0; i < UDP_MAX_BINDS; i++)
        CHECK_INT(udp_bind(&net_a, (uint16_t)(1000 + i), udp_record, &seen), 0);
    CHECK_INT(udp_bind(&net_a, 999, udp_record, &seen), ERR_NOMEM);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    net_shutdown(&net_a);
}

/* ---- two stacks on one wire ---------------------------------------------------------- */

static int echo_replies_to_a;

/* Moves frames both ways and polls both stacks until the wire is quiet. */
static void wire_run(uint64_t t)
{
    for (int round = 0; round < 20; round++) {
        int moved = link_a.n_out + link_b.n_out;
        for (int i = 0; i < link_a.n_out; i++)
            tl_inject(&link_b, link_a.out[i].b, link_a.out[i].len);
        for (int i = 0; i < link_b.n_out; i++) {
            const struct tframe *f = &link_b.out[i];
            if (f_type(f) == ETH_TYPE_IP && f_proto(f) == 1 && f->b[34] == 0)
                echo_replies_to_a++;
            tl_inject(&link_a, f->b, f->len);
        }
        link_a.n_out = link_b.n_out = 0;
        net_poll(&net_a, t);
        net_poll(&net_b, t);
        if (!moved && !link_a.n_out && !link_b.n_out)
            return;
    }
}

TEST(net_two_stacks_ping)
{
    static const uint8_t mac_b[6] = {0x52, 0x54, 0x00, 0xbb, 0xbb, 0xbb};
    if (tn_stack_up(&net_a, &link_a, MAC_US, NET_IP(192, 168, 7, 1), 0, 0) != 0)
        return;
    if (tn_stack_up(&net_b, &link_b, mac_b, NET_IP(192, 168, 7, 2), 0, 0) != 0) {
        net_shutdown(&net_a);
        return;
    }
    echo_replies_to_a = 0;
    /* the first packet waits for ARP and is sent when the reply comes */
    CHECK_INT(ip_output(&net_a, NET_IP(192, 168, 7, 2), IP_PROTO_ICMP, make_echo(&net_a, 1)), ERR_AGAIN);
    wire_run(1000);
    CHECK_INT(echo_replies_to_a, 1);
    uint8_t mac[6];
    CHECK_INT(arp_lookup(&net_a, NET_IP(192, 168, 7, 2), mac), 0);
    CHECK(memcmp(mac, mac_b, 6) == 0);
    CHECK_INT(arp_lookup(&net_b, NET_IP(192, 168, 7, 1), mac), 0);   /* learned from the request */
    CHECK(memcmp(mac, MAC_US, 6) == 0);
    /* the second goes straight out; and B pings A */
    CHECK_INT(ip_output(&net_a, NET_IP(192, 168, 7, 2), IP_PROTO_ICMP, make_echo(&net_a, 2)), 0);
    CHECK_INT(ip_output(&net_b, NET_IP(192, 168, 7, 1), IP_PROTO_ICMP, make_echo(&net_b, 3)), 0);
    wire_run(2000);
    CHECK_INT(echo_replies_to_a, 2);
    CHECK_INT(net_b.arp.requests_sent, 0);
    /* UDP across the wire */
    struct udp_seen seen = {0};
    CHECK_INT(udp_bind(&net_b, 9, udp_record, &seen), 0);
    CHECK_INT(udp_send(&net_a, 40000, NET_IP(192, 168, 7, 2), 9, "discard", 7), 0);
    wire_run(3000);
    CHECK(seen.count == 1 && seen.len == 7 && seen.port == 40000);
    CHECK_INT(tn_pool_free(&net_a), NETBUF_POOL);
    CHECK_INT(tn_pool_free(&net_b), NETBUF_POOL);
    net_shutdown(&net_a);
    net_shutdown(&net_b);
}
