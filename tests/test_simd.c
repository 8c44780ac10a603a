/* test_simd.c - every kernel of every ISA table this CPU runs, against the
 * generic C table (simd.h), on random data of many lengths and alignments.
 *
 * Activation converters must equal generic bit for bit. Dot products and the
 * float kernels may sum in another order; each result is held to
 *   |simd - generic| <= REL_TOL * (sum of |terms|) + ABS_TOL
 * where the terms are the products being summed (for quantized types the
 * dequantized weights times the dequantized activations), which bounds any
 * summation order's rounding. Kernels with exp (softmax, SwiGLU) are held to
 * a relative bound per element. Tables the CPU cannot run are reported as
 * skipped, never silently passed. */
#include <math.h>

#include "errors.h"
#include "kernels.h"
#include "quant.h"
#include "simd.h"
#include "testlib.h"

#define REL_TOL 2e-6f /* a few float epsilons, scaled by the absolute sum */
#define ABS_TOL 1e-30f
#define EXP_TOL 2e-6f /* per element, relative, for softmax and SwiGLU */
#define MAX_N 8192

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 32);
}

/* Uniform in [-scale, scale), with an occasional zero or outlier so block
 * maxima and zero blocks get exercised. */
static float rnd_val(float scale)
{
    uint32_t r = rnd();
    if (r % 97 == 0)
        return 0.0f;
    float v = ((float)(rnd() >> 8) / 8388608.0f - 1.0f) * scale;
    return r % 89 == 0 ? v * 9.0f : v;
}

static void fill(float *x, int n, float scale)
{
    for (int i = 0; i < n; i++)
        x[i] = rnd_val(scale);
}

/* The tables this CPU runs, other than generic, merged over generic. */
static int usable_tables(struct simd_kernels *out, int cap)
{
    const struct simd_choice *list;
    int n = simd_tables(&list), got = 0;
    for (int i = 1; i < n && got < cap; i++) {
        if (!list[i].usable) {
            printf("SKIP: simd_%s (this CPU cannot run it)\n", list[i].k->name);
            continue;
        }
        simd_merge(&out[got++], list[i].k);
    }
    return got;
}

static const int weight_types[] = {QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q8_0, QT_Q4_K, QT_Q6_K};
static const int act_types[] = {QT_Q8_0, QT_Q8_1, QT_Q8_K, QT_F16, QT_BF16};
/* lengths: one block, odd block counts (AVX2's 8-block octs end 1..7
 * blocks short), model widths */
static const int block_lengths[] = {256, 512, 768, 1280, 2048, 5632 - 5632 % 256, 8192};
static const int small_lengths[] = {32, 64, 96, 128, 160, 192, 224, 288, 480};

/* The activation type a weight type's dot product takes. */
static int act_of(int type)
{
    return qtype_get(type)->vec_dot_type;
}

