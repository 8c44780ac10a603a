/* tokenizer.h - tokenizers for llama-family models, in one struct:
 *
 *  - llama2.c `tokenizer.bin` (tokenizer_init/tokenizer_load): SentencePiece-
 *    style BPE, token-exact with karpathy/llama2.c run.c (commit 350e04f)
 *    encode()/decode() (tokenizer.c);
 *  - GGUF vocabularies (tokenizer_init_gguf), token-exact with llama.cpp's
 *    llama_tokenize() (node-llama-cpp 3.21.1 / llama.cpp v0.4.0 bundle):
 *    tokenizer.ggml.model "llama" = SentencePiece BPE (llm_tokenizer_spm) and
 *    "gpt2" = byte-level BPE with the model's pre-tokenizer (llm_tokenizer_bpe),
 *    control/user-defined tokens written in the text (tokenizer_st_partition),
 *    BOS/EOS/end-of-generation ids (tokenizer_spm.c, tokenizer_bpe.c).
 *
 * tokenizer.bin format (little-endian, untrusted): uint32 max_token_length,
 * then records {float32 score, int32 len, len bytes} up to the end of the
 * file. The record count is the vocabulary size (not stored); the caller
 * pairs the tokenizer with a model whose vocab_size equals
 * tokenizer_vocab_size(). Ids 1 and 2 are BOS and EOS; ids 3..258 are the
 * byte pieces "<0x00>".."<0xFF>" in the llama vocabularies (byte fallback
 * uses id = byte + 3). Like run.c, a piece is a C string: bytes after an
 * embedded NUL are ignored.
 */
#ifndef TOKENIZER_H
#define TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#define TOKENIZER_BOS 1
#define TOKENIZER_EOS 2

/* One entry of the lookup index: the vocabulary sorted by strcmp (stable, so
 * duplicate pieces keep id order as glibc's merge-sort qsort does). */
struct tokenizer_index {
    const char *str;
    int32_t id;
};

/* Kinds of vocabulary. */
enum tokenizer_kind {
    TOKENIZER_LLAMA2C = 0, /* tokenizer.bin (run.c) */
    TOKENIZER_SPM,         /* GGUF tokenizer.ggml.model = "llama" */
    TOKENIZER_BPE          /* GGUF tokenizer.ggml.model = "gpt2" (byte-level) */
};

/* Byte-level BPE pre-tokenizers (tokenizer.ggml.pre), as llama.cpp's
 * llama_vocab_pre_type groups them by regex. */
enum tokenizer_pre {
    TOKENIZER_PRE_DEFAULT = 0, /* "default" or missing: 4 regexes */
    TOKENIZER_PRE_GPT2,        /* "gpt-2", "phi-2", "mpt", "olmo", ... */
    TOKENIZER_PRE_LLAMA3,      /* "llama-bpe", "llama3", "llama-v3", ... */
    TOKENIZER_PRE_QWEN2,       /* "qwen2", "deepseek-r1-qwen", "stablelm2", ... */
    TOKENIZER_PRE_SMOLLM       /* "smollm", "starcoder", "refact", ... */
};

/* Token attributes (GGUF tokenizer.ggml.token_type; llama.cpp's
 * llama_token_attr bit values). */
enum {
    TOKEN_ATTR_UNDEFINED = 0,
    TOKEN_ATTR_UNKNOWN = 1 << 0,      /* type 2 */
    TOKEN_ATTR_UNUSED = 1 << 1,       /* type 5 */
    TOKEN_ATTR_NORMAL = 1 << 2,       /* type 1 */
    TOKEN_ATTR_CONTROL = 1 << 3,      /* type 3 */
    TOKEN_ATTR_USER_DEFINED = 1 << 4, /* type 4 */
    TOKEN_ATTR_BYTE = 1 << 5,         /* type 6 */
    TOKEN_ATTR_LSTRIP = 1 << 7,       /* eat spaces before it (special parsing) */
    TOKEN_ATTR_RSTRIP = 1 << 8        /* eat spaces after it */
};

/* Flags of tokenizer_encode_ex. */
enum {
    TOK_ADD_BOS = 1 << 0,      /* prepend BOS (ERR_UNSUPPORTED if the vocabulary has none) */
    TOK_ADD_EOS = 1 << 1,      /* append EOS (same) */
    TOK_ADD_SPECIAL = 1 << 2,  /* BOS/EOS as the vocabulary says (add_bos/add_eos): llama.cpp add_special */
    TOK_PARSE_SPECIAL = 1 << 3 /* control tokens written in the text ("<s>", "<|im_start|>") become
                                * their ids (GGUF only); user-defined tokens always do */
};

