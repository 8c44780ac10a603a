/* bench.h - the speed benchmark: one table for `llm bench` (host) and
 * bench=1 in llm.cfg (UEFI).
 *
 * For each model: prefill tok/s (a prompt run through transformer_prefill),
 * decode tok/s (greedy, one token at a time), MiB of weights read per
 * token, and decode as a share of the roofline bandwidth / weight bytes,
 * where the bandwidth is how fast every thread reads the model's own
 * weights, measured between rounds of the decode (a decode step reads every
 * weight once, so it can't beat that). A
 * second table splits decode time by kernel (prof.h). Output goes through
 * con_printf (and into a copy when one is kept); errors through diag_printf. */
#ifndef BENCH_H
#define BENCH_H

#include "json.h"
#include "menu.h"
#include "prof.h"

#define BENCH_MAX_MODELS 64

struct bench_result {
    char name[64];
    double prefill, decode;       /* tokens/s */
    double roof_share;            /* decode / roofline (median of its rounds) */
    double share[PROF_COUNT + 1]; /* fraction of decode time; [PROF_COUNT]: the rest */
};

struct bench {
    int prompt, tokens;           /* requested prompt and decode lengths */
    int n;                        /* results kept for the kernel table */
    struct textbuf *copy;         /* NULL, or gets the tables as printed */
    struct bench_result r[BENCH_MAX_MODELS];
};

/* Prints the run's header and the table head. */
void bench_begin(struct bench *b, int prompt, int tokens);
/* Loads the model at path (freed again before returning), times it and
 * prints its row. Returns 0 or the load/allocation error. */
int bench_model(struct bench *b, const char *path);
/* Prints the per-kernel table of the models benchmarked so far. */
void bench_end(struct bench *b);

/* bench=1: every usable model of the catalog that fits in memory, decoding
 * `steps` tokens after a prompt of steps/2 (256 and 128 by default). With
 * save set, the tables as printed (from the "llm bench: kernels" line to
 * the kernel table's last row) are also written to that file on the volume
 * (storage_write_file); a volume that refuses it (write-protected, full)
 * gets one warning line and the run goes on. */
void bench_catalog(const struct catalog *c, int steps, const char *save);

#endif
