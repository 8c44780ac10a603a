/* config.c - llm.cfg parsing and setting validation (see config.h). */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

#define FIELD_SIZE(m) sizeof(((struct config *)0)->m)
#define ECHO_MAX 32 /* bytes of a bad value quoted back in a message */
#define TEMPERATURE_MAX 100.0f /* above this sampling is uniform noise; also keeps %f output short */

enum kind { K_PATH, K_STR, K_IP, K_FLOAT, K_U64, K_INT, K_BOOL };

struct key {
    const char *name;
    enum kind kind;
    size_t off;
    size_t cap;       /* strings: field size including the NUL */
    unsigned bit;
    float fmin, fmax; /* K_FLOAT; K_INT when fmax > 0 */
};

static const struct key keys[] = {
    {"model", K_PATH, offsetof(struct config, model), FIELD_SIZE(model), CONFIG_SET_MODEL, 0, 0},
    {"tokenizer", K_PATH, offsetof(struct config, tokenizer), FIELD_SIZE(tokenizer), CONFIG_SET_TOKENIZER, 0, 0},
    {"temperature", K_FLOAT, offsetof(struct config, temperature), 0, CONFIG_SET_TEMPERATURE, 0.0f, TEMPERATURE_MAX},
    {"topp", K_FLOAT, offsetof(struct config, topp), 0, CONFIG_SET_TOPP, 0.0f, 1.0f},
    {"seed", K_U64, offsetof(struct config, seed), 0, CONFIG_SET_SEED, 0, 0},
    {"steps", K_INT, offsetof(struct config, steps), 0, CONFIG_SET_STEPS, 0, 0},
    {"autodemo", K_INT, offsetof(struct config, autodemo), 0, CONFIG_SET_AUTODEMO, 0, 0},
    {"demo_delay", K_INT, offsetof(struct config, demo_delay), 0, CONFIG_SET_DEMO_DELAY, 0, 0},
    {"prompt", K_STR, offsetof(struct config, prompt), FIELD_SIZE(prompt), CONFIG_SET_PROMPT, 0, 0},
    {"shutdown", K_BOOL, offsetof(struct config, shutdown), 0, CONFIG_SET_SHUTDOWN, 0, 0},
    {"template", K_STR, offsetof(struct config, template_name), FIELD_SIZE(template_name), CONFIG_SET_TEMPLATE, 0, 0},
    {"system", K_STR, offsetof(struct config, system), FIELD_SIZE(system), CONFIG_SET_SYSTEM, 0, 0},
    {"fewshot", K_PATH, offsetof(struct config, fewshot), FIELD_SIZE(fewshot), CONFIG_SET_FEWSHOT, 0, 0},
    {"cot", K_INT, offsetof(struct config, cot), 0, CONFIG_SET_COT, 0, 0},
    {"threads", K_INT, offsetof(struct config, threads), 0, CONFIG_SET_THREADS, 0, 0},
    {"isa", K_STR, offsetof(struct config, isa), FIELD_SIZE(isa), CONFIG_SET_ISA, 0, 0},
    {"bench", K_BOOL, offsetof(struct config, bench), 0, CONFIG_SET_BENCH, 0, 0},
    {"compress", K_STR, offsetof(struct config, compress), FIELD_SIZE(compress), CONFIG_SET_COMPRESS, 0, 0},
    {"net", K_STR, offsetof(struct config, net), FIELD_SIZE(net), CONFIG_SET_NET, 0, 0},
    {"ip", K_IP, offsetof(struct config, ip), FIELD_SIZE(ip), CONFIG_SET_IP, 0, 0},
    {"netmask", K_IP, offsetof(struct config, netmask), FIELD_SIZE(netmask), CONFIG_SET_NETMASK, 0, 0},
    {"gateway", K_IP, offsetof(struct config, gateway), FIELD_SIZE(gateway), CONFIG_SET_GATEWAY, 0, 0},
    {"dns", K_IP, offsetof(struct config, dns), FIELD_SIZE(dns), CONFIG_SET_DNS, 0, 0},
    {"port", K_INT, offsetof(struct config, port), 0, CONFIG_SET_PORT, 1, 65535},
    {"api_key", K_STR, offsetof(struct config, api_key), FIELD_SIZE(api_key), CONFIG_SET_API_KEY, 0, 0},
    {"api_open", K_BOOL, offsetof(struct config, api_open), 0, CONFIG_SET_API_OPEN, 0, 0},
    {"remote_key", K_STR, offsetof(struct config, remote_key), FIELD_SIZE(remote_key), CONFIG_SET_REMOTE_KEY, 0, 0},
};

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->temperature = 1.0f;
    c->topp = 0.9f;
    c->seed = 0;
    c->steps = 256;
    c->autodemo = 10;
    c->demo_delay = 3;
    c->shutdown = 0;
    str_copy(c->net, sizeof c->net, "auto");
    c->port = 8080;
}

