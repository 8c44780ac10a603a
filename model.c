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

/* Validates the dimensions every format shares. */
int model_check_dims(const struct model_config *c, char *err, size_t cap)
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

/* The stacked tensors of a llama2.c file, in the order of struct slots. */
enum slot {
    S_EMB, S_RMS_ATT, S_WQ, S_WK, S_WV, S_WO, S_RMS_FFN, S_W1, S_W2, S_W3, S_RMS_FINAL,
    S_WCLS, S_COUNT,
    S_SKIP = S_COUNT /* legacy freq_cis block: in the file, never loaded */
};

struct tensor_spec {
    enum slot slot;
    uint64_t floats;   /* element count */
    int q8;            /* version 2: int8 values then one fp32 scale per group */
};

/* File bytes of a tensor: per layer, the int8 values then their scales. */
static uint64_t spec_bytes(const struct model_config *c, const struct tensor_spec *t)
{
    return t->q8 ? t->floats + t->floats / (uint64_t)c->group_size * 4 : t->floats * 4;
}

/* Lists the tensors in file order and returns the payload size in bytes.
 * Overflow-checked. */
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
    int n = 0;
    if (c->format == MODEL_FMT_V2) { /* norms in fp32 first, then the int8 matrices */
        const struct tensor_spec v2[] = {
            {S_RMS_ATT, att, 0}, {S_RMS_FFN, att, 0}, {S_RMS_FINAL, dim, 0}, {S_EMB, emb, 1},
            {S_WQ, lq, 1}, {S_WK, lkv, 1}, {S_WV, lkv, 1}, {S_WO, lq, 1}, {S_W1, lffn, 1},
            {S_W2, lffn, 1}, {S_W3, lffn, 1}, {S_WCLS, emb, 1},
        };
        n = (int)ARRAY_LEN(v2) - (c->shared_classifier ? 1 : 0);
        memcpy(t, v2, (size_t)n * sizeof *t);
    } else if (c->format == MODEL_FMT_V1) {
        const struct tensor_spec v1[] = {
            {S_RMS_ATT, att, 0}, {S_RMS_FFN, att, 0}, {S_RMS_FINAL, dim, 0}, {S_EMB, emb, 0},
            {S_WQ, lq, 0}, {S_WK, lkv, 0}, {S_WV, lkv, 0}, {S_WO, lq, 0}, {S_W1, lffn, 0}, {S_W2, lffn, 0},
            {S_W3, lffn, 0}, {S_WCLS, emb, 0},
        };
        n = (int)ARRAY_LEN(v1) - (c->shared_classifier ? 1 : 0);
        memcpy(t, v1, (size_t)n * sizeof *t);
    } else {
        const struct tensor_spec legacy[] = {
            {S_EMB, emb, 0}, {S_RMS_ATT, att, 0}, {S_WQ, lq, 0}, {S_WK, lkv, 0}, {S_WV, lkv, 0},
            {S_WO, lq, 0}, {S_RMS_FFN, att, 0}, {S_W1, lffn, 0}, {S_W2, lffn, 0}, {S_W3, lffn, 0},
            {S_RMS_FINAL, dim, 0},
            {S_SKIP, fcis, 0}, /* freq_cis_real + freq_cis_imag */
            {S_WCLS, emb, 0},
        };
        n = (int)ARRAY_LEN(legacy) - (c->shared_classifier ? 1 : 0);
        memcpy(t, legacy, (size_t)n * sizeof *t);
    }
    uint64_t total = 0, bytes;
    for (int i = 0; i < n; i++)
        if (size_mul(t[i].floats, 4, &bytes) || size_add(total, spec_bytes(c, &t[i]), &total))
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
        if (version != 1 && version != 2) {
            fmt_snprintf(err, errcap, "version: expected 1 (fp32) or 2 (int8), found %d",
                         version);
            return ERR_FORMAT;
        }
        if (file_size < MODEL_V1_HEADER_BYTES || hdr_len < 8 + 7 * 4 + 1 + 4) {
            fmt_snprintf(err, errcap, "header: expected %d bytes, file has %llu",
                         MODEL_V1_HEADER_BYTES, (unsigned long long)file_size);
            return ERR_FORMAT;
        }
        c.format = version == 2 ? MODEL_FMT_V2 : MODEL_FMT_V1;
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
    if (c.format != MODEL_FMT_LEGACY) {
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
    c.arch = ARCH_LLAMA;
    c.rope_theta = 10000.0f;
    c.norm_eps = 1e-5f;
    c.ctx_train = c.seq_len;
    c.weight_type = GGML_TYPE_F32;
    int rc = model_check_dims(&c, err, errcap);
    if (rc)
        return rc;
    if (c.format == MODEL_FMT_V2) {
        c.group_size = (int32_t)rd32(p + 29);
        c.weight_type = TENSOR_Q8_GROUPS;
        /* groups must not straddle rows */
        if (c.group_size < 1 || c.dim % c.group_size || c.hidden_dim % c.group_size) {
            fmt_snprintf(err, errcap, "group_size: expected a divisor of dim %d and "
                         "hidden_dim %d, found %d", c.dim, c.hidden_dim, c.group_size);
            return ERR_FORMAT;
        }
    }
    c.rope_dim = model_head_size(&c);
    struct tensor_spec t[S_COUNT + 1];
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
    c.weight_bytes = payload - (c.format == MODEL_FMT_LEGACY
                                    ? (uint64_t)c.seq_len * (uint64_t)model_head_size(&c) * 4
                                    : 0);
    c.n_params = 0;
    for (int i = 0; i < n; i++) {
        c.n_params += t[i].slot == S_SKIP ? 0 : t[i].floats;
        if (t[i].slot == S_EMB)
            c.token_bytes = model_bytes_per_token(&c, spec_bytes(&c, &t[i]));
    }
    model_guess_family(&c, NULL, 0);
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

/* Opens a llama2.c file and validates its header; on success the open file
 * is returned (position unspecified: callers seek). */
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

/* GGUF files start with their magic; anything else is tried as llama2.c. */
static int is_gguf(const char *path)
{
    plat_file *f;
    unsigned char magic[4];
    int yes = 0;
    if (plat_file_open(path, &f) == 0) {
        yes = read_exact(f, magic, 4) == 0 && memcmp(magic, "GGUF", 4) == 0;
        plat_file_close(f);
    }
    return yes;
}

static uint64_t parts_size(const struct gguf_file *g)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < g->n_parts; i++)
        total += g->parts[i].file_size;
    return total;
}

