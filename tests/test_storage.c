/* test_storage.c - storage.c and the write half of platform_posix.c, in a
 * temporary root directory. The power-cut test stops the "disk" after every
 * possible number of file-changing calls, with the host's atomic rename and
 * with FAT's (no replacing rename), and checks that the file then reads
 * back as the old or the new version, whole. */
#include "testlib.h"

#include "../errors.h"
#include "../platform.h"
#include "../platform_posix.h"
#include "../storage.h"

#include <dirent.h>
#include <unistd.h>

static const char *root; /* the temporary volume root of the running test */

/* Number of entries in the root directory (the files a test left). */
static int count_entries(void)
{
    DIR *d = opendir(root);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static int exists(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, name);
    return access(p, F_OK) == 0;
}

/* Reads name through storage_read_file into a NUL-terminated static buffer;
 * NULL when missing (or unreadable). */
static const char *content(const char *name)
{
    static char buf[256];
    size_t len = 0;
    if (storage_read_file(name, buf, sizeof buf - 1, &len) != 0)
        return NULL;
    buf[len] = 0;
    return buf;
}

TEST(storage_write_replace_read)
{
    root = test_root_begin("storage");
    CHECK_INT(storage_write_file("a.txt", "hello", 5), 0);
    CHECK_STR(content("a.txt"), "hello");
    CHECK_INT(storage_write_file("a.txt", "world, longer", 13), 0);
    CHECK_STR(content("a.txt"), "world, longer");
    CHECK_INT(storage_write_file("a.txt", "", 0), 0); /* empty is a valid version */
    CHECK_STR(content("a.txt"), "");
    CHECK_INT(count_entries(), 1); /* no .tmp or .new left */
    char small[4];
    size_t len;
    CHECK_INT(storage_write_file("a.txt", "12345", 5), 0);
    CHECK_INT(storage_read_file("a.txt", small, sizeof small, &len), ERR_RANGE);
    CHECK_INT(storage_read_file("missing.txt", small, sizeof small, &len), ERR_NOT_FOUND);
    CHECK_INT(storage_write_file("nodir/a.txt", "x", 1), ERR_NOT_FOUND);
    CHECK_INT(storage_write_file("", "x", 1), ERR_INVAL);
    test_root_end();
}

/* A volume that fills up while the new version is written: the old one is
 * still there, whole, and the partial .tmp is gone. */
TEST(storage_full_volume_keeps_old)
{
    for (int fat = 0; fat <= 1; fat++) {
        root = test_root_begin("storage");
        plat_posix_set_fat_rename(fat);
        CHECK_INT(storage_write_file("s.json", "{\"old\": 1}", 10), 0);
        plat_posix_fail_writes_after(4);
        CHECK_INT(storage_write_file("s.json", "{\"new\": 22}", 11), ERR_VOLUME_FULL);
        plat_posix_fail_writes_after(-1);
        CHECK_STR(content("s.json"), "{\"old\": 1}");
        CHECK(!exists("s.json.tmp"));
        CHECK_INT(count_entries(), 1);
        test_root_end();
    }
}

/* The FAT ordering (tmp -> new, delete old, new -> name) and the POSIX one
 * both end with just the new file. */
TEST(storage_rename_rules)
{
    root = test_root_begin("storage");
    plat_posix_set_fat_rename(1);
    CHECK_INT(storage_write_file("f.md", "one", 3), 0);
    CHECK_INT(storage_write_file("f.md", "two", 3), 0);
    CHECK_STR(content("f.md"), "two");
    CHECK_INT(count_entries(), 1);
    CHECK_INT(storage_write_file("g.md", "g", 1), 0);
    CHECK_INT(plat_file_rename("g.md", "f.md"), ERR_EXISTS); /* FAT: no replace */
    CHECK_STR(content("f.md"), "two");
    plat_posix_set_fat_rename(0);
    CHECK_INT(plat_file_rename("g.md", "f.md"), 0); /* host: atomic replace */
    CHECK_STR(content("f.md"), "g");
    CHECK_INT(storage_mkdirs("d"), 0);
    CHECK_INT(plat_file_rename("f.md", "d/f.md"), ERR_INVAL); /* one directory only */
    CHECK_INT(plat_file_rename("nope.md", "n.md"), ERR_NOT_FOUND);
    CHECK_INT(plat_file_delete("d"), ERR_INVAL);
    CHECK_INT(plat_file_delete("nope.md"), ERR_NOT_FOUND);
    test_root_end();
}

