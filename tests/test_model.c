/* test_model.c - model file validation (a table of broken files, each with
 * its one-line reason and nothing left allocated) and format equivalence
 * (the same weights as legacy, legacy-unshared and version 1 give the same
 * logits bit for bit). */
#include "testlib.h"

#include <stdint.h>
#include <math.h>
#include <unistd.h>

#include "../errors.h"
#include "../model.h"
#include "../transformer.h"
#include "../platform_posix.h"

static char *stories_bytes(size_t *ret_len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stories260K.bin", test_models_dir());
    return test_read_file(path, ret_len);
}

static void set_i32(char *buf, int idx, int32_t v)
{
    memcpy(buf + 4 * idx, &v, 4);
}

struct broken_case {
    const char *name;
    int header_field;     /* legacy int32 index to overwrite, -1 none */
    int32_t value;
    long size_delta;      /* bytes added (>0) or cut (<0) at the end */
    long absolute_size;   /* >= 0: the file is cut to this many bytes */
    const char *expect;   /* substring of the error message */
};

TEST(model_broken_files_give_clear_errors)
{
    size_t len;
    char *good = stories_bytes(&len);
    CHECK(good != NULL);
    if (!good)
        return;
    static const struct broken_case cases[] = {
        {"truncated", -1, 0, -1, -1, "file size: expected 1056540 bytes from the header, found 1056539"},
        {"one byte", -1, 0, 0, 1, "header: expected 28 bytes, file has 1"},
        {"empty", -1, 0, 0, 0, "header: expected 28 bytes, file has 0"},
        {"too long", -1, 0, 4, -1, "file size: expected 1056540 bytes from the header, found 1056544"},
        {"zero dim", 0, 0, 0, -1, "dim: expected 1..65536, found 0"},
        {"negative dim", 0, -64, 0, -1, "dim: expected 1..65536, found -64"},
        {"zero hidden", 1, 0, 0, -1, "hidden_dim: expected 1..262144, found 0"},
        {"negative layers", 2, -3, 0, -1, "n_layers: expected 1..1024, found -3"},
        {"zero heads", 3, 0, 0, -1, "n_heads: expected 1..64, found 0"},
        {"heads not dividing dim", 3, 7, 0, -1, "n_heads: 7 does not divide dim 64"},
        {"kv heads not dividing heads", 4, 3, 0, -1, "n_kv_heads: 3 does not divide n_heads 8"},
        {"more kv heads than heads", 4, 16, 0, -1, "n_kv_heads: expected 1..8, found 16"},
        {"zero vocab", 5, 0, 0, -1, "vocab_size: expected 1..2097152, found 0"},
        {"INT_MIN vocab", 5, INT32_MIN, 0, -1, "vocab_size: expected 1..2097152, found -2147483648"},
        {"zero seq_len", 6, 0, 0, -1, "seq_len: expected 1..1048576, found 0"},
        {"odd head size", 3, 64, 0, -1, "head size: dim/n_heads = 1 must be even"},
        {"huge dims", 2, 1024, 0, -1, "file size: expected "},
    };
    char path[128];
    snprintf(path, sizeof path, "/tmp/llm_model_test_%d.bin", (int)getpid());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct broken_case *c = &cases[i];
        char *buf = malloc(len + 8);
        memcpy(buf, good, len);
        memset(buf + len, 0, 8);
        if (c->header_field >= 0)
            set_i32(buf, c->header_field, c->value);
        if (!strcmp(c->name, "huge dims")) { /* every dim at its limit */
            int32_t big[7] = {65536, 262144, 1024, 64, 64, 2097152, 1048576};
            memcpy(buf, big, sizeof big);
        }
        size_t n = c->absolute_size >= 0 ? (size_t)c->absolute_size : len + (size_t)c->size_delta;
        test_write_file(path, buf, n);
        free(buf);

        struct model m;
        char err[256] = "";
        int rc = model_load(&m, path, err, sizeof err);
        CHECK_MSG(rc == ERR_FORMAT, "%s: rc %d", c->name, rc);
        CHECK_MSG(strstr(err, c->expect) != NULL, "%s: got '%s', want '%s'", c->name, err,
                  c->expect);
        CHECK_MSG(strchr(err, '\n') == NULL, "%s: message is not one line", c->name);
        CHECK_INT(plat_posix_live_bytes(), 0);
    }
    unlink(path);
    free(good);
}

