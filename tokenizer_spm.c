/* tokenizer_spm.c - GGUF vocabularies: tokenizer_init_gguf for both kinds
 * (SentencePiece "llama" and byte-level "gpt2"), special tokens written in
 * the text, the SentencePiece encoder, and the GGUF encode driver.
 *
 * The reference is llama.cpp's src/llama-vocab.cpp as bundled with
 * node-llama-cpp 3.21.1 (llama_vocab::impl::load, tokenizer_st_partition,
 * llm_tokenizer_spm_session, tokenize, token_to_piece). Mechanism differs
 * where that buys bounded memory or speed, never output:
 *  - pieces are looked up in an open-addressing hash built at load time;
 *  - merging uses a heap over a linked list with a generation count per
 *    symbol (a popped pair is stale when its left symbol changed since), the
 *    same choice order as llama.cpp's priority queue: highest score, then
 *    leftmost;
 *  - special tokens are searched in a linked list of fragments held in one
 *    scratch array instead of a std::forward_list.
 * Deliberate differences (documented in tokenizer.h): stricter metadata
 * validation, unk_id instead of an exception when a byte has no piece,
 * ties between special pieces of equal length go by id (llama.cpp's
 * std::sort leaves them in an unspecified order), and the text-detected
 * FIM/EOT ids follow the order of the text lists where llama.cpp takes
 * whichever its unordered_map yields first.
 */
#include "tokenizer.h"

#include <stdarg.h>

#include "errors.h"
#include "gguf.h"
#include "lib.h"
#include "platform.h"

#define EMPTY_PIECE_MAX 24            /* "[EMPTY_" + 10 digits + "]" + NUL */
#define DEC_POOL_LIMIT (256ull << 20) /* decoded pieces (BPE "[UNK_BYTE_0x..]" can grow) */


static int lookup(const struct tokenizer *t, const char *s, size_t n)
{
    return tok_lookup2(t, s, n, NULL, 0);
}

static int lookup_cstr(const struct tokenizer *t, const char *s)
{
    return lookup(t, s, strlen(s));
}

/* ---- loading -------------------------------------------------------------------- */

/* Pieces whose text marks them as end-of-generation / FIM tokens in
 * llama.cpp's llama_vocab::impl::load (its "auto-detect" lists). */
static const char *const eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "<end_of_utterance>", NULL};
static const char *const eom_texts[] = {"<|eom_id|>", NULL};
static const char *const fim_pre_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>",
    "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const fim_suf_texts[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>",
    "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const fim_mid_texts[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>",
    "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL};
static const char *const fim_pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const fim_rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                            "<reponame>", NULL};
static const char *const fim_sep_texts[] = {"<|file_sep|>", NULL};
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~[", NULL};
/* gpt-oss: always rendered (attr = USER_DEFINED). */
static const char *const always_user_texts[] = {"<|channel|>", "<|message|>", "<|start|>",
                                                "<|constrain|>", NULL};

struct loader {
    struct tokenizer *t;
    const struct gguf_file *g;
    char *err;
    size_t errcap;
    int n;
};

/* A special id from metadata key: *id keeps its value when the key is
 * absent or says "none" (0xFFFFFFFF / -1). strict: other out-of-range
 * values are an error; else they are ignored (llama.cpp warns and ignores
 * every such value; we are strict for the ids the encoder and the
 * generation loop use). */
static int read_id(struct loader *L, const char *key, int *id, int strict)
{
    const struct gguf_kv *kv = gguf_find(L->g, key);
    if (!kv)
        return 0;
    int64_t v;
    if (kv->type == GGUF_TYPE_ARRAY || gguf_kv_int(kv, &v) != 0) {
        tokenizer_set_err(L->err, L->errcap, "tokenizer: %s is not an integer", key);
        return ERR_FORMAT;
    }
    if (v == -1 || v == 0xFFFFFFFFll)
        return 0;
    if (v < 0 || v >= L->n) {
        if (!strict)
            return 0;
        tokenizer_set_err(L->err, L->errcap, "tokenizer: %s %lld is out of range (%d tokens)", key,
                (long long)v, L->n);
        return ERR_FORMAT;
    }
    *id = (int)v;
    return 0;
}

static int read_bool(struct loader *L, const char *key, int *val)
{
    int v, rc = gguf_get_bool(L->g, key, &v);
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc) {
        tokenizer_set_err(L->err, L->errcap, "tokenizer: %s is not a bool", key);
        return ERR_FORMAT;
    }
    *val = v;
    return 0;
}

/* llama.cpp: if *id is unset, the first piece it meets with a text from
 * list becomes it and is marked CONTROL. llama.cpp meets them in its
 * unordered_map's order; we take the list's order, which gives what it
 * picks in the vocabularies checked (Llama 3: <|eot_id|> over
 * <|end_of_text|>; Qwen 2: <|im_end|> over <|endoftext|>). */
