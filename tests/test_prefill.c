/* test_prefill.c - batched prompt prefill (transformer_prefill) against
 * token-by-token decoding: the KV cache and the last logits must be equal
 * bit for bit, for every weight format and every kernel table this CPU runs,
 * across batch boundaries and for prompts fed in several pieces. */
#include <unistd.h>

#include "model.h"
#include "platform_posix.h"
#include "simd.h"
#include "testlib.h"
#include "transformer.h"

#define N_TOKENS (2 * TRANSFORMER_BATCH + 7) /* two full batches and a tail */

static size_t kv_bytes(const struct model_config *c)
{
    return (size_t)c->n_layers * (size_t)c->seq_len * (size_t)model_kv_dim(c) * sizeof(float);
}

/* Feeds the prompt one token at a time into a, and into b as prefill calls
 * of the piece sizes in cuts (summing to N_TOKENS); compares both. */
static void compare(const char *label, const struct model *m, const int *toks, const int *cuts,
                    int ncuts)
{
    struct run_state a, b;
    if (run_state_alloc(&a, &m->cfg) || run_state_alloc(&b, &m->cfg)) {
        CHECK_MSG(0, "%s: no memory", label);
        return;
    }
    /* the caches start with different garbage: every used entry is written */
    memset(a.key_cache, 0, kv_bytes(&m->cfg));
    memset(b.key_cache, 0, kv_bytes(&m->cfg));
    memset(a.value_cache, 0, kv_bytes(&m->cfg));
    memset(b.value_cache, 0, kv_bytes(&m->cfg));
    float *la = NULL, *lb = NULL;
    for (int pos = 0; pos < N_TOKENS; pos++)
        la = transformer_forward(m, &a, toks[pos], pos);
    for (int i = 0, pos = 0; i < ncuts; pos += cuts[i++])
        lb = transformer_prefill(m, &b, toks + pos, cuts[i], pos);
    CHECK_MSG(la && lb && !memcmp(la, lb, sizeof(float) * (size_t)m->cfg.vocab_size),
              "%s: logits differ", label);
    CHECK_MSG(!memcmp(a.key_cache, b.key_cache, kv_bytes(&m->cfg)), "%s: keys differ", label);
    CHECK_MSG(!memcmp(a.value_cache, b.value_cache, kv_bytes(&m->cfg)), "%s: values differ",
              label);
    run_state_free(&a);
    run_state_free(&b);
}

TEST(prefill_equals_token_by_token)
{
    char paths[3][512], err[256];
    snprintf(paths[0], sizeof paths[0], "%s/stories260K.bin", test_models_dir());
    snprintf(paths[1], sizeof paths[1], "%s/stories260K.gguf", test_models_dir());
    snprintf(paths[2], sizeof paths[2], "/tmp/llm_prefill_v2_%d.bin", (int)getpid());
    CHECK_INT(test_write_v2(paths[2], 4), 0);
    int toks[N_TOKENS];
    for (int i = 0; i < N_TOKENS; i++)
        toks[i] = i ? 3 + (i * 37) % 500 : 1;
    static const int whole[] = {N_TOKENS};
    static const int pieces[] = {5, TRANSFORMER_BATCH + 1, 1, N_TOKENS - TRANSFORMER_BATCH - 7};
    const struct simd_choice *list;
    int ntab = simd_tables(&list);
    for (int p = 0; p < 3; p++) {
        struct model m;
        if (model_load(&m, paths[p], err, sizeof err)) {
            CHECK_MSG(0, "%s: %s", paths[p], err);
            continue;
        }
        for (int t = 0; t < ntab; t++) {
            if (!list[t].usable || simd_select(list[t].k->name))
                continue;
            char label[600];
            snprintf(label, sizeof label, "%s (%s, whole)", paths[p], g_simd->name);
            compare(label, &m, toks, whole, 1);
            snprintf(label, sizeof label, "%s (%s, pieces)", paths[p], g_simd->name);
            compare(label, &m, toks, pieces, 4);
        }
        simd_select("generic");
        model_free(&m);
    }
    unlink(paths[2]);
    CHECK_INT(plat_posix_live_bytes(), 0);
}
