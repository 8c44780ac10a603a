/* tokenizer.c - llama2.c tokenizer.bin: parsing, encode (score-ordered BPE
 * merges) and decode, token-exact with run.c at commit 350e04f.
 *
 * Mechanism differs from run.c where that buys safety or speed, never output:
 *  - pair lookups compare the two pieces against the index without building
 *    the concatenated string, so no scratch string (and no overflow when a
 *    file understates max_token_length);
 *  - merging uses a heap ordered by (score desc, position asc) over a linked
 *    list instead of rescanning every pair after each merge. Positions keep
 *    their original order in the list, so "highest score, leftmost on ties"
 *    picks exactly the pair run.c's scan picks.
 */
#include "tokenizer.h"

#include <stdarg.h>

#include "errors.h"
#include "lib.h"
#include "platform.h"

/* Bigger values are not a tokenizer (real ones are < 100): likely the wrong
 * file, so fail early with a clear message. */
#define MAX_TOKEN_LENGTH_LIMIT 65536u
#define FILE_SIZE_LIMIT (256ull << 20)
#define READ_CHUNK (1u << 20)

/* run.c starts its best-pair search at best_score = -1e10 and needs a
 * strictly greater score, so pieces scored at or below it never merge. */
#define MERGE_SCORE_FLOOR -1e10f

