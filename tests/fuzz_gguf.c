/* fuzz_gguf.c - libFuzzer target for the GGUF reader (gguf.c).
 *
 * Input: the bytes of a GGUF file (file_size = input length).
 *  1. gguf_parse on an exact-size heap copy: never crashes; a failure is
 *     ERR_FORMAT, ERR_RANGE (a limit) or ERR_UNSUPPORTED with a non-empty
 *     one-line "gguf: " message, a zeroed struct and no plat_alloc bytes
 *     left; a success obeys every documented promise: keys and tensor names
 *     found again by lookup, values of valid types inside the block, tensors
 *     with consistent shapes, sizes and aligned ranges inside the file, and
 *     gguf_close returns every byte.
 *  2. The same bytes with only a prefix in memory: the same verdict, or
 *     ERR_RANGE (the header region is longer than the prefix). A larger
 *     claimed file size never turns a success into a failure.
 *  3. Tiny error buffers: truncated but terminated, nothing written past.
 *  4. Small inputs through a temp file and gguf_open_chunked with a 64..127
 *     byte read window: the same verdict and message, the same tables.
 * Any broken promise prints why and aborts, so libFuzzer saves the input.
 * Built and run by tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../errors.h"
#include "../gguf.h"
#include "../platform_posix.h"

#define FILE_MAX (64 * 1024) /* bigger inputs skip the temp-file path */

#include "fuzz_require.h"


static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* err must be a NUL-terminated (within cap) single printable line. */
static void check_msg(const char *err, size_t cap, const char *what)
{
    size_t n = strnlen(err, cap);
    REQUIRE(n < cap, "%s: message not NUL-terminated within %zu bytes", what, cap);
    REQUIRE(n > 0 || cap == 1, "%s: empty message", what);
    if (cap > 8)
        REQUIRE(strncmp(err, "gguf: ", 6) == 0, "%s: message '%s' lacks the prefix", what, err);
    for (size_t i = 0; i < n; i++)
        REQUIRE((unsigned char)err[i] >= 0x20 && err[i] != 0x7f,
                "%s: control byte 0x%02x at %zu in '%s'", what, (unsigned char)err[i], i, err);
}

static int in_block(const struct gguf_file *g, const void *p, uint64_t n)
{
    const char *lo = g->block, *hi = lo + g->block_bytes, *c = p;
    return c >= lo && c <= hi && n <= (uint64_t)(hi - c);
}

static void check_str(const struct gguf_file *g, const struct gguf_str *s, const char *what)
{
    REQUIRE(s->s != NULL && in_block(g, s->s, s->n + 1), "%s outside the block", what);
    REQUIRE(s->s[s->n] == 0, "%s not NUL-terminated", what);
}

