/* test_threads.c - plat_parallel_for on the host's thread pool: every index
 * runs exactly once for any n and thread count, nested calls run serially,
 * and the kernels built on it (transformer_forward, qmatvec) give bit-identical
 * results for 1, 2 and 3 threads. */
#include "testlib.h"

#include "../kernels.h"

#include <pthread.h>

#include "../engine.h"
#include "../errors.h"
#include "../platform.h"
#include "../quant.h"
#include "../transformer.h"

static const int thread_counts[] = {1, 2, 3, 4, 8};

struct cover {
    int *hits; /* (n) times each index ran (atomic) */
    int n;
    int bad;          /* indices outside [0, n) (atomic) */
    int off_main;     /* indices run by a thread other than the caller (atomic) */
    pthread_t caller;
    int work;         /* busy-loop iterations per index */
};

static void cover_fn(int i, void *ctx)
{
    struct cover *c = ctx;
    if (i < 0 || i >= c->n) {
        __atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
    if (!pthread_equal(pthread_self(), c->caller))
        __atomic_fetch_add(&c->off_main, 1, __ATOMIC_RELAXED);
    for (volatile int k = 0; k < c->work; k++)
        ;
}

/* Runs parallel_for over n indices; 1 if each ran exactly once. */
static int cover_once(int n, int work, int *ret_off_main)
{
    struct cover c = {calloc((size_t)(n > 0 ? n : 1), sizeof(int)), n, 0, 0, pthread_self(), work};
    plat_parallel_for(n, cover_fn, &c);
    int ok = c.bad == 0;
    for (int i = 0; i < n; i++)
        if (c.hits[i] != 1) {
            CHECK_MSG(0, "n=%d threads=%d: index %d ran %d times", n, plat_num_threads(), i,
                      c.hits[i]);
            ok = 0;
            break;
        }
    CHECK_MSG(c.bad == 0, "n=%d: %d indices out of range", n, c.bad);
    if (ret_off_main)
        *ret_off_main = c.off_main;
    free(c.hits);
    return ok;
}

TEST(threads_parallel_for_covers_each_index_once)
{
    static const int sizes[] = {0, 1, 2, 3, 7, 64, 257, 1000};
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        plat_set_threads(thread_counts[t]);
        CHECK_INT(plat_num_threads(), thread_counts[t]);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int rep = 0; rep < 20; rep++)
                if (!cover_once(sizes[s], 0, NULL))
                    break;
    }
    /* 0 (and negatives) mean all cores: at least one */
    plat_set_threads(0);
    CHECK(plat_num_threads() >= 1);
    plat_set_threads(-5);
    CHECK(plat_num_threads() >= 1);
    CHECK(cover_once(1000, 0, NULL));
}

/* With slow indices, the workers really take some of them (the pool runs
 * in parallel rather than serially on the caller). */
TEST(threads_parallel_for_uses_the_workers)
{
    plat_set_threads(2);
    int off = 0;
    for (int attempt = 0; attempt < 50 && off == 0; attempt++)
        cover_once(64, 20000, &off);
    CHECK_MSG(off > 0, "no index ran off the calling thread in 50 tries");
    plat_set_threads(1);
    cover_once(64, 0, &off);
    CHECK_INT(off, 0); /* one thread: everything on the caller */
    plat_set_threads(0);
}

/* Each thread starts on its own share (the caller on the first indices),
 * and one that is done helps the others: with the caller's share slow and
 * the worker's fast, the worker runs some of the caller's indices. */
struct uneven {
    pthread_t caller;
    int helped; /* slow indices run off the caller (atomic) */
};

static void uneven_fn(int i, void *ctx)
{
    struct uneven *u = ctx;
    if (i >= 32)
        return; /* the worker's share: nothing to do */
    if (!pthread_equal(pthread_self(), u->caller))
        __atomic_fetch_add(&u->helped, 1, __ATOMIC_RELAXED);
    for (volatile int k = 0; k < 200000; k++)
        ;
}

TEST(threads_parallel_for_helps_the_slow_share)
{
    plat_set_threads(2);
    struct uneven u = {pthread_self(), 0};
    for (int attempt = 0; attempt < 20 && u.helped == 0; attempt++)
        plat_parallel_for(64, uneven_fn, &u);
    CHECK_MSG(u.helped > 0, "the worker never took over any of the caller's slow indices");
    plat_set_threads(0);
}

/* fn calling parallel_for again (not expected of kernels) runs the inner
 * loop serially on whichever thread asks, and still covers everything. */
struct nested {
    int *hits; /* (outer * inner) */
    int inner;
    int row;
};

static void nested_inner(int j, void *ctx)
{
    struct nested *c = ctx;
    __atomic_fetch_add(&c->hits[c->row * c->inner + j], 1, __ATOMIC_RELAXED);
}

static void nested_outer(int i, void *ctx)
{
    struct nested sub = *(struct nested *)ctx;
    sub.row = i;
    plat_parallel_for(sub.inner, nested_inner, &sub);
}

