/* test_demo.c - kiosk demo prompts: built-ins and prompts.txt parsing. */
#include "testlib.h"

#include <unistd.h>

#include "demo.h"
#include "errors.h"

/* Parses a copy of text in a buffer of exactly len bytes (no NUL after it). */
static int parse(struct demo_prompts *d, const char *text, size_t len)
{
    char *buf = malloc(len ? len : 1);
    memcpy(buf, text, len);
    int rc = demo_prompts_parse(d, buf, len);
    free(buf);
    return rc;
}

/* Every string of a parsed set lies inside its block, terminated there:
 * the sizing pass and the fill pass agree. */
static void check_in_block(const struct demo_prompts *d)
{
    const char *lo = d->block, *hi = lo + d->block_size;
    for (int i = 0; i < d->count; i++) {
        const struct demo_prompt *p = demo_prompts_get(d, i);
        CHECK(p->text >= lo && p->text + strlen(p->text) < hi);
        CHECK(p->category >= lo ? p->category + strlen(p->category) < hi
                                : strcmp(p->category, "General") == 0);
        CHECK(strlen(p->text) > 0 && strlen(p->text) < DEMO_PROMPT_MAX);
        CHECK(strlen(p->category) > 0 && strlen(p->category) < DEMO_CATEGORY_MAX);
    }
}

static int distinct_categories(const struct demo_prompts *d)
{
    int n = 0;
    for (int i = 0; i < d->count; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(d->items[j].category, d->items[i].category) == 0;
        n += !seen;
    }
    return n;
}

TEST(demo_builtin)
{
    struct demo_prompts d;
    memset(&d, 0x5a, sizeof(d));
    demo_prompts_builtin(&d);
    CHECK_INT(demo_prompts_count(&d), 41);
    CHECK_INT(demo_prompts_categories(&d), 6);
    CHECK_INT(distinct_categories(&d), 6);
    CHECK(d.block == NULL);
    CHECK_STR(demo_prompts_get(&d, 0)->text, "Once upon a time");
    CHECK_STR(demo_prompts_get(&d, 0)->category, "Stories");
    CHECK(demo_prompts_get(&d, -1) == NULL);
    CHECK(demo_prompts_get(&d, 41) == NULL);
    for (int i = 0; i < 41; i++) {
        const struct demo_prompt *p = demo_prompts_get(&d, i);
        size_t n = strlen(p->text);
        CHECK(n > 0 && n < DEMO_PROMPT_MAX);
        CHECK(p->text[0] != ' ' && p->text[0] != '#' && p->text[n - 1] != ' ');
        for (int j = 0; j < i; j++) {
            const struct demo_prompt *q = demo_prompts_get(&d, j);
            CHECK_MSG(strcmp(p->text, q->text) != 0, "duplicate '%s'", p->text);
            /* one pointer per category */
            if (strcmp(p->category, q->category) == 0)
                CHECK(p->category == q->category);
        }
    }
    demo_prompts_free(&d); /* a no-op for static data, then empty */
    CHECK_INT(demo_prompts_count(&d), 0);
    CHECK(demo_prompts_get(&d, 0) == NULL);
}

static const char sample[] =
    "Lonely prompt before any category\n"
    "# Animals\n"
    "The dog\n"
    "  The cat  \n"
    "\n"
    "#Space\n"
    "The rocket went up\n"
    "#\n"
    "# animals\n" /* same category as "Animals" */
    "The bird sang\n"
    "# Empty category\n";

static void check_sample(const struct demo_prompts *d)
{
    CHECK_INT(demo_prompts_count(d), 5);
    CHECK_INT(demo_prompts_categories(d), 3);
    CHECK_INT(distinct_categories(d), 3);
    CHECK_INT(d->skipped, 0);
    CHECK_INT(d->first_skipped, 0);
    static const char *const text[] = {"Lonely prompt before any category", "The dog", "The cat",
                                       "The rocket went up", "The bird sang"};
    static const char *const cat[] = {"General", "Animals", "Animals", "Space", "Animals"};
    for (int i = 0; i < 5 && i < demo_prompts_count(d); i++) {
        CHECK_STR(demo_prompts_get(d, i)->text, text[i]);
        CHECK_STR(demo_prompts_get(d, i)->category, cat[i]);
    }
    if (demo_prompts_count(d) == 5)
        CHECK(demo_prompts_get(d, 4)->category == demo_prompts_get(d, 1)->category);
    check_in_block(d);
}