static void detect(struct tokenizer *t, uint16_t *attr, int *id, const char *const *list)
{
    if (*id >= 0)
        return;
    for (const char *const *p = list; *p && *id < 0; p++)
        *id = lookup_cstr(t, *p);
    if (*id >= 0)
        attr[*id] |= TOKEN_ATTR_CONTROL;
}

static void eog_add(struct tokenizer *t, int id)
{
    if (id < 0)
        return;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return;
    if (t->n_eog < TOKENIZER_MAX_EOG)
        t->eog[t->n_eog++] = id;
}

static void eog_remove(struct tokenizer *t, int id)
{
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) {
            t->eog[i] = t->eog[--t->n_eog];
            return;
        }
}

/* End-of-generation ids and the CONTROL overrides llama.cpp applies by
 * token text; then the gpt-oss and gemma4 workarounds. */
static int special_ids(struct loader *L, uint16_t *attr)
{
    struct tokenizer *t = L->t;
    int fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1, rc;
    if ((rc = read_id(L, "tokenizer.ggml.bos_token_id", &t->bos_id, 1)) ||
        (rc = read_id(L, "tokenizer.ggml.eos_token_id", &t->eos_id, 1)) ||
        (rc = read_id(L, "tokenizer.ggml.eot_token_id", &t->eot_id, 1)) ||
        (rc = read_id(L, "tokenizer.ggml.eom_token_id", &t->eom_id, 1)) ||
        (rc = read_id(L, "tokenizer.ggml.unknown_token_id", &t->unk_id, 1)) ||
        (rc = read_id(L, "tokenizer.ggml.padding_token_id", &t->pad_id, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.fim_pre_token_id", &fim_pre, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.fim_suf_token_id", &fim_suf, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.fim_mid_token_id", &fim_mid, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.fim_pad_token_id", &fim_pad, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.fim_rep_token_id", &fim_rep, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.fim_sep_token_id", &fim_sep, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.prefix_token_id", &fim_pre, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.suffix_token_id", &fim_suf, 0)) ||
        (rc = read_id(L, "tokenizer.ggml.middle_token_id", &fim_mid, 0)))
        return rc;

    detect(t, attr, &t->eot_id, eot_texts);
    detect(t, attr, &t->eom_id, eom_texts);
    detect(t, attr, &fim_pre, fim_pre_texts);
    detect(t, attr, &fim_suf, fim_suf_texts);
    detect(t, attr, &fim_mid, fim_mid_texts);
    detect(t, attr, &fim_pad, fim_pad_texts);
    detect(t, attr, &fim_rep, fim_rep_texts);
    detect(t, attr, &fim_sep, fim_sep_texts);

    t->n_eog = 0;
    eog_add(t, fim_pad);
    eog_add(t, fim_rep);
    eog_add(t, fim_sep);
    for (const char *const *p = eog_texts; *p; p++) {
        int k = lookup_cstr(t, *p);
        if (k >= 0) {
            eog_add(t, k);
            attr[k] |= TOKEN_ATTR_CONTROL;
        }
    }
    for (const char *const *p = always_user_texts; *p; p++) {
        int k = lookup_cstr(t, *p);
        if (k >= 0)
            attr[k] = TOKEN_ATTR_USER_DEFINED;
    }
    eog_add(t, t->eos_id);
    eog_add(t, t->eot_id);
    eog_add(t, t->eom_id);

    /* o200k_harmony / solar-open: "<|end|>" is not an end of generation. */
    int has_return = 0, has_call = 0, has_flush = 0, end_id = -1;
    int has_tool_response = 0, s_id = -1;
    for (int i = 0; i < t->n_eog; i++) {
        const char *s = t->vocab[t->eog[i]];
        if (!strcmp(s, "<|return|>"))
            has_return = 1;
        else if (!strcmp(s, "<|call|>") || !strcmp(s, "<|calls|>"))
            has_call = 1;
        else if (!strcmp(s, "<|flush|>"))
            has_flush = 1;
        else if (!strcmp(s, "<|end|>"))
            end_id = t->eog[i];
        if (!strcmp(s, "<|tool_response>"))
            has_tool_response = 1;
        else if (!strcmp(s, "</s>"))
            s_id = t->eog[i];
    }
    if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
        eog_remove(t, end_id);
        attr[end_id] = TOKEN_ATTR_USER_DEFINED;
    }
    /* gemma4 / paddleocr: "</s>" is not an end of generation. */
    if (has_tool_response && s_id >= 0) {
        eog_remove(t, s_id);
        attr[s_id] = TOKEN_ATTR_NORMAL;
    }
    return 0;
}

struct len_id {
    uint32_t len;
    int32_t id;
};

static int cmp_len_desc(const void *a, const void *b)
{
    uint32_t la = ((const struct len_id *)a)->len, lb = ((const struct len_id *)b)->len;
    return (la < lb) - (la > lb); /* longest first; lib_sort is stable: ties by id */
}

