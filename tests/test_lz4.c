/* test_lz4.c - the LZ4 frame codec (lz4.c): XXH32 known answers, round
 * trips, a frame made by the `lz4` command, hand-built frames for every
 * check of the decoder, capacity handling, and truncated / corrupted
 * frames (always an error, never a crash; this runs under ASan/UBSan). */
#include "testlib.h"

#include "../errors.h"
#include "../lib.h"
#include "../lz4.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

static uint32_t work[LZ4_WORK_BYTES / 4];

/* Compresses src into an exactly sized malloc'd frame (ASan sees any
 * overrun); returns it and its length, or NULL on error. */
static uint8_t *pack(const void *src, size_t n, size_t *ret_len)
{
    size_t cap = lz4_frame_bound(n);
    uint8_t *f = malloc(cap);
    size_t len = 0;
    if (!f || lz4_frame_compress(src, n, f, cap, &len, work) != 0) {
        free(f);
        return NULL;
    }
    uint8_t *exact = malloc(len);
    memcpy(exact, f, len);
    free(f);
    *ret_len = len;
    return exact;
}

/* Decodes frame into an exactly sized buffer of cap bytes (at least 1). */
static int unpack(const uint8_t *frame, size_t len, size_t cap, uint8_t **ret_out,
                  size_t *ret_n, char *err, size_t errcap)
{
    uint8_t *out = malloc(cap ? cap : 1);
    int rc = lz4_frame_decompress(frame, len, out, cap, ret_n, err, errcap);
    *ret_out = out;
    return rc;
}

