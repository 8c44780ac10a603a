/* mathf.c - expf, logf, powf, sinf, cosf, sqrtf for the freestanding core.
 *
 * Goal: the correctly rounded float result, computed in double. The argument
 * reductions are exact (split constants, Cody-Waite; integer Payne-Hanek for
 * huge sinf/cosf arguments). expf and logf carry a double-double to ~2^-58
 * and round it to float in one step (round-to-odd), powf forms y*log(x) as a
 * double-double, sinf/cosf keep ~2^-53. A result can only be misrounded when
 * the exact value lies within that error of a midpoint between two floats.
 * Checked over all 2^32 inputs: expf and logf are correctly rounded
 * everywhere, sinf misrounds 2 inputs (+-0x1.33333p+13) and cosf 4
 * (+-0x1.3170fp+63, +-0x1.2b9622p+67), each within 1e-9 ULP of a midpoint;
 * powf was correctly rounded on ~70M tested pairs.
 *
 * Tables and split constants were computed with 400-bit arithmetic
 * (mpmath): 2^(j/32) as hi+lo; for the log, c_i = 1 + (i-1/2)/32,
 * inv = 1/c_i rounded to 24 bits and -log(inv) as hi+lo; ln2, ln2/32 and
 * pi/2 cut into parts with trailing zeros; the bits of 2/pi.
 *
 * Freestanding: no libm, no libgcc calls (check with nm on the EFI object).
 * Assumes round-to-nearest (the default on UEFI and Linux). */
#include <stdint.h>

#include "mathf.h"

typedef unsigned __int128 u128;

static inline uint64_t d2u(double d)
{
    union { double d; uint64_t u; } b = {.d = d};
    return b.u;
}

static inline double u2d(uint64_t u)
{
    union { uint64_t u; double d; } b = {.u = u};
    return b.d;
}

static inline uint32_t f2u(float f)
{
    union { float f; uint32_t u; } b = {.f = f};
    return b.u;
}

static inline float u2f(uint32_t u)
{
    union { uint32_t u; float f; } b = {.u = u};
    return b.f;
}

/* 2^k for a k in the normal exponent range. */
static inline double pow2i(int k)
{
    return u2d((uint64_t)(k + 1023) << 52);
}

/* (z + SHIFT) - SHIFT rounds z (|z| < 2^51) to an integer, ties to even. */
static const double SHIFT = 0x1.8p52;

/* s + *e == a + b exactly (Knuth's TwoSum, no ordering needed). */
static inline double two_sum(double a, double b, double *e)
{
    double s = a + b, bb = s - a;
    *e = (a - (s - bb)) + (b - bb);
    return s;
}

/* High 26 bits of a (Veltkamp); a - hi is exact and fits 27 bits, so each
 * half times a <= 27-bit factor is an exact double product. */
static inline double split_hi(double a)
{
    double c = a * 0x1.0000002p27; /* 2^27 + 1 */
    return c - (c - a);
}

/* Rounds a double to float; values at or beyond FLT_MAX + ulp/2 give inf
 * explicitly rather than relying on an out-of-range conversion. */
static inline float to_float(double y)
{
    if (y >= 0x1.ffffffp127)
        return u2f(0x7f800000);
    if (y <= -0x1.ffffffp127)
        return u2f(0xff800000);
    return (float)y;
}

/* Rounds hi + lo (|lo| <= ulp(hi)/2) to float with one rounding: make hi
 * the round-to-odd double of hi + lo (truncate, then set the sticky last
 * bit if inexact), which double-to-float rounding then cannot misround,
 * also into float subnormals. */
static inline float dd_to_float(double hi, double lo)
{
    if (lo != 0.0) {
        uint64_t u = d2u(hi);
        if ((lo < 0.0) != (hi < 0.0))
            u -= 1; /* |hi + lo| < |hi|: step toward zero */
        hi = u2d(u | 1);
    }
    return to_float(hi);
}

static inline float f_nan(void)
{
    return u2f(0x7fc00000);
}

/* Internal, so -fpic code does not call the exported m_isinf via the PLT. */
static inline int is_inf(float x)
{
    return (f2u(x) & 0x7fffffff) == 0x7f800000;
}

/* ---- exp ------------------------------------------------------------------ */

/* 2^(j/32) = hi + lo, j = 0..31. */
static const struct { double hi, lo; } EXP2_TAB[32] = {
    {0x1.0000000000000p+0, 0x0p+0},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54},
    {0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55},
    {0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55},
    {0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54},
    {0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54},
    {0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57},
    {0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56},
    {0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54},
    {0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54},
    {0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56},
    {0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55},
    {0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56},
    {0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55},
    {0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54},
    {0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54},
    {0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54},
};
static const double EXP_INV_L = 0x1.71547652b82fep+5; /* 32/ln2 */
/* ln2/32 = EXP_L1 + EXP_L2; EXP_L1 has 37 bits so k*EXP_L1 is exact for
 * |k| < 2^16 (|x| < 1400). */