/* ASCII lower case copy contains needle (general.name for the Phi-3 rule). */
static int name_contains(const struct gguf_str *s, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= s->n; i++) {
        size_t k = 0;
        for (; k < nl; k++) {
            char c = s->s[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != needle[k])
                break;
        }
        if (k == nl)
            return 1;
    }
    return 0;
}

/* The byte of a BYTE token: strtol(text.substr(3, 2), 16) as llama.cpp. */
static int byte_token_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 3; i < n && i < 5; i++) {
        unsigned c = (unsigned char)s[i];
        int d = c >= '0' && c <= '9' ? (int)(c - '0')
              : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (int)((c | 0x20) - 'a' + 10) : -1;
        if (d < 0)
            break;
        v = v * 16 + d;
    }
    return v;
}

/* llama.cpp's llama_decode_text (byte-level BPE, NORMAL tokens): each code
 * point back to its byte; others as "[UNK_BYTE_0x<hex>" + text + "]".
 * Writes to out when non-NULL; returns the length. */
static uint64_t bpe_decode_text(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        i += tok_utf8_decode((const unsigned char *)s + i, n - i, &c);
        int b = tok_bpe_cpt_byte(c);
        if (b >= 0) {
            if (out)
                out[k] = (char)b;
            k++;
            continue;
        }
        unsigned char u[4];
        size_t un = tok_utf8_encode(c, u);
        static const char pre[] = "[UNK_BYTE_0x";
        if (out) {
            memcpy(out + k, pre, sizeof pre - 1);
            for (size_t j = 0; j < un; j++) {
                out[k + sizeof pre - 1 + 2 * j] = hex[u[j] >> 4];
                out[k + sizeof pre - 1 + 2 * j + 1] = hex[u[j] & 15];
            }
            if (n)
                memcpy(out + k + sizeof pre - 1 + 2 * un, s, n);
            out[k + sizeof pre - 1 + 2 * un + n] = ']';
        }
        k += sizeof pre - 1 + 2 * un + n + 1;
    }
    return k;
}

/* Merges "a b" split at the first space after the first byte; a, b and
 * a ++ b must be pieces (Hugging Face tokenizers requires it); the first of
 * duplicate pairs keeps its rank (llama.cpp's std::map::emplace). */
static int build_merges(struct loader *L, const struct gguf_str *merges, struct tokenizer_merge *mg,
                        uint32_t *mhash)
{
    const struct tokenizer *t = L->t;
    for (uint32_t i = 0; i < t->n_merges; i++) {
        const char *s = merges[i].s;
        size_t len = (size_t)merges[i].n, sp = 1;
        while (sp < len && s[sp] != ' ')
            sp++;
        if (sp >= len) {
            tokenizer_set_err(L->err, L->errcap, "tokenizer: merge %u has no space between its two parts", i);
            return ERR_FORMAT;
        }
        int a = lookup(t, s, sp), b = lookup(t, s + sp + 1, len - sp - 1);
        int r = tok_lookup2(t, s, sp, s + sp + 1, len - sp - 1);
        if (a < 0 || b < 0 || r < 0) {
            tokenizer_set_err(L->err, L->errcap, "tokenizer: merge %u: %s is not a token", i,
                    a < 0 ? "its first part" : b < 0 ? "its second part" : "the merged piece");
            return ERR_FORMAT;
        }
        mg[i] = (struct tokenizer_merge){a, b, r, (int32_t)i};
        uint32_t h = tok_merge_hash(a, b) & t->merge_mask;
        int dup = 0;
        for (; mhash[h]; h = (h + 1) & t->merge_mask) {
            const struct tokenizer_merge *o = &mg[mhash[h] - 1];
            if (o->a == a && o->b == b) {
                dup = 1;
                break;
            }
        }
        if (!dup)
            mhash[h] = i + 1;
    }
    return 0;
}

/* Special pieces for the text search, longest first (ties by id), then
 * Phi-3's rule (general.name): special pieces eat the spaces after them,
 * except <unk>, <s> and <|endoftext|>. */
static int build_specials(struct loader *L, uint16_t *attr, int32_t *specials)
{
    struct tokenizer *t = L->t;
    int ns = 0, n = t->vocab_size;
    for (int i = 0; i < n; i++)
        if (attr[i] & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_USER_DEFINED | TOKEN_ATTR_UNKNOWN))
            specials[ns++] = i;
    if (ns > 1) {
        size_t bytes = 2 * (size_t)ns * sizeof(struct len_id);
        struct len_id *li = plat_alloc(bytes);
        if (!li) {
            tokenizer_set_err(L->err, L->errcap, "tokenizer: out of memory sorting %d special tokens", ns);
            return ERR_NOMEM;
        }
        for (int i = 0; i < ns; i++)
            li[i] = (struct len_id){t->piece_len[specials[i]], specials[i]};
        lib_sort(li, (size_t)ns, sizeof *li, li + ns, cmp_len_desc);
        for (int i = 0; i < ns; i++)
            specials[i] = li[i].id;
        plat_free(li, bytes);
    }
    t->specials = specials;
    t->n_specials = ns;
    struct gguf_str name;
    if (gguf_get_str(L->g, "general.name", &name) == 0 &&
        (name_contains(&name, "phi-3") || name_contains(&name, "phi3"))) {
        for (int i = 0; i < ns; i++)
            attr[specials[i]] |= TOKEN_ATTR_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        int k = lookup_cstr(t, "</s>");
        if (k >= 0)
            attr[k] |= TOKEN_ATTR_RSTRIP;
        for (size_t i = 0; i < ARRAY_LEN(keep); i++)
            if ((k = lookup_cstr(t, keep[i])) >= 0)
                attr[k] &= (uint16_t)~TOKEN_ATTR_RSTRIP;
    }
    return 0;
}

