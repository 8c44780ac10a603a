/* fmt.c - a small printf for the freestanding core: formatting to a buffer
 * and to the console. Only what the project prints is supported (lib.h). */
#include "lib.h"
#include "platform.h"

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, int left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    /* zero padding goes after a sign */
    if (!left && pad == '0' && n > 0 && (*s == '-' || *s == '+')) {
        put(o, *s++);
        n--;
    }
    if (!left)
        while (fill-- > 0)
            put(o, pad);
    while (n--)
        put(o, *s++);
    if (left)
        while (fill-- > 0)
            put(o, ' ');
}

/* Writes v in the given base backwards into the end of tmp; returns start. */
static char *utoa(unsigned long long v, unsigned base, char *end)
{
    *--end = 0;
    do {
        unsigned d = (unsigned)(v % base);
        *--end = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    return end;
}

static size_t format_float(char *tmp, size_t cap, double v, int prec)
{
    size_t n = 0;
    if (v != v)
        return (size_t)fmt_snprintf(tmp, cap, "nan");
    if (v < 0) {
        tmp[n++] = '-';
        v = -v;
    }
    if (v > 1e18)
        return n + (size_t)fmt_snprintf(tmp + n, cap - n, "%s", v - v != 0 ? "inf" : "huge");
    if (prec > 9)
        prec = 9;
    unsigned long long scale = 1;
    for (int i = 0; i < prec; i++)
        scale *= 10;
    unsigned long long ip = (unsigned long long)v;
    double rest = (v - (double)ip) * (double)scale;
    unsigned long long fp = (unsigned long long)(rest + 0.5);
    if (fp >= scale) {
        fp -= scale;
        ip++;
    }
    char digits[32];
    const char *s = utoa(ip, 10, digits + sizeof digits);
    while (*s && n + 1 < cap)
        tmp[n++] = *s++;
    if (prec > 0 && n + 1 < cap) {
        tmp[n++] = '.';
        char *f = utoa(fp, 10, digits + sizeof digits);
        for (int pad = prec - (int)strlen(f); pad > 0 && n + 1 < cap; pad--)
            tmp[n++] = '0';
        while (*f && n + 1 < cap)
            tmp[n++] = *f++;
    }
    tmp[n] = 0;
    return n;
}

int fmt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};
    char tmp[64];
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        p++;
        int left = 0, width = 0, prec = -1, lng = 0, size_t_arg = 0;
        char pad = ' ';
        for (;; p++) {
            if (*p == '-')
                left = 1;
            else if (*p == '0')
                pad = '0';
            else
                break;
        }
        if (*p == '*') {
            width = va_arg(ap, int);
            p++;
        }
        for (; *p >= '0' && *p <= '9'; p++)
            width = width * 10 + (*p - '0');
        if (*p == '.') {
            prec = 0;
            p++;
            if (*p == '*') {
                prec = va_arg(ap, int);
                p++;
            }
            for (; *p >= '0' && *p <= '9'; p++)
                prec = prec * 10 + (*p - '0');
        }
        for (; *p == 'l'; p++)
            lng++;
        if (*p == 'z') {
            size_t_arg = 1;
            p++;
        }
        const char *s = tmp;
        size_t n;
        switch (*p) {
        case 'd':
        case 'i': {
            long long v = size_t_arg ? (long long)va_arg(ap, ptrdiff_t)
                        : lng >= 2  ? va_arg(ap, long long)
                        : lng == 1  ? va_arg(ap, long)
                                    : va_arg(ap, int);
            unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            char *d = utoa(u, 10, tmp + sizeof tmp);
            if (v < 0)
                *--d = '-';
            s = d;
            n = strlen(s);
            break;
        }
        case 'u':
        case 'x':
        case 'p': {
            unsigned long long v = *p == 'p'   ? (unsigned long long)(uintptr_t)va_arg(ap, void *)
                                 : size_t_arg  ? va_arg(ap, size_t)
                                 : lng >= 2    ? va_arg(ap, unsigned long long)
                                 : lng == 1    ? va_arg(ap, unsigned long)
                                               : va_arg(ap, unsigned);
            s = utoa(v, *p == 'u' ? 10 : 16, tmp + sizeof tmp);
            n = strlen(s);
            break;
        }
        case 'f':
            n = format_float(tmp, sizeof tmp, va_arg(ap, double), prec < 0 ? 6 : prec);
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            n = strlen(s);
            if (prec >= 0 && (size_t)prec < n)
                n = (size_t)prec;
            pad = ' ';
            break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            n = 1;
            break;
        case '%':
            tmp[0] = '%';
            n = 1;
            break;
        default: /* unknown conversion: print it as is */
            put(&o, '%');
            if (!*p)
                p--;
            else
                put(&o, *p);
            continue;
        }
        put_padded(&o, s, n, width, left, pad);
    }
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = 0;
    return (int)o.len;
}

int fmt_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

static void vprint_to(void (*write)(const char *, size_t), const char *fmt, va_list ap)
{
    char buf[512];
    int n = fmt_vsnprintf(buf, sizeof buf, fmt, ap);
    write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

void con_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_to(plat_write, fmt, ap);
    va_end(ap);
}

void diag_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_to(plat_write_diag, fmt, ap);
    va_end(ap);
}

void con_puts(const char *s)
{
    plat_write(s, strlen(s));
}
