/* tcp_ref.h - an independent TCP checksum for the TCP tests (test_tcp.c,
 * fuzz_tcp.c): written from RFC 793's definition, not from net_buf.c, so
 * that a bug in the stack's checksum cannot hide itself. Header-only. */
#ifndef TCP_REF_H
#define TCP_REF_H

#include <stddef.h>
#include <stdint.h>

/* 0 when the segment p[0..len) from src to dst (checksum field included)
 * is correct; with the field zeroed, the value it should hold. */
static inline uint16_t tcp_ref_csum(uint32_t src, uint32_t dst, const uint8_t *p, size_t len)
{
    uint64_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + len;
    for (size_t i = 0; i < len; i++)
        sum += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

#endif