TEST(demo_parse_sample)
{
    struct demo_prompts d;
    CHECK_INT(parse(&d, sample, sizeof(sample) - 1), 0);
    check_sample(&d);
    CHECK(d.block != NULL);
    demo_prompts_free(&d);
    CHECK_INT(demo_prompts_count(&d), 0);
    CHECK(d.block == NULL);
}

TEST(demo_parse_crlf)
{
    char crlf[sizeof(sample) * 2 + 8];
    size_t n = 0;
    memcpy(crlf, "\xef\xbb\xbf", 3); /* and a BOM */
    n = 3;
    for (const char *p = sample; *p; p++) {
        if (*p == '\n')
            crlf[n++] = '\r';
        crlf[n++] = *p;
    }
    struct demo_prompts d;
    CHECK_INT(parse(&d, crlf, n), 0);
    check_sample(&d);
    for (int i = 0; i < demo_prompts_count(&d); i++)
        CHECK(!strchr(demo_prompts_get(&d, i)->text, '\r'));
    demo_prompts_free(&d);

    /* last line without a newline */
    static const char last[] = "# A\r\nfirst\r\nsecond";
    CHECK_INT(parse(&d, last, sizeof(last) - 1), 0);
    CHECK_INT(demo_prompts_count(&d), 2);
    if (demo_prompts_count(&d) == 2)
        CHECK_STR(demo_prompts_get(&d, 1)->text, "second");
    CHECK_INT(demo_prompts_categories(&d), 1);
    demo_prompts_free(&d);
}

TEST(demo_parse_no_prompts)
{
    static const char *const cases[] = {"", "\n\n\r\n", "   \t\n", "# Only\n# Categories\n",
                                        "\xef\xbb\xbf", "#\n#\n"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct demo_prompts d;
        memset(&d, 0x5a, sizeof(d));
        CHECK_INT(parse(&d, cases[i], strlen(cases[i])), ERR_FORMAT);
        /* untouched on error */
        unsigned char *b = (unsigned char *)&d;
        for (size_t k = 0; k < sizeof(d); k++)
            CHECK(b[k] == 0x5a);
    }
    struct demo_prompts d;
    CHECK_INT(parse(&d, "\xff\xfe\n", 3), ERR_FORMAT); /* only junk */
}

TEST(demo_parse_long_and_invalid_lines)
{
    size_t max = DEMO_PROMPT_MAX - 1;
    size_t cap = 3 * DEMO_PROMPT_MAX + 200;
    char *text = malloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(text + n, cap - n, "ok one\n");       /* 1 */
    memset(text + n, 'a', max + 1);                             /* 2: too long: skipped */
    n += max + 1;
    text[n++] = '\n';
    memset(text + n, 'b', max);                                 /* 3: at the limit: kept */
    n += max;
    text[n++] = '\n';
    n += (size_t)snprintf(text + n, cap - n, "bad \xff utf8\n"); /* 4 */
    n += (size_t)snprintf(text + n, cap - n, "tab\there\n");     /* 5 */
    memcpy(text + n, "nul\0byte\n", 9);                         /* 6 */
    n += 9;
    n += (size_t)snprintf(text + n, cap - n, "caf\xc3\xa9 ok\n"); /* 7 */
    n += (size_t)snprintf(text + n, cap - n, "# bad \xc0\x80 cat\n"); /* 8: skipped */
    n += (size_t)snprintf(text + n, cap - n, "still general\n"); /* 9 */

    struct demo_prompts d;
    CHECK_INT(parse(&d, text, n), 0);
    CHECK_INT(demo_prompts_count(&d), 4);
    CHECK_INT(d.skipped, 5);
    CHECK_INT(d.first_skipped, 2);
    CHECK_STR(demo_prompts_get(&d, 0)->text, "ok one");
    CHECK_INT(strlen(demo_prompts_get(&d, 1)->text), max);
    CHECK_STR(demo_prompts_get(&d, 2)->text, "caf\xc3\xa9 ok");
    CHECK_STR(demo_prompts_get(&d, 3)->text, "still general");
    CHECK_STR(demo_prompts_get(&d, 3)->category, "General");
    CHECK_INT(demo_prompts_categories(&d), 1);
    check_in_block(&d);
    demo_prompts_free(&d);
    free(text);
}

