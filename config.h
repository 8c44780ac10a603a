/* config.h - settings from `llm.cfg` on the boot volume, and the one place
 * that validates setting values (the file parser and REPL commands share it).
 *
 * File format (untrusted input; nothing in it can crash the program):
 *   - one `key = value` per line; LF or CRLF endings; a UTF-8 BOM is skipped
 *   - spaces/tabs around keys and values are trimmed; keys are
 *     case-insensitive; a value may be wrapped in one pair of double quotes
 *     ("...") to keep surrounding spaces
 *   - `#` starts a comment only as the first non-blank character of a line.
 *     A `#` after a value belongs to the value, so `prompt=Issue #5` works;
 *     the price is that `temperature=0.5 # hot` is a bad number (warned).
 *   - blank lines are ignored; a repeated key: the last good value wins
 *   - problems (unknown key, bad value, line without '=', NUL byte) produce
 *     a one-line warning naming the file and line, and the previous value
 *     (normally the default) is kept. String values longer than their field
 *     are rejected with a warning, never truncated.
 *
 * Keys (defaults are llama2.c run.c's):
 *   model       path of the model file ("" = choose in the menu)
 *   tokenizer   path of the tokenizer  ("" = next to the model / default)
 *   temperature float >= 0             (1.0; 0 = greedy)
 *   topp        float in [0, 1]        (0.9)
 *   seed        unsigned 64-bit        (0 = from the clock)
 *   steps       int >= 0               (256; 0 = the model's context length)
 *   autodemo    int >= 0  seconds idle at the menu before the kiosk demo
 *                                      (10; 0 = never)
 *   demo_delay  int >= 0  seconds between demo prompts (3)
 *   prompt      string: non-interactive mode generates once for it ("")
 *   shutdown    0/1 (also yes/no, true/false, on/off): power off after the
 *               non-interactive prompt (0)
 *   threads     int >= 0  threads for the matrix kernels, the boot
 *               processor included (0 = all cores)
 *   isa         kernel table: auto (the best this CPU runs), generic, avx2,
 *               avx2vnni, avx512, avx512vnni (auto)
 *   bench       0/1: print the speed table (bench.c) for the models on the
 *               volume before the menu, or then power off with shutdown=1;
 *               prompt steps/2 tokens, decode steps (0)
 *   compress    lz4 or off: session exports over 4 KiB written as LZ4
 *               frames (NAME.lz4) (off; checked by app.c)
 *   net         auto, on or off: the network stack and HTTP API (auto: on
 *               when there is a network interface; on: also say when there
 *               is none) (auto; checked by app.c)
 *   ip, netmask, gateway, dns   static IPv4 setup ("" = DHCP, the default)
 *   port        1..65535: the HTTP API's TCP port (8080)
 *   api_key     bearer token the API requires ("" = none)
 *   api_open    0/1: serve the API without api_key (0: with neither, the
 *               API answers 401 and says how to open it)
 *   remote_key  bearer token sent to the server of /remote ("" = none);
 *               kept apart from api_key so our own key never leaves
 * Paths use '/' separators; '\' in model/tokenizer paths is turned into '/'.
 * String values must be valid UTF-8 without control characters.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_FILE_MAX (64 * 1024) /* bigger llm.cfg files are ignored */
/* After this many warnings the parser stops calling warn for each problem
 * and reports the rest as one summary line, so a binary file dropped in
 * place of llm.cfg cannot scroll the console for minutes. */
#define CONFIG_MAX_WARNINGS 20

struct config {
    char model[256];
    char tokenizer[256];
    float temperature;
    float topp;
    uint64_t seed;
    int steps;
    int autodemo;
    int demo_delay;
    char prompt[1024];
    int shutdown;
    char template_name[32]; /* chat template; "" = from the model */
    char system[1024];      /* system prompt for chat templates */
    char fewshot[256];      /* file of example exchanges shown before the chat */
    int cot;                /* chain of thought: 0 off, 1 in the question, 2 in the answer */
    int threads;            /* parallel_for threads; 0 = all cores */
    char isa[16];           /* kernel table name; "" or "auto" = best */
    int bench;              /* run the benchmark (bench_catalog) at boot */
    char compress[8];       /* "lz4" or "off" (session exports) */
    char net[8];            /* "auto", "on" or "off" (the network and HTTP API) */
    char ip[16], netmask[16], gateway[16], dns[16]; /* static IPv4 setup; "" = DHCP */
    int port;               /* HTTP API port */
    char api_key[128];      /* bearer token the API requires; "" = none */
    int api_open;           /* 1: serve the API without a key */
    char remote_key[128];   /* bearer token sent to a /remote server; "" = none */
    unsigned set_mask; /* CONFIG_SET_* bits of the keys given successfully */
};

