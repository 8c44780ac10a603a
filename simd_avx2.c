/* simd_avx2.c - AVX2+FMA+F16C kernels (built with only those extensions).
 *
 * Integer parts. Every block dot product sums exactly the same integers as
 * quant.c's generic code, for every byte pattern (not only the ones the
 * quantizers produce):
 *  - 4-bit weights are unsigned nibbles 0..15 times int8 activations
 *    (vpmaddubsw cannot saturate: 2*15*128 < 2^15, nor can the sum of two
 *    of its results). Q4_1 takes no offset; Q4_0's -8 is taken off as
 *    8 * (sum of the activations) per int32 lane, precomputed once per
 *    activation row in this table's expansion of it (avx2_expand_q8_0).
 *  - Q8_0 weights are int8 * int8 through vpmaddubsw as |w| * (x * sign w),
 *    exact for every weight byte; activation rows holding -128 (which the
 *    vpsignb trick would get wrong) are flagged by the expansion and take
 *    int16 products instead. llama2.c int8 groups: both sides sign-extended
 *    to int16 and multiplied with vpmaddwd.
 *  - Q6_K's 6-bit values are 0..63 (2*63*128 < 2^15); the -32 offset is
 *    32 * sum(scale * bsum) from the Q8_K activations' 16-value sums.
 *  - Q4_K: nibbles times int8, scaled by the 6-bit sub-block scales in
 *    vpmaddwd; the min term from the activations' bsums.
 * Only the float accumulation (lanes, FMA) differs from generic.
 *
 * Activation quantizers are bit-identical to quant.c's on every input,
 * NaN and infinities included: the round-half-even of vroundps, the
 * "not |v| < 2^22 gives -128" rule, the saturation of vpackss*, and the
 * F16C conversion f32_to_f16 is written to match.
 *
 * Float kernels use a vector expf (Cephes-style polynomial, about 1 ULP,
 * exact underflow to subnormals/zero and overflow to infinity). No libm, no
 * mutable static state. */
#include "simd_avx2.h"

/* ---- small helpers ---------------------------------------------------------- */

static inline float ldf(const uint8_t *p)
{
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* The sum of 32 signed bytes, exactly: vpmaddubsw by 1 adds pairs (at most
 * 256 in size, no saturation), vpmaddwd by 1 the int16 pairs. */
static inline int sum_i8x32(__m256i q)
{
    const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
    return hsum_epi32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

static inline float hmax_ps(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Lanes [0, rem) set, for maskload/maskstore of a tail (0 < rem < 8). */
static inline __m256i tail_mask(int rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Exact int8 * int8 over 32 bytes: 8 int32 lanes of 4-product sums. */
static inline __m256i dot32_i8(__m256i a, __m256i b)
{
    const __m256i a0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(a));
    const __m256i a1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(a, 1));
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(b));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(b, 1));
    return _mm256_add_epi32(_mm256_madd_epi16(a0, b0), _mm256_madd_epi16(a1, b1));
}

/* The 8 lane sums of v0..v7, as one vector [sum v0, ..., sum v7]. */
static inline __m256i reduce8_epi32(__m256i v0, __m256i v1, __m256i v2, __m256i v3, __m256i v4,
                                    __m256i v5, __m256i v6, __m256i v7)
{
    const __m256i q0 =
        _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
    const __m256i q1 =
        _mm256_hadd_epi32(_mm256_hadd_epi32(v4, v5), _mm256_hadd_epi32(v6, v7));
    return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20),
                            _mm256_permute2x128_si256(q0, q1, 0x31));
}

/* ---- vector expf ------------------------------------------------------------ */

/* e^x: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-7 polynomial (Cephes
 * expf coefficients), times 2^n applied as two factors so that results
 * that underflow into subnormals are rounded once. x <= -104 gives 0,
 * x >= 88.8 infinity, NaN stays NaN. */
static inline __m256 exp_ps(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x); /* NaN (second operand) stays */
    x = _mm256_min_ps(_mm256_set1_ps(88.8f), x);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n); /* -150..128 */
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* ---- float kernels ------------------------------------------------------------ */

/* 32 values at I of a float row W (LOAD gives 8 of them as floats) against
 * activation rows X[0..T) into four accumulators per row, s0..s3[t]. */
#define FLOAT_STEP32(LOAD, W, X, I, T)                                                          \
    do {                                                                                        \
        const __m256 w0_ = LOAD((W) + (I)), w1_ = LOAD((W) + (I) + 8);                          \
        const __m256 w2_ = LOAD((W) + (I) + 16), w3_ = LOAD((W) + (I) + 24);                    \
        UNROLL_T for (int t = 0; t < (T); t++)                                                  \
        {                                                                                       \
            s0[t] = _mm256_fmadd_ps(w0_, LOAD((X)[t] + (I)), s0[t]);                            \
            s1[t] = _mm256_fmadd_ps(w1_, LOAD((X)[t] + (I) + 8), s1[t]);                        \
            s2[t] = _mm256_fmadd_ps(w2_, LOAD((X)[t] + (I) + 16), s2[t]);                       \
            s3[t] = _mm256_fmadd_ps(w3_, LOAD((X)[t] + (I) + 24), s3[t]);                       \
        }                                                                                       \
    } while (0)

/* Values [i0, i1) of a float row against T activation rows (simd_tile.h's
 * range: acc holds s0..s3 of each row; i0 a multiple of 32, and so is i1
 * unless it is n). Four accumulators in steps of 32 values, at the row's
 * end 8 at a time into the first and the masked tail into the second. */
AI void f32_range(const void *wv, const void *xv, size_t stride, int n, int i0, int i1,
                  __m256 *acc, float *out, size_t ostride, const int T)
{
    const float *w = wv, *x[2];
    __m256 s0[2], s1[2], s2[2], s3[2];
    UNROLL_T for (int t = 0; t < T; t++)
    {
        x[t] = (const float *)((const uint8_t *)xv + (size_t)t * stride);
    }
    RANGE_RESUME4(acc, s0, s1, s2, s3, T, i0, _mm256_setzero_ps());
    int i = i0;
    for (; i + 32 <= i1; i += 32)
        FLOAT_STEP32(_mm256_loadu_ps, w, x, i, T);
    if (i1 < n) {
        RANGE_KEEP4(acc, s0, s1, s2, s3, T);
        return;
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 w0 = _mm256_loadu_ps(w + i);
        UNROLL_T for (int t = 0; t < T; t++)
            s0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[t] + i), s0[t]);
    }
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        const __m256 w0 = _mm256_maskload_ps(w + i, m);
        UNROLL_T for (int t = 0; t < T; t++)
            s1[t] = _mm256_fmadd_ps(w0, _mm256_maskload_ps(x[t] + i, m), s1[t]);
    }
    UNROLL_T for (int t = 0; t < T; t++)
        out[(size_t)t * ostride] =
            hsum_ps(_mm256_add_ps(_mm256_add_ps(s0[t], s1[t]), _mm256_add_ps(s2[t], s3[t])));
}

