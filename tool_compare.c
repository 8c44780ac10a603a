/* tool_compare.c - `llm quantize --compare MODEL_A MODEL_B`: how far a
 * quantized model's predictions are from the original's (build/llm only).
 *
 *   llm quantize --compare MODEL_A MODEL_B [--prompt-ids "1 403 407"]...
 *       [--prompt-ids-file F] [--n 64]
 *
 * For each prompt (ids, BOS included; default the single BOS 1) model A
 * generates --n tokens greedily; the same tokens are fed to model B. At each
 * of those positions it counts whether both argmaxes agree and adds
 * KL(P_A || P_B) of the temperature-1 softmax. Prints the agreement in
 * percent and the mean KL per prompt and over all prompts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "lib.h"
#include "model.h"
#include "quant_stats.h"
#include "transformer.h"

int compare_main(int argc, char **argv);

static int usage(void)
{
    fprintf(stderr, "usage: llm quantize --compare MODEL_A MODEL_B [--prompt-ids \"1 403\"]... "
                    "[--prompt-ids-file F] [--n 64]\n");
    return 2;
}

/* ---- --compare ---------------------------------------------------------------------------- */

#define MAX_PROMPTS 64
#define MAX_PROMPT_IDS 512

struct prompt {
    int ids[MAX_PROMPT_IDS];
    int n;
};

/* "1 403 407" (spaces, commas or tabs) into p; -1 on a bad id. */
static int parse_prompt(const char *s, struct prompt *p)
{
    p->n = 0;
    while (*s) {
        char *end;
        if (*s == ' ' || *s == ',' || *s == '\t' || *s == '\r' || *s == '\n') {
            s++;
            continue;
        }
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > INT32_MAX || p->n == MAX_PROMPT_IDS)
            return -1;
        p->ids[p->n++] = (int)v;
        s = end;
    }
    return p->n ? 0 : -1;
}

struct agreement {
    int agree, positions;
    double kl_sum, kl_max;
};

/* One prompt: A generates n tokens greedily, B is fed the same ones. */
static int compare_prompt(const struct model *a, const struct model *b, struct run_state *sa,
                          struct run_state *sb, const struct prompt *p, int n,
                          struct agreement *ret)
{
    int V = a->cfg.vocab_size;
    for (int i = 0; i < p->n; i++)
        if (p->ids[i] >= V)
            return ERR_RANGE;
    if (p->n + n > a->cfg.seq_len + 1 || p->n + n > b->cfg.seq_len + 1)
        return ERR_RANGE;
    int pos = 0;
    for (; pos < p->n - 1; pos++) {
        transformer_forward(a, sa, p->ids[pos], pos);
        transformer_forward(b, sb, p->ids[pos], pos);
    }
    int token = p->ids[p->n - 1];
    for (int step = 0; step < n; step++, pos++) {
        const float *la = transformer_forward(a, sa, token, pos);
        const float *lb = transformer_forward(b, sb, token, pos);
        int next = k_argmax(la, V);
        double kl = logits_kl(la, lb, V);
        ret->agree += next == k_argmax(lb, V);
        ret->positions++;
        ret->kl_sum += kl;
        ret->kl_max = kl > ret->kl_max ? kl : ret->kl_max;
        token = next;
    }
    return 0;
}

static void print_agreement(const char *what, const struct agreement *g)
{
    printf("%s: agreement %.2f%% (%d/%d), mean KL %.6f, max KL %.6f\n", what,
           g->positions ? 100.0 * g->agree / g->positions : 0.0, g->agree, g->positions,
           g->positions ? g->kl_sum / g->positions : 0.0, g->kl_max);
}

static int read_prompt_file(const char *path, struct prompt *ps, int *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ERR_NOT_FOUND;
    char line[8192];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        if (!str_trim(line)[0])
            continue;
        if (*n == MAX_PROMPTS || parse_prompt(line, &ps[*n]))
            rc = ERR_FORMAT;
        else
            (*n)++;
    }
    fclose(f);
    return rc;
}

