/* test_quant.c - quant.c: block layouts, fp16/bf16, (de)quantization, qmatvec.
 *
 * Hand-built blocks are written byte by byte from the format descriptions
 * (independently of quant.c's packing code) and their dequantized values are
 * checked exactly. Round trips on random data are held to stated RMS bounds,
 * and qmatvec to a stated bound derived from the activation quantization.
 *
 * quant_oracle compares with llama.cpp itself when the oracle is installed
 * (tests/oracle/setup.sh; LLM_ORACLE_BINS overrides the directory): ggml's
 * libggml-base (reference quantizers, dequantizers, fp16/bf16, type table)
 * must agree bit for bit, as must the generic vec_dot of libggml-cpu-x64 (a
 * build without FMA contraction) and the AVX2 activation quantizers of
 * libggml-cpu-haswell. Without the oracle that test says so and passes. */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>

#include "errors.h"
#include "kernels.h"
#include "lib.h"
#include "quant.h"
#include "testlib.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* CPUID.1:ECX bit 29 */
static int cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
}

/* AVX2, FMA, F16C, BMI2 and the OS saving YMM state (what llama.cpp's
 * "haswell" CPU variant needs). */
static int cpu_has_haswell(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1) || !(c >> 12 & 1) || !(c >> 29 & 1))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6)
        return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 5 & 1) && (b >> 8 & 1);
}
#endif


static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform in [0, 1). */
static double urand(void)
{
    return (double)(rng() >> 11) * 0x1p-53;
}

/* Standard normal (Box-Muller). */
static float nrand(void)
{
    double u = urand(), v = urand();
    return (float)(sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v));
}

/* Weight-like data: normal, with one outlier in ~50 values. */
static void fill_weights(float *x, int n, float scale)
{
    for (int i = 0; i < n; i++) {
        float v = nrand() * scale;
        if (rng() % 50 == 0)
            v *= 6.0f;
        x[i] = v;
    }
}

/* ---- sizes and the table ------------------------------------------------------ */

