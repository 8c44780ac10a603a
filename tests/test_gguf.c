/* test_gguf.c - the GGUF reader (gguf.c): the shared models' metadata and
 * tensor tables, every value type and getter, a table of hand-built broken
 * files (each with its one-line reason and nothing left allocated), version
 * and alignment variants, chunked file reads equal to memory parses, and a
 * split model written here that loads as one. */
#include "testlib.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../errors.h"
#include "../gguf.h"
#include "../platform_posix.h"

#ifndef ARRAY_LEN
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* ---- a tiny GGUF writer ---- */

struct gb {
    unsigned char *d;
    size_t n, cap;
};

static void gb_bytes(struct gb *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
    }
    if (n)
        memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void gb_u8(struct gb *b, uint8_t v) { gb_bytes(b, &v, 1); }
static void gb_u16(struct gb *b, uint16_t v) { gb_bytes(b, &v, 2); }
static void gb_u32(struct gb *b, uint32_t v) { gb_bytes(b, &v, 4); }
static void gb_u64(struct gb *b, uint64_t v) { gb_bytes(b, &v, 8); }
static void gb_f32(struct gb *b, float v) { gb_bytes(b, &v, 4); }
static void gb_f64(struct gb *b, double v) { gb_bytes(b, &v, 8); }
static void gb_strn(struct gb *b, const char *s, size_t n)
{
    gb_u64(b, n);
    gb_bytes(b, s, n);
}
static void gb_str(struct gb *b, const char *s) { gb_strn(b, s, strlen(s)); }
static void gb_header(struct gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}
static void gb_key(struct gb *b, const char *key, uint32_t type)
{
    gb_str(b, key);
    gb_u32(b, type);
}
static void kv_u32(struct gb *b, const char *key, uint32_t v)
{
    gb_key(b, key, GGUF_TYPE_UINT32);
    gb_u32(b, v);
}
static void kv_str(struct gb *b, const char *key, const char *s)
{
    gb_key(b, key, GGUF_TYPE_STRING);
    gb_str(b, s);
}
static void gb_tensor(struct gb *b, const char *name, uint32_t n_dims, const uint64_t *dims,
                      uint32_t type, uint64_t offset)
{
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        gb_u64(b, dims[i]);
    gb_u32(b, type);
    gb_u64(b, offset);
}
static void gb_pad(struct gb *b, size_t align)
{
    while (b->n % align)
        gb_u8(b, 0);
}

/* A small valid file: two keys (+ general.alignment when align != 0), a
 * 4x2 F32 tensor "w" (floats 0..7) and a 32x1 Q8_0 tensor "q". */
static void good_file(struct gb *b, uint32_t version, uint32_t align)
{
    uint32_t a = align ? align : GGUF_DEFAULT_ALIGNMENT;
    if (a & (a - 1) || a > 4096)
        a = 32; /* invalid or huge: the parse fails before the data anyway */
    gb_header(b, version, 2, align ? 3 : 2);
    kv_str(b, "general.architecture", "llama");
    if (align)
        kv_u32(b, "general.alignment", align);
    kv_u32(b, "llama.block_count", 5);
    uint64_t d1[2] = {4, 2}, d2[2] = {32, 1};
    uint64_t q_off = (32 + a - 1) / a * a;
    gb_tensor(b, "w", 2, d1, GGML_TYPE_F32, 0);
    gb_tensor(b, "q", 2, d2, GGML_TYPE_Q8_0, q_off);
    gb_pad(b, a);
    for (int i = 0; i < 8; i++)
        gb_f32(b, (float)i);
    gb_pad(b, a);
    for (int i = 0; i < 34; i++)
        gb_u8(b, (uint8_t)i);
}

static const char *tmp_dir(void)
{
    static char dir[128];
    if (!dir[0])
        snprintf(dir, sizeof dir, "/tmp/llm_gguf_test_%d", (int)getpid());
    mkdir(dir, 0700); /* again after a test removed it */
    return dir;
}

static void write_gb(const char *path, const struct gb *b)
{
    CHECK(test_write_file(path, b->d ? (const void *)b->d : "", b->n) == 0);
}

/* ---- the shared models ---- */

static void check_stories(const struct gguf_file *g, uint64_t file_size)
{
    CHECK_INT(g->version, 3);
    CHECK_INT(g->n_kv, 19);
    CHECK_INT(g->n_tensors, 48);
    CHECK_INT(g->n_parts, 1);
    CHECK_INT(g->alignment, 32);
    CHECK_INT(g->n_unsupported, 0);
    uint32_t u = 0;
    struct gguf_str s = {0, 0};
    float f = 0;
    static const struct { const char *key; uint32_t v; } ints[] = {
        {"llama.block_count", 5}, {"llama.embedding_length", 64},
        {"llama.feed_forward_length", 172}, {"llama.attention.head_count", 8},
        {"llama.attention.head_count_kv", 4}, {"llama.context_length", 2048},
        {"llama.rope.dimension_count", 8}, {"tokenizer.ggml.bos_token_id", 1},
        {"tokenizer.ggml.eos_token_id", 2}, {"tokenizer.ggml.unknown_token_id", 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(ints); i++) {
        u = 12345;
        CHECK_MSG(gguf_get_u32(g, ints[i].key, &u) == 0 && u == ints[i].v, "%s = %u",
                  ints[i].key, u);
    }
    CHECK(gguf_get_str(g, "tokenizer.ggml.model", &s) == 0);
    CHECK_STR(s.s, "llama");
    CHECK(gguf_get_str(g, "general.architecture", &s) == 0);
    CHECK_STR(s.s, "llama");
    CHECK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f) == 0);
    CHECK(f == 1e-5f);
    const struct gguf_kv *tok = gguf_find(g, "tokenizer.ggml.tokens");
    uint64_t n = 0;
    CHECK(tok && gguf_arr_data(tok, GGUF_TYPE_STRING, &n) && n == 512);
    CHECK(gguf_arr_str(tok, 0, &s) == 0);
    CHECK_STR(s.s, "<unk>");
    CHECK(gguf_arr_str(tok, 1, &s) == 0);
    CHECK_STR(s.s, "<s>");
    CHECK(gguf_arr_str(tok, 3, &s) == 0);
    CHECK_STR(s.s, "<0x00>");
    CHECK_INT(gguf_arr_str(tok, 512, &s), ERR_RANGE);
    const struct gguf_kv *scores = gguf_find(g, "tokenizer.ggml.scores");
    const float *sc = gguf_arr_data(scores, GGUF_TYPE_FLOAT32, &n);
    CHECK(sc && n == 512);
    const struct gguf_kv *tt = gguf_find(g, "tokenizer.ggml.token_type");
    int64_t v = 0;
    CHECK(gguf_arr_int(tt, 0, &v) == 0 && v == 2);
    CHECK(gguf_arr_int(tt, 3, &v) == 0 && v == 6);
    CHECK(gguf_arr_data(tt, GGUF_TYPE_INT32, &n) && n == 512);
    /* u32 0xffffffff ids */
    CHECK(gguf_get_u32(g, "tokenizer.ggml.padding_token_id", &u) == 0 && u == 0xffffffffu);

    /* tensors: all F32, data starts at the aligned end of the infos */
    uint64_t data0 = (14152 + 31) / 32 * 32;
    CHECK_INT(g->parts[0].data_offset, data0);
    CHECK_INT(g->parts[0].file_size, file_size);
    const struct gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
    CHECK(t && t->type == GGML_TYPE_F32 && t->n_dims == 2 && t->dims[0] == 64 &&
          t->dims[1] == 512 && t->n_bytes == 64 * 512 * 4 && t->offset == data0 && t->part == 0);
    t = gguf_find_tensor(g, "blk.0.attn_k.weight");
    CHECK(t && t->dims[0] == 64 && t->dims[1] == 32 && t->dims[2] == 1 && t->n_elements == 2048);
    CHECK(t && t->offset == data0 + 278784);
    t = gguf_find_tensor(g, "blk.4.ffn_down.weight");
    CHECK(t && t->dims[0] == 172 && t->dims[1] == 64 && t->supported);
    t = gguf_find_tensor(g, "output_norm.weight");
    CHECK(t && t->n_dims == 1 && t->dims[0] == 64 && t->dims[1] == 1);
    CHECK(gguf_find_tensor(g, "blk.5.attn_q.weight") == NULL);
    CHECK(gguf_find_tensor(g, "") == NULL);
    uint64_t sum = 0, end = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *x = &g->tensors[i];
        CHECK(x->type == GGML_TYPE_F32 && x->n_bytes == x->n_elements * 4);
        CHECK(gguf_find_tensor(g, x->name) == x);
        sum += x->n_bytes;
        if (x->offset + x->n_bytes > end)
            end = x->offset + x->n_bytes;
    }
    CHECK_INT(g->tensor_bytes, sum);
    CHECK_INT(end, file_size);
}