static void check_round_trip(const char *what, const uint8_t *src, size_t n)
{
    size_t len = 0, got = 0;
    uint8_t *frame = pack(src, n, &len);
    CHECK_MSG(frame != NULL, "%s: compress failed", what);
    if (!frame)
        return;
    CHECK_MSG(len <= lz4_frame_bound(n), "%s: %zu > bound", what, len);
    uint64_t size = 0;
    int exact = 0;
    char err[160];
    CHECK_INT(lz4_frame_size(frame, len, &size, &exact, err, sizeof err), 0);
    CHECK_INT(size, n);
    CHECK_INT(exact, n > 0); /* an empty frame carries no size field */
    uint8_t *out;
    int rc = unpack(frame, len, n, &out, &got, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: decode: %d %s", what, rc, err);
    CHECK_MSG(rc != 0 || (got == n && memcmp(out, src, n) == 0), "%s: content differs", what);
    free(out);
    if (n > 0) { /* one byte short: ERR_RANGE from the content size check */
        rc = unpack(frame, len, n - 1, &out, &got, err, sizeof err);
        CHECK_MSG(rc == ERR_RANGE, "%s: short output gave %d", what, rc);
        free(out);
    }
    free(frame);
}

TEST(lz4_xxh32_vectors)
{
    /* the spec's sanity buffer: byte i is the top byte of a 64-bit LCG */
    uint8_t buf[222];
    uint64_t g = 2654435761u;
    for (int i = 0; i < 222; i++) {
        buf[i] = (uint8_t)(g >> 56);
        g *= 11400714785074694797ull;
    }
    const uint32_t P1 = 0x9E3779B1u;
    CHECK_INT(lz4_xxh32("", 0, 0), 0x02CC5D05);
    CHECK_INT(lz4_xxh32("", 0, P1), 0x36B78AE7);
    CHECK_INT(lz4_xxh32("a", 1, 0), 0x550D7456); /* xxhsum -H0 */
    CHECK_INT(lz4_xxh32("abc", 3, 0), 0x32D153FF);
    CHECK_INT(lz4_xxh32("Nobody inspects the spammish repetition", 39, 0), 0xE2293B2F);
    CHECK_INT(lz4_xxh32(buf, 1, 0), 0xCF65B03E);
    CHECK_INT(lz4_xxh32(buf, 1, P1), 0xB4545AA4);
    CHECK_INT(lz4_xxh32(buf, 14, 0), 0x1208E7E2);
    CHECK_INT(lz4_xxh32(buf, 14, P1), 0x6AF1D1FE);
    CHECK_INT(lz4_xxh32(buf, 222, 0), 0x5BD11DBD);
    CHECK_INT(lz4_xxh32(buf, 222, P1), 0x58803C5F);
}

static const char TEXT[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in "
    "the sunshine. One day, she saw a big, red ball in the park. She wanted to play with "
    "it, but it was too high. Lily asked her mom, \"Can I have the ball?\" Her mom said, "
    "\"Yes, Lily, you can have the ball.\" Once upon a time, there was a little boy.\n";

TEST(lz4_round_trips)
{
    check_round_trip("empty", (const uint8_t *)"", 0);
    check_round_trip("one byte", (const uint8_t *)"x", 1);
    check_round_trip("text", (const uint8_t *)TEXT, sizeof TEXT - 1);
    /* every short length around the end-of-block rules */
    uint8_t small[64];
    for (size_t n = 0; n <= sizeof small; n++) {
        for (size_t i = 0; i < n; i++)
            small[i] = (uint8_t)("abab"[i % 4]);
        check_round_trip("short repetitive", small, n);
        for (size_t i = 0; i < n; i++)
            small[i] = (uint8_t)rnd();
        check_round_trip("short random", small, n);
    }
    size_t big = LZ4_BLOCK_MAX + LZ4_BLOCK_MAX / 2 + 7; /* two blocks */
    uint8_t *b = malloc(big);
    for (size_t i = 0; i < big; i++)
        b[i] = (uint8_t)rnd();
    check_round_trip("random, two blocks", b, big);
    size_t len;
    uint8_t *f = pack(b, 100000, &len); /* incompressible: stored, not grown */
    CHECK(f && len == 100000 + 4 + 23);
    free(f);
    memset(b, 'z', big);
    check_round_trip("one byte repeated", b, big);
    f = pack(b, big, &len);
    CHECK_MSG(f && len < big / 200, "repetitive: %zu bytes", len);
    free(f);
    /* text with runs and noise across the block boundary */
    for (size_t i = 0; i < big; i++)
        b[i] = (i / 4096) % 3 == 0 ? (uint8_t)rnd() : (uint8_t)TEXT[(i * 7 / 5) % (sizeof TEXT - 1)];
    check_round_trip("mixed, two blocks", b, big);
    for (size_t i = 0; i + sizeof TEXT - 1 <= 200000; i += sizeof TEXT - 1)
        memcpy(b + i, TEXT, sizeof TEXT - 1);
    f = pack(b, 200000, &len);
    CHECK_MSG(f && len < 200000 / 50, "repeated text: %zu bytes", len);
    free(f);
    free(b);
}

TEST(lz4_frame_layout)
{
    size_t len;
    uint8_t *f = pack("", 0, &len);
    /* magic, FLG (v01, independent, content checksum), BD (4 MB), HC, end
     * mark, XXH32 of nothing */
    static const uint8_t empty_head[] = {0x04, 0x22, 0x4D, 0x18, 0x64, 0x70};
    CHECK(f && len == 15 && memcmp(f, empty_head, 6) == 0);
    CHECK(f && f[6] == (uint8_t)(lz4_xxh32(empty_head + 4, 2, 0) >> 8));
    CHECK(f && f[7] == 0 && f[8] == 0 && f[9] == 0 && f[10] == 0);
    CHECK(f && f[11] == 0x05 && f[12] == 0x5D && f[13] == 0xCC && f[14] == 0x02);
    free(f);
    f = pack(TEXT, 100, &len);
    CHECK(f && f[4] == 0x6C && f[5] == 0x70 && f[6] == 100 && f[7] == 0);
    CHECK(f && f[14] == (uint8_t)(lz4_xxh32(f + 4, 10, 0) >> 8));
    free(f);
}

/* printf 'hello hello hello hello hello, LZ4 frame from the lz4 command\n' |
 * lz4 --content-size -BX (lz4 1.9.4): block and content checksums */
static const uint8_t CLI_FRAME[] = {
    0x04, 0x22, 0x4d, 0x18, 0x7c, 0x40, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xcf,
    0x2d, 0x00, 0x00, 0x00, 0x6f, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x06, 0x00, 0x04, 0xf0,
    0x12, 0x2c, 0x20, 0x4c, 0x5a, 0x34, 0x20, 0x66, 0x72, 0x61, 0x6d, 0x65, 0x20, 0x66, 0x72,
    0x6f, 0x6d, 0x20, 0x74, 0x68, 0x65, 0x20, 0x6c, 0x7a, 0x34, 0x20, 0x63, 0x6f, 0x6d, 0x6d,
    0x61, 0x6e, 0x64, 0x0a, 0xef, 0x85, 0x23, 0xce, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xba, 0x41,
    0xde};
static const char CLI_TEXT[] = "hello hello hello hello hello, LZ4 frame from the lz4 command\n";

TEST(lz4_cli_frame)
{
    uint8_t out[128];
    size_t n = 0;
    char err[160];
    int rc = lz4_frame_decompress(CLI_FRAME, sizeof CLI_FRAME, out, sizeof out, &n, err,
                                  sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    CHECK(n == sizeof CLI_TEXT - 1 && memcmp(out, CLI_TEXT, n) == 0);
}

/* ---- hand-built frames ---- */
struct fb {
    uint8_t b[1 << 18];
    size_t n, content_at; /* content_at: where the content checksum covers */
};

static void put(struct fb *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put32(struct fb *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(f, b, 4);
}

/* magic + descriptor (+ content size when flg has it) + header checksum */
static void fb_head(struct fb *f, unsigned flg, unsigned bd, uint64_t size)
{
    put32(f, 0x184D2204);
    size_t d = f->n;
    uint8_t b[2] = {(uint8_t)flg, (uint8_t)bd};
    put(f, b, 2);
    if (flg & 0x08) {
        put32(f, (uint32_t)size);
        put32(f, (uint32_t)(size >> 32));
    }
    if (flg & 0x01)
        put32(f, 0x12345678);
    uint8_t hc = (uint8_t)(lz4_xxh32(f->b + d, f->n - d, 0) >> 8);
    put(f, &hc, 1);
}

static void fb_block(struct fb *f, const void *data, size_t n, int raw, int sum)
{
    put32(f, (uint32_t)n | (raw ? 0x80000000u : 0));
    put(f, data, n);
    if (sum)
        put32(f, lz4_xxh32(data, n, 0));
}

static void fb_end(struct fb *f, const void *content, size_t n, int sum)
{
    put32(f, 0);
    if (sum)
        put32(f, lz4_xxh32(content, n, 0));
}

static int dec(const struct fb *f, char *out, size_t cap, size_t *ret_n, char *err)
{
    *ret_n = 0;
    return lz4_frame_decompress(f->b, f->n, out, cap, ret_n, err, 160);
}

#define EXPECT_ERR(f, rc_want, text)                                                     \
    do {                                                                                 \
        char e_[160], o_[256];                                                           \
        size_t n_;                                                                       \
        int r_ = dec(f, o_, sizeof o_, &n_, e_);                                         \
        CHECK_MSG(r_ == (rc_want) && strstr(e_, text), "rc %d, \"%s\" (want %d, \"%s\")", \
                  r_, e_, rc_want, text);                                                \
    } while (0)

/* "abc", match back 3 for 6, "xyz" = "abcabcabcxyz" */
static const uint8_t SEQ[] = {0x32, 'a', 'b', 'c', 3, 0, 0x30, 'x', 'y', 'z'};

TEST(lz4_crafted_frames)
{
    static struct fb f;
    char out[512], err[160];
    size_t n;

    /* sequences, overlapping match, block and content checksums, raw block */
    f.n = 0;
    fb_head(&f, 0x40 | 0x20 | 0x10 | 0x08 | 0x04, 0x40, 17);
    fb_block(&f, SEQ, sizeof SEQ, 0, 1);
    fb_block(&f, "hello", 5, 1, 1);
    fb_end(&f, "abcabcabcxyzhello", 17, 1);
    CHECK_INT(dec(&f, out, sizeof out, &n, err), 0);
    CHECK(n == 17 && memcmp(out, "abcabcabcxyzhello", 17) == 0);
    uint64_t size = 0;
    int exact = 0;
    CHECK_INT(lz4_frame_size(f.b, f.n, &size, &exact, err, sizeof err), 0);
    CHECK(size == 17 && exact == 1);

    /* linked blocks: block 2 copies from block 1 */
    static const uint8_t b2[] = {0x15, '!', 13, 0, 0x00};
    f.n = 0;
    fb_head(&f, 0x40 | 0x04, 0x40, 0);
    fb_block(&f, SEQ, sizeof SEQ, 0, 0);
    fb_block(&f, b2, sizeof b2, 0, 0);
    fb_end(&f, "abcabcabcxyz!abcabcabc", 22, 1);
    CHECK_INT(dec(&f, out, sizeof out, &n, err), 0);
    CHECK(n == 22 && memcmp(out, "abcabcabcxyz!abcabcabc", 22) == 0);
    CHECK_INT(lz4_frame_size(f.b, f.n, &size, &exact, err, sizeof err), 0);
    CHECK(exact == 0 && size >= 22);
    /* ...which independent blocks must refuse */
    f.n = 0;
    fb_head(&f, 0x40 | 0x20, 0x40, 0);
    fb_block(&f, SEQ, sizeof SEQ, 0, 0);
    fb_block(&f, b2, sizeof b2, 0, 0);
    fb_end(&f, "", 0, 0);
    EXPECT_ERR(&f, ERR_FORMAT, "block 2: match offset 13 beyond the 1 bytes decoded");

    /* run-length: offset 1, length 4 + 15 + 255 + 3 */
    static const uint8_t rle[] = {0x1f, 'r', 1, 0, 255, 3, 0x00};
    f.n = 0;
    fb_head(&f, 0x60, 0x70, 0);
    fb_block(&f, rle, sizeof rle, 0, 0);
    fb_end(&f, "", 0, 0);
    CHECK_INT(dec(&f, out, sizeof out, &n, err), 0);
    CHECK_INT(n, 1 + 4 + 15 + 255 + 3);
    CHECK(out[0] == 'r' && out[n - 1] == 'r');
    EXPECT_ERR(&f, ERR_RANGE, "output capacity of 256 bytes too small");

    struct {
        const uint8_t *blk;
        size_t n;
        int rc;
        const char *why;
    } bad[] = {
        {(const uint8_t *)"\x32" "abc\x05\x00\x30xyz", 10, ERR_FORMAT, "match offset 5 beyond the 3"},
        {(const uint8_t *)"\x32" "abc\x00\x00\x30xyz", 10, ERR_FORMAT, "match offset 0"},
        {(const uint8_t *)"\x32" "abc\x03\x00", 6, ERR_FORMAT, "ends after a match"},
        {(const uint8_t *)"\x32" "abc\x03", 5, ERR_FORMAT, "match offset cut off"},
        {(const uint8_t *)"\x50" "abc", 4, ERR_FORMAT, "literal run of 5 bytes, only 3 left"},
        {(const uint8_t *)"\xf0\xff\xff", 3, ERR_FORMAT, "literal length runs past"},
        {(const uint8_t *)"\x1f" "a\x01\x00\xff", 5, ERR_FORMAT, "match length runs past"},
        {(const uint8_t *)"\x1f" "a\x01\x00\xff\xff\x00\x00", 8, ERR_RANGE, "output capacity of 512 bytes too small"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        f.n = 0;
        fb_head(&f, 0x60, 0x40, 0);
        fb_block(&f, bad[i].blk, bad[i].n, 0, 0);
        fb_end(&f, "", 0, 0);
        char e[160];
        int rc = dec(&f, out, sizeof out, &n, e);
        CHECK_MSG(rc == bad[i].rc && strstr(e, bad[i].why) && strncmp(e, "block 1: ", 9) == 0,
                  "case %zu: rc %d \"%s\"", i, rc, e);
    }

    /* decoding past the block maximum (64 KB) is a format error */
    static uint8_t longm[400];
    size_t k = 0;
    longm[k++] = 0x1f;
    longm[k++] = 'q';
    longm[k++] = 1;
    longm[k++] = 0;
    for (int i = 0; i < 260; i++)
        longm[k++] = 255; /* 4 + 15 + 66300 > 65535 */
    longm[k++] = 0;
    longm[k++] = 0x00;
    f.n = 0;
    fb_head(&f, 0x60, 0x40, 0);
    fb_block(&f, longm, k, 0, 0);
    fb_end(&f, "", 0, 0);
    {
        char *big = malloc(1 << 20), e[160];
        int rc = lz4_frame_decompress(f.b, f.n, big, 1 << 20, &n, e, sizeof e);
        CHECK_MSG(rc == ERR_FORMAT && strstr(e, "more than the block maximum of 65536"), "%d %s",
                  rc, e);
        free(big);
    }

    /* header fields */
    struct {
        unsigned flg, bd;
        int rc;
        const char *why;
    } hdr[] = {
        {0x80 | 0x20, 0x40, ERR_UNSUPPORTED, "frame version 2"},
        {0x00 | 0x20, 0x40, ERR_UNSUPPORTED, "frame version 0"},
        {0x62, 0x40, ERR_FORMAT, "reserved FLG bit"},
        {0x60, 0xC0, ERR_FORMAT, "reserved BD bits"},
        {0x60, 0x41, ERR_FORMAT, "reserved BD bits"},
        {0x60, 0x30, ERR_FORMAT, "block maximum size id 3"},
        {0x61, 0x40, ERR_UNSUPPORTED, "preset dictionary 0x12345678"},
    };
    for (size_t i = 0; i < ARRAY_LEN(hdr); i++) {
        f.n = 0;
        fb_head(&f, hdr[i].flg, hdr[i].bd, 0);
        fb_end(&f, "", 0, 0);
        EXPECT_ERR(&f, hdr[i].rc, hdr[i].why);
    }
    f.n = 0;
    fb_head(&f, 0x60, 0x40, 0);
    f.b[6] ^= 1;
    fb_end(&f, "", 0, 0);
    EXPECT_ERR(&f, ERR_FORMAT, "header checksum");

    /* block size over the maximum, checksums, content size */
    f.n = 0;
    fb_head(&f, 0x60, 0x40, 0);
    put32(&f, 65537 | 0x80000000u);
    EXPECT_ERR(&f, ERR_FORMAT, "block 1: size 65537 over the block maximum 65536");
    f.n = 0;
    fb_head(&f, 0x70, 0x40, 0);
    fb_block(&f, "hello", 5, 1, 1);
    f.b[f.n - 1] ^= 0x40;
    fb_end(&f, "", 0, 0);
    EXPECT_ERR(&f, ERR_FORMAT, "block 1: block checksum");
    f.n = 0;
    fb_head(&f, 0x64, 0x40, 0);
    fb_block(&f, "hello", 5, 1, 0);
    fb_end(&f, "hellO", 5, 1);
    EXPECT_ERR(&f, ERR_FORMAT, "content checksum");
    f.n = 0;
    fb_head(&f, 0x68, 0x40, 4);
    fb_block(&f, "hello", 5, 1, 0);
    fb_end(&f, "", 0, 0);
    EXPECT_ERR(&f, ERR_FORMAT, "content size field says 4 bytes, the blocks hold 5");
    f.n = 0;
    fb_head(&f, 0x68, 0x40, 1000);
    fb_end(&f, "", 0, 0);
    EXPECT_ERR(&f, ERR_RANGE, "content size 1000 does not fit");
    /* an empty raw block is allowed */
    f.n = 0;
    fb_head(&f, 0x60, 0x40, 0);
    fb_block(&f, "", 0, 1, 0);
    fb_block(&f, "ok", 2, 1, 0);
    fb_end(&f, "", 0, 0);
    CHECK_INT(dec(&f, out, sizeof out, &n, err), 0);
    CHECK(n == 2 && memcmp(out, "ok", 2) == 0);

    /* skippable frames, concatenation, legacy and stray bytes */
    f.n = 0;
    put32(&f, 0x184D2A5F);
    put32(&f, 3);
    put(&f, "xyz", 3);
    fb_head(&f, 0x60, 0x40, 0);
    fb_block(&f, "one", 3, 1, 0);
    fb_end(&f, "", 0, 0);
    put32(&f, 0x184D2A50);
    put32(&f, 0);
    fb_head(&f, 0x64, 0x70, 0);
    fb_block(&f, SEQ, sizeof SEQ, 0, 0);
    fb_end(&f, "abcabcabcxyz", 12, 1);
    CHECK_INT(dec(&f, out, sizeof out, &n, err), 0);
    CHECK(n == 15 && memcmp(out, "oneabcabcabcxyz", 15) == 0);
    size_t good = f.n;
    put(&f, "\0\0", 2);
    EXPECT_ERR(&f, ERR_FORMAT, "2 stray bytes at input offset");
    f.n = good;
    put32(&f, 0x184C2102);
    put32(&f, 0);
    EXPECT_ERR(&f, ERR_UNSUPPORTED, "legacy");
    f.n = good;
    put32(&f, 0xdeadbeef);
    EXPECT_ERR(&f, ERR_FORMAT, "bad magic 0xdeadbeef");
    f.n = good;
    fb_head(&f, 0x60, 0x40, 0);
    put32(&f, 5);
    EXPECT_ERR(&f, ERR_FORMAT, "frame 3, block 1: truncated");
    f.n = 0;
    EXPECT_ERR(&f, ERR_FORMAT, "empty input");
    put32(&f, 0x184D2A51);
    put32(&f, 1);
    put(&f, "s", 1);
    CHECK_INT(dec(&f, out, sizeof out, &n, err), 0);
    CHECK_INT(n, 0);
    put32(&f, 0x184D2A51);
    put32(&f, 2);
    put(&f, "s", 1);
    EXPECT_ERR(&f, ERR_FORMAT, "truncated: skippable frame");
}

TEST(lz4_capacity)
{
    size_t len, n;
    char err[160];
    uint8_t *f = pack(TEXT, sizeof TEXT - 1, &len);
    /* strip the content size: decoding then finds the limit block by block */
    static struct fb g;
    g.n = 0;
    fb_head(&g, 0x64, 0x70, 0);
    put(&g, f + 15, len - 15);
    uint64_t size;
    int exact;
    CHECK_INT(lz4_frame_size(g.b, g.n, &size, &exact, err, sizeof err), 0);
    CHECK(exact == 0 && size >= sizeof TEXT - 1);
    uint8_t *out;
    int rc = unpack(g.b, g.n, (size_t)size, &out, &n, err, sizeof err);
    CHECK(rc == 0 && n == sizeof TEXT - 1 && memcmp(out, TEXT, n) == 0);
    free(out);
    for (size_t cap = 0; cap < sizeof TEXT - 1; cap += 7) {
        rc = unpack(g.b, g.n, cap, &out, &n, err, sizeof err);
        CHECK_MSG(rc == ERR_RANGE && strstr(err, "output capacity"), "cap %zu: %d %s", cap, rc,
                  err);
        free(out);
    }
    /* the encoder: too small a buffer is ERR_RANGE, never an overrun */
    for (size_t cap = 0; cap < len; cap++) {
        uint8_t *d = malloc(cap ? cap : 1);
        CHECK_INT(lz4_frame_compress(TEXT, sizeof TEXT - 1, d, cap, &n, work), ERR_RANGE);
        free(d);
    }
    uint8_t *d = malloc(len);
    CHECK_INT(lz4_frame_compress(TEXT, sizeof TEXT - 1, d, len, &n, work), 0);
    CHECK(n == len && memcmp(d, f, len) == 0);
    CHECK_INT(lz4_frame_compress(TEXT, 10, d, len, &n, (char *)work + 1), ERR_INVAL);
    free(d);
    free(f);
    CHECK(lz4_frame_bound(0) == 23 && lz4_frame_bound(1) == 28);
    CHECK(lz4_frame_bound(SIZE_MAX - 10) == 0);
}

/* every prefix, and byte changes at every position, of a few frames */
TEST(lz4_truncated_and_corrupted)
{
    static struct fb g;
    const uint8_t *frames[3];
    size_t lens[3];
    size_t len;
    uint8_t *own = pack(TEXT, sizeof TEXT - 1, &len);
    frames[0] = own, lens[0] = len;
    frames[1] = CLI_FRAME, lens[1] = sizeof CLI_FRAME;
    g.n = 0; /* block checksums, no content checksum */
    fb_head(&g, 0x78, 0x40, 17);
    fb_block(&g, SEQ, sizeof SEQ, 0, 1);
    fb_block(&g, "hello", 5, 1, 1);
    fb_end(&g, "", 0, 0);
    frames[2] = g.b, lens[2] = g.n;
    char err[160];
    for (int k = 0; k < 3; k++) {
        size_t cap = 1024, n;
        uint8_t *out = malloc(cap);
        uint8_t *buf = malloc(lens[k]);
        size_t n_good = 0;
        CHECK_INT(lz4_frame_decompress(frames[k], lens[k], out, cap, &n_good, err, sizeof err), 0);
        uint8_t *good = malloc(n_good);
        memcpy(good, out, n_good);
        for (size_t cut = 0; cut < lens[k]; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, frames[k], cut);
            int rc = lz4_frame_decompress(p, cut, out, cap, &n, err, sizeof err);
            CHECK_MSG(rc == ERR_FORMAT && err[0], "frame %d cut at %zu: %d", k, cut, rc);
            free(p);
        }
        static const uint8_t flips[] = {0x01, 0x02, 0x10, 0x80, 0xFF, 0x55};
        for (size_t at = 0; at < lens[k]; at++) {
            for (size_t j = 0; j < sizeof flips; j++) {
                memcpy(buf, frames[k], lens[k]);
                buf[at] ^= flips[j];
                int rc = lz4_frame_decompress(buf, lens[k], out, cap, &n, err, sizeof err);
                /* the match nibble of the last token means nothing (the
                 * block ends after its literals), so a change there may
                 * decode to the same content; nothing else may pass */
                int same = rc == 0 && n == n_good && memcmp(out, good, n) == 0;
                CHECK_MSG((rc < 0 && err[0]) || (same && (buf[at] >> 4) == (frames[k][at] >> 4)),
                          "frame %d byte %zu ^ 0x%02x accepted", k, at, flips[j]);
            }
        }
        /* random multi-byte damage: any verdict, but in bounds */
        for (int t = 0; t < 3000; t++) {
            memcpy(buf, frames[k], lens[k]);
            for (int m = 1 + (int)(rnd() % 4); m > 0; m--)
                buf[rnd() % lens[k]] = (uint8_t)rnd();
            size_t small = rnd() % 64;
            int rc = lz4_frame_decompress(buf, lens[k], out, t & 1 ? cap : small, &n, err,
                                          sizeof err);
            CHECK(rc <= 0 && (rc != 0 || n <= cap));
            uint64_t sz;
            int ex;
            CHECK(lz4_frame_size(buf, lens[k], &sz, &ex, err, sizeof err) <= 0);
        }
        free(good);
        free(buf);
        free(out);
    }
    free(own);
}
