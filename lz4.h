/* lz4.h - LZ4 frame format (lz4_Frame_format.md v1.6) codec and XXH32.
 *
 * Frames we write: version 01, independent blocks, 4 MB block maximum (the
 * `lz4` command's default, so one block covers most logs and the hash table
 * restarts rarely), content size (when n > 0; the reference encoder omits a
 * zero size too), content checksum, no block checksums, no dictionary.
 * Each block is LZ4-compressed by a greedy single-probe hash-table matcher,
 * or stored raw when that is not smaller.
 *
 * Frames we read: everything the format allows except preset dictionaries
 * (ERR_UNSUPPORTED) and the legacy format of `lz4 -l` (ERR_UNSUPPORTED):
 * any block maximum (64 KB .. 4 MB), linked blocks (-BD; the whole frame is
 * the window, since we decode into one buffer), block checksums, with or
 * without content size / content checksum. Skippable frames
 * (0x184D2A50..5F) are skipped; concatenated frames decode to the
 * concatenation of their contents, as `lz4 -d` does. Input after the last
 * frame that is not another frame is an error.
 */
#ifndef LZ4_H
#define LZ4_H

#include <stddef.h>
#include <stdint.h>

#define LZ4_HASH_LOG 14
/* Scratch the compressor needs (its hash table): caller-owned, 4-byte
 * aligned, contents irrelevant, not referenced after the call. */
#define LZ4_WORK_BYTES ((size_t)4 << LZ4_HASH_LOG)
/* Largest block this encoder writes (block maximum id 7). */
#define LZ4_BLOCK_MAX ((size_t)4 << 20)

/* XXH32 of p[0..n) with seed (the xxHash specification). */
uint32_t lz4_xxh32(const void *p, size_t n, uint32_t seed);

/* Bytes a frame of n input bytes can take at most: lz4_frame_compress
 * never fails with cap >= this. 0 when that does not fit in size_t. */
size_t lz4_frame_bound(size_t n);

/* Compresses src[0..n) into one complete frame at dst (cap bytes).
 * work: LZ4_WORK_BYTES of scratch (see above). Returns 0 and the frame size
 * in *ret_len, ERR_RANGE when the frame does not fit in cap (dst then holds
 * garbage) or ERR_INVAL (misaligned work). */
int lz4_frame_compress(const void *src, size_t n, void *dst, size_t cap, size_t *ret_len,
                       void *work);

/* Decodes every frame in src[0..n) into dst (cap bytes), checking the
 * whole structure: magic, version and reserved bits, block maximum id,
 * header checksum, block sizes, every literal run and match against the
 * block and the output, content size and the block and content checksums
 * when present. Returns 0 and the decoded size in *ret_len, or
 *   ERR_FORMAT       malformed, truncated or corrupted input
 *   ERR_RANGE        the content does not fit in cap (grow dst and retry;
 *                    lz4_frame_size says how much)
 *   ERR_UNSUPPORTED  a preset dictionary, the legacy format, a version != 01
 * with a one-line reason in err (errcap bytes; err may be NULL), e.g.
 * "block 3: match offset 7000 beyond the 1200 bytes decoded". On error dst
 * holds garbage. src and dst must not overlap. */
int lz4_frame_decompress(const void *src, size_t n, void *dst, size_t cap, size_t *ret_len,
                         char *err, size_t errcap);

/* The output size lz4_frame_decompress needs, from the frame headers and
 * block sizes alone (no decoding, block checksums are verified): *ret_exact
 * is 1 and *ret_size the content size when every frame declares it, else 0
 * and an upper bound (a compressed block of c bytes decodes to at most
 * min(block maximum, 255 c) bytes). Same errors and err as
 * lz4_frame_decompress for the parts it reads; outputs written only on
 * success. */
int lz4_frame_size(const void *src, size_t n, uint64_t *ret_size, int *ret_exact, char *err,
                   size_t errcap);

#endif