struct notes {
    char text[8][200];
    int n;
};

static void take_note(const char *msg, void *ctx)
{
    struct notes *s = ctx;
    if (s->n < 8)
        snprintf(s->text[s->n++], sizeof s->text[0], "%s", msg);
}

/* Power cut after k file-changing calls, for every k until the write
 * completes: the reader sees the old or the new version, whole (also before
 * recovery), recovery leaves no side files, and a write that returned 0 is
 * the new version. Also for a first write (no old version: absent or new). */
TEST(storage_power_cut_every_step)
{
    const char *old_text = "old version, complete\n", *new_text = "NEW version, also complete\n";
    for (int fat = 0; fat <= 1; fat++) {
        int promoted = 0; /* cuts after which recovery finished the move */
        for (int first = 0; first <= 1; first++) {
            int done = 0;
            for (int k = 0; k < 32 && !done; k++) {
                root = test_root_begin("storage");
                plat_posix_set_fat_rename(fat);
                if (!first)
                    CHECK_INT(storage_write_file("m.json", old_text, strlen(old_text)), 0);
                plat_posix_cut_power_after(k);
                int rc = storage_write_file("m.json", new_text, strlen(new_text));
                plat_posix_cut_power_after(-1); /* the next boot */
                const char *seen = content("m.json");
                CHECK_MSG(seen ? !strcmp(seen, old_text) || !strcmp(seen, new_text) : first,
                          "fat %d first %d cut %d: before recovery: %s", fat, first, k,
                          seen ? seen : "(missing)");
                struct notes said = {.n = 0};
                int fixed = storage_recover("", take_note, &said);
                for (int i = 0; i < said.n; i++)
                    promoted += strstr(said.text[i], "finished a replace cut short") != NULL;
                CHECK_MSG(fixed >= 0, "fat %d cut %d: recover %d", fat, k, fixed);
                const char *after = content("m.json");
                CHECK_MSG(after ? !strcmp(after, old_text) || !strcmp(after, new_text) : first,
                          "fat %d first %d cut %d: after recovery: %s", fat, first, k,
                          after ? after : "(missing)");
                /* what the reader saw before recovery is what recovery kept */
                CHECK_MSG((seen == NULL) == (after == NULL), "fat %d cut %d", fat, k);
                CHECK(!exists("m.json.tmp") && !exists("m.json.new"));
                CHECK_INT(count_entries(), after ? 1 : 0);
                if (rc == 0) {
                    CHECK_MSG(after && !strcmp(after, new_text), "fat %d cut %d: rc 0 but old",
                              fat, k);
                    done = 1;
                }
                test_root_end();
            }
            CHECK_MSG(done, "fat %d first %d: the write never completed", fat, first);
        }
        /* FAT's path goes through NAME.new (two cut points leave it); the
         * host's atomic rename never does */
        CHECK_INT(promoted, fat ? 2 : 0);
    }
}

/* Side files as a cut leaves them: a partial .tmp beside its file, an
 * orphan .tmp (a first write cut short: never promoted), a complete .new
 * beside the old file and one whose old file was already deleted. */
