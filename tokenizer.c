/* tokenizer.c - llama2.c tokenizer.bin: parsing, encode (score-ordered BPE
 * merges) and decode, token-exact with run.c at commit 350e04f; and the
 * calls common to every kind (decode, end-of-generation ids, dispatch of
 * tokenizer_encode(_ex) to the GGUF encoder in tokenizer_spm.c through
 * t->encode_fn, so this file links on its own).
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

void tokenizer_set_err(char *err, size_t errcap, const char *fmt, ...)
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
        tokenizer_set_err(err, errcap, "%s: this is a GGUF file, not a llama2.c tokenizer.bin", name);
        return ERR_FORMAT;
    }
    if (len < 4) {
        tokenizer_set_err(err, errcap, "%s: file too short (%zu bytes) for the 4-byte header", name, len);
        return ERR_FORMAT;
    }
    uint32_t max_token_length = rd_u32(d);
    if (max_token_length > MAX_TOKEN_LENGTH_LIMIT) {
        tokenizer_set_err(err, errcap, "%s: max_token_length %u is implausible (limit %u); not a tokenizer.bin?",
                name, max_token_length, MAX_TOKEN_LENGTH_LIMIT);
        return ERR_FORMAT;
    }

    /* Pass 1: validate every record and size the block. */
    uint64_t n = 0, pool = 0;
    size_t off = 4;
    while (off < len) {
        size_t left = len - off;
        if (left < 8) {
            tokenizer_set_err(err, errcap, "%s: record %llu at offset %zu: truncated (%zu bytes left, need 8)",
                    name, (unsigned long long)n, off, left);
            return ERR_FORMAT;
        }
        uint32_t score_bits = rd_u32(d + off), len_bits = rd_u32(d + off + 4);
        int32_t plen;
        memcpy(&plen, &len_bits, sizeof plen);
        if ((score_bits & 0x7f800000u) == 0x7f800000u) {
            tokenizer_set_err(err, errcap, "%s: record %llu at offset %zu: score is not finite",
                    name, (unsigned long long)n, off);
            return ERR_FORMAT;
        }
        if (plen < 0) {
            tokenizer_set_err(err, errcap, "%s: record %llu at offset %zu: negative length %d",
                    name, (unsigned long long)n, off, (int)plen);
            return ERR_FORMAT;
        }
        if ((uint64_t)plen > left - 8) {
            tokenizer_set_err(err, errcap, "%s: record %llu at offset %zu: length %d exceeds file end (%zu bytes left)",
                    name, (unsigned long long)n, off, (int)plen, left - 8);
            return ERR_FORMAT;
        }
        off += 8 + (size_t)plen;
        pool += (uint64_t)plen + 1;
        n++;
    }
    if (n == 0) {
        tokenizer_set_err(err, errcap, "%s: no token records after the header", name);
        return ERR_FORMAT;
    }
    /* 8 bytes per record at least, so this only trips on > 16 GiB inputs. */
    if (n > 0x7fffffff) {
        tokenizer_set_err(err, errcap, "%s: too many records (%llu)", name, (unsigned long long)n);
        return ERR_FORMAT;
    }

    /* One block: pointer-aligned arrays first, then floats, then bytes. */
    uint64_t sz_vocab, sz_sorted, sz_scores, total;
    if (size_mul(n, sizeof(char *), &sz_vocab) || size_mul(n, sizeof(struct tokenizer_index), &sz_sorted) ||
        size_mul(n, sizeof(float), &sz_scores) || size_add(sz_vocab, sz_sorted, &total) ||
        size_add(total, sz_scores, &total) || size_add(total, 512, &total) ||
        size_add(total, pool, &total) || total > (uint64_t)SIZE_MAX) {
        tokenizer_set_err(err, errcap, "%s: vocabulary too large", name);
        return ERR_FORMAT;
    }
    unsigned char *mem = plat_alloc((size_t)total);
    if (!mem) {
        tokenizer_set_err(err, errcap, "%s: out of memory (%llu bytes for %llu tokens)", name,
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
        tokenizer_set_err(err, errcap, "%s: out of memory sorting %d tokens", name, vocab_size);
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
    t->kind = TOKENIZER_LLAMA2C;
    t->bos_id = TOKENIZER_BOS;
    t->eos_id = TOKENIZER_EOS;
    t->unk_id = 0;
    t->eot_id = t->eom_id = t->pad_id = -1;
    t->add_bos = 1;
    t->add_space_prefix = 1;
    t->n_eog = 1;
    t->eog[0] = TOKENIZER_BOS; /* run.c's generate() stops on BOS */
    for (int b = 0; b < 256; b++)
        t->byte_tok[b] = b + 3 < vocab_size ? b + 3 : -1;
    return 0;
}

int tokenizer_init(struct tokenizer *t, const void *data, size_t len, char *err, size_t errcap)
{
    if (!t)
        return ERR_INVAL;
    memset(t, 0, sizeof *t);
    if (!data && len) {
        tokenizer_set_err(err, errcap, "tokenizer: no data");
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
        tokenizer_set_err(err, errcap, "tokenizer %s: cannot open: %s", path, err_str(rc));
        return rc;
    }
    uint64_t size;
    if ((rc = plat_file_size(f, &size)) != 0) {
        tokenizer_set_err(err, errcap, "tokenizer %s: cannot get size: %s", path, err_str(rc));
        goto err_file;
    }
    if (size > FILE_SIZE_LIMIT) {
        tokenizer_set_err(err, errcap, "tokenizer %s: %llu bytes is too large for a tokenizer (limit %llu)",
                path, (unsigned long long)size, FILE_SIZE_LIMIT);
        rc = ERR_FORMAT;
        goto err_file;
    }
    size_t n = (size_t)size, cap = n ? n : 1;
    unsigned char *buf = plat_alloc(cap);
    if (!buf) {
        tokenizer_set_err(err, errcap, "tokenizer %s: out of memory (%zu bytes)", path, n);
        rc = ERR_NOMEM;
        goto err_file;
    }
    /* Chunked: some firmware FAT drivers fail on very large reads. */
    for (size_t done = 0; done < n;) {
        size_t got, want = MIN(n - done, (size_t)READ_CHUNK);
        if ((rc = plat_file_read(f, buf + done, want, &got)) != 0) {
            tokenizer_set_err(err, errcap, "tokenizer %s: read failed at offset %zu: %s", path, done, err_str(rc));
            goto err_buf;
        }
        if (got == 0) {
            tokenizer_set_err(err, errcap, "tokenizer %s: file ended after %zu of %zu bytes", path, done, n);
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

struct merger {
    const struct tokenizer *t;
    struct sym *s;
    int32_t n;
    struct tok_heap heap; /* prio = score: run.c's choice order, highest then leftmost */
};

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
    struct tok_cand c = {t->scores[id], pos, m->s[pos].gen, id};
    tok_heap_push(&m->heap, c);
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

static int encode_llama2c(const struct tokenizer *t, const char *text, int bos, int eos,
                          int *tokens, int max_tokens, int *ret_n)
{
    if ((bos && TOKENIZER_BOS >= t->vocab_size) || (eos && TOKENIZER_EOS >= t->vocab_size))
        return ERR_UNSUPPORTED;

    /* At most one symbol per byte, plus BOS and the dummy prefix. */
    size_t text_len = strlen(text);
    if (text_len > 0x7fffffff - 2)
        return ERR_RANGE;
    uint64_t cap = (uint64_t)text_len + 2, sz_syms, sz_heap, total;
    /* Each merge queues at most 2 pairs: < 3 * cap heap entries overall. */
    if (size_mul(cap, sizeof(struct sym), &sz_syms) ||
        size_mul(cap * 3, sizeof(struct tok_cand), &sz_heap) || size_add(sz_syms, sz_heap, &total) ||
        total > (uint64_t)SIZE_MAX)
        return ERR_RANGE;
    unsigned char *scratch = plat_alloc((size_t)total);
    if (!scratch)
        return ERR_NOMEM;
    struct merger m = {t, (struct sym *)(void *)scratch, 0,
                       {(struct tok_cand *)(void *)(scratch + sz_syms), 0}};
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
    while (m.heap.n > 0) {
        struct tok_cand best = tok_heap_pop(&m.heap);
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

int tokenizer_encode(const struct tokenizer *t, const char *text, int bos, int eos,
                     int *tokens, int max_tokens, int *ret_n)
{
    if (!t || !t->vocab || !text || !ret_n || max_tokens < 0 || (!tokens && max_tokens > 0))
        return ERR_INVAL;
    if (t->kind == TOKENIZER_LLAMA2C)
        return encode_llama2c(t, text, bos, eos, tokens, max_tokens, ret_n);
    if (!t->encode_fn)
        return ERR_INVAL;
    return t->encode_fn(t, text, (bos ? TOK_ADD_SPECIAL : 0) | (eos ? TOK_ADD_EOS : 0), tokens,
                        max_tokens, ret_n);
}

int tokenizer_encode_ex(const struct tokenizer *t, const char *text, int flags, int *tokens,
                        int max_tokens, int *ret_n)
{
    if (!t || !t->vocab || !text || !ret_n || max_tokens < 0 || (!tokens && max_tokens > 0))
        return ERR_INVAL;
    if (t->kind == TOKENIZER_LLAMA2C)
        return encode_llama2c(t, text, (flags & (TOK_ADD_BOS | TOK_ADD_SPECIAL)) != 0,
                              (flags & TOK_ADD_EOS) != 0, tokens, max_tokens, ret_n);
    if (!t->encode_fn)
        return ERR_INVAL;
    return t->encode_fn(t, text, flags, tokens, max_tokens, ret_n);
}

int tokenizer_max_tokens(const struct tokenizer *t, size_t text_len)
{
    /* tokenizer.bin: one id per byte plus BOS, dummy prefix and EOS. GGUF:
     * SPM gives at most 3 ids per byte (a space is U+2581, 3 byte tokens)
     * plus a prefix per fragment; BPE at most 6 (an invalid byte is U+FFFD,
     * 3 bytes, each a 2-byte GPT-2 character that may fall back per byte). */
    uint64_t per = !t || t->kind == TOKENIZER_LLAMA2C ? 1 : 6, n;
    if (size_mul(text_len, per, &n) || size_add(n, 8, &n) || n > INT_MAX)
        return INT_MAX;
    return (int)n;
}

int tokenizer_is_eog(const struct tokenizer *t, int id)
{
    if (!t || id < 0 || id >= t->vocab_size)
        return 0;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return 1;
    return 0;
}

/* ---- shared by the GGUF encoders (tokenizer_spm.c, tokenizer_bpe.c) ------------- */

#define FNV_INIT 0xcbf29ce484222325ull

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static uint32_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static int span_eq(const char *p, const char *s1, size_t n1, const char *s2, size_t n2)
{
    return (n1 == 0 || memcmp(p, s1, n1) == 0) && (n2 == 0 || memcmp(p + n1, s2, n2) == 0);
}

uint32_t tok_piece_hash(const char *s1, size_t n1, const char *s2, size_t n2)
{
    return mix(fnv(fnv(FNV_INIT, s1, n1), s2, n2));
}

uint32_t tok_merge_hash(int32_t a, int32_t b)
{
    return mix((uint64_t)(uint32_t)a << 32 | (uint32_t)b);
}

int tok_lookup2(const struct tokenizer *t, const char *s1, size_t n1, const char *s2, size_t n2)
{
    if (!t->hash)
        return -1;
    uint32_t h = tok_piece_hash(s1, n1, s2, n2) & t->hash_mask;
    for (;; h = (h + 1) & t->hash_mask) {
        uint32_t v = t->hash[h];
        if (v == 0)
            return -1;
        int id = (int)(v - 1);
        if (t->piece_len[id] == n1 + n2 && span_eq(t->vocab[id], s1, n1, s2, n2))
            return id;
    }
}

int tok_out_push(struct tok_out *o, int id)
{
    if (o->n >= o->max)
        return ERR_RANGE;
    o->ids[o->n++] = id;
    return 0;
}

/* Higher prio first, then the leftmost position: run.c's and llama.cpp's
 * choice order. Priorities are finite (scores are checked at load, ranks
 * are exact in a float below 2^24), so "neither greater" means equal. */
static int cand_before(const struct tok_cand *a, const struct tok_cand *b)
{
    if (a->prio > b->prio)
        return 1;
    if (a->prio < b->prio)
        return 0;
    return a->pos < b->pos;
}

void tok_heap_push(struct tok_heap *h, struct tok_cand c)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_before(&c, &h->c[parent]))
            break;
        h->c[i] = h->c[parent];
        i = parent;
    }
    h->c[i] = c;
}

struct tok_cand tok_heap_pop(struct tok_heap *h)
{
    struct tok_cand *c = h->c, top = c[0], last = c[--h->n];
    size_t i = 0, n = h->n;
    if (n == 0)
        return top;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && cand_before(&c[k + 1], &c[k]))
            k++;
        if (!cand_before(&c[k], &last))
            break;
        c[i] = c[k];
        i = k;
    }
    c[i] = last;
    return top;
}

static int c_isspace(unsigned c);

/* First occurrence of needle (nn >= 1 bytes) in hay, or SIZE_MAX. */
static size_t find(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn > hn)
        return SIZE_MAX;
    char c0 = needle[0];
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == c0 && (nn == 1 || memcmp(hay + i + 1, needle + 1, nn - 1) == 0))
            return i;
    return SIZE_MAX;
}

