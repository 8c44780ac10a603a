/* quant.h - GGUF/ggml weight types in ggml's exact block layouts, generic C.
 *
 * Everything here is the portable reference that later SIMD kernels are
 * differential-tested against. Block layouts, type ids, dequantization and the
 * reference quantizers follow ggml (llama.cpp, ggml-common.h / ggml-quants.c)
 * bit for bit; see quant.c for where the matrix-vector kernels' float
 * accumulation order follows ggml's generic C and where it cannot follow its
 * SIMD code.
 *
 * Conventions: n is the number of values in a row and must be a multiple of
 * the type's block size (32 or 256); functions return 0 or a negative ERR_*
 * code (ERR_INVAL for a bad length or pointer, ERR_UNSUPPORTED for a type this
 * module does not compute with). Buffers are always caller-owned; nothing here
 * allocates. Block pointers must be 2-byte aligned (4 for F32 data and for
 * the activation scratch): GGUF tensor data is 32-byte aligned and every block
 * size is even, so rows of a tensor stay aligned. */
#ifndef QUANT_H
#define QUANT_H

#include "lib.h"

/* ggml type ids (enum ggml_type), as stored in GGUF tensor infos. */
enum {
    QT_F32 = 0,
    QT_F16 = 1,
    QT_Q4_0 = 2,
    QT_Q4_1 = 3,
    QT_Q8_0 = 8,
    QT_Q8_1 = 9,  /* activations only (Q4_1 dot products) */
    QT_Q4_K = 12,
    QT_Q6_K = 14,
    QT_Q8_K = 15, /* activations only (K-quant dot products) */
    QT_BF16 = 30,
    QT_ID_LIMIT = 42 /* ids below this are looked up in the type table */
};

#define QK4_0 32
#define QK4_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256

/* Half and bfloat16 values are kept as their raw bits. */
typedef uint16_t qf16;
typedef uint16_t qbf16;

/* x = d * (q - 8), q a 4-bit value; values j and j+16 share byte qs[j]
 * (low nibble = j, high nibble = j+16). */
typedef struct {
    qf16 d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;
_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 is 18 bytes");

/* x = d * q + m, q a 4-bit value, same nibble order as Q4_0. */
typedef struct {
    qf16 d;
    qf16 m;
    uint8_t qs[QK4_1 / 2];
} block_q4_1;
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1 is 20 bytes");

/* x = d * q. */
typedef struct {
    qf16 d;
    int8_t qs[QK8_0];
} block_q8_0;
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 is 34 bytes");

/* Activations for Q4_1 weights: x = d * q, s = d * sum(q) (as fp16). */
typedef struct {
    qf16 d;
    qf16 s;
    int8_t qs[QK8_1];
} block_q8_1;
_Static_assert(sizeof(block_q8_1) == 36, "block_q8_1 is 36 bytes");

/* 256 values in 8 sub-blocks of 32: x = (d * sc[j]) * q - (dmin * m[j]),
 * q 4-bit, sc/m 6-bit packed in scales[12] (see qk4_scale_min). qs holds 4
 * chunks of 32 bytes; chunk c has sub-block 2c in the low nibbles and
 * sub-block 2c+1 in the high nibbles. */
typedef struct {
    qf16 d;
    qf16 dmin;
    uint8_t scales[12];
    uint8_t qs[QK_K / 2];
} block_q4_K;
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K is 144 bytes");

/* 256 values in 16 sub-blocks of 16: x = (d * scales[e/16]) * (q - 32),
 * q 6-bit: low 4 bits in ql, high 2 bits in qh. For value e, with
 * h = e/128, g = (e%128)/32, l = e%32: low bits are nibble (g>>1) of
 * ql[64h + 32(g&1) + l], high bits are bits 2g..2g+1 of qh[32h + l]. */
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    qf16 d;
} block_q6_K;
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K is 210 bytes");

/* Activations for K-quant weights: x = d * q; bsums[j] = sum of qs[16j..16j+15]. */
typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K is 292 bytes");

