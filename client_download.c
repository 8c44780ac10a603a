/* client_download.c - model downloads (client.h): /download, the file name,
 * the .part file written (and hashed) as bytes arrive, Range requests to
 * resume, retries with back-off, the progress bar, the SHA-256 check and
 * the rename to models/NAME. */
#include "client_int.h"

#include "errors.h"
#include "lib.h"
#include "platform.h"

#define HASH_STEP (1u << 20)    /* .part bytes hashed per step */
#define FLUSH_EVERY (8u << 20)  /* a download is flushed this often */
#define BAR_CELLS 30

/* Decimal digits at *p, advancing it; overflow-safe, at most 2^63. */
static int parse_u63(const char **p, uint64_t *ret)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return ERR_FORMAT;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > ((1ull << 63) - d) / 10)
            return ERR_FORMAT;
        v = v * 10 + d;
    }
    *p = s;
    *ret = v;
    return 0;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

int client_file_name(const char *url_path, char *ret_name, size_t cap, const char **why)
{
    static const char *const reserved[] = {".part", ".tmp", ".new"};
    const char *end = url_path, *start;
    while (*end && *end != '?')
        end++;
    start = end;
    while (start > url_path && start[-1] != '/')
        start--;
    size_t n = (size_t)(end - start);
    if (n == 0)
        return *why = "the URL does not end in a file name", ERR_INVAL;
    if (n > CLIENT_NAME_MAX || n + 1 > cap)
        return *why = "the file name is too long (48 characters at most)", ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        char ch = start[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return *why = "the file name may only have letters, digits, '.', '_' and '-'",
                   ERR_INVAL;
        if (ch == '.' && i + 1 < n && start[i + 1] == '.')
            return *why = "the file name must not contain \"..\"", ERR_INVAL;
    }
    if (start[0] == '.')
        return *why = "the file name must not start with '.'", ERR_INVAL;
    memcpy(ret_name, start, n);
    ret_name[n] = 0;
    for (size_t i = 0; i < ARRAY_LEN(reserved); i++)
        if (str_ends_with_ci(ret_name, reserved[i]))
            return *why = "names ending in .part, .tmp or .new are the app's own", ERR_INVAL;
    return 0;
}

int client_parse_content_range(const char *s, uint64_t *ret_start, uint64_t *ret_end,
                               uint64_t *ret_total)
{
    uint64_t a = UINT64_MAX, b = UINT64_MAX, t = UINT64_MAX;
    if (!client_starts_with_ci(s, "bytes "))
        return ERR_FORMAT;
    s += 6;
    while (*s == ' ')
        s++;
    if (*s == '*') {
        s++;
    } else {
        if (parse_u63(&s, &a) || *s++ != '-' || parse_u63(&s, &b) || b < a)
            return ERR_FORMAT;
    }
    if (*s++ != '/')
        return ERR_FORMAT;
    if (*s == '*') {
        s++;
        if (a == UINT64_MAX) /* "*" and "*": says nothing */
            return ERR_FORMAT;
    } else if (parse_u63(&s, &t) || (b != UINT64_MAX && b >= t)) {
        return ERR_FORMAT;
    }
    while (*s == ' ')
        s++;
    if (*s)
        return ERR_FORMAT;
    *ret_start = a;
    *ret_end = b;
    *ret_total = t;
    return 0;
}

/* The progress line: a bar with the size known, else the bytes so far. */
static void draw_bar(struct client *c, int force)
{
    char line[160], bar[BAR_CELLS + 1];
    if (c->total) {
        int cells = (int)(c->have * BAR_CELLS / c->total);
        if (cells == c->bar && !force)
            return;
        c->bar = cells;
        for (int i = 0; i < BAR_CELLS; i++)
            bar[i] = i < cells ? '#' : '.';
        bar[BAR_CELLS] = 0;
        fmt_snprintf(line, sizeof line, "Downloading %s [%s] %3d%% %.1f/%.1f MiB", c->name, bar,
                     (int)(c->have * 100 / c->total), mib(c->have), mib(c->total));
    } else {
        if (c->have - c->bar_bytes < (1u << 20) && !force && c->bar >= 0)
            return;
        c->bar = 0;
        c->bar_bytes = c->have;
        fmt_snprintf(line, sizeof line, "Downloading %s: %.1f MiB", c->name, mib(c->have));
    }
    c->hooks.progress(c->hooks.ctx, line);
    c->progress_open = 1;
}

