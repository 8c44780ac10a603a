/* fuzz_json.c - libFuzzer target for the JSON reader and writer (json.c).
 *
 * Promises checked for every input:
 *  1. json_parse on an exact-size copy returns 0, ERR_FORMAT or ERR_RANGE;
 *     a failure has a one-line message "fuzz.json: byte N: ..." with
 *     N <= the input size.
 *  2. After success the tokens form a tree inside the input (next pointers,
 *     member counts), every string unescapes to valid UTF-8, and json_find
 *     finds every key (without NUL) at its own value (keys are unique).
 *  3. The document written back with json_writer (compact and pretty)
 *     parses again to the same shape and the same strings.
 *  4. The input bytes as one JSON string parse back to the input with each
 *     invalid UTF-8 byte replaced by U+FFFD (tb_put_utf8).
 * Any broken promise prints why and aborts, so libFuzzer saves the input.
 * Built and run by tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../json.h"
#include "../lib.h"

#include "fuzz_require.h"

#define NTOK 512

static char sbuf[8192], sbuf2[8192];

static void check_utf8(const char *s, size_t n, const char *what)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(s + i, n - i);
        REQUIRE(k > 0, "%s: invalid UTF-8 at %zu", what, i);
        i += k;
    }
}

/* Checks the subtree at v; returns the index after it. */
static int check_tree(const struct json_doc *d, int v)
{
    const struct json_tok *t = &d->tok[v];
    REQUIRE(t->start <= t->end && t->end <= d->len, "token %d span %u..%u", v, t->start, t->end);
    REQUIRE(t->type <= JSON_OBJECT, "token %d type %u", v, t->type);
    int next = v + 1;
    if (t->type == JSON_STRING) {
        size_t n;
        REQUIRE(json_string(d, v, sbuf, sizeof sbuf, &n) == 0, "string %d", v);
        check_utf8(sbuf, n, "string");
    } else if (t->type == JSON_ARRAY || t->type == JSON_OBJECT) {
        for (uint32_t i = 0; i < t->n; i++) {
            if (t->type == JSON_OBJECT) {
                REQUIRE(d->tok[next].type == JSON_STRING, "key %d not a string", next);
                int key = next;
                next = check_tree(d, key);
                size_t n;
                json_string(d, key, sbuf2, sizeof sbuf2, &n);
                if (strlen(sbuf2) == n)
                    REQUIRE(json_find(d, v, sbuf2) == next, "json_find(%s) misses", sbuf2);
            } else {
                REQUIRE(json_at(d, v, (int)i) == next, "json_at(%u)", i);
            }
            next = check_tree(d, next);
        }
        REQUIRE(json_len(d, v) == (int)t->n, "json_len");
    }
    REQUIRE(t->next == (uint32_t)next, "token %d next %u, subtree ends at %d", v, t->next, next);
    return next;
}

static void write_value(struct json_writer *w, const struct json_doc *d, int v)
{
    const struct json_tok *t = &d->tok[v];
    size_t n;
    switch (t->type) {
    case JSON_NULL: json_w_null(w); break;
    case JSON_TRUE: json_w_bool(w, 1); break;
    case JSON_FALSE: json_w_bool(w, 0); break;
    case JSON_STRING:
        json_string(d, v, sbuf, sizeof sbuf, &n);
        json_w_string_n(w, sbuf, n);
        break;
    case JSON_NUMBER: {
        int64_t i;
        uint64_t u;
        if (json_int(d, v, &i) == 0) {
            json_w_int(w, i);
        } else if (json_u64(d, v, &u) == 0) {
            json_w_uint(w, u);
        } else {
            char num[64];
            size_t len = t->end - t->start < sizeof num - 1 ? t->end - t->start : sizeof num - 1;
            memcpy(num, d->text + t->start, len);
            num[len] = 0;
            json_w_double(w, strtod(num, NULL));
        }
        break;
    }
    case JSON_ARRAY:
    case JSON_OBJECT: {
        int obj = t->type == JSON_OBJECT;
        obj ? json_w_begin_object(w) : json_w_begin_array(w);
        int c = v + 1;
        for (uint32_t i = 0; i < t->n; i++) {
            if (obj) {
                json_string(d, c, sbuf2, sizeof sbuf2, &n);
                /* keys with NUL cannot pass through json_w_key: rename */
                if (strlen(sbuf2) != n)
                    fmt_snprintf(sbuf2, sizeof sbuf2, "\x01nul key %u", i);
                json_w_key(w, sbuf2);
                c++;
            }
            write_value(w, d, c);
            c = (int)d->tok[c].next;
        }
        obj ? json_w_end_object(w) : json_w_end_array(w);
        break;
    }
    }
}