int config_key_count(void)
{
    return (int)ARRAY_LEN(keys);
}

const char *config_key_name(int i)
{
    return i >= 0 && i < (int)ARRAY_LEN(keys) ? keys[i].name : NULL;
}

/* ---- small helpers ------------------------------------------------------ */

static char lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static const struct key *find_key(const char *k, size_t n)
{
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        const char *name = keys[i].name;
        size_t j = 0;
        while (j < n && name[j] && lower(k[j]) == name[j])
            j++;
        if (j == n && name[j] == 0)
            return &keys[i];
    }
    return NULL;
}

/* Quotes untrusted bytes back to the user: printable ASCII only, capped,
 * so junk in the file cannot drive the console. */
static void echo(char *out, size_t cap, const char *s, size_t n)
{
    size_t w = 0, lim = MIN(n, (size_t)ECHO_MAX);
    for (size_t i = 0; i < lim && w + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[w++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    for (int i = 0; n > lim && i < 3 && w + 1 < cap; i++)
        out[w++] = '.';
    out[w] = 0;
}

/* Decimal digits with an optional sign; ERR_FORMAT if not a whole number,
 * ERR_RANGE if negative (other than -0) or above max. */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
    size_t i = 0;
    int neg = 0, over = 0;
    uint64_t v = 0;
    if (n && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i++;
    }
    if (i == n)
        return ERR_FORMAT;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_FORMAT;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            over = 1; /* keep scanning: "99999x" is a format error */
        else
            v = v * 10 + d;
    }
    if (over || (neg && v != 0))
        return ERR_RANGE;
    *ret = v;
    return 0;
}

/* Shortest of %.1f/%.2f/%.3f that round-trips the 3-decimal display. */
static void format_float(char *buf, size_t cap, float v)
{
    fmt_snprintf(buf, cap, "%.3f", (double)v);
    size_t n = strlen(buf);
    const char *dot = strchr(buf, '.');
    if (!dot)
        return;
    size_t keep = (size_t)(dot - buf) + 2; /* at least one decimal */
    while (n > keep && buf[n - 1] == '0')
        buf[--n] = 0;
}

static void format_value(const struct config *c, const struct key *k, char *buf, size_t cap)
{
    const char *p = (const char *)c + k->off;
    switch (k->kind) {
    case K_PATH:
    case K_STR:
    case K_IP:
        str_copy(buf, cap, p);
        break;
    case K_FLOAT: {
        float v;
        memcpy(&v, p, sizeof(v));
        format_float(buf, cap, v);
        break;
    }
    case K_U64: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        fmt_snprintf(buf, cap, "%llu", (unsigned long long)v);
        break;
    }
    case K_INT:
    case K_BOOL: {
        int v;
        memcpy(&v, p, sizeof(v));
        fmt_snprintf(buf, cap, "%d", v);
        break;
    }
    }
}

