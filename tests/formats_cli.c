/* formats_cli.c - the export writers and the JSON reader as a command line
 * tool for tests/host_formats.sh (built there with the core sources):
 *
 *   formats_cli write DIR   writes DIR/session.{txt,json,md,csv} for a sample
 *                           conversation with tricky texts, DIR/metadata.json,
 *                           and DIR/input.tsv: per turn the role and text
 *                           bytes as given (hex), time_s, tokens, tok/s
 *   formats_cli read FILE   parses FILE ({"items": [...]}) with json_parse and
 *                           prints each string item's bytes as hex, one a line
 *                           (non-strings: "type N"); on a parse error prints
 *                           the message and exits 2
 * Exit status 1 with a message on stderr on any other error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../export.h"
#include "../json.h"

static void die(const char *msg, const char *detail)
{
    fprintf(stderr, "formats_cli: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void put_hex(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", (unsigned char)s[i]);
}

static void save(const char *dir, const char *name, const char *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        die("cannot write", path);
}

static int cmd_write(const char *dir)
{
    static const char pat[] = "abc, \"def\"\n\t\xc3\xa9 ";
    static char long_text[20000];
    for (size_t i = 0; i + 1 < sizeof long_text; i++)
        long_text[i] = pat[i % (sizeof pat - 1)];
    const struct export_turn turns[] = {
        {"user", "Hello, \"world\"!", 1735787045, 5, 0},
        {"assistant", "Line one\nline two\r\nline three\rcr only\ttab", 1735787050, 40, 31.25},
        {"user", "emoji \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd, CJK \xe4\xb8\xad\xe6\x96\x87, "
                 "accents \xc3\xa9\xc3\xa0", 1735787100, 12, 0},
        {"assistant", "bad bytes: \xff\xfe | cut \xe2\x82 | overlong \xc0\xaf | surrogate \xed\xa0\x80 "
                      "| big \xf4\x90\x80\x80 | end \xc3", 1735787160, 30, 12.5},
        {"user", "controls: \x01\x02\x1b[31m \x7f \b\f end", 0, 3, 0},
        {"assistant", "", 1735787200, 0, 0},
        {"user", "  leading and trailing spaces  ", 1735787300, 6, 0},
        {"assistant", "\"\"\"quoted\"\"\" \\backslash\\ =SUM(A1) ,,,", 1735787400, 9, 1e-7},
        {"sys,tem \"x\"", "odd role", 1735787500, 1, 123456.789},
        {"assistant", long_text, 1735787600, 5000, 99.99},
        {"user", "# heading-like\n\n| a | b |\n---\n```code```", 1735787700, 8, 0},
    };
    int n = (int)(sizeof turns / sizeof turns[0]);
    const struct export_meta meta = {
        12, 1735787000, 1735787700, "stories15M.bin", "llama", "Q8_0", 0.8f, 0.9f,
        18446744073709551615ULL, "chatml \"v2\"", n, 1234, 5678, 25.3125, "llm-baremetal 0.1"};

    for (int f = 0; f < EXPORT_FORMATS; f++) {
        struct textbuf b;
        tb_init_grow(&b);
        int rc = export_write(&b, (enum export_format)f, &meta, turns, n);
        if (rc)
            die("export_write failed", err_str(rc));
        char name[32];
        snprintf(name, sizeof name, "session.%s", export_format_ext((enum export_format)f));
        save(dir, name, b.p, b.len);
        tb_free(&b);
    }
    struct textbuf b;
    struct json_writer w;
    tb_init_grow(&b);
    json_w_init(&w, &b, 1);
    export_meta_json(&w, &meta);
    if (json_w_finish(&w))
        die("metadata.json failed", NULL);
    save(dir, "metadata.json", b.p, b.len);
    tb_free(&b);

    char path[1024];
    snprintf(path, sizeof path, "%s/input.tsv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write", path);
    for (int i = 0; i < n; i++) {
        put_hex(f, turns[i].role, strlen(turns[i].role));
        fputc('\t', f);
        put_hex(f, turns[i].text, strlen(turns[i].text));
        fprintf(f, "\t%llu\t%d\t%.17g\n", (unsigned long long)turns[i].time_s, turns[i].tokens,
                turns[i].tok_per_s);
    }
    if (fclose(f) != 0)
        die("cannot write", path);
    return 0;
}

static int cmd_read(const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        die("cannot open", file);
    static char text[JSON_MAX_BYTES + 16];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    static struct json_tok tok[4096];
    struct json_doc d;
    if (json_parse(&d, "input.json", text, len, tok, 4096) != 0) {
        printf("%s\n", d.err);
        return 2;
    }
    int items = json_find(&d, 0, "items");
    if (json_type(&d, items) != JSON_ARRAY)
        die("no items array", file);
    static char buf[JSON_MAX_BYTES];
    for (int i = 0; i < json_len(&d, items); i++) {
        int v = json_at(&d, items, i);
        size_t n;
        if (json_string(&d, v, buf, sizeof buf, &n) == 0) {
            put_hex(stdout, buf, n);
            putchar('\n');
        } else {
            printf("type %d\n", json_type(&d, v));
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write") == 0)
        return cmd_write(argv[2]);
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return cmd_read(argv[2]);
    die("usage: formats_cli write DIR | read FILE", NULL);
    return 1;
}
