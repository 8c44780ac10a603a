/* test_config.c - llm.cfg parsing and config_set validation. */
#include "testlib.h"

#include <unistd.h>

#include "config.h"
#include "errors.h"

struct warns {
    int n;
    char msg[32][400];
};

static void collect(const char *msg, void *ctx)
{
    struct warns *w = ctx;
    if (w->n < 32)
        snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
    w->n++;
}

/* Parses a copy of text in a buffer of exactly len bytes (no NUL after it),
 * so ASan catches any read past the end. */
static int parse(struct config *c, const char *text, size_t len, struct warns *w)
{
    char *buf = malloc(len ? len : 1);
    memcpy(buf, text, len);
    memset(w, 0, sizeof(*w));
    int rc = config_parse(c, buf, len, collect, w);
    free(buf);
    return rc;
}

static char *repeat(char ch, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    char *s = malloc(p + n + 1);
    memcpy(s, prefix, p);
    memset(s + p, ch, n);
    s[p + n] = 0;
    return s;
}

TEST(config_defaults)
{
    struct config c;
    char v[64];
    memset(&c, 0x5a, sizeof(c));
    config_defaults(&c);
    CHECK_STR(c.model, "");
    CHECK_STR(c.tokenizer, "");
    CHECK_STR(c.prompt, "");
    CHECK(c.temperature == 1.0f);
    CHECK(c.topp == 0.9f);
    CHECK(c.seed == 0);
    CHECK_INT(c.steps, 256);
    CHECK_INT(c.autodemo, 10);
    CHECK_INT(c.demo_delay, 3);
    CHECK_INT(c.shutdown, 0);
    CHECK_INT(c.set_mask, 0);
    CHECK_INT(config_get(&c, "temperature", v, sizeof(v)), 0);
    CHECK_STR(v, "1.0");
    CHECK_INT(config_get(&c, "topp", v, sizeof(v)), 0);
    CHECK_STR(v, "0.9");
    CHECK_INT(config_key_count(), 27);
    CHECK_STR(config_key_name(13), "cot");
    CHECK_STR(config_key_name(14), "threads");
    CHECK_STR(config_key_name(0), "model");
    CHECK_STR(config_key_name(15), "isa");
    CHECK_STR(config_key_name(16), "bench");
    CHECK_STR(config_key_name(17), "compress");
    CHECK_STR(config_key_name(18), "net");
    CHECK_STR(config_key_name(25), "api_open");
    CHECK_STR(config_key_name(26), "remote_key");
    CHECK(config_key_name(27) == NULL);
    CHECK(config_key_name(-1) == NULL);
    CHECK_STR(c.net, "auto");
    CHECK_INT(c.port, 8080);
    CHECK_STR(c.ip, "");
}

/* The network keys: addresses are dotted quads (or empty), the port 1..65535. */
TEST(config_network_keys)
{
    struct config c;
    char err[160];
    config_defaults(&c);
    CHECK_INT(config_set(&c, "ip", "192.168.1.20", err, sizeof err), 0);
    CHECK_STR(c.ip, "192.168.1.20");
    CHECK_INT(config_set(&c, "gateway", "192.168.1.256", err, sizeof err), ERR_FORMAT);
    CHECK(strstr(err, "not an IPv4 address") != NULL);
    CHECK_INT(config_set(&c, "dns", "1.2.3", err, sizeof err), ERR_FORMAT);
    CHECK_INT(config_set(&c, "netmask", "", err, sizeof err), 0);
    CHECK_INT(config_set(&c, "port", "0", err, sizeof err), ERR_RANGE);
    CHECK_INT(config_set(&c, "port", "65536", err, sizeof err), ERR_RANGE);
    CHECK(strstr(err, "outside 1..65535") != NULL);
    CHECK_INT(config_set(&c, "port", "8081", err, sizeof err), 0);
    CHECK_INT(c.port, 8081);
    CHECK_INT(config_set(&c, "api_open", "yes", err, sizeof err), 0);
    CHECK_INT(c.api_open, 1);
    CHECK_INT(config_set(&c, "api_key", "s3cret", err, sizeof err), 0);
    CHECK_STR(c.api_key, "s3cret");
}

