/* tool_bench.c - `llm bench`: decode and prefill speed of model files next
 * to the memory-bandwidth roofline measured by the same binary in the same
 * run (a decode step reads every weight once, so it cannot beat
 * bandwidth / weight bytes). Host only; prints one table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "lib.h"
#include "model.h"
#include "platform.h"
#include "quant.h"
#include "transformer.h"

int bench_main(int argc, char **argv);

struct bench_row {
    double prefill, decode; /* tokens/s */
};

/* Prefill `prompt` tokens one by one, then decode `tokens` greedily. */
static int bench_model(const char *path, int prompt, int tokens, struct bench_row *ret,
                       struct model *m)
{
    char err[256];
    struct run_state s;
    if (model_load(m, path, err, sizeof err)) {
        fprintf(stderr, "llm bench: %s: %s\n", path, err);
        return -1;
    }
    if (prompt + tokens > m->cfg.seq_len) {
        prompt = m->cfg.seq_len / 3;
        tokens = m->cfg.seq_len - prompt;
    }
    if (run_state_alloc(&s, &m->cfg)) {
        fprintf(stderr, "llm bench: %s: out of memory for the KV cache\n", path);
        model_free(m);
        return -1;
    }
    uint32_t seed = 1;
    int tok = 1, pos = 0;
    uint64_t t0 = plat_time_us();
    for (; pos < prompt; pos++) {
        transformer_forward(m, &s, tok, pos);
        seed = seed * 1664525u + 1013904223u; /* varied prompt tokens */
        tok = (int)(seed % (uint32_t)m->cfg.vocab_size);
    }
    uint64_t t1 = plat_time_us();
    for (int i = 0; i < tokens; i++, pos++) {
        const float *l = transformer_forward(m, &s, tok, pos);
        int best = 0;
        for (int v = 1; v < m->cfg.vocab_size; v++)
            best = l[v] > l[best] ? v : best;
        tok = best;
    }
    uint64_t t2 = plat_time_us();
    ret->prefill = prompt ? prompt * 1e6 / (double)(t1 - t0 + 1) : 0;
    ret->decode = tokens * 1e6 / (double)(t2 - t1 + 1);
    run_state_free(&s);
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int bench_main(int argc, char **argv)
{
    int prompt = 128, tokens = 256, first = 1;
    long v;
    for (; first < argc && argv[first][0] == '-'; first += 2) {
        if (first + 1 >= argc || parse_long(argv[first + 1], &v) || v < 0) {
            fprintf(stderr, "usage: llm bench [-T threads] [-p prompt] [-n tokens] MODEL...\n");
            return 2;
        }
        if (!strcmp(argv[first], "-T"))
            plat_set_threads((int)v);
        else if (!strcmp(argv[first], "-p"))
            prompt = (int)v;
        else if (!strcmp(argv[first], "-n"))
            tokens = (int)v > 0 ? (int)v : 1;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: llm bench [-T threads] [-p prompt] [-n tokens] MODEL...\n");
        return 2;
    }
    double bw = k_read_bandwidth();
    printf("memory read bandwidth: %.1f GB/s (measured now); threads: %d\n\n", bw / 1e9,
           plat_num_threads());
    printf("| model | weights | MiB/token | prefill tok/s | decode tok/s | roofline tok/s | "
           "decode / roofline |\n|---|---|---:|---:|---:|---:|---:|\n");
    int failed = 0;
    for (int i = first; i < argc; i++) {
        struct model m;
        struct bench_row r;
        if (bench_model(argv[i], prompt, tokens, &r, &m)) {
            failed = 1;
            continue;
        }
        double bytes = (double)m.cfg.weight_bytes, roof = bytes > 0 ? bw / bytes : 0;
        printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.0f%% |\n", base_name(argv[i]),
               m.cfg.weight_type == TENSOR_Q8_GROUPS ? "int8 groups" : qtype_name(m.cfg.weight_type),
               bytes / 1048576.0, r.prefill, r.decode, roof, roof > 0 ? 100.0 * r.decode / roof : 0);
        fflush(stdout);
        model_free(&m);
    }
    return failed;
}
