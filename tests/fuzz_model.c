/* fuzz_model.c - libFuzzer target for the model file parser (model.c).
 *
 * Input: 8 bytes little-endian "claimed file size", then the file's bytes.
 *  1. model_probe on the bytes with the claimed size, with the real size and
 *     with a few tiny error buffers: never crashes; on failure returns
 *     ERR_FORMAT with a non-empty one-line NUL-terminated message and leaves
 *     *ret_cfg alone; on success the config obeys every documented limit and
 *     its tensors fit in the file.
 *  2. When the file part is small, the full model_load path on a temp file:
 *     the same verdict as model_probe on the real size, a zeroed struct model
 *     and no plat_alloc bytes left after a failure, consistent views and
 *     weights equal to the file's bytes after a success, and nothing left
 *     after model_free.
 * Any broken promise prints why and aborts, so libFuzzer saves the input.
 * Built and run by tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../errors.h"
#include "../model.h"
#include "../platform_posix.h"

#define LOAD_MAX (16 * 1024) /* bigger file parts only go through model_probe */

#include "fuzz_require.h"

/* err must be a NUL-terminated (within cap) single line, non-empty if cap > 1. */
static void check_msg(const char *err, size_t cap, const char *what)
{
    size_t n = strnlen(err, cap);
    REQUIRE(n < cap, "%s: message not NUL-terminated within %zu bytes", what, cap);
    REQUIRE(n > 0 || cap == 1, "%s: empty error message", what);
    for (size_t i = 0; i < n; i++)
        REQUIRE((unsigned char)err[i] >= 0x20 && err[i] != 0x7f,
                "%s: control byte 0x%02x at %zu in message '%s'", what,
                (unsigned char)err[i], i, err);
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* The documented limits of a config that model_probe accepted. */
static void check_cfg(const struct model_config *c, uint64_t file_size)
{
    REQUIRE(c->format == MODEL_FMT_LEGACY || c->format == MODEL_FMT_V1 ||
                c->format == MODEL_FMT_V2, "format %d", c->format);
    REQUIRE(c->dim >= 1 && c->dim <= (1 << 16), "dim %d", c->dim);
    REQUIRE(c->hidden_dim >= 1 && c->hidden_dim <= (1 << 18), "hidden_dim %d", c->hidden_dim);
    REQUIRE(c->n_layers >= 1 && c->n_layers <= 1024, "n_layers %d", c->n_layers);
    REQUIRE(c->n_heads >= 1 && c->n_heads <= c->dim && c->dim % c->n_heads == 0,
            "n_heads %d dim %d", c->n_heads, c->dim);
    REQUIRE(c->n_kv_heads >= 1 && c->n_kv_heads <= c->n_heads &&
            c->n_heads % c->n_kv_heads == 0, "n_kv_heads %d", c->n_kv_heads);
    REQUIRE(model_head_size(c) % 2 == 0, "odd head size %d", model_head_size(c));
    REQUIRE(c->vocab_size >= 1 && c->vocab_size <= (1 << 21), "vocab_size %d", c->vocab_size);
    REQUIRE(c->seq_len >= 1 && c->seq_len <= (1 << 20), "seq_len %d", c->seq_len);
    REQUIRE(c->shared_classifier == 0 || c->shared_classifier == 1, "shared %d",
            c->shared_classifier);
    uint64_t wb = 0;
    REQUIRE(model_weight_bytes(c, &wb) == 0, "model_weight_bytes failed on a probed config");
    /* The block holds the used tensors, each padded to 64 bytes: never more
     * than the file's payload plus padding. */
    REQUIRE(wb <= file_size + 13 * 64 + (uint64_t)c->n_layers * sizeof(struct layer_weights),
            "weights %llu > file %llu",
            (unsigned long long)wb, (unsigned long long)file_size);
}

static void probe_once(const uint8_t *hdr, size_t len, uint64_t size, size_t errcap,
                       struct model_config *ret, int *ret_rc)
{
    char err[300];
    struct model_config cfg;
    memset(&cfg, 0xA5, sizeof cfg);
    memset(err, 'Z', sizeof err);
    int rc = model_probe(hdr, len, size, &cfg, err, errcap);
    /* nothing written past errcap */
    for (size_t i = errcap; i < sizeof err; i++)
        REQUIRE(err[i] == 'Z', "model_probe wrote err[%zu] with errcap %zu", i, errcap);
    if (rc == 0) {
        check_cfg(&cfg, size);
    } else {
        REQUIRE(rc == ERR_FORMAT, "model_probe returned %d (%s)", rc, err_str(rc));
        check_msg(err, errcap, "model_probe");
        struct model_config untouched;
        memset(&untouched, 0xA5, sizeof untouched);
        REQUIRE(memcmp(&cfg, &untouched, sizeof cfg) == 0,
                "model_probe wrote *ret_cfg on failure");
    }
    if (ret)
        *ret = cfg;
    if (ret_rc)
        *ret_rc = rc;
}


/* A successful load: views, sizes and weights agree with the file. */
static void check_loaded(const struct model *m, const struct model_config *probed,
                         const uint8_t *file, size_t len)
{
    REQUIRE(memcmp(&m->cfg, probed, sizeof *probed) == 0, "loaded config differs from probe");
    REQUIRE(m->file_size == len, "file_size %llu, file has %zu",
            (unsigned long long)m->file_size, len);
    uint64_t wb = 0;
    REQUIRE(model_weight_bytes(&m->cfg, &wb) == 0 && wb == m->block_bytes,
            "block_bytes %zu, model_weight_bytes %llu", m->block_bytes, (unsigned long long)wb);
    const struct model_config *c = &m->cfg;
    if (c->format == MODEL_FMT_V2)
        return; /* int8 views: sizes differ; the probe/load/size agreement above holds */
    uint64_t dim = (uint64_t)c->dim, L = (uint64_t)c->n_layers, vocab = (uint64_t)c->vocab_size;
    uint64_t hid = (uint64_t)c->hidden_dim, kv = (uint64_t)model_kv_dim(c);
    const struct layer_weights *L0 = &m->w.layers[0];
    struct {
        const void *p;
        uint64_t floats;
        const char *name;
    } views[] = {
        {m->w.token_embd.data, vocab * dim, "token_embd"},
        {L0->attn_norm.data, L * dim, "attn_norm"},
        {L0->wq.data, L * dim * dim, "wq"},
        {L0->wk.data, L * kv * dim, "wk"},
        {L0->wv.data, L * kv * dim, "wv"},
        {L0->wo.data, L * dim * dim, "wo"},
        {L0->ffn_norm.data, L * dim, "ffn_norm"},
        {L0->w_gate.data, L * hid * dim, "w_gate"},
        {L0->w_down.data, L * dim * hid, "w_down"},
        {L0->w_up.data, L * hid * dim, "w_up"},
        {m->w.output_norm.data, dim, "output_norm"},
        {m->w.output.data, vocab * dim, "output"},
    };
    const char *lo = m->block, *hi = lo + m->block_bytes;
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        const char *p = (const char *)views[i].p;
        REQUIRE(p != NULL, "view %s is NULL", views[i].name);
        REQUIRE(((uintptr_t)p & 63) == 0, "view %s not 64-byte aligned", views[i].name);
        REQUIRE(p >= lo && views[i].floats * 4 <= (uint64_t)(hi - p),
                "view %s (%llu floats) outside the block", views[i].name,
                (unsigned long long)views[i].floats);
    }
    if (c->shared_classifier)
        REQUIRE(m->w.output.data == m->w.token_embd.data, "shared classifier not shared");
    else
        REQUIRE(m->w.output.data != m->w.token_embd.data, "separate classifier is shared");
    /* First tensor of each format, straight from the file. */
    const void *first;
    uint64_t off, floats;
    if (c->format == MODEL_FMT_LEGACY) {
        first = m->w.token_embd.data, off = MODEL_LEGACY_HEADER_BYTES, floats = vocab * dim;
    } else {
        first = L0->attn_norm.data, off = MODEL_V1_HEADER_BYTES, floats = L * dim;
    }
    REQUIRE(off + floats * 4 <= len, "first tensor past the file end");
    REQUIRE(memcmp(first, file + off, (size_t)floats * 4) == 0,
            "first tensor differs from the file bytes");
    /* Last loaded tensor: ends at the end of the file, or (legacy, shared
     * classifier) just before the unused freq_cis block. */
    const void *last;
    uint64_t last_floats, tail = 0;
    if (!c->shared_classifier) {
        last = m->w.output.data, last_floats = vocab * dim;
    } else if (c->format == MODEL_FMT_V1) {
        last = L0->w_up.data, last_floats = L * hid * dim;
    } else {
        last = m->w.output_norm.data, last_floats = dim;
        tail = (uint64_t)c->seq_len * (uint64_t)model_head_size(c) * 4;
    }
    REQUIRE(last_floats * 4 + tail <= len, "last tensor before the file start");
    REQUIRE(memcmp(last, file + len - tail - last_floats * 4, (size_t)last_floats * 4) == 0,
            "last tensor differs from the file bytes before its end");
}