/* One line per case: the key's value afterwards (via config_get) and the
 * warning (exact text, NULL = none). */
static const struct line_case {
    const char *text;
    const char *key;
    const char *value;
    const char *warning;
} line_cases[] = {
    /* good values */
    {"model=models/stories15M.bin", "model", "models/stories15M.bin", NULL},
    {"model = models\\sub\\a.bin", "model", "models/sub/a.bin", NULL},
    {"model=", "model", "", NULL},
    {"tokenizer=tokenizer.bin", "tokenizer", "tokenizer.bin", NULL},
    {"temperature=0.5", "temperature", "0.5", NULL},
    {"temperature=0", "temperature", "0.0", NULL},
    {"temperature=-0", "temperature", "0.0", NULL},
    {"temperature = 1.25 ", "temperature", "1.25", NULL},
    {"temperature=1e-1", "temperature", "0.1", NULL},
    {"temperature=100", "temperature", "100.0", NULL},
    {"TEMPERATURE=0.3", "temperature", "0.3", NULL},
    {"topp=0", "topp", "0.0", NULL},
    {"topp=1", "topp", "1.0", NULL},
    {"\t Topp \t=\t 0.95\t", "topp", "0.95", NULL},
    {"topp=\"0.5\"", "topp", "0.5", NULL},
    {"seed=42", "seed", "42", NULL},
    {"seed=0", "seed", "0", NULL},
    {"seed=18446744073709551615", "seed", "18446744073709551615", NULL},
    {"steps=0", "steps", "0", NULL},
    {"steps=1024", "steps", "1024", NULL},
    {"steps=+7", "steps", "7", NULL},
    {"steps=2147483647", "steps", "2147483647", NULL},
    {"autodemo=0", "autodemo", "0", NULL},
    {"AutoDemo=30", "autodemo", "30", NULL},
    {"demo_delay=0", "demo_delay", "0", NULL},
    {"demo_delay=7", "demo_delay", "7", NULL},
    {"prompt=Once upon a time", "prompt", "Once upon a time", NULL},
    {"prompt=Issue #5 # not a comment", "prompt", "Issue #5 # not a comment", NULL},
    {"prompt=\"  spaced  \"", "prompt", "  spaced  ", NULL},
    {"prompt=a=b", "prompt", "a=b", NULL},
    {"prompt=Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x90\xb6", "prompt", "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x90\xb6", NULL},
    {"shutdown=1", "shutdown", "1", NULL},
    {"shutdown=0", "shutdown", "0", NULL},
    {"shutdown=yes", "shutdown", "1", NULL},
    {"SHUTDOWN=Off", "shutdown", "0", NULL},
    {"shutdown=true", "shutdown", "1", NULL},

    /* bad values: the default stays and the warning names line and problem */
    {"temperature=abc", "temperature", "1.0",
     "llm.cfg:1: temperature: 'abc' is not a number; keeping 1.0"},
    {"temperature=-0.5", "temperature", "1.0",
     "llm.cfg:1: temperature: '-0.5' is outside 0.0..100.0; keeping 1.0"},
    {"temperature=1e50", "temperature", "1.0",
     "llm.cfg:1: temperature: '1e50' is outside 0.0..100.0; keeping 1.0"},
    {"temperature=100.5", "temperature", "1.0",
     "llm.cfg:1: temperature: '100.5' is outside 0.0..100.0; keeping 1.0"},
    {"temperature=", "temperature", "1.0", "llm.cfg:1: temperature: empty value; keeping 1.0"},
    {"temperature=0.5 # hot", "temperature", "1.0",
     "llm.cfg:1: temperature: '0.5 # hot' is not a number; keeping 1.0"},
    {"temperature=nan", "temperature", "1.0",
     "llm.cfg:1: temperature: 'nan' is not a number; keeping 1.0"},
    {"temperature=inf", "temperature", "1.0",
     "llm.cfg:1: temperature: 'inf' is not a number; keeping 1.0"},
    {"temperature=0,5", "temperature", "1.0",
     "llm.cfg:1: temperature: '0,5' is not a number; keeping 1.0"},
    {"topp=1.5", "topp", "0.9", "llm.cfg:1: topp: '1.5' is outside 0.0..1.0; keeping 0.9"},
    {"topp=-0.1", "topp", "0.9", "llm.cfg:1: topp: '-0.1' is outside 0.0..1.0; keeping 0.9"},
    {"topp=high", "topp", "0.9", "llm.cfg:1: topp: 'high' is not a number; keeping 0.9"},
    {"seed=-1", "seed", "0", "llm.cfg:1: seed: '-1' must be >= 0; keeping 0"},
    {"seed=18446744073709551616", "seed", "0",
     "llm.cfg:1: seed: '18446744073709551616' is too large (max 18446744073709551615); keeping 0"},
    {"seed=12abc", "seed", "0", "llm.cfg:1: seed: '12abc' is not a whole number; keeping 0"},
    {"seed=0x10", "seed", "0", "llm.cfg:1: seed: '0x10' is not a whole number; keeping 0"},
    {"seed=", "seed", "0", "llm.cfg:1: seed: empty value; keeping 0"},
    {"steps=-5", "steps", "256", "llm.cfg:1: steps: '-5' must be >= 0; keeping 256"},
    {"steps=2147483648", "steps", "256",
     "llm.cfg:1: steps: '2147483648' is too large (max 2147483647); keeping 256"},
    {"steps=1.5", "steps", "256", "llm.cfg:1: steps: '1.5' is not a whole number; keeping 256"},
    {"steps=+", "steps", "256", "llm.cfg:1: steps: '+' is not a whole number; keeping 256"},
    {"autodemo=-1", "autodemo", "10", "llm.cfg:1: autodemo: '-1' must be >= 0; keeping 10"},
    {"autodemo=ten", "autodemo", "10",
     "llm.cfg:1: autodemo: 'ten' is not a whole number; keeping 10"},
    {"demo_delay=-3", "demo_delay", "3", "llm.cfg:1: demo_delay: '-3' must be >= 0; keeping 3"},
    {"demo_delay=1e3", "demo_delay", "3",
     "llm.cfg:1: demo_delay: '1e3' is not a whole number; keeping 3"},
    {"shutdown=2", "shutdown", "0", "llm.cfg:1: shutdown: '2' must be 0 or 1; keeping 0"},
    {"shutdown=", "shutdown", "0", "llm.cfg:1: shutdown: empty value; keeping 0"},
    {"prompt=bad\xff", "prompt", "",
     "llm.cfg:1: prompt: 'bad?' is not valid UTF-8 text (or has control characters); keeping ''"},
    {"prompt=over\xc0\xaflong", "prompt", "",
     "llm.cfg:1: prompt: 'over??long' is not valid UTF-8 text (or has control characters); keeping ''"},
    {"prompt=x\xe0\x80\xafy", "prompt", "",
     "llm.cfg:1: prompt: 'x???y' is not valid UTF-8 text (or has control characters); keeping ''"},
    {"prompt=\xf4\x90\x80\x80", "prompt", "",
     "llm.cfg:1: prompt: '???\?' is not valid UTF-8 text (or has control characters); keeping ''"},
    {"prompt=\xe2\x98", "prompt", "",
     "llm.cfg:1: prompt: '?\?' is not valid UTF-8 text (or has control characters); keeping ''"},
    {"prompt=a\x01z", "prompt", "",
     "llm.cfg:1: prompt: 'a?z' is not valid UTF-8 text (or has control characters); keeping ''"},
    {"model=\xed\xa0\x80.bin", "model", "",
     "llm.cfg:1: model: '???.bin' is not valid UTF-8 text (or has control characters); keeping ''"},
    /* line-level problems */
    {"colour=blue", "model", "", "llm.cfg:1: unknown key 'colour'; ignored"},
    {"just some words", "model", "", "llm.cfg:1: 'just some words' is not key=value; ignored"},
    {"=5", "model", "", "llm.cfg:1: missing key before '='; ignored"},
    {"  = 5", "model", "", "llm.cfg:1: missing key before '='; ignored"},
    {"model models/a.bin", "model", "", "llm.cfg:1: 'model models/a.bin' is not key=value; ignored"},
    /* comments and blanks */
    {"# temperature=0.1", "temperature", "1.0", NULL},
    {"   #model=x", "model", "", NULL},
    {"", "model", "", NULL},
    {"   \t  ", "model", "", NULL},
};