TEST(model_garbage_files_never_crash)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/llm_model_garbage_%d.bin", (int)getpid());
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(round * 37 % 3000);
        unsigned char *buf = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (unsigned char)x;
        }
        if (round % 2 && n >= 8) /* half of them claim to be version 1 */
            memcpy(buf, "\x32\x34\x6b\x61\x01\x00\x00\x00", 8);
        test_write_file(path, buf, n);
        free(buf);
        struct model m;
        char err[256] = "";
        CHECK(model_load(&m, path, err, sizeof err) != 0);
        CHECK(err[0] != 0);
    }
    CHECK_INT(plat_posix_live_bytes(), 0);
    unlink(path);
}

TEST(model_bytes_per_token_drops_unread_embedding_rows)
{
    struct model_config c = {.vocab_size = 10, .weight_bytes = 1000, .shared_classifier = 0};
    CHECK(model_bytes_per_token(&c, 400) == 1000 - 400 + 40);
    c.shared_classifier = 1;
    CHECK(model_bytes_per_token(&c, 400) == 1000);
    c.shared_classifier = 0;
    CHECK(model_bytes_per_token(&c, 2000) == 1000); /* inconsistent input: all of it */
    c.vocab_size = 0;
    CHECK(model_bytes_per_token(&c, 400) == 1000);
}

TEST(model_v1_bad_header_fields)
{
    unsigned char hdr[256] = {0x32, 0x34, 0x6b, 0x61, 3, 0, 0, 0};
    struct model_config cfg;
    char err[200];
    CHECK_INT(model_probe(hdr, sizeof hdr, 256, &cfg, err, sizeof err), ERR_FORMAT);
    CHECK(strstr(err, "version: expected 1 (fp32) or 2 (int8), found 3") != NULL);
    hdr[4] = 1;
    int32_t dims[7] = {64, 172, 5, 8, 4, 512, 512};
    memcpy(hdr + 8, dims, sizeof dims);
    hdr[36] = 7;
    CHECK_INT(model_probe(hdr, sizeof hdr, 256, &cfg, err, sizeof err), ERR_FORMAT);
    CHECK(strstr(err, "shared_classifier: expected 0 or 1, found 7") != NULL);
    CHECK_INT(model_probe(hdr, 20, 20, &cfg, err, sizeof err), ERR_FORMAT);
    CHECK(strstr(err, "header: expected 256 bytes, file has 20") != NULL);
}

/* Runs a few positions and returns the logits of the last one (malloc'd). */
static float *logits_after(const char *path, int *ret_vocab)
{
    struct model m;
    struct run_state s;
    char err[256];
    if (model_load(&m, path, err, sizeof err)) {
        fprintf(stderr, "  %s: %s\n", path, err);
        return NULL;
    }
    if (run_state_alloc(&s, &m.cfg)) {
        model_free(&m);
        return NULL;
    }
    static const int toks[] = {1, 403, 407, 261, 378, 432};
    float *l = NULL;
    for (int pos = 0; pos < 6; pos++)
        l = transformer_forward(&m, &s, toks[pos], pos);
    float *out = malloc(sizeof(float) * (size_t)m.cfg.vocab_size);
    memcpy(out, l, sizeof(float) * (size_t)m.cfg.vocab_size);
    *ret_vocab = m.cfg.vocab_size;
    run_state_free(&s);
    model_free(&m);
    return out;
}