/* Writes the buffered bytes to the part file (and flushes now and then, so
 * a power cut keeps most of a long download). */
static int write_out(struct client *c, int flush)
{
    int rc = 0;
    if (c->wlen && (rc = plat_file_write(c->file, c->wbuf, c->wlen)) == 0) {
        c->since_flush += c->wlen;
        c->wlen = 0;
    }
    if (rc == 0 && (flush || c->since_flush >= FLUSH_EVERY)) {
        rc = plat_file_flush(c->file);
        c->since_flush = 0;
    }
    return rc;
}

static void part_close(struct client *c)
{
    if (c->file)
        plat_file_close(c->file);
    if (c->hash_file)
        plat_file_close(c->hash_file);
    c->file = c->hash_file = NULL;
}

/* The download ends. keep: leave the part file for a later resume (when
 * it holds anything). */
static void download_end(struct client *c, int keep)
{
    client_conn_close(c, 1);
    int wrc = c->file ? write_out(c, 1) : 0;
    part_close(c);
    if (wrc)
        keep = 0; /* what reached the file is unknown: do not resume from it */
    if (keep && c->have) {
        client_msg(c, "download: %s kept (%llu bytes); /download with the same URL resumes it",
                   c->part, (unsigned long long)c->have);
    } else if (plat_file_delete(c->part) == 0 && c->have) {
        client_msg(c, "download: deleted %s", c->part);
    }
    c->job = JOB_NONE;
}