TEST(config_lines)
{
    for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
        const struct line_case *t = &line_cases[i];
        struct config c;
        struct warns w;
        char v[1100];
        config_defaults(&c);
        int n = parse(&c, t->text, strlen(t->text), &w);
        CHECK_MSG(n == (t->warning ? 1 : 0), "case %zu '%s': %d problems", i, t->text, n);
        CHECK_INT(w.n, n);
        if (t->warning && w.n >= 1)
            CHECK_MSG(strcmp(w.msg[0], t->warning) == 0, "case %zu: got \"%s\"", i, w.msg[0]);
        CHECK_INT(config_get(&c, t->key, v, sizeof(v)), 0);
        CHECK_MSG(strcmp(v, t->value) == 0, "case %zu '%s': %s = \"%s\"", i, t->text, t->key, v);
        if (!t->warning && strchr(t->text, '=') && t->text[strspn(t->text, " \t")] != '#')
            CHECK_MSG(c.set_mask != 0, "case %zu: set_mask", i);
        if (t->warning)
            CHECK_MSG(c.set_mask == 0, "case %zu: set_mask %x", i, c.set_mask);
    }
}

TEST(config_whole_file_crlf)
{
    static const char text[] =
        "\xef\xbb\xbf# llm.cfg for the kiosk\r\n"
        "\r\n"
        "model = models/stories110M.bin\r\n"
        "tokenizer = tokenizer.bin\r\n"
        "temperature = 0.7\r\n"
        "topp = 0.8\r\n"
        "seed = 1234\r\n"
        "steps = 300\r\n"
        "autodemo = 5\r\n"
        "demo_delay = 2\r\n"
        "prompt = Once upon a time\r\n"
        "shutdown = 1"; /* no newline at the end */
    struct config c;
    struct warns w;
    config_defaults(&c);
    CHECK_INT(parse(&c, text, sizeof(text) - 1, &w), 0);
    CHECK_INT(w.n, 0);
    CHECK_STR(c.model, "models/stories110M.bin");
    CHECK_STR(c.tokenizer, "tokenizer.bin");
    CHECK(c.temperature == 0.7f);
    CHECK(c.topp == 0.8f);
    CHECK(c.seed == 1234);
    CHECK_INT(c.steps, 300);
    CHECK_INT(c.autodemo, 5);
    CHECK_INT(c.demo_delay, 2);
    CHECK_STR(c.prompt, "Once upon a time");
    CHECK_INT(c.shutdown, 1);
    CHECK_INT(c.set_mask, 0x3ff);
}

