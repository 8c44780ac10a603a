/* gguf.h - GGUF v2/v3 reader (little-endian): header, metadata, tensor infos,
 * split files (llama.cpp gguf-split: NAME-00001-of-0000N.gguf).
 *
 * Only the header region (magic .. tensor infos) is read, in bounded chunks
 * through plat_file_*; tensor data stays on disk and the model loader reads
 * it later at the absolute offsets given here. Everything the reader keeps
 * (metadata keys and values, strings, array payloads, tensor infos, part
 * paths, lookup tables) lives in ONE plat_alloc'd block owned by struct
 * gguf_file, sized by a first counting pass over the header region(s) and
 * returned by gguf_close. Every pointer handed out (keys, strings, arrays,
 * tensors, parts) points into that block and is valid until gguf_close.
 *
 * Validation (errors are one line, "gguf: ..."): version 2 or 3; counts and
 * every string/array length against the bytes left in the file; limits
 * below; known value types (no arrays of arrays: llama.cpp rejects them
 * too); duplicate keys; general.alignment a uint32 power of two; tensor
 * names 0..63 bytes and unique; n_dims <= 4; dims <= INT64_MAX with an
 * element count that does not overflow; a known ggml type; row length
 * (dims[0]) a multiple of the type's block size; byte size overflow-checked;
 * offset a multiple of the alignment; [offset, offset + size) inside the
 * file. Tensors of known but unsupported types parse and are marked
 * (supported == 0); unknown type ids are an error (their size is unknown).
 * Overlapping tensor data is not checked (reading it is harmless).
 */
#ifndef GGUF_H
#define GGUF_H

#include <stddef.h>
#include <stdint.h>

/* ---- limits ---- */
#define GGUF_MAX_KV (1u << 20)           /* metadata entries */
#define GGUF_MAX_ARRAY (1u << 24)        /* elements of one metadata array */
#define GGUF_MAX_TENSORS (1u << 16)      /* tensors, over all split parts */
#define GGUF_MAX_META_BYTES (1ull << 30) /* the block everything is kept in */
#define GGUF_MAX_KEY_LEN 65535u          /* GGUF spec: keys < 2^16 bytes */
#define GGUF_MAX_NAME 63u                /* tensor name bytes (ggml's 64 with NUL) */
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_PARTS 1024u             /* split.count */
#define GGUF_MAX_PATH 1024u              /* bytes of a part's path */
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_HEADER_BYTES 24u            /* magic, version, tensor and kv counts */
#define GGUF_READ_CHUNK (1u << 20)       /* read window of gguf_open */

/* Metadata value types (GGUF spec ids). */
enum gguf_vtype {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
};

/* Tensor types: llama.cpp's ggml_type ids (ids 4, 5, 31-33 and 36-38 were
 * removed upstream and are unknown here). */
enum ggml_type {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_IQ2_XXS = 16,
    GGML_TYPE_IQ2_XS = 17,
    GGML_TYPE_IQ3_XXS = 18,
    GGML_TYPE_IQ1_S = 19,
    GGML_TYPE_IQ4_NL = 20,
    GGML_TYPE_IQ3_S = 21,
    GGML_TYPE_IQ2_S = 22,
    GGML_TYPE_IQ4_XS = 23,
    GGML_TYPE_I8 = 24,
    GGML_TYPE_I16 = 25,
    GGML_TYPE_I32 = 26,
    GGML_TYPE_I64 = 27,
    GGML_TYPE_F64 = 28,
    GGML_TYPE_IQ1_M = 29,
    GGML_TYPE_BF16 = 30,
    GGML_TYPE_TQ1_0 = 34,
    GGML_TYPE_TQ2_0 = 35,
    GGML_TYPE_MXFP4 = 39,
    GGML_TYPE_NVFP4 = 40,
    GGML_TYPE_Q1_0 = 41,
    GGML_TYPE_ID_LIMIT /* ids below this may be known; see gguf_type_info */
};

