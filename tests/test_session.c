/* test_session.c - session.c in a temporary root: numbering across
 * "reboots" (a fresh struct each time) and around foreign entries, the log's
 * torn last record, a corrupt metadata.json skipped by the list and the
 * exports, exports read back (JSON by the strict reader, CSV by its header
 * and row count, LZ4 decoded), and a volume that takes no writes. */
#include "testlib.h"

#include "../errors.h"
#include "../json.h"
#include "../lz4.h"
#include "../platform.h"
#include "../platform_posix.h"
#include "../session.h"
#include "../storage.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root; /* the temporary volume root of the running test */

/* A file of the temp root as a NUL-terminated heap string (NULL: missing). */
static char *slurp(const char *name, size_t *ret_len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    buf[n] = 0;
    fclose(f);
    if (ret_len)
        *ret_len = (size_t)n;
    return buf;
}

static const struct session_settings settings = {
    .model_file = "stories260K.bin", .family = "llama", .quantization = "f32",
    .template_name = "raw", .app_version = "test", .temperature = 0.8f, .topp = 0.9f,
    .seed = 42};

struct notes {
    char text[8][300];
    int n;
};

static void take_note(const char *msg, void *ctx)
{
    struct notes *s = ctx;
    if (s->n < 8)
        snprintf(s->text[s->n++], sizeof s->text[0], "%s", msg);
}

/* session_add_turn of a NUL-terminated text */
static int add_turn(struct session *s, const char *role, const char *text, int tokens, double tps)
{
    return session_add_turn(s, role, text, strlen(text), tokens, tps);
}

/* A session with two exchanges; returns its number. */
static int make_session(const char *first_prompt)
{
    struct session s;
    CHECK_INT(session_start(&s, &settings, NULL, NULL), 0);
    CHECK_INT(add_turn(&s, "user", first_prompt, 5, 0), 0);
    CHECK_INT(add_turn(&s, "assistant", "Tom had a \"red\" kite,\nand a dog.", 12, 40.0),
              0);
    CHECK_INT(add_turn(&s, "user", "And then?", 3, 0), 0);
    CHECK_INT(add_turn(&s, "assistant", "They played. \xff", 4, 20.0), 0);
    /* the session ends: one output file per reply, from the log */
    CHECK_INT(session_write_outputs(s.number, &s.outputs), 0);
    CHECK_INT(s.outputs, 2);
    return s.number;
}

TEST(session_numbering_across_reboots)
{
    root = test_root_begin("session");
    struct session s;
    struct notes said = {.n = 0};
    CHECK_INT(make_session("Hello"), 1);
    CHECK_INT(make_session("Again"), 2);
    /* foreign entries: reported, skipped; a file named session_007 still
     * takes its number (mkdir over it would fail, never clobber) */
    CHECK_INT(storage_mkdirs("sessions/session_abc"), 0);
    CHECK_INT(storage_write_file("sessions/notes.txt", "x", 1), 0);
    CHECK_INT(storage_write_file("sessions/session_007", "x", 1), 0);
    CHECK_INT(session_start(&s, &settings, take_note, &said), 0);
    CHECK_INT(s.number, 8);
    CHECK_INT(said.n, 3);
    /* "reboot": nothing in memory, the volume decides */
    memset(&s, 0, sizeof s);
    CHECK_INT(session_start(&s, &settings, take_note, &said), 0);
    CHECK_INT(s.number, 9);
    char *meta = slurp("sessions/session_001/metadata.json", NULL);
    CHECK(meta && strstr(meta, "\"turn_count\": 4") && strstr(meta, "\"tokens_in\": 8") &&
          strstr(meta, "\"tokens_out\": 16") && strstr(meta, "\"tok_per_s\": 30") &&
          strstr(meta, "\"file\": \"stories260K.bin\""));
    free(meta);
    char *out = slurp("sessions/session_002/output_002.txt", NULL);
    CHECK(out && !strcmp(out, "They played. \xef\xbf\xbd"));
    free(out);
    test_root_end();
}

static void count_turn(const struct export_turn *t, void *ctx)
{
    char *last = ctx;
    snprintf(last, 64, "%s:%s", t->role, t->text);
}

