/* prof.h - where decode time goes: per-kernel shares for the benchmark.
 *
 * The forward pass brackets each kernel group with prof_begin/prof_end when
 * g_prof_on is set (the benchmark sets it; normal generation pays one
 * predictable branch). Time is counted in TSC ticks on the calling thread,
 * which is the thread that runs the forward pass; parallel kernels count
 * their wall time. Only ratios are reported, so ticks need no calibration. */
#ifndef PROF_H
#define PROF_H

#include <stdint.h>

enum prof_kernel {
    PROF_MATMUL,    /* weight matrix times activations (incl. quantizing x) */
    PROF_ATTENTION, /* scores, softmax, weighted sum of values */
    PROF_NORM,      /* RMSNorm / LayerNorm */
    PROF_ROPE,      /* rotary position embedding */
    PROF_FFN_ACT,   /* SwiGLU / GELU */
    PROF_OTHER,     /* embedding lookup, residual adds, biases */
    PROF_COUNT
};

extern int g_prof_on;
extern uint64_t g_prof_ticks[PROF_COUNT];

const char *prof_name(int k);
void prof_reset(void);

static inline uint64_t prof_now(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t prof_begin(void)
{
    return g_prof_on ? prof_now() : 0;
}

static inline void prof_end(int k, uint64_t t0)
{
    if (g_prof_on)
        g_prof_ticks[k] += prof_now() - t0;
}

#endif
