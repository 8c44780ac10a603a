/* test_client.c - the HTTP client jobs (client.c) against an in-memory
 * server: downloads (digest, resume after a drop, a server ignoring Range,
 * a leftover .part, errors, a full volume) and remote streamed answers;
 * plus the pieces (file names, Content-Range, answer objects). */
#include "testlib.h"

#include <sys/stat.h>

#include "../client.h"
#include "../errors.h"
#include "../json.h"
#include "../lib.h"
#include "../platform_posix.h"

/* ---- the pieces ---------------------------------------------------------------------- */

TEST(client_file_names)
{
    static const struct {
        const char *path, *name; /* name NULL: refused */
    } cases[] = {
        {"/stories15M.bin", "stories15M.bin"},
        {"/a/b/tok512.bin?x=1&y=/z", "tok512.bin"},
        {"/models/Q8_0-model.gguf", "Q8_0-model.gguf"},
        {"/", NULL},
        {"/dir/", NULL},
        {"/x/..", NULL},
        {"/x/a..b", NULL},
        {"/.hidden", NULL},
        {"/a%2Fb.bin", NULL},
        {"/a b.bin", NULL},
        {"/a\\b.bin", NULL},
        {"/m.bin.part", NULL},
        {"/m.BIN.TMP", NULL},
        {"/m.new", NULL},
        {"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL}, /* 49 */
        {"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[CLIENT_NAME_MAX + 1] = "untouched";
        const char *why = NULL;
        int rc = client_file_name(cases[i].path, name, sizeof name, &why);
        if (cases[i].name) {
            CHECK_MSG(rc == 0, "%s", cases[i].path);
            CHECK_STR(name, cases[i].name);
        } else {
            CHECK_MSG(rc == ERR_INVAL && why && *why, "%s", cases[i].path);
        }
    }
}

TEST(client_content_range)
{
    uint64_t a, b, t;
    CHECK_INT(client_parse_content_range("bytes 100-199/200", &a, &b, &t), 0);
    CHECK(a == 100 && b == 199 && t == 200);
    CHECK_INT(client_parse_content_range("Bytes 0-0/*", &a, &b, &t), 0);
    CHECK(a == 0 && b == 0 && t == UINT64_MAX);
    CHECK_INT(client_parse_content_range("bytes */4096", &a, &b, &t), 0);
    CHECK(a == UINT64_MAX && t == 4096);
    static const char *const bad[] = {
        "", "bytes", "bytes 1-2", "bytes 5-4/10", "bytes 0-10/10", "bytes */*", "items 0-1/2",
        "bytes 0-1/2 x", "bytes -1-2/3", "bytes 0-1/99999999999999999999", "bytes 0-/5",
        "bytes 0-1/2/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(client_parse_content_range(bad[i], &a, &b, &t) == ERR_FORMAT, "'%s'", bad[i]);
}

TEST(client_answer_objects)
{
    static struct json_tok tok[256];
    char out[256], why[160];
    size_t n = 99;
#define ANSWER(s) client_answer_text(s, strlen(s), tok, 256, out, sizeof out, &n, why, sizeof why)
    CHECK_INT(ANSWER("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \\u00e9\"}}]}"), 0);
    CHECK(n == 5 && !memcmp(out, "Hi \xc3\xa9", 5));
    CHECK_INT(ANSWER("{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}"), 0);
    CHECK_INT(n, 0);
    CHECK_INT(ANSWER("{\"choices\":[{\"delta\":{\"content\":null},\"finish_reason\":\"stop\"}]}"), 0);
    CHECK_INT(n, 0);
    CHECK_INT(ANSWER("{\"choices\":[{\"text\":\" upon\",\"logprobs\":null}]}"), 0);
    CHECK(n == 5 && !memcmp(out, " upon", 5));
    CHECK_INT(ANSWER("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"whole\"}}]}"), 0);
    CHECK(n == 5 && !memcmp(out, "whole", 5));
    CHECK_INT(ANSWER("{\"error\":{\"message\":\"model overloaded\",\"type\":\"x\"}}"), ERR_IO);
    CHECK_STR(why, "model overloaded");
    CHECK_INT(ANSWER("{\"choices\":[]}"), ERR_FORMAT);
    CHECK_INT(ANSWER("{\"choices\":[{\"delta\":{\"content\":5}}]}"), ERR_FORMAT);
    CHECK_INT(ANSWER("{\"choices\":[{\"delta\":\"x\"}]}"), ERR_FORMAT);
    CHECK_INT(ANSWER("[1,2]"), ERR_FORMAT);
    CHECK_INT(ANSWER("{\"choices\":[{\"delta\":{\"content\":\"x\""), ERR_FORMAT);
    char big[600];
    snprintf(big, sizeof big, "{\"choices\":[{\"text\":\"%0400d\"}]}", 0);
    CHECK_INT(ANSWER(big), ERR_RANGE);
#undef ANSWER
}

/* ---- an in-memory server ----------------------------------------------------------------
 * One connection at a time. The server reads a whole request (head and
 * Content-Length body), then answers with a canned response, a few KiB per
 * step, and closes; a drop cuts the answer after drop_after body bytes. */
struct pipe1 {
    char *buf;
    size_t cap, r, w;
    int eof;
};

struct fake {
    struct pipe1 c2s, s2c;
    int open, client_closed, conns;
    /* what it serves */
    const unsigned char *file;
    size_t file_len;
    int ignore_range;         /* always 200 with the whole file */
    int status;               /* non-zero: answer this status with body */
    const char *canned;       /* a whole raw response instead of the file */
    long drop_after;          /* >= 0: the first answer stops after so many body bytes */
    size_t step_bytes;        /* bytes pushed per step */
    /* the request */
    char req[65536];
    size_t req_len;
    int answered;
    char ranges[8][64];       /* the Range header of each request ("" none) */
    char last_body[65536];
    /* the answer in flight */
    char *resp;
    size_t resp_len, resp_pos, resp_stop;
    /* what the client printed */
    char text[8192], said[8192];
    size_t text_len, said_len;
    char downloaded[128];
};

static long f_recv(void *ctx, void *buf, size_t n)
{
    struct fake *f = ctx;
    struct pipe1 *p = &f->s2c;
    if (p->r == p->w)
        return p->eof ? ERR_EOF : 0;
    size_t k = MIN(n, p->w - p->r);
    memcpy(buf, p->buf + p->r, k);
    p->r += k;
    return (long)k;
}

static long f_send(void *ctx, const void *buf, size_t n)
{
    struct fake *f = ctx;
    struct pipe1 *p = &f->c2s;
    if (f->client_closed)
        return ERR_INVAL;
    size_t k = MIN(n, p->cap - p->w);
    memcpy(p->buf + p->w, buf, k);
    p->w += k;
    return (long)k;
}

static void f_close(void *ctx)
{
    struct fake *f = ctx;
    CHECK(!f->client_closed);
    f->client_closed = 1;
}

static int f_open(void *ctx, const char *host, uint16_t port, struct http_stream *ret)
{
    struct fake *f = ctx;
    (void)host;
    (void)port;
    CHECK(!f->open || f->client_closed); /* the last one was closed first */
    f->open = 1;
    f->client_closed = 0;
    f->c2s.r = f->c2s.w = f->s2c.r = f->s2c.w = 0;
    f->c2s.eof = f->s2c.eof = 0;
    f->req_len = 0;
    f->answered = 0;
    f->conns++;
    ret->recv = f_recv;
    ret->send = f_send;
    ret->close = f_close;
    ret->ctx = f;
    return 0;
}

static void h_text(void *ctx, const char *s, size_t n)
{
    struct fake *f = ctx;
    n = MIN(n, sizeof f->text - 1 - f->text_len);
    memcpy(f->text + f->text_len, s, n);
    f->text_len += n;
    f->text[f->text_len] = 0;
}

static void h_say(void *ctx, const char *line)
{
    struct fake *f = ctx;
    f->said_len += (size_t)snprintf(f->said + f->said_len, sizeof f->said - f->said_len, "%s\n",
                                    line);
    if (f->said_len >= sizeof f->said)
        f->said_len = sizeof f->said - 1;
}

static void h_progress(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void h_downloaded(void *ctx, const char *path)
{
    struct fake *f = ctx;
    snprintf(f->downloaded, sizeof f->downloaded, "%s", path);
}

/* Builds the answer to the request in f->req. */
static void f_answer(struct fake *f)
{
    char head[512];
    size_t start = 0;
    int n_req = f->conns - 1;
    const char *range = strstr(f->req, "\r\nRange: bytes=");
    if (n_req < 8) {
        f->ranges[n_req][0] = 0;
        if (range)
            sscanf(range + 15, "%63[^\r]", f->ranges[n_req]);
    }
    f->resp_pos = 0;
    if (f->canned) {
        f->resp_len = strlen(f->canned);
        memcpy(f->resp, f->canned, f->resp_len);
        f->resp_stop = f->resp_len;
        return;
    }
    if (f->status) {
        const char *body = "{\"error\":{\"message\":\"no such file\"}}";
        f->resp_len = (size_t)sprintf(f->resp, "HTTP/1.1 %d Nope\r\nContent-Length: %zu\r\n\r\n%s",
                                      f->status, strlen(body), body);
        f->resp_stop = f->resp_len;
        return;
    }
    if (range && !f->ignore_range)
        start = strtoull(range + 15, NULL, 10);
    int h;
    if (start >= f->file_len && range && !f->ignore_range)
        h = sprintf(head, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%zu\r\n"
                          "Content-Length: 0\r\n\r\n", f->file_len);
    else if (range && !f->ignore_range)
        h = sprintf(head, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %zu-%zu/%zu\r\n"
                          "Content-Length: %zu\r\n\r\n", start, f->file_len - 1, f->file_len,
                    f->file_len - start);
    else
        h = sprintf(head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", f->file_len);
    memcpy(f->resp, head, (size_t)h);
    size_t body = start < f->file_len ? f->file_len - start : 0;
    memcpy(f->resp + h, f->file + start, body);
    f->resp_len = (size_t)h + body;
    f->resp_stop = f->resp_len;
    if (f->drop_after >= 0 && f->conns == 1)
        f->resp_stop = MIN(f->resp_len, (size_t)h + (size_t)f->drop_after);
}

/* The server's turn: take request bytes, push answer bytes. */
static void f_step(struct fake *f)
{
    if (!f->open || f->client_closed)
        return;
    struct pipe1 *in = &f->c2s;
    size_t k = MIN(in->w - in->r, sizeof f->req - 1 - f->req_len);
    memcpy(f->req + f->req_len, in->buf + in->r, k);
    in->r += k;
    f->req_len += k;
    f->req[f->req_len] = 0;
    if (!f->answered) {
        char *end = strstr(f->req, "\r\n\r\n");
        if (!end)
            return;
        const char *cl = strstr(f->req, "Content-Length: ");
        size_t body = cl ? strtoull(cl + 16, NULL, 10) : 0;
        size_t have = f->req_len - (size_t)(end + 4 - f->req);
        if (have < body)
            return;
        memcpy(f->last_body, end + 4, MIN(body, sizeof f->last_body - 1));
        f->last_body[MIN(body, sizeof f->last_body - 1)] = 0;
        f->answered = 1;
        f_answer(f);
    }
    struct pipe1 *out = &f->s2c;
    size_t n = MIN(f->step_bytes, f->resp_stop - f->resp_pos);
    n = MIN(n, out->cap - out->w);
    memcpy(out->buf + out->w, f->resp + f->resp_pos, n);
    out->w += n;
    f->resp_pos += n;
    if (f->resp_pos == f->resp_stop)
        out->eof = 1; /* the server closes (also a drop) */
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof *f);
    f->c2s.cap = f->s2c.cap = 1 << 20;
    f->c2s.buf = malloc(f->c2s.cap);
    f->s2c.buf = malloc(f->s2c.cap);
    f->resp = malloc(1 << 20);
    f->drop_after = -1;
    f->step_bytes = 3000;
    return f;
}

static void fake_free(struct fake *f)
{
    free(f->c2s.buf);
    free(f->s2c.buf);
    free(f->resp);
    free(f);
}

/* Runs the client's job to its end; virtual time leaps over back-offs.
 * Returns the steps taken. */
static int run_job(struct client *c, struct fake *f, uint64_t *now)
{
    int steps = 0;
    while (client_busy(c) && steps < 200000) {
        client_step(c, *now);
        f_step(f);
        *now += 50000;
        steps++;
    }
    CHECK(!client_busy(c));
    return steps;
}

static struct client *client_new(struct fake *f)
{
    struct client *c = calloc(1, sizeof *c);
    struct client_hooks h = {h_text, h_say, h_progress, h_downloaded, f_open, f};
    CHECK_INT(client_init(c, &h, NULL), 0);
    return c;
}

static void client_delete(struct client *c)
{
    if (getenv("TEST_VERBOSE")) /* what a user would have read */
        fputs(((struct fake *)c->hooks.ctx)->said, stderr);
    client_free(c);
    free(c);
}

static int file_exists(const char *root, const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return stat(p, &st) == 0;
}

/* 1 if root/rel holds exactly data[0..n). */
static int file_equals(const char *root, const char *rel, const void *data, size_t n)
{
    char p[512];
    size_t len = 0;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    char *got = test_read_file(p, &len);
    int ok = got && len == n && memcmp(got, data, n) == 0;
    free(got);
    return ok;
}

static unsigned char *make_file(size_t n, char hex[SHA256_HEX])
{
    unsigned char *d = malloc(n), digest[SHA256_BYTES];
    uint32_t r = 7;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        d[i] = (unsigned char)(r >> 24);
    }
    sha256(d, n, digest);
    sha256_to_hex(digest, hex);
    return d;
}

TEST(client_download_ok_and_digest)
{
    const char *root = test_root_begin("client_dl");
    char hex[SHA256_HEX], cmd[256];
    size_t n = 200000;
    unsigned char *data = make_file(n, hex);
    struct fake *f = fake_new();
    struct client *c = client_new(f);
    uint64_t now = 1000000;
    f->file = data;
    f->file_len = n;

    snprintf(cmd, sizeof cmd, "http://10.0.0.1:8000/files/m1.bin %s", hex);
    CHECK_INT(client_download_command(c, cmd, now), 0);
    run_job(c, f, &now);
    CHECK(file_equals(root, "models/m1.bin", data, n));
    CHECK(!file_exists(root, "models/m1.bin.part"));
    CHECK_STR(f->downloaded, "models/m1.bin");
    CHECK(strstr(f->said, "verified") != NULL);
    CHECK_INT(f->conns, 1);
    CHECK_STR(f->ranges[0], "");

    /* the same name again: refused, nothing touched */
    CHECK_INT(client_download_command(c, cmd, now), ERR_EXISTS);
    CHECK(strstr(f->said, "exists already") != NULL);

    /* a wrong digest: no file, no part */
    hex[0] = hex[0] == '0' ? '1' : '0';
    snprintf(cmd, sizeof cmd, "http://10.0.0.1:8000/m2.bin %s", hex);
    f->said_len = 0;
    CHECK_INT(client_download_command(c, cmd, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->said, "SHA-256 mismatch") != NULL);
    CHECK(!file_exists(root, "models/m2.bin"));
    CHECK(!file_exists(root, "models/m2.bin.part"));

    /* no digest: saved, the digest is shown */
    f->said_len = 0;
    CHECK_INT(client_download_command(c, "http://h/m3.bin", now), 0);
    run_job(c, f, &now);
    CHECK(file_equals(root, "models/m3.bin", data, n));
    CHECK(strstr(f->said, "not checked") != NULL);

    /* bad arguments */
    CHECK(client_download_command(c, "http://h/m4.bin 12ab", now) != 0);
    CHECK(client_download_command(c, "https://h/m4.bin", now) != 0);
    CHECK(client_download_command(c, "http://h/x/..", now) != 0);
    CHECK(client_download_command(c, "http://h/", now) != 0);
    CHECK(!file_exists(root, "models/m4.bin.part"));

    client_delete(c);
    fake_free(f);
    free(data);
    test_root_end();
    test_rm_tree(root);
}

TEST(client_download_resume)
{
    const char *root = test_root_begin("client_resume");
    char hex[SHA256_HEX], cmd[256];
    size_t n = 150001;
    unsigned char *data = make_file(n, hex);
    struct fake *f = fake_new();
    struct client *c = client_new(f);
    uint64_t now = 1000000;
    f->file = data;
    f->file_len = n;

    /* the first answer stops after 70000 bytes: the second asks for the rest */
    f->drop_after = 70000;
    snprintf(cmd, sizeof cmd, "http://10.0.0.1/r1.bin %s", hex);
    CHECK_INT(client_download_command(c, cmd, now), 0);
    run_job(c, f, &now);
    CHECK(file_equals(root, "models/r1.bin", data, n));
    CHECK_INT(f->conns, 2);
    CHECK_STR(f->ranges[1], "70000-");
    CHECK(strstr(f->said, "retrying") != NULL);

    /* a server that ignores Range: starts over, still the right file */
    f->conns = 0;
    f->ignore_range = 1;
    snprintf(cmd, sizeof cmd, "http://10.0.0.1/r2.bin %s", hex);
    CHECK_INT(client_download_command(c, cmd, now), 0);
    run_job(c, f, &now);
    CHECK(file_equals(root, "models/r2.bin", data, n));
    CHECK_INT(f->conns, 2);
    CHECK(strstr(f->said, "ignores Range") != NULL);
    f->ignore_range = 0;

    /* a .part left by an earlier run: hashed, then only the rest is fetched */
    f->conns = 0;
    f->drop_after = -1;
    char part[512];
    snprintf(part, sizeof part, "%s/models/r3.bin.part", root);
    CHECK_INT(test_write_file(part, data, 123456), 0);
    snprintf(cmd, sizeof cmd, "http://10.0.0.1/r3.bin %s", hex);
    CHECK_INT(client_download_command(c, cmd, now), 0);
    run_job(c, f, &now);
    CHECK(file_equals(root, "models/r3.bin", data, n));
    CHECK_INT(f->conns, 1);
    CHECK_STR(f->ranges[0], "123456-");

    /* a .part that is already whole: 416, then checked and renamed */
    f->conns = 0;
    snprintf(part, sizeof part, "%s/models/r4.bin.part", root);
    CHECK_INT(test_write_file(part, data, n), 0);
    snprintf(cmd, sizeof cmd, "http://10.0.0.1/r4.bin %s", hex);
    CHECK_INT(client_download_command(c, cmd, now), 0);
    run_job(c, f, &now);
    CHECK(file_equals(root, "models/r4.bin", data, n));

    /* the server keeps dropping without progress: gives up, keeps the part */
    f->conns = 0;
    f->drop_after = 1000;
    f->said_len = 0;
    CHECK_INT(client_download_command(c, "http://10.0.0.1/r5.bin", now), 0);
    /* every later connection is refused by having the server answer nothing */
    int steps = 0;
    while (client_busy(c) && steps++ < 200000) {
        client_step(c, now);
        if (f->conns == 1)
            f_step(f);
        else if (f->open && !f->client_closed)
            f->s2c.eof = 1; /* closed without an answer */
        now += 50000;
    }
    CHECK(!client_busy(c));
    CHECK(strstr(f->said, "giving up") != NULL);
    CHECK(file_equals(root, "models/r5.bin.part", data, 1000));
    CHECK_INT(f->conns, 1 + CLIENT_RETRIES);

    client_delete(c);
    fake_free(f);
    free(data);
    test_root_end();
    test_rm_tree(root);
}

TEST(client_download_errors)
{
    const char *root = test_root_begin("client_dlerr");
    char hex[SHA256_HEX];
    size_t n = 300000;
    unsigned char *data = make_file(n, hex);
    struct fake *f = fake_new();
    struct client *c = client_new(f);
    uint64_t now = 1000000;
    f->file = data;
    f->file_len = n;

    /* 404: one line, nothing left */
    f->status = 404;
    CHECK_INT(client_download_command(c, "http://h/e1.bin", now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->said, "HTTP 404") != NULL);
    CHECK(!file_exists(root, "models/e1.bin.part"));
    CHECK(!file_exists(root, "models/e1.bin"));
    f->status = 0;

    /* a file larger than the free space: refused before writing */
    f->said_len = 0;
    plat_posix_fail_writes_after(100000);
    CHECK_INT(client_download_command(c, "http://h/e2.bin", now), 0);
    run_job(c, f, &now);
    plat_posix_fail_writes_after(-1);
    CHECK(strstr(f->said, "not enough room: the file needs 0.3 MiB more, the volume has 0.1 MiB free") != NULL);
    CHECK(!file_exists(root, "models/e2.bin.part"));
    CHECK(!file_exists(root, "models/e2.bin"));

    /* no size announced: the volume fills up while writing, the part goes */
    static char unsized[200100];
    int head = sprintf(unsized, "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
    memset(unsized + head, 'x', sizeof unsized - 1 - (size_t)head);
    f->canned = unsized;
    f->said_len = 0;
    plat_posix_fail_writes_after(100000);
    CHECK_INT(client_download_command(c, "http://h/e2b.bin", now), 0);
    run_job(c, f, &now);
    plat_posix_fail_writes_after(-1);
    f->canned = NULL;
    CHECK(strstr(f->said, "volume is full") != NULL);
    CHECK(!file_exists(root, "models/e2b.bin.part"));
    CHECK(!file_exists(root, "models/e2b.bin"));

    /* a stop (Esc) keeps the part for later */
    f->said_len = 0;
    f->step_bytes = 1000;
    CHECK_INT(client_download_command(c, "http://h/e3.bin", now), 0);
    for (int i = 0; i < 200; i++) {
        client_step(c, now);
        f_step(f);
        now += 1000;
    }
    CHECK(client_busy(c));
    client_stop(c);
    CHECK(!client_busy(c));
    CHECK(file_exists(root, "models/e3.bin.part"));
    CHECK(strstr(f->said, "resumes it") != NULL);

    client_delete(c);
    fake_free(f);
    free(data);
    test_root_end();
    test_rm_tree(root);
}

/* ---- remote inference ---------------------------------------------------------------- */

/* A streamed answer in the chunked coding, as our own server sends it. */
static const char *sse_answer(void)
{
    static const char *const events[] = {
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Once\"},"
        "\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" upon\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\" a \\u001b[2Jtime\"}}]}\r\n\r\n",
        "data: [DONE]\n\n"};
    static char out[2048];
    size_t n = (size_t)sprintf(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        n += (size_t)sprintf(out + n, "%zx\r\n%s\r\n", strlen(events[i]), events[i]);
    sprintf(out + n, "0\r\n\r\n");
    return out;
}

TEST(client_remote_stream)
{
    size_t live = plat_posix_live_bytes();
    struct fake *f = fake_new();
    struct client *c = client_new(f);
    uint64_t now = 1000000;
    struct client_gen g = {"Be brief.", 32, 0.0f, 0.9f, "k3y"};
    f->step_bytes = 7; /* events arrive in pieces */
    f->canned = sse_answer();

    client_remote_command(c, "http://10.0.0.1:8080/v1");
    CHECK(client_remote_on(c));
    CHECK(strstr(f->said, "http://10.0.0.1:8080/v1/chat/completions") != NULL);
    CHECK_INT(client_remote_send(c, "Tell a story", &g, now), 0);
    run_job(c, f, &now);
    CHECK_STR(f->text, "Once upon a [2Jtime\n"); /* the escape character is dropped */
    CHECK(strstr(f->req, "POST /v1/chat/completions HTTP/1.1\r\n") == f->req);
    CHECK(strstr(f->req, "\r\nAuthorization: Bearer k3y\r\n") != NULL);
    CHECK(strstr(f->last_body, "\"stream\":true") != NULL);
    CHECK(strstr(f->last_body, "\"max_tokens\":32") != NULL);
    CHECK(strstr(f->last_body, "{\"role\":\"system\",\"content\":\"Be brief.\"}") != NULL);
    CHECK(strstr(f->last_body, "{\"role\":\"user\",\"content\":\"Tell a story\"}") != NULL);
    CHECK(strstr(f->said, "[remote: 3 chunks") != NULL);

    /* the next prompt carries the conversation */
    f->text_len = 0;
    CHECK_INT(client_remote_send(c, "More", &g, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->last_body, "\"content\":\"Tell a story\"},{\"role\":\"assistant\",\"content\":"
                               "\"Once upon a [2Jtime\"},{\"role\":\"user\",\"content\":\"More\"}") != NULL);
    client_remote_reset(c);
    CHECK_INT(client_remote_send(c, "Fresh", &g, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->last_body, "assistant") == NULL);

    /* the server refuses: its message in one line */
    f->said_len = 0;
    f->canned = "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 73\r\n\r\n"
                "{\"error\":{\"message\":\"missing or wrong bearer token\",\"type\":\"auth_error\"}}";
    CHECK_INT(client_remote_send(c, "x", &g, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->said, "remote: HTTP 401 Unauthorized: missing or wrong bearer token") != NULL);

    /* a malformed event stops the answer with one line */
    f->said_len = 0;
    f->canned = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\ndata: {nope\n\n";
    CHECK_INT(client_remote_send(c, "x", &g, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->said, "malformed stream event") != NULL);

    /* a server that does not stream: the whole answer at once */
    f->said_len = f->text_len = 0;
    f->canned = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
                "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"All at once.\"}}]}";
    CHECK_INT(client_remote_send(c, "x", &g, now), 0);
    run_job(c, f, &now);
    CHECK_STR(f->text, "All at once.\n");

    /* the connection closes before an answer */
    f->said_len = 0;
    f->canned = "";
    CHECK_INT(client_remote_send(c, "x", &g, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->said, "remote: http: connection closed without a response") != NULL);

    /* Esc in the middle: the part that arrived stays in the conversation */
    client_remote_reset(c);
    f->said_len = f->text_len = 0;
    f->canned = sse_answer();
    f->step_bytes = 40;
    CHECK_INT(client_remote_send(c, "Stop me", &g, now), 0);
    for (int i = 0; i < 300 && !strstr(f->text, "upon"); i++) {
        client_step(c, now);
        f_step(f);
    }
    CHECK(client_busy(c));
    client_stop(c);
    CHECK(!client_busy(c));
    CHECK(f->client_closed);
    CHECK(strstr(f->said, "[remote: stopped after 2 chunks]") != NULL);
    f->step_bytes = 7;
    CHECK_INT(client_remote_send(c, "Again", &g, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->last_body, "{\"role\":\"assistant\",\"content\":\"Once upon\"}") != NULL);

    /* the forms of a base URL, and a model name */
    static const char *const bases[][2] = {
        {"http://h:1", "http://h:1/v1/chat/completions"},
        {"http://h:1/v1/", "http://h:1/v1/chat/completions"},
        {"http://h/api/v1/chat/completions", "http://h/api/v1/chat/completions"},
        {"http://h/api//", "http://h/api/v1/chat/completions"},
        {"http://h/chat/completions", "http://h/v1/chat/completions"}};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        char want[128];
        f->said_len = 0;
        client_remote_command(c, bases[i][0]);
        snprintf(want, sizeof want, "prompts go to %s ", bases[i][1]);
        CHECK_MSG(strstr(f->said, want) != NULL, "%s: %s", bases[i][0], f->said);
    }
    client_remote_command(c, "http://10.0.0.1:8080 tiny-model");
    CHECK_INT(client_remote_send(c, "x", &g, now), 0);
    run_job(c, f, &now);
    CHECK(strstr(f->last_body, "{\"model\":\"tiny-model\",\"messages\":") == f->last_body);
    f->said_len = 0;
    client_remote_command(c, "");
    CHECK(strstr(f->said, "as tiny-model") != NULL);

    /* bad URLs are refused; off goes local */
    f->said_len = 0;
    client_remote_command(c, "https://x/");
    CHECK(strstr(f->said, "https") != NULL);
    client_remote_command(c, "off");
    CHECK(!client_remote_on(c));
    CHECK(client_remote_send(c, "x", &g, now) != 0);

    client_delete(c);
    fake_free(f);
    CHECK_INT(plat_posix_live_bytes(), live); /* request bodies and buffers returned */
}
