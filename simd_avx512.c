/* simd_avx512.c - AVX-512F/DQ/BW/VL kernels, and the VNNI variants (those
 * of Q4_0 and Q8_0, in 4-block steps, are in simd_avx512_g4.c).
 *
 * Layout of the quantized dot products: two 32-value blocks per 512-bit
 * register (block A in the low 256 bits, block B in the high 256 bits), so
 * after the integer multiply-adds each register holds 8 int32 partial sums of
 * A and 8 of B; they are converted once and scaled by [dA x8 | dB x8]
 * (scale2). Integer sums are exact for every input (no int16 saturation:
 * Q8_0 x Q8_0 sign-extends to 16 bits).
 *
 * The Makefile passes -mavx512vnni for the whole file, yet the "avx512" table
 * must not execute VNNI: every vpmaddwd result of the non-VNNI kernels goes
 * through madd16's empty asm, so no compiler can fuse it with the following
 * add into vpdpwssd/vpdpbusd. (GCC's target pragma cannot be used instead:
 * it breaks the EFI build's -mno-avx + -mavx2 flag combination.) */
#include <immintrin.h>

#include "simd.h"
#include "simd_avx512.h"
#include "simd_tile.h"

#define NOVNNI_ATTR

/* ---- helpers ---------------------------------------------------------------- */

SI uint32_t ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Mask of the first n (0..16) lanes. */
SI __mmask16 lanes(int n)
{
    return (__mmask16)((1u << n) - 1u);
}

/* vpmaddwd, opaque to the optimizer (see the top of the file). */
SI __m512i madd16(__m512i a, __m512i b)
{
    __m512i r = _mm512_madd_epi16(a, b);
    __asm__("" : "+v"(r));
    return r;
}

/* 32 bytes at a and 32 bytes at b in one register. */
SI __m512i load2x256(const void *a, const void *b)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

/* [lo x8 | hi x8] of a 4-float vector's lanes lo and hi. */
SI __m512 spread2(__m128 p, int lo, int hi)
{
    const __m512i idx = _mm512_set_epi32(hi, hi, hi, hi, hi, hi, hi, hi, lo, lo, lo, lo, lo, lo, lo, lo);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(p));
}

/* [xa*ya x8 | xb*yb x8] of four fp16 scales. */
SI __m512 scale2(uint16_t xa, uint16_t xb, uint16_t ya, uint16_t yb)
{
    const uint64_t h = (uint64_t)xa | (uint64_t)xb << 16 | (uint64_t)ya << 32 | (uint64_t)yb << 48;
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h));
    return spread2(_mm_mul_ps(f, _mm_movehl_ps(f, f)), 0, 1);
}

SI uint16_t f2h(float f)
{
    return (uint16_t)_mm_extract_epi16(
        _mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), 0);
}

/* 64 nibbles of two Q4 blocks (16 bytes each at a and b) as bytes 0..15 in
 * value order: [a low | a high | b low | b high]. */
SI __m512i nibbles2(const uint8_t *a, const uint8_t *b)
{
    __m512i z = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)a));
    z = _mm512_mask_broadcast_i32x4(z, 0xff00, _mm_loadu_si128((const __m128i *)b));
    const __m512i cnt = _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi64(z, cnt), _mm512_set1_epi8(0x0f));
}

/* u8 x s8 products summed in groups of four into int32 (without VNNI). */
SI __m512i dot_u8s8(__m512i u, __m512i s)
{
    return madd16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
}

/* ---- float exp ---------------------------------------------------------------- */

/* e^x, within ~2 ULP: x = n ln2 + r, |r| <= ln2/2, Cephes' polynomial, and
 * scalef for 2^n (over/underflow to inf/0, subnormals rounded once). NaN
 * stays NaN. */
SI __m512 exp512(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x); /* NaN x passes through */
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e430p-1f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-0x1.05c610p-29f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* ---- activation converters (bit-identical to quant.c) ------------------------ */

/* One block of 32: q = round-half-even(x * (127/amax)) saturated like
 * vcvtps2dq + packs (out-of-range and NaN -> -128); returns d = amax/127 and
 * the int32 values in *q0, *q1 (16 each). */
SI float q8_32(const float *x, int8_t *qs, __m512i *q0, __m512i *q1)
{
    const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
    /* max(v, acc) returns acc when v is NaN: NaNs are skipped like generic */
    __m512 m = _mm512_max_ps(_mm512_abs_ps(a), _mm512_setzero_ps());
    m = _mm512_max_ps(_mm512_abs_ps(b), m);
    __m256 m8 = _mm256_max_ps(_mm512_extractf32x8_ps(m, 1), _mm512_castps512_ps256(m));
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m8, 1), _mm256_castps256_ps128(m8));
    m4 = _mm_max_ps(_mm_movehl_ps(m4, m4), m4);
    m4 = _mm_max_ss(_mm_movehdup_ps(m4), m4);
    const float amax = _mm_cvtss_f32(m4);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
    __m512i i0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(a, vid),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512i i1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(b, vid),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    i0 = _mm512_min_epi32(_mm512_max_epi32(i0, lo), hi);
    i1 = _mm512_min_epi32(_mm512_max_epi32(i1, lo), hi);
    _mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(i0));
    _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtepi32_epi8(i1));
    *q0 = i0;
    *q1 = i1;
    return amax / 127.0f;
}

static NOVNNI_ATTR void act_q8_0(const float *x, void *xq, int n)
{
    block_q8_0 *y = xq;
    for (int i = 0; i < n / QK8_0; i++, x += QK8_0) {
        __m512i q0, q1;
        const uint16_t d = f2h(q8_32(x, y[i].qs, &q0, &q1));
        memcpy(&y[i].d, &d, 2);
    }
}

static NOVNNI_ATTR void act_q8_1(const float *x, void *xq, int n)
{
    block_q8_1 *y = xq;
    for (int i = 0; i < n / QK8_1; i++, x += QK8_1) {
        __m512i q0, q1;
        const float d = q8_32(x, y[i].qs, &q0, &q1);
        const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        const uint16_t hd = f2h(d), hs = f2h(d * (float)sum);
        memcpy(&y[i].d, &hd, 2);
        memcpy(&y[i].s, &hs, 2);
    }
}

