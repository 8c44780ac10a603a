/* model.c - llama2.c model files (legacy and version 1, fp32): header
 * validation, tensor layout, and chunked loading into one aligned block. */
#include "model.h"
#include "errors.h"
#include "lib.h"

/* Sanity limits: far above any real llama-family model, low enough that
 * nothing downstream can overflow. */
#define MAX_DIM (1 << 16)
#define MAX_HIDDEN (1 << 18)
#define MAX_LAYERS 1024
#define MAX_VOCAB (1 << 21)
#define MAX_SEQ (1 << 20)
#define TENSOR_ALIGN 64

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int check_range(const char *field, int32_t v, int32_t lo, int32_t hi, char *err, size_t cap)
{
    if (v >= lo && v <= hi)
        return 0;
    fmt_snprintf(err, cap, "%s: expected %d..%d, found %d", field, lo, hi, v);
    return ERR_FORMAT;
}

/* Validates the seven header integers shared by both formats. */
static int check_dims(const struct model_config *c, char *err, size_t cap)
{
    int rc;
    if ((rc = check_range("dim", c->dim, 1, MAX_DIM, err, cap)) ||
        (rc = check_range("hidden_dim", c->hidden_dim, 1, MAX_HIDDEN, err, cap)) ||
        (rc = check_range("n_layers", c->n_layers, 1, MAX_LAYERS, err, cap)) ||
        (rc = check_range("n_heads", c->n_heads, 1, c->dim, err, cap)) ||
        (rc = check_range("n_kv_heads", c->n_kv_heads, 1, c->n_heads, err, cap)) ||
        (rc = check_range("vocab_size", c->vocab_size, 1, MAX_VOCAB, err, cap)) ||
        (rc = check_range("seq_len", c->seq_len, 1, MAX_SEQ, err, cap)))
        return rc;
    if (c->dim % c->n_heads) {
        fmt_snprintf(err, cap, "n_heads: %d does not divide dim %d", c->n_heads, c->dim);
        return ERR_FORMAT;
    }
    if (c->n_heads % c->n_kv_heads) {
        fmt_snprintf(err, cap, "n_kv_heads: %d does not divide n_heads %d", c->n_kv_heads,
                     c->n_heads);
        return ERR_FORMAT;
    }
    if (model_head_size(c) % 2) {
        fmt_snprintf(err, cap, "head size: dim/n_heads = %d must be even for RoPE",
                     model_head_size(c));
        return ERR_FORMAT;
    }
    return 0;
}

/* One tensor of the file: where it is and which view it fills. */
struct tensor_spec {
    size_t field;      /* offsetof(struct model_weights, ...) */
    uint64_t floats;   /* element count */
};

/* Lists the tensors in file order (skipped regions have field == SIZE_MAX)
 * and returns the total payload size in bytes. Overflow-checked. */
static int layout(const struct model_config *c, struct tensor_spec *t, int *ret_n,
                  uint64_t *ret_bytes)
{
    uint64_t L = (uint64_t)c->n_layers, dim = (uint64_t)c->dim, hid = (uint64_t)c->hidden_dim;
    uint64_t kv = (uint64_t)model_kv_dim(c), vocab = (uint64_t)c->vocab_size;
    uint64_t emb, att, lq, lkv, lffn, fcis;
    if (size_mul(vocab, dim, &emb) || size_mul(L, dim, &att) || size_mul(att, dim, &lq) ||
        size_mul(att, kv, &lkv) || size_mul(att, hid, &lffn) ||
        size_mul((uint64_t)c->seq_len, (uint64_t)model_head_size(c), &fcis))
        return ERR_RANGE;
#define W(name) offsetof(struct model_weights, name)
    int n = 0;
    if (c->format == MODEL_FMT_V1) {
        const struct tensor_spec v1[] = {
            {W(rms_att), att}, {W(rms_ffn), att}, {W(rms_final), dim},
            {W(token_embedding), emb}, {W(wq), lq}, {W(wk), lkv}, {W(wv), lkv},
            {W(wo), lq}, {W(w1), lffn}, {W(w2), lffn}, {W(w3), lffn}, {W(wcls), emb},
        };
        n = (int)ARRAY_LEN(v1) - (c->shared_classifier ? 1 : 0);
        memcpy(t, v1, (size_t)n * sizeof *t);
    } else {
        const struct tensor_spec legacy[] = {
            {W(token_embedding), emb}, {W(rms_att), att}, {W(wq), lq}, {W(wk), lkv},
            {W(wv), lkv}, {W(wo), lq}, {W(rms_ffn), att}, {W(w1), lffn}, {W(w2), lffn},
            {W(w3), lffn}, {W(rms_final), dim},
            {SIZE_MAX, fcis}, /* legacy freq_cis_real + freq_cis_imag: unused */
            {W(wcls), emb},
        };
        n = (int)ARRAY_LEN(legacy) - (c->shared_classifier ? 1 : 0);
        memcpy(t, legacy, (size_t)n * sizeof *t);
    }
#undef W
    uint64_t total = 0, bytes;
    for (int i = 0; i < n; i++)
        if (size_mul(t[i].floats, 4, &bytes) || size_add(total, bytes, &total))
            return ERR_RANGE;
    *ret_n = n;
    *ret_bytes = total;
    return 0;
}