int model_probe_file(const char *path, struct model_config *ret_cfg, uint64_t *ret_size,
                     char *err, size_t errcap)
{
    if (is_gguf(path)) {
        struct gguf_file g;
        int rc = gguf_open(&g, path, err, errcap);
        if (rc == 0) {
            rc = model_gguf_config(&g, ret_cfg, err, errcap);
            *ret_size = parts_size(&g);
            gguf_close(&g);
        }
        return rc;
    }
    plat_file *f;
    int rc = open_and_probe(path, &f, ret_cfg, ret_size, err, errcap);
    if (rc == 0)
        plat_file_close(f);
    return rc;
}

static uint64_t align64(uint64_t n)
{
    return (n + 63) & ~(uint64_t)63;
}

/* Bytes of a llama2.c block: every loaded tensor padded to 64 bytes. */
static int block_bytes(const struct model_config *cfg, const struct tensor_spec *t, int n,
                       uint64_t *ret)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        if (t[i].slot != S_SKIP && size_add(total, align64(spec_bytes(cfg, &t[i])), &total))
            return ERR_RANGE;
    *ret = total;
    return 0;
}

uint64_t model_bytes_per_token(const struct model_config *cfg, uint64_t emb_bytes)
{
    /* a token looks up one embedding row; the classifier reads all of it
     * only when it is the same matrix */
    if (cfg->shared_classifier || cfg->vocab_size <= 0 || emb_bytes > cfg->weight_bytes)
        return cfg->weight_bytes;
    return cfg->weight_bytes - (emb_bytes - emb_bytes / (uint64_t)cfg->vocab_size);
}

int model_weight_bytes(const struct model_config *cfg, uint64_t *ret_bytes)
{
    struct tensor_spec t[S_COUNT + 1];
    int n;
    uint64_t payload, bytes;
    int rc = layout(cfg, t, &n, &payload);
    if (rc || (rc = block_bytes(cfg, t, n, &bytes)))
        return rc;
    return size_add(bytes, align64((uint64_t)cfg->n_layers * sizeof(struct layer_weights)),
                    ret_bytes);
}

int model_alloc_block(struct model *m, uint64_t tensor_bytes, char *err, size_t errcap)
{
    uint64_t layers_bytes = align64((uint64_t)m->cfg.n_layers * sizeof(struct layer_weights));
    uint64_t total;
    if (size_add(tensor_bytes, layers_bytes, &total) || total > SIZE_MAX ||
        (m->block = plat_alloc((size_t)total)) == NULL) {
        fmt_snprintf(err, errcap, "out of memory: the weights need %llu MiB",
                     (unsigned long long)(tensor_bytes >> 20));
        return ERR_NOMEM;
    }
    m->block_bytes = (size_t)total;
    m->w.layers = (struct layer_weights *)((char *)m->block + tensor_bytes);
    return 0;
}