/* Byte fallback ids, and the printed text of every token:
 * token_to_piece(special = false) into the pool at dp. */
static void build_bytes_and_text(struct tokenizer *t, const uint16_t *attr, const char **dec, char *dp)
{
    for (int b = 0; b < 256; b++) {
        int id;
        if (t->kind == TOKENIZER_SPM) {
            static const char hexu[] = "0123456789ABCDEF";
            char piece[7] = {'<', '0', 'x', hexu[b >> 4], hexu[b & 15], '>', 0};
            char one = (char)b;
            id = lookup(t, piece, 6);
            if (id < 0)
                id = lookup(t, &one, 1);
        } else {
            unsigned char u[4];
            size_t un = tok_utf8_encode(tok_bpe_byte_cpt((unsigned)b), u);
            id = lookup(t, (const char *)u, un);
        }
        t->byte_tok[b] = id;
    }
    for (int i = 0; i < t->vocab_size; i++) {
        uint16_t a = attr[i];
        const char *s = t->vocab[i];
        size_t len = t->piece_len[i], k = 0;
        dec[i] = dp;
        if (a & (TOKEN_ATTR_UNKNOWN | TOKEN_ATTR_CONTROL)) {
            /* not printed */
        } else if (a & TOKEN_ATTR_USER_DEFINED) {
            memcpy(dp, s, len);
            k = len;
        } else if (a & TOKEN_ATTR_NORMAL) {
            if (t->kind == TOKENIZER_SPM) {
                for (size_t j = 0; j < len; j++) {
                    if (j + 2 < len && (unsigned char)s[j] == 0xE2 && (unsigned char)s[j + 1] == 0x96 &&
                        (unsigned char)s[j + 2] == 0x81) {
                        dp[k++] = ' ';
                        j += 2;
                    } else {
                        dp[k++] = s[j];
                    }
                }
            } else {
                k = (size_t)bpe_decode_text(s, len, dp);
            }
        } else if (a & TOKEN_ATTR_BYTE) {
            dp[k++] = (char)byte_token_value(s, len);
        }
        dp[k] = 0;
        dp += k + 1;
    }
}

static int gguf_encode(const struct tokenizer *t, const char *text, int flags, int *tokens,
                       int max_tokens, int *ret_n);

/* Layout of the one block: 8-byte aligned pieces. */
struct layout {
    uint64_t vocab, dec, len, scores, attr, hash, merges, mhash, specials, bytes, pool, dpool, total;
};

static int lay(struct layout *y, uint64_t n, uint64_t hcap, uint64_t nm, uint64_t mcap,
               uint64_t pool, uint64_t dpool)
{
    uint64_t off = 0, sz;
#define PART(field, count, each)                                                            \
    do {                                                                                    \
        if (size_mul((count), (each), &sz) || size_add(sz, 7, &sz))                         \
            return ERR_RANGE;                                                               \
        y->field = off;                                                                     \
        if (size_add(off, sz & ~7ull, &off))                                                \
            return ERR_RANGE;                                                               \
    } while (0)
    PART(vocab, n, sizeof(char *));
    PART(dec, n, sizeof(char *));
    PART(len, n, sizeof(uint32_t));
    PART(scores, n, sizeof(float));
    PART(attr, n, sizeof(uint16_t));
    PART(hash, hcap, sizeof(uint32_t));
    PART(merges, nm, sizeof(struct tokenizer_merge));
    PART(mhash, mcap, sizeof(uint32_t));
    PART(specials, n, sizeof(int32_t));
    PART(bytes, 512, 1);
    PART(pool, pool, 1);
    PART(dpool, dpool, 1);
#undef PART
    y->total = off ? off : 8;
    return 0;
}

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