static NOVNNI_ATTR void act_q8_K(const float *x, void *xq, int n)
{
    block_q8_K *y = xq;
    for (int i = 0; i < n / QK_K; i++, x += QK_K) {
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < QK_K; j += 16)
            m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + j)), m);
        const float amax = _mm512_reduce_max_ps(m);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* the first value whose |x| is amax (generic keeps the first) */
        float max = 0.0f;
        const __m512 va = _mm512_set1_ps(amax);
        for (int j = 0; j < QK_K; j += 16) {
            __mmask16 k = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)), va, _CMP_EQ_OQ);
            if (k) {
                max = x[j + __builtin_ctz(k)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m512 vs = _mm512_set1_ps(iscale);
        const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
        const __m512 lim = _mm512_set1_ps(4194304.0f);
        int16_t bs[QK_K / 16];
        for (int j = 0; j < QK_K; j += 16) {
            const __m512 v = _mm512_mul_ps(vs, _mm512_loadu_ps(x + j));
            __m512i q = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
            /* |v| >= 2^22 or NaN: -128 as generic */
            const __mmask16 ok = _mm512_cmp_ps_mask(_mm512_abs_ps(v), lim, _CMP_LT_OQ);
            q = _mm512_mask_blend_epi32(ok, lo, q);
            _mm_storeu_si128((__m128i *)(y[i].qs + j), _mm512_cvtepi32_epi8(q));
            bs[j / 16] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        memcpy(y[i].bsums, bs, sizeof bs);
        const float d = 1.0f / iscale;
        memcpy(&y[i].d, &d, 4);
    }
}

static NOVNNI_ATTR void act_f16(const float *x, void *xq, int n)
{
    uint16_t *s = xq;
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(s + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (i < n) {
        const __mmask16 k = lanes(n - i);
        _mm256_mask_storeu_epi16(s + i, k,
                                 _mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, x + i),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
}

SI __m256i bf16_16(__m512i u)
{
    const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(abs, _mm512_set1_epi32(0x7f800000));
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
    r = _mm512_srli_epi32(r, 16);
    r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(64));
    return _mm512_cvtepi32_epi16(r);
}

static NOVNNI_ATTR void act_bf16(const float *x, void *xq, int n)
{
    uint16_t *s = xq;
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(s + i), bf16_16(_mm512_loadu_si512(x + i)));
    if (i < n) {
        const __mmask16 k = lanes(n - i);
        _mm256_mask_storeu_epi16(s + i, k, bf16_16(_mm512_maskz_loadu_epi32(k, x + i)));
    }
}

/* ---- float dot products --------------------------------------------------------- */

/* The dot kernels come in "tile" form: one weight row against T (1..8, a
 * compile-time constant at every call site) activation rows `stride` bytes
 * apart. Each row has its own accumulators and goes through exactly the
 * single-row arithmetic, so the T results are bit for bit what T = 1 (the
 * table's dot) returns; the weights are loaded and unpacked once per tile. */
SI __m512 f32p(const void *p)
{
    return _mm512_loadu_ps(p);
}

SI __m512 f32m(__mmask16 k, const void *p)
{
    return _mm512_maskz_loadu_ps(k, p);
}

SI __m512 h16(const void *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

SI __m512 h16m(__mmask16 k, const void *p)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, p));
}

SI __m512 b16(__m256i v)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
}

SI __m512 b16p(const void *p)
{
    return b16(_mm256_loadu_si256((const __m256i *)p));
}

SI __m512 b16m(__mmask16 k, const void *p)
{
    return b16(_mm256_maskz_loadu_epi16(k, p));
}

/* Values [i0, i1) of rows of ES-byte elements loaded 16 at a time as
 * floats by LD (LDM: the first k lanes), against T activation rows. Four
 * accumulators in steps of 64 values, at the row's end 16 at a time into
 * the first and the masked tail into the second. acc and i0, i1 as
 * simd_tile.h's BLOCK_FROM_RANGE says (4 per row; i0 a multiple of 64, and
 * so is i1 unless it is n); the tile is the range 0..n. */
#define DOT_FLOAT_RANGE(NAME, ES, LD, LDM)                                                   \
    AI void NAME(const void *wrow, const void *xq, size_t stride, int n, int i0, int i1,     \
                 __m512 *acc, float *out, size_t ostride, const int T)                       \
    {                                                                                        \
        const uint8_t *w = wrow;                                                             \
        const uint8_t *x[8];                                                                 \
        __m512 s0[8], s1[8], s2[8], s3[8];                                                   \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            x[t] = (const uint8_t *)xq + (size_t)t * stride;                                 \
        }                                                                                    \
        RANGE_RESUME4(acc, s0, s1, s2, s3, T, i0, _mm512_setzero_ps());                      \
        int i = i0;                                                                          \
        for (; i + 64 <= i1; i += 64) {                                                      \
            const __m512 w0 = LD(w + (i)*ES), w1 = LD(w + (i + 16) * ES);                    \
            const __m512 w2 = LD(w + (i + 32) * ES), w3 = LD(w + (i + 48) * ES);             \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
            {                                                                                \
                s0[t] = _mm512_fmadd_ps(w0, LD(x[t] + (i)*ES), s0[t]);                       \
                s1[t] = _mm512_fmadd_ps(w1, LD(x[t] + (i + 16) * ES), s1[t]);                \
                s2[t] = _mm512_fmadd_ps(w2, LD(x[t] + (i + 32) * ES), s2[t]);                \
                s3[t] = _mm512_fmadd_ps(w3, LD(x[t] + (i + 48) * ES), s3[t]);                \
            }                                                                                \
        }                                                                                    \
        if (i1 < n) {                                                                        \
            RANGE_KEEP4(acc, s0, s1, s2, s3, T);                                             \
            return;                                                                          \
        }                                                                                    \
        for (; i + 16 <= n; i += 16) {                                                       \
            const __m512 w0 = LD(w + i * ES);                                                \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
                s0[t] = _mm512_fmadd_ps(w0, LD(x[t] + i * ES), s0[t]);                       \
        }                                                                                    \
        if (i < n) {                                                                         \
            const __mmask16 k = lanes(n - i);                                                \
            const __m512 w0 = LDM(k, w + i * ES);                                            \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
                s1[t] = _mm512_fmadd_ps(w0, LDM(k, x[t] + i * ES), s1[t]);                   \
        }                                                                                    \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
            out[(size_t)t * ostride] =                                                       \
                hsum(_mm512_add_ps(_mm512_add_ps(s0[t], s1[t]), _mm512_add_ps(s2[t], s3[t]))); \
    }