TEST(config_line_numbers)
{
    static const char text[] =
        "# settings\n"           /* 1 */
        "\n"                     /* 2 */
        "model=a.bin\r\n"        /* 3 */
        "colour=blue\n"          /* 4 */
        "   # indented comment\n" /* 5 */
        "steps 12\n"             /* 6 */
        "temperature=abc\n"      /* 7 */
        "topp=0.5\n";            /* 8 */
    struct config c;
    struct warns w;
    config_defaults(&c);
    CHECK_INT(parse(&c, text, sizeof(text) - 1, &w), 3);
    CHECK_INT(w.n, 3);
    CHECK_STR(w.msg[0], "llm.cfg:4: unknown key 'colour'; ignored");
    CHECK_STR(w.msg[1], "llm.cfg:6: 'steps 12' is not key=value; ignored");
    CHECK_STR(w.msg[2], "llm.cfg:7: temperature: 'abc' is not a number; keeping 1.0");
    CHECK_STR(c.model, "a.bin");
    CHECK(c.topp == 0.5f);
    CHECK_INT(c.set_mask, CONFIG_SET_MODEL | CONFIG_SET_TOPP);
}

TEST(config_repeated_keys)
{
    static const char text[] = "temperature=0.5\ntemperature=x\nsteps=1\nsteps=2\n";
    struct config c;
    struct warns w;
    config_defaults(&c);
    CHECK_INT(parse(&c, text, sizeof(text) - 1, &w), 1);
    /* a bad value keeps the earlier good one, and says so */
    CHECK_STR(w.msg[0], "llm.cfg:2: temperature: 'x' is not a number; keeping 0.5");
    CHECK(c.temperature == 0.5f);
    CHECK_INT(c.steps, 2);
}