static int load(struct loader *L)
{
    struct tokenizer *t = L->t;
    const struct gguf_file *g = L->g;
    char *err = L->err;
    size_t errcap = L->errcap;
    int rc;

    /* ---- kind, pre-tokenizer, defaults ---- */
    struct gguf_str model;
    rc = gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (rc == ERR_NOT_FOUND) {
        tokenizer_set_err(err, errcap, "tokenizer: no tokenizer.ggml.model in the metadata");
        return ERR_FORMAT;
    }
    if (rc) {
        tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.model is not a string");
        return ERR_FORMAT;
    }
    int kind;
    if (!strcmp(model.s, "llama") && model.n == 5) {
        kind = TOKENIZER_SPM;
    } else if (!strcmp(model.s, "gpt2") && model.n == 4) {
        kind = TOKENIZER_BPE;
    } else {
        char shown[40];
        str_copy(shown, sizeof shown, model.s);
        for (char *p = shown; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.model '%s' is not supported (llama, gpt2)",
                shown);
        return ERR_UNSUPPORTED;
    }
    int pre = TOKENIZER_PRE_DEFAULT, ignore_merges = 0, add_bos = 0, add_eos = 0, clean_spaces = 0;
    int add_space_prefix = 0;
    if (kind == TOKENIZER_BPE) {
        struct gguf_str ps;
        rc = gguf_get_str(g, "tokenizer.ggml.pre", &ps);
        if (rc == 0) {
            if (strlen(ps.s) != ps.n ||
                tok_bpe_pre_from_name(ps.s, &pre, &ignore_merges, &add_bos, &clean_spaces) != 0) {
                char shown[40];
                str_copy(shown, sizeof shown, ps.s);
                for (char *p = shown; *p; p++)
                    if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
                tokenizer_set_err(err, errcap, "tokenizer: pre-tokenizer '%s' is not supported (default, "
                        "gpt-2, llama-bpe, qwen2, smollm and their aliases)", shown);
                return ERR_UNSUPPORTED;
            }
        } else if (rc == ERR_NOT_FOUND) {
            clean_spaces = 1; /* "default" */
        } else {
            tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.pre is not a string");
            return ERR_FORMAT;
        }
    } else {
        add_bos = 1;
        add_space_prefix = 1;
    }

    /* ---- arrays ---- */
    const struct gguf_kv *kt = gguf_find(g, "tokenizer.ggml.tokens");
    uint64_t n64 = 0;
    const struct gguf_str *toks = kt ? gguf_arr_data(kt, GGUF_TYPE_STRING, &n64) : NULL;
    if (!kt) {
        tokenizer_set_err(err, errcap, "tokenizer: no tokenizer.ggml.tokens in the metadata");
        return ERR_FORMAT;
    }
    if (!toks) {
        tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.tokens is not an array of strings");
        return ERR_FORMAT;
    }
    if (n64 == 0 || n64 > GGUF_MAX_ARRAY) {
        tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.tokens has %llu entries",
                (unsigned long long)n64);
        return ERR_FORMAT;
    }
    int n = (int)n64;
    L->n = n;

    const struct gguf_kv *ks = gguf_find(g, "tokenizer.ggml.scores");
    const void *sdata = NULL;
    int scores_int = 0;
    if (ks) {
        uint64_t ns = 0;
        if ((sdata = gguf_arr_data(ks, GGUF_TYPE_FLOAT32, &ns)) == NULL &&
            (sdata = gguf_arr_data(ks, GGUF_TYPE_INT32, &ns)) != NULL)
            scores_int = 1;
        if (!sdata) {
            tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.scores is not an array of float32/int32");
            return ERR_FORMAT;
        }
        if (ns != n64) {
            tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.scores has %llu entries for %d tokens",
                    (unsigned long long)ns, n);
            return ERR_FORMAT;
        }
    }
    const struct gguf_kv *ky = gguf_find(g, "tokenizer.ggml.token_type");
    const int32_t *types = NULL;
    if (ky) {
        uint64_t ny = 0;
        if ((types = gguf_arr_data(ky, GGUF_TYPE_INT32, &ny)) == NULL) {
            tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.token_type is not an array of int32");
            return ERR_FORMAT;
        }
        if (ny != n64) {
            tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.token_type has %llu entries for %d tokens",
                    (unsigned long long)ny, n);
            return ERR_FORMAT;
        }
    }
    const struct gguf_str *merges = NULL;
    uint64_t nm = 0;
    if (kind == TOKENIZER_BPE) {
        const struct gguf_kv *km = gguf_find(g, "tokenizer.ggml.merges");
        if (!km) {
            tokenizer_set_err(err, errcap, "tokenizer: no tokenizer.ggml.merges (needed by a gpt2 vocabulary)");
            return ERR_FORMAT;
        }
        if ((merges = gguf_arr_data(km, GGUF_TYPE_STRING, &nm)) == NULL) {
            tokenizer_set_err(err, errcap, "tokenizer: tokenizer.ggml.merges is not an array of strings");
            return ERR_FORMAT;
        }
    }

    /* ---- sizes: pieces ("" becomes "[EMPTY_i]" as in llama.cpp) and the
     * decoded-piece bound max(len, decoded NORMAL text) + 1 ---- */
    uint64_t pool = 0, dpool = 0;
    for (int i = 0; i < n; i++) {
        const struct gguf_str *s = &toks[i];
        for (uint64_t k = 0; k < s->n; k++)
            if (s->s[k] == 0) {
                tokenizer_set_err(err, errcap, "tokenizer: token %d contains a NUL byte", i);
                return ERR_FORMAT;
            }
        uint64_t len = s->n ? s->n : EMPTY_PIECE_MAX, d = len;
        if (kind == TOKENIZER_BPE && s->n) {
            uint64_t dl = bpe_decode_text(s->s, (size_t)s->n, NULL);
            if (dl > d)
                d = dl;
        }
        if (size_add(pool, len + 1, &pool) || size_add(dpool, d + 1, &dpool))
            return ERR_RANGE;
    }
    if (dpool > DEC_POOL_LIMIT) {
        tokenizer_set_err(err, errcap, "tokenizer: decoded pieces need %llu bytes (limit %llu)",
                (unsigned long long)dpool, DEC_POOL_LIMIT);
        return ERR_FORMAT;
    }
    uint32_t hcap = pow2_at_least(2 * (uint64_t)n), mcap = nm ? pow2_at_least(2 * nm) : 0;
    struct layout y;
    if (lay(&y, (uint64_t)n, hcap, nm, mcap, pool, dpool) || y.total > (uint64_t)SIZE_MAX) {
        tokenizer_set_err(err, errcap, "tokenizer: vocabulary too large (%d tokens)", n);
        return ERR_FORMAT;
    }
    unsigned char *mem = plat_alloc((size_t)y.total);
    if (!mem) {
        tokenizer_set_err(err, errcap, "tokenizer: out of memory (%llu bytes for %d tokens)",
                (unsigned long long)y.total, n);
        return ERR_NOMEM;
    }
    t->mem = mem;
    t->mem_size = (size_t)y.total;
    const char **vocab = (const char **)(void *)(mem + y.vocab);
    const char **dec = (const char **)(void *)(mem + y.dec);
    uint32_t *plen = (uint32_t *)(void *)(mem + y.len);
    float *scores = (float *)(void *)(mem + y.scores);
    uint16_t *attr = (uint16_t *)(void *)(mem + y.attr);
    uint32_t *hash = (uint32_t *)(void *)(mem + y.hash);
    struct tokenizer_merge *mg = (struct tokenizer_merge *)(void *)(mem + y.merges);
    uint32_t *mhash = (uint32_t *)(void *)(mem + y.mhash);
    int32_t *specials = (int32_t *)(void *)(mem + y.specials);
    char *byte_pieces = (char *)(mem + y.bytes);
    char *p = (char *)(mem + y.pool), *dp = (char *)(mem + y.dpool);

    t->kind = kind;
    t->pre = pre;
    t->vocab = vocab;
    t->vocab_size = n;
    t->dec = dec;
    t->piece_len = plen;
    t->scores = scores;
    t->attr = attr;
    t->hash = hash;
    t->hash_mask = hcap - 1;
    t->byte_pieces = byte_pieces;
    t->kind = kind;
    t->ignore_merges = ignore_merges;
    t->clean_spaces = clean_spaces;
    t->add_space_prefix = add_space_prefix;

    /* ---- pieces, lookup hash (duplicates are an error: llama.cpp asserts) ---- */
    uint32_t maxlen = 0;
    for (int i = 0; i < n; i++) {
        const struct gguf_str *s = &toks[i];
        size_t len;
        if (s->n) {
            len = (size_t)s->n;
            memcpy(p, s->s, len);
        } else {
            len = (size_t)fmt_snprintf(p, EMPTY_PIECE_MAX, "[EMPTY_%d]", i);
        }
        p[len] = 0;
        vocab[i] = p;
        plen[i] = (uint32_t)len;
        if (len > maxlen)
            maxlen = (uint32_t)len;
        p += len + 1;
        int dup = lookup(t, vocab[i], len);
        if (dup >= 0) {
            char shown[48];
            str_copy(shown, sizeof shown, vocab[i]);
            for (char *q = shown; *q; q++)
                if ((unsigned char)*q < 0x20 || *q == 0x7f)
                    *q = '?';
            tokenizer_set_err(err, errcap, "tokenizer: token %d '%s' duplicates token %d", i, shown, dup);
            return ERR_FORMAT;
        }
        uint32_t h = tok_piece_hash(vocab[i], len, NULL, 0) & t->hash_mask;
        while (hash[h])
            h = (h + 1) & t->hash_mask;
        hash[h] = (uint32_t)i + 1;
    }
    t->max_piece_len = t->max_token_length = maxlen;
    for (int b = 0; b < 256; b++) {
        byte_pieces[2 * b] = (char)b;
        byte_pieces[2 * b + 1] = 0;
    }

    /* ---- scores and types ---- */
    for (int i = 0; i < n; i++) {
        float f = 0;
        if (sdata && scores_int) {
            int32_t v;
            memcpy(&v, (const char *)sdata + 4 * (size_t)i, 4);
            f = (float)v;
        } else if (sdata) {
            memcpy(&f, (const char *)sdata + 4 * (size_t)i, 4);
            uint32_t bits;
            memcpy(&bits, &f, 4);
            if ((bits & 0x7f800000u) == 0x7f800000u) {
                tokenizer_set_err(err, errcap, "tokenizer: score of token %d is not finite", i);
                return ERR_FORMAT;
            }
        }
        scores[i] = f;
        uint16_t a = TOKEN_ATTR_NORMAL;
        if (types) {
            int32_t ty;
            memcpy(&ty, &types[i], 4);
            a = ty == 1 ? TOKEN_ATTR_NORMAL : ty == 2 ? TOKEN_ATTR_UNKNOWN
              : ty == 3 ? TOKEN_ATTR_CONTROL : ty == 4 ? TOKEN_ATTR_USER_DEFINED
              : ty == 5 ? TOKEN_ATTR_UNUSED : ty == 6 ? TOKEN_ATTR_BYTE : TOKEN_ATTR_UNDEFINED;
        }
        attr[i] = a;
    }

    if (kind == TOKENIZER_BPE) {
        t->merges = mg;
        t->merge_hash = mhash;
        t->n_merges = (uint32_t)nm;
        t->merge_mask = mcap - 1;
        if ((rc = build_merges(L, merges, mg, mhash)) != 0)
            return rc;
    }

    /* ---- special ids, flags ---- */
    t->bos_id = kind == TOKENIZER_SPM ? 1 : 11;
    t->eos_id = kind == TOKENIZER_SPM ? 2 : 11;
    t->unk_id = kind == TOKENIZER_SPM ? 0 : -1;
    t->eot_id = t->eom_id = t->pad_id = -1;
    if (t->bos_id >= n)
        t->bos_id = -1;
    if (t->eos_id >= n)
        t->eos_id = -1;
    if ((rc = special_ids(L, attr)) != 0)
        return rc;
    if ((rc = read_bool(L, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix)) ||
        (rc = read_bool(L, "tokenizer.ggml.add_bos_token", &add_bos)) ||
        (rc = read_bool(L, "tokenizer.ggml.add_eos_token", &add_eos)))
        return rc;
    t->add_bos = add_bos;
    t->add_eos = add_eos;

    if ((rc = build_specials(L, attr, specials)) != 0)
        return rc;
    build_bytes_and_text(t, attr, dec, dp);
    t->encode_fn = gguf_encode;
    return 0;
}