/* "; keeping 1.0" / "; keeping 'models/a.bin'": what stays in effect. */
static void format_keeping(const struct config *c, const struct key *k, char *buf, size_t cap)
{
    if (k->kind == K_PATH || k->kind == K_STR || k->kind == K_IP) {
        const char *p = (const char *)c + k->off;
        char e[ECHO_MAX + 4];
        echo(e, sizeof(e), p, strlen(p));
        fmt_snprintf(buf, cap, "keeping '%s'", e);
    } else {
        char v[48];
        format_value(c, k, v, sizeof(v));
        fmt_snprintf(buf, cap, "keeping %s", v);
    }
}

static int bool_word(const char *s, size_t n, int *ret)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        for (int v = 0; v < 2; v++) {
            const char *w = v ? yes[i] : no[i];
            size_t j = 0;
            while (j < n && w[j] && lower(s[j]) == w[j])
                j++;
            if (j == n && w[j] == 0) {
                *ret = v;
                return 0;
            }
        }
    }
    return ERR_FORMAT;
}

/* The single validator: key and value are spans (not NUL-terminated). */
static int set_span(struct config *c, const char *kname, size_t klen,
                    const char *v, size_t vlen, char *err, size_t errcap)
{
    char tmp[ECHO_MAX + 4], keeping[ECHO_MAX + 32], msg[160];
    const struct key *k = find_key(kname, klen);
    int rc = 0;

    msg[0] = 0;
    if (!k) {
        echo(tmp, sizeof(tmp), kname, klen);
        fmt_snprintf(msg, sizeof(msg), "unknown key '%s'; ignored", tmp);
        rc = ERR_NOT_FOUND;
        goto out;
    }
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
        v++;
        vlen -= 2;
    }
    char *field = (char *)c + k->off;
    echo(tmp, sizeof(tmp), v, vlen);
    if (vlen == 0 && k->kind != K_PATH && k->kind != K_STR && k->kind != K_IP) {
        fmt_snprintf(msg, sizeof(msg), "empty value");
        rc = ERR_FORMAT;
        goto fail;
    }
    switch (k->kind) {
    case K_PATH:
    case K_STR:
        if (vlen >= k->cap) {
            fmt_snprintf(msg, sizeof(msg), "value is %zu bytes, the limit is %zu", vlen, k->cap - 1);
            rc = ERR_RANGE;
        } else if (!utf8_is_text(v, vlen)) {
            fmt_snprintf(msg, sizeof(msg), "'%s' is not valid UTF-8 text (or has control characters)", tmp);
            rc = ERR_FORMAT;
        } else {
            memcpy(field, v, vlen);
            field[vlen] = 0;
            for (size_t i = 0; k->kind == K_PATH && i < vlen; i++)
                if (field[i] == '\\')
                    field[i] = '/'; /* paths typed on Windows */
        }
        break;
    case K_IP: { /* a dotted quad, or empty for "not set" */
        char ip[16];
        uint32_t addr;
        if (vlen >= sizeof ip || (vlen && (memcpy(ip, v, vlen), ip[vlen] = 0,
                                           net_parse_ip(ip, &addr) != 0))) {
            fmt_snprintf(msg, sizeof(msg), "'%s' is not an IPv4 address like 192.168.1.20", tmp);
            rc = ERR_FORMAT;
        } else {
            memcpy(field, v, vlen);
            field[vlen] = 0;
        }
        break;
    }
    case K_FLOAT: {
        char num[64];
        float f = 0;
        if (vlen < sizeof(num)) {
            memcpy(num, v, vlen);
            num[vlen] = 0;
            rc = parse_float(num, &f);
        } else {
            rc = ERR_FORMAT;
        }
        /* f != f: NaN; the bounds reject +-inf (parse_float gives neither
         * today, but this is the gate for untrusted text) */
        if (rc == ERR_FORMAT || (rc == 0 && f != f)) {
            fmt_snprintf(msg, sizeof(msg), "'%s' is not a number", tmp);
            rc = ERR_FORMAT;
        } else if (rc != 0 || f < k->fmin || f > k->fmax) {
            char lo[16], hi[16];
            format_float(lo, sizeof(lo), k->fmin);
            format_float(hi, sizeof(hi), k->fmax);
            fmt_snprintf(msg, sizeof(msg), "'%s' is outside %s..%s", tmp, lo, hi);
            rc = ERR_RANGE;
        } else {
            if (f == 0.0f)
                f = 0.0f; /* no -0 */
            memcpy(field, &f, sizeof(f));
        }
        break;
    }
    case K_U64:
    case K_INT: {
        uint64_t max = k->kind == K_U64 ? UINT64_MAX : (uint64_t)INT32_MAX, u = 0;
        rc = parse_uint(v, vlen, max, &u);
        if (rc == ERR_FORMAT) {
            fmt_snprintf(msg, sizeof(msg), "'%s' is not a whole number", tmp);
        } else if (rc == ERR_RANGE && v[0] == '-') {
            fmt_snprintf(msg, sizeof(msg), "'%s' must be >= 0", tmp);
        } else if (rc == ERR_RANGE) {
            fmt_snprintf(msg, sizeof(msg), "'%s' is too large (max %llu)", tmp, (unsigned long long)max);
        } else if (k->kind == K_U64) {
            memcpy(field, &u, sizeof(u));
        } else if (k->fmax > 0 && (u < (uint64_t)k->fmin || u > (uint64_t)k->fmax)) {
            fmt_snprintf(msg, sizeof(msg), "'%s' is outside %d..%d", tmp, (int)k->fmin,
                         (int)k->fmax);
            rc = ERR_RANGE;
        } else {
            int i = (int)u;
            memcpy(field, &i, sizeof(i));
        }
        break;
    }
    case K_BOOL: {
        int b = 0;
        rc = bool_word(v, vlen, &b);
        if (rc != 0)
            fmt_snprintf(msg, sizeof(msg), "'%s' must be 0 or 1", tmp);
        else
            memcpy(field, &b, sizeof(b));
        break;
    }
    }
    if (rc == 0) {
        c->set_mask |= k->bit;
        if (err && errcap)
            err[0] = 0;
        return 0;
    }