#define TOKENIZER_MAX_EOG 32

/* A byte-level BPE merge "a b" -> a ++ b (ids), rank = index in the file. */
struct tokenizer_merge {
    int32_t a, b, result, rank;
};

/* Everything lives in one plat_alloc block (mem, mem_size); no per-token
 * allocation. A zeroed struct is the "no tokenizer" state. Fields marked
 * (GGUF) are NULL/0 for tokenizer.bin files. */
struct tokenizer {
    void *mem;
    size_t mem_size;
    const char **vocab;             /* (vocab_size) NUL-terminated pieces, as in the file (GGUF:
                                     * an empty piece i reads "[EMPTY_i]", as in llama.cpp) */
    float *scores;                  /* (vocab_size) merge scores (0 when a GGUF has none) */
    struct tokenizer_index *sorted; /* (vocab_size) sorted by piece (tokenizer.bin only) */
    char *byte_pieces;              /* (256 * 2) {byte, NUL} for "<0xXX>" */
    int vocab_size;
    uint32_t max_token_length;      /* header value, informative only (GGUF: = max_piece_len) */
    uint32_t max_piece_len;         /* longest actual piece (strlen) */

    int kind;                       /* enum tokenizer_kind */
    int pre;                        /* enum tokenizer_pre (TOKENIZER_BPE) */
    /* Special ids, -1 when the vocabulary has none. tokenizer.bin: bos 1, eos 2. */
    int bos_id, eos_id, unk_id, eot_id, eom_id, pad_id;
    int add_bos, add_eos;           /* what the vocabulary asks for (TOK_ADD_SPECIAL) */
    int add_space_prefix;           /* SPM dummy prefix (tokenizer.ggml.add_space_prefix) */
    int ignore_merges;              /* BPE: a whole pre-token that is a piece is kept (llama3) */
    int clean_spaces;               /* BPE: tokenizer_detokenize removes " ," etc. */
    int n_eog;                      /* end-of-generation ids: eos, eot, eom, "<|im_end|>", ... */
    int32_t eog[TOKENIZER_MAX_EOG]; /* tokenizer.bin: {1} (run.c stops on BOS) */
    const uint32_t *piece_len;      /* (vocab_size) bytes of each piece (GGUF) */
    const uint16_t *attr;           /* (vocab_size) TOKEN_ATTR_* (GGUF) */
    const char **dec;               /* (vocab_size) text printed for the token (GGUF) */
    const uint32_t *hash;           /* piece -> id + 1, open addressing (GGUF) */
    uint32_t hash_mask;
    const struct tokenizer_merge *merges; /* (n_merges) in file order (BPE) */
    const uint32_t *merge_hash;     /* (a, b) -> merge index + 1 (BPE) */
    uint32_t n_merges, merge_mask;
    const int32_t *specials;        /* (n_specials) control/user-defined/unknown ids, longest first */
    int n_specials;
    int32_t byte_tok[256];          /* byte fallback id, -1 if none: tokenizer.bin byte + 3;
                                     * SPM "<0xXX>" (or the byte as a piece); BPE the byte's
                                     * GPT-2 character */
    /* GGUF encoder (set by tokenizer_init_gguf, so that tokenizer.c links
     * without the GGUF code, e.g. in fuzz_tokenizer). */
    int (*encode_fn)(const struct tokenizer *t, const char *text, int flags, int *tokens,
                     int max_tokens, int *ret_n);
};

/* Parses a tokenizer.bin image. data/len stay owned by the caller; everything
 * needed is copied. Returns 0, or ERR_FORMAT / ERR_NOMEM with a one-line
 * reason in err (if err && errcap > 0), e.g.
 * "tokenizer: record 17 at offset 123: length 99999 exceeds file end (40 bytes left)"
 * (records are numbered from 0, so the number is the token id). ERR_INVAL for
 * NULL t, or NULL data with len > 0. On error *t is zeroed. */
int tokenizer_init(struct tokenizer *t, const void *data, size_t len, char *err, size_t errcap);