int tokenizer_init_gguf(struct tokenizer *t, const struct gguf_file *g, char *err, size_t errcap)
{
    if (!t)
        return ERR_INVAL;
    memset(t, 0, sizeof *t);
    if (!g) {
        tokenizer_set_err(err, errcap, "tokenizer: no GGUF file");
        return ERR_INVAL;
    }
    if (err && errcap)
        err[0] = 0;
    struct loader L = {t, g, err, errcap, 0};
    int rc = load(&L);
    if (rc) {
        if (err && errcap && !err[0])
            tokenizer_set_err(err, errcap, "tokenizer: %s", err_str(rc));
        if (t->mem)
            plat_free(t->mem, t->mem_size);
        memset(t, 0, sizeof *t);
    }
    return rc;
}

/* ---- SentencePiece (llm_tokenizer_spm_session) ------------------------------------ */

struct spm_sym {
    uint32_t off, len; /* len 0: merged away */
    int32_t prev, next;
    uint32_t gen;
};

static uint64_t spm_scratch_bytes(size_t n)
{
    uint64_t esc = 3 * (uint64_t)n + 3, sz = (esc + 7) & ~7ull;
    return sz + esc * sizeof(struct spm_sym) + 3 * esc * sizeof(struct tok_cand);
}

static void spm_try(const struct tokenizer *t, const char *esc, struct spm_sym *s, struct tok_heap *h,
                    int32_t left)
{
    if (left < 0 || s[left].next < 0)
        return;
    int32_t right = s[left].next;
    int id = lookup(t, esc + s[left].off, s[left].len + s[right].len);
    if (id < 0)
        return;
    struct tok_cand c = {t->scores[id], left, s[left].gen, id};
    tok_heap_push(h, c);
}

