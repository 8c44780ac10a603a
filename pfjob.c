/* pfjob.c - the index claiming shared by the platforms' parallel_for. */
#include "pfjob.h"

void pf_job_start(struct pf_job *job, void (*fn)(int i, void *ctx), void *ctx, int n,
                  int workers)
{
    job->fn = fn;
    job->ctx = ctx;
    job->n = n;
    job->threads = workers + 1;
    /* the smallest claim: about 8 per thread in all */
    int chunk = n / ((workers + 1) * 8);
    job->chunk = chunk > 1 ? chunk : 1;
    __atomic_store_n(&job->next, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&job->pending, workers, __ATOMIC_RELAXED);
}

/* Guided claims: half of the remaining indices' fair share per thread, down
 * to the smallest claim. The first claims are long contiguous runs (a
 * matrix's rows stream from memory with fewer restarts, and less of each
 * run's read-ahead lands in another thread's rows), the last ones short
 * (a late or slow thread leaves little for the others to wait on). Few
 * claims also keep the cursor's cache line from bouncing between cores. */
void pf_job_run(struct pf_job *job)
{
    int i = __atomic_load_n(&job->next, __ATOMIC_RELAXED);
    for (;;) {
        if (i >= job->n)
            break;
        int take = (job->n - i) / (2 * job->threads);
        take = take > job->chunk ? take : job->chunk;
        if (!__atomic_compare_exchange_n(&job->next, &i, i + take, 1, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            continue; /* i now holds the current cursor */
        int end = job->n - i < take ? job->n : i + take;
        for (; i < end; i++)
            job->fn(i, job->ctx);
        i = __atomic_load_n(&job->next, __ATOMIC_RELAXED);
    }
}
