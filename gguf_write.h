/* gguf_write.h - GGUF v3 writer (little-endian): metadata of every value
 * type (string arrays too), tensor infos, alignment padding, tensor data.
 *
 * Freestanding core code: the bytes go to a caller-supplied sink, so the
 * host tools write files through stdio, the unit tests into memory, and a
 * firmware tool could write through its own file layer. Entries are
 * collected first (gguf_w_* calls), then written in one pass:
 *
 *   struct gguf_writer w;
 *   gguf_writer_init(&w);
 *   gguf_w_str(&w, "general.architecture", "llama");
 *   gguf_w_tensor(&w, "token_embd.weight", GGML_TYPE_F32, 2, dims, data);
 *   rc = gguf_w_write(&w, sink, ctx);   // or write_header + write_data
 *   gguf_writer_free(&w);
 *
 * The layout is llama.cpp's (gguf.cpp gguf_write_to_buf): header, key/value
 * pairs in the order added, tensor infos in the order added with offsets
 * relative to the data section, zero padding up to general.alignment (32
 * unless set), then each tensor's bytes followed by zero padding up to the
 * alignment (the last one too).
 *
 * Errors: every gguf_w_* call returns 0 or ERR_INVAL (bad argument: empty or
 * overlong key/name, duplicate key or tensor name, unknown type, row length
 * not a multiple of the block size, general.alignment not a uint32 power of
 * two), ERR_RANGE (size overflow) or ERR_NOMEM. The first error sticks:
 * later calls return it without doing anything and gguf_w_write refuses to
 * write, so a caller may check only the last call. Sink errors are returned
 * as the sink gave them.
 *
 * Ownership: the writer copies keys, strings, arrays and tensor names into
 * memory it owns (plat_alloc, returned by gguf_writer_free). Tensor data is
 * NOT copied: the pointer given to gguf_w_tensor must stay valid until the
 * data is written (or be NULL when the caller streams it with
 * gguf_w_write_data). */
#ifndef GGUF_WRITE_H
#define GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "gguf.h"

/* Receives the next n bytes of the file; returns 0 or a negative ERR_*. */
typedef int (*gguf_sink_fn)(void *ctx, const void *data, size_t n);

/* A growable byte buffer from plat_alloc. */
struct gguf_wbuf {
    unsigned char *p;
    size_t n, cap;
};

/* One tensor to write. */
struct gguf_wtensor {
    char name[GGUF_MAX_NAME + 1];
    uint32_t type;                /* enum ggml_type */
    uint32_t n_dims;              /* 1..GGUF_MAX_DIMS */
    uint64_t dims[GGUF_MAX_DIMS]; /* dims[0] = row length; unused = 1 */
    uint64_t n_bytes;
    uint64_t offset;              /* in the data section (set by the layout) */
    const void *data;             /* caller-owned, or NULL (streamed) */
};

struct gguf_writer {
    struct gguf_wbuf kv;       /* serialized key/value pairs */
    struct gguf_wbuf key_offs; /* uint64_t offset of each key in kv (duplicates) */
    struct gguf_wbuf tensors;  /* struct gguf_wtensor[n_tensors] */
    uint64_t n_kv, n_tensors;
    uint32_t alignment;        /* general.alignment, default 32 */
    int rc;                    /* first error, sticky */
    /* streaming state (gguf_w_write_header / gguf_w_write_data) */
    int header_done;
    uint64_t cur;              /* tensor being written */
    uint64_t cur_done;         /* its bytes written so far */
};

void gguf_writer_init(struct gguf_writer *w);
/* Returns all memory to the platform and re-initializes *w. */
void gguf_writer_free(struct gguf_writer *w);

/* ---- metadata (added in order; keys must be unique) ---- */
int gguf_w_u8(struct gguf_writer *w, const char *key, uint8_t v);
int gguf_w_i8(struct gguf_writer *w, const char *key, int8_t v);
int gguf_w_u16(struct gguf_writer *w, const char *key, uint16_t v);
int gguf_w_i16(struct gguf_writer *w, const char *key, int16_t v);
/* "general.alignment" sets the alignment (a power of two, at least 1). */
int gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_w_f32(struct gguf_writer *w, const char *key, float v);
int gguf_w_bool(struct gguf_writer *w, const char *key, int v);
int gguf_w_u64(struct gguf_writer *w, const char *key, uint64_t v);
int gguf_w_i64(struct gguf_writer *w, const char *key, int64_t v);
int gguf_w_f64(struct gguf_writer *w, const char *key, double v);
/* A C string / n bytes (may contain NULs). */
int gguf_w_str(struct gguf_writer *w, const char *key, const char *s);
int gguf_w_strn(struct gguf_writer *w, const char *key, const char *s, uint64_t n);
/* An array of n numeric elements of elem_type (any scalar type but string),
 * given as their little-endian bytes (n * gguf_vtype_size(elem_type)). */
int gguf_w_arr(struct gguf_writer *w, const char *key, uint32_t elem_type, const void *data,
               uint64_t n);
/* An array of n strings. */
int gguf_w_arr_str(struct gguf_writer *w, const char *key, const struct gguf_str *v,
                   uint64_t n);
/* A copy of an entry read by gguf.c (any type), under key (NULL: its own). */
int gguf_w_kv(struct gguf_writer *w, const char *key, const struct gguf_kv *kv);

/* ---- tensors (written in the order added) ---- */
/* dims[0] is the row length and must be a multiple of the type's block
 * size; data (n_bytes = the type's size of the element count) is caller-
 * owned, or NULL to stream it with gguf_w_write_data. */
int gguf_w_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                  const uint64_t *dims, const void *data);
/* The tensor added i-th (NULL if out of range); its offset is final once
 * gguf_w_header_bytes or a write has run. */
const struct gguf_wtensor *gguf_w_get_tensor(const struct gguf_writer *w, uint64_t i);

/* ---- output ---- */
/* Bytes before the data section (header, metadata, tensor infos, padding)
 * and of the whole file; fixes the tensor offsets. */
int gguf_w_header_bytes(struct gguf_writer *w, uint64_t *ret_bytes);
int gguf_w_file_bytes(struct gguf_writer *w, uint64_t *ret_bytes);
/* Writes everything up to the data section. */
int gguf_w_write_header(struct gguf_writer *w, gguf_sink_fn sink, void *ctx);
/* Writes the next n bytes of tensor data, tensors in order (chunks may span
 * tensors); the padding after each tensor is inserted here. ERR_INVAL when
 * more bytes come than the tensors hold. */
int gguf_w_write_data(struct gguf_writer *w, gguf_sink_fn sink, void *ctx, const void *data,
                      size_t n);
/* 0 when every tensor's bytes were written, else ERR_INVAL. */
int gguf_w_write_end(const struct gguf_writer *w);
/* Everything in one call: the header, then each tensor's data pointer
 * (ERR_INVAL if one is NULL). */
int gguf_w_write(struct gguf_writer *w, gguf_sink_fn sink, void *ctx);

#endif