TEST(quant_sizes)
{
    CHECK_INT(sizeof(block_q4_0), 18);
    CHECK_INT(sizeof(block_q4_1), 20);
    CHECK_INT(sizeof(block_q8_0), 34);
    CHECK_INT(sizeof(block_q8_1), 36);
    CHECK_INT(sizeof(block_q4_K), 144);
    CHECK_INT(sizeof(block_q6_K), 210);
    CHECK_INT(sizeof(block_q8_K), 292);
    CHECK_INT(offsetof(block_q4_K, scales), 4);
    CHECK_INT(offsetof(block_q4_K, qs), 16);
    CHECK_INT(offsetof(block_q6_K, qh), 128);
    CHECK_INT(offsetof(block_q6_K, scales), 192);
    CHECK_INT(offsetof(block_q6_K, d), 208);
    CHECK_INT(offsetof(block_q8_K, bsums), 260);

    static const struct { int id; const char *name; int be, bb, weight; } want[] = {
        {0, "f32", 1, 4, 1},       {1, "f16", 1, 2, 1},      {2, "q4_0", 32, 18, 1},
        {3, "q4_1", 32, 20, 1},    {8, "q8_0", 32, 34, 1},   {12, "q4_K", 256, 144, 1},
        {14, "q6_K", 256, 210, 1}, {30, "bf16", 1, 2, 1},    {6, "q5_0", 32, 22, 0},
        {13, "q5_K", 256, 176, 0}, {11, "q3_K", 256, 110, 0}, {23, "iq4_xs", 256, 136, 0},
        {15, "q8_K", 256, 292, 0}, {9, "q8_1", 32, 36, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        const struct qtype_info *t = qtype_get(want[i].id);
        CHECK_MSG(t != NULL, "id %d", want[i].id);
        if (!t)
            continue;
        CHECK_STR(t->name, want[i].name);
        CHECK_INT(t->block_elems, want[i].be);
        CHECK_INT(t->block_bytes, want[i].bb);
        CHECK_INT(t->is_weight, want[i].weight);
    }
    CHECK(qtype_get(4) == NULL); /* removed q4_2 */
    CHECK(qtype_get(31) == NULL);
    CHECK(qtype_get(-1) == NULL);
    CHECK(qtype_get(1000) == NULL);
    CHECK_STR(qtype_name(31), "unknown");
    CHECK_STR(qtype_name(QT_Q6_K), "q6_K");

    uint64_t b = 7;
    CHECK_INT(qtype_row_bytes(QT_Q4_K, 4096, &b), 0);
    CHECK_INT(b, 16 * 144);
    CHECK_INT(qtype_row_bytes(QT_Q4_0, 4096, &b), 0);
    CHECK_INT(b, 128 * 18);
    CHECK_INT(qtype_row_bytes(QT_BF16, 3, &b), 0);
    CHECK_INT(b, 6);
    b = 7;
    CHECK_INT(qtype_row_bytes(QT_Q4_K, 4096 + 32, &b), ERR_INVAL);
    CHECK_INT(qtype_row_bytes(QT_Q8_0, 0, &b), ERR_INVAL);
    CHECK_INT(qtype_row_bytes(99, 32, &b), ERR_NOT_FOUND);
    CHECK_INT(qtype_row_bytes(QT_F32, UINT64_MAX / 2, &b), ERR_RANGE);
    CHECK_INT(qtype_row_bytes(QT_Q6_K, (UINT64_MAX / 256) * 256, &b), 0); /* 2^63.7: fits */
    b = 7;
    CHECK_INT(qtype_row_bytes(QT_Q8_1, (UINT64_MAX / 32) * 32, &b), ERR_RANGE);
    CHECK_INT(b, 7);

    /* Q8_0 activations: 2 blocks (68 bytes, rounded up to 64) and room for
     * a kernel table's expansion (AVX2's 8-block oct and an int flag, 324
     * rounded up to 64) */
    CHECK_INT(qmatvec_scratch_bytes(QT_Q4_0, 64), 128 + 384);
    CHECK_INT(qmatvec_scratch_bytes(QT_Q8_0, 64), 128 + 384);
    CHECK_INT(qmatvec_scratch_bytes(QT_Q4_1, 64), 2 * 36);
    CHECK_INT(qmatvec_scratch_bytes(QT_Q4_K, 512), 2 * 292);
    CHECK_INT(qmatvec_scratch_bytes(QT_Q6_K, 512), 2 * 292);
    CHECK_INT(qmatvec_scratch_bytes(QT_F16, 10), 20);
    CHECK_INT(qmatvec_scratch_bytes(QT_BF16, 10), 20);
    CHECK_INT(qmatvec_scratch_bytes(QT_F32, 10), 0);
}

/* ---- fp16 / bf16 ---------------------------------------------------------------- */

/* The value of half h from its fields, in double (exact). */
static double half_value(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Round-to-nearest-even fp16 of a finite float, by search (reference). */
static uint16_t half_ref(float f)
{
    double v = fabs((double)f);
    uint16_t sign = (fbits(f) >> 16) & 0x8000;
    if (v >= 65520.0)
        return sign | 0x7c00;
    /* the largest half <= v, then compare distances */
    unsigned lo = 0, hi = 0x7bff;
    while (lo < hi) {
        unsigned mid = (lo + hi + 1) / 2;
        if (half_value((uint16_t)mid) <= v)
            lo = mid;
        else
            hi = mid - 1;
    }
    double a = half_value((uint16_t)lo), b = half_value((uint16_t)(lo + 1));
    if (lo == 0x7bff)
        b = 65536.0;
    unsigned r = (v - a < b - v) ? lo : (v - a > b - v) ? lo + 1 : (lo & 1) ? lo + 1 : lo;
    return (uint16_t)(sign | r);
}

TEST(quant_fp16_exhaustive)
{
    long bad_value = 0, bad_trip = 0, bad_nan = 0, bad_mid = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = f16_to_f32((uint16_t)h);
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31) {
            if (m == 0) {
                if (!(isinf(f) && (signbit(f) != 0) == ((h & 0x8000) != 0)))
                    bad_value++;
            } else {
                /* NaN: quiet, payload kept */
                if (!(isnan(f) && (fbits(f) & 0x400000) && ((fbits(f) >> 13) & 0x3ff) == (uint32_t)(m | 0x200)))
                    bad_nan++;
                if (f32_to_f16(f) != (uint16_t)(h | 0x200))
                    bad_nan++;
            }
            continue;
        }
        if ((double)f != half_value((uint16_t)h) || (signbit(f) != 0) != ((h & 0x8000) != 0))
            bad_value++;
        if (f32_to_f16(f) != h)
            bad_trip++;
        /* rounding at the midpoint to the next half up, and one float ulp
         * either side of it (every midpoint is exact in float) */
        if ((h & 0x7fff) < 0x7bff) {
            uint16_t up = (uint16_t)(h + 1);
            float mid = (float)((half_value((uint16_t)h) + half_value(up)) / 2);
            uint16_t even = (h & 1) ? up : (uint16_t)h;
            float below = nextafterf(mid, 0.0f), above = nextafterf(mid, (h & 0x8000) ? -INFINITY : INFINITY);
            if (f32_to_f16(mid) != even || f32_to_f16(below) != h || f32_to_f16(above) != up)
                bad_mid++;
        }
    }
    CHECK_INT(bad_value, 0);
    CHECK_INT(bad_trip, 0);
    CHECK_INT(bad_nan, 0);
    CHECK_INT(bad_mid, 0);

    /* hand-picked values */
    CHECK_INT(f32_to_f16(1.0f), 0x3c00);
    CHECK_INT(f32_to_f16(-2.0f), 0xc000);
    CHECK_INT(f32_to_f16(65504.0f), 0x7bff);
    CHECK_INT(f32_to_f16(65519.99f), 0x7bff);
    CHECK_INT(f32_to_f16(65520.0f), 0x7c00);
    CHECK_INT(f32_to_f16(1e10f), 0x7c00);
    CHECK_INT(f32_to_f16(-INFINITY), 0xfc00);
    CHECK_INT(f32_to_f16(0x1p-24f), 0x0001);
    CHECK_INT(f32_to_f16(0x1p-25f), 0x0000);           /* tie -> even (zero) */
    CHECK_INT(f32_to_f16(nextafterf(0x1p-25f, 1.0f)), 0x0001);
    CHECK_INT(f32_to_f16(0x3p-25f), 0x0002);           /* 1.5 * 2^-24: tie -> even */
    CHECK_INT(f32_to_f16(-0.0f), 0x8000);
    CHECK_INT(f32_to_f16(1e-30f), 0x0000);
    CHECK_INT(f32_to_f16(0x1.ffcp-15f), 0x0400);       /* rounds up into the normals */
    CHECK(f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(f16_to_f32(0x03ff) == 0x1.ff8p-15f);
    CHECK(f16_to_f32(0x3555) == 0x1.554p-2f);

    /* random floats against the search reference */
    long bad_rand = 0;
    for (int i = 0; i < 300000; i++) {
        float f;
        if (i & 1)
            f = bitsf((uint32_t)rng()) ; /* any bit pattern */
        else
            f = (float)((urand() * 2 - 1) * ldexp(1.0, (int)(rng() % 44) - 30));
        if (isnan(f))
            continue;
        if (f32_to_f16(f) != half_ref(f))
            bad_rand++;
    }
    CHECK_INT(bad_rand, 0);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) static uint16_t f16c_cvt(float f)
{
    return (uint16_t)_cvtss_sh(f, 0);
}
__attribute__((target("f16c"))) static float f16c_back(uint16_t h)
{
    return _cvtsh_ss(h);
}
#endif

/* Against the CPU's own conversion where it has F16C: all 65536 halves
 * back, and every 61st float bit pattern (NaN payloads included). */
TEST(quant_fp16_vs_f16c)
{
#if defined(__x86_64__)
    if (!cpu_has_f16c()) {
        fprintf(stderr, "  no F16C on this CPU; skipped\n");
        return;
    }
    long bad_back = 0, bad_fwd = 0;
    for (uint32_t h = 0; h < 65536; h++)
        if (fbits(f16c_back((uint16_t)h)) != fbits(f16_to_f32((uint16_t)h)))
            bad_back++;
    for (uint64_t u = 0; u <= 0xffffffffULL; u += 61)
        if (f16c_cvt(bitsf((uint32_t)u)) != f32_to_f16(bitsf((uint32_t)u)))
            bad_fwd++;
    CHECK_INT(bad_back, 0);
    CHECK_INT(bad_fwd, 0);
#endif
}

TEST(quant_bf16)
{
    long bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = bf16_to_f32((uint16_t)h);
        if (fbits(f) != h << 16)
            bad++;
        int is_nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        if (f32_to_bf16(f) != (is_nan ? (h | 0x40) : h))
            bad++;
    }
    CHECK_INT(bad, 0);
    /* round to nearest even on the 16 dropped bits, subnormals kept */
    CHECK_INT(f32_to_bf16(bitsf(0x3f808000)), 0x3f80); /* tie, even stays */
    CHECK_INT(f32_to_bf16(bitsf(0x3f818000)), 0x3f82); /* tie, odd rounds up */
    CHECK_INT(f32_to_bf16(bitsf(0x3f808001)), 0x3f81);
    CHECK_INT(f32_to_bf16(bitsf(0x3f807fff)), 0x3f80);
    CHECK_INT(f32_to_bf16(bitsf(0x00018000)), 0x0002); /* subnormal tie */
    CHECK_INT(f32_to_bf16(bitsf(0x7f7fffff)), 0x7f80); /* FLT_MAX -> inf */
    CHECK_INT(f32_to_bf16(bitsf(0xff800000)), 0xff80);
    CHECK_INT(f32_to_bf16(bitsf(0x7f800001)), 0x7fc0); /* sNaN -> quiet */
    CHECK_INT(f32_to_bf16(3.14159265f), 0x4049);
    long bad_rand = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)rng();
        float f = bitsf(u);
        if (isnan(f))
            continue;
        /* reference: nearer of the two truncations, ties to even */
        uint32_t lo = u & 0xffff0000u, rem = u & 0xffffu;
        uint32_t r = lo >> 16;
        if (rem > 0x8000 || (rem == 0x8000 && (r & 1)))
            r++;
        if (f32_to_bf16(f) != (uint16_t)r)
            bad_rand++;
    }
    CHECK_INT(bad_rand, 0);
}