static const double EXP_L1 = 0x1.62e42fefa0000p-6;
static const double EXP_L2 = 0x1.cf79abc9e3b3ap-45;

/* exp(hi + lo) = (return value + *ret_lo) * 2^*ret_e for |lo| << |hi|,
 * hi in [-746, 710]; the pair is in [0.98, 2.02) with relative error
 * ~2^-58. With x = k ln2/32 + r, |r| <= ln2/64: exp(x) = 2^(k/32) e^r,
 * e^r by Taylor to degree 7 (truncation below 2^-66). */
static double exp_core(double hi, double lo, double *ret_lo, int *ret_e)
{
    double kd = (hi * EXP_INV_L + SHIFT) - SHIFT;
    int64_t k = (int64_t)kd;
    /* hi - kd*EXP_L1 is exact (Sterbenz); kd*EXP_L2 is tiny. */
    double r = (hi - kd * EXP_L1) - kd * EXP_L2 + lo;
    double q = r + r * r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 +
               r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040))))));
    uint64_t j = (uint64_t)k & 31;
    double th = EXP2_TAB[j].hi, tl = EXP2_TAB[j].lo;
    double tq = th * q + tl * (1.0 + q);
    double y = th + tq; /* Fast2Sum: |th| > |tq| */
    *ret_lo = (th - y) + tq;
    *ret_e = (int)((k - (int64_t)j) / 32);
    return y;
}

double m_exp(double x)
{
    double lo;
    int e;
    if (x != x)
        return x + x;
    if (x > 709.8)
        return u2d(0x7ff0000000000000ULL);
    if (x < -746.0)
        return 0.0;
    double y = exp_core(x, 0.0, &lo, &e) + lo;
    /* Scale in two exact-range steps so only the last multiply rounds, also
     * into subnormals or overflow. */
    int e1 = e / 2;
    return y * pow2i(e1) * pow2i(e - e1);
}

float m_expf(float x)
{
    if (x != x)
        return x + x;
    if (x > 0x1.62e42ep6f) /* largest float with expf(x) < FLT_MAX+ulp/2 */
        return u2f(0x7f800000);
    if (x < -104.0f) /* exp(-104) < 2^-150: rounds to +0 */
        return 0.0f;
    double lo;
    int e;
    double y = exp_core(x, 0.0, &lo, &e);
    double sc = pow2i(e); /* e >= -151: the scaled pair stays exact */
    return dd_to_float(y * sc, lo * sc);
}

/* ---- log ------------------------------------------------------------------ */

/* Interval i of z in [1-1/64, 2-1/32): inv (24 bits) ~ 1/centre and
 * -log(inv) = hi + lo. Intervals 0 and 1 ([1-1/64, 1+1/32)) use inv = 1 so
 * that log(x) for x near 1 is r itself, with no cancellation. */
