/* net_dns.c - DNS A-record resolver: queries, retries, answer parsing and a
 * small TTL cache (net_dns.h). */
#include "errors.h"
#include "lib.h"
#include "net.h"

#define US 1000000ull
#define DNS_HDR 12
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_CLASS_IN 1
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_RD 0x0100
#define DNS_RCODE_NXDOMAIN 3
#define DNS_MAX_JUMPS 32        /* compression pointers followed per name */
#define DNS_LABEL_MAX 63
#define DNS_EPHEMERAL 49152u

/* ---- names -------------------------------------------------------------------- */

static int dns_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Checks a host name and copies it without a trailing dot into out
 * (DNS_NAME_MAX + 1 bytes). 0 or ERR_INVAL. */
static int dns_name_normalize(const char *name, char *out)
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > DNS_NAME_MAX)
        return ERR_INVAL;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '.') {
            if (label == 0)
                return ERR_INVAL;
            label = 0;
        } else if (!dns_label_char(name[i]) || ++label > DNS_LABEL_MAX) {
            return ERR_INVAL;
        }
    }
    if (label == 0)
        return ERR_INVAL;
    memcpy(out, name, len);
    out[len] = 0;
    return 0;
}

/* Reads the (possibly compressed) name at msg[off] into out (DNS_NAME_MAX
 * + 1 bytes, dotted text); *ret_end is the offset after the name where it
 * was found. 0 or ERR_FORMAT. Labels holding '.' or NUL are refused so the
 * text form cannot be made to match a different name. */
static int dns_read_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t *ret_end)
{
    size_t pos = off, end = 0, n = 0;
    int jumps = 0;
    for (;;) {
        if (pos >= len)
            return ERR_FORMAT;
        uint8_t l = msg[pos];
        if ((l & 0xc0) == 0xc0) {
            if (len - pos < 2 || ++jumps > DNS_MAX_JUMPS)
                return ERR_FORMAT;
            if (jumps == 1)
                end = pos + 2;
            pos = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
            continue;
        }
        if (l & 0xc0)
            return ERR_FORMAT;   /* extended label types are obsolete */
        if (l == 0)
            break;
        if (len - pos - 1 < l || n + (n ? 1 : 0) + l > DNS_NAME_MAX)
            return ERR_FORMAT;
        if (n)
            out[n++] = '.';
        for (size_t i = 0; i < l; i++) {
            uint8_t c = msg[pos + 1 + i];
            if (c == 0 || c == '.')
                return ERR_FORMAT;
            out[n++] = (char)c;
        }
        pos += 1 + (size_t)l;
    }
    out[n] = 0;
    *ret_end = jumps ? end : pos + 1;
    return 0;
}

int dns_build_query(uint16_t id, const char *name, uint8_t *out, size_t cap, size_t *ret_len)
{
    char norm[DNS_NAME_MAX + 1];
    if (dns_name_normalize(name, norm) != 0)
        return ERR_INVAL;
    size_t need = DNS_HDR + strlen(norm) + 2 + 4;
    if (cap < need)
        return ERR_RANGE;
    memset(out, 0, DNS_HDR);
    net_put16(out, id);
    net_put16(out + 2, DNS_FLAG_RD);
    net_put16(out + 4, 1);
    uint8_t *p = out + DNS_HDR;
    for (const char *s = norm; *s;) {
        size_t l = 0;
        while (s[l] && s[l] != '.')
            l++;
        *p++ = (uint8_t)l;
        memcpy(p, s, l);
        p += l;
        s += l + (s[l] == '.');
    }
    *p++ = 0;
    net_put16(p, DNS_TYPE_A);
    net_put16(p + 2, DNS_CLASS_IN);
    *ret_len = need;
    return 0;
}

/* ---- answers ------------------------------------------------------------------ */

/* The question must be ours: one entry, our name, type A, class IN.
 * Returns the offset after it, or 0 when it is not. */
static size_t dns_check_question(const uint8_t *msg, size_t len, const char *name)
{
    char qname[DNS_NAME_MAX + 1];
    size_t pos;
    if (net_get16(msg + 4) != 1 || dns_read_name(msg, len, DNS_HDR, qname, &pos) != 0)
        return 0;
    if (len - pos < 4 || str_casecmp(qname, name) != 0 || net_get16(msg + pos) != DNS_TYPE_A ||
        net_get16(msg + pos + 2) != DNS_CLASS_IN)
        return 0;
    return pos + 4;
}

