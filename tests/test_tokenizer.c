/* test_tokenizer.c - tokenizer.bin parsing, encode and decode against the
 * llama2.c run.c reference outputs, a straightforward port of run.c's
 * algorithm (randomized differential tests), glibc sscanf for byte pieces,
 * and a table of malformed files. */
#include "testlib.h"
#include "../platform_posix.h"

#include "../errors.h"
#include "../tokenizer.h"

#include <stdint.h>

#define ARRAY_LEN_T(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------------- */

static int load_model_file(struct tokenizer *t, const char *name)
{
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/%s", test_models_dir(), name);
    size_t len;
    char *data = test_read_file(path, &len);
    CHECK_MSG(data != NULL, "cannot read %s", path);
    if (!data)
        return ERR_NOT_FOUND;
    int rc = tokenizer_init(t, data, len, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", path, err);
    free(data);
    return rc;
}

/* A tokenizer.bin image in memory. */
struct image {
    unsigned char *p;
    size_t len, cap;
};

static void img_bytes(struct image *im, const void *data, size_t n)
{
    if (im->len + n > im->cap) {
        im->cap = (im->len + n) * 2 + 64;
        im->p = realloc(im->p, im->cap);
    }
    memcpy(im->p + im->len, data, n);
    im->len += n;
}

static void img_u32(struct image *im, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    img_bytes(im, b, 4);
}

static void img_f32(struct image *im, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    img_u32(im, u);
}

static void img_record(struct image *im, float score, const char *s, size_t n)
{
    img_f32(im, score);
    img_u32(im, (uint32_t)n);
    img_bytes(im, s, n);
}

/* ---- a direct port of run.c's encode, as the reference -------------------------- */

struct ref_entry {
    const char *str;
    int id;
};

static int ref_cmp_sort(const void *a, const void *b)
{
    const struct ref_entry *x = a, *y = b;
    int c = strcmp(x->str, y->str);
    return c ? c : (x->id > y->id) - (x->id < y->id); /* = a stable sort */
}

static int ref_cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct ref_entry *)a)->str, ((const struct ref_entry *)b)->str);
}

struct ref {
    const struct tokenizer *t;
    struct ref_entry *sorted;
    char *buf;
};

static void ref_init(struct ref *r, const struct tokenizer *t)
{
    int n = t->vocab_size;
    size_t maxlen = 0;
    r->t = t;
    r->sorted = malloc((size_t)n * sizeof *r->sorted);
    for (int i = 0; i < n; i++) {
        r->sorted[i].str = t->vocab[i];
        r->sorted[i].id = i;
        if (strlen(t->vocab[i]) > maxlen)
            maxlen = strlen(t->vocab[i]);
    }
    qsort(r->sorted, (size_t)n, sizeof *r->sorted, ref_cmp_sort);
    r->buf = malloc(maxlen * 2 + 8);
}

static void ref_free(struct ref *r)
{
    free(r->sorted);
    free(r->buf);
}

static int ref_lookup(const struct ref *r, const char *s)
{
    struct ref_entry key = {s, 0};
    const struct ref_entry *e =
        bsearch(&key, r->sorted, (size_t)r->t->vocab_size, sizeof key, ref_cmp_key);
    return e ? e->id : -1;
}

