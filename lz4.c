/* lz4.c - LZ4 frame codec (see lz4.h for what is written and accepted).
 *
 * Written from the LZ4 frame and block format descriptions and the xxHash
 * specification. Everything works on whole buffers: the decoder writes the
 * content of all frames into one output, so a match may reach back to the
 * start of its block (independent blocks) or of its frame (linked blocks).
 */
#include "lz4.h"

#include "errors.h"
#include "lib.h"

#define MAGIC 0x184D2204u
#define MAGIC_SKIP 0x184D2A50u /* low 4 bits free */
#define MAGIC_LEGACY 0x184C2102u

#define FLG_VERSION 0x40u /* bits 7-6 = 01 */
#define FLG_INDEP 0x20u
#define FLG_BLOCK_SUM 0x10u
#define FLG_SIZE 0x08u
#define FLG_SUM 0x04u
#define FLG_RESERVED 0x02u
#define FLG_DICT 0x01u
#define BLOCK_RAW 0x80000000u

/* Block format end rules (the reference decoder's fast paths rely on them):
 * the last 5 bytes are literals, the last match starts 12 or more bytes
 * before the end. We honour them when encoding; the decoder does not need
 * them and accepts any sequence that stays in bounds. */
#define LAST_LITERALS 5
#define MF_LIMIT 12
#define MIN_MATCH 4
#define MAX_OFFSET 65535

/* ---- little-endian access (unaligned, via memcpy) ---- */
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- XXH32 ---- */
#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

static uint32_t rotl(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t xxh_round(uint32_t acc, uint32_t lane)
{
    return rotl(acc + lane * P2, 13) * P1;
}

uint32_t lz4_xxh32(const void *data, size_t n, uint32_t seed)
{
    const uint8_t *p = data, *end = p + n;
    uint32_t acc;
    if (n >= 16) {
        uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        for (; end - p >= 16; p += 16) {
            v1 = xxh_round(v1, rd32(p));
            v2 = xxh_round(v2, rd32(p + 4));
            v3 = xxh_round(v3, rd32(p + 8));
            v4 = xxh_round(v4, rd32(p + 12));
        }
        acc = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    } else {
        acc = seed + P5;
    }
    acc += (uint32_t)n; /* the spec adds the length modulo 2^32 */
    for (; end - p >= 4; p += 4)
        acc = rotl(acc + rd32(p) * P3, 17) * P4;
    for (; p < end; p++)
        acc = rotl(acc + *p * P5, 11) * P1;
    acc ^= acc >> 15;
    acc *= P2;
    acc ^= acc >> 13;
    acc *= P3;
    acc ^= acc >> 16;
    return acc;
}

/* ---- block compressor ---- */

/* Bytes of 255-continuation a length field of value v (>= 15 in the
 * nibble) needs after its token nibble. */
static size_t len_extra(size_t v)
{
    return v >= 15 ? (v - 15) / 255 + 1 : 0;
}

static uint8_t *put_len(uint8_t *op, size_t v)
{
    if (v < 15)
        return op;
    for (v -= 15; v >= 255; v -= 255)
        *op++ = 255;
    *op++ = (uint8_t)v;
    return op;
}

/* Appends one sequence (lit literals, then a match of ml >= 4 at off, or no
 * match when ml == 0) if it fits before oend; returns the new end or NULL. */
static uint8_t *put_seq(uint8_t *op, uint8_t *oend, const uint8_t *lit, size_t nlit,
                        size_t off, size_t ml)
{
    size_t mcode = ml ? ml - MIN_MATCH : 0;
    size_t need = 1 + len_extra(nlit) + nlit + (ml ? 2 + len_extra(mcode) : 0);
    if (need > (size_t)(oend - op))
        return NULL;
    *op++ = (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (mcode < 15 ? mcode : 15));
    op = put_len(op, nlit);
    memcpy(op, lit, nlit);
    op += nlit;
    if (ml) {
        *op++ = (uint8_t)off;
        *op++ = (uint8_t)(off >> 8);
        op = put_len(op, mcode);
    }
    return op;
}

static uint32_t hash4(uint32_t v)
{
    return (v * 2654435761u) >> (32 - LZ4_HASH_LOG);
}

/* Bytes a[i] == b[i] from the start, stopping at a_end. */
static size_t common(const uint8_t *a, const uint8_t *b, const uint8_t *a_end)
{
    const uint8_t *start = a;
    while (a_end - a >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) /* little-endian: the lowest set bit is the first difference */
            return (size_t)(a - start) + (size_t)(__builtin_ctzll(x ^ y) >> 3);
        a += 8;
        b += 8;
    }
    while (a < a_end && *a == *b) {
        a++;
        b++;
    }
    return (size_t)(a - start);
}

