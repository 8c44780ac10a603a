/* fuzz_numbers.c - libFuzzer target for the number parsers and the small
 * printf of the freestanding core (lib.c, fmt.c), checked against libc.
 *
 *  - parse_long(s) against strtol(s, 10): same verdict (whole string with
 *    surrounding spaces, out of range) and the same value.
 *  - parse_float(s) against strtod: accepted exactly when s is a decimal
 *    number strtod takes whole (no hex, inf or nan) and whose value rounds
 *    to a finite float; values agree to float precision.
 *  - fmt_snprintf with a format built from the input (flags, width, one
 *    integer/string/char conversion) against snprintf: identical bytes and
 *    return value for every buffer size; %f within half a unit of its last
 *    printed digit; %ld output parses back with parse_long.
 * Any disagreement prints both sides and aborts, so libFuzzer saves the
 * input. Built and run by tests/host_fuzz.sh. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../lib.h"

#include "fuzz_require.h"

static int c_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int only_space(const char *s)
{
    while (c_space((unsigned char)*s))
        s++;
    return *s == 0;
}

static void check_long(const char *s)
{
    long v = 12345;
    int rc = parse_long(s, &v);
    char *end;
    errno = 0;
    long ref = strtol(s, &end, 10);
    int whole = end != s && only_space(end);
    if (rc == 0) {
        REQUIRE(whole && errno == 0 && v == ref, "parse_long('%s') = %ld, strtol %ld (errno %d)",
                s, v, ref, errno);
    } else if (rc == ERR_RANGE) {
        /* ERR_RANGE as soon as the digits overflow, even with junk after
         * them (where strtol stops, with ERANGE, before the junk) */
        REQUIRE(errno == ERANGE && v == 12345, "parse_long('%s') ERR_RANGE, strtol %ld", s, ref);
    } else {
        REQUIRE(rc == ERR_FORMAT && !whole && v == 12345, "parse_long('%s') = %d, strtol took it whole",
                s, rc);
    }
}

/* [space][sign](digits[.digits] | .digits)[(e|E)[sign]digits][space] */
static int decimal_syntax(const char *s)
{
    while (c_space((unsigned char)*s))
        s++;
    if (*s == '+' || *s == '-')
        s++;
    int digits = 0;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits++;
    if (!digits)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return only_space(s);
}

static void check_float(const char *s)
{
    float v = 12345.0f;
    int rc = parse_float(s, &v);
    int syntax = decimal_syntax(s);
    errno = 0;
    double ref = strtod(s, NULL);
    /* Rounds to a finite float? Values past FLT_MAX by less than half an ulp
     * round down to FLT_MAX in strtof, but parse_float calls everything
     * above FLT_MAX out of range (so it rejects "3.40282347e38", FLT_MAX
     * printed with %.9g), and its double arithmetic (mantissa over 2^53,
     * inexact powers of ten above 1e22) can push values a few 1e-16 below
     * FLT_MAX over it too. Both slivers are tolerated either way. */
    double lim = (double)FLT_MAX, half_ulp = ldexp(1.0, 127 - 24);
    int finite = fabs(ref) <= lim * (1 - 1e-14), overflow = fabs(ref) >= lim + half_ulp;
    if (rc == 0) {
        REQUIRE(syntax && !overflow, "parse_float('%s') = %g accepted; strtod %g", s, (double)v, ref);
        float r = (float)ref;
        double diff = fabs((double)v - (double)r);
        double tol = fabs((double)r) * 3e-7 + 3.0 * FLT_TRUE_MIN;
        REQUIRE(diff <= tol || (fabs(ref) > lim && fabs((double)v) == lim),
                "parse_float('%s') = %.9g, strtod %.17g (float %.9g)", s, (double)v, ref,
                (double)r);
    } else if (rc == ERR_RANGE) {
        REQUIRE(syntax && !finite, "parse_float('%s') ERR_RANGE, strtod %.17g", s, ref);
        REQUIRE(v == 12345.0f, "*ret written on ERR_RANGE");
    } else {
        REQUIRE(rc == ERR_FORMAT && !syntax, "parse_float('%s') = %d for decimal syntax", s, rc);
        REQUIRE(v == 12345.0f, "*ret written on ERR_FORMAT");
    }
}

