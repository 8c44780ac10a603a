/* simd.h - the kernel table: one set of per-token kernels per instruction
 * set, chosen once at start-up from CPUID/XGETBV (or forced by isa= / --isa).
 *
 * The generic table is the portable C of quant.c and kernels.c, the
 * reference every other table is differential-tested against
 * (tests/test_simd.c). An ISA table fills only the entries it speeds up;
 * simd_select() merges it over the generic one, so the active table is always
 * complete. Contracts per entry:
 *  - act[vdt]: converts n floats to the activation type vdt (QT_Q8_0, QT_Q8_1,
 *    QT_Q8_K, QT_F16, QT_BF16). Must equal the generic result bit for bit:
 *    quantized activations feed integer sums, so matching them keeps every
 *    table's integer part identical.
 *  - dot[type]: dot product of one weight row of n values of `type` with
 *    activations prepared by act[] (F32 rows take the float x as it is).
 *    Integer parts are exact; the float sums may be ordered differently from
 *    the generic ones (tests bound the difference).
 *  - dot_f32, axpy, rmsnorm, softmax, swiglu: float kernels of the llama2.c
 *    path and of attention; results within a few ULP-scaled bound of generic.
 * Every function must accept any n its contract allows (multiples of the
 * block size for dot/act; any n >= 1 for the float kernels) and unaligned
 * pointers (weights are 32-byte aligned in GGUF but rows need not be).
 * Kernels are called from several threads at once: no shared state. */
#ifndef SIMD_H
#define SIMD_H

#include "quant.h"

typedef float (*simd_dot_fn)(const void *wrow, const void *xq, int n);
typedef void (*simd_act_fn)(const float *x, void *xq, int n);
typedef void (*simd_dot_rows_fn)(const void *wrow, const void *xq, size_t xq_stride, int n,
                                 int nb, float *out, size_t out_stride);
#define DOT_MULTI_MAX 4
typedef void (*simd_dot_multi_fn)(const void *const *wrows, int count, const void *xq, int n,
                                  float *out);
typedef void (*simd_dot_block_fn)(const void *w, size_t row_bytes, int nrows, const void *xq,
                                  size_t xq_stride, int n, int nb, float *out, size_t out_stride);

struct simd_kernels {
    const char *name; /* "generic", "avx2", "avx512", "avx512vnni" */
    /* entries this table leaves NULL come from base (then from generic) */
    const struct simd_kernels *base;
    simd_dot_fn dot[QT_ID_LIMIT];
    simd_act_fn act[QT_ID_LIMIT];
    /* One weight row times nb (>= 1) activation rows xq_stride bytes apart:
     * out[b * out_stride] = dot[type](wrow, xq + b * xq_stride, n), each BIT
     * FOR BIT what this table's dot[type] returns for that row alone (so
     * batched prefill fills the KV cache exactly as decoding would). Lets
     * prefill load and unpack each weight block once for several tokens.
     * NULL (generic): a loop over dot[type]. */
    simd_dot_rows_fn dot_rows[QT_ID_LIMIT];
    /* dot_block[type] (optional): dot_rows for nrows consecutive weight
     * rows (row_bytes apart) at once, out[b * out_stride + r] for row r,
     * the same bits; all nb activation rows in one call. Lets a table run
     * the rows over chunks of n that stay in L1 for all of them, where
     * dot_rows needs whole activation rows in L1 (wide models: few per
     * pass). NULL: qmv_block's passes over dot_rows. dot_block[QT_F32]
     * (activations: the floats, n * 4 bytes apart) is also dot_f32's
     * arithmetic: k_matmul_batch's prompts use it. */
    simd_dot_block_fn dot_block[QT_ID_LIMIT];
    /* dot_multi[type] (optional): count (1..DOT_MULTI_MAX) weight rows,
     * anywhere in memory, against one activation row, read together:
     * out[r] = dot[type](wrows[r], xq, n), the same bits. Decoding reads
     * rows from DOT_MULTI_MAX far-apart places of the matrices at once with
     * it (quant.c): one Zen 3 core then streams a compute-heavy kernel's
     * weights faster than from one place. NULL: one row at a time. */
    simd_dot_multi_fn dot_multi[QT_ID_LIMIT];
    /* expand[vdt] (optional; only QT_Q8_0 has one): called by
     * qmatvec_prepare right after act[vdt] on the same row, it writes this
     * table's own layout of those activations at xq + simd_q8_expansion_at(n)
     * (at most simd_q8_expansion_bytes(n) bytes). A table with an expansion
     * supplies dot and dot_rows for every weight type using that vdt, and
     * they read the expansion (work done once per row instead of once per
     * weight row). The integers and scales in it are the act[] row's. */
    void (*expand[QT_ID_LIMIT])(void *xq, int n);
    /* sum of a[i]*b[i] (llama2.c matmul rows, attention scores) */
    float (*dot_f32)(const float *a, const float *b, int n);
    /* llama2.c v2 int8 groups: sum over groups of (int dot) * ws[g] * xs[g] */
    float (*dot_q8g)(const int8_t *w, const float *ws, const int8_t *x, const float *xs, int n,
                     int gs);
    /* y[i] += a * x[i] (attention's weighted sum of values) */
    void (*axpy)(float *y, float a, const float *x, int n);
    /* attention of one head: scores[t] = q . k_t for nk keys of n floats,
     * stride floats apart; out (n) = sum over t of att[t] * v_t (out is
     * overwritten). Generic: dot_f32 per key, axpy per value. */
    void (*attn_scores)(const float *q, const float *k, size_t stride, int nk, int n,
                        float *scores);
    void (*attn_values)(const float *att, const float *v, size_t stride, int nk, int n,
                        float *out);
    /* k_rmsnorm's contract (llama2.c: eps 1e-5, out may alias x) */
    void (*rmsnorm)(float *out, const float *x, const float *w, int n);
    /* in-place softmax, n >= 1 */
    void (*softmax)(float *x, int n);
    /* hb[i] = silu(hb[i]) * up[i]: x * (1 / (1 + e^-x)) as llama2.c writes
     * it, and x / (1 + e^-x) as ggml does (generic rounds each its way) */
    void (*swiglu)(float *hb, const float *up, int n);
    void (*swiglu_ggml)(float *hb, const float *up, int n);
    /* reads each of the bytes (a multiple of 256) at p (64-aligned) once
     * and returns their 64-bit words xor-ed together (so no read can be
     * left out): the benchmark's roofline, the fastest way this ISA reads
     * memory */
    uint64_t (*stream)(const void *p, size_t bytes);
};