static const struct { double inv, hi, lo; } LOG_TAB[32] = {
    {0x1p+0, 0x0p+0, 0x0p+0},
    {0x1p+0, 0x0p+0, 0x0p+0},
    {0x1.e9131ap-1, 0x1.77459be32dd23p-5, 0x1.58d3f33863dffp-59},
    {0x1.dae608p-1, 0x1.341d7461bd1ddp-4, 0x1.29980db65a305p-60},
    {0x1.cd8568p-1, 0x1.a926d8a4ad570p-4, -0x1.af42b3ab91a14p-60},
    {0x1.c0e07p-1, 0x1.0d77e8cd08e5ap-3, 0x1.9a5dc63e58601p-57},
    {0x1.b4e81cp-1, 0x1.44d2b38cb7d29p-3, -0x1.0585316b9acb0p-60},
    {0x1.a98ef6p-1, 0x1.7ab890410d909p-3, 0x1.fe36b2d74b0b3p-59},
    {0x1.9ec8eap-1, 0x1.af3c91880bffep-3, 0x1.e672e728be6fdp-58},
    {0x1.948b1p-1, 0x1.e27075e2af2e7p-3, -0x1.61578157356b5p-59},
    {0x1.8acb9p-1, 0x1.0a3250a7390f0p-2, -0x1.0460195491c17p-57},
    {0x1.818182p-1, 0x1.22941e6cf7969p-2, 0x1.442847cb75d73p-58},
    {0x1.78a4c8p-1, 0x1.3a64c596945eap-2, -0x1.8d0ca31369da2p-58},
    {0x1.702e06p-1, 0x1.51aad7c2df82ep-2, -0x1.0db0aebabfed6p-60},
    {0x1.681682p-1, 0x1.686c8039b14b4p-2, 0x1.d90af1d813902p-56},
    {0x1.605816p-1, 0x1.7eaf83c82afc3p-2, 0x1.9ace979ee7ea6p-56},
    {0x1.58ed24p-1, 0x1.94793ee21170bp-2, 0x1.093354a29efd8p-56},
    {0x1.51d07ep-1, 0x1.a9cecbb9a0852p-2, 0x1.e90a5c3be4ccap-59},
    {0x1.4afd6ap-1, 0x1.beb4d9ea71b7cp-2, -0x1.9e78b213bba40p-60},
    {0x1.446f86p-1, 0x1.d32fe8f00ebd8p-2, -0x1.7084db36e5b19p-56},
    {0x1.3e22ccp-1, 0x1.e744257d68789p-2, -0x1.5209729662683p-56},
    {0x1.381382p-1, 0x1.faf586678f32cp-2, -0x1.14146dbc084e4p-60},
    {0x1.323e34p-1, 0x1.0723e6d1cdf45p-1, -0x1.6d43417021ee4p-56},
    {0x1.2c9fb4p-1, 0x1.109f3b52d4c9fp-1, 0x1.078fc243d8979p-55},
    {0x1.27350cp-1, 0x1.19ee6a767c971p-1, 0x1.c172f4818b233p-55},
    {0x1.21fb78p-1, 0x1.23130d9bebf43p-1, -0x1.b48725e0ca2c3p-55},
    {0x1.1cf06ap-1, 0x1.2c0ea05c48e95p-1, 0x1.a7aa0fb3cd751p-57},
    {0x1.181182p-1, 0x1.34e28831ce1dep-1, 0x1.fd7199370f979p-58},
    {0x1.135c82p-1, 0x1.3d9024ef15706p-1, 0x1.d4107ddfe0b0bp-55},
    {0x1.0ecf56p-1, 0x1.4618bd89c5ecap-1, 0x1.982dfbb3acf9ap-55},
    {0x1.0a681p-1, 0x1.4e7d825b75bb7p-1, -0x1.1a7b28787e760p-56},
    {0x1.0624dep-1, 0x1.56bf9bc33f3a3p-1, 0x1.a87172c5b90c1p-55},
};
/* ln2 = LN2_HI + LN2_LO; LN2_HI has 42 bits so k*LN2_HI is exact. */
static const double LN2_HI = 0x1.62e42fefa3800p-1;
static const double LN2_LO = 0x1.ef35793c76730p-45;
static const uint64_t LOG_OFF = 0x3fef800000000000ULL; /* 1 - 1/64 */

/* log(x) = return value + *ret_lo for a positive finite double x, relative
 * error ~2^-62 (the double-double keeps powf's y*log(x) exact enough).
 * x = 2^k z; r = z*inv - 1 is computed exactly in two parts (|r| <= 1/32),
 * log(x) = k ln2 - log(inv) + log1p(r), log1p by Taylor to r^12. */
static double log_core(double x, double *ret_lo)
{
    uint64_t u = d2u(x);
    int k = 0;
    if (u < 0x0010000000000000ULL) { /* subnormal: normalise first */
        u = d2u(x * 0x1p52);
        k = -52;
    }
    uint64_t tmp = u - LOG_OFF;
    /* top 12 bits of tmp, sign-extended, are the exponent of x/z */
    k += (int)((tmp >> 52) ^ 0x800) - 0x800;
    unsigned i = (unsigned)(tmp >> 47) & 31;
    double z = u2d(u - (tmp & 0xfff0000000000000ULL));
    double inv = LOG_TAB[i].inv;
    double zh = split_hi(z), zl = z - zh;
    double rh = zh * inv - 1.0; /* exact: 50-bit product, then Sterbenz */
    double rl = zl * inv;       /* exact: 51-bit product */
    double r = rh + rl;
    double p = r * r * (-0.5 + r * (1.0 / 3 + r * (-0.25 + r * (0.2 +
               r * (-1.0 / 6 + r * (1.0 / 7 + r * (-0.125 + r * (1.0 / 9 +
               r * (-0.1 + r * (1.0 / 11 + r * (-1.0 / 12)))))))))));
    double e1, e2;
    double s = two_sum(k * LN2_HI, LOG_TAB[i].hi, &e1);
    s = two_sum(s, rh, &e2);
    double lo = (k * LN2_LO + LOG_TAB[i].lo) + (rl + p) + (e1 + e2);
    double hi = s + lo;
    *ret_lo = lo - (hi - s);
    return hi;
}

