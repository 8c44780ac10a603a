/* quant_stats.h - the numbers `llm quantize` reports: RMS error of
 * dequantized weights, and agreement / KL divergence of two models'
 * next-token distributions.
 *
 * Header-only (static inline) so the host tool (tool_quantize.c) and the
 * unit tests (tests/test_quant_stats.c, which link only the core) share one
 * definition. Everything accumulates in double: a tensor has up to ~1e9
 * values and a vocabulary ~1e5 probabilities. __builtin_sqrt is the sqrtsd
 * instruction (-fno-math-errno), so no libm is needed. */
#ifndef QUANT_STATS_H
#define QUANT_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "kernels.h"
#include "mathf.h"

/* Sums over the values of one or more tensors: sum of squared errors and
 * of squared reference values. */
struct qerr {
    double err2, ref2;
    uint64_t n;
};

/* Adds n values: ref the original weights, got their dequantized copy. */
static inline void qerr_add(struct qerr *e, const float *ref, const float *got, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        e->err2 += d * d;
        e->ref2 += (double)ref[i] * (double)ref[i];
    }
    e->n += n;
}

static inline void qerr_merge(struct qerr *into, const struct qerr *e)
{
    into->err2 += e->err2;
    into->ref2 += e->ref2;
    into->n += e->n;
}

/* sqrt(mean squared error); 0 for no values. */
static inline double qerr_rms(const struct qerr *e)
{
    return e->n ? __builtin_sqrt(e->err2 / (double)e->n) : 0.0;
}

/* RMS error relative to the RMS of the reference (0 when both are 0, 1
 * when the reference is 0 and the error is not). */
static inline double qerr_rel(const struct qerr *e)
{
    if (e->ref2 == 0.0)
        return e->err2 == 0.0 ? 0.0 : 1.0;
    return __builtin_sqrt(e->err2 / e->ref2);
}

/* log(sum(exp(x[i]))) computed around the maximum so nothing overflows. */
static inline double logits_logsumexp(const float *x, int n)
{
    double mx = x[k_argmax(x, n)], s = 0.0;
    for (int i = 0; i < n; i++)
        s += m_exp((double)x[i] - mx);
    return mx + m_log(s);
}

/* KL(P_a || P_b) in nats, P = softmax(logits) at temperature 1:
 * sum_i p_a[i] * (log p_a[i] - log p_b[i]). Never negative (rounding
 * below zero is clamped). */
static inline double logits_kl(const float *a, const float *b, int n)
{
    double za = logits_logsumexp(a, n), zb = logits_logsumexp(b, n), kl = 0.0;
    for (int i = 0; i < n; i++) {
        double la = (double)a[i] - za, lb = (double)b[i] - zb;
        kl += m_exp(la) * (la - lb);
    }
    return kl > 0.0 ? kl : 0.0;
}

#endif
