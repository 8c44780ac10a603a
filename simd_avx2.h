/* simd_avx2.h - what the AVX2 table (simd_avx2.c) shares with the AVX2 +
 * AVX-VNNI one (simd_avx2vnni.c): small helpers, the layout of the expanded
 * Q8_0 activation row, and the 4-block group tile that reads it, with the
 * int32 lane sums left to each file (vpmaddubsw + vpmaddwd, or vpdpbusd).
 * Included only by files built with at least AVX2, FMA and F16C. */
#ifndef SIMD_AVX2_H
#define SIMD_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#include "lib.h"
#include "simd.h"
#include "simd_tile.h"

#define AI static inline __attribute__((always_inline))
#define UNROLL_T _Pragma("GCC unroll 4")

/* ---- small helpers ---------------------------------------------------------- */

static inline uint16_t ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float h2f(uint16_t h)
{
    return _cvtsh_ss(h);
}

static inline __m128i ld128(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

static inline __m256i ld256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

static inline float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m128i ld32(const uint8_t *p)
{
    int v;
    memcpy(&v, p, sizeof v);
    return _mm_cvtsi32_si128(v);
}

/* The fp16 at p, p + st, p + 2 st, p + 3 st, as the low 4 halves. */
static inline __m128i gather4_f16(const uint8_t *p, int st)
{
    const __m128i a = _mm_unpacklo_epi16(ld32(p), ld32(p + st));
    const __m128i b = _mm_unpacklo_epi16(ld32(p + 2 * st), ld32(p + 3 * st));
    return _mm_unpacklo_epi32(a, b);
}

/* ---- the expanded activation row (Q4_0, Q8_0) ------------------------------------- */

/* The AVX2 tables' expansion (simd.h) of a Q8_0 activation row: per group
 * of 4 blocks A..D, the values laid out so that one 256-bit register of
 * weights [A | B] or [C | D] (values 0..15 of each, or 16..31) meets its
 * activations in one instruction, the correction of Q4_0's -8 offset per
 * int32 lane, and the blocks' scales already spread over their lanes. Zero
 * blocks pad the last group. After the groups, every block's scale once
 * more as a float (AVX2's Q8_0 kernel takes 8 at a time), zero-padded to a
 * multiple of 8 blocks. Written by simd_avx2.c's avx2_expand_q8_0. */
struct xgroup {
    int8_t lo[64], hi[64]; /* values 0..15 / 16..31 of A, B, C, D */
    int32_t c8[16];        /* lane 4b+l: -8 times the sum of the 8 values it covers */
    float dx[16];          /* lane 4b+l: block b's scale */
};
_Static_assert(sizeof(struct xgroup) == 256, "simd_q8_expansion_bytes assumes 256 per group");

/* Where the expansion's per-block scales start. */
static inline float *expanded_scales(const void *xq, int n)
{
    const int nb = n / QK8_0;
    return (float *)((uint8_t *)xq + simd_q8_expansion_at(n) + (size_t)(nb + 3) / 4 * sizeof(struct xgroup));
}

/* ---- the group tile ------------------------------------------------------------ */

/* 16 quant bytes (at offset OFF in each BS-byte block) of blocks b and b + 1
 * at p as [b | b + 1], zeros for blocks >= m (not read). */
AI __m256i block_pair(const uint8_t *p, int bs, int off, int b, int m)
{
    const __m128i z = _mm_setzero_si128();
    const __m128i q0 = b < m ? ld128(p + bs * b + off) : z;
    const __m128i q1 = b + 1 < m ? ld128(p + bs * (b + 1) + off) : z;
    return _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
}

/* The fp16 scales (first 2 bytes) of the BS-byte blocks 0..3 at p, 0 for
 * blocks >= m (not read). */
AI __m128 block_scales4(const uint8_t *p, int bs, int m)
{
    if (m == 4)
        return _mm_cvtph_ps(gather4_f16(p, bs));
    float d[4] = {0};
    for (int b = 0; b < m; b++)
        d[b] = h2f(ld16(p + bs * b));
    return _mm_loadu_ps(d);
}

/* The weight registers of a group: values 0..15 (lo) and 16..31 (hi) of
 * blocks [A | B] and [C | D], as the unsigned operands of the lane sums. */
struct wgroup {
    __m256i lab, hab, lcd, hcd;
};

/* A tile (simd_tile.h's contract) over groups of 4 BS-byte blocks against
 * expanded activation rows. Per group, GROUP(wk, m) unpacks the weights
 * once per tile; per row, LANES(w_lo, w_hi, x_lo, x_hi, c8) gives the exact
 * int32 sum of each lane's 8 products plus the offset correction, scaled
 * by weight * activation scale into accumulator 0 ([A | B]) or 1 ([C | D]).
 * Full groups run with m = 4 as a constant, the last 1..3 blocks after. */
#define GROUP_STEP(BS, GROUP, LANES, k, m)                                                       \
    do {                                                                                         \
        const uint8_t *wk = w + (size_t)(k) * 4 * (BS);                                          \
        PREFETCH_AHEAD(wk, 4 * (BS));                                                            \
        const struct wgroup q = GROUP(wk, (m));                                                  \
        const __m256 dw = _mm256_castps128_ps256(block_scales4(wk, (BS), (m)));                  \
        const __m256 dab = _mm256_permutevar8x32_ps(dw, _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1)); \
        const __m256 dcd = _mm256_permutevar8x32_ps(dw, _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3)); \
        UNROLL_T for (int t = 0; t < T; t++)                                                     \
        {                                                                                        \
            const struct xgroup *x = &g[t][k];                                                   \
            const __m256i iab = LANES(q.lab, q.hab, ld256(x->lo), ld256(x->hi), ld256(x->c8));   \
            const __m256i icd =                                                                  \
                LANES(q.lcd, q.hcd, ld256(x->lo + 32), ld256(x->hi + 32), ld256(x->c8 + 8));    \
            a0[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iab),                                     \
                                    _mm256_mul_ps(dab, _mm256_loadu_ps(x->dx)), a0[t]);          \
            a1[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(icd),                                     \
                                    _mm256_mul_ps(dcd, _mm256_loadu_ps(x->dx + 8)), a1[t]);      \
        }                                                                                        \
    } while (0)