/* Returns the count, or -1 where run.c would index out of the vocabulary. */
static int ref_encode(const struct ref *r, const char *text, int bos, int eos, int *tokens)
{
    const struct tokenizer *t = r->t;
    char *buf = r->buf;
    int n = 0;
    size_t len = 0;
    if (bos)
        tokens[n++] = 1;
    if (text[0]) {
        int id = ref_lookup(r, " ");
        tokens[n++] = id >= 0 ? id : ' ' + 3; /* run.c: undefined; ours: byte fallback */
    }
    for (const char *c = text; *c; c++) {
        if ((*c & 0xC0) != 0x80)
            len = 0;
        buf[len++] = *c;
        buf[len] = 0;
        if ((c[1] & 0xC0) == 0x80 && len < 4)
            continue;
        int id = ref_lookup(r, buf);
        if (id != -1) {
            tokens[n++] = id;
        } else {
            for (size_t i = 0; i < len; i++)
                tokens[n++] = (unsigned char)buf[i] + 3;
        }
        len = 0;
    }
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= t->vocab_size)
            return -1;
    for (;;) {
        float best_score = -1e10;
        int best_id = -1, best_idx = -1;
        for (int i = 0; i < n - 1; i++) {
            sprintf(buf, "%s%s", t->vocab[tokens[i]], t->vocab[tokens[i + 1]]);
            int id = ref_lookup(r, buf);
            if (id != -1 && t->scores[id] > best_score) {
                best_score = t->scores[id];
                best_id = id;
                best_idx = i;
            }
        }
        if (best_idx == -1)
            break;
        tokens[best_idx] = best_id;
        for (int i = best_idx + 1; i < n - 1; i++)
            tokens[i] = tokens[i + 1];
        n--;
    }
    if (eos)
        tokens[n++] = 2;
    return n;
}

/* Encodes with both implementations and compares; returns 1 on a match. */
static int same_as_ref(const struct ref *r, const char *text, int bos, int eos)
{
    size_t cap = strlen(text) + 3;
    int *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b), na = -1;
    int rc = tokenizer_encode(r->t, text, bos, eos, a, (int)cap, &na);
    int nb = ref_encode(r, text, bos, eos, b);
    int ok = nb < 0 ? rc == ERR_UNSUPPORTED : rc == 0 && na == nb && !memcmp(a, b, (size_t)na * sizeof *a);
    if (!ok) {
        char sa[512], sb[512];
        test_format_ids(sa, sizeof sa, a, rc ? 0 : na);
        test_format_ids(sb, sizeof sb, b, nb < 0 ? 0 : nb);
        fprintf(stderr, "  encode mismatch (bos %d eos %d, rc %d): ours [%s] ref [%s]\n", bos, eos, rc, sa, sb);
    }
    free(a);
    free(b);
    return ok;
}

/* ---- reference TSV files ------------------------------------------------------ */

/* Checks every row of a reference TSV (text \t ids-with-BOS) and that decoding
 * the ids reproduces the text. Returns the number of rows that matched. */
static int check_tsv(const char *tok_file, const char *tsv_file, int expect_rows)
{
    struct tokenizer t;
    if (load_model_file(&t, tok_file) != 0)
        return 0;
    char path[1024];
    snprintf(path, sizeof path, "%s/reference/%s", test_models_dir(), tsv_file);
    char *data = test_read_file(path, NULL);
    CHECK_MSG(data != NULL, "cannot read %s", path);
    if (!data) {
        tokenizer_free(&t);
        return 0;
    }
    int rows = 0, matched = 0, line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line_no++ == 0)
            continue; /* header */
        char *tab = strchr(line, '\t');
        CHECK_MSG(tab != NULL, "%s:%d: no tab", tsv_file, line_no);
        if (!tab)
            continue;
        *tab = 0;
        char *text = line;
        test_tsv_unescape(text);
        int want[1024], got[1024], nwant = test_parse_ids(tab + 1, want, 1024), ngot = -1;
        rows++;
        int rc = tokenizer_encode(&t, text, 1, 0, got, 1024, &ngot);
        if (rc == 0 && ngot == nwant && !memcmp(got, want, (size_t)nwant * sizeof *got)) {
            matched++;
        } else {
            char sa[2048], sb[2048];
            test_format_ids(sa, sizeof sa, got, rc ? 0 : ngot);
            test_format_ids(sb, sizeof sb, want, nwant);
            CHECK_MSG(0, "%s:%d rc %d\n    got  [%s]\n    want [%s]", tsv_file, line_no, rc, sa, sb);
            continue;
        }
        /* Exact fit works; one less is ERR_RANGE and leaves ret_n alone. */
        int n2 = -7;
        CHECK_INT(tokenizer_encode(&t, text, 1, 0, got, nwant, &n2), 0);
        CHECK_INT(n2, nwant);
        n2 = -7;
        CHECK_INT(tokenizer_encode(&t, text, 1, 0, got, nwant - 1, &n2), ERR_RANGE);
        CHECK_INT(n2, -7);
        /* Decoding (run.c decode, prev = previous id) gives the text back. */
        char dec[4096] = "";
        size_t k = 0;
        for (int i = 1; i < nwant; i++) {
            const char *p = tokenizer_decode(&t, want[i - 1], want[i]);
            size_t pl = strlen(p);
            if (k + pl < sizeof dec) {
                memcpy(dec + k, p, pl);
                k += pl;
            }
        }
        dec[k] = 0;
        CHECK_MSG(strcmp(dec, text) == 0, "%s:%d: decode gives \"%s\"", tsv_file, line_no, dec);
    }
    CHECK_INT(rows, expect_rows);
    CHECK_INT(matched, rows);
    free(data);
    tokenizer_free(&t);
    return matched;
}