TEST(gguf_stories260k_metadata_and_tensors)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stories260K.gguf", test_models_dir());
    size_t len = 0;
    char *bytes = test_read_file(path, &len);
    CHECK(bytes != NULL);
    if (!bytes)
        return;
    struct gguf_file g;
    char err[256] = "";
    int rc = gguf_open(&g, path, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        check_stories(&g, len);
        CHECK_STR(g.parts[0].path, path);
        /* the embedding equals stories260K.bin's first tensor (at byte 28) */
        char binpath[512];
        snprintf(binpath, sizeof binpath, "%s/stories260K.bin", test_models_dir());
        size_t blen = 0;
        char *bin = test_read_file(binpath, &blen);
        const struct gguf_tensor *t = gguf_find_tensor(&g, "token_embd.weight");
        CHECK(bin && t && blen > 28 + t->n_bytes);
        if (bin && t)
            CHECK(memcmp(bytes + t->offset, bin + 28, t->n_bytes) == 0);
        free(bin);
        gguf_close(&g);
    }
    CHECK_INT(plat_posix_live_bytes(), 0);

    /* the same from memory, and with the header region only */
    rc = gguf_parse(&g, bytes, len, len, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        check_stories(&g, len);
        CHECK_STR(g.parts[0].path, "");
        gguf_close(&g);
    }
    rc = gguf_parse(&g, bytes, 14152, len, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    gguf_close(&g);
    rc = gguf_parse(&g, bytes, 14151, len, err, sizeof err);
    CHECK_INT(rc, ERR_RANGE);
    CHECK_MSG(strstr(err, "beyond the 14151 bytes given"), "%s", err);
    CHECK_INT(plat_posix_live_bytes(), 0);
    free(bytes);
}

/* Every header cut: short memory is ERR_RANGE, a short file ERR_FORMAT;
 * never a crash, never a leak. */
TEST(gguf_stories260k_every_cut)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stories260K.gguf", test_models_dir());
    size_t len = 0;
    char *bytes = test_read_file(path, &len);
    CHECK(bytes != NULL);
    if (!bytes)
        return;
    for (size_t cut = 0; cut <= 14200; cut += (cut < 200 || cut > 14100) ? 1 : 13) {
        struct gguf_file g;
        char err[256] = "";
        unsigned char *copy = malloc(cut + 1); /* exact size for ASan */
        memcpy(copy, bytes, cut);
        int rc = gguf_parse(&g, copy, cut, len, err, sizeof err);
        CHECK_MSG(cut >= 14152 ? rc == 0 : rc == ERR_RANGE,
                  "cut %zu: rc %d %s", cut, rc, err);
        gguf_close(&g);
        rc = gguf_parse(&g, copy, cut, cut, err, sizeof err);
        CHECK_MSG(rc == ERR_FORMAT, "cut %zu as the file size: rc %d", cut, rc);
        CHECK_MSG(err[0] && !strchr(err, '\n'), "cut %zu: '%s'", cut, err);
        free(copy);
    }
    CHECK_INT(plat_posix_live_bytes(), 0);
    free(bytes);
}

TEST(gguf_chunked_reads_equal_memory_parse)
{
    char path[512];
    snprintf(path, sizeof path, "%s/ggml-vocab-llama-spm.gguf", test_models_dir());
    size_t len = 0;
    char *bytes = test_read_file(path, &len);
    CHECK(bytes != NULL);
    if (!bytes)
        return;
    struct gguf_file m;
    char err[256] = "";
    CHECK(gguf_parse(&m, bytes, len, len, err, sizeof err) == 0);
    static const size_t chunks[] = {1, 64, 65, 100, 4096, 1 << 20};
    for (size_t c = 0; c < ARRAY_LEN(chunks); c++) {
        struct gguf_file g;
        int rc = gguf_open_chunked(&g, path, chunks[c], err, sizeof err);
        CHECK_MSG(rc == 0, "chunk %zu: %s", chunks[c], err);
        if (rc)
            continue;
        CHECK(g.n_kv == m.n_kv && g.n_tensors == m.n_tensors);
        for (uint64_t i = 0; i < m.n_kv; i++) {
            char a[128], b[128];
            gguf_kv_format(&m.kv[i], a, sizeof a);
            gguf_kv_format(&g.kv[i], b, sizeof b);
            CHECK_STR(a, b);
            CHECK_STR(m.kv[i].key.s, g.kv[i].key.s);
        }
        const struct gguf_kv *ta = gguf_find(&m, "tokenizer.ggml.tokens");
        const struct gguf_kv *tb = gguf_find(&g, "tokenizer.ggml.tokens");
        int same = ta && tb && ta->n == tb->n;
        for (uint64_t i = 0; same && i < ta->n; i++) {
            struct gguf_str x, y;
            same = gguf_arr_str(ta, i, &x) == 0 && gguf_arr_str(tb, i, &y) == 0 && x.n == y.n &&
                   memcmp(x.s, y.s, x.n) == 0;
        }
        CHECK_MSG(same, "chunk %zu: tokens differ", chunks[c]);
        uint64_t n1, n2;
        const float *s1 = gguf_arr_data(gguf_find(&m, "tokenizer.ggml.scores"), GGUF_TYPE_FLOAT32, &n1);
        const float *s2 = gguf_arr_data(gguf_find(&g, "tokenizer.ggml.scores"), GGUF_TYPE_FLOAT32, &n2);
        CHECK(s1 && s2 && n1 == n2 && memcmp(s1, s2, n1 * 4) == 0);
        gguf_close(&g);
    }
    gguf_close(&m);
    /* stories too: tensor tables agree with a 64-byte window */
    snprintf(path, sizeof path, "%s/stories260K.gguf", test_models_dir());
    struct gguf_file a, b;
    CHECK(gguf_open_chunked(&a, path, 64, err, sizeof err) == 0);
    CHECK(gguf_open(&b, path, err, sizeof err) == 0);
    CHECK(a.n_tensors == 48 && b.n_tensors == 48);
    for (uint64_t i = 0; i < a.n_tensors && i < b.n_tensors; i++)
        CHECK(strcmp(a.tensors[i].name, b.tensors[i].name) == 0 &&
              a.tensors[i].offset == b.tensors[i].offset &&
              memcmp(a.tensors[i].dims, b.tensors[i].dims, sizeof a.tensors[i].dims) == 0);
    gguf_close(&a);
    gguf_close(&b);
    CHECK_INT(plat_posix_live_bytes(), 0);
    free(bytes);
}

