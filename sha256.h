/* sha256.h - SHA-256 (FIPS 180-4), streaming, and its hex form.
 *
 * Freestanding (lib.h only). Used to check downloaded model files against a
 * digest the user gives (client_download.c); the state is small and lives wherever
 * the caller keeps it, so a download hashes its bytes as they arrive.
 *
 *   struct sha256 s;  sha256_init(&s);
 *   sha256_update(&s, data, n);  ... as often as needed ...
 *   uint8_t d[SHA256_BYTES];  sha256_final(&s, d);
 */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32
#define SHA256_HEX (2 * SHA256_BYTES + 1) /* hex digits and the NUL */

struct sha256 {
    uint32_t h[8];        /* chaining value */
    uint64_t bytes;       /* message length so far */
    uint8_t block[64];    /* a partial block waiting for more bytes */
    size_t fill;          /* bytes of block in use */
};

void sha256_init(struct sha256 *s);
/* Hashes data[0..n) after everything given before. */
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* Pads, writes the digest to out and leaves s unusable until sha256_init. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES]);
/* One-shot convenience. */
void sha256(const void *data, size_t n, uint8_t out[SHA256_BYTES]);

/* 64 lowercase hex digits and a NUL. */
void sha256_to_hex(const uint8_t d[SHA256_BYTES], char out[SHA256_HEX]);
/* Exactly 64 hex digits (either case), nothing else: 0 and *ret, or
 * ERR_FORMAT. */
int sha256_from_hex(const char *s, uint8_t ret[SHA256_BYTES]);

#endif