TEST(tokenizer_tsv_32k)
{
    check_tsv("tokenizer.bin", "tokenizer32k_encode.tsv", 31);
}

TEST(tokenizer_tsv_512)
{
    check_tsv("tok512.bin", "tokenizer512_encode.tsv", 31);
}

TEST(tokenizer_tsv_llamacpp)
{
    check_tsv("tokenizer.bin", "tokenizer32k_llamacpp_vectors.tsv", 46);
}

/* stories260K greedy runs: the prompt encodes to the reference ids, and the
 * generated ids decode (with run.c's safe_printf filter) to the reference text. */
TEST(tokenizer_greedy_reference_text)
{
    struct tokenizer t;
    if (load_model_file(&t, "tok512.bin") != 0)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/reference/stories260K_greedy.tsv", test_models_dir());
    char *data = test_read_file(path, NULL);
    CHECK_MSG(data != NULL, "cannot read %s", path);
    int rows = 0, line_no = 0;
    char *save = NULL;
    for (char *line = data ? strtok_r(data, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line_no++ == 0)
            continue;
        char *f[4] = {line, NULL, NULL, NULL};
        for (int i = 1; i < 4; i++) {
            f[i] = f[i - 1] ? strchr(f[i - 1], '\t') : NULL;
            if (f[i])
                *f[i]++ = 0;
        }
        CHECK_MSG(f[3] != NULL, "line %d: expected 4 fields", line_no);
        if (!f[3])
            continue;
        rows++;
        test_tsv_unescape(f[0]);
        test_tsv_unescape(f[3]);
        int want[600], got[600], gen[600], n = -1;
        int nwant = test_parse_ids(f[1], want, 600), ngen = test_parse_ids(f[2], gen, 600);
        CHECK_INT(tokenizer_encode(&t, f[0], 1, 0, got, 600, &n), 0);
        CHECK_MSG(n == nwant && !memcmp(got, want, (size_t)nwant * sizeof *got), "line %d: prompt ids",
                  line_no);
        char text[8192] = "";
        size_t k = 0;
        int prev = want[nwant - 1];
        for (int i = 0; i < ngen; i++) {
            const char *p = tokenizer_decode(&t, prev, gen[i]);
            size_t pl = strlen(p);
            if (tokenizer_piece_printable(p) && k + pl < sizeof text) {
                memcpy(text + k, p, pl);
                k += pl;
            }
            prev = gen[i];
        }
        text[k] = 0;
        CHECK_MSG(strcmp(text, f[3]) == 0, "line %d: decoded text differs:\n%s", line_no, text);
    }
    CHECK_INT(rows, 5);
    free(data);
    tokenizer_free(&t);
}

/* ---- loading ------------------------------------------------------------------ */

