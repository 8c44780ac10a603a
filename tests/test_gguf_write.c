/* test_gguf_write.c - the GGUF writer (gguf_write.c) against the reader
 * (gguf.c): every value type and string arrays round-trip, tensor infos,
 * offsets and zero padding at the default and a custom alignment, chunked
 * streaming equals the one-call write, copying a read file's entries gives
 * the same bytes, a real model's metadata survives a rewrite, and every
 * argument error is refused (sticky) without leaking memory. */
#include "testlib.h"

#include <stdint.h>

#include "../errors.h"
#include "../gguf.h"
#include "../gguf_write.h"
#include "../platform_posix.h"

#define ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

const char *test_models_dir(void);
char *test_read_file(const char *path, size_t *ret_len);

/* ---- a memory sink ---- */

struct mem {
    unsigned char *d;
    size_t n, cap;
    size_t fail_after; /* fail once n would pass this (0: never) */
};

static int mem_sink(void *ctx, const void *data, size_t n)
{
    struct mem *m = ctx;
    if (m->fail_after && m->n + n > m->fail_after)
        return ERR_IO;
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2 + 64;
        m->d = realloc(m->d, m->cap);
    }
    memcpy(m->d + m->n, data, n);
    m->n += n;
    return 0;
}

/* Chops every write into 1-byte calls, to show the sink sees the same bytes. */
static int byte_sink(void *ctx, const void *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = mem_sink(ctx, (const unsigned char *)data + i, 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse(struct gguf_file *g, const struct mem *m, char *err, size_t cap)
{
    return gguf_parse(g, m->d, m->n, m->n, err, cap);
}

/* A writer with one entry of every type and two tensors. */
static void fill_all_types(struct gguf_writer *w, const float *f32, const uint16_t *q8)
{
    static const int32_t i32s[] = {-1, 0, 2147483647};
    static const uint8_t bools[] = {1, 0, 1};
    static const double f64s[] = {0.5, -1e300};
    static const struct gguf_str strs[] = {{"alpha", 5}, {"", 0}, {"nul\0in", 6}, {"\xe2\x96\x81x", 4}};
    CHECK_INT(gguf_w_str(w, "general.architecture", "llama"), 0);
    CHECK_INT(gguf_w_u8(w, "t.u8", 250), 0);
    CHECK_INT(gguf_w_i8(w, "t.i8", -120), 0);
    CHECK_INT(gguf_w_u16(w, "t.u16", 65535), 0);
    CHECK_INT(gguf_w_i16(w, "t.i16", -32768), 0);
    CHECK_INT(gguf_w_u32(w, "t.u32", 4000000000u), 0);
    CHECK_INT(gguf_w_i32(w, "t.i32", -2000000000), 0);
    CHECK_INT(gguf_w_f32(w, "t.f32", 1.5f), 0);
    CHECK_INT(gguf_w_bool(w, "t.bool", 7), 0);
    CHECK_INT(gguf_w_u64(w, "t.u64", UINT64_MAX), 0);
    CHECK_INT(gguf_w_i64(w, "t.i64", INT64_MIN), 0);
    CHECK_INT(gguf_w_f64(w, "t.f64", -0.25), 0);
    CHECK_INT(gguf_w_strn(w, "t.strn", "a\0b", 3), 0);
    CHECK_INT(gguf_w_str(w, "t.empty", ""), 0);
    CHECK_INT(gguf_w_arr(w, "t.arr_i32", GGUF_TYPE_INT32, i32s, 3), 0);
    CHECK_INT(gguf_w_arr(w, "t.arr_bool", GGUF_TYPE_BOOL, bools, 3), 0);
    CHECK_INT(gguf_w_arr(w, "t.arr_f64", GGUF_TYPE_FLOAT64, f64s, 2), 0);
    CHECK_INT(gguf_w_arr(w, "t.arr_empty", GGUF_TYPE_UINT8, NULL, 0), 0);
    CHECK_INT(gguf_w_arr_str(w, "t.arr_str", strs, 4), 0);
    uint64_t d1[2] = {32, 3}, d2[1] = {64};
    CHECK_INT(gguf_w_tensor(w, "a.weight", GGML_TYPE_F32, 2, d1, f32), 0);
    CHECK_INT(gguf_w_tensor(w, "b.q8", GGML_TYPE_Q8_0, 1, d2, q8), 0);
}

TEST(gguf_write_every_type_round_trips)
{
    size_t live = plat_posix_live_bytes();
    float f32[96];
    uint16_t q8[34]; /* 2 blocks of 34 bytes */
    for (int i = 0; i < 96; i++)
        f32[i] = (float)i * 0.5f - 7.0f;
    for (int i = 0; i < 34; i++)
        q8[i] = (uint16_t)(i * 977u);
    struct gguf_writer w;
    gguf_writer_init(&w);
    fill_all_types(&w, f32, q8);
    struct mem m = {0};
    uint64_t head = 0, total = 0;
    CHECK_INT(gguf_w_header_bytes(&w, &head), 0);
    CHECK_INT(gguf_w_file_bytes(&w, &total), 0);
    CHECK_INT(gguf_w_write(&w, mem_sink, &m), 0);
    CHECK_INT(m.n, total);
    CHECK_INT(head % 32, 0);
    /* a second write of the same writer is refused */
    CHECK_INT(gguf_w_write_header(&w, mem_sink, &m), ERR_INVAL);
    m.n = (size_t)total;

    struct gguf_file g;
    char err[256] = "";
    int rc = parse(&g, &m, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK_INT(g.version, 3);
        CHECK_INT(g.n_kv, 19);
        CHECK_INT(g.n_tensors, 2);
        CHECK_INT(g.alignment, 32);
        CHECK_INT(g.parts[0].data_offset, head);
        uint32_t u32;
        uint64_t u64;
        int64_t i64;
        float f;
        int b;
        struct gguf_str s;
        CHECK(gguf_get_u32(&g, "t.u8", &u32) == 0 && u32 == 250);
        CHECK(gguf_get_i64(&g, "t.i8", &i64) == 0 && i64 == -120);
        CHECK(gguf_get_u32(&g, "t.u16", &u32) == 0 && u32 == 65535);
        CHECK(gguf_get_i64(&g, "t.i16", &i64) == 0 && i64 == -32768);
        CHECK(gguf_get_u32(&g, "t.u32", &u32) == 0 && u32 == 4000000000u);
        CHECK(gguf_get_i64(&g, "t.i32", &i64) == 0 && i64 == -2000000000);
        CHECK(gguf_get_f32(&g, "t.f32", &f) == 0 && f == 1.5f);
        CHECK(gguf_get_bool(&g, "t.bool", &b) == 0 && b == 1);
        CHECK(gguf_get_u64(&g, "t.u64", &u64) == 0 && u64 == UINT64_MAX);
        CHECK(gguf_get_i64(&g, "t.i64", &i64) == 0 && i64 == INT64_MIN);
        CHECK(gguf_get_f32(&g, "t.f64", &f) == 0 && f == -0.25f);
        CHECK(gguf_get_str(&g, "t.strn", &s) == 0 && s.n == 3 && !memcmp(s.s, "a\0b", 3));
        CHECK(gguf_get_str(&g, "t.empty", &s) == 0 && s.n == 0);
        CHECK(gguf_get_str(&g, "general.architecture", &s) == 0 && !strcmp(s.s, "llama"));
        const struct gguf_kv *kv = gguf_find(&g, "t.arr_i32");
        int64_t v;
        CHECK(kv && kv->elem_type == GGUF_TYPE_INT32 && kv->n == 3);
        CHECK(gguf_arr_int(kv, 0, &v) == 0 && v == -1);
        CHECK(gguf_arr_int(kv, 2, &v) == 0 && v == 2147483647);
        kv = gguf_find(&g, "t.arr_bool");
        CHECK(kv && kv->n == 3 && gguf_arr_int(kv, 1, &v) == 0 && v == 0);
        kv = gguf_find(&g, "t.arr_f64");
        CHECK(kv && kv->n == 2 && gguf_arr_f32(kv, 0, &f) == 0 && f == 0.5f);
        kv = gguf_find(&g, "t.arr_empty");
        CHECK(kv && kv->type == GGUF_TYPE_ARRAY && kv->elem_type == GGUF_TYPE_UINT8 && kv->n == 0);
        kv = gguf_find(&g, "t.arr_str");
        CHECK(kv && kv->elem_type == GGUF_TYPE_STRING && kv->n == 4);
        CHECK(gguf_arr_str(kv, 0, &s) == 0 && s.n == 5 && !strcmp(s.s, "alpha"));
        CHECK(gguf_arr_str(kv, 1, &s) == 0 && s.n == 0);
        CHECK(gguf_arr_str(kv, 2, &s) == 0 && s.n == 6 && !memcmp(s.s, "nul\0in", 6));
        CHECK(gguf_arr_str(kv, 3, &s) == 0 && s.n == 4);
        /* entries keep the order they were added in */
        CHECK_STR(g.kv[0].key.s, "general.architecture");
        CHECK_STR(g.kv[18].key.s, "t.arr_str");

        const struct gguf_tensor *t = gguf_find_tensor(&g, "a.weight");
        CHECK(t && t->type == GGML_TYPE_F32 && t->n_dims == 2 && t->dims[0] == 32 &&
              t->dims[1] == 3 && t->n_bytes == 384 && t->offset == head);
        if (t)
            CHECK(!memcmp(m.d + t->offset, f32, 384));
        const struct gguf_tensor *t2 = gguf_find_tensor(&g, "b.q8");
        CHECK(t2 && t2->type == GGML_TYPE_Q8_0 && t2->n_dims == 1 && t2->n_bytes == 68 &&
              t2->offset == head + 384); /* 384 is a multiple of 32 */
        if (t2) {
            CHECK(!memcmp(m.d + t2->offset, q8, 68));
            /* padding after the last tensor, zero */
            CHECK_INT(m.n, head + 384 + 96);
            for (size_t i = t2->offset + 68; i < m.n; i++)
                CHECK(m.d[i] == 0);
        }
        /* zero padding between the tensor infos and the data */
        const struct gguf_wtensor *wt = gguf_w_get_tensor(&w, 1);
        CHECK(wt && wt->offset == 384 && !strcmp(wt->name, "b.q8"));
        CHECK(gguf_w_get_tensor(&w, 2) == NULL);
        gguf_close(&g);
    }
    free(m.d);
    gguf_writer_free(&w);
    CHECK_INT(plat_posix_live_bytes(), live);
}

TEST(gguf_write_custom_alignment_and_streaming)
{
    size_t live = plat_posix_live_bytes();
    static float a[37 * 2], b[5];
    for (int i = 0; i < 37 * 2; i++)
        a[i] = (float)i;
    for (int i = 0; i < 5; i++)
        b[i] = -(float)i;
    uint64_t da[2] = {37, 2}, db[1] = {5};
    struct mem one = {0}, chunked = {0};
    for (int pass = 0; pass < 2; pass++) {
        struct gguf_writer w;
        gguf_writer_init(&w);
        gguf_w_str(&w, "general.architecture", "llama");
        CHECK_INT(gguf_w_u32(&w, "general.alignment", 64), 0);
        CHECK_INT(w.alignment, 64);
        gguf_w_tensor(&w, "a", GGML_TYPE_F32, 2, da, pass ? NULL : a);
        gguf_w_tensor(&w, "b", GGML_TYPE_F32, 1, db, pass ? NULL : b);
        if (pass == 0) {
            CHECK_INT(gguf_w_write(&w, mem_sink, &one), 0);
        } else {
            /* streamed in odd chunks spanning both tensors, 1 byte per sink call */
            unsigned char all[37 * 2 * 4 + 20];
            memcpy(all, a, sizeof a);
            memcpy(all + sizeof a, b, sizeof b);
            CHECK_INT(gguf_w_write_data(&w, byte_sink, &chunked, all, 1), ERR_INVAL); /* no header */
            CHECK_INT(gguf_w_write_header(&w, byte_sink, &chunked), 0);
            CHECK_INT(gguf_w_tensor(&w, "late", GGML_TYPE_F32, 1, db, b), ERR_INVAL);
            size_t off = 0;
            static const size_t steps[] = {7, 100, 190, 19};
            for (size_t k = 0; k < ARRAY_SIZE_T(steps); k++) {
                CHECK_INT(gguf_w_write_end(&w), ERR_INVAL);
                CHECK_INT(gguf_w_write_data(&w, byte_sink, &chunked, all + off, steps[k]), 0);
                off += steps[k];
            }
            CHECK_INT(off, sizeof all);
            CHECK_INT(gguf_w_write_end(&w), 0);
            CHECK_INT(gguf_w_write_data(&w, byte_sink, &chunked, all, 1), ERR_INVAL); /* too much */
        }
        gguf_writer_free(&w);
    }
    CHECK_INT(one.n, chunked.n);
    CHECK(one.n == chunked.n && !memcmp(one.d, chunked.d, one.n));
    struct gguf_file g;
    char err[256] = "";
    int rc = parse(&g, &one, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK_INT(g.alignment, 64);
        CHECK_INT(g.parts[0].data_offset % 64, 0);
        const struct gguf_tensor *tb = gguf_find_tensor(&g, "b");
        CHECK(tb && tb->offset == g.parts[0].data_offset + 320); /* 296 rounded up to 64 */
        CHECK_INT(one.n, g.parts[0].data_offset + 320 + 64);
        gguf_close(&g);
    }
    free(one.d);
    free(chunked.d);
    CHECK_INT(plat_posix_live_bytes(), live);
}

TEST(gguf_write_copy_of_a_real_file_is_identical)
{
    /* stories260K.gguf was written by llama.cpp's writer: rewriting its
     * entries and tensors in file order must give the same bytes */
    char path[1024];
    snprintf(path, sizeof path, "%s/stories260K.gguf", test_models_dir());
    size_t len = 0;
    char *file = test_read_file(path, &len);
    CHECK_MSG(file != NULL, "cannot read %s", path);
    if (!file)
        return;
    size_t live = plat_posix_live_bytes();
    struct gguf_file g;
    char err[256] = "";
    int rc = gguf_parse(&g, file, len, len, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        struct gguf_writer w;
        gguf_writer_init(&w);
        for (uint64_t i = 0; i < g.n_kv; i++)
            CHECK_INT(gguf_w_kv(&w, NULL, &g.kv[i]), 0);
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            const struct gguf_tensor *t = &g.tensors[i];
            CHECK_INT(gguf_w_tensor(&w, t->name, t->type, t->n_dims, t->dims, file + t->offset), 0);
        }
        struct mem m = {0};
        CHECK_INT(gguf_w_write(&w, mem_sink, &m), 0);
        CHECK_INT(m.n, len);
        CHECK(m.n == len && !memcmp(m.d, file, len));
        /* the entries under another name, one by one */
        struct gguf_writer w2;
        gguf_writer_init(&w2);
        CHECK_INT(gguf_w_kv(&w2, "copy.tokens", gguf_find(&g, "tokenizer.ggml.tokens")), 0);
        struct mem m2 = {0};
        CHECK_INT(gguf_w_write(&w2, mem_sink, &m2), 0);
        struct gguf_file g2;
        rc = parse(&g2, &m2, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        if (rc == 0) {
            struct gguf_str s;
            const struct gguf_kv *kv = gguf_find(&g2, "copy.tokens");
            CHECK(kv && kv->n == 512 && gguf_arr_str(kv, 1, &s) == 0 && !strcmp(s.s, "<s>"));
            gguf_close(&g2);
        }
        free(m.d);
        free(m2.d);
        gguf_writer_free(&w);
        gguf_writer_free(&w2);
        gguf_close(&g);
    }
    CHECK_INT(plat_posix_live_bytes(), live);
    free(file);
}

TEST(gguf_write_refuses_bad_arguments)
{
    size_t live = plat_posix_live_bytes();
    static const struct {
        const char *what;
        int expect;
    } cases[] = {
        {"duplicate key", ERR_INVAL},     {"empty key", ERR_INVAL},
        {"alignment 0", ERR_INVAL},       {"alignment 48", ERR_INVAL},
        {"name 64 bytes", ERR_INVAL},     {"duplicate tensor", ERR_INVAL},
        {"0 dims", ERR_INVAL},            {"5 dims", ERR_INVAL},
        {"zero dim", ERR_INVAL},          {"row not a block multiple", ERR_INVAL},
        {"unknown type", ERR_INVAL},      {"string array element", ERR_INVAL},
        {"array of arrays", ERR_INVAL},   {"array of strings as numbers", ERR_INVAL},
        {"size overflow", ERR_RANGE},
    };
    float x[64] = {0};
    for (size_t c = 0; c < ARRAY_SIZE_T(cases); c++) {
        struct gguf_writer w;
        gguf_writer_init(&w);
        CHECK_INT(gguf_w_u32(&w, "k", 1), 0);
        uint64_t d[5] = {32, 1, 1, 1, 1};
        CHECK_INT(gguf_w_tensor(&w, "t", GGML_TYPE_F32, 1, d, x), 0);
        int rc = 0;
        char name[80];
        memset(name, 'n', 64);
        name[64] = 0;
        struct gguf_str bad = {NULL, 3};
        uint64_t huge[2] = {UINT64_C(1) << 40, UINT64_C(1) << 30};
        uint64_t zero[1] = {0}, odd[1] = {33};
        switch (c) {
        case 0: rc = gguf_w_u8(&w, "k", 1); break;
        case 1: rc = gguf_w_u8(&w, "", 1); break;
        case 2: rc = gguf_w_u32(&w, "general.alignment", 0); break;
        case 3: rc = gguf_w_u32(&w, "general.alignment", 48); break;
        case 4: rc = gguf_w_tensor(&w, name, GGML_TYPE_F32, 1, d, x); break;
        case 5: rc = gguf_w_tensor(&w, "t", GGML_TYPE_F32, 1, d, x); break;
        case 6: rc = gguf_w_tensor(&w, "u", GGML_TYPE_F32, 0, d, x); break;
        case 7: rc = gguf_w_tensor(&w, "u", GGML_TYPE_F32, 5, d, x); break;
        case 8: rc = gguf_w_tensor(&w, "u", GGML_TYPE_F32, 1, zero, x); break;
        case 9: rc = gguf_w_tensor(&w, "u", GGML_TYPE_Q8_0, 1, odd, x); break;
        case 10: rc = gguf_w_tensor(&w, "u", 4 /* removed Q4_2 */, 1, d, x); break;
        case 11: rc = gguf_w_arr_str(&w, "a", &bad, 1); break;
        case 12: rc = gguf_w_arr(&w, "a", GGUF_TYPE_ARRAY, x, 1); break;
        case 13: rc = gguf_w_arr(&w, "a", GGUF_TYPE_STRING, x, 1); break;
        case 14: rc = gguf_w_tensor(&w, "u", GGML_TYPE_F32, 2, huge, x); break;
        }
        CHECK_MSG(rc == cases[c].expect, "%s: got %d", cases[c].what, rc);
        /* sticky: later calls fail the same way and nothing is written */
        CHECK_MSG(gguf_w_str(&w, "later", "x") == cases[c].expect, "%s: not sticky", cases[c].what);
        struct mem m = {0};
        CHECK_MSG(gguf_w_write(&w, mem_sink, &m) == cases[c].expect && m.n == 0,
                  "%s: written anyway", cases[c].what);
        free(m.d);
        gguf_writer_free(&w);
    }
    /* data missing for gguf_w_write; a failing sink stops the write */
    struct gguf_writer w;
    gguf_writer_init(&w);
    uint64_t d[1] = {64};
    gguf_w_tensor(&w, "t", GGML_TYPE_F32, 1, d, NULL);
    struct mem m = {0};
    CHECK_INT(gguf_w_write(&w, mem_sink, &m), ERR_INVAL);
    gguf_writer_free(&w);
    gguf_writer_init(&w);
    gguf_w_tensor(&w, "t", GGML_TYPE_F32, 1, d, x);
    m.fail_after = 40;
    CHECK_INT(gguf_w_write(&w, mem_sink, &m), ERR_IO);
    free(m.d);
    gguf_writer_free(&w);
    CHECK_INT(plat_posix_live_bytes(), live);
}
