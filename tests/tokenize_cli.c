/* tokenize_cli.c - the project's tokenizer as a command line tool, with the
 * same JSON shapes as tests/oracle/llama.mjs, for tests/host_tokenizer_oracle.sh:
 *
 *   tokenize_cli tokenize MODEL.gguf [--add-special] [--parse-special] --text S [--text S ...]
 *       -> [[ids of S1], [ids of S2], ...]   (tokenizer_encode_ex)
 *   tokenize_cli detokenize MODEL.gguf --ids "1 2 3" [--ids ...]
 *       -> ["hex of tokenizer_detokenize", ...] ["hex of the tokenizer_decode pieces", ...]
 *   tokenize_cli info MODEL.gguf
 *       -> {"bos":..,"eos":..,"eot":..,"add_bos":..,"add_eos":..,"n_vocab":..,"eog":[..]}
 *
 * Built by the script with the core sources (see there). Exit status 1 with
 * a message on stderr on any error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../gguf.h"
#include "../tokenizer.h"

static void die(const char *msg, const char *detail)
{
    fprintf(stderr, "tokenize_cli: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void put_hex(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++)
        printf("%02x", (unsigned char)s[i]);
    putchar('"');
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: tokenize_cli tokenize|detokenize|info MODEL.gguf [options]", NULL);
    const char *cmd = argv[1], *path = argv[2];
    struct gguf_file g;
    struct tokenizer t;
    char err[256];
    if (gguf_open(&g, path, err, sizeof err) != 0)
        die(path, err);
    if (tokenizer_init_gguf(&t, &g, err, sizeof err) != 0)
        die(path, err);
    gguf_close(&g);

    int flags = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--add-special"))
            flags |= TOK_ADD_SPECIAL;
        else if (!strcmp(argv[i], "--parse-special"))
            flags |= TOK_PARSE_SPECIAL;
    }
    if (!strcmp(cmd, "tokenize")) {
        int first = 1;
        putchar('[');
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--text") != 0)
                continue;
            if (++i >= argc)
                die("--text needs a value", NULL);
            const char *text = argv[i];
            int cap = tokenizer_max_tokens(&t, strlen(text)), n = 0;
            int *ids = malloc(sizeof(int) * (size_t)cap);
            int rc = tokenizer_encode_ex(&t, text, flags, ids, cap, &n);
            if (rc)
                die("tokenizer_encode_ex", err_str(rc));
            printf("%s[", first ? "" : ",");
            for (int k = 0; k < n; k++)
                printf("%s%d", k ? "," : "", ids[k]);
            putchar(']');
            first = 0;
            free(ids);
        }
        puts("]");
    } else if (!strcmp(cmd, "detokenize")) {
        int first = 1;
        putchar('[');
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--ids") != 0)
                continue;
            if (++i >= argc)
                die("--ids needs a value", NULL);
            int cap = 16, n = 0;
            int *ids = malloc(sizeof(int) * (size_t)cap);
            for (char *p = argv[i], *end;; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                    break;
                if (n == cap)
                    ids = realloc(ids, sizeof(int) * (size_t)(cap *= 2));
                ids[n++] = (int)v;
            }
            size_t len = 0, bcap = 64;
            char *buf = malloc(bcap);
            int rc;
            while ((rc = tokenizer_detokenize(&t, ids, n, buf, bcap, &len)) == ERR_RANGE)
                buf = realloc(buf, bcap = len + 1);
            if (rc)
                die("tokenizer_detokenize", err_str(rc));
            printf("%s[", first ? "" : ",");
            put_hex(buf, len);
            putchar(',');
            /* the streaming pieces, concatenated */
            size_t k = 0;
            char *pieces = malloc(len + 64 + (size_t)n * (t.max_piece_len + 8));
            for (int j = 0; j < n; j++) {
                const char *p = tokenizer_decode(&t, j ? ids[j - 1] : -1, ids[j]);
                memcpy(pieces + k, p, strlen(p));
                k += strlen(p);
            }
            put_hex(pieces, k);
            putchar(']');
            first = 0;
            free(pieces);
            free(buf);
            free(ids);
        }
        puts("]");
    } else if (!strcmp(cmd, "info")) {
        printf("{\"n_vocab\":%d,\"bos\":%d,\"eos\":%d,\"eot\":%d,\"eom\":%d,\"unk\":%d,"
               "\"add_bos\":%s,\"add_eos\":%s,\"eog\":[",
               t.vocab_size, t.bos_id, t.eos_id, t.eot_id, t.eom_id, t.unk_id,
               t.add_bos ? "true" : "false", t.add_eos ? "true" : "false");
        int first = 1;
        for (int id = 0; id < t.vocab_size; id++)
            if (tokenizer_is_eog(&t, id)) {
                printf("%s%d", first ? "" : ",", id);
                first = 0;
            }
        puts("]}");
    } else {
        die("unknown command", cmd);
    }
    tokenizer_free(&t);
    return 0;
}
