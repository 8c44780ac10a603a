/* fuzz_session.c - libFuzzer target for the readers of session files
 * (session.c): conversation.log and metadata.json read back from a volume.
 *
 * Promises checked for every input:
 *  1. session_log_parse never reads past the input, stops at its first zero
 *     byte (the unused end of a preallocated log), and hands out only
 *     records with a role and a valid UTF-8 text; valid + reported records
 *     never exceed the lines it saw.
 *  2. The input as session_001's metadata.json (both copies, or one copy
 *     next to a good twin): session_list and session_read_turns return an
 *     error or a count, never crash; with a good twin the session is always
 *     listed (a torn copy never hides a whole one).
 * Any broken promise prints why and aborts, so libFuzzer saves the input.
 * Built and run by tests/host_fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../errors.h"
#include "../json.h"
#include "../lib.h"
#include "../platform.h"
#include "../platform_posix.h"
#include "../session.h"
#include "../storage.h"

#include "fuzz_require.h"

static char root[256];

/* A whole metadata.json of session 1 with one turn. */
static const char good_meta[] =
    "{\"format\": \"llm-baremetal session\", \"version\": 1, \"session\": 1, "
    "\"created_s\": 1, \"updated_s\": 2, \"turn_count\": 1, "
    "\"model\": {\"file\": \"m.bin\", \"family\": \"llama\", \"quantization\": \"f32\"}, "
    "\"sampler\": {\"temperature\": 0, \"topp\": 0.9, \"seed\": 1}, \"template\": \"qa\", "
    "\"tokens_in\": 1, \"tokens_out\": 0, \"tok_per_s\": 0, \"app_version\": \"x\"}\n";

struct seen {
    int records, notes;
};

static void on_turn(const struct export_turn *t, void *ctx)
{
    struct seen *s = ctx;
    REQUIRE(t->role && t->role[0], "record without a role");
    size_t n = strlen(t->text);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(t->text + i, n - i);
        REQUIRE(k > 0, "invalid UTF-8 in a record's text at %zu", i);
        i += k;
    }
    s->records++;
}

static void on_note(const char *msg, void *ctx)
{
    struct seen *s = ctx;
    REQUIRE(msg && strlen(msg) < 300, "note too long");
    s->notes++;
}

static void write_raw(const char *name, const void *data, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/sessions/session_001/%s", root, name);
    FILE *f = fopen(p, "wb");
    REQUIRE(f != NULL, "cannot write %s", p);
    fwrite(data, 1, n, f);
    fclose(f);
}

/* The scratch volume goes at exit: its three files and two directories. */
static void remove_root(void)
{
    static const char *const files[] = {"metadata.json", "metadata.json.bak", "conversation.log"};
    char p[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/sessions/session_001/%s", root, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/sessions/session_001", root);
    rmdir(p);
    snprintf(p, sizeof p, "%s/sessions", root);
    rmdir(p);
    rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/fuzz_session.%d", tmp ? tmp : "/tmp", (int)getpid());
    char p[512];
    mkdir(root, 0700);
    snprintf(p, sizeof p, "%s/sessions", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/sessions/session_001", root);
    mkdir(p, 0700);
    plat_posix_set_root(root);
    atexit(remove_root);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1: the log reader on an exact-size copy (ASan catches over-reads) */
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    struct seen s = {0, 0};
    size_t lines = 0;
    for (size_t i = 0; i < size && data[i]; i++)
        lines += data[i] == '\n';
    int got = session_log_parse(copy, size, "fuzz.log", on_turn, &s, on_note, &s);
    REQUIRE(got >= 0 && got == s.records, "parse returned %d for %d records", got, s.records);
    REQUIRE((size_t)(s.records + s.notes) <= lines + 1, "%d records + %d notes > %zu lines",
            s.records, s.notes, lines + 1);
    free(copy);

    /* 2: the input as both metadata copies, then next to a whole twin */
    struct textbuf b;
    write_raw("metadata.json", data, size);
    write_raw("metadata.json.bak", data, size);
    write_raw("conversation.log", data, size);
    tb_init_grow(&b);
    int listed = session_list(&b);
    REQUIRE(listed == 0 || listed == 1, "session_list gave %d", listed);
    tb_free(&b);
    session_read_turns(1, NULL, NULL, NULL, NULL);

    write_raw("metadata.json.bak", good_meta, sizeof good_meta - 1);
    tb_init_grow(&b);
    listed = session_list(&b);
    REQUIRE(listed == 1, "a whole .bak is not listed (%d): %s", listed, b.p ? b.p : "");
    tb_free(&b);
    return 0;
}