/* llama.cpp tokenizer_st_partition: for each special piece, longest first,
 * every occurrence in every raw fragment is cut out, left to right. */
int32_t tok_partition(const struct tokenizer *t, const char *text, size_t len, int parse_special,
                      struct tok_frag *f)
{
    if (len == 0)
        return -1;
    int32_t n = 1, head = 0;
    f[0] = (struct tok_frag){0, (uint32_t)len, -1, -1};
    for (int si = 0; si < t->n_specials; si++) {
        int id = t->specials[si];
        uint16_t a = t->attr[id];
        if (!parse_special && (a & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN)))
            continue;
        const char *st = t->vocab[id];
        size_t sl = t->piece_len[id];
        int32_t prev = -1;
        for (int32_t i = head; i >= 0;) {
            int32_t next = f[i].next;
            if (f[i].id >= 0) {
                prev = i;
                i = next;
                continue;
            }
            size_t pos = f[i].off, end = pos + f[i].len;
            int32_t last = prev, first_new = -1;
#define APPEND(o, l, tid)                                                                   \
    do {                                                                                    \
        f[n] = (struct tok_frag){(uint32_t)(o), (uint32_t)(l), (tid), -1};                      \
        if (last >= 0 && last != prev)                                                      \
            f[last].next = n;                                                               \
        if (first_new < 0)                                                                  \
            first_new = n;                                                                  \
        last = n++;                                                                         \
    } while (0)
            for (;;) {
                size_t m = find(text + pos, end - pos, st, sl);
                if (m == SIZE_MAX)
                    break;
                size_t mpos = pos + m, llen = m;
                if (a & TOKEN_ATTR_LSTRIP)
                    while (llen > 0 && c_isspace((unsigned char)text[pos + llen - 1]))
                        llen--;
                if (llen > 0)
                    APPEND(pos, llen, -1);
                APPEND(mpos, sl, id);
                pos = mpos + sl;
                if (pos >= end)
                    break;
                if (a & TOKEN_ATTR_RSTRIP)
                    while (pos < end && c_isspace((unsigned char)text[pos]))
                        pos++;
            }
            if (first_new < 0) { /* no occurrence: the fragment stays */
                prev = i;
                i = next;
                continue;
            }
            if (pos < end)
                APPEND(pos, end - pos, -1);
#undef APPEND
            /* Replace fragment i by first_new..last. */
            if (prev >= 0)
                f[prev].next = first_new;
            else
                head = first_new;
            f[last].next = next;
            prev = last;
            i = next;
        }
    }
    return head;
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
    if (t->kind != TOKENIZER_LLAMA2C) {
        /* GGUF: the precomputed token_to_piece(special = false) text. */
        const char *s = t->dec[token];
        if (t->add_space_prefix && prev < 0 && s[0] == ' ')
            s++;
        return s;
    }
    const char *piece = t->vocab[token];
    /* SentencePiece strips the space of the first piece after BOS. */
    if (prev == TOKENIZER_BOS && piece[0] == ' ')
        piece++;
    int b = byte_piece_value(piece);
    return b >= 0 ? t->byte_pieces + 2 * b : piece;
}

