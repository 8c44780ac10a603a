/* fuzz_require.h - REQUIRE(cond, fmt, ...) for the libFuzzer targets: a
 * broken promise prints where and why, then aborts so libFuzzer keeps the
 * input (tests/host_fuzz.sh reports it). */
#ifndef FUZZ_REQUIRE_H
#define FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define REQUIRE(cond, ...)                                                    \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* A per-process scratch file under $TMPDIR (default /tmp), removed at exit,
 * for targets that also exercise the file-reading path. */
static char fuzz_tmp_path[512];

static void fuzz_tmp_cleanup(void)
{
    if (fuzz_tmp_path[0])
        unlink(fuzz_tmp_path);
}

static inline void fuzz_tmp_init(const char *name)
{
    const char *dir = getenv("TMPDIR");
    snprintf(fuzz_tmp_path, sizeof fuzz_tmp_path, "%s/%s_%d", dir && *dir ? dir : "/tmp", name,
             (int)getpid());
    atexit(fuzz_tmp_cleanup);
}

/* Replaces the scratch file's contents with data. */
static inline void fuzz_tmp_write(const void *data, size_t len)
{
    FILE *f = fopen(fuzz_tmp_path, "wb");
    REQUIRE(f != NULL, "cannot create %s", fuzz_tmp_path);
    REQUIRE(len == 0 || fwrite(data, 1, len, f) == len, "cannot write %s", fuzz_tmp_path);
    REQUIRE(fclose(f) == 0, "cannot write %s", fuzz_tmp_path);
}

#endif