TILE_FROM_RANGE(f32_tile, f32_range, n)
/* Prompts of F32 weights: tiles of 2 activation rows (the 16 registers
 * hold 8 accumulators and the 4 weight vectors), 2048 values at a time. */
BLOCK_FROM_RANGE(avx2_block_f32, f32_range, __m256, 4, n, 2048, 2)

DOT_FROM_TILE(avx2_dot_f32_row, f32_tile)

static float avx2_dot_f32(const float *a, const float *b, int n)
{
    return avx2_dot_f32_row(a, b, n);
}

static void avx2_axpy(float *y, float a, const float *x, int n)
{
    const __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8,
                         _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        const __m256 r = _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m));
        _mm256_maskstore_ps(y + i, m, r);
    }
}

/* Lanes [i, i + 8) of a head of n floats: all of them, or the tail's. */
static inline __m256i chunk_mask(int i, int n)
{
    return n - i >= 8 ? _mm256_set1_epi32(-1) : tail_mask(n - i);
}

/* The 8 floats at p, or in a head's tail only the rem (< 8) left (the
 * other lanes 0): plain loads where the chunk is whole (masked loads cost
 * more on some CPUs and much more in QEMU's TCG). */
static inline __m256 load_chunk(const float *p, int rem)
{
    return rem >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(rem));
}

/* The horizontal sums of a0..a3, each added in hsum_ps's order (halves,
 * then lanes 0+2 and 1+3, then those two), so a score does not depend on
 * whether its key was in a group of four. */
static inline __m128 hsum4_ps(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    __m128 r0 = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    __m128 r1 = _mm_add_ps(_mm256_castps256_ps128(a1), _mm256_extractf128_ps(a1, 1));
    __m128 r2 = _mm_add_ps(_mm256_castps256_ps128(a2), _mm256_extractf128_ps(a2, 1));
    __m128 r3 = _mm_add_ps(_mm256_castps256_ps128(a3), _mm256_extractf128_ps(a3, 1));
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3); /* r_j: lane j of each key's sum */
    return _mm_add_ps(_mm_add_ps(r0, r2), _mm_add_ps(r1, r3));
}

/* Attention scores of one head, four keys per pass, each key's products in
 * its own register until one reduction per group. */
static void avx2_attn_scores(const float *q, const float *k, size_t stride, int nk, int n,
                             float *scores)
{
    int t = 0;
    for (; t + 4 <= nk; t += 4) {
        const float *k0 = k + (size_t)t * stride, *k1 = k0 + stride, *k2 = k1 + stride,
                    *k3 = k2 + stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < n; i += 8) {
            const __m256 qv = load_chunk(q + i, n - i);
            a0 = _mm256_fmadd_ps(qv, load_chunk(k0 + i, n - i), a0);
            a1 = _mm256_fmadd_ps(qv, load_chunk(k1 + i, n - i), a1);
            a2 = _mm256_fmadd_ps(qv, load_chunk(k2 + i, n - i), a2);
            a3 = _mm256_fmadd_ps(qv, load_chunk(k3 + i, n - i), a3);
        }
        _mm_storeu_ps(scores + t, hsum4_ps(a0, a1, a2, a3));
    }
    for (; t < nk; t++) {
        const float *kt = k + (size_t)t * stride;
        __m256 a = _mm256_setzero_ps();
        for (int i = 0; i < n; i += 8)
            a = _mm256_fmadd_ps(load_chunk(q + i, n - i), load_chunk(kt + i, n - i), a);
        scores[t] = hsum_ps(a);
    }
}

/* The weighted sum of the values, 32 outputs at a time held in registers
 * across all keys (one store per output instead of one per key); a head's
 * last 1..31 outputs take the masked path. */
static void avx2_attn_values(const float *att, const float *v, size_t stride, int nk, int n,
                             float *out)
{
    int c = 0;
    for (; c + 32 <= n; c += 32) {
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        const float *vt = v + c;
        for (int t = 0; t < nk; t++, vt += stride) {
            const __m256 a = _mm256_set1_ps(att[t]);
            o0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vt), o0);
            o1 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vt + 8), o1);
            o2 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vt + 16), o2);
            o3 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vt + 24), o3);
        }
        _mm256_storeu_ps(out + c, o0);
        _mm256_storeu_ps(out + c + 8, o1);
        _mm256_storeu_ps(out + c + 16, o2);
        _mm256_storeu_ps(out + c + 24, o3);
    }
    if (c < n) {
        const __m256i zero = _mm256_setzero_si256();
        const __m256i m0 = chunk_mask(c, n), m1 = c + 8 < n ? chunk_mask(c + 8, n) : zero,
                      m2 = c + 16 < n ? chunk_mask(c + 16, n) : zero,
                      m3 = c + 24 < n ? chunk_mask(c + 24, n) : zero;
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        const float *vt = v + c;
        for (int t = 0; t < nk; t++, vt += stride) {
            const __m256 a = _mm256_set1_ps(att[t]);
            o0 = _mm256_fmadd_ps(a, _mm256_maskload_ps(vt, m0), o0);
            o1 = _mm256_fmadd_ps(a, _mm256_maskload_ps(vt + 8, m1), o1);
            o2 = _mm256_fmadd_ps(a, _mm256_maskload_ps(vt + 16, m2), o2);
            o3 = _mm256_fmadd_ps(a, _mm256_maskload_ps(vt + 24, m3), o3);
        }
        _mm256_maskstore_ps(out + c, m0, o0);
        _mm256_maskstore_ps(out + c + 8, m1, o1);
        _mm256_maskstore_ps(out + c + 16, m2, o2);
        _mm256_maskstore_ps(out + c + 24, m3, o3);
    }
}

static void avx2_rmsnorm(float *out, const float *x, const float *w, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        s0 = _mm256_fmadd_ps(a, a, s0);
        s1 = _mm256_fmadd_ps(b, b, s1);
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(x + i);
        s0 = _mm256_fmadd_ps(a, a, s0);
    }
    if (i < n) {
        const __m256 a = _mm256_maskload_ps(x + i, tail_mask(n - i));
        s1 = _mm256_fmadd_ps(a, a, s1);
    }
    float ss = hsum_ps(_mm256_add_ps(s0, s1));
    ss /= (float)n;
    ss += 1e-5f;
    ss = 1.0f / _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(ss)));
    const __m256 vs = _mm256_set1_ps(ss);
    /* out may alias x: each chunk is read before it is written */
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(w + i),
                                                _mm256_mul_ps(vs, _mm256_loadu_ps(x + i))));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(_mm256_maskload_ps(w + i, m),
                                                      _mm256_mul_ps(vs, _mm256_maskload_ps(x + i, m))));
    }
}