/* ---- hand-built blocks ------------------------------------------------------------ */

static int same_floats(const float *a, const float *b, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        if (fbits(a[i]) != fbits(b[i])) {
            fprintf(stderr, "  %s: value %d is %.9g, want %.9g\n", what, i, a[i], b[i]);
            return 0;
        }
    }
    return 1;
}

TEST(quant_blocks_q4_q8)
{
    float y[64], want[64];

    /* Q4_0: d = 0.5 (0x3800); byte j holds q[j] (low) and q[j+16] (high) */
    uint8_t q40[2 * 18];
    for (int b = 0; b < 2; b++) {
        uint8_t *p = q40 + 18 * b;
        p[0] = 0x00;
        p[1] = b ? 0xbc : 0x38; /* second block d = -1.0 (0xbc00) */
        for (int j = 0; j < 16; j++) {
            p[2 + j] = (uint8_t)(j | ((15 - j) << 4));
            float d = b ? -1.0f : 0.5f;
            want[32 * b + j] = (float)(j - 8) * d;
            want[32 * b + j + 16] = (float)(7 - j) * d;
        }
    }
    CHECK_INT(dequantize_row(QT_Q4_0, q40, y, 64), 0);
    CHECK(same_floats(y, want, 64, "q4_0"));

    /* Q4_1: d = 0.25 (0x3400), m = -1.0 (0xbc00) */
    uint8_t q41[20] = {0x00, 0x34, 0x00, 0xbc};
    for (int j = 0; j < 16; j++) {
        q41[4 + j] = (uint8_t)((15 - j) | (j << 4));
        want[j] = (float)(15 - j) * 0.25f - 1.0f;
        want[j + 16] = (float)j * 0.25f - 1.0f;
    }
    CHECK_INT(dequantize_row(QT_Q4_1, q41, y, 32), 0);
    CHECK(same_floats(y, want, 32, "q4_1"));

    /* Q8_0: d = 1/16 (0x2c00), q = -128, -120, ..., 120 */
    uint8_t q80[34] = {0x00, 0x2c};
    for (int j = 0; j < 32; j++) {
        q80[2 + j] = (uint8_t)(int8_t)(-128 + 8 * j);
        want[j] = (float)(-128 + 8 * j) / 16.0f;
    }
    CHECK_INT(dequantize_row(QT_Q8_0, q80, y, 32), 0);
    CHECK(same_floats(y, want, 32, "q8_0"));

    /* F16 / BF16 literals */
    const uint16_t h[8] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555, 0x7c00, 0x4248};
    const float hv[8] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, -0.0f, 0x1.554p-2f, INFINITY, 3.140625f};
    CHECK_INT(dequantize_row(QT_F16, h, y, 8), 0);
    CHECK(same_floats(y, hv, 8, "f16"));
    const uint16_t bf[4] = {0x3f80, 0x4049, 0xc2f7, 0x0001};
    const float bv[4] = {1.0f, 3.140625f, -123.5f, 0x1p-133f};
    CHECK_INT(dequantize_row(QT_BF16, bf, y, 4), 0);
    CHECK(same_floats(y, bv, 4, "bf16"));
}

/* The test's own packer for the 12 scale bytes of Q4_K, written from the
 * format: bytes 0-3 = sc[0..3] (6 bits) | top 2 bits of sc[4..7] << 6;
 * bytes 4-7 = m[0..3] | top 2 bits of m[4..7] << 6; bytes 8-11 = low nibble
 * of sc[4..7] | low nibble of m[4..7] << 4. */
static void pack_k4_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t out[12])
{
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
        out[j + 4] = (uint8_t)(m[j] | ((m[j + 4] >> 4) << 6));
        out[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
}

TEST(quant_blocks_q4_K)
{
    /* sc/m chosen so that every packing path is used (values >= 16 in
     * sub-blocks 4-7 put bits in the top of bytes 0-7); bytes worked out by
     * hand: sc = 1 2 3 4 33 45 63 17, m = 5 6 7 8 40 50 60 9 */
    static const uint8_t sc[8] = {1, 2, 3, 4, 33, 45, 63, 17};
    static const uint8_t mn[8] = {5, 6, 7, 8, 40, 50, 60, 9};
    static const uint8_t hand[12] = {0x81, 0x82, 0xc3, 0x44, 0x85, 0xc6,
                                     0xc7, 0x08, 0x81, 0x2d, 0xcf, 0x91};
    uint8_t packed[12];
    pack_k4_scales(sc, mn, packed);
    CHECK(memcmp(packed, hand, 12) == 0);
    for (int j = 0; j < 8; j++) {
        uint8_t s, m;
        qk4_scale_min(j, hand, &s, &m);
        CHECK_MSG(s == sc[j] && m == mn[j], "sub-block %d: %d %d", j, s, m);
    }

    /* a block: d = 1.0 (0x3c00), dmin = 0.5 (0x3800); chunk c byte l holds
     * sub-block 2c value l (low nibble) and sub-block 2c+1 value l (high) */
    block_q4_K b;
    uint8_t raw[144] = {0x00, 0x3c, 0x00, 0x38};
    memcpy(raw + 4, hand, 12);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
            raw[16 + 32 * c + l] = (uint8_t)((l & 15) | (((c + l) & 15) << 4));
    memcpy(&b, raw, sizeof b);
    float y[256], want[256];
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            want[64 * c + l] = 1.0f * (float)sc[2 * c] * (float)(l & 15) - 0.5f * (float)mn[2 * c];
            want[64 * c + 32 + l] =
                (float)sc[2 * c + 1] * (float)((c + l) & 15) - 0.5f * (float)mn[2 * c + 1];
        }
    }
    CHECK_INT(dequantize_row(QT_Q4_K, &b, y, 256), 0);
    CHECK(same_floats(y, want, 256, "q4_K"));
    /* spot values by hand: e=1: 1*1 - 0.5*5 = -1.5; e=32+3 (sub-block 1,
     * nibble (0+3)&15=3): 2*3 - 0.5*6 = 3; e=192+32+1 (sub-block 7, nibble
     * (3+1)&15 = 4): 17*4 - 0.5*9 = 63.5 */
    CHECK(y[1] == -1.5f);
    CHECK(y[35] == 3.0f);
    CHECK(y[225] == 63.5f);

    /* random scale/min sets through the independent packer */
    for (int it = 0; it < 200; it++) {
        uint8_t s8[8], m8[8], p[12];
        for (int j = 0; j < 8; j++) {
            s8[j] = (uint8_t)(rng() & 63);
            m8[j] = (uint8_t)(rng() & 63);
        }
        pack_k4_scales(s8, m8, p);
        for (int j = 0; j < 8; j++) {
            uint8_t s, m;
            qk4_scale_min(j, p, &s, &m);
            if (s != s8[j] || m != m8[j]) {
                CHECK_MSG(0, "it %d sub-block %d", it, j);
                break;
            }
        }
    }
}