static void download_fail(struct client *c, int keep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void download_fail(struct client *c, int keep, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    client_msg(c, "download: %s", msg);
    download_end(c, keep);
}

/* A write failed: a full volume loses the part file (it cannot finish). */
static void write_failed(struct client *c, int rc)
{
    if (rc == ERR_VOLUME_FULL)
        download_fail(c, 0, "the volume is full after %llu bytes of %s",
                      (unsigned long long)c->have, c->name);
    else if (rc == ERR_WRITE_PROTECTED)
        download_fail(c, 0, "the volume is write-protected");
    else
        download_fail(c, 0, "cannot write %s: %s", c->part, err_str(rc));
}

/* Truncates the part file: the next bytes are the file's first. */
static int part_restart(struct client *c)
{
    part_close(c);
    c->have = c->wlen = 0;
    c->since_flush = 0;
    sha256_init(&c->sha);
    return plat_file_create(c->part, (plat_file **)&c->file);
}

static void dl_body(void *ctx, const void *data, size_t len)
{
    struct client *c = ctx;
    const char *p = data;
    if (!c->attempt_ok)
        return;
    if (c->total && len > c->total - c->have) { /* a chunked body longer than announced */
        c->attempt_ok = 0;
        c->fatal = 1;
        str_copy(c->err, sizeof c->err, "the server sent more bytes than the file's size");
        return;
    }
    if (len > CLIENT_FILE_MAX - c->have) {
        c->attempt_ok = 0;
        c->fatal = 1;
        str_copy(c->err, sizeof c->err, "the file is larger than a FAT volume can hold (4 GiB)");
        return;
    }
    sha256_update(&c->sha, p, len);
    c->have += len;
    while (len) {
        size_t k = MIN(len, WRITE_BUF - c->wlen);
        memcpy(c->wbuf + c->wlen, p, k);
        c->wlen += k;
        p += k;
        len -= k;
        if (c->wlen == WRITE_BUF) {
            int rc = write_out(c, 0);
            if (rc) {
                c->attempt_ok = 0;
                c->fatal = rc; /* negative: a write error */
                return;
            }
        }
    }
}

/* The answer's status decides what its body is: the file from 0 (200),
 * the rest from our offset (206), nothing (416: maybe complete). */
static void dl_head(void *ctx, const struct http_msg *resp)
{
    struct client *c = ctx;
    uint64_t a, b, t, len = resp->content_length >= 0 ? (uint64_t)resp->content_length : 0;
    const char *cr = http_header(resp, "Content-Range");
    c->attempt_ok = 0;
    if (resp->status == 200) {
        if (c->have) { /* Range ignored: the whole file comes again */
            client_msg(c, "download: the server ignores Range; starting over from 0");
            c->no_range = 1;
            if (part_restart(c) != 0) {
                c->fatal = 1;
                str_copy(c->err, sizeof c->err, "cannot truncate the part file");
                return;
            }
        }
        c->total = resp->content_length > 0 ? len : 0;
    } else if (resp->status == 206) {
        if (!cr || client_parse_content_range(cr, &a, &b, &t) || a != c->have ||
            (resp->content_length >= 0 && len != b - a + 1)) {
            c->no_range = c->restart = 1; /* trust no ranges from this server */
            str_copy(c->err, sizeof c->err, "the server's Content-Range does not fit our request");
            return;
        }
        c->total = t != UINT64_MAX ? t : 0;
    } else if (resp->status == 416) {
        if (cr && client_parse_content_range(cr, &a, &b, &t) == 0 && t == c->have)
            c->complete = 1; /* the part is the whole file */
        else
            c->restart = 1;
        return;
    } else {
        fmt_snprintf(c->err, sizeof c->err, "HTTP %d %s", resp->status, http_reason(resp->status));
        c->fatal = resp->status < 500; /* 5xx may pass: retried */
        return;
    }
    if (c->total > CLIENT_FILE_MAX) {
        c->fatal = 1;
        fmt_snprintf(c->err, sizeof c->err, "the file has %llu bytes, more than a FAT volume "
                     "can hold in one file (4 GiB)", (unsigned long long)c->total);
        return;
    }
    uint64_t room;
    if (c->total > c->have && plat_volume_free(&room) == 0 && c->total - c->have > room) {
        c->fatal = 1; /* refused before a byte is written */
        fmt_snprintf(c->err, sizeof c->err,
                     "not enough room: the file needs %.1f MiB more, the volume has %.1f MiB free",
                     mib(c->total - c->have), mib(room));
        return;
    }
    c->attempt_ok = 1;
    draw_bar(c, 1);
}

/* The part is complete: check the digest, rename it to its name. */
static void download_complete(struct client *c)
{
    uint8_t d[SHA256_BYTES];
    char hex[SHA256_HEX], want[SHA256_HEX];
    int rc = write_out(c, 1);
    client_conn_close(c, 0);
    if (rc) {
        write_failed(c, rc);
        return;
    }
    part_close(c);
    draw_bar(c, 1);
    sha256_final(&c->sha, d);
    sha256_to_hex(d, hex);
    if (c->check && memcmp(d, c->want, sizeof d) != 0) {
        sha256_to_hex(c->want, want);
        client_msg(c, "download: SHA-256 mismatch for %s: got %s, expected %s", c->name, hex, want);
        c->have = 0; /* nothing is kept */
        download_end(c, 0);
        client_msg(c, "download: deleted %s", c->part);
        return;
    }
    rc = plat_file_rename(c->part, c->path);
    if (rc == ERR_EXISTS) {
        client_msg(c, "download: %s exists already (FAT cannot rename over it): the download "
                   "stays in %s; delete %s and download again", c->path, c->part, c->path);
        c->job = JOB_NONE;
        return;
    }
    if (rc) {
        client_msg(c, "download: cannot rename %s to %s: %s", c->part, c->path, err_str(rc));
        c->job = JOB_NONE;
        return;
    }
    client_msg(c, "download: %s: %llu bytes, SHA-256 %s (%s)", c->path, (unsigned long long)c->have,
               hex, c->check ? "verified" : "not checked: give the digest to check it");
    c->job = JOB_NONE;
    c->hooks.downloaded(c->hooks.ctx, c->path);
}

/* Sends the GET for the bytes still missing. */
static int dl_start_http(struct client *c, uint64_t now)
{
    char range[64] = "";
    if (c->have && !c->no_range)
        fmt_snprintf(range, sizeof range, "Range: bytes=%llu-\r\n", (unsigned long long)c->have);
    struct http_client_req r = {
        .method = "GET", .host = c->url.authority, .path = c->url.path,
        .headers = range[0] ? range : NULL, .keep_alive = 0, .on_head = dl_head,
        .on_body = dl_body, .on_done = client_on_done, .ctx = c};
    c->http_done = 0;
    c->attempt_ok = c->restart = c->complete = c->fatal = 0;
    c->err[0] = 0;
    c->attempt_start_have = c->have;
    c->attempts++;
    int rc = http_client_start(&c->http, &c->st, &r, now);
    if (rc)
        str_copy(c->err, sizeof c->err, c->http.err);
    return rc;
}

/* An attempt ended without the whole file: try again after a back-off
 * (1, 2, 4, 8 s ...), or give up after CLIENT_RETRIES without progress. */
static void dl_retry(struct client *c, uint64_t now, int connected_once)
{
    client_conn_close(c, 1);
    int rc = write_out(c, 1);
    if (rc) {
        write_failed(c, rc);
        return;
    }
    if (c->have > c->attempt_start_have)
        c->fails = 0;
    c->fails++;
    if (c->fails > CLIENT_RETRIES || !connected_once) {
        download_fail(c, 1, "%s%s", c->err, c->fails > CLIENT_RETRIES ? "; giving up" : "");
        return;
    }
    if (c->restart && part_restart(c) != 0) {
        download_fail(c, 0, "cannot truncate %s", c->part);
        return;
    }
    uint64_t wait = 1000000ull << MIN(c->fails - 1, 5);
    client_msg(c, "download: %s; retrying in %llu s from byte %llu", c->err,
               (unsigned long long)(wait / 1000000), (unsigned long long)c->have);
    c->retry_at = now + wait;
    c->phase = PH_WAIT;
}

/* The exchange ended (or the head said to stop): what next. */
static void dl_attempt_over(struct client *c, uint64_t now)
{
    if (c->fatal < 0) {
        int rc = c->fatal;
        client_conn_close(c, 1);
        write_failed(c, rc);
    } else if (c->fatal) {
        client_conn_close(c, 1);
        download_fail(c, 1, "%s", c->err);
    } else if (c->complete) {
        download_complete(c);
    } else if (c->restart) {
        dl_retry(c, now, 1);
    } else if (c->http_done && c->http_rc == 0 && c->attempt_ok &&
               (!c->total || c->have == c->total)) {
        download_complete(c);
    } else {
        if (!c->err[0])
            str_copy(c->err, sizeof c->err,
                     c->http.err[0] ? c->http.err : "the connection ended early");
        dl_retry(c, now, 1);
    }
}

/* Hashes HASH_STEP more bytes of an earlier .part (resume); then opens it
 * for appending and goes on to connect. */
static int dl_hash_step(struct client *c, uint64_t now)
{
    size_t got = 0;
    int rc = plat_file_read(c->hash_file, c->wbuf, MIN((size_t)WRITE_BUF, HASH_STEP), &got);
    if (rc) {
        download_fail(c, 1, "cannot read %s: %s", c->part, err_str(rc));
        return 1;
    }
    if (got) {
        sha256_update(&c->sha, c->wbuf, got);
        c->have += got;
        return 1;
    }
    plat_file_close(c->hash_file);
    c->hash_file = NULL;
    if ((rc = plat_file_append(c->part, (plat_file **)&c->file)) != 0) {
        write_failed(c, rc);
        return 1;
    }
    if ((rc = client_conn_start(c, now)) != 0)
        download_fail(c, 1, "%s", c->err);
    return 1;
}

int client_download_step(struct client *c, uint64_t now)
{
    if (c->phase == PH_HASH)
        return dl_hash_step(c, now);
    if (c->phase == PH_WAIT) {
        if (now < c->retry_at)
            return 0;
        int rc = client_conn_start(c, now);
        if (rc && rc != ERR_AGAIN) {
            download_fail(c, 1, "%s", c->err);
            return 1;
        }
        if (rc == ERR_AGAIN) /* no address (DHCP): wait some more */
            c->retry_at = now + 1000000;
        return 1;
    }
    if (c->phase != PH_HTTP) {
        int rc = client_conn_step(c, now);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc == 0)
            rc = dl_start_http(c, now);
        if (rc) {
            dl_retry(c, now, c->attempts > 0);
            return 1;
        }
    }
    uint64_t before = c->http.bytes_in;
    int rc = http_client_poll(&c->http, now);
    if (c->job == JOB_DOWNLOAD && c->have)
        draw_bar(c, 0);
    if (rc != ERR_AGAIN || c->fatal || c->restart || c->complete)
        dl_attempt_over(c, now);
    return c->http.bytes_in != before || c->job != JOB_DOWNLOAD || c->phase != PH_HTTP;
}

