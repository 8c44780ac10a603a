/* gguf_write.c - GGUF v3 writer (see gguf_write.h): entries are serialized
 * into owned buffers as they are added; tensor infos are serialized at write
 * time, when the alignment is final. */
#include "gguf_write.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf_write.c writes the host's bytes as little-endian"
#endif

#define GGUF_MAGIC "GGUF"
#define GGUF_WRITE_VERSION 3u

/* ---- buffers ---- */

static void buf_free(struct gguf_wbuf *b)
{
    if (b->p)
        plat_free(b->p, b->cap);
    memset(b, 0, sizeof *b);
}

static int buf_reserve(struct gguf_wbuf *b, size_t more)
{
    if (more <= b->cap - b->n)
        return 0;
    uint64_t need, cap = b->cap ? b->cap : 4096;
    if (size_add(b->n, more, &need) || need > SIZE_MAX / 2)
        return ERR_RANGE;
    while (cap < need)
        cap *= 2;
    unsigned char *p = plat_alloc((size_t)cap);
    if (!p)
        return ERR_NOMEM;
    if (b->n)
        memcpy(p, b->p, b->n);
    if (b->p)
        plat_free(b->p, b->cap);
    b->p = p;
    b->cap = (size_t)cap;
    return 0;
}

static int buf_put(struct gguf_wbuf *b, const void *data, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
    return 0;
}

static int buf_u32(struct gguf_wbuf *b, uint32_t v) { return buf_put(b, &v, 4); }
static int buf_u64(struct gguf_wbuf *b, uint64_t v) { return buf_put(b, &v, 8); }

static int buf_str(struct gguf_wbuf *b, const char *s, uint64_t n)
{
    int rc;
    if (n > SIZE_MAX)
        return ERR_RANGE;
    if ((rc = buf_u64(b, n)) != 0 || (rc = buf_put(b, s, (size_t)n)) != 0)
        return rc;
    return 0;
}

/* ---- set-up ---- */

void gguf_writer_init(struct gguf_writer *w)
{
    memset(w, 0, sizeof *w);
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
}

void gguf_writer_free(struct gguf_writer *w)
{
    buf_free(&w->kv);
    buf_free(&w->key_offs);
    buf_free(&w->tensors);
    gguf_writer_init(w);
}

/* Records the first error. */
static int fail(struct gguf_writer *w, int rc)
{
    if (!w->rc)
        w->rc = rc;
    return rc;
}

/* ---- metadata ---- */

static int key_exists(const struct gguf_writer *w, const char *key, size_t n)
{
    const uint64_t *offs = (const uint64_t *)(const void *)w->key_offs.p;
    for (uint64_t i = 0; i < w->n_kv; i++) {
        uint64_t len;
        memcpy(&len, w->kv.p + offs[i], 8);
        if (len == n && memcmp(w->kv.p + offs[i] + 8, key, n) == 0)
            return 1;
    }
    return 0;
}

/* Starts an entry: checks the key, writes it and the value type. */
static int begin_kv(struct gguf_writer *w, const char *key, uint32_t type)
{
    if (w->rc)
        return w->rc;
    if (!key)
        return fail(w, ERR_INVAL);
    size_t n = strlen(key);
    if (n == 0 || n > GGUF_MAX_KEY_LEN || key_exists(w, key, n))
        return fail(w, ERR_INVAL);
    uint64_t off = w->kv.n;
    int rc;
    if ((rc = buf_u64(&w->key_offs, off)) != 0 || (rc = buf_str(&w->kv, key, n)) != 0 ||
        (rc = buf_u32(&w->kv, type)) != 0)
        return fail(w, rc);
    w->n_kv++;
    return 0;
}

static int put(struct gguf_writer *w, const void *data, size_t n)
{
    int rc = buf_put(&w->kv, data, n);
    return rc ? fail(w, rc) : 0;
}

static int scalar(struct gguf_writer *w, const char *key, uint32_t type, const void *le)
{
    int rc = begin_kv(w, key, type);
    return rc ? rc : put(w, le, gguf_vtype_size(type));
}