/* A cut before the session ended: the next boot writes its outputs. */
TEST(session_recover_writes_outputs)
{
    root = test_root_begin("session");
    struct notes said = {.n = 0};
    CHECK_INT(make_session("Hi"), 1);
    CHECK_INT(plat_file_delete("sessions/session_001/output_002.txt"), 0);
    session_recover(take_note, &said);
    CHECK(said.n == 1 && strstr(said.text[0], "session 1: wrote the output files of 1 replies"));
    char *out = slurp("sessions/session_001/output_002.txt", NULL);
    CHECK(out && !strcmp(out, "They played. \xef\xbf\xbd"));
    free(out);
    said.n = 0;
    session_recover(take_note, &said); /* nothing left to do */
    CHECK_INT(said.n, 0);
    test_root_end();
}

TEST(session_log_torn_record)
{
    root = test_root_begin("session");
    CHECK_INT(make_session("Hi"), 1);
    const char *log_name = "sessions/session_001/conversation.log";
    size_t len;
    char *log = slurp(log_name, &len);
    CHECK(len == SESSION_LOG_GROW); /* preallocated: the used part ends at a zero byte */
    len = strlen(log);
    char last[64] = "";
    struct notes said = {.n = 0};
    CHECK_INT(session_log_parse(log, len, "log", count_turn, last, take_note, &said), 4);
    CHECK_INT(said.n, 0);
    /* every prefix of the last record: the first three stay, the cut one is
     * reported as torn (or, cut right after its newline, is whole) */
    size_t start = len - 1;
    while (start && log[start - 1] != '\n')
        start--;
    for (size_t cut = start + 1; cut < len; cut++) {
        said.n = 0;
        CHECK_MSG(session_log_parse(log, cut, "log", NULL, NULL, take_note, &said) == 3,
                  "cut at %zu", cut);
        CHECK_MSG(said.n == 1 && strstr(said.text[0], "torn last record"), "cut at %zu", cut);
    }
    /* a damaged line in the middle: skipped with a message, the rest read */
    log[0] = '#';
    said.n = 0;
    CHECK_INT(session_log_parse(log, len, "log", count_turn, last, take_note, &said), 3);
    CHECK(said.n == 1 && strstr(said.text[0], "log: line 1: not a valid record"));
    CHECK_STR(last, "assistant:They played. \xef\xbf\xbd");
    free(log);
    /* a torn append on the volume: the export still has the 4 whole turns */
    CHECK_INT(storage_overwrite(log_name, len, "{\"role\":\"user\",\"te", 18), 0);
    said.n = 0;
    CHECK_INT(session_export(1, EXPORT_CSV, 0, NULL, 0, take_note, &said), 0);
    CHECK(said.n == 1 && strstr(said.text[0], "line 5: torn"));
    char *csv = slurp("sessions/session_001/export/session_001.csv", NULL);
    int rows = 0;
    for (char *p = csv; p && (p = strstr(p, "\r\n")) != NULL; p += 2)
        rows++;
    CHECK_INT(rows, 5); /* header + 4 turns (the LF inside a quoted text is no row end) */
    free(csv);
    test_root_end();
}

TEST(session_corrupt_metadata_skipped)
{
    root = test_root_begin("session");
    CHECK_INT(make_session("First story"), 1);
    CHECK_INT(make_session("Second story"), 2);
    CHECK_INT(make_session("Third story"), 3);
    static const char *bad[] = {"{\"format\": \"llm-baremetal session\", \"ver", "",
                                "[1,2,3]\n", "{\"format\": \"other\"}"};
    /* one torn copy: the other is read */
    CHECK_INT(storage_write_file("sessions/session_002/metadata.json", bad[0], strlen(bad[0])), 0);
    struct textbuf whole;
    tb_init_grow(&whole);
    CHECK_INT(session_list(&whole), 3);
    CHECK(strstr(whole.p, "Second story") != NULL);
    tb_free(&whole);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(storage_write_file("sessions/session_002/metadata.json", bad[i], strlen(bad[i])),
                  0);
        CHECK_INT(storage_write_file("sessions/session_002/metadata.json.bak", bad[i],
                                     strlen(bad[i])), 0);
        struct textbuf b;
        tb_init_grow(&b);
        CHECK_INT(session_list(&b), 2);
        CHECK_MSG(strstr(b.p, "   1  ") && strstr(b.p, "First story") &&
                      strstr(b.p, "Third story") && !strstr(b.p, "Second story") &&
                      strstr(b.p, "session_002: metadata.json") && strstr(b.p, "; skipped"),
                  "bad %zu: %s", i, b.p);
        tb_free(&b);
        struct notes said = {.n = 0};
        CHECK_INT(session_export(2, EXPORT_JSON, 0, NULL, 0, take_note, &said), ERR_FORMAT);
        CHECK_INT(said.n, 1);
    }
    /* metadata.json of another session copied in: its number does not match */
    char *other = slurp("sessions/session_001/metadata.json", NULL);
    CHECK_INT(storage_write_file("sessions/session_002/metadata.json", other, strlen(other)), 0);
    CHECK_INT(storage_write_file("sessions/session_002/metadata.json.bak", other, strlen(other)),
              0);
    free(other);
    CHECK_INT(session_export(2, EXPORT_TXT, 0, NULL, 0, take_note, &(struct notes){.n = 0}),
              ERR_FORMAT);
    /* no sessions directory at all */
    test_rm_tree(root);
    CHECK(mkdir(root, 0700) == 0);
    struct textbuf b;
    tb_init_grow(&b);
    CHECK_INT(session_list(&b), ERR_NOT_FOUND);
    tb_free(&b);
    test_root_end();
}

