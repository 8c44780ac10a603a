/* test_json.c - the JSON writer/reader and text buffers (json.c), the
 * exports (export.c). */
#include "testlib.h"

#include "errors.h"
#include "export.h"
#include "json.h"
#include "platform_posix.h"

/* Writes one string value compactly and returns it (static buffer). */
static const char *escaped(const char *s, size_t n)
{
    static char out[256];
    struct textbuf b;
    struct json_writer w;
    tb_init(&b, out, sizeof out);
    json_w_init(&w, &b, 0);
    json_w_string_n(&w, s, n);
    CHECK_INT(json_w_finish(&w), 0);
    return out;
}

TEST(json_escapes)
{
    CHECK_STR(escaped("a\"b\\c/", 6), "\"a\\\"b\\\\c/\"");
    CHECK_STR(escaped("\b\f\n\r\t", 5), "\"\\b\\f\\n\\r\\t\"");
    CHECK_STR(escaped("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\x7f\"");
    CHECK_STR(escaped("x\0y", 3), "\"x\\u0000y\"");
    CHECK_STR(escaped("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
}

TEST(json_utf8_repair)
{
    /* every invalid byte becomes one U+FFFD */
    CHECK_STR(escaped("a\xff" "b", 3), "\"a\xef\xbf\xbd" "b\"");
    CHECK_STR(escaped("\xc3", 1), "\"\xef\xbf\xbd\"");                        /* cut short */
    CHECK_STR(escaped("\xe2\x82", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");        /* cut short */
    CHECK_STR(escaped("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");        /* overlong */
    CHECK_STR(escaped("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
    CHECK_STR(escaped("\xf4\x90\x80\x80", 4),
              "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");        /* > U+10FFFF */
    CHECK_STR(escaped("\xc3" "\"", 2), "\"\xef\xbf\xbd\\\"\"");
    char out[64];
    struct textbuf b;
    tb_init(&b, out, sizeof out);
    tb_put_utf8(&b, "ok\x80\xf0\x9f\x98\x80", 7);
    CHECK_STR(out, "ok\xef\xbf\xbd\xf0\x9f\x98\x80");
    CHECK_INT(utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
    CHECK_INT(utf8_seq_len("\xf0\x9f\x98", 3), 0);
    CHECK_INT(utf8_seq_len("", 0), 0);
}

static const char *compact_number(double v, int is_float)
{
    static char out[64];
    struct textbuf b;
    struct json_writer w;
    tb_init(&b, out, sizeof out);
    json_w_init(&w, &b, 0);
    if (is_float)
        json_w_float(&w, (float)v);
    else
        json_w_double(&w, v);
    CHECK_INT(json_w_finish(&w), 0);
    return out;
}

TEST(json_numbers_written)
{
    CHECK_STR(compact_number(0.8, 1), "0.8");
    CHECK_STR(compact_number(0.9, 1), "0.9");
    CHECK_STR(compact_number(0, 0), "0");
    CHECK_STR(compact_number(-2.5, 0), "-2.5");
    CHECK_STR(compact_number(25.3125, 0), "25.3125");
    CHECK_STR(compact_number(123456789, 0), "123456789");
    CHECK_STR(compact_number(1e20, 0), "1e20");
    CHECK_STR(compact_number(-1.5e-7, 0), "-1.5e-7");
    CHECK_STR(compact_number(0.001, 0), "0.001");
    CHECK_STR(compact_number(1.0 / 0.0, 0), "null");
    CHECK_STR(compact_number(-1.0 / 0.0, 0), "null");
    CHECK_STR(compact_number(0.0 / 0.0, 0), "null");
    /* every written number reads back close */
    double vals[] = {1e-300, 3.14159265358979, 1e300, -7e15, 0.000123, 999999.5, 1e-3};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        const char *s = compact_number(vals[i], 0);
        double back = strtod(s, NULL);
        CHECK_MSG(back / vals[i] > 1 - 1e-8 && back / vals[i] < 1 + 1e-8, "%g -> %s", vals[i], s);
    }
}

TEST(json_writer_shape)
{
    char out[512];
    struct textbuf b;
    struct json_writer w;
    tb_init(&b, out, sizeof out);
    json_w_init(&w, &b, 1);
    json_w_begin_object(&w);
    json_w_key(&w, "a");
    json_w_int(&w, -9223372036854775807LL - 1);
    json_w_key(&w, "b");
    json_w_begin_array(&w);
    json_w_bool(&w, 1);
    json_w_null(&w);
    json_w_begin_object(&w);
    json_w_end_object(&w);
    json_w_begin_array(&w);
    json_w_end_array(&w);
    json_w_end_array(&w);
    json_w_key(&w, "c");
    json_w_uint(&w, 18446744073709551615ULL);
    json_w_end_object(&w);
    CHECK_INT(json_w_finish(&w), 0);
    CHECK_STR(out, "{\n  \"a\": -9223372036854775808,\n  \"b\": [\n    true,\n    null,\n"
                   "    {},\n    []\n  ],\n  \"c\": 18446744073709551615\n}\n");

    tb_init(&b, out, sizeof out);
    json_w_init(&w, &b, 0);
    json_w_begin_object(&w);
    json_w_key(&w, "k");
    json_w_begin_array(&w);
    json_w_int(&w, 1);
    json_w_int(&w, 2);
    json_w_end_array(&w);
    json_w_key(&w, "s");
    json_w_string(&w, NULL);
    json_w_end_object(&w);
    CHECK_INT(json_w_finish(&w), 0);
    CHECK_STR(out, "{\"k\":[1,2],\"s\":null}");

    /* misuse is reported, not written through */
    json_w_init(&w, &b, 0);
    json_w_begin_object(&w);
    json_w_int(&w, 1); /* value without key */
    CHECK_INT(json_w_finish(&w), ERR_INVAL);
    json_w_init(&w, &b, 0);
    json_w_begin_array(&w);
    json_w_key(&w, "x");
    CHECK_INT(json_w_finish(&w), ERR_INVAL);
    json_w_init(&w, &b, 0);
    json_w_begin_array(&w);
    json_w_end_object(&w);
    CHECK_INT(json_w_finish(&w), ERR_INVAL);
    json_w_init(&w, &b, 0);
    json_w_begin_array(&w);
    CHECK_INT(json_w_finish(&w), ERR_INVAL); /* unclosed */
    json_w_init(&w, &b, 0);
    CHECK_INT(json_w_finish(&w), ERR_INVAL); /* nothing */
    json_w_init(&w, &b, 0);
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        json_w_begin_array(&w);
    CHECK_INT(json_w_finish(&w), ERR_INVAL);
}

TEST(json_textbuf)
{
    char small[8];
    struct textbuf b;
    tb_init(&b, small, sizeof small);
    tb_puts(&b, "abc");
    tb_printf(&b, "%d-%s", 42, "xyz");
    CHECK_STR(small, "abc42-x");
    CHECK_INT(b.need, 9);
    CHECK_INT(tb_status(&b), ERR_RANGE);
    tb_puts(&b, "more");
    CHECK_INT(b.need, 13);
    CHECK_STR(small, "abc42-x");

    /* a growing buffer takes long printf output and many small puts */
    size_t live = plat_posix_live_bytes();
    tb_init_grow(&b);
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (int i = 0; i < 10; i++)
        tb_printf(&b, "<%s>", big);
    for (int i = 0; i < 5000; i++)
        tb_puts(&b, "z");
    CHECK_INT(tb_status(&b), 0);
    CHECK_INT(b.len, 10 * 3001 + 5000);
    CHECK_INT(b.len, b.need);
    CHECK(b.p[0] == '<' && b.p[3000] == '>' && b.p[b.len - 1] == 'z' && b.p[b.len] == 0);
    tb_free(&b);
    CHECK_INT(plat_posix_live_bytes(), live);
}

#define NTOK 256

static int parse(struct json_doc *d, struct json_tok *tok, const char *text, size_t len)
{
    /* exact-size copy so ASan sees any read past the end */
    char *buf = malloc(len ? len : 1);
    memcpy(buf, text, len);
    int rc = json_parse(d, "metadata.json", buf, len, tok, NTOK);
    d->text = NULL; /* the copy goes away; only err/rc are checked after */
    free(buf);
    return rc;
}

struct bad_case {
    const char *text;
    int len; /* -1: strlen */
    const char *err;
};

TEST(json_malformed)
{
    static const struct bad_case cases[] = {
        {"", -1, "metadata.json: byte 0: no JSON value (empty file)"},
        {"   \n", -1, "metadata.json: byte 4: no JSON value (empty file)"},
        {"{", -1, "metadata.json: byte 1: unexpected end of input"},
        {"{\"a\"", -1, "metadata.json: byte 4: unexpected end of input"},
        {"{\"a\":", -1, "metadata.json: byte 5: unexpected end of input"},
        {"{\"a\":1", -1, "metadata.json: byte 6: unexpected end of input"},
        {"{\"a\":1,}", -1, "metadata.json: byte 7: expected a string key"},
        {"[1,]", -1, "metadata.json: byte 3: expected a value"},
        {"[1 2]", -1, "metadata.json: byte 3: expected ',' or ']'"},
        {"{\"a\":1 \"b\":2}", -1, "metadata.json: byte 7: expected ',' or '}'"},
        {"{\"a\" 1}", -1, "metadata.json: byte 5: expected ':'"},
        {"{a:1}", -1, "metadata.json: byte 1: expected a string key"},
        {"{'a':1}", -1, "metadata.json: byte 1: expected a string key"},
        {"{\"a\":1}x", -1, "metadata.json: byte 7: unexpected data after the value"},
        {"{} {}", -1, "metadata.json: byte 3: unexpected data after the value"},
        {"// c\n{}", -1, "metadata.json: byte 0: expected a value"},
        {"{\"a\":1/*c*/}", -1, "metadata.json: byte 6: expected ',' or '}'"},
        {"\"abc", -1, "metadata.json: byte 4: unexpected end of input"},
        {"\"a\\", -1, "metadata.json: byte 3: unexpected end of input"},
        {"\"a\\x\"", -1, "metadata.json: byte 2: invalid escape"},
        {"\"\\u12\"", -1, "metadata.json: byte 1: invalid \\u escape"},
        {"\"\\u12", -1, "metadata.json: byte 5: unexpected end of input"},
        {"\"\\ud83d\"", -1, "metadata.json: byte 1: lone surrogate \\ud83d"},
        {"\"\\ud83dx\\ude00\"", -1, "metadata.json: byte 1: lone surrogate \\ud83d"},
        {"\"\\ude00\"", -1, "metadata.json: byte 1: lone surrogate \\ude00"},
        {"\"\\ud83d\\u0041\"", -1, "metadata.json: byte 1: lone surrogate \\ud83d"},
        {"\"a\tb\"", -1, "metadata.json: byte 2: control character 0x09 in a string"},
        {"\"a\nb\"", -1, "metadata.json: byte 2: control character 0x0a in a string"},
        {"\"\xff\"", -1, "metadata.json: byte 1: invalid UTF-8 in a string"},
        {"\"\xc0\xaf\"", -1, "metadata.json: byte 1: invalid UTF-8 in a string"},
        {"\"\xed\xa0\x80\"", -1, "metadata.json: byte 1: invalid UTF-8 in a string"},
        {"\"\xe2\x82\"", -1, "metadata.json: byte 1: invalid UTF-8 in a string"},
        {"01", -1, "metadata.json: byte 0: invalid number"},
        {"-", -1, "metadata.json: byte 0: invalid number"},
        {"1.", -1, "metadata.json: byte 0: invalid number"},
        {".5", -1, "metadata.json: byte 0: expected a value"},
        {"+1", -1, "metadata.json: byte 0: expected a value"},
        {"1e", -1, "metadata.json: byte 0: invalid number"},
        {"1e+", -1, "metadata.json: byte 0: invalid number"},
        {"0x10", -1, "metadata.json: byte 0: invalid number"},
        {"1.2.3", -1, "metadata.json: byte 0: invalid number"},
        {"NaN", -1, "metadata.json: byte 0: expected a value"},
        {"Infinity", -1, "metadata.json: byte 0: expected a value"},
        {"-Infinity", -1, "metadata.json: byte 0: invalid number"},
        {"tru", -1, "metadata.json: byte 3: unexpected end of input"},
        {"trUe", -1, "metadata.json: byte 0: expected a value"},
        {"nul", -1, "metadata.json: byte 3: unexpected end of input"},
        {"True", -1, "metadata.json: byte 0: expected a value"},
        {"{\"a\":1,\"a\":2}", -1, "metadata.json: byte 7: duplicate key"},
        {"{\"a\":1,\"\\u0061\":2}", -1, "metadata.json: byte 7: duplicate key"},
        {"{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}", -1, "metadata.json: byte 10: duplicate key"},
        {"{\"a\":{\"b\":1,\"b\":1}}", -1, "metadata.json: byte 12: duplicate key"},
        {"\xef\xbb\xbf\xef\xbb\xbf{}", -1, "metadata.json: byte 3: expected a value"},
        {"\xef\xbb", -1, "metadata.json: byte 0: expected a value"},
        {"{}\0", 3, "metadata.json: byte 2: unexpected data after the value"},
        {"\0{}", 3, "metadata.json: byte 0: expected a value"},
        {"[\"a\"\f]", -1, "metadata.json: byte 4: expected ',' or ']'"},
    };
    struct json_tok tok[NTOK];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_doc d;
        const struct bad_case *c = &cases[i];
        size_t len = c->len < 0 ? strlen(c->text) : (size_t)c->len;
        int rc = parse(&d, tok, c->text, len);
        CHECK_MSG(rc == ERR_FORMAT, "case %zu: rc %d", i, rc);
        CHECK_MSG(strcmp(d.err, c->err) == 0, "case %zu: '%s' vs '%s'", i, d.err, c->err);
    }
}

TEST(json_limits)
{
    struct json_tok tok[NTOK];
    struct json_doc d;
    char text[300];
    /* depth: 32 levels parse, 33 do not */
    int k = 0;
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        text[k++] = '[';
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        text[k++] = ']';
    CHECK_INT(parse(&d, tok, text, (size_t)k), 0);
    k = 0;
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        text[k++] = '[';
    CHECK_INT(parse(&d, tok, text, (size_t)k), ERR_RANGE);
    CHECK_STR(d.err, "metadata.json: byte 32: nested deeper than 32 levels");
    /* deep nesting far past the limit (no stack exhaustion) */
    size_t deep_n = 100000;
    char *deep = malloc(deep_n);
    memset(deep, '[', deep_n);
    CHECK_INT(parse(&d, tok, deep, deep_n), ERR_RANGE);
    memset(deep, '{', deep_n);
    CHECK_INT(parse(&d, tok, deep, deep_n), ERR_FORMAT); /* '{' wants a key */
    free(deep);
    /* tokens: NTOK values parse, NTOK + 1 do not */
    char *arr = malloc(4 * NTOK);
    k = 0;
    arr[k++] = '[';
    for (int i = 0; i < NTOK - 1; i++)
        k += sprintf(arr + k, "%s0", i ? "," : "");
    arr[k++] = ']';
    CHECK_INT(parse(&d, tok, arr, (size_t)k), 0);
    arr[k - 1] = ',';
    arr[k++] = '1';
    arr[k++] = ']';
    CHECK_INT(parse(&d, tok, arr, (size_t)k), ERR_RANGE);
    CHECK_MSG(strstr(d.err, "more than 256 values") != NULL, "%s", d.err);
    free(arr);
    /* size */
    size_t huge_n = JSON_MAX_BYTES + 1;
    char *huge = malloc(huge_n);
    memset(huge, ' ', huge_n);
    huge[0] = '0';
    CHECK_INT(parse(&d, tok, huge, huge_n), ERR_RANGE);
    CHECK_STR(d.err, "metadata.json: byte 0: 1048577 bytes, more than the 1048576 allowed");
    CHECK_INT(parse(&d, tok, huge, huge_n - 1), 0);
    free(huge);
}

TEST(json_reader_values)
{
    static const char text[] =
        "\xef\xbb\xbf {\"s\": \"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\\u0000z\","
        " \"i\": -9223372036854775808, \"u\": 18446744073709551615, \"big\": 18446744073709551616,"
        " \"neg\": -1, \"f\": 0.25, \"e\": 1E-3, \"ff\": 1e39, \"long\": 0.00000000000000000000000000000000000000000000000000000000000000001,"
        " \"t\": true, \"no\": false, \"z\": null, \"arr\": [1, [2, 3], {\"k\": \"v\"}, \"x\"],"
        " \"obj\": {\"inner\": {\"deep\": 7}}, \"\": 5, \"r\": 1.5, \"minus0\": -0}\r\n";
    struct json_tok tok[NTOK];
    struct json_doc d;
    CHECK_INT(json_parse(&d, "m", text, sizeof text - 1, tok, NTOK), 0);
    CHECK_INT(json_type(&d, 0), JSON_OBJECT);
    char buf[64];
    size_t n = 0;
    CHECK_INT(json_string(&d, json_find(&d, 0, "s"), buf, sizeof buf, &n), 0);
    static const char want[] = "a\"b\\c/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z";
    CHECK_INT(n, sizeof want - 1);
    CHECK(memcmp(buf, want, sizeof want) == 0);
    char tiny[4] = "xyz";
    CHECK_INT(json_string(&d, json_find(&d, 0, "s"), tiny, sizeof tiny, NULL), ERR_RANGE);
    CHECK_STR(tiny, "xyz");
    int64_t i64 = 0;
    uint64_t u64 = 0;
    float f = 0;
    int bv = -1;
    CHECK_INT(json_int(&d, json_find(&d, 0, "i"), &i64), 0);
    CHECK(i64 == INT64_MIN);
    CHECK_INT(json_u64(&d, json_find(&d, 0, "u"), &u64), 0);
    CHECK(u64 == UINT64_MAX);
    CHECK_INT(json_int(&d, json_find(&d, 0, "u"), &i64), ERR_RANGE);
    CHECK_INT(json_u64(&d, json_find(&d, 0, "big"), &u64), ERR_RANGE);
    CHECK_INT(json_u64(&d, json_find(&d, 0, "neg"), &u64), ERR_RANGE);
    CHECK_INT(json_u64(&d, json_find(&d, 0, "minus0"), &u64), 0);
    CHECK(u64 == 0);
    CHECK_INT(json_int(&d, json_find(&d, 0, "f"), &i64), ERR_FORMAT);
    CHECK_INT(json_float(&d, json_find(&d, 0, "f"), &f), 0);
    CHECK(f == 0.25f);
    CHECK_INT(json_float(&d, json_find(&d, 0, "e"), &f), 0);
    CHECK(f == 0.001f);
    CHECK_INT(json_float(&d, json_find(&d, 0, "ff"), &f), ERR_RANGE);
    CHECK_INT(json_float(&d, json_find(&d, 0, "long"), &f), ERR_RANGE);
    CHECK_INT(json_float(&d, json_find(&d, 0, "i"), &f), 0);
    CHECK_INT(json_bool(&d, json_find(&d, 0, "t"), &bv), 0);
    CHECK_INT(bv, 1);
    CHECK_INT(json_bool(&d, json_find(&d, 0, "no"), &bv), 0);
    CHECK_INT(bv, 0);
    CHECK_INT(json_bool(&d, json_find(&d, 0, "z"), &bv), ERR_FORMAT);
    CHECK_INT(json_type(&d, json_find(&d, 0, "z")), JSON_NULL);
    CHECK_INT(json_string(&d, json_find(&d, 0, "t"), buf, sizeof buf, NULL), ERR_FORMAT);
    CHECK_INT(json_string(&d, json_find(&d, 0, "missing"), buf, sizeof buf, NULL), ERR_NOT_FOUND);
    CHECK_INT(json_int(&d, -1, &i64), ERR_NOT_FOUND);
    CHECK_INT(json_int(&d, json_find(&d, 0, ""), &i64), 0);
    CHECK_INT(i64, 5);
    int arr = json_find(&d, 0, "arr");
    CHECK_INT(json_len(&d, arr), 4);
    CHECK_INT(json_type(&d, json_at(&d, arr, 1)), JSON_ARRAY);
    CHECK_INT(json_len(&d, json_at(&d, arr, 1)), 2);
    CHECK_INT(json_int(&d, json_at(&d, json_at(&d, arr, 1), 1), &i64), 0);
    CHECK_INT(i64, 3);
    CHECK_INT(json_string(&d, json_find(&d, json_at(&d, arr, 2), "k"), buf, sizeof buf, NULL), 0);
    CHECK_STR(buf, "v");
    CHECK_INT(json_string(&d, json_at(&d, arr, 3), buf, sizeof buf, NULL), 0);
    CHECK_STR(buf, "x");
    CHECK_INT(json_at(&d, arr, 4), -1);
    CHECK_INT(json_at(&d, arr, -1), -1);
    CHECK_INT(json_at(&d, 0, 0), -1);
    CHECK_INT(json_find(&d, arr, "k"), -1);
    CHECK_INT(json_len(&d, json_find(&d, 0, "s")), -1);
    CHECK_INT(json_int(&d, json_find(&d, json_find(&d, json_find(&d, 0, "obj"), "inner"), "deep"), &i64), 0);
    CHECK_INT(i64, 7);
    /* keys after a nested value are still found (skip pointers) */
    CHECK_INT(json_float(&d, json_find(&d, 0, "r"), &f), 0);
    CHECK(f == 1.5f);
}

static const struct export_turn sample_turns[] = {
    {"user", "Hello, \"world\"\nsecond line\ttab \xf0\x9f\x98\x80 bad:\xff\xfe ctl:\x01\x1b end", 1735787045, 12, 0},
    {"assistant", "Once upon a time,\r\nthere was a \"cat\".", 1735787050, 42, 31.25},
    {"user", "", 0, 0, 0},
    {"assistant", "# not a heading\n\n| a | b |\n", 1735787100, 3, 2.5},
};

static const struct export_meta sample_meta = {
    7, 1735787000, 1735787100, "stories15M.bin", "llama", "Q8_0", 0.8f, 0.9f,
    18446744073709551615ULL, "chatml", 4, 12, 45, 30.5, "llm-baremetal 0.1"};

TEST(json_export_roundtrip)
{
    struct textbuf b;
    tb_init_grow(&b);
    CHECK_INT(export_write(&b, EXPORT_JSON, &sample_meta, sample_turns, 4), 0);
    static struct json_tok tok[1024];
    struct json_doc d;
    int rc = json_parse(&d, "export.json", b.p, b.len, tok, 1024);
    CHECK_MSG(rc == 0, "%s", d.err);
    if (rc) {
        tb_free(&b);
        return;
    }
    int meta = json_find(&d, 0, "metadata"), turns = json_find(&d, 0, "turns");
    char buf[256];
    int64_t v;
    uint64_t u;
    float f;
    CHECK_INT(json_int(&d, json_find(&d, meta, "session"), &v), 0);
    CHECK_INT(v, 7);
    CHECK_INT(json_string(&d, json_find(&d, json_find(&d, meta, "model"), "quantization"), buf,
                          sizeof buf, NULL), 0);
    CHECK_STR(buf, "Q8_0");
    int sampler = json_find(&d, meta, "sampler");
    CHECK_INT(json_float(&d, json_find(&d, sampler, "temperature"), &f), 0);
    CHECK(f == 0.8f);
    CHECK_INT(json_float(&d, json_find(&d, sampler, "topp"), &f), 0);
    CHECK(f == 0.9f);
    CHECK_INT(json_u64(&d, json_find(&d, sampler, "seed"), &u), 0);
    CHECK(u == UINT64_MAX);
    CHECK_INT(json_string(&d, json_find(&d, meta, "created"), buf, sizeof buf, NULL), 0);
    CHECK_STR(buf, "2025-01-02T03:03:20");
    CHECK_INT(json_len(&d, turns), 4);
    CHECK_INT(json_string(&d, json_find(&d, json_at(&d, turns, 0), "text"), buf, sizeof buf, NULL), 0);
    CHECK_STR(buf, "Hello, \"world\"\nsecond line\ttab \xf0\x9f\x98\x80 bad:\xef\xbf\xbd\xef\xbf\xbd ctl:\x01\x1b end");
    CHECK_INT(json_string(&d, json_find(&d, json_at(&d, turns, 1), "time"), buf, sizeof buf, NULL), 0);
    CHECK_STR(buf, "2025-01-02T03:04:10");
    CHECK_INT(json_type(&d, json_find(&d, json_at(&d, turns, 2), "time")), JSON_NULL);
    CHECK_INT(json_float(&d, json_find(&d, json_at(&d, turns, 1), "tok_per_s"), &f), 0);
    CHECK(f == 31.25f);
    tb_free(&b);

    /* a fixed buffer too small says so, and need is the exact size */
    char small[100];
    tb_init(&b, small, sizeof small);
    CHECK_INT(export_write(&b, EXPORT_CSV, &sample_meta, sample_turns, 4), ERR_RANGE);
    char *exact = malloc(b.need + 1);
    size_t need = b.need;
    tb_init(&b, exact, need + 1);
    CHECK_INT(export_write(&b, EXPORT_CSV, &sample_meta, sample_turns, 4), 0);
    CHECK_INT(b.len, need);
    free(exact);
}

TEST(json_export_formats)
{
    char out[4096];
    struct textbuf b;
    tb_init(&b, out, sizeof out);
    CHECK_INT(export_write(&b, EXPORT_CSV, &sample_meta, sample_turns, 2), 0);
    CHECK_STR(out, "index,role,time,tokens,tokens_per_s,text\r\n"
                   "1,user,2025-01-02T03:04:05,12,0.00,\"Hello, \"\"world\"\"\nsecond line\ttab "
                   "\xf0\x9f\x98\x80 bad:\xef\xbf\xbd\xef\xbf\xbd ctl:\x01\x1b end\"\r\n"
                   "2,assistant,2025-01-02T03:04:10,42,31.25,\"Once upon a time,\r\nthere was a "
                   "\"\"cat\"\".\"\r\n");
    tb_init(&b, out, sizeof out);
    CHECK_INT(export_write(&b, EXPORT_TXT, &sample_meta, sample_turns + 1, 1), 0);
    CHECK_STR(out, "Session 7\nModel: stories15M.bin (llama, Q8_0)\nCreated: 2025-01-02 03:03:20\n"
                   "Updated: 2025-01-02 03:05:00\n"
                   "Sampler: temperature 0.80, top-p 0.90, seed 18446744073709551615\n"
                   "Template: chatml\nTurns: 4; tokens 12 in, 45 out; 30.50 tok/s\n"
                   "App: llm-baremetal 0.1\n\n"
                   "[1] assistant, 2025-01-02 03:04:10, 42 tokens, 31.25 tok/s:\n"
                   "Once upon a time,\r\nthere was a \"cat\".\n");
    tb_init(&b, out, sizeof out);
    struct export_meta bare;
    memset(&bare, 0, sizeof bare);
    CHECK_INT(export_write(&b, EXPORT_MD, &bare, sample_turns + 2, 1), 0);
    CHECK_STR(out, "# Session 0\n\n- **Model:** ?\n"
                   "- **Sampler:** temperature 0.00, top-p 0.00, seed 0\n"
                   "- **Turns:** 0; tokens 0 in, 0 out; 0.00 tok/s\n\n"
                   "## 1. User\n\n*0 tokens*\n\n\n");
    enum export_format f;
    CHECK_INT(export_format_from_name("CSV", &f), 0);
    CHECK_INT(f, EXPORT_CSV);
    CHECK_INT(export_format_from_name("pdf", &f), ERR_NOT_FOUND);
    CHECK_STR(export_format_ext(EXPORT_MD), "md");
    CHECK_INT(export_write(&b, EXPORT_FORMATS, &bare, NULL, 0), ERR_INVAL);
    char t[24];
    export_time(t, sizeof t, 951782400, 'T'); /* leap day 2000 */
    CHECK_STR(t, "2000-02-29T00:00:00");
    export_time(t, sizeof t, 253402300799ULL, ' ');
    CHECK_STR(t, "9999-12-31 23:59:59");
    export_time(t, sizeof t, 253402300800ULL, ' ');
    CHECK_STR(t, "");
}
