/* bench.c - the speed benchmark (bench.h), shared by the host tool and the
 * firmware's bench=1. */
#include "bench.h"
#include "errors.h"
#include "kernels.h"
#include "lib.h"
#include "platform.h"
#include "quant.h"
#include "simd.h"
#include "storage.h"
#include "transformer.h"

/* con_printf, plus the copy of the tables when one is kept. */
static void out(const struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(const struct bench *b, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t len = n < (int)sizeof buf ? (size_t)n : sizeof buf - 1;
    plat_write(buf, len);
    if (b->copy)
        tb_put(b->copy, buf, len);
}

static void begin(struct bench *b, int prompt, int tokens, struct textbuf *copy)
{
    memset(b, 0, sizeof *b);
    b->copy = copy;
    b->prompt = prompt;
    b->tokens = tokens > 0 ? tokens : 1;
    out(b, "llm bench: kernels %s, threads %d, prompt %d (best of 3), decode %d tokens "
               "(median token time), roofline from the model's weights read between rounds\n\n",
               g_simd->name, plat_num_threads(), b->prompt, b->tokens);
    out(b, "| model | weights | MiB/token | prefill tok/s | decode tok/s | roofline tok/s | "
               "decode / roofline | GB/s |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
}

void bench_begin(struct bench *b, int prompt, int tokens)
{
    begin(b, prompt, tokens, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of n (>= 1) values, sorted in place (the mean of the middle
 * two for an even n). */
static double median(double *v, int n, double *tmp)
{
    lib_sort(v, (size_t)n, sizeof v[0], tmp, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Times one loaded model into r: prefill of a varied prompt (batched by
 * transformer_prefill; the fastest of PREFILL_RUNS, each from position 0),
 * then greedy decode with the kernel counters on, rated by the median token
 * time. Best-of and median keep a shared machine's bursts out of the
 * figures.
 * The roofline: the rate at which every thread reads the model's own
 * weights (the same pages decoding reads, so the same memory, page sizes
 * and cache effects; a fresh 128 MiB buffer read up to ~15% faster than a
 * 1 GiB one or these weights here, as a 32 MiB last-level cache kept part
 * of it between passes). A shared machine's bandwidth drifts
 * within seconds, so the decode runs in DECODE_ROUNDS rounds with the
 * bandwidth measured before and after each; a round's share of its roofline
 * uses the better of its two measurements (the higher roofline), and
 * r->roof_share is the median over the rounds. */
#define PREFILL_RUNS 3
#define DECODE_ROUNDS 8
static void bench_run(const struct bench *b, const struct model *m, struct run_state *s,
                      struct bench_result *r)
{
    static int prompt_ids[MODEL_MAX_CONTEXT];
    static double token_us[MODEL_MAX_CONTEXT], round_us[MODEL_MAX_CONTEXT],
        sort_tmp[MODEL_MAX_CONTEXT];
    int prompt = b->prompt, tokens = b->tokens, seq = m->cfg.seq_len;
    if (prompt + tokens > seq) { /* short context: keep the 1:2 split */
        prompt = MIN(prompt, seq / 3);
        tokens = seq - prompt;
    }
    uint32_t seed = 1;
    for (int i = 0; i < prompt; i++) {
        prompt_ids[i] = i ? (int)(seed % (uint32_t)m->cfg.vocab_size) : 1; /* BOS first */
        seed = seed * 1664525u + 1013904223u;
    }
    int tok = 1, pos = prompt;
    uint64_t best = UINT64_MAX;
    for (int run = 0; prompt > 0 && run < PREFILL_RUNS; run++) {
        uint64_t t0 = plat_time_us();
        tok = k_argmax(transformer_prefill(m, s, prompt_ids, prompt, 0), m->cfg.vocab_size);
        uint64_t dt = plat_time_us() - t0;
        best = dt < best ? dt : best;
    }
    const double bytes = (double)m->cfg.token_bytes;
    const int rounds = MIN(DECODE_ROUNDS, tokens);
    double share[DECODE_ROUNDS], dtmp[DECODE_ROUNDS];
    double bw_before = k_stream_bandwidth(m->block, m->block_bytes);
    uint64_t ticks = 0;
    prof_reset();
    for (int rd = 0, i = 0; rd < rounds; rd++) {
        const int first = i, end = (int)((int64_t)tokens * (rd + 1) / rounds);
        g_prof_on = 1;
        uint64_t c0 = prof_now();
        for (; i < end; i++, pos++) {
            uint64_t t0 = plat_time_us();
            tok = k_argmax(transformer_forward(m, s, tok, pos), m->cfg.vocab_size);
            token_us[i] = (double)(plat_time_us() - t0);
        }
        ticks += prof_now() - c0;
        g_prof_on = 0;
        const double bw_after = k_stream_bandwidth(m->block, m->block_bytes);
        const double bw = bw_after > bw_before ? bw_after : bw_before;
        bw_before = bw_after;
        memcpy(round_us, token_us + first, (size_t)(end - first) * sizeof round_us[0]);
        const double rate = 1e6 / MAX(median(round_us, end - first, sort_tmp), 0.5);
        share[rd] = bw > 0 && bytes > 0 ? rate / (bw / bytes) : 0;
    }
    r->roof_share = median(share, rounds, dtmp);
    const double token_median = median(token_us, tokens, sort_tmp);
    r->prefill = prompt ? prompt * 1e6 / (double)(best + 1) : 0;
    r->decode = 1e6 / (token_median > 0 ? token_median : 0.5);
    double rest = 1.0;
    for (int k = 0; k < PROF_COUNT; k++) {
        r->share[k] = ticks ? (double)g_prof_ticks[k] / (double)ticks : 0;
        rest -= r->share[k];
    }
    r->share[PROF_COUNT] = rest > 0 ? rest : 0; /* argmax and anything unbracketed */
}

int bench_model(struct bench *b, const char *path)
{
    static struct model m; /* big: keep it off the firmware's small stack */
    struct run_state s;
    struct bench_result one, *r = b->n < BENCH_MAX_MODELS ? &b->r[b->n] : &one;
    char err[256];
    int rc;
    if ((rc = model_load(&m, path, err, sizeof err)) != 0) {
        diag_printf("llm bench: %s: %s\n", path, err);
        return rc;
    }
    if ((rc = run_state_alloc(&s, &m.cfg)) != 0) {
        diag_printf("llm bench: %s: no memory for the KV cache\n", path);
        model_free(&m);
        return rc;
    }
    memset(r, 0, sizeof *r);
    str_copy(r->name, sizeof r->name, path_base(path));
    bench_run(b, &m, &s, r);
    /* the roofline (and bandwidth) the rounds' median share implies for the
     * decode figure, so the row's three numbers agree */
    double bytes = (double)m.cfg.token_bytes;
    double roof = r->roof_share > 0 ? r->decode / r->roof_share : 0;
    out(b, "| %s | %s | %.1f | %.1f | %.1f | %.1f | %.0f%% | %.1f |\n", r->name,
               m.cfg.weight_type == TENSOR_Q8_GROUPS ? "int8 groups"
                                                    : qtype_name(m.cfg.weight_type),
               bytes / 1048576.0, r->prefill, r->decode, roof, 100.0 * r->roof_share,
               roof * bytes / 1e9);
    run_state_free(&s);
    model_free(&m);
    b->n += r != &one;
    return 0;
}

void bench_end(struct bench *b)
{
    if (b->n == 0)
        return;
    out(b, "\nshare of decode time per kernel:\n\n| model |");
    for (int k = 0; k < PROF_COUNT; k++)
        out(b, " %s |", prof_name(k));
    out(b, " rest |\n|---|");
    for (int k = 0; k <= PROF_COUNT; k++)
        out(b, "---:|");
    out(b, "\n");
    for (int i = 0; i < b->n; i++) {
        out(b, "| %s |", b->r[i].name);
        for (int k = 0; k <= PROF_COUNT; k++)
            out(b, " %.1f%% |", 100.0 * b->r[i].share[k]);
        out(b, "\n");
    }
}

/* Writes the copy of the tables to path, or says in one line why not. */
static void save_tables(const char *path, const struct textbuf *t)
{
    int rc = tb_status(t);
    if (rc == 0)
        rc = storage_write_file(path, t->p, t->len);
    if (rc == 0)
        con_printf("llm bench: tables saved to %s\n", path);
    else
        diag_printf("warning: llm bench: tables not saved to %s: %s\n", path, err_str(rc));
}

void bench_catalog(const struct catalog *c, int steps, const char *save)
{
    static struct bench b;
    struct textbuf copy;
    if (steps <= 0)
        steps = 256;
    tb_init_grow(&copy);
    con_printf("\n");
    begin(&b, steps / 2, steps, save ? &copy : NULL);
    for (int i = 0; i < c->n; i++) {
        const struct catalog_entry *e = &c->e[i];
        if (e->kind != CAT_MODEL)
            continue;
        if (e->too_big) /* a row all the same, so the table says what it left out */
            out(&b, "| %s | skipped: needs %llu MiB, %llu MiB free | | | | | | |\n",
                path_base(e->path), (unsigned long long)(e->need_bytes >> 20),
                (unsigned long long)(c->mem_free >> 20));
        else
            bench_model(&b, e->path);
    }
    bench_end(&b);
    b.copy = NULL;
    if (save)
        save_tables(save, &copy);
    tb_free(&copy);
    con_printf("llm bench: done\n");
}