/* Places the 6-bit value q of element e into a Q6_K block, from the format:
 * h = e/128, g = (e%128)/32, l = e%32; low 4 bits in nibble g>>1 of
 * ql[64h + 32(g&1) + l], high 2 bits in bits 2g, 2g+1 of qh[32h + l]. */
static void q6_put(block_q6_K *b, int e, int q)
{
    int h = e / 128, g = (e % 128) / 32, l = e % 32;
    uint8_t *lo = &b->ql[64 * h + 32 * (g & 1) + l];
    if (g >> 1)
        *lo = (uint8_t)((*lo & 0x0f) | ((q & 15) << 4));
    else
        *lo = (uint8_t)((*lo & 0xf0) | (q & 15));
    uint8_t *hi = &b->qh[32 * h + l];
    *hi = (uint8_t)((*hi & ~(3 << (2 * g))) | ((q >> 4) << (2 * g)));
}

TEST(quant_blocks_q6_K)
{
    float y[256], want[256];
    /* literal bytes: ql[0] = 0x21, ql[32] = 0x00, qh[0] = 0xe4 = 11 10 01 00b.
     * e=0:  low nibble of ql[0] = 1, qh bits 0-1 = 0 -> q = 1  -> 1-32 = -31
     * e=32: low nibble of ql[32] = 0, qh bits 2-3 = 1 -> q = 16 -> -16
     * e=64: high nibble of ql[0] = 2, qh bits 4-5 = 2 -> q = 34 -> 2
     * e=96: high nibble of ql[32] = 0, qh bits 6-7 = 3 -> q = 48 -> 16
     * every other value has q = 0 -> -32. d = 0.5 (0x3800);
     * scales[k] = k - 8, used for values 16k..16k+15. */
    block_q6_K b;
    memset(&b, 0, sizeof b);
    b.ql[0] = 0x21;
    b.qh[0] = 0xe4;
    for (int k = 0; k < 16; k++)
        b.scales[k] = (int8_t)(k - 8);
    b.d = 0x3800;
    CHECK_INT(dequantize_row(QT_Q6_K, &b, y, 256), 0);
    CHECK(y[0] == 0.5f * -8 * -31);
    CHECK(y[32] == 0.5f * -6 * -16);
    CHECK(y[64] == 0.5f * -4 * 2);
    CHECK(y[96] == 0.5f * -2 * 16);
    CHECK(y[1] == 0.5f * -8 * -32);
    CHECK(y[255] == 0.5f * 7 * -32);

    /* every position: q(e) = (7e + 3) % 64, d = -0.25 (0xb400),
     * scales alternate in sign and reach -128 and 127 */
    memset(&b, 0, sizeof b);
    static const int8_t sc[16] = {1, -2, 3, -4, 127, -128, 16, -16, 5, 0, -1, 64, -64, 9, 100, -100};
    for (int e = 0; e < 256; e++) {
        int q = (7 * e + 3) % 64;
        q6_put(&b, e, q);
        want[e] = -0.25f * (float)sc[e / 16] * (float)(q - 32);
    }
    memcpy(b.scales, sc, 16);
    b.d = 0xb400;
    CHECK_INT(dequantize_row(QT_Q6_K, &b, y, 256), 0);
    CHECK(same_floats(y, want, 256, "q6_K"));

    /* Q8_K: d is a float, y = d * q */
    block_q8_K k8;
    memset(&k8, 0, sizeof k8);
    k8.d = 0.125f;
    for (int e = 0; e < 256; e++) {
        k8.qs[e] = (int8_t)(e - 128);
        want[e] = 0.125f * (float)(e - 128);
    }
    CHECK_INT(dequantize_row(QT_Q8_K, &k8, y, 256), 0);
    CHECK(same_floats(y, want, 256, "q8_K"));
}