static void avx2_softmax(float *x, int n)
{
    float mx = x[0];
    int i = 0;
    if (n >= 8) {
        __m256 m = _mm256_loadu_ps(x);
        for (i = 8; i + 8 <= n; i += 8)
            m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
        mx = hmax_ps(m);
    }
    for (; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    const __m256 vmax = _mm256_set1_ps(mx);
    __m256 sum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        /* masked-off lanes load 0 and are zeroed again before the sum */
        const __m256 e = _mm256_and_ps(exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vmax)),
                                       _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(x + i, m, e);
        sum = _mm256_add_ps(sum, e);
    }
    const __m256 vsum = _mm256_set1_ps(hsum_ps(sum));
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_div_ps(_mm256_loadu_ps(x + i), vsum));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_div_ps(_mm256_maskload_ps(x + i, m), vsum));
    }
}

/* hb = silu(hb) * up: ggml rounds x / (1 + e^-x), llama2.c x * (1 / (1 + e^-x)). */
static inline __m256 silu_mul(__m256 h, __m256 u, int ggml)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 den = _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), h)));
    const __m256 s = ggml ? _mm256_div_ps(h, den) : _mm256_mul_ps(h, _mm256_div_ps(one, den));
    return _mm256_mul_ps(s, u);
}

static inline void swiglu_any(float *hb, const float *up, int n, int ggml)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(hb + i, silu_mul(_mm256_loadu_ps(hb + i), _mm256_loadu_ps(up + i), ggml));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(hb + i, m,
                            silu_mul(_mm256_maskload_ps(hb + i, m), _mm256_maskload_ps(up + i, m), ggml));
    }
}

static void avx2_swiglu(float *hb, const float *up, int n)
{
    swiglu_any(hb, up, n, 0);
}

static void avx2_swiglu_ggml(float *hb, const float *up, int n)
{
    swiglu_any(hb, up, n, 1);
}

/* llama2.c int8 groups. */
static float avx2_dot_q8g(const int8_t *w, const float *ws, const int8_t *x, const float *xs, int n,
                          int gs)
{
    if (gs <= 0 || gs % 32 != 0 || n % gs != 0)
        return gen_dot_q8g(w, ws, x, xs, n, gs);
    const int ng = n / gs, nc = gs / 32;
    __m256 acc = _mm256_setzero_ps();
    int g = 0;
    for (; g + 8 <= ng; g += 8) {
        __m256i v[8];
        for (int k = 0; k < 8; k++) {
            const int8_t *wp = w + (size_t)(g + k) * gs, *xp = x + (size_t)(g + k) * gs;
            __m256i s = dot32_i8(ld256(wp), ld256(xp));
            for (int c = 1; c < nc; c++)
                s = _mm256_add_epi32(s, dot32_i8(ld256(wp + 32 * c), ld256(xp + 32 * c)));
            v[k] = s;
        }
        const __m256 fi = _mm256_cvtepi32_ps(reduce8_epi32(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(fi, _mm256_loadu_ps(ws + g)),
                                               _mm256_loadu_ps(xs + g)));
    }
    float val = hsum_ps(acc);
    for (; g < ng; g++) {
        const int8_t *wp = w + (size_t)g * gs, *xp = x + (size_t)g * gs;
        __m256i s = _mm256_setzero_si256();
        for (int c = 0; c < nc; c++)
            s = _mm256_add_epi32(s, dot32_i8(ld256(wp + 32 * c), ld256(xp + 32 * c)));
        val += (float)hsum_epi32(s) * ws[g] * xs[g];
    }
    return val;
}

/* ---- F16 / BF16 rows ---------------------------------------------------------- */

static inline __m256 ld_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(ld128(p));
}

/* F16 rows (the activations F16 too) in tiles: each 32 weights converted
 * once per tile, four accumulators per row, 8 at a time at the row's end
 * and the last values one by one. */
AI void f16_tile(const void *wv, const void *xv, size_t stride, int n, float *out, size_t ostride,
                 const int T)
{
    const uint16_t *w = wv, *x[4]; /* 4: ROWS_FROM_TILE also compiles (unreached) tiles of 3 */
    __m256 s0[4], s1[4], s2[4], s3[4];
    UNROLL_T for (int t = 0; t < T; t++)
    {
        x[t] = (const uint16_t *)((const uint8_t *)xv + (size_t)t * stride);
        s0[t] = s1[t] = s2[t] = s3[t] = _mm256_setzero_ps();
    }
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        PREFETCH_AHEAD(w + i, 64);
        FLOAT_STEP32(ld_f16, w, x, i, T);
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 w0 = ld_f16(w + i);
        UNROLL_T for (int t = 0; t < T; t++)
            s0[t] = _mm256_fmadd_ps(w0, ld_f16(x[t] + i), s0[t]);
    }
    UNROLL_T for (int t = 0; t < T; t++)
    {
        float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0[t], s1[t]), _mm256_add_ps(s2[t], s3[t])));
        for (int j = i; j < n; j++)
            sum += h2f(ld16((const uint8_t *)(w + j))) * h2f(ld16((const uint8_t *)(x[t] + j)));
        out[(size_t)t * ostride] = sum;
    }
}

/* 16 bf16 values as two float vectors: the even-indexed ones (shifted up)
 * and the odd-indexed ones (masked). Both operands of a dot product are
 * split the same way, so the pairs line up. */
static inline __m256 bf16_even(__m256i v)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static inline __m256 bf16_odd(__m256i v)
{
    return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u)));
}

/* BF16 rows in tiles: each 32 weights split once per tile, four
 * accumulators per row (even and odd values of two 16-value halves), 16 at
 * a time at the row's end and the last values one by one. */