TEST(model_formats_give_identical_logits)
{
    size_t len;
    char *legacy = stories_bytes(&len);
    CHECK(legacy != NULL);
    if (!legacy)
        return;
    int32_t *h = (int32_t *)legacy;
    size_t dim = (size_t)h[0], hid = (size_t)h[1], L = (size_t)h[2], heads = (size_t)h[3],
           kvh = (size_t)h[4], vocab = (size_t)h[5], seq = (size_t)h[6];
    size_t kv = dim / heads * kvh;
    /* legacy tensor order and float counts (shared classifier) */
    size_t counts[] = {vocab * dim, L * dim, L * dim * dim, L * dim * kv, L * dim * kv,
                       L * dim * dim, L * dim, L * dim * hid, L * dim * hid, L * dim * hid, dim};
    const float *t[11];
    const float *p = (const float *)(legacy + 28);
    for (int i = 0; i < 11; i++) {
        t[i] = p;
        p += counts[i];
    }
    (void)seq;
    char v1_path[128], unshared_path[128], legacy_path[512];
    snprintf(v1_path, sizeof v1_path, "/tmp/llm_v1_%d.bin", (int)getpid());
    snprintf(unshared_path, sizeof unshared_path, "/tmp/llm_unshared_%d.bin", (int)getpid());
    snprintf(legacy_path, sizeof legacy_path, "%s/stories260K.bin", test_models_dir());

    /* version 1: magic, version, 7 dims, shared flag, padding; then
     * rms_att, rms_ffn, rms_final, embedding, wq, wk, wv, wo, w1, w2, w3 */
    FILE *f = fopen(v1_path, "wb");
    unsigned char hdr[256] = {0x32, 0x34, 0x6b, 0x61, 1, 0, 0, 0};
    memcpy(hdr + 8, legacy, 28);
    hdr[36] = 1;
    fwrite(hdr, 1, sizeof hdr, f);
    static const int v1_order[] = {1, 6, 10, 0, 2, 3, 4, 5, 7, 8, 9};
    for (int i = 0; i < 11; i++)
        fwrite(t[v1_order[i]], sizeof(float), counts[v1_order[i]], f);
    fclose(f);

    /* legacy with negative vocab_size: the classifier follows freq_cis */
    f = fopen(unshared_path, "wb");
    set_i32(legacy, 5, -(int32_t)vocab);
    fwrite(legacy, 1, len, f);
    fwrite(t[0], sizeof(float), vocab * dim, f);
    fclose(f);

    int n1 = 0, n2 = 0, n3 = 0;
    float *a = logits_after(legacy_path, &n1), *b = logits_after(v1_path, &n2),
          *c = logits_after(unshared_path, &n3);
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK_INT(n1, 512);
        CHECK(n1 == n2 && n1 == n3);
        CHECK(memcmp(a, b, sizeof(float) * (size_t)n1) == 0);
        CHECK(memcmp(a, c, sizeof(float) * (size_t)n1) == 0);
    }
    /* bytes per token: a shared classifier reads the whole embedding table,
     * a separate one leaves all but the looked-up row of it unread */
    struct model_config ca, cc;
    uint64_t size;
    char err[256];
    CHECK_INT(model_probe_file(legacy_path, &ca, &size, err, sizeof err), 0);
    CHECK_INT(model_probe_file(unshared_path, &cc, &size, err, sizeof err), 0);
    CHECK(ca.token_bytes == ca.weight_bytes);
    CHECK(cc.weight_bytes == ca.weight_bytes + vocab * dim * 4);
    CHECK(cc.token_bytes == ca.weight_bytes + dim * 4);
    free(a);
    free(b);
    free(c);
    unlink(v1_path);
    unlink(unshared_path);
    free(legacy);
    CHECK_INT(plat_posix_live_bytes(), 0);
}

