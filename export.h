/* export.h - a conversation as plain text, JSON, Markdown or CSV.
 *
 * The caller fills the neutral structs below (it owns every string; NULL
 * strings are written as null in JSON and left out or empty elsewhere) and
 * passes a textbuf (json.h). Every format is valid UTF-8: invalid bytes in
 * the texts become U+FFFD.
 *
 *   txt   a header block, then per turn "[N] role (time, ...):" and the text
 *   json  {"metadata": {...}, "turns": [{...}, ...]}, 2-space indent; the
 *         metadata object is what export_meta_json writes (metadata.json)
 *   md    "# Session N", a bullet list of the metadata, "## N. Role" per turn
 *         (the text follows verbatim, so Markdown in it renders as such)
 *   csv   RFC 4180: header "index,role,time,tokens,tokens_per_s,text", one
 *         row per turn, CRLF line ends, fields with , " CR or LF quoted and
 *         quotes doubled
 * Times are seconds since 1970-01-01 00:00 on the firmware clock (whose zone
 * is unknown, so none is printed): "2025-01-02T03:04:05" in JSON and CSV,
 * "2025-01-02 03:04:05" in text and Markdown; 0 means unknown.
 * Text and Markdown use LF line ends.
 */
#ifndef EXPORT_H
#define EXPORT_H

#include <stdint.h>

#include "json.h"

struct export_turn {
    const char *role;   /* "user", "assistant", "system" */
    const char *text;
    uint64_t time_s;    /* when the turn ended; 0 = unknown */
    int tokens;         /* tokens of the turn (prompt or reply) */
    double tok_per_s;   /* generation speed; 0 for prompts */
};

struct export_meta {
    int session;                 /* session number (session_001 -> 1) */
    uint64_t created_s, updated_s;
    const char *model_file;      /* "stories15M.bin" */
    const char *family;          /* "llama" */
    const char *quantization;    /* "f32", "Q8_0" ... */
    float temperature, topp;
    uint64_t seed;
    const char *template_name;
    int turns;                   /* turn count */
    uint64_t tokens_in, tokens_out;
    double tok_per_s;            /* average generation speed */
    const char *app_version;
};

enum export_format { EXPORT_TXT, EXPORT_JSON, EXPORT_MD, EXPORT_CSV, EXPORT_FORMATS };

/* "txt" / "json" / "md" / "csv" (any case) -> format; ERR_NOT_FOUND otherwise. */
int export_format_from_name(const char *name, enum export_format *ret);
/* The file extension (without the dot) of a format. */
const char *export_format_ext(enum export_format f);

/* Appends the export of turns[0..n) with m to out. Returns 0, ERR_INVAL
 * (unknown format) or tb_status(out) (text cut: see textbuf). */
int export_write(struct textbuf *out, enum export_format f, const struct export_meta *m,
                 const struct export_turn *turns, int n);

/* The metadata object (as value of the current key or top-level), for
 * metadata.json and the JSON export. */
void export_meta_json(struct json_writer *w, const struct export_meta *m);

/* Formats seconds since 1970 as "YYYY-MM-DD<sep>hh:mm:ss" into buf (20 bytes
 * room); "" for 0. */
void export_time(char *buf, size_t cap, uint64_t t, char sep);

#endif
