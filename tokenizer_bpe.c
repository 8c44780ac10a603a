/* tokenizer_bpe.c - byte-level BPE (GGUF tokenizer.ggml.model = "gpt2"):
 * the pre-tokenizers, GPT-2's byte <-> character mapping, merging by rank,
 * and the Unicode class table they need.
 *
 * The reference is llama.cpp as bundled with node-llama-cpp 3.21.1:
 * llm_tokenizer_bpe / llm_tokenizer_bpe_session (src/llama-vocab.cpp) and
 * unicode_regex_split (src/unicode.cpp). Its hand-written splitters for the
 * GPT-2, Llama 3 and Qwen 2 regexes are ported statement by statement (the
 * quirks are what the oracle does); the regexes it runs through std::regex
 * on a "collapsed" text (one byte per code point, \p{N} -> 0xD1, ...) are
 * written as scanners that match the same code points:
 *   default: [\p{P}\$\+<=>\^~\|]+ , GPT-2 , \p{N}+ , [0-9][0-9][0-9]
 *   smollm:  \p{N} , GPT-2
 * Each regex splits every piece of the previous one into its matches and the
 * gaps between them, as unicode_regex_split_stl does.
 *
 * Text is decoded to code points as unicode_cpts_from_utf8 does (a bad
 * sequence is U+FFFD for one byte), then every pre-token is re-encoded to
 * UTF-8 and each byte replaced by its GPT-2 character before merging.
 */
#include "tokenizer.h"

#include "errors.h"
#include "lib.h"

/* ---- UTF-8 (llama.cpp unicode_cpt_from_utf8 / unicode_cpt_to_utf8) ---------------- */