static void set_err(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
    if (!err || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int cmp_index(const void *a, const void *b)
{
    return strcmp(((const struct tokenizer_index *)a)->str,
                  ((const struct tokenizer_index *)b)->str);
}

/* ---- parsing ---------------------------------------------------------------- */

/* name is only used in messages ("tokenizer" or "tokenizer PATH"). */
static int parse(struct tokenizer *t, const unsigned char *d, size_t len, const char *name,
                 char *err, size_t errcap)
{
    if (len >= 4 && memcmp(d, "GGUF", 4) == 0) {
        set_err(err, errcap, "%s: this is a GGUF file, not a llama2.c tokenizer.bin", name);
        return ERR_FORMAT;
    }
    if (len < 4) {
        set_err(err, errcap, "%s: file too short (%zu bytes) for the 4-byte header", name, len);
        return ERR_FORMAT;
    }
    uint32_t max_token_length = rd_u32(d);
    if (max_token_length > MAX_TOKEN_LENGTH_LIMIT) {
        set_err(err, errcap, "%s: max_token_length %u is implausible (limit %u); not a tokenizer.bin?",
                name, max_token_length, MAX_TOKEN_LENGTH_LIMIT);
        return ERR_FORMAT;
    }

    /* Pass 1: validate every record and size the block. */
    uint64_t n = 0, pool = 0;
    size_t off = 4;
    while (off < len) {
        size_t left = len - off;
        if (left < 8) {
            set_err(err, errcap, "%s: record %llu at offset %zu: truncated (%zu bytes left, need 8)",
                    name, (unsigned long long)n, off, left);
            return ERR_FORMAT;
        }
        uint32_t score_bits = rd_u32(d + off), len_bits = rd_u32(d + off + 4);
        int32_t plen;
        memcpy(&plen, &len_bits, sizeof plen);
        if ((score_bits & 0x7f800000u) == 0x7f800000u) {
            set_err(err, errcap, "%s: record %llu at offset %zu: score is not finite",
                    name, (unsigned long long)n, off);
            return ERR_FORMAT;
        }
        if (plen < 0) {
            set_err(err, errcap, "%s: record %llu at offset %zu: negative length %d",
                    name, (unsigned long long)n, off, (int)plen);
            return ERR_FORMAT;
        }
        if ((uint64_t)plen > left - 8) {
            set_err(err, errcap, "%s: record %llu at offset %zu: length %d exceeds file end (%zu bytes left)",
                    name, (unsigned long long)n, off, (int)plen, left - 8);
            return ERR_FORMAT;
        }
        off += 8 + (size_t)plen;
        pool += (uint64_t)plen + 1;
        n++;
    }
    if (n == 0) {
        set_err(err, errcap, "%s: no token records after the header", name);
        return ERR_FORMAT;
    }
    /* 8 bytes per record at least, so this only trips on > 16 GiB inputs. */
    if (n > 0x7fffffff) {
        set_err(err, errcap, "%s: too many records (%llu)", name, (unsigned long long)n);
        return ERR_FORMAT;
    }

    /* One block: pointer-aligned arrays first, then floats, then bytes. */
    uint64_t sz_vocab, sz_sorted, sz_scores, total;
    if (size_mul(n, sizeof(char *), &sz_vocab) || size_mul(n, sizeof(struct tokenizer_index), &sz_sorted) ||
        size_mul(n, sizeof(float), &sz_scores) || size_add(sz_vocab, sz_sorted, &total) ||
        size_add(total, sz_scores, &total) || size_add(total, 512, &total) ||
        size_add(total, pool, &total) || total > (uint64_t)SIZE_MAX) {
        set_err(err, errcap, "%s: vocabulary too large", name);
        return ERR_FORMAT;
    }
    unsigned char *mem = plat_alloc((size_t)total);
    if (!mem) {
        set_err(err, errcap, "%s: out of memory (%llu bytes for %llu tokens)", name,
                (unsigned long long)total, (unsigned long long)n);
        return ERR_NOMEM;
    }
    int vocab_size = (int)n;
    const char **vocab = (const char **)(void *)mem;
    struct tokenizer_index *sorted = (struct tokenizer_index *)(void *)(mem + sz_vocab);
    float *scores = (float *)(void *)(mem + sz_vocab + sz_sorted);
    char *byte_pieces = (char *)(mem + sz_vocab + sz_sorted + sz_scores);
    char *p = byte_pieces + 512;

    /* Pass 2: copy (the input was fully validated above). */
    uint32_t max_piece_len = 0;
    off = 4;
    for (int i = 0; i < vocab_size; i++) {
        uint32_t plen = rd_u32(d + off + 4);
        memcpy(&scores[i], d + off, sizeof(float));
        memcpy(p, d + off + 8, plen);
        p[plen] = 0;
        vocab[i] = p;
        size_t sl = strlen(p); /* an embedded NUL ends the piece, as in run.c */
        if (sl > max_piece_len)
            max_piece_len = (uint32_t)sl;
        p += plen + 1;
        off += 8 + plen;
        sorted[i].str = vocab[i];
        sorted[i].id = i;
    }
    for (int b = 0; b < 256; b++) {
        byte_pieces[2 * b] = (char)b;
        byte_pieces[2 * b + 1] = 0;
    }

    /* Stable sort, so duplicates order like glibc's merge-sort qsort. The
     * merge scratch is temporary and not part of the tokenizer's block. */
    void *tmp = plat_alloc((size_t)sz_sorted);
    if (!tmp) {
        plat_free(mem, (size_t)total);
        set_err(err, errcap, "%s: out of memory sorting %d tokens", name, vocab_size);
        return ERR_NOMEM;
    }
    lib_sort(sorted, (size_t)n, sizeof *sorted, tmp, cmp_index);
    plat_free(tmp, (size_t)sz_sorted);

    t->mem = mem;
    t->mem_size = (size_t)total;
    t->vocab = vocab;
    t->scores = scores;
    t->sorted = sorted;
    t->byte_pieces = byte_pieces;
    t->vocab_size = vocab_size;
    t->max_token_length = max_token_length;
    t->max_piece_len = max_piece_len;
    return 0;
}

int tokenizer_init(struct tokenizer *t, const void *data, size_t len, char *err, size_t errcap)
{
    if (!t)
        return ERR_INVAL;
    memset(t, 0, sizeof *t);
    if (!data && len) {
        set_err(err, errcap, "tokenizer: no data");
        return ERR_INVAL;
    }
    return parse(t, data ? data : "", len, "tokenizer", err, errcap);
}

int tokenizer_load(struct tokenizer *t, const char *path, char *err, size_t errcap)
{
    if (!t || !path)
        return ERR_INVAL;
    memset(t, 0, sizeof *t);
    plat_file *f;
    int rc = plat_file_open(path, &f);
    if (rc) {
        set_err(err, errcap, "tokenizer %s: cannot open: %s", path, err_str(rc));
        return rc;
    }
    uint64_t size;
    if ((rc = plat_file_size(f, &size)) != 0) {
        set_err(err, errcap, "tokenizer %s: cannot get size: %s", path, err_str(rc));
        goto err_file;
    }
    if (size > FILE_SIZE_LIMIT) {
        set_err(err, errcap, "tokenizer %s: %llu bytes is too large for a tokenizer (limit %llu)",
                path, (unsigned long long)size, FILE_SIZE_LIMIT);
        rc = ERR_FORMAT;
        goto err_file;
    }
    size_t n = (size_t)size, cap = n ? n : 1;
    unsigned char *buf = plat_alloc(cap);
    if (!buf) {
        set_err(err, errcap, "tokenizer %s: out of memory (%zu bytes)", path, n);
        rc = ERR_NOMEM;
        goto err_file;
    }
    /* Chunked: some firmware FAT drivers fail on very large reads. */
    for (size_t done = 0; done < n;) {
        size_t got, want = MIN(n - done, (size_t)READ_CHUNK);
        if ((rc = plat_file_read(f, buf + done, want, &got)) != 0) {
            set_err(err, errcap, "tokenizer %s: read failed at offset %zu: %s", path, done, err_str(rc));
            goto err_buf;
        }
        if (got == 0) {
            set_err(err, errcap, "tokenizer %s: file ended after %zu of %zu bytes", path, done, n);
            rc = ERR_IO;
            goto err_buf;
        }
        done += got;
    }
    plat_file_close(f);

    /* Messages name the file: "tokenizer PATH: record ...". */
    char name[160];
    fmt_snprintf(name, sizeof name, "tokenizer %s", path);
    rc = parse(t, buf, n, name, err, errcap);
    plat_free(buf, cap);
    return rc;

err_buf:
    plat_free(buf, cap);
err_file:
    plat_file_close(f);
    return rc;
}

void tokenizer_free(struct tokenizer *t)
{
    if (!t)
        return;
    if (t->mem)
        plat_free(t->mem, t->mem_size);
    memset(t, 0, sizeof *t);
}

int tokenizer_vocab_size(const struct tokenizer *t)
{
    return t ? t->vocab_size : 0;
}

/* ---- lookup ------------------------------------------------------------------- */

/* strcmp(a ++ b, s) by sign, without building a ++ b. */
static int cmp_concat(const char *a, const char *b, const char *s)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)s;
    for (; *x; x++, y++)
        if (*x != *y)
            return (int)*x - (int)*y;
    for (x = (const unsigned char *)b; *x; x++, y++)
        if (*x != *y)
            return (int)*x - (int)*y;
    return -(int)*y;
}