TEST(gguf_vocab_only_file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/ggml-vocab-llama-spm.gguf", test_models_dir());
    struct gguf_file g;
    char err[256] = "";
    int rc = gguf_open(&g, path, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc)
        return;
    CHECK_INT(g.n_tensors, 0);
    CHECK_INT(g.n_kv, 22);
    CHECK_INT(g.tensor_bytes, 0);
    /* the file ends right after the infos: the data section would start past it */
    CHECK_INT(g.parts[0].file_size, 723869);
    CHECK_INT(g.parts[0].data_offset, 723872);
    uint32_t u = 0;
    CHECK(gguf_get_u32(&g, "llama.vocab_size", &u) == 0 && u == 32000);
    int b = -1;
    CHECK(gguf_get_bool(&g, "tokenizer.ggml.add_bos_token", &b) == 0 && b == 1);
    CHECK(gguf_get_bool(&g, "tokenizer.ggml.add_eos_token", &b) == 0 && b == 0);
    const struct gguf_kv *tok = gguf_find(&g, "tokenizer.ggml.tokens");
    uint64_t n = 0;
    CHECK(gguf_arr_data(tok, GGUF_TYPE_STRING, &n) != NULL && n == 32000);
    struct gguf_str s = {0, 0};
    CHECK(gguf_arr_str(tok, 29871, &s) == 0);
    CHECK_STR(s.s, "\xe2\x96\x81"); /* U+2581, SentencePiece's space */
    CHECK(gguf_arr_str(tok, 31999, &s) == 0 && s.n > 0);
    char line[128];
    gguf_kv_format(tok, line, sizeof line);
    CHECK_STR(line, "array[string] of 32000");
    gguf_kv_format(gguf_find(&g, "tokenizer.ggml.pre"), line, sizeof line);
    CHECK_STR(line, "string 'default'");
    gguf_kv_format(gguf_find(&g, "llama.block_count"), line, sizeof line);
    CHECK_STR(line, "uint32 32");
    gguf_close(&g);
    CHECK(g.block == NULL && g.n_kv == 0);
    gguf_close(&g); /* twice is fine */
    CHECK_INT(plat_posix_live_bytes(), 0);
}

/* ---- every value type and getter ---- */