size_t tok_utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cpt)
{
    unsigned b0 = s[0];
    if (!(b0 & 0x80)) {
        *ret_cpt = b0;
        return 1;
    }
    if (!(b0 & 0x40))
        goto bad;
    if (!(b0 & 0x20)) {
        if (1 >= n || (s[1] & 0xC0) != 0x80)
            goto bad;
        *ret_cpt = (b0 & 0x1F) << 6 | (s[1] & 0x3Fu);
        return 2;
    }
    if (!(b0 & 0x10)) {
        if (2 >= n || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            goto bad;
        *ret_cpt = (b0 & 0x0F) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu);
        return 3;
    }
    if (!(b0 & 0x08)) {
        if (3 >= n || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            goto bad;
        uint32_t c = (b0 & 0x07) << 18 | (s[1] & 0x3Fu) << 12 | (s[2] & 0x3Fu) << 6 | (s[3] & 0x3Fu);
        /* llama.cpp throws later (unicode_cpt_to_utf8) for these. */
        *ret_cpt = c > 0x10FFFF ? 0xFFFD : c;
        return 4;
    }
bad:
    *ret_cpt = 0xFFFD;
    return 1;
}

size_t tok_utf8_encode(uint32_t c, unsigned char *out)
{
    if (c <= 0x7F) {
        out[0] = (unsigned char)c;
        return 1;
    }
    if (c <= 0x7FF) {
        out[0] = (unsigned char)(0xC0 | (c >> 6));
        out[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c <= 0xFFFF) {
        out[0] = (unsigned char)(0xE0 | (c >> 12));
        out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | ((c >> 18) & 0x07));
    out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* ---- GPT-2 bytes_to_unicode ------------------------------------------------------ */
/* Printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves;
 * the other 68 (0x00..0x20, 0x7F..0xA0, 0xAD) become U+0100..U+0143 in byte
 * order. */

uint32_t tok_bpe_byte_cpt(unsigned b)
{
    b &= 0xFF;
    if (b <= 0x20)
        return 256 + b;
    if (b >= 0x7F && b <= 0xA0)
        return 256 + 33 + (b - 0x7F);
    if (b == 0xAD)
        return 256 + 67;
    return b;
}

int tok_bpe_cpt_byte(uint32_t c)
{
    if (c < 256)
        return tok_bpe_byte_cpt(c) == c ? (int)c : -1;
    if (c < 256 + 33)
        return (int)(c - 256);
    if (c < 256 + 67)
        return (int)(c - 256 - 33 + 0x7F);
    return c == 256 + 67 ? 0xAD : -1;
}

/* ---- pre-tokenizer names (llama_vocab::impl::load) -------------------------------- */

struct pre_name {
    const char *name;
    int pre, ignore_merges, add_bos, clean_spaces;
};

/* {name, pre-tokenizer, ignore_merges, add_bos default, clean_spaces} */
static const struct pre_name pre_names[] = {
    {"default", TOKENIZER_PRE_DEFAULT, 0, 0, 1},
    {"llama3", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"llama-v3", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"llama-bpe", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"falcon3", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"falcon-h1", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"pixtral", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"midm-2.0", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"lfm2", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"jina-v5-nano", TOKENIZER_PRE_LLAMA3, 1, 1, 1},
    {"dbrx", TOKENIZER_PRE_LLAMA3, 0, 0, 1},
    {"smaug-bpe", TOKENIZER_PRE_LLAMA3, 0, 0, 1},
    {"gpt-2", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"phi-2", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"mpt", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"olmo", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"jais", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"gigachat", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"a.x-4.0", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"mellum", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"exaone4", TOKENIZER_PRE_GPT2, 0, 0, 1},
    {"trillion", TOKENIZER_PRE_GPT2, 0, 0, 0},
    {"granite-docling", TOKENIZER_PRE_GPT2, 0, 0, 0},
    {"qwen2", TOKENIZER_PRE_QWEN2, 0, 0, 0},
    {"deepseek-r1-qwen", TOKENIZER_PRE_QWEN2, 0, 0, 0},
    {"kormo", TOKENIZER_PRE_QWEN2, 0, 0, 0},
    {"f2llmv2", TOKENIZER_PRE_QWEN2, 0, 0, 0},
    {"megrez", TOKENIZER_PRE_QWEN2, 0, 0, 1},
    {"stablelm2", TOKENIZER_PRE_QWEN2, 0, 0, 1},
    {"hunyuan", TOKENIZER_PRE_QWEN2, 0, 0, 0},
    {"solar-open", TOKENIZER_PRE_QWEN2, 0, 0, 0},
    {"grok-2", TOKENIZER_PRE_QWEN2, 0, 0, 0},
    {"smollm", TOKENIZER_PRE_SMOLLM, 0, 0, 0},
    {"starcoder", TOKENIZER_PRE_SMOLLM, 0, 0, 1},
    {"refact", TOKENIZER_PRE_SMOLLM, 0, 0, 1},
    {"command-r", TOKENIZER_PRE_SMOLLM, 0, 0, 0},
    {"codeshell", TOKENIZER_PRE_SMOLLM, 0, 0, 1},
    {"exaone", TOKENIZER_PRE_SMOLLM, 0, 0, 1},
    {"minerva-7b", TOKENIZER_PRE_SMOLLM, 0, 0, 1},
    {"mellum2", TOKENIZER_PRE_SMOLLM, 0, 0, 1},
};

int tok_bpe_pre_from_name(const char *name, int *ret_pre, int *ret_ignore_merges, int *ret_add_bos,
                          int *ret_clean_spaces)
{
    for (size_t i = 0; i < ARRAY_LEN(pre_names); i++)
        if (!strcmp(name, pre_names[i].name)) {
            *ret_pre = pre_names[i].pre;
            *ret_ignore_merges = pre_names[i].ignore_merges;
            *ret_add_bos = pre_names[i].add_bos;
            *ret_clean_spaces = pre_names[i].clean_spaces;
            return 0;
        }
    return ERR_UNSUPPORTED;
}

/* ---- code point classes ------------------------------------------------------------ */

#define CPT_RUNS 1789
static const uint32_t cpt_runs[CPT_RUNS]; /* generated table at the end of the file */

int tok_cpt_class(uint32_t c)
{
    if (c > 0x10FFFF)
        return TOK_CPT_OTHER;
    /* the last run starting at or before c */
    size_t lo = 0, hi = CPT_RUNS;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((cpt_runs[mid] >> 2) <= c)
            lo = mid;
        else
            hi = mid;
    }
    return (int)(cpt_runs[lo] & 3);
}

int tok_cpt_is_space(uint32_t c)
{
    /* llama.cpp unicode_set_whitespace (Unicode White_Space) */
    if (c <= 0x20)
        return c == 0x20 || (c >= 0x09 && c <= 0x0D);
    if (c < 0x85)
        return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* ---- pre-tokenizers --------------------------------------------------------------- */

enum { F_IN = 1, F_L = 2, F_N = 4, F_WS = 8, F_P = 16 };
#define OOR 0xFFFFFFFFu

static uint8_t cpt_flags(uint32_t c)
{
    int k = tok_cpt_class(c);
    return (uint8_t)(F_IN | (k == TOK_CPT_LETTER ? F_L : 0) | (k == TOK_CPT_NUMBER ? F_N : 0) |
                     (k == TOK_CPT_PUNCT ? F_P : 0) | (tok_cpt_is_space(c) ? F_WS : 0));
}

/* One piece [ini, end) being split, as the lambdas of llama.cpp's
 * unicode_regex_split_custom_* see it. */
struct seg {
    const uint32_t *c;
    const uint8_t *fl;
    size_t ini, end, prev_end;
    uint32_t *out;
    size_t nout;
};

static uint32_t get_cpt(const struct seg *x, size_t p)
{
    return p >= x->ini && p < x->end ? x->c[p] : OOR;
}

static unsigned get_fl(const struct seg *x, size_t p)
{
    return p >= x->ini && p < x->end ? x->fl[p] : 0;
}

static size_t add_tok(struct seg *x, size_t end)
{
    size_t len = end - x->prev_end;
    if (len > 0)
        x->out[x->nout++] = (uint32_t)len;
    x->prev_end = end;
    return len;
}

/* The last alternatives of both splits, \s+(?!\S)|\s+ (and then any other
 * single code point) for the nws whitespace at pos: a run followed by text
 * leaves its last space to that text. Returns the end of the piece. */
static size_t whitespace_run(struct seg *x, size_t pos, size_t nws)
{
    if (nws > 1 && get_cpt(x, pos + nws) != OOR)
        pos += nws - 1;
    else
        pos += nws > 0 ? nws : 1;
    add_tok(x, pos);
    return pos;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (unicode_regex_split_custom_gpt2) */
static void split_gpt2(struct seg *x)
{
    size_t pos = x->ini;
    while (pos < x->end) {
        uint32_t cpt = get_cpt(x, pos);
        unsigned f = get_fl(x, pos);
        if (cpt == '\'' && pos + 1 < x->end) {
            uint32_t n1 = get_cpt(x, pos + 1);
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
                pos += add_tok(x, pos + 2);
                continue;
            }
            if (pos + 2 < x->end) {
                uint32_t n2 = get_cpt(x, pos + 2);
                if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
                    pos += add_tok(x, pos + 3);
                    continue;
                }
            }
        }
        unsigned f2 = cpt == ' ' ? get_fl(x, pos + 1) : f;
        if (f2 & F_L) {
            pos += cpt == ' ';
            while (f2 & F_L)
                f2 = get_fl(x, ++pos);
            add_tok(x, pos);
            continue;
        }
        if (f2 & F_N) {
            pos += cpt == ' ';
            while (f2 & F_N)
                f2 = get_fl(x, ++pos);
            add_tok(x, pos);
            continue;
        }
        if (!(f2 & (F_WS | F_L | F_N)) && f2) {
            pos += cpt == ' ';
            while (!(f2 & (F_WS | F_L | F_N)) && f2)
                f2 = get_fl(x, ++pos);
            add_tok(x, pos);
            continue;
        }
        size_t nws = 0;
        while (get_fl(x, pos + nws) & F_WS)
            nws++;
        pos = whitespace_run(x, pos, nws);
    }
}

static uint32_t ascii_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * with D = 3 (unicode_regex_split_custom_llama3) or 1 (..._qwen2). Only
 * 'A'..'Z' lower-case to the letters tested (llama.cpp's unicode_tolower
 * maps no other code point to s, t, r, e, v, m, l or d). */
static void split_llama3(struct seg *x, size_t max_digits)
{
    size_t pos = x->ini;
    while (pos < x->end) {
        uint32_t cpt = get_cpt(x, pos);
        unsigned f = get_fl(x, pos);
        if (cpt == '\'' && pos + 1 < x->end) {
            uint32_t n1 = ascii_lower(get_cpt(x, pos + 1));
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
                pos += add_tok(x, pos + 2);
                continue;
            }
            if (pos + 2 < x->end) {
                uint32_t n2 = ascii_lower(get_cpt(x, pos + 2));
                if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
                    pos += add_tok(x, pos + 3);
                    continue;
                }
            }
        }
        if (!(cpt == '\r' || cpt == '\n' || (f & F_N))) {
            if ((f & F_L) || (get_fl(x, pos + 1) & F_L)) {
                pos++;
                while (get_fl(x, pos) & F_L)
                    pos++;
                add_tok(x, pos);
                continue;
            }
        }
        if (f & F_N) {
            size_t ini = pos;
            while (get_fl(x, pos) & F_N) {
                if (++pos - ini >= max_digits) {
                    add_tok(x, pos);
                    ini = pos;
                }
            }
            add_tok(x, pos);
            continue;
        }
        unsigned f2 = cpt == ' ' ? get_fl(x, pos + 1) : f;
        if (!(f2 & (F_WS | F_L | F_N)) && f) {
            pos += cpt == ' ';
            while (!(f2 & (F_WS | F_L | F_N)) && f2)
                f2 = get_fl(x, ++pos);
            uint32_t c2 = get_cpt(x, pos);
            while (c2 == '\r' || c2 == '\n')
                c2 = get_cpt(x, ++pos);
            add_tok(x, pos);
            continue;
        }
        size_t nws = 0, last_rn = 0;
        while (get_fl(x, pos + nws) & F_WS) {
            uint32_t c2 = get_cpt(x, pos + nws);
            if (c2 == '\r' || c2 == '\n')
                last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn > 0) {
            pos = last_rn;
            add_tok(x, pos);
            continue;
        }
        pos = whitespace_run(x, pos, nws);
    }
}

/* The std::regex passes: matches of a class (runs, single code points, or
 * runs of exactly three ASCII digits) and the gaps between them. */
enum { M_PUNCT_RUN, M_NUM_RUN, M_NUM_ONE, M_DIGIT3 };

static int is_default_punct(const struct seg *x, size_t p)
{
    /* [\p{P}\$\+<=>\^~\|] on the collapsed text: ASCII punctuation (the
     * P category of '!'..'}' minus '`'), $+<=>^~| and non-ASCII \p{P}. */
    uint32_t c = x->c[p];
    return (x->fl[p] & F_P) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' ||
           c == '^' || c == '~' || c == '|';
}

