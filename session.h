/* session.h - conversations kept on the boot volume (issue 6).
 *
 * Layout (paths from the volume root):
 *   sessions/session_001/metadata.json     export_meta_json (export.h), replaced
 *                                          crash-safely after every turn
 *   sessions/session_001/conversation.log  one JSON object per line per turn,
 *                                          appended and flushed as it happens
 *   sessions/session_001/output_001.txt    the text of each generation
 *   sessions/session_001/export/session_001.{txt,json,md,csv}[.lz4]
 *
 * A log record is {"role":"user","time_s":N,"tokens":N,"tok_per_s":X,"text":"..."}
 * and a newline. A power cut during an append leaves a prefix of the last
 * record, which is never a valid JSON object (the closing brace is its last
 * byte before the newline): the reader reports it and ignores it. Numbers
 * come from listing sessions/: one more than the highest taken (a file of
 * that name counts too), so nothing is clobbered, also after a reboot.
 *
 * Everything read back (metadata.json, the log) is untrusted: a bad file
 * gives a message and is skipped, never a crash. Write errors come back as
 * the storage.h codes (ERR_WRITE_PROTECTED, ERR_VOLUME_FULL ...); storage.c
 * guarantees that what was written before stays whole.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "json.h"

#define SESSION_DIR "sessions"
#define SESSION_LOG_MAX ((size_t)16 << 20) /* longer logs are not read back */
#define SESSION_LZ4_MIN 4096               /* compress=lz4: smaller files stay plain */

struct session {
    int number;                 /* session_NNN; 0 = none */
    int outputs;                /* output_NNN.txt files written */
    int compress;               /* write exports over SESSION_LZ4_MIN as .lz4 */
    double tps_sum;             /* of the generations, for the average */
    int tps_n;
    struct export_meta meta;    /* strings point into the arrays below */
    char model_file[128], family[32], quantization[32], template_name[32], app_version[32];
};

/* What session_start records. Strings are copied (NULL: none). */
struct session_settings {
    const char *model_file, *family, *quantization, *template_name, *app_version;
    float temperature, topp;
    uint64_t seed;
    int compress; /* config compress=lz4 */
};

/* Allocates the next free number, creates its directory and writes
 * metadata.json. note(msg, ctx) (NULL: diag_printf) hears about entries of
 * sessions/ that are not session_NNN. On failure *s is number 0. */
int session_start(struct session *s, const struct session_settings *set,
                  void (*note)(const char *msg, void *ctx), void *ctx);

/* Appends one turn, text[0..n), to the log (role "user" / "assistant" /
 * "system"; for assistant turns tokens and tok_per_s are the generation's)
 * and rewrites metadata.json with the new counts. */
int session_add_turn(struct session *s, const char *role, const char *text, size_t n,
                     int tokens, double tok_per_s);

/* Writes the next output_NNN.txt with text[0..n). */
int session_write_output(struct session *s, const char *text, size_t n);

/* Writes export/session_NNN.EXT of session number (from its files on the
 * volume), compressed when compress and large enough. The path written
 * goes to ret_path (cap bytes, may be NULL). Messages about skipped log
 * records go to note. ERR_NOT_FOUND: no such session; ERR_FORMAT: its
 * metadata.json is unusable (said through note). */
int session_export(int number, enum export_format f, int compress, char *ret_path, size_t cap,
                   void (*note)(const char *msg, void *ctx), void *ctx);

/* Appends one line per session to out, oldest first:
 *   "  3  2025-01-02 03:04  stories15M.bin  Once upon a time..."
 * and a message line for each one that cannot be read. Returns the number
 * of sessions listed or an error listing sessions/ (ERR_NOT_FOUND: none). */
int session_list(struct textbuf *out);

/* Reads the log text[0..n) of a session: calls fn for every valid record
 * (strings valid during the call) and note for every bad one (the last one
 * torn by a cut is "torn"). Returns the number of valid records. */
int session_log_parse(const char *text, size_t n, const char *name,
                      void (*fn)(const struct export_turn *t, void *ctx), void *ctx,
                      void (*note)(const char *msg, void *ctx), void *note_ctx);

#endif
