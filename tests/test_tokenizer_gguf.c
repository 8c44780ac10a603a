/* test_tokenizer_gguf.c - tokenizers from GGUF metadata (tokenizer_spm.c,
 * tokenizer_bpe.c): the stories260K.gguf vocabulary against the tok512.bin
 * references, ggml-vocab-llama-spm.gguf against llama.cpp's .inp/.out
 * vectors, special tokens, decoding, a table of malformed metadata, byte-level
 * BPE on hand-written merges with known encodings, a BPE trained here against
 * a naive reference merger, the pre-tokenizers, the Unicode table and
 * memory. (tests/host_tokenizer_oracle.sh compares with llama.cpp itself.) */
#include "testlib.h"
#include "../platform_posix.h"

#include "../errors.h"
#include "../gguf.h"
#include "../tokenizer.h"

#include <limits.h>
#include <stdint.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------------------- */

static int open_model_vocab(struct tokenizer *t, const char *name)
{
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/%s", test_models_dir(), name);
    struct gguf_file g;
    int rc = gguf_open(&g, path, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", path, err);
    if (rc)
        return rc;
    rc = tokenizer_init_gguf(t, &g, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", path, err);
    gguf_close(&g);
    return rc;
}

/* Encodes text; returns the count or -(error). */
static int enc(const struct tokenizer *t, const char *text, int flags, int *ids, int cap)
{
    int n = -1, rc = tokenizer_encode_ex(t, text, flags, ids, cap, &n);
    return rc ? rc : n;
}

static int same_ids(const int *a, int na, const int *b, int nb)
{
    return na == nb && (na == 0 || memcmp(a, b, sizeof(int) * (size_t)na) == 0);
}

/* Expects encode(text) == want[0..nw). */
#define CHECK_ENC(t, text, flags, ...)                                                       \
    do {                                                                                     \
        static const int want_[] = {__VA_ARGS__};                                           \
        int got_[256];                                                                       \
        int ng_ = enc((t), (text), (flags), got_, 256);                                      \
        char sg_[1024], sw_[1024];                                                           \
        test_format_ids(sg_, sizeof sg_, got_, ng_ < 0 ? 0 : ng_);                                   \
        test_format_ids(sw_, sizeof sw_, want_, (int)N_OF(want_));                                   \
        CHECK_MSG(same_ids(got_, ng_, want_, (int)N_OF(want_)), "\"%s\": got [%s] (%d), want [%s]", \
                  (text), sg_, ng_, sw_);                                                    \
    } while (0)

static void detok(const struct tokenizer *t, const int *ids, int n, char *buf, size_t cap)
{
    size_t len = 0;
    int rc = tokenizer_detokenize(t, ids, n, buf, cap, &len);
    CHECK_INT(rc, 0);
}

/* ---- an in-memory GGUF writer (metadata only) ---------------------------------------- */

struct gb {
    unsigned char *p;
    size_t len, cap;
    uint64_t nkv;
};

static void gb_bytes(struct gb *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void gb_u32(struct gb *b, uint32_t v)
{
    gb_bytes(b, &v, 4);
}

static void gb_u64(struct gb *b, uint64_t v)
{
    gb_bytes(b, &v, 8);
}

static void gb_str(struct gb *b, const char *s, size_t n)
{
    gb_u64(b, n);
    gb_bytes(b, s, n);
}

static void gb_key(struct gb *b, const char *key, uint32_t type)
{
    gb_str(b, key, strlen(key));
    gb_u32(b, type);
    b->nkv++;
}

static void kv_str(struct gb *b, const char *key, const char *v)
{
    gb_key(b, key, GGUF_TYPE_STRING);
    gb_str(b, v, strlen(v));
}

static void kv_u32(struct gb *b, const char *key, uint32_t v)
{
    gb_key(b, key, GGUF_TYPE_UINT32);
    gb_u32(b, v);
}

static void kv_bool(struct gb *b, const char *key, int v)
{
    gb_key(b, key, GGUF_TYPE_BOOL);
    unsigned char c = (unsigned char)v;
    gb_bytes(b, &c, 1);
}

/* String array; lens may be NULL (then strlen). */
static void kv_strs(struct gb *b, const char *key, const char *const *s, const size_t *lens, int n)
{
    gb_key(b, key, GGUF_TYPE_ARRAY);
    gb_u32(b, GGUF_TYPE_STRING);
    gb_u64(b, (uint64_t)n);
    for (int i = 0; i < n; i++)
        gb_str(b, s[i], lens ? lens[i] : strlen(s[i]));
}

static void kv_arr(struct gb *b, const char *key, uint32_t et, const void *v, size_t esize, int n)
{
    gb_key(b, key, GGUF_TYPE_ARRAY);
    gb_u32(b, et);
    gb_u64(b, (uint64_t)n);
    gb_bytes(b, v, esize * (size_t)n);
}

/* Parses the kvs in b as a GGUF file (frees b). */
static int gb_parse(struct gb *b, struct gguf_file *g, char *err, size_t errcap)
{
    struct gb f = {0};
    gb_bytes(&f, "GGUF", 4);
    gb_u32(&f, 3);
    gb_u64(&f, 0);
    gb_u64(&f, b->nkv);
    gb_bytes(&f, b->p, b->len);
    int rc = gguf_parse(g, f.p, f.len, f.len, err, errcap);
    free(f.p);
    free(b->p);
    memset(b, 0, sizeof *b);
    return rc;
}

static int gb_tokenizer(struct gb *b, struct tokenizer *t, char *err, size_t errcap)
{
    struct gguf_file g;
    int rc = gb_parse(b, &g, err, errcap);
    CHECK_MSG(rc == 0, "gguf_parse: %s", err);
    if (rc)
        return -1000;
    rc = tokenizer_init_gguf(t, &g, err, errcap);
    gguf_close(&g);
    return rc;
}

/* GPT-2's character for byte v, as UTF-8 in out (3 bytes room). */
static size_t byte_char(unsigned v, char *out)
{
    unsigned char u[4];
    size_t n = tok_utf8_encode(tok_bpe_byte_cpt(v), u);
    memcpy(out, u, n);
    out[n] = 0;
    return n;
}

/* ---- stories260K.gguf == tok512.bin ------------------------------------------------- */

TEST(tokenizer_gguf_stories260K_tsv)
{
    struct tokenizer t, bin;
    if (open_model_vocab(&t, "stories260K.gguf") != 0)
        return;
    CHECK_INT(t.kind, TOKENIZER_SPM);
    CHECK_INT(tokenizer_vocab_size(&t), 512);
    CHECK_INT(t.bos_id, 1);
    CHECK_INT(t.eos_id, 2);
    CHECK_INT(t.unk_id, 0);
    CHECK_INT(t.pad_id, -1); /* 0xFFFFFFFF in the file */
    CHECK_INT(t.add_bos, 1);
    CHECK_INT(t.add_eos, 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/tok512.bin", test_models_dir());
    CHECK_INT(tokenizer_load(&bin, path, NULL, 0), 0);
    snprintf(path, sizeof path, "%s/reference/tokenizer512_encode.tsv", test_models_dir());
    char *data = test_read_file(path, NULL);
    CHECK_MSG(data != NULL, "cannot read %s", path);
    int rows = 0, matched = 0, line_no = 0;
    char *save = NULL;
    for (char *line = data ? strtok_r(data, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line_no++ == 0)
            continue;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        test_tsv_unescape(line);
        int want[1024], got[1024], got2[1024], nw = test_parse_ids(tab + 1, want, 1024), n2 = -1;
        rows++;
        int ng = enc(&t, line, TOK_ADD_SPECIAL, got, 1024);
        CHECK_INT(tokenizer_encode(&t, line, 1, 0, got2, 1024, &n2), 0);
        if (same_ids(got, ng, want, nw) && same_ids(got2, n2, want, nw))
            matched++;
        else {
            char sa[2048], sb[2048];
            test_format_ids(sa, sizeof sa, got, ng < 0 ? 0 : ng);
            test_format_ids(sb, sizeof sb, want, nw);
            CHECK_MSG(0, "line %d \"%s\"\n    got  [%s]\n    want [%s]", line_no, line, sa, sb);
        }
        /* the same as the llama2.c tokenizer on tok512.bin */
        int n3 = -1;
        CHECK_INT(tokenizer_encode(&bin, line, 1, 0, got2, 1024, &n3), 0);
        CHECK(same_ids(got2, n3, got, ng));
        /* llama_detokenize of the ids after BOS gives the text back */
        char text[4096];
        detok(&t, want + 1, nw - 1, text, sizeof text);
        CHECK_MSG(!strcmp(text, line), "line %d: detokenized \"%s\"", line_no, text);
    }
    CHECK_INT(rows, 31);
    CHECK_INT(matched, rows);
    free(data);
    tokenizer_free(&bin);
    tokenizer_free(&t);
}

/* ---- ggml-vocab-llama-spm.gguf: llama.cpp's test vectors ---------------------------- */

TEST(tokenizer_gguf_llama_spm_vectors)
{
    struct tokenizer t;
    if (open_model_vocab(&t, "ggml-vocab-llama-spm.gguf") != 0)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/ggml-vocab-llama-spm.gguf.inp", test_models_dir());
    char *inp = test_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/ggml-vocab-llama-spm.gguf.out", test_models_dir());
    char *out = test_read_file(path, NULL);
    CHECK(inp && out);
    if (!inp || !out) {
        free(inp);
        free(out);
        tokenizer_free(&t);
        return;
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *p = inp, *o = out;
    int rows = 0, matched = 0;
    for (;;) {
        char *end = strstr(p, sep);
        if (!end)
            break;
        *end = 0;
        char *nl = strchr(o, '\n');
        if (!nl)
            break;
        *nl = 0;
        int want[1024], got[1024], nw = test_parse_ids(o, want, 1024);
        rows++;
        int ng = enc(&t, p, 0, got, 1024);
        if (same_ids(got, ng, want, nw)) {
            matched++;
        } else {
            char sa[4096], sb[4096];
            test_format_ids(sa, sizeof sa, got, ng < 0 ? 0 : ng);
            test_format_ids(sb, sizeof sb, want, nw);
            CHECK_MSG(0, "vector %d \"%s\"\n    got  [%s]\n    want [%s]", rows, p, sa, sb);
        }
        /* BOS as the vocabulary asks, and detokenizing gives the text */
        int ng2 = enc(&t, p, TOK_ADD_SPECIAL, got, 1024);
        CHECK(ng2 == nw + 1 && got[0] == 1 && same_ids(got + 1, ng2 - 1, want, nw));
        char text[4096];
        detok(&t, want, nw, text, sizeof text);
        CHECK_MSG(!strcmp(text, p), "vector %d: detokenized \"%s\"", rows, text);
        p = end + sizeof sep - 1;
        o = nl + 1;
    }
    CHECK_INT(rows, 46);
    CHECK_INT(matched, rows);
    free(inp);
    free(out);
    tokenizer_free(&t);
}

/* ---- SPM special tokens and decoding (ids from the llama.cpp oracle) ------------------- */

TEST(tokenizer_gguf_spm_special_and_decode)
{
    struct tokenizer t;
    if (open_model_vocab(&t, "ggml-vocab-llama-spm.gguf") != 0)
        return;
    int ids_empty[4];
    CHECK_ENC(&t, "<s>Hello</s> x", TOK_PARSE_SPECIAL, 1, 15043, 2, 29871, 921);
    CHECK_ENC(&t, "<s>Hello</s> x", 0, 529, 29879, 29958, 10994, 829, 29879, 29958, 921);
    CHECK_ENC(&t, "a<s>b", TOK_PARSE_SPECIAL, 263, 1, 289);
    CHECK_ENC(&t, "Hello world", TOK_ADD_BOS | TOK_ADD_EOS, 1, 15043, 3186, 2);
    CHECK_ENC(&t, " Hello", 0, 29871, 15043);
    CHECK_ENC(&t, "", TOK_ADD_SPECIAL, 1);
    CHECK_INT(enc(&t, "", 0, ids_empty, 4), 0);
    /* tokenizer_encode = add_special (BOS) [+ EOS] */
    int ids[8], n = -1;
    CHECK_INT(tokenizer_encode(&t, "Hello", 1, 1, ids, 8, &n), 0);
    CHECK(n == 3 && ids[0] == 1 && ids[1] == 15043 && ids[2] == 2);
    /* exact fit, one less is ERR_RANGE and leaves ret_n alone */
    n = -7;
    CHECK_INT(tokenizer_encode_ex(&t, "Hello world", TOK_ADD_BOS, ids, 3, &n), 0);
    CHECK_INT(n, 3);
    n = -7;
    CHECK_INT(tokenizer_encode_ex(&t, "Hello world", TOK_ADD_BOS, ids, 2, &n), ERR_RANGE);
    CHECK_INT(n, -7);
    CHECK_INT(tokenizer_encode_ex(&t, NULL, 0, ids, 2, &n), ERR_INVAL);

    CHECK_STR(tokenizer_decode(&t, -1, 15043), "Hello"); /* first token: space stripped */
    CHECK_STR(tokenizer_decode(&t, 1, 15043), " Hello"); /* after BOS: kept, as llama.cpp */
    CHECK_STR(tokenizer_decode(&t, 5, 15043), " Hello");
    CHECK_STR(tokenizer_decode(&t, 5, 1), "");           /* control */
    CHECK_STR(tokenizer_decode(&t, 5, 0), "");           /* unknown */
    CHECK_STR(tokenizer_decode(&t, 5, 13), "\n");        /* <0x0A> */
    CHECK_STR(tokenizer_decode(&t, 5, 3 + 0xE2), "\xE2");
    CHECK_STR(tokenizer_decode(&t, 5, 32000), "");
    CHECK_STR(tokenizer_decode(&t, 5, -1), "");
    CHECK_INT(tokenizer_is_eog(&t, 2), 1);
    CHECK_INT(tokenizer_is_eog(&t, 1), 0);
    CHECK_INT(tokenizer_is_eog(&t, 32000), 0);
    static const int hello[] = {1, 15043, 3186, 29892, 29871, 30408, 2};
    char text[256];
    detok(&t, hello, (int)N_OF(hello), text, sizeof text);
    CHECK_STR(text, " Hello world, \xe5\xa4\xa9"); /* [BOS, ...]: llama.cpp keeps the space */
    detok(&t, hello + 1, (int)N_OF(hello) - 1, text, sizeof text);
    CHECK_STR(text, "Hello world, \xe5\xa4\xa9");
    /* a buffer too small: ERR_RANGE, the full length, a terminated prefix */
    size_t len = 0;
    CHECK_INT(tokenizer_detokenize(&t, hello + 1, 2, text, 6, &len), ERR_RANGE);
    CHECK_INT(len, 11);
    CHECK_STR(text, "Hello");
    tokenizer_free(&t);
}

/* A small SPM vocabulary: added control/user-defined pieces, overlapping
 * specials, no byte pieces (unk fallback), an empty piece, Phi-3's rule. */
TEST(tokenizer_gguf_spm_small)
{
    static const char *toks[] = {
        "<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab", "<|im_start|>",
        "<|im_end|>", "[INST]", "<|im", "", "x",
    };
    static const float scores[] = {0, 0, 0, -1, -2, -3, -0.5f, -0.25f, 0, 0, 0, 0, 0, -9};
    static const int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 3, 3, 4, 4, 1, 1};
    for (int phi3 = 0; phi3 < 2; phi3++) {
        struct gb b = {0};
        kv_str(&b, "tokenizer.ggml.model", "llama");
        if (phi3)
            kv_str(&b, "general.name", "Phi3-Mini");
        kv_strs(&b, "tokenizer.ggml.tokens", toks, NULL, (int)N_OF(toks));
        kv_arr(&b, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 4, (int)N_OF(scores));
        kv_arr(&b, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 4, (int)N_OF(types));
        struct tokenizer t;
        char err[256];
        int rc = gb_tokenizer(&b, &t, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        if (rc)
            continue;
        CHECK_STR(t.vocab[12], "[EMPTY_12]"); /* as llama.cpp renames empty pieces */
        CHECK_INT(t.eot_id, 9);               /* "<|im_end|>" */
        CHECK_INT(tokenizer_is_eog(&t, 9), 1);
        CHECK_INT(tokenizer_is_eog(&t, 2), 1); /* eos and "</s>" */
        if (!phi3) {
            CHECK_ENC(&t, "ab", 0, 3, 7); /* "ab" (-0.25) beats "\u2581a" (-0.5) */
            CHECK_ENC(&t, "a b", 0, 6, 3, 5);
            /* no byte pieces: unk for what no piece covers */
            CHECK_ENC(&t, "c", 0, 3, 0);
            /* user-defined pieces split even without parse_special; the
             * longest special first ("<|im_start|>" before "<|im") */
            CHECK_ENC(&t, "a[INST]b", 0, 6, 10, 3, 5);
            /* without parse_special only user-defined "<|im" is cut out */
            CHECK_ENC(&t, "<|im_start|>a", 0, 11, 3, 0, 0, 0, 4, 0, 0, 0, 0, 4);
            CHECK_ENC(&t, "<|im_start|>a", TOK_PARSE_SPECIAL, 8, 6);
            CHECK_ENC(&t, "<|im_start|><|im_end|>", TOK_PARSE_SPECIAL, 8, 9);
            CHECK_ENC(&t, "<|im_start|> a", TOK_PARSE_SPECIAL, 8, 3, 6);
            CHECK_STR(tokenizer_decode(&t, -1, 10), "[INST]"); /* user-defined: its text */
            CHECK_STR(tokenizer_decode(&t, -1, 9), "");
        } else {
            /* Phi-3: spaces after special pieces are eaten */
            CHECK_ENC(&t, "<|im_start|>  a", TOK_PARSE_SPECIAL, 8, 6);
            CHECK_ENC(&t, "a[INST]  b", 0, 6, 10, 3, 5);
        }
        tokenizer_free(&t);
    }
}

/* ---- malformed metadata -------------------------------------------------------------- */

enum {
    M_NO_MODEL, M_MODEL_BERT, M_MODEL_U32, M_NO_TOKENS, M_TOKENS_U32, M_TOKENS_EMPTY,
    M_SCORES_SHORT, M_SCORES_U8, M_TYPES_SHORT, M_TYPES_U32, M_DUP, M_NUL, M_NAN, M_BOS_RANGE,
    M_BOS_STR, M_ADD_BOS_U32, M_NO_MERGES, M_MERGE_NOSPACE, M_MERGE_PART, M_MERGE_RESULT, M_PRE,
    M_PRE_U32, M_EOT_RANGE, M_COUNT
};

static void build_case(struct gb *b, int c)
{
    const int bpe = c >= M_NO_MERGES && c != M_EOT_RANGE;
    static const char *spm_toks[] = {"<unk>", "<s>", "</s>", "a", "b"};
    static const char *bpe_toks[] = {"a", "b", "ab", "c"};
    const char *const *toks = bpe ? bpe_toks : spm_toks;
    int n = bpe ? 4 : 5;
    float scores[5] = {0, 0, 0, -1, -2};
    int32_t types[5] = {2, 3, 3, 1, 1};
    if (c == M_NAN)
        scores[4] = __builtin_nanf("");
    if (c != M_NO_MODEL)
        c == M_MODEL_BERT ? kv_str(b, "tokenizer.ggml.model", "bert")
        : c == M_MODEL_U32 ? kv_u32(b, "tokenizer.ggml.model", 1)
                           : kv_str(b, "tokenizer.ggml.model", bpe ? "gpt2" : "llama");
    if (c == M_PRE)
        kv_str(b, "tokenizer.ggml.pre", "tekken");
    if (c == M_PRE_U32)
        kv_u32(b, "tokenizer.ggml.pre", 3);
    if (c == M_TOKENS_U32) {
        kv_arr(b, "tokenizer.ggml.tokens", GGUF_TYPE_UINT32, types, 4, n);
    } else if (c == M_TOKENS_EMPTY) {
        kv_strs(b, "tokenizer.ggml.tokens", toks, NULL, 0);
    } else if (c == M_DUP) {
        static const char *dup[] = {"<unk>", "<s>", "</s>", "a", "a"};
        kv_strs(b, "tokenizer.ggml.tokens", dup, NULL, n);
    } else if (c == M_NUL) {
        size_t lens[5] = {5, 3, 4, 1, 2};
        static const char *nul[] = {"<unk>", "<s>", "</s>", "a", "b\0"};
        kv_strs(b, "tokenizer.ggml.tokens", nul, lens, n);
    } else if (c != M_NO_TOKENS) {
        kv_strs(b, "tokenizer.ggml.tokens", toks, NULL, n);
    }
    if (c == M_SCORES_U8)
        kv_arr(b, "tokenizer.ggml.scores", GGUF_TYPE_UINT8, "abcde", 1, n);
    else if (!bpe)
        kv_arr(b, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 4, c == M_SCORES_SHORT ? n - 1 : n);
    if (c == M_TYPES_U32)
        kv_arr(b, "tokenizer.ggml.token_type", GGUF_TYPE_UINT32, types, 4, n);
    else if (!bpe)
        kv_arr(b, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 4, c == M_TYPES_SHORT ? n - 1 : n);
    if (c == M_BOS_RANGE)
        kv_u32(b, "tokenizer.ggml.bos_token_id", 5);
    if (c == M_EOT_RANGE)
        kv_u32(b, "tokenizer.ggml.eot_token_id", 70000);
    if (c == M_BOS_STR)
        kv_str(b, "tokenizer.ggml.bos_token_id", "1");
    if (c == M_ADD_BOS_U32)
        kv_u32(b, "tokenizer.ggml.add_bos_token", 1);
    if (bpe && c != M_NO_MERGES) {
        static const char *ok[] = {"a b"}, *nospace[] = {"ab"}, *part[] = {"a x"}, *res[] = {"b a"};
        kv_strs(b, "tokenizer.ggml.merges",
                c == M_MERGE_NOSPACE ? nospace : c == M_MERGE_PART ? part : c == M_MERGE_RESULT ? res : ok,
                NULL, 1);
    }
}

TEST(tokenizer_gguf_malformed)
{
    static const struct {
        int rc;
        const char *msg;
    } expect[M_COUNT] = {
        [M_NO_MODEL] = {ERR_FORMAT, "no tokenizer.ggml.model"},
        [M_MODEL_BERT] = {ERR_UNSUPPORTED, "'bert' is not supported"},
        [M_MODEL_U32] = {ERR_FORMAT, "tokenizer.ggml.model is not a string"},
        [M_NO_TOKENS] = {ERR_FORMAT, "no tokenizer.ggml.tokens"},
        [M_TOKENS_U32] = {ERR_FORMAT, "tokens is not an array of strings"},
        [M_TOKENS_EMPTY] = {ERR_FORMAT, "tokens has 0 entries"},
        [M_SCORES_SHORT] = {ERR_FORMAT, "scores has 4 entries for 5 tokens"},
        [M_SCORES_U8] = {ERR_FORMAT, "scores is not an array of float32/int32"},
        [M_TYPES_SHORT] = {ERR_FORMAT, "token_type has 4 entries for 5 tokens"},
        [M_TYPES_U32] = {ERR_FORMAT, "token_type is not an array of int32"},
        [M_DUP] = {ERR_FORMAT, "token 4 'a' duplicates token 3"},
        [M_NUL] = {ERR_FORMAT, "token 4 contains a NUL byte"},
        [M_NAN] = {ERR_FORMAT, "score of token 4 is not finite"},
        [M_BOS_RANGE] = {ERR_FORMAT, "bos_token_id 5 is out of range (5 tokens)"},
        [M_BOS_STR] = {ERR_FORMAT, "bos_token_id is not an integer"},
        [M_ADD_BOS_U32] = {ERR_FORMAT, "add_bos_token is not a bool"},
        [M_NO_MERGES] = {ERR_FORMAT, "no tokenizer.ggml.merges"},
        [M_MERGE_NOSPACE] = {ERR_FORMAT, "merge 0 has no space"},
        [M_MERGE_PART] = {ERR_FORMAT, "merge 0: its second part is not a token"},
        [M_MERGE_RESULT] = {ERR_FORMAT, "merge 0: the merged piece is not a token"},
        [M_PRE] = {ERR_UNSUPPORTED, "pre-tokenizer 'tekken' is not supported"},
        [M_PRE_U32] = {ERR_FORMAT, "tokenizer.ggml.pre is not a string"},
        [M_EOT_RANGE] = {ERR_FORMAT, "eot_token_id 70000 is out of range"},
    };
    size_t before = plat_posix_live_bytes();
    for (int c = 0; c < M_COUNT; c++) {
        struct gb b = {0};
        build_case(&b, c);
        struct gguf_file g;
        char err[256] = "";
        int rc = gb_parse(&b, &g, err, sizeof err);
        CHECK_MSG(rc == 0, "case %d: gguf_parse: %s", c, err);
        if (rc)
            continue;
        struct tokenizer t, zero;
        memset(&t, 0xA5, sizeof t);
        memset(&zero, 0, sizeof zero);
        rc = tokenizer_init_gguf(&t, &g, err, sizeof err);
        CHECK_MSG(rc == expect[c].rc, "case %d: rc %d (%s)", c, rc, err);
        CHECK_MSG(!strncmp(err, "tokenizer: ", 11) && strstr(err, expect[c].msg) && !strchr(err, '\n'),
                  "case %d: \"%s\" lacks \"%s\"", c, err, expect[c].msg);
        CHECK_MSG(!memcmp(&t, &zero, sizeof t), "case %d: struct not zeroed", c);
        char small[8];
        CHECK_INT(tokenizer_init_gguf(&t, &g, small, sizeof small), expect[c].rc);
        CHECK_INT(strlen(small), 7);
        CHECK_INT(tokenizer_init_gguf(&t, &g, NULL, 0), expect[c].rc);
        gguf_close(&g);
    }
    CHECK_MSG(plat_posix_live_bytes() == before, "%zu bytes still allocated",
              plat_posix_live_bytes() - before);
    struct tokenizer t;
    CHECK_INT(tokenizer_init_gguf(&t, NULL, NULL, 0), ERR_INVAL);
    CHECK_INT(tokenizer_init_gguf(NULL, NULL, NULL, 0), ERR_INVAL);

    /* "none" ids (0xFFFFFFFF) keep the defaults; pad/fim ids out of range
     * are ignored as llama.cpp does; int32 scores are accepted. */
    struct gb b = {0};
    static const char *toks[] = {"<unk>", "<s>", "</s>", "a"};
    static const int32_t iscores[] = {0, 0, 0, -1};
    kv_str(&b, "tokenizer.ggml.model", "llama");
    kv_strs(&b, "tokenizer.ggml.tokens", toks, NULL, 4);
    kv_arr(&b, "tokenizer.ggml.scores", GGUF_TYPE_INT32, iscores, 4, 4);
    kv_u32(&b, "tokenizer.ggml.bos_token_id", 0xFFFFFFFFu);
    kv_u32(&b, "tokenizer.ggml.padding_token_id", 4);
    kv_u32(&b, "tokenizer.ggml.fim_pad_token_id", 99);
    kv_bool(&b, "tokenizer.ggml.add_eos_token", 1);
    kv_bool(&b, "tokenizer.ggml.add_space_prefix", 0);
    char err[256];
    int rc = gb_tokenizer(&b, &t, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK_INT(t.bos_id, 1);
        CHECK_INT(t.pad_id, -1);
        CHECK(t.scores[3] == -1.0f);
        CHECK_INT(t.add_eos, 1);
        /* no token types: all normal; no dummy prefix */
        CHECK_ENC(&t, "a", TOK_ADD_SPECIAL, 1, 3, 2);
        CHECK_STR(tokenizer_decode(&t, -1, 1), "<s>");
        tokenizer_free(&t);
    }
}

/* ---- byte-level BPE with hand-written merges ------------------------------------------- */

/* 256 byte characters (id = byte), then merges 0.., then specials. */
static const char *hand_merges[] = {
    "\xc4\xa0 t",      /* 256 "Ġt" */
    "h e",             /* 257 "he" */
    "\xc4\xa0t he",    /* 258 "Ġthe" */
    "i n",             /* 259 "in" */
    "in g",            /* 260 "ing" */
    "\xc4\xa0 a",      /* 261 "Ġa" */
    "1 2",             /* 262 "12" */
    "\xc4\x8a \xc4\x8a", /* 263 "ĊĊ" */
    "' s",             /* 264 "'s" */
    "h i",             /* 265 "hi" */
};
static const char *hand_specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool>",
                                      "<|channel|>"};
static const int32_t hand_special_types[] = {3, 3, 4, 4, 3};
enum { H_EOT = 266, H_IM_START, H_IM_END, H_TOOL, H_CHANNEL, H_N };

static int hand_bpe(struct tokenizer *t, const char *pre, int with_bos)
{
    char chars[256][4];
    const char *toks[H_N];
    int32_t types[H_N];
    char merged[N_OF(hand_merges)][16];
    for (int b = 0; b < 256; b++) {
        byte_char((unsigned)b, chars[b]);
        toks[b] = chars[b];
        types[b] = 1;
    }
    for (size_t m = 0; m < N_OF(hand_merges); m++) {
        const char *s = hand_merges[m], *sp = strchr(s + 1, ' ');
        snprintf(merged[m], sizeof merged[m], "%.*s%s", (int)(sp - s), s, sp + 1);
        toks[256 + m] = merged[m];
        types[256 + m] = 1;
    }
    for (size_t i = 0; i < N_OF(hand_specials); i++) {
        toks[H_EOT + i] = hand_specials[i];
        types[H_EOT + i] = hand_special_types[i];
    }
    struct gb b = {0};
    kv_str(&b, "tokenizer.ggml.model", "gpt2");
    if (pre)
        kv_str(&b, "tokenizer.ggml.pre", pre);
    kv_strs(&b, "tokenizer.ggml.tokens", toks, NULL, H_N);
    kv_arr(&b, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 4, H_N);
    kv_strs(&b, "tokenizer.ggml.merges", hand_merges, NULL, (int)N_OF(hand_merges));
    kv_u32(&b, "tokenizer.ggml.bos_token_id", H_EOT);
    kv_u32(&b, "tokenizer.ggml.eos_token_id", H_EOT);
    kv_bool(&b, "tokenizer.ggml.add_bos_token", with_bos);
    char err[256];
    int rc = gb_tokenizer(&b, t, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return rc;
}

TEST(tokenizer_gguf_bpe_known)
{
    struct tokenizer t;
    if (hand_bpe(&t, "gpt-2", 0) != 0)
        return;
    CHECK_INT(t.kind, TOKENIZER_BPE);
    CHECK_INT(t.pre, TOKENIZER_PRE_GPT2);
    CHECK_INT(t.n_merges, N_OF(hand_merges));
    CHECK_ENC(&t, "the thing", 0, 't', 257, 256, 'h', 260);
    CHECK_ENC(&t, " the", 0, 258);
    CHECK_ENC(&t, "12 12", 0, 262, ' ', 262);  /* gpt-2: " 12" is one pre-token */
    CHECK_ENC(&t, "\n\n", 0, 263);
    CHECK_ENC(&t, "x\n\ny", 0, 'x', '\n', '\n', 'y'); /* gpt-2: \s+(?!\S) leaves one \n */
    CHECK_ENC(&t, "it's", 0, 'i', 't', 264);
    CHECK_ENC(&t, "IT'S", 0, 'I', 'T', '\'', 'S'); /* gpt-2 contractions are case-sensitive */
    CHECK_ENC(&t, "\xff", 0, 0xEF, 0xBF, 0xBD);    /* invalid UTF-8 -> U+FFFD */
    CHECK_ENC(&t, "\xc3\xa9", 0, 0xC3, 0xA9);      /* bytes of é */
    CHECK_ENC(&t, "<|im_start|>hi<|im_end|>", TOK_PARSE_SPECIAL, H_IM_START, 265, H_IM_END);
    /* "<|im_end|>" is user-defined in the file but an end-of-generation
     * text, so control (llama.cpp overrides it): not split without parse_special */
    CHECK_ENC(&t, "hi<|im_end|>", 0, 265, '<', '|', 'i', 'm', '_', 'e', 'n', 'd', '|', '>');
    CHECK_INT(tokenizer_is_eog(&t, H_IM_END), 1);
    CHECK_INT(tokenizer_is_eog(&t, H_EOT), 1);
    CHECK_INT(tokenizer_is_eog(&t, 'a'), 0);
    CHECK_INT(t.eot_id, H_IM_END);
    /* user-defined pieces are split even without parse_special; gpt-oss's
     * "<|channel|>" is forced to user-defined */
    CHECK_ENC(&t, "a<tool>b", 0, 'a', H_TOOL, 'b');
    CHECK_ENC(&t, "a<|channel|>b", 0, 'a', H_CHANNEL, 'b');
    CHECK_ENC(&t, "hi", TOK_ADD_SPECIAL, 265);        /* add_bos false */
    CHECK_ENC(&t, "hi", TOK_ADD_BOS, H_EOT, 265);
    CHECK_STR(tokenizer_decode(&t, -1, 258), " the"); /* no space prefix to strip */
    CHECK_STR(tokenizer_decode(&t, -1, 263), "\n\n");
    CHECK_STR(tokenizer_decode(&t, -1, 0xC3), "\xc3");
    CHECK_STR(tokenizer_decode(&t, -1, H_TOOL), "<tool>");
    CHECK_STR(tokenizer_decode(&t, -1, H_EOT), "");
    static const int comma[] = {'a', ' ', ',', ' ', '\'', 's', '!'};
    char text[64];
    detok(&t, comma, (int)N_OF(comma), text, sizeof text); /* gpt-2 cleans spaces */
    CHECK_STR(text, "a,'s!");
    tokenizer_free(&t);

    if (hand_bpe(&t, "qwen2", 0) != 0)
        return;
    CHECK_ENC(&t, "12 12", 0, '1', '2', ' ', '1', '2'); /* one digit per pre-token */
    detok(&t, comma, (int)N_OF(comma), text, sizeof text); /* qwen2 does not */
    CHECK_STR(text, "a , 's!");
    tokenizer_free(&t);

    if (hand_bpe(&t, "llama-bpe", 0) != 0)
        return;
    CHECK_INT(t.add_bos, 0); /* the file says so; llama-bpe's default is true */
    CHECK_ENC(&t, "12 12", 0, 262, ' ', 262);
    CHECK_ENC(&t, "IT'S", 0, 'I', 'T', '\'', 'S');
    CHECK_ENC(&t, "x\n\ny", 0, 'x', 263, 'y');
    tokenizer_free(&t);

    /* llama-bpe without add_bos_token: BOS by default; ignore_merges keeps
     * a pre-token that is a piece */
    struct gb b = {0};
    static const char *toks[] = {"a", "b", "ab", "\xc4\xa0" "abba", "\xc4\xa0", "<|begin_of_text|>"};
    static const char *merges[] = {"a b"};
    kv_str(&b, "tokenizer.ggml.model", "gpt2");
    kv_str(&b, "tokenizer.ggml.pre", "llama-bpe");
    kv_strs(&b, "tokenizer.ggml.tokens", toks, NULL, 6);
    kv_strs(&b, "tokenizer.ggml.merges", merges, NULL, 1);
    kv_u32(&b, "tokenizer.ggml.bos_token_id", 5);
    char err[256];
    CHECK_INT(gb_tokenizer(&b, &t, err, sizeof err), 0);
    CHECK_INT(t.add_bos, 1);
    CHECK_INT(t.eos_id, -1); /* default 11 is out of range: none */
    CHECK_ENC(&t, " abba", TOK_ADD_SPECIAL, 5, 3);
    CHECK_ENC(&t, " abbab", 0, 4, 2, 1, 2);
    /* characters without a piece are dropped, as llama.cpp does */
    CHECK_ENC(&t, "acb", 0, 0, 1);
    CHECK_INT(tokenizer_encode_ex(&t, "x", TOK_ADD_EOS, (int[4]){0}, 4, &(int){0}), ERR_UNSUPPORTED);
    tokenizer_free(&t);
}

/* ---- a BPE trained here against a naive reference merger ---------------------------------- */

static const char train_text[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.\n"
    "One day, she saw a big, red ball. \"Can I play too?\" she asked. It's what they'd do; we're sure.\n"
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"
    "for (int i = 0; i < 100; i++) { sum += a[i] * b[i]; } 12345 67890 3.14159 2024-01-31\n"
    "Caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87\xe7\x9a\x84\xe5\x8f\xa5\xe5\xad\x90 "
    "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xf0\x9f\x98\x80\xf0\x9f\x98\x80 the the the and and";

struct trained {
    int nv, nm;
    char *tok[700];
    int ma[500], mb[500];
    char *mstr[500];
};

static int find_tok(const struct trained *tr, const char *s)
{
    for (int i = 0; i < tr->nv; i++)
        if (!strcmp(tr->tok[i], s))
            return i;
    return -1;
}

/* Pre-token byte characters of text, as token ids into words[] (-1 ends a word). */
static int words_of(const char *text, int *out, int cap)
{
    size_t n = strlen(text), nc = 0;
    uint32_t *cp = malloc((n + 1) * 4), *lens = malloc((n + 1) * 4), *tmp = malloc((n + 1) * 4);
    uint8_t *fl = malloc(n + 1);
    for (size_t i = 0; i < n;)
        i += tok_utf8_decode((const unsigned char *)text + i, n - i, &cp[nc++]);
    size_t np = tok_pretokenize(TOKENIZER_PRE_GPT2, cp, nc, fl, lens, tmp), at = 0;
    int k = 0;
    for (size_t p = 0; p < np; p++) {
        for (size_t j = at; j < at + lens[p]; j++) {
            unsigned char u[4];
            size_t un = tok_utf8_encode(cp[j], u);
            for (size_t q = 0; q < un && k < cap - 1; q++)
                out[k++] = u[q];
        }
        at += lens[p];
        if (k < cap)
            out[k++] = -1;
    }
    free(cp);
    free(lens);
    free(tmp);
    free(fl);
    return k;
}

static void train(struct trained *tr, int n_merges)
{
    memset(tr, 0, sizeof *tr);
    for (int b = 0; b < 256; b++) {
        tr->tok[b] = malloc(4);
        byte_char((unsigned)b, tr->tok[b]);
    }
    tr->nv = 256;
    int *w = malloc(sizeof(int) * 4096), nw = words_of(train_text, w, 4096);
    int *count = malloc(sizeof(int) * 700 * 700);
    for (int m = 0; m < n_merges; m++) {
        memset(count, 0, sizeof(int) * 700 * 700);
        for (int i = 0; i + 1 < nw; i++)
            if (w[i] >= 0 && w[i + 1] >= 0)
                count[w[i] * 700 + w[i + 1]]++;
        int best = -1, bc = 0;
        for (int i = 0; i < 700 * 700; i++)
            if (count[i] > bc) {
                bc = count[i];
                best = i;
            }
        if (best < 0)
            break;
        int a = best / 700, b = best % 700;
        char *s = malloc(strlen(tr->tok[a]) + strlen(tr->tok[b]) + 1);
        sprintf(s, "%s%s", tr->tok[a], tr->tok[b]);
        int r = find_tok(tr, s);
        if (r < 0) {
            r = tr->nv;
            tr->tok[tr->nv++] = s;
        } else {
            free(s);
        }
        tr->ma[m] = a;
        tr->mb[m] = b;
        tr->mstr[m] = malloc(strlen(tr->tok[a]) + strlen(tr->tok[b]) + 2);
        sprintf(tr->mstr[m], "%s %s", tr->tok[a], tr->tok[b]);
        tr->nm = m + 1;
        int k = 0;
        for (int i = 0; i < nw; i++) {
            if (i + 1 < nw && w[i] == a && w[i + 1] == b) {
                w[k++] = r;
                i++;
            } else {
                w[k++] = w[i];
            }
        }
        nw = k;
    }
    free(count);
    free(w);
}

static void trained_free(struct trained *tr)
{
    for (int i = 0; i < tr->nv; i++)
        free(tr->tok[i]);
    for (int i = 0; i < tr->nm; i++)
        free(tr->mstr[i]);
}

/* The textbook BPE: per pre-token, merge the lowest-rank adjacent pair
 * (leftmost on ties) until none is left. */
static int ref_bpe(const struct trained *tr, const char *text, int *out)
{
    int w[8192], nw = words_of(text, w, 8192), n = 0;
    int sym[2048], ns = 0;
    for (int i = 0; i < nw; i++) {
        if (w[i] >= 0) {
            sym[ns++] = w[i];
            continue;
        }
        for (;;) {
            int best = -1, bm = 1 << 30;
            for (int k = 0; k + 1 < ns; k++)
                for (int m = 0; m < tr->nm && m < bm; m++)
                    if (tr->ma[m] == sym[k] && tr->mb[m] == sym[k + 1]) {
                        bm = m;
                        best = k;
                    }
            if (best < 0)
                break;
            char s[256];
            snprintf(s, sizeof s, "%s%s", tr->tok[sym[best]], tr->tok[sym[best + 1]]);
            sym[best] = find_tok(tr, s);
            memmove(sym + best + 1, sym + best + 2, sizeof(int) * (size_t)(ns - best - 2));
            ns--;
        }
        for (int k = 0; k < ns; k++)
            out[n++] = sym[k];
        ns = 0;
    }
    return n;
}

/* Valid UTF-8 (as llama.cpp decodes it: no U+FFFD for a bad byte). */
static int utf8_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = tok_utf8_decode((const unsigned char *)s + i, n - i, &c);
        if (c == 0xFFFD && k == 1)
            return 0;
        i += k;
    }
    return 1;
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11) % n;
}

TEST(tokenizer_gguf_bpe_trained_vs_reference)
{
    struct trained tr;
    train(&tr, 300);
    CHECK_MSG(tr.nm >= 150, "only %d merges", tr.nm);
    struct gb b = {0};
    kv_str(&b, "tokenizer.ggml.model", "gpt2");
    kv_str(&b, "tokenizer.ggml.pre", "gpt-2");
    kv_strs(&b, "tokenizer.ggml.tokens", (const char *const *)tr.tok, NULL, tr.nv);
    kv_strs(&b, "tokenizer.ggml.merges", (const char *const *)tr.mstr, NULL, tr.nm);
    struct tokenizer t;
    char err[256];
    int rc = gb_tokenizer(&b, &t, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) {
        trained_free(&tr);
        return;
    }
    static const char *alpha[] = {"the", " ", "  ", "a", "e", "ing", "Lily", "\n", "\t", ",", ".", "'s",
                                  "'", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "1", "23", "456",
                                  "fib(n)", " return", "\xff", "\x80", "play", "ed", "\r\n", "sum"};
    int bad = 0;
    for (int k = 0; k < 400; k++) {
        char text[512] = "";
        int parts = (int)rnd(24);
        for (int j = 0; j < parts; j++)
            strcat(text, alpha[rnd(N_OF(alpha))]);
        if (k == 0)
            strcpy(text, train_text);
        int want[8192], got[8192];
        int nw = ref_bpe(&tr, text, want), ng = enc(&t, text, 0, got, 8192);
        if (!same_ids(got, ng, want, nw) && bad++ < 5) {
            char sa[2048], sb[2048];
            test_format_ids(sa, sizeof sa, got, ng < 0 ? 0 : ng);
            test_format_ids(sb, sizeof sb, want, nw);
            CHECK_MSG(0, "\"%s\"\n    got  [%s]\n    want [%s]", text, sa, sb);
        }
        /* the pieces give the text back (valid UTF-8 only: bad bytes became U+FFFD) */
        if (ng > 0 && utf8_ok(text)) {
            char back[8192];
            size_t len;
            CHECK_INT(tokenizer_detokenize(&t, got, ng, back, sizeof back, &len), 0);
            /* gpt-2 cleans " ," etc.: compare the raw pieces instead */
            size_t o = 0;
            for (int i = 0; i < ng; i++) {
                const char *p = tokenizer_decode(&t, i ? got[i - 1] : -1, got[i]);
                memcpy(back + o, p, strlen(p));
                o += strlen(p);
            }
            back[o] = 0;
            CHECK_MSG(!strcmp(back, text), "pieces of \"%s\" give \"%s\"", text, back);
        }
    }
    CHECK_INT(bad, 0);
    tokenizer_free(&t);
    trained_free(&tr);
}

/* ---- pre-tokenizers ---------------------------------------------------------------------- */

/* Splits text with pre and joins the pieces with '|'. */
static void split_str(int pre, const char *text, char *out, size_t cap)
{
    size_t n = strlen(text), nc = 0;
    uint32_t cp[256], lens[256], tmp[256];
    uint8_t fl[256];
    size_t offs[257];
    for (size_t i = 0; i < n && nc < 256;) {
        offs[nc] = i;
        i += tok_utf8_decode((const unsigned char *)text + i, n - i, &cp[nc++]);
    }
    offs[nc] = n;
    size_t np = tok_pretokenize(pre, cp, nc, fl, lens, tmp), at = 0, k = 0;
    out[0] = 0;
    for (size_t p = 0; p < np; p++) {
        size_t b = offs[at], e = offs[at + lens[p]];
        k += (size_t)snprintf(out + k, cap - k, "%s%.*s", p ? "|" : "", (int)(e - b), text + b);
        at += lens[p];
    }
}

TEST(tokenizer_gguf_pretokenizers)
{
    static const struct {
        int pre;
        const char *text, *want;
    } cases[] = {
        {TOKENIZER_PRE_GPT2, "Hello world", "Hello| world"},
        {TOKENIZER_PRE_GPT2, "  x", " | x"},
        {TOKENIZER_PRE_GPT2, "a  ", "a|  "},
        {TOKENIZER_PRE_GPT2, "I'm 123!", "I|'m| 123|!"},
        {TOKENIZER_PRE_GPT2, "x\n\ny", "x|\n|\n|y"},
        {TOKENIZER_PRE_GPT2, "we'RE", "we|'|RE"},
        {TOKENIZER_PRE_GPT2, " ?!x", " ?!|x"},
        {TOKENIZER_PRE_GPT2, "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87", "caf\xc3\xa9| \xe4\xb8\xad\xe6\x96\x87"},
        {TOKENIZER_PRE_GPT2, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80 x", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80| x"},
        {TOKENIZER_PRE_LLAMA3, "Hello world", "Hello| world"},
        {TOKENIZER_PRE_LLAMA3, "12345 x", "123|45| x"},
        {TOKENIZER_PRE_LLAMA3, "x\n\ny", "x|\n\n|y"},
        {TOKENIZER_PRE_LLAMA3, "I'M we'RE", "I|'M| we|'RE"},
        {TOKENIZER_PRE_LLAMA3, "$100", "$|100"},
        {TOKENIZER_PRE_LLAMA3, " ?!\n\nx", " ?!\n\n|x"},
        {TOKENIZER_PRE_LLAMA3, "   x", "  | x"},
        {TOKENIZER_PRE_LLAMA3, "a \n b", "a| \n| b"},
        {TOKENIZER_PRE_LLAMA3, "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4", "\xd9\xa1\xd9\xa2\xd9\xa3|\xd9\xa4"},
        {TOKENIZER_PRE_QWEN2, "12345 x", "1|2|3|4|5| x"},
        {TOKENIZER_PRE_QWEN2, "_hello", "_hello"},
        {TOKENIZER_PRE_SMOLLM, " 123 abc", " |1|2|3| abc"},
        {TOKENIZER_PRE_DEFAULT, "a+b=c", "a|+|b|=|c"},
        {TOKENIZER_PRE_DEFAULT, "12345", "123|45"},
        {TOKENIZER_PRE_DEFAULT, "hello,world!!", "hello|,|world|!!"},
        {TOKENIZER_PRE_DEFAULT, "1,234", "1|,|234"},
        {TOKENIZER_PRE_DEFAULT, "`x`", "`|x|`"},
        {TOKENIZER_PRE_DEFAULT, " 1234567", " |123|456|7"},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        char got[512];
        split_str(cases[i].pre, cases[i].text, got, sizeof got);
        CHECK_MSG(!strcmp(got, cases[i].want), "pre %d \"%s\": got \"%s\" want \"%s\"", cases[i].pre,
                  cases[i].text, got, cases[i].want);
    }
    int pre, im, ab, cs;
    CHECK_INT(tok_bpe_pre_from_name("llama-bpe", &pre, &im, &ab, &cs), 0);
    CHECK(pre == TOKENIZER_PRE_LLAMA3 && im == 1 && ab == 1 && cs == 1);
    CHECK_INT(tok_bpe_pre_from_name("qwen2", &pre, &im, &ab, &cs), 0);
    CHECK(pre == TOKENIZER_PRE_QWEN2 && im == 0 && ab == 0 && cs == 0);
    CHECK_INT(tok_bpe_pre_from_name("phi-2", &pre, &im, &ab, &cs), 0);
    CHECK_INT(pre, TOKENIZER_PRE_GPT2);
    CHECK_INT(tok_bpe_pre_from_name("smollm", &pre, &im, &ab, &cs), 0);
    CHECK_INT(pre, TOKENIZER_PRE_SMOLLM);
    CHECK_INT(tok_bpe_pre_from_name("gpt2", &pre, &im, &ab, &cs), ERR_UNSUPPORTED); /* "gpt-2" */
}

/* ---- Unicode classes and UTF-8 ------------------------------------------------------------ */

TEST(tokenizer_gguf_unicode)
{
    static const struct {
        uint32_t c;
        int cls;
    } cls[] = {
        {'A', TOK_CPT_LETTER}, {'z', TOK_CPT_LETTER}, {'0', TOK_CPT_NUMBER}, {'!', TOK_CPT_PUNCT},
        {'_', TOK_CPT_PUNCT}, {'$', TOK_CPT_OTHER}, {'`', TOK_CPT_OTHER}, {' ', TOK_CPT_OTHER},
        {0xE9, TOK_CPT_LETTER}, {0xBD, TOK_CPT_NUMBER}, {0xAA, TOK_CPT_LETTER}, {0xB7, TOK_CPT_PUNCT},
        {0x0301, TOK_CPT_OTHER}, {0x0378, TOK_CPT_OTHER}, {0x0661, TOK_CPT_NUMBER},
        {0x2166, TOK_CPT_NUMBER}, {0x3000, TOK_CPT_OTHER}, {0x3001, TOK_CPT_PUNCT},
        {0x4E2D, TOK_CPT_LETTER}, {0xAC00, TOK_CPT_LETTER}, {0xD800, TOK_CPT_OTHER},
        {0xFFFD, TOK_CPT_OTHER}, {0x11F04, TOK_CPT_LETTER} /* Kawi, Unicode 15.0 */,
        {0x11F50, TOK_CPT_NUMBER}, {0x2EBF0, TOK_CPT_LETTER} /* CJK Ext. I, 15.1 */,
        {0x1F600, TOK_CPT_OTHER}, {0x10FFFF, TOK_CPT_OTHER}, {0x110000, TOK_CPT_OTHER},
        {0x20000, TOK_CPT_LETTER}, {0x0, TOK_CPT_OTHER},
    };
    for (size_t i = 0; i < N_OF(cls); i++)
        CHECK_MSG(tok_cpt_class(cls[i].c) == cls[i].cls, "U+%04X: class %d, want %d", cls[i].c,
                  tok_cpt_class(cls[i].c), cls[i].cls);
    static const uint32_t spaces[] = {9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028,
                                      0x2029, 0x202F, 0x205F, 0x3000};
    for (size_t i = 0; i < N_OF(spaces); i++)
        CHECK_MSG(tok_cpt_is_space(spaces[i]), "U+%04X", spaces[i]);
    static const uint32_t not_spaces[] = {8, 14, 31, 'a', 0x84, 0x200B, 0xFEFF, 0x180E};
    for (size_t i = 0; i < N_OF(not_spaces); i++)
        CHECK_MSG(!tok_cpt_is_space(not_spaces[i]), "U+%04X", not_spaces[i]);

    /* the decoder: llama.cpp's rules, not a validating one */
    static const struct {
        const char *s;
        size_t n;
        uint32_t c;
        size_t used;
    } dec[] = {
        {"A", 1, 'A', 1}, {"\xc3\xa9", 2, 0xE9, 2}, {"\xe4\xb8\xad", 3, 0x4E2D, 3},
        {"\xf0\x9f\x98\x80", 4, 0x1F600, 4}, {"\x80", 1, 0xFFFD, 1}, {"\xc3", 1, 0xFFFD, 1},
        {"\xc3x", 2, 0xFFFD, 1}, {"\xc0\xaf", 2, '/', 2} /* overlong: accepted */,
        {"\xed\xa0\x80", 3, 0xD800, 3} /* surrogate: accepted */, {"\xf4\x90\x80\x80", 4, 0xFFFD, 4},
        {"\xf8\x88\x80\x80", 4, 0xFFFD, 1}, {"\xe4\xb8", 2, 0xFFFD, 1},
    };
    for (size_t i = 0; i < N_OF(dec); i++) {
        uint32_t c = 0;
        size_t used = tok_utf8_decode((const unsigned char *)dec[i].s, dec[i].n, &c);
        CHECK_MSG(c == dec[i].c && used == dec[i].used, "case %zu: U+%04X/%zu", i, c, used);
    }
    /* GPT-2 bytes_to_unicode */
    for (unsigned b = 0; b < 256; b++)
        CHECK(tok_bpe_cpt_byte(tok_bpe_byte_cpt(b)) == (int)b);
    CHECK_INT(tok_bpe_byte_cpt(' '), 0x120);
    CHECK_INT(tok_bpe_byte_cpt('\n'), 0x10A);
    CHECK_INT(tok_bpe_byte_cpt(0xAD), 0x143);
    CHECK_INT(tok_bpe_byte_cpt('a'), 'a');
    CHECK_INT(tok_bpe_cpt_byte(0x144), -1);
    CHECK_INT(tok_bpe_cpt_byte(0x20), -1);
}

/* ---- memory, bounds, determinism ------------------------------------------------------------ */

TEST(tokenizer_gguf_memory_and_bounds)
{
    size_t before = plat_posix_live_bytes();
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/stories260K.gguf", test_models_dir());
    struct gguf_file g;
    CHECK_INT(gguf_open(&g, path, err, sizeof err), 0);
    for (int i = 0; i < 10; i++) {
        struct tokenizer t;
        CHECK_INT(tokenizer_init_gguf(&t, &g, err, sizeof err), 0);
        int ids[64], n;
        CHECK_INT(tokenizer_encode_ex(&t, "Hello <s> world", TOK_ADD_SPECIAL | TOK_PARSE_SPECIAL, ids, 64, &n), 0);
        tokenizer_free(&t);
        CHECK(t.mem == NULL && t.vocab_size == 0);
    }
    gguf_close(&g);
    CHECK_MSG(plat_posix_live_bytes() == before, "%zu bytes still allocated",
              plat_posix_live_bytes() - before);

    /* tokenizer_max_tokens bounds the worst cases: spaces with no byte
     * pieces (SPM), invalid bytes (BPE) */
    struct tokenizer spm, bpe;
    if (open_model_vocab(&spm, "stories260K.gguf") != 0 || hand_bpe(&bpe, "gpt-2", 1) != 0)
        return;
    static const char *worst[] = {"          ", "\xff\xfe\xff\xfe", "<s><s><s>", "a<tool>b<tool>",
                                  "\xe4\xb8\xad\xe6\x96\x87\xf0\x9f\x98\x80", "x"};
    for (size_t i = 0; i < N_OF(worst); i++) {
        const struct tokenizer *ts[2] = {&spm, &bpe};
        for (int k = 0; k < 2; k++) {
            int cap = tokenizer_max_tokens(ts[k], strlen(worst[i]));
            int *ids = malloc(sizeof(int) * (size_t)cap), n = -1;
            int flags[] = {0, TOK_ADD_BOS | TOK_ADD_EOS | TOK_PARSE_SPECIAL};
            for (int f = 0; f < 2; f++) {
                CHECK_INT(tokenizer_encode_ex(ts[k], worst[i], flags[f], ids, cap, &n), 0);
                CHECK(n >= 1 && n <= cap);
                /* deterministic; one slot less is ERR_RANGE */
                int *again = malloc(sizeof(int) * (size_t)n), n2 = -9;
                CHECK_INT(tokenizer_encode_ex(ts[k], worst[i], flags[f], again, n, &n2), 0);
                CHECK(n2 == n && !memcmp(again, ids, sizeof(int) * (size_t)n));
                n2 = -9;
                CHECK_INT(tokenizer_encode_ex(ts[k], worst[i], flags[f], again, n - 1, &n2), ERR_RANGE);
                CHECK_INT(n2, -9);
                free(again);
            }
            free(ids);
        }
    }
    CHECK(tokenizer_max_tokens(&spm, (size_t)1 << 62) == INT_MAX);
    /* long input: linear-ish, decodes back */
    size_t big = 100000;
    char *text = malloc(big + 1);
    static const char words[] = "Once upon a time, \xc3\xa9t\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 <s> 12345 ";
    for (size_t i = 0; i < big; i++)
        text[i] = words[i % (sizeof words - 1)];
    text[big] = 0;
    const struct tokenizer *ts[2] = {&spm, &bpe};
    for (int k = 0; k < 2; k++) {
        int cap = tokenizer_max_tokens(ts[k], big), n = 0;
        int *ids = malloc(sizeof(int) * (size_t)cap);
        CHECK_INT(tokenizer_encode_ex(ts[k], text, 0, ids, cap, &n), 0);
        char *back = malloc(big * 2);
        size_t len = 0;
        CHECK_INT(tokenizer_detokenize(ts[k], ids, n, back, big * 2, &len), 0);
        CHECK_MSG(len == big && !memcmp(back, text, big), "kind %d: %zu bytes back", ts[k]->kind, len);
        free(back);
        free(ids);
    }
    free(text);
    tokenizer_free(&spm);
    tokenizer_free(&bpe);
}
