/* kernels.c - the generic C kernels of the per-token path. Their rounding
 * follows llama2.c run.c exactly (sequential float sums, no FMA); every SIMD
 * variant added later is tested against these. */
#include "kernels.h"
#include "lib.h"
#include "mathf.h"
#include "platform.h"
#include "simd.h"

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
    g_simd->softmax(x, size);
}

void gen_softmax(float *x, int size)
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

/* Below this many multiply-adds a matrix-vector product is done before the
 * other cores would have woken up. */
#define PARALLEL_MIN_WORK (1 << 16)

void k_parallel_rows(int d, int n, void (*fn)(int i, void *ctx), void *ctx)
{
    if ((int64_t)d * n < PARALLEL_MIN_WORK) {
        for (int i = 0; i < d; i++)
            fn(i, ctx);
        return;
    }
    plat_parallel_for(d, fn, ctx);
}

/* out (nb, d) = x (nb, n) @ W (d, n)^T, one weight row per task so the row
 * is read from memory once for all nb activation rows. */
struct matmul_job {
    float *out;
    const float *x, *w;
    int n, d, nb;
};

float gen_dot_f32_seq(const float *a, const float *b, int n)
{
    float val = 0.0f;
    for (int k = 0; k < n; k++)
        val += a[k] * b[k];
    return val;
}

void gen_axpy(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

void gen_attn_scores(const float *q, const float *k, size_t stride, int nk, int n, float *scores)
{
    for (int t = 0; t < nk; t++)
        scores[t] = gen_dot_f32_seq(q, k + (size_t)t * stride, n);
}

void gen_attn_values(const float *att, const float *v, size_t stride, int nk, int n, float *out)
{
    memset(out, 0, (size_t)n * sizeof(float));
    for (int t = 0; t < nk; t++)
        gen_axpy(out, att[t], v + (size_t)t * stride, n);
}

void gen_swiglu(float *hb, const float *up, int n)
{
    for (int i = 0; i < n; i++) {
        float val = hb[i];
        hb[i] = val * (1.0f / (1.0f + m_expf(-val))) * up[i];
    }
}

void gen_swiglu_ggml(float *hb, const float *up, int n)
{
    for (int i = 0; i < n; i++) {
        float val = hb[i];
        hb[i] = val / (1.0f + m_expf(-val)) * up[i];
    }
}

static void matmul_row(int i, void *ctx)
{
    const struct matmul_job *j = ctx;
    const float *row = j->w + (size_t)i * (size_t)j->n;
    for (int b = 0; b < j->nb; b++)
        j->out[(size_t)b * (size_t)j->d + (size_t)i] =
            g_simd->dot_f32(row, j->x + (size_t)b * (size_t)j->n, j->n);
}

void k_matmul_batch(float *out, const float *x, const float *w, int n, int d, int nb)
{
    struct matmul_job job = {out, x, w, n, d, nb};
    k_parallel_rows(d, n * nb, matmul_row, &job);
}

void k_matmul(float *out, const float *x, const float *w, int n, int d)
{
    k_matmul_batch(out, x, w, n, d, 1);
}


struct read_job {
    const float *buf;
    size_t per_chunk;   /* floats per chunk */
    float (*dot)(const float *a, const float *b, int n);
    float sums[64];     /* one per chunk, so nothing is shared while reading */
};

/* x . x of a chunk: both operands are the same addresses, so each byte comes
 * from memory once, through the widest loads this CPU has (the bandwidth is
 * the machine's, whichever kernel table is active). */
static void read_chunk(int i, void *ctx)
{
    struct read_job *j = ctx;
    const float *p = j->buf + (size_t)i * j->per_chunk;
    j->sums[i] = j->dot(p, p, (int)j->per_chunk);
}

/* The f32 dot product of the best table this CPU runs. */
static float (*widest_dot(void))(const float *, const float *, int)
{
    const struct simd_choice *list;
    float (*dot)(const float *, const float *, int) = simd_generic.dot_f32;
    for (int i = 0, n = simd_tables(&list); i < n; i++)
        if (list[i].usable && list[i].k->dot_f32)
            dot = list[i].k->dot_f32;
    return dot;
}

double k_read_bandwidth(void)
{
    const size_t bytes = 128u << 20;
    float *buf = plat_alloc(bytes); /* zeroed: every page is really there */
    if (!buf)
        return 0.0;
    static struct read_job job;
    job.buf = buf;
    job.per_chunk = bytes / sizeof *buf / 64;
    job.dot = widest_dot();
    volatile float sink = 0;
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < 3; round++) { /* the best of three: least disturbed */
        uint64_t t0 = plat_time_us();
        plat_parallel_for(64, read_chunk, &job); /* every core, as decoding uses them */
        uint64_t dt = plat_time_us() - t0;
        sink += job.sums[round];
        best = dt < best ? dt : best;
    }
    (void)sink;
    plat_free(buf, bytes);
    return best ? (double)bytes * 1e6 / (double)best : 0.0;
}

void k_quantize_q8g(const float *x, int8_t *xq, float *xs, int n, int gs)
{
    for (int g = 0; g < n / gs; g++) {
        const float *v = x + g * gs;
        float wmax = 0.0f;
        for (int i = 0; i < gs; i++) {
            float a = v[i] < 0 ? -v[i] : v[i];
            if (a > wmax)
                wmax = a;
        }
        float scale = wmax / 127.0f;
        xs[g] = scale;
        for (int i = 0; i < gs; i++) {
            /* round(): half away from zero; exact in double for |q| <= 127 */
            double q = scale > 0.0f ? (double)(v[i] / scale) : 0.0;
            xq[g * gs + i] = (int8_t)(q >= 0 ? (long)(q + 0.5) : -(long)(-q + 0.5));
        }
    }
}

struct q8g_job {
    float *out;
    const int8_t *xq, *wq;
    const float *xs, *ws;
    int n, gs, d, nb;
};

float gen_dot_q8g(const int8_t *w, const float *ws, const int8_t *x, const float *xs, int n,
                  int gs)
{
    float val = 0.0f;
    for (int k = 0; k < n; k += gs) {
        int32_t ival = 0;
        for (int t = 0; t < gs; t++)
            ival += (int32_t)x[k + t] * (int32_t)w[k + t];
        val += ((float)ival) * ws[k / gs] * xs[k / gs];
    }
    return val;
}

static void q8g_row(int i, void *ctx)
{
    const struct q8g_job *j = ctx;
    size_t in = (size_t)i * (size_t)j->n, groups = (size_t)(j->n / j->gs);
    for (int b = 0; b < j->nb; b++)
        j->out[(size_t)b * (size_t)j->d + (size_t)i] =
            g_simd->dot_q8g(j->wq + in, j->ws + in / (size_t)j->gs, j->xq + (size_t)b * (size_t)j->n,
                            j->xs + (size_t)b * groups, j->n, j->gs);
}

void k_matmul_q8g_batch(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
                        const float *ws, int n, int d, int gs, int nb)
{
    struct q8g_job job = {out, xq, wq, xs, ws, n, gs, d, nb};
    k_parallel_rows(d, n * nb, q8g_row, &job);
}

void k_matmul_q8g(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
                  const float *ws, int n, int d, int gs)
{
    k_matmul_q8g_batch(out, xq, xs, wq, ws, n, d, gs, 1);
}
