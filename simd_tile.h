/* simd_tile.h - dot, dot_rows and dot_block from one "tile" kernel
 * (simd.h), shared by the ISA files (plain C: no intrinsics here).
 *
 * A tile function computes one weight row against T (1..8, a constant at
 * every call site) activation rows `stride` bytes apart, each row with the
 * single-row arithmetic; the table's dot is the T = 1 tile, so dot_rows
 * returns bit for bit what dot does:
 *   void TILE(const void *w, const void *xq, size_t stride, int n,
 *             float *out, size_t ostride, int T); */
#ifndef SIMD_TILE_H
#define SIMD_TILE_H

#include <stddef.h>
#include <stdint.h>

/* How far ahead weight blocks are asked for, in bytes. One core reading
 * Q4_0 from memory with 2 MiB pages (its plain reads: 40-44 GB/s): 2 KiB
 * ahead 34, 4 KiB 37, 8 KiB 41-42, 16 KiB 39-41 GB/s. With 4 KiB pages,
 * 4 KiB was best (32-35 GB/s): a prefetch past a page also waited for a
 * page walk. */
#define PREFETCH_DIST 8192

/* Asks for the next group of weight blocks PREFETCH_DIST ahead: hardware
 * prefetchers lose sequential weight streams that two threads read from
 * different rows at once. Non-temporal (prefetchnta): a token reads each
 * weight once, and with prefetcht0 the stream pushed the activations and
 * the KV cache out of L2/L3. Measured against prefetcht0, 2 threads, runs
 * alternated: TinyLlama Q4_0 decode 91-94% of the roofline vs 88-90% (at
 * ~50 GB/s) and +1.5% at ~83 GB/s; Llama-2-7B Q4_0 87-91% vs 85-88%;
 * Q4_K 94-96% vs 91%, Q6_K 98% vs 92-93%; prefill unchanged. (prefetcht1,
 * or a second prefetcht2 further ahead, measured no better.) */
static inline __attribute__((always_inline)) void PREFETCH_AHEAD(const void *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch((const char *)p + PREFETCH_DIST + off, 0, 0); /* prefetchnta */
}

/* dot_rows from a tile function: tiles of TT (2, 4 or 8) rows, then the
 * rest (a tile of 4 if that many are left, then 1..3).
 * Activation rows of big batches overflow L1, and consecutive weight rows
 * (the next call on this thread, usually) read them all again: every other
 * weight row (by its index in the matrix, its address over the row size RB
 * bytes) runs the tiles backwards, starting with the ones still in L1.
 * The order of the tiles changes nothing in any row's arithmetic. */
#define ROWS_FROM_TILE(NAME, TILE, TT, RB)                                                   \
    static void NAME(const void *w, const void *xq, size_t stride, int n, int nb, float *out, \
                     size_t ostride)                                                         \
    {                                                                                        \
        const uint8_t *x = xq;                                                               \
        const int full = nb / (TT) * (TT), rest = nb - full;                                 \
        const size_t rb = (RB);                                                              \
        const int back = rb && ((uintptr_t)w / (rb ? rb : 1)) & 1;                                   \
        if (!back)                                                                           \
            for (int b = 0; b < full; b += (TT))                                             \
                TILE(w, x + (size_t)b * stride, stride, n, out + (size_t)b * ostride, ostride, TT); \
        const uint8_t *xr = x + (size_t)full * stride;                                       \
        float *outr = out + (size_t)full * ostride;                                          \
        if ((TT) > 4 && rest >= 4)                                                           \
            TILE(w, xr, stride, n, outr, ostride, 4), xr += 4 * stride, outr += 4 * ostride; \
        if (rest % 4 == 3)                                                                   \
            TILE(w, xr, stride, n, outr, ostride, 3);                                        \
        else if (rest % 4 == 2)                                                              \
            TILE(w, xr, stride, n, outr, ostride, 2);                                        \
        else if (rest % 4 == 1)                                                              \
            TILE(w, xr, stride, n, outr, ostride, 1);                                        \
        if (back)                                                                            \
            for (int b = full - (TT); b >= 0; b -= (TT))                                     \
                TILE(w, x + (size_t)b * stride, stride, n, out + (size_t)b * ostride, ostride, TT); \
    }

/* The single-row dot of a tile function. */
#define DOT_FROM_TILE(NAME, TILE)                                                            \
    static float NAME(const void *w, const void *xq, int n)                                  \
    {                                                                                        \
        float r;                                                                             \
        TILE(w, xq, 0, n, &r, 0, 1);                                                         \
        return r;                                                                            \
    }

/* dot_block (simd.h) from a range tile, which computes units [i0, i1) of
 * one weight row (units: blocks or values) against T activation rows:
 *   void RANGE(const void *w, const void *xq, size_t stride, int n, int i0,
 *              int i1, VEC *acc, float *out, size_t ostride, const int T);
 * acc holds ACCS vectors per activation row: zeroed when i0 is 0, else
 * continued; written back unless i1 is the row's end (UNITS, an expression
 * of n), where the sums go to out[t * ostride] instead. i0 and i1 are
 * multiples of CHUNK, which the range must be able to stop at with the
 * very steps an unsplit row takes, so every product is bit for bit dot's.
 *
 * Activation rows go in tiles of TT (8, 4 or 2; then 4, then 1..3); each
 * tile's rows are read CHUNK units at a time by BLOCK_SUB_ROWS weight rows
 * in turn, so that chunk stays in L1 however wide the rows are, and the
 * weight rows' accumulators wait in memory between chunks. */
#define BLOCK_SUB_ROWS 8