enum {
    CONFIG_SET_MODEL = 1u << 0,
    CONFIG_SET_TOKENIZER = 1u << 1,
    CONFIG_SET_TEMPERATURE = 1u << 2,
    CONFIG_SET_TOPP = 1u << 3,
    CONFIG_SET_SEED = 1u << 4,
    CONFIG_SET_STEPS = 1u << 5,
    CONFIG_SET_AUTODEMO = 1u << 6,
    CONFIG_SET_DEMO_DELAY = 1u << 7,
    CONFIG_SET_PROMPT = 1u << 8,
    CONFIG_SET_SHUTDOWN = 1u << 9,
    CONFIG_SET_TEMPLATE = 1u << 10,
    CONFIG_SET_SYSTEM = 1u << 11,
    CONFIG_SET_FEWSHOT = 1u << 12,
    CONFIG_SET_COT = 1u << 13,
    CONFIG_SET_THREADS = 1u << 14,
    CONFIG_SET_ISA = 1u << 15,
    CONFIG_SET_BENCH = 1u << 16,
    CONFIG_SET_COMPRESS = 1u << 17,
    CONFIG_SET_NET = 1u << 18,
    CONFIG_SET_IP = 1u << 19,
    CONFIG_SET_NETMASK = 1u << 20,
    CONFIG_SET_GATEWAY = 1u << 21,
    CONFIG_SET_DNS = 1u << 22,
    CONFIG_SET_PORT = 1u << 23,
    CONFIG_SET_API_KEY = 1u << 24,
    CONFIG_SET_API_OPEN = 1u << 25,
    CONFIG_SET_REMOTE_KEY = 1u << 26
};

/* Fills c with the defaults above; set_mask = 0. */
void config_defaults(struct config *c);

/* Validates value for key (case-insensitive) and stores it in c, setting the
 * key's CONFIG_SET_* bit. value is used as given (no trimming) except that
 * one pair of surrounding double quotes is removed. On failure c is
 * unchanged and, if err != NULL && errcap > 0, err receives a one-line
 * message such as "temperature: 'abc' is not a number; keeping 1.0".
 * Returns 0, ERR_NOT_FOUND (unknown key), ERR_FORMAT (not a number, not
 * UTF-8 text) or ERR_RANGE (out of range, too long). */
int config_set(struct config *c, const char *key, const char *value,
               char *err, size_t errcap);

/* Formats the current value of key into buf (cap > 0; always terminated,
 * truncated if small), e.g. "0.9", "256", "models/a.bin".
 * Returns 0 or ERR_NOT_FOUND for an unknown key. */
int config_get(const struct config *c, const char *key, char *buf, size_t cap);

/* Copies into dst every setting that src has in its set_mask (for command
 * line options that override llm.cfg). */
void config_apply(struct config *dst, const struct config *src);

/* Name of the i-th key (0 <= i < config_key_count()), for help and listing. */
int config_key_count(void);
const char *config_key_name(int i);

/* Parses len bytes of text (caller-owned, need not be NUL-terminated) on top
 * of the current contents of c (call config_defaults first). warn (may be
 * NULL) gets one call per problem with a message like
 * "llm.cfg:7: temperature: 'abc' is not a number; keeping 1.0" (no trailing
 * newline; valid only during the call), up to CONFIG_MAX_WARNINGS, then one
 * "llm.cfg: N more problems not shown" line. Returns the number of problems. */
int config_parse(struct config *c, const char *text, size_t len,
                 void (*warn)(const char *msg, void *ctx), void *ctx);

/* Reads path with plat_file_* and parses it as above (messages are prefixed
 * with path). Returns the number of problems (>= 0) when the file was read,
 * ERR_NOT_FOUND without a warning if it does not exist, or another negative
 * ERR_* after reporting the reason through warn (file over CONFIG_FILE_MAX:
 * ERR_RANGE; read failure: ERR_IO/ERR_NOMEM); c is unchanged then. */
int config_load(struct config *c, const char *path,
                void (*warn)(const char *msg, void *ctx), void *ctx);

#endif
