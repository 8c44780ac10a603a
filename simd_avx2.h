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

/* The AVX2 tables' expansion (simd.h) of a Q8_0 activation row, per "oct"
 * of 8 blocks A..H: the values laid out so that one 256-bit register of
 * weights [A | B], [C | D], [E | F] or [G | H] (values 0..15 of each, or
 * 16..31) meets its activations in one instruction; then, in the order the
 * oct tile's two rounds of vphaddd leave the block sums (A C E G | B D F H),
 * each block's correction of Q4_0's -8 offset and its scale. Zero blocks pad
 * the last oct. After the octs, an int: whether any value is -128 (AVX2's
 * Q8_0 kernel then takes its exact path; only NaN or infinite activations
 * give -128). Written by simd_avx2.c's avx2_expand_q8_0. */
struct xoct {
    int8_t lo[128], hi[128]; /* values 0..15 / 16..31 of A..H, 16 per block */
    int32_t c8[8];           /* -8 times the sum of the block's 32 values */
    float dx[8];             /* the block's scale */
};
_Static_assert(sizeof(struct xoct) == 320, "simd_q8_expansion_bytes assumes 320 per 8 blocks");

/* Where block j (0..7) of an oct has its c8 and dx. */
static inline int oct_slot(int j)
{
    return (j & 1) * 4 + j / 2;
}

/* Where the expansion's "holds -128" flag is. */
static inline int32_t *expanded_holds_min(const void *xq, int n)
{
    const int nb = n / QK8_0;
    return (int32_t *)((uint8_t *)xq + simd_q8_expansion_at(n) + (size_t)(nb + 7) / 8 * sizeof(struct xoct));
}

/* ---- the oct tile ------------------------------------------------------------ */

/* 16 quant bytes (at offset OFF in each BS-byte block) of blocks b and b + 1
 * at p as [b | b + 1], zeros for blocks >= m (not read). */
AI __m256i block_pair(const uint8_t *p, int bs, int off, int b, int m)
{
    const __m128i z = _mm_setzero_si128();
    const __m128i q0 = b < m ? ld128(p + bs * b + off) : z;
    const __m128i q1 = b + 1 < m ? ld128(p + bs * (b + 1) + off) : z;
    return _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
}

/* The fp16 scales (first 2 bytes) of the BS-byte blocks 0..7 at p, in the
 * xoct order, 0 for blocks >= m (not read). */
AI __m256 block_scales8(const uint8_t *p, int bs, int m)
{
    if (bs == 18 && m == 8) {
        /* 32 bytes from p, p + 32, p + 64 and p + 96 each hold one scale in
         * each 128-bit lane (A and B, C and D, ...) at different dwords:
         * blend those dwords, gather the halves in each lane, join lanes */
        const __m256i ab = ld256(p), cd = ld256(p + 32), ef = ld256(p + 64), gh = ld256(p + 96);
        const __m256i all = _mm256_blend_epi32(_mm256_blend_epi32(ab, cd, 0x22), _mm256_blend_epi32(ef, gh, 0x88), 0xcc);
        const __m256i halves = _mm256_shuffle_epi8(
            all, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                  2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1));
        return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(halves, 0x08)));
    }
    if (m == 8) {
        const __m128i ac = _mm_unpacklo_epi16(ld32(p), ld32(p + 2 * bs));
        const __m128i eg = _mm_unpacklo_epi16(ld32(p + 4 * bs), ld32(p + 6 * bs));
        const __m128i bd = _mm_unpacklo_epi16(ld32(p + bs), ld32(p + 3 * bs));
        const __m128i fh = _mm_unpacklo_epi16(ld32(p + 5 * bs), ld32(p + 7 * bs));
        return _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_unpacklo_epi32(ac, eg), _mm_unpacklo_epi32(bd, fh)));
    }
    float d[8] = {0};
    for (int b = 0; b < m; b++)
        d[oct_slot(b)] = h2f(ld16(p + bs * b));
    return _mm256_loadu_ps(d);
}

/* The weight registers of 4 blocks: values 0..15 (lo) and 16..31 (hi) of
 * blocks [A | B] and [C | D], as the lane sums take them. */
struct wgroup {
    __m256i lab, hab, lcd, hcd;
};

