/* quant.c - ggml weight types: conversions, (de)quantization, matrix-vector.
 *
 * Facts from ggml (llama.cpp ggml-quants.c, ggml-cpu/quants.c, vec.cpp,
 * ggml-cpu/arch/x86/quants.c); the code is our own.
 *
 * Rounding. Everything is written so that, built with -ffp-contract=off (the
 * project's flags) and SSE2 scalar float, every float operation happens in
 * the same order as in ggml's C: dequantize_row_* and quantize_row_*_ref are
 * bit-identical to ggml's (checked against libggml-base from node-llama-cpp
 * in tests/test_quant.c when it is installed), including the K-quant
 * reference quantizers' search loops (make_qkx2_quants for Q4_K,
 * make_qx_quants with rmse_type 1 for Q6_K). Those are the quantizers
 * llama-quantize uses when it has no importance matrix.
 *
 * Matrix-vector order (qmatvec). Per row, the integer part of every block dot
 * product is exact, so only the float accumulation differs between
 * implementations. qdot_row follows ggml's *generic* C vec_dot exactly:
 *   Q4_0: sumf += ((float)sumi * dx) * dy          per block, in block order
 *   Q8_0: sumf += (float)sumi * (dx * dy)
 *   Q4_1: sumf += (dx * dy) * (float)sumi + mx * sy
 *   Q4_K: 8 float lanes, lane l += (dx*dy8) * aux32[l] where aux32[l] sums the
 *         scaled products of values e with e % 8 == l; sumf -= (dmin*dy8) *
 *         sum(bsums*mins) per block; finally sumf += lanes 0..7 in order
 *   Q6_K: the same 8 lanes without the min term
 *   F32:  double sum of the float products x[i]*w[i], in index order
 *   F16/BF16: x rounded to F16/BF16 first; the products are exact in float;
 *         double sum in index order
 * (bit for bit: checked against the vec_dot of libggml-cpu-x64, a build
 * without FMA). Where this order differs from what llama.cpp runs on x86:
 * its AVX2/AVX-512 kernels keep vector lanes of partial sums (8 float lanes
 * of 4-product integer sums for Q4_0/Q8_0, other lane layouts for the
 * K-quants, 4-8 FMA accumulators for F32/F16/BF16) and reduce them at the
 * end; its
 * CPU variants built with -march (haswell, zen4, ...) even contract the
 * generic C above into FMAs; and for some shapes it takes other routes
 * (llamafile's tinyBLAS for F32/F16/BF16/Q8_0/Q4_0/Q4_1, the "repack" gemv
 * kernels with interleaved rows for Q4_0/Q4_K/Q6_K/Q8_0). No order can be
 * bit-identical to all of these, so the aim is identical integer sums from
 * identical activation quantization, leaving float rounding only: against
 * libggml-cpu-zen4's mul_mat (n = 256..2048, every type here) each output
 * was within 9e-8 of sum |w x|, whereas the float path (qmatvec_float, no
 * activation quantization) is ~1e-3 of sum |w x| away from it.
 *
 * Activation quantization is where a difference would change integers, so it
 * follows what llama.cpp does on x86 with AVX (every x86 CPU this project
 * targets for parity): Q8_0/Q8_1 use id = 127/amax and round half to even
 * (vroundps), not the _ref quantizer's 1/d and roundf (llama.cpp's build for
 * CPUs without AVX, libggml-cpu-x64, uses the _ref one: 3 in 600 random rows
 * of 4096 values came out different). Q8_K uses the _ref quantizer on every
 * ISA (ggml has no x86 SIMD one), as do the 4-row interleaved quantizers of
 * the repack path (checked equal). */
#include "quant.h"
#include "kernels.h"
#include "simd.h"
#include "errors.h"
#include "mathf.h"
#include "platform.h"

/* ---- float bits ------------------------------------------------------------ */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float fabs_f(float f)
{
    return bits_f32(f32_bits(f) & 0x7fffffffu);
}

/* fp16 -> fp32 is exact. Infinities keep their sign; a NaN keeps its payload
 * and comes out quiet (as F16C's vcvtph2ps and ggml's conversion do).
 * Inline for the dot-product loops; f16_to_f32 is the exported copy. */
static inline float h2f(qf16 h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = h & 0x7c00u;
    if (e != 0 && e != 0x7c00u) /* normal: rebias the exponent 15 -> 127 */
        return bits_f32(sign | (((uint32_t)(h & 0x7fffu) << 13) + 0x38000000u));
    if (e == 0) /* zero or subnormal: mant * 2^-24, exact in float */
        return bits_f32(sign | f32_bits((float)(h & 0x3ffu) * 0x1p-24f));
    return bits_f32(sign | 0x7f800000u | ((uint32_t)(h & 0x3ffu) << 13) |
                    ((h & 0x3ffu) ? 0x400000u : 0));
}

float f16_to_f32(qf16 h)
{
    return h2f(h);
}

/* fp32 -> fp16, round to nearest even; overflow gives infinity, tiny values
 * give subnormals or signed zero. NaN: quiet, with the top 9 payload bits
 * kept - what F16C's vcvtps2ph does. (ggml's portable C returns 0x7e00 with
 * the sign for every NaN; the two agree on all other inputs.) */
qf16 f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (qf16)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520: rounds to infinity */
        return (qf16)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* >= 2^-14: a normal half */
        uint32_t r = ax - 0x38000000u; /* rebias the exponent 127 -> 15 */
        r += 0xfffu + ((r >> 13) & 1u);
        return (qf16)(sign | (r >> 13));
    }
    if (ax <= 0x33000000u) /* <= 2^-25 (a tie with 0 at 2^-25): zero */
        return sign;
    /* subnormal half: round (mantissa with its hidden bit) >> shift */
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u)))
        q++;
    return (qf16)(sign | q);
}