/* Every promise gguf.h makes about a parsed file of file_size bytes. */
static void check_file(const struct gguf_file *g, uint64_t file_size)
{
    REQUIRE(g->version == 2 || g->version == 3, "version %u", g->version);
    REQUIRE(g->alignment && !(g->alignment & (g->alignment - 1)), "alignment %u", g->alignment);
    REQUIRE(g->n_parts == 1 && g->parts && in_block(g, g->parts, sizeof *g->parts), "parts");
    const struct gguf_part *pt = &g->parts[0];
    REQUIRE(pt->file_size == file_size && pt->version == g->version, "part file size/version");
    REQUIRE(pt->data_offset >= GGUF_HEADER_BYTES && pt->data_offset % g->alignment == 0,
            "data offset %llu", (unsigned long long)pt->data_offset);
    REQUIRE(pt->path && pt->path[0] == 0, "memory parse has a path");
    REQUIRE(g->n_kv <= GGUF_MAX_KV && g->n_tensors <= GGUF_MAX_TENSORS, "counts");
    REQUIRE(pt->n_tensors == g->n_tensors, "part tensor count");
    REQUIRE(g->n_kv == 0 || in_block(g, g->kv, g->n_kv * sizeof *g->kv), "kv table");

    for (uint64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv *kv = &g->kv[i];
        check_str(g, &kv->key, "key");
        REQUIRE(kv->key.n <= GGUF_MAX_KEY_LEN, "key length");
        if (strlen(kv->key.s) == kv->key.n)
            REQUIRE(gguf_find(g, kv->key.s) == kv, "key #%llu not found again",
                    (unsigned long long)i);
        REQUIRE(kv->type < GGUF_TYPE_COUNT, "type %u", kv->type);
        char line[160];
        memset(line, 'Z', sizeof line);
        gguf_kv_format(kv, line, 100);
        REQUIRE(strnlen(line, 100) < 100 && line[100] == 'Z', "gguf_kv_format overflow");
        for (const char *c = line; *c; c++)
            REQUIRE((unsigned char)*c >= 0x20 && *c != 0x7f, "gguf_kv_format control byte");
        if (kv->type == GGUF_TYPE_STRING)
            check_str(g, &kv->v.str, "string value");
        if (kv->type != GGUF_TYPE_ARRAY) {
            REQUIRE(kv->elem_type == kv->type && kv->n == 1, "scalar shape");
            continue;
        }
        REQUIRE(kv->elem_type < GGUF_TYPE_COUNT && kv->elem_type != GGUF_TYPE_ARRAY,
                "element type %u", kv->elem_type);
        REQUIRE(kv->n <= GGUF_MAX_ARRAY, "array length");
        uint64_t n = 0;
        const void *data = gguf_arr_data(kv, kv->elem_type, &n);
        REQUIRE(data && n == kv->n, "gguf_arr_data");
        if (kv->n == 0)
            continue;
        REQUIRE(((uintptr_t)data & 7) == 0, "array data not 8-byte aligned");
        if (kv->elem_type == GGUF_TYPE_STRING) {
            REQUIRE(in_block(g, data, kv->n * sizeof(struct gguf_str)), "string array");
            for (uint64_t k = 0; k < kv->n; k++) {
                struct gguf_str s;
                REQUIRE(gguf_arr_str(kv, k, &s) == 0, "gguf_arr_str");
                check_str(g, &s, "array string");
            }
        } else {
            REQUIRE(in_block(g, data, kv->n * gguf_vtype_size(kv->elem_type)), "array payload");
            int64_t v;
            float f;
            int rc = gguf_arr_int(kv, kv->n - 1, &v);
            REQUIRE(rc == 0 || rc == ERR_FORMAT || rc == ERR_RANGE, "gguf_arr_int %d", rc);
            rc = gguf_arr_f32(kv, 0, &f);
            REQUIRE(rc == 0 || rc == ERR_FORMAT, "gguf_arr_f32 %d", rc);
        }
        REQUIRE(gguf_arr_int(kv, kv->n, &(int64_t){0}) != 0, "element past the end");
    }

    uint64_t bytes = 0, unsup = 0;
    REQUIRE(g->n_tensors == 0 || in_block(g, g->tensors, g->n_tensors * sizeof *g->tensors),
            "tensor table");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = &g->tensors[i];
        REQUIRE(t->name && in_block(g, t->name, t->name_len + 1) && t->name[t->name_len] == 0 &&
                    t->name_len <= GGUF_MAX_NAME, "tensor name");
        if (strlen(t->name) == t->name_len)
            REQUIRE(gguf_find_tensor(g, t->name) == t, "tensor #%llu not found again",
                    (unsigned long long)i);
        REQUIRE(t->n_dims <= GGUF_MAX_DIMS && t->part == 0, "n_dims/part");
        uint64_t n = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) {
            REQUIRE(d < (int)t->n_dims || t->dims[d] == 1, "unused dim not 1");
            REQUIRE(t->dims[d] <= (uint64_t)INT64_MAX, "dim out of range");
            REQUIRE(t->dims[d] == 0 || n <= UINT64_MAX / t->dims[d], "element overflow");
            n *= t->dims[d];
        }
        REQUIRE(n == t->n_elements && n <= (uint64_t)INT64_MAX, "n_elements");
        uint32_t be = 0, bb = 0;
        REQUIRE(gguf_type_info(t->type, &be, &bb) != NULL, "unknown type %u", t->type);
        REQUIRE(t->dims[0] % be == 0 && t->n_bytes == n / be * bb, "size of type %u", t->type);
        REQUIRE(t->supported == gguf_type_supported(t->type), "supported flag");
        REQUIRE(t->offset >= pt->data_offset && t->offset % g->alignment == 0, "offset alignment");
        REQUIRE(t->offset <= file_size && t->n_bytes <= file_size - t->offset,
                "tensor [%llu, +%llu) outside the file of %llu", (unsigned long long)t->offset,
                (unsigned long long)t->n_bytes, (unsigned long long)file_size);
        bytes += t->n_bytes;
        unsup += !t->supported;
    }
    REQUIRE(bytes == g->tensor_bytes && unsup == g->n_unsupported, "totals");
}