/* Where the Q8_0 expansion of an n-value activation row starts (bytes
 * from the row's act[] output, 64-aligned relative to it) and its size
 * bound for every table (AVX-512: 256 bytes per 4 blocks and 64 per 16;
 * AVX2: 320 per 8 blocks and a flag), a multiple of 64. */
static inline size_t simd_q8_expansion_at(int n)
{
    return ((size_t)(n / QK8_0) * sizeof(block_q8_0) + 63) & ~(size_t)63;
}
static inline size_t simd_q8_expansion_bytes(int n)
{
    const size_t nb = (size_t)(n / QK8_0);
    const size_t avx512 = (nb + 3) / 4 * 256 + (nb + 15) / 16 * 64;
    const size_t avx2 = ((nb + 7) / 8 * 320 + sizeof(int32_t) + 63) & ~(size_t)63;
    return avx512 > avx2 ? avx512 : avx2;
}

/* The tables compiled into this program, generic first; each with whether
 * this CPU (and its OS/firmware state) can run it. */
struct simd_choice {
    const struct simd_kernels *k; /* the ISA's own entries (NULLs = generic) */
    int usable;
};
int simd_tables(const struct simd_choice **ret);

/* "auto, generic, avx2, ...": the names simd_select takes (the tables
 * compiled in, usable here or not), into buf; returns buf. */
const char *simd_names(char *buf, size_t cap);

/* Makes the named table active ("auto" or NULL: the best usable one).
 * ERR_NOT_FOUND for an unknown name, ERR_UNSUPPORTED when this CPU can't run
 * it; the active table is unchanged on error. Not thread-safe: call at
 * start-up or between generations. */
int simd_select(const char *name);
/* The active, complete table (generic until simd_select is called). */
extern const struct simd_kernels *g_simd;
/* Fills a complete table: the generic entries overridden by k's non-NULL
 * ones (what simd_select activates; tests use it to compare tables). */
void simd_merge(struct simd_kernels *out, const struct simd_kernels *k);

/* The generic entries (quant.c and kernels.c). */
float gen_dot_f32(const void *w, const void *x, int n);
float gen_dot_f16(const void *w, const void *x, int n);
float gen_dot_bf16(const void *w, const void *x, int n);
float gen_dot_q4_0(const void *w, const void *x, int n);
float gen_dot_q4_1(const void *w, const void *x, int n);
float gen_dot_q8_0(const void *w, const void *x, int n);
float gen_dot_q4_K(const void *w, const void *x, int n);
float gen_dot_q6_K(const void *w, const void *x, int n);
void gen_act_f16(const float *x, void *xq, int n);
void gen_act_bf16(const float *x, void *xq, int n);
void gen_act_q8_0(const float *x, void *xq, int n);
void gen_act_q8_1(const float *x, void *xq, int n);
void gen_act_q8_K(const float *x, void *xq, int n);
float gen_dot_f32_seq(const float *a, const float *b, int n);
float gen_dot_q8g(const int8_t *w, const float *ws, const int8_t *x, const float *xs, int n,
                  int gs);
void gen_axpy(float *y, float a, const float *x, int n);
void gen_attn_scores(const float *q, const float *k, size_t stride, int nk, int n, float *scores);
void gen_attn_values(const float *att, const float *v, size_t stride, int nk, int n, float *out);
void gen_softmax(float *x, int n);
void gen_swiglu(float *hb, const float *up, int n);
void gen_swiglu_ggml(float *hb, const float *up, int n);
uint64_t gen_stream(const void *p, size_t bytes);

/* The tables (simd.c and the ISA files). */
extern const struct simd_kernels simd_generic;
extern const struct simd_kernels simd_avx2;
extern const struct simd_kernels simd_avx2vnni;
extern const struct simd_kernels simd_avx512;
extern const struct simd_kernels simd_avx512vnni;
extern const struct simd_kernels simd_avx512vnni_base; /* its base, not selectable */

#endif