/* Reads `path` (plat_file_*, in chunks) and calls tokenizer_init. Adds
 * ERR_NOT_FOUND/ERR_IO for file problems; err names the path. */
int tokenizer_load(struct tokenizer *t, const char *path, char *err, size_t errcap);

/* Releases the block and zeroes *t. Safe on a zeroed struct. */
void tokenizer_free(struct tokenizer *t);

/* Number of records in the file / tokens in the GGUF vocabulary (0 for a
 * zeroed struct). */
int tokenizer_vocab_size(const struct tokenizer *t);

/* Encodes UTF-8 (or any NUL-terminated bytes) exactly like run.c encode():
 * optional BOS, a dummy-prefix " " for non-empty text, code points (up to 4
 * bytes) looked up in the vocabulary or split into byte tokens (byte + 3),
 * then repeated merging of the adjacent pair whose concatenation is a piece
 * with the highest score (leftmost on ties; scores <= -1e10 never merge),
 * optional EOS appended after merging.
 * tokens (caller-owned) has room for max_tokens ids; the intermediate,
 * unmerged sequence may be longer than max_tokens. *ret_n is written on
 * success only; on error the contents of tokens are unspecified.
 * Returns 0, ERR_RANGE (result longer than max_tokens, or text over ~2 GB),
 * ERR_UNSUPPORTED (the vocabulary is too small for a needed id: BOS/EOS, or a
 * byte-fallback id >= vocab_size), ERR_NOMEM (per-call scratch of about 64
 * bytes per input byte from plat_alloc), ERR_INVAL (NULL arguments).
 * Where run.c has undefined behaviour (no " " piece in the vocabulary) the
 * dummy prefix falls back to the byte token for ' ' like any other missing
 * character. Runs in O(n log n), not run.c's O(n^2 log V), so long untrusted
 * input cannot stall the event loop.
 * GGUF vocabularies: tokenizer_encode_ex with TOK_ADD_SPECIAL when bos != 0
 * (BOS/EOS as the vocabulary asks, as llama.cpp tokenizes a prompt) and
 * TOK_ADD_EOS when eos != 0; special tokens in the text are not parsed. */
int tokenizer_encode(const struct tokenizer *t, const char *text, int bos, int eos,
                     int *tokens, int max_tokens, int *ret_n);

/* The text of `token` when it follows `prev` (prev < 0: the first token).
 * tokenizer.bin: as run.c decode(): a leading space is stripped when prev is
 * BOS, and a piece that sscanf("<0x%02hhX>") accepts becomes that single raw
 * byte (a byte 0x00 gives "").
 * GGUF: llama.cpp's token_to_piece(special = false): control and unknown
 * tokens give "", user-defined ones their text, normal SPM pieces have
 * U+2581 turned into ' ', byte tokens give their byte, normal BPE pieces are
 * mapped back from GPT-2 characters to bytes (so one piece may be part of a
 * UTF-8 character). With add_space_prefix (SPM) one leading space is
 * stripped when prev < 0, as llama_detokenize does for the first token
 * (not after BOS: llama.cpp prints " Once" for [BOS, "\u2581Once"], run.c
 * "Once"). Concatenating the pieces gives llama_detokenize's text except
 * for its clean-up of spaces before punctuation (see tokenizer_detokenize);
 * it is the streaming text llama.cpp's examples print token by token.
 * Returns a pointer into the tokenizer, valid while it lives; "" for ids out
 * of range. */
const char *tokenizer_decode(const struct tokenizer *t, int prev, int token);

/* run.c safe_printf(): 0 when there is nothing worth printing, i.e. the piece
 * is NULL or empty, or is a single byte that is neither printable nor
 * whitespace in the C locale; else 1. (For GGUF vocabularies this drops the
 * single-byte pieces of a multi-byte character: print those unfiltered.) */
int tokenizer_piece_printable(const char *piece);

/* ---- GGUF vocabularies ------------------------------------------------------- */
struct gguf_file;