/* Same shape; numbers may turn into null (1e999) or change spelling. */
static void same_shape(const struct json_doc *a, const struct json_doc *b)
{
    REQUIRE(a->n_tok == b->n_tok, "%d tokens, then %d", a->n_tok, b->n_tok);
    for (int i = 0; i < a->n_tok; i++) {
        uint32_t ta = a->tok[i].type, tb = b->tok[i].type;
        REQUIRE(ta == tb || (ta == JSON_NUMBER && tb == JSON_NULL), "token %d type %u, then %u", i, ta, tb);
        REQUIRE(a->tok[i].n == b->tok[i].n && a->tok[i].next == b->tok[i].next, "token %d shape", i);
        if (ta != JSON_STRING)
            continue;
        size_t n1, n2;
        json_string(a, i, sbuf, sizeof sbuf, &n1);
        json_string(b, i, sbuf2, sizeof sbuf2, &n2);
        int nul_key = memchr(sbuf, 0, n1) && i > 0; /* renamed if a key */
        REQUIRE(nul_key || (n1 == n2 && memcmp(sbuf, sbuf2, n1) == 0), "string %d changed", i);
    }
}

static struct json_tok tok[NTOK], tok2[NTOK];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    struct json_doc d;
    int rc = json_parse(&d, "fuzz.json", text, size, tok, NTOK);
    if (rc) {
        REQUIRE(rc == ERR_FORMAT || rc == ERR_RANGE, "json_parse returned %d", rc);
        REQUIRE(strncmp(d.err, "fuzz.json: byte ", 16) == 0, "message '%s'", d.err);
        REQUIRE(d.err_offset <= size, "offset %zu past %zu", d.err_offset, size);
        REQUIRE(utf8_is_text(d.err, strlen(d.err)), "message not text: '%s'", d.err);
    } else {
        REQUIRE(d.n_tok >= 1 && check_tree(&d, 0) == d.n_tok, "tree does not cover the tokens");
        for (int pretty = 0; pretty < 2; pretty++) {
            struct textbuf b;
            struct json_writer w;
            tb_init_grow(&b);
            json_w_init(&w, &b, pretty);
            write_value(&w, &d, 0);
            REQUIRE(json_w_finish(&w) == 0, "writer failed");
            struct json_doc d2;
            int rc2 = json_parse(&d2, "again", b.p, b.len, tok2, NTOK);
            /* a NUL key renamed twice the same way could collide */
            REQUIRE(rc2 == 0 || strstr(d2.err, "duplicate key"), "written back: %s", d2.err);
            if (rc2 == 0)
                same_shape(&d, &d2);
            tb_free(&b);
        }
    }

    /* the raw bytes as a string */
    struct textbuf b, want;
    struct json_writer w;
    tb_init_grow(&b);
    tb_init_grow(&want);
    json_w_init(&w, &b, 0);
    json_w_string_n(&w, text, size);
    REQUIRE(json_w_finish(&w) == 0, "string writer failed");
    tb_put_utf8(&want, text, size);
    REQUIRE(json_parse(&d, "string", b.p, b.len, tok, NTOK) == 0, "string: %s", d.err);
    static char back[4 * 4096 + 16];
    size_t n;
    REQUIRE(json_string(&d, 0, back, sizeof back, &n) == 0, "string too long");
    REQUIRE(n == want.len && memcmp(back, want.p ? want.p : "", n) == 0, "string round trip");
    tb_free(&b);
    tb_free(&want);
    free(text);
    return 0;
}