int model_probe(const void *hdr, size_t hdr_len, uint64_t file_size,
                struct model_config *ret_cfg, char *err, size_t errcap)
{
    const unsigned char *p = hdr;
    struct model_config c;
    memset(&c, 0, sizeof c);
    uint64_t header_bytes;
    if (hdr_len >= 8 && rd32(p) == MODEL_V1_MAGIC) {
        int32_t version = (int32_t)rd32(p + 4);
        if (version != 1) {
            fmt_snprintf(err, errcap, "version: expected 1 (fp32), found %d", version);
            return ERR_FORMAT;
        }
        if (file_size < MODEL_V1_HEADER_BYTES || hdr_len < 8 + 7 * 4 + 1) {
            fmt_snprintf(err, errcap, "header: expected %d bytes, file has %llu",
                         MODEL_V1_HEADER_BYTES, (unsigned long long)file_size);
            return ERR_FORMAT;
        }
        c.format = MODEL_FMT_V1;
        p += 8;
        header_bytes = MODEL_V1_HEADER_BYTES;
    } else {
        if (file_size < MODEL_LEGACY_HEADER_BYTES || hdr_len < MODEL_LEGACY_HEADER_BYTES) {
            fmt_snprintf(err, errcap, "header: expected %d bytes, file has %llu",
                         MODEL_LEGACY_HEADER_BYTES, (unsigned long long)file_size);
            return ERR_FORMAT;
        }
        c.format = MODEL_FMT_LEGACY;
        header_bytes = MODEL_LEGACY_HEADER_BYTES;
    }
    c.dim = (int32_t)rd32(p);
    c.hidden_dim = (int32_t)rd32(p + 4);
    c.n_layers = (int32_t)rd32(p + 8);
    c.n_heads = (int32_t)rd32(p + 12);
    c.n_kv_heads = (int32_t)rd32(p + 16);
    c.vocab_size = (int32_t)rd32(p + 20);
    c.seq_len = (int32_t)rd32(p + 24);
    if (c.format == MODEL_FMT_V1) {
        c.shared_classifier = p[28];
        if (c.shared_classifier > 1) {
            fmt_snprintf(err, errcap, "shared_classifier: expected 0 or 1, found %d",
                         c.shared_classifier);
            return ERR_FORMAT;
        }
    } else {
        /* legacy: a negative vocab_size means a separate classifier */
        c.shared_classifier = c.vocab_size > 0;
        if (c.vocab_size < 0 && c.vocab_size != INT32_MIN)
            c.vocab_size = -c.vocab_size;
    }
    int rc = check_dims(&c, err, errcap);
    if (rc)
        return rc;
    struct tensor_spec t[MODEL_MAX_TENSORS + 1];
    int n;
    uint64_t payload, expected;
    if (layout(&c, t, &n, &payload) || size_add(payload, header_bytes, &expected)) {
        fmt_snprintf(err, errcap, "dims: tensor sizes overflow (dim=%d hidden_dim=%d "
                     "n_layers=%d vocab_size=%d)", c.dim, c.hidden_dim, c.n_layers,
                     c.vocab_size);
        return ERR_FORMAT;
    }
    if (expected != file_size) {
        fmt_snprintf(err, errcap, "file size: expected %llu bytes from the header, found %llu",
                     (unsigned long long)expected, (unsigned long long)file_size);
        return ERR_FORMAT;
    }
    *ret_cfg = c;
    return 0;
}

/* Reads exactly n bytes or fails. */
static int read_exact(plat_file *f, void *buf, size_t n)
{
    size_t got;
    int rc = plat_file_read(f, buf, n, &got);
    if (rc)
        return rc;
    return got == n ? 0 : ERR_FORMAT;
}

/* Opens path and validates its header; on success the open file is returned
 * positioned anywhere (callers seek). */
static int open_and_probe(const char *path, plat_file **ret_f, struct model_config *ret_cfg,
                          uint64_t *ret_size, char *err, size_t errcap)
{
    plat_file *f;
    int rc = plat_file_open(path, &f);
    if (rc) {
        fmt_snprintf(err, errcap, "cannot open: %s", err_str(rc));
        return rc;
    }
    uint64_t size;
    unsigned char hdr[MODEL_PROBE_BYTES];
    size_t want = 0;
    if ((rc = plat_file_size(f, &size)) == 0) {
        want = size < sizeof hdr ? (size_t)size : sizeof hdr;
        rc = read_exact(f, hdr, want);
    }
    if (rc) {
        fmt_snprintf(err, errcap, "cannot read header: %s", err_str(rc));
        plat_file_close(f);
        return rc;
    }
    if ((rc = model_probe(hdr, want, size, ret_cfg, err, errcap)) != 0) {
        plat_file_close(f);
        return rc;
    }
    *ret_size = size;
    *ret_f = f;
    return 0;
}