static void load_once(const uint8_t *file, size_t len)
{
    struct model_config probed;
    int probe_rc;
    probe_once(file, len < MODEL_PROBE_BYTES ? len : MODEL_PROBE_BYTES, len, 300, &probed,
               &probe_rc);

    fuzz_tmp_write(file, len);
    size_t before = plat_posix_live_bytes();
    struct model m;
    memset(&m, 0xA5, sizeof m);
    char err[256];
    memset(err, 'Z', sizeof err);
    int rc = model_load(&m, fuzz_tmp_path, err, sizeof err);
    REQUIRE((rc == 0) == (probe_rc == 0), "model_load %d but model_probe %d (%s)", rc,
            probe_rc, err);
    if (rc) {
        check_msg(err, sizeof err, "model_load");
        REQUIRE(is_zero(&m, sizeof m), "struct model not zeroed after a failed load");
        REQUIRE(plat_posix_live_bytes() == before, "failed load leaked %zu bytes",
                plat_posix_live_bytes() - before);
        return;
    }
    check_loaded(&m, &probed, file, len);
    REQUIRE(plat_posix_live_bytes() == before + m.block_bytes,
            "live bytes %zu, expected %zu + block %zu", plat_posix_live_bytes(), before,
            m.block_bytes);
    model_free(&m);
    REQUIRE(is_zero(&m, sizeof m), "model_free did not zero the struct");
    REQUIRE(plat_posix_live_bytes() == before, "model_free left %zu bytes",
            plat_posix_live_bytes() - before);

    /* probe_file agrees too */
    struct model_config pc;
    uint64_t sz = 0;
    REQUIRE(model_probe_file(fuzz_tmp_path, &pc, &sz, err, sizeof err) == 0 && sz == len &&
                memcmp(&pc, &probed, sizeof pc) == 0,
            "model_probe_file disagrees: %s", err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_tmp_init("fuzz_model");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t claimed = 0;
    size_t skip = size < 8 ? size : 8;
    for (size_t i = 0; i < skip; i++)
        claimed |= (uint64_t)data[i] << (8 * i);
    const uint8_t *file = data + skip;
    size_t len = size - skip;

    /* Exact-size heap copies so ASan sees every over-read of hdr. */
    size_t hl = len < MODEL_PROBE_BYTES ? len : MODEL_PROBE_BYTES;
    uint8_t *hdr = malloc(hl ? hl : 1);
    memcpy(hdr, file, hl);
    probe_once(hdr, hl, claimed, 300, NULL, NULL);
    probe_once(hdr, hl, len, 300, NULL, NULL);
    /* tiny error buffers: truncated but still terminated */
    probe_once(hdr, hl, claimed, 1 + (claimed >> 60) % 8, NULL, NULL);
    /* header length shorter than what the claimed size needs */
    if (hl > 0)
        probe_once(hdr, (size_t)(claimed % hl), claimed, 300, NULL, NULL);
    free(hdr);

    if (len <= LOAD_MAX)
        load_once(file, len);
    return 0;
}