/* Builds the tokenizer from g's tokenizer.ggml.* metadata (g stays owned by
 * the caller and may be closed afterwards: everything is copied into one
 * block). Reads model ("llama" or "gpt2"), pre, tokens, scores (float32 or
 * int32), token_type, merges, bos/eos/unknown/padding/eot/eom token ids,
 * add_bos_token, add_eos_token, add_space_prefix, general.name (Phi-3 rule).
 * Defaults as llama.cpp: SPM bos 1, eos 2, unk 0, add_bos, dummy prefix;
 * BPE bos = eos = 11 (!), add_bos for the llama3 pre-tokenizers. An id of
 * 0xFFFFFFFF (or -1) means "not set" and keeps the default.
 * Returns 0; ERR_FORMAT with a one-line reason for malformed metadata
 * (missing or mistyped arrays, length mismatch between tokens, scores and
 * token_type, empty vocabulary, a NUL byte or a duplicate in the pieces,
 * non-finite scores, special ids out of range, a merge without a space or
 * whose parts or result are not pieces); ERR_UNSUPPORTED for other
 * tokenizer models or pre-tokenizers; ERR_NOMEM; ERR_INVAL for NULL t/g.
 * On error *t is zeroed and nothing stays allocated. */
int tokenizer_init_gguf(struct tokenizer *t, const struct gguf_file *g, char *err, size_t errcap);

/* Encodes NUL-terminated text with flags TOK_*. tokenizer.bin files: as
 * tokenizer_encode (TOK_ADD_SPECIAL = BOS; TOK_PARSE_SPECIAL is ignored).
 * GGUF vocabularies: exactly llama_tokenize(text, add_special, parse_special)
 * of llama.cpp, where add_special = TOK_ADD_SPECIAL, plus forced BOS/EOS:
 *  - special tokens: with TOK_PARSE_SPECIAL, control and unknown pieces
 *    ("<s>", "<|im_start|>") found in the text become their ids; user-defined
 *    pieces always do. Longer pieces are matched first (all occurrences of
 *    one piece, then the next); the text between is tokenized normally;
 *  - SPM: ' ' -> U+2581, a dummy-prefix space at the start of the text and
 *    after each special token (add_space_prefix), merges by score (leftmost
 *    on ties), byte fallback "<0xXX>" (or the byte itself as a piece), and
 *    unk_id where a byte has no piece (llama.cpp throws there);
 *  - BPE: the pre-tokenizer splits the text (invalid UTF-8 becomes U+FFFD),
 *    bytes map to GPT-2's printable characters, merges by rank (leftmost on
 *    ties); llama3 keeps a pre-token that is a piece (ignore_merges).
 * tokens (caller-owned) has room for max_tokens ids (see
 * tokenizer_max_tokens); *ret_n is written on success only. Returns 0,
 * ERR_RANGE (more than max_tokens ids, text over ~1 GB), ERR_UNSUPPORTED (a
 * needed id is missing: BOS/EOS/byte fallback), ERR_NOMEM (per-call scratch
 * of up to ~300 bytes per input byte), ERR_INVAL. Runs in O(n log n) plus
 * O(n * special pieces) for the special-token search. */
int tokenizer_encode_ex(const struct tokenizer *t, const char *text, int flags, int *tokens,
                        int max_tokens, int *ret_n);

/* The text of ids[0..n) as one string, exactly llama.cpp's
 * llama_detokenize(remove_special = false, unparse_special = false) for GGUF
 * vocabularies: the pieces of tokenizer_decode (first with prev = -1), then,
 * when the vocabulary has clean_spaces (byte-level BPE except the qwen2,
 * smollm, command-r, ... pre-tokenizers), " ?" " !" " ." " ," lose their
 * space, " ' " loses both, and " 's" " 'm" " 're" " 've" lose the space.
 * tokenizer.bin: the run.c decode pieces. Writes at most cap bytes
 * including a NUL to buf (caller-owned) and the full length to *ret_len;
 * returns 0, or ERR_RANGE when the text did not fit (buf then holds a
 * truncated, NUL-terminated prefix of the unprocessed pieces). */
int tokenizer_detokenize(const struct tokenizer *t, const int *ids, int n, char *buf, size_t cap,
                         size_t *ret_len);

/* An upper bound on the ids tokenizer_encode(_ex) returns for text_len
 * bytes with any flags (saturates at INT_MAX). */
int tokenizer_max_tokens(const struct tokenizer *t, size_t text_len);

/* 1 if sampling `id` should end generation: the vocabulary's EOS, EOT, EOM
 * and llama.cpp's end-of-generation pieces ("<|eot_id|>", "<|im_end|>",
 * "<|endoftext|>", "<end_of_turn>", ...); for tokenizer.bin files BOS (1),
 * where run.c stops. 0 otherwise and for ids out of range. */
