/* simd_avx2vnni.c - the "avx2vnni" table: the AVX2 table with Q4_0 and Q8_0
 * from AVX-VNNI's 256-bit vpdpbusd (CPUs with AVX-VNNI and no AVX-512, such
 * as Intel's client cores since Alder Lake). Built with AVX2, FMA, F16C and
 * AVX-VNNI only; everything else, and the expanded activation row both
 * kernels read, come from simd_avx2.c (the table's base).
 *
 * One vpdpbusd multiplies unsigned weight bytes by signed activation bytes
 * and adds each 4 products into an int32 lane, exactly:
 *  - Q4_0: nibbles 0..15; the -8 offset is the expansion's c8 term, so the
 *    lanes hold the same integers as AVX2's vpmaddubsw path and both tables
 *    give the same bits.
 *  - Q8_0: w ^ 0x80 = w + 128 unsigned; sum w y = sum (w + 128) y - 128 sum y,
 *    and -128 sum y = 16 * c8 for every block (c8 is -8 times the same sum).
 * (Not run on the Zen 3 machine that moved these to simd_avx2.h's oct tile:
 * it has no AVX-VNNI; test_simd holds them to generic where it runs.) */
#include "simd_avx2.h"

AI __m256i lanes_vnni(__m256i wl, __m256i wh, __m256i xl, __m256i xh)
{
    return _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), wl, xl), wh, xh);
}

/* Q8_0 offset to unsigned: w ^ 0x80. */
AI struct wgroup q8_0_group_unsigned(const uint8_t *p, int m)
{
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    const struct wgroup q = q8_0_group(p, m);
    const struct wgroup u = {_mm256_xor_si256(q.lab, bias), _mm256_xor_si256(q.hab, bias),
                             _mm256_xor_si256(q.lcd, bias), _mm256_xor_si256(q.hcd, bias)};
    return u;
}

/* Q4_0's correction is c8; Q8_0's -128 sum y is 16 c8 (CSHIFT 4). */
OCT_KERNELS(dot_q4_0, dot_block_q4_0, 18, q4_0_group, lanes_vnni, lanes32, 0)
OCT_KERNELS(dot_q8_0, dot_block_q8_0, 34, q8_0_group_unsigned, lanes_vnni, lanes32, 4)

const struct simd_kernels simd_avx2vnni = {
    .name = "avx2vnni",
    .base = &simd_avx2,
    .dot = {[QT_Q4_0] = dot_q4_0, [QT_Q8_0] = dot_q8_0},
    .dot_block = {[QT_Q4_0] = dot_block_q4_0, [QT_Q8_0] = dot_block_q8_0},
};