TEST(gguf_value_types_and_getters)
{
    struct gb b = {0};
    gb_header(&b, 3, 0, 20);
    gb_key(&b, "u8", GGUF_TYPE_UINT8), gb_u8(&b, 200);
    gb_key(&b, "i8", GGUF_TYPE_INT8), gb_u8(&b, 0x80);
    gb_key(&b, "u16", GGUF_TYPE_UINT16), gb_u16(&b, 65535);
    gb_key(&b, "i16", GGUF_TYPE_INT16), gb_u16(&b, 0xfffe);
    gb_key(&b, "u32", GGUF_TYPE_UINT32), gb_u32(&b, 4000000000u);
    gb_key(&b, "i32", GGUF_TYPE_INT32), gb_u32(&b, (uint32_t)-7);
    gb_key(&b, "f32", GGUF_TYPE_FLOAT32), gb_f32(&b, 0.25f);
    gb_key(&b, "bool", GGUF_TYPE_BOOL), gb_u8(&b, 1);
    gb_key(&b, "str", GGUF_TYPE_STRING), gb_strn(&b, "a\0b", 3);
    gb_key(&b, "u64", GGUF_TYPE_UINT64), gb_u64(&b, UINT64_MAX);
    gb_key(&b, "i64", GGUF_TYPE_INT64), gb_u64(&b, (uint64_t)INT64_MIN);
    gb_key(&b, "f64", GGUF_TYPE_FLOAT64), gb_f64(&b, -1.5);
    gb_key(&b, "arr_i16", GGUF_TYPE_ARRAY), gb_u32(&b, GGUF_TYPE_INT16), gb_u64(&b, 3);
    gb_u16(&b, 1), gb_u16(&b, (uint16_t)-2), gb_u16(&b, 3);
    gb_key(&b, "arr_f64", GGUF_TYPE_ARRAY), gb_u32(&b, GGUF_TYPE_FLOAT64), gb_u64(&b, 2);
    gb_f64(&b, 0.5), gb_f64(&b, 1e300);
    gb_key(&b, "arr_str", GGUF_TYPE_ARRAY), gb_u32(&b, GGUF_TYPE_STRING), gb_u64(&b, 3);
    gb_str(&b, "x"), gb_str(&b, ""), gb_str(&b, "hello");
    gb_key(&b, "arr_empty", GGUF_TYPE_ARRAY), gb_u32(&b, GGUF_TYPE_UINT32), gb_u64(&b, 0);
    gb_key(&b, "arr_bool", GGUF_TYPE_ARRAY), gb_u32(&b, GGUF_TYPE_BOOL), gb_u64(&b, 2);
    gb_u8(&b, 0), gb_u8(&b, 1);
    gb_key(&b, "arr_u64", GGUF_TYPE_ARRAY), gb_u32(&b, GGUF_TYPE_UINT64), gb_u64(&b, 1);
    gb_u64(&b, UINT64_MAX);
    gb_key(&b, "", GGUF_TYPE_UINT8), gb_u8(&b, 9); /* empty key */
    gb_key(&b, "general.name", GGUF_TYPE_STRING), gb_str(&b, "tab\there");

    struct gguf_file g;
    char err[256] = "";
    int rc = gguf_parse(&g, b.d, b.n, b.n, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    free(b.d);
    if (rc)
        return;
    uint32_t u = 1;
    uint64_t u64 = 1;
    int64_t i = 1;
    float f = 1;
    int bo = -1;
    struct gguf_str s = {0, 0};
    CHECK(gguf_get_u32(&g, "u8", &u) == 0 && u == 200);
    CHECK(gguf_get_i64(&g, "i8", &i) == 0 && i == -128);
    CHECK_INT(gguf_get_u32(&g, "i8", &u), ERR_RANGE);
    CHECK(gguf_get_u32(&g, "u16", &u) == 0 && u == 65535);
    CHECK(gguf_get_i64(&g, "i16", &i) == 0 && i == -2);
    CHECK(gguf_get_u32(&g, "u32", &u) == 0 && u == 4000000000u);
    CHECK(gguf_get_i64(&g, "i32", &i) == 0 && i == -7);
    CHECK(gguf_get_f32(&g, "f32", &f) == 0 && f == 0.25f);
    CHECK(gguf_get_bool(&g, "bool", &bo) == 0 && bo == 1);
    CHECK(gguf_get_str(&g, "str", &s) == 0 && s.n == 3 && memcmp(s.s, "a\0b", 4) == 0);
    CHECK(gguf_get_u64(&g, "u64", &u64) == 0 && u64 == UINT64_MAX);
    u = 77;
    CHECK_INT(gguf_get_u32(&g, "u64", &u), ERR_RANGE);
    CHECK_INT(u, 77); /* untouched on failure */
    CHECK_INT(gguf_get_i64(&g, "u64", &i), ERR_RANGE);
    CHECK(gguf_get_i64(&g, "i64", &i) == 0 && i == INT64_MIN);
    CHECK(gguf_get_f32(&g, "f64", &f) == 0 && f == -1.5f);
    CHECK_INT(gguf_get_f32(&g, "u8", &f), ERR_FORMAT);
    CHECK_INT(gguf_get_str(&g, "u8", &s), ERR_FORMAT);
    CHECK_INT(gguf_get_bool(&g, "u8", &bo), ERR_FORMAT);
    CHECK_INT(gguf_get_u32(&g, "str", &u), ERR_FORMAT);
    CHECK_INT(gguf_get_u32(&g, "arr_i16", &u), ERR_FORMAT);
    CHECK_INT(gguf_get_u32(&g, "missing", &u), ERR_NOT_FOUND);
    CHECK(gguf_get_u32(&g, "", &u) == 0 && u == 9);

    const struct gguf_kv *a = gguf_find(&g, "arr_i16");
    CHECK(gguf_arr_int(a, 1, &i) == 0 && i == -2);
    CHECK_INT(gguf_arr_int(a, 3, &i), ERR_RANGE);
    CHECK_INT(gguf_arr_f32(a, 0, &f), ERR_FORMAT);
    CHECK(gguf_arr_data(a, GGUF_TYPE_INT16, NULL) != NULL);
    CHECK(gguf_arr_data(a, GGUF_TYPE_UINT16, NULL) == NULL);
    const int16_t *p16 = gguf_arr_data(a, GGUF_TYPE_INT16, &u64);
    CHECK(p16 && u64 == 3 && p16[2] == 3 && ((uintptr_t)p16 & 7) == 0);
    a = gguf_find(&g, "arr_f64");
    CHECK(gguf_arr_f32(a, 0, &f) == 0 && f == 0.5f);
    CHECK(gguf_arr_f32(a, 1, &f) == 0 && f > 1e38f); /* inf after narrowing */
    a = gguf_find(&g, "arr_str");
    CHECK(gguf_arr_str(a, 1, &s) == 0 && s.n == 0 && s.s && s.s[0] == 0);
    CHECK(gguf_arr_str(a, 2, &s) == 0);
    CHECK_STR(s.s, "hello");
    CHECK_INT(gguf_arr_int(a, 0, &i), ERR_FORMAT);
    a = gguf_find(&g, "arr_empty");
    CHECK(gguf_arr_data(a, GGUF_TYPE_UINT32, &u64) != NULL && u64 == 0);
    CHECK_INT(gguf_arr_int(a, 0, &i), ERR_RANGE);
    a = gguf_find(&g, "arr_bool");
    CHECK(gguf_arr_int(a, 1, &i) == 0 && i == 1);
    a = gguf_find(&g, "arr_u64");
    CHECK_INT(gguf_arr_int(a, 0, &i), ERR_RANGE);
    CHECK_INT(gguf_arr_int(gguf_find(&g, "u8"), 0, &i), ERR_FORMAT);
    CHECK_INT(gguf_arr_str(gguf_find(&g, "u8"), 0, &s), ERR_FORMAT);
    CHECK(gguf_arr_data(gguf_find(&g, "u8"), GGUF_TYPE_UINT8, NULL) == NULL);

    static const struct { const char *key, *want; } fmts[] = {
        {"u8", "uint8 200"}, {"i8", "int8 -128"}, {"i16", "int16 -2"},
        {"f32", "float32 0.250000"}, {"bool", "bool true"}, {"str", "string 'a?b'"},
        {"u64", "uint64 18446744073709551615"}, {"i64", "int64 -9223372036854775808"},
        {"arr_f64", "array[float64] of 2"}, {"general.name", "string 'tab?here'"},
    };
    for (size_t k = 0; k < ARRAY_LEN(fmts); k++) {
        char line[96];
        gguf_kv_format(gguf_find(&g, fmts[k].key), line, sizeof line);
        CHECK_STR(line, fmts[k].want);
    }
    gguf_close(&g);
    CHECK_INT(plat_posix_live_bytes(), 0);
}

/* ---- tensor types, versions, alignment ---- */

TEST(gguf_tensor_types_and_sizes)
{
    static const struct { uint32_t type; uint64_t d0, d1; uint64_t bytes; int supported; } ts[] = {
        {GGML_TYPE_F32, 3, 2, 24, 1},       {GGML_TYPE_F16, 64, 2, 256, 1},
        {GGML_TYPE_BF16, 64, 2, 256, 1},    {GGML_TYPE_Q4_0, 64, 2, 72, 1},
        {GGML_TYPE_Q4_1, 64, 2, 80, 1},     {GGML_TYPE_Q8_0, 64, 2, 136, 1},
        {GGML_TYPE_Q4_K, 256, 3, 432, 1},   {GGML_TYPE_Q6_K, 512, 1, 420, 1},
        {GGML_TYPE_Q5_0, 32, 1, 22, 0},     {GGML_TYPE_Q5_1, 32, 1, 24, 0},
        {GGML_TYPE_Q2_K, 256, 1, 84, 0},    {GGML_TYPE_Q3_K, 256, 1, 110, 0},
        {GGML_TYPE_Q5_K, 256, 2, 352, 0},   {GGML_TYPE_Q8_K, 256, 1, 292, 0},
        {GGML_TYPE_IQ4_XS, 256, 1, 136, 0}, {GGML_TYPE_I32, 5, 1, 20, 0},
    };
    struct gb b = {0};
    size_t n = ARRAY_LEN(ts);
    gb_header(&b, 3, n, 0);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%zu", i);
        uint64_t dims[2] = {ts[i].d0, ts[i].d1};
        gb_tensor(&b, name, 2, dims, ts[i].type, off);
        off += (ts[i].bytes + 31) / 32 * 32;
    }
    gb_pad(&b, 32);
    size_t data0 = b.n;
    for (uint64_t i = 0; i < off; i++)
        gb_u8(&b, 0);
    struct gguf_file g;
    char err[256] = "";
    int rc = gguf_parse(&g, b.d, b.n, b.n, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        uint64_t o = data0, unsup = 0;
        for (size_t i = 0; i < n; i++) {
            const struct gguf_tensor *t = &g.tensors[i];
            CHECK_MSG(t->n_bytes == ts[i].bytes && t->supported == ts[i].supported &&
                          t->offset == o && t->n_elements == ts[i].d0 * ts[i].d1,
                      "%s: %llu bytes", gguf_type_info(ts[i].type, NULL, NULL),
                      (unsigned long long)t->n_bytes);
            o += (ts[i].bytes + 31) / 32 * 32;
            unsup += !ts[i].supported;
        }
        CHECK_INT(g.n_unsupported, unsup);
        gguf_close(&g);
    }
    free(b.d);
    uint32_t be = 0, bb = 0;
    CHECK_STR(gguf_type_info(GGML_TYPE_Q6_K, &be, &bb), "Q6_K");
    CHECK(be == 256 && bb == 210);
    CHECK(gguf_type_info(4, &be, &bb) == NULL && be == 256); /* removed id */
    CHECK(gguf_type_info(GGML_TYPE_ID_LIMIT, NULL, NULL) == NULL);
    CHECK(!gguf_type_supported(GGML_TYPE_Q5_K) && gguf_type_supported(GGML_TYPE_BF16));
    CHECK_STR(gguf_vtype_name(GGUF_TYPE_FLOAT64), "float64");
    CHECK_STR(gguf_vtype_name(13), "?");
    CHECK_INT(plat_posix_live_bytes(), 0);
}

