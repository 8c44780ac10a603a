/* gguf.c - GGUF v2/v3 reader: two passes over each file's header region
 * (count, then store into one block), split files joined into one tensor
 * table. See gguf.h for what is validated and who owns what. */
#include "gguf.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c keeps numeric arrays as the file's little-endian bytes"
#endif

/* ---- type tables ---- */

static const struct {
    const char *name;
    uint16_t block_elems, block_bytes;
} ggml_types[GGML_TYPE_ID_LIMIT] = {
    [GGML_TYPE_F32] = {"F32", 1, 4},         [GGML_TYPE_F16] = {"F16", 1, 2},
    [GGML_TYPE_Q4_0] = {"Q4_0", 32, 18},     [GGML_TYPE_Q4_1] = {"Q4_1", 32, 20},
    [GGML_TYPE_Q5_0] = {"Q5_0", 32, 22},     [GGML_TYPE_Q5_1] = {"Q5_1", 32, 24},
    [GGML_TYPE_Q8_0] = {"Q8_0", 32, 34},     [GGML_TYPE_Q8_1] = {"Q8_1", 32, 36},
    [GGML_TYPE_Q2_K] = {"Q2_K", 256, 84},    [GGML_TYPE_Q3_K] = {"Q3_K", 256, 110},
    [GGML_TYPE_Q4_K] = {"Q4_K", 256, 144},   [GGML_TYPE_Q5_K] = {"Q5_K", 256, 176},
    [GGML_TYPE_Q6_K] = {"Q6_K", 256, 210},   [GGML_TYPE_Q8_K] = {"Q8_K", 256, 292},
    [GGML_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66}, [GGML_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74},
    [GGML_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98}, [GGML_TYPE_IQ1_S] = {"IQ1_S", 256, 50},
    [GGML_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18}, [GGML_TYPE_IQ3_S] = {"IQ3_S", 256, 110},
    [GGML_TYPE_IQ2_S] = {"IQ2_S", 256, 82},  [GGML_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136},
    [GGML_TYPE_I8] = {"I8", 1, 1},           [GGML_TYPE_I16] = {"I16", 1, 2},
    [GGML_TYPE_I32] = {"I32", 1, 4},         [GGML_TYPE_I64] = {"I64", 1, 8},
    [GGML_TYPE_F64] = {"F64", 1, 8},         [GGML_TYPE_IQ1_M] = {"IQ1_M", 256, 56},
    [GGML_TYPE_BF16] = {"BF16", 1, 2},       [GGML_TYPE_TQ1_0] = {"TQ1_0", 256, 54},
    [GGML_TYPE_TQ2_0] = {"TQ2_0", 256, 66},  [GGML_TYPE_MXFP4] = {"MXFP4", 32, 17},
    [GGML_TYPE_NVFP4] = {"NVFP4", 64, 36},   [GGML_TYPE_Q1_0] = {"Q1_0", 128, 18},
};