/* A string from the file: n bytes at s, followed by a NUL the reader adds
 * (s is a C string unless the bytes contain a NUL themselves). */
struct gguf_str {
    const char *s;
    uint64_t n;
};

/* One metadata entry. Scalars are decoded into v (unsigned types and bool
 * in u64, signed in i64, float32/float64 in f64); strings in v.str; arrays
 * in v.data: n elements of elem_type, numeric ones as the file's
 * little-endian bytes (element size gguf_vtype_size), 8-byte aligned, so a
 * float32 array can be read as const float *; string arrays as
 * struct gguf_str[n]. */
struct gguf_kv {
    struct gguf_str key;
    uint32_t type;      /* enum gguf_vtype */
    uint32_t elem_type; /* arrays: element type; otherwise == type */
    uint64_t n;         /* arrays: element count; otherwise 1 */
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
        struct gguf_str str;
        const void *data;
    } v;
};

struct gguf_tensor {
    const char *name;      /* NUL-terminated, name_len <= GGUF_MAX_NAME */
    uint32_t name_len;
    uint32_t type;         /* enum ggml_type */
    uint32_t n_dims;       /* 0..4 as in the file */
    uint32_t part;         /* index into gguf_file.parts */
    int supported;         /* type is one the loader handles (gguf_type_supported) */
    uint64_t dims[GGUF_MAX_DIMS]; /* dims[0] = row length (contiguous); unused = 1 */
    uint64_t n_elements;
    uint64_t n_bytes;
    uint64_t offset;       /* absolute byte offset in parts[part]'s file */
};

/* One file of a (possibly split) model. */
struct gguf_part {
    const char *path;      /* as given to/derived by gguf_open; "" for gguf_parse */
    uint64_t file_size;
    uint64_t data_offset;  /* absolute start of the data section */
    uint32_t version;
    uint32_t n_tensors;
};

struct gguf_file {
    uint32_t version;      /* of the first part: 2 or 3 */
    uint32_t alignment;    /* general.alignment or 32 */
    uint64_t n_kv;
    const struct gguf_kv *kv;          /* [n_kv], in file order (first part) */
    uint64_t n_tensors;
    const struct gguf_tensor *tensors; /* [n_tensors], part by part in file order */
    uint32_t n_parts;                  /* 1 unless split */
    const struct gguf_part *parts;     /* [n_parts] */
    uint64_t tensor_bytes;             /* sum of n_bytes */
    uint64_t n_unsupported;            /* tensors with supported == 0 */
    /* private */
    void *block;
    size_t block_bytes;
    const uint32_t *kv_hash, *t_hash;  /* open addressing, slot = index + 1 */
    uint32_t kv_mask, t_mask;
};

/* Opens path (relative to the volume root, as plat_file_open) and reads its
 * header region. When the metadata says split.count = N > 1 the path must be
 * the first part, NAME-00001-of-0000N.gguf; its siblings in the same
 * directory are read too and their tensors joined into one table (parts,
 * tensor.part, absolute offsets). No file stays open: the loader opens
 * parts[t->part].path itself. On success *g owns one block (release with
 * gguf_close); on failure *g is zeroed, nothing stays allocated and err
 * holds a one-line reason. Returns 0, ERR_FORMAT (bad file), ERR_RANGE
 * (a limit), ERR_NOT_FOUND (a missing file), ERR_NOMEM or ERR_IO. */
int gguf_open(struct gguf_file *g, const char *path, char *err, size_t errcap);
/* gguf_open with a read window of chunk bytes (at least 64); tests use tiny
 * windows to exercise chunk boundaries. */
int gguf_open_chunked(struct gguf_file *g, const char *path, size_t chunk, char *err,
                      size_t errcap);

/* Parses one GGUF file from memory: data holds its first len bytes (at
 * least the header region), file_size is the whole file's size (tensor
 * ranges are checked against it). Split metadata is kept as plain keys; the
 * file is one part. data is not referenced after the call (everything is
 * copied into the block). Same results and ownership as gguf_open; a header
 * region longer than len gives ERR_RANGE. */