int tokenizer_is_eog(const struct tokenizer *t, int id);

/* ---- internal: shared by tokenizer.c, tokenizer_spm.c and tokenizer_bpe.c ------ */

/* Formats a one-line error into err (may be NULL or errcap 0). */
void tokenizer_set_err(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Id of the piece made of the n1 bytes at s1 followed by the n2 bytes at s2,
 * or -1 (GGUF vocabularies). */
int tok_lookup2(const struct tokenizer *t, const char *s1, size_t n1, const char *s2, size_t n2);
/* The hashes behind t->hash (piece bytes) and t->merge_hash (id pair). */
uint32_t tok_piece_hash(const char *s1, size_t n1, const char *s2, size_t n2);
uint32_t tok_merge_hash(int32_t a, int32_t b);
/* Special tokens in the text: a linked list of fragments, raw text (id -1)
 * or one special token. */
struct tok_frag {
    uint32_t off, len;
    int32_t id;
    int32_t next; /* -1: end */
};
/* Splits text[0, len) as llama.cpp's tokenizer_st_partition: with
 * parse_special all control/unknown/user-defined pieces, else only the
 * user-defined ones; f has room for 3 * len + 2. Returns the head (-1 for
 * empty text). */
int32_t tok_partition(const struct tokenizer *t, const char *text, size_t len, int parse_special,
                      struct tok_frag *f);
/* Where encoded ids go: push returns ERR_RANGE when full. */
struct tok_out {
    int *ids;
    int max, n;
};
int tok_out_push(struct tok_out *o, int id);
/* The merge heap of both encoders: higher prio first, then the leftmost
 * pos (SPM: prio = score; BPE: prio = -rank). gen tells stale entries. */
struct tok_cand {
    float prio;
    int32_t pos;
    uint32_t gen;
    int32_t id;
};
struct tok_heap {
    struct tok_cand *c;
    size_t n;
};
void tok_heap_push(struct tok_heap *h, struct tok_cand c);
struct tok_cand tok_heap_pop(struct tok_heap *h);
/* tokenizer_bpe.c: pre-tokenizer by name (ERR_UNSUPPORTED if unknown), with
 * llama.cpp's ignore_merges/add_bos defaults for it. */
int tok_bpe_pre_from_name(const char *name, int *ret_pre, int *ret_ignore_merges,
                          int *ret_add_bos, int *ret_clean_spaces);
/* GPT-2 byte <-> character mapping: the code point for byte b, and the
 * byte for code point c (-1 if c is not one of the 256). */
uint32_t tok_bpe_byte_cpt(unsigned b);
int tok_bpe_cpt_byte(uint32_t c);
/* Decodes one UTF-8 code point as llama.cpp's unicode_cpt_from_utf8 does
 * (no overlong/surrogate checks; a bad sequence is U+FFFD and 1 byte;
 * values above U+10FFFF become U+FFFD). Returns the bytes used (>= 1). */
size_t tok_utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cpt);
/* Writes the UTF-8 of c (<= U+10FFFF) to out (4 bytes room); returns bytes. */
size_t tok_utf8_encode(uint32_t c, unsigned char *out);
/* Scratch bytes tok_bpe_encode needs for a fragment of n bytes (0 on overflow). */
uint64_t tok_bpe_scratch_bytes(size_t n);
/* Byte-level BPE of one text fragment (no special tokens in it) into out.
 * scratch holds tok_bpe_scratch_bytes(n) bytes. */
int tok_bpe_encode(const struct tokenizer *t, const char *s, size_t n, void *scratch,
                   struct tok_out *out);
/* Unicode class of a code point for the pre-tokenizers (tests use it). */
enum { TOK_CPT_OTHER = 0, TOK_CPT_LETTER = 1, TOK_CPT_NUMBER = 2, TOK_CPT_PUNCT = 3 };
int tok_cpt_class(uint32_t c);
int tok_cpt_is_space(uint32_t c);
/* Splits n code points into pre-tokens with pre-tokenizer pre; writes the
 * lengths (in code points) to lens (room for n) and returns their count.
 * fl (n bytes) and tmp (n lengths) are scratch. */
size_t tok_pretokenize(int pre, const uint32_t *cpts, size_t n, uint8_t *fl, uint32_t *lens,
                       uint32_t *tmp);

#endif