/* Quantizers on values with a known exact answer. */
TEST(quant_known_quantize)
{
    float x[32], y[32];
    /* amax 127 makes d = 1 and id = 1: q = roundf(x) for the _ref quantizer
     * (half away from zero) but round-half-even for the activations */
    static const float v[8] = {-127.0f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.49f, 126.5f};
    static const int ref_q[8] = {-127, -2, -1, 1, 2, 3, 3, 127};
    static const int act_q[8] = {-127, -2, 0, 0, 2, 2, 3, 126};
    for (int j = 0; j < 32; j++)
        x[j] = v[j % 8];
    block_q8_0 r, a;
    CHECK_INT(quantize_row(QT_Q8_0, x, &r, 32), 0);
    quantize_act_q8_0(x, &a, 32);
    CHECK_INT(r.d, 0x3c00);
    CHECK_INT(a.d, 0x3c00);
    for (int j = 0; j < 8; j++) {
        CHECK_MSG(r.qs[j] == ref_q[j], "ref %d: %d", j, r.qs[j]);
        CHECK_MSG(a.qs[j] == act_q[j], "act %d: %d", j, a.qs[j]);
    }
    block_q8_1 a1;
    quantize_act_q8_1(x, &a1, 32);
    int sum = 0;
    for (int j = 0; j < 32; j++)
        sum += a1.qs[j];
    CHECK(memcmp(a1.qs, a.qs, 32) == 0);
    CHECK_INT(a1.s, f32_to_f16((float)sum));

    /* Q4_0: the largest magnitude -8 gives d = 1 and exact integers */
    for (int j = 0; j < 32; j++)
        x[j] = (float)(j % 16) - 8.0f;
    block_q4_0 q4;
    CHECK_INT(quantize_row(QT_Q4_0, x, &q4, 32), 0);
    CHECK_INT(q4.d, 0x3c00);
    CHECK_INT(dequantize_row(QT_Q4_0, &q4, y, 32), 0);
    CHECK(same_floats(y, x, 32, "q4_0 exact"));
    /* ... and +8 as the extreme gives d = -1, so -8 would need q = 16:
     * clamped to 15, i.e. -7 (ggml's asymmetric 4-bit range) */
    x[0] = 8.0f;
    x[1] = -8.0f;
    CHECK_INT(quantize_row(QT_Q4_0, x, &q4, 32), 0);
    CHECK_INT(q4.d, 0xbc00);
    CHECK_INT(dequantize_row(QT_Q4_0, &q4, y, 32), 0);
    CHECK(y[0] == 8.0f && y[1] == -7.0f && y[2] == x[2]);

    /* Q4_1: min -1, max 2.75: d = 0.25, every value on the grid */
    for (int j = 0; j < 32; j++)
        x[j] = -1.0f + 0.25f * (float)(j % 16);
    block_q4_1 q41;
    CHECK_INT(quantize_row(QT_Q4_1, x, &q41, 32), 0);
    CHECK_INT(q41.d, 0x3400);
    CHECK_INT(q41.m, 0xbc00);
    CHECK_INT(dequantize_row(QT_Q4_1, &q41, y, 32), 0);
    CHECK(same_floats(y, x, 32, "q4_1 exact"));

    /* all-zero input: every type gives zeros */
    float z[256] = {0}, out[256];
    _Alignas(64) uint8_t buf[512];
    static const int types[] = {QT_Q4_0, QT_Q4_1, QT_Q8_0, QT_Q4_K, QT_Q6_K, QT_F16, QT_BF16};
    for (size_t t = 0; t < ARRAY_LEN(types); t++) {
        memset(out, 0x55, sizeof out);
        CHECK_INT(quantize_row(types[t], z, buf, 256), 0);
        CHECK_INT(dequantize_row(types[t], buf, out, 256), 0);
        for (int i = 0; i < 256; i++)
            if (out[i] != 0.0f) {
                CHECK_MSG(0, "%s: %d is %g", qtype_name(types[t]), i, out[i]);
                break;
            }
    }
    block_q8_K k8;
    quantize_act_q8_K(z, &k8, 256);
    CHECK(k8.d == 0.0f && k8.bsums[3] == 0);
}

/* ---- round trips ----------------------------------------------------------------------- */

/* RMS of the round-trip error relative to the RMS of the data: N(0,1) with
 * one value in ~50 six times larger (weight-like outliers), 65536 values.
 * Measured on this data: f16 2.12e-4, bf16 1.66e-3, q8_0 8.26e-3,
 * q6_K 2.48e-2, q4_K 8.97e-2, q4_1 9.61e-2, q4_0 0.132 (Q4_0's symmetric
 * 4-bit grid wastes the step it clamps). The bounds leave ~10% headroom. */
TEST(quant_round_trip)
{
    static const struct { int type; double rms_bound; } cases[] = {
        {QT_F16, 2.4e-4},  {QT_BF16, 1.9e-3}, {QT_Q8_0, 9.1e-3}, {QT_Q6_K, 2.7e-2},
        {QT_Q4_K, 9.9e-2}, {QT_Q4_0, 0.145},  {QT_Q4_1, 0.106},
    };
    enum { N = 65536 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    uint8_t *q = malloc(N * 4);
    fill_weights(x, N, 1.0f);
    double sx = 0;
    for (int i = 0; i < N; i++)
        sx += (double)x[i] * x[i];
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        int t = cases[c].type;
        CHECK_INT(quantize_row(t, x, q, N), 0);
        CHECK_INT(dequantize_row(t, q, y, N), 0);
        double se = 0, worst_block = 0;
        int be = qtype_get(t)->block_elems;
        if (be == 1)
            be = 32;
        for (int b = 0; b < N / be; b++) {
            double bmax = 0, emax = 0;
            for (int i = b * be; i < (b + 1) * be; i++) {
                double e = (double)y[i] - x[i];
                se += e * e;
                bmax = fmax(bmax, fabs(x[i]));
                emax = fmax(emax, fabs(e));
            }
            if (bmax > 0)
                worst_block = fmax(worst_block, emax / bmax);
        }
        double rel = sqrt(se / sx);
        fprintf(stderr, "  %-5s relative RMS error %.3g, worst |err|/blockmax %.3g\n",
                qtype_name(t), rel, worst_block);
        CHECK_MSG(rel <= cases[c].rms_bound, "%s: %.4g > %.4g", qtype_name(t), rel,
                  cases[c].rms_bound);
        /* hard per-value bounds where the format gives one */
        if (t == QT_Q8_0)
            /* half a step, plus the fp16 rounding of d (up to 127 * 2^-11 steps) */
            CHECK(worst_block <= (0.5 + 127 * 0x1p-11) / 127 * 1.001);
        if (t == QT_Q4_0)
            /* one step at the clamp, plus the fp16 rounding of d */
            CHECK(worst_block <= (1.0 + 8 * 0x1p-11) / 8 * 1.001);
        if (t == QT_F16)
            CHECK(worst_block <= 0x1p-11);
    }
    free(x);
    free(y);
    free(q);
}

/* ---- matrix-vector --------------------------------------------------------------------- */

/* The bound on |qmatvec - sum w_deq * x| for one row: the activation
 * conversion's worst case, plus float rounding. Per activation block b (32
 * or 256 values) with amax_b = max |x|: rounding to the 8-bit grid moves each
 * x by at most amax_b/254; Q8_0/Q8_1 also round d to fp16 (2^-11 relative,
 * so at most 2^-11 |x| per value), and Q4_1's s = d*sum(q) term is rounded to
 * fp16 too (2^-11 |m| sum|x|, with |m| <= max |w| of the block). */