float bf16_to_f32(qbf16 h)
{
    return bits_f32((uint32_t)h << 16);
}

/* Round to nearest even, no flush of subnormals; a NaN is kept (top bits)
 * and made quiet - ggml_compute_fp32_to_bf16. */
qbf16 f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (qbf16)((u >> 16) | 64u);
    return (qbf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* ---- rounding helpers (ggml's, made free of undefined behaviour) --------- */

/* Round half to even for |v| < 2^22 (ggml's nearest_int: adding 1.5*2^23
 * leaves the rounded integer in the low mantissa bits). */
static inline int nearest_int(float v)
{
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* roundf (half away from zero), saturated to [lo, hi]; NaN gives 0. */
static int round_away_clamp(float v, int lo, int hi)
{
    if (!(v >= (float)lo))
        return v != v ? 0 : lo;
    if (!(v <= (float)hi))
        return hi;
    int i = (int)v; /* toward zero; v - i is exact */
    float frac = v - (float)i;
    if (frac >= 0.5f)
        i++;
    else if (frac <= -0.5f)
        i--;
    return i < lo ? lo : i > hi ? hi : i;
}

/* C's float -> integer conversion (toward zero) of a value expected in
 * [lo, hi + 1), saturated to [lo, hi] (ggml: MIN(15, (int8_t)v)). */
static int trunc_clamp(float v, int lo, int hi)
{
    if (!(v >= (float)lo))
        return lo;
    if (v >= (float)(hi + 1))
        return hi;
    return (int)v;
}

/* vroundps + vcvtps2dq + pack with saturation: half to even; out-of-range
 * and NaN give the "integer indefinite" value, which saturates to -128. */
static inline int round_even_i8(float v)
{
    if (!(fabs_f(v) < 4194304.0f))
        return -128;
    int i = nearest_int(v);
    return i < -128 ? -128 : i > 127 ? 127 : i;
}

/* ---- the type table -------------------------------------------------------- */

/* Block sizes of every type ggml has defined, so model readers can size
 * tensors they will refuse to compute with. */
static const struct qtype_info qtypes[] = {
    {"f32", QT_F32, 1, 4, 1, 1, QT_F32},
    {"f16", QT_F16, 1, 2, 1, 1, QT_F16},
    {"q4_0", QT_Q4_0, 32, 18, 1, 1, QT_Q8_0},
    {"q4_1", QT_Q4_1, 32, 20, 1, 1, QT_Q8_1},
    {"q5_0", 6, 32, 22, 0, 0, -1},
    {"q5_1", 7, 32, 24, 0, 0, -1},
    {"q8_0", QT_Q8_0, 32, 34, 1, 1, QT_Q8_0},
    {"q8_1", QT_Q8_1, 32, 36, 0, 1, -1},
    {"q2_K", 10, 256, 84, 0, 0, -1},
    {"q3_K", 11, 256, 110, 0, 0, -1},
    {"q4_K", QT_Q4_K, 256, 144, 1, 1, QT_Q8_K},
    {"q5_K", 13, 256, 176, 0, 0, -1},
    {"q6_K", QT_Q6_K, 256, 210, 1, 1, QT_Q8_K},
    {"q8_K", QT_Q8_K, 256, 292, 0, 1, -1},
    {"iq2_xxs", 16, 256, 66, 0, 0, -1},
    {"iq2_xs", 17, 256, 74, 0, 0, -1},
    {"iq3_xxs", 18, 256, 98, 0, 0, -1},
    {"iq1_s", 19, 256, 50, 0, 0, -1},
    {"iq4_nl", 20, 32, 18, 0, 0, -1},
    {"iq3_s", 21, 256, 110, 0, 0, -1},
    {"iq2_s", 22, 256, 82, 0, 0, -1},
    {"iq4_xs", 23, 256, 136, 0, 0, -1},
    {"i8", 24, 1, 1, 0, 0, -1},
    {"i16", 25, 1, 2, 0, 0, -1},
    {"i32", 26, 1, 4, 0, 0, -1},
    {"i64", 27, 1, 8, 0, 0, -1},
    {"f64", 28, 1, 8, 0, 0, -1},
    {"iq1_m", 29, 256, 56, 0, 0, -1},
    {"bf16", QT_BF16, 1, 2, 1, 1, QT_BF16},
    /* 31-33 (q4_0_4_4 ...) and 36-38 (iq4_nl_4_4 ...) were removed from GGUF */
    {"tq1_0", 34, 256, 54, 0, 0, -1},
    {"tq2_0", 35, 256, 66, 0, 0, -1},
    {"mxfp4", 39, 32, 17, 0, 0, -1},
    {"nvfp4", 40, 64, 36, 0, 0, -1},
    {"q1_0", 41, 128, 18, 0, 0, -1},
};

const struct qtype_info *qtype_get(int id)
{
    for (size_t i = 0; i < ARRAY_LEN(qtypes); i++)
        if (qtypes[i].id == id)
            return &qtypes[i];
    return NULL;
}

const char *qtype_name(int id)
{
    const struct qtype_info *t = qtype_get(id);
    return t ? t->name : "unknown";
}

int qtype_row_bytes(int id, uint64_t n, uint64_t *ret_bytes)
{
    const struct qtype_info *t = qtype_get(id);
    if (!t)
        return ERR_NOT_FOUND;
    if (n == 0 || n % (uint64_t)t->block_elems != 0)
        return ERR_INVAL;
    uint64_t bytes;
    int rc = size_mul(n / (uint64_t)t->block_elems, (uint64_t)t->block_bytes, &bytes);
    if (rc != 0)
        return rc;
    *ret_bytes = bytes;
    return 0;
}

void qk4_scale_min(int j, const uint8_t *q, uint8_t *ret_sc, uint8_t *ret_m)
{
    if (j < 4) {
        *ret_sc = q[j] & 63;
        *ret_m = q[j + 4] & 63;
    } else {
        *ret_sc = (uint8_t)((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
        *ret_m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Row bytes for a type and length already validated. */
static size_t row_bytes(const struct qtype_info *t, int n)
{
    return (size_t)(n / t->block_elems) * (size_t)t->block_bytes;
}

/* Natural alignment of a row of type id (its widest field). */
static uintptr_t type_align(int id)
{
    return (id == QT_F32 || id == QT_Q8_K) ? 4 : 2;
}

static int misaligned(const void *p, int id)
{
    return ((uintptr_t)p & (type_align(id) - 1)) != 0;
}

/* ---- dequantization -------------------------------------------------------- */

static void deq_q4_0(const block_q4_0 *x, float *y, int nb)
{
    for (int i = 0; i < nb; i++, y += QK4_0) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
            y[j + QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void deq_q4_1(const block_q4_1 *x, float *y, int nb)
{
    for (int i = 0; i < nb; i++, y += QK4_1) {
        const float d = h2f(x[i].d);
        const float m = h2f(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = (float)(x[i].qs[j] & 0x0f) * d + m;
            y[j + QK4_1 / 2] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

static void deq_q8_0(const block_q8_0 *x, float *y, int nb)
{
    for (int i = 0; i < nb; i++, y += QK8_0) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < QK8_0; j++)
            y[j] = (float)x[i].qs[j] * d;
    }
}

static void deq_q8_1(const block_q8_1 *x, float *y, int nb)
{
    for (int i = 0; i < nb; i++, y += QK8_1) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < QK8_1; j++)
            y[j] = (float)x[i].qs[j] * d;
    }
}

static void deq_q8_K(const block_q8_K *x, float *y, int nb)
{
    for (int i = 0; i < nb; i++, y += QK_K)
        for (int j = 0; j < QK_K; j++)
            y[j] = x[i].d * (float)x[i].qs[j];
}

static void deq_q4_K(const block_q4_K *x, float *y, int nb)
{
    for (int i = 0; i < nb; i++) {
        const uint8_t *q = x[i].qs;
        const float d = h2f(x[i].d);
        const float dmin = h2f(x[i].dmin);
        for (int c = 0; c < 4; c++, q += 32) {
            uint8_t sc, m;
            qk4_scale_min(2 * c, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            qk4_scale_min(2 * c + 1, x[i].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)(q[l] & 0xf) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* The four 6-bit values (minus 32) at l of a Q6_K half-block: low nibbles
 * of ql[l] and ql[l + 32], then their high nibbles, each with two bits of
 * qh[l] on top. They go to outputs l, l + 32, l + 64 and l + 96. */
static inline void q6_K_quad(const uint8_t *ql, const uint8_t *qh, int l, int q[4])
{
    q[0] = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
    q[1] = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
    q[2] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
    q[3] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
}

static void deq_q6_K(const block_q6_K *x, float *y, int nb)
{
    for (int i = 0; i < nb; i++) {
        const float d = h2f(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                int q[4];
                q6_K_quad(ql, qh, l, q);
                y[l] = d * (float)sc[is] * (float)q[0];
                y[l + 32] = d * (float)sc[is + 2] * (float)q[1];
                y[l + 64] = d * (float)sc[is + 4] * (float)q[2];
                y[l + 96] = d * (float)sc[is + 6] * (float)q[3];
            }
        }
    }
}

/* Dequantizes n values (a multiple of the block size) of a validated type. */
static void deq_any(int type, const void *src, float *dst, int n)
{
    switch (type) {
    case QT_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case QT_F16: {
        const qf16 *s = src;
        for (int i = 0; i < n; i++)
            dst[i] = h2f(s[i]);
        break;
    }
    case QT_BF16: {
        const qbf16 *s = src;
        for (int i = 0; i < n; i++)
            dst[i] = bf16_to_f32(s[i]);
        break;
    }
    case QT_Q4_0: deq_q4_0(src, dst, n / QK4_0); break;
    case QT_Q4_1: deq_q4_1(src, dst, n / QK4_1); break;
    case QT_Q8_0: deq_q8_0(src, dst, n / QK8_0); break;
    case QT_Q8_1: deq_q8_1(src, dst, n / QK8_1); break;
    case QT_Q4_K: deq_q4_K(src, dst, n / QK_K); break;
    case QT_Q6_K: deq_q6_K(src, dst, n / QK_K); break;
    case QT_Q8_K: deq_q8_K(src, dst, n / QK_K); break;
    default: break;
    }
}

int dequantize_row(int type, const void *src, float *dst, int n)
{
    const struct qtype_info *t = qtype_get(type);
    if (!t || !(t->is_weight || type == QT_Q8_1 || type == QT_Q8_K))
        return ERR_UNSUPPORTED;
    if (n <= 0 || n % t->block_elems != 0 || !src || !dst || misaligned(src, type))
        return ERR_INVAL;
    deq_any(type, src, dst, n);
    return 0;
}

/* ---- reference quantizers (quantize_row_*_ref) ----------------------------- */

/* One block of 32 for Q8_0/Q8_1 _ref: d = amax/127, q = roundf(x * (1/d)).
 * Returns d (fp32; the block stores it as fp16). */
static float ref_q8_32(const float *x, int8_t *qs)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float a = fabs_f(x[j]);
        amax = amax > a ? amax : a;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; j++)
        qs[j] = (int8_t)round_away_clamp(x[j] * id, -128, 127);
    return d;
}

static void quant_q8_0_ref(const float *x, block_q8_0 *y, int nb)
{
    for (int i = 0; i < nb; i++, x += QK8_0)
        y[i].d = f32_to_f16(ref_q8_32(x, y[i].qs));
}

static void quant_q8_1_ref(const float *x, block_q8_1 *y, int nb)
{
    for (int i = 0; i < nb; i++, x += QK8_1) {
        const float d = ref_q8_32(x, y[i].qs);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++)
            sum += y[i].qs[j];
        y[i].d = f32_to_f16(d);
        y[i].s = f32_to_f16((float)sum * d);
    }
}

static void quant_q4_0_ref(const float *x, block_q4_0 *y, int nb)
{
    for (int i = 0; i < nb; i++, x += QK4_0) {
        float amax = 0.0f, max = 0.0f; /* the value of largest magnitude */
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabs_f(x[j])) {
                amax = fabs_f(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            const int q0 = trunc_clamp(x[j] * id + 8.5f, 0, 15);
            const int q1 = trunc_clamp(x[j + QK4_0 / 2] * id + 8.5f, 0, 15);
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void quant_q4_1_ref(const float *x, block_q4_1 *y, int nb)
{
    for (int i = 0; i < nb; i++, x += QK4_1) {
        float min = 3.40282347e38f, max = -3.40282347e38f;
        for (int j = 0; j < QK4_1; j++) {
            if (x[j] < min)
                min = x[j];
            if (x[j] > max)
                max = x[j];
        }
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            const int q0 = trunc_clamp((x[j] - min) * id + 0.5f, 0, 15);
            const int q1 = trunc_clamp((x[j + QK4_1 / 2] - min) * id + 0.5f, 0, 15);
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* ggml's make_qkx2_quants with use_mad = false: fits x ~ scale * L + min
 * (min <= 0) with L in [0, nmax] by a weighted least-squares search over
 * nstep+1 candidate inverse scales. Returns scale, sets *ret_min = -min. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                              uint8_t *L, float *ret_min, uint8_t *Laux,
                              float rmin, float rdelta, int nstep)
{
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++)
            L[i] = 0;
        *ret_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1.0f / iscale;
    float best_error = 0.0f;
    for (int i = 0; i < n; i++) {
        const int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)MAX(0, MIN(nmax, l));
        const float diff = scale * (float)L[i] + min - x[i];
        best_error += weights[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = MAX(0, MIN(nmax, l));
            Laux[i] = (uint8_t)l;
            const float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0.0f;
            for (int i = 0; i < n; i++) {
                const float diff = this_scale * (float)Laux[i] + this_min - x[i];
                cur_error += weights[i] * (diff * diff);
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; i++)
                    L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *ret_min = -min;
    return scale;
}

/* quantize_row_q4_K_ref: per sub-block of 32, make_qkx2_quants(32, 15, ...,
 * weights av_x + |x|, rmin -1, rdelta 0.1, 20 steps); the 8 scales and 8
 * mins are then quantized to 6 bits against their maxima (d = max_scale/63,
 * dmin = max_min/63), and the values requantized with the stored scales. */
static void quant_q4_K_ref(const float *x, block_q4_K *y, int nb)
{
    uint8_t L[QK_K], Laux[32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    for (int i = 0; i < nb; i++, x += QK_K) {
        float max_scale = 0.0f, max_min = 0.0f;
        for (int j = 0; j < QK_K / 32; j++) {
            const float *xs = x + 32 * j;
            float sum_x2 = 0.0f;
            for (int l = 0; l < 32; l++)
                sum_x2 += xs[l] * xs[l];
            const float av_x = m_sqrtf(sum_x2 / 32.0f);
            for (int l = 0; l < 32; l++)
                weights[l] = av_x + fabs_f(xs[l]);
            scales[j] = make_qkx2_quants(32, 15, xs, weights, L + 32 * j, &mins[j],
                                         Laux, -1.0f, 0.1f, 20);
            if (scales[j] > max_scale)
                max_scale = scales[j];
            if (mins[j] > max_min)
                max_min = mins[j];
        }
        const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
        const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
        for (int j = 0; j < QK_K / 32; j++) {
            /* ggml stores nearest_int() in a uint8_t before MIN(63, .) */
            uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
            uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
            ls = MIN(63, ls);
            lm = MIN(63, lm);
            if (j < 4) {
                y[i].scales[j] = ls;
                y[i].scales[j + 4] = lm;
            } else {
                y[i].scales[j + 4] = (uint8_t)((ls & 0xf) | ((lm & 0xf) << 4));
                y[i].scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
                y[i].scales[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        y[i].d = f32_to_f16(max_scale / 63.0f);
        y[i].dmin = f32_to_f16(max_min / 63.0f);
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            qk4_scale_min(j, y[i].scales, &sc, &m);
            const float d = h2f(y[i].d) * (float)sc;
            if (d == 0.0f)
                continue;
            const float dm = h2f(y[i].dmin) * (float)m;
            for (int ii = 0; ii < 32; ii++) {
                const int l = nearest_int((x[32 * j + ii] + dm) / d);
                L[32 * j + ii] = (uint8_t)MAX(0, MIN(15, l));
            }
        }
        uint8_t *q = y[i].qs;
        for (int j = 0; j < QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; l++)
                q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

/* ggml's make_qx_quants with rmse_type 1 and no importance weights:
 * symmetric L in [-nmax, nmax-1] (stored + nmax), weights x^2, the best of
 * 19 candidate scales by sum(w x l)^2 / sum(w l^2). */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float ax = fabs_f(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < 1e-15f) { /* GROUP_MAX_EPS */
        for (int i = 0; i < n; i++)
            L[i] = 0;
        return 0.0f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = MAX(-nmax, MIN(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = MAX(-nmax, MIN(nmax - 1, l));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                const int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + MAX(-nmax, MIN(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* quantize_row_q6_K_ref: per sub-block of 16, make_qx_quants(16, 32, ...);
 * the 16 scales become int8 against the one of largest magnitude
 * (iscale = -128/max_scale, d = 1/iscale, so d can be negative), then the
 * values are requantized with the stored scales. */
static void quant_q6_K_ref(const float *x, block_q6_K *y, int nb)
{
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int i = 0; i < nb; i++, x += QK_K) {
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int ib = 0; ib < QK_K / 16; ib++) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            const float abs_scale = fabs_f(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        if (max_abs_scale < 1e-15f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.0f / max_scale;
        y[i].d = f32_to_f16(1.0f / iscale);
        for (int ib = 0; ib < QK_K / 16; ib++)
            y[i].scales[ib] = (int8_t)MAX(-128, MIN(127, nearest_int(iscale * scales[ib])));
        for (int j = 0; j < QK_K / 16; j++) {
            const float d = h2f(y[i].d) * (float)y[i].scales[j];
            if (d == 0.0f)
                continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = nearest_int(x[16 * j + ii] / d);
                l = MAX(-32, MIN(31, l));
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int q1 = L[j + l], q2 = L[j + l + 32];
                const int q3 = L[j + l + 64], q4 = L[j + l + 96];
                ql[l] = (uint8_t)((q1 & 0xf) | ((q3 & 0xf) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0xf) | ((q4 & 0xf) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                  ((q4 >> 4) << 6));
            }
        }
    }
}

/* ---- activation quantizers -------------------------------------------------- */

/* One block of 32 as llama.cpp's AVX quantize_row_q8_0/q8_1: d = amax/127,
 * q = round-half-even(x * (127/amax)). Returns d (fp32). */
static float act_q8_32(const float *x, int8_t *qs)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float a = fabs_f(x[j]);
        if (a > amax)
            amax = a;
    }
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < 32; j++)
        qs[j] = (int8_t)round_even_i8(x[j] * id);
    return amax / 127.0f;
}

void quantize_act_q8_0(const float *x, block_q8_0 *y, int n)
{
    for (int i = 0; i < n / QK8_0; i++, x += QK8_0)
        y[i].d = f32_to_f16(act_q8_32(x, y[i].qs));
}

void quantize_act_q8_1(const float *x, block_q8_1 *y, int n)
{
    for (int i = 0; i < n / QK8_1; i++, x += QK8_1) {
        const float d = act_q8_32(x, y[i].qs);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++)
            sum += y[i].qs[j];
        y[i].d = f32_to_f16(d);
        y[i].s = f32_to_f16(d * (float)sum);
    }
}

void quantize_act_q8_K(const float *x, block_q8_K *y, int n)
{
    for (int i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float ax = fabs_f(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            const float v = iscale * x[j];
            /* |v| <= 127 for finite x; saturate anything else */
            const int q = fabs_f(v) < 4194304.0f ? nearest_int(v) : -128;
            y[i].qs[j] = (int8_t)MAX(-128, MIN(127, q));
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int k = 0; k < 16; k++)
                sum += y[i].qs[16 * j + k];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

int quantize_row(int type, const float *src, void *dst, int n)
{
    const struct qtype_info *t = qtype_get(type);
    if (!t || !t->can_quantize)
        return ERR_UNSUPPORTED;
    if (n <= 0 || n % t->block_elems != 0 || !src || !dst || misaligned(dst, type))
        return ERR_INVAL;
    switch (type) {
    case QT_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case QT_F16: gen_act_f16(src, dst, n); break;
    case QT_BF16: gen_act_bf16(src, dst, n); break;
    case QT_Q4_0: quant_q4_0_ref(src, dst, n / QK4_0); break;
    case QT_Q4_1: quant_q4_1_ref(src, dst, n / QK4_1); break;
    case QT_Q8_0: quant_q8_0_ref(src, dst, n / QK8_0); break;
    case QT_Q8_1: quant_q8_1_ref(src, dst, n / QK8_1); break;
    case QT_Q4_K: quant_q4_K_ref(src, dst, n / QK_K); break;
    case QT_Q6_K: quant_q6_K_ref(src, dst, n / QK_K); break;
    case QT_Q8_K: quantize_act_q8_K(src, dst, n); break;
    default: return ERR_UNSUPPORTED;
    }
    return 0;
}

/* ---- dot products (ggml's generic vec_dot) ---------------------------------- */

static float dot_q4_0(const block_q4_0 *x, const block_q8_0 *y, int nb)
{
    float sumf = 0.0f;
    for (int i = 0; i < nb; i++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < QK8_0 / 2; j++) {
            sumi0 += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
            sumi1 += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + QK8_0 / 2];
        }
        sumf += (float)(sumi0 + sumi1) * h2f(x[i].d) * h2f(y[i].d);
    }
    return sumf;
}

static float dot_q4_1(const block_q4_1 *x, const block_q8_1 *y, int nb)
{
    float sumf = 0.0f;
    for (int i = 0; i < nb; i++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < QK8_1 / 2; j++) {
            sumi0 += (x[i].qs[j] & 0x0f) * y[i].qs[j];
            sumi1 += (x[i].qs[j] >> 4) * y[i].qs[j + QK8_1 / 2];
        }
        sumf += (h2f(x[i].d) * h2f(y[i].d)) * (float)(sumi0 + sumi1) +
                h2f(x[i].m) * h2f(y[i].s);
    }
    return sumf;
}

static float dot_q8_0(const block_q8_0 *x, const block_q8_0 *y, int nb)
{
    float sumf = 0.0f;
    for (int i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++)
            sumi += x[i].qs[j] * y[i].qs[j];
        sumf += (float)sumi * (h2f(x[i].d) * h2f(y[i].d));
    }
    return sumf;
}

static float dot_q4_K(const block_q4_K *x, const block_q8_K *y, int nb)
{
    float sums[8] = {0};
    float sumf = 0.0f;
    for (int i = 0; i < nb; i++) {
        uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; j++)
            qk4_scale_min(j, x[i].scales, &sc[j], &mn[j]);
        int sumi = 0;
        for (int j = 0; j < QK_K / 16; j++)
            sumi += y[i].bsums[j] * mn[j / 2];
        /* aux32[l]: scaled products of the values e with e % 8 == l (the
         * lanes of ggml's generic code; integer, so exact in any order) */
        int32_t aux32[8] = {0};
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        for (int c = 0; c < 4; c++, q4 += 32, q8 += 64) {
            const int s_lo = sc[2 * c], s_hi = sc[2 * c + 1];
            for (int l = 0; l < 32; l++)
                aux32[l & 7] += s_lo * (q8[l] * (q4[l] & 0xf)) +
                                s_hi * (q8[l + 32] * (q4[l] >> 4));
        }
        const float d = h2f(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++)
            sums[l] += d * (float)aux32[l];
        const float dmin = h2f(x[i].dmin) * y[i].d;
        sumf -= dmin * (float)sumi;
    }
    for (int l = 0; l < 8; l++)
        sumf += sums[l];
    return sumf;
}

static float dot_q6_K(const block_q6_K *x, const block_q8_K *y, int nb)
{
    float sums[8] = {0};
    float sumf = 0.0f;
    for (int i = 0; i < nb; i++) {
        int32_t aux32[8] = {0};
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs, *sc = x[i].scales;
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, q8 += 128, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                int q[4];
                q6_K_quad(ql, qh, l, q);
                aux32[l & 7] += sc[is] * (q8[l] * q[0]) + sc[is + 2] * (q8[l + 32] * q[1]) +
                                sc[is + 4] * (q8[l + 64] * q[2]) + sc[is + 6] * (q8[l + 96] * q[3]);
            }
        }
        const float d = h2f(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++)
            sums[l] += d * (float)aux32[l];
    }
    for (int l = 0; l < 8; l++)
        sumf += sums[l];
    return sumf;
}

/* Element i of a float row of type F32, F16 or BF16 (type is a constant at
 * each call of dot_float_row, so the switch folds away). */
static inline __attribute__((always_inline)) float float_elem(int type, const void *row, int i)
{
    switch (type) {
    case QT_F16: return h2f(((const qf16 *)row)[i]);
    case QT_BF16: return bf16_to_f32(((const qbf16 *)row)[i]);
    default: return ((const float *)row)[i];
    }
}

/* The float rows' reference dot: each product rounded to float, the sum in
 * double. */
static inline __attribute__((always_inline)) float dot_float_row(int type, const void *w,
                                                                 const void *x, int n)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += (double)(float_elem(type, w, i) * float_elem(type, x, i));
    return (float)sum;
}

float qdot_row(int type, const void *wrow, const void *xq, int n)
{
    switch (type) {
    case QT_F32: return dot_float_row(QT_F32, wrow, xq, n);
    case QT_F16: return dot_float_row(QT_F16, wrow, xq, n);
    case QT_BF16: return dot_float_row(QT_BF16, wrow, xq, n);
    case QT_Q4_0: return dot_q4_0(wrow, xq, n / QK4_0);
    case QT_Q4_1: return dot_q4_1(wrow, xq, n / QK4_1);
    case QT_Q8_0: return dot_q8_0(wrow, xq, n / QK8_0);
    case QT_Q4_K: return dot_q4_K(wrow, xq, n / QK_K);
    case QT_Q6_K: return dot_q6_K(wrow, xq, n / QK_K);
    default: return 0.0f;
    }
}

/* ---- the generic kernel table's entries (simd.h) ------------------------------ */

float gen_dot_f32(const void *w, const void *x, int n) { return qdot_row(QT_F32, w, x, n); }
float gen_dot_f16(const void *w, const void *x, int n) { return qdot_row(QT_F16, w, x, n); }
float gen_dot_bf16(const void *w, const void *x, int n) { return qdot_row(QT_BF16, w, x, n); }
float gen_dot_q4_0(const void *w, const void *x, int n) { return dot_q4_0(w, x, n / QK4_0); }
float gen_dot_q4_1(const void *w, const void *x, int n) { return dot_q4_1(w, x, n / QK4_1); }
float gen_dot_q8_0(const void *w, const void *x, int n) { return dot_q8_0(w, x, n / QK8_0); }
float gen_dot_q4_K(const void *w, const void *x, int n) { return dot_q4_K(w, x, n / QK_K); }
float gen_dot_q6_K(const void *w, const void *x, int n) { return dot_q6_K(w, x, n / QK_K); }

void gen_act_f16(const float *x, void *xq, int n)
{
    qf16 *s = xq;
    for (int i = 0; i < n; i++)
        s[i] = f32_to_f16(x[i]);
}

void gen_act_bf16(const float *x, void *xq, int n)
{
    qbf16 *s = xq;
    for (int i = 0; i < n; i++)
        s[i] = f32_to_bf16(x[i]);
}

void gen_act_q8_0(const float *x, void *xq, int n) { quantize_act_q8_0(x, xq, n); }
void gen_act_q8_1(const float *x, void *xq, int n) { quantize_act_q8_1(x, xq, n); }
void gen_act_q8_K(const float *x, void *xq, int n) { quantize_act_q8_K(x, xq, n); }

/* ---- matrix-vector ------------------------------------------------------------ */

/* The weight type's info if (type, n) is a valid weight row, else NULL. */
static const struct qtype_info *weight_type(int type, int n, int *ret_rc)
{
    const struct qtype_info *t = qtype_get(type);
    if (!t || !t->is_weight) {
        *ret_rc = ERR_UNSUPPORTED;
        return NULL;
    }
    if (n <= 0 || n % t->block_elems != 0) {
        *ret_rc = ERR_INVAL;
        return NULL;
    }
    return t;
}

size_t qmatvec_scratch_bytes(int type, int n)
{
    int rc;
    const struct qtype_info *t = weight_type(type, n, &rc);
    if (!t || t->vec_dot_type == QT_F32)
        return 0;
    if (t->vec_dot_type == QT_Q8_0) /* room for any table's expansion */
        return simd_q8_expansion_at(n) + simd_q8_expansion_bytes(n);
    return row_bytes(qtype_get(t->vec_dot_type), n);
}

int qmatvec_prepare(int type, const float *x, int n, void *scratch)
{
    int rc;
    const struct qtype_info *t = weight_type(type, n, &rc);
    if (!t)
        return rc;
    if (!x)
        return ERR_INVAL;
    if (t->vec_dot_type == QT_F32)
        return 0; /* F32 rows use x as it is */
    if (!scratch || ((uintptr_t)scratch & 3))
        return ERR_INVAL;
    simd_act_fn act = g_simd->act[t->vec_dot_type];
    if (!act)
        return ERR_UNSUPPORTED;
    act(x, scratch, n);
    if (g_simd->expand[t->vec_dot_type])
        g_simd->expand[t->vec_dot_type](scratch, n);
    return 0;
}

struct qmv_job {
    struct qmat mats[QMAT_MAX];
    int n_mats;
    int start[QMAT_MAX + 1]; /* first row of each matrix in the joint row range */
    size_t row_bytes;
    int type, n;
    const void *xq;    /* prepared activations (qmatvec) */
    const float *x;    /* float activations (qmatvec_float) */
    size_t xq_stride;  /* bytes from one prepared activation row to the next */
    int nb;            /* activation rows */
    int pass;          /* activation rows per pass over a block (act_rows_per_pass) */
    int seg;           /* decode by dot_multi: rows per segment */
};

/* Rows per parallel index: claiming, dispatch and the matrix lookup are
 * paid once per block, not per row (a 1B model's token is ~400k rows). */
#define QMV_BLOCK 16

/* Joint rows i.. : their matrix (*k), the row within it, and how many of
 * them (at most max) it holds. */
static int job_rows(const struct qmv_job *j, int i, int max, int *k, int *row)
{
    int m = 0;
    while (m + 1 < j->n_mats && i >= j->start[m + 1])
        m++;
    *k = m;
    *row = i - j->start[m];
    return MIN(max, j->start[m + 1] - i);
}

/* Activation rows per pass of a prompt batch over a block's weight rows:
 * as many as stay in L1 while all those rows use them (the VNNI kernels
 * read about 2/3 of each prepared row). In one pass, all 32 rows of a batch
 * at n = 2048 (200 KB) came from L2 for every weight row: one core's Q4_0
 * rows of that width went from ~55 to ~72 multiply-adds per cycle in
 * passes of 8. */
#define ACT_PASS_BYTES ((size_t)72 << 10)

static int act_rows_per_pass(size_t stride, int nb)
{
    int rows = nb;
    while (rows > 4 && (size_t)rows * stride > ACT_PASS_BYTES)
        rows = rows > 16 ? 16 : rows / 2;
    return rows;
}

/* Block bi of the joint rows of W times every activation row: each weight
 * row is read from memory once; in a batch, the activation rows go in
 * passes that stay in L1 across the block's rows. */
static void qmv_block(int bi, void *ctx)
{
    const struct qmv_job *j = ctx;
    const int end = MIN((bi + 1) * QMV_BLOCK, j->start[j->n_mats]);
    simd_dot_fn dot = g_simd->dot[j->type];
    simd_dot_rows_fn rows = j->nb > 1 ? g_simd->dot_rows[j->type] : NULL;
    simd_dot_block_fn block = j->nb > 1 ? g_simd->dot_block[j->type] : NULL;
    for (int i = bi * QMV_BLOCK; i < end;) {
        int k, r;
        const int count = job_rows(j, i, end - i, &k, &r);
        const struct qmat *m = &j->mats[k];
        const uint8_t *first = (const uint8_t *)m->w + (size_t)r * j->row_bytes;
        if (block) {
            block(first, j->row_bytes, count, j->xq, j->xq_stride, j->n, j->nb, m->out + r,
                  (size_t)m->d);
        } else if (rows) {
            for (int b = 0; b < j->nb; b += j->pass) {
                const uint8_t *xq = (const uint8_t *)j->xq + (size_t)b * j->xq_stride;
                const uint8_t *row = first;
                for (int e = r; e < r + count; e++, row += j->row_bytes)
                    rows(row, xq, j->xq_stride, j->n, MIN(j->pass, j->nb - b),
                         m->out + (size_t)b * (size_t)m->d + e, (size_t)m->d);
            }
        } else {
            const uint8_t *row = first;
            for (int e = r; e < r + count; e++, row += j->row_bytes) {
                const uint8_t *xq = j->xq;
                for (int b = 0; b < j->nb; b++, xq += j->xq_stride)
                    m->out[(size_t)b * (size_t)m->d + (size_t)e] = dot(row, xq, j->n);
            }
        }
        i += count;
    }
}

/* Decoding with the table's dot_multi: the joint rows split into
 * DOT_MULTI_MAX segments, and block bi is MULTI_STEP rows from the same
 * place in each, read together, so every core streams from DOT_MULTI_MAX
 * places at once (and, as plat_parallel_for hands out contiguous shares,
 * each place in order). Q8_0 TinyLlama-shaped decode matmuls, 2 threads,
 * Zen 3, one row at a time and this alternated in one process: 74-88% ->
 * 82-91% of the read rate (better in 22 of 30 pairs); one core's rows from
 * memory ~15.6 -> ~17.6 GB/s. Steps of 4 and 16 rows measured no better;
 * a static split of the segments between threads lost more to uneven
 * cores than it gained. */
#define MULTI_STEP 8

static void qmv_block_multi(int bi, void *ctx)
{
    const struct qmv_job *j = ctx;
    const int total = j->start[j->n_mats];
    simd_dot_multi_fn multi = g_simd->dot_multi[j->type];
    for (int e = 0; e < MULTI_STEP; e++) {
        const void *w[DOT_MULTI_MAX];
        float *out[DOT_MULTI_MAX], res[DOT_MULTI_MAX];
        int count = 0;
        for (int s = 0; s < DOT_MULTI_MAX; s++) {
            const int64_t i = (int64_t)s * j->seg + bi * MULTI_STEP + e;
            if (i >= total)
                break; /* and so are the later segments' */
            int k, r;
            job_rows(j, (int)i, 1, &k, &r);
            w[count] = (const uint8_t *)j->mats[k].w + (size_t)r * j->row_bytes;
            out[count++] = j->mats[k].out + r;
        }
        if (!count)
            return;
        multi(w, count, j->xq, j->n, res);
        for (int c = 0; c < count; c++)
            *out[c] = res[c];
    }
}

int qmatmul_prepared_many(const struct qmat *mats, int n_mats, int type, const void *xq,
                          size_t xq_stride, int n, int nb)
{
    int rc;
    const struct qtype_info *t = weight_type(type, n, &rc);
    if (!t)
        return rc;
    if (n_mats < 1 || n_mats > QMAT_MAX || nb < 1 || !xq || ((uintptr_t)xq & 3) ||
        (nb > 1 && (xq_stride & 3)))
        return ERR_INVAL;
    struct qmv_job job = {.n_mats = n_mats, .row_bytes = row_bytes(t, n), .type = type, .n = n,
                          .xq = xq, .xq_stride = xq_stride, .nb = nb,
                          .pass = act_rows_per_pass(xq_stride, nb)};
    for (int k = 0; k < n_mats; k++) {
        if (mats[k].d < 0 || !mats[k].out || !mats[k].w || misaligned(mats[k].w, type) ||
            job.start[k] > INT_MAX - mats[k].d)
            return ERR_INVAL;
        job.mats[k] = mats[k];
        job.start[k + 1] = job.start[k] + mats[k].d;
    }
    const int total = job.start[n_mats];
    if (nb == 1 && g_simd->dot_multi[type]) {
        const int per = (total + DOT_MULTI_MAX - 1) / DOT_MULTI_MAX;
        job.seg = (per + MULTI_STEP - 1) / MULTI_STEP * MULTI_STEP;
        k_parallel_rows(job.seg / MULTI_STEP, n * DOT_MULTI_MAX * MULTI_STEP, qmv_block_multi,
                        &job);
        return 0;
    }
    k_parallel_rows((total + QMV_BLOCK - 1) / QMV_BLOCK, n * nb * QMV_BLOCK, qmv_block, &job);
    return 0;
}

int qmatmul_prepared(float *out, const void *w, int type, const void *xq, size_t xq_stride, int n,
                     int d, int nb)
{
    const struct qmat m = {out, w, d};
    return qmatmul_prepared_many(&m, 1, type, xq, xq_stride, n, nb);
}

int qmatvec_prepared(float *out, const void *w, int type, const void *xq, int n, int d)
{
    return qmatmul_prepared(out, w, type, xq, 0, n, d, 1);
}

int qmatvec(float *out, const void *w, int type, const float *x, int n, int d, void *scratch)
{
    int rc = qmatvec_prepare(type, x, n, scratch);
    if (rc != 0)
        return rc;
    return qmatvec_prepared(out, w, type, type == QT_F32 ? (const void *)x : scratch, n, d);
}

/* Values dequantized per step of the float path (a multiple of every block
 * size; 1 KiB of stack on the worker). */
#define QMVF_CHUNK 256

static void qmvf_row(int i, void *ctx)
{
    const struct qmv_job *j = ctx;
    const struct qtype_info *t = qtype_get(j->type);
    const uint8_t *row = (const uint8_t *)j->mats[0].w + (size_t)i * j->row_bytes;
    float buf[QMVF_CHUNK];
    float val = 0.0f;
    for (int k = 0; k < j->n; k += QMVF_CHUNK) {
        const int m = MIN(QMVF_CHUNK, j->n - k);
        deq_any(j->type, row + row_bytes(t, k), buf, m);
        for (int e = 0; e < m; e++)
            val += buf[e] * j->x[k + e];
    }
    j->mats[0].out[i] = val;
}

int qmatvec_float(float *out, const void *w, int type, const float *x, int n, int d)
{
    int rc;
    const struct qtype_info *t = weight_type(type, n, &rc);
    if (!t)
        return rc;
    if (d < 0 || !out || !w || !x || misaligned(w, type))
        return ERR_INVAL;
    struct qmv_job job = {.mats = {{out, w, d}}, .n_mats = 1, .row_bytes = row_bytes(t, n),
                          .type = type, .n = n, .x = x, .nb = 1};
    k_parallel_rows(d, n, qmvf_row, &job);
    return 0;
}