TEST(session_exports_read_back)
{
    root = test_root_begin("session");
    CHECK_INT(make_session("Once upon a time"), 1);
    char path[256];
    for (int f = 0; f < EXPORT_FORMATS; f++) {
        CHECK_INT(session_export(1, (enum export_format)f, 1, path, sizeof path, NULL, NULL), 0);
        CHECK(strstr(path, "sessions/session_001/export/session_001.") != NULL);
        CHECK(strstr(path, ".lz4") == NULL); /* small: stays plain */
    }
    size_t len;
    char *js = slurp("sessions/session_001/export/session_001.json", &len);
    static struct json_tok tok[256];
    struct json_doc d;
    CHECK_INT(json_parse(&d, "export", js, len, tok, 256), 0);
    int turns = json_find(&d, 0, "turns");
    CHECK_INT(json_len(&d, turns), 4);
    char text[128];
    CHECK_INT(json_string(&d, json_find(&d, json_at(&d, turns, 1), "text"), text, sizeof text,
                          NULL), 0);
    CHECK_STR(text, "Tom had a \"red\" kite,\nand a dog.");
    int64_t n;
    CHECK_INT(json_int(&d, json_find(&d, json_find(&d, 0, "metadata"), "turn_count"), &n), 0);
    CHECK_INT((int)n, 4);
    free(js);
    char *md = slurp("sessions/session_001/export/session_001.md", NULL);
    CHECK(md && strstr(md, "# Session 1") && strstr(md, "Once upon a time"));
    free(md);
    char *csv = slurp("sessions/session_001/export/session_001.csv", NULL);
    CHECK(csv && !strncmp(csv, "index,role,time,tokens,tokens_per_s,text\r\n", 42) &&
          strstr(csv, "\"Tom had a \"\"red\"\" kite,\nand a dog.\""));
    free(csv);

    /* compress=lz4 with a long conversation: .lz4 replaces the plain file
     * and decodes to the same export written without compression */
    struct session s;
    CHECK_INT(session_start(&s, &settings, NULL, NULL), 0);
    char big[3000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = "the cat sat on the mat. "[i % 24];
    big[sizeof big - 1] = 0;
    for (int i = 0; i < 4; i++)
        CHECK_INT(add_turn(&s, i % 2 ? "assistant" : "user", big, 700, 10), 0);
    CHECK_INT(session_export(2, EXPORT_TXT, 0, NULL, 0, NULL, NULL), 0);
    size_t plain_len, lz_len, out_len;
    char *plain = slurp("sessions/session_002/export/session_002.txt", &plain_len);
    CHECK_INT(session_export(2, EXPORT_TXT, 1, path, sizeof path, NULL, NULL), 0);
    CHECK_STR(path, "sessions/session_002/export/session_002.txt.lz4");
    CHECK(slurp("sessions/session_002/export/session_002.txt", NULL) == NULL);
    char *lz = slurp("sessions/session_002/export/session_002.txt.lz4", &lz_len);
    CHECK(lz && plain && lz_len < plain_len / 4);
    char *dec = malloc(plain_len + 16);
    CHECK_INT(lz4_frame_decompress(lz, lz_len, dec, plain_len + 16, &out_len, NULL, 0), 0);
    CHECK(out_len == plain_len && !memcmp(dec, plain, plain_len));
    free(dec);
    free(lz);
    free(plain);
    test_root_end();
}

/* A volume that takes no writes (every change fails, as on a write-
 * protected stick) or fills up: one error code per call, nothing that was
 * saved before changes, no side files. */
TEST(session_unwritable_volume)
{
    root = test_root_begin("session");
    CHECK_INT(make_session("Saved before"), 1);
    size_t meta_len, log_len;
    char *meta = slurp("sessions/session_001/metadata.json", &meta_len);
    char *log = slurp("sessions/session_001/conversation.log", &log_len);
    struct session s;

    plat_posix_cut_power_after(0);
    CHECK_INT(session_start(&s, &settings, NULL, NULL), ERR_IO);
    CHECK_INT(s.number, 0);
    plat_posix_cut_power_after(-1);

    /* a session that was writable, then fills up mid-turn */
    CHECK_INT(session_start(&s, &settings, NULL, NULL), 0);
    CHECK_INT(add_turn(&s, "user", "one", 1, 0), 0);
    char *meta2 = slurp("sessions/session_002/metadata.json", NULL);
    plat_posix_fail_writes_after(0);
    CHECK_INT(add_turn(&s, "assistant", "a reply that does not fit", 5, 1), ERR_VOLUME_FULL);
    CHECK_INT(session_export(1, EXPORT_JSON, 0, NULL, 0, NULL, NULL), ERR_VOLUME_FULL);
    plat_posix_fail_writes_after(-1);
    char *meta2_after = slurp("sessions/session_002/metadata.json", NULL);
    CHECK(meta2 && meta2_after && !strcmp(meta2, meta2_after));
    CHECK(slurp("sessions/session_002/output_001.txt", NULL) == NULL);
    CHECK(slurp("sessions/session_002/metadata.json.tmp", NULL) == NULL);
    free(meta2);
    free(meta2_after);

    size_t l1, l2;
    char *m1 = slurp("sessions/session_001/metadata.json", &l1);
    char *g1 = slurp("sessions/session_001/conversation.log", &l2);
    CHECK(l1 == meta_len && !memcmp(m1, meta, l1) && l2 == log_len && !memcmp(g1, log, l2));
    free(m1);
    free(g1);
    free(meta);
    free(log);
    test_root_end();
}

/* ---- /resume and /save (session_resume, session_save_chat_kv) ---------------------- */

#include "../chat.h"
#include "../engine.h"

#define SCRATCH_BYTES (CHAT_ARENA_BYTES + 16384)

/* One chat reply to user, greedy, 24 tokens at most; the reply into out. */
static void chat_turn(struct chat *c, struct engine *e, char *scratch, const char *user,
                      struct test_text *out)
{
    struct generation g;
    out->n = 0;
    out->s[0] = 0;
    CHECK_INT(chat_begin_reply(c, e, user, 24, scratch, SCRATCH_BYTES, &g, test_collect, out), 0);
    while (!g.done)
        gen_step(&g);
    CHECK_INT(chat_end_reply(c, &g, user), 0);
    gen_end(&g);
}

/* A session of two qa exchanges with stories260K; the continuous third
 * reply (same cache throughout) into third. Returns 0 when the model is missing. */
static int chat_session(struct engine *e, char *scratch, struct test_text *third)
{
    char model[PATH_MAX + 32], tok[PATH_MAX + 32], err[256], dir[PATH_MAX];
    /* absolute: the volume root is the temporary directory */
    if (!realpath(test_models_dir(), dir))
        snprintf(dir, sizeof dir, "%s", test_models_dir());
    snprintf(model, sizeof model, "%s/stories260K.bin", dir);
    snprintf(tok, sizeof tok, "%s/tok512.bin", dir);
    if (engine_load(e, model, tok, err, sizeof err)) {
        CHECK_MSG(0, "load: %s", err);
        return 0;
    }
    e->sampler.temperature = 0.0f;
    struct chat c;
    struct session s;
    struct test_text r = {.n = 0};
    static const char *const q[] = {"Who is Lily?", "Where is she?"};
    CHECK_INT(chat_init(&c, template_find("qa")), 0);
    CHECK_INT(session_start(&s, &settings, NULL, NULL), 0);
    for (int i = 0; i < 2; i++) {
        chat_turn(&c, e, scratch, q[i], &r);
        CHECK_INT(add_turn(&s, "user", q[i], 5, 0), 0);
        CHECK_INT(add_turn(&s, "assistant", r.s, 24, 10.0), 0);
    }
    CHECK_INT(session_save_chat_kv(s.number, &c, e, 1, scratch, SCRATCH_BYTES), 0);
    chat_turn(&c, e, scratch, "What next?", third);
    chat_free(&c);
    return s.number;
}

/* Resumes session n in a fresh chat on e (cache wiped first) and answers
 * "What next?"; the reply into out, *from_kv and the notes said. */
static void resume_and_ask(int n, struct engine *e, char *scratch, const char *system,
                           struct test_text *out, int *from_kv, struct notes *said)
{
    struct chat c;
    uint64_t kv = (uint64_t)e->model.cfg.n_layers * e->model.cfg.seq_len *
                  model_kv_dim(&e->model.cfg) * sizeof(float);
    memset(e->state.key_cache, 0, kv);
    memset(e->state.value_cache, 0, kv);
    CHECK_INT(chat_init(&c, template_find("qa")), 0);
    snprintf(c.system, sizeof c.system, "%s", system);
    CHECK_INT(session_resume(n, &c, e, scratch, SCRATCH_BYTES, NULL, NULL, take_note, said,
                             from_kv), 2);
    chat_turn(&c, e, scratch, "What next?", out);
    chat_free(&c);
}

/* After /resume (no snapshot) the reply is what the engine gives for the
 * whole conversation, concatenated in the template, from an empty cache. */
TEST(session_resume_prefills_conversation)
{
    root = test_root_begin("session");
    static char scratch[SCRATCH_BYTES];
    struct engine e;
    struct test_text third = {.n = 0}, got = {.n = 0}, want = {.n = 0};
    struct notes said = {.n = 0};
    int from_kv = -1, n = chat_session(&e, scratch, &third);
    if (!n) {
        test_root_end();
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "sessions/session_%03d/kv.bin", n);
    CHECK_INT(plat_file_delete(path), 0);
    resume_and_ask(n, &e, scratch, "", &got, &from_kv, &said);
    CHECK_INT(from_kv, 0);
    CHECK_INT(said.n, 0);
    /* from scratch: the log's turns in the qa format, then the question */
    static char conv[16384];
    size_t len = 0;
    char *text = slurp("sessions/session_001/conversation.log", &len);
    struct json_tok tok[16];
    struct json_doc d;
    char buf[4096];
    int line = 0;
    conv[0] = 0;
    for (char *p = text; p && *p; line++) {
        char *nl = strchr(p, '\n');
        CHECK_INT(json_parse(&d, "log", p, (size_t)(nl - p), tok, 16), 0);
        CHECK_INT(json_string(&d, json_find(&d, 0, "text"), buf, sizeof buf, NULL), 0);
        snprintf(conv + strlen(conv), sizeof conv - strlen(conv), line % 2 ? "%s\n" : "Q: %s\nA:",
                 buf);
        p = nl + 1;
    }
    free(text);
    strcat(conv, "Q: What next?\nA:");
    static const char *const stops[] = {"\nQ:", NULL};
    struct gen_request r = {conv, 1, 0, e.model.cfg.seq_len, 24, stops, {2}, 1, 1};
    struct generation g;
    memset(e.state.key_cache, 0, 4); /* nothing of the above is reused */
    CHECK_INT(gen_begin_request(&g, &e.model, &e.state, &e.tok, &e.sampler, &r, test_collect,
                                &want), 0);
    while (!g.done)
        gen_step(&g);
    gen_end(&g);
    CHECK(want.n > 0);
    CHECK_STR(got.s, want.s);
    /* the continued session holds the conversation whole */
    struct session s;
    struct chat c;
    CHECK_INT(chat_init(&c, template_find("qa")), 0);
    CHECK_INT(session_resume(n, &c, &e, scratch, SCRATCH_BYTES, NULL, NULL, NULL, NULL, &from_kv), 2);
    CHECK_INT(session_start(&s, &settings, NULL, NULL), 0);
    CHECK_INT(session_add_chat_turns(&s, &c), 0);
    CHECK_INT(s.meta.turns, 4);
    chat_free(&c);
    engine_free(&e);
    test_root_end();
    CHECK_INT(plat_posix_live_bytes(), 0);
}

/* /save then /resume: the cache comes from kv.bin and the reply is the one
 * the uninterrupted conversation gave; a corrupt or stale snapshot is said
 * once and ignored (prefill instead). */
TEST(session_resume_from_kv_snapshot)
{
    root = test_root_begin("session");
    static char scratch[SCRATCH_BYTES];
    static struct kv_snapshot k;
    struct engine e;
    struct test_text third = {.n = 0}, got = {.n = 0}, prefilled = {.n = 0};
    struct notes said = {.n = 0};
    int from_kv = -1, n = chat_session(&e, scratch, &third);
    if (!n) {
        test_root_end();
        return;
    }
    resume_and_ask(n, &e, scratch, "", &got, &from_kv, &said);
    CHECK_INT(from_kv, 1);
    CHECK_INT(said.n, 0);
    CHECK_STR(got.s, third.s);

    /* another system prompt: the cached text is not this conversation's */
    resume_and_ask(n, &e, scratch, "Be brief.", &got, &from_kv, &said);
    CHECK_INT(from_kv, 0);
    CHECK_INT(said.n, 1);
    CHECK(strstr(said.text[0], "stale: the conversation"));

    /* a flipped payload byte (the file stays LZ4: its checksum or ours catches it) */
    size_t len = 0;
    char path[64], full[600];
    snprintf(path, sizeof path, "sessions/session_%03d/kv.bin", n);
    unsigned char *kvb = (unsigned char *)slurp(path, &len);
    CHECK(kvb && len > SESSION_KV_HEADER + 100);
    kvb[len - 50] ^= 0x40;
    snprintf(full, sizeof full, "%s/%s", root, path);
    FILE *f = fopen(full, "wb");
    fwrite(kvb, 1, len, f);
    fclose(f);
    said.n = 0;
    resume_and_ask(n, &e, scratch, "", &got, &from_kv, &said);
    CHECK_INT(from_kv, 0);
    CHECK_INT(said.n, 1);
    CHECK(strstr(said.text[0], "corrupt"));
    CHECK(strstr(said.text[0], "ignored"));
    /* the fallback is the plain prefill */
    CHECK_INT(plat_file_delete(path), 0);
    resume_and_ask(n, &e, scratch, "", &prefilled, &from_kv, &said);
    CHECK_STR(got.s, prefilled.s);
    /* a header cut short */
    f = fopen(full, "wb");
    fwrite(kvb, 1, 40, f);
    fclose(f);
    said.n = 0;
    resume_and_ask(n, &e, scratch, "", &got, &from_kv, &said);
    CHECK_INT(from_kv, 0);
    CHECK(said.n == 1 && strstr(said.text[0], "corrupt"));
    free(kvb);
    CHECK_INT(plat_file_delete(path), 0);

    /* raw (compress off) snapshot of another model file: stale */
    struct chat c;
    CHECK_INT(chat_init(&c, template_find("qa")), 0);
    CHECK_INT(session_resume(n, &c, &e, scratch, SCRATCH_BYTES, NULL, NULL, NULL, NULL, &from_kv), 2);
    chat_turn(&c, &e, scratch, "What next?", &got);
    CHECK_INT(session_save_chat_kv(n, &c, &e, 0, scratch, SCRATCH_BYTES), 0);
    chat_free(&c);
    k.model_size = e.model.file_size;
    k.n_layers = e.model.cfg.n_layers;
    k.seq_len = e.model.cfg.seq_len;
    k.kv_dim = model_kv_dim(&e.model.cfg);
    k.key = e.state.key_cache;
    k.value = e.state.value_cache;
    char err[160];
    CHECK_INT(session_load_kv(n, &k, err, sizeof err), ERR_INVAL); /* model_sum 0 */
    CHECK(strstr(err, "another model file") != NULL);
    k.model_size++;
    CHECK_INT(session_load_kv(n, &k, err, sizeof err), ERR_INVAL);
    CHECK_INT(session_load_kv(n + 1, &k, err, sizeof err), ERR_NOT_FOUND);
    engine_free(&e);
    test_root_end();
    CHECK_INT(plat_posix_live_bytes(), 0);
}
