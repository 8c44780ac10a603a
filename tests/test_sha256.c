/* test_sha256.c - SHA-256 against the FIPS 180-4 / NIST example vectors,
 * fed whole and in random pieces, and the hex forms. */
#include "testlib.h"

#include "../errors.h"
#include "../lib.h"
#include "../sha256.h"

static const char *hex_of(const void *data, size_t n)
{
    static char hex[SHA256_HEX];
    uint8_t d[SHA256_BYTES];
    sha256(data, n, d);
    sha256_to_hex(d, hex);
    return hex;
}

TEST(sha256_nist_vectors)
{
    CHECK_STR(hex_of("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_STR(hex_of("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK_STR(hex_of(m448, strlen(m448)),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    CHECK_STR(hex_of(m896, strlen(m896)),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    CHECK_STR(hex_of(a, 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* The padding boundaries: 55, 56, 63, 64 and 65 bytes (one vs two final
 * blocks), each streamed byte by byte must equal the one-shot digest. */
TEST(sha256_padding_edges)
{
    static const size_t lens[] = {55, 56, 57, 63, 64, 65, 119, 120, 128};
    uint8_t msg[128], one[SHA256_BYTES], split[SHA256_BYTES];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        struct sha256 s;
        sha256(msg, lens[k], one);
        sha256_init(&s);
        for (size_t i = 0; i < lens[k]; i++)
            sha256_update(&s, msg + i, 1);
        sha256_final(&s, split);
        CHECK_MSG(memcmp(one, split, sizeof one) == 0, "length %zu", lens[k]);
    }
    /* 55 'a': a known vector from a single final block */
    CHECK_STR(hex_of("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55),
              "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
}

/* One million 'a' given in random pieces (0 to 300 bytes) hashes the same. */
TEST(sha256_random_splits)
{
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    uint32_t r = 12345;
    for (int round = 0; round < 4; round++) {
        struct sha256 s;
        uint8_t d[SHA256_BYTES];
        char hex[SHA256_HEX];
        size_t pos = 0;
        sha256_init(&s);
        while (pos < 1000000) {
            r = r * 1103515245u + 12345u;
            size_t n = MIN((size_t)(r >> 16) % (round == 3 ? 70000 : 301), 1000000 - pos);
            sha256_update(&s, a + pos, n);
            pos += n;
        }
        sha256_final(&s, d);
        sha256_to_hex(d, hex);
        CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
    free(a);
}

TEST(sha256_hex_parse)
{
    uint8_t d[SHA256_BYTES], e[SHA256_BYTES];
    char hex[SHA256_HEX];
    const char *abc = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
    CHECK_INT(sha256_from_hex(abc, d), 0);
    sha256("abc", 3, e);
    CHECK(memcmp(d, e, sizeof d) == 0);
    sha256_to_hex(d, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    memset(e, 0x5a, sizeof e);
    CHECK_INT(sha256_from_hex("", e), ERR_FORMAT);
    CHECK_INT(sha256_from_hex("ba78", e), ERR_FORMAT);           /* short */
    CHECK_INT(sha256_from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", e),
              ERR_FORMAT);                                       /* long */
    CHECK_INT(sha256_from_hex("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", e),
              ERR_FORMAT);                                       /* not hex */
    CHECK_INT(sha256_from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a ", e),
              ERR_FORMAT);
    CHECK(e[0] == 0x5a); /* untouched on failure */
}
