/* pfjob.c - the index claiming shared by the platforms' parallel_for. */
#include "pfjob.h"

void pf_job_start(struct pf_job *job, void (*fn)(int i, void *ctx), void *ctx, int n,
                  int workers)
{
    job->fn = fn;
    job->ctx = ctx;
    job->n = n;
    /* about 8 chunks per thread: big enough to amortize the atomic, small
     * enough to balance a late or slow worker */
    int chunk = n / ((workers + 1) * 8);
    job->chunk = chunk > 1 ? chunk : 1;
    __atomic_store_n(&job->next, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&job->pending, workers, __ATOMIC_RELAXED);
}

/* Chunks rather than single indices keep the cursor's cache line from
 * bouncing between cores once per row of a small matrix. */
void pf_job_run(struct pf_job *job)
{
    for (;;) {
        int i = __atomic_fetch_add(&job->next, job->chunk, __ATOMIC_RELAXED);
        if (i >= job->n)
            break;
        int end = job->n - i < job->chunk ? job->n : i + job->chunk;
        for (; i < end; i++)
            job->fn(i, job->ctx);
    }
}
