/* pfjob.h - one parallel_for job shared by the platform layers: the caller
 * and the woken workers (pthreads on the host, MP Services APs on UEFI)
 * each work through their own contiguous share of the indices, then take
 * over the unclaimed ends of the others' shares. */
#ifndef PFJOB_H
#define PFJOB_H

#include <stdint.h>

#define PF_JOB_MAX_THREADS 256

/* One thread's share: unclaimed indices [lo, hi), packed into one word so
 * the owner (taking from lo) and a helper (taking from hi) claim with one
 * compare-and-swap each. Alone on its cache line: the owner's claims stay
 * on its own core until someone comes to help. */
struct pf_share {
    uint64_t range; /* lo | hi << 32 (atomic) */
} __attribute__((aligned(64)));

struct pf_job {
    void (*fn)(int i, void *ctx);
    void *ctx;
    int n;
    int threads; /* the caller and the woken workers */
    int pending; /* woken workers that have not finished (atomic) */
    struct pf_share share[PF_JOB_MAX_THREADS];
};

/* Publishes a job of n indices for `workers` woken workers plus the caller
 * (workers < PF_JOB_MAX_THREADS). Call only when no worker reads the job
 * (the previous one has finished). */
void pf_job_start(struct pf_job *job, void (*fn)(int i, void *ctx), void *ctx, int n,
                  int workers);
/* Runs indices until none are left: first those of share `self` (0 for the
 * caller, 1 + worker number for a worker), then the others'. */
void pf_job_run(struct pf_job *job, int self);

#endif
