/* mathf.h - the project's own math library (the UEFI build has no libm).
 *
 * The float functions return the correctly rounded result (exhaustively
 * checked: expf, logf everywhere; sinf/cosf on all but 6 of 2^32 inputs,
 * off by one at ~0.5000000005 ULP) and sqrtf is the sqrtss instruction.
 * Special values (NaN, infinities, zeros, overflow, underflow into
 * subnormals) follow C99 Annex F like glibc.
 *
 * glibc's expf/logf/powf/sinf/cosf are NOT correctly rounded (up to ~0.56
 * ULP for sinf/cosf, ~0.82 for logf/powf): where glibc misrounds, these
 * functions differ from it by one ULP. tests/test_mathf.c counts how often
 * (e.g. ~1.3% of RoPE sinf/cosf(pos*freq) arguments). */
#ifndef MATHF_H
#define MATHF_H

float m_expf(float x);
float m_logf(float x);
float m_sqrtf(float x);
float m_powf(float x, float y);
/* Accurate (correctly rounded in practice) for every finite float: large
 * arguments use an exact Payne-Hanek reduction. */
float m_sinf(float x);
float m_cosf(float x);

/* Double helpers, within 0.6 ULP (double). m_exp's subnormal results are
 * rounded once; m_log handles subnormal inputs. */
double m_exp(double x);
double m_log(double x);

int m_isnan(float x);
int m_isinf(float x);

#endif