/* Activation rows per prompt tile of the oct kernels: 8 measured ~10%
 * (Q4_0) and ~12% (Q8_0) faster than 4 on Zen 3, one core: the weights'
 * unpacking and scales are shared by twice the rows. */
#define OCT_ROWS 8
#define UNROLL_OCT _Pragma("GCC unroll 8")

/* Row t's activations of oct k, the two registers that meet the weights'
 * block pair at byte OFF (0, 32, 64, 96) of its lo and hi. */
#define OCT_X(t, k, OFF) ld256(g[t][k].lo + (OFF)), ld256(g[t][k].hi + (OFF))

/* An oct's 8 block sums (in xoct order) with the offset correction (c8,
 * shifted left by cshift; none if cshift is negative), scaled by weight *
 * activation scale, added to acc. */
AI __m256 oct_accumulate(__m256i sums, const struct xoct *x, __m256 dw, const int cshift,
                         __m256 acc)
{
    const __m256i c8 = ld256(x->c8);
    const __m256i c8s = cshift > 0 ? _mm256_slli_epi32(c8, cshift & 31) : c8;
    const __m256i blocks = cshift < 0 ? sums : _mm256_add_epi32(sums, c8s);
    const __m256 scales = _mm256_mul_ps(dw, _mm256_loadu_ps(x->dx));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(blocks), scales, acc);
}

/* The 8 block sums of an oct from its 4 lane registers [A | B], [C | D],
 * [E | F], [G | H]: SUMS_round(ab, cd) and (ef, gh), SUMS_round of those
 * two, then SUMS_widen, which leaves int32 sums in xoct order. lanes32:
 * int32 lanes, rounds of vphaddd, nothing to widen. lanes16: int16 lanes of
 * 4 products each, small enough that two rounds of vphaddw (16 products)
 * cannot overflow (Q4_0: 16 * 15 * 128 < 2^15), then one vpmaddwd: 3
 * vpmaddwd an oct fewer than widening each register (Q4_0 rows from L2
 * ~17 -> ~18-21 GB/s, one Zen 3 core). */
AI __m256i lanes32_round(__m256i a, __m256i b)
{
    return _mm256_hadd_epi32(a, b);
}
AI __m256i lanes32_widen(__m256i sums)
{
    return sums;
}
AI __m256i lanes16_round(__m256i a, __m256i b)
{
    return _mm256_hadd_epi16(a, b);
}
AI __m256i lanes16_widen(__m256i sums)
{
    return _mm256_madd_epi16(sums, _mm256_set1_epi16(1));
}

/* A tile (simd_tile.h's contract) over octs of 8 BS-byte blocks against
 * up to OCT_ROWS expanded activation rows. Per oct, GROUP(wk, m) unpacks 4
 * blocks of the weights, twice, once per tile; per row, LANES(w_lo, w_hi,
 * x_lo, x_hi) gives lanes whose low half sums exactly to the first block's
 * products and high half to the second's (int32 or int16, as SUMS takes
 * them), SUMS' rounds the 8 blocks' sums, and oct_accumulate scales them into the
 * row's accumulator. Whole block sums before the float arithmetic: one
 * conversion and one FMA per 8 blocks instead of per 2, which measured ~20%
 * faster on Zen 3 (Q4_0 from L2, one core), where these kernels run out of
 * multiply ports before memory runs dry. Full octs run with m = 8 as a
 * constant, the last 1..7 blocks after.
 *
 * HALVES (1 or 2): with 2, the rows meet the first 4 blocks' registers,
 * then the second's, carrying each row's first round of SUMS between
 * them: only one group is live at a time, for lanes that derive more
 * registers from the weights (AVX2 Q8_0's |w|: with both groups live the
 * compiler spilled, and prompts ran ~12% slower on Zen 3). With 1, both
 * groups are live across the rows (Q4_0: ~5% faster so). */
