/* fuzz_config.c - libFuzzer target for the text parsers of llm.cfg
 * (config.c) and prompts.txt (demo.c).
 *
 *  1. config_parse on the input: every warning is one NUL-terminated line of
 *     printable text, there are min(problems, CONFIG_MAX_WARNINGS) of them
 *     plus one summary line when more, and the resulting config obeys every
 *     documented limit; config_get/config_apply work on it.
 *  2. demo_prompts_parse on the input: on success every prompt and category
 *     is valid text within its limit and inside the block, and
 *     demo_prompts_free returns every byte; on failure *d is untouched and
 *     nothing stays allocated.
 *  3. config_set with a key/value split of the input (at the first '=',
 *     else the first NUL, else the middle): failure leaves the config
 *     unchanged with a one-line message; success sets the key's bit and
 *     config_get gives back a value that config_set accepts again (strings:
 *     the value itself).
 * Any broken promise prints why and aborts, so libFuzzer saves the input.
 * Built and run by tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../demo.h"
#include "../errors.h"
#include "../lib.h"
#include "../platform_posix.h"

#include "fuzz_require.h"

/* One line of printable text (UTF-8 allowed, no C0 controls or DEL). */
static void check_line(const char *msg, size_t cap, const char *what)
{
    REQUIRE(msg != NULL, "%s: NULL message", what);
    size_t n = strnlen(msg, cap);
    REQUIRE(n < cap, "%s: message not NUL-terminated within %zu bytes", what, cap);
    REQUIRE(n > 0, "%s: empty message", what);
    for (size_t i = 0; i < n; i++)
        REQUIRE((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f,
                "%s: control byte 0x%02x at %zu in '%s'", what, (unsigned char)msg[i], i, msg);
}

struct warn_ctx {
    int calls;
    int summary; /* a "N more problems not shown" line was seen */
};

static void warn_cb(const char *msg, void *ctx)
{
    struct warn_ctx *w = ctx;
    REQUIRE(!w->summary, "warning after the summary line: '%s'", msg);
    w->calls++;
    /* Messages are at most a few hundred bytes; 4096 is a generous bound. */
    check_line(msg, 4096, "config warning");
    REQUIRE(strncmp(msg, "llm.cfg:", 8) == 0, "warning does not name the file: '%s'", msg);
    if (w->calls > CONFIG_MAX_WARNINGS) {
        REQUIRE(strstr(msg, "more problems not shown") != NULL,
                "warning %d is not the summary: '%s'", w->calls, msg);
        w->summary = 1;
    }
}

static void check_string_field(const char *f, size_t cap, int is_path, const char *name)
{
    size_t n = strnlen(f, cap);
    REQUIRE(n < cap, "%s not NUL-terminated", name);
    REQUIRE(utf8_is_text(f, n), "%s is not valid text", name);
    if (is_path)
        REQUIRE(strchr(f, '\\') == NULL, "%s keeps a backslash: '%s'", name, f);
}

static void check_config(const struct config *c)
{
    check_string_field(c->model, sizeof c->model, 1, "model");
    check_string_field(c->tokenizer, sizeof c->tokenizer, 1, "tokenizer");
    check_string_field(c->prompt, sizeof c->prompt, 0, "prompt");
    REQUIRE(c->temperature >= 0.0f && c->temperature <= 100.0f, "temperature %g",
            (double)c->temperature);
    REQUIRE(c->topp >= 0.0f && c->topp <= 1.0f, "topp %g", (double)c->topp);
    REQUIRE(c->steps >= 0 && c->autodemo >= 0 && c->demo_delay >= 0, "negative int setting");
    REQUIRE(c->shutdown == 0 || c->shutdown == 1, "shutdown %d", c->shutdown);
    REQUIRE((c->set_mask & ~((1u << config_key_count()) - 1)) == 0, "set_mask 0x%x",
            c->set_mask);

    /* Every key formats, in a roomy and in a tiny buffer. */
    for (int i = 0; i < config_key_count(); i++) {
        const char *k = config_key_name(i);
        REQUIRE(k != NULL, "key %d has no name", i);
        char big[1100], small[5];
        memset(small, 'Z', sizeof small);
        REQUIRE(config_get(c, k, big, sizeof big) == 0, "config_get(%s) failed", k);
        REQUIRE(strnlen(big, sizeof big) < sizeof big, "config_get(%s) not terminated", k);
        REQUIRE(config_get(c, k, small, 4) == 0 && strnlen(small, 4) < 4 && small[4] == 'Z',
                "config_get(%s) with cap 4 overflowed", k);
    }
    REQUIRE(config_key_name(-1) == NULL && config_key_name(config_key_count()) == NULL,
            "out-of-range key names");

    struct config d;
    config_defaults(&d);
    config_apply(&d, c);
    REQUIRE(d.set_mask == c->set_mask, "config_apply mask 0x%x vs 0x%x", d.set_mask,
            c->set_mask);
}

static void fuzz_config_parse(const char *text, size_t len)
{
    struct config c;
    config_defaults(&c);
    struct warn_ctx w = {0, 0};
    size_t before = plat_posix_live_bytes();
    int problems = config_parse(&c, text, len, warn_cb, &w);
    REQUIRE(plat_posix_live_bytes() == before, "config_parse allocated");
    REQUIRE(problems >= 0, "config_parse returned %d", problems);
    int want = problems <= CONFIG_MAX_WARNINGS ? problems : CONFIG_MAX_WARNINGS + 1;
    REQUIRE(w.calls == want, "%d problems but %d warnings", problems, w.calls);
    REQUIRE((problems > CONFIG_MAX_WARNINGS) == (w.summary != 0), "summary line mismatch");
    check_config(&c);

    /* Same result without a callback. */
    struct config c2;
    config_defaults(&c2);
    REQUIRE(config_parse(&c2, text, len, NULL, NULL) == problems, "problem count changed");
    REQUIRE(memcmp(&c, &c2, sizeof c) == 0, "config differs without a warn callback");
}

static int inside(const void *p, const struct demo_prompts *d)
{
    const char *b = d->block;
    return (const char *)p >= b && (const char *)p < b + d->block_size;
}

static void fuzz_demo_parse(const char *text, size_t len)
{
    size_t before = plat_posix_live_bytes();
    struct demo_prompts d, untouched;
    memset(&d, 0xA5, sizeof d);
    memset(&untouched, 0xA5, sizeof untouched);
    int rc = demo_prompts_parse(&d, text, len);
    if (rc) {
        REQUIRE(rc == ERR_FORMAT || rc == ERR_RANGE, "demo_prompts_parse returned %d", rc);
        REQUIRE(memcmp(&d, &untouched, sizeof d) == 0, "*d written on failure");
        REQUIRE(plat_posix_live_bytes() == before, "failed parse leaked %zu bytes",
                plat_posix_live_bytes() - before);
        return;
    }
    REQUIRE(d.block && d.block_size > 0, "no block");
    REQUIRE(plat_posix_live_bytes() == before + d.block_size, "live bytes off");
    int n = demo_prompts_count(&d);
    REQUIRE(n >= 1, "%d prompts after success", n);
    REQUIRE(d.n_categories >= 1 && d.n_categories <= n, "%d categories for %d prompts",
            d.n_categories, n);
    REQUIRE(demo_prompts_categories(&d) == d.n_categories, "category count");
    REQUIRE(d.skipped >= 0 && (d.skipped == 0) == (d.first_skipped == 0),
            "skipped %d first_skipped %d", d.skipped, d.first_skipped);
    REQUIRE(demo_prompts_get(&d, -1) == NULL && demo_prompts_get(&d, n) == NULL,
            "out-of-range prompt");
    const char *seen[64];
    int n_seen = 0, distinct = 0;
    for (int i = 0; i < n; i++) {
        const struct demo_prompt *p = demo_prompts_get(&d, i);
        REQUIRE(p && p->text && p->category, "prompt %d incomplete", i);
        REQUIRE(inside(p->text, &d), "prompt %d text outside the block", i);
        size_t tl = strlen(p->text);
        REQUIRE(tl >= 1 && tl < DEMO_PROMPT_MAX && utf8_is_text(p->text, tl), "prompt %d bad text", i);
        REQUIRE(p->text[0] != '#' && p->text[0] != ' ' && p->text[0] != '\t' &&
                    p->text[tl - 1] != ' ' && p->text[tl - 1] != '\t',
                "prompt %d not trimmed or starts with '#'", i);
        size_t cl = strlen(p->category);
        REQUIRE(cl >= 1 && cl < DEMO_CATEGORY_MAX && utf8_is_text(p->category, cl),
                "prompt %d bad category", i);
        REQUIRE(strcmp(p->category, "General") == 0 || inside(p->category, &d),
                "category outside the block");
        int known = 0;
        for (int j = 0; j < n_seen; j++)
            known |= seen[j] == p->category;
        if (!known) {
            distinct++;
            if (n_seen < 64)
                seen[n_seen++] = p->category;
        }
    }
    if (distinct < 64)
        REQUIRE(distinct == d.n_categories, "%d distinct category pointers, n_categories %d",
                distinct, d.n_categories);
    demo_prompts_free(&d);
    REQUIRE(demo_prompts_count(&d) == 0 && d.block == NULL, "free left prompts");
    REQUIRE(plat_posix_live_bytes() == before, "demo_prompts_free left %zu bytes",
            plat_posix_live_bytes() - before);
}

static void fuzz_config_set(const char *data, size_t len)
{
    size_t split = len / 2, skip = 0;
    const char *eq = memchr(data, '=', len), *nul = memchr(data, 0, len);
    if (eq)
        split = (size_t)(eq - data), skip = 1;
    else if (nul)
        split = (size_t)(nul - data), skip = 1;
    char *key = malloc(split + 1), *value = malloc(len - split - skip + 1);
    memcpy(key, data, split);
    key[split] = 0;
    memcpy(value, data + split + skip, len - split - skip);
    value[len - split - skip] = 0;

    struct config c, before;
    config_defaults(&c);
    before = c;
    char err[256];
    memset(err, 'Z', sizeof err);
    int rc = config_set(&c, key, value, err, sizeof err);
    if (rc) {
        REQUIRE(rc == ERR_NOT_FOUND || rc == ERR_FORMAT || rc == ERR_RANGE,
                "config_set returned %d", rc);
        REQUIRE(memcmp(&c, &before, sizeof c) == 0, "config changed on failure");
        check_line(err, sizeof err, "config_set error");
        char tiny[3] = {'Z', 'Z', 'Z'};
        REQUIRE(config_set(&c, key, value, tiny, 2) == rc && tiny[1] == 0 && tiny[2] == 'Z',
                "config_set with errcap 2");
    } else {
        REQUIRE(err[0] == 0, "success left a message: '%s'", err);
        REQUIRE(c.set_mask != 0, "success set no bit");
        check_config(&c);
        char got[1100];
        REQUIRE(config_get(&c, key, got, sizeof got) == 0, "config_get(%s) failed", key);
        /* What config_get prints, config_set accepts and stores unchanged
         * (except a string that itself is wrapped in quotes: config_set
         * strips one pair, as documented). */
        size_t gl = strlen(got);
        if (!(gl >= 2 && got[0] == '"' && got[gl - 1] == '"')) {
            struct config c2 = c;
            REQUIRE(config_set(&c2, key, got, err, sizeof err) == 0,
                    "config_set(%s, '%s') from config_get rejected: %s", key, got, err);
            char got2[1100];
            config_get(&c2, key, got2, sizeof got2);
            REQUIRE(strcmp(got, got2) == 0, "'%s' then '%s'", got, got2);
        }
        /* string values: exactly the value (quotes removed, '\' -> '/' in paths) */
        size_t vl = strlen(value);
        const char *v = value;
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
            v++, vl -= 2;
        int is_str = 0, is_path = 0;
        for (int i = 0; i < config_key_count(); i++) {
            const char *k = config_key_name(i);
            size_t kl = strlen(k), j = 0;
            while (j < kl && key[j] &&
                   (key[j] >= 'A' && key[j] <= 'Z' ? key[j] + 32 : key[j]) == k[j])
                j++;
            if (j == kl && key[j] == 0) {
                is_path = strcmp(k, "model") == 0 || strcmp(k, "tokenizer") == 0;
                is_str = is_path || strcmp(k, "prompt") == 0;
            }
        }
        if (is_str) {
            REQUIRE(strlen(got) == vl, "string value length %zu vs %zu", strlen(got), vl);
            for (size_t i = 0; i < vl; i++)
                REQUIRE(got[i] == v[i] || (is_path && v[i] == '\\' && got[i] == '/'),
                        "string value differs at %zu", i);
        }
    }
    free(key);
    free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy, not NUL-terminated, so ASan catches over-reads. */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    fuzz_config_parse(text, size);
    fuzz_demo_parse(text, size);
    free(text);
    fuzz_config_set((const char *)data, size);
    return 0;
}