static double act_bound(int type, const float *wd, const float *x, int n)
{
    double sum_wx = 0, bound = 0;
    for (int i = 0; i < n; i++)
        sum_wx += fabs((double)wd[i] * x[i]);
    switch (type) {
    case QT_F32: return 1e-6 * sum_wx;
    case QT_F16: return (0x1p-11 * 1.01 + 1e-6) * sum_wx;
    case QT_BF16: return (0x1p-8 * 1.01 + 1e-6) * sum_wx;
    default: break;
    }
    int blk = (type == QT_Q4_K || type == QT_Q6_K) ? 256 : 32;
    for (int b = 0; b < n / blk; b++) {
        double amax = 0, sw = 0, wmax = 0, sx = 0;
        for (int i = b * blk; i < (b + 1) * blk; i++) {
            amax = fmax(amax, fabs(x[i]));
            sw += fabs(wd[i]);
            wmax = fmax(wmax, fabs(wd[i]));
            sx += fabs(x[i]);
        }
        bound += sw * amax / 254.0;
        if (type == QT_Q4_1)
            bound += 0x1p-11 * wmax * sx;
    }
    if (type != QT_Q4_K && type != QT_Q6_K)
        bound += 0x1p-11 * 1.01 * sum_wx;
    return bound * 1.01 + 1e-6 * sum_wx;
}

TEST(quant_qmatvec)
{
    static const int types[] = {QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q4_1, QT_Q4_K, QT_Q6_K};
    static const int ns[] = {256, 768, 2048};
    enum { D = 37 };
    for (size_t ni = 0; ni < ARRAY_LEN(ns); ni++) {
        int n = ns[ni];
        float *w = malloc(sizeof(float) * n * D), *x = malloc(sizeof(float) * n);
        float *wd = malloc(sizeof(float) * n);
        fill_weights(w, n * D, 0.05f);
        for (int i = 0; i < n; i++)
            x[i] = nrand() * (i % 97 == 0 ? 10.0f : 1.0f);
        for (size_t ti = 0; ti < ARRAY_LEN(types); ti++) {
            int t = types[ti];
            uint64_t rb;
            CHECK_INT(qtype_row_bytes(t, (uint64_t)n, &rb), 0);
            uint8_t *wq = malloc(rb * D);
            for (int r = 0; r < D; r++)
                CHECK_INT(quantize_row(t, w + (size_t)r * n, wq + rb * r, n), 0);
            size_t sb = qmatvec_scratch_bytes(t, n);
            void *scratch = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
            float out[D], out2[D], outf[D];
            CHECK_INT(qmatvec(out, wq, t, x, n, D, scratch), 0);
            CHECK_INT(qmatvec_float(outf, wq, t, x, n, D), 0);
            /* prepare once + prepared gives the same bits */
            CHECK_INT(qmatvec_prepare(t, x, n, scratch), 0);
            CHECK_INT(qmatvec_prepared(out2, wq, t, t == QT_F32 ? (void *)x : scratch, n, D), 0);
            CHECK(memcmp(out, out2, sizeof out) == 0);
            double worst_q = 0, worst_f = 0;
            for (int r = 0; r < D; r++) {
                CHECK_INT(dequantize_row(t, wq + rb * r, wd, n), 0);
                double ref = 0, sum_wx = 0;
                for (int i = 0; i < n; i++) {
                    ref += (double)wd[i] * x[i];
                    sum_wx += fabs((double)wd[i] * x[i]);
                }
                double bq = act_bound(t, wd, x, n);
                /* a left-to-right float sum: |err| <= (n-1) u sum|w x| */
                double bf = (double)n * 0x1p-24 * sum_wx;
                double eq = fabs(out[r] - ref), ef = fabs(outf[r] - ref);
                CHECK_MSG(eq <= bq, "%s n=%d row %d: qmatvec off by %g > %g", qtype_name(t), n, r, eq, bq);
                CHECK_MSG(ef <= bf, "%s n=%d row %d: float path off by %g > %g", qtype_name(t), n, r, ef, bf);
                worst_q = fmax(worst_q, eq / sum_wx);
                worst_f = fmax(worst_f, ef / sum_wx);
                /* each output is qdot_row of its row */
                float one = qdot_row(t, wq + rb * r, t == QT_F32 ? (void *)x : scratch, n);
                CHECK(fbits(one) == fbits(out[r]));
            }
            if (n == 2048)
                fprintf(stderr, "  %-5s n=%d: max |err|/sum|wx| qmatvec %.3g, float path %.3g\n",
                        qtype_name(t), n, worst_q, worst_f);
            free(scratch);
            free(wq);
        }
        free(w);
        free(x);
        free(wd);
    }
}

/* The float path on F32 weights is k_matmul, bit for bit (llama2.c order). */
TEST(quant_float_path_is_k_matmul)
{
    enum { N = 288, D = 19 };
    static float w[N * D], x[N], a[D], b[D];
    fill_weights(w, N * D, 0.1f);
    fill_weights(x, N, 1.0f);
    k_matmul(a, x, w, N, D);
    CHECK_INT(qmatvec_float(b, w, QT_F32, x, N, D), 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
}

TEST(quant_rejects)
{
    float x[512] = {0}, out[4] = {1, 2, 3, 4};
    _Alignas(64) uint8_t w[4096] = {0};
    _Alignas(64) uint8_t scratch[4096];
    /* n not a multiple of the block size */
    CHECK_INT(qmatvec(out, w, QT_Q4_0, x, 48, 2, scratch), ERR_INVAL);
    CHECK_INT(qmatvec(out, w, QT_Q4_K, x, 288, 2, scratch), ERR_INVAL);
    CHECK_INT(qmatvec(out, w, QT_Q6_K, x, 128, 2, scratch), ERR_INVAL);
    CHECK_INT(qmatvec_float(out, w, QT_Q8_0, x, 31, 2), ERR_INVAL);
    CHECK_INT(qmatvec_prepared(out, w, QT_Q4_1, scratch, 40, 2), ERR_INVAL);
    CHECK_INT(qmatvec(out, w, QT_F32, x, 0, 2, scratch), ERR_INVAL);
    CHECK_INT(qmatvec(out, w, QT_F16, x, -32, 2, scratch), ERR_INVAL);
    CHECK_INT(qmatvec(out, w, QT_Q8_0, x, 32, -1, scratch), ERR_INVAL);
    CHECK_INT(dequantize_row(QT_Q4_K, w, x, 100), ERR_INVAL);
    CHECK_INT(quantize_row(QT_Q6_K, x, w, 200), ERR_INVAL);
    CHECK_INT(qmatvec_scratch_bytes(QT_Q4_K, 100), 0);
    /* types this module does not compute with */
    CHECK_INT(qmatvec(out, w, 6 /* q5_0 */, x, 32, 2, scratch), ERR_UNSUPPORTED);
    CHECK_INT(qmatvec(out, w, QT_Q8_K, x, 256, 2, scratch), ERR_UNSUPPORTED);
    CHECK_INT(qmatvec(out, w, 99, x, 32, 2, scratch), ERR_UNSUPPORTED);
    CHECK_INT(dequantize_row(13 /* q5_K */, w, x, 256), ERR_UNSUPPORTED);
    CHECK_INT(quantize_row(20 /* iq4_nl */, x, w, 32), ERR_UNSUPPORTED);
    /* pointers: NULL, misaligned blocks, misaligned scratch */
    CHECK_INT(qmatvec(out, w + 1, QT_Q8_0, x, 32, 2, scratch), ERR_INVAL);
    CHECK_INT(qmatvec(out, w + 2, QT_F32, x, 32, 2, NULL), ERR_INVAL);
    CHECK_INT(qmatvec(out, w, QT_Q8_0, x, 32, 2, scratch + 2), ERR_INVAL);
    CHECK_INT(qmatvec(out, w, QT_Q8_0, x, 32, 2, NULL), ERR_INVAL);
    CHECK_INT(qmatvec(NULL, w, QT_Q8_0, x, 32, 2, scratch), ERR_INVAL);
    CHECK_INT(dequantize_row(QT_Q4_0, w + 1, x, 32), ERR_INVAL);
    /* nothing was written by the failed calls */
    CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3 && out[3] == 4);
    /* F32 needs no scratch; d = 0 is a valid empty product */
    CHECK_INT(qmatvec(out, w, QT_F32, x, 32, 2, NULL), 0);
    CHECK(out[0] == 0 && out[1] == 0);
    CHECK_INT(qmatvec(out, w, QT_Q4_K, x, 256, 0, scratch), 0);
}