/* One raw fragment: optional dummy prefix, ' ' -> U+2581, split into
 * UTF-8 characters by their lead byte (llama.cpp unicode_len_utf8),
 * merge, then resegment (a piece, or its bytes). */
static int spm_fragment(const struct tokenizer *t, const char *s, size_t n, int prefix, void *scratch,
                        struct tok_out *out)
{
    uint64_t esc_cap = 3 * (uint64_t)n + 3;
    char *esc = scratch;
    struct spm_sym *sym = (struct spm_sym *)(void *)((char *)scratch + ((esc_cap + 7) & ~7ull));
    struct tok_heap h = {(struct tok_cand *)(void *)(sym + esc_cap), 0};
    size_t el = 0;
    if (prefix) {
        memcpy(esc, "\xe2\x96\x81", 3);
        el = 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(esc + el, "\xe2\x96\x81", 3);
            el += 3;
        } else {
            esc[el++] = s[i];
        }
    }
    static const uint8_t utf8_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    int32_t ns = 0;
    for (size_t off = 0; off < el;) {
        size_t l = utf8_len[(unsigned char)esc[off] >> 4];
        if (l > el - off)
            l = el - off;
        sym[ns] = (struct spm_sym){(uint32_t)off, (uint32_t)l, ns - 1, off + l == el ? -1 : ns + 1, 0};
        ns++;
        off += l;
    }
    for (int32_t i = 0; i + 1 < ns; i++)
        spm_try(t, esc, sym, &h, i);
    while (h.n > 0) {
        struct tok_cand c = tok_heap_pop(&h);
        struct spm_sym *l = &sym[c.pos];
        if (l->len == 0 || l->gen != c.gen)
            continue; /* stale */
        int32_t r = l->next;
        l->len += sym[r].len;
        sym[r].len = 0;
        l->next = sym[r].next;
        if (l->next >= 0)
            sym[l->next].prev = c.pos;
        l->gen++;
        if (l->prev >= 0) {
            sym[l->prev].gen++;
            spm_try(t, esc, sym, &h, l->prev);
        }
        spm_try(t, esc, sym, &h, c.pos);
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = sym[i].next) {
        int id = lookup(t, esc + sym[i].off, sym[i].len);
        int rc;
        if (id >= 0) {
            if ((rc = tok_out_push(out, id)) != 0)
                return rc;
            continue;
        }
        for (uint32_t k = 0; k < sym[i].len; k++) {
            id = t->byte_tok[(unsigned char)esc[sym[i].off + k]];
            if (id < 0)
                id = t->unk_id;
            if (id < 0)
                return ERR_UNSUPPORTED;
            if ((rc = tok_out_push(out, id)) != 0)
                return rc;
        }
    }
    return 0;
}

