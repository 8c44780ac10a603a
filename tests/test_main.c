/* test_main.c - runs every registered host unit test (optionally only those
 * whose name contains argv[1]) and prints one PASS/FAIL line each. */
#include "testlib.h"

#include <dirent.h>
#include <unistd.h>

#include "../platform_posix.h"

static struct test_case *tests_head, **tests_tail = &tests_head;
int test_failures;

void test_register(struct test_case *t)
{
    *tests_tail = t;
    tests_tail = &t->next;
}

const char *test_models_dir(void)
{
    const char *d = getenv("LLM_MODELS");
    return d && *d ? d : "../shared/models";
}

char *test_read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    if (ret_len)
        *ret_len = (size_t)n;
    return buf;
}

int test_parse_ids(const char *s, int *ids, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        ids[n++] = (int)v;
        s = end;
    }
    return n;
}

void test_format_ids(char *buf, size_t cap, const int *ids, int n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < n && k + 16 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%d", i ? " " : "", ids[i]);
}

void test_collect(const char *text, size_t len, void *ctx)
{
    struct test_text *b = ctx;
    if (b->n + len < sizeof b->s) {
        memcpy(b->s + b->n, text, len);
        b->n += len;
        b->s[b->n] = 0;
    }
}

int test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

void test_tsv_unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r == 'r' ? '\r' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
}

static char temp_root[256];

const char *test_root_begin(const char *tag)
{
    snprintf(temp_root, sizeof temp_root, "/tmp/llm_%s_test_%d_XXXXXX", tag, (int)getpid());
    if (!mkdtemp(temp_root)) {
        test_failures++;
        fprintf(stderr, "  mkdtemp %s failed\n", temp_root);
        return NULL;
    }
    plat_posix_set_root(temp_root);
    return temp_root;
}

void test_rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            test_rm_tree(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

void test_root_end(void)
{
    plat_posix_fail_writes_after(-1);
    plat_posix_cut_power_after(-1);
    plat_posix_set_fat_rename(0);
    test_rm_tree(temp_root);
    plat_posix_set_root(".");
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (struct test_case *t = tests_head; t; t = t->next) {
        if (argc > 1 && !strstr(t->name, argv[1]))
            continue;
        test_failures = 0;
        t->fn();
        printf("%s: %s\n", test_failures ? "FAIL" : "PASS", t->name);
        fflush(stdout);
        if (test_failures)
            failed++;
        else
            passed++;
    }
    fprintf(stderr, "unit tests: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