/* Compresses one block src[0..n) (n <= LZ4_BLOCK_MAX) into dst[0..cap).
 * Greedy: at each position probe the last position with the same 4-byte
 * hash; take the match if the bytes agree, else move on, striding faster
 * through data that keeps missing (incompressible input costs little).
 * Returns the compressed size, or 0 when it does not fit in cap. */
static size_t block_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                             uint32_t *table)
{
    const uint8_t *ip = src, *anchor = src, *end = src + n;
    uint8_t *op = dst, *oend = dst + cap;
    if (n > MF_LIMIT) {
        const uint8_t *match_end = end - LAST_LITERALS, *last_start = end - MF_LIMIT;
        unsigned misses = 0;
        memset(table, 0, LZ4_WORK_BYTES);
        while (ip <= last_start) {
            uint32_t seq = rd32(ip), h = hash4(seq);
            const uint8_t *cand = src + table[h];
            table[h] = (uint32_t)(ip - src);
            if (cand >= ip || ip - cand > MAX_OFFSET || rd32(cand) != seq) {
                misses++;
                ip += 1 + (misses >> 6);
                continue;
            }
            misses = 0;
            while (ip > anchor && cand > src && ip[-1] == cand[-1]) {
                ip--;
                cand--;
            }
            size_t ml = MIN_MATCH + common(ip + MIN_MATCH, cand + MIN_MATCH, match_end);
            op = put_seq(op, oend, anchor, (size_t)(ip - anchor), (size_t)(ip - cand), ml);
            if (!op)
                return 0;
            ip += ml;
            anchor = ip;
            /* seed the table just behind the new position: the next match
             * often starts there */
            if (ip <= last_start)
                table[hash4(rd32(ip - 2))] = (uint32_t)(ip - 2 - src);
        }
    }
    op = put_seq(op, oend, anchor, (size_t)(end - anchor), 0, 0);
    return op ? (size_t)(op - dst) : 0;
}

/* ---- frame writer ---- */

#define HEADER_MAX 15 /* magic, FLG, BD, content size, HC */
#define TRAILER 8     /* end mark, content checksum */

size_t lz4_frame_bound(size_t n)
{
    size_t blocks = n / LZ4_BLOCK_MAX + (n % LZ4_BLOCK_MAX != 0);
    size_t fixed = HEADER_MAX + TRAILER + 4 * blocks;
    return n > SIZE_MAX - fixed ? 0 : n + fixed;
}

int lz4_frame_compress(const void *src, size_t n, void *dst, size_t cap, size_t *ret_len,
                       void *work)
{
    const uint8_t *in = src;
    uint8_t *out = dst;
    if (((uintptr_t)work & 3) || (!src && n))
        return ERR_INVAL;
    if (cap < HEADER_MAX + TRAILER)
        return ERR_RANGE;
    wr32(out, MAGIC);
    out[4] = (uint8_t)(FLG_VERSION | FLG_INDEP | FLG_SUM | (n ? FLG_SIZE : 0));
    out[5] = 7 << 4; /* block maximum id 7: 4 MB */
    size_t pos = 6;
    if (n) {
        uint64_t v = n;
        for (int i = 0; i < 8; i++)
            out[pos++] = (uint8_t)(v >> (8 * i));
    }
    out[pos] = (uint8_t)(lz4_xxh32(out + 4, pos - 4, 0) >> 8);
    pos++;
    for (size_t done = 0; done < n;) {
        size_t len = MIN(n - done, LZ4_BLOCK_MAX);
        if (cap - pos < 4 + TRAILER)
            return ERR_RANGE;
        size_t room = cap - pos - 4 - TRAILER;
        /* compressed only when strictly smaller than the raw block */
        size_t clen = len > 1 ? block_compress(in + done, len, out + pos + 4,
                                               MIN(room, len - 1), work)
                              : 0;
        if (clen) {
            wr32(out + pos, (uint32_t)clen);
        } else {
            if (len > room)
                return ERR_RANGE;
            wr32(out + pos, (uint32_t)len | BLOCK_RAW);
            memcpy(out + pos + 4, in + done, len);
            clen = len;
        }
        pos += 4 + clen;
        done += len;
    }
    if (cap - pos < TRAILER)
        return ERR_RANGE;
    wr32(out + pos, 0);
    wr32(out + pos + 4, lz4_xxh32(in, n, 0));
    *ret_len = pos + TRAILER;
    return 0;
}