/* View of layer l of a stacked tensor of `rows` x `cols`: fp32, or (version
 * 2) int8 values followed by one fp32 scale per group, layer after layer. */
static struct tensor stacked(const struct model_config *c, const unsigned char *base, int q8,
                             size_t l, int rows, int cols)
{
    size_t n = (size_t)rows * (size_t)cols;
    struct tensor t = {NULL, GGML_TYPE_F32, rows, cols, NULL, 0};
    if (!q8) {
        t.data = base + l * n * 4;
        return t;
    }
    size_t layer_bytes = n + n / (size_t)c->group_size * 4;
    t.data = base + l * layer_bytes;
    t.scales = (const float *)(base + l * layer_bytes + n);
    t.type = TENSOR_Q8_GROUPS;
    t.group = c->group_size;
    return t;
}

/* Per-layer views into the stacked llama2.c tensors. */
static void llama2c_views(struct model *m, unsigned char *const *slot)
{
    const struct model_config *c = &m->cfg;
    int q8 = c->format == MODEL_FMT_V2, kv = model_kv_dim(c);
    m->w.token_embd = stacked(c, slot[S_EMB], q8, 0, c->vocab_size, c->dim);
    m->w.output_norm = stacked(c, slot[S_RMS_FINAL], 0, 0, 1, c->dim);
    m->w.output = c->shared_classifier ? m->w.token_embd
                                       : stacked(c, slot[S_WCLS], q8, 0, c->vocab_size, c->dim);
    for (size_t l = 0; l < (size_t)c->n_layers; l++) {
        struct layer_weights *L = &m->w.layers[l];
        L->attn_norm = stacked(c, slot[S_RMS_ATT], 0, l, 1, c->dim);
        L->wq = stacked(c, slot[S_WQ], q8, l, c->dim, c->dim);
        L->wk = stacked(c, slot[S_WK], q8, l, kv, c->dim);
        L->wv = stacked(c, slot[S_WV], q8, l, kv, c->dim);
        L->wo = stacked(c, slot[S_WO], q8, l, c->dim, c->dim);
        L->ffn_norm = stacked(c, slot[S_RMS_FFN], 0, l, 1, c->dim);
        L->w_gate = stacked(c, slot[S_W1], q8, l, c->hidden_dim, c->dim);
        L->w_down = stacked(c, slot[S_W2], q8, l, c->dim, c->hidden_dim);
        L->w_up = stacked(c, slot[S_W3], q8, l, c->hidden_dim, c->dim);
    }
}

static int llama2c_plan(struct model_loader *ld, struct model *m, const char *path, char *err,
                        size_t errcap)
{
    struct model_config cfg;
    uint64_t size, payload;
    plat_file *f;
    int rc = open_and_probe(path, &f, &cfg, &size, err, errcap);
    if (rc)
        return rc;
    plat_file_close(f); /* the loader reopens it on the first step */
    struct tensor_spec t[S_COUNT + 1];
    int n;
    layout(&cfg, t, &n, &payload); /* cannot fail: model_probe ran it */
    m->cfg = cfg;
    m->file_size = size;

    uint64_t tensor_bytes;
    block_bytes(&cfg, t, n, &tensor_bytes);
    ld->items_bytes = (size_t)n * sizeof *ld->items;
    if ((ld->items = plat_alloc(ld->items_bytes)) == NULL) {
        fmt_snprintf(err, errcap, "out of memory");
        return ERR_NOMEM;
    }
    if ((rc = model_alloc_block(m, tensor_bytes, err, errcap)) != 0)
        return rc;
    unsigned char *slot[S_COUNT] = {0};
    unsigned char *cursor = m->block;
    int n_loaded = 0;
    uint64_t off = cfg.format == MODEL_FMT_LEGACY ? MODEL_LEGACY_HEADER_BYTES
                                                  : MODEL_V1_HEADER_BYTES;
    for (int i = 0; i < n; i++) {
        uint64_t bytes = spec_bytes(&cfg, &t[i]);
        if (t[i].slot != S_SKIP) {
            slot[t[i].slot] = cursor;
            struct load_item *it = &ld->items[n_loaded++];
            it->offset = off;
            it->bytes = bytes;
            it->dst = cursor;
            ld->total += bytes;
            cursor += align64(bytes);
        }
        off += bytes;
    }
    ld->n_items = n_loaded;
    llama2c_views(m, slot);
    return 0;
}

