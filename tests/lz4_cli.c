/* lz4_cli.c - the project's LZ4 frame codec (lz4.c) as a command line tool
 * for tests/host_lz4.sh, which builds it against the core sources:
 *
 *   lz4_cli c IN OUT    compress IN into one frame
 *   lz4_cli d IN OUT    decompress every frame of IN (size from lz4_frame_size)
 *   lz4_cli size IN     print "SIZE exact" or "SIZE bound"
 *
 * Errors go to stderr as "lz4_cli: <reason>" with exit status 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../lz4.h"

static void die(const char *msg, const char *detail)
{
    fprintf(stderr, "lz4_cli: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static unsigned char *slurp(const char *path, size_t *ret_n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    for (size_t k; b && (k = fread(b + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    if (!b || ferror(f))
        die("cannot read", path);
    fclose(f);
    *ret_n = n;
    return b;
}

static void spill(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        die("cannot write", path);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "size") != 0 && argc != 4))
        die("usage: lz4_cli c|d IN OUT | lz4_cli size IN", NULL);
    size_t n, len;
    unsigned char *in = slurp(argv[2], &n);
    char err[200];
    if (strcmp(argv[1], "c") == 0) {
        static unsigned work[LZ4_WORK_BYTES / sizeof(unsigned)];
        size_t cap = lz4_frame_bound(n);
        unsigned char *out = malloc(cap);
        if (!cap || !out)
            die("input too large", argv[2]);
        int rc = lz4_frame_compress(in, n, out, cap, &len, work);
        if (rc != 0)
            die("compress failed", err_str(rc));
        spill(argv[3], out, len);
        free(out);
    } else {
        uint64_t size;
        int exact;
        int rc = lz4_frame_size(in, n, &size, &exact, err, sizeof err);
        if (rc != 0)
            die(err_str(rc), err);
        if (strcmp(argv[1], "size") == 0) {
            printf("%llu %s\n", (unsigned long long)size, exact ? "exact" : "bound");
            free(in);
            return 0;
        }
        if (strcmp(argv[1], "d") != 0)
            die("unknown command", argv[1]);
        unsigned char *out = malloc(size ? size : 1);
        if (!out)
            die("out of memory", NULL);
        rc = lz4_frame_decompress(in, n, out, size, &len, err, sizeof err);
        if (rc != 0)
            die(err_str(rc), err);
        spill(argv[3], out, len);
        free(out);
    }
    free(in);
    return 0;
}
