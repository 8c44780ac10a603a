/* test_quant_stats.c - the error and agreement math `llm quantize` reports
 * (quant_stats.h): RMS / relative RMS, argmax, and KL divergence of softmax
 * distributions, against values worked out by hand. */
#include <math.h>

#include "quant_stats.h"
#include "testlib.h"

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

TEST(quant_stats_rms)
{
    const float ref[4] = {1.0f, -1.0f, 2.0f, 0.0f}, got[4] = {1.5f, -1.0f, 2.0f, 0.0f};
    struct qerr e = {0, 0, 0}, all = {0, 0, 0};
    qerr_add(&e, ref, got, 4);
    CHECK_INT(e.n, 4);
    CHECK(near(qerr_rms(&e), 0.25, 1e-15));          /* sqrt(0.25 / 4) */
    CHECK(near(qerr_rel(&e), sqrt(0.25 / 6.0), 1e-15)); /* ref^2 sums to 6 */
    qerr_merge(&all, &e);
    qerr_merge(&all, &e);
    CHECK_INT(all.n, 8);
    CHECK(near(qerr_rms(&all), 0.25, 1e-15));
    CHECK(near(qerr_rel(&all), qerr_rel(&e), 1e-15));
    /* exact copies, empty sums and an all-zero reference */
    struct qerr z = {0, 0, 0};
    CHECK(qerr_rms(&z) == 0.0 && qerr_rel(&z) == 0.0);
    qerr_add(&z, ref, ref, 4);
    CHECK(qerr_rms(&z) == 0.0 && qerr_rel(&z) == 0.0);
    const float zero[2] = {0, 0}, one[2] = {1, 0};
    struct qerr w = {0, 0, 0};
    qerr_add(&w, zero, one, 2);
    CHECK(qerr_rel(&w) == 1.0);
}

TEST(quant_stats_kl)
{
    const float a[2] = {0.0f, 0.0f}, b[2] = {0.0f, (float)log(3.0)};
    /* P_a = (1/2, 1/2), P_b = (1/4, 3/4): KL = ln(4/3) / 2 */
    CHECK_MSG(near(logits_kl(a, b, 2), 0.5 * log(4.0 / 3.0), 1e-7), "%.9f",
              logits_kl(a, b, 2));
    /* KL(P_b || P_a) = 1/4 ln(1/2) + 3/4 ln(3/2) */
    CHECK(near(logits_kl(b, a, 2), 0.25 * log(0.5) + 0.75 * log(1.5), 1e-7));
    /* identical and shifted logits are the same distribution */
    const float x[5] = {1.5f, -2.0f, 0.25f, 3.0f, 3.0f};
    float y[5];
    for (int i = 0; i < 5; i++)
        y[i] = x[i] + 40.0f;
    CHECK(logits_kl(x, x, 5) == 0.0);
    CHECK(logits_kl(x, y, 5) < 1e-12);
    /* logits far apart neither overflow nor give NaN: KL ~ 1000 nats */
    const float p[2] = {1000.0f, 0.0f}, q[2] = {0.0f, 1000.0f};
    CHECK(near(logits_kl(p, q, 2), 1000.0, 1e-6));
    CHECK(near(logits_logsumexp(p, 2), 1000.0, 1e-9));
    /* argmax: the first of equal maxima */
    CHECK_INT(k_argmax(x, 5), 3);
    CHECK_INT(k_argmax(a, 2), 0);
    /* a NaN never wins (x[0] NaN gives 0); -inf everywhere gives 0 */
    const float nan = __builtin_nanf(""), inf = __builtin_inff();
    const float n0[3] = {nan, 5.0f, 7.0f}, n1[4] = {1.0f, nan, 3.0f, nan};
    const float ninf[3] = {-inf, -inf, -inf}, last[3] = {1.0f, 2.0f, 9.0f};
    CHECK_INT(k_argmax(n0, 3), 0);
    CHECK_INT(k_argmax(n1, 4), 2);
    CHECK_INT(k_argmax(ninf, 3), 0);
    CHECK_INT(k_argmax(last, 3), 2);
}