TEST(gguf_versions_and_alignments)
{
    static const struct { uint32_t version, align; int rc; const char *expect; } cases[] = {
        {3, 0, 0, NULL},   {2, 0, 0, NULL},    {3, 32, 0, NULL},  {3, 1, 0, NULL},
        {3, 8, 0, NULL},   {3, 64, 0, NULL},   {2, 4096, 0, NULL},
        {1, 0, ERR_UNSUPPORTED, "gguf: version 1 is not supported (need 2 or 3)"},
        {4, 0, ERR_UNSUPPORTED, "gguf: version 4 is not supported (need 2 or 3)"},
        {0, 0, ERR_UNSUPPORTED, "gguf: version 0 is not supported (need 2 or 3)"},
        {0x03000000, 0, ERR_UNSUPPORTED, "gguf: version 0x3000000 looks byte-swapped"},
        {3, 48, ERR_FORMAT, "gguf: metadata key 'general.alignment': alignment 48 is not a power of two"},
        {3, 0xffffffff, ERR_FORMAT, "alignment 4294967295 is not a power of two"},
    };
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        struct gb b = {0};
        good_file(&b, cases[c].version, cases[c].align);
        struct gguf_file g;
        char err[256] = "";
        int rc = gguf_parse(&g, b.d, b.n, b.n, err, sizeof err);
        CHECK_MSG(rc == cases[c].rc, "case %zu: rc %d (%s)", c, rc, err);
        if (cases[c].expect)
            CHECK_MSG(strstr(err, cases[c].expect) != NULL, "case %zu: '%s'", c, err);
        if (rc == 0) {
            uint32_t a = cases[c].align ? cases[c].align : 32;
            CHECK_INT(g.version, cases[c].version);
            CHECK_INT(g.alignment, a);
            const struct gguf_tensor *w = gguf_find_tensor(&g, "w"), *q = gguf_find_tensor(&g, "q");
            CHECK(w && q && w->offset % a == 0 && q->offset % a == 0);
            CHECK(w && g.parts[0].data_offset == w->offset);
            /* the data the writer put there */
            if (w && q) {
                float f[8];
                memcpy(f, b.d + w->offset, sizeof f);
                CHECK(f[0] == 0.0f && f[7] == 7.0f);
                CHECK(b.d[q->offset + 33] == 33 && q->offset + q->n_bytes == b.n);
            }
            gguf_close(&g);
        }
        free(b.d);
    }
    /* a huge alignment puts the data section far past the end */
    struct gb b = {0};
    uint64_t d1[1] = {8};
    gb_header(&b, 3, 1, 1);
    kv_u32(&b, "general.alignment", 0x80000000u);
    gb_tensor(&b, "q", 1, d1, GGML_TYPE_F32, 0);
    struct gguf_file g;
    char err[256];
    CHECK_INT(gguf_parse(&g, b.d, b.n, b.n, err, sizeof err), ERR_FORMAT);
    CHECK_MSG(strstr(err, "gguf: tensor 'q': data [2147483648, 2147483680) ends past the file end 90"),
              "%s", err);
    free(b.d);
    /* general.alignment of another type */
    memset(&b, 0, sizeof b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "general.alignment", GGUF_TYPE_UINT64), gb_u64(&b, 32);
    CHECK_INT(gguf_parse(&g, b.d, b.n, b.n, err, sizeof err), ERR_FORMAT);
    CHECK_MSG(strstr(err, "gguf: metadata key 'general.alignment': expected type uint32, found uint64"),
              "%s", err);
    free(b.d);
    CHECK_INT(plat_posix_live_bytes(), 0);
}

/* ---- broken files ---- */

enum {
    C_EMPTY, C_SHORT, C_MAGIC, C_TOO_MANY_TENSORS, C_TOO_MANY_KV, C_COUNTS_VS_FILE,
    C_KEY_LEN_FILE, C_KEY_LEN_MAX, C_VALUE_TYPE, C_NESTED, C_ELEM_TYPE, C_ARRAY_LIMIT,
    C_ARRAY_FILE, C_STR_ARRAY_FILE, C_STR_ELEM, C_SCALAR_CUT, C_STRING_FILE, C_DUP_KEY,
    C_NAME_LONG, C_NDIMS, C_DIM_RANGE, C_ELEM_OVERFLOW, C_TYPE_REMOVED, C_TYPE_UNKNOWN,
    C_ROW_BLOCK, C_OFFSET_ALIGN, C_DATA_PAST_END, C_DATA_OVERFLOW, C_DUP_TENSOR,
    C_SPLIT_TYPE, C_INFO_CUT, NCASES
};

static void broken(int id, struct gb *b)
{
    uint64_t d2[2] = {32, 2}, d1[1] = {8};
    switch (id) {
    case C_EMPTY: break;
    case C_SHORT: gb_bytes(b, "GGUF\3\0\0\0", 8); break;
    case C_MAGIC: gb_header(b, 3, 0, 0), memcpy(b->d, "GGML", 4); break;
    case C_TOO_MANY_TENSORS: gb_header(b, 3, GGUF_MAX_TENSORS + 1, 0); break;
    case C_TOO_MANY_KV: gb_header(b, 3, 0, GGUF_MAX_KV + 1); break;
    case C_COUNTS_VS_FILE: gb_header(b, 3, 2, 100), kv_u32(b, "a", 1); break;
    case C_KEY_LEN_FILE:
        gb_header(b, 3, 0, 13), gb_u64(b, 99999999);
        for (int i = 0; i < 13; i++)
            gb_u64(b, 0), gb_u32(b, 0), gb_u8(b, 0);
        break;
    case C_KEY_LEN_MAX: {
        gb_header(b, 3, 0, 1);
        char *k = malloc(70000);
        memset(k, 'k', 70000);
        gb_strn(b, k, 70000), gb_u32(b, GGUF_TYPE_UINT8), gb_u8(b, 0);
        free(k);
        break;
    }
    case C_VALUE_TYPE: gb_header(b, 3, 0, 1), gb_key(b, "a", 13), gb_u64(b, 0); break;
    case C_NESTED:
        gb_header(b, 3, 0, 1), gb_key(b, "nest", GGUF_TYPE_ARRAY), gb_u32(b, GGUF_TYPE_ARRAY);
        gb_u64(b, 1), gb_u32(b, GGUF_TYPE_UINT8), gb_u64(b, 1), gb_u8(b, 1);
        break;
    case C_ELEM_TYPE:
        gb_header(b, 3, 0, 1), gb_key(b, "a", GGUF_TYPE_ARRAY), gb_u32(b, 99), gb_u64(b, 0);
        break;
    case C_ARRAY_LIMIT:
        gb_header(b, 3, 0, 1), gb_key(b, "a", GGUF_TYPE_ARRAY), gb_u32(b, GGUF_TYPE_UINT8);
        gb_u64(b, GGUF_MAX_ARRAY + 1);
        break;
    case C_ARRAY_FILE:
        gb_header(b, 3, 0, 1), gb_key(b, "a", GGUF_TYPE_ARRAY), gb_u32(b, GGUF_TYPE_UINT32);
        gb_u64(b, 1000), gb_u32(b, 1);
        break;
    case C_STR_ARRAY_FILE:
        gb_header(b, 3, 0, 1), gb_key(b, "toks", GGUF_TYPE_ARRAY), gb_u32(b, GGUF_TYPE_STRING);
        gb_u64(b, 1000), gb_str(b, "a");
        break;
    case C_STR_ELEM:
        gb_header(b, 3, 0, 1), gb_key(b, "toks", GGUF_TYPE_ARRAY), gb_u32(b, GGUF_TYPE_STRING);
        gb_u64(b, 3), gb_str(b, "a"), gb_u64(b, 500), gb_bytes(b, "xyzxyzxyzxyz", 12);
        break;
    case C_SCALAR_CUT:
        gb_header(b, 3, 0, 1), gb_key(b, "big", GGUF_TYPE_UINT64), gb_bytes(b, "\1\2\3", 3);
        break;
    case C_STRING_FILE:
        gb_header(b, 3, 0, 1), gb_key(b, "name", GGUF_TYPE_STRING), gb_u64(b, 1ull << 40);
        break;
    case C_DUP_KEY: gb_header(b, 3, 0, 2), kv_u32(b, "a.b", 1), kv_u32(b, "a.b", 2); break;
    case C_NAME_LONG:
        gb_header(b, 3, 1, 0), gb_tensor(b, "0123456789012345678901234567890123456789012345678901234567890123",
                                         1, d1, GGML_TYPE_F32, 0);
        break;
    case C_NDIMS: {
        uint64_t d5[5] = {1, 1, 1, 1, 1};
        gb_header(b, 3, 1, 0), gb_tensor(b, "w", 5, d5, GGML_TYPE_F32, 0);
        break;
    }
    case C_DIM_RANGE: {
        uint64_t d[2] = {4, 1ull << 63};
        gb_header(b, 3, 1, 0), gb_tensor(b, "w", 2, d, GGML_TYPE_F32, 0);
        break;
    }
    case C_ELEM_OVERFLOW: {
        uint64_t d[3] = {1ull << 32, 1ull << 31, 1};
        gb_header(b, 3, 1, 0), gb_tensor(b, "w", 3, d, GGML_TYPE_F32, 0);
        break;
    }
    case C_TYPE_REMOVED: gb_header(b, 3, 1, 0), gb_tensor(b, "w", 2, d2, 4, 0); break;
    case C_TYPE_UNKNOWN: gb_header(b, 3, 1, 0), gb_tensor(b, "w", 2, d2, 1000, 0); break;
    case C_ROW_BLOCK: {
        uint64_t d[2] = {33, 2};
        gb_header(b, 3, 1, 0), gb_tensor(b, "w", 2, d, GGML_TYPE_Q4_0, 0);
        break;
    }
    case C_OFFSET_ALIGN: gb_header(b, 3, 1, 0), gb_tensor(b, "w", 1, d1, GGML_TYPE_F32, 16); break;
    case C_DATA_PAST_END:
        gb_header(b, 3, 1, 0), gb_tensor(b, "blk.3.attn_q.weight", 1, d1, GGML_TYPE_F32, 32);
        gb_pad(b, 32);
        for (int i = 0; i < 40; i++)
            gb_u8(b, 0);
        break;
    case C_DATA_OVERFLOW:
        gb_header(b, 3, 1, 0), gb_tensor(b, "w", 1, d1, GGML_TYPE_F32, UINT64_MAX - 31);
        break;
    case C_DUP_TENSOR:
        gb_header(b, 3, 2, 0), gb_tensor(b, "w", 1, d1, GGML_TYPE_F32, 0);
        gb_tensor(b, "w", 1, d1, GGML_TYPE_F32, 32);
        gb_pad(b, 32);
        for (int i = 0; i < 64; i++)
            gb_u8(b, 0);
        break;
    case C_SPLIT_TYPE: gb_header(b, 3, 0, 1), kv_str(b, "split.count", "2"); break;
    case C_INFO_CUT:
        gb_header(b, 3, 1, 0), gb_str(b, "w"), gb_u32(b, 2), gb_u64(b, 4);
        for (int i = 0; i < 7; i++)
            gb_u8(b, 0);
        break;
    }
}