static int is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static void split_class(struct seg *x, int mode)
{
    size_t pos = x->ini;
    while (pos < x->end) {
        size_t mlen = 0;
        switch (mode) {
        case M_PUNCT_RUN:
            while (pos + mlen < x->end && is_default_punct(x, pos + mlen))
                mlen++;
            break;
        case M_NUM_RUN:
            while (pos + mlen < x->end && (x->fl[pos + mlen] & F_N))
                mlen++;
            break;
        case M_NUM_ONE:
            mlen = (x->fl[pos] & F_N) ? 1 : 0;
            break;
        default:
            mlen = pos + 3 <= x->end && is_digit(x->c[pos]) && is_digit(x->c[pos + 1]) &&
                   is_digit(x->c[pos + 2]) ? 3 : 0;
            break;
        }
        if (mlen == 0) {
            pos++;
            continue;
        }
        add_tok(x, pos); /* the gap before the match */
        pos += mlen;
        add_tok(x, pos);
    }
    add_tok(x, x->end);
}

enum { P_GPT2, P_LLAMA3, P_QWEN2, P_PUNCT, P_NUM_RUN, P_NUM_ONE, P_DIGIT3 };

/* One pass over every piece in (in, nin) into out; returns the count. */
static size_t pass(int kind, const uint32_t *c, const uint8_t *fl, const uint32_t *in, size_t nin,
                   uint32_t *out)
{
    struct seg x = {c, fl, 0, 0, 0, out, 0};
    size_t start = 0;
    for (size_t i = 0; i < nin; i++) {
        x.ini = x.prev_end = start;
        x.end = start + in[i];
        switch (kind) {
        case P_GPT2: split_gpt2(&x); break;
        case P_LLAMA3: split_llama3(&x, 3); break;
        case P_QWEN2: split_llama3(&x, 1); break;
        case P_PUNCT: split_class(&x, M_PUNCT_RUN); break;
        case P_NUM_RUN: split_class(&x, M_NUM_RUN); break;
        case P_NUM_ONE: split_class(&x, M_NUM_ONE); break;
        default: split_class(&x, M_DIGIT3); break;
        }
        start = x.end;
    }
    return x.nout;
}

/* fl: the flags of each code point (n bytes). */
static size_t pretokenize(int pre, const uint32_t *cpts, const uint8_t *fl, size_t n, uint32_t *lens,
                          uint32_t *tmp)
{
    static const int passes[][5] = {
        [TOKENIZER_PRE_DEFAULT] = {P_PUNCT, P_GPT2, P_NUM_RUN, P_DIGIT3, -1},
        [TOKENIZER_PRE_GPT2] = {P_GPT2, -1},
        [TOKENIZER_PRE_LLAMA3] = {P_LLAMA3, -1},
        [TOKENIZER_PRE_QWEN2] = {P_QWEN2, -1},
        [TOKENIZER_PRE_SMOLLM] = {P_NUM_ONE, P_GPT2, -1},
    };
    if (n == 0)
        return 0;
    if (pre < 0 || pre > TOKENIZER_PRE_SMOLLM)
        pre = TOKENIZER_PRE_DEFAULT;
    uint32_t *cur = lens, *other = tmp;
    size_t count = 1;
    cur[0] = (uint32_t)n;
    for (int i = 0; i < 5 && passes[pre][i] >= 0; i++) {
        count = pass(passes[pre][i], cpts, fl, cur, count, other);
        uint32_t *sw = cur;
        cur = other;
        other = sw;
    }
    if (cur != lens)
        memcpy(lens, cur, count * sizeof *lens);
    return count;
}

size_t tok_pretokenize(int pre, const uint32_t *cpts, size_t n, uint8_t *fl, uint32_t *lens,
                       uint32_t *tmp)
{
    for (size_t i = 0; i < n; i++)
        fl[i] = cpt_flags(cpts[i]);
    return pretokenize(pre, cpts, fl, n, lens, tmp);
}

/* ---- merging (llm_tokenizer_bpe_session::tokenize) ------------------------------------ */

struct bpe_sym {
    uint32_t off, len; /* in the word buffer; len 0: merged away */
    int32_t prev, next, id;
    uint32_t gen;
};

/* Scratch for a fragment of n bytes: code points, their flags, two piece
 * lists, the word buffer (each byte -> <= 3 bytes re-encoded -> <= 2 bytes
 * each), the symbols and the heap. */
struct bpe_layout {
    uint64_t cpts, fl, lens, tmp, word, syms, heap, total;
};

static int bpe_lay(size_t n, struct bpe_layout *y)
{
    uint64_t nn = (uint64_t)n + 1, off = 0;
    if (nn > (1ull << 31))
        return ERR_RANGE;
#define PART(field, bytes)                \
    do {                                  \
        y->field = off;                   \
        off += ((bytes) + 7) & ~7ull;     \
    } while (0)
    PART(cpts, nn * 4);
    PART(fl, nn);
    PART(lens, nn * 4);
    PART(tmp, nn * 4);
    PART(word, 6 * nn + 8);
    PART(syms, 3 * nn * sizeof(struct bpe_sym));
    PART(heap, 9 * nn * sizeof(struct tok_cand));
#undef PART
    y->total = off;
    return 0;
}

uint64_t tok_bpe_scratch_bytes(size_t n)
{
    struct bpe_layout y;
    return bpe_lay(n, &y) ? 0 : y.total;
}

static int32_t find_merge(const struct tokenizer *t, int32_t a, int32_t b)
{
    if (!t->merge_hash || a < 0 || b < 0)
        return -1;
    for (uint32_t h = tok_merge_hash(a, b) & t->merge_mask;; h = (h + 1) & t->merge_mask) {
        uint32_t v = t->merge_hash[h];
        if (v == 0)
            return -1;
        const struct tokenizer_merge *m = &t->merges[v - 1];
        if (m->a == a && m->b == b)
            return (int32_t)(v - 1);
    }
}

static void bpe_try(const struct tokenizer *t, struct bpe_sym *s, struct tok_heap *h, int32_t left)
{
    if (left < 0 || s[left].next < 0)
        return;
    int32_t m = find_merge(t, s[left].id, s[s[left].next].id);
    if (m < 0)
        return;
    struct tok_cand c = {-(float)t->merges[m].rank, left, s[left].gen, t->merges[m].result};
    tok_heap_push(h, c);
}

