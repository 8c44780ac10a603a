/* simd_avx2.c - AVX2+FMA+F16C kernels (built with only those extensions). */
#include "simd.h"

const struct simd_kernels simd_avx2 = {
    .name = "avx2",
};