int gguf_w_u8(struct gguf_writer *w, const char *key, uint8_t v)
{
    return scalar(w, key, GGUF_TYPE_UINT8, &v);
}
int gguf_w_i8(struct gguf_writer *w, const char *key, int8_t v)
{
    return scalar(w, key, GGUF_TYPE_INT8, &v);
}
int gguf_w_u16(struct gguf_writer *w, const char *key, uint16_t v)
{
    return scalar(w, key, GGUF_TYPE_UINT16, &v);
}
int gguf_w_i16(struct gguf_writer *w, const char *key, int16_t v)
{
    return scalar(w, key, GGUF_TYPE_INT16, &v);
}
int gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
    if (!w->rc && key && !strcmp(key, "general.alignment")) {
        if (v == 0 || (v & (v - 1)))
            return fail(w, ERR_INVAL);
        int rc = scalar(w, key, GGUF_TYPE_UINT32, &v);
        if (rc == 0)
            w->alignment = v;
        return rc;
    }
    return scalar(w, key, GGUF_TYPE_UINT32, &v);
}
int gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v)
{
    return scalar(w, key, GGUF_TYPE_INT32, &v);
}
int gguf_w_f32(struct gguf_writer *w, const char *key, float v)
{
    return scalar(w, key, GGUF_TYPE_FLOAT32, &v);
}
int gguf_w_bool(struct gguf_writer *w, const char *key, int v)
{
    uint8_t b = v != 0;
    return scalar(w, key, GGUF_TYPE_BOOL, &b);
}
int gguf_w_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
    return scalar(w, key, GGUF_TYPE_UINT64, &v);
}
int gguf_w_i64(struct gguf_writer *w, const char *key, int64_t v)
{
    return scalar(w, key, GGUF_TYPE_INT64, &v);
}
int gguf_w_f64(struct gguf_writer *w, const char *key, double v)
{
    return scalar(w, key, GGUF_TYPE_FLOAT64, &v);
}

int gguf_w_strn(struct gguf_writer *w, const char *key, const char *s, uint64_t n)
{
    if (!s && n)
        return fail(w, ERR_INVAL);
    int rc = begin_kv(w, key, GGUF_TYPE_STRING);
    if (!rc && (rc = buf_str(&w->kv, s, n)) != 0)
        fail(w, rc);
    return rc;
}

int gguf_w_str(struct gguf_writer *w, const char *key, const char *s)
{
    return gguf_w_strn(w, key, s, s ? strlen(s) : 0);
}

int gguf_w_arr(struct gguf_writer *w, const char *key, uint32_t elem_type, const void *data,
               uint64_t n)
{
    size_t es = gguf_vtype_size(elem_type);
    uint64_t bytes;
    if (w->rc)
        return w->rc;
    if (es == 0 || (!data && n))
        return fail(w, ERR_INVAL);
    if (size_mul(n, es, &bytes) || bytes > SIZE_MAX)
        return fail(w, ERR_RANGE);
    int rc = begin_kv(w, key, GGUF_TYPE_ARRAY);
    if (!rc && ((rc = buf_u32(&w->kv, elem_type)) != 0 || (rc = buf_u64(&w->kv, n)) != 0 ||
                (rc = buf_put(&w->kv, data, (size_t)bytes)) != 0))
        fail(w, rc);
    return rc;
}

int gguf_w_arr_str(struct gguf_writer *w, const char *key, const struct gguf_str *v, uint64_t n)
{
    if (w->rc)
        return w->rc;
    if (!v && n)
        return fail(w, ERR_INVAL);
    for (uint64_t i = 0; i < n; i++)
        if (!v[i].s && v[i].n)
            return fail(w, ERR_INVAL);
    int rc = begin_kv(w, key, GGUF_TYPE_ARRAY);
    if (!rc && ((rc = buf_u32(&w->kv, GGUF_TYPE_STRING)) != 0 || (rc = buf_u64(&w->kv, n)) != 0))
        return fail(w, rc);
    for (uint64_t i = 0; !rc && i < n; i++)
        if ((rc = buf_str(&w->kv, v[i].s, v[i].n)) != 0)
            fail(w, rc);
    return rc;
}

