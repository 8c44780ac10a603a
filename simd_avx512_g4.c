/* simd_avx512_g4.c - Q4_0 and Q8_0 dot products with AVX-512 VNNI, 4 blocks
 * (128 values) per step; the selectable "avx512vnni" table, whose other
 * entries come from simd_avx512.c.
 *
 * Decode of a quantized model is bound by how few instructions touch each
 * weight byte (on two cores, by memory bandwidth once that is low enough):
 *  - the 4 blocks' quants go into one register (Q4_0: 4 x 16 bytes, split
 *    into low and high nibbles) or two (Q8_0: 4 x 32 bytes, regrouped);
 *  - the activation row was laid out once to match (expand_q8_0): values
 *    0..15 of the 4 blocks in one register, values 16..31 in the next, and
 *    for every int32 lane the offset term of its 8 values, so a step is two
 *    vpdpbusd (unsigned weights x signed activations) starting from it:
 *      Q4_0: nibble q unsigned, sum (q - 8) y = sum q y - 8 sum y
 *      Q8_0: w ^ 0x80 = w + 128 unsigned, sum w y = sum (w + 128) y - 128 sum y
 *  - lane l then holds 8 products of block l/4: scaled by that block's
 *    weight and activation scales and added in float.
 * Integer sums are exact for every input; only the float order differs from
 * the generic kernels. */
#include <immintrin.h>

#include "simd.h"
#include "simd_avx512.h"
#include "simd_tile.h"

/* One group of 4 activation blocks in the expansion (zero blocks pad the
 * last group). */
struct xgroup {
    int8_t lo[64], hi[64];    /* values 0..15 / 16..31 of the 4 blocks, block after block */
    int32_t c8[16], c128[16]; /* lane 4b+l: -8 / -128 times the sum of the 8 values it covers */
};
_Static_assert(sizeof(struct xgroup) == 256, "simd_q8_expansion_bytes assumes 256 per group");

/* ---- weight side -------------------------------------------------------------------- */

/* The two unsigned vpdpbusd operands of a group: values 0..15 and 16..31. */
struct wgroup {
    __m512i lo, hi;
};

/* Group loads are of single blocks' quants (16 or 32 bytes): 64-byte loads
 * across the block headers measured slower (most split two cache lines).
 * Blocks b >= m of a short last group read as zeros, nothing past them is
 * read. */
SI __m128i q4_0_qs(const uint8_t *p, int b, int m)
{
    return _mm_maskz_loadu_epi8(b < m ? 0xffff : 0, p + sizeof(block_q4_0) * b + 2);
}

SI __m256i q8_0_qs(const uint8_t *p, int b, int m)
{
    return _mm256_maskz_loadu_epi8(b < m ? ~(__mmask32)0 : 0, p + sizeof(block_q8_0) * b + 2);
}

/* m (1..4) Q4_0 blocks at p: [A | B | C | D] quant bytes, low nibbles
 * (values 0..15) and high nibbles (16..31). */
SI struct wgroup q4_0_group(const uint8_t *p, int m)
{
    __m512i q = _mm512_castsi128_si512(q4_0_qs(p, 0, m));
    q = _mm512_inserti32x4(q, q4_0_qs(p, 1, m), 1);
    q = _mm512_inserti32x4(q, q4_0_qs(p, 2, m), 2);
    q = _mm512_inserti32x4(q, q4_0_qs(p, 3, m), 3);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    const struct wgroup w = {_mm512_and_si512(q, low4),
                             _mm512_and_si512(_mm512_srli_epi16(q, 4), low4)};
    return w;
}

/* m (1..4) Q8_0 blocks at p: [A | B] and [C | D] 32 values each, then the
 * 128-bit halves regrouped (values 0..15 of all four, then 16..31), offset
 * to unsigned. */
SI struct wgroup q8_0_group(const uint8_t *p, int m)
{
    const __m512i ab = _mm512_inserti64x4(_mm512_castsi256_si512(q8_0_qs(p, 0, m)), q8_0_qs(p, 1, m), 1);
    const __m512i cd = _mm512_inserti64x4(_mm512_castsi256_si512(q8_0_qs(p, 2, m)), q8_0_qs(p, 3, m), 1);
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    const struct wgroup w = {_mm512_xor_si512(_mm512_shuffle_i64x2(ab, cd, 0x88), bias),
                             _mm512_xor_si512(_mm512_shuffle_i64x2(ab, cd, 0xdd), bias)};
    return w;
}

/* ---- activation side ----------------------------------------------------------------- */

/* The expansion of one Q8_0 activation row: the groups, then every block's
 * scale as a float, zero-padded to a multiple of 16 blocks. The lane sums
 * come from vpdpbusd with 1s, the same lanes the dot products use. */