/* Sum of |w_i * x_i| over the dequantized row and activations. */
static double abs_terms(int type, const void *w, const void *xq, const float *x, int n)
{
    static float wf[MAX_N], xf[MAX_N];
    dequantize_row(type, w, wf, n);
    int at = act_of(type);
    if (at == QT_F32)
        memcpy(xf, x, (size_t)n * 4);
    else
        dequantize_row(at, xq, xf, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        s += fabs((double)wf[i] * (double)xf[i]);
    return s;
}

/* Activations for table k's dot products: the generic converter's row (the
 * act[] test checks the others equal it), then k's own expansion if any.
 * With mins, every 7th Q8_0 value is -128 (what NaN or infinite values
 * quantize to), which AVX2's sign-trick Q8_0 lanes cannot take: its
 * expansion must send such rows down the exact path. */
static void prepare_act(const struct simd_kernels *k, int at, const float *x, void *xq, int n,
                        int mins)
{
    simd_generic.act[at](x, xq, n);
    if (mins && at == QT_Q8_0)
        for (int b = 0; b < n / 32; b++)
            for (int j = b % 7; j < 32; j += 7)
                ((block_q8_0 *)xq)[b].qs[j] = -128;
    if (k->expand[at])
        k->expand[at](xq, n);
}

/* One weight type at length n: a few random rows against prepared
 * activations. */
static void check_dot(const struct simd_kernels *k, int type, int n, double *worst)
{
    static float w[MAX_N], x[MAX_N + 1];
    static unsigned char wq[MAX_N * 4 + 64], xq[MAX_N * 5 + 1024];
    uint64_t rb;
    qtype_row_bytes(type, (uint64_t)n, &rb);
    for (int trial = 0; trial < 5; trial++) { /* the last with -128 activations */
        float scale = trial == 3 ? 1e-3f : 1.0f;
        fill(w, n, scale);
        /* x one float past an aligned address: kernels must take unaligned x */
        float *xu = x + (trial & 1);
        fill(xu, n, trial == 2 ? 30.0f : 1.0f);
        /* rows start wherever their element type allows: 2-aligned blocks
         * (34-byte Q8_0 rows), 4-aligned F32 */
        unsigned char *wrow = wq + (trial & 1) * (type == QT_F32 ? 4 : 2);
        CHECK_INT(quantize_row(type, w, wrow, n), 0);
        if (type == QT_Q8_0 && trial >= 2) /* -128 weights: files may hold them */
            for (int b = 0; b < n / 32; b++)
                for (int j = b % 5; j < 32; j += 5)
                    ((block_q8_0 *)wrow)[b].qs[j] = -128;
        const void *xin = xu;
        if (act_of(type) != QT_F32) {
            CHECK(qmatvec_scratch_bytes(type, n) <= sizeof xq);
            prepare_act(k, act_of(type), xu, xq, n, trial == 4);
            xin = xq;
        }
        float g = simd_generic.dot[type](wrow, xin, n);
        float s = k->dot[type](wrow, xin, n);
        double bound = REL_TOL * abs_terms(type, wrow, xin, xu, n) + ABS_TOL;
        double err = fabs((double)s - (double)g);
        if (bound > 0 && err / bound > *worst)
            *worst = err / bound;
        CHECK_MSG(err <= bound, "%s dot %s n=%d: %.9g vs generic %.9g (bound %.3g)", k->name,
                  qtype_name(type), n, s, g, bound);
        (void)rb;
    }
}

TEST(simd_dot_products_match_generic)
{
    struct simd_kernels tables[5];
    int nt = usable_tables(tables, 5);
    for (int t = 0; t < nt; t++) {
        int tested = 0;
        for (size_t ti = 0; ti < ARRAY_LEN(weight_types); ti++) {
            int type = weight_types[ti];
            double worst = 0;
            int block = qtype_get(type)->block_elems;
            for (size_t li = 0; li < ARRAY_LEN(block_lengths); li++)
                check_dot(&tables[t], type, block_lengths[li], &worst);
            for (size_t li = 0; li < ARRAY_LEN(small_lengths); li++)
                if (small_lengths[li] % (block > 32 ? 256 : 32) == 0)
                    check_dot(&tables[t], type, small_lengths[li], &worst);
            tested++;
            printf("  %s dot %s: worst error %.3f of the bound\n", tables[t].name, qtype_name(type),
                   worst);
        }
        CHECK_INT(tested, (int)ARRAY_LEN(weight_types));
    }
}

/* The largest integer sums 4-bit and 8-bit blocks can reach: nibbles all 15
 * against activations all -128 or all 127 (16-bit lanes that held more than
 * 16 such products would overflow), Q8_0 weights all -127 / 127 against the
 * same. Every sum is an exact float here, so each table must return exactly
 * the generic value, for a row and for a prompt batch. */
TEST(simd_dot_extreme_block_sums)
{
    struct simd_kernels tables[5];
    int nt = usable_tables(tables, 5);
    enum { N = 512 };
    static unsigned char w4[N / 32 * sizeof(block_q4_0)], w8[N / 32 * sizeof(block_q8_0)];
    static unsigned char xq[2][MAX_N * 5 + 1024];
    const size_t stride = sizeof xq[0];
    for (int b = 0; b < N / 32; b++) {
        block_q4_0 *q4 = (block_q4_0 *)w4 + b;
        q4->d = 0x3c00; /* 1.0 */
        memset(q4->qs, 0xff, sizeof q4->qs);
    }
    for (int t = 0; t < nt; t++)
        for (int signs = 0; signs < 4; signs++) { /* weights -127 / 127, activations -128 / 127 */
            for (int b = 0; b < N / 32; b++) {
                block_q8_0 *q8 = (block_q8_0 *)w8 + b;
                q8->d = 0x3c00;
                memset(q8->qs, signs & 1 ? 127 : -127, sizeof q8->qs);
            }
            for (int r = 0; r < 2; r++) {
                block_q8_0 *x = (block_q8_0 *)xq[r];
                for (int b = 0; b < N / 32; b++) {
                    x[b].d = 0x3c00;
                    memset(x[b].qs, signs & 2 ? 127 : -128, sizeof x[b].qs);
                }
                if (tables[t].expand[QT_Q8_0])
                    tables[t].expand[QT_Q8_0](xq[r], N);
            }
            const unsigned char *rows[2] = {w4, w8};
            const int types[2] = {QT_Q4_0, QT_Q8_0};
            for (int i = 0; i < 2; i++) {
                float want = simd_generic.dot[types[i]](rows[i], xq[0], N), got[2];
                float one = tables[t].dot[types[i]](rows[i], xq[0], N);
                CHECK_MSG(one == want, "%s dot %s: %.9g vs %.9g", tables[t].name,
                          qtype_name(types[i]), one, want);
                if (tables[t].dot_block[types[i]]) {
                    tables[t].dot_block[types[i]](rows[i], 0, 1, xq[0], stride, N, 2, got, 1);
                    CHECK_MSG(got[0] == want && got[1] == want, "%s dot_block %s: %.9g %.9g vs %.9g",
                              tables[t].name, qtype_name(types[i]), got[0], got[1], want);
                }
            }
        }
}

TEST(simd_activation_converters_bit_identical)
{
    struct simd_kernels tables[5];
    int nt = usable_tables(tables, 5);
    static float x[MAX_N + 1];
    static unsigned char a[MAX_N * 4 + 64], b[MAX_N * 4 + 64];
    for (int t = 0; t < nt; t++) {
        for (size_t ai = 0; ai < ARRAY_LEN(act_types); ai++) {
            int at = act_types[ai];
            for (size_t li = 0; li < ARRAY_LEN(block_lengths); li++) {
                int n = block_lengths[li];
                uint64_t bytes;
                qtype_row_bytes(at, (uint64_t)n, &bytes);
                for (int trial = 0; trial < 6; trial++) {
                    float *xu = x + (trial & 1);
                    fill(xu, n, trial == 4 ? 1e-6f : 3.0f);
                    if (trial == 5) /* exact ties at .5 and a zero block */
                        for (int i = 0; i < n; i++)
                            xu[i] = i < 256 ? 0.0f : (float)((i % 255) - 127) * 0.5f;
                    memset(a, 0xa5, bytes);
                    memset(b, 0x5a, bytes);
                    simd_generic.act[at](xu, a, n);
                    tables[t].act[at](xu, b, n);
                    CHECK_MSG(memcmp(a, b, bytes) == 0, "%s act %s n=%d trial %d differs",
                              tables[t].name, qtype_name(at), n, trial);
                }
            }
        }
    }
}

static double rel_err(float s, float g, double scale)
{
    return fabs((double)s - (double)g) / (scale > 0 ? scale : 1e-30);
}

TEST(simd_float_kernels_match_generic)
{
    struct simd_kernels tables[5];
    int nt = usable_tables(tables, 5);
    static float a[MAX_N + 1], b[MAX_N + 1], w[MAX_N], y1[MAX_N + 1], y2[MAX_N + 1];
    static const int lens[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 48, 63, 64, 65, 100, 288, 1000,
                               4096, 5632};
    for (int t = 0; t < nt; t++) {
        const struct simd_kernels *k = &tables[t];
        for (size_t li = 0; li < ARRAY_LEN(lens); li++) {
            int n = lens[li];
            float *au = a + (n & 1), *bu = b + 1 - (n & 1);
            fill(au, n, 1.0f);
            fill(bu, n, 2.0f);
            double terms = 0;
            for (int i = 0; i < n; i++)
                terms += fabs((double)au[i] * (double)bu[i]);
            float g = simd_generic.dot_f32(au, bu, n), s = k->dot_f32(au, bu, n);
            CHECK_MSG(rel_err(s, g, terms) <= REL_TOL, "%s dot_f32 n=%d: %.9g vs %.9g", k->name,
                      n, s, g);

            /* axpy: one multiply-add per element, FMA may round once */
            memcpy(y1, bu, (size_t)n * 4);
            memcpy(y2, bu, (size_t)n * 4);
            simd_generic.axpy(y1, 0.37f, au, n);
            k->axpy(y2, 0.37f, au, n);
            for (int i = 0; i < n; i++)
                CHECK_MSG(rel_err(y2[i], y1[i], fabs(bu[i]) + fabs(0.37 * au[i])) <= 1.2e-7,
                          "%s axpy n=%d i=%d", k->name, n, i);

            /* rmsnorm, in place and out of place */
            fill(w, n, 1.0f);
            memcpy(y2, au, (size_t)n * 4);
            k_rmsnorm(y1, au, w, n);
            k->rmsnorm(y2, y2, w, n);
            for (int i = 0; i < n; i++)
                CHECK_MSG(rel_err(y2[i], y1[i], fabs(y1[i]) + 1e-30) <= 4e-6, "%s rmsnorm n=%d i=%d: %.9g vs %.9g",
                          k->name, n, i, y2[i], y1[i]);

            /* softmax over a wide range, including very negative scores */
            for (int i = 0; i < n; i++)
                y1[i] = y2[i] = au[i] * (i % 3 ? 20.0f : 200.0f);
            simd_generic.softmax(y1, n);
            k->softmax(y2, n);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += y2[i];
                CHECK_MSG(rel_err(y2[i], y1[i], fabs(y1[i]) + 1e-37) <= EXP_TOL * 4,
                          "%s softmax n=%d i=%d: %.9g vs %.9g", k->name, n, i, y2[i], y1[i]);
            }
            CHECK_MSG(fabs(sum - 1.0) < 1e-5, "%s softmax n=%d sums to %.9g", k->name, n, sum);

            /* SwiGLU both roundings, gate values from -100 to 100 */
            for (int form = 0; form < 2; form++) {
                for (int i = 0; i < n; i++)
                    y1[i] = y2[i] = au[i] * (i % 5 ? 8.0f : 100.0f);
                void (*gen)(float *, const float *, int) = form ? simd_generic.swiglu_ggml : simd_generic.swiglu;
                void (*fast)(float *, const float *, int) = form ? k->swiglu_ggml : k->swiglu;
                gen(y1, bu, n);
                fast(y2, bu, n);
                for (int i = 0; i < n; i++)
                    CHECK_MSG(rel_err(y2[i], y1[i], fabs(y1[i]) + 1e-37) <= EXP_TOL,
                              "%s swiglu%s n=%d i=%d: %.9g vs %.9g", k->name, form ? "_ggml" : "",
                              n, i, y2[i], y1[i]);
            }
        }

        /* llama2.c int8 groups */
        static int8_t wq[MAX_N], xq[MAX_N];
        static float ws[MAX_N / 8], xs[MAX_N / 8];
        static const int gss[] = {8, 16, 32, 64, 128};
        for (size_t gi = 0; gi < ARRAY_LEN(gss); gi++) {
            for (int n = gss[gi]; n <= 4096; n *= 4) {
                int gs = gss[gi];
                fill(a, n, 1.0f);
                fill(b, n, 1.0f);
                k_quantize_q8g(a, wq, ws, n, gs);
                k_quantize_q8g(b, xq, xs, n, gs);
                double terms = 0;
                for (int i = 0; i < n; i++)
                    terms += fabs((double)wq[i] * ws[i / gs] * (double)xq[i] * xs[i / gs]);
                float g = simd_generic.dot_q8g(wq, ws, xq, xs, n, gs);
                float s = k->dot_q8g(wq, ws, xq, xs, n, gs);
                CHECK_MSG(rel_err(s, g, terms) <= REL_TOL, "%s dot_q8g n=%d gs=%d: %.9g vs %.9g",
                          k->name, n, gs, s, g);
            }
        }
    }
}