DOT_FLOAT_RANGE(f32_range, 4, f32p, f32m)
DOT_FLOAT_RANGE(f16_range, 2, h16, h16m)
DOT_FLOAT_RANGE(bf16_range, 2, b16p, b16m)
TILE_FROM_RANGE(f32_tile, f32_range, n)
TILE_FROM_RANGE(f16_tile, f16_range, n)
TILE_FROM_RANGE(bf16_tile, bf16_range, n)

/* Prompts of float weights: tiles of 4 activation rows (16 accumulators),
 * CHUNK_F values of them in L1 at a time (simd_tile.h). 2 threads, prefill
 * tok/s before (one activation row at a time; F16 tiles of 2) -> chunks of
 * 512 / 1024 / 2048 / 4096: stories110M F32 670 -> 990 / 1230 / 1280 /
 * 1280; TinyLlama F32 78 -> 93 / 101 / 106 / 95; TinyLlama F16 88 -> 103 at
 * 2048. */
#define CHUNK_F 2048
_Static_assert(CHUNK_F % 64 == 0, "a chunk ends where a range step does");
BLOCK_FROM_RANGE(dot_block_f32, f32_range, __m512, 4, n, CHUNK_F, 4)
BLOCK_FROM_RANGE(dot_block_f16, f16_range, __m512, 4, n, CHUNK_F, 4)
BLOCK_FROM_RANGE(dot_block_bf16, bf16_range, __m512, 4, n, CHUNK_F, 4)

static NOVNNI_ATTR float dot_f32(const float *a, const float *b, int n)
{
    float r;
    f32_tile(a, b, 0, n, &r, 0, 1);
    return r;
}

DOT_FROM_TILE(dot_f32_row, f32_tile)
DOT_FROM_TILE(dot_f16, f16_tile)
DOT_FROM_TILE(dot_bf16, bf16_tile)

/* ---- 32-value block types ------------------------------------------------------------ */

/* The dot kernels below are written once as macros over the integer step
 * (VNNI or not) so both tables share the float handling. */

/* Q4_0 and Q8_0 in two steps: PREP unpacks the weights of two blocks once
 * per tile (struct wpair), INT gives one activation row's int32 sums
 * [A x8 | B x8], lane l of a block being the sum of its values 4l..4l+3. */
struct wpair {
    __m512i a, b;
};

/* Q4_0: sum (q - 8) * y = sum q*y - 8 * sum y, both u8 x s8. */
SI struct wpair q4_0_prep(const uint8_t *xa, const uint8_t *xb)
{
    const struct wpair r = {nibbles2(xa, xb), _mm512_setzero_si512()};
    return r;
}

SI __m512i q4_0_int(struct wpair w, const int8_t *ya, const int8_t *yb)
{
    const __m512i y = load2x256(ya, yb);
    const __m512i p = _mm512_sub_epi16(_mm512_maddubs_epi16(w.a, y),
                                       _mm512_maddubs_epi16(_mm512_set1_epi8(8), y));
    return madd16(p, _mm512_set1_epi16(1));
}

/* Q8_0 x Q8_0 exactly: sign-extend to int16 and vpmaddwd, then fold the
 * two blocks' 16 lanes each into [A x8 | B x8]. */
SI struct wpair q8_0_prep(const int8_t *xa, const int8_t *xb)
{
    const struct wpair r = {_mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)xa)),
                            _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)xb))};
    return r;
}

SI __m512i q8_0_int(struct wpair w, const int8_t *ya, const int8_t *yb)
{
    const __m512i a = madd16(w.a, _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)ya)));
    const __m512i b = madd16(w.b, _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)yb)));
    return _mm512_add_epi32(_mm512_shuffle_i64x2(a, b, 0x44), _mm512_shuffle_i64x2(a, b, 0xee));
}

static const int8_t zero32[32];

/* Lanes [j x8 | j+1 x8] of a 16-lane vector. */
#define PAIR_IDX(j) _mm512_set_epi32((j) + 1, (j) + 1, (j) + 1, (j) + 1, (j) + 1, (j) + 1, (j) + 1, \
                                     (j) + 1, (j), (j), (j), (j), (j), (j), (j), (j))

/* Q4_0 / Q8_0 (weights of block type BT) against Q8_0 activations: per
 * 16 blocks the scale products dx*dy in one vector (weight side once per
 * tile), pairs of blocks alternating between two accumulators; then, at
 * the row's end, steps of 4 blocks, then a last pair (the missing block B
 * of an odd count reuses block A's weights with zero activations and
 * scales). A range of blocks as simd_tile.h's BLOCK_FROM_RANGE says (acc:
 * s0, s1 of each row; i0 a multiple of 16, and so is i1 unless it is the
 * end). */