#define OCT_STEP(BS, GROUP, LANES, SUMS, CSHIFT, HALVES, k, m)                                   \
    do {                                                                                         \
        const uint8_t *wk = w + (size_t)(k) * 8 * (BS);                                          \
        PREFETCH_AHEAD(wk, 8 * (BS));                                                            \
        const __m256 dw = block_scales8(wk, (BS), (m));                                          \
        if ((HALVES) == 2) {                                                                     \
            __m256i first[OCT_ROWS];                                                             \
            {                                                                                    \
                const struct wgroup q0 = GROUP(wk, (m) < 4 ? (m) : 4);                           \
                UNROLL_OCT for (int t = 0; t < T; t++)                                           \
                    first[t] = SUMS##_round(LANES(q0.lab, q0.hab, OCT_X(t, k, 0)),               \
                                            LANES(q0.lcd, q0.hcd, OCT_X(t, k, 32)));             \
            }                                                                                    \
            const struct wgroup q1 = GROUP(wk + 4 * (BS), (m) - 4);                              \
            UNROLL_OCT for (int t = 0; t < T; t++)                                               \
            {                                                                                    \
                const __m256i second = SUMS##_round(LANES(q1.lab, q1.hab, OCT_X(t, k, 64)),      \
                                                    LANES(q1.lcd, q1.hcd, OCT_X(t, k, 96)));     \
                const __m256i sums = SUMS##_widen(SUMS##_round(first[t], second));               \
                a[t] = oct_accumulate(sums, &g[t][k], dw, (CSHIFT), a[t]);                       \
            }                                                                                    \
        } else {                                                                                 \
            const struct wgroup q0 = GROUP(wk, (m) < 4 ? (m) : 4);                               \
            const struct wgroup q1 = GROUP(wk + 4 * (BS), (m) - 4);                              \
            UNROLL_OCT for (int t = 0; t < T; t++)                                               \
            {                                                                                    \
                const __m256i ab = LANES(q0.lab, q0.hab, OCT_X(t, k, 0));                        \
                const __m256i cd = LANES(q0.lcd, q0.hcd, OCT_X(t, k, 32));                       \
                const __m256i ef = LANES(q1.lab, q1.hab, OCT_X(t, k, 64));                       \
                const __m256i gh = LANES(q1.lcd, q1.hcd, OCT_X(t, k, 96));                       \
                const __m256i abcd = SUMS##_round(ab, cd), efgh = SUMS##_round(ef, gh);          \
                const __m256i sums = SUMS##_widen(SUMS##_round(abcd, efgh));                     \
                a[t] = oct_accumulate(sums, &g[t][k], dw, (CSHIFT), a[t]);                       \
            }                                                                                    \
        }                                                                                        \
    } while (0)

/* Octs [i0, i1) of a row as a range (simd_tile.h's BLOCK_FROM_RANGE: acc
 * holds each row's accumulator; i1 is the oct count at the row's end, where
 * a short last oct comes too), and the whole row as the tile. */
#define OCT_RANGE(NAME, BS, GROUP, LANES, SUMS, CSHIFT, HALVES)                                  \
    AI void NAME(const void *wv, const void *xq, size_t stride, int n, int i0, int i1,           \
                 __m256 *acc, float *out, size_t ostride, const int T)                           \
    {                                                                                            \
        const uint8_t *w = wv;                                                                   \
        const int nb = n / 32, full = nb / 8, no = (nb + 7) / 8;                                 \
        const struct xoct *g[OCT_ROWS];                                                          \
        __m256 a[OCT_ROWS];                                                                      \
        UNROLL_OCT for (int t = 0; t < T; t++)                                                   \
        {                                                                                        \
            g[t] = (const struct xoct *)((const uint8_t *)xq + (size_t)t * stride +              \
                                         simd_q8_expansion_at(n));                               \
            a[t] = i0 ? acc[t] : _mm256_setzero_ps();                                            \
        }                                                                                        \
        for (int k = i0; k < (i1 < full ? i1 : full); k++)                                       \
            OCT_STEP(BS, GROUP, LANES, SUMS, CSHIFT, HALVES, k, 8);                              \
        if (i1 < no) {                                                                           \
            UNROLL_OCT for (int t = 0; t < T; t++)                                               \
                acc[t] = a[t];                                                                   \
            return;                                                                              \
        }                                                                                        \
        if (nb % 8)                                                                              \
            OCT_STEP(BS, GROUP, LANES, SUMS, CSHIFT, HALVES, full, nb % 8);                      \
        UNROLL_OCT for (int t = 0; t < T; t++)                                                   \
            out[(size_t)t * ostride] = hsum_ps(a[t]);                                            \
    }