TEST(simd_select_names)
{
    const struct simd_kernels *before = g_simd;
    CHECK_INT(simd_select("no-such-isa"), ERR_NOT_FOUND);
    CHECK(g_simd == before);
    CHECK_INT(simd_select("generic"), 0);
    CHECK_STR(g_simd->name, "generic");
    const struct simd_choice *list;
    int n = simd_tables(&list);
    for (int i = 0; i < n; i++)
        CHECK_INT(simd_select(list[i].k->name), list[i].usable ? 0 : ERR_UNSUPPORTED);
    CHECK_INT(simd_select("auto"), 0);
    printf("  auto picks %s\n", g_simd->name);
    /* a complete table: every weight type has a dot product */
    for (size_t ti = 0; ti < ARRAY_LEN(weight_types); ti++)
        CHECK(g_simd->dot[weight_types[ti]] != NULL);
    simd_select("generic"); /* the other unit tests expect the reference */
}

/* dot_multi over every count of rows, picked 5 rows apart (wrapping, so in
 * and out of memory order) from the `rows` weight rows rb bytes apart at w,
 * against the table's dot of each. */
static void check_multi(const struct simd_kernels *k, int type, const unsigned char *w, size_t rb,
                        int rows, const void *xq, int n)
{
    for (int count = 1; count <= DOT_MULTI_MAX; count++)
        for (int first = 0; first < rows; first += 3) {
            const void *wr[DOT_MULTI_MAX];
            float got[DOT_MULTI_MAX];
            for (int c = 0; c < count; c++)
                wr[c] = w + (size_t)((first + c * 5) % rows) * rb;
            k->dot_multi[type](wr, count, xq, n, got);
            for (int c = 0; c < count; c++) {
                float want = k->dot[type](wr[c], xq, n);
                CHECK_MSG(fbits(got[c]) == fbits(want),
                          "%s dot_multi %s n=%d count %d row %d: %.9g vs dot %.9g", k->name,
                          qtype_name(type), n, count, c, got[c], want);
            }
        }
}

