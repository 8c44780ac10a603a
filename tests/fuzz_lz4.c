/* fuzz_lz4.c - libFuzzer target for the LZ4 frame codec (lz4.c).
 *
 *  - The input as frames: lz4_frame_size and lz4_frame_decompress agree
 *    (a frame that decodes has a size; an exact size equals the decoded
 *    length, a bound is not below it); decoding again into exactly that
 *    many bytes gives the same bytes, and one byte less gives ERR_RANGE;
 *    every error comes with a message.
 *  - The input as content: compress (within lz4_frame_bound), decompress,
 *    compare; one byte less room for the frame gives ERR_RANGE.
 * A broken promise aborts (fuzz_require.h). Built and run by
 * tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../lz4.h"

#include "fuzz_require.h"

#define OUT_MAX ((size_t)1 << 20) /* larger claims are decoded into this much */

static uint32_t work[LZ4_WORK_BYTES / 4];

static void as_frames(const uint8_t *d, size_t n)
{
    char err[200];
    uint64_t size = 0;
    int exact = 0;
    int src = lz4_frame_size(d, n, &size, &exact, err, sizeof err);
    REQUIRE(src <= 0 && (src == 0 || err[0]), "lz4_frame_size %d without a message", src);
    size_t cap = src == 0 && size < OUT_MAX ? (size_t)size : OUT_MAX;
    uint8_t *out = malloc(cap ? cap : 1);
    size_t len = 0;
    int rc = lz4_frame_decompress(d, n, out, cap, &len, err, sizeof err);
    REQUIRE(rc <= 0 && (rc == 0 || err[0]), "decompress %d without a message", rc);
    if (rc == 0) {
        REQUIRE(src == 0, "decodes but lz4_frame_size failed: %d", src);
        REQUIRE(exact ? size == len : size >= len, "size %llu (%s), decoded %zu",
                (unsigned long long)size, exact ? "exact" : "bound", len);
        uint8_t *again = malloc(len ? len : 1);
        size_t len2 = 0;
        rc = lz4_frame_decompress(d, n, again, len, &len2, err, sizeof err);
        REQUIRE(rc == 0 && len2 == len && memcmp(again, out, len) == 0,
                "exact-size decode: %d %s", rc, err);
        if (len > 0) {
            rc = lz4_frame_decompress(d, n, again, len - 1, &len2, err, sizeof err);
            REQUIRE(rc == ERR_RANGE, "one byte short: %d %s", rc, err);
        }
        free(again);
    }
    free(out);
}

static void as_content(const uint8_t *d, size_t n)
{
    size_t bound = lz4_frame_bound(n), len = 0, got = 0;
    uint8_t *frame = malloc(bound);
    REQUIRE(lz4_frame_compress(d, n, frame, bound, &len, work) == 0 && len <= bound,
            "compress %zu bytes", n);
    uint8_t *small = malloc(len - 1);
    REQUIRE(lz4_frame_compress(d, n, small, len - 1, &got, work) == ERR_RANGE,
            "compress into %zu bytes", len - 1);
    free(small);
    uint8_t *out = malloc(n ? n : 1);
    char err[200];
    int rc = lz4_frame_decompress(frame, len, out, n, &got, err, sizeof err);
    REQUIRE(rc == 0 && got == n && memcmp(out, d, n) == 0, "round trip of %zu bytes: %d %s", n,
            rc, err);
    free(out);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_frames(data, size);
    as_content(data, size);
    return 0;
}
