/* simd_avx512.h - small AVX-512 helpers shared by simd_avx512.c and
 * simd_avx512_g4.c (static inline; each file is compiled with its own
 * -m flags, so nothing here may be a real function). */
#ifndef SIMD_AVX512_H
#define SIMD_AVX512_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "lib.h"
#include "simd_tile.h"

#define SI static inline
#define AI static inline __attribute__((always_inline))
#define UNROLL_T _Pragma("GCC unroll 8")

SI uint16_t ld16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

SI float h2f(uint16_t h)
{
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

SI float hsum(__m512 v)
{
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

/* A vpermw index that spreads words: each 64-bit lane (4 words) takes word
 * w7 .. w0 of the source (lane 7 first, as _mm512_set_epi64). */
#define WORDS4(w) (0x0001000100010001LL * (long long)(w))
#define SPREAD_WORDS(w7, w6, w5, w4, w3, w2, w1, w0)                                         \
    _mm512_set_epi64(WORDS4(w7), WORDS4(w6), WORDS4(w5), WORDS4(w4), WORDS4(w3), WORDS4(w2), \
                     WORDS4(w1), WORDS4(w0))

/* Mask of the first k (any int) bytes of a 64-byte load. */
SI __mmask64 first_bytes(int k)
{
    return k <= 0 ? 0 : k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << k) - 1;
}

/* Window w of words16: lanes w*per .. w*per+per-1 of r replaced. */
SI __m512i words_window(__m512i r, const uint8_t *p, int stride, int per, int w, int valid)
{
    const __m512i lane = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
                                          17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2,
                                          1, 0);
    const int off = w * per * stride;
    /* lane l takes word (l - w*per) * stride/2 of the window */
    const __m512i idx = _mm512_mullo_epi16(_mm512_sub_epi16(lane, _mm512_set1_epi16((short)(w * per))),
                                           _mm512_set1_epi16((short)(stride / 2)));
    const __m512i v = _mm512_permutex2var_epi16(_mm512_maskz_loadu_epi8(first_bytes(valid - off), p + off),
                                                idx,
                                                _mm512_maskz_loadu_epi8(first_bytes(valid - off - 64),
                                                                        p + off + 64));
    return _mm512_mask_blend_epi16((__mmask32)(((1u << per) - 1) << (w * per)), r, v);
}

/* The 16-bit words at p + k*stride bytes, k = 0..15 (stride even, 18..40):
 * 128-byte windows of a few blocks each, picked out with vpermt2w (a gather
 * is much slower). Reads nothing at or past p + valid (words there are 0;
 * valid >= 16 * stride: all 16). */
SI __m256i words16(const uint8_t *p, int stride, int valid)
{
    __m512i r = _mm512_setzero_si512();
    const int per = 63 / (stride / 2) + 1 >= 8 ? 8 : 4;
    for (int w = 0; w < 16 / per && w * per * stride < valid; w++)
        r = words_window(r, p, stride, per, w, valid);
    return _mm512_castsi512_si256(r);
}

/* The first count (any int; at most 16 are read) fp16 scales at
 * p + k*stride bytes as floats, zeros after them. */
SI __m512 halves16(const void *p, int stride, int count)
{
    return _mm512_cvtph_ps(words16(p, stride, count * stride));
}

#endif