#define DOT32_RANGE(NAME, BT, PREP, INT)                                                     \
    AI void NAME(const void *wrow, const void *xq, size_t stride, int n, int i0, int i1,     \
                 __m512 *acc, float *out, size_t ostride, const int T)                       \
    {                                                                                        \
        const BT *x = wrow;                                                                  \
        const block_q8_0 *y[8];                                                              \
        __m512 s0[8], s1[8];                                                                 \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            y[t] = (const block_q8_0 *)((const uint8_t *)xq + (size_t)t * stride);           \
        }                                                                                    \
        RANGE_RESUME2(acc, s0, s1, T, i0, _mm512_setzero_ps());                              \
        const int nb = n / 32;                                                               \
        int i = i0;                                                                          \
        for (; i + 16 <= i1; i += 16) {                                                      \
            PREFETCH_AHEAD(&x[i + 16], 16 * sizeof *x);                                      \
            const __m512 fx = halves16(&x[i].d, sizeof *x, 16);                              \
            __m512 sc[8];                                                                    \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
                sc[t] = _mm512_mul_ps(fx, halves16(&y[t][i].d, sizeof(block_q8_0), 16));      \
            _Pragma("GCC unroll 4") for (int k = 0; k < 16; k += 4) {                      \
                const struct wpair p = PREP(x[i + k].qs, x[i + k + 1].qs);                   \
                const struct wpair q = PREP(x[i + k + 2].qs, x[i + k + 3].qs);               \
                UNROLL_T for (int t = 0; t < T; t++)                                         \
                {                                                                            \
                    const __m512i p0 = INT(p, y[t][i + k].qs, y[t][i + k + 1].qs);           \
                    s0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p0),                          \
                                            _mm512_permutexvar_ps(PAIR_IDX(k), sc[t]), s0[t]); \
                    const __m512i p1 = INT(q, y[t][i + k + 2].qs, y[t][i + k + 3].qs);       \
                    s1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p1),                          \
                                            _mm512_permutexvar_ps(PAIR_IDX(k + 2), sc[t]),   \
                                            s1[t]);                                          \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        if (i1 < nb) {                                                                       \
            RANGE_KEEP2(acc, s0, s1, T);                                                     \
            return;                                                                          \
        }                                                                                    \
        for (; i + 4 <= nb; i += 4) {                                                        \
            const struct wpair p = PREP(x[i].qs, x[i + 1].qs);                               \
            const struct wpair q = PREP(x[i + 2].qs, x[i + 3].qs);                           \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
            {                                                                                \
                const block_q8_0 *yt = y[t];                                                 \
                const __m512i p0 = INT(p, yt[i].qs, yt[i + 1].qs);                           \
                const __m512i p1 = INT(q, yt[i + 2].qs, yt[i + 3].qs);                       \
                s0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p0),                              \
                                        scale2(ld16(&x[i].d), ld16(&x[i + 1].d), ld16(&yt[i].d), \
                                               ld16(&yt[i + 1].d)),                          \
                                        s0[t]);                                              \
                s1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p1),                              \
                                        scale2(ld16(&x[i + 2].d), ld16(&x[i + 3].d),         \
                                               ld16(&yt[i + 2].d), ld16(&yt[i + 3].d)),      \
                                        s1[t]);                                              \
            }                                                                                \
        }                                                                                    \
        for (; i < nb; i += 2) {                                                             \
            const int two = i + 1 < nb;                                                      \
            const struct wpair p = PREP(x[i].qs, x[i + two].qs);                             \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
            {                                                                                \
                const block_q8_0 *yt = y[t];                                                 \
                const int8_t *yb = two ? yt[i + 1].qs : zero32;                              \
                const __m512i p0 = INT(p, yt[i].qs, yb);                                     \
                s0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p0),                              \
                                        scale2(ld16(&x[i].d), two ? ld16(&x[i + 1].d) : 0,   \
                                               ld16(&yt[i].d), two ? ld16(&yt[i + 1].d) : 0), \
                                        s0[t]);                                              \
            }                                                                                \
        }                                                                                    \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
            out[(size_t)t * ostride] = hsum(_mm512_add_ps(s0[t], s1[t]));                    \
    }

/* Q4_1 against Q8_1 activations: pairs of blocks, the weights unpacked once
 * per tile; per activation row the scale products [dx*dy, mx*sy] of both
 * blocks in one __m128 f, its dx*dy lanes spread over the int sums and its
 * mx*sy lanes summed apart (sm, the low 128 bits of a vector so that acc
 * can keep it). A range as DOT32_RANGE's (i0 and i1 even). */
#define DOT_Q4_1_RANGE(NAME, INT)                                                            \
    AI void NAME(const void *wrow, const void *xq, size_t stride, int n, int i0, int i1,     \
                 __m512 *acc, float *out, size_t ostride, const int T)                       \
    {                                                                                        \
        const block_q4_1 *x = wrow;                                                          \
        const block_q8_1 *y[8];                                                              \
        __m512 s0[8], sm[8];                                                                 \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            y[t] = (const block_q8_1 *)((const uint8_t *)xq + (size_t)t * stride);           \
        }                                                                                    \
        RANGE_RESUME2(acc, s0, sm, T, i0, _mm512_setzero_ps());                              \
        const int nb = n / QK4_1;                                                            \
        for (int i = i0; i < i1; i += 2) {                                                   \
            if (!(i & 15))                                                                   \
                PREFETCH_AHEAD(&x[i + 16], 16 * sizeof *x);                                  \
            const int two = i + 1 < nb;                                                      \
            const block_q4_1 *xb = two ? &x[i + 1] : &x[i];                                  \
            const __m512i w = nibbles2(x[i].qs, xb->qs);                                     \
            /* [dx, mx] of both blocks */                                                    \
            const uint64_t hx = (uint64_t)ld32(&x[i].d) |                                    \
                                (uint64_t)(two ? ld32(&xb->d) : 0) << 32;                    \
            const __m128 fx = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)hx));                \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
            {                                                                                \
                const block_q8_1 *yt = y[t];                                                 \
                const int8_t *yb = two ? yt[i + 1].qs : zero32;                              \
                const __m512i p = INT(w, load2x256(yt[i].qs, yb));                           \
                /* [dy, sy] of both blocks */                                                \
                const uint64_t hy = (uint64_t)ld32(&yt[i].d) |                               \
                                    (uint64_t)(two ? ld32(&yt[i + 1].d) : 0) << 32;          \
                const __m128 f = _mm_mul_ps(fx, _mm_cvtph_ps(_mm_cvtsi64_si128((long long)hy))); \
                sm[t] = _mm512_castps128_ps512(_mm_add_ps(_mm512_castps512_ps128(sm[t]), f));  \
                s0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), spread2(f, 0, 2), s0[t]);     \
            }                                                                                \
        }                                                                                    \
        if (i1 < nb) {                                                                       \
            RANGE_KEEP2(acc, s0, sm, T);                                                     \
            return;                                                                          \
        }                                                                                    \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            const __m128 v = _mm512_castps512_ps128(sm[t]), m = _mm_add_ps(v, _mm_movehl_ps(v, v)); \
            out[(size_t)t * ostride] = hsum(s0[t]) + _mm_cvtss_f32(_mm_movehdup_ps(m));      \
        }                                                                                    \
    }