static void same_tables(const struct gguf_file *a, const struct gguf_file *b)
{
    REQUIRE(a->n_kv == b->n_kv && a->n_tensors == b->n_tensors && a->version == b->version &&
                a->alignment == b->alignment && a->tensor_bytes == b->tensor_bytes,
            "tables differ");
    for (uint64_t i = 0; i < a->n_kv; i++) {
        char x[160], y[160];
        gguf_kv_format(&a->kv[i], x, sizeof x);
        gguf_kv_format(&b->kv[i], y, sizeof y);
        REQUIRE(a->kv[i].key.n == b->kv[i].key.n &&
                    memcmp(a->kv[i].key.s, b->kv[i].key.s, a->kv[i].key.n) == 0 && !strcmp(x, y),
                "kv #%llu differs", (unsigned long long)i);
    }
    for (uint64_t i = 0; i < a->n_tensors; i++) {
        const struct gguf_tensor *s = &a->tensors[i], *t = &b->tensors[i];
        REQUIRE(s->name_len == t->name_len && !memcmp(s->name, t->name, s->name_len) &&
                    s->type == t->type && s->offset == t->offset && s->n_bytes == t->n_bytes &&
                    !memcmp(s->dims, t->dims, sizeof s->dims),
                "tensor #%llu differs", (unsigned long long)i);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_tmp_init("fuzz_gguf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan sees over-reads */
    if (size)
        memcpy(buf, data, size);
    REQUIRE(plat_posix_live_bytes() == 0, "live bytes before the parse");

    /* 1. the whole file in memory */
    struct gguf_file g;
    char err[256];
    memset(&g, 0xA5, sizeof g);
    int rc = gguf_parse(&g, buf, size, size, err, sizeof err);
    if (rc) {
        REQUIRE(rc == ERR_FORMAT || rc == ERR_RANGE || rc == ERR_UNSUPPORTED,
                "gguf_parse returned %d (%s): %s", rc, err_str(rc), err);
        check_msg(err, sizeof err, "gguf_parse");
        REQUIRE(is_zero(&g, sizeof g), "struct not zeroed after a failure");
        REQUIRE(plat_posix_live_bytes() == 0, "failure leaked %zu bytes", plat_posix_live_bytes());
    } else {
        REQUIRE(plat_posix_live_bytes() == g.block_bytes, "live %zu, block %zu",
                plat_posix_live_bytes(), g.block_bytes);
        REQUIRE(g.block_bytes <= GGUF_MAX_META_BYTES, "block over the limit");
        check_file(&g, size);
    }

    /* 2. a prefix in memory; a larger claimed size */
    if (size > 0) {
        size_t cut = (size_t)(((uint64_t)size * (buf[size - 1] + 1)) >> 8);
        struct gguf_file h;
        char err2[256];
        int rc2 = gguf_parse(&h, buf, cut, size, err2, sizeof err2);
        REQUIRE(rc2 == rc || rc2 == ERR_RANGE, "prefix of %zu bytes: %d (%s), whole: %d (%s)",
                cut, rc2, err2, rc, rc ? err : "");
        if (rc2 == rc && rc && rc != ERR_RANGE)
            REQUIRE(!strcmp(err, err2), "prefix message '%s' vs '%s'", err2, err);
        if (rc2 == 0) {
            same_tables(&g, &h);
            gguf_close(&h);
        } else {
            check_msg(err2, sizeof err2, "prefix parse");
        }
        if (rc == 0) {
            rc2 = gguf_parse(&h, buf, size, (uint64_t)size + 4096, err2, sizeof err2);
            REQUIRE(rc2 == 0, "a larger file size failed: %s", err2);
            same_tables(&g, &h);
            gguf_close(&h);
        }
    }

    /* 3. tiny error buffers */
    if (rc) {
        char small[16];
        size_t cap = 1 + (size ? buf[0] % 8 : 0);
        struct gguf_file h;
        memset(small, 'Z', sizeof small);
        REQUIRE(gguf_parse(&h, buf, size, size, small, cap) == rc, "verdict depends on errcap");
        check_msg(small, cap, "small buffer");
        for (size_t i = cap; i < sizeof small; i++)
            REQUIRE(small[i] == 'Z', "wrote small[%zu] with errcap %zu", i, cap);
    }

    /* 4. the file path with a small window */
    if (size <= FILE_MAX) {
        fuzz_tmp_write(buf, size);
        struct gguf_file h;
        char err3[256];
        size_t chunk = 64 + (size ? buf[size / 2] % 64 : 0);
        memset(&h, 0xA5, sizeof h);
        int rc3 = gguf_open_chunked(&h, fuzz_tmp_path, chunk, err3, sizeof err3);
        /* a part of a split model does not open alone under this name */
        int64_t count = 0, no = 0;
        int split = rc == 0 && ((gguf_get_i64(&g, "split.count", &count) == 0 && count > 1) ||
                                (gguf_get_i64(&g, "split.no", &no) == 0 && no > 0));
        /* gguf_open checks the split keys between its two passes, the
         * tensor data ranges in the second: a broken part of a split model
         * may fail on its split keys first */
        int split_first = rc && rc3 && (strstr(err3, "split.") || strstr(err3, "first part"));
        if (split_first) {
            check_msg(err3, sizeof err3, "split open");
            REQUIRE(is_zero(&h, sizeof h), "struct not zeroed after a failed open");
        } else if (split) {
            REQUIRE(rc3 == ERR_FORMAT || rc3 == ERR_RANGE, "split file opened alone: %d", rc3);
            check_msg(err3, sizeof err3, "split open");
            REQUIRE(strstr(err3, "split") || strstr(err3, "part"), "split message '%s'", err3);
            REQUIRE(is_zero(&h, sizeof h), "struct not zeroed after a failed open");
        } else {
            REQUIRE(rc3 == rc, "file read (window %zu): %d (%s), memory: %d (%s)", chunk, rc3,
                    err3, rc, rc ? err : "");
            if (rc) {
                REQUIRE(!strcmp(err, err3), "file message '%s' vs memory '%s'", err3, err);
                REQUIRE(is_zero(&h, sizeof h), "struct not zeroed after a failed open");
            } else {
                same_tables(&g, &h);
                REQUIRE(!strcmp(h.parts[0].path, fuzz_tmp_path), "part path");
                gguf_close(&h);
            }
        }
    }

    if (rc == 0) {
        gguf_close(&g);
        REQUIRE(is_zero(&g, sizeof g), "gguf_close did not zero the struct");
    }
    REQUIRE(plat_posix_live_bytes() == 0, "%zu bytes left after gguf_close",
            plat_posix_live_bytes());
    free(buf);
    return 0;
}