fail:
    format_keeping(c, k, keeping, sizeof(keeping));
out:
    if (err && errcap) {
        if (k)
            fmt_snprintf(err, errcap, "%s: %s; %s", k->name, msg, keeping);
        else
            str_copy(err, errcap, msg);
    }
    return rc;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errcap)
{
    return set_span(c, key, strlen(key), value, strlen(value), err, errcap);
}

int config_get(const struct config *c, const char *key, char *buf, size_t cap)
{
    const struct key *k = find_key(key, strlen(key));
    if (!k) {
        if (cap)
            buf[0] = 0;
        return ERR_NOT_FOUND;
    }
    format_value(c, k, buf, cap);
    return 0;
}

/* ---- the file ------------------------------------------------------------ */

struct parse_state {
    const char *name;
    void (*warn)(const char *msg, void *ctx);
    void *ctx;
    int problems;
};

static void problem(struct parse_state *ps, int line, const char *what)
{
    char msg[320];
    ps->problems++;
    if (ps->warn && ps->problems <= CONFIG_MAX_WARNINGS) {
        fmt_snprintf(msg, sizeof(msg), "%s:%d: %s", ps->name, line, what);
        ps->warn(msg, ps->ctx);
    }
}

static void parse_line(struct config *c, struct parse_state *ps, int line,
                       const char *s, size_t n)
{
    char msg[256], tmp[ECHO_MAX + 4];

    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0) {
            problem(ps, line, "line contains a NUL byte; ignored");
            return;
        }
    }
    span_trim(&s, &n);
    if (n == 0 || s[0] == '#')
        return;
    size_t eq = 0;
    while (eq < n && s[eq] != '=')
        eq++;
    if (eq == n) {
        echo(tmp, sizeof(tmp), s, n);
        fmt_snprintf(msg, sizeof(msg), "'%s' is not key=value; ignored", tmp);
        problem(ps, line, msg);
        return;
    }
    const char *k = s, *v = s + eq + 1;
    size_t klen = eq, vlen = n - eq - 1;
    span_trim(&k, &klen);
    span_trim(&v, &vlen);
    if (klen == 0) {
        problem(ps, line, "missing key before '='; ignored");
        return;
    }
    if (set_span(c, k, klen, v, vlen, msg, sizeof(msg)) != 0)
        problem(ps, line, msg);
}

