/* session.h - conversations kept on the boot volume (issue 6).
 *
 * Layout (paths from the volume root):
 *   sessions/session_001/metadata.json     export_meta_json (export.h), padded
 *   sessions/session_001/metadata.json.bak with spaces; both rewritten in place
 *                                          after every turn (storage_write_mirrored)
 *   sessions/session_001/conversation.log  one JSON object per line per turn,
 *                                          written in place and flushed as it
 *                                          happens; preallocated in 64 KiB steps,
 *                                          the unused end is zero bytes
 *   sessions/session_001/output_001.txt    the text of each generation, written
 *                                          when the session ends
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
#define SESSION_LOG_GROW ((size_t)64 << 10) /* conversation.log is allocated in these steps */

struct session {
    int number;                 /* session_NNN; 0 = none */
    int outputs;                /* output_NNN.txt files written */
    uint64_t log_end;           /* used bytes of conversation.log */
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

/* Writes output_NNN.txt for every assistant turn of session number's log
 * that has none yet (*outputs of them exist; < 0: count the files). A
 * session's outputs are written when it ends (/quit, the next session) or
 * at the next boot (session_recover), not per turn: creating files changes
 * the FAT, and turns must not (storage.h, in place). */
int session_write_outputs(int number, int *outputs);

/* At boot: repairs what a power cut left in the newest session (storage
 * recovery of its directory, its missing output files); says what it did
 * through note. */
void session_recover(void (*note)(const char *msg, void *ctx), void *ctx);

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

/* /resume: calls fn for every valid turn of session number's log (oldest
 * first; strings valid during the call), note for every bad record.
 * Returns the number of turns, ERR_NOT_FOUND when the session does not
 * exist, ERR_RANGE when its log is over SESSION_LOG_MAX. */
int session_read_turns(int number, void (*fn)(const struct export_turn *t, void *ctx), void *ctx,
                       void (*note)(const char *msg, void *ctx), void *note_ctx);

/* ---- KV cache snapshots (/save), sessions/session_NNN/kv.bin ----------------------
 * A little-endian header (SESSION_KV_HEADER bytes), the chat's carry text,
 * then the payload: for each layer the keys of positions [0,pos), then for
 * each layer the values, floats as in memory. The payload is an LZ4 frame
 * when compress (flag bit 0), else raw. The header holds what must match
 * for the cache to be reused: the model file's size and checksum
 * (session_model_sum), n_layers/seq_len/kv_dim, and a checksum of the
 * conversation as the chat renders it now (template, system prompt and
 * turns: a later turn in the log or another template makes it stale);
 * plus xxh32 of the payload and of the header itself. */
#define SESSION_KV_FILE "kv.bin"
#define SESSION_KV_MAGIC "LLMKVSN1"
#define SESSION_KV_VERSION 1
#define SESSION_KV_HEADER 72
#define SESSION_KV_CARRY_MAX 1024

struct kv_snapshot {
    uint64_t model_size;
    uint32_t model_sum, conv_sum;
    int n_layers, seq_len, kv_dim;
    int pos;                  /* cache positions held */
    int reply_open;           /* chat.h: the last reply's end marker is not cached */
    char carry[SESSION_KV_CARRY_MAX]; /* chat.h: reply text the cache lacks */
    float *key, *value;       /* (n_layers, seq_len, kv_dim), caller-owned */
};

/* Checksum identifying a model file: xxh32 of its first 4 KiB (the header)
 * chained with the first 4 KiB of its first tensor's bytes in memory
 * (tensor[0..n), n clipped). */
int session_model_sum(const char *path, const void *tensor, size_t n, uint32_t *ret_sum);

/* Writes kv.bin of session number from k (crash-safe replace). */
int session_save_kv(int number, const struct kv_snapshot *k, int compress);

/* Reads kv.bin of session number into k->key/k->value when the file
 * matches k's model_size, model_sum, conv_sum and shapes; then sets k->pos,
 * reply_open and carry from it. Else k's caches may hold garbage below the
 * file's pos (refill them) and err gets a one-line reason:
 *   ERR_NOT_FOUND  no snapshot
 *   ERR_INVAL      stale: another model, shape or conversation
 *   ERR_FORMAT     corrupt: bad magic, sizes, checksums or LZ4 frame */
int session_load_kv(int number, struct kv_snapshot *k, char *err, size_t errcap);

/* ---- the conversation of a session in a chat (chat.h) ------------------------------ */
struct chat;
struct engine;

/* /resume: c forgets its turns and gets session number's user/assistant
 * pairs (a user turn without its reply, or a turn of another role, is left
 * out); each kept turn also goes to show (may be NULL). Then e's cache is
 * filled from the session's kv.bin when it matches e's model and c's
 * conversation (rendered in c's current template: scratch, cap bytes, is
 * used for that); otherwise the next chat_begin_reply prefills the history,
 * as after /model. A snapshot that exists but cannot be used is said once
 * through note. Returns the number of exchanges, *ret_from_kv = 1 when the
 * cache came from kv.bin; ERR_NOT_FOUND (no such session), ERR_FORMAT (its
 * metadata is unusable, said through note), ERR_RANGE (too long for c). */
int session_resume(int number, struct chat *c, struct engine *e, char *scratch, size_t cap,
                   void (*show)(const char *role, const char *text, void *ctx), void *show_ctx,
                   void (*note)(const char *msg, void *ctx), void *note_ctx, int *ret_from_kv);

/* /save: writes e's cache of c's conversation (c->kv_pos positions) as
 * kv.bin of session number. ERR_INVAL when the cache does not hold the
 * conversation (kv_pos < 0: nothing to save until the next reply). */
int session_save_chat_kv(int number, const struct chat *c, const struct engine *e, int compress,
                         char *scratch, size_t cap);

/* Copies every user/assistant turn of c into s's log (a resumed
 * conversation continues in a new session that holds it whole). */
int session_add_chat_turns(struct session *s, const struct chat *c);

#endif