/* Id of the piece a ++ b, or -1. Same probe sequence as glibc bsearch, so a
 * duplicated piece resolves to the same id run.c gets. */
static int lookup(const struct tokenizer *t, const char *a, const char *b)
{
    size_t lo = 0, hi = (size_t)t->vocab_size;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_concat(a, b, t->sorted[mid].str);
        if (c < 0)
            hi = mid;
        else if (c > 0)
            lo = mid + 1;
        else
            return t->sorted[mid].id;
    }
    return -1;
}

/* ---- encode ------------------------------------------------------------------- */

/* A symbol of the sequence being merged; dead symbols have id -1. gen changes
 * whenever the symbol's token or its right neighbour changes, which makes
 * older heap entries for the pair starting here stale. */
struct sym {
    int32_t id, prev, next;
    uint32_t gen;
};

/* A mergeable adjacent pair starting at symbol pos. */
struct cand {
    float score;
    int32_t pos;
    uint32_t gen;
    int32_t id;
};

struct merger {
    const struct tokenizer *t;
    struct sym *s;
    int32_t n;
    struct cand *heap;
    size_t hn;
};

/* Heap order = run.c's choice order: higher score first, then leftmost.
 * Scores are finite (checked at load), so "neither greater" means equal. */
static int cand_before(const struct cand *a, const struct cand *b)
{
    if (a->score > b->score)
        return 1;
    if (a->score < b->score)
        return 0;
    return a->pos < b->pos;
}

