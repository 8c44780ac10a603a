/* simd_tile.h - dot and dot_rows from one "tile" kernel (simd.h), shared
 * by the ISA files (plain C: no intrinsics here).
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
 * different rows at once. */
static inline __attribute__((always_inline)) void PREFETCH_AHEAD(const void *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch((const char *)p + PREFETCH_DIST + off, 0, 3); /* prefetcht0 */
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

#endif