DOT32_RANGE(q4_0_range, block_q4_0, q4_0_prep, q4_0_int)
DOT32_RANGE(q8_0_range, block_q8_0, q8_0_prep, q8_0_int)
TILE_FROM_RANGE(q4_0_tile, q4_0_range, n / 32)
TILE_FROM_RANGE(q8_0_tile, q8_0_range, n / 32)
DOT_FROM_TILE(dot_q4_0, q4_0_tile)
DOT_FROM_TILE(dot_q8_0, q8_0_tile)
/* Prompts: tiles of 4 activation rows, 64 blocks of them at a time in L1
 * (simd_tile.h). Without VNNI the unpacking, not L1, bounds these: same
 * speed as dot_rows' passes (TinyLlama Q4_0 ~135, Q8_0 ~110, Llama-2-7B
 * Q4_0 ~20.5 tok/s on 2 threads), one prompt path for every AVX-512 type. */
BLOCK_FROM_RANGE(dot_block_q4_0, q4_0_range, __m512, 2, n / 32, 64, 4)
BLOCK_FROM_RANGE(dot_block_q8_0, q8_0_range, __m512, 2, n / 32, 64, 4)
DOT_Q4_1_RANGE(q4_1_range, dot_u8s8)
TILE_FROM_RANGE(q4_1_tile, q4_1_range, n / QK4_1)
DOT_FROM_TILE(dot_q4_1, q4_1_tile)
BLOCK_FROM_RANGE(dot_block_q4_1, q4_1_range, __m512, 2, n / QK4_1, 64, 4)

/* ---- K-quants ------------------------------------------------------------------------ */

/* The 8 scales and 8 mins of a Q4_K block as bytes [sc0..sc7, m0..m7]
 * (ggml's kmask unpacking of qk4_scale_min). */
SI __m128i q4k_scales(const uint8_t *s)
{
    uint32_t u[4];
    memcpy(u, s, 12);
    const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
    const uint32_t a = u[1] & k1;
    u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
    u[2] = a;
    u[0] &= k1;
    return _mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]);
}

/* MADD(p16, s16, acc): acc + vpmaddwd(p16, s16) (fused with VNNI). */
SI __m512i madd_add(__m512i acc, __m512i p, __m512i s)
{
    return _mm512_add_epi32(acc, madd16(p, s));
}

/* Q4_K: per block the weight side (nibbles of the 4 64-value chunks, their
 * sub-block scales spread as int16, the mins) once per tile; per row the
 * mins term sum_j m[j/2] * bsums[j] and the scaled sums. */
#define DOT_Q4_K_RANGE(NAME, MADD)                                                           \
    AI void NAME(const void *wrow, const void *xq, size_t stride, int n, int i0, int i1,     \
                 __m512 *state, float *out, size_t ostride, const int T)                     \
    {                                                                                        \
        const block_q4_K *x = wrow;                                                          \
        const block_q8_K *y[8];                                                              \
        __m512 acc[8];                                                                       \
        __m256 accm[8];                                                                      \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            y[t] = (const block_q8_K *)((const uint8_t *)xq + (size_t)t * stride);           \
            acc[t] = i0 ? state[2 * t] : _mm512_setzero_ps();                                \
            accm[t] = i0 ? _mm512_castps512_ps256(state[2 * t + 1]) : _mm256_setzero_ps();   \
        }                                                                                    \
        const int nb = n / QK_K;                                                             \
        const __m512i m0f = _mm512_set1_epi8(0x0f);                                          \
        const __m512i cnt = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);                        \
        const __m128i dup = _mm_set_epi8(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);    \
        for (int i = i0; i < i1; i++) {                                                      \
            PREFETCH_AHEAD(&x[i + 1], sizeof *x);                                            \
            const __m128i sm = q4k_scales(x[i].scales);                                      \
            const __m256i m16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_srli_si128(sm, 8), dup)); \
            const float dmin = h2f(ld16(&x[i].dmin)), dx = h2f(ld16(&x[i].d));               \
            const __m512i sc16 = _mm512_cvtepu8_epi16(_mm256_zextsi128_si256(sm));           \
            __m512i q[4], s[4];                                                              \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {                          \
                const __m512i b = _mm512_broadcast_i64x4(                                    \
                    _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * c)));                \
                q[c] = _mm512_and_si512(_mm512_srlv_epi64(b, cnt), m0f);                     \
                const int o = 2 * c, e = 2 * c + 1; /* the chunk's two sub-block scales */   \
                s[c] = _mm512_permutexvar_epi16(SPREAD_WORDS(e, e, e, e, o, o, o, o), sc16); \
            }                                                                                \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
            {                                                                                \
                const block_q8_K *yt = &y[t][i];                                             \
                const __m256i bs = _mm256_loadu_si256((const __m256i *)yt->bsums);           \
                const __m256i mi = _mm256_madd_epi16(bs, m16);                               \
                const float yd = yt->d;                                                      \
                accm[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mi), _mm256_set1_ps(dmin * yd),  \
                                          accm[t]);                                          \
                __m512i isum = _mm512_setzero_si512();                                       \
                _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {                      \
                    const __m512i p = _mm512_maddubs_epi16(q[c], _mm512_loadu_si512(yt->qs + 64 * c)); \
                    isum = MADD(isum, p, s[c]);                                              \
                }                                                                            \
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dx * yd),   \
                                         acc[t]);                                            \
            }                                                                                \
        }                                                                                    \
        if (i1 < nb) {                                                                       \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
            {                                                                                \
                state[2 * t] = acc[t];                                                       \
                state[2 * t + 1] = _mm512_castps256_ps512(accm[t]);                          \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            const __m128 m4 = _mm_add_ps(_mm256_castps256_ps128(accm[t]),                    \
                                         _mm256_extractf128_ps(accm[t], 1));                 \
            __m128 m2 = _mm_add_ps(m4, _mm_movehl_ps(m4, m4));                               \
            m2 = _mm_add_ss(m2, _mm_movehdup_ps(m2));                                        \
            out[(size_t)t * ostride] = hsum(acc[t]) - _mm_cvtss_f32(m2);                     \
        }                                                                                    \
    }