int tokenizer_detokenize(const struct tokenizer *t, const int *ids, int n, char *buf, size_t cap,
                         size_t *ret_len)
{
    if (!t || (!ids && n > 0) || n < 0 || !buf || cap == 0 || !ret_len)
        return ERR_INVAL;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const char *p = tokenizer_decode(t, i ? ids[i - 1] : -1, ids[i]);
        size_t pl = strlen(p);
        if (total + pl < cap)
            memcpy(buf + total, p, pl);
        else if (total < cap)
            memcpy(buf + total, p, cap - 1 - total);
        total += pl;
    }
    buf[total < cap ? total : cap - 1] = 0;
    *ret_len = total;
    if (total >= cap)
        return ERR_RANGE;
    if (t->kind == TOKENIZER_LLAMA2C || !t->clean_spaces)
        return 0;
    /* llama_detokenize's clean_spaces passes, byte for byte. */
    char *x = buf;
    size_t m = total, k;
    k = m ? 1 : 0;
    for (size_t i = 1; i < m; i++) {
        char c = x[i];
        if (x[i - 1] == ' ' && (c == '?' || c == '!' || c == '.' || c == ','))
            k--;
        x[k++] = c;
    }
    m = k;
    k = m ? 1 : 0;
    for (size_t i = 1; i < m; i++) {
        char c = x[i];
        if (c == '\'' && i + 1 < m && x[i - 1] == ' ' && x[i + 1] == ' ') {
            k--;
            x[++i] = 0;
        }
        x[k++] = c;
    }
    m = k;
    k = m ? 1 : 0;
    for (size_t i = 1; i < m; i++) {
        char c = x[i];
        if (x[i - 1] == ' ' && c == '\'' && i + 1 < m) {
            char c1 = x[i + 1];
            if (c1 == 's' || c1 == 'm')
                k--;
            else if (i + 2 < m && ((c1 == 'r' && x[i + 2] == 'e') || (c1 == 'v' && x[i + 2] == 'e')))
                k--;
        }
        x[k++] = c;
    }
    x[k] = 0;
    *ret_len = k;
    return 0;
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