static void heap_push(struct merger *m, struct cand c)
{
    size_t i = m->hn++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_before(&c, &m->heap[parent]))
            break;
        m->heap[i] = m->heap[parent];
        i = parent;
    }
    m->heap[i] = c;
}

static struct cand heap_pop(struct merger *m)
{
    struct cand *h = m->heap, top = h[0], last = h[--m->hn];
    size_t i = 0, n = m->hn;
    if (n == 0)
        return top;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && cand_before(&h[c + 1], &h[c]))
            c++;
        if (!cand_before(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

/* Queues the pair (pos, next) if its concatenation is a piece that can merge. */
static void consider_pair(struct merger *m, int32_t pos)
{
    int32_t next = m->s[pos].next;
    if (next < 0)
        return;
    const struct tokenizer *t = m->t;
    int id = lookup(t, t->vocab[m->s[pos].id], t->vocab[m->s[next].id]);
    if (id < 0 || !(t->scores[id] > MERGE_SCORE_FLOOR))
        return;
    struct cand c = {t->scores[id], pos, m->s[pos].gen, id};
    heap_push(m, c);
}

static int push_sym(struct merger *m, int id)
{
    if (id < 0 || id >= m->t->vocab_size)
        return ERR_UNSUPPORTED;
    int32_t i = m->n++;
    m->s[i].id = id;
    m->s[i].prev = i - 1;
    m->s[i].next = -1;
    m->s[i].gen = 0;
    if (i > 0)
        m->s[i - 1].next = i;
    return 0;
}

/* Looks up a code point's bytes; missing ones become byte tokens (byte + 3). */
static int push_piece(struct merger *m, const char *piece)
{
    int id = lookup(m->t, piece, "");
    if (id >= 0)
        return push_sym(m, id);
    for (const unsigned char *c = (const unsigned char *)piece; *c; c++) {
        int rc = push_sym(m, *c + 3);
        if (rc)
            return rc;
    }
    return 0;
}

static int is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

int tokenizer_encode(const struct tokenizer *t, const char *text, int bos, int eos,
                     int *tokens, int max_tokens, int *ret_n)
{
    if (!t || !t->vocab || !text || !ret_n || max_tokens < 0 || (!tokens && max_tokens > 0))
        return ERR_INVAL;
    if ((bos && TOKENIZER_BOS >= t->vocab_size) || (eos && TOKENIZER_EOS >= t->vocab_size))
        return ERR_UNSUPPORTED;

    /* At most one symbol per byte, plus BOS and the dummy prefix. */
    size_t text_len = strlen(text);
    if (text_len > 0x7fffffff - 2)
        return ERR_RANGE;
    uint64_t cap = (uint64_t)text_len + 2, sz_syms, sz_heap, total;
    /* Each merge queues at most 2 pairs: < 3 * cap heap entries overall. */
    if (size_mul(cap, sizeof(struct sym), &sz_syms) ||
        size_mul(cap * 3, sizeof(struct cand), &sz_heap) || size_add(sz_syms, sz_heap, &total) ||
        total > (uint64_t)SIZE_MAX)
        return ERR_RANGE;
    unsigned char *scratch = plat_alloc((size_t)total);
    if (!scratch)
        return ERR_NOMEM;
    struct merger m = {t, (struct sym *)(void *)scratch, 0,
                       (struct cand *)(void *)(scratch + sz_syms), 0};
    int rc = 0;

    if (bos)
        rc = push_sym(&m, TOKENIZER_BOS);
    /* Dummy prefix (SentencePiece add_dummy_prefix), only for non-empty text. */
    if (!rc && text[0])
        rc = push_piece(&m, " ");

    /* Split into code points: a lead byte plus its continuation bytes, but at
     * most 4 bytes per piece (longer runs of continuation bytes in invalid
     * UTF-8 are cut every 4 bytes, as run.c does). */
    const unsigned char *c = (const unsigned char *)text;
    while (!rc && *c) {
        char piece[5];
        size_t n = 0;
        do
            piece[n++] = (char)*c++;
        while (n < 4 && is_continuation(*c));
        piece[n] = 0;
        rc = push_piece(&m, piece);
    }
    if (rc)
        goto out;

    for (int32_t i = 0; i + 1 < m.n; i++)
        consider_pair(&m, i);
    while (m.hn > 0) {
        struct cand best = heap_pop(&m);
        struct sym *l = &m.s[best.pos];
        if (l->id < 0 || l->gen != best.gen)
            continue; /* stale: the pair changed since it was queued */
        int32_t r = l->next;
        l->id = best.id;
        l->gen++;
        l->next = m.s[r].next;
        if (l->next >= 0)
            m.s[l->next].prev = best.pos;
        m.s[r].id = -1;
        if (l->prev >= 0) {
            m.s[l->prev].gen++; /* its right neighbour's token changed */
            consider_pair(&m, l->prev);
        }
        consider_pair(&m, best.pos);
    }

    int count = eos ? 1 : 0;
    for (int32_t i = m.n ? 0 : -1; i >= 0; i = m.s[i].next)
        count++;
    if (count > max_tokens) {
        rc = ERR_RANGE;
        goto out;
    }
    int k = 0;
    for (int32_t i = m.n ? 0 : -1; i >= 0; i = m.s[i].next)
        tokens[k++] = m.s[i].id;
    if (eos)
        tokens[k++] = TOKENIZER_EOS;
    *ret_n = k;
out:
    plat_free(scratch, (size_t)total);
    return rc;
}

/* ---- decode ------------------------------------------------------------------- */

/* C-locale isspace / isprint, without <ctype.h>. */
static int c_isspace(unsigned c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int hex_value(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? (int)(c - 'a' + 10) : -1;
}

/* The byte that glibc's sscanf(piece, "<0x%02hhX>", &b) stores when it
 * returns 1, else -1. The trailing '>' is not checked (it cannot change the
 * return value). %X skips white space, takes an optional sign and an
 * optional "0x" prefix, and the width 2 counts sign, prefix and digits. */
static int byte_piece_value(const char *piece)
{
    const unsigned char *s = (const unsigned char *)piece;
    if (s[0] != '<' || s[1] != '0' || s[2] != 'x')
        return -1;
    s += 3;
    while (c_isspace(*s))
        s++;
    int width = 2, neg = 0, have = 0;
    unsigned v = 0;
    if (*s == '-' || *s == '+') {
        neg = *s++ == '-';
        width--;
    }
    if (width > 0 && *s == '0') {
        have = 1;
        width--;
        s++;
        if (width > 0 && (*s | 0x20) == 'x') {
            width--;
            s++;
        }
    }
    for (; width > 0 && hex_value(*s) >= 0; width--, s++) {
        v = v * 16 + (unsigned)hex_value(*s);
        have = 1;
    }
    if (!have)
        return -1;
    return (int)((neg ? 0u - v : v) & 0xFF); /* strtoul negation, then (unsigned char) */
}

const char *tokenizer_decode(const struct tokenizer *t, int prev, int token)
{
    if (!t || token < 0 || token >= t->vocab_size)
        return "";
    const char *piece = t->vocab[token];
    /* SentencePiece strips the space of the first piece after BOS. */
    if (prev == TOKENIZER_BOS && piece[0] == ' ')
        piece++;
    int b = byte_piece_value(piece);
    return b >= 0 ? t->byte_pieces + 2 * b : piece;
}

int tokenizer_piece_printable(const char *piece)
{
    if (!piece || !piece[0])
        return 0;
    if (piece[1] == 0) {
        unsigned c = (unsigned char)piece[0];
        return (c >= 0x20 && c < 0x7f) || c_isspace(c);
    }
    return 1;
}