AI void bf16_tile(const void *wv, const void *xv, size_t stride, int n, float *out,
                  size_t ostride, const int T)
{
    const uint16_t *w = wv, *x[4]; /* 4: ROWS_FROM_TILE also compiles (unreached) tiles of 3 */
    __m256 s0[4], s1[4], s2[4], s3[4];
    UNROLL_T for (int t = 0; t < T; t++)
    {
        x[t] = (const uint16_t *)((const uint8_t *)xv + (size_t)t * stride);
        s0[t] = s1[t] = s2[t] = s3[t] = _mm256_setzero_ps();
    }
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        PREFETCH_AHEAD(w + i, 64);
        const __m256i w0 = ld256(w + i), w1 = ld256(w + i + 16);
        const __m256 we0 = bf16_even(w0), wo0 = bf16_odd(w0), we1 = bf16_even(w1), wo1 = bf16_odd(w1);
        UNROLL_T for (int t = 0; t < T; t++)
        {
            const __m256i x0 = ld256(x[t] + i), x1 = ld256(x[t] + i + 16);
            s0[t] = _mm256_fmadd_ps(we0, bf16_even(x0), s0[t]);
            s1[t] = _mm256_fmadd_ps(wo0, bf16_odd(x0), s1[t]);
            s2[t] = _mm256_fmadd_ps(we1, bf16_even(x1), s2[t]);
            s3[t] = _mm256_fmadd_ps(wo1, bf16_odd(x1), s3[t]);
        }
    }
    for (; i + 16 <= n; i += 16) {
        const __m256i w0 = ld256(w + i);
        const __m256 we0 = bf16_even(w0), wo0 = bf16_odd(w0);
        UNROLL_T for (int t = 0; t < T; t++)
        {
            const __m256i x0 = ld256(x[t] + i);
            s0[t] = _mm256_fmadd_ps(we0, bf16_even(x0), s0[t]);
            s1[t] = _mm256_fmadd_ps(wo0, bf16_odd(x0), s1[t]);
        }
    }
    UNROLL_T for (int t = 0; t < T; t++)
    {
        float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0[t], s1[t]), _mm256_add_ps(s2[t], s3[t])));
        for (int j = i; j < n; j++) {
            const uint32_t a = (uint32_t)ld16((const uint8_t *)(w + j)) << 16;
            const uint32_t b = (uint32_t)ld16((const uint8_t *)(x[t] + j)) << 16;
            float fa, fb;
            memcpy(&fa, &a, 4);
            memcpy(&fb, &b, 4);
            sum += fa * fb;
        }
        out[(size_t)t * ostride] = sum;
    }
}

/* Prompts of F16 and BF16 weights: tiles of 2 rows, as F32's (8
 * accumulators and 4 weight vectors fill the 16 registers). */
DOT_FROM_TILE(avx2_dot_f16, f16_tile)
DOT_FROM_TILE(avx2_dot_bf16, bf16_tile)
ROWS_FROM_TILE(avx2_rows_f16, f16_tile, 2, (size_t)n * 2)
ROWS_FROM_TILE(avx2_rows_bf16, bf16_tile, 2, (size_t)n * 2)
/* ---- activation conversions (bit-identical to quant.c) ------------------------ */

static void avx2_act_f16(const float *x, void *xq, int n)
{
    uint8_t *o = xq;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(o + 2 * i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) {
        const uint16_t h = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
        memcpy(o + 2 * i, &h, 2);
    }
}

static inline __m256i bf16_round(__m256i u)
{
    const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
    const __m256i nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rnd = _mm256_srli_epi32(
        _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
    const __m256i qn = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    return _mm256_blendv_epi8(rnd, qn, nan);
}

static void avx2_act_bf16(const float *x, void *xq, int n)
{
    uint8_t *o = xq;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i a = bf16_round(_mm256_castps_si256(_mm256_loadu_ps(x + i)));
        const __m256i b = bf16_round(_mm256_castps_si256(_mm256_loadu_ps(x + i + 8)));
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(o + 2 * i), p);
    }
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        const uint16_t h = (u & 0x7fffffffu) > 0x7f800000u
                               ? (uint16_t)((u >> 16) | 64u)
                               : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        memcpy(o + 2 * i, &h, 2);
    }
}

/* quant.c's round_even_i8 of v: round half even, clamped to [-128, 127],
 * and -128 whenever !(|v| < 2^22) (NaN, infinities, huge values). */
static inline __m256i round_i32(__m256 v)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 ok = _mm256_cmp_ps(_mm256_and_ps(v, absmask), _mm256_set1_ps(4194304.0f), _CMP_LT_OQ);
    const __m256i r = _mm256_cvttps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    return _mm256_blendv_epi8(_mm256_set1_epi32(-128), r, _mm256_castps_si256(ok));
}

/* 32 int32 lanes (a, b, c, d in order) to 32 saturated int8 in order. */
static inline __m256i pack_i8(__m256i a, __m256i b, __m256i c, __m256i d)
{
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline uint16_t f2h(float f)
{
    return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

/* One block of 32 like act_q8_32: writes qs, returns d = amax/127. */
static inline float act_q8_32(const float *x, uint8_t *qs)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    const __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    /* max_ps returns its second operand when the first is NaN: NaNs are
     * skipped like quant.c's (a > amax) */
    __m256 m = _mm256_max_ps(_mm256_and_ps(v0, absmask), _mm256_setzero_ps());
    m = _mm256_max_ps(_mm256_and_ps(v1, absmask), m);
    m = _mm256_max_ps(_mm256_and_ps(v2, absmask), m);
    m = _mm256_max_ps(_mm256_and_ps(v3, absmask), m);
    const float amax = hmax_ps(m);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    const __m256i q = pack_i8(round_i32(_mm256_mul_ps(v0, vid)), round_i32(_mm256_mul_ps(v1, vid)),
                              round_i32(_mm256_mul_ps(v2, vid)), round_i32(_mm256_mul_ps(v3, vid)));
    _mm256_storeu_si256((__m256i *)qs, q);
    return amax / 127.0f;
}

static void avx2_act_q8_0(const float *x, void *xq, int n)
{
    uint8_t *y = xq; /* block_q8_0: d (fp16), qs[32] */
    for (int i = 0; i < n / 32; i++, x += 32, y += 34) {
        const uint16_t d = f2h(act_q8_32(x, y + 2));
        memcpy(y, &d, 2);
    }
}

static void avx2_act_q8_1(const float *x, void *xq, int n)
{
    uint8_t *y = xq; /* block_q8_1: d, s (fp16), qs[32] */
    for (int i = 0; i < n / 32; i++, x += 32, y += 36) {
        const float d = act_q8_32(x, y + 4);
        const int sum = sum_i8x32(ld256(y + 4));
        const uint16_t hd = f2h(d), hs = f2h(d * (float)sum);
        memcpy(y, &hd, 2);
        memcpy(y + 2, &hs, 2);
    }
}

static void avx2_act_q8_K(const float *x, void *xq, int n)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    uint8_t *y = xq; /* block_q8_K: float d, qs[256], int16 bsums[16] */
    for (int i = 0; i < n / 256; i++, x += 256, y += 292) {
        __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 16) {
            m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), absmask), m0);
            m1 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j + 8), absmask), m1);
        }
        const float amax = hmax_ps(_mm256_max_ps(m0, m1));
        if (amax == 0.0f) {
            memset(y, 0, 292);
            continue;
        }
        /* the first value whose |x| is amax (amax is one of them, not NaN) */
        const __m256 va = _mm256_set1_ps(amax);
        float max = amax;
        for (int j = 0; j < 256; j += 8) {
            const __m256 eq = _mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), absmask), va, _CMP_EQ_OQ);
            const int bits = _mm256_movemask_ps(eq);
            if (bits) {
                max = x[j + __builtin_ctz((unsigned)bits)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 vis = _mm256_set1_ps(iscale);
        __m256i g[2];
        for (int h = 0; h < 2; h++) {
            __m256i s[4];
            for (int k = 0; k < 4; k++) {
                const float *xp = x + 128 * h + 32 * k;
                const __m256i q = pack_i8(round_i32(_mm256_mul_ps(vis, _mm256_loadu_ps(xp))),
                                          round_i32(_mm256_mul_ps(vis, _mm256_loadu_ps(xp + 8))),
                                          round_i32(_mm256_mul_ps(vis, _mm256_loadu_ps(xp + 16))),
                                          round_i32(_mm256_mul_ps(vis, _mm256_loadu_ps(xp + 24))));
                _mm256_storeu_si256((__m256i *)(y + 4 + 128 * h + 32 * k), q);
                /* 8 int32: 4-value sums, low lane values 0..15, high 16..31 */
                s[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q),
                                         _mm256_set1_epi16(1));
            }
            /* [bs(8h+0), bs(8h+2), bs(8h+4), bs(8h+6) | bs(8h+1), ..., bs(8h+7)] */
            g[h] = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
        }
        /* lane 0: even sub-blocks 0..14, lane 1: odd ones */
        const __m256i p = _mm256_packs_epi32(g[0], g[1]);
        const __m128i ev = _mm256_castsi256_si128(p), od = _mm256_extracti128_si256(p, 1);
        _mm_storeu_si128((__m128i *)(y + 260), _mm_unpacklo_epi16(ev, od));
        _mm_storeu_si128((__m128i *)(y + 276), _mm_unpackhi_epi16(ev, od));
        const float d = 1.0f / iscale;
        memcpy(y, &d, 4);
    }
}

