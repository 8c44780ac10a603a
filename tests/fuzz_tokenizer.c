/* fuzz_tokenizer.c - libFuzzer target for the tokenizer.bin parser and the
 * encoder/decoder on whatever vocabulary it accepts (tokenizer.c).
 *
 * tokenizer_init on the input: never crashes; a failure is ERR_FORMAT with a
 * non-empty one-line message, a zeroed struct and no plat_alloc bytes left.
 * On success: every id and some out-of-range ids decode to NUL-terminated
 * strings (out of range: ""), tokenizer_encode on fixed strings, invalid
 * UTF-8 and slices of the input itself returns only documented codes and ids
 * inside the vocabulary, encoding is deterministic, and tokenizer_free
 * returns every byte (plat_posix_live_bytes). Any broken promise prints why
 * and aborts, so libFuzzer saves the input. Built and run by
 * tests/host_fuzz.sh.
 *
 * Built with -DFUZZ_TOKENIZER_GGUF and tokenizer_spm.c tokenizer_bpe.c gguf.c
 * as well, an input starting with "GGUF" is parsed as a GGUF file
 * (gguf_parse) and given to tokenizer_init_gguf: a failure is a one-line
 * message with nothing left allocated; on success every flag combination
 * of tokenizer_encode_ex on fixed strings and on the vocabulary's own
 * pieces returns 0 or ERR_UNSUPPORTED with ids in range and at most
 * tokenizer_max_tokens of them, and tokenizer_detokenize/decode work. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../tokenizer.h"
#ifdef FUZZ_TOKENIZER_GGUF
#include "../gguf.h"
#endif
#include "../platform_posix.h"

#include "fuzz_require.h"

#define TEXT_MAX 512 /* bytes of the input used as text to encode */

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_msg(const char *err, size_t cap)
{
    size_t n = strnlen(err, cap);
    REQUIRE(n < cap, "message not NUL-terminated within %zu bytes", cap);
    REQUIRE(n > 0 || cap == 1, "empty error message");
    for (size_t i = 0; i < n; i++)
        REQUIRE((unsigned char)err[i] >= 0x20 && err[i] != 0x7f,
                "control byte 0x%02x at %zu in message '%s'", (unsigned char)err[i], i, err);
}

static void encode_one(const struct tokenizer *t, const char *text, int bos, int eos)
{
    int V = tokenizer_vocab_size(t);
    size_t len = strlen(text);
    int max = (int)len + 3; /* BOS + dummy prefix + one per byte + EOS is an upper bound */
    int *ids = malloc(sizeof(int) * (size_t)max);
    int n = -1;
    size_t before = plat_posix_live_bytes();
    int rc = tokenizer_encode(t, text, bos, eos, ids, max, &n);
    REQUIRE(plat_posix_live_bytes() == before, "encode leaked %zu bytes",
            plat_posix_live_bytes() - before);
    if (rc == ERR_UNSUPPORTED) {
        /* only when some needed id is missing: BOS/EOS or a byte token */
        REQUIRE(V < 259 || (bos && V <= TOKENIZER_BOS) || (eos && V <= TOKENIZER_EOS),
                "ERR_UNSUPPORTED with %d tokens (bos %d eos %d)", V, bos, eos);
        free(ids);
        return;
    }
    REQUIRE(rc == 0, "tokenizer_encode returned %d (%s) for %zu bytes", rc, err_str(rc), len);
    REQUIRE(n >= 0 && n <= max, "%d tokens for %zu bytes (room %d)", n, len, max);
    /* BOS is not checked: like run.c, it may merge with the next piece
     * when the vocabulary has their concatenation. EOS comes after merging. */
    REQUIRE(!eos || (n >= 1 && ids[n - 1] == TOKENIZER_EOS), "no trailing EOS");
    if (len == 0)
        REQUIRE(n == (bos != 0) + (eos != 0), "empty text gave %d tokens", n);
    else
        REQUIRE(n >= 1 + (eos != 0), "non-empty text gave %d tokens", n);
    for (int i = 0; i < n; i++) {
        REQUIRE(ids[i] >= 0 && ids[i] < V, "id %d out of range 0..%d", ids[i], V - 1);
        const char *s = tokenizer_decode(t, i ? ids[i - 1] : TOKENIZER_BOS, ids[i]);
        REQUIRE(s != NULL, "decode gave NULL");
        (void)strlen(s);
    }

    /* Deterministic, and a result that just fits is accepted while one
     * slot less is ERR_RANGE. */
    int *again = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int n2 = -1;
    REQUIRE(tokenizer_encode(t, text, bos, eos, again, n, &n2) == 0 && n2 == n &&
                memcmp(again, ids, sizeof(int) * (size_t)n) == 0,
            "second encode with exact room differs");
    if (n > 0)
        REQUIRE(tokenizer_encode(t, text, bos, eos, again, n - 1, &n2) == ERR_RANGE,
                "encode into %d slots for %d tokens did not give ERR_RANGE", n - 1, n);
    free(again);
    free(ids);
}