TEST(gguf_broken_files_give_clear_errors)
{
    static const struct { int rc; const char *expect; } want[NCASES] = {
        [C_EMPTY] = {ERR_FORMAT, "gguf: file has 0 bytes, less than the 24-byte GGUF header"},
        [C_SHORT] = {ERR_FORMAT, "gguf: file has 8 bytes, less than the 24-byte GGUF header"},
        [C_MAGIC] = {ERR_FORMAT, "gguf: bad magic 'GGML' (expected 'GGUF')"},
        [C_TOO_MANY_TENSORS] = {ERR_RANGE, "gguf: tensor count 65537 exceeds the limit 65536"},
        [C_TOO_MANY_KV] = {ERR_RANGE, "gguf: metadata count 1048577 exceeds the limit 1048576"},
        [C_COUNTS_VS_FILE] = {ERR_FORMAT, "gguf: 100 metadata entries and 2 tensors need at least 1348 bytes, the file has 17 after the header"},
        [C_KEY_LEN_FILE] = {ERR_FORMAT, "gguf: metadata key #0: key length 99999999 exceeds the file (169 bytes left)"},
        [C_KEY_LEN_MAX] = {ERR_FORMAT, "gguf: metadata key #0: key length 70000 exceeds 65535"},
        [C_VALUE_TYPE] = {ERR_FORMAT, "gguf: metadata key 'a': unknown value type 13"},
        [C_NESTED] = {ERR_UNSUPPORTED, "gguf: metadata key 'nest': arrays of arrays are not supported"},
        [C_ELEM_TYPE] = {ERR_FORMAT, "gguf: metadata key 'a': unknown array element type 99"},
        [C_ARRAY_LIMIT] = {ERR_RANGE, "gguf: metadata key 'a': array of 16777217 elements exceeds the limit 16777216"},
        [C_ARRAY_FILE] = {ERR_FORMAT, "gguf: metadata key 'a': array of 1000 uint32 (4000 bytes) exceeds the file (4 bytes left)"},
        [C_STR_ARRAY_FILE] = {ERR_FORMAT, "gguf: metadata key 'toks': array of 1000 strings exceeds the file (9 bytes left)"},
        [C_STR_ELEM] = {ERR_FORMAT, "gguf: metadata key 'toks': element 1: string length 500 exceeds the file (12 bytes left)"},
        [C_SCALAR_CUT] = {ERR_FORMAT, "gguf: metadata key 'big': value ends past the file end 42"},
        [C_STRING_FILE] = {ERR_FORMAT, "gguf: metadata key 'name': string length 1099511627776 exceeds the file (0 bytes left)"},
        [C_DUP_KEY] = {ERR_FORMAT, "gguf: metadata key 'a.b' appears twice (#0 and #1)"},
        [C_NAME_LONG] = {ERR_FORMAT, "gguf: tensor #0: name length 64 exceeds 63"},
        [C_NDIMS] = {ERR_FORMAT, "gguf: tensor 'w': n_dims 5 exceeds 4"},
        [C_DIM_RANGE] = {ERR_FORMAT, "gguf: tensor 'w': dims[1] = 9223372036854775808 is out of range"},
        [C_ELEM_OVERFLOW] = {ERR_FORMAT, "gguf: tensor 'w': element count of [4294967296, 2147483648, 1, 1] overflows"},
        [C_TYPE_REMOVED] = {ERR_FORMAT, "gguf: tensor 'w': unknown ggml type 4"},
        [C_TYPE_UNKNOWN] = {ERR_FORMAT, "gguf: tensor 'w': unknown ggml type 1000"},
        [C_ROW_BLOCK] = {ERR_FORMAT, "gguf: tensor 'w': row length 33 is not a multiple of the Q4_0 block size 32"},
        [C_OFFSET_ALIGN] = {ERR_FORMAT, "gguf: tensor 'w': offset 16 is not a multiple of the alignment 32"},
        [C_DATA_PAST_END] = {ERR_FORMAT, "gguf: tensor 'blk.3.attn_q.weight': data [128, 160) ends past the file end 136"},
        [C_DATA_OVERFLOW] = {ERR_FORMAT, "gguf: tensor 'w': data offset 18446744073709551584 + 32 bytes overflows"},
        [C_DUP_TENSOR] = {ERR_FORMAT, "gguf: tensor 'w' appears twice (#0 and #1)"},
        [C_SPLIT_TYPE] = {ERR_FORMAT, "gguf: metadata key 'split.count': expected a non-negative integer, found string"},
        [C_INFO_CUT] = {ERR_FORMAT, "gguf: tensor 'w': dims[1] ends past the file end 52"},
    };
    for (int id = 0; id < NCASES; id++) {
        struct gb b = {0};
        broken(id, &b);
        struct gguf_file g;
        memset(&g, 0x5a, sizeof g);
        char err[256] = "";
        /* exact-size copy so ASan sees any over-read */
        unsigned char *copy = malloc(b.n ? b.n : 1);
        if (b.n)
            memcpy(copy, b.d, b.n);
        int rc = gguf_parse(&g, copy, b.n, b.n, err, sizeof err);
        CHECK_MSG(rc == want[id].rc, "case %d: rc %d (%s), want %d", id, rc, err, want[id].rc);
        CHECK_MSG(strcmp(err, want[id].expect) == 0, "case %d:\n     got '%s'\n    want '%s'", id,
                  err, want[id].expect);
        struct gguf_file zero;
        memset(&zero, 0, sizeof zero);
        CHECK_MSG(memcmp(&g, &zero, sizeof g) == 0, "case %d: struct not zeroed", id);
        CHECK_INT(plat_posix_live_bytes(), 0);
        /* the same through a file and a small read window */
        char path[256];
        snprintf(path, sizeof path, "%s/broken_%d.gguf", tmp_dir(), id);
        write_gb(path, &b);
        char err2[256] = "";
        rc = gguf_open_chunked(&g, path, 64, err2, sizeof err2);
        CHECK_MSG(rc == want[id].rc && strcmp(err, err2) == 0, "case %d via file: rc %d '%s'", id,
                  rc, err2);
        unlink(path);
        /* a tiny error buffer is still terminated */
        char small[8];
        memset(small, 'Z', sizeof small);
        rc = gguf_parse(&g, copy, b.n, b.n, small, 5);
        CHECK(rc != 0 && strlen(small) == 4 && small[5] == 'Z');
        CHECK_INT(plat_posix_live_bytes(), 0);
        free(copy);
        free(b.d);
    }
    /* memory shorter than the header region: ERR_RANGE, not a format error */
    struct gb b = {0};
    good_file(&b, 3, 0);
    struct gguf_file g;
    char err[256];
    CHECK_INT(gguf_parse(&g, b.d, 30, b.n, err, sizeof err), ERR_RANGE);
    CHECK_MSG(strstr(err, "gguf: metadata key #0: key length lies beyond the 30 bytes given (the header region is longer)"), "%s", err);
    CHECK_INT(gguf_parse(&g, NULL, 0, 100, err, sizeof err), ERR_RANGE);
    free(b.d);
    /* a missing file */
    CHECK_INT(gguf_open(&g, "/nonexistent/x.gguf", err, sizeof err), ERR_NOT_FOUND);
    CHECK_MSG(strstr(err, "gguf: cannot open '/nonexistent/x.gguf'"), "%s", err);
    rmdir(tmp_dir());
    CHECK_INT(plat_posix_live_bytes(), 0);
}

