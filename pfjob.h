/* pfjob.h - one parallel_for job shared by the platform layers: the indices
 * are claimed in chunks from an atomic cursor by the calling thread and the
 * woken workers (pthreads on the host, MP Services APs on UEFI). */
#ifndef PFJOB_H
#define PFJOB_H

struct pf_job {
    void (*fn)(int i, void *ctx);
    void *ctx;
    int n;
    int threads; /* the caller and the woken workers */
    int chunk;   /* the fewest indices claimed at a time */
    int next;    /* next unclaimed index (atomic) */
    int pending; /* woken workers that have not finished (atomic) */
};

/* Publishes a job of n indices for `workers` woken workers plus the caller.
 * Call only when no worker reads the job (the previous one has finished). */
void pf_job_start(struct pf_job *job, void (*fn)(int i, void *ctx), void *ctx, int n,
                  int workers);
/* Claims chunks and runs them until none are left. */
void pf_job_run(struct pf_job *job);

#endif