int model_probe_file(const char *path, struct model_config *ret_cfg, uint64_t *ret_size,
                     char *err, size_t errcap)
{
    plat_file *f;
    int rc = open_and_probe(path, &f, ret_cfg, ret_size, err, errcap);
    if (rc == 0)
        plat_file_close(f);
    return rc;
}

/* Bytes of the block: every used tensor padded to TENSOR_ALIGN. */
static int block_bytes(const struct tensor_spec *t, int n, uint64_t *ret)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (t[i].field == SIZE_MAX)
            continue;
        uint64_t b = t[i].floats * 4;
        b = (b + TENSOR_ALIGN - 1) & ~(uint64_t)(TENSOR_ALIGN - 1);
        if (size_add(total, b, &total))
            return ERR_RANGE;
    }
    *ret = total;
    return 0;
}

int model_weight_bytes(const struct model_config *cfg, uint64_t *ret_bytes)
{
    struct tensor_spec t[MODEL_MAX_TENSORS + 1];
    int n;
    uint64_t payload;
    int rc = layout(cfg, t, &n, &payload);
    return rc ? rc : block_bytes(t, n, ret_bytes);
}

int model_load_begin(struct model_loader *ld, struct model *m, const char *path, char *err,
                     size_t errcap)
{
    memset(ld, 0, sizeof *ld);
    memset(m, 0, sizeof *m);
    struct model_config cfg;
    uint64_t size, payload, bytes;
    plat_file *f;
    int rc = open_and_probe(path, &f, &cfg, &size, err, errcap);
    if (rc)
        return rc;
    struct tensor_spec t[MODEL_MAX_TENSORS + 1];
    int n;
    layout(&cfg, t, &n, &payload); /* cannot fail: model_probe ran it */
    if (block_bytes(t, n, &bytes) || bytes > SIZE_MAX ||
        (m->block = plat_alloc((size_t)bytes)) == NULL) {
        fmt_snprintf(err, errcap, "out of memory: the weights need %llu MiB",
                     (unsigned long long)(bytes >> 20));
        plat_file_close(f);
        return ERR_NOMEM;
    }
    m->block_bytes = (size_t)bytes;
    m->cfg = cfg;
    m->file_size = size;
    uint64_t file_off = cfg.format == MODEL_FMT_V1 ? MODEL_V1_HEADER_BYTES
                                                   : MODEL_LEGACY_HEADER_BYTES;
    unsigned char *dst = m->block;
    for (int i = 0; i < n; i++) {
        uint64_t b = t[i].floats * 4;
        if (t[i].field != SIZE_MAX) {
            float **view = (float **)((char *)&m->w + t[i].field);
            *view = (float *)dst;
            ld->tensors[ld->n_tensors].file_offset = file_off;
            ld->tensors[ld->n_tensors].bytes = b;
            ld->tensors[ld->n_tensors].dst = (float *)dst;
            ld->n_tensors++;
            ld->total += b;
            dst += (b + TENSOR_ALIGN - 1) & ~(uint64_t)(TENSOR_ALIGN - 1);
        }
        file_off += b;
    }
    if (cfg.shared_classifier)
        m->w.wcls = m->w.token_embedding;
    ld->file = f;
    ld->m = m;
    return 0;
}

int model_load_step(struct model_loader *ld, int *ret_done, char *err, size_t errcap)
{
    int rc = 0;
    if (ld->cur < ld->n_tensors) {
        __typeof__(ld->tensors[0]) *t = &ld->tensors[ld->cur];
        uint64_t left = t->bytes - ld->cur_done;
        size_t n = left < MODEL_LOAD_CHUNK ? (size_t)left : MODEL_LOAD_CHUNK;
        if ((rc = plat_file_seek(ld->file, t->file_offset + ld->cur_done)) == 0)
            rc = read_exact(ld->file, (char *)t->dst + ld->cur_done, n);
        if (rc) {
            fmt_snprintf(err, errcap, "read failed at offset %llu: %s",
                         (unsigned long long)(t->file_offset + ld->cur_done), err_str(rc));
            model_free(ld->m);
            model_load_abort(ld);
            return rc;
        }
        ld->cur_done += n;
        ld->done += n;
        if (ld->cur_done == t->bytes) {
            ld->cur++;
            ld->cur_done = 0;
        }
    }
    *ret_done = ld->cur == ld->n_tensors;
    if (*ret_done)
        model_load_abort(ld); /* closes the file; the model stays */
    return 0;
}

void model_load_abort(struct model_loader *ld)
{
    if (ld->file)
        plat_file_close(ld->file);
    ld->file = NULL;
}

int model_load(struct model *m, const char *path, char *err, size_t errcap)
{
    struct model_loader ld;
    int rc = model_load_begin(&ld, m, path, err, errcap), done = 0;
    while (rc == 0 && !done)
        rc = model_load_step(&ld, &done, err, errcap);
    return rc;
}

void model_free(struct model *m)
{
    if (m->block)
        plat_free(m->block, m->block_bytes);
    memset(m, 0, sizeof *m);
}
