/* pfjob.c - the index claiming shared by the platforms' parallel_for.
 *
 * Each thread owns a contiguous share of the indices and claims from its
 * front in shrinking steps (a quarter of what is left, then one), so it
 * reads a matrix's rows as one sequential stream that no other thread cuts
 * into. A thread whose share is done helps the one with most left, taking
 * half of that from the back (also a contiguous run). Threads finish within
 * about one index of each other, without the small shared claims that
 * would interleave their streams. */
#include "pfjob.h"

static uint64_t pack(uint32_t lo, uint32_t hi)
{
    return (uint64_t)lo | (uint64_t)hi << 32;
}

void pf_job_start(struct pf_job *job, void (*fn)(int i, void *ctx), void *ctx, int n,
                  int workers)
{
    int threads = workers + 1;
    if (threads > PF_JOB_MAX_THREADS)
        threads = PF_JOB_MAX_THREADS;
    job->fn = fn;
    job->ctx = ctx;
    job->n = n;
    job->threads = threads;
    for (int t = 0; t < threads; t++) {
        uint32_t lo = (uint32_t)((int64_t)n * t / threads);
        uint32_t hi = (uint32_t)((int64_t)n * (t + 1) / threads);
        __atomic_store_n(&job->share[t].range, pack(lo, hi), __ATOMIC_RELAXED);
    }
    __atomic_store_n(&job->pending, workers, __ATOMIC_RELAXED);
}

static void run_range(const struct pf_job *job, uint32_t i, uint32_t end)
{
    for (; i < end; i++)
        job->fn((int)i, job->ctx);
}

/* The owner's claims: from the front of its share. */
static void run_own(struct pf_job *job, struct pf_share *s)
{
    uint64_t r = __atomic_load_n(&s->range, __ATOMIC_RELAXED);
    for (;;) {
        uint32_t lo = (uint32_t)r, hi = (uint32_t)(r >> 32);
        if (lo >= hi)
            return;
        uint32_t take = (hi - lo) / 4 > 1 ? (hi - lo) / 4 : 1;
        if (!__atomic_compare_exchange_n(&s->range, &r, pack(lo + take, hi), 1, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            continue; /* r holds the share as it is now */
        run_range(job, lo, lo + take);
        r = __atomic_load_n(&s->range, __ATOMIC_RELAXED);
    }
}

/* A helper's claim: half of the share with most left, from its back.
 * Returns 0 when every share is empty. */
static int help_once(struct pf_job *job, int self)
{
    int best = -1;
    uint32_t most = 0;
    for (int t = 0; t < job->threads; t++) {
        uint64_t r = __atomic_load_n(&job->share[t].range, __ATOMIC_RELAXED);
        uint32_t lo = (uint32_t)r, hi = (uint32_t)(r >> 32);
        if (t != self && hi > lo && hi - lo > most) {
            most = hi - lo;
            best = t;
        }
    }
    if (best < 0)
        return 0;
    struct pf_share *s = &job->share[best];
    uint64_t r = __atomic_load_n(&s->range, __ATOMIC_RELAXED);
    uint32_t lo = (uint32_t)r, hi = (uint32_t)(r >> 32);
    if (lo >= hi)
        return 1; /* emptied meanwhile: look again */
    uint32_t take = (hi - lo + 1) / 2;
    if (__atomic_compare_exchange_n(&s->range, &r, pack(lo, hi - take), 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        run_range(job, hi - take, hi);
    return 1;
}

void pf_job_run(struct pf_job *job, int self)
{
    if (self < 0 || self >= job->threads)
        self = job->threads - 1; /* never happens; stay safe */
    run_own(job, &job->share[self]);
    while (help_once(job, self))
        ;
}