TEST(config_long_values)
{
    struct config c;
    struct warns w;
    char *model = repeat('m', 300, "model=");
    char *model_max = repeat('m', 255, "model=");
    char *prompt = repeat('p', 2000, "prompt=");
    char *prompt_max = repeat('p', 1023, "prompt=");
    char *junk = repeat('x', 100000, ""); /* one 100 KB line without '=' */
    char *key = repeat('k', 5000, "");
    key[4000] = '=';

    config_defaults(&c);
    CHECK_INT(parse(&c, model, strlen(model), &w), 1);
    CHECK_STR(w.msg[0], "llm.cfg:1: model: value is 300 bytes, the limit is 255; keeping ''");
    CHECK_STR(c.model, "");
    char *model_256 = repeat('m', 256, "model=");
    CHECK_INT(parse(&c, model_256, strlen(model_256), &w), 1);
    CHECK_STR(w.msg[0], "llm.cfg:1: model: value is 256 bytes, the limit is 255; keeping ''");
    free(model_256);
    CHECK_INT(parse(&c, model_max, strlen(model_max), &w), 0);
    CHECK_INT(strlen(c.model), 255);
    /* too long after a good value: the good one stays, not a truncation */
    CHECK_INT(parse(&c, model, strlen(model), &w), 1);
    CHECK_INT(strlen(c.model), 255);
    CHECK(strstr(w.msg[0], "keeping 'mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm...'") != NULL);

    CHECK_INT(parse(&c, prompt, strlen(prompt), &w), 1);
    CHECK_STR(w.msg[0], "llm.cfg:1: prompt: value is 2000 bytes, the limit is 1023; keeping ''");
    char *prompt_1024 = repeat('p', 1024, "prompt=");
    CHECK_INT(parse(&c, prompt_1024, strlen(prompt_1024), &w), 1);
    CHECK_STR(w.msg[0], "llm.cfg:1: prompt: value is 1024 bytes, the limit is 1023; keeping ''");
    free(prompt_1024);
    CHECK_INT(parse(&c, prompt_max, strlen(prompt_max), &w), 0);
    CHECK_INT(strlen(c.prompt), 1023);

    CHECK_INT(parse(&c, junk, strlen(junk), &w), 1);
    CHECK_MSG(strlen(w.msg[0]) < 100, "%s", w.msg[0]);
    CHECK(strstr(w.msg[0], "llm.cfg:1: 'xxxx") == w.msg[0]);
    CHECK(strstr(w.msg[0], "...' is not key=value; ignored") != NULL);

    CHECK_INT(parse(&c, key, strlen(key), &w), 1);
    CHECK(strstr(w.msg[0], "llm.cfg:1: unknown key 'kkkk") == w.msg[0]);
    CHECK_MSG(strlen(w.msg[0]) < 100, "%s", w.msg[0]);
    free(model);
    free(model_max);
    free(prompt);
    free(prompt_max);
    free(junk);
    free(key);
}

TEST(config_nul_and_junk_lines)
{
    static const char text[] = "steps=1\0 2\nseed=5\n\x80\xff\xfe=\x01\n\x1b[2J\n";
    struct config c;
    struct warns w;
    config_defaults(&c);
    CHECK_INT(parse(&c, text, sizeof(text) - 1, &w), 3);
    CHECK_STR(w.msg[0], "llm.cfg:1: line contains a NUL byte; ignored");
    CHECK_STR(w.msg[1], "llm.cfg:3: unknown key '??\?'; ignored");
    CHECK_STR(w.msg[2], "llm.cfg:4: '?[2J' is not key=value; ignored");
    CHECK_INT(c.steps, 256);
    CHECK(c.seed == 5);
}