static int parse_named(struct config *c, const char *name, const char *text, size_t len,
                       void (*warn)(const char *msg, void *ctx), void *ctx)
{
    struct parse_state ps = {name, warn, ctx, 0};
    struct line_reader lr;
    const char *s;
    size_t n;
    line_reader_init(&lr, text, len);
    while (line_reader_next(&lr, &s, &n))
        parse_line(c, &ps, lr.line, s, n); /* trailing '\r' is trimmed as space */
    if (warn && ps.problems > CONFIG_MAX_WARNINGS) {
        char msg[160];
        fmt_snprintf(msg, sizeof(msg), "%s: %d more problems not shown", name,
                     ps.problems - CONFIG_MAX_WARNINGS);
        warn(msg, ctx);
    }
    return ps.problems;
}

int config_parse(struct config *c, const char *text, size_t len,
                 void (*warn)(const char *msg, void *ctx), void *ctx)
{
    return parse_named(c, "llm.cfg", text, len, warn, ctx);
}

static void load_fail(const char *path, const char *why, int rc,
                      void (*warn)(const char *msg, void *ctx), void *ctx)
{
    char msg[320];
    if (!warn)
        return;
    fmt_snprintf(msg, sizeof(msg), "%s: %s: %s; ignored", path, why, err_str(rc));
    warn(msg, ctx);
}

int config_load(struct config *c, const char *path,
                void (*warn)(const char *msg, void *ctx), void *ctx)
{
    plat_file *f = NULL;
    uint64_t size = 0;
    char *buf = NULL;
    size_t total = 0;
    int rc;

    if ((rc = plat_file_open(path, &f)) != 0) {
        if (rc != ERR_NOT_FOUND)
            load_fail(path, "cannot open", rc, warn, ctx);
        return rc;
    }
    if ((rc = plat_file_size(f, &size)) != 0) {
        load_fail(path, "cannot get the size", rc, warn, ctx);
        goto err_size;
    }
    if (size > CONFIG_FILE_MAX) {
        if (warn) {
            char msg[320];
            fmt_snprintf(msg, sizeof(msg), "%s: file is %llu bytes, over the %d KiB limit; ignored",
                         path, (unsigned long long)size, CONFIG_FILE_MAX / 1024);
            warn(msg, ctx);
        }
        rc = ERR_RANGE;
        goto err_size;
    }
    if (size > 0) {
        if (!(buf = plat_alloc((size_t)size))) {
            rc = ERR_NOMEM;
            load_fail(path, "cannot read", rc, warn, ctx);
            goto err_size;
        }
        while (total < size) {
            size_t got = 0;
            if ((rc = plat_file_read(f, buf + total, (size_t)size - total, &got)) != 0) {
                load_fail(path, "cannot read", rc, warn, ctx);
                goto err_read;
            }
            if (got == 0)
                break; /* shrank since plat_file_size: parse what we have */
            total += got;
        }
    }
    plat_file_close(f);
    rc = parse_named(c, path, buf ? buf : "", total, warn, ctx);
    if (buf)
        plat_free(buf, (size_t)size);
    return rc;

err_read:
    plat_free(buf, (size_t)size);
err_size:
    plat_file_close(f);
    return rc;
}

void config_apply(struct config *dst, const struct config *src)
{
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        const struct key *k = &keys[i];
        if (!(src->set_mask & k->bit))
            continue;
        size_t bytes = k->cap ? k->cap
                     : k->kind == K_U64 ? sizeof(uint64_t)
                     : k->kind == K_FLOAT ? sizeof(float) : sizeof(int);
        memcpy((char *)dst + k->off, (const char *)src + k->off, bytes);
        dst->set_mask |= k->bit;
    }
}
