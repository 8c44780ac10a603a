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

int k_argmax(const float *x, int n)
{
    /* the running maximum in a register: comparing with x[best] made each
     * step wait for a load that depends on the step before (~13% of a
     * stories15M token's time went to the argmax over 32000 logits) */
    int best = 0;
    float top = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] > top) {
            top = x[i];
            best = i;
        }
    }
    return best;
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

uint64_t gen_stream(const void *p, size_t bytes)
{
    const uint64_t *w = p;
    uint64_t a = 0, b = 0, c = 0, d = 0; /* four chains: the loads, not the xors, set the pace */
    for (size_t i = 0; i < bytes / 8; i += 4) {
        a ^= w[i];
        b ^= w[i + 1];
        c ^= w[i + 2];
        d ^= w[i + 3];
    }
    return a ^ b ^ c ^ d;
}

/* Weight rows per parallel index (as quant.c's QMV_BLOCK): one claim per
 * block, and a prompt's rows go to the table's dot_block together. */
#define MATMUL_BLOCK 16

static void matmul_block(int bi, void *ctx)
{
    const struct matmul_job *j = ctx;
    const int first = bi * MATMUL_BLOCK;
    const int rows = MIN(MATMUL_BLOCK, j->d - first);
    const size_t n = (size_t)j->n;
    simd_dot_block_fn block = j->nb > 1 ? g_simd->dot_block[QT_F32] : NULL;
    if (block) {
        block(j->w + (size_t)first * n, n * sizeof(float), rows, j->x, n * sizeof(float), j->n,
              j->nb, j->out + first, (size_t)j->d);
        return;
    }
    for (int i = first; i < first + rows; i++)
        for (int b = 0; b < j->nb; b++)
            j->out[(size_t)b * (size_t)j->d + (size_t)i] =
                g_simd->dot_f32(j->w + (size_t)i * n, j->x + (size_t)b * n, j->n);
}

void k_matmul_batch(float *out, const float *x, const float *w, int n, int d, int nb)
{
    struct matmul_job job = {out, x, w, n, d, nb};
    k_parallel_rows((d + MATMUL_BLOCK - 1) / MATMUL_BLOCK, n * nb * MATMUL_BLOCK, matmul_block,
                    &job);
}

void k_matmul(float *out, const float *x, const float *w, int n, int d)
{
    k_matmul_batch(out, x, w, n, d, 1);
}


#define READ_CHUNKS 64

struct read_job {
    const uint8_t *p;
    size_t per_chunk;   /* bytes per chunk (a multiple of 256); the last one takes the rest */
    size_t bytes;       /* all chunks: a multiple of 256 */
    uint64_t (*stream)(const void *p, size_t bytes);
    uint64_t sums[READ_CHUNKS]; /* one per chunk, so nothing is shared while reading */
};

static void read_chunk(int i, void *ctx)
{
    struct read_job *j = ctx;
    size_t off = (size_t)i * j->per_chunk;
    size_t n = i == READ_CHUNKS - 1 ? j->bytes - off : j->per_chunk;
    j->sums[i] = j->stream(j->p + off, n);
}

/* The stream kernel of the best table this CPU runs (the bandwidth is the
 * machine's, whichever kernel table is active). */
static uint64_t (*widest_stream(void))(const void *, size_t)
{
    const struct simd_choice *list;
    uint64_t (*stream)(const void *, size_t) = simd_generic.stream;
    for (int i = 0, n = simd_tables(&list); i < n; i++)
        if (list[i].usable && list[i].k->stream)
            stream = list[i].k->stream;
    return stream;
}

double k_stream_bandwidth(const void *p, size_t bytes)
{
    /* whole 256-byte steps from the first 64-aligned byte */
    const uint8_t *start = (const uint8_t *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
    size_t skip = (size_t)(start - (const uint8_t *)p);
    size_t n = bytes > skip ? (bytes - skip) & ~(size_t)255 : 0;
    if (n < READ_CHUNKS * 256)
        return 0.0;
    static struct read_job job;
    job.p = start;
    job.bytes = n;
    job.per_chunk = n / READ_CHUNKS & ~(size_t)255;
    job.stream = widest_stream();
    /* small regions are read repeatedly: a round of at least 4 MiB is long
     * enough for a microsecond clock */
    const size_t reps = n < ((size_t)4 << 20) ? ((size_t)4 << 20) / n : 1;
    volatile uint64_t sink = 0;
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < 3; round++) { /* the best of three: least disturbed */
        uint64_t t0 = plat_time_us();
        for (size_t k = 0; k < reps; k++) /* every core, as decoding uses them */
            plat_parallel_for(READ_CHUNKS, read_chunk, &job);
        uint64_t dt = plat_time_us() - t0;
        sink += job.sums[round];
        best = dt < best ? dt : best;
    }
    (void)sink;
    return (double)n * (double)reps * 1e6 / (double)(best ? best : 1);
}

double k_read_bandwidth(void)
{
    const size_t bytes = 128u << 20;
    void *buf = plat_alloc(bytes); /* zeroed: every page is really there */
    if (!buf)
        return 0.0;
    double bw = k_stream_bandwidth(buf, bytes);
    plat_free(buf, bytes);
    return bw;
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
