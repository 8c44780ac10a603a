/* storage.c - crash-safe writes, appends and recovery (storage.h). */
#include "storage.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

/* path + suffix into out (STORAGE_PATH_MAX); ERR_RANGE if it does not fit. */
static int with_suffix(char *out, const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    if (n == 0 || n + k >= STORAGE_PATH_MAX)
        return n ? ERR_RANGE : ERR_INVAL;
    memcpy(out, path, n);
    memcpy(out + n, suffix, k + 1);
    return 0;
}

/* 1 if path names a file, 0 if not, or an error (a read-only probe, so it
 * works on write-protected volumes). */
static int file_exists(const char *path)
{
    plat_file *f;
    int rc = plat_file_open(path, &f);
    if (rc == 0) {
        plat_file_close(f);
        return 1;
    }
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

enum { FIXED_NEW = 1, FIXED_TMP = 2 };

/* Finishes what a cut left of path's last replace: NAME.new is complete and
 * newer than NAME, so it takes NAME's place; NAME.tmp is never trusted.
 * *ret_fixed gets FIXED_* bits. */
static int finish_replace(const char *path, int *ret_fixed)
{
    char side[STORAGE_PATH_MAX];
    int rc, fixed = 0;

    if ((rc = with_suffix(side, path, ".new")) != 0)
        return rc;
    if ((rc = file_exists(side)) < 0)
        return rc;
    if (rc == 1) {
        rc = plat_file_delete(path);
        if (rc != 0 && rc != ERR_NOT_FOUND)
            return rc;
        if ((rc = plat_file_rename(side, path)) != 0)
            return rc;
        fixed |= FIXED_NEW;
    }
    if ((rc = with_suffix(side, path, ".tmp")) != 0)
        return rc;
    rc = plat_file_delete(side);
    if (rc == 0)
        fixed |= FIXED_TMP;
    else if (rc != ERR_NOT_FOUND)
        return rc;
    *ret_fixed = fixed;
    return 0;
}

/* Writes data to a new file at path and flushes it; the file is removed
 * again on failure. */
static int write_flushed(const char *path, const void *data, size_t n)
{
    plat_file *f;
    int rc = plat_file_create(path, &f);
    if (rc)
        return rc;
    if ((rc = plat_file_write(f, data, n)) == 0)
        rc = plat_file_flush(f);
    plat_file_close(f);
    if (rc)
        plat_file_delete(path); /* best effort: recovery deletes it otherwise */
    return rc;
}

int storage_write_file(const char *path, const void *data, size_t n)
{
    char tmp[STORAGE_PATH_MAX], fresh[STORAGE_PATH_MAX];
    int rc, fixed;

    if ((rc = with_suffix(tmp, path, ".tmp")) != 0 ||
        (rc = with_suffix(fresh, path, ".new")) != 0)
        return rc;
    /* a replace cut short earlier: settle it, or NAME.new would be in the way */
    if ((rc = finish_replace(path, &fixed)) != 0)
        return rc;
    if ((rc = write_flushed(tmp, data, n)) != 0)
        return rc;
    rc = plat_file_rename(tmp, path); /* host: atomic replace; FAT: only if path is new */
    if (rc != ERR_EXISTS)
        goto out;
    /* FAT: tmp -> new (complete from here on), delete old, new -> path */
    if ((rc = plat_file_rename(tmp, fresh)) != 0)
        goto out;
    if ((rc = plat_file_delete(path)) != 0 && rc != ERR_NOT_FOUND)
        return rc; /* NAME.new stays: the next write or recovery finishes it */
    return plat_file_rename(fresh, path);
out:
    if (rc)
        plat_file_delete(tmp);
    return rc;
}

int storage_append(const char *path, const void *data, size_t n)
{
    plat_file *f;
    int rc = plat_file_append(path, &f);
    if (rc)
        return rc;
    if ((rc = plat_file_write(f, data, n)) == 0)
        rc = plat_file_flush(f);
    plat_file_close(f);
    return rc;
}

/* ---- in place ------------------------------------------------------------------ */

#define FILL_CHUNK 4096 /* bytes of padding written per call */

/* Writes count copies of byte c at f's position. */
static int write_fill(plat_file *f, uint64_t count, char c)
{
    static char fill[FILL_CHUNK];
    memset(fill, c, sizeof fill);
    while (count) {
        size_t k = count < sizeof fill ? (size_t)count : sizeof fill;
        int rc = plat_file_write(f, fill, k);
        if (rc)
            return rc;
        count -= k;
    }
    return 0;
}

/* Size of path, ERR_NOT_FOUND when missing. */
static int file_size(const char *path, uint64_t *ret_size)
{
    plat_file *f;
    int rc = plat_file_open(path, &f);
    if (rc)
        return rc;
    rc = plat_file_size(f, ret_size);
    plat_file_close(f);
    return rc;
}

int storage_preallocate(const char *path, uint64_t size)
{
    uint64_t have = 0;
    plat_file *f;
    int rc = file_size(path, &have);

    if (rc && rc != ERR_NOT_FOUND)
        return rc;
    if (rc == 0 && have >= size)
        return 0;
    if ((rc = plat_file_append(path, &f)) != 0)
        return rc;
    if ((rc = write_fill(f, size - have, 0)) == 0)
        rc = plat_file_flush(f);
    plat_file_close(f);
    return rc;
}

/* Writes data, then `pad` bytes up to offset + total, at offset of the open
 * file f, and flushes. */
static int write_at(plat_file *f, uint64_t offset, const void *data, size_t n, uint64_t total,
                    char pad)
{
    int rc;
    if ((rc = plat_file_seek(f, offset)) == 0 && (rc = plat_file_write(f, data, n)) == 0 &&
        (rc = write_fill(f, total - n, pad)) == 0)
        rc = plat_file_flush(f);
    return rc;
}

int storage_overwrite(const char *path, uint64_t offset, const void *data, size_t n)
{
    uint64_t size;
    plat_file *f;
    int rc = file_size(path, &size);

    if (rc)
        return rc;
    if (offset > size || n > size - offset)
        return ERR_RANGE;
    if ((rc = plat_file_open_rw(path, &f)) != 0)
        return rc;
    rc = write_at(f, offset, data, n, n, 0);
    plat_file_close(f);
    return rc;
}

int storage_log_write(const char *path, uint64_t *end, const void *data, size_t n, size_t grow)
{
    uint64_t size = 0, need;
    int rc = file_size(path, &size);

    if (rc && rc != ERR_NOT_FOUND)
        return rc;
    if (size_add(*end, n, &need) != 0 || grow == 0)
        return ERR_RANGE;
    if (need > size) {
        uint64_t steps = (need - size + grow - 1) / grow;
        if ((rc = storage_preallocate(path, size + steps * grow)) != 0)
            return rc;
    }
    if ((rc = storage_overwrite(path, *end, data, n)) == 0)
        *end = need;
    return rc;
}

/* Overwrites the copy at path with data padded to its size (grown to hold
 * n + 1 bytes, in 4 KiB steps, when it is shorter or missing). */
static int write_copy(const char *path, const void *data, size_t n, char pad)
{
    uint64_t size = 0, room = ((uint64_t)n + 1 + 4095) / 4096 * 4096;
    plat_file *f;
    int rc = file_size(path, &size);

    if (rc && rc != ERR_NOT_FOUND)
        return rc;
    if (size < room && (rc = storage_preallocate(path, room)) != 0)
        return rc;
    if ((rc = plat_file_open_rw(path, &f)) != 0)
        return rc;
    rc = write_at(f, 0, data, n, MAX(size, room), pad);
    plat_file_close(f);
    return rc;
}

int storage_write_mirrored(const char *path, const void *data, size_t n, char pad)
{
    char bak[STORAGE_PATH_MAX];
    int rc;
    if ((rc = with_suffix(bak, path, ".bak")) != 0 || (rc = write_copy(bak, data, n, pad)) != 0)
        return rc;
    return write_copy(path, data, n, pad);
}

int storage_mkdirs(const char *path)
{
    char part[STORAGE_PATH_MAX];
    size_t n = strlen(path);
    int rc;

    if (n >= sizeof part)
        return ERR_RANGE;
    memcpy(part, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (part[i] != '/' && part[i] != 0)
            continue;
        if (part[i - 1] == '/')
            continue; /* "a//b" or a leading '/' */
        char c = part[i];
        part[i] = 0;
        rc = plat_mkdir(part);
        part[i] = c;
        if (rc)
            return rc;
    }
    return 0;
}

int storage_read_file(const char *path, void *buf, size_t cap, size_t *ret_len)
{
    char fresh[STORAGE_PATH_MAX];
    plat_file *f;
    uint64_t size;
    size_t got;
    int rc = plat_file_open(path, &f);

    if (rc == ERR_NOT_FOUND && with_suffix(fresh, path, ".new") == 0)
        rc = plat_file_open(fresh, &f); /* cut between delete and rename */
    if (rc)
        return rc;
    if ((rc = plat_file_size(f, &size)) == 0 && size > cap)
        rc = ERR_RANGE;
    if (rc == 0 && (rc = plat_file_read(f, buf, (size_t)size, &got)) == 0 && got != size)
        rc = ERR_IO; /* shorter than its size says */
    plat_file_close(f);
    if (rc == 0)
        *ret_len = (size_t)size;
    return rc;
}

/* ---- recovery ----------------------------------------------------------------- */

#define RECOVER_BATCH 32 /* names handled per directory pass */
#define RECOVER_NAME 128 /* longer names are not ours to repair */

struct recover_scan {
    char names[RECOVER_BATCH][RECOVER_NAME]; /* NAME of each NAME.tmp / NAME.new */
    int n, more;
};

static int scan_entry(const struct plat_dirent *e, void *ctx)
{
    struct recover_scan *s = ctx;
    size_t len = strlen(e->name);
    if (e->is_dir || len <= 4 || len >= RECOVER_NAME ||
        (!str_ends_with_ci(e->name, ".tmp") && !str_ends_with_ci(e->name, ".new")))
        return 0;
    for (int i = 0; i < s->n; i++) /* NAME.tmp and NAME.new: one repair */
        if (strncmp(s->names[i], e->name, len - 4) == 0 && s->names[i][len - 4] == 0)
            return 0;
    if (s->n == RECOVER_BATCH) {
        s->more = 1;
        return 1;
    }
    memcpy(s->names[s->n], e->name, len - 4);
    s->names[s->n++][len - 4] = 0;
    return 0;
}

static void say(void (*note)(const char *, void *), void *ctx, const char *msg)
{
    if (note)
        note(msg, ctx);
    else
        diag_printf("%s\n", msg);
}

int storage_recover(const char *dir, void (*note)(const char *msg, void *ctx), void *ctx)
{
    static struct recover_scan scan; /* 4 KiB: off the firmware's small stack */
    char path[STORAGE_PATH_MAX], msg[STORAGE_PATH_MAX + 96];
    int rc, repaired = 0;

    /* Names are collected first and fixed after the listing ends: changing
     * a FAT directory while reading it is not safe. A full batch means more
     * may follow; every pass that fixes nothing ends the loop. */
    for (int pass = 0; pass < 64; pass++) {
        int progress = 0;
        scan.n = scan.more = 0;
        if ((rc = plat_dir_list(dir, scan_entry, &scan)) != 0)
            return rc;
        for (int i = 0; i < scan.n; i++) {
            int fixed = 0;
            if (fmt_snprintf(path, sizeof path, "%s%s%s", dir, *dir ? "/" : "", scan.names[i]) >=
                (int)sizeof path - 4)
                continue; /* no room for the suffix: not one of ours */
            if ((rc = finish_replace(path, &fixed)) != 0) {
                fmt_snprintf(msg, sizeof msg, "storage: %s: cannot repair: %s", path, err_str(rc));
                say(note, ctx, msg);
                continue;
            }
            if (fixed & FIXED_NEW) {
                fmt_snprintf(msg, sizeof msg,
                             "storage: %s: finished a replace cut short (kept the new copy)", path);
                say(note, ctx, msg);
            }
            if (fixed & FIXED_TMP) {
                fmt_snprintf(msg, sizeof msg, "storage: %s.tmp: removed an unfinished write",
                             path);
                say(note, ctx, msg);
            }
            repaired += fixed != 0;
            progress += fixed != 0;
        }
        if (!scan.more || !progress)
            break;
    }
    return repaired;
}