/* ---- quantized dot products ---------------------------------------------------- */

/* Products of 4 fp16 pairs (a[k st_a] * b[k st_b]), k = 0..3, in float. */
static inline __m128 mul4_f16(const uint8_t *a, int st_a, const uint8_t *b, int st_b)
{
    const __m256 f = _mm256_cvtph_ps(_mm_unpacklo_epi64(gather4_f16(a, st_a), gather4_f16(b, st_b)));
    return _mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1));
}

/* The 16 nibbles at p: low ones in the low lane (values 0..15), high ones
 * in the high lane (values 16..31). */
static inline __m256i nibbles16(const uint8_t *p)
{
    const __m256i b = _mm256_broadcastsi128_si256(ld128(p));
    return _mm256_and_si256(_mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                            _mm256_set1_epi8(0x0f));
}

/* 4 blocks' lane vectors to [b0 b1 b2 b3 | b0 b1 b2 b3] partial sums (each
 * 128-bit lane holds the sums of the matching lanes of the blocks). */
static inline __m256 sum4_blocks(__m256i p0, __m256i p1, __m256i p2, __m256i p3)
{
    return _mm256_cvtepi32_ps(
        _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3)));
}

static inline __m256 bcast128(__m128 v)
{
    return _mm256_insertf128_ps(_mm256_castps128_ps256(v), v, 1);
}

/* vpshufb masks that broadcast int16 element j of a 128-bit lane to the
 * whole lane (Q4_K: one scale per 32 values). */
static inline __m256i bcast16(__m256i v, int j)
{
    const __m256i m = _mm256_set1_epi16((short)(((2 * j + 1) << 8) | (2 * j)));
    return _mm256_shuffle_epi8(v, m);
}

/* ---- batched rows (dot_rows, dot_block) ------------------------------------------- */

/* Each quantized kernel above exists once more in "tile" form: one weight row
 * against T (1..4, a constant at every call site) activation rows `stride`
 * bytes apart, the weights loaded and unpacked once per tile. Every row keeps
 * its own accumulators and goes through exactly the single-row arithmetic
 * (same lanes, same FMA order, same reduction), and the table's dot is the
 * T = 1 tile, so dot_rows returns bit for bit what dot does. Q4_0 and F32
 * are ranges of a row instead (simd_tile.h), which give the tile and a
 * dot_block. */
/* ---- the expanded activation row (Q4_0, Q8_0) ------------------------------------- */

/* Its layout (struct xoct) and the oct tile that reads it are in
 * simd_avx2.h, shared with the avx2vnni table, whose base this table is. */

/* Q4_0 lanes: two vpmaddubsw (nibbles unsigned), added as int16: 4
 * products of at most 15 * 128 each (lanes16 takes them on). */
AI __m256i q4_0_lanes(__m256i wl, __m256i wh, __m256i xl, __m256i xh)
{
    return _mm256_add_epi16(_mm256_maddubs_epi16(wl, xl), _mm256_maddubs_epi16(wh, xh));
}

static void avx2_expand_q8_0(void *xq, int n)
{
    const uint8_t *y = xq;
    const int nb = n / QK8_0, no = (nb + 7) / 8;
    struct xoct *o = (struct xoct *)((uint8_t *)xq + simd_q8_expansion_at(n));
    const __m256i min8 = _mm256_set1_epi8(-128);
    __m256i mins = _mm256_setzero_si256();
    for (int k = 0; k < no; k++) {
        memset(&o[k], 0, sizeof o[k]);
        for (int j = 0; j < 8 && 8 * k + j < nb; j++) {
            const uint8_t *blk = y + (size_t)(8 * k + j) * sizeof(block_q8_0);
            const __m256i v = ld256(blk + 2);
            mins = _mm256_or_si256(mins, _mm256_cmpeq_epi8(v, min8));
            const int sum = sum_i8x32(v);
            memcpy(o[k].lo + 16 * j, blk + 2, 16);
            memcpy(o[k].hi + 16 * j, blk + 18, 16);
            o[k].c8[oct_slot(j)] = -8 * sum;
            o[k].dx[oct_slot(j)] = h2f(ld16(blk));
        }
    }
    *expanded_holds_min(xq, n) = !_mm256_testz_si256(mins, mins);
}

/* Q8_0 lanes: the signs moved onto the activations, |w| * (y * sign(w)),
 * so that vpmaddubsw (unsigned by signed bytes) multiplies them; pairs of
 * at most 128 * 127 fit its int16 sums, and vpmaddwd takes the lo and hi
 * halves into int32 separately (together they could reach 2^16). Exact
 * unless an activation is -128 (negated, it stays -128), which rows with
 * NaN or infinite values have: those take q8_0_lanes_wide. */