int client_download_command(struct client *c, const char *args, uint64_t now_us)
{
    char url[2300];
    const char *why = NULL, *digest;
    size_t n = 0;
    uint64_t size = 0;
    int rc;
    if (c->job)
        return ERR_INVAL;
    if (!c->mem) {
        client_msg(c, "download: not available (out of memory)");
        return ERR_NOMEM;
    }
    while (args[n] && args[n] != ' ')
        n++;
    digest = args + n;
    while (*digest == ' ')
        digest++;
    if (n == 0 || n >= sizeof url) {
        client_msg(c,
                   "download: /download http://host[:port]/path/NAME [SHA256] saves models/NAME");
        return ERR_INVAL;
    }
    memcpy(url, args, n);
    url[n] = 0;
    c->check = digest[0] != 0;
    if (c->check && sha256_from_hex(digest, c->want) != 0) {
        client_msg(c, "download: the digest must be 64 hex digits (SHA-256)");
        return ERR_INVAL;
    }
    if ((rc = http_parse_url(url, &c->url, &why)) != 0 ||
        (rc = client_file_name(c->url.path, c->name, sizeof c->name, &why)) != 0) {
        client_msg(c, "download: %s: %s", url, why ? why : err_str(rc));
        return rc;
    }
    fmt_snprintf(c->path, sizeof c->path, "models/%s", c->name);
    fmt_snprintf(c->part, sizeof c->part, "models/%s.part", c->name);
    plat_file *f;
    if (plat_file_open(c->path, &f) == 0) {
        plat_file_close(f);
        client_msg(c, "download: %s exists already; delete it first (the volume's FAT cannot "
                   "replace a file by renaming)", c->path);
        return ERR_EXISTS;
    }
    if ((rc = plat_mkdir("models")) != 0) {
        client_msg(c, "download: cannot create the models directory: %s", err_str(rc));
        return rc;
    }
    sha256_init(&c->sha);
    c->have = c->total = c->wlen = c->since_flush = 0;
    c->no_range = c->fails = c->attempts = 0;
    c->bar = -1;
    c->bar_bytes = 0;
    c->ip = 0;
    c->err[0] = 0;
    c->file = c->hash_file = NULL;
    rc = plat_file_open(c->part, (plat_file **)&c->hash_file);
    if (rc == 0 && plat_file_size(c->hash_file, &size) == 0 && size > 0) {
        client_msg(c, "download: resuming %s (%llu bytes there; checking them)", c->part,
                   (unsigned long long)size);
        c->job = JOB_DOWNLOAD;
        c->phase = PH_HASH;
        return 0;
    }
    part_close(c);
    if ((rc = plat_file_create(c->part, (plat_file **)&c->file)) != 0) {
        client_msg(c, "download: cannot create %s: %s", c->part, err_str(rc));
        return rc;
    }
    c->job = JOB_DOWNLOAD;
    if ((rc = client_conn_start(c, now_us)) != 0) {
        download_fail(c, 0, "%s", c->err);
        return rc;
    }
    client_msg(c, "download: %s -> %s", url, c->path);
    return 0;
}

void client_download_stop(struct client *c)
{
    client_msg(c, "download: stopped");
    download_end(c, 1);
}