/* dot_rows, dot_block and dot_multi must return exactly what the same
 * table's dot returns per row. */
TEST(simd_dot_rows_bit_identical_to_dot)
{
    struct simd_kernels tables[5];
    int nt = usable_tables(tables, 5);
    enum { NB = 15, ROWS = 11 }; /* every count up to two tiles of 8 less one: each tail */
    static float w[MAX_N], x[MAX_N];
    static unsigned char wq[ROWS * (MAX_N * 4 + 64)], xq[NB * (MAX_N * 5 + 64)];
    /* 5632: 168 blocks (two chunks of dot_block, the last with a short
     * step); 4096 + 96: 131 (a last chunk of 3 blocks); the last two, for
     * the float types only: an 8-value step and then single values at a
     * row's end, and only the 8-value step */
    static const int lens[] = {96, 256, 288, 768, 2048, 5632 - 5632 % 256, 4096 + 96, 100, 2056};
    for (int t = 0; t < nt; t++) {
        int covered = 0, blocks = 0, multis = 0;
        for (size_t ti = 0; ti < ARRAY_LEN(weight_types); ti++) {
            int type = weight_types[ti];
            if (!tables[t].dot_rows[type] && !tables[t].dot_block[type] &&
                !tables[t].dot_multi[type])
                continue;
            covered += tables[t].dot_rows[type] != NULL;
            blocks += tables[t].dot_block[type] != NULL;
            multis += tables[t].dot_multi[type] != NULL;
            for (size_t li = 0; li < ARRAY_LEN(lens); li++) {
                int n = lens[li], at = act_of(type);
                if (n % qtype_get(type)->block_elems != 0)
                    continue;
                uint64_t xb = at == QT_F32 ? (uint64_t)n * 4 : qmatvec_scratch_bytes(type, n);
                size_t stride = (size_t)((xb + 63) & ~(uint64_t)63);
                uint64_t rb64 = 0;
                CHECK_INT(qtype_row_bytes(type, (uint64_t)n, &rb64), 0);
                size_t rb = (size_t)rb64;
                for (int r = 0; r < ROWS; r++) {
                    fill(w, n, 1.0f);
                    CHECK_INT(quantize_row(type, w, wq + (size_t)r * rb, n), 0);
                    if (type == QT_Q8_0 && r == 1) /* -128 weights: files may hold them */
                        for (int b = 0; b < n / 32; b++)
                            ((block_q8_0 *)(wq + (size_t)r * rb))[b].qs[b % 32] = -128;
                }
                for (int b = 0; b < NB; b++) {
                    fill(x, n, b % 3 ? 1.0f : 40.0f);
                    if (at == QT_F32)
                        memcpy(xq + b * stride, x, (size_t)n * 4);
                    else
                        prepare_act(&tables[t], at, x, xq + b * stride, n, b % 4 == 2);
                }
                for (int nb = 1; nb <= NB; nb++) {
                    float got[NB * 3], blk[NB * ROWS];
                    if (tables[t].dot_rows[type])
                        tables[t].dot_rows[type](wq, xq, stride, n, nb, got, 3);
                    if (tables[t].dot_block[type])
                        tables[t].dot_block[type](wq, rb, ROWS, xq, stride, n, nb, blk, ROWS);
                    for (int b = 0; b < nb; b++) {
                        float want = tables[t].dot[type](wq, xq + b * stride, n);
                        CHECK_MSG(!tables[t].dot_rows[type] || fbits(got[b * 3]) == fbits(want),
                                  "%s dot_rows %s n=%d nb=%d row %d: %.9g vs dot %.9g",
                                  tables[t].name, qtype_name(type), n, nb, b, got[b * 3], want);
                        if (tables[t].dot_multi[type])
                            check_multi(&tables[t], type, wq, rb, ROWS, xq + b * stride, n);
                        for (int r = 0; tables[t].dot_block[type] && r < ROWS; r++) {
                            want = tables[t].dot[type](wq + (size_t)r * rb, xq + b * stride, n);
                            if (type == QT_F32) /* k_matmul_batch: dot_f32's bits */
                                CHECK(fbits(want) ==
                                      fbits(tables[t].dot_f32((const float *)(wq + (size_t)r * rb),
                                                              (const float *)(xq + b * stride), n)));
                            CHECK_MSG(fbits(blk[b * ROWS + r]) == fbits(want),
                                      "%s dot_block %s n=%d nb=%d weight row %d row %d: %.9g vs "
                                      "dot %.9g", tables[t].name, qtype_name(type), n, nb, r, b,
                                      blk[b * ROWS + r], want);
                        }
                    }
                }
            }
        }
        printf("  %s: dot_rows for %d weight types, dot_block for %d, dot_multi for %d\n",
               tables[t].name, covered, blocks, multis);
    }
}