AI __m256i q8_0_lanes_sign(__m256i wl, __m256i wh, __m256i xl, __m256i xh)
{
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i l = _mm256_maddubs_epi16(_mm256_sign_epi8(wl, wl), _mm256_sign_epi8(xl, wl));
    const __m256i h = _mm256_maddubs_epi16(_mm256_sign_epi8(wh, wh), _mm256_sign_epi8(xh, wh));
    return _mm256_add_epi32(_mm256_madd_epi16(l, ones), _mm256_madd_epi16(h, ones));
}

/* The same block sums from products of int16 (exact for every pair of
 * bytes), slower: each block's 8 lanes, then hadd and a 64-bit permute put
 * the first block's sums in the low four lanes. */
AI __m256i q8_0_lanes_wide(__m256i wl, __m256i wh, __m256i xl, __m256i xh)
{
#define WIDE_HALF(v, i) _mm256_cvtepi8_epi16(_mm256_extracti128_si256(v, i))
    const __m256i a = _mm256_add_epi32(_mm256_madd_epi16(WIDE_HALF(wl, 0), WIDE_HALF(xl, 0)),
                                       _mm256_madd_epi16(WIDE_HALF(wh, 0), WIDE_HALF(xh, 0)));
    const __m256i b = _mm256_add_epi32(_mm256_madd_epi16(WIDE_HALF(wl, 1), WIDE_HALF(xl, 1)),
                                       _mm256_madd_epi16(WIDE_HALF(wh, 1), WIDE_HALF(xh, 1)));
#undef WIDE_HALF
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(a, b), 0xd8);
}

OCT_RANGE(q8_0_sign_range, 34, q8_0_group, q8_0_lanes_sign, lanes32, -1, 2)
OCT_RANGE(q8_0_wide_range, 34, q8_0_group, q8_0_lanes_wide, lanes32, -1, 2)

/* Q8_0 rows: the oct tile with sign lanes, or wide ones when an
 * activation row of the tile holds -128. Both give every block's exact
 * sum, so the same bits. */
AI void q8_0_range(const void *wv, const void *xq, size_t stride, int n, int i0, int i1, __m256 *acc,
                   float *out, size_t ostride, const int T)
{
    int holds_min = 0;
    UNROLL_OCT for (int t = 0; t < T; t++)
        holds_min |= *expanded_holds_min((const uint8_t *)xq + (size_t)t * stride, n);
    if (holds_min)
        q8_0_wide_range(wv, xq, stride, n, i0, i1, acc, out, ostride, T);
    else
        q8_0_sign_range(wv, xq, stride, n, i0, i1, acc, out, ostride, T);
}

OCT_MULTI(q8_0_sign_multi, 34, q8_0_group, q8_0_lanes_sign, lanes32, -1)
OCT_MULTI(q8_0_wide_multi, 34, q8_0_group, q8_0_lanes_wide, lanes32, -1)

/* Q8_0 decode over 1..4 weight rows at once (simd.h's dot_multi), sign or
 * wide lanes as q8_0_range takes them. (Q4_0 has none: its kernel runs out
 * of multiply ports first, and rows read together measured no faster.) */
AI void q8_0_multi_n(const void *const *wrows, const void *xq, int n, float *out, const int R)
{
    if (*expanded_holds_min(xq, n))
        q8_0_wide_multi(wrows, xq, n, out, R);
    else
        q8_0_sign_multi(wrows, xq, n, out, R);
}

static void avx2_multi_q8_0(const void *const *wrows, int count, const void *xq, int n, float *out)
{
    switch (count) { /* R a constant in each: the rows' loop unrolls */
    case 4: q8_0_multi_n(wrows, xq, n, out, 4); break;
    case 3: q8_0_multi_n(wrows, xq, n, out, 3); break;
    case 2: q8_0_multi_n(wrows, xq, n, out, 2); break;
    default: q8_0_multi_n(wrows, xq, n, out, 1); break;
    }
}

/* Q4_0 rows: the oct kernels of simd_avx2.h over the expansion. */
OCT_KERNELS(avx2_dot_q4_0, avx2_block_q4_0, 18, q4_0_group, q4_0_lanes, lanes16, 0)

/* The int lanes of Q4_1 block w against Q8_1 block x. */
AI __m256i q4_1_block(const uint8_t *w, const uint8_t *x)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles16(w + 4), ld256(x + 4)),
                             _mm256_set1_epi16(1));
}

/* Q4_1 (block_q4_1: d, m, qs[16]; block_q8_1: d, s, qs[32]): 8 blocks at a
 * time; per row the int lanes of 4 blocks folded (sum4_blocks) and scaled
 * by their d products into a0 (the first 4) or a1, the m * s products
 * summed apart; single blocks at the row's end. The nibbles are unpacked
 * per row: kept for the whole tile (8 registers) they cost one-row decode
 * 15% (TinyLlama 56 -> 48 tok/s) and prompts ~5%. */