/* Q6_K: 128 values per half h; register A holds groups 0,1 (ql low nibbles
 * of ql[0..63], qh bits 0-1 / 2-3), B groups 2,3 (ql high nibbles, qh bits
 * 4-5 / 6-7). The -32 offset is folded in through the bsums:
 * sum sc * (q - 32) * y = sum sc * q * y - 32 * sum_j sc[j] * bsums[j].
 * The 6-bit values and spread scales of both halves are unpacked once per
 * tile. */
#define DOT_Q6_K_RANGE(NAME, MADD)                                                           \
    AI void NAME(const void *wrow, const void *xq, size_t stride, int n, int i0, int i1,     \
                 __m512 *state, float *out, size_t ostride, const int T)                     \
    {                                                                                        \
        const block_q6_K *x = wrow;                                                          \
        const block_q8_K *y[8];                                                              \
        __m512 acc[8];                                                                       \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
        {                                                                                    \
            y[t] = (const block_q8_K *)((const uint8_t *)xq + (size_t)t * stride);           \
            acc[t] = i0 ? state[t] : _mm512_setzero_ps();                                    \
        }                                                                                    \
        const int nb = n / QK_K;                                                             \
        const __m512i m0f = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);            \
        const __m512i rotA = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4); \
        const __m512i rotB = _mm512_set_epi32(30, 30, 30, 30, 30, 30, 30, 30, 0, 0, 0, 0, 0, 0, 0, 0); \
        for (int i = i0; i < i1; i++) {                                                      \
            PREFETCH_AHEAD(&x[i + 1], sizeof *x);                                            \
            const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales)); \
            const __m512i sc16 = _mm512_castsi256_si512(sc);                                 \
            const float dx = h2f(ld16(&x[i].d));                                             \
            __m512i qa[2], qb[2], sa[2], sb[2];                                              \
            _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {                          \
                const __m512i L = _mm512_loadu_si512(x[i].ql + 64 * h);                      \
                const __m512i H = _mm512_broadcast_i64x4(                                    \
                    _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h)));                \
                qa[h] = _mm512_ternarylogic_epi32(                                           \
                    L, _mm512_and_si512(_mm512_rolv_epi32(H, rotA), m30), m0f, 0xec);        \
                qb[h] = _mm512_ternarylogic_epi32(                                           \
                    _mm512_srli_epi16(L, 4), _mm512_and_si512(_mm512_rolv_epi32(H, rotB), m30), \
                    m0f, 0xec);                                                              \
                const int f = 8 * h, g = f + 4; /* scales of groups 0,1 and 2,3 of half h */ \
                sa[h] = _mm512_permutexvar_epi16(                                            \
                    SPREAD_WORDS(f + 3, f + 3, f + 2, f + 2, f + 1, f + 1, f, f), sc16);     \
                sb[h] = _mm512_permutexvar_epi16(                                            \
                    SPREAD_WORDS(g + 3, g + 3, g + 2, g + 2, g + 1, g + 1, g, g), sc16);     \
            }                                                                                \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
            {                                                                                \
                const block_q8_K *yt = &y[t][i];                                             \
                const __m256i corr = _mm256_madd_epi16(                                      \
                    _mm256_loadu_si256((const __m256i *)yt->bsums), sc);                     \
                __m512i isum = _mm512_castsi256_si512(                                       \
                    _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 5)));   \
                isum = _mm512_inserti64x4(isum, _mm256_setzero_si256(), 1);                  \
                _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {                      \
                    const __m512i pa = _mm512_maddubs_epi16(qa[h], _mm512_loadu_si512(yt->qs + 128 * h)); \
                    const __m512i pb =                                                       \
                        _mm512_maddubs_epi16(qb[h], _mm512_loadu_si512(yt->qs + 128 * h + 64)); \
                    isum = MADD(isum, pa, sa[h]);                                            \
                    isum = MADD(isum, pb, sb[h]);                                            \
                }                                                                            \
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dx * yt->d), \
                                         acc[t]);                                            \
            }                                                                                \
        }                                                                                    \
        if (i1 < nb) {                                                                       \
            UNROLL_T for (int t = 0; t < T; t++)                                             \
                state[t] = acc[t];                                                           \
            return;                                                                          \
        }                                                                                    \
        UNROLL_T for (int t = 0; t < T; t++)                                                 \
            out[(size_t)t * ostride] = hsum(acc[t]);                                         \
    }
DOT_Q4_K_RANGE(q4_K_range, madd_add)
DOT_Q6_K_RANGE(q6_K_range, madd_add)
TILE_FROM_RANGE(q4_K_tile, q4_K_range, n / QK_K)
TILE_FROM_RANGE(q6_K_tile, q6_K_range, n / QK_K)
DOT_FROM_TILE(dot_q4_K, q4_K_tile)
DOT_FROM_TILE(dot_q6_K, q6_K_tile)
/* K-quant prompts: CHUNK_K blocks (2048 values) of the tile's activation
 * rows in L1 at a time (simd_tile.h). VNNI, TinyLlama shape, 2 threads:
 * dot_rows Q4_K 234 / Q6_K 259 tok/s; chunks of 4 242 / 265, 8 249 / 281,
 * 16 247 / 266. */
#define CHUNK_K 8
BLOCK_FROM_RANGE(dot_block_q4_K, q4_K_range, __m512, 2, n / QK_K, CHUNK_K, 4)
BLOCK_FROM_RANGE(dot_block_q6_K, q6_K_range, __m512, 1, n / QK_K, CHUNK_K, 4)

