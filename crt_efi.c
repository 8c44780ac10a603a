/* crt_efi.c - the C library functions lib.h promises that gnu-efi's libefi
 * does not provide. libefi already defines memcpy and memset (in init.o,
 * together with InitializeLib, so they cannot be replaced here).
 *
 * GCC recognises copy/compare/scan loops and may turn them into calls to
 * memmove/memcpy/strlen: inside these very functions that is infinite
 * recursion. Loop distribution into library calls is switched off for the
 * whole file. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

#include <stddef.h>
#include <stdint.h>

#include "lib.h"

/* Unaligned, alias-anything 8-byte word for the bulk of memmove. */
typedef uint64_t __attribute__((may_alias, aligned(1))) word_u;

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n) {
        /* Forward copy is safe: dst starts before src or does not overlap. */
        while (n >= 8) {
            *(word_u *)d = *(const word_u *)s;
            d += 8;
            s += 8;
            n -= 8;
        }
        while (n--)
            *d++ = *s++;
    } else {
        /* dst overlaps the tail of src: copy backwards. */
        d += n;
        s += n;
        while (n >= 8) {
            d -= 8;
            s -= 8;
            n -= 8;
            *(word_u *)d = *(const word_u *)s;
        }
        while (n--)
            *--d = *--s;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;

    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;

    while (*p)
        p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a;
    const unsigned char *q = (const unsigned char *)b;

    while (*p && *p == *q) {
        p++;
        q++;
    }
    return (*p > *q) - (*p < *q);
}

int strncmp(const char *a, const char *b, size_t n)
{
    const unsigned char *p = (const unsigned char *)a;
    const unsigned char *q = (const unsigned char *)b;

    for (; n; n--, p++, q++) {
        if (*p != *q)
            return *p < *q ? -1 : 1;
        if (!*p)
            break;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    const char ch = (char)c;

    /* The terminator counts as part of the string: strchr(s, 0) finds it. */
    for (;; s++) {
        if (*s == ch)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}