TEST(tokenizer_load)
{
    struct tokenizer t;
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/tokenizer.bin", test_models_dir());
    int rc = tokenizer_load(&t, path, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    CHECK_INT(tokenizer_vocab_size(&t), 32000);
    CHECK_INT(t.max_token_length, 27);
    CHECK_INT(t.max_piece_len, 27);
    CHECK_STR(tokenizer_decode(&t, 0, 1), "\n<s>\n");
    tokenizer_free(&t);
    CHECK_INT(tokenizer_vocab_size(&t), 0);
    tokenizer_free(&t); /* twice is fine */

    snprintf(path, sizeof path, "%s/tok512.bin", test_models_dir());
    CHECK_INT(tokenizer_load(&t, path, err, sizeof err), 0);
    CHECK_INT(tokenizer_vocab_size(&t), 512);
    tokenizer_free(&t);

    snprintf(path, sizeof path, "%s/no-such-tokenizer.bin", test_models_dir());
    err[0] = 0;
    CHECK_INT(tokenizer_load(&t, path, err, sizeof err), ERR_NOT_FOUND);
    CHECK_MSG(strstr(err, "no-such-tokenizer.bin") != NULL, "%s", err);

    /* A GGUF file is named as such; the message names the path. */
    snprintf(path, sizeof path, "%s/stories260K.gguf", test_models_dir());
    err[0] = 0;
    CHECK_INT(tokenizer_load(&t, path, err, sizeof err), ERR_FORMAT);
    CHECK_MSG(strstr(err, "GGUF") && strstr(err, "stories260K.gguf"), "%s", err);
    CHECK_INT(tokenizer_vocab_size(&t), 0);
}

/* ---- malformed files ------------------------------------------------------------ */


TEST(tokenizer_malformed)
{
    enum { EMPTY, THREE, HEADER_ONLY, TRUNC_HEAD, TRUNC_BODY, NEG_LEN, HUGE_LEN, MIN_LEN,
           ALL_ONES_LEN, SECOND_TRUNC, NAN_SCORE, INF_SCORE, BIG_MTL, GGUF, NCASES };
    static const char *expect[NCASES] = {
        [EMPTY] = "too short", [THREE] = "too short", [HEADER_ONLY] = "no token records",
        [TRUNC_HEAD] = "record 0 at offset 4: truncated", [TRUNC_BODY] = "exceeds file end",
        [NEG_LEN] = "negative length -5", [HUGE_LEN] = "length 2147483647 exceeds file end",
        [MIN_LEN] = "negative length", [ALL_ONES_LEN] = "negative length -1",
        [SECOND_TRUNC] = "record 1 at offset 17:", [NAN_SCORE] = "not finite",
        [INF_SCORE] = "not finite", [BIG_MTL] = "max_token_length", [GGUF] = "GGUF",
    };
    for (int c = 0; c < NCASES; c++) {
        struct image im = {0};
        switch (c) {
        case EMPTY: break;
        case THREE: img_bytes(&im, "\x07\x00\x00", 3); break;
        case HEADER_ONLY: img_u32(&im, 7); break;
        case TRUNC_HEAD: img_u32(&im, 7); img_bytes(&im, "\0\0\0\0\x01", 5); break;
        case TRUNC_BODY: img_u32(&im, 7); img_f32(&im, 0); img_u32(&im, 5); img_bytes(&im, "ab", 2); break;
        case NEG_LEN: img_u32(&im, 7); img_f32(&im, 0); img_u32(&im, (uint32_t)-5); img_bytes(&im, "abcdefgh", 8); break;
        case HUGE_LEN: img_u32(&im, 7); img_f32(&im, 0); img_u32(&im, 0x7fffffff); img_bytes(&im, "ab", 2); break;
        case MIN_LEN: img_u32(&im, 7); img_f32(&im, 0); img_u32(&im, 0x80000000u); break;
        case ALL_ONES_LEN: img_u32(&im, 7); img_f32(&im, 0); img_u32(&im, 0xffffffffu); break;
        case SECOND_TRUNC: img_u32(&im, 7); img_record(&im, 0, "abcde", 5); img_f32(&im, 0); img_u32(&im, 9); break;
        case NAN_SCORE: img_u32(&im, 7); img_u32(&im, 0x7fc00000u); img_u32(&im, 1); img_bytes(&im, "a", 1); break;
        case INF_SCORE: img_u32(&im, 7); img_u32(&im, 0xff800000u); img_u32(&im, 1); img_bytes(&im, "a", 1); break;
        case BIG_MTL: img_u32(&im, 0x12345678); img_record(&im, 0, "a", 1); break;
        case GGUF: img_bytes(&im, "GGUF\x03\0\0\0", 8); img_record(&im, 0, "a", 1); break;
        }
        struct tokenizer t, zero;
        memset(&t, 0xAB, sizeof t);
        memset(&zero, 0, sizeof zero);
        char err[256] = "";
        int rc = tokenizer_init(&t, im.p, im.len, err, sizeof err);
        CHECK_MSG(rc == ERR_FORMAT, "case %d: rc %d", c, rc);
        CHECK_MSG(!strncmp(err, "tokenizer: ", 11) && strstr(err, expect[c]) && !strchr(err, '\n'),
                  "case %d: \"%s\" lacks \"%s\"", c, err, expect[c]);
        CHECK_MSG(!memcmp(&t, &zero, sizeof t), "case %d: struct not zeroed", c);
        tokenizer_free(&t);
        /* A tiny err buffer is truncated, never overrun; NULL err is fine. */
        char small[8];
        CHECK_INT(tokenizer_init(&t, im.p, im.len, small, sizeof small), ERR_FORMAT);
        CHECK_INT(strlen(small), 7);
        CHECK_INT(tokenizer_init(&t, im.p, im.len, NULL, 0), ERR_FORMAT);
        free(im.p);
    }

    /* The smallest valid file: one (empty) piece. */
    struct tokenizer t;
    struct image im = {0};
    img_u32(&im, 0);
    img_record(&im, 0, "", 0);
    CHECK_INT(tokenizer_init(&t, im.p, im.len, NULL, 0), 0);
    CHECK_INT(tokenizer_vocab_size(&t), 1);
    CHECK_STR(tokenizer_decode(&t, 1, 0), "");
    tokenizer_free(&t);
    free(im.p);

    /* Repeated init/free returns every page. */
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizer.bin", test_models_dir());
    size_t len;
    char *data = test_read_file(path, &len);
    CHECK(data != NULL);
    if (data) {
        size_t before = plat_posix_live_bytes();
        for (int i = 0; i < 50; i++) {
            CHECK_INT(tokenizer_init(&t, data, len, NULL, 0), 0);
            int ids[16], n;
            CHECK_INT(tokenizer_encode(&t, "Hello world", 1, 1, ids, 16, &n), 0);
            tokenizer_free(&t);
        }
        CHECK_MSG(plat_posix_live_bytes() == before, "%zu bytes still allocated after 50 "
                  "init/encode/free cycles", plat_posix_live_bytes() - before);
        free(data);
    }
}

/* ---- decode ----------------------------------------------------------------------- */

TEST(tokenizer_decode)
{
    struct tokenizer t;
    if (load_model_file(&t, "tokenizer.bin") != 0)
        return;
    CHECK_STR(tokenizer_decode(&t, 0, 13), "\n");   /* <0x0A> */
    CHECK_STR(tokenizer_decode(&t, 1, 13), "\n");
    CHECK_STR(tokenizer_decode(&t, 5, 3 + 0xE2), "\xE2");
    CHECK_STR(tokenizer_decode(&t, 5, 3), "");      /* <0x00>: the NUL byte */
    CHECK_STR(tokenizer_decode(&t, 1, 15043), "Hello"); /* " Hello" after BOS */
    CHECK_STR(tokenizer_decode(&t, 5, 15043), " Hello");
    CHECK_STR(tokenizer_decode(&t, 1, 29871), "");  /* " " after BOS */
    CHECK_STR(tokenizer_decode(&t, 2, 29871), " ");
    CHECK_STR(tokenizer_decode(&t, 1, 1), "\n<s>\n");
    CHECK_STR(tokenizer_decode(&t, 0, -1), "");
    CHECK_STR(tokenizer_decode(&t, 0, 32000), "");
    CHECK_STR(tokenizer_decode(NULL, 0, 5), "");
    tokenizer_free(&t);

    CHECK_INT(tokenizer_piece_printable("a"), 1);
    CHECK_INT(tokenizer_piece_printable(" "), 1);
    CHECK_INT(tokenizer_piece_printable("\n"), 1);
    CHECK_INT(tokenizer_piece_printable("\v"), 1);
    CHECK_INT(tokenizer_piece_printable("~"), 1);
    CHECK_INT(tokenizer_piece_printable("ab"), 1);
    CHECK_INT(tokenizer_piece_printable("\x01\x02"), 1);
    CHECK_INT(tokenizer_piece_printable("\x01"), 0);
    CHECK_INT(tokenizer_piece_printable("\x7f"), 0);
    CHECK_INT(tokenizer_piece_printable("\xe2"), 0);
    CHECK_INT(tokenizer_piece_printable(""), 0);
    CHECK_INT(tokenizer_piece_printable(NULL), 0);
}

/* Pieces that look more or less like "<0xXX>": decode must agree with the
 * sscanf(piece, "<0x%02hhX>", &b) == 1 test run.c uses (glibc). */
TEST(tokenizer_byte_pieces_like_sscanf)
{
    static const char *pieces[] = {
        "<0x41>", "<0x4>", "<0x41", "<0x411>", "<0x 41>", "<0x\t7f>", "<0x\n\v 9>", "<0x-1>",
        "<0x+A>", "<0x-F>", "<0x-0x1>", "<0x0x41>", "<0x0X4>", "<0X41>", "<0x>", "< 0x41>",
        "<0xZZ>", "<0x0>", "<0x00>", "<0xff>", "<0xFF>", "<0x+>", "<0x->", "<0x0g>", "<0xg>",
        "<0x 0x5>", " <0x41>", " <0x0A>", "<0x", "<0", "", "x", "<0x8>", "<0x0a>", "<0x-0>",
        "<0x+0x>", "<0xa", "<0x\x80>",
    };
    struct image im = {0};
    img_u32(&im, 16);
    for (size_t i = 0; i < ARRAY_LEN_T(pieces); i++)
        img_record(&im, 0, pieces[i], strlen(pieces[i]));
    struct tokenizer t;
    CHECK_INT(tokenizer_init(&t, im.p, im.len, NULL, 0), 0);
    for (size_t i = 0; i < ARRAY_LEN_T(pieces); i++) {
        for (int prev = 0; prev <= 1; prev++) {
            const char *p = pieces[i];
            if (prev == 1 && p[0] == ' ')
                p++;
            unsigned char b;
            char want[2] = {0, 0};
            const char *expect = p;
            if (sscanf(p, "<0x%02hhX>", &b) == 1) {
                want[0] = (char)b;
                expect = want;
            }
            const char *got = tokenizer_decode(&t, prev, (int)i);
            CHECK_MSG(!strcmp(got, expect), "piece \"%s\" prev %d: got \"%s\" want \"%s\"", pieces[i],
                      prev, got, expect);
        }
    }
    tokenizer_free(&t);
    free(im.p);
}

/* ---- encode edge cases ------------------------------------------------------------ */

TEST(tokenizer_encode_edges)
{
    struct tokenizer t;
    int ids[64], n;
    if (load_model_file(&t, "tokenizer.bin") != 0)
        return;
    /* The unmerged sequence (13 symbols) may exceed max_tokens. */
    CHECK_INT(tokenizer_encode(&t, "Hello world", 1, 0, ids, 3, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(tokenizer_encode(&t, "Hello world", 1, 1, ids, 4, &n), 0);
    CHECK_INT(n, 4);
    CHECK_INT(ids[3], 2);
    CHECK_INT(tokenizer_encode(&t, "Hello world", 1, 1, ids, 3, &n), ERR_RANGE);
    CHECK_INT(tokenizer_encode(&t, "Hello world", 0, 0, ids, 2, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(ids[0], 15043);
    CHECK_INT(tokenizer_encode(&t, "", 0, 0, NULL, 0, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(tokenizer_encode(&t, "", 1, 1, ids, 2, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(tokenizer_encode(&t, NULL, 1, 0, ids, 2, &n), ERR_INVAL);

    /* Invalid UTF-8 and odd byte runs, compared with the run.c port. */
    static const char *odd[] = {
        "\xff", "\x80", "\x80\x80\x80\x80\x80\x80", "\xe2\x82", "a\xc3", "\xf0\x9f\x98",
        "\xf0\x9f\x98\x80\x80\x80", "\xc3\xa9\xa9\xa9\xa9", "x\xfe\xff y", "\x01\x02\x7f",
        "\xf8\x88\x80\x80\x80", "\xed\xa0\x80", "  \t\n\r", "\xef\xbb\xbfhi",
    };
    struct ref r;
    ref_init(&r, &t);
    for (size_t i = 0; i < ARRAY_LEN_T(odd); i++) {
        CHECK_MSG(same_as_ref(&r, odd[i], 1, 0), "odd[%zu]", i);
        CHECK_MSG(same_as_ref(&r, odd[i], 0, 1), "odd[%zu]", i);
    }
    ref_free(&r);

    /* Long input: fast, and decodes back to itself. */
    size_t big = 200000;
    char *text = malloc(big + 1);
    static const char words[] = "Once upon a time, \xc3\xa9t\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 "
                                "\xf0\x9f\x98\x80 the little dog\n";
    for (size_t i = 0; i < big; i++)
        text[i] = words[i % (sizeof words - 1)];
    text[big] = 0;
    int *toks = malloc((big + 3) * sizeof *toks), nt = 0;
    CHECK_INT(tokenizer_encode(&t, text, 1, 0, toks, (int)big + 3, &nt), 0);
    CHECK_MSG(nt > 1000 && nt < (int)big / 2, "nt %d", nt);
    char *dec = malloc(big + 64);
    size_t k = 0;
    for (int i = 1; i < nt && k < big + 32; i++) {
        const char *p = tokenizer_decode(&t, toks[i - 1], toks[i]);
        size_t pl = strlen(p);
        if (k + pl > big + 32)
            break;
        memcpy(dec + k, p, pl);
        k += pl;
    }
    dec[k] = 0;
    CHECK(k == big && strcmp(dec, text) == 0);
    free(dec);
    free(toks);
    free(text);
    tokenizer_free(&t);

    /* Tiny vocabularies: needed ids must exist. */
    struct image im = {0};
    img_u32(&im, 8);
    img_record(&im, 0, "<unk>", 5);
    CHECK_INT(tokenizer_init(&t, im.p, im.len, NULL, 0), 0);
    CHECK_INT(tokenizer_encode(&t, "", 0, 0, ids, 4, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(tokenizer_encode(&t, "", 1, 0, ids, 4, &n), ERR_UNSUPPORTED);
    tokenizer_free(&t);
    img_record(&im, 0, "\n<s>\n", 5);
    img_record(&im, 0, "\n</s>\n", 6);
    CHECK_INT(tokenizer_init(&t, im.p, im.len, NULL, 0), 0);
    CHECK_INT(tokenizer_encode(&t, "", 1, 1, ids, 4, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(tokenizer_encode(&t, "a", 1, 0, ids, 4, &n), ERR_UNSUPPORTED); /* byte id 35 */
    tokenizer_free(&t);
    free(im.p);

    /* No " " piece: the dummy prefix becomes the byte token 0x20 + 3. BOS can
     * merge like any symbol when the vocabulary says so (run.c does too). */
    im = (struct image){0};
    img_u32(&im, 8);
    for (int i = 0; i < 259; i++) {
        char p[8];
        snprintf(p, sizeof p, i < 3 ? "#%d" : "<0x%02X>", i < 3 ? i : i - 3);
        img_record(&im, 0, p, strlen(p));
    }
    img_record(&im, -1, "a", 1);     /* 259 */
    img_record(&im, -2, "#1<0x20>", 8); /* 260: BOS + prefix */
    CHECK_INT(tokenizer_init(&t, im.p, im.len, NULL, 0), 0);
    CHECK_INT(tokenizer_encode(&t, "ab", 0, 0, ids, 8, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(ids[0], ' ' + 3);
    CHECK_INT(ids[1], 259);
    CHECK_INT(ids[2], 'b' + 3);
    CHECK_INT(tokenizer_encode(&t, "a", 1, 0, ids, 8, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(ids[0], 260);
    CHECK_INT(ids[1], 259);
    ref_init(&r, &t);
    CHECK(same_as_ref(&r, "ab", 0, 0));
    CHECK(same_as_ref(&r, "a", 1, 0));
    ref_free(&r);
    tokenizer_free(&t);
    free(im.p);
}

/* ---- randomized differential tests against the run.c port ------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11) % n;
}

/* Small alphabets make many merges, ties, duplicates and empty pieces. */
TEST(tokenizer_random_vocab_vs_runc)
{
    static const char *alpha[] = {"a", "b", "c", " ", "\xc3\xa9", "\xe4\xb8\xad", "\xc3", "\xa9", "\n"};
    static const float score_set[] = {0, -1, -2, -3, 0.5f, -1e10f, -2e10f, -1e9f};
    int bad = 0, cases = 0;
    for (int v = 0; v < 60; v++) {
        struct image im = {0};
        img_u32(&im, 16);
        int with_bytes = rnd(4) != 0;
        if (with_bytes)
            for (int i = 0; i < 259; i++) {
                char p[8];
                snprintf(p, sizeof p, i < 3 ? "#%d" : "<0x%02X>", i < 3 ? i : i - 3);
                img_record(&im, 0, p, strlen(p));
            }
        int extra = 5 + (int)rnd(120);
        for (int i = 0; i < extra; i++) {
            char p[32] = "";
            int parts = (int)rnd(5); /* 0 parts = empty piece */
            for (int j = 0; j < parts; j++)
                strcat(p, alpha[rnd(ARRAY_LEN_T(alpha))]);
            img_record(&im, score_set[rnd(ARRAY_LEN_T(score_set))], p, strlen(p));
        }
        struct tokenizer t;
        char err[256];
        int rc = tokenizer_init(&t, im.p, im.len, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        if (rc) {
            free(im.p);
            continue;
        }
        struct ref r;
        ref_init(&r, &t);
        for (int k = 0; k < 30; k++) {
            char text[128] = "";
            int parts = (int)rnd(16);
            for (int j = 0; j < parts; j++) {
                if (rnd(10) == 0) {
                    char b[2] = {(char)(1 + rnd(255)), 0};
                    strcat(text, b);
                } else {
                    strcat(text, alpha[rnd(ARRAY_LEN_T(alpha))]);
                }
            }
            int bos = (int)rnd(2), eos = (int)rnd(2);
            cases++;
            if (!same_as_ref(&r, text, bos, eos) && bad++ < 5)
                CHECK_MSG(0, "vocab %d text \"%s\"", v, text);
        }
        ref_free(&r);
        tokenizer_free(&t);
        free(im.p);
    }
    CHECK_INT(bad, 0);
    CHECK(cases == 1800);
}

TEST(tokenizer_random_text_32k_vs_runc)
{
    static const char *alpha[] = {"the", " ", "  ", "a", "e", "ing", "Hello", "\n", "\t", ",", ".",
                                  "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xd0\x9f", "1",
                                  "23", "\xff", "\x80", "'", "s", "un", "known", "\xea\xb0\x80"};
    struct tokenizer t;
    if (load_model_file(&t, "tokenizer.bin") != 0)
        return;
    struct ref r;
    ref_init(&r, &t);
    int bad = 0;
    for (int k = 0; k < 150; k++) {
        char text[256] = "";
        int parts = (int)rnd(30);
        for (int j = 0; j < parts; j++)
            strcat(text, alpha[rnd(ARRAY_LEN_T(alpha))]);
        if (!same_as_ref(&r, text, 1, 0) && bad++ < 5)
            CHECK_MSG(0, "text \"%s\"", text);
    }
    CHECK_INT(bad, 0);
    ref_free(&r);
    tokenizer_free(&t);
}