AI void q4_1_tile(const void *wv, const void *xv, size_t stride, int n, float *out, size_t ostride,
                  const int T)
{
    const uint8_t *w = wv, *x[4];
    __m256 a0[4], a1[4];
    __m128 am[4];
    UNROLL_T for (int t = 0; t < T; t++)
    {
        x[t] = (const uint8_t *)xv + (size_t)t * stride;
        a0[t] = a1[t] = _mm256_setzero_ps();
        am[t] = _mm_setzero_ps();
    }
    const int nb = n / 32;
    int i = 0;
    for (; i + 8 <= nb; i += 8, w += 160) {
        PREFETCH_AHEAD(w, 160);
        UNROLL_T for (int t = 0; t < T; t++)
        {
            const uint8_t *xt = x[t] + (size_t)i * 36;
            const __m256 f0 = sum4_blocks(q4_1_block(w, xt), q4_1_block(w + 20, xt + 36),
                                          q4_1_block(w + 40, xt + 72),
                                          q4_1_block(w + 60, xt + 108));
            a0[t] = _mm256_fmadd_ps(f0, bcast128(mul4_f16(w, 20, xt, 36)), a0[t]);
            const __m256 f1 = sum4_blocks(q4_1_block(w + 80, xt + 144),
                                          q4_1_block(w + 100, xt + 180),
                                          q4_1_block(w + 120, xt + 216),
                                          q4_1_block(w + 140, xt + 252));
            a1[t] = _mm256_fmadd_ps(f1, bcast128(mul4_f16(w + 80, 20, xt + 144, 36)), a1[t]);
            /* m * s of the 8 blocks */
            am[t] = _mm_add_ps(am[t], _mm_add_ps(mul4_f16(w + 2, 20, xt + 2, 36),
                                                 mul4_f16(w + 82, 20, xt + 146, 36)));
        }
    }
    UNROLL_T for (int t = 0; t < T; t++)
    {
        __m128 m = _mm_add_ps(am[t], _mm_movehl_ps(am[t], am[t]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        float ms = _mm_cvtss_f32(m);
        const uint8_t *wb = w, *xt = x[t] + (size_t)i * 36;
        for (int j = i; j < nb; j++, wb += 20, xt += 36) {
            a0[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q4_1_block(wb, xt)),
                                    _mm256_set1_ps(h2f(ld16(wb)) * h2f(ld16(xt))), a0[t]);
            ms += h2f(ld16(wb + 2)) * h2f(ld16(xt + 2));
        }
        out[(size_t)t * ostride] = hsum_ps(_mm256_add_ps(a0[t], a1[t])) + ms;
    }
}

/* Q4_K: scales, mins and the nibbles of 64 values at a time unpacked once
 * per tile; per row the min term and the scaled int sums. */
AI void q4_K_tile(const void *wv, const void *xv, size_t stride, int n, float *out, size_t ostride,
                  const int T)
{
    const uint8_t *w = wv, *x[4];
    __m256 acc[4];
    __m128 accm[4];
    UNROLL_T for (int t = 0; t < T; t++)
    {
        x[t] = (const uint8_t *)xv + (size_t)t * stride;
        acc[t] = _mm256_setzero_ps();
        accm[t] = _mm_setzero_ps();
    }
    const int nb = n / 256;
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (int i = 0; i < nb; i++, w += 144) {
        PREFETCH_AHEAD(w, 144);
        const float dw = h2f(ld16(w)), dminw = h2f(ld16(w + 2));
        uint32_t s0, s1, s2;
        memcpy(&s0, w + 4, 4);
        memcpy(&s1, w + 8, 4);
        memcpy(&s2, w + 12, 4);
        const uint32_t sc_lo = s0 & 0x3f3f3f3fu;
        const uint32_t sc_hi = (s2 & 0x0f0f0f0fu) | (((s0 >> 6) & 0x03030303u) << 4);
        const uint32_t mn_lo = s1 & 0x3f3f3f3fu;
        const uint32_t mn_hi = ((s2 >> 4) & 0x0f0f0f0fu) | (((s1 >> 6) & 0x03030303u) << 4);
        const __m128i sc8 = _mm_cvtepu8_epi16(_mm_setr_epi32((int)sc_lo, (int)sc_hi, 0, 0));
        const __m128i mn8 = _mm_cvtepu8_epi16(_mm_setr_epi32((int)mn_lo, (int)mn_hi, 0, 0));
        const __m256i sc = _mm256_broadcastsi128_si256(sc8);
        __m256i s_a[4], s_b[4];
        UNROLL_T for (int t = 0; t < T; t++)
        {
            const uint8_t *xt = x[t] + (size_t)i * 292;
            const float yd = ldf(xt);
            const __m128i bs = _mm_hadd_epi16(ld128(xt + 260), ld128(xt + 276));
            accm[t] = _mm_fmadd_ps(_mm_set1_ps(dminw * yd), _mm_cvtepi32_ps(_mm_madd_epi16(bs, mn8)),
                                   accm[t]);
            s_a[t] = s_b[t] = _mm256_setzero_si256();
        }
        _Pragma("GCC unroll 2") for (int c = 0; c < 4; c += 2) {
            const __m256i qa = ld256(w + 16 + 32 * c), qb = ld256(w + 16 + 32 * c + 32);
            const __m256i qa0 = _mm256_and_si256(qa, low4);
            const __m256i qa1 = _mm256_and_si256(_mm256_srli_epi16(qa, 4), low4);
            const __m256i qb0 = _mm256_and_si256(qb, low4);
            const __m256i qb1 = _mm256_and_si256(_mm256_srli_epi16(qb, 4), low4);
            UNROLL_T for (int t = 0; t < T; t++)
            {
                const uint8_t *q8 = x[t] + (size_t)i * 292 + 4;
                const __m256i pa0 = _mm256_maddubs_epi16(qa0, ld256(q8 + 64 * c));
                const __m256i pa1 = _mm256_maddubs_epi16(qa1, ld256(q8 + 64 * c + 32));
                const __m256i pb0 = _mm256_maddubs_epi16(qb0, ld256(q8 + 64 * c + 64));
                const __m256i pb1 = _mm256_maddubs_epi16(qb1, ld256(q8 + 64 * c + 96));
                s_a[t] = _mm256_add_epi32(s_a[t],
                                          _mm256_add_epi32(_mm256_madd_epi16(pa0, bcast16(sc, 2 * c)),
                                                           _mm256_madd_epi16(pa1, bcast16(sc, 2 * c + 1))));
                s_b[t] = _mm256_add_epi32(s_b[t],
                                          _mm256_add_epi32(_mm256_madd_epi16(pb0, bcast16(sc, 2 * c + 2)),
                                                           _mm256_madd_epi16(pb1, bcast16(sc, 2 * c + 3))));
            }
        }
        UNROLL_T for (int t = 0; t < T; t++)
        {
            const float yd = ldf(x[t] + (size_t)i * 292);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * yd),
                                     _mm256_cvtepi32_ps(_mm256_add_epi32(s_a[t], s_b[t])), acc[t]);
        }
    }
    UNROLL_T for (int t = 0; t < T; t++)
    {
        __m128 m = _mm_add_ps(accm[t], _mm_movehl_ps(accm[t], accm[t]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[(size_t)t * ostride] = hsum_ps(acc[t]) - _mm_cvtss_f32(m);
    }
}

/* Q6_K: the 6-bit values of each 128-value half unpacked once per tile. */
AI void q6_K_tile(const void *wv, const void *xv, size_t stride, int n, float *out, size_t ostride,
                  const int T)
{
    const uint8_t *w = wv, *x[4];
    __m256 acc[4];
    UNROLL_T for (int t = 0; t < T; t++)
    {
        x[t] = (const uint8_t *)xv + (size_t)t * stride;
        acc[t] = _mm256_setzero_ps();
    }
    const int nb = n / 256;
    const __m256i low4 = _mm256_set1_epi8(0x0f), hi2 = _mm256_set1_epi8(0x30);
    const __m256i shuf[4] = {
        _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3,
                         2, 3, 2, 3),
        _mm256_setr_epi8(4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7,
                         6, 7, 6, 7),
        _mm256_setr_epi8(8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11, 10,
                         11, 10, 11, 10, 11, 10, 11),
        _mm256_setr_epi8(12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14,
                         15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15),
    };
    for (int i = 0; i < nb; i++, w += 210) {
        PREFETCH_AHEAD(w, 210);
        const float dw = h2f(ld16(w + 208));
        const __m256i sc16 = _mm256_cvtepi8_epi16(ld128(w + 192));
        __m256i s_a[4], s_b[4], off[4];
        UNROLL_T for (int t = 0; t < T; t++)
        {
            const uint8_t *xt = x[t] + (size_t)i * 292;
            off[t] = _mm256_madd_epi16(sc16, ld256(xt + 260));
            s_a[t] = s_b[t] = _mm256_setzero_si256();
        }
        _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            const __m256i scv = _mm256_broadcastsi128_si256(
                _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(w + 192 + 8 * h))));
            const __m256i l0 = ld256(ql), l1 = ld256(ql + 32), hb = ld256(qh);
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l0, low4),
                                               _mm256_and_si256(_mm256_slli_epi16(hb, 4), hi2));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(l1, low4),
                                               _mm256_and_si256(_mm256_slli_epi16(hb, 2), hi2));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                                               _mm256_and_si256(hb, hi2));
            const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                                               _mm256_and_si256(_mm256_srli_epi16(hb, 2), hi2));
            const __m256i c1 = _mm256_shuffle_epi8(scv, shuf[0]), c2 = _mm256_shuffle_epi8(scv, shuf[1]);
            const __m256i c3 = _mm256_shuffle_epi8(scv, shuf[2]), c4 = _mm256_shuffle_epi8(scv, shuf[3]);
            UNROLL_T for (int t = 0; t < T; t++)
            {
                const uint8_t *q8 = x[t] + (size_t)i * 292 + 4 + 128 * h;
                const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, ld256(q8)), c1);
                const __m256i p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(q2, ld256(q8 + 32)), c2);
                const __m256i p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(q3, ld256(q8 + 64)), c3);
                const __m256i p4 = _mm256_madd_epi16(_mm256_maddubs_epi16(q4, ld256(q8 + 96)), c4);
                s_a[t] = _mm256_add_epi32(s_a[t], _mm256_add_epi32(p1, p2));
                s_b[t] = _mm256_add_epi32(s_b[t], _mm256_add_epi32(p3, p4));
            }
        }
        UNROLL_T for (int t = 0; t < T; t++)
        {
            const float d = dw * ldf(x[t] + (size_t)i * 292);
            const __m256i sumi =
                _mm256_sub_epi32(_mm256_add_epi32(s_a[t], s_b[t]), _mm256_slli_epi32(off[t], 5));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc[t]);
        }
    }
    UNROLL_T for (int t = 0; t < T; t++)
        out[(size_t)t * ostride] = hsum_ps(acc[t]);
}