int gguf_w_kv(struct gguf_writer *w, const char *key, const struct gguf_kv *kv)
{
    if (w->rc)
        return w->rc;
    if (!kv)
        return fail(w, ERR_INVAL);
    if (!key)
        key = kv->key.s;
    switch (kv->type) {
    case GGUF_TYPE_UINT8: return gguf_w_u8(w, key, (uint8_t)kv->v.u64);
    case GGUF_TYPE_INT8: return gguf_w_i8(w, key, (int8_t)kv->v.i64);
    case GGUF_TYPE_UINT16: return gguf_w_u16(w, key, (uint16_t)kv->v.u64);
    case GGUF_TYPE_INT16: return gguf_w_i16(w, key, (int16_t)kv->v.i64);
    case GGUF_TYPE_UINT32: return gguf_w_u32(w, key, (uint32_t)kv->v.u64);
    case GGUF_TYPE_INT32: return gguf_w_i32(w, key, (int32_t)kv->v.i64);
    case GGUF_TYPE_FLOAT32: return gguf_w_f32(w, key, (float)kv->v.f64);
    case GGUF_TYPE_BOOL: return gguf_w_bool(w, key, kv->v.u64 != 0);
    case GGUF_TYPE_UINT64: return gguf_w_u64(w, key, kv->v.u64);
    case GGUF_TYPE_INT64: return gguf_w_i64(w, key, kv->v.i64);
    case GGUF_TYPE_FLOAT64: return gguf_w_f64(w, key, kv->v.f64);
    case GGUF_TYPE_STRING: return gguf_w_strn(w, key, kv->v.str.s, kv->v.str.n);
    case GGUF_TYPE_ARRAY:
        if (kv->elem_type == GGUF_TYPE_STRING)
            return gguf_w_arr_str(w, key, kv->v.data, kv->n);
        return gguf_w_arr(w, key, kv->elem_type, kv->v.data, kv->n);
    default:
        return fail(w, ERR_INVAL);
    }
}

/* ---- tensors ---- */

static struct gguf_wtensor *tensor_at(const struct gguf_writer *w, uint64_t i)
{
    return (struct gguf_wtensor *)(void *)w->tensors.p + i;
}

const struct gguf_wtensor *gguf_w_get_tensor(const struct gguf_writer *w, uint64_t i)
{
    return i < w->n_tensors ? tensor_at(w, i) : NULL;
}

int gguf_w_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                  const uint64_t *dims, const void *data)
{
    if (w->rc)
        return w->rc;
    struct gguf_wtensor t;
    memset(&t, 0, sizeof t);
    size_t n = name ? strlen(name) : 0;
    uint32_t be, bb;
    if (n == 0 || n > GGUF_MAX_NAME || n_dims < 1 || n_dims > GGUF_MAX_DIMS || !dims ||
        !gguf_type_info(type, &be, &bb) || w->header_done)
        return fail(w, ERR_INVAL);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(tensor_at(w, i)->name, name))
            return fail(w, ERR_INVAL);
    memcpy(t.name, name, n);
    t.type = type;
    t.n_dims = n_dims;
    uint64_t n_el = 1;
    for (uint32_t i = 0; i < GGUF_MAX_DIMS; i++) {
        t.dims[i] = i < n_dims ? dims[i] : 1;
        if (t.dims[i] == 0 || t.dims[i] > INT64_MAX)
            return fail(w, ERR_INVAL);
        if (size_mul(n_el, t.dims[i], &n_el))
            return fail(w, ERR_RANGE);
    }
    if (t.dims[0] % be)
        return fail(w, ERR_INVAL);
    if (size_mul(n_el / be, bb, &t.n_bytes) || t.n_bytes > INT64_MAX)
        return fail(w, ERR_RANGE);
    t.data = data;
    int rc = buf_put(&w->tensors, &t, sizeof t);
    if (rc)
        return fail(w, rc);
    w->n_tensors++;
    return 0;
}

/* ---- layout ---- */

static int align_up(uint64_t n, uint32_t a, uint64_t *ret)
{
    uint64_t r;
    if (size_add(n, a - 1, &r))
        return ERR_RANGE;
    *ret = r - r % a;
    return 0;
}

/* Sets the tensor offsets; returns the data section's size. */
static int layout(struct gguf_writer *w, uint64_t *ret_data_bytes)
{
    uint64_t off = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        struct gguf_wtensor *t = tensor_at(w, i);
        t->offset = off;
        if (size_add(off, t->n_bytes, &off) || align_up(off, w->alignment, &off))
            return ERR_RANGE;
    }
    *ret_data_bytes = off;
    return 0;
}

static uint64_t info_bytes(const struct gguf_wtensor *t)
{
    return 8 + strlen(t->name) + 4 + 8ull * t->n_dims + 4 + 8;
}

int gguf_w_header_bytes(struct gguf_writer *w, uint64_t *ret_bytes)
{
    if (w->rc)
        return w->rc;
    uint64_t n = GGUF_HEADER_BYTES + w->kv.n, data;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        n += info_bytes(tensor_at(w, i));
    if (layout(w, &data) || align_up(n, w->alignment, &n))
        return ERR_RANGE;
    *ret_bytes = n;
    return 0;
}

