/* net_buf.c - the netbuf pool, Internet checksums, IPv4 text form and the
 * stack's log line helper (net.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

/* ---- buffers ------------------------------------------------------------------ */

struct netbuf *netbuf_alloc(struct net *n)
{
    struct netbuf *b = n->free_list;
    if (!b)
        return NULL;
    n->free_list = b->next;
    b->next = NULL;
    b->data = b->mem + NETBUF_HEADROOM;
    b->len = 0;
    return b;
}

/* A pointer from outside the pool would corrupt the free list for good, so
 * it is refused here rather than found much later. */
static int netbuf_in_pool(const struct net *n, const struct netbuf *b)
{
    const uint8_t *p = (const uint8_t *)b, *base = n->pool;
    if (!base || p < base || p >= base + n->pool_bytes)
        return 0;
    return (size_t)(p - base) % sizeof(struct netbuf) == 0;
}

void netbuf_free(struct net *n, struct netbuf *b)
{
    if (!b || !netbuf_in_pool(n, b))
        return;
    b->next = n->free_list;
    n->free_list = b;
}

uint8_t *netbuf_push(struct netbuf *b, size_t hdr)
{
    if ((size_t)(b->data - b->mem) < hdr)
        return NULL;
    b->data -= hdr;
    b->len += hdr;
    return b->data;
}

uint8_t *netbuf_pull(struct netbuf *b, size_t hdr)
{
    if (b->len < hdr)
        return NULL;
    b->data += hdr;
    b->len -= hdr;
    return b->data;
}

/* Returns the start of the n appended bytes, NULL when they do not fit. */
uint8_t *netbuf_put(struct netbuf *b, size_t n)
{
    size_t used = (size_t)(b->data - b->mem) + b->len;
    if (n > NETBUF_CAP - used)
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void netbuf_trim(struct netbuf *b, size_t len)
{
    if (len < b->len)
        b->len = len;
}

/* ---- checksums ---------------------------------------------------------------- */

/* Sums big-endian 16-bit words; an odd tail byte is the high half of a
 * word (RFC 1071). The 32-bit sum folds carries late, which is safe for
 * any packet this stack handles (< 64 KiB per call). */
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = sum;
    while (len >= 2) {
        s += (uint32_t)(p[0] << 8 | p[1]);
        p += 2;
        len -= 2;
    }
    if (len)
        s += (uint32_t)p[0] << 8;
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

uint16_t net_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* ---- IPv4 text ---------------------------------------------------------------- */

/* Exactly four decimal parts 0..255 without signs or spaces; leading zeros
 * are refused because other tools read them as octal. */
int net_parse_ip(const char *s, uint32_t *ret_ip)
{
    uint32_t ip = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && *s++ != '.')
            return ERR_FORMAT;
        if (*s < '0' || *s > '9')
            return ERR_FORMAT;
        if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
            return ERR_FORMAT;
        uint32_t v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (uint32_t)(*s++ - '0');
            digits++;
        }
        if (v > 255 || digits > 3)
            return ERR_FORMAT;
        ip = ip << 8 | v;
    }
    if (*s)
        return ERR_FORMAT;
    *ret_ip = ip;
    return 0;
}

void net_format_ip(uint32_t ip, char out[16])
{
    fmt_snprintf(out, 16, "%u.%u.%u.%u", (unsigned)(ip >> 24), (unsigned)(ip >> 16 & 255),
                 (unsigned)(ip >> 8 & 255), (unsigned)(ip & 255));
}

/* ---- logging ------------------------------------------------------------------ */

void net_logf(struct net *n, const char *fmt, ...)
{
    if (!n->log)
        return;
    char line[192];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n->log(n->log_ctx, line);
}