/* ---- frame reader ---- */

struct dec {
    const uint8_t *in;
    size_t n, ip;      /* input and read position */
    uint8_t *out;      /* NULL: only measure (lz4_frame_size) */
    size_t cap, op;    /* output capacity and bytes written */
    uint64_t total;    /* measure: size or bound so far */
    int exact;         /* measure: every frame declared its size */
    unsigned frame;    /* 1-based LZ4 frame, 0 before the first */
    unsigned block;    /* 1-based block in the frame, 0 in headers */
    char *err;
    size_t errcap;
};

/* Writes "frame F, block B: <message>" into err and returns rc. */
__attribute__((format(printf, 3, 4))) static int fail(struct dec *d, int rc, const char *fmt,
                                                      ...)
{
    if (!d->err || !d->errcap)
        return rc;
    size_t k = 0;
    if (d->frame > 1)
        k = (size_t)fmt_snprintf(d->err, d->errcap, "frame %u, ", d->frame);
    if (d->block && k < d->errcap)
        k += (size_t)fmt_snprintf(d->err + k, d->errcap - k, "block %u: ", d->block);
    if (k < d->errcap) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(d->err + k, d->errcap - k, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Reads a 255-continued length onto *v; the block's input ends at iend. */
static int get_len(struct dec *d, size_t *ip, size_t iend, size_t *v, const char *what)
{
    uint8_t b;
    do {
        if (*ip >= iend)
            return fail(d, ERR_FORMAT, "%s length runs past the end of the block", what);
        b = d->in[(*ip)++];
        *v += b; /* at most 255 per input byte: no overflow for 4 MB blocks */
    } while (b == 255);
    return 0;
}

/* Output would pass the end of the block's room, want bytes too far: the
 * block maximum (a format error) when at_block_max, else the caller's
 * capacity (ERR_RANGE). */
static int overflow(struct dec *d, size_t want, int at_block_max, size_t block_max)
{
    if (at_block_max)
        return fail(d, ERR_FORMAT, "decodes to more than the block maximum of %zu bytes",
                    block_max);
    return fail(d, ERR_RANGE, "output capacity of %zu bytes too small (%zu more needed here)",
                d->cap, want);
}

/* Decodes the compressed block in[ip..ip+len) at out[op..]; a match may
 * reach back to out[lower]. Ends right after a literal run. */
static int block_decode(struct dec *d, size_t ip, size_t len, size_t lower, size_t block_max)
{
    size_t iend = ip + len, start = d->op;
    int at_max = d->cap - start >= block_max; /* which end limits this block */
    size_t limit = at_max ? start + block_max : d->cap;
    uint8_t *out = d->out;
    for (;;) {
        if (ip >= iend)
            return fail(d, ERR_FORMAT, "ends after a match (the last sequence must be literals)");
        uint8_t token = d->in[ip++];
        size_t nlit = token >> 4, ml = token & 15;
        int rc;
        if (nlit == 15 && (rc = get_len(d, &ip, iend, &nlit, "literal")) != 0)
            return rc;
        if (nlit > iend - ip)
            return fail(d, ERR_FORMAT, "literal run of %zu bytes, only %zu left in the block",
                        nlit, iend - ip);
        if (nlit > limit - d->op)
            return overflow(d, nlit - (limit - d->op), at_max, block_max);
        memcpy(out + d->op, d->in + ip, nlit);
        d->op += nlit;
        ip += nlit;
        if (ip == iend)
            return 0;
        if (iend - ip < 2)
            return fail(d, ERR_FORMAT, "match offset cut off by the end of the block");
        size_t off = d->in[ip] | (size_t)d->in[ip + 1] << 8;
        ip += 2;
        if (off == 0)
            return fail(d, ERR_FORMAT, "match offset 0");
        if (off > d->op - lower)
            return fail(d, ERR_FORMAT, "match offset %zu beyond the %zu bytes decoded", off,
                        d->op - lower);
        if (ml == 15 && (rc = get_len(d, &ip, iend, &ml, "match")) != 0)
            return rc;
        ml += MIN_MATCH;
        if (ml > limit - d->op)
            return overflow(d, ml - (limit - d->op), at_max, block_max);
        uint8_t *o = out + d->op;
        const uint8_t *m = o - off;
        if (off >= ml) {
            memcpy(o, m, ml);
        } else { /* overlapping: repeats the last off bytes */
            for (size_t i = 0; i < ml; i++)
                o[i] = m[i];
        }
        d->op += ml;
    }
}

static int need(struct dec *d, size_t k, const char *what)
{
    if (d->n - d->ip >= k)
        return 0;
    return fail(d, ERR_FORMAT, "truncated: %s needs %zu bytes at input offset %zu, %zu left",
                what, k, d->ip, d->n - d->ip);
}

/* One LZ4 frame at d->ip (magic already checked): header, blocks, end mark,
 * checksum. Decodes into d->out, or only adds up sizes when it is NULL. */
static int frame_decode(struct dec *d)
{
    int rc;
    size_t hdr = d->ip + 4;
    if ((rc = need(d, 7, "frame header")) != 0)
        return rc;
    unsigned flg = d->in[hdr], bd = d->in[hdr + 1];
    if ((flg >> 6) != 1)
        return fail(d, ERR_UNSUPPORTED, "frame version %u (only 1 is defined)", flg >> 6);
    if (flg & FLG_RESERVED)
        return fail(d, ERR_FORMAT, "reserved FLG bit 1 set (FLG 0x%x)", flg);
    if (bd & 0x8F)
        return fail(d, ERR_FORMAT, "reserved BD bits set (BD 0x%x)", bd);
    unsigned id = bd >> 4 & 7;
    if (id < 4)
        return fail(d, ERR_FORMAT, "block maximum size id %u (4..7 allowed)", id);
    size_t block_max = (size_t)1 << (8 + 2 * id); /* 64 KB, 256 KB, 1 MB, 4 MB */
    size_t hlen = 7 + (flg & FLG_SIZE ? 8 : 0) + (flg & FLG_DICT ? 4 : 0);
    if ((rc = need(d, hlen, "frame header")) != 0)
        return rc;
    uint8_t hc = (uint8_t)(lz4_xxh32(d->in + hdr, hlen - 5, 0) >> 8);
    if (d->in[hdr + hlen - 5] != hc)
        return fail(d, ERR_FORMAT, "header checksum 0x%02x, computed 0x%02x",
                    d->in[hdr + hlen - 5], hc);
    uint64_t size = 0;
    if (flg & FLG_SIZE)
        for (int i = 0; i < 8; i++)
            size |= (uint64_t)d->in[hdr + 2 + i] << (8 * i);
    if (flg & FLG_DICT)
        return fail(d, ERR_UNSUPPORTED, "frame needs preset dictionary 0x%x (not supported)",
                    (unsigned)rd32(d->in + hdr + 2 + (flg & FLG_SIZE ? 8 : 0)));
    if (d->out && (flg & FLG_SIZE) && size > d->cap - d->op)
        return fail(d, ERR_RANGE, "content size %llu does not fit the output (%zu bytes left)",
                    (unsigned long long)size, d->cap - d->op);
    d->ip += hlen;

    size_t start = d->op;
    uint64_t bound = 0;
    for (d->block = 1;; d->block++) {
        if ((rc = need(d, 4, "block size")) != 0)
            return rc;
        uint32_t word = rd32(d->in + d->ip);
        d->ip += 4;
        if (word == 0)
            break;
        size_t len = word & ~BLOCK_RAW;
        if (len > block_max)
            return fail(d, ERR_FORMAT, "size %zu over the block maximum %zu", len, block_max);
        size_t sum_len = flg & FLG_BLOCK_SUM ? 4 : 0;
        if ((rc = need(d, len + sum_len, "block data")) != 0)
            return rc;
        if (sum_len) {
            uint32_t want = rd32(d->in + d->ip + len), got = lz4_xxh32(d->in + d->ip, len, 0);
            if (want != got)
                return fail(d, ERR_FORMAT, "block checksum 0x%08x, computed 0x%08x",
                            (unsigned)want, (unsigned)got);
        }
        if (!d->out) {
            uint64_t most = word & BLOCK_RAW ? len : MIN((uint64_t)block_max, 255 * (uint64_t)len);
            bound += most;
        } else if (word & BLOCK_RAW) {
            if (len > d->cap - d->op)
                return overflow(d, len - (d->cap - d->op), 0, block_max);
            memcpy(d->out + d->op, d->in + d->ip, len);
            d->op += len;
        } else if ((rc = block_decode(d, d->ip, len, flg & FLG_INDEP ? d->op : start,
                                      block_max)) != 0) {
            return rc;
        }
        d->ip += len + sum_len;
    }
    d->block = 0;
    if (d->out && (flg & FLG_SIZE) && size != d->op - start)
        return fail(d, ERR_FORMAT, "content size field says %llu bytes, the blocks hold %zu",
                    (unsigned long long)size, d->op - start);
    if (flg & FLG_SUM) {
        if ((rc = need(d, 4, "content checksum")) != 0)
            return rc;
        if (d->out) {
            uint32_t want = rd32(d->in + d->ip), got = lz4_xxh32(d->out + start, d->op - start, 0);
            if (want != got)
                return fail(d, ERR_FORMAT, "content checksum 0x%08x, computed 0x%08x",
                            (unsigned)want, (unsigned)got);
        }
        d->ip += 4;
    }
    if (!d->out) {
        if (!(flg & FLG_SIZE))
            d->exact = 0;
        if (size_add(d->total, flg & FLG_SIZE ? size : bound, &d->total) != 0)
            return fail(d, ERR_RANGE, "total content size overflows 64 bits");
    }
    return 0;
}

/* All frames of d->in in order; skippable frames are stepped over. */
static int run(struct dec *d)
{
    int rc;
    if (d->n == 0)
        return fail(d, ERR_FORMAT, "empty input (no LZ4 frame)");
    while (d->ip < d->n) {
        if (d->n - d->ip < 4)
            return fail(d, ERR_FORMAT, "%zu stray bytes at input offset %zu after the last frame",
                        d->n - d->ip, d->ip);
        uint32_t magic = rd32(d->in + d->ip);
        if ((magic & ~0xFu) == MAGIC_SKIP) {
            if ((rc = need(d, 8, "skippable frame header")) != 0)
                return rc;
            uint32_t len = rd32(d->in + d->ip + 4);
            d->ip += 8;
            if ((rc = need(d, len, "skippable frame")) != 0)
                return rc;
            d->ip += len;
            continue;
        }
        if (magic == MAGIC_LEGACY)
            return fail(d, ERR_UNSUPPORTED, "legacy LZ4 format (lz4 -l) at input offset %zu "
                        "not supported", d->ip);
        if (magic != MAGIC)
            return fail(d, ERR_FORMAT, "bad magic 0x%08x at input offset %zu (not an LZ4 frame)",
                        (unsigned)magic, d->ip);
        d->frame++;
        if ((rc = frame_decode(d)) != 0)
            return rc;
    }
    return 0;
}

int lz4_frame_decompress(const void *src, size_t n, void *dst, size_t cap, size_t *ret_len,
                         char *err, size_t errcap)
{
    struct dec d = {.in = src, .n = n, .out = dst, .cap = cap, .err = err, .errcap = errcap};
    if (err && errcap)
        err[0] = 0;
    if ((!src && n) || !dst)
        return fail(&d, ERR_INVAL, "no input or output buffer");
    int rc = run(&d);
    if (rc == 0)
        *ret_len = d.op;
    return rc;
}

int lz4_frame_size(const void *src, size_t n, uint64_t *ret_size, int *ret_exact, char *err,
                   size_t errcap)
{
    struct dec d = {.in = src, .n = n, .exact = 1, .err = err, .errcap = errcap};
    if (err && errcap)
        err[0] = 0;
    if (!src && n)
        return fail(&d, ERR_INVAL, "no input buffer");
    int rc = run(&d);
    if (rc == 0) {
        *ret_size = d.total;
        *ret_exact = d.exact;
    }
    return rc;
}
