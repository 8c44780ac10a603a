/* lib.c - sorting, searching, checked size arithmetic, number parsing and
 * small string helpers for the freestanding core (see lib.h). */
#include "lib.h"
#include "errors.h"

/* Bottom-up merge sort: stable, O(n log n), no recursion, scratch from caller. */
void lib_sort(void *base, size_t n, size_t size, void *tmp,
              int (*cmp)(const void *a, const void *b))
{
    unsigned char *src = base, *dst = tmp;
    if (n < 2)
        return;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = MIN(lo + width, n), hi = MIN(lo + 2 * width, n);
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                /* take from the right only when strictly smaller: stability */
                if (cmp(src + j * size, src + i * size) < 0)
                    memcpy(dst + k++ * size, src + j++ * size, size);
                else
                    memcpy(dst + k++ * size, src + i++ * size, size);
            }
            if (i < mid)
                memcpy(dst + k * size, src + i * size, (mid - i) * size), k += mid - i;
            if (j < hi)
                memcpy(dst + k * size, src + j * size, (hi - j) * size);
        }
        unsigned char *t = src;
        src = dst;
        dst = t;
    }
    if (src != base)
        memcpy(base, src, n * size);
}

void *lib_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *a, const void *b))
{
    const unsigned char *b = base;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(key, b + mid * size);
        if (c == 0)
            return (void *)(b + mid * size);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int size_mul(uint64_t a, uint64_t b, uint64_t *ret)
{
    if (a != 0 && b > UINT64_MAX / a)
        return ERR_RANGE;
    *ret = a * b;
    return 0;
}

int size_add(uint64_t a, uint64_t b, uint64_t *ret)
{
    if (b > UINT64_MAX - a)
        return ERR_RANGE;
    *ret = a + b;
    return 0;
}

int char_is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void span_trim(const char **s, size_t *n)
{
    while (*n && char_is_space((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && char_is_space((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

void line_reader_init(struct line_reader *r, const char *text, size_t len)
{
    r->text = text;
    r->len = len;
    r->pos = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    r->line = 0;
}

int line_reader_next(struct line_reader *r, const char **ret_s, size_t *ret_n)
{
    if (r->pos >= r->len)
        return 0;
    size_t end = r->pos;
    while (end < r->len && r->text[end] != '\n')
        end++;
    *ret_s = r->text + r->pos;
    *ret_n = end - r->pos;
    r->pos = end + 1;
    if (r->line < INT32_MAX)
        r->line++;
    return 1;
}

int utf8_is_text(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            if (b < 0x20 || b == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (b >= 0xc2 && b <= 0xdf) {
            len = 2, cp = b & 0x1f, min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
            len = 3, cp = b & 0x0f, min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            unsigned char cb = (unsigned char)s[i + k];
            if ((cb & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (cb & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

static const char *skip_space(const char *s)
{
    while (char_is_space((unsigned char)*s))
        s++;
    return s;
}

int parse_long(const char *s, long *ret)
{
    s = skip_space(s);
    int neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return ERR_FORMAT;
    unsigned long v = 0, limit = neg ? (unsigned long)LONG_MAX + 1 : LONG_MAX;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return ERR_RANGE;
        v = v * 10 + d;
    }
    if (*skip_space(s))
        return ERR_FORMAT;
    *ret = neg ? (long)(0 - v) : (long)v;
    return 0;
}

/* Exact powers of ten up to 1e22 are representable in double, so
 * mantissa / 10^k rounds once, like strtod for short decimals. */
static double pow10_exact(int k)
{
    double p = 1.0;
    while (k-- > 0)
        p *= 10.0;
    return p;
}

int parse_float(const char *s, float *ret)
{
    s = skip_space(s);
    int neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    uint64_t mant = 0;
    int digits = 0, frac = 0, dropped = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (mant < 100000000000000000ULL)
            mant = mant * 10 + (uint64_t)(*s - '0');
        else
            dropped++;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            if (mant < 100000000000000000ULL) {
                mant = mant * 10 + (uint64_t)(*s - '0');
                frac++;
            }
        }
    }
    if (digits == 0)
        return ERR_FORMAT;
    int exp10 = dropped - frac;
    if (*s == 'e' || *s == 'E') {
        s++;
        int eneg = *s == '-';
        if (*s == '-' || *s == '+')
            s++;
        if (*s < '0' || *s > '9')
            return ERR_FORMAT;
        int e = 0;
        for (; *s >= '0' && *s <= '9'; s++)
            if (e < 1000)
                e = e * 10 + (*s - '0');
        exp10 += eneg ? -e : e;
    }
    if (*skip_space(s))
        return ERR_FORMAT;
    double v = (double)mant;
    if (mant != 0) {
        if (exp10 > 60)
            return ERR_RANGE;
        while (exp10 < -22) { /* rare: tiny values, a little extra rounding is fine */
            v /= 1e22;
            exp10 += 22;
        }
        v = exp10 < 0 ? v / pow10_exact(-exp10) : v * pow10_exact(exp10);
        /* overflow only if it would round past FLT_MAX (FLT_MAX + half an ulp) */
        if (v >= 0x1.ffffffp127)
            return ERR_RANGE;
    }
    *ret = (float)(neg ? -v : v);
    return 0;
}

void str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int str_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int d = lower((unsigned char)*a) - lower((unsigned char)*b);
        if (d || !*a)
            return d;
    }
}

int str_ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && str_casecmp(s + n - m, suffix) == 0;
}

char *str_trim(char *s)
{
    char *start = (char *)skip_space(s);
    size_t n = strlen(start);
    while (n > 0 && char_is_space((unsigned char)start[n - 1]))
        n--;
    memmove(s, start, n);
    s[n] = 0;
    return s;
}

const char *path_base(const char *path)
{
    const char *b = path;
    for (const char *s = path; *s; s++)
        if (*s == '/' || *s == '\\')
            b = s + 1;
    return b;
}
