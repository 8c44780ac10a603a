/* testlib.h - a tiny table-free test framework for the host unit tests.
 *
 * TEST(name) { ... } registers a test at start-up; CHECK* record failures and
 * keep going. The runner (tests/test_main.c) prints "PASS: name" or
 * "FAIL: name" per test; scripts/run_tests.sh counts those lines. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
    const char *name;
    void (*fn)(void);
    struct test_case *next;
};
void test_register(struct test_case *t);
extern int test_failures; /* failures in the running test */

#define TEST(name)                                                    \
    static void test_##name(void);                                    \
    static struct test_case test_case_##name = {#name, test_##name, 0}; \
    __attribute__((constructor)) static void test_reg_##name(void)   \
    {                                                                 \
        test_register(&test_case_##name);                             \
    }                                                                 \
    static void test_##name(void)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            test_failures++;                                               \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                      \
        }                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                               \
    do {                                                                   \
        if (!(cond)) {                                                     \
            test_failures++;                                               \
            fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__,        \
                    __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

#define CHECK_INT(a, b)                                                    \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        CHECK_MSG(a_ == b_, "%lld != %lld", a_, b_);                       \
    } while (0)

#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *a_ = (a), *b_ = (b);                                   \
        CHECK_MSG(a_ && b_ && strcmp(a_, b_) == 0, "\"%s\" != \"%s\"",      \
                  a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
    } while (0)

/* Directory holding ../shared/models (env LLM_MODELS overrides). */
const char *test_models_dir(void);
/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
char *test_read_file(const char *path, size_t *ret_len);
/* A text sink for generation callbacks: test_collect(text, len, &buf). */
struct test_text {
    char s[8192];
    size_t n;
};
void test_collect(const char *text, size_t len, void *ctx);
/* Parses space-separated decimal ids ("1 15043 3186") into ids; returns
 * the count (at most cap). */
int test_parse_ids(const char *s, int *ids, int cap);
/* Formats ids space-separated into buf (truncated to fit). */
void test_format_ids(char *buf, size_t cap, const int *ids, int n);
/* The bits of a float and back. */
static inline uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Writes len bytes to path (replacing it); 0 or -1. */
int test_write_file(const char *path, const void *data, size_t len);
/* A fresh empty temporary directory made the platform's file root (the
 * "volume" of storage and session tests); test_root_end removes it, turns
 * the platform's failure hooks off and restores the root. NULL on failure. */
const char *test_root_begin(const char *tag);
void test_root_end(void);
/* Removes a directory tree (test scratch only). */
void test_rm_tree(const char *dir);
/* Writes stories260K.bin as a llama2.c version 2 file (int8 groups of gs)
 * to path (test_model.c); 0 on success. */
int test_write_v2(const char *path, int gs);
/* Unescapes a reference TSV field in place (\\ \t \n \r). */
void test_tsv_unescape(char *s);

#endif