/* Non-finite and extreme inputs never crash (UBSan watches the casts) and
 * give deterministic results. */
TEST(quant_extremes)
{
    float x[256];
    _Alignas(64) uint8_t buf[1024];
    static const int types[] = {QT_Q4_0, QT_Q4_1, QT_Q8_0, QT_Q4_K, QT_Q6_K, QT_Q8_1, QT_Q8_K};
    static const float specials[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 1e-40f, 1e-45f};
    for (size_t s = 0; s < ARRAY_LEN(specials); s++) {
        for (int i = 0; i < 256; i++)
            x[i] = (i % 5 == 0) ? specials[s] : (float)(i % 11) - 5.0f;
        for (size_t t = 0; t < ARRAY_LEN(types); t++)
            CHECK_INT(quantize_row(types[t], x, buf, 256), 0);
        quantize_act_q8_0(x, (block_q8_0 *)buf, 256);
        quantize_act_q8_1(x, (block_q8_1 *)buf, 256);
        quantize_act_q8_K(x, (block_q8_K *)buf, 256);
    }
    /* tiny values: d underflows in fp16 but the codes stay in range */
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 16) * 1e-36f;
    block_q8_0 q;
    CHECK_INT(quantize_row(QT_Q8_0, x, &q, 32), 0);
    CHECK_INT(q.d, 0);
    quantize_act_q8_0(x, &q, 32);
    CHECK_INT(q.qs[0], -127); /* x[0] = -16e-38 is the largest magnitude */
}

/* ---- llama.cpp itself, when installed ------------------------------------------------- */

typedef void (*q_fn)(const float *, void *, int64_t);
typedef void (*dq_fn)(const void *, float *, int64_t);
typedef void (*dot_fn)(int, float *, size_t, const void *, size_t, const void *, size_t, int);

static void *oracle_open(const char *dir, const char *lib)
{
    char path[1024];
    fmt_snprintf(path, sizeof path, "%s/%s", dir, lib);
    return dlopen(path, RTLD_NOW | RTLD_GLOBAL);
}