TEST(threads_nested_parallel_for_runs_serially)
{
    enum { OUTER = 17, INNER = 9 };
    for (int t = 1; t <= 3; t++) {
        plat_set_threads(t);
        struct nested c = {calloc(OUTER * INNER, sizeof(int)), INNER, 0};
        plat_parallel_for(OUTER, nested_outer, &c);
        for (int k = 0; k < OUTER * INNER; k++)
            CHECK_MSG(c.hits[k] == 1, "threads=%d: cell %d ran %d times", t, k, c.hits[k]);
        free(c.hits);
    }
    plat_set_threads(0);
}

/* Greedy decoding of stories260K from BOS for STEPS positions with 1 thread
 * records every logits vector; 2 and 3 threads must reproduce them bit for
 * bit (memcmp, not a tolerance). */
static void check_forward_bit_identical(const char *file)
{
    enum { STEPS = 64 };
    char model[512], tok[512], err[256];
    snprintf(model, sizeof model, "%s/%s", test_models_dir(), file);
    snprintf(tok, sizeof tok, "%s/tok512.bin", test_models_dir());
    struct engine e;
    if (engine_load(&e, model, tok, err, sizeof err)) {
        CHECK_MSG(0, "load %s: %s", file, err);
        return;
    }
    int vocab = e.model.cfg.vocab_size;
    float *want = malloc((size_t)STEPS * (size_t)vocab * sizeof(float));
    int tokens[STEPS + 1];
    for (int t = 1; t <= 3; t++) {
        plat_set_threads(t);
        int token = 1; /* BOS */
        for (int pos = 0; pos < STEPS; pos++) {
            const float *logits = transformer_forward(&e.model, &e.state, token, pos);
            float *row = want + (size_t)pos * (size_t)vocab;
            if (t == 1) {
                memcpy(row, logits, (size_t)vocab * sizeof(float));
                tokens[pos] = token;
            } else if (memcmp(row, logits, (size_t)vocab * sizeof(float)) != 0 ||
                       tokens[pos] != token) {
                CHECK_MSG(0, "%s: threads=%d: logits at position %d differ from 1 thread", file,
                          t, pos);
                break;
            }
            token = k_argmax(logits, vocab);
        }
    }
    plat_set_threads(0);
    free(want);
    engine_free(&e);
}

TEST(threads_forward_bit_identical_bin)
{
    check_forward_bit_identical("stories260K.bin");
}

TEST(threads_forward_bit_identical_gguf)
{
    check_forward_bit_identical("stories260K.gguf");
}

/* qmatvec, qmatvec_float and k_matmul on every weight type: the same bytes
 * for 1, 2 and 3 threads, over a row count that does not divide evenly and
 * a matrix big enough (D x N >= 2^16) to be spread over the threads. */
TEST(threads_qmatvec_bit_identical)
{
    static const int types[] = {QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0,
                                QT_Q4_1, QT_Q4_K, QT_Q6_K};
    enum { N = 512, D = 131 };
    float *wf = malloc((size_t)N * D * sizeof(float)), x[N], out1[D], out[D];
    uint32_t seed = 12345;
    for (int i = 0; i < N * D; i++) {
        seed = seed * 1664525u + 1013904223u;
        wf[i] = (float)((int)(seed >> 9) - (1 << 22)) / (float)(1 << 22);
    }
    for (int i = 0; i < N; i++)
        x[i] = (float)((i * 37) % 101 - 50) / 50.0f;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        int type = types[ti];
        uint64_t rb = 0;
        if (qtype_row_bytes(type, N, &rb) != 0) {
            CHECK_MSG(0, "row bytes of %s", qtype_name(type));
            continue;
        }
        uint8_t *w = plat_alloc((size_t)rb * D);
        size_t sb = qmatvec_scratch_bytes(type, N);
        void *scratch = sb ? plat_alloc(sb) : NULL;
        for (int r = 0; r < D; r++)
            CHECK_INT(quantize_row(type, wf + (size_t)r * N, w + (size_t)r * rb, N), 0);
        for (int path = 0; path < 2; path++) {
            for (int t = 1; t <= 3; t++) {
                plat_set_threads(t);
                float *o = t == 1 ? out1 : out;
                int rc = path ? qmatvec_float(o, w, type, x, N, D)
                              : qmatvec(o, w, type, x, N, D, scratch);
                CHECK_MSG(rc == 0, "%s path %d: %s", qtype_name(type), path, err_str(rc));
                if (t > 1)
                    CHECK_MSG(memcmp(out1, out, sizeof out) == 0,
                              "%s path %d: %d threads differ from 1", qtype_name(type), path, t);
            }
        }
        plat_free(scratch, sb);
        plat_free(w, (size_t)rb * D);
    }
    for (int t = 1; t <= 3; t++) { /* the reference f32 kernel */
        plat_set_threads(t);
        k_matmul(t == 1 ? out1 : out, x, wf, N, D);
        if (t > 1)
            CHECK_MSG(memcmp(out1, out, sizeof out) == 0, "k_matmul: %d threads differ", t);
    }
    plat_set_threads(0);
    free(wf);
}