int dns_parse_response(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                       uint32_t *ret_ip, uint32_t *ret_ttl)
{
    if (len < DNS_HDR || net_get16(msg) != id)
        return ERR_FORMAT;
    uint16_t flags = net_get16(msg + 2);
    if (!(flags & DNS_FLAG_QR) || (flags >> 11 & 15) != 0)
        return ERR_FORMAT;
    size_t pos = dns_check_question(msg, len, name);
    if (pos == 0)
        return ERR_FORMAT;
    if ((flags & 15) == DNS_RCODE_NXDOMAIN)
        return ERR_NOT_FOUND;
    if ((flags & 15) != 0)
        return ERR_IO;
    /* the name whose A record we want: moves along CNAME records */
    char want[DNS_NAME_MAX + 1], owner[DNS_NAME_MAX + 1];
    str_copy(want, sizeof want, name);
    for (unsigned i = 0, an = net_get16(msg + 6); i < an; i++) {
        if (dns_read_name(msg, len, pos, owner, &pos) != 0 || len - pos < 10)
            return ERR_FORMAT;
        uint16_t type = net_get16(msg + pos), class = net_get16(msg + pos + 2);
        uint32_t ttl = net_get32(msg + pos + 4);
        size_t rdlen = net_get16(msg + pos + 8), rdata = pos + 10;
        if (len - rdata < rdlen)
            return ERR_FORMAT;
        pos = rdata + rdlen;
        if (class != DNS_CLASS_IN || str_casecmp(owner, want) != 0)
            continue;
        if (type == DNS_TYPE_A && rdlen == 4) {
            *ret_ip = net_get32(msg + rdata);
            *ret_ttl = ttl & 0x80000000u ? 0 : ttl;   /* RFC 2181 8: > 2^31 is 0 */
            return 0;
        }
        size_t unused;
        if (type == DNS_TYPE_CNAME && dns_read_name(msg, rdata + rdlen, rdata, want, &unused) != 0)
            return ERR_FORMAT;
    }
    return ERR_NOT_FOUND;
}

/* ---- cache -------------------------------------------------------------------- */

static struct dns_cache_entry *dns_cache_find(struct net *n, const char *name)
{
    for (int i = 0; i < DNS_CACHE_SIZE; i++) {
        struct dns_cache_entry *e = &n->dns_client.cache[i];
        if (e->name[0] && str_casecmp(e->name, name) == 0) {
            if (n->now_us < e->expires_us)
                return e;
            e->name[0] = 0;   /* expired */
        }
    }
    return NULL;
}

/* Same name, else a free entry, else the one expiring first. */
static void dns_cache_put(struct net *n, const char *name, uint32_t ip, uint32_t ttl)
{
    if (ttl == 0)
        return;
    struct dns_cache_entry *slot = dns_cache_find(n, name);
    for (int i = 0; !slot && i < DNS_CACHE_SIZE; i++)
        if (!n->dns_client.cache[i].name[0])
            slot = &n->dns_client.cache[i];
    if (!slot) {
        slot = &n->dns_client.cache[0];
        for (int i = 1; i < DNS_CACHE_SIZE; i++)
            if (n->dns_client.cache[i].expires_us < slot->expires_us)
                slot = &n->dns_client.cache[i];
    }
    str_copy(slot->name, sizeof slot->name, name);
    slot->ip = ip;
    slot->expires_us = n->now_us + (uint64_t)MIN(ttl, DNS_CACHE_MAX_TTL_S) * US;
}

/* ---- queries ------------------------------------------------------------------ */

static uint32_t dns_random(struct net *n)
{
    struct dns_client *d = &n->dns_client;
    uint32_t x = d->rand ^ (uint32_t)n->now_us;
    for (int i = 0; i < 6; i++)
        x = x * 16777619u ^ n->link.mac[i];
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    d->rand = x ? x : 1;
    return d->rand;
}

static void dns_recv(void *ctx, uint32_t src_ip, uint16_t src_port, const uint8_t *data,
                     size_t len)
{
    dns_input(ctx, src_ip, src_port, data, len);
}

/* Binds a random ephemeral port on first use. */
static int dns_ensure_port(struct net *n)
{
    struct dns_client *d = &n->dns_client;
    if (d->port)
        return 0;
    int rc = ERR_EXISTS;
    for (int i = 0; i < 8 && rc == ERR_EXISTS; i++) {
        uint16_t port = (uint16_t)(DNS_EPHEMERAL + dns_random(n) % (65536 - DNS_EPHEMERAL));
        if ((rc = udp_bind(n, port, dns_recv, n)) == 0)
            d->port = port;
    }
    return rc;
}

/* One (re)transmission with a fresh id; a send that fails (no buffer) is
 * simply retried when the try times out. */