static void expand_q8_0(void *xq, int n)
{
    const uint8_t *y = xq;
    const int nb = n / QK8_0, ng = (nb + 3) / 4;
    struct xgroup *g = (struct xgroup *)((uint8_t *)xq + simd_q8_expansion_at(n));
    float *dy = (float *)(g + ng);
    const __m512i ones = _mm512_set1_epi8(1), bias = _mm512_set1_epi8((char)0x80);
    for (int k = 0; k < ng; k++) {
        const struct wgroup v = q8_0_group(y + (size_t)k * 4 * sizeof(block_q8_0), MIN(4, nb - 4 * k));
        const __m512i lo = _mm512_xor_si512(v.lo, bias), hi = _mm512_xor_si512(v.hi, bias);
        _mm512_storeu_si512(g[k].lo, lo);
        _mm512_storeu_si512(g[k].hi, hi);
        const __m512i sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, lo),
                                                ones, hi);
        _mm512_storeu_si512(g[k].c8, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 3)));
        _mm512_storeu_si512(g[k].c128, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
    }
    for (int i = 0; i < nb; i += 16)
        _mm512_storeu_ps(dy + i, halves16(y + (size_t)i * sizeof(block_q8_0), sizeof(block_q8_0), nb - i));
}

SI __m512i q4_0_corr(const struct xgroup *g)
{
    return _mm512_loadu_si512(g->c8);
}

SI __m512i q8_0_corr(const struct xgroup *g)
{
    return _mm512_loadu_si512(g->c128);
}

/* Lanes [4k x4 | 4k+1 x4 | 4k+2 x4 | 4k+3 x4] of a 16-lane vector. */
#define GROUP_IDX(k) _mm512_set_epi32(4 * (k) + 3, 4 * (k) + 3, 4 * (k) + 3, 4 * (k) + 3,      \
                                      4 * (k) + 2, 4 * (k) + 2, 4 * (k) + 2, 4 * (k) + 2,      \
                                      4 * (k) + 1, 4 * (k) + 1, 4 * (k) + 1, 4 * (k) + 1,      \
                                      4 * (k), 4 * (k), 4 * (k), 4 * (k))

/* Group k (of m blocks) of the 16 starting at block i, for every row t: the
 * integer lanes from the correction term, then scaled by sc[t] (16 blocks'
 * scale products) into accumulator k & 1. */
#define GROUP_STEP(GATHER, CORR, BS, k, m)                                                   \
    do {                                                                                     \
        const struct wgroup w = GATHER(x + (size_t)(i + 4 * (k)) * (BS), (m));               \
        const __m512i gidx = GROUP_IDX(k);                                                   \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            const struct xgroup *gg = &g[t][i / 4 + (k)];                                    \
            __m512i acc = _mm512_dpbusd_epi32(CORR(gg), w.lo, _mm512_loadu_si512(gg->lo));   \
            acc = _mm512_dpbusd_epi32(acc, w.hi, _mm512_loadu_si512(gg->hi));                \
            const __m512 f = _mm512_permutexvar_ps(gidx, sc[t]);                             \
            if ((k) & 1)                                                                     \
                s1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), f, s1[t]);                  \
            else                                                                             \
                s0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), f, s0[t]);                  \
        }                                                                                    \
    } while (0)

/* Blocks [i0, i1) of one weight row of BS-byte blocks against T expanded
 * activation rows: 16 blocks per step, then (when i1 is the row's end) the
 * last 1..15, scales read one by one, the last group masked; group numbers
 * stay constants, so GROUP_IDX is one. i0 is a multiple of 16, and so is i1
 * unless it is the end: a row split into ranges takes the same steps as in
 * one piece. acc holds row t's two accumulators at 2t and 2t + 1: zeroed
 * when i0 is 0, else continued; at the row's end the sums go to
 * out[t * ostride] (simd_tile.h's tile is the range 0..end). */