static void use_tokenizer(const struct tokenizer *t, const uint8_t *data, size_t size)
{
    int V = tokenizer_vocab_size(t);
    REQUIRE(V >= 1, "vocab_size %d after a successful init", V);
    REQUIRE(t->mem && t->vocab && t->scores && t->sorted && t->byte_pieces, "NULL arrays");
    uint32_t longest = 0;
    for (int id = 0; id < V; id++) {
        size_t n = strlen(t->vocab[id]);
        if (n > longest)
            longest = (uint32_t)n;
        REQUIRE(t->scores[id] == t->scores[id] && t->scores[id] - t->scores[id] == 0,
                "score of %d is not finite", id);
        for (int prev = 0; prev < 3; prev++) {
            const char *s = tokenizer_decode(t, prev, id);
            REQUIRE(s != NULL, "decode(%d, %d) is NULL", prev, id);
            size_t sl = strlen(s);
            REQUIRE(sl <= n, "decode(%d, %d) longer than its piece", prev, id);
            (void)tokenizer_piece_printable(s);
        }
    }
    REQUIRE(longest == t->max_piece_len, "max_piece_len %u, longest piece %u",
            t->max_piece_len, longest);
    /* The sorted index is a permutation in strcmp order. */
    for (int i = 1; i < V; i++)
        REQUIRE(strcmp(t->sorted[i - 1].str, t->sorted[i].str) <= 0, "index out of order at %d", i);
    const int bad[] = {-1, V, V + 1, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        REQUIRE(strcmp(tokenizer_decode(t, TOKENIZER_BOS, bad[i]), "") == 0,
                "out-of-range id %d did not decode to \"\"", bad[i]);

    static const char *const texts[] = {
        "", "a", " ", "Once upon a time, there was a little girl named Lily.",
        "hello  world\n\t<0x41> <s> </s>", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        /* invalid UTF-8: lone continuation bytes, truncated sequences,
         * overlong forms, a run of continuation bytes longer than 4 */
        "\xff\xfe\x80\x80\x80\x80\x80\xc3", "\xc0\xaf\xe0\x80\xaf\xed\xa0\x80x\xf4\x90\x80\x80",
        "\x01\x02\x7f",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        encode_one(t, texts[i], (int)(i & 1), (int)((i >> 1) & 1));

    /* Slices of the input as text (cut at the first NUL by strlen). */
    size_t n = size < TEXT_MAX ? size : TEXT_MAX;
    char *text = malloc(n + 1);
    memcpy(text, data + size - n, n);
    text[n] = 0;
    encode_one(t, text, 1, 0);
    /* The pieces themselves: every piece should at least encode. */
    for (int id = 0; id < V && id < 64; id++)
        encode_one(t, t->vocab[id], 0, id & 1);
    /* Concatenation of the first few pieces. */
    size_t used = 0;
    for (int id = 0; id < V && id < 32; id++) {
        size_t pl = strlen(t->vocab[id]);
        if (used + pl > n)
            break;
        memcpy(text + used, t->vocab[id], pl);
        used += pl;
    }
    text[used] = 0;
    encode_one(t, text, 1, 1);
    free(text);
}

#ifdef FUZZ_TOKENIZER_GGUF
static void encode_gguf(const struct tokenizer *t, const char *text, int flags)
{
    int cap = tokenizer_max_tokens(t, strlen(text)), n = -1;
    int *ids = malloc(sizeof(int) * (size_t)cap);
    int rc = tokenizer_encode_ex(t, text, flags, ids, cap, &n);
    REQUIRE(rc == 0 || rc == ERR_UNSUPPORTED, "tokenizer_encode_ex returned %d (%s)", rc, err_str(rc));
    if (rc == 0) {
        REQUIRE(n >= 0 && n <= cap, "%d ids, bound %d", n, cap);
        for (int i = 0; i < n; i++)
            REQUIRE(ids[i] >= 0 && ids[i] < t->vocab_size, "id %d out of range", ids[i]);
        char buf[512];
        size_t len;
        rc = tokenizer_detokenize(t, ids, n, buf, sizeof buf, &len);
        REQUIRE(rc == 0 || rc == ERR_RANGE, "tokenizer_detokenize returned %d", rc);
        REQUIRE(strlen(buf) < sizeof buf, "detokenize overran");
    }
    free(ids);
}

static int fuzz_gguf(const uint8_t *data, size_t size)
{
    size_t before = plat_posix_live_bytes();
    struct gguf_file g;
    char err[200];
    if (gguf_parse(&g, data, size, size, err, sizeof err) != 0)
        return 0;
    struct tokenizer t;
    int rc = tokenizer_init_gguf(&t, &g, err, sizeof err);
    if (rc) {
        REQUIRE(rc == ERR_FORMAT || rc == ERR_UNSUPPORTED || rc == ERR_RANGE,
                "tokenizer_init_gguf returned %d (%s): %s", rc, err_str(rc), err);
        check_msg(err, sizeof err);
        REQUIRE(is_zero(&t, sizeof t), "struct not zeroed after a failed init");
    } else {
        static const char *const texts[] = {
            "", "a", " Hello  world\n\n", "<s>x</s>", "<|im_start|>u\n<|im_end|>",
            "\xff\xfe\x80 \xe4\xb8\xad 123 12345", "'s 'T\tx \xf0\x9f\x98\x80", "<0x41>",
        };
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            for (int f = 0; f < 16; f++)
                encode_gguf(&t, texts[i], f);
        for (int id = 0; id < t.vocab_size && id < 64; id++) {
            encode_gguf(&t, t.vocab[id], TOK_PARSE_SPECIAL);
            (void)strlen(tokenizer_decode(&t, id - 1, id));
        }
        (void)tokenizer_is_eog(&t, 0);
        tokenizer_free(&t);
    }
    gguf_close(&g);
    REQUIRE(plat_posix_live_bytes() == before, "GGUF tokenizer left %zu bytes",
            plat_posix_live_bytes() - before);
    return 0;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_TOKENIZER_GGUF
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0)
        return fuzz_gguf(data, size);
#endif
    size_t before = plat_posix_live_bytes();
    struct tokenizer t;
    memset(&t, 0xA5, sizeof t);
    char err[200];
    int rc = tokenizer_init(&t, data, size, err, sizeof err);
    if (rc) {
        REQUIRE(rc == ERR_FORMAT, "tokenizer_init returned %d (%s): %s", rc, err_str(rc), err);
        check_msg(err, sizeof err);
        REQUIRE(is_zero(&t, sizeof t), "struct not zeroed after a failed init");
        REQUIRE(plat_posix_live_bytes() == before, "failed init leaked %zu bytes",
                plat_posix_live_bytes() - before);
        /* small buffers: truncated, terminated, nothing past errcap */
        char small[16];
        memset(small, 'Z', sizeof small);
        size_t cap = 1 + size % 8;
        REQUIRE(tokenizer_init(&t, data, size, small, cap) == rc, "verdict changed with errcap");
        check_msg(small, cap);
        for (size_t i = cap; i < sizeof small; i++)
            REQUIRE(small[i] == 'Z', "wrote past errcap %zu", cap);
        REQUIRE(tokenizer_init(&t, data, size, NULL, 0) == rc, "verdict changed without err");
        return 0;
    }
    use_tokenizer(&t, data, size);
    tokenizer_free(&t);
    REQUIRE(is_zero(&t, sizeof t), "tokenizer_free did not zero the struct");
    REQUIRE(plat_posix_live_bytes() == before, "tokenizer_free left %zu bytes",
            plat_posix_live_bytes() - before);
    REQUIRE(tokenizer_vocab_size(&t) == 0, "freed tokenizer has a vocabulary");
    return 0;
}