/* ---- the GGUF encode driver (llama_vocab::impl::tokenize) --------------------------- */

static int gguf_encode(const struct tokenizer *t, const char *text, int flags, int *tokens,
                       int max_tokens, int *ret_n)
{
    size_t len = strlen(text);
    if (len > (1u << 30))
        return ERR_RANGE;
    struct tok_out out = {tokens, max_tokens, 0};
    int add_bos = (flags & TOK_ADD_BOS) || ((flags & TOK_ADD_SPECIAL) && t->add_bos);
    int add_eos = (flags & TOK_ADD_EOS) || ((flags & TOK_ADD_SPECIAL) && t->add_eos);
    if ((add_bos && t->bos_id < 0) || (add_eos && t->eos_id < 0))
        return ERR_UNSUPPORTED;

    size_t fbytes = (3 * len + 2) * sizeof(struct tok_frag);
    struct tok_frag *f = plat_alloc(fbytes);
    if (!f)
        return ERR_NOMEM;
    int32_t head = tok_partition(t, text, len, (flags & TOK_PARSE_SPECIAL) != 0, f);
    size_t maxfrag = 0;
    for (int32_t i = head; i >= 0; i = f[i].next)
        if (f[i].id < 0 && f[i].len > maxfrag)
            maxfrag = f[i].len;
    uint64_t sbytes = t->kind == TOKENIZER_SPM ? spm_scratch_bytes(maxfrag) : tok_bpe_scratch_bytes(maxfrag);
    void *scratch = NULL;
    int rc = 0;
    if (sbytes == 0 || sbytes > (uint64_t)SIZE_MAX) {
        rc = ERR_RANGE;
        goto out;
    }
    if ((scratch = plat_alloc((size_t)sbytes)) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (add_bos && (rc = tok_out_push(&out, t->bos_id)) != 0)
        goto out;
    int prev_special = 1; /* SPM: the dummy prefix goes at the start and after special tokens */
    for (int32_t i = head; i >= 0 && !rc; i = f[i].next) {
        if (f[i].id >= 0) {
            rc = tok_out_push(&out, f[i].id);
            prev_special = 1;
        } else if (t->kind == TOKENIZER_SPM) {
            rc = spm_fragment(t, text + f[i].off, f[i].len, t->add_space_prefix && prev_special,
                              scratch, &out);
            prev_special = 0;
        } else {
            rc = tok_bpe_encode(t, text + f[i].off, f[i].len, scratch, &out);
        }
    }
    if (!rc && add_eos)
        rc = tok_out_push(&out, t->eos_id);
    if (!rc)
        *ret_n = out.n;
out:
    if (scratch)
        plat_free(scratch, (size_t)sbytes);
    plat_free(f, fbytes);
    return rc;
}