#define DOT_GROUP_RANGE(NAME, BS, GATHER, CORR)                                              \
    AI void NAME(const void *wrow, const void *xq, size_t stride, int n, int i0, int i1,     \
                 __m512 *acc, float *out, size_t ostride, const int T)                       \
    {                                                                                        \
        const uint8_t *x = wrow;                                                             \
        const int nb = n / 32, ng = (nb + 3) / 4;                                            \
        const struct xgroup *g[8];                                                           \
        const float *dy[8];                                                                  \
        __m512 s0[8], s1[8], sc[8];                                                          \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            g[t] = (const struct xgroup *)((const uint8_t *)xq + (size_t)t * stride +        \
                                           simd_q8_expansion_at(n));                         \
            dy[t] = (const float *)(g[t] + ng);                                              \
        }                                                                                    \
        RANGE_RESUME2(acc, s0, s1, T, i0, _mm512_setzero_ps());                              \
        int i = i0;                                                                          \
        for (; i + 16 <= i1; i += 16) {                                                      \
            PREFETCH_AHEAD(x + (size_t)(i + 16) * (BS), 16 * (BS));                          \
            const __m512 fx = halves16(x + (size_t)i * (BS), (BS), 16);                      \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
                sc[t] = _mm512_mul_ps(fx, _mm512_loadu_ps(dy[t] + i));                       \
            GROUP_STEP(GATHER, CORR, BS, 0, 4);                                              \
            GROUP_STEP(GATHER, CORR, BS, 1, 4);                                              \
            GROUP_STEP(GATHER, CORR, BS, 2, 4);                                              \
            GROUP_STEP(GATHER, CORR, BS, 3, 4);                                              \
        }                                                                                    \
        if (i < i1) {                                                                        \
            const __m512 fx = halves16(x + (size_t)i * (BS), (BS), nb - i);                  \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
                sc[t] = _mm512_mul_ps(fx, _mm512_loadu_ps(dy[t] + i));                       \
            GROUP_STEP(GATHER, CORR, BS, 0, MIN(4, nb - i));                                 \
            if (i + 4 < nb)                                                                  \
                GROUP_STEP(GATHER, CORR, BS, 1, MIN(4, nb - i - 4));                         \
            if (i + 8 < nb)                                                                  \
                GROUP_STEP(GATHER, CORR, BS, 2, MIN(4, nb - i - 8));                         \
            if (i + 12 < nb)                                                                 \
                GROUP_STEP(GATHER, CORR, BS, 3, nb - i - 12);                                \
        }                                                                                    \
        if (i1 < nb) {                                                                       \
            RANGE_KEEP2(acc, s0, s1, T);                                                     \
            return;                                                                          \
        }                                                                                    \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
            out[(size_t)t * ostride] = hsum(_mm512_add_ps(s0[t], s1[t]));                    \
    }

DOT_GROUP_RANGE(q4_0_range, (int)sizeof(block_q4_0), q4_0_group, q4_0_corr)
DOT_GROUP_RANGE(q8_0_range, (int)sizeof(block_q8_0), q8_0_group, q8_0_corr)

TILE_FROM_RANGE(q4_0_tile, q4_0_range, n / 32)
TILE_FROM_RANGE(q8_0_tile, q8_0_range, n / 32)
DOT_FROM_TILE(dot_q4_0, q4_0_tile)
DOT_FROM_TILE(dot_q8_0, q8_0_tile)

/* ---- prompt blocks (dot_block) ------------------------------------------------------- */

/* Prompts: tiles of 8 activation rows share each group's unpacked weights
 * (with whole rows, tiles of 4: TinyLlama Q4_0 prefill ~195 tok/s on 2
 * threads; 8: ~235).
 * Blocks per chunk (simd_tile.h's BLOCK_FROM_RANGE). A tile's 8 expanded
 * activation rows of a chunk (34 KiB at 64 blocks) stay in L1 for the
 * weight rows (dot_rows needs 8 whole rows there: at 4096 values 70 KiB,
 * so 7B shapes ran tiles of 4). Measured, Llama-2-7B-shape Q4_0 prefill on
 * 2 threads: dot_rows 37 tok/s; chunks of 32 blocks 40-41, 48 42, 64
 * 43-44, 128 (4 weight rows per turn) 33; 4 or 16 weight rows per turn
 * (64 blocks) 41 and 39. A multiple of 16 (the range's step). */
#define CHUNK_BLOCKS 64
_Static_assert(CHUNK_BLOCKS % 16 == 0, "a chunk ends where a range step does");

BLOCK_FROM_RANGE(dot_block_q4_0, q4_0_range, __m512, 2, n / 32, CHUNK_BLOCKS, 8)
BLOCK_FROM_RANGE(dot_block_q8_0, q8_0_range, __m512, 2, n / 32, CHUNK_BLOCKS, 8)

/* The selectable VNNI table: these over the rest of VNNI's (simd_avx512.c). */
const struct simd_kernels simd_avx512vnni = {
    .name = "avx512vnni",
    .base = &simd_avx512vnni_base,
    .dot = {[QT_Q4_0] = dot_q4_0, [QT_Q8_0] = dot_q8_0},
    .dot_block = {[QT_Q4_0] = dot_block_q4_0, [QT_Q8_0] = dot_block_q8_0},
    .expand = {[QT_Q8_0] = expand_q8_0},
};
