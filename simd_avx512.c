/* simd_avx512.c - AVX-512F/DQ/BW/VL kernels, and the VNNI variants. */
#include "simd.h"

const struct simd_kernels simd_avx512 = {
    .name = "avx512",
};

const struct simd_kernels simd_avx512vnni = {
    .name = "avx512vnni",
};
