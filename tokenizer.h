/* tokenizer.h - the llama2.c `tokenizer.bin` SentencePiece-style BPE tokenizer,
 * token-exact with karpathy/llama2.c run.c (commit 350e04f) encode()/decode().
 *
 * File format (little-endian, untrusted): uint32 max_token_length, then records
 * {float32 score, int32 len, len bytes} up to the end of the file. The record
 * count is the vocabulary size (not stored); the caller pairs the tokenizer
 * with a model whose vocab_size equals tokenizer_vocab_size().
 *
 * Ids 1 and 2 are BOS and EOS; ids 3..258 are the byte pieces "<0x00>".."<0xFF>"
 * in the llama vocabularies (byte fallback uses id = byte + 3).
 *
 * Like run.c, a piece is a C string: bytes after an embedded NUL are ignored.
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

/* Everything lives in one plat_alloc block (mem, mem_size); no per-token
 * allocation. A zeroed struct is the "no tokenizer" state. */
struct tokenizer {
    void *mem;
    size_t mem_size;
    const char **vocab;             /* (vocab_size) NUL-terminated pieces */
    float *scores;                  /* (vocab_size) merge scores */
    struct tokenizer_index *sorted; /* (vocab_size) sorted by piece */
    char *byte_pieces;              /* (256 * 2) {byte, NUL} for "<0xXX>" */
    int vocab_size;
    uint32_t max_token_length;      /* header value, informative only */
    uint32_t max_piece_len;         /* longest actual piece (strlen) */
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

/* Number of records in the file (0 for a zeroed struct). */
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
 * input cannot stall the event loop. */
int tokenizer_encode(const struct tokenizer *t, const char *text, int bos, int eos,
                     int *tokens, int max_tokens, int *ret_n);

/* The text of `token` when it follows `prev`, as run.c decode(): a leading
 * space is stripped when prev is BOS, and a piece that sscanf("<0x%02hhX>")
 * accepts becomes that single raw byte (a byte 0x00 gives ""). Returns a
 * pointer into the tokenizer, valid while it lives; "" for ids out of range. */
const char *tokenizer_decode(const struct tokenizer *t, int prev, int token);

/* run.c safe_printf(): 0 when there is nothing worth printing, i.e. the piece
 * is NULL or empty, or is a single byte that is neither printable nor
 * whitespace in the C locale; else 1. */
int tokenizer_piece_printable(const char *piece);

#endif