int compare_main(int argc, char **argv)
{
    const char *path[2] = {NULL, NULL};
    static struct prompt prompts[MAX_PROMPTS];
    int n_prompts = 0, np = 0;
    long n = 64;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-') {
            if (np == 2)
                return usage();
            path[np++] = argv[i];
        } else if (i + 1 >= argc) {
            return usage();
        } else if (!strcmp(argv[i], "--n")) {
            if (parse_long(argv[++i], &n) || n < 1 || n > MODEL_MAX_CONTEXT) {
                fprintf(stderr, "llm quantize: --n: expected 1..%d, got '%s'\n",
                        MODEL_MAX_CONTEXT, argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--prompt-ids")) {
            if (n_prompts == MAX_PROMPTS || parse_prompt(argv[++i], &prompts[n_prompts])) {
                fprintf(stderr, "llm quantize: --prompt-ids: expected token ids, got '%s'\n",
                        argv[i]);
                return 2;
            }
            n_prompts++;
        } else if (!strcmp(argv[i], "--prompt-ids-file")) {
            int rc = read_prompt_file(argv[++i], prompts, &n_prompts);
            if (rc) {
                fprintf(stderr, "llm quantize: %s: %s\n", argv[i],
                        rc == ERR_NOT_FOUND ? "cannot open"
                                            : "expected one line of token ids per prompt");
                return 2;
            }
        } else {
            return usage();
        }
    }
    if (np != 2)
        return usage();
    if (!n_prompts) { /* just BOS */
        prompts[0].ids[0] = 1;
        prompts[0].n = 1;
        n_prompts = 1;
    }
    struct model m[2];
    struct run_state st[2];
    char err[256];
    int rc = 0, loaded = 0, states = 0;
    memset(m, 0, sizeof m);
    for (; loaded < 2; loaded++)
        if ((rc = model_load(&m[loaded], path[loaded], err, sizeof err)) != 0) {
            fprintf(stderr, "llm quantize: %s: %s\n", path[loaded], err);
            goto out;
        }
    if (m[0].cfg.vocab_size != m[1].cfg.vocab_size) {
        fprintf(stderr, "llm quantize: the models' vocabularies differ (%d and %d tokens)\n",
                m[0].cfg.vocab_size, m[1].cfg.vocab_size);
        rc = ERR_FORMAT;
        goto out;
    }
    for (; states < 2; states++)
        if ((rc = run_state_alloc(&st[states], &m[states].cfg)) != 0) {
            fprintf(stderr, "llm quantize: out of memory for the KV cache\n");
            goto out;
        }
    printf("compare: A %s, B %s, %d prompt(s) x %ld greedy tokens of A\n", path[0], path[1],
           n_prompts, n);
    struct agreement all = {0, 0, 0.0, 0.0};
    for (int k = 0; k < n_prompts; k++) {
        struct agreement g = {0, 0, 0.0, 0.0};
        if ((rc = compare_prompt(&m[0], &m[1], &st[0], &st[1], &prompts[k], (int)n, &g)) != 0) {
            fprintf(stderr, "llm quantize: prompt %d: ids out of the vocabulary or prompt + "
                    "--n past the context\n", k + 1);
            goto out;
        }
        char what[32];
        fmt_snprintf(what, sizeof what, "prompt %d", k + 1);
        print_agreement(what, &g);
        all.agree += g.agree;
        all.positions += g.positions;
        all.kl_sum += g.kl_sum;
        all.kl_max = g.kl_max > all.kl_max ? g.kl_max : all.kl_max;
    }
    print_agreement("all", &all);
out:
    while (states > 0)
        run_state_free(&st[--states]);
    while (loaded > 0)
        model_free(&m[--loaded]);
    return rc ? 1 : 0;
}