/* Merges one pre-token (word, wl bytes of GPT-2 characters) into out. */
static int bpe_word(const struct tokenizer *t, const char *word, size_t wl, struct bpe_sym *sym,
                    struct tok_heap *h, struct tok_out *out)
{
    int rc;
    if (t->ignore_merges) {
        int id = tok_lookup2(t, word, wl, NULL, 0);
        if (id >= 0)
            return tok_out_push(out, id);
    }
    static const uint8_t utf8_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    int32_t ns = 0;
    for (size_t off = 0; off < wl;) {
        size_t l = utf8_len[(unsigned char)word[off] >> 4];
        if (l > wl - off)
            l = wl - off;
        int id = tok_lookup2(t, word + off, l, NULL, 0);
        sym[ns] = (struct bpe_sym){(uint32_t)off, (uint32_t)l, ns - 1, off + l == wl ? -1 : ns + 1,
                                   id, 0};
        ns++;
        off += l;
    }
    h->n = 0;
    for (int32_t i = 0; i + 1 < ns; i++)
        bpe_try(t, sym, h, i);
    while (h->n > 0) {
        struct tok_cand c = tok_heap_pop(h);
        struct bpe_sym *l = &sym[c.pos];
        if (l->len == 0 || l->gen != c.gen)
            continue; /* stale */
        int32_t r = l->next;
        l->len += sym[r].len;
        l->id = c.id;
        sym[r].len = 0;
        l->next = sym[r].next;
        if (l->next >= 0)
            sym[l->next].prev = c.pos;
        l->gen++;
        if (l->prev >= 0) {
            sym[l->prev].gen++;
            bpe_try(t, sym, h, l->prev);
        }
        bpe_try(t, sym, h, c.pos);
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = sym[i].next) {
        if (sym[i].id >= 0) {
            if ((rc = tok_out_push(out, sym[i].id)) != 0)
                return rc;
            continue;
        }
        /* not a piece: each byte of its text alone, if that is a piece */
        for (uint32_t k = 0; k < sym[i].len; k++) {
            int id = tok_lookup2(t, word + sym[i].off + k, 1, NULL, 0);
            if (id >= 0 && (rc = tok_out_push(out, id)) != 0)
                return rc;
        }
    }
    return 0;
}

int tok_bpe_encode(const struct tokenizer *t, const char *s, size_t n, void *scratch,
                   struct tok_out *out)
{
    struct bpe_layout y;
    if (bpe_lay(n, &y))
        return ERR_RANGE;
    unsigned char *base = scratch;
    uint32_t *cpts = (uint32_t *)(void *)(base + y.cpts);
    uint8_t *fl = base + y.fl;
    uint32_t *lens = (uint32_t *)(void *)(base + y.lens), *tmp = (uint32_t *)(void *)(base + y.tmp);
    char *word = (char *)(base + y.word);
    struct bpe_sym *sym = (struct bpe_sym *)(void *)(base + y.syms);
    struct tok_heap h = {(struct tok_cand *)(void *)(base + y.heap), 0};