/* fn(type, n) for every weight type and length of the lists, under every
 * table this CPU runs (selected as g_simd); generic again afterwards. */
static void each_table(const int *types, size_t ntypes, const int *lens, size_t nlens,
                       void (*fn)(int type, int n))
{
    const struct simd_choice *list;
    for (int t = 0, nt = simd_tables(&list); t < nt; t++) {
        if (!list[t].usable)
            continue;
        CHECK_INT(simd_select(list[t].k->name), 0);
        for (size_t ti = 0; ti < ntypes; ti++)
            for (size_t li = 0; li < nlens; li++)
                fn(types[ti], lens[li]);
    }
    simd_select("generic"); /* the other unit tests expect the reference */
}

/* rows random weight rows of type and length n into wq (cap bytes), their
 * size in *rb; 0 (a failed check) when they do not fit. */
static int random_rows(int type, int n, unsigned char *wq, size_t cap, int rows, uint64_t *rb)
{
    CHECK_INT(qtype_row_bytes(type, (uint64_t)n, rb), 0);
    const int fits = n <= MAX_N && *rb * (uint64_t)rows <= cap;
    CHECK(fits);
    static float w[MAX_N];
    for (int r = 0; fits && r < rows; r++) {
        fill(w, n, 1.0f);
        CHECK_INT(quantize_row(type, w, wq + (size_t)r * *rb, n), 0);
    }
    return fits;
}