/* One activation row against R weight rows wr[0..R) (simd.h's dot_multi),
 * oct by oct in turn: row r takes OCT_STEP as a T = 1 tile (w, g, a and T
 * are the names OCT_STEP reads), so each row's sum is dot's, bit for bit. */
#define OCT_MULTI_STEP(BS, GROUP, LANES, SUMS, CSHIFT, k, m)                                     \
    UNROLL_T for (int r = 0; r < R; r++)                                                         \
    {                                                                                            \
        const uint8_t *w = wr[r];                                                                \
        __m256 a[1] = {acc[r]};                                                                  \
        const int T = 1;                                                                         \
        OCT_STEP(BS, GROUP, LANES, SUMS, CSHIFT, 1, k, m);                                       \
        acc[r] = a[0];                                                                           \
    }

#define OCT_MULTI(NAME, BS, GROUP, LANES, SUMS, CSHIFT)                                          \
    AI void NAME(const void *const *wrows, const void *xq, int n, float *out, const int R)      \
    {                                                                                            \
        const uint8_t *const *wr = (const uint8_t *const *)wrows;                                \
        const int nb = n / 32, full = nb / 8;                                                    \
        const struct xoct *g[1] = {                                                              \
            (const struct xoct *)((const uint8_t *)xq + simd_q8_expansion_at(n))};               \
        __m256 acc[DOT_MULTI_MAX];                                                               \
        UNROLL_T for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();                      \
        for (int k = 0; k < full; k++)                                                           \
            OCT_MULTI_STEP(BS, GROUP, LANES, SUMS, CSHIFT, k, 8);                                \
        if (nb % 8)                                                                              \
            OCT_MULTI_STEP(BS, GROUP, LANES, SUMS, CSHIFT, full, nb % 8);                        \
        UNROLL_T for (int r = 0; r < R; r++) out[r] = hsum_ps(acc[r]);                          \
    }

/* Prompts: CHUNK_OCTS octs (64 blocks) of OCT_ROWS activation rows in L1 at a
 * time (simd_tile.h's BLOCK_FROM_RANGE). (With 4-block groups, 8, 16 and
 * 32 groups measured the same for AVX2 Q4_0; avx2vnni Q8_0 went from ~138
 * to ~148 tok/s with 16.) */
#define CHUNK_OCTS 8

/* A table's dot, tile and dot_block of one oct kernel. */
#define OCT_KERNELS(DOT, BLOCK, BS, GROUP, LANES, SUMS, CSHIFT)                                  \
    OCT_RANGE(DOT##_range, BS, GROUP, LANES, SUMS, CSHIFT, 1)                                    \
    TILE_FROM_RANGE(DOT##_tile, DOT##_range, (n / 32 + 7) / 8)                                   \
    DOT_FROM_TILE(DOT, DOT##_tile)                                                               \
    BLOCK_FROM_RANGE(BLOCK, DOT##_range, __m256, 1, (n / 32 + 7) / 8, CHUNK_OCTS, OCT_ROWS)

/* Q4_0 (18-byte blocks): nibbles 0..15 unsigned, the -8 in the blocks' c8. */
AI struct wgroup q4_0_group(const uint8_t *p, int m)
{
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i ab = block_pair(p, 18, 2, 0, m), cd = block_pair(p, 18, 2, 2, m);
    const struct wgroup q = {_mm256_and_si256(ab, low4), _mm256_and_si256(_mm256_srli_epi16(ab, 4), low4),
                             _mm256_and_si256(cd, low4), _mm256_and_si256(_mm256_srli_epi16(cd, 4), low4)};
    return q;
}

/* Q8_0 (34-byte blocks): values 0..15 and 16..31 of each block, signed. */
AI struct wgroup q8_0_group(const uint8_t *p, int m)
{
    const struct wgroup q = {block_pair(p, 34, 2, 0, m), block_pair(p, 34, 18, 0, m),
                             block_pair(p, 34, 2, 2, m), block_pair(p, 34, 18, 2, m)};
    return q;
}

#endif