/* ---- split models ---- */

struct part_opts {
    int split_no, split_count, tensors_count; /* -1: key absent */
    const char *tensor;                       /* its one tensor */
    uint64_t dims0, dims1;
    float first;                              /* data: first, first+1, ... */
    int extra_kv;                             /* first part: general.* keys */
    int cut;                                  /* drop the last bytes of the data */
};

static void split_part(struct gb *b, const struct part_opts *o)
{
    int n_kv = (o->split_no >= 0) + (o->split_count >= 0) + (o->tensors_count >= 0) +
               (o->extra_kv ? 2 : 0);
    gb_header(b, 3, o->tensor ? 1 : 0, (uint64_t)n_kv);
    if (o->extra_kv) {
        kv_str(b, "general.architecture", "llama");
        kv_u32(b, "llama.block_count", 1);
    }
    if (o->split_no >= 0)
        gb_key(b, "split.no", GGUF_TYPE_UINT16), gb_u16(b, (uint16_t)o->split_no);
    if (o->split_count >= 0)
        gb_key(b, "split.count", GGUF_TYPE_UINT16), gb_u16(b, (uint16_t)o->split_count);
    if (o->tensors_count >= 0)
        gb_key(b, "split.tensors.count", GGUF_TYPE_INT32), gb_u32(b, (uint32_t)o->tensors_count);
    if (!o->tensor)
        return;
    uint64_t dims[2] = {o->dims0, o->dims1};
    gb_tensor(b, o->tensor, 2, dims, GGML_TYPE_F32, 0);
    gb_pad(b, 32);
    for (uint64_t i = 0; i < o->dims0 * o->dims1; i++)
        gb_f32(b, o->first + (float)i);
    b->n -= (size_t)o->cut;
}

static void write_part(const char *name, const struct part_opts *o)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir(), name);
    struct gb b = {0};
    split_part(&b, o);
    write_gb(path, &b);
    free(b.d);
}

static int open_split(const char *name, struct gguf_file *g, char *err, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir(), name);
    return gguf_open(g, path, err, cap);
}

static void rm_split(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir(), name);
    unlink(path);
}

TEST(gguf_split_model_loads_as_one)
{
    struct part_opts p1 = {0, 2, 2, "a", 8, 1, 0.0f, 1, 0};
    struct part_opts p2 = {1, 2, 2, "b", 4, 2, 100.0f, 0, 0};
    write_part("m-00001-of-00002.gguf", &p1);
    write_part("m-00002-of-00002.gguf", &p2);
    struct gguf_file g;
    char err[256] = "";
    int rc = open_split("m-00001-of-00002.gguf", &g, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK_INT(g.n_parts, 2);
        CHECK_INT(g.n_tensors, 2);
        CHECK_INT(g.n_kv, 5); /* the first part's metadata only */
        uint32_t u = 0;
        CHECK(gguf_get_u32(&g, "llama.block_count", &u) == 0 && u == 1);
        CHECK(gguf_get_u32(&g, "split.count", &u) == 0 && u == 2);
        CHECK(strstr(g.parts[1].path, "/m-00002-of-00002.gguf") != NULL);
        CHECK_INT(g.parts[0].n_tensors, 1);
        CHECK_INT(g.parts[1].n_tensors, 1);
        const struct gguf_tensor *a = gguf_find_tensor(&g, "a"), *b = gguf_find_tensor(&g, "b");
        CHECK(a && b && a->part == 0 && b->part == 1);
        CHECK(b && b->dims[0] == 4 && b->dims[1] == 2 && b->n_bytes == 32);
        CHECK_INT(g.tensor_bytes, 64);
        for (int k = 0; k < 2 && a && b; k++) {
            const struct gguf_tensor *t = k ? b : a;
            size_t len = 0;
            char *bytes = test_read_file(g.parts[t->part].path, &len);
            CHECK(bytes && t->offset == g.parts[t->part].data_offset && t->offset + t->n_bytes == len);
            float f[2];
            if (bytes)
                memcpy(f, bytes + t->offset + 4, 8);
            CHECK(bytes && f[0] == (k ? 101.0f : 1.0f) && f[1] == (k ? 102.0f : 2.0f));
            free(bytes);
        }
        gguf_close(&g);
    }
    rm_split("m-00001-of-00002.gguf");
    rm_split("m-00002-of-00002.gguf");
    CHECK_INT(plat_posix_live_bytes(), 0);

    /* three parts, upper-case name, a metadata-only first part (gguf-split
     * --no-tensor-first-split), read through a tiny window */
    struct part_opts q1 = {0, 3, 2, NULL, 0, 0, 0, 1, 0};
    struct part_opts q2 = {1, 3, 2, "x", 32, 1, 0, 0, 0};
    struct part_opts q3 = {2, 3, 2, "y", 3, 3, 0, 0, 0};
    write_part("M-00001-OF-00003.GGUF", &q1);
    write_part("M-00002-OF-00003.GGUF", &q2);
    write_part("M-00003-OF-00003.GGUF", &q3);
    char path[256];
    snprintf(path, sizeof path, "%s/M-00001-OF-00003.GGUF", tmp_dir());
    rc = gguf_open_chunked(&g, path, 64, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(g.n_parts == 3 && g.n_tensors == 2 && g.parts[0].n_tensors == 0);
        CHECK(g.tensors[0].part == 1 && g.tensors[1].part == 2);
        CHECK(strstr(g.parts[2].path, "M-00003-OF-00003.GGUF") != NULL);
        gguf_close(&g);
    }
    rm_split("M-00001-OF-00003.GGUF");
    rm_split("M-00002-OF-00003.GGUF");
    rm_split("M-00003-OF-00003.GGUF");

    uint32_t no = 0, count = 0;
    CHECK(gguf_split_name("models/Llama-2-7B.Q8_0-00002-of-00003.gguf", &no, &count) == 1 &&
          no == 2 && count == 3);
    CHECK(gguf_split_name("a-00001-of-00001.gguf", &no, &count) == 1 && no == 1 && count == 1);
    CHECK(gguf_split_name("a-0001-of-00002.gguf", &no, &count) == 0);
    CHECK(gguf_split_name("a-00003-of-00002.gguf", &no, &count) == 0);
    CHECK(gguf_split_name("00001-of-00002.gguf", &no, &count) == 0);
    CHECK(gguf_split_name("a-00001-of-00002.bin", &no, &count) == 0);
    CHECK(gguf_split_name("a_00001-of-00002.gguf", &no, &count) == 0);
    rmdir(tmp_dir());
    CHECK_INT(plat_posix_live_bytes(), 0);
}

