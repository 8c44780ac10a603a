/* json.h - text buffers, a JSON writer and a strict JSON reader for the
 * session files (metadata.json, exports). Freestanding: lib.h only.
 *
 * Writer output is always valid UTF-8 and valid RFC 8259 JSON: strings are
 * escaped (quote, backslash, control characters), invalid UTF-8 bytes become
 * U+FFFD, NaN and infinities become null. Pretty (2-space indent, one member
 * per line: metadata.json is read by people on the stick) or compact.
 *
 * The reader treats its input as untrusted: strict RFC 8259 (no comments,
 * trailing commas, single quotes, NaN, leading zeros, raw control characters
 * or invalid UTF-8 in strings, lone surrogates in \u escapes), bounded size,
 * depth and token count, and errors of the form
 *   "metadata.json: byte 123: expected ',' or '}'"   (0-based byte offset).
 * Decisions: a leading UTF-8 byte order mark is skipped (RFC 8259 8.1 allows
 * it; Windows editors write one); a duplicate key in an object is an error
 * (which value would win is ambiguous, so the file is not trusted).
 */
#ifndef JSON_H
#define JSON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- text buffer ------------------------------------------------------------
 * Either fixed (a caller-owned array) or growing (plat_alloc'd, owned by the
 * buffer, returned with tb_free). Always NUL-terminated when cap > 0. When
 * something does not fit (fixed buffer full, or no memory to grow) the text
 * is cut, overflow is set and stays set, and need keeps counting: a fixed
 * buffer of need + 1 bytes holds the whole text. */
struct textbuf {
    char *p;
    size_t len;   /* bytes stored, without the NUL */
    size_t cap;   /* bytes of p, the NUL included */
    size_t need;  /* bytes the whole text takes */
    int overflow;
    int grow;     /* p is plat_alloc'd and grows */
};

void tb_init(struct textbuf *b, char *buf, size_t cap);
void tb_init_grow(struct textbuf *b);
/* Returns a growing buffer's memory (no-op for a fixed one) and empties it. */
void tb_free(struct textbuf *b);
/* 0, or ERR_NOMEM (growing) / ERR_RANGE (fixed) once something was cut. */
int tb_status(const struct textbuf *b);
void tb_put(struct textbuf *b, const char *s, size_t n);
void tb_puts(struct textbuf *b, const char *s);
void tb_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) with every invalid UTF-8 byte replaced by U+FFFD. */
void tb_put_utf8(struct textbuf *b, const char *s, size_t n);

/* Length (1..4) of the valid UTF-8 sequence at s[0..n), 0 if s[0] does not
 * start one (overlong, surrogate, > U+10FFFF, cut short, stray byte). */
size_t utf8_seq_len(const char *s, size_t n);

/* ---- writer ------------------------------------------------------------------ */
#define JSON_MAX_DEPTH 32

struct json_writer {
    struct textbuf *out;
    int pretty;
    int depth;
    int after_key;                       /* a key was written, its value is next */
    uint8_t first[JSON_MAX_DEPTH + 1];   /* no member yet at this depth */
    uint8_t is_obj[JSON_MAX_DEPTH + 1];
    int err;                             /* misuse (ERR_INVAL), sticky */
};

void json_w_init(struct json_writer *w, struct textbuf *out, int pretty);
void json_w_begin_object(struct json_writer *w);
void json_w_end_object(struct json_writer *w);
void json_w_begin_array(struct json_writer *w);
void json_w_end_array(struct json_writer *w);
/* Inside an object: the key of the next value. */
void json_w_key(struct json_writer *w, const char *key);
/* NUL-terminated / counted strings; NULL writes null. */
void json_w_string(struct json_writer *w, const char *s);
void json_w_string_n(struct json_writer *w, const char *s, size_t n);
void json_w_int(struct json_writer *w, int64_t v);
void json_w_uint(struct json_writer *w, uint64_t v);
/* Shortest of up to 15 significant digits (max 9 decimals; exponent form
 * below 1e-3 and from 1e15); json_w_float uses 7 digits, so 0.8f is "0.8". */
void json_w_double(struct json_writer *w, double v);
void json_w_float(struct json_writer *w, float v);
void json_w_bool(struct json_writer *w, int v);
void json_w_null(struct json_writer *w);
/* Ends the document (a final newline when pretty). Returns 0, ERR_INVAL
 * (unbalanced or misused calls) or the buffer's tb_status. */
int json_w_finish(struct json_writer *w);

/* ---- reader ------------------------------------------------------------------ */
#define JSON_MAX_BYTES (1u << 20)

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/* One value. An object's tokens are followed by key, value, key, value...
 * (each value with its own children); an array's by its elements. */
struct json_tok {
    uint32_t type;
    uint32_t start, end; /* bytes of the value; strings: inside the quotes */
    uint32_t n;          /* members / elements */
    uint32_t next;       /* index of the token after this value's subtree */
};

struct json_doc {
    const char *text; /* caller-owned, must outlive the doc */
    size_t len;
    struct json_tok *tok; /* caller-owned array */
    int n_tok, cap_tok;
    size_t err_offset;
    char err[192];
};

/* Parses text[0..len) into tok (cap entries, one per value and per key).
 * name prefixes the error message ("metadata.json"). Returns 0, ERR_FORMAT
 * (malformed) or ERR_RANGE (over a limit), with d->err set to the message.
 * Token 0 is the top-level value. */
int json_parse(struct json_doc *d, const char *name, const char *text, size_t len,
               struct json_tok *tok, int cap);

/* Token index of key's value in object obj, -1 if absent (or obj is not an
 * object). Getters take such an index: -1 gives ERR_NOT_FOUND, a value of
 * another type ERR_FORMAT, so a missing or mistyped field is one check. */
int json_find(const struct json_doc *d, int obj, const char *key);
int json_type(const struct json_doc *d, int v); /* enum json_type, -1 for v = -1 */
int json_len(const struct json_doc *d, int v);  /* elements / members, -1 if not a container */
int json_at(const struct json_doc *d, int arr, int i); /* i-th element, -1 past the end */
/* The unescaped string, NUL-terminated, into buf (cap bytes). ERR_RANGE if
 * it does not fit (buf untouched). *ret_len (may be NULL) is its length; the
 * text may contain NUL bytes (\u0000). */
int json_string(const struct json_doc *d, int v, char *buf, size_t cap, size_t *ret_len);
/* Integers without fraction or exponent (ERR_FORMAT), in range (ERR_RANGE). */
int json_int(const struct json_doc *d, int v, int64_t *ret);
int json_u64(const struct json_doc *d, int v, uint64_t *ret);
/* Any number, as float (parse_float; ERR_RANGE past FLT_MAX). */
int json_float(const struct json_doc *d, int v, float *ret);
int json_bool(const struct json_doc *d, int v, int *ret);

#endif