/* Groups [i0, i1) of a row as a range (simd_tile.h's BLOCK_FROM_RANGE:
 * acc holds a0, a1 of each row; i1 is the group count at the row's end,
 * where a short last group comes too), and the whole row as the tile. */
#define GROUP_RANGE(NAME, BS, GROUP, LANES)                                                      \
    AI void NAME(const void *wv, const void *xq, size_t stride, int n, int i0, int i1,           \
                 __m256 *acc, float *out, size_t ostride, const int T)                           \
    {                                                                                            \
        const uint8_t *w = wv;                                                                   \
        const int nb = n / 32, full = nb / 4, ng = (nb + 3) / 4;                                 \
        const struct xgroup *g[4];                                                               \
        __m256 a0[4], a1[4];                                                                     \
        UNROLL_T for (int t = 0; t < T; t++)                                                     \
        {                                                                                        \
            g[t] = (const struct xgroup *)((const uint8_t *)xq + (size_t)t * stride +            \
                                           simd_q8_expansion_at(n));                             \
        }                                                                                        \
        RANGE_RESUME2(acc, a0, a1, T, i0, _mm256_setzero_ps());                                  \
        for (int k = i0; k < (i1 < full ? i1 : full); k++)                                       \
            GROUP_STEP(BS, GROUP, LANES, k, 4);                                                  \
        if (i1 < ng) {                                                                           \
            RANGE_KEEP2(acc, a0, a1, T);                                                         \
            return;                                                                              \
        }                                                                                        \
        if (nb % 4)                                                                              \
            GROUP_STEP(BS, GROUP, LANES, full, nb % 4);                                          \
        UNROLL_T for (int t = 0; t < T; t++)                                                     \
            out[(size_t)t * ostride] = hsum_ps(_mm256_add_ps(a0[t], a1[t]));                     \
    }

/* Prompts: CHUNK_GROUPS groups (64 blocks) of 4 activation rows in L1 at a
 * time (simd_tile.h's BLOCK_FROM_RANGE). 8, 16 and 32 groups measured the
 * same for AVX2 Q4_0 (~150 tok/s, TinyLlama, 2 threads: the unpacking
 * bounds it); avx2vnni Q8_0 went from ~138 to ~148 with 16. */
#define CHUNK_GROUPS 16

/* A table's dot, tile and dot_block of one group kernel. */
#define GROUP_KERNELS(DOT, BLOCK, BS, GROUP, LANES)                                              \
    GROUP_RANGE(DOT##_range, BS, GROUP, LANES)                                                   \
    TILE_FROM_RANGE(DOT##_tile, DOT##_range, (n / 32 + 3) / 4)                                   \
    DOT_FROM_TILE(DOT, DOT##_tile)                                                               \
    BLOCK_FROM_RANGE(BLOCK, DOT##_range, __m256, 2, (n / 32 + 3) / 4, CHUNK_GROUPS, 4)

/* Q4_0 (18-byte blocks): nibbles 0..15 unsigned, the -8 in the lanes' c8. */
AI struct wgroup q4_0_group(const uint8_t *p, int m)
{
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i ab = block_pair(p, 18, 2, 0, m), cd = block_pair(p, 18, 2, 2, m);
    const struct wgroup q = {_mm256_and_si256(ab, low4), _mm256_and_si256(_mm256_srli_epi16(ab, 4), low4),
                             _mm256_and_si256(cd, low4), _mm256_and_si256(_mm256_srli_epi16(cd, 4), low4)};
    return q;
}

#endif