TEST(quant_oracle)
{
    const char *dir = getenv("LLM_ORACLE_BINS");
    if (!dir || !*dir)
        dir = "tests/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";
    void *base = oracle_open(dir, "libggml-base.so");
    void *cpu = base ? oracle_open(dir, "libggml-cpu-x64.so") : NULL;
    if (!base || !cpu) {
        /* make test installs the oracle first and sets LLM_ORACLE_REQUIRED */
        const char *req = getenv("LLM_ORACLE_REQUIRED");
        CHECK_MSG(!(req && *req == '1'), "llama.cpp oracle libraries not found in %s", dir);
        fprintf(stderr, "  llama.cpp oracle not installed (tests/oracle/setup.sh); skipped\n");
        return;
    }
    /* the type table */
    const char *(*type_name)(int) = (const char *(*)(int))dlsym(base, "ggml_type_name");
    int64_t (*blck_size)(int) = (int64_t(*)(int))dlsym(base, "ggml_blck_size");
    size_t (*type_size)(int) = (size_t(*)(int))dlsym(base, "ggml_type_size");
    CHECK(type_name && blck_size && type_size);
    if (!type_name || !blck_size || !type_size)
        return;
    for (int id = 0; id < QT_ID_LIMIT; id++) {
        const struct qtype_info *t = qtype_get(id);
        if (!t)
            continue;
        CHECK_STR(t->name, type_name(id));
        CHECK_MSG(blck_size(id) == t->block_elems && type_size(id) == (size_t)t->block_bytes,
                  "%s: %lld/%zu", t->name, (long long)blck_size(id), type_size(id));
    }
    /* fp16 / bf16 (ggml's portable C: a NaN becomes 0x7e00) */
    uint16_t (*o_f2h)(float) = (uint16_t(*)(float))dlsym(base, "ggml_fp32_to_fp16");
    float (*o_h2f)(uint16_t) = (float (*)(uint16_t))dlsym(base, "ggml_fp16_to_fp32");
    uint16_t (*o_f2b)(float) = (uint16_t(*)(float))dlsym(base, "ggml_fp32_to_bf16");
    CHECK(o_f2h && o_h2f && o_f2b);
    if (!o_f2h || !o_h2f || !o_f2b)
        return;
    long bad = 0;
    for (uint32_t h = 0; h < 65536; h++)
        if (fbits(o_h2f((uint16_t)h)) != fbits(f16_to_f32((uint16_t)h)))
            bad++;
    for (uint64_t u = 0; u <= 0xffffffffULL; u += 997) {
        float f = bitsf((uint32_t)u);
        if ((!isnan(f) && o_f2h(f) != f32_to_f16(f)) || o_f2b(f) != f32_to_bf16(f))
            bad++;
    }
    CHECK_INT(bad, 0);

    /* reference quantizers and dequantizers, bit for bit */
    static const struct { int type; const char *q, *dq; } fns[] = {
        {QT_Q4_0, "quantize_row_q4_0_ref", "dequantize_row_q4_0"},
        {QT_Q4_1, "quantize_row_q4_1_ref", "dequantize_row_q4_1"},
        {QT_Q8_0, "quantize_row_q8_0_ref", "dequantize_row_q8_0"},
        {QT_Q8_1, "quantize_row_q8_1_ref", NULL},
        {QT_Q4_K, "quantize_row_q4_K_ref", "dequantize_row_q4_K"},
        {QT_Q6_K, "quantize_row_q6_K_ref", "dequantize_row_q6_K"},
        {QT_Q8_K, "quantize_row_q8_K_ref", "dequantize_row_q8_K"},
    };
    enum { N = 2048 };
    static float x[N], y1[N], y2[N], xa[N];
    static _Alignas(64) uint8_t b1[N * 4], b2[N * 4];
    for (size_t k = 0; k < ARRAY_LEN(fns); k++) {
        q_fn q = (q_fn)dlsym(base, fns[k].q);
        dq_fn dq = fns[k].dq ? (dq_fn)dlsym(base, fns[k].dq) : NULL;
        CHECK_MSG(q && (dq || !fns[k].dq), "%s", fns[k].q);
        if (!q)
            continue;
        uint64_t rb;
        qtype_row_bytes(fns[k].type, N, &rb);
        long qbad = 0, dbad = 0;
        for (int it = 0; it < 40; it++) {
            fill_weights(x, N, it % 3 == 0 ? 1e-3f : it % 3 == 1 ? 1.0f : 300.0f);
            if (it % 4 == 3)
                for (int i = 0; i < N; i++)
                    x[i] = fabsf(x[i]) + 0.1f; /* all positive: min terms */
            memset(b1, 0, rb);
            memset(b2, 0, rb);
            q(x, b1, N);
            quantize_row(fns[k].type, x, b2, N);
            if (memcmp(b1, b2, rb) != 0)
                qbad++;
            if (dq) {
                /* random bytes, with finite scales (fp16 exponents < 31) */
                for (size_t i = 0; i < rb; i++)
                    b1[i] = (uint8_t)rng();
                if (fns[k].type == QT_Q8_K)
                    for (int b = 0; b < N / 256; b++) {
                        float d = (float)(urand() - 0.5);
                        memcpy(b1 + 292 * b, &d, 4);
                    }
                else
                    for (size_t i = 1; i < rb; i += 2)
                        b1[i] &= 0x7b;
                dq(b1, y1, N);
                dequantize_row(fns[k].type, b1, y2, N);
                if (memcmp(y1, y2, sizeof y1) != 0)
                    dbad++;
            }
        }
        CHECK_MSG(qbad == 0, "%s: %ld rows differ", fns[k].q, qbad);
        CHECK_MSG(dbad == 0, "%s: %ld rows differ", fns[k].dq, dbad);
    }

    /* the generic vec_dot of a build without FMA contraction, bit for bit */
    static const struct { int type; const char *dot; } dots[] = {
        {QT_Q4_0, "ggml_vec_dot_q4_0_q8_0_generic"}, {QT_Q4_1, "ggml_vec_dot_q4_1_q8_1_generic"},
        {QT_Q8_0, "ggml_vec_dot_q8_0_q8_0_generic"}, {QT_Q4_K, "ggml_vec_dot_q4_K_q8_K_generic"},
        {QT_Q6_K, "ggml_vec_dot_q6_K_q8_K_generic"}, {QT_F16, "ggml_vec_dot_f16"},
        {QT_BF16, "ggml_vec_dot_bf16"},              {QT_F32, "ggml_vec_dot_f32"},
    };
    void (*cpu_init)(void) = (void (*)(void))dlsym(cpu, "ggml_cpu_init");
    if (cpu_init)
        cpu_init();
    static _Alignas(64) uint8_t xq[N * 4];
    for (size_t k = 0; k < ARRAY_LEN(dots); k++) {
        dot_fn dot = (dot_fn)dlsym(cpu, dots[k].dot);
        CHECK_MSG(dot != NULL, "%s", dots[k].dot);
        if (!dot)
            continue;
        long dbad = 0;
        for (int it = 0; it < 40; it++) {
            fill_weights(x, N, 0.05f);
            fill_weights(xa, N, 1.0f);
            quantize_row(dots[k].type, x, b1, N);
            qmatvec_prepare(dots[k].type, xa, N, xq);
            const void *xv = dots[k].type == QT_F32 ? (const void *)xa : xq;
            float theirs = 0, mine = qdot_row(dots[k].type, b1, xv, N);
            dot(N, &theirs, 0, b1, 0, xv, 0, 1);
            if (fbits(theirs) != fbits(mine))
                dbad++;
        }
        CHECK_MSG(dbad == 0, "%s: %ld of 40 differ", dots[k].dot, dbad);
    }

    /* llama.cpp's x86 AVX2 activation quantizers (if this CPU runs them) */
#if defined(__x86_64__)
    if (!cpu_has_haswell()) {
        fprintf(stderr, "  no AVX2: x86 activation quantizers not compared\n");
        return;
    }
    void *hsw = oracle_open(dir, "libggml-cpu-haswell.so");
    CHECK(hsw != NULL);
    if (!hsw)
        return;
    static const struct { int type; const char *q; } acts[] = {
        {QT_Q8_0, "quantize_row_q8_0"}, {QT_Q8_1, "quantize_row_q8_1"}, {QT_Q8_K, "quantize_row_q8_K"}};
    for (size_t k = 0; k < ARRAY_LEN(acts); k++) {
        q_fn q = (q_fn)dlsym(hsw, acts[k].q);
        CHECK_MSG(q != NULL, "%s", acts[k].q);
        if (!q)
            continue;
        uint64_t rb;
        qtype_row_bytes(acts[k].type, N, &rb);
        long abad = 0;
        for (int it = 0; it < 100; it++) {
            fill_weights(x, N, it % 2 ? 1.0f : 0.01f);
            if (it % 5 == 0) /* values on exact halves: rounding ties */
                for (int i = 0; i < N; i++)
                    x[i] = (float)((int)(x[i] * 400.0f)) * 0.5f;
            memset(b1, 0, rb);
            memset(b2, 0, rb);
            q(x, b1, N);
            if (acts[k].type == QT_Q8_0)
                quantize_act_q8_0(x, (block_q8_0 *)b2, N);
            else if (acts[k].type == QT_Q8_1)
                quantize_act_q8_1(x, (block_q8_1 *)b2, N);
            else
                quantize_act_q8_K(x, (block_q8_K *)b2, N);
            if (memcmp(b1, b2, rb) != 0)
                abad++;
        }
        CHECK_MSG(abad == 0, "%s: %ld of 100 rows differ", acts[k].q, abad);
    }
#endif
}