double m_log(double x)
{
    double lo;
    if (x != x)
        return x + x;
    if (x == 0.0)
        return -u2d(0x7ff0000000000000ULL);
    if (x < 0.0)
        return (double)f_nan();
    if (x == u2d(0x7ff0000000000000ULL))
        return x;
    return log_core(x, &lo);
}

float m_logf(float x)
{
    double lo;
    if (x != x)
        return x + x;
    if (x == 0.0f)
        return u2f(0xff800000);
    if (x < 0.0f)
        return f_nan();
    if (is_inf(x))
        return x;
    double hi = log_core(x, &lo);
    return dd_to_float(hi, lo);
}

/* ---- pow ------------------------------------------------------------------ */

/* 0: y is not an integer, 1: odd integer, 2: even integer (y finite). */
static int int_class(float y)
{
    uint32_t u = f2u(y) & 0x7fffffff;
    int e = (int)(u >> 23);
    if (u == 0 || e > 150) /* |y| >= 2^24: even */
        return 2;
    if (e < 127) /* 0 < |y| < 1 */
        return 0;
    uint32_t frac_bits = (uint32_t)(150 - e); /* bits below the unit */
    uint32_t m = (u & 0x7fffff) | 0x800000;
    if (m & ((1u << frac_bits) - 1))
        return 0;
    return (m >> frac_bits) & 1 ? 1 : 2;
}

/* pow(x, y) = exp(y log x) with log x as a double-double and y*log x formed
 * exactly enough (error ~2^-53 absolute for |y log x| ~ 100). Special values
 * as C99 Annex F. */
float m_powf(float x, float y)
{
    const float inf = u2f(0x7f800000);
    if (y == 0.0f || x == 1.0f)
        return 1.0f;
    if (x != x || y != y)
        return x + y;
    int yc = is_inf(y) ? 0 : int_class(y);
    if (is_inf(y)) {
        float ax = x < 0 ? -x : x;
        if (ax == 1.0f) /* pow(-1, +-inf) */
            return 1.0f;
        return (ax < 1.0f) == (y < 0.0f) ? inf : 0.0f;
    }
    if (x == 0.0f) {
        int neg = yc == 1 && (f2u(x) >> 31);
        if (y < 0.0f)
            return neg ? -inf : inf;
        return neg ? -0.0f : 0.0f;
    }
    if (is_inf(x)) {
        int neg = x < 0.0f && yc == 1;
        float r = y < 0.0f ? 0.0f : inf;
        return neg ? -r : r;
    }
    int neg = 0;
    if (x < 0.0f) {
        if (yc == 0)
            return f_nan();
        neg = yc == 1;
        x = -x;
    }
    double llo;
    double lhi = log_core(x, &llo);
    double yd = y;
    double lh = split_hi(lhi);
    double th = yd * lh; /* exact: 24-bit y times 26-bit lh */
    double tl = yd * (lhi - lh) + yd * llo;
    double t = th + tl;
    tl = tl - (t - th);
    float r;
    if (t > 89.0)
        r = inf;
    else if (t < -104.0)
        r = 0.0f;
    else {
        /* Plain rounding of the double: x^y can be exactly halfway between
         * two floats (x^2, x^1.5, ...) and then lo is noise, so the sticky
         * rounding used by expf/logf would break the tie the wrong way. */
        int e;
        double lo, y = exp_core(t, tl, &lo, &e);
        r = to_float(y * pow2i(e));
    }
    return neg ? -r : r;
}

/* ---- sin, cos --------------------------------------------------------------- */

/* pi/2 = P1 + P2 + P3 (33, 33, 53 bits): n*P1 and n*P2 are exact for
 * n < 2^20, and the sum is pi/2 to ~2^-119. */
static const double PIO2_1 = 0x1.921fb54400000p+0;
static const double PIO2_2 = 0x1.0b4611a600000p-34;
static const double PIO2_3 = 0x1.3198a2e037073p-69;
static const double PIO2 = 0x1.921fb54442d18p+0;
static const double INV_PIO2 = 0x1.45f306dc9c883p-1;
/* Bits of 2/pi after the binary point, 32 per word, behind one zero word so
 * that windows starting slightly before the point read zeros. */
static const uint32_t TWO_OVER_PI[9] = {
    0, 0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0,
    0xdb629599, 0x3c439041, 0xfe5163ab, 0xdebbc561,
};