static void dns_send(struct net *n, struct dns_query *q)
{
    uint8_t msg[DNS_HDR + DNS_NAME_MAX + 2 + 4];
    size_t len;
    q->id = (uint16_t)dns_random(n);
    q->deadline_us = n->now_us + (DNS_TIMEOUT_US << q->tries);
    q->tries++;
    if (dns_build_query(q->id, q->name, msg, sizeof msg, &len) == 0) {
        n->dns_client.queries_sent++;
        udp_send(n, n->dns_client.port, n->dns, DNS_PORT, msg, len);
    }
}

static void dns_finish(struct dns_query *q, int result, uint32_t ip)
{
    q->state = DNS_Q_DONE;
    q->result = result;
    q->ip = ip;
}

static int dns_handle(int slot, const struct dns_query *q) { return q->gen << 4 | slot; }

static struct dns_query *dns_query_of(struct net *n, int handle)
{
    int slot = handle & 15;
    if (handle < 0 || slot >= DNS_MAX_QUERIES)
        return NULL;
    struct dns_query *q = &n->dns_client.q[slot];
    if (q->state == DNS_Q_FREE || dns_handle(slot, q) != handle)
        return NULL;
    return q;
}

int dns_resolve_start(struct net *n, const char *name, int *ret_handle)
{
    char norm[DNS_NAME_MAX + 1];
    uint32_t ip;
    int literal = net_parse_ip(name, &ip) == 0;
    if (!literal && dns_name_normalize(name, norm) != 0)
        return ERR_INVAL;
    struct dns_cache_entry *cached = literal ? NULL : dns_cache_find(n, norm);
    if (!literal && !cached && n->dns == 0)
        return ERR_UNSUPPORTED;
    int slot = 0;
    while (slot < DNS_MAX_QUERIES && n->dns_client.q[slot].state != DNS_Q_FREE)
        slot++;
    if (slot == DNS_MAX_QUERIES)
        return ERR_NOMEM;
    struct dns_query *q = &n->dns_client.q[slot];
    if (literal || cached) {
        dns_finish(q, 0, literal ? ip : cached->ip);
    } else {
        int rc = dns_ensure_port(n);
        if (rc != 0)
            return rc;
        str_copy(q->name, sizeof q->name, norm);
        q->state = DNS_Q_PENDING;
        q->tries = 0;
        dns_send(n, q);
    }
    *ret_handle = dns_handle(slot, q);
    return 0;
}

static void dns_release(struct dns_query *q)
{
    uint8_t gen = (uint8_t)(q->gen + 1);
    memset(q, 0, sizeof *q);
    q->gen = gen & 0x7f;   /* keeps handles positive */
}

int dns_resolve_poll(struct net *n, int handle, uint32_t *ret_ip)
{
    struct dns_query *q = dns_query_of(n, handle);
    if (!q)
        return ERR_INVAL;
    if (q->state == DNS_Q_PENDING)
        return ERR_AGAIN;
    int rc = q->result;
    if (rc == 0)
        *ret_ip = q->ip;
    dns_release(q);
    return rc;
}

void dns_resolve_cancel(struct net *n, int handle)
{
    struct dns_query *q = dns_query_of(n, handle);
    if (q)
        dns_release(q);
}

void dns_timer(struct net *n)
{
    for (int i = 0; i < DNS_MAX_QUERIES; i++) {
        struct dns_query *q = &n->dns_client.q[i];
        if (q->state != DNS_Q_PENDING || n->now_us < q->deadline_us)
            continue;
        if (q->tries >= DNS_TRIES) {
            char server[16];
            net_format_ip(n->dns, server);
            net_logf(n, "dns: no answer for %s from %s", q->name, server);
            dns_finish(q, ERR_TIMEOUT, 0);
        } else {
            dns_send(n, q);
        }
    }
}

/* Answers count only from the server we asked, from port 53, to a pending
 * query's id and question; anything else is ignored (spoofing, late
 * duplicates), and so is a malformed answer: a good one may still come. */
void dns_input(struct net *n, uint32_t src_ip, uint16_t src_port, const uint8_t *data,
               size_t len)
{
    if (src_ip != n->dns || src_port != DNS_PORT || len < DNS_HDR)
        return;
    uint16_t id = net_get16(data);
    for (int i = 0; i < DNS_MAX_QUERIES; i++) {
        struct dns_query *q = &n->dns_client.q[i];
        if (q->state != DNS_Q_PENDING || q->id != id)
            continue;
        uint32_t ip = 0, ttl = 0;
        int rc = dns_parse_response(data, len, id, q->name, &ip, &ttl);
        if (rc == ERR_FORMAT) {
            n->dns_client.bad_answers++;
            continue;
        }
        n->dns_client.answers++;
        if (rc == 0)
            dns_cache_put(n, q->name, ip, ttl);
        dns_finish(q, rc, ip);
    }
}