TEST(gguf_split_errors)
{
    static const struct {
        const char *open;     /* file opened */
        struct part_opts p1, p2;
        int write2;           /* write the second part */
        int rc;
        const char *expect;
    } cases[] = {
        {"s-00001-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, 2, 2, "b", 8, 1, 0, 0, 0}, 0,
         ERR_NOT_FOUND, "gguf: part 2 of 2 's-00002-of-00002.gguf': split part is missing"},
        {"s-00001-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {0, 2, 2, "b", 8, 1, 0, 0, 0}, 1,
         ERR_FORMAT, "gguf: part 2 of 2 's-00002-of-00002.gguf': split.no is 0, expected 1"},
        {"s-00001-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {-1, 2, 2, "b", 8, 1, 0, 0, 0}, 1,
         ERR_FORMAT, "gguf: part 2 of 2 's-00002-of-00002.gguf': split.no is missing"},
        {"s-00001-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, 3, 2, "b", 8, 1, 0, 0, 0}, 1,
         ERR_FORMAT, "gguf: part 2 of 2 's-00002-of-00002.gguf': split.count is 3, expected 2"},
        {"s-00001-of-00002.gguf", {0, 2, 3, "a", 8, 1, 0, 1, 0}, {1, 2, 3, "b", 8, 1, 0, 0, 0}, 1,
         ERR_FORMAT, "gguf: split.tensors.count is 3 but the 2 parts hold 2 tensors"},
        {"s-00001-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, 2, 2, "a", 8, 1, 0, 0, 0}, 1,
         ERR_FORMAT, "gguf: part 2 of 2 's-00002-of-00002.gguf': tensor 'a' appears twice (#0 and #1)"},
        {"s-00001-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, 2, 2, "b", 8, 1, 0, 0, 4}, 1,
         ERR_FORMAT, "gguf: part 2 of 2 's-00002-of-00002.gguf': tensor 'b': data [160, 192) ends past the file end 188"},
        {"s-00002-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, 2, 2, "b", 8, 1, 0, 0, 0}, 1,
         ERR_FORMAT, "gguf: this is part 2 of 2 (split.no 1); open the first part"},
        {"s-00002-of-00002.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, -1, -1, "b", 8, 1, 0, 0, 0}, 1,
         ERR_FORMAT, "gguf: this is part 2 of a split model (split.no 1); open the first part"},
        {"s.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, 2, 2, "b", 8, 1, 0, 0, 0}, 0,
         ERR_FORMAT, "gguf: split.count is 2 but the file name does not end in -00001-of-00002.gguf"},
        {"s-00001-of-00003.gguf", {0, 2, 2, "a", 8, 1, 0, 1, 0}, {1, 2, 2, "b", 8, 1, 0, 0, 0}, 0,
         ERR_FORMAT, "gguf: split.count is 2 but the file name does not end in -00001-of-00002.gguf"},
        {"s-00001-of-02000.gguf", {0, 2000, 2, "a", 8, 1, 0, 1, 0}, {1, 2, 2, "b", 8, 1, 0, 0, 0}, 0,
         ERR_RANGE, "gguf: split.count 2000 exceeds the limit 1024"},
    };
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        char second[64];
        uint32_t no, count;
        if (gguf_split_name(cases[c].open, &no, &count))
            snprintf(second, sizeof second, "s-00002-of-%05u.gguf", count);
        else
            snprintf(second, sizeof second, "s-00002-of-00002.gguf");
        const char *first = strstr(cases[c].open, "-00002-") ? "s-00001-of-00002.gguf" : cases[c].open;
        write_part(first, &cases[c].p1);
        if (cases[c].write2)
            write_part(second, &cases[c].p2);
        struct gguf_file g;
        memset(&g, 0x5a, sizeof g);
        char err[256] = "";
        int rc = open_split(cases[c].open, &g, err, sizeof err);
        CHECK_MSG(rc == cases[c].rc, "case %zu: rc %d (%s)", c, rc, err);
        CHECK_MSG(strcmp(err, cases[c].expect) == 0, "case %zu:\n     got '%s'\n    want '%s'", c,
                  err, cases[c].expect);
        CHECK_MSG(g.block == NULL && g.n_tensors == 0, "case %zu: not zeroed", c);
        CHECK_INT(plat_posix_live_bytes(), 0);
        rm_split(first);
        rm_split(second);
    }
    /* gguf_parse of one part is just that part */
    struct gb b = {0};
    struct part_opts p2 = {1, 2, 2, "b", 8, 1, 0, 0, 0};
    split_part(&b, &p2);
    struct gguf_file g;
    char err[256];
    CHECK(gguf_parse(&g, b.d, b.n, b.n, err, sizeof err) == 0 && g.n_parts == 1 && g.n_tensors == 1);
    gguf_close(&g);
    free(b.d);
    rmdir(tmp_dir());
    CHECK_INT(plat_posix_live_bytes(), 0);
}

/* Random bytes and random mutations of a valid file: never a crash or leak,
 * and a one-line message on failure. */
TEST(gguf_garbage_never_crashes)
{
    struct gb good = {0};
    good_file(&good, 3, 64);
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 3000; round++) {
        size_t n = round % 2 ? good.n : (size_t)(round * 7 % 300);
        unsigned char *buf = malloc(n ? n : 1);
        if (round % 2) {
            memcpy(buf, good.d, n);
            for (int k = 0; k < 1 + round % 4; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[x % n] = (unsigned char)(x >> 32);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = (unsigned char)x;
            }
            if (n >= 24)
                memcpy(buf, "GGUF\3\0\0\0\1\0\0\0\0\0\0\0\2\0\0\0\0\0\0\0", 24);
        }
        struct gguf_file g;
        char err[256] = "";
        int rc = gguf_parse(&g, buf, n, n, err, sizeof err);
        if (rc) {
            CHECK_MSG(err[0] && !strchr(err, '\n') && !strncmp(err, "gguf: ", 6), "round %d: '%s'",
                      round, err);
        } else {
            for (uint64_t i = 0; i < g.n_tensors; i++)
                CHECK(g.tensors[i].offset + g.tensors[i].n_bytes <= n);
            gguf_close(&g);
        }
        free(buf);
    }
    free(good.d);
    CHECK_INT(plat_posix_live_bytes(), 0);
}