/* ---- scalar conversions (exact; see quant.c for NaN details) ---- */
float f16_to_f32(qf16 h);
qf16 f32_to_f16(float f);  /* round to nearest even, like F16C */
float bf16_to_f32(qbf16 h);
qbf16 f32_to_bf16(float f); /* round to nearest even, like ggml */

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K scales[12]
 * field (ggml's get_scale_min_k4). */
void qk4_scale_min(int j, const uint8_t *scales, uint8_t *ret_sc, uint8_t *ret_m);

/* ---- the type table ---- */
struct qtype_info {
    const char *name; /* ggml's type name ("q4_K"); never NULL */
    int id;           /* ggml type id */
    int block_elems;  /* values per block (1 for plain scalar types) */
    int block_bytes;  /* bytes per block */
    int is_weight;    /* 1: dequantize_row/qmatvec accept it as a weight type */
    int can_quantize; /* 1: quantize_row writes it */
    int vec_dot_type; /* type the activations are converted to by qmatvec */
};
/* Info for a ggml type id, including ids this module cannot compute with
 * (IQ*, Q5_*, Q2_K, ... have name and size so a reader can size and skip
 * their tensors and name them in messages). NULL for unknown/removed ids. */
const struct qtype_info *qtype_get(int id);
/* Type name for messages; "unknown" for ids qtype_get does not know. */
const char *qtype_name(int id);
/* Bytes of a row of n values of type id. ERR_NOT_FOUND for an unknown id,
 * ERR_INVAL if n is not a positive multiple of the block size, ERR_RANGE on
 * overflow; *ret_bytes written only on success. */
int qtype_row_bytes(int id, uint64_t n, uint64_t *ret_bytes);

/* ---- rows ---- */
/* dst (n floats) = the values of the n-value row src of weight type `type`
 * (any is_weight type, and Q8_1/Q8_K). Matches ggml's dequantize_row_*. */
int dequantize_row(int type, const void *src, float *dst, int n);
/* dst (row of type `type`) = src (n floats) quantized like ggml's
 * quantize_row_*_ref, so files written with it match llama.cpp's tools:
 * F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K (and Q8_1, Q8_K). */
int quantize_row(int type, const float *src, void *dst, int n);

/* ---- matrix-vector ---- */
/* out (d) = W (d, n) @ x (n): row i of W starts at
 * (const char *)w + i * row_bytes(type, n). Rows are spread over
 * plat_parallel_for; every row is computed the same way on any thread count.
 *
 * qmatvec is the llama.cpp-style path: x is first converted to the type's
 * vec_dot_type (Q8_0 for Q4_0/Q8_0, Q8_1 for Q4_1, Q8_K for Q4_K/Q6_K, F16
 * for F16, BF16 for BF16, nothing for F32) in scratch, then each row is an
 * integer (or exact-product) dot product per block. scratch must hold
 * qmatvec_scratch_bytes(type, n) bytes (4-byte aligned; may be NULL when that
 * is 0); it is caller-owned and only used during the call.
 * out must not overlap x, w or scratch. */
size_t qmatvec_scratch_bytes(int type, int n);
int qmatvec(float *out, const void *w, int type, const float *x, int n, int d,
            void *scratch);
/* The two halves of qmatvec, for callers that multiply several matrices of
 * the same type by one x (q, k and v projections): qmatvec_prepare fills
 * scratch from x once (nothing to do for F32), qmatvec_prepared multiplies
 * by the prepared xq (for F32 weights, xq is x itself). */
int qmatvec_prepare(int type, const float *x, int n, void *scratch);
int qmatvec_prepared(float *out, const void *w, int type, const void *xq,
                     int n, int d);
/* The same for nb activation rows prepared xq_stride bytes apart (a multiple
 * of 4): out[b * d + i] = row i of W times activation row b, each product
 * exactly what qmatvec_prepared computes for that row alone. */
int qmatmul_prepared(float *out, const void *w, int type, const void *xq, size_t xq_stride, int n,
                     int d, int nb);
/* Several matrices of one type and row length times the same prepared
 * activations in one parallel pass (q, k and v; gate and up): the cores
 * wake once, and every product is what qmatmul_prepared computes alone. */
#define QMAT_MAX 3
struct qmat {
    float *out; /* (nb, d) */
    const void *w;
    int d;
};
int qmatmul_prepared_many(const struct qmat *mats, int n_mats, int type, const void *xq,
                          size_t xq_stride, int n, int nb);
/* The simple float path: each row is dequantized block by block and summed
 * left to right in float, out[i] = ((w0*x0 + w1*x1) + ...), no scratch. */
int qmatvec_float(float *out, const void *w, int type, const float *x, int n,
                  int d);

/* ---- building blocks (the pieces SIMD kernels replace) ---- */
/* Activation quantizers as llama.cpp runs them on x86 with AVX/AVX2/AVX-512
 * (its SIMD quantize_row_q8_0/q8_1): d = amax/127 and q = round-half-even
 * (x * (127/amax)). quantize_row(QT_Q8_0, ...) is the _ref variant instead
 * (q = roundf(x * (1/d)), half away from zero) used for weight files. */
void quantize_act_q8_0(const float *x, block_q8_0 *y, int n);
void quantize_act_q8_1(const float *x, block_q8_1 *y, int n);
/* Q8_K activations: exactly ggml's quantize_row_q8_K_ref (all ISAs). */
void quantize_act_q8_K(const float *x, block_q8_K *y, int n);
/* Dot product of one weight row with prepared activations (the vec_dot of
 * ggml's generic C: same integer sums, same float expression order). */
float qdot_row(int type, const void *wrow, const void *xq, int n);

#endif