static const char *const vtype_names[GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};
static const uint8_t vtype_sizes[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *gguf_vtype_name(uint32_t vtype)
{
    return vtype < GGUF_TYPE_COUNT ? vtype_names[vtype] : "?";
}

size_t gguf_vtype_size(uint32_t vtype)
{
    return vtype < GGUF_TYPE_COUNT ? vtype_sizes[vtype] : 0;
}

const char *gguf_type_info(uint32_t type, uint32_t *ret_block_elems, uint32_t *ret_block_bytes)
{
    if (type >= GGML_TYPE_ID_LIMIT || !ggml_types[type].name)
        return NULL;
    if (ret_block_elems)
        *ret_block_elems = ggml_types[type].block_elems;
    if (ret_block_bytes)
        *ret_block_bytes = ggml_types[type].block_bytes;
    return ggml_types[type].name;
}

int gguf_type_supported(uint32_t type)
{
    switch (type) {
    case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16: case GGML_TYPE_Q4_0:
    case GGML_TYPE_Q4_1: case GGML_TYPE_Q8_0: case GGML_TYPE_Q4_K: case GGML_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

/* ---- small helpers ---- */

static uint16_t le16(const unsigned char *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint64_t le64(const unsigned char *b) { return le32(b) | (uint64_t)le32(b + 4) << 32; }

static uint64_t round_up(uint64_t v, uint64_t align) /* align: power of two, v small */
{
    return (v + align - 1) & ~(align - 1);
}

/* Copies n bytes of untrusted text as printable ASCII ('?' for the rest),
 * cut with "..." beyond 60 bytes. */
static void sanitize(char *dst, size_t cap, const char *s, uint64_t n)
{
    size_t o = 0;
    int cut = n > 60;
    if (cut)
        n = 57;
    for (uint64_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    for (int i = 0; cut && i < 3 && o + 1 < cap; i++)
        dst[o++] = '.';
    if (cap)
        dst[o < cap ? o : cap - 1] = 0;
}

static uint32_t hash_bytes(const char *s, uint64_t n)
{
    uint32_t h = 2166136261u;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static uint32_t hash_slots(uint64_t n) /* power of two >= 2n, n <= 2^20 */
{
    uint32_t m = 16;
    while (m < 2 * n)
        m <<= 1;
    return m;
}

/* ---- reading: a bounded window over a file, or a memory buffer ---- */

struct rd {
    const unsigned char *mem; /* gguf_parse's buffer, or NULL */
    size_t mem_len;
    plat_file *f;
    unsigned char *buf;       /* window over f */
    size_t cap;
    uint64_t wstart;
    size_t wlen;
    uint64_t pos, size;       /* invariant: pos <= size */
};

/* Errors of the rd_* functions: ERR_FORMAT past the file end, ERR_RANGE past
 * the memory given, ERR_IO when a file read comes up short. */
static int rd_fill(struct rd *r)
{
    int rc = plat_file_seek(r->f, r->pos);
    if (rc)
        return rc;
    size_t want = r->cap, got = 0;
    if (r->size - r->pos < want)
        want = (size_t)(r->size - r->pos);
    r->wstart = r->pos;
    r->wlen = 0;
    while (got < want) {
        size_t n;
        if ((rc = plat_file_read(r->f, r->buf + got, want - got, &n)) != 0)
            return rc;
        if (n == 0)
            break;
        got += n;
    }
    r->wlen = got;
    return 0;
}

/* Makes n (<= 64) bytes at pos available without consuming them. */
static int rd_peek(struct rd *r, size_t n, const unsigned char **ret)
{
    if (n > r->size - r->pos)
        return ERR_FORMAT;
    if (r->mem) {
        if (n > r->mem_len || r->pos > r->mem_len - n)
            return ERR_RANGE;
        *ret = r->mem + r->pos;
        return 0;
    }
    if (r->pos < r->wstart || r->pos + n > r->wstart + r->wlen) {
        int rc = rd_fill(r);
        if (rc)
            return rc;
        if (r->wlen < n)
            return ERR_IO;
    }
    *ret = r->buf + (r->pos - r->wstart);
    return 0;
}

/* Consumes n bytes, copying them to dst unless dst is NULL. */
static int rd_copy(struct rd *r, void *dst, uint64_t n)
{
    if (n > r->size - r->pos)
        return ERR_FORMAT;
    if (r->mem) {
        if (n > r->mem_len || r->pos > r->mem_len - n)
            return ERR_RANGE;
        if (dst && n)
            memcpy(dst, r->mem + r->pos, (size_t)n);
        r->pos += n;
        return 0;
    }
    unsigned char *d = dst;
    while (d && n) {
        if (r->pos < r->wstart || r->pos >= r->wstart + r->wlen) {
            int rc = rd_fill(r);
            if (rc)
                return rc;
            if (r->wlen == 0)
                return ERR_IO;
        }
        size_t off = (size_t)(r->pos - r->wstart), k = r->wlen - off;
        if (k > n)
            k = (size_t)n;
        memcpy(d, r->buf + off, k);
        d += k;
        n -= k;
        r->pos += k;
    }
    r->pos += n; /* skipped */
    return 0;
}

/* ---- the parser: one part at a time, counting or storing ---- */

/* What a pass learns about one part. */
struct part_scan {
    uint64_t file_size, n_kv, n_tensors;
    uint64_t var_bytes;   /* block bytes for this part's strings/arrays/names */
    uint64_t data_offset;
    uint32_t version, alignment;
    int64_t split_no, split_count, split_tensors; /* -1 when absent */
};

struct parser {
    struct rd r;
    int store;                 /* 0: counting pass, 1: storing pass */
    int keep_kv;               /* this part's metadata is kept (first part) */
    unsigned char *arena;      /* storing: the block */
    uint64_t used, cap;
    struct gguf_kv *kv;        /* storing: [n_kv] of the first part */
    struct gguf_tensor *tensors; /* storing: the joined table */
    uint64_t t_base;           /* index of this part's first tensor */
    uint32_t part;
    uint32_t *kv_hash, *t_hash, kv_mask, t_mask;
    struct part_scan *scan;
    const struct part_scan *expect; /* storing: the counting pass's results */
    char *err;
    size_t errcap;
    char prefix[112];          /* "part 2 of 3 'x-00002-of-00003.gguf': " */
    char where[112];           /* "metadata key 'general.name'" */
    int64_t elem;              /* array element being read, or -1 */
};

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, int rc, const char *fmt, ...)
{
    if (p->err && p->errcap) {
        char msg[224], el[40] = "";
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (p->elem >= 0)
            fmt_snprintf(el, sizeof el, "element %lld: ", (long long)p->elem);
        fmt_snprintf(p->err, p->errcap, "gguf: %s%s%s%s%s", p->prefix, p->where,
                     p->where[0] ? ": " : "", el, msg);
    }
    return rc;
}

static int rd_fail(struct parser *p, int rc, const char *what)
{
    switch (rc) {
    case ERR_FORMAT:
        return fail(p, rc, "%s ends past the file end %llu", what, (unsigned long long)p->r.size);
    case ERR_RANGE:
        return fail(p, rc, "%s lies beyond the %llu bytes given (the header region is longer)",
                    what, (unsigned long long)p->r.mem_len);
    case ERR_IO:
        return fail(p, rc, "%s: the file ended early at offset %llu (changed while reading?)",
                    what, (unsigned long long)(p->r.wstart + p->r.wlen));
    default:
        return fail(p, rc, "%s: read error at offset %llu: %s", what,
                    (unsigned long long)p->r.pos, err_str(rc));
    }
}

static int get_bytes(struct parser *p, size_t n, const char *what, const unsigned char **ret)
{
    int rc = rd_peek(&p->r, n, ret);
    if (rc)
        return rd_fail(p, rc, what);
    p->r.pos += n;
    return 0;
}

static int get_u32(struct parser *p, const char *what, uint32_t *ret)
{
    const unsigned char *b;
    int rc = get_bytes(p, 4, what, &b);
    if (!rc)
        *ret = le32(b);
    return rc;
}

static int get_u64(struct parser *p, const char *what, uint64_t *ret)
{
    const unsigned char *b;
    int rc = get_bytes(p, 8, what, &b);
    if (!rc)
        *ret = le64(b);
    return rc;
}

/* Reserves n bytes of the block (counting pass: only counts). */
static int take(struct parser *p, uint64_t n, uint64_t align, void **ret)
{
    uint64_t off = round_up(p->used, align), end;
    *ret = NULL;
    if (size_add(off, n, &end) || (!p->store && end > GGUF_MAX_META_BYTES))
        return fail(p, ERR_RANGE, "metadata needs more than %llu bytes (the limit)",
                    (unsigned long long)GGUF_MAX_META_BYTES);
    if (p->store) {
        if (end > p->cap)
            return fail(p, ERR_IO, "the file changed between the two reads");
        *ret = p->arena + off;
    }
    p->used = end;
    return 0;
}

/* Reads a string: uint64 length (at most max) and the bytes. keep: copy it
 * into the block with a NUL (counting pass: count it); else skip it. peek
 * (both passes, may be NULL): the first bytes, NUL-terminated. */
static int read_str(struct parser *p, const char *what, uint64_t max, int keep, char *peek,
                    size_t peek_cap, struct gguf_str *ret)
{
    uint64_t n;
    int rc;
    char lw[32];
    fmt_snprintf(lw, sizeof lw, "%s length", what);
    if ((rc = get_u64(p, lw, &n)) != 0)
        return rc;
    uint64_t left = p->r.size - p->r.pos;
    if (n > left)
        return fail(p, ERR_FORMAT, "%s length %llu exceeds the file (%llu bytes left)", what,
                    (unsigned long long)n, (unsigned long long)left);
    if (n > max)
        return fail(p, ERR_FORMAT, "%s length %llu exceeds %llu", what, (unsigned long long)n,
                    (unsigned long long)max);
    if (peek) {
        size_t k = n < peek_cap ? (size_t)n : peek_cap - 1;
        const unsigned char *b;
        if ((rc = rd_peek(&p->r, k, &b)) != 0)
            return rd_fail(p, rc, what);
        memcpy(peek, b, k);
        peek[k] = 0;
    }
    char *dst = NULL;
    if (keep && (rc = take(p, n + 1, 1, (void **)&dst)) != 0)
        return rc;
    if ((rc = rd_copy(&p->r, dst, n)) != 0)
        return rd_fail(p, rc, what);
    if (dst)
        dst[n] = 0;
    ret->s = dst;
    ret->n = n;
    return 0;
}

static void decode_scalar(uint32_t t, const unsigned char *b, struct gguf_kv *kv)
{
    float f;
    uint32_t u;
    uint64_t u64;
    switch (t) {
    case GGUF_TYPE_UINT8: kv->v.u64 = b[0]; break;
    case GGUF_TYPE_INT8: kv->v.i64 = (int8_t)b[0]; break;
    case GGUF_TYPE_UINT16: kv->v.u64 = le16(b); break;
    case GGUF_TYPE_INT16: kv->v.i64 = (int16_t)le16(b); break;
    case GGUF_TYPE_UINT32: kv->v.u64 = le32(b); break;
    case GGUF_TYPE_INT32: kv->v.i64 = (int32_t)le32(b); break;
    case GGUF_TYPE_BOOL: kv->v.u64 = b[0] != 0; break;
    case GGUF_TYPE_UINT64: kv->v.u64 = le64(b); break;
    case GGUF_TYPE_INT64: kv->v.i64 = (int64_t)le64(b); break;
    case GGUF_TYPE_FLOAT32:
        u = le32(b);
        memcpy(&f, &u, 4);
        kv->v.f64 = f;
        break;
    case GGUF_TYPE_FLOAT64:
        u64 = le64(b);
        memcpy(&kv->v.f64, &u64, 8);
        break;
    }
}

static int is_key(const char *peek, const struct gguf_kv *kv, const char *name)
{
    return kv->key.n == strlen(name) && strcmp(peek, name) == 0;
}

/* Inserts entry idx (name s[0..n)) into a table; returns the index of an
 * existing entry with the same name, or -1. */
static int64_t hash_insert(uint32_t *slots, uint32_t mask, uint32_t idx, const char *s, uint64_t n,
                           const struct gguf_kv *kv, const struct gguf_tensor *t)
{
    uint32_t i = hash_bytes(s, n) & mask;
    for (; slots[i]; i = (i + 1) & mask) {
        uint32_t o = slots[i] - 1;
        const char *os = kv ? kv[o].key.s : t[o].name;
        uint64_t on = kv ? kv[o].key.n : t[o].name_len;
        if (on == n && memcmp(os, s, (size_t)n) == 0)
            return o;
    }
    slots[i] = idx + 1;
    return -1;
}

/* A split.* or general.alignment value as a non-negative integer. */
static int special_int(struct parser *p, const struct gguf_kv *kv, int64_t *ret)
{
    if (gguf_kv_int(kv, ret) != 0 || *ret < 0)
        return fail(p, ERR_FORMAT, "expected a non-negative integer, found %s",
                    gguf_vtype_name(kv->type));
    return 0;
}

static int read_kv(struct parser *p, uint64_t idx)
{
    struct gguf_kv kv;
    char key[64];
    int rc;
    memset(&kv, 0, sizeof kv);
    p->elem = -1;
    fmt_snprintf(p->where, sizeof p->where, "metadata key #%llu", (unsigned long long)idx);
    if ((rc = read_str(p, "key", GGUF_MAX_KEY_LEN, p->keep_kv, key, sizeof key, &kv.key)) != 0)
        return rc;
    char shown[72];
    sanitize(shown, sizeof shown, key, kv.key.n < sizeof key ? kv.key.n : sizeof key - 1);
    if (kv.key.n >= sizeof key)
        fmt_snprintf(shown + strlen(shown), sizeof shown - strlen(shown), "...");
    fmt_snprintf(p->where, sizeof p->where, "metadata key '%s'", shown);

    uint32_t t;
    if ((rc = get_u32(p, "value type", &t)) != 0)
        return rc;
    if (t >= GGUF_TYPE_COUNT)
        return fail(p, ERR_FORMAT, "unknown value type %u", t);
    kv.type = kv.elem_type = t;
    kv.n = 1;
    if (t == GGUF_TYPE_ARRAY) {
        uint32_t et;
        uint64_t n;
        if ((rc = get_u32(p, "array type", &et)) != 0 || (rc = get_u64(p, "array length", &n)))
            return rc;
        if (et == GGUF_TYPE_ARRAY)
            return fail(p, ERR_UNSUPPORTED, "arrays of arrays are not supported");
        if (et >= GGUF_TYPE_COUNT)
            return fail(p, ERR_FORMAT, "unknown array element type %u", et);
        if (n > GGUF_MAX_ARRAY)
            return fail(p, ERR_RANGE, "array of %llu elements exceeds the limit %u",
                        (unsigned long long)n, GGUF_MAX_ARRAY);
        kv.elem_type = et;
        kv.n = n;
        uint64_t left = p->r.size - p->r.pos;
        void *dst = NULL;
        if (et == GGUF_TYPE_STRING) {
            if (n > left / 8)
                return fail(p, ERR_FORMAT, "array of %llu strings exceeds the file (%llu bytes left)",
                            (unsigned long long)n, (unsigned long long)left);
            if (p->keep_kv && (rc = take(p, n * sizeof(struct gguf_str), 8, &dst)) != 0)
                return rc;
            struct gguf_str *strs = dst, s;
            for (uint64_t i = 0; i < n; i++) {
                p->elem = (int64_t)i;
                if ((rc = read_str(p, "string", UINT64_MAX, p->keep_kv, NULL, 0, &s)) != 0)
                    return rc;
                if (strs)
                    strs[i] = s;
            }
            p->elem = -1;
        } else {
            uint64_t bytes = n * vtype_sizes[et];
            if (bytes > left)
                return fail(p, ERR_FORMAT, "array of %llu %s (%llu bytes) exceeds the file "
                            "(%llu bytes left)", (unsigned long long)n, vtype_names[et],
                            (unsigned long long)bytes, (unsigned long long)left);
            if (p->keep_kv && (rc = take(p, bytes, 8, &dst)) != 0)
                return rc;
            if ((rc = rd_copy(&p->r, dst, bytes)) != 0)
                return rd_fail(p, rc, "array");
        }
        kv.v.data = dst;
    } else if (t == GGUF_TYPE_STRING) {
        if ((rc = read_str(p, "string", UINT64_MAX, p->keep_kv, NULL, 0, &kv.v.str)) != 0)
            return rc;
    } else {
        const unsigned char *b;
        if ((rc = get_bytes(p, vtype_sizes[t], "value", &b)) != 0)
            return rc;
        decode_scalar(t, b, &kv);
    }

    /* keys the reader itself needs, in both passes */
    struct part_scan *s = p->scan;
    int64_t v;
    if (is_key(key, &kv, "general.alignment")) {
        if (t != GGUF_TYPE_UINT32)
            return fail(p, ERR_FORMAT, "expected type uint32, found %s", gguf_vtype_name(t));
        if (kv.v.u64 == 0 || (kv.v.u64 & (kv.v.u64 - 1)))
            return fail(p, ERR_FORMAT, "alignment %llu is not a power of two",
                        (unsigned long long)kv.v.u64);
        s->alignment = (uint32_t)kv.v.u64;
    } else if (is_key(key, &kv, "split.no")) {
        if ((rc = special_int(p, &kv, &v)) != 0)
            return rc;
        s->split_no = v;
    } else if (is_key(key, &kv, "split.count")) {
        if ((rc = special_int(p, &kv, &v)) != 0)
            return rc;
        s->split_count = v;
    } else if (is_key(key, &kv, "split.tensors.count")) {
        if ((rc = special_int(p, &kv, &v)) != 0)
            return rc;
        s->split_tensors = v;
    }

    if (p->store && p->keep_kv) {
        p->kv[idx] = kv;
        int64_t dup = hash_insert(p->kv_hash, p->kv_mask, (uint32_t)idx, kv.key.s, kv.key.n,
                                  p->kv, NULL);
        if (dup >= 0) {
            p->where[0] = 0;
            return fail(p, ERR_FORMAT, "metadata key '%s' appears twice (#%lld and #%llu)",
                        shown, (long long)dup, (unsigned long long)idx);
        }
    }
    return 0;
}

static int read_tensor(struct parser *p, uint64_t idx)
{
    struct gguf_tensor t;
    struct gguf_str s;
    char name[GGUF_MAX_NAME + 1], shown[72];
    int rc;
    memset(&t, 0, sizeof t);
    fmt_snprintf(p->where, sizeof p->where, "tensor #%llu", (unsigned long long)idx);
    if ((rc = read_str(p, "name", GGUF_MAX_NAME, 1, name, sizeof name, &s)) != 0)
        return rc;
    t.name = s.s;
    t.name_len = (uint32_t)s.n;
    sanitize(shown, sizeof shown, name, s.n);
    fmt_snprintf(p->where, sizeof p->where, "tensor '%s'", shown);

    if ((rc = get_u32(p, "n_dims", &t.n_dims)) != 0)
        return rc;
    if (t.n_dims > GGUF_MAX_DIMS)
        return fail(p, ERR_FORMAT, "n_dims %u exceeds %d", t.n_dims, GGUF_MAX_DIMS);
    uint64_t n_el = 1;
    int overflow = 0;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t.dims[d] = 1;
        if (d < t.n_dims) {
            char what[16];
            fmt_snprintf(what, sizeof what, "dims[%u]", d);
            if ((rc = get_u64(p, what, &t.dims[d])) != 0)
                return rc;
            if (t.dims[d] > (uint64_t)INT64_MAX)
                return fail(p, ERR_FORMAT, "dims[%u] = %llu is out of range", d,
                            (unsigned long long)t.dims[d]);
        }
        if (size_mul(n_el, t.dims[d], &n_el) || n_el > (uint64_t)INT64_MAX)
            overflow = 1;
    }
    if (overflow)
        return fail(p, ERR_FORMAT, "element count of [%llu, %llu, %llu, %llu] overflows",
                    (unsigned long long)t.dims[0], (unsigned long long)t.dims[1],
                    (unsigned long long)t.dims[2], (unsigned long long)t.dims[3]);
    t.n_elements = n_el;

    if ((rc = get_u32(p, "type", &t.type)) != 0)
        return rc;
    uint32_t be, bb;
    const char *tname = gguf_type_info(t.type, &be, &bb);
    if (!tname)
        return fail(p, ERR_FORMAT, "unknown ggml type %u", t.type);
    if (t.dims[0] % be)
        return fail(p, ERR_FORMAT, "row length %llu is not a multiple of the %s block size %u",
                    (unsigned long long)t.dims[0], tname, be);
    if (size_mul(n_el / be, bb, &t.n_bytes))
        return fail(p, ERR_FORMAT, "byte size of %llu %s elements overflows",
                    (unsigned long long)n_el, tname);
    t.supported = gguf_type_supported(t.type);
    t.part = p->part;

    if ((rc = get_u64(p, "offset", &t.offset)) != 0)
        return rc;
    if (t.offset & (p->scan->alignment - 1))
        return fail(p, ERR_FORMAT, "offset %llu is not a multiple of the alignment %u",
                    (unsigned long long)t.offset, p->scan->alignment);
    if (p->store)
        p->tensors[p->t_base + idx] = t;
    return 0;
}

/* Tensor data ranges against the file, absolute offsets, unique names. */
static int place_tensors(struct parser *p)
{
    struct part_scan *s = p->scan;
    for (uint64_t i = 0; i < s->n_tensors; i++) {
        struct gguf_tensor *t = &p->tensors[p->t_base + i];
        char shown[72];
        sanitize(shown, sizeof shown, t->name, t->name_len);
        fmt_snprintf(p->where, sizeof p->where, "tensor '%s'", shown);
        uint64_t start, end;
        if (size_add(s->data_offset, t->offset, &start) || size_add(start, t->n_bytes, &end))
            return fail(p, ERR_FORMAT, "data offset %llu + %llu bytes overflows",
                        (unsigned long long)t->offset, (unsigned long long)t->n_bytes);
        if (end > s->file_size)
            return fail(p, ERR_FORMAT, "data [%llu, %llu) ends past the file end %llu",
                        (unsigned long long)start, (unsigned long long)end,
                        (unsigned long long)s->file_size);
        t->offset = start;
        uint32_t gi = (uint32_t)(p->t_base + i);
        int64_t dup = hash_insert(p->t_hash, p->t_mask, gi, t->name, t->name_len, NULL, p->tensors);
        if (dup >= 0) {
            p->where[0] = 0;
            return fail(p, ERR_FORMAT, "tensor '%s' appears twice (#%lld and #%u)", shown,
                        (long long)dup, gi);
        }
    }
    p->where[0] = 0;
    return 0;
}

static int parse_part(struct parser *p)
{
    struct part_scan *s = p->scan;
    const unsigned char *b;
    int rc;
    memset(s, 0, sizeof *s);
    s->file_size = p->r.size;
    s->alignment = GGUF_DEFAULT_ALIGNMENT;
    s->split_no = s->split_count = s->split_tensors = -1;
    p->where[0] = 0;
    p->elem = -1;
    if (p->r.size < GGUF_HEADER_BYTES)
        return fail(p, ERR_FORMAT, "file has %llu bytes, less than the %u-byte GGUF header",
                    (unsigned long long)p->r.size, GGUF_HEADER_BYTES);
    if ((rc = get_bytes(p, 4, "magic", &b)) != 0)
        return rc;
    if (memcmp(b, "GGUF", 4) != 0) {
        char m[8];
        sanitize(m, sizeof m, (const char *)b, 4);
        return fail(p, ERR_FORMAT, "bad magic '%s' (expected 'GGUF')", m);
    }
    if ((rc = get_u32(p, "version", &s->version)) != 0)
        return rc;
    if (s->version != 2 && s->version != 3) {
        if (s->version > 0xffff && (s->version & 0xffff) == 0)
            return fail(p, ERR_UNSUPPORTED, "version 0x%x looks byte-swapped: big-endian GGUF "
                        "is not supported", s->version);
        return fail(p, ERR_UNSUPPORTED, "version %u is not supported (need 2 or 3)", s->version);
    }
    if ((rc = get_u64(p, "tensor count", &s->n_tensors)) != 0 ||
        (rc = get_u64(p, "metadata count", &s->n_kv)) != 0)
        return rc;
    if (s->n_tensors > GGUF_MAX_TENSORS)
        return fail(p, ERR_RANGE, "tensor count %llu exceeds the limit %u",
                    (unsigned long long)s->n_tensors, GGUF_MAX_TENSORS);
    if (s->n_kv > GGUF_MAX_KV)
        return fail(p, ERR_RANGE, "metadata count %llu exceeds the limit %u",
                    (unsigned long long)s->n_kv, GGUF_MAX_KV);
    /* every entry takes at least 13 bytes, every tensor info 24 */
    uint64_t least = s->n_kv * 13 + s->n_tensors * 24, left = p->r.size - p->r.pos;
    if (least > left)
        return fail(p, ERR_FORMAT, "%llu metadata entries and %llu tensors need at least %llu "
                    "bytes, the file has %llu after the header", (unsigned long long)s->n_kv,
                    (unsigned long long)s->n_tensors, (unsigned long long)least,
                    (unsigned long long)left);
    if (p->store && (s->n_kv != p->expect->n_kv || s->n_tensors != p->expect->n_tensors))
        return fail(p, ERR_IO, "the file changed between the two reads");

    uint64_t used0 = p->used;
    for (uint64_t i = 0; i < s->n_kv; i++)
        if ((rc = read_kv(p, i)) != 0)
            return rc;
    p->elem = -1;
    for (uint64_t i = 0; i < s->n_tensors; i++)
        if ((rc = read_tensor(p, i)) != 0)
            return rc;
    p->where[0] = 0;
    s->data_offset = round_up(p->r.pos, s->alignment); /* pos <= size, alignment <= 2^31 */
    s->var_bytes = p->used - used0;
    if (p->store)
        return place_tensors(p);
    return 0;
}

/* ---- split names ---- */

static int digits_before(const char *s, size_t end, size_t *ret_start, uint32_t *ret_v)
{
    size_t b = end;
    while (b > 0 && s[b - 1] >= '0' && s[b - 1] <= '9')
        b--;
    if (end - b < 5 || end - b > 9)
        return 0;
    uint32_t v = 0;
    for (size_t i = b; i < end; i++)
        v = v * 10 + (uint32_t)(s[i] - '0');
    *ret_start = b;
    *ret_v = v;
    return 1;
}

/* Finds -NNNNN-of-MMMMM.gguf at the end of path: the part number's digits
 * are path[*ret_at .. *ret_at + *ret_len). */
static int split_name_pos(const char *path, size_t *ret_at, size_t *ret_len, uint32_t *ret_no,
                          uint32_t *ret_count)
{
    size_t n = strlen(path), cb, nb;
    uint32_t no, count;
    if (n < 5 || !str_ends_with_ci(path, ".gguf") || !digits_before(path, n - 5, &cb, &count))
        return 0;
    if (cb < 4 || path[cb - 4] != '-' || (path[cb - 3] | 0x20) != 'o' ||
        (path[cb - 2] | 0x20) != 'f' || path[cb - 1] != '-')
        return 0;
    if (!digits_before(path, cb - 4, &nb, &no) || nb == 0 || path[nb - 1] != '-')
        return 0;
    if (no == 0 || count == 0 || no > count)
        return 0;
    *ret_at = nb;
    *ret_len = cb - 4 - nb;
    *ret_no = no;
    *ret_count = count;
    return 1;
}

int gguf_split_name(const char *path, uint32_t *ret_no, uint32_t *ret_count)
{
    size_t at, len;
    uint32_t no, count;
    if (!split_name_pos(path, &at, &len, &no, &count))
        return 0;
    *ret_no = no;
    *ret_count = count;
    return 1;
}

/* The path of part k (1-based) next to the first part's path: the part
 * number is rewritten with the same number of digits. */
static void sibling_path(const char *path, uint32_t k, char *out, size_t cap)
{
    size_t at = 0, len = 0;
    uint32_t no, count;
    split_name_pos(path, &at, &len, &no, &count);
    str_copy(out, cap, path);
    for (size_t i = 0; i < len; i++, k /= 10)
        if (at + len - 1 - i < cap - 1)
            out[at + len - 1 - i] = (char)('0' + k % 10);
}

/* ---- open/parse ---- */

struct source {
    const char *path;          /* file, or NULL for memory */
    const unsigned char *mem;
    size_t mem_len;
    uint64_t mem_size;
};

/* Runs one pass over part k of n. */
static int run_part(struct parser *p, const struct source *src, uint32_t k, uint32_t n,
                    unsigned char *window, size_t window_cap)
{
    int rc;
    memset(&p->r, 0, sizeof p->r);
    p->used = round_up(p->used, 8); /* both passes start a part 8-aligned */
    p->part = k;
    p->keep_kv = k == 0;
    p->prefix[0] = 0;
    p->where[0] = 0;
    p->elem = -1;
    if (k > 0) {
        char shown[72];
        const char *bn = path_base(src->path);
        sanitize(shown, sizeof shown, bn, strlen(bn));
        fmt_snprintf(p->prefix, sizeof p->prefix, "part %u of %u '%s': ", k + 1, n, shown);
    }
    if (!src->path) {
        p->r.mem = src->mem;
        p->r.mem_len = src->mem_len;
        p->r.size = src->mem_size;
        return parse_part(p);
    }
    if ((rc = plat_file_open(src->path, &p->r.f)) != 0) {
        if (k > 0 && rc == ERR_NOT_FOUND)
            return fail(p, rc, "split part is missing");
        char shown[72];
        sanitize(shown, sizeof shown, src->path, strlen(src->path));
        return fail(p, rc, "cannot open '%s': %s", shown, err_str(rc));
    }
    p->r.buf = window;
    p->r.cap = window_cap;
    if ((rc = plat_file_size(p->r.f, &p->r.size)) != 0)
        rc = fail(p, rc, "cannot get the file size: %s", err_str(rc));
    else
        rc = parse_part(p);
    plat_file_close(p->r.f);
    p->r.f = NULL;
    return rc;
}

/* Split metadata of part k (1-based k+1) against the first part's. */
static int check_part(struct parser *p, const struct part_scan *s, uint32_t k, uint32_t n)
{
    if (s->split_no != (int64_t)k)
        return s->split_no < 0 ? fail(p, ERR_FORMAT, "split.no is missing")
                               : fail(p, ERR_FORMAT, "split.no is %lld, expected %u",
                                      (long long)s->split_no, k);
    if (s->split_count != (int64_t)n)
        return fail(p, ERR_FORMAT, "split.count is %lld, expected %u", (long long)s->split_count, n);
    return 0;
}

static int load(struct gguf_file *g, const char *path, const void *mem, size_t mem_len,
                uint64_t mem_size, size_t chunk, char *err, size_t errcap)
{
    struct parser p;
    struct part_scan scan0, cur, *scans = &scan0;
    struct source src = {path, mem, mem_len, mem_size};
    unsigned char *window = NULL, *block = NULL;
    size_t scans_bytes = 0;
    uint64_t total = 0;
    uint32_t n_parts = 1;
    char part_path[GGUF_MAX_PATH + 1];
    int rc;

    memset(g, 0, sizeof *g);
    memset(&p, 0, sizeof p);
    if (err && errcap)
        err[0] = 0;
    p.err = err;
    p.errcap = errcap;
    p.elem = -1;
    if (path) {
        if (strlen(path) > GGUF_MAX_PATH)
            return fail(&p, ERR_RANGE, "path longer than %u bytes", GGUF_MAX_PATH);
        if (chunk < 64)
            chunk = 64;
        if (!(window = plat_alloc(chunk)))
            return fail(&p, ERR_NOMEM, "cannot allocate the %zu-byte read buffer", chunk);
    }

    /* Pass 1: count every part. */
    p.scan = &scan0;
    if ((rc = run_part(&p, &src, 0, 1, window, chunk)) != 0)
        goto out;
    if (path && scan0.split_no > 0) {
        if (scan0.split_count > 0)
            rc = fail(&p, ERR_FORMAT, "this is part %lld of %lld (split.no %lld); open the "
                      "first part", (long long)scan0.split_no + 1, (long long)scan0.split_count,
                      (long long)scan0.split_no);
        else
            rc = fail(&p, ERR_FORMAT, "this is part %lld of a split model (split.no %lld); open "
                      "the first part", (long long)scan0.split_no + 1, (long long)scan0.split_no);
        goto out;
    }
    if (path && scan0.split_count > 1) {
        uint32_t no, count;
        if (scan0.split_count > GGUF_MAX_PARTS) {
            rc = fail(&p, ERR_RANGE, "split.count %lld exceeds the limit %u",
                      (long long)scan0.split_count, GGUF_MAX_PARTS);
            goto out;
        }
        n_parts = (uint32_t)scan0.split_count;
        if (!gguf_split_name(path, &no, &count) || no != 1 || count != n_parts) {
            rc = fail(&p, ERR_FORMAT, "split.count is %u but the file name does not end in "
                      "-00001-of-%05u.gguf", n_parts, n_parts);
            goto out;
        }
        scans_bytes = n_parts * sizeof *scans;
        if (!(scans = plat_alloc(scans_bytes))) {
            scans = &scan0;
            rc = fail(&p, ERR_NOMEM, "out of memory for %u split parts", n_parts);
            goto out;
        }
        scans[0] = scan0;
        for (uint32_t k = 1; k < n_parts; k++) {
            sibling_path(path, k + 1, part_path, sizeof part_path);
            src.path = part_path;
            p.scan = &scans[k];
            if ((rc = run_part(&p, &src, k, n_parts, window, chunk)) != 0 ||
                (rc = check_part(&p, &scans[k], k, n_parts)) != 0)
                goto out;
        }
        p.prefix[0] = 0;
    }

    /* Layout of the block: fixed tables, then each part's strings/arrays. */
    uint64_t n_tensors = 0, var = 0, path_bytes = 0;
    for (uint32_t k = 0; k < n_parts; k++) {
        n_tensors += scans[k].n_tensors;
        var += round_up(scans[k].var_bytes, 8);
        if (path) {
            sibling_path(path, k + 1, part_path, sizeof part_path);
            path_bytes += strlen(k ? part_path : path) + 1;
        } else {
            path_bytes += 1;
        }
    }
    if (n_tensors > GGUF_MAX_TENSORS) {
        rc = fail(&p, ERR_RANGE, "the %u split parts hold %llu tensors, above the limit %u",
                  n_parts, (unsigned long long)n_tensors, GGUF_MAX_TENSORS);
        goto out;
    }
    if (n_parts > 1 && scan0.split_tensors >= 0 && (uint64_t)scan0.split_tensors != n_tensors) {
        rc = fail(&p, ERR_FORMAT, "split.tensors.count is %lld but the %u parts hold %llu tensors",
                  (long long)scan0.split_tensors, n_parts, (unsigned long long)n_tensors);
        goto out;
    }
    uint32_t kv_slots = hash_slots(scan0.n_kv), t_slots = hash_slots(n_tensors);
    uint64_t o_parts = 0;
    uint64_t o_kv = round_up(o_parts + n_parts * sizeof(struct gguf_part), 8);
    uint64_t o_t = round_up(o_kv + scan0.n_kv * sizeof(struct gguf_kv), 8);
    uint64_t o_kvh = round_up(o_t + n_tensors * sizeof(struct gguf_tensor), 8);
    uint64_t o_th = o_kvh + (uint64_t)kv_slots * 4;
    uint64_t o_paths = o_th + (uint64_t)t_slots * 4;
    uint64_t fixed = round_up(o_paths + path_bytes, 64);
    total = fixed + var;
    if (total > GGUF_MAX_META_BYTES) {
        rc = fail(&p, ERR_RANGE, "metadata needs %llu bytes, above the limit %llu",
                  (unsigned long long)total, (unsigned long long)GGUF_MAX_META_BYTES);
        goto out;
    }
    if (!(block = plat_alloc((size_t)total))) {
        rc = fail(&p, ERR_NOMEM, "out of memory for %llu bytes of metadata",
                  (unsigned long long)total);
        goto out;
    }

    /* Pass 2: store every part. */
    struct gguf_part *parts = (struct gguf_part *)(block + o_parts);
    char *paths = (char *)(block + o_paths);
    p.store = 1;
    p.arena = block;
    p.cap = total;
    p.used = fixed;
    p.kv = (struct gguf_kv *)(block + o_kv);
    p.tensors = (struct gguf_tensor *)(block + o_t);
    p.kv_hash = (uint32_t *)(block + o_kvh);
    p.kv_mask = kv_slots - 1;
    p.t_hash = (uint32_t *)(block + o_th);
    p.t_mask = t_slots - 1;
    p.t_base = 0;
    src.path = path;
    for (uint32_t k = 0; k < n_parts; k++) {
        if (path && k > 0) {
            sibling_path(path, k + 1, part_path, sizeof part_path);
            src.path = part_path;
        }
        p.expect = &scans[k];
        p.scan = &cur;
        if ((rc = run_part(&p, &src, k, n_parts, window, chunk)) != 0 ||
            (k > 0 && (rc = check_part(&p, &cur, k, n_parts)) != 0))
            goto out;
        size_t pl = strlen(src.path ? src.path : "");
        memcpy(paths, src.path ? src.path : "", pl + 1);
        parts[k].path = paths;
        paths += pl + 1;
        parts[k].file_size = cur.file_size;
        parts[k].data_offset = cur.data_offset;
        parts[k].version = cur.version;
        parts[k].n_tensors = (uint32_t)cur.n_tensors;
        p.t_base += cur.n_tensors;
        if (k == 0)
            g->alignment = cur.alignment;
    }

    g->version = parts[0].version;
    g->n_kv = scan0.n_kv;
    g->kv = p.kv;
    g->n_tensors = n_tensors;
    g->tensors = p.tensors;
    g->n_parts = n_parts;
    g->parts = parts;
    for (uint64_t i = 0; i < n_tensors; i++) {
        g->tensor_bytes += p.tensors[i].n_bytes;
        g->n_unsupported += !p.tensors[i].supported;
    }
    g->block = block;
    g->block_bytes = (size_t)total;
    g->kv_hash = p.kv_hash;
    g->kv_mask = p.kv_mask;
    g->t_hash = p.t_hash;
    g->t_mask = p.t_mask;
    block = NULL;
    rc = 0;
out:
    if (block) {
        plat_free(block, (size_t)total);
        memset(g, 0, sizeof *g);
    }
    if (scans != &scan0)
        plat_free(scans, scans_bytes);
    if (window)
        plat_free(window, chunk);
    return rc;
}

int gguf_open_chunked(struct gguf_file *g, const char *path, size_t chunk, char *err,
                      size_t errcap)
{
    return load(g, path, NULL, 0, 0, chunk, err, errcap);
}

int gguf_open(struct gguf_file *g, const char *path, char *err, size_t errcap)
{
    return load(g, path, NULL, 0, 0, GGUF_READ_CHUNK, err, errcap);
}

int gguf_parse(struct gguf_file *g, const void *data, size_t len, uint64_t file_size, char *err,
               size_t errcap)
{
    if (!data)
        len = 0;
    if (len > file_size)
        len = (size_t)file_size;
    return load(g, NULL, data ? data : "", len, file_size, 0, err, errcap);
}

void gguf_close(struct gguf_file *g)
{
    if (g->block)
        plat_free(g->block, g->block_bytes);
    memset(g, 0, sizeof *g);
}

/* ---- lookups ---- */

const struct gguf_kv *gguf_find(const struct gguf_file *g, const char *key)
{
    if (!g->kv_hash || !key)
        return NULL;
    uint64_t n = strlen(key);
    for (uint32_t i = hash_bytes(key, n) & g->kv_mask; g->kv_hash[i]; i = (i + 1) & g->kv_mask) {
        const struct gguf_kv *kv = &g->kv[g->kv_hash[i] - 1];
        if (kv->key.n == n && memcmp(kv->key.s, key, (size_t)n) == 0)
            return kv;
    }
    return NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *g, const char *name)
{
    if (!g->t_hash || !name)
        return NULL;
    uint64_t n = strlen(name);
    for (uint32_t i = hash_bytes(name, n) & g->t_mask; g->t_hash[i]; i = (i + 1) & g->t_mask) {
        const struct gguf_tensor *t = &g->tensors[g->t_hash[i] - 1];
        if (t->name_len == n && memcmp(t->name, name, (size_t)n) == 0)
            return t;
    }
    return NULL;
}

static int is_unsigned(uint32_t t)
{
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
           t == GGUF_TYPE_UINT64 || t == GGUF_TYPE_BOOL;
}

static int is_signed(uint32_t t)
{
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
           t == GGUF_TYPE_INT64;
}

int gguf_kv_int(const struct gguf_kv *kv, int64_t *ret)
{
    if (!kv || kv->type == GGUF_TYPE_ARRAY)
        return ERR_FORMAT;
    if (is_signed(kv->type)) {
        *ret = kv->v.i64;
        return 0;
    }
    if (!is_unsigned(kv->type))
        return ERR_FORMAT;
    if (kv->v.u64 > (uint64_t)INT64_MAX)
        return ERR_RANGE;
    *ret = (int64_t)kv->v.u64;
    return 0;
}

static int kv_u64(const struct gguf_kv *kv, uint64_t *ret)
{
    if (kv->type != GGUF_TYPE_ARRAY && is_unsigned(kv->type)) {
        *ret = kv->v.u64;
        return 0;
    }
    int64_t v;
    int rc = gguf_kv_int(kv, &v);
    if (rc)
        return rc;
    if (v < 0)
        return ERR_RANGE;
    *ret = (uint64_t)v;
    return 0;
}

int gguf_get_u64(const struct gguf_file *g, const char *key, uint64_t *ret)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    return kv ? kv_u64(kv, ret) : ERR_NOT_FOUND;
}

int gguf_get_u32(const struct gguf_file *g, const char *key, uint32_t *ret)
{
    uint64_t v;
    int rc = gguf_get_u64(g, key, &v);
    if (rc)
        return rc;
    if (v > UINT32_MAX)
        return ERR_RANGE;
    *ret = (uint32_t)v;
    return 0;
}

int gguf_get_i64(const struct gguf_file *g, const char *key, int64_t *ret)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    return kv ? gguf_kv_int(kv, ret) : ERR_NOT_FOUND;
}

int gguf_get_f32(const struct gguf_file *g, const char *key, float *ret)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return ERR_NOT_FOUND;
    if (kv->type != GGUF_TYPE_FLOAT32 && kv->type != GGUF_TYPE_FLOAT64)
        return ERR_FORMAT;
    *ret = (float)kv->v.f64;
    return 0;
}

int gguf_get_bool(const struct gguf_file *g, const char *key, int *ret)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return ERR_NOT_FOUND;
    if (kv->type != GGUF_TYPE_BOOL)
        return ERR_FORMAT;
    *ret = kv->v.u64 != 0;
    return 0;
}