int gguf_parse(struct gguf_file *g, const void *data, size_t len, uint64_t file_size,
               char *err, size_t errcap);

/* Returns the block to the platform and zeroes *g (safe on a zeroed g). */
void gguf_close(struct gguf_file *g);

/* ---- metadata ---- */
/* The entry named key, or NULL. */
const struct gguf_kv *gguf_find(const struct gguf_file *g, const char *key);
/* Typed getters: 0 and *ret on success, ERR_NOT_FOUND when the key is
 * absent, ERR_FORMAT when its type does not convert, ERR_RANGE when the
 * value does not fit; *ret is written only on success. Integer getters take
 * any integer type (files disagree on u32 vs u64); gguf_get_f32 takes
 * float32 or float64; gguf_get_bool takes bool. */
int gguf_get_u32(const struct gguf_file *g, const char *key, uint32_t *ret);
int gguf_get_u64(const struct gguf_file *g, const char *key, uint64_t *ret);
int gguf_get_i64(const struct gguf_file *g, const char *key, int64_t *ret);
int gguf_get_f32(const struct gguf_file *g, const char *key, float *ret);
int gguf_get_bool(const struct gguf_file *g, const char *key, int *ret);
int gguf_get_str(const struct gguf_file *g, const char *key, struct gguf_str *ret);

/* The same on one entry (integer scalars / bool as int64; u64 above
 * INT64_MAX gives ERR_RANGE). */
int gguf_kv_int(const struct gguf_kv *kv, int64_t *ret);

/* Arrays: the element data when kv is an array of elem_type (numeric: the
 * raw little-endian elements; string: struct gguf_str[]) and its length in
 * *ret_n, else NULL. */
const void *gguf_arr_data(const struct gguf_kv *kv, uint32_t elem_type, uint64_t *ret_n);
/* Element i of an array: integer/bool elements as int64, float32/float64 as
 * float, string elements as a span. ERR_FORMAT for a non-array or a wrong
 * element type, ERR_RANGE for i out of range (or u64 above INT64_MAX). */
int gguf_arr_int(const struct gguf_kv *kv, uint64_t i, int64_t *ret);
int gguf_arr_f32(const struct gguf_kv *kv, uint64_t i, float *ret);
int gguf_arr_str(const struct gguf_kv *kv, uint64_t i, struct gguf_str *ret);

/* One-line description of an entry's value for menus ("uint32 2048",
 * "string 'llama'", "array[string] of 32000"); non-printable bytes become
 * '?'. Always NUL-terminates buf (cap > 0). */
void gguf_kv_format(const struct gguf_kv *kv, char *buf, size_t cap);

/* ---- tensors ---- */
const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *g, const char *name);

/* ---- types ---- */
/* Name of a value type ("uint32", "array", ...) or "?" for unknown ids. */
const char *gguf_vtype_name(uint32_t vtype);
/* Bytes of one element of a numeric value type; 0 for string/array/unknown. */
size_t gguf_vtype_size(uint32_t vtype);
/* A ggml type's name ("Q4_K") and block: elements per block and bytes per
 * block. Returns NULL (and leaves the outputs alone) for unknown ids. */
const char *gguf_type_info(uint32_t ggml_type, uint32_t *ret_block_elems,
                           uint32_t *ret_block_bytes);
/* 1 for the types the loader handles: F32 F16 BF16 Q4_0 Q4_1 Q8_0 Q4_K Q6_K. */
int gguf_type_supported(uint32_t ggml_type);

/* ---- split names ---- */
/* If path's file name ends in -NNNNN-of-MMMMM.gguf (gguf-split naming,
 * 5..9 digits each, ".gguf" in any case) returns 1 with the 1-based part
 * number and the part count, else 0. Lets a menu list only first parts. */
int gguf_split_name(const char *path, uint32_t *ret_no, uint32_t *ret_count);

#endif