TEST(model_family_from_name_or_dims)
{
    static const struct {
        const char *name;
        int dim, layers, heads, kv, vocab;
        const char *want;
    } cases[] = {
        {"TinyLlama 1.1B Chat v1.0", 2048, 22, 32, 4, 32000, "TinyLlama"},
        {"codellama_codellama-7b-instruct-hf", 4096, 32, 32, 32, 32016, "CodeLlama"},
        {"mistralai_mistral-7b-instruct-v0.2", 4096, 32, 32, 8, 32000, "Mistral"},
        {"LLaMA v2", 4096, 32, 32, 32, 32000, "Llama-2-7B"}, /* name unhelpful: dims */
        {"Phi2", 2560, 32, 32, 32, 51200, "Phi-2"},
        {NULL, 288, 6, 6, 6, 32000, "stories15M"},
        {NULL, 768, 12, 12, 12, 32000, "stories110M"},
        {NULL, 2048, 22, 32, 4, 32000, "TinyLlama-1.1B"},
        {NULL, 100, 3, 4, 4, 999, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct model_config c;
        memset(&c, 0, sizeof c);
        c.dim = cases[i].dim, c.n_layers = cases[i].layers, c.n_heads = cases[i].heads;
        c.n_kv_heads = cases[i].kv, c.vocab_size = cases[i].vocab;
        model_guess_family(&c, cases[i].name, cases[i].name ? strlen(cases[i].name) : 0);
        CHECK_STR(c.family, cases[i].want);
    }
}

/* stories260K.bin rewritten as llama2.c version 2 (export.py's layout:
 * header + group size, fp32 norms, then each int8 matrix layer by layer as
 * values followed by its group scales) with groups of gs values. */
int test_write_v2(const char *path, int gs)
{
    size_t len;
    char *legacy = stories_bytes(&len);
    if (!legacy)
        return -1;
    int32_t *h = (int32_t *)legacy;
    size_t dim = (size_t)h[0], hid = (size_t)h[1], L = (size_t)h[2], heads = (size_t)h[3],
           kvh = (size_t)h[4], vocab = (size_t)h[5];
    size_t kv = dim / heads * kvh;
    size_t counts[] = {vocab * dim, L * dim, L * dim * dim, L * dim * kv, L * dim * kv,
                       L * dim * dim, L * dim, L * dim * hid, L * dim * hid, L * dim * hid, dim};
    const float *t[11];
    const float *p = (const float *)(legacy + 28);
    for (int i = 0; i < 11; i++) {
        t[i] = p;
        p += counts[i];
    }
    FILE *f = fopen(path, "wb");
    unsigned char hdr[256] = {0x32, 0x34, 0x6b, 0x61, 2, 0, 0, 0};
    memcpy(hdr + 8, legacy, 28);
    hdr[36] = 1; /* shared classifier */
    memcpy(hdr + 37, &gs, 4);
    fwrite(hdr, 1, sizeof hdr, f);
    fwrite(t[1], 4, counts[1], f); /* attention norms */
    fwrite(t[6], 4, counts[6], f); /* ffn norms */
    fwrite(t[10], 4, counts[10], f);
    /* embedding, then wq wk wv wo w1 w2 w3, each per layer */
    static const int order[] = {0, 2, 3, 4, 5, 7, 8, 9};
    for (int k = 0; k < 8; k++) {
        int i = order[k];
        size_t layers = i == 0 ? 1 : L, per = counts[i] / layers;
        for (size_t l = 0; l < layers; l++) {
            const float *w = t[i] + l * per;
            signed char *q = malloc(per);
            float *s = malloc(per / (size_t)gs * 4);
            for (size_t g = 0; g < per / (size_t)gs; g++) {
                float wmax = 0;
                for (int j = 0; j < gs; j++)
                    wmax = fabsf(w[g * gs + j]) > wmax ? fabsf(w[g * gs + j]) : wmax;
                s[g] = wmax / 127.0f;
                for (int j = 0; j < gs; j++)
                    q[g * gs + j] = (signed char)lrintf(s[g] > 0 ? w[g * gs + j] / s[g] : 0);
            }
            fwrite(q, 1, per, f);
            fwrite(s, 4, per / (size_t)gs, f);
            free(q);
            free(s);
        }
    }
    fclose(f);
    free(legacy);
    return 0;
}

static int greedy_ids(const char *path, int *ids, int n)
{
    struct model m;
    struct run_state s;
    char err[256];
    if (model_load(&m, path, err, sizeof err)) {
        fprintf(stderr, "  %s: %s\n", path, err);
        return -1;
    }
    run_state_alloc(&s, &m.cfg);
    int tok = 1;
    for (int pos = 0; pos < n; pos++) {
        float *l = transformer_forward(&m, &s, tok, pos);
        int best = 0;
        for (int i = 1; i < m.cfg.vocab_size; i++)
            best = l[i] > l[best] ? i : best;
        ids[pos] = tok = best;
    }
    run_state_free(&s);
    model_free(&m);
    return 0;
}

TEST(model_v2_int8_groups_follow_the_fp32_model)
{
    char v2[128], fp32[512];
    snprintf(v2, sizeof v2, "/tmp/llm_v2_%d.bin", (int)getpid());
    snprintf(fp32, sizeof fp32, "%s/stories260K.bin", test_models_dir());
    CHECK_INT(test_write_v2(v2, 4), 0);
    struct model_config cfg;
    uint64_t size;
    char err[200];
    CHECK_INT(model_probe_file(v2, &cfg, &size, err, sizeof err), 0);
    CHECK_INT(cfg.format, MODEL_FMT_V2);
    CHECK_INT(cfg.group_size, 4);
    CHECK_INT(cfg.weight_type, TENSOR_Q8_GROUPS);
    int a[40], b[40];
    CHECK(greedy_ids(fp32, a, 40) == 0 && greedy_ids(v2, b, 40) == 0);
    int same = 0;
    while (same < 40 && a[same] == b[same])
        same++;
    /* int8 with 4-value groups is close: the greedy story starts the same */
    CHECK_MSG(same >= 20, "only the first %d of 40 greedy ids agree", same);
    /* a group size that does not divide hidden_dim (172) is refused */
    CHECK_INT(test_write_v2(v2, 64), 0);
    CHECK_INT(model_probe_file(v2, &cfg, &size, err, sizeof err), ERR_FORMAT);
    CHECK(strstr(err, "group_size: expected a divisor of dim 64 and hidden_dim 172, found 64"));
    unlink(v2);
    CHECK_INT(plat_posix_live_bytes(), 0);
}

/* Sliding-window attention (Mistral): with a window of one position every
 * token sees only itself, and RoPE cancels in a token's score against its own
 * key, so position p computes what a lone token at position 0 computes. */
TEST(model_sliding_window_of_one_sees_only_itself)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/stories260K.bin", test_models_dir());
    struct model m;
    struct run_state s, lone;
    if (model_load(&m, path, err, sizeof err)) {
        CHECK_MSG(0, "%s", err);
        return;
    }
    CHECK_INT(run_state_alloc(&s, &m.cfg), 0);
    CHECK_INT(run_state_alloc(&lone, &m.cfg), 0);
    static const int toks[] = {1, 403, 407, 261, 378};
    int vocab = m.cfg.vocab_size;
    float *windowed = malloc(sizeof(float) * (size_t)vocab);
    float *full = malloc(sizeof(float) * (size_t)vocab);
    float *l = NULL;
    for (int pos = 0; pos < 5; pos++) /* no window: for comparison */
        l = transformer_forward(&m, &s, toks[pos], pos);
    memcpy(full, l, sizeof(float) * (size_t)vocab);
    m.cfg.sliding_window = 1;
    for (int pos = 0; pos < 5; pos++)
        l = transformer_forward(&m, &s, toks[pos], pos);
    memcpy(windowed, l, sizeof(float) * (size_t)vocab);
    m.cfg.sliding_window = 0;
    l = transformer_forward(&m, &lone, toks[4], 0);
    float worst = 0, moved = 0;
    for (int i = 0; i < vocab; i++) {
        worst = fmaxf(worst, fabsf(windowed[i] - l[i]));
        moved = fmaxf(moved, fabsf(windowed[i] - full[i]));
    }
    CHECK_MSG(worst < 1e-4f, "window 1 vs lone token: max difference %g", worst);
    CHECK_MSG(moved > 0.1f, "the window changed nothing (%g)", moved);
    free(windowed);
    free(full);
    run_state_free(&s);
    run_state_free(&lone);
    model_free(&m);
}