int gguf_w_file_bytes(struct gguf_writer *w, uint64_t *ret_bytes)
{
    uint64_t head, data, total;
    int rc = gguf_w_header_bytes(w, &head);
    if (rc)
        return rc;
    if (layout(w, &data) || size_add(head, data, &total))
        return ERR_RANGE;
    *ret_bytes = total;
    return 0;
}

/* ---- output ---- */

static int zeros(gguf_sink_fn sink, void *ctx, uint64_t n)
{
    static const unsigned char z[64];
    while (n) {
        size_t k = n < sizeof z ? (size_t)n : sizeof z;
        int rc = sink(ctx, z, k);
        if (rc)
            return rc;
        n -= k;
    }
    return 0;
}

int gguf_w_write_header(struct gguf_writer *w, gguf_sink_fn sink, void *ctx)
{
    uint64_t head, data;
    int rc;
    if (w->header_done)
        return ERR_INVAL;
    if ((rc = gguf_w_header_bytes(w, &head)) != 0 || (rc = layout(w, &data)) != 0)
        return rc;
    /* the tensor infos go through one buffer, written with the header */
    struct gguf_wbuf b = {0};
    uint32_t version = GGUF_WRITE_VERSION;
    if ((rc = buf_put(&b, GGUF_MAGIC, 4)) || (rc = buf_u32(&b, version)) ||
        (rc = buf_u64(&b, w->n_tensors)) || (rc = buf_u64(&b, w->n_kv)))
        goto out;
    if ((rc = sink(ctx, b.p, b.n)) != 0 || (w->kv.n && (rc = sink(ctx, w->kv.p, w->kv.n)) != 0))
        goto out;
    b.n = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const struct gguf_wtensor *t = tensor_at(w, i);
        if ((rc = buf_str(&b, t->name, strlen(t->name))) || (rc = buf_u32(&b, t->n_dims)))
            goto out;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if ((rc = buf_u64(&b, t->dims[d])) != 0)
                goto out;
        if ((rc = buf_u32(&b, t->type)) || (rc = buf_u64(&b, t->offset)))
            goto out;
    }
    if (b.n && (rc = sink(ctx, b.p, b.n)) != 0)
        goto out;
    uint64_t written = GGUF_HEADER_BYTES + w->kv.n + b.n;
    if ((rc = zeros(sink, ctx, head - written)) != 0)
        goto out;
    w->header_done = 1;
    w->cur = 0;
    w->cur_done = 0;
out:
    buf_free(&b);
    return rc;
}

int gguf_w_write_data(struct gguf_writer *w, gguf_sink_fn sink, void *ctx, const void *data,
                      size_t n)
{
    const unsigned char *p = data;
    if (!w->header_done || (!data && n))
        return ERR_INVAL;
    while (n) {
        if (w->cur >= w->n_tensors)
            return ERR_INVAL;
        const struct gguf_wtensor *t = tensor_at(w, w->cur);
        uint64_t left = t->n_bytes - w->cur_done;
        size_t k = left < n ? (size_t)left : n;
        int rc = sink(ctx, p, k);
        if (rc)
            return rc;
        p += k;
        n -= k;
        w->cur_done += k;
        if (w->cur_done == t->n_bytes) {
            uint64_t end = t->n_bytes;
            align_up(t->n_bytes, w->alignment, &end); /* cannot fail: layout checked */
            if ((rc = zeros(sink, ctx, end - t->n_bytes)) != 0)
                return rc;
            w->cur++;
            w->cur_done = 0;
        }
    }
    return 0;
}

int gguf_w_write_end(const struct gguf_writer *w)
{
    return w->header_done && w->cur == w->n_tensors ? 0 : ERR_INVAL;
}

int gguf_w_write(struct gguf_writer *w, gguf_sink_fn sink, void *ctx)
{
    if (w->rc)
        return w->rc;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (!tensor_at(w, i)->data)
            return ERR_INVAL;
    int rc = gguf_w_write_header(w, sink, ctx);
    for (uint64_t i = 0; !rc && i < w->n_tensors; i++) {
        const struct gguf_wtensor *t = tensor_at(w, i);
        if (t->n_bytes > SIZE_MAX)
            return ERR_RANGE;
        rc = gguf_w_write_data(w, sink, ctx, t->data, (size_t)t->n_bytes);
    }
    return rc ? rc : gguf_w_write_end(w);
}