/* ---- llama2.c kernels ---------------------------------------------------------------- */

SI __m512i i8x32(const int8_t *p)
{
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)p));
}

static NOVNNI_ATTR float dot_q8g(const int8_t *w, const float *ws, const int8_t *x,
                                 const float *xs, int n, int gs)
{
    if (gs % 32 != 0)
        return gen_dot_q8g(w, ws, x, xs, n, gs);
    __m512 acc = _mm512_setzero_ps();
    for (int k = 0, g = 0; k < n; k += gs, g++) {
        __m512i s = madd16(i8x32(w + k), i8x32(x + k));
        for (int t = 32; t < gs; t += 32)
            s = _mm512_add_epi32(s, madd16(i8x32(w + k + t), i8x32(x + k + t)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(ws[g] * xs[g]), acc);
    }
    return hsum(acc);
}

static NOVNNI_ATTR void axpy(float *y, float a, const float *x, int n)
{
    const __m512 va = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
        _mm512_storeu_ps(y + i + 16, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i + 16),
                                                     _mm512_loadu_ps(y + i + 16)));
    }
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xffff : lanes(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(k, x + i),
                                                        _mm512_maskz_loadu_ps(k, y + i)));
    }
}

/* Mask of the 16-float chunk at i of an n-float vector. */
SI __mmask16 chunk_mask(int i, int n)
{
    return n - i >= 16 ? (__mmask16)0xffff : lanes(n - i);
}

/* The four horizontal sums of a0..a3 as one vector, each added in hsum's
 * order (so a score does not depend on its position in a group of four). */
SI __m128 hsum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3)
{
    /* quarters 0+2 and 1+3: the two 256-bit halves added, two rows per vector */
    const __m512 s01 = _mm512_add_ps(_mm512_shuffle_f32x4(a0, a1, 0x44), _mm512_shuffle_f32x4(a0, a1, 0xee));
    const __m512 s23 = _mm512_add_ps(_mm512_shuffle_f32x4(a2, a3, 0x44), _mm512_shuffle_f32x4(a2, a3, 0xee));
    /* the two 128-bit halves of each: one row per quarter */
    __m512 t = _mm512_add_ps(_mm512_shuffle_f32x4(s01, s23, 0x88), _mm512_shuffle_f32x4(s01, s23, 0xdd));
    t = _mm512_add_ps(t, _mm512_permute_ps(t, 0xee)); /* lanes 0,1 += lanes 2,3 */
    t = _mm512_add_ps(t, _mm512_permute_ps(t, 0x55)); /* lane 0 += lane 1 */
    return _mm512_castps512_ps128(
        _mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), t));
}

/* Attention scores of one head, four keys per pass: each key's products
 * accumulate in their own register and are summed once at the end, with no
 * call per key. */
static NOVNNI_ATTR void attn_scores(const float *q, const float *k, size_t stride, int nk, int n,
                                    float *scores)
{
    int t = 0;
    for (; t + 4 <= nk; t += 4) {
        const float *k0 = k + (size_t)t * stride, *k1 = k0 + stride, *k2 = k1 + stride,
                    *k3 = k2 + stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < n; i += 16) {
            const __mmask16 m = chunk_mask(i, n);
            const __m512 qv = _mm512_maskz_loadu_ps(m, q + i);
            a0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k0 + i), a0);
            a1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k1 + i), a1);
            a2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k2 + i), a2);
            a3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k3 + i), a3);
        }
        _mm_storeu_ps(scores + t, hsum4(a0, a1, a2, a3));
    }
    for (; t < nk; t++) {
        const float *kt = k + (size_t)t * stride;
        __m512 a = _mm512_setzero_ps();
        for (int i = 0; i < n; i += 16) {
            const __mmask16 m = chunk_mask(i, n);
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), _mm512_maskz_loadu_ps(m, kt + i), a);
        }
        scores[t] = hsum(a);
    }
}

/* The weighted sum of the values, 64 outputs at a time held in registers
 * across all keys (one store per output instead of one per key). */
static NOVNNI_ATTR void attn_values(const float *att, const float *v, size_t stride, int nk, int n,
                                    float *out)
{
    for (int c = 0; c < n; c += 64) {
        const __mmask16 m0 = chunk_mask(c, n), m1 = c + 16 < n ? chunk_mask(c + 16, n) : 0,
                        m2 = c + 32 < n ? chunk_mask(c + 32, n) : 0,
                        m3 = c + 48 < n ? chunk_mask(c + 48, n) : 0;
        __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        const float *vt = v + c;
        for (int t = 0; t < nk; t++, vt += stride) {
            const __m512 a = _mm512_set1_ps(att[t]);
            o0 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m0, vt), o0);
            o1 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m1, vt + 16), o1);
            o2 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m2, vt + 32), o2);
            o3 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m3, vt + 48), o3);
        }
        _mm512_mask_storeu_ps(out + c, m0, o0);
        _mm512_mask_storeu_ps(out + c + 16, m1, o1);
        _mm512_mask_storeu_ps(out + c + 32, m2, o2);
        _mm512_mask_storeu_ps(out + c + 48, m3, o3);
    }
}

static NOVNNI_ATTR void rmsnorm(float *out, const float *x, const float *w, int n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        s0 = _mm512_fmadd_ps(a, a, s0);
        s1 = _mm512_fmadd_ps(b, b, s1);
    }
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xffff : lanes(n - i);
        const __m512 a = _mm512_maskz_loadu_ps(k, x + i);
        s0 = _mm512_fmadd_ps(a, a, s0);
    }
    float ss = hsum(_mm512_add_ps(s0, s1));
    ss /= (float)n;
    ss += 1e-5f;
    ss = 1.0f / _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(ss)));
    const __m512 vs = _mm512_set1_ps(ss);
    for (i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xffff : lanes(n - i);
        _mm512_mask_storeu_ps(out + i, k,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(k, w + i),
                                            _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(k, x + i))));
    }
}

