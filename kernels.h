/* kernels.h - generic C kernels (the reference for later SIMD variants). */
#ifndef KERNELS_H
#define KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* out = weight * x / sqrt(mean(x^2) + 1e-5); out may alias x. */
void k_rmsnorm(float *out, const float *x, const float *weight, int size);
/* Runs fn over d rows of n columns each: on every thread when the matrix is
 * big enough to pay for waking them, else on this one (tiny models run
 * faster serially). Row results never depend on the choice. */
void k_parallel_rows(int d, int n, void (*fn)(int i, void *ctx), void *ctx);
/* The index of the largest of x[0..n) (n >= 1): the first one on ties, and
 * a NaN never wins (x[0] NaN gives 0), as `if (x[i] > x[best]) best = i`. */
int k_argmax(const float *x, int n);
/* In-place softmax of size >= 1 values. */
void k_softmax(float *x, int size);
/* out (d) = W (d, n) @ x (n); rows are spread over plat_parallel_for. */
void k_matmul(float *out, const float *x, const float *w, int n, int d);
/* The same for nb activation rows: out (nb, d), row b = W @ x[b * n ...]. */
void k_matmul_batch(float *out, const float *x, const float *w, int n, int d, int nb);

/* llama2.c version 2 (runq.c) int8 groups: x is quantized per group of gs
 * (scale = max|x|/127, values rounded half away from zero) into xq/xs
 * (caller-owned: n bytes and n/gs floats), then out (d) = W (d, n) @ x with
 * integer dot products per group scaled by both scales, as runq.c does. */
void k_quantize_q8g(const float *x, int8_t *xq, float *xs, int n, int gs);
void k_matmul_q8g(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
                  const float *ws, int n, int d, int gs);
/* nb activation rows: xq (nb, n), xs (nb, n/gs), out (nb, d). */
void k_matmul_q8g_batch(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
                        const float *ws, int n, int d, int gs, int nb);

/* Bytes per second at which every thread plat_parallel_for uses reads the
 * bytes at p once (the best of three passes, through the widest table's
 * stream kernel); 0 below 16 KiB. Memory that fits the caches reads at
 * cache speed. */
double k_stream_bandwidth(const void *p, size_t bytes);
/* k_stream_bandwidth of a fresh 128 MiB buffer: a rough figure for the
 * memory bus (parts of it may stay in a big last-level cache); 0 when the
 * buffer can't be had. */
double k_read_bandwidth(void);

#endif