/* A range that stops before its row's end keeps its two accumulators per
 * activation row (a0[t], a1[t] at acc[2t], acc[2t + 1]) for the next. */
#define RANGE_KEEP2(acc, a0, a1, T)                                                          \
    do {                                                                                     \
        _Pragma("GCC unroll 8") for (int t_ = 0; t_ < (T); t_++)                           \
        {                                                                                    \
            (acc)[2 * t_] = (a0)[t_];                                                        \
            (acc)[2 * t_ + 1] = (a1)[t_];                                                    \
        }                                                                                    \
    } while (0)

/* Its counterpart at a range's start: a0[t], a1[t] continue from acc, or
 * start at ZERO when the range is the row's first (i0 == 0). */
#define RANGE_RESUME2(acc, a0, a1, T, i0, ZERO)                                              \
    do {                                                                                     \
        _Pragma("GCC unroll 8") for (int t_ = 0; t_ < (T); t_++)                           \
        {                                                                                    \
            (a0)[t_] = (i0) ? (acc)[2 * t_] : (ZERO);                                        \
            (a1)[t_] = (i0) ? (acc)[2 * t_ + 1] : (ZERO);                                    \
        }                                                                                    \
    } while (0)

/* The same for ranges with four accumulators per activation row (the
 * float kernels): a0..a3[t] at acc[4t] .. acc[4t + 3]. */
#define RANGE_KEEP4(acc, a0, a1, a2, a3, T)                                                  \
    do {                                                                                     \
        _Pragma("GCC unroll 8") for (int t_ = 0; t_ < (T); t_++)                           \
        {                                                                                    \
            (acc)[4 * t_] = (a0)[t_];                                                        \
            (acc)[4 * t_ + 1] = (a1)[t_];                                                    \
            (acc)[4 * t_ + 2] = (a2)[t_];                                                    \
            (acc)[4 * t_ + 3] = (a3)[t_];                                                    \
        }                                                                                    \
    } while (0)

#define RANGE_RESUME4(acc, a0, a1, a2, a3, T, i0, ZERO)                                      \
    do {                                                                                     \
        _Pragma("GCC unroll 8") for (int t_ = 0; t_ < (T); t_++)                           \
        {                                                                                    \
            (a0)[t_] = (i0) ? (acc)[4 * t_] : (ZERO);                                        \
            (a1)[t_] = (i0) ? (acc)[4 * t_ + 1] : (ZERO);                                    \
            (a2)[t_] = (i0) ? (acc)[4 * t_ + 2] : (ZERO);                                    \
            (a3)[t_] = (i0) ? (acc)[4 * t_ + 3] : (ZERO);                                    \
        }                                                                                    \
    } while (0)

/* The tile of a range function: the whole row, units 0..UNITS. */
#define TILE_FROM_RANGE(NAME, RANGE, UNITS)                                                  \
    static inline __attribute__((always_inline)) void NAME(                                  \
        const void *w, const void *xq, size_t stride, int n, float *out, size_t ostride,     \
        const int T)                                                                         \
    {                                                                                        \
        RANGE(w, xq, stride, n, 0, (UNITS), NULL, out, ostride, T);                          \
    }

#define BLOCK_FROM_RANGE(NAME, RANGE, VEC, ACCS, UNITS, CHUNK, TT)                           \
    static inline __attribute__((always_inline)) void NAME##_tile(                           \
        const uint8_t *w, size_t rb, int nrows, const void *xq, size_t stride, int n,        \
        float *out, size_t ostride, const int T)                                             \
    {                                                                                        \
        VEC acc[BLOCK_SUB_ROWS][(TT) * (ACCS)];                                              \
        const int units = (UNITS);                                                           \
        for (int r0 = 0; r0 < nrows; r0 += BLOCK_SUB_ROWS) {                                 \
            const int nr = nrows - r0 < BLOCK_SUB_ROWS ? nrows - r0 : BLOCK_SUB_ROWS;        \
            for (int i0 = 0; i0 < units; i0 += (CHUNK)) {                                    \
                const int i1 = units - i0 < (CHUNK) ? units : i0 + (CHUNK);                  \
                for (int r = 0; r < nr; r++)                                                 \
                    RANGE(w + (size_t)(r0 + r) * rb, xq, stride, n, i0, i1, acc[r],          \
                          out + r0 + r, ostride, T);                                         \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    static void NAME(const void *w, size_t rb, int nrows, const void *xq, size_t stride,     \
                     int n, int nb, float *out, size_t ostride)                              \
    {                                                                                        \
        int b = 0;                                                                           \
        const uint8_t *x = xq;                                                               \
        for (; b + (TT) <= nb; b += (TT), x += (TT) * stride, out += (TT) * ostride)         \
            NAME##_tile(w, rb, nrows, x, stride, n, out, ostride, TT);                       \
        if ((TT) > 4 && nb - b >= 4) {                                                       \
            NAME##_tile(w, rb, nrows, x, stride, n, out, ostride, 4);                        \
            b += 4, x += 4 * stride, out += 4 * ostride;                                     \
        }                                                                                    \
        if ((TT) > 3 && nb - b == 3)                                                         \
            NAME##_tile(w, rb, nrows, x, stride, n, out, ostride, (TT) > 3 ? 3 : 1);         \
        else if ((TT) > 2 && nb - b == 2)                                                    \
            NAME##_tile(w, rb, nrows, x, stride, n, out, ostride, (TT) > 2 ? 2 : 1);         \
        else if (nb - b == 1)                                                                \
            NAME##_tile(w, rb, nrows, x, stride, n, out, ostride, 1);                        \
    }

#endif