TEST(config_warning_cap)
{
    char text[4096];
    size_t n = 0;
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "bad line %d\n", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "steps=9\n");
    struct config c;
    struct warns w;
    config_defaults(&c);
    CHECK_INT(parse(&c, text, n, &w), 30);
    CHECK_INT(w.n, CONFIG_MAX_WARNINGS + 1);
    CHECK_STR(w.msg[0], "llm.cfg:1: 'bad line 0' is not key=value; ignored");
    CHECK_STR(w.msg[CONFIG_MAX_WARNINGS - 1], "llm.cfg:20: 'bad line 19' is not key=value; ignored");
    CHECK_STR(w.msg[CONFIG_MAX_WARNINGS], "llm.cfg: 10 more problems not shown");
    CHECK_INT(c.steps, 9); /* lines after the cap are still applied */
}

TEST(config_empty_and_null_warn)
{
    struct config c;
    struct warns w;
    config_defaults(&c);
    CHECK_INT(parse(&c, "", 0, &w), 0);
    CHECK_INT(parse(&c, "\n\r\n\n", 4, &w), 0);
    CHECK_INT(parse(&c, "\xef\xbb\xbf", 3, &w), 0);
    CHECK_INT(config_parse(&c, "x\ny\n", 4, NULL, NULL), 2);
    CHECK_INT(c.set_mask, 0);
}

/* Random bytes, biased toward the characters the parser cares about and
 * real key names: no crash, no overread (ASan), and every field stays valid. */
TEST(config_garbage)
{
    static const char *frag[] = {"model", "prompt", "temperature", "topp", "seed", "steps",
                                 "shutdown", "=", "\n", "\r\n", "#", " ", "\"", "-", "1e9",
                                 "\xc3", "\xa9", "\0"};
    unsigned rng = 12345;
    char buf[4096];
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = 0, target;
        rng = rng * 1103515245u + 12345u;
        target = (rng >> 8) % sizeof(buf);
        while (n < target) {
            rng = rng * 1103515245u + 12345u;
            unsigned r = rng >> 8;
            if (r % 3 == 0) {
                const char *f = frag[(r / 3) % (sizeof(frag) / sizeof(frag[0]))];
                size_t fl = f[0] ? strlen(f) : 1;
                if (n + fl > target)
                    break;
                memcpy(buf + n, f, fl);
                n += fl;
            } else {
                buf[n++] = (char)(r >> 4);
            }
        }
        struct config c;
        struct warns w;
        config_defaults(&c);
        int p = parse(&c, buf, n, &w);
        CHECK(p >= 0);
        CHECK(w.n <= CONFIG_MAX_WARNINGS + 1);
        CHECK(memchr(c.model, 0, sizeof(c.model)) != NULL);
        CHECK(memchr(c.tokenizer, 0, sizeof(c.tokenizer)) != NULL);
        CHECK(memchr(c.prompt, 0, sizeof(c.prompt)) != NULL);
        CHECK(c.temperature >= 0 && c.temperature <= 100);
        CHECK(c.topp >= 0 && c.topp <= 1);
        CHECK(c.steps >= 0 && c.autodemo >= 0 && c.demo_delay >= 0);
        CHECK(c.shutdown == 0 || c.shutdown == 1);
        for (int i = 0; i < w.n && i < 32; i++)
            CHECK(strlen(w.msg[i]) < 200 && !strchr(w.msg[i], '\n'));
        if (test_failures)
            break;
    }
}

