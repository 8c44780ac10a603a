/* lib.h - the small C library the freestanding core uses.
 *
 * The standard names (memcpy, strlen, ...) come from libc on the host and from
 * crt_efi.c / gnu-efi's libefi in the UEFI build. Everything else here is the
 * project's own code (lib.c, fmt.c) on both builds, so host tests exercise
 * exactly what runs on the firmware.
 */
#ifndef LIB_H
#define LIB_H

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef LLM_EFI
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#else
#include <string.h>
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- lib.c ---- */
/* Stable merge sort of n elements of `size` bytes. tmp must hold n*size bytes
 * (caller-owned scratch). Stable like glibc's qsort for the sizes we use, so
 * ties order the same way as the reference implementation. */
void lib_sort(void *base, size_t n, size_t size, void *tmp,
              int (*cmp)(const void *a, const void *b));
/* Binary search in a sorted array; returns the element or NULL. */
void *lib_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *a, const void *b));

/* Overflow-checked size arithmetic: return 0 and store the result, or
 * return ERR_RANGE on overflow (leaving *ret untouched). */
int size_mul(uint64_t a, uint64_t b, uint64_t *ret);
int size_add(uint64_t a, uint64_t b, uint64_t *ret);

/* Parses a whole string (surrounding spaces allowed) as a decimal integer /
 * a decimal float ("1", "-0.5", "1e-3"). Returns 0, ERR_FORMAT (not a
 * number) or ERR_RANGE (does not fit); *ret is written only on success. */
int parse_long(const char *s, long *ret);
int parse_float(const char *s, float *ret);

/* Copies a NUL-terminated string into dst (capacity cap > 0), truncating. */
void str_copy(char *dst, size_t cap, const char *src);
/* Case-insensitive ASCII comparisons. */
int str_casecmp(const char *a, const char *b);
int str_ends_with_ci(const char *s, const char *suffix);
/* ASCII whitespace (space, \t \r \n \v \f). */
int char_is_space(int c);
/* Narrows the span (*s, *n) to exclude leading/trailing whitespace. */
void span_trim(const char **s, size_t *n);
/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF)
 * without C0/DEL control characters: text safe to tokenize and print. */
int utf8_is_text(const char *s, size_t n);
/* Walks the lines of a text buffer (LF or CRLF; a '\r' stays at the end of
 * the line for the caller's trim). A leading UTF-8 byte order mark, which
 * Windows editors write, is skipped. */
struct line_reader {
    const char *text;
    size_t len, pos;
    int line; /* 1-based number of the line last returned */
};
void line_reader_init(struct line_reader *r, const char *text, size_t len);
/* Returns 1 and the next line (without its '\n'), or 0 at the end. */
int line_reader_next(struct line_reader *r, const char **ret_s, size_t *ret_n);
/* Removes leading/trailing ASCII whitespace in place; returns s. */
char *str_trim(char *s);
/* The file name part of a path (after the last '/' or '\\'); points into path. */
const char *path_base(const char *path);

/* ---- fmt.c ---- */
/* A small vsnprintf: %d %i %u %x %ld %lu %lld %llu %zu %zd %s %c %p %%
 * and %f with precision (%.2f), width and '-'/'0' flags for numbers and
 * strings. Always NUL-terminates (cap > 0); returns the length it would
 * have written. */
int fmt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats and writes to the console (plat_write). */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void con_puts(const char *s);
/* Same for the diagnostics channel (plat_write_diag). */
void diag_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