    size_t nc = 0;
    for (size_t i = 0; i < n;) {
        i += tok_utf8_decode((const unsigned char *)s + i, n - i, &cpts[nc]);
        fl[nc] = cpt_flags(cpts[nc]);
        nc++;
    }
    size_t np = pretokenize(t->pre, cpts, fl, nc, lens, tmp);
    size_t at = 0;
    for (size_t p = 0; p < np; p++) {
        size_t wl = 0;
        for (size_t k = at; k < at + lens[p]; k++) {
            unsigned char u[4];
            size_t un = tok_utf8_encode(cpts[k], u);
            for (size_t j = 0; j < un; j++)
                wl += tok_utf8_encode(tok_bpe_byte_cpt(u[j]), (unsigned char *)word + wl);
        }
        at += lens[p];
        int rc = bpe_word(t, word, wl, sym, &h, out);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- generated: code point classes ----------------------------------------------------
 * Runs of code points with one class, as (first code point << 2 | class),
 * class 0 other, 1 \p{L}, 2 \p{N}, 3 \p{P}; a run lasts until the next
 * entry's first code point. It equals llama.cpp's unicode_ranges_flags
 * (Unicode 15.1) for these three classes, checked code point by code point
 * against the bundled src/unicode-data.cpp. Made with python3 (3.11,
 * unicodedata 14.0.0) by this script:
 *
 *   # Generates the code point class table of tokenizer_bpe.c (run with python3).
 *   import unicodedata
 *   # Code points assigned in Unicode 15.0/15.1, which llama.cpp's table has
 *   # (Unicode 15.1) and Python 3.11's unicodedata (Unicode 14.0) lacks.
 *   ADDED = [(0x1123F, 0x11240, "L"), (0x11B00, 0x11B09, "P"), (0x11F02, 0x11F02, "L"),
 *            (0x11F04, 0x11F10, "L"), (0x11F12, 0x11F33, "L"), (0x11F43, 0x11F4F, "P"),
 *            (0x11F50, 0x11F59, "N"), (0x1342F, 0x1342F, "L"), (0x13441, 0x13446, "L"),
 *            (0x1B132, 0x1B132, "L"), (0x1B155, 0x1B155, "L"), (0x1D2C0, 0x1D2D3, "N"),
 *            (0x1DF25, 0x1DF2A, "L"), (0x1E030, 0x1E06D, "L"), (0x1E4D0, 0x1E4EB, "L"),
 *            (0x1E4F0, 0x1E4F9, "N"), (0x2B739, 0x2B739, "L"), (0x2EBF0, 0x2EE5D, "L"),
 *            (0x31350, 0x323AF, "L")]
 *   K = {"L": 1, "N": 2, "P": 3}
 *   kind = [K.get(unicodedata.category(chr(c))[0], 0) for c in range(0x110000)]
 *   if unicodedata.unidata_version == "14.0.0":
 *       for lo, hi, k in ADDED:
 *           for c in range(lo, hi + 1):
 *               kind[c] = K[k]
 *   runs = [c for c in range(0x110000) if c == 0 or kind[c] != kind[c - 1]]
 *   print("static const uint32_t cpt_runs[CPT_RUNS] = {")
 *   items = ["0x%x" % (c << 2 | kind[c]) for c in runs]
 *   for i in range(0, len(items), 8):
 *       print("    " + ", ".join(items[i:i + 8]) + ",")
 *   print("};")
 */
static const uint32_t cpt_runs[CPT_RUNS] = {
    0x0, 0x87, 0x90, 0x97, 0xac, 0xb3, 0xc2, 0xeb,
    0xf0, 0xff, 0x105, 0x16f, 0x178, 0x17f, 0x180, 0x185,
    0x1ef, 0x1f0, 0x1f7, 0x1f8, 0x287, 0x288, 0x29f, 0x2a0,
    0x2a9, 0x2af, 0x2b0, 0x2ca, 0x2d0, 0x2d5, 0x2db, 0x2e0,
    0x2e6, 0x2e9, 0x2ef, 0x2f2, 0x2ff, 0x301, 0x35c, 0x361,
    0x3dc, 0x3e1, 0xb08, 0xb19, 0xb48, 0xb81, 0xb94, 0xbb1,
    0xbb4, 0xbb9, 0xbbc, 0xdc1, 0xdd4, 0xdd9, 0xde0, 0xde9,
    0xdfb, 0xdfd, 0xe00, 0xe19, 0xe1f, 0xe21, 0xe2c, 0xe31,
    0xe34, 0xe39, 0xe88, 0xe8d, 0xfd8, 0xfdd, 0x1208, 0x1229,
    0x14c0, 0x14c5, 0x155c, 0x1565, 0x156b, 0x1581, 0x1627, 0x162c,
    0x16fb, 0x16fc, 0x1703, 0x1704, 0x170f, 0x1710, 0x171b, 0x171c,
    0x1741, 0x17ac, 0x17bd, 0x17cf, 0x17d4, 0x1827, 0x182c, 0x1833,
    0x1838, 0x186f, 0x1870, 0x1877, 0x1881, 0x192c, 0x1982, 0x19ab,
    0x19b9, 0x19c0, 0x19c5, 0x1b53, 0x1b55, 0x1b58, 0x1b95, 0x1b9c,
    0x1bb9, 0x1bc2, 0x1be9, 0x1bf4, 0x1bfd, 0x1c03, 0x1c38, 0x1c41,
    0x1c44, 0x1c49, 0x1cc0, 0x1d35, 0x1e98, 0x1ec5, 0x1ec8, 0x1f02,
    0x1f29, 0x1fac, 0x1fd1, 0x1fd8, 0x1fdf, 0x1fe9, 0x1fec, 0x2001,
    0x2058, 0x2069, 0x206c, 0x2091, 0x2094, 0x20a1, 0x20a4, 0x20c3,
    0x20fc, 0x2101, 0x2164, 0x217b, 0x217c, 0x2181, 0x21ac, 0x21c1,
    0x2220, 0x2225, 0x223c, 0x2281, 0x2328, 0x2411, 0x24e8, 0x24f5,
    0x24f8, 0x2541, 0x2544, 0x2561, 0x2588, 0x2593, 0x259a, 0x25c3,
    0x25c5, 0x2604, 0x2615, 0x2634, 0x263d, 0x2644, 0x264d, 0x26a4,
    0x26a9, 0x26c4, 0x26c9, 0x26cc, 0x26d9, 0x26e8, 0x26f5, 0x26f8,
    0x2739, 0x273c, 0x2771, 0x2778, 0x277d, 0x2788, 0x279a, 0x27c1,
    0x27c8, 0x27d2, 0x27e8, 0x27f1, 0x27f7, 0x27f8, 0x2815, 0x282c,
    0x283d, 0x2844, 0x284d, 0x28a4, 0x28a9, 0x28c4, 0x28c9, 0x28d0,
    0x28d5, 0x28dc, 0x28e1, 0x28e8, 0x2965, 0x2974, 0x2979, 0x297c,
    0x299a, 0x29c0, 0x29c9, 0x29d4, 0x29db, 0x29dc, 0x2a15, 0x2a38,
    0x2a3d, 0x2a48, 0x2a4d, 0x2aa4, 0x2aa9, 0x2ac4, 0x2ac9, 0x2ad0,
    0x2ad5, 0x2ae8, 0x2af5, 0x2af8, 0x2b41, 0x2b44, 0x2b81, 0x2b88,
    0x2b9a, 0x2bc3, 0x2bc4, 0x2be5, 0x2be8, 0x2c15, 0x2c34, 0x2c3d,
    0x2c44, 0x2c4d, 0x2ca4, 0x2ca9, 0x2cc4, 0x2cc9, 0x2cd0, 0x2cd5,
    0x2ce8, 0x2cf5, 0x2cf8, 0x2d71, 0x2d78, 0x2d7d, 0x2d88, 0x2d9a,
    0x2dc0, 0x2dc5, 0x2dca, 0x2de0, 0x2e0d, 0x2e10, 0x2e15, 0x2e2c,
    0x2e39, 0x2e44, 0x2e49, 0x2e58, 0x2e65, 0x2e6c, 0x2e71, 0x2e74,
    0x2e79, 0x2e80, 0x2e8d, 0x2e94, 0x2ea1, 0x2eac, 0x2eb9, 0x2ee8,
    0x2f41, 0x2f44, 0x2f9a, 0x2fcc, 0x3015, 0x3034, 0x3039, 0x3044,
    0x3049, 0x30a4, 0x30a9, 0x30e8, 0x30f5, 0x30f8, 0x3161, 0x316c,
    0x3175, 0x3178, 0x3181, 0x3188, 0x319a, 0x31c0, 0x31df, 0x31e2,
    0x31fc, 0x3201, 0x3204, 0x3213, 0x3215, 0x3234, 0x3239, 0x3244,
    0x3249, 0x32a4, 0x32a9, 0x32d0, 0x32d5, 0x32e8, 0x32f5, 0x32f8,
    0x3375, 0x337c, 0x3381, 0x3388, 0x339a, 0x33c0, 0x33c5, 0x33cc,
    0x3411, 0x3434, 0x3439, 0x3444, 0x3449, 0x34ec, 0x34f5, 0x34f8,
    0x3539, 0x353c, 0x3551, 0x355c, 0x3562, 0x357d, 0x3588, 0x359a,
    0x35e4, 0x35e9, 0x3600, 0x3615, 0x365c, 0x3669, 0x36c8, 0x36cd,
    0x36f0, 0x36f5, 0x36f8, 0x3701, 0x371c, 0x379a, 0x37c0, 0x37d3,
    0x37d4, 0x3805, 0x38c4, 0x38c9, 0x38d0, 0x3901, 0x391c, 0x393f,
    0x3942, 0x396b, 0x3970, 0x3a05, 0x3a0c, 0x3a11, 0x3a14, 0x3a19,
    0x3a2c, 0x3a31, 0x3a90, 0x3a95, 0x3a98, 0x3a9d, 0x3ac4, 0x3ac9,
    0x3ad0, 0x3af5, 0x3af8, 0x3b01, 0x3b14, 0x3b19, 0x3b1c, 0x3b42,
    0x3b68, 0x3b71, 0x3b80, 0x3c01, 0x3c04, 0x3c13, 0x3c4c, 0x3c53,
    0x3c54, 0x3c82, 0x3cd0, 0x3ceb, 0x3cf8, 0x3d01, 0x3d20, 0x3d25,
    0x3db4, 0x3e17, 0x3e18, 0x3e21, 0x3e34, 0x3f43, 0x3f54, 0x3f67,
    0x3f6c, 0x4001, 0x40ac, 0x40fd, 0x4102, 0x412b, 0x4141, 0x4158,
    0x4169, 0x4178, 0x4185, 0x4188, 0x4195, 0x419c, 0x41b9, 0x41c4,
    0x41d5, 0x4208, 0x4239, 0x423c, 0x4242, 0x4268, 0x4281, 0x4318,
    0x431d, 0x4320, 0x4335, 0x4338, 0x4341, 0x43ef, 0x43f1, 0x4924,
    0x4929, 0x4938, 0x4941, 0x495c, 0x4961, 0x4964, 0x4969, 0x4978,
    0x4981, 0x4a24, 0x4a29, 0x4a38, 0x4a41, 0x4ac4, 0x4ac9, 0x4ad8,
    0x4ae1, 0x4afc, 0x4b01, 0x4b04, 0x4b09, 0x4b18, 0x4b21, 0x4b5c,
    0x4b61, 0x4c44, 0x4c49, 0x4c58, 0x4c61, 0x4d6c, 0x4d83, 0x4da6,
    0x4df4, 0x4e01, 0x4e40, 0x4e81, 0x4fd8, 0x4fe1, 0x4ff8, 0x5003,
    0x5005, 0x59b4, 0x59bb, 0x59bd, 0x5a00, 0x5a05, 0x5a6f, 0x5a74,
    0x5a81, 0x5baf, 0x5bba, 0x5bc5, 0x5be4, 0x5c01, 0x5c48, 0x5c7d,
    0x5cc8, 0x5cd7, 0x5cdc, 0x5d01, 0x5d48, 0x5d81, 0x5db4, 0x5db9,
    0x5dc4, 0x5e01, 0x5ed0, 0x5f53, 0x5f5d, 0x5f63, 0x5f6c, 0x5f71,
    0x5f74, 0x5f82, 0x5fa8, 0x5fc2, 0x5fe8, 0x6003, 0x602c, 0x6042,
    0x6068, 0x6081, 0x61e4, 0x6201, 0x6214, 0x621d, 0x62a4, 0x62a9,
    0x62ac, 0x62c1, 0x63d8, 0x6401, 0x647c, 0x6513, 0x651a, 0x6541,
    0x65b8, 0x65c1, 0x65d4, 0x6601, 0x66b0, 0x66c1, 0x6728, 0x6742,
    0x676c, 0x6801, 0x685c, 0x687b, 0x6881, 0x6954, 0x6a02, 0x6a28,
    0x6a42, 0x6a68, 0x6a83, 0x6a9d, 0x6aa3, 0x6ab8, 0x6c15, 0x6cd0,
    0x6d15, 0x6d34, 0x6d42, 0x6d6b, 0x6d84, 0x6df7, 0x6dfc, 0x6e0d,
    0x6e84, 0x6eb9, 0x6ec2, 0x6ee9, 0x6f98, 0x6ff3, 0x7001, 0x7090,
    0x70ef, 0x7102, 0x7128, 0x7135, 0x7142, 0x7169, 0x71fb, 0x7201,
    0x7224, 0x7241, 0x72ec, 0x72f5, 0x7303, 0x7320, 0x734f, 0x7350,
    0x73a5, 0x73b4, 0x73b9, 0x73d0, 0x73d5, 0x73dc, 0x73e9, 0x73ec,
    0x7401, 0x7700, 0x7801, 0x7c58, 0x7c61, 0x7c78, 0x7c81, 0x7d18,
    0x7d21, 0x7d38, 0x7d41, 0x7d60, 0x7d65, 0x7d68, 0x7d6d, 0x7d70,
    0x7d75, 0x7d78, 0x7d7d, 0x7df8, 0x7e01, 0x7ed4, 0x7ed9, 0x7ef4,
    0x7ef9, 0x7efc, 0x7f09, 0x7f14, 0x7f19, 0x7f34, 0x7f41, 0x7f50,
    0x7f59, 0x7f70, 0x7f81, 0x7fb4, 0x7fc9, 0x7fd4, 0x7fd9, 0x7ff4,
    0x8043, 0x80a0, 0x80c3, 0x8110, 0x8117, 0x8148, 0x814f, 0x817c,
    0x81c2, 0x81c5, 0x81c8, 0x81d2, 0x81e8, 0x81f7, 0x81fd, 0x8202,
    0x8228, 0x8237, 0x823c, 0x8241, 0x8274, 0x8409, 0x840c, 0x841d,
    0x8420, 0x8429, 0x8450, 0x8455, 0x8458, 0x8465, 0x8478, 0x8491,
    0x8494, 0x8499, 0x849c, 0x84a1, 0x84a4, 0x84a9, 0x84b8, 0x84bd,
    0x84e8, 0x84f1, 0x8500, 0x8515, 0x8528, 0x8539, 0x853c, 0x8542,
    0x860d, 0x8616, 0x8628, 0x8c23, 0x8c30, 0x8ca7, 0x8cac, 0x9182,
    0x9270, 0x93aa, 0x9400, 0x9da3, 0x9dda, 0x9e50, 0x9f17, 0x9f1c,
    0x9f9b, 0x9fc0, 0xa60f, 0xa664, 0xa763, 0xa770, 0xa7f3, 0xa7f8,
    0xb001, 0xb394, 0xb3ad, 0xb3bc, 0xb3c9, 0xb3d0, 0xb3e7, 0xb3f6,
    0xb3fb, 0xb401, 0xb498, 0xb49d, 0xb4a0, 0xb4b5, 0xb4b8, 0xb4c1,
    0xb5a0, 0xb5bd, 0xb5c3, 0xb5c4, 0xb601, 0xb65c, 0xb681, 0xb69c,
    0xb6a1, 0xb6bc, 0xb6c1, 0xb6dc, 0xb6e1, 0xb6fc, 0xb701, 0xb71c,
    0xb721, 0xb73c, 0xb741, 0xb75c, 0xb761, 0xb77c, 0xb803, 0xb8bd,
    0xb8c3, 0xb940, 0xb94b, 0xb978, 0xc007, 0xc010, 0xc015, 0xc01e,
    0xc023, 0xc048, 0xc053, 0xc080, 0xc086, 0xc0a8, 0xc0c3, 0xc0c5,
    0xc0d8, 0xc0e2, 0xc0ed, 0xc0f7, 0xc0f8, 0xc105, 0xc25c, 0xc275,
    0xc283, 0xc285, 0xc3ef, 0xc3f1, 0xc400, 0xc415, 0xc4c0, 0xc4c5,
    0xc63c, 0xc64a, 0xc658, 0xc681, 0xc700, 0xc7c1, 0xc800, 0xc882,
    0xc8a8, 0xc922, 0xc940, 0xc946, 0xc980, 0xca02, 0xca28, 0xcac6,
    0xcb00, 0xd001, 0x13700, 0x13801, 0x29234, 0x29341, 0x293fb, 0x29401,
    0x29837, 0x29841, 0x29882, 0x298a9, 0x298b0, 0x29901, 0x299bc, 0x299cf,
    0x299d0, 0x299fb, 0x299fd, 0x29a78, 0x29a81, 0x29b9a, 0x29bc0, 0x29bcb,
    0x29be0, 0x29c5d, 0x29c80, 0x29c89, 0x29e24, 0x29e2d, 0x29f2c, 0x29f41,
    0x29f48, 0x29f4d, 0x29f50, 0x29f55, 0x29f68, 0x29fc9, 0x2a008, 0x2a00d,
    0x2a018, 0x2a01d, 0x2a02c, 0x2a031, 0x2a08c, 0x2a0c2, 0x2a0d8, 0x2a101,
    0x2a1d3, 0x2a1e0, 0x2a209, 0x2a2d0, 0x2a33b, 0x2a342, 0x2a368, 0x2a3c9,
    0x2a3e3, 0x2a3ed, 0x2a3f3, 0x2a3f5, 0x2a3fc, 0x2a402, 0x2a429, 0x2a498,
    0x2a4bb, 0x2a4c1, 0x2a51c, 0x2a57f, 0x2a581, 0x2a5f4, 0x2a611, 0x2a6cc,
    0x2a707, 0x2a738, 0x2a73d, 0x2a742, 0x2a768, 0x2a77b, 0x2a781, 0x2a794,
    0x2a799, 0x2a7c2, 0x2a7e9, 0x2a7fc, 0x2a801, 0x2a8a4, 0x2a901, 0x2a90c,
    0x2a911, 0x2a930, 0x2a942, 0x2a968, 0x2a973, 0x2a981, 0x2a9dc, 0x2a9e9,
    0x2a9ec, 0x2a9f9, 0x2aac0, 0x2aac5, 0x2aac8, 0x2aad5, 0x2aadc, 0x2aae5,
    0x2aaf8, 0x2ab01, 0x2ab04, 0x2ab09, 0x2ab0c, 0x2ab6d, 0x2ab7b, 0x2ab81,
    0x2abac, 0x2abc3, 0x2abc9, 0x2abd4, 0x2ac05, 0x2ac1c, 0x2ac25, 0x2ac3c,
    0x2ac45, 0x2ac5c, 0x2ac81, 0x2ac9c, 0x2aca1, 0x2acbc, 0x2acc1, 0x2ad6c,
    0x2ad71, 0x2ada8, 0x2adc1, 0x2af8c, 0x2afaf, 0x2afb0, 0x2afc2, 0x2afe8,
    0x2b001, 0x35e90, 0x35ec1, 0x35f1c, 0x35f2d, 0x35ff0, 0x3e401, 0x3e9b8,
    0x3e9c1, 0x3eb68, 0x3ec01, 0x3ec1c, 0x3ec4d, 0x3ec60, 0x3ec75, 0x3ec78,
    0x3ec7d, 0x3eca4, 0x3eca9, 0x3ecdc, 0x3ece1, 0x3ecf4, 0x3ecf9, 0x3ecfc,
    0x3ed01, 0x3ed08, 0x3ed0d, 0x3ed14, 0x3ed19, 0x3eec8, 0x3ef4d, 0x3f4fb,
    0x3f500, 0x3f541, 0x3f640, 0x3f649, 0x3f720, 0x3f7c1, 0x3f7f0, 0x3f843,
    0x3f868, 0x3f8c3, 0x3f94c, 0x3f953, 0x3f988, 0x3f98f, 0x3f990, 0x3f9a3,
    0x3f9a4, 0x3f9ab, 0x3f9b0, 0x3f9c1, 0x3f9d4, 0x3f9d9, 0x3fbf4, 0x3fc07,
    0x3fc10, 0x3fc17, 0x3fc2c, 0x3fc33, 0x3fc42, 0x3fc6b, 0x3fc70, 0x3fc7f,
    0x3fc85, 0x3fcef, 0x3fcf8, 0x3fcff, 0x3fd00, 0x3fd05, 0x3fd6f, 0x3fd70,
    0x3fd77, 0x3fd78, 0x3fd7f, 0x3fd99, 0x3fefc, 0x3ff09, 0x3ff20, 0x3ff29,
    0x3ff40, 0x3ff49, 0x3ff60, 0x3ff69, 0x3ff74, 0x40001, 0x40030, 0x40035,
    0x4009c, 0x400a1, 0x400ec, 0x400f1, 0x400f8, 0x400fd, 0x40138, 0x40141,
    0x40178, 0x40201, 0x403ec, 0x40403, 0x4040c, 0x4041e, 0x404d0, 0x40502,
    0x405e4, 0x4062a, 0x40630, 0x40a01, 0x40a74, 0x40a81, 0x40b44, 0x40b86,
    0x40bf0, 0x40c01, 0x40c82, 0x40c90, 0x40cb5, 0x40d06, 0x40d09, 0x40d2a,
    0x40d2c, 0x40d41, 0x40dd8, 0x40e01, 0x40e78, 0x40e7f, 0x40e81, 0x40f10,
    0x40f21, 0x40f43, 0x40f46, 0x40f58, 0x41001, 0x41278, 0x41282, 0x412a8,
    0x412c1, 0x41350, 0x41361, 0x413f0, 0x41401, 0x414a0, 0x414c1, 0x41590,
    0x415bf, 0x415c1, 0x415ec, 0x415f1, 0x4162c, 0x41631, 0x4164c, 0x41651,
    0x41658, 0x4165d, 0x41688, 0x4168d, 0x416c8, 0x416cd, 0x416e8, 0x416ed,
    0x416f4, 0x41801, 0x41cdc, 0x41d01, 0x41d58, 0x41d81, 0x41da0, 0x41e01,
    0x41e18, 0x41e1d, 0x41ec4, 0x41ec9, 0x41eec, 0x42001, 0x42018, 0x42021,
    0x42024, 0x42029, 0x420d8, 0x420dd, 0x420e4, 0x420f1, 0x420f4, 0x420fd,
    0x42158, 0x4215f, 0x42162, 0x42181, 0x421dc, 0x421e6, 0x42201, 0x4227c,
    0x4229e, 0x422c0, 0x42381, 0x423cc, 0x423d1, 0x423d8, 0x423ee, 0x42401,
    0x4245a, 0x42470, 0x4247f, 0x42481, 0x424e8, 0x424ff, 0x42500, 0x42601,
    0x426e0, 0x426f2, 0x426f9, 0x42702, 0x42740, 0x4274a, 0x42801, 0x42804,
    0x42841, 0x42850, 0x42855, 0x42860, 0x42865, 0x428d8, 0x42902, 0x42924,
    0x42943, 0x42964, 0x42981, 0x429f6, 0x429ff, 0x42a01, 0x42a76, 0x42a80,
    0x42b01, 0x42b20, 0x42b25, 0x42b94, 0x42bae, 0x42bc3, 0x42bdc, 0x42c01,
    0x42cd8, 0x42ce7, 0x42d01, 0x42d58, 0x42d62, 0x42d81, 0x42dcc, 0x42de2,
    0x42e01, 0x42e48, 0x42e67, 0x42e74, 0x42ea6, 0x42ec0, 0x43001, 0x43124,
    0x43201, 0x432cc, 0x43301, 0x433cc, 0x433ea, 0x43401, 0x43490, 0x434c2,
    0x434e8, 0x43982, 0x439fc, 0x43a01, 0x43aa8, 0x43ab7, 0x43ab8, 0x43ac1,
    0x43ac8, 0x43c01, 0x43c76, 0x43c9d, 0x43ca0, 0x43cc1, 0x43d18, 0x43d46,
    0x43d57, 0x43d68, 0x43dc1, 0x43e08, 0x43e1b, 0x43e28, 0x43ec1, 0x43f16,
    0x43f30, 0x43f81, 0x43fdc, 0x4400d, 0x440e0, 0x4411f, 0x44138, 0x4414a,
    0x441c0, 0x441c5, 0x441cc, 0x441d5, 0x441d8, 0x4420d, 0x442c0, 0x442ef,
    0x442f4, 0x442fb, 0x44308, 0x44341, 0x443a4, 0x443c2, 0x443e8, 0x4440d,
    0x4449c, 0x444da, 0x44503, 0x44511, 0x44514, 0x4451d, 0x44520, 0x44541,
    0x445cc, 0x445d3, 0x445d9, 0x445dc, 0x4460d, 0x446cc, 0x44705, 0x44717,
    0x44724, 0x44737, 0x44738, 0x44742, 0x44769, 0x4476f, 0x44771, 0x44777,
    0x44780, 0x44786, 0x447d4, 0x44801, 0x44848, 0x4484d, 0x448b0, 0x448e3,
    0x448f8, 0x448fd, 0x44904, 0x44a01, 0x44a1c, 0x44a21, 0x44a24, 0x44a29,
    0x44a38, 0x44a3d, 0x44a78, 0x44a7d, 0x44aa7, 0x44aa8, 0x44ac1, 0x44b7c,
    0x44bc2, 0x44be8, 0x44c15, 0x44c34, 0x44c3d, 0x44c44, 0x44c4d, 0x44ca4,
    0x44ca9, 0x44cc4, 0x44cc9, 0x44cd0, 0x44cd5, 0x44ce8, 0x44cf5, 0x44cf8,
    0x44d41, 0x44d44, 0x44d75, 0x44d88, 0x45001, 0x450d4, 0x4511d, 0x4512f,
    0x45142, 0x4516b, 0x45170, 0x45177, 0x45178, 0x4517d, 0x45188, 0x45201,
    0x452c0, 0x45311, 0x4531b, 0x4531d, 0x45320, 0x45342, 0x45368, 0x45601,
    0x456bc, 0x45707, 0x45761, 0x45770, 0x45801, 0x458c0, 0x45907, 0x45911,
    0x45914, 0x45942, 0x45968, 0x45983, 0x459b4, 0x45a01, 0x45aac, 0x45ae1,
    0x45ae7, 0x45ae8, 0x45b02, 0x45b28, 0x45c01, 0x45c6c, 0x45cc2, 0x45cf3,
    0x45cfc, 0x45d01, 0x45d1c, 0x46001, 0x460b0, 0x460ef, 0x460f0, 0x46281,
    0x46382, 0x463cc, 0x463fd, 0x4641c, 0x46425, 0x46428, 0x46431, 0x46450,
    0x46455, 0x4645c, 0x46461, 0x464c0, 0x464fd, 0x46500, 0x46505, 0x46508,
    0x46513, 0x4651c, 0x46542, 0x46568, 0x46681, 0x466a0, 0x466a9, 0x46744,
    0x46785, 0x4678b, 0x4678d, 0x46790, 0x46801, 0x46804, 0x4682d, 0x468cc,
    0x468e9, 0x468ec, 0x468ff, 0x4691c, 0x46941, 0x46944, 0x46971, 0x46a28,
    0x46a6b, 0x46a75, 0x46a7b, 0x46a8c, 0x46ac1, 0x46be4, 0x46c03, 0x46c28,
    0x47001, 0x47024, 0x47029, 0x470bc, 0x47101, 0x47107, 0x47118, 0x47142,
    0x471b4, 0x471c3, 0x471c9, 0x47240, 0x47401, 0x4741c, 0x47421, 0x47428,
    0x4742d, 0x474c4, 0x47519, 0x4751c, 0x47542, 0x47568, 0x47581, 0x47598,
    0x4759d, 0x475a4, 0x475a9, 0x47628, 0x47661, 0x47664, 0x47682, 0x476a8,
    0x47b81, 0x47bcc, 0x47bdf, 0x47be4, 0x47c09, 0x47c0c, 0x47c11, 0x47c44,
    0x47c49, 0x47cd0, 0x47d0f, 0x47d42, 0x47d68, 0x47ec1, 0x47ec4, 0x47f02,
    0x47f54, 0x47fff, 0x48001, 0x48e68, 0x49002, 0x491bc, 0x491c3, 0x491d4,
    0x49201, 0x49510, 0x4be41, 0x4bfc7, 0x4bfcc, 0x4c001, 0x4d0c0, 0x4d105,
    0x4d11c, 0x51001, 0x5191c, 0x5a001, 0x5a8e4, 0x5a901, 0x5a97c, 0x5a982,
    0x5a9a8, 0x5a9bb, 0x5a9c1, 0x5aafc, 0x5ab02, 0x5ab28, 0x5ab41, 0x5abb8,
    0x5abd7, 0x5abd8, 0x5ac01, 0x5acc0, 0x5acdf, 0x5acf0, 0x5ad01, 0x5ad13,
    0x5ad14, 0x5ad42, 0x5ad68, 0x5ad6e, 0x5ad88, 0x5ad8d, 0x5ade0, 0x5adf5,
    0x5ae40, 0x5b901, 0x5ba02, 0x5ba5f, 0x5ba6c, 0x5bc01, 0x5bd2c, 0x5bd41,
    0x5bd44, 0x5be4d, 0x5be80, 0x5bf81, 0x5bf8b, 0x5bf8d, 0x5bf90, 0x5c001,
    0x61fe0, 0x62001, 0x63358, 0x63401, 0x63424, 0x6bfc1, 0x6bfd0, 0x6bfd5,
    0x6bff0, 0x6bff5, 0x6bffc, 0x6c001, 0x6c48c, 0x6c4c9, 0x6c4cc, 0x6c541,
    0x6c54c, 0x6c555, 0x6c558, 0x6c591, 0x6c5a0, 0x6c5c1, 0x6cbf0, 0x6f001,
    0x6f1ac, 0x6f1c1, 0x6f1f4, 0x6f201, 0x6f224, 0x6f241, 0x6f268, 0x6f27f,
    0x6f280, 0x74b02, 0x74b50, 0x74b82, 0x74bd0, 0x74d82, 0x74de4, 0x75001,
    0x75154, 0x75159, 0x75274, 0x75279, 0x75280, 0x75289, 0x7528c, 0x75295,
    0x7529c, 0x752a5, 0x752b4, 0x752b9, 0x752e8, 0x752ed, 0x752f0, 0x752f5,
    0x75310, 0x75315, 0x75418, 0x7541d, 0x7542c, 0x75435, 0x75454, 0x75459,
    0x75474, 0x75479, 0x754e8, 0x754ed, 0x754fc, 0x75501, 0x75514, 0x75519,
    0x7551c, 0x75529, 0x75544, 0x75549, 0x75a98, 0x75aa1, 0x75b04, 0x75b09,
    0x75b6c, 0x75b71, 0x75bec, 0x75bf1, 0x75c54, 0x75c59, 0x75cd4, 0x75cd9,
    0x75d3c, 0x75d41, 0x75dbc, 0x75dc1, 0x75e24, 0x75e29, 0x75ea4, 0x75ea9,
    0x75f0c, 0x75f11, 0x75f30, 0x75f3a, 0x76000, 0x76a1f, 0x76a30, 0x77c01,
    0x77c7c, 0x77c95, 0x77cac, 0x780c1, 0x781b8, 0x78401, 0x784b4, 0x784dd,
    0x784f8, 0x78502, 0x78528, 0x78539, 0x7853c, 0x78a41, 0x78ab8, 0x78b01,
    0x78bb0, 0x78bc2, 0x78be8, 0x79341, 0x793b0, 0x793c2, 0x793e8, 0x79f81,
    0x79f9c, 0x79fa1, 0x79fb0, 0x79fb5, 0x79fbc, 0x79fc1, 0x79ffc, 0x7a001,
    0x7a314, 0x7a31e, 0x7a340, 0x7a401, 0x7a510, 0x7a52d, 0x7a530, 0x7a542,
    0x7a568, 0x7a57b, 0x7a580, 0x7b1c6, 0x7b2b0, 0x7b2b6, 0x7b2c0, 0x7b2c6,
    0x7b2d4, 0x7b406, 0x7b4b8, 0x7b4be, 0x7b4f8, 0x7b801, 0x7b810, 0x7b815,
    0x7b880, 0x7b885, 0x7b88c, 0x7b891, 0x7b894, 0x7b89d, 0x7b8a0, 0x7b8a5,
    0x7b8cc, 0x7b8d1, 0x7b8e0, 0x7b8e5, 0x7b8e8, 0x7b8ed, 0x7b8f0, 0x7b909,
    0x7b90c, 0x7b91d, 0x7b920, 0x7b925, 0x7b928, 0x7b92d, 0x7b930, 0x7b935,
    0x7b940, 0x7b945, 0x7b94c, 0x7b951, 0x7b954, 0x7b95d, 0x7b960, 0x7b965,
    0x7b968, 0x7b96d, 0x7b970, 0x7b975, 0x7b978, 0x7b97d, 0x7b980, 0x7b985,
    0x7b98c, 0x7b991, 0x7b994, 0x7b99d, 0x7b9ac, 0x7b9b1, 0x7b9cc, 0x7b9d1,
    0x7b9e0, 0x7b9e5, 0x7b9f4, 0x7b9f9, 0x7b9fc, 0x7ba01, 0x7ba28, 0x7ba2d,
    0x7ba70, 0x7ba85, 0x7ba90, 0x7ba95, 0x7baa8, 0x7baad, 0x7baf0, 0x7c402,
    0x7c434, 0x7efc2, 0x7efe8, 0x80001, 0xa9b80, 0xa9c01, 0xadce8, 0xadd01,
    0xae078, 0xae081, 0xb3a88, 0xb3ac1, 0xbaf84, 0xbafc1, 0xbb978, 0xbe001,
    0xbe878, 0xc0001, 0xc4d2c, 0xc4d41, 0xc8ec0,
};