TEST(config_set_direct)
{
    struct config c;
    char err[200];
    config_defaults(&c);
    CHECK_INT(config_set(&c, "Temperature", "0.25", err, sizeof(err)), 0);
    CHECK_STR(err, "");
    CHECK(c.temperature == 0.25f);
    CHECK_INT(c.set_mask, CONFIG_SET_TEMPERATURE);
    CHECK_INT(config_set(&c, "temperature", "hot", err, sizeof(err)), ERR_FORMAT);
    CHECK_STR(err, "temperature: 'hot' is not a number; keeping 0.25");
    CHECK_INT(config_set(&c, "topp", "2", err, sizeof(err)), ERR_RANGE);
    CHECK_STR(err, "topp: '2' is outside 0.0..1.0; keeping 0.9");
    CHECK_INT(config_set(&c, "steps", "99999999999", err, sizeof(err)), ERR_RANGE);
    CHECK_INT(config_set(&c, "nosuch", "1", err, sizeof(err)), ERR_NOT_FOUND);
    CHECK_STR(err, "unknown key 'nosuch'; ignored");
    CHECK_INT(config_set(&c, "temp", "1", err, sizeof(err)), ERR_NOT_FOUND);
    CHECK_INT(config_set(&c, "temperaturex", "1", err, sizeof(err)), ERR_NOT_FOUND);
    CHECK_INT(config_set(&c, "", "1", err, sizeof(err)), ERR_NOT_FOUND);
    /* no error buffer, and a tiny one */
    CHECK_INT(config_set(&c, "seed", "x", NULL, 0), ERR_FORMAT);
    CHECK_INT(config_set(&c, "seed", "x", err, 8), ERR_FORMAT);
    CHECK_STR(err, "seed: '");
    CHECK_INT(config_set(&c, "seed", "7", err, 1), 0);
    CHECK(c.seed == 7);
    CHECK_INT(config_set(&c, "prompt", "\"\"", err, sizeof(err)), 0);
    CHECK_STR(c.prompt, "");
    CHECK_INT(config_set(&c, "prompt", "\"", err, sizeof(err)), 0); /* one quote is no pair */
    CHECK_STR(c.prompt, "\"");
    char v[8];
    CHECK_INT(config_get(&c, "nosuch", v, sizeof(v)), ERR_NOT_FOUND);
    CHECK_STR(v, "");
    CHECK_INT(config_set(&c, "model", "models/long-name.bin", err, sizeof(err)), 0);
    CHECK_INT(config_get(&c, "model", v, sizeof(v)), 0); /* truncated, terminated */
    CHECK_STR(v, "models/");
}

TEST(config_load)
{
    char path[256];
    struct config c, before;
    struct warns w;
    snprintf(path, sizeof(path), "/tmp/llm_cfg_test_%d.cfg", (int)getpid());
    unlink(path);

    config_defaults(&c);
    memset(&w, 0, sizeof(w));
    CHECK_INT(config_load(&c, path, collect, &w), ERR_NOT_FOUND);
    CHECK_INT(w.n, 0);

    static const char text[] = "steps=64\r\ntopp=5\r\nprompt=The little dog\r\n";
    test_write_file(path, text, sizeof(text) - 1);
    CHECK_INT(config_load(&c, path, collect, &w), 1);
    CHECK_INT(w.n, 1);
    char expect[400];
    snprintf(expect, sizeof(expect), "%s:2: topp: '5' is outside 0.0..1.0; keeping 0.9", path);
    CHECK_STR(w.msg[0], expect);
    CHECK_INT(c.steps, 64);
    CHECK_STR(c.prompt, "The little dog");

    test_write_file(path, "", 0);
    memset(&w, 0, sizeof(w));
    before = c;
    CHECK_INT(config_load(&c, path, collect, &w), 0);
    CHECK_INT(w.n, 0);
    CHECK(memcmp(&before, &c, sizeof(c)) == 0);

    /* over the size limit: one warning, nothing applied */
    size_t big = CONFIG_FILE_MAX + 1;
    char *data = malloc(big);
    memset(data, '\n', big);
    memcpy(data, "steps=1\n", 8);
    test_write_file(path, data, big);
    memset(&w, 0, sizeof(w));
    CHECK_INT(config_load(&c, path, collect, &w), ERR_RANGE);
    CHECK_INT(w.n, 1);
    snprintf(expect, sizeof(expect), "%s: file is 65537 bytes, over the 64 KiB limit; ignored", path);
    CHECK_STR(w.msg[0], expect);
    CHECK(memcmp(&before, &c, sizeof(c)) == 0);

    /* exactly at the limit is fine */
    test_write_file(path, data, CONFIG_FILE_MAX);
    CHECK_INT(config_load(&c, path, collect, &w), 0);
    CHECK_INT(c.steps, 1);
    free(data);

    /* a directory is not a config file: a warning, not a crash */
    memset(&w, 0, sizeof(w));
    CHECK(config_load(&c, "/tmp", collect, &w) < 0);
    CHECK_INT(w.n, 1);
    unlink(path);
}