int model_load_begin(struct model_loader *ld, struct model *m, const char *path, char *err,
                     size_t errcap)
{
    memset(ld, 0, sizeof *ld);
    memset(m, 0, sizeof *m);
    ld->m = m;
    str_copy(ld->path, sizeof ld->path, path);
    int rc;
    if (is_gguf(path)) {
        if ((rc = gguf_open(&m->gguf, path, err, errcap)) == 0 &&
            (rc = model_gguf_config(&m->gguf, &m->cfg, err, errcap)) == 0) {
            m->file_size = parts_size(&m->gguf);
            rc = model_gguf_plan(m, ld, err, errcap);
        }
    } else {
        rc = llama2c_plan(ld, m, path, err, errcap);
    }
    if (rc) {
        model_load_abort(ld);
        model_free(m);
    }
    return rc;
}

/* Makes ld->file the file of `part` (split GGUF models have several). */
static int open_part(struct model_loader *ld, uint32_t part)
{
    if (ld->file && ld->file_part == part)
        return 0;
    if (ld->file)
        plat_file_close(ld->file);
    ld->file = NULL;
    const char *path = ld->m->gguf.n_parts ? ld->m->gguf.parts[part].path : ld->path;
    int rc = plat_file_open(path, &ld->file);
    ld->file_part = part;
    return rc;
}

int model_load_step(struct model_loader *ld, int *ret_done, char *err, size_t errcap)
{
    int rc = 0;
    if (ld->cur < ld->n_items) {
        const struct load_item *t = &ld->items[ld->cur];
        uint64_t left = t->bytes - ld->cur_done;
        size_t n = left < MODEL_LOAD_CHUNK ? (size_t)left : MODEL_LOAD_CHUNK;
        if ((rc = open_part(ld, t->part)) == 0 &&
            (rc = plat_file_seek(ld->file, t->offset + ld->cur_done)) == 0)
            rc = read_exact(ld->file, (char *)t->dst + ld->cur_done, n);
        if (rc) {
            fmt_snprintf(err, errcap, "read failed at offset %llu: %s",
                         (unsigned long long)(t->offset + ld->cur_done), err_str(rc));
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
    *ret_done = ld->cur == ld->n_items;
    if (*ret_done)
        model_load_abort(ld); /* closes the file; the model stays */
    return 0;
}

void model_load_abort(struct model_loader *ld)
{
    if (ld->file)
        plat_file_close(ld->file);
    ld->file = NULL;
    if (ld->items)
        plat_free(ld->items, ld->items_bytes);
    ld->items = NULL;
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
    gguf_close(&m->gguf);
    memset(m, 0, sizeof *m);
}

/* Case-insensitive search of needle in the first n bytes of hay. */
static int contains_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && (hay[i + j] | 32) == (needle[j] | 32))
            j++;
        if (j == m)
            return 1;
    }
    return 0;
}

void model_guess_family(struct model_config *c, const char *name, size_t name_len)
{
    static const struct {
        const char *marker, *family; /* general.name substrings, first match wins */
    } by_name[] = {
        {"tinyllama", "TinyLlama"}, {"codellama", "CodeLlama"}, {"code llama", "CodeLlama"},
        {"mistral", "Mistral"},     {"smollm", "SmolLM"},       {"llama-3", "Llama 3"},
        {"llama 3", "Llama 3"},     {"llama-2", "Llama 2"},     {"llama 2", "Llama 2"},
        {"phi-2", "Phi-2"},         {"phi2", "Phi-2"},          {"qwen", "Qwen"},
        {"stories", "TinyStories"},
    };
    static const struct {
        int dim, layers, heads, kv_heads, vocab;
        const char *family;
    } by_dims[] = {
        {64, 5, 8, 4, 512, "stories260K"},       {288, 6, 6, 6, 32000, "stories15M"},
        {512, 8, 8, 8, 32000, "stories42M"},     {768, 12, 12, 12, 32000, "stories110M"},
        {2048, 22, 32, 4, 32000, "TinyLlama-1.1B"}, {4096, 32, 32, 32, 32000, "Llama-2-7B"},
        {4096, 32, 32, 32, 32016, "CodeLlama-7B"}, {4096, 32, 32, 8, 32000, "Mistral-7B"},
        {4096, 32, 32, 8, 32768, "Mistral-7B"},  {2560, 32, 32, 32, 51200, "Phi-2"},
    };
    c->family[0] = 0;
    for (size_t i = 0; name && i < ARRAY_LEN(by_name); i++) {
        if (contains_ci(name, name_len, by_name[i].marker)) {
            str_copy(c->family, sizeof c->family, by_name[i].family);
            return;
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(by_dims); i++) {
        if (by_dims[i].dim == c->dim && by_dims[i].layers == c->n_layers &&
            by_dims[i].heads == c->n_heads && by_dims[i].kv_heads == c->n_kv_heads &&
            by_dims[i].vocab == c->vocab_size) {
            str_copy(c->family, sizeof c->family, by_dims[i].family);
            return;
        }
    }
}