static NOVNNI_ATTR void softmax(float *x, int n)
{
    __m512 m = _mm512_set1_ps(x[0]);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    if (i < n)
        m = _mm512_mask_max_ps(m, lanes(n - i), m, _mm512_maskz_loadu_ps(lanes(n - i), x + i));
    const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(m));
    __m512 s = _mm512_setzero_ps();
    for (i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xffff : lanes(n - i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm));
        s = _mm512_mask_add_ps(s, k, s, e);
        _mm512_mask_storeu_ps(x + i, k, e);
    }
    const __m512 vs = _mm512_set1_ps(hsum(s));
    for (i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xffff : lanes(n - i);
        _mm512_mask_storeu_ps(x + i, k, _mm512_div_ps(_mm512_maskz_loadu_ps(k, x + i), vs));
    }
}

static NOVNNI_ATTR void swiglu(float *hb, const float *up, int n)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xffff : lanes(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(k, hb + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), v));
        const __m512 sig = _mm512_div_ps(one, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(hb + i, k, _mm512_mul_ps(_mm512_mul_ps(v, sig),
                                                       _mm512_maskz_loadu_ps(k, up + i)));
    }
}

static NOVNNI_ATTR void swiglu_ggml(float *hb, const float *up, int n)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xffff : lanes(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(k, hb + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), v));
        const __m512 s = _mm512_div_ps(v, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(hb + i, k, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, up + i)));
    }
}

/* simd.h's stream: the two halves of the region side by side, 128 bytes of
 * each per step into four chains. Two sequential streams kept more reads in
 * flight on one core than one stream, with or without software read-ahead
 * (which made a single stream slower here). */
static NOVNNI_ATTR uint64_t stream(const void *p, size_t bytes)
{
    const size_t half = bytes / 128; /* 64-byte vectors per half: even, as 256 divides bytes */
    const __m512i *v = p, *w = v + half;
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    for (size_t i = 0; i < half; i += 2) {
        a = _mm512_xor_si512(a, _mm512_load_si512(v + i));
        b = _mm512_xor_si512(b, _mm512_load_si512(v + i + 1));
        c = _mm512_xor_si512(c, _mm512_load_si512(w + i));
        d = _mm512_xor_si512(d, _mm512_load_si512(w + i + 1));
    }
    const __m512i x = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
    const __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));
    const __m128i z = _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
    return (uint64_t)_mm_cvtsi128_si64(z) ^ (uint64_t)_mm_extract_epi64(z, 1);
}

const struct simd_kernels simd_avx512 = {
    .name = "avx512",
    .dot = {[QT_F32] = dot_f32_row, [QT_F16] = dot_f16, [QT_BF16] = dot_bf16,
            [QT_Q4_0] = dot_q4_0, [QT_Q4_1] = dot_q4_1, [QT_Q8_0] = dot_q8_0,
            [QT_Q4_K] = dot_q4_K, [QT_Q6_K] = dot_q6_K},
    .dot_block = {[QT_F32] = dot_block_f32, [QT_F16] = dot_block_f16, [QT_BF16] = dot_block_bf16,
                  [QT_Q4_0] = dot_block_q4_0, [QT_Q4_1] = dot_block_q4_1, [QT_Q8_0] = dot_block_q8_0,
                  [QT_Q4_K] = dot_block_q4_K, [QT_Q6_K] = dot_block_q6_K},
    .act = {[QT_F16] = act_f16, [QT_BF16] = act_bf16, [QT_Q8_0] = act_q8_0,
            [QT_Q8_1] = act_q8_1, [QT_Q8_K] = act_q8_K},
    .dot_f32 = dot_f32,
    .dot_q8g = dot_q8g,
    .axpy = axpy,
    .attn_scores = attn_scores,
    .attn_values = attn_values,
    .rmsnorm = rmsnorm,
    .softmax = softmax,
    .swiglu = swiglu,
    .swiglu_ggml = swiglu_ggml,
    .stream = stream,
};

/* ---- VNNI ------------------------------------------------------------------------------ */

static inline __m512i u8s8_vnni(__m512i u, __m512i s)
{
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s);
}

static inline __m512i madd_add_vnni(__m512i acc, __m512i p, __m512i s)
{
    return _mm512_dpwssd_epi32(acc, p, s);
}

DOT_Q4_K_RANGE(q4_K_range_vnni, madd_add_vnni)
DOT_Q6_K_RANGE(q6_K_range_vnni, madd_add_vnni)
TILE_FROM_RANGE(q4_K_tile_vnni, q4_K_range_vnni, n / QK_K)
TILE_FROM_RANGE(q6_K_tile_vnni, q6_K_range_vnni, n / QK_K)
DOT_FROM_TILE(dot_q4_K_vnni, q4_K_tile_vnni)
DOT_FROM_TILE(dot_q6_K_vnni, q6_K_tile_vnni)
BLOCK_FROM_RANGE(dot_block_q4_K_vnni, q4_K_range_vnni, __m512, 2, n / QK_K, CHUNK_K, 8)
BLOCK_FROM_RANGE(dot_block_q6_K_vnni, q6_K_range_vnni, __m512, 1, n / QK_K, CHUNK_K, 8)
DOT_Q4_1_RANGE(q4_1_range_vnni, u8s8_vnni)
TILE_FROM_RANGE(q4_1_tile_vnni, q4_1_range_vnni, n / QK4_1)
DOT_FROM_TILE(dot_q4_1_vnni, q4_1_tile_vnni)
BLOCK_FROM_RANGE(dot_block_q4_1_vnni, q4_1_range_vnni, __m512, 2, n / QK4_1, 64, 4)

/* The VNNI table's entries other than Q4_0 and Q8_0 (simd_avx512_g4.c). */
const struct simd_kernels simd_avx512vnni_base = {
    .name = "avx512vnni",
    .base = &simd_avx512, /* everything without integer dot products */
    .dot = {[QT_Q4_1] = dot_q4_1_vnni, [QT_Q4_K] = dot_q4_K_vnni, [QT_Q6_K] = dot_q6_K_vnni},
    .dot_block = {[QT_Q4_1] = dot_block_q4_1_vnni, [QT_Q4_K] = dot_block_q4_K_vnni,
                  [QT_Q6_K] = dot_block_q6_K_vnni},
};