/* A format of one conversion: text, flags, width, conversion, text. */
static void check_fmt(const uint8_t *d, size_t n)
{
    if (n < 12)
        return;
    static const char *const convs[] = {"d", "i", "u", "x", "ld", "lu", "lx", "lld", "llu",
                                        "llx", "zu", "zd", "s", "c", "%", "f"};
    unsigned sel = d[0] % (sizeof convs / sizeof convs[0]);
    const char *conv = convs[sel];
    int minus = d[1] & 1, zero = (d[1] >> 1) & 1, width = (d[1] >> 2) % 24;
    if (conv[0] == 's' || conv[0] == 'c' || conv[0] == '%')
        zero = 0; /* '0' with these is undefined in C */
    if (conv[0] == '%')
        minus = 0, width = 0; /* C: the whole spec must be "%%" */
    int prec = d[2] % 10;
    long long iv;
    uint64_t raw;
    memcpy(&raw, d + 3, 8);
    iv = (long long)raw;
    char fmt[48];
    char spec[24];
    if (conv[0] == 'f')
        snprintf(spec, sizeof spec, "%%%s%s%d.%d%s", minus ? "-" : "", zero ? "0" : "", width,
                 prec, conv);
    else if (width)
        snprintf(spec, sizeof spec, "%%%s%s%d%s", minus ? "-" : "", zero ? "0" : "", width, conv);
    else
        snprintf(spec, sizeof spec, "%%%s%s%s", minus ? "-" : "", zero ? "0" : "", conv);
    snprintf(fmt, sizeof fmt, "[%s]", spec);

    char str[64];
    size_t sl = n - 11 < sizeof str - 1 ? n - 11 : sizeof str - 1;
    memcpy(str, d + 11, sl);
    str[sl] = 0;

    char mine[160], ref[160];
    int rm = 0, rr = 0;
    static const size_t caps[] = {0, 1, 2, 3, 5, 8, 13, 32, 64, 100, sizeof mine};
    for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
        size_t c = caps[ci];
        memset(mine, 'Z', sizeof mine);
        memset(ref, 'Z', sizeof ref);
#define BOTH(arg)                                                      \
    do {                                                               \
        rm = fmt_snprintf(c ? mine : NULL, c, fmt, arg);               \
        rr = snprintf(c ? ref : NULL, c, fmt, arg);                    \
    } while (0)
        double fv = 0;
        switch (sel) {
        case 0: case 1: BOTH((int)iv); break;
        case 2: BOTH((unsigned)iv); break;
        case 3: BOTH((unsigned)iv); break;
        case 4: BOTH((long)iv); break;
        case 5: case 6: BOTH((unsigned long)iv); break;
        case 7: BOTH(iv); break;
        case 8: case 9: BOTH((unsigned long long)iv); break;
        case 10: BOTH((size_t)iv); break;
        case 11: BOTH((ptrdiff_t)iv); break;
        case 12: BOTH(str); break;
        case 13: BOTH((int)(unsigned char)str[0]); break;
        case 14: BOTH(0); break;
        case 15:
            memcpy(&fv, &raw, sizeof fv);
            BOTH(fv);
            break;
        }
#undef BOTH
        if (c == 0)
            continue;
        REQUIRE(mine[c - 1 < (size_t)rm ? c - 1 : (size_t)rm] == 0 &&
                    (c == sizeof mine || mine[c] == 'Z'),
                "fmt_snprintf('%s') cap %zu: not terminated or wrote past cap", fmt, c);
        if (sel != 15) {
            REQUIRE(rm == rr && memcmp(mine, ref, c) == 0,
                    "fmt '%s' cap %zu: fmt_snprintf '%.*s' (%d), snprintf '%.*s' (%d)", fmt, c,
                    (int)c, mine, rm, (int)c, ref, rr);
        }
    }
    if (sel == 15) {
        /* %f: within half a unit of the last digit (fmt.c rounds half up,
         * glibc to even on the exact binary value), and width honoured. */
        double fv;
        memcpy(&fv, &raw, sizeof fv);
        REQUIRE(rm < (int)sizeof mine, "fmt '%s' of %.17g: %d bytes", fmt, fv, rm);
        REQUIRE(mine[0] == '[' && rm >= 2 && mine[rm - 1] == ']', "fmt '%s': '%s'", fmt, mine);
        REQUIRE(rm - 2 >= width, "fmt '%s': '%s' narrower than %d", fmt, mine, width);
        char body[160];
        memcpy(body, mine + 1, (size_t)rm - 2);
        body[rm - 2] = 0;
        char *b = body;
        while (*b == ' ')
            b++;
        if (fv != fv) {
            REQUIRE(strstr(b, "nan") != NULL, "NaN printed as '%s'", b);
        } else if (fabs(fv) > 1e18) {
            REQUIRE(strstr(b, isinf(fv) ? "inf" : "huge") != NULL, "%.17g printed as '%s'", fv, b);
            REQUIRE((fv < 0) == (b[0] == '-'), "sign of %.17g in '%s'", fv, b);
        } else {
            char *end;
            double back = strtod(b, &end);
            REQUIRE(end != b && only_space(end), "%%f output '%s' does not parse", b);
            double tol = 0.5 * pow(10.0, -prec) * (1 + 1e-9) + fabs(fv) * 1e-15;
            REQUIRE(fabs(back - fv) <= tol, "%.17g printed '%s' with %s", fv, b, fmt);
            char *dot = strchr(b, '.');
            if (prec == 0)
                REQUIRE(dot == NULL, "'%s' has a point at precision 0", b);
            else
                REQUIRE(dot && strspn(dot + 1, "0123456789") == (size_t)prec,
                        "'%s' does not have %d decimals", b, prec);
        }
    }

    /* %ld round trip through parse_long */
    char buf[32];
    fmt_snprintf(buf, sizeof buf, "%ld", (long)iv);
    long back = 0;
    REQUIRE(parse_long(buf, &back) == 0 && back == (long)iv, "'%s' did not parse back", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0; /* parsers see the text up to the first NUL */
    check_long(s);
    check_float(s);
    free(s);
    check_fmt(data, size);
    return 0;
}