TEST(storage_recover_side_files)
{
    root = test_root_begin("storage");
    char p[512];
    struct { const char *name, *text; } files[] = {
        {"b.txt", "b old"},   {"b.txt.tmp", "b par"}, {"c.txt.tmp", "c partial"},
        {"d.txt", "d old"},   {"d.txt.new", "d new"}, {"e.txt.new", "e new"},
        {"notes.md", "keep"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i].name);
        CHECK(test_write_file(p, files[i].text, strlen(files[i].text)) == 0);
    }
    CHECK_STR(content("e.txt"), "e new"); /* the reader finds the complete copy */
    CHECK(content("c.txt") == NULL);      /* and never trusts a .tmp */
    struct notes said = {.n = 0};
    CHECK_INT(storage_recover("", take_note, &said), 4);
    CHECK_STR(content("b.txt"), "b old");
    CHECK(content("c.txt") == NULL);
    CHECK_STR(content("d.txt"), "d new");
    CHECK_STR(content("e.txt"), "e new");
    CHECK_STR(content("notes.md"), "keep");
    CHECK_INT(count_entries(), 4);
    CHECK_INT(said.n, 4);
    int saw_tmp = 0, saw_new = 0;
    for (int i = 0; i < said.n; i++) {
        saw_tmp += strstr(said.text[i], "c.txt.tmp: removed an unfinished write") != NULL;
        saw_new += strstr(said.text[i], "d.txt: finished a replace cut short") != NULL;
    }
    CHECK_INT(saw_tmp, 1);
    CHECK_INT(saw_new, 1);
    CHECK_INT(storage_recover("", take_note, &said), 0); /* nothing left to do */
    CHECK_INT(storage_recover("no_such_dir", NULL, NULL), ERR_NOT_FOUND);
    test_root_end();
}

TEST(storage_append_and_mkdirs)
{
    root = test_root_begin("storage");
    CHECK_INT(storage_mkdirs("sessions/session_001"), 0);
    CHECK_INT(storage_mkdirs("sessions/session_001/"), 0); /* exists: fine */
    CHECK_INT(storage_append("sessions/session_001/conversation.log", "turn 1\n", 7), 0);
    CHECK_INT(storage_append("sessions/session_001/conversation.log", "turn 2\n", 7), 0);
    CHECK_STR(content("sessions/session_001/conversation.log"), "turn 1\nturn 2\n");
    CHECK_INT(storage_write_file("sessions/file", "x", 1), 0);
    CHECK_INT(storage_mkdirs("sessions/file/sub"), ERR_EXISTS);
    CHECK_INT(plat_mkdir("a/b"), ERR_NOT_FOUND);
    /* a full volume mid-append: the earlier records stay */
    plat_posix_fail_writes_after(3);
    CHECK_INT(storage_append("sessions/session_001/conversation.log", "turn 3\n", 7),
              ERR_VOLUME_FULL);
    plat_posix_fail_writes_after(-1);
    const char *log = content("sessions/session_001/conversation.log");
    CHECK(log && !strncmp(log, "turn 1\nturn 2\n", 14) && strlen(log) == 17);
    /* create truncates */
    plat_file *f;
    CHECK_INT(plat_file_create("sessions/file", &f), 0);
    CHECK_INT(plat_file_write(f, "ab", 2), 0);
    CHECK_INT(plat_file_flush(f), 0);
    plat_file_close(f);
    CHECK_STR(content("sessions/file"), "ab");
    CHECK_INT(plat_file_create("sessions", &f), ERR_INVAL); /* a directory */
    test_root_end();
}

TEST(storage_error_texts)
{
    /* the app prints these; each says what happened in words */
    CHECK_STR(err_str(ERR_WRITE_PROTECTED), "the volume is write-protected");
    CHECK_STR(err_str(ERR_VOLUME_FULL), "the volume is full");
    CHECK(strcmp(err_str(ERR_ACCESS), err_str(ERR_IO)) != 0);
    CHECK(strcmp(err_str(ERR_EXISTS), "unknown error") != 0);
}

/* Reads name raw (no .new fallback) into buf; its length, -1 if missing. */
static long raw(const char *name, char *buf, size_t cap)
{
    plat_file *f;
    size_t got = 0;
    if (plat_file_open(name, &f) != 0)
        return -1;
    plat_file_read(f, buf, cap, &got);
    plat_file_close(f);
    return (long)got;
}