DOT_FROM_TILE(avx2_dot_q4_1, q4_1_tile)
TILE_FROM_RANGE(q8_0_tile, q8_0_range, (n / 32 + 7) / 8)
DOT_FROM_TILE(avx2_dot_q8_0, q8_0_tile)
BLOCK_FROM_RANGE(avx2_block_q8_0, q8_0_range, __m256, 1, (n / 32 + 7) / 8, CHUNK_OCTS, OCT_ROWS)
DOT_FROM_TILE(avx2_dot_q4_K, q4_K_tile)
DOT_FROM_TILE(avx2_dot_q6_K, q6_K_tile)
ROWS_FROM_TILE(avx2_rows_q4_1, q4_1_tile, 4, (size_t)n / 32 * 20)
ROWS_FROM_TILE(avx2_rows_q4_K, q4_K_tile, 4, (size_t)n / 256 * 144)
ROWS_FROM_TILE(avx2_rows_q6_K, q6_K_tile, 4, (size_t)n / 256 * 210)

/* simd.h's stream: 256 bytes per step into four chains. */
static uint64_t avx2_stream(const void *p, size_t bytes)
{
    const __m256i *v = p;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i < bytes / 32; i += 8) {
        a = _mm256_xor_si256(a, _mm256_xor_si256(_mm256_load_si256(v + i), _mm256_load_si256(v + i + 1)));
        b = _mm256_xor_si256(b, _mm256_xor_si256(_mm256_load_si256(v + i + 2), _mm256_load_si256(v + i + 3)));
        c = _mm256_xor_si256(c, _mm256_xor_si256(_mm256_load_si256(v + i + 4), _mm256_load_si256(v + i + 5)));
        d = _mm256_xor_si256(d, _mm256_xor_si256(_mm256_load_si256(v + i + 6), _mm256_load_si256(v + i + 7)));
    }
    const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    const __m128i y = _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    return (uint64_t)_mm_cvtsi128_si64(y) ^ (uint64_t)_mm_extract_epi64(y, 1);
}

const struct simd_kernels simd_avx2 = {
    .name = "avx2",
    .dot = {[QT_F32] = avx2_dot_f32_row, [QT_F16] = avx2_dot_f16, [QT_BF16] = avx2_dot_bf16,
            [QT_Q4_0] = avx2_dot_q4_0, [QT_Q4_1] = avx2_dot_q4_1, [QT_Q8_0] = avx2_dot_q8_0,
            [QT_Q4_K] = avx2_dot_q4_K, [QT_Q6_K] = avx2_dot_q6_K},
    .dot_rows = {[QT_F16] = avx2_rows_f16, [QT_BF16] = avx2_rows_bf16, [QT_Q4_1] = avx2_rows_q4_1,
                 [QT_Q4_K] = avx2_rows_q4_K, [QT_Q6_K] = avx2_rows_q6_K},
    .dot_block = {[QT_F32] = avx2_block_f32, [QT_Q4_0] = avx2_block_q4_0, [QT_Q8_0] = avx2_block_q8_0},
    .dot_multi = {[QT_Q8_0] = avx2_multi_q8_0},
    .act = {[QT_F16] = avx2_act_f16, [QT_BF16] = avx2_act_bf16, [QT_Q8_0] = avx2_act_q8_0,
            [QT_Q8_1] = avx2_act_q8_1, [QT_Q8_K] = avx2_act_q8_K},
    .expand = {[QT_Q8_0] = avx2_expand_q8_0},
    .dot_f32 = avx2_dot_f32,
    .dot_q8g = avx2_dot_q8g,
    .axpy = avx2_axpy,
    .attn_scores = avx2_attn_scores,
    .attn_values = avx2_attn_values,
    .rmsnorm = avx2_rmsnorm,
    .softmax = avx2_softmax,
    .swiglu = avx2_swiglu,
    .swiglu_ggml = avx2_swiglu_ggml,
    .stream = avx2_stream,
};
