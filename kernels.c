/* kernels.c - the generic C kernels of the per-token path. Their rounding
 * follows llama2.c run.c exactly (sequential float sums, no FMA); every SIMD
 * variant added later is tested against these. */
#include "kernels.h"
#include "lib.h"
#include "mathf.h"
#include "platform.h"

void k_rmsnorm(float *out, const float *x, const float *weight, int size)
{
    float ss = 0.0f;
    for (int j = 0; j < size; j++)
        ss += x[j] * x[j];
    ss /= (float)size;
    ss += 1e-5f;
    ss = 1.0f / m_sqrtf(ss);
    for (int j = 0; j < size; j++)
        out[j] = weight[j] * (ss * x[j]);
}

void k_softmax(float *x, int size)
{
    float max_val = x[0];
    for (int i = 1; i < size; i++)
        if (x[i] > max_val)
            max_val = x[i];
    float sum = 0.0f;
    for (int i = 0; i < size; i++) {
        x[i] = m_expf(x[i] - max_val);
        sum += x[i];
    }
    for (int i = 0; i < size; i++)
        x[i] /= sum;
}

/* out (d) = W (d, n) @ x (n), one row per output, summed left to right. */
struct matmul_job {
    float *out;
    const float *x, *w;
    int n;
};

static void matmul_row(int i, void *ctx)
{
    const struct matmul_job *j = ctx;
    const float *row = j->w + (size_t)i * (size_t)j->n;
    float val = 0.0f;
    for (int k = 0; k < j->n; k++)
        val += row[k] * j->x[k];
    j->out[i] = val;
}

void k_matmul(float *out, const float *x, const float *w, int n, int d)
{
    struct matmul_job job = {out, x, w, n};
    plat_parallel_for(d, matmul_row, &job);
}


double k_read_bandwidth(void)
{
    const size_t bytes = 64u << 20;
    uint64_t *buf = plat_alloc(bytes);
    if (!buf)
        return 0.0;
    size_t n = bytes / sizeof *buf;
    volatile uint64_t sink = 0;
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < 3; round++) { /* the best of three: least disturbed */
        uint64_t t0 = plat_time_us(), acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
        for (size_t i = 0; i < n; i += 4) {
            acc0 += buf[i];
            acc1 += buf[i + 1];
            acc2 += buf[i + 2];
            acc3 += buf[i + 3];
        }
        sink += acc0 + acc1 + acc2 + acc3;
        uint64_t dt = plat_time_us() - t0;
        best = dt < best ? dt : best;
    }
    (void)sink;
    plat_free(buf, bytes);
    return best ? (double)bytes * 1e6 / (double)best : 0.0;
}