int gguf_get_str(const struct gguf_file *g, const char *key, struct gguf_str *ret)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return ERR_NOT_FOUND;
    if (kv->type != GGUF_TYPE_STRING)
        return ERR_FORMAT;
    *ret = kv->v.str;
    return 0;
}

const void *gguf_arr_data(const struct gguf_kv *kv, uint32_t elem_type, uint64_t *ret_n)
{
    if (!kv || kv->type != GGUF_TYPE_ARRAY || kv->elem_type != elem_type)
        return NULL;
    if (ret_n)
        *ret_n = kv->n;
    /* an empty array has no payload; hand out a valid pointer anyway */
    static const uint64_t empty[1];
    return kv->v.data ? kv->v.data : (const void *)empty;
}

static int arr_elem(const struct gguf_kv *kv, uint64_t i, const unsigned char **ret)
{
    if (!kv || kv->type != GGUF_TYPE_ARRAY)
        return ERR_FORMAT;
    if (i >= kv->n)
        return ERR_RANGE;
    *ret = (const unsigned char *)kv->v.data + i * gguf_vtype_size(kv->elem_type);
    return 0;
}

int gguf_arr_int(const struct gguf_kv *kv, uint64_t i, int64_t *ret)
{
    const unsigned char *b;
    int rc = arr_elem(kv, i, &b);
    if (rc)
        return rc;
    struct gguf_kv one;
    if (!is_signed(kv->elem_type) && !is_unsigned(kv->elem_type))
        return ERR_FORMAT;
    one.type = kv->elem_type;
    decode_scalar(kv->elem_type, b, &one);
    return gguf_kv_int(&one, ret);
}