/* Payne-Hanek for |x| >= 2^20: |x| = m 2^e (m < 2^24, -3 <= e <= 104).
 * Bits of 2/pi worth >= 4 after scaling by m 2^e drop out (mod 4), so a
 * 128-bit window times m gives |x|*2/pi mod 4 with 126 fraction bits; the
 * bits past the window are worth < 2^-102 quarter turns, far below the
 * closest any float gets to a multiple of pi/2. */
static unsigned reduce_big(float x, double *ret_r)
{
    uint32_t u = f2u(x);
    uint64_t m = (u & 0x7fffff) | 0x800000;
    int e = (int)((u >> 23) & 0xff) - 150;
    unsigned p = (unsigned)(e + 30); /* table bit of 2/pi's bit e-1 */
    unsigned w = p >> 5, s = p & 31;
    u128 a = (u128)TWO_OVER_PI[w] << 96 | (u128)TWO_OVER_PI[w + 1] << 64 |
             (u128)TWO_OVER_PI[w + 2] << 32 | TWO_OVER_PI[w + 3];
    if (s)
        a = a << s | TWO_OVER_PI[w + 4] >> (32 - s);
    u128 q = a * m;
    u128 n = (q + ((u128)1 << 125)) >> 126; /* nearest quadrant */
    u128 f = q - (n << 126);                /* two's complement, |f| <= 2^125 */
    int fneg = (int)(f >> 127);
    if (fneg)
        f = -f;
    double d = (double)(uint64_t)(f >> 64) * 0x1p64 + (double)(uint64_t)f;
    double r = d * 0x1p-126 * PIO2;
    unsigned quad = (unsigned)n & 3;
    if (fneg)
        r = -r;
    if (u >> 31) {
        r = -r;
        quad = (4 - quad) & 3;
    }
    *ret_r = r;
    return quad;
}

/* x = n pi/2 + r with |r| <= ~pi/4; returns n mod 4. */
static unsigned reduce(float x, double *ret_r)
{
    if ((f2u(x) & 0x7fffffff) >= 0x49800000) /* |x| >= 2^20 */
        return reduce_big(x, ret_r);
    double xd = x;
    double nd = (xd * INV_PIO2 + SHIFT) - SHIFT;
    /* xd - nd*P1 is exact (Sterbenz); later steps round relative to r. */
    *ret_r = ((xd - nd * PIO2_1) - nd * PIO2_2) - nd * PIO2_3;
    return (unsigned)(int64_t)nd & 3;
}

/* Taylor series on |r| <= pi/4: truncation below 2^-62 (sin, to r^17) and
 * 2^-68 (cos, to r^18) relative. */
static double sin_poly(double r)
{
    double r2 = r * r;
    return r + r * r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 +
           r2 * (1.0 / 362880 + r2 * (-1.0 / 39916800 +
           r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0 +
           r2 * (1.0 / 355687428096000.0))))))));
}

static double cos_poly(double r)
{
    double r2 = r * r;
    return 1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 +
           r2 * (1.0 / 40320 + r2 * (-1.0 / 3628800 +
           r2 * (1.0 / 479001600 + r2 * (-1.0 / 87178291200.0 +
           r2 * (1.0 / 20922789888000.0 +
           r2 * (-1.0 / 6402373705728000.0)))))))));
}

float m_sinf(float x)
{
    uint32_t ax = f2u(x) & 0x7fffffff;
    if (ax >= 0x7f800000) /* inf -> NaN, NaN stays */
        return x - x;
    if (ax < 0x39800000) /* |x| < 2^-12: sin x rounds to x; keeps -0 */
        return x;
    double r;
    switch (reduce(x, &r)) {
    case 0: return (float)sin_poly(r);
    case 1: return (float)cos_poly(r);
    case 2: return (float)-sin_poly(r);
    default: return (float)-cos_poly(r);
    }
}

float m_cosf(float x)
{
    if ((f2u(x) & 0x7fffffff) >= 0x7f800000)
        return x - x;
    double r;
    switch (reduce(x, &r)) {
    case 0: return (float)cos_poly(r);
    case 1: return (float)-sin_poly(r);
    case 2: return (float)-cos_poly(r);
    default: return (float)sin_poly(r);
    }
}

/* ---- sqrt, classification --------------------------------------------------- */

/* sqrtss is correctly rounded by IEEE 754 and never calls into libm. */
float m_sqrtf(float x)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__("sqrtss %0, %0" : "+x"(x));
    return x;
#else
    return __builtin_sqrtf(x);
#endif
}

int m_isnan(float x)
{
    return (f2u(x) & 0x7fffffff) > 0x7f800000;
}

int m_isinf(float x)
{
    return is_inf(x);
}