/* A prompt batch through qmatmul_prepared: at model widths the activation
 * rows go in several passes (quant.c), and every product must still be the
 * table's single-row dot, bit for bit. */
static void prompt_batch_case(int type, int n)
{
    enum { NB = 32, D = 21 }; /* a prompt batch; rows over one block of 16 */
    static float x[5632], out[NB * D];
    static unsigned char wq[D * 5632 * 2], xq[NB * 28672];
    uint64_t rb;
    size_t stride = (qmatvec_scratch_bytes(type, n) + 63) & ~(size_t)63;
    const int fits = stride * NB <= sizeof xq;
    CHECK(fits);
    if (!fits || !random_rows(type, n, wq, sizeof wq, D, &rb))
        return;
    for (int b = 0; b < NB; b++) {
        fill(x, n, b % 5 ? 1.0f : 30.0f);
        CHECK_INT(qmatvec_prepare(type, x, n, xq + b * stride), 0);
    }
    CHECK_INT(qmatmul_prepared(out, wq, type, xq, stride, n, D, NB), 0);
    int bad = 0;
    for (int b = 0; b < NB && !bad; b++)
        for (int r = 0; r < D && !bad; r++) {
            float want = g_simd->dot[type](wq + r * rb, xq + b * stride, n);
            bad = fbits(out[b * D + r]) != fbits(want);
            CHECK_MSG(!bad, "%s %s n=%d row %d x %d: %.9g vs dot %.9g", g_simd->name,
                      qtype_name(type), n, r, b, out[b * D + r], want);
        }
}

