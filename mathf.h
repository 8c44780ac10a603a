/* mathf.h - the project's own math library (the UEFI build has no libm).
 *
 * The float functions compute in double precision with a relative error of
 * about 2^-52 and round once to float, so their results are the correctly
 * rounded ones except in vanishingly rare cases (none found in the tests).
 * sqrtf is the sqrtss instruction, exact by IEEE 754. Special values (NaN,
 * infinities, zeros, overflow, underflow to subnormals) follow C99 Annex F
 * like glibc.
 *
 * glibc's expf/logf/powf/sinf/cosf are NOT correctly rounded (up to ~0.56
 * ULP for sinf/cosf, ~0.82 for logf/powf): where glibc misrounds, these
 * functions differ from it by one ULP (tests/test_mathf.c counts how often). */
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

/* Double helpers, about 1 ULP (double). m_exp's subnormal results are
 * rounded once; m_log handles subnormal inputs. */
double m_exp(double x);
double m_log(double x);

int m_isnan(float x);
int m_isinf(float x);

#endif
