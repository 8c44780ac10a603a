/* kernels.h - generic C kernels (the reference for later SIMD variants). */
#ifndef KERNELS_H
#define KERNELS_H

/* out = weight * x / sqrt(mean(x^2) + 1e-5); out may alias x. */
void k_rmsnorm(float *out, const float *x, const float *weight, int size);
/* In-place softmax of size >= 1 values. */
void k_softmax(float *x, int size);
/* out (d) = W (d, n) @ x (n); rows are spread over plat_parallel_for. */
void k_matmul(float *out, const float *x, const float *w, int n, int d);

/* Measures the memory read bandwidth in bytes per second (a sum over a
 * buffer much larger than the caches); 0 when the buffer can't be had. */
double k_read_bandwidth(void);

#endif