int gguf_arr_f32(const struct gguf_kv *kv, uint64_t i, float *ret)
{
    const unsigned char *b;
    int rc = arr_elem(kv, i, &b);
    if (rc)
        return rc;
    if (kv->elem_type != GGUF_TYPE_FLOAT32 && kv->elem_type != GGUF_TYPE_FLOAT64)
        return ERR_FORMAT;
    struct gguf_kv one;
    decode_scalar(kv->elem_type, b, &one);
    *ret = (float)one.v.f64;
    return 0;
}

int gguf_arr_str(const struct gguf_kv *kv, uint64_t i, struct gguf_str *ret)
{
    if (!kv || kv->type != GGUF_TYPE_ARRAY || kv->elem_type != GGUF_TYPE_STRING)
        return ERR_FORMAT;
    if (i >= kv->n)
        return ERR_RANGE;
    *ret = ((const struct gguf_str *)kv->v.data)[i];
    return 0;
}

void gguf_kv_format(const struct gguf_kv *kv, char *buf, size_t cap)
{
    char s[72];
    if (!cap)
        return;
    const char *tn = gguf_vtype_name(kv->type);
    switch (kv->type) {
    case GGUF_TYPE_ARRAY:
        fmt_snprintf(buf, cap, "array[%s] of %llu", gguf_vtype_name(kv->elem_type),
                     (unsigned long long)kv->n);
        break;
    case GGUF_TYPE_STRING:
        sanitize(s, sizeof s, kv->v.str.s, kv->v.str.n);
        fmt_snprintf(buf, cap, "string '%s'", s);
        break;
    case GGUF_TYPE_BOOL:
        fmt_snprintf(buf, cap, "bool %s", kv->v.u64 ? "true" : "false");
        break;
    case GGUF_TYPE_FLOAT32:
    case GGUF_TYPE_FLOAT64:
        fmt_snprintf(buf, cap, "%s %.6f", tn, kv->v.f64);
        break;
    default:
        if (is_signed(kv->type))
            fmt_snprintf(buf, cap, "%s %lld", tn, (long long)kv->v.i64);
        else
            fmt_snprintf(buf, cap, "%s %llu", tn, (unsigned long long)kv->v.u64);
        break;
    }
}