TEST(simd_prompt_batch_passes_bit_identical_to_dot)
{
    static const int types[] = {QT_Q4_0, QT_Q8_0, QT_Q4_K, QT_F16};
    static const int lens[] = {2048, 5632}; /* several passes each */
    each_table(types, ARRAY_LEN(types), lens, ARRAY_LEN(lens), prompt_batch_case);
}

/* Decoding (one activation row) through qmatmul_prepared_many: with a
 * dot_multi, the joint rows of several matrices go in segments read
 * together (quant.c); every row must still be the table's dot, bit for
 * bit, whatever the row counts leave in the last segments. */
static void decode_segments_case(int type, int n)
{
    /* matrix heights per call: one row; fewer rows than segments; odd
     * heights over several matrices (empty last segments); over many
     * blocks of the parallel split */
    static const int shapes[][3] = {{1, 0, 0}, {2, 1, 0}, {21, 5, 7}, {3, 0, 0}, {200, 33, 64}};
    enum { MAX_ROWS = 297, MAX_LEN = 4192 };
    static float x[MAX_LEN], out[MAX_ROWS];
    static unsigned char wq[MAX_ROWS * MAX_LEN * 2], xq[MAX_LEN * 5];
    uint64_t rb;
    const int fits = n <= MAX_LEN && qmatvec_scratch_bytes(type, n) <= sizeof xq;
    CHECK(fits);
    if (!fits || !random_rows(type, n, wq, sizeof wq, MAX_ROWS, &rb))
        return;
    for (int mins = 0; mins <= (type == QT_Q8_0); mins++) {
        fill(x, n, 1.0f);
        if (mins) /* -128 activations: Q8_0's exact lanes */
            x[n / 2] = INFINITY;
        CHECK_INT(qmatvec_prepare(type, x, n, xq), 0);
        for (size_t si = 0; si < ARRAY_LEN(shapes); si++) {
            struct qmat mats[3];
            int count = 0, at = 0;
            for (int k = 0; k < 3 && shapes[si][k]; k++, count++) {
                mats[k] = (struct qmat){out + at, wq + (size_t)at * rb, shapes[si][k]};
                at += shapes[si][k];
            }
            memset(out, 0xff, sizeof out);
            CHECK_INT(qmatmul_prepared_many(mats, count, type, xq, 0, n, 1), 0);
            int bad = 0;
            for (int r = 0; r < at && !bad; r++) {
                float want = g_simd->dot[type](wq + r * rb, xq, n);
                bad = fbits(out[r]) != fbits(want);
                CHECK_MSG(!bad, "%s %s n=%d shape %zu row %d: %.9g vs dot %.9g", g_simd->name,
                          qtype_name(type), n, si, r, out[r], want);
            }
        }
    }
}

TEST(simd_decode_segments_bit_identical_to_dot)
{
    static const int types[] = {QT_Q8_0, QT_Q4_0, QT_F16};
    static const int lens[] = {2048, 4096 + 96}; /* the second ends in a short oct */
    each_table(types, ARRAY_LEN(types), lens, ARRAY_LEN(lens), decode_segments_case);
}

/* Attention of one head: scores within the dot bound of each key, the
 * weighted value sum within one FMA-rounding bound per term. */