TEST(demo_parse_long_category)
{
    /* 62 ASCII bytes then a 2-byte character straddling the 63-byte cut */
    char text[256];
    size_t n = 0;
    text[n++] = '#';
    memset(text + n, 'c', 62);
    n += 62;
    memcpy(text + n, "\xc3\xa9tail\nprompt\n", 13);
    n += 13;
    struct demo_prompts d;
    CHECK_INT(parse(&d, text, n), 0);
    CHECK_INT(demo_prompts_count(&d), 1);
    const char *cat = demo_prompts_get(&d, 0)->category;
    CHECK_INT(strlen(cat), 62);
    CHECK(cat[61] == 'c');
    check_in_block(&d);
    demo_prompts_free(&d);
}

TEST(demo_parse_many_categories)
{
    /* alternating new categories and prompts, plus repeats of old ones */
    size_t cap = 64 * 1024, n = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(text + n, cap - n, "# Cat %d\nprompt %d\n", i % 700, i);
    struct demo_prompts d;
    CHECK_INT(parse(&d, text, n), 0);
    CHECK_INT(demo_prompts_count(&d), 2000);
    CHECK_INT(demo_prompts_categories(&d), 700);
    CHECK(demo_prompts_get(&d, 0)->category == demo_prompts_get(&d, 700)->category);
    CHECK_STR(demo_prompts_get(&d, 1999)->category, "Cat 599");
    check_in_block(&d);
    demo_prompts_free(&d);
    free(text);
}

TEST(demo_parse_garbage)
{
    unsigned rng = 777;
    char buf[2048];
    for (int iter = 0; iter < 1000; iter++) {
        rng = rng * 1103515245u + 12345u;
        size_t n = (rng >> 8) % sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            rng = rng * 1103515245u + 12345u;
            unsigned r = rng >> 8;
            buf[i] = r % 7 == 0 ? '\n' : r % 11 == 0 ? '#' : (char)(r >> 3);
        }
        struct demo_prompts d;
        int rc = parse(&d, buf, n);
        CHECK(rc == 0 || rc == ERR_FORMAT);
        if (rc == 0) {
            CHECK(d.count > 0);
            CHECK(d.n_categories >= 1 && d.n_categories <= d.count);
            CHECK_INT(distinct_categories(&d), d.n_categories);
            check_in_block(&d);
            demo_prompts_free(&d);
        }
        if (test_failures)
            break;
    }
}

TEST(demo_load)
{
    char path[256];
    struct demo_prompts d;
    snprintf(path, sizeof(path), "/tmp/llm_prompts_test_%d.txt", (int)getpid());
    unlink(path);
    CHECK_INT(demo_prompts_load(&d, path), ERR_NOT_FOUND);

    test_write_file(path, sample, sizeof(sample) - 1);
    CHECK_INT(demo_prompts_load(&d, path), 0);
    check_sample(&d);
    demo_prompts_free(&d);

    test_write_file(path, "", 0);
    CHECK_INT(demo_prompts_load(&d, path), ERR_FORMAT);
    test_write_file(path, "# nothing\n\n", 11);
    CHECK_INT(demo_prompts_load(&d, path), ERR_FORMAT);

    char *big = malloc(DEMO_FILE_MAX + 1);
    memset(big, 'x', DEMO_FILE_MAX + 1);
    test_write_file(path, big, DEMO_FILE_MAX + 1);
    CHECK_INT(demo_prompts_load(&d, path), ERR_RANGE);
    free(big);
    unlink(path);
}
