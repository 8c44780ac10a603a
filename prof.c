/* prof.c - the per-kernel tick counters (prof.h). */
#include "prof.h"
#include "lib.h"

int g_prof_on;
uint64_t g_prof_ticks[PROF_COUNT];

const char *prof_name(int k)
{
    static const char *const names[PROF_COUNT] = {"matmul", "attention", "norm",
                                                  "rope",   "ffn act",   "other"};
    return k >= 0 && k < PROF_COUNT ? names[k] : "?";
}

void prof_reset(void)
{
    memset(g_prof_ticks, 0, sizeof g_prof_ticks);
}