TEST(simd_attention_kernels_match_generic)
{
    struct simd_kernels tables[5];
    int nt = usable_tables(tables, 5);
    static const int heads[] = {1, 7, 16, 48, 64, 80, 128, 256};
    static const int keys[] = {1, 3, 4, 5, 17, 100};
    static float kv[300 * 300], q[300], s1[128], s2[128], o1[300], o2[300], att[128];
    for (int t = 0; t < nt; t++) {
        const struct simd_kernels *k = &tables[t];
        for (size_t hi = 0; hi < ARRAY_LEN(heads); hi++) {
            for (size_t ki = 0; ki < ARRAY_LEN(keys); ki++) {
                int n = heads[hi], nk = keys[ki];
                size_t stride = (size_t)n + 5; /* rows apart, like kv_dim > head_size */
                fill(kv, (int)(stride * (size_t)nk), 1.0f);
                fill(q, n, 2.0f);
                fill(att, nk, 1.0f);
                simd_generic.attn_scores(q, kv, stride, nk, n, s1);
                k->attn_scores(q, kv, stride, nk, n, s2);
                for (int j = 0; j < nk; j++) {
                    double terms = 0;
                    for (int i = 0; i < n; i++)
                        terms += fabs((double)q[i] * kv[(size_t)j * stride + (size_t)i]);
                    CHECK_MSG(rel_err(s2[j], s1[j], terms) <= REL_TOL,
                              "%s attn_scores n=%d nk=%d key %d: %.9g vs %.9g", k->name, n, nk, j,
                              s2[j], s1[j]);
                }
                simd_generic.attn_values(att, kv, stride, nk, n, o1);
                k->attn_values(att, kv, stride, nk, n, o2);
                for (int i = 0; i < n; i++) {
                    double terms = 0;
                    for (int j = 0; j < nk; j++)
                        terms += fabs((double)att[j] * kv[(size_t)j * stride + (size_t)i]);
                    CHECK_MSG(rel_err(o2[i], o1[i], terms) <= REL_TOL * 4,
                              "%s attn_values n=%d nk=%d i=%d: %.9g vs %.9g", k->name, n, nk, i,
                              o2[i], o1[i]);
                }
            }
        }
    }
}

/* The stream kernels (the benchmark's roofline) read every byte they are
 * given and nothing past it: the xor equals generic's for lengths of 1 to
 * 40 steps, flipping the last word changes it, the word after does not. */
TEST(simd_stream_reads_every_byte)
{
    struct simd_kernels tables[5];
    int nt = usable_tables(tables, 5);
    static uint64_t buf[40 * 256 / 8 + 8] __attribute__((aligned(64)));
    for (size_t i = 0; i < ARRAY_LEN(buf); i++)
        buf[i] = (uint64_t)rnd() << 32 | rnd();
    for (size_t steps = 1; steps <= 40; steps++) {
        const size_t bytes = steps * 256, words = bytes / 8;
        const uint64_t want = simd_generic.stream(buf, bytes);
        uint64_t x = 0;
        for (size_t i = 0; i < words; i++)
            x ^= buf[i];
        CHECK_MSG(want == x, "generic stream of %zu bytes", bytes);
        for (int t = 0; t < nt; t++) {
            CHECK_MSG(tables[t].stream(buf, bytes) == want, "%s stream of %zu bytes", tables[t].name,
                      bytes);
            buf[words - 1] ^= 1; /* the last word counts */
            CHECK_MSG(tables[t].stream(buf, bytes) == (want ^ 1), "%s last word", tables[t].name);
            buf[words - 1] ^= 1;
            buf[words] ^= 1; /* the word after does not */
            CHECK_MSG(tables[t].stream(buf, bytes) == want, "%s read past the end", tables[t].name);
            buf[words] ^= 1;
        }
    }
}

/* k_stream_bandwidth: 0 below its smallest size, a rate for any start
 * alignment above it. */
TEST(stream_bandwidth_sizes_and_alignment)
{
    static uint8_t buf[(1 << 20) + 64] __attribute__((aligned(64)));
    CHECK(k_stream_bandwidth(buf, 0) == 0.0);
    CHECK(k_stream_bandwidth(buf, 64 * 256 - 1) == 0.0);
    CHECK(k_stream_bandwidth(buf + 1, 64 * 256) == 0.0); /* fewer whole steps after aligning */
    CHECK(k_stream_bandwidth(buf, 64 * 256) > 0.0);
    CHECK(k_stream_bandwidth(buf + 3, 1 << 20) > 0.0);
    CHECK(k_stream_bandwidth(buf + 61, (1 << 20) + 3) > 0.0);
}