TEST(storage_in_place_files)
{
    static char buf[70000];
    root = test_root_begin("storage");
    /* preallocate: zeros, never shrinks, keeps what is there */
    CHECK_INT(storage_preallocate("log", 100), 0);
    CHECK(raw("log", buf, sizeof buf) == 100 && buf[0] == 0 && buf[99] == 0);
    CHECK_INT(storage_overwrite("log", 0, "abc", 3), 0);
    CHECK_INT(storage_preallocate("log", 50), 0);
    CHECK_INT(storage_preallocate("log", 200), 0);
    CHECK(raw("log", buf, sizeof buf) == 200 && !memcmp(buf, "abc\0", 4) && buf[199] == 0);
    /* overwrite: never past the end, nothing changes then */
    CHECK_INT(storage_overwrite("log", 198, "xyz", 3), ERR_RANGE);
    CHECK_INT(storage_overwrite("missing", 0, "x", 1), ERR_NOT_FOUND);
    CHECK(raw("log", buf, sizeof buf) == 200 && buf[198] == 0);
    /* the log: in place at *end, grown in whole steps when full */
    uint64_t end = 3;
    CHECK_INT(storage_log_write("log", &end, "defg", 4, 64), 0);
    CHECK(end == 7 && raw("log", buf, sizeof buf) == 200 && !memcmp(buf, "abcdefg\0", 8));
    end = 190;
    CHECK_INT(storage_log_write("log", &end, "0123456789ABCDEF", 16, 64), 0);
    CHECK(end == 206 && raw("log", buf, sizeof buf) == 264 &&
          !memcmp(buf + 190, "0123456789ABCDEF", 16) && buf[206] == 0 && buf[263] == 0);
    CHECK_INT(count_entries(), 1);
    test_root_end();
}

/* storage_write_mirrored: two copies padded to 4 KiB; after a cut at any
 * step one copy is whole, old or new, and the reader's pick (the newer
 * whole one) is never older than the last completed write. */
TEST(storage_mirrored_power_cut_every_step)
{
    static char a[9000], b[9000];
    static char big[5000];
    root = test_root_begin("storage");
    CHECK_INT(storage_write_mirrored("m.json", "{\"v\":1}\n", 8, ' '), 0);
    CHECK(raw("m.json", a, sizeof a) == 4096 && !memcmp(a, "{\"v\":1}\n   ", 11) &&
          a[4095] == ' ');
    CHECK(raw("m.json.bak", b, sizeof b) == 4096 && !memcmp(a, b, 4096));
    for (int calls = 0; calls < 40; calls++) {
        CHECK_INT(storage_write_mirrored("m.json", "{\"v\":1}\n", 8, ' '), 0);
        plat_posix_cut_power_after(calls);
        int rc = storage_write_mirrored("m.json", "{\"v\":22}\n", 9, ' ');
        plat_posix_cut_power_after(-1);
        long la = raw("m.json", a, sizeof a), lb = raw("m.json.bak", b, sizeof b);
        CHECK_MSG(la == 4096 && lb == 4096, "cut after %d calls", calls);
        int a_new = !memcmp(a, "{\"v\":22}\n ", 10), a_old = !memcmp(a, "{\"v\":1}\n ", 9);
        int b_new = !memcmp(b, "{\"v\":22}\n ", 10), b_old = !memcmp(b, "{\"v\":1}\n ", 9);
        CHECK_MSG((a_new || a_old) && (b_new || b_old), "cut after %d calls", calls);
        CHECK_MSG(!a_new || b_new, "cut after %d: the main copy is never ahead", calls);
        if (rc == 0) {
            CHECK(a_new && b_new);
            break;
        }
    }
    /* a document longer than the copies: both grow (in 4 KiB steps) */
    memset(big, 'x', sizeof big);
    CHECK_INT(storage_write_mirrored("m.json", big, sizeof big, ' '), 0);
    CHECK(raw("m.json", a, sizeof a) == 8192 && raw("m.json.bak", b, sizeof b) == 8192 &&
          !memcmp(a, big, sizeof big) && a[8191] == ' ' && !memcmp(a, b, 8192));
    CHECK_INT(count_entries(), 2);
    test_root_end();
}

TEST(storage_volume_free)
{
    uint64_t free_bytes = 0;
    root = test_root_begin("storage");
    CHECK_INT(plat_volume_free(&free_bytes), 0);
    CHECK(free_bytes > 4096);
    plat_posix_fail_writes_after(1000); /* the test hook's nearly full volume */
    CHECK_INT(plat_volume_free(&free_bytes), 0);
    CHECK(free_bytes == 1000);
    plat_posix_fail_writes_after(-1);
    test_root_end();
}
