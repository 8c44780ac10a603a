/* storage.h - crash-safe files on the boot volume, on top of platform.h's
 * write calls. The foundation for sessions (issue 6) and the bench table.
 *
 * Replacing a file (storage_write_file). A power cut at any moment must
 * leave the old or the new file, complete. The new bytes go to "NAME.tmp"
 * and are flushed before any name changes, so a cut while writing only
 * leaves an unfinished .tmp, which nothing trusts. Then:
 *   host: rename(NAME.tmp, NAME) - atomic, done.
 *   UEFI: FAT cannot rename onto a taken name, so NAME must be deleted
 *         first, and between that delete and the final rename NAME does not
 *         exist. The complete new copy then has to be recognisable by its
 *         name alone, as a stray NAME.tmp could just as well be a half-written
 *         first version. So the flushed file is first renamed NAME.tmp ->
 *         NAME.new (a name that only ever holds complete data), then NAME is
 *         deleted, then NAME.new -> NAME. Each step is on the disk when its
 *         call returns (platform_efi.c), so after a cut:
 *           NAME.tmp only          the write was cut: the old NAME (or none)
 *           NAME.new (+ NAME)      the new copy is complete: finish the move
 *         FAT itself has no journal: the one step a cut can still damage is
 *         a rename's own directory-sector write (EDK2 removes the old entry
 *         and adds the new one in one cache flush), a window of one or two
 *         sector writes. fsck.fat would then report lost or doubly used
 *         clusters in that file only; other files are never touched.
 * storage_recover (at boot) and storage_write_file (first thing, for its
 * own name) finish an interrupted replace and delete stray .tmp files;
 * storage_read_file reads NAME.new when NAME is missing, so a reader never
 * sees a half-written file even before recovery ran.
 *
 * Appending (storage_append) is for logs: the bytes are appended and
 * flushed. A cut during an append can leave a torn last record (a prefix of
 * it) but never touches what an earlier flush wrote; log readers must
 * therefore check their last record.
 *
 * Paths use '/' and are relative to the volume root (platform.h). Names
 * ending in ".tmp" or ".new" are the module's own.
 */
#ifndef STORAGE_H
#define STORAGE_H

#include <stddef.h>
#include <stdint.h>

/* Longest path storage accepts, NUL included (the .tmp/.new suffix too). */
#define STORAGE_PATH_MAX 512

/* Replaces (or creates) path with data[0..n) as described above. The
 * parent directory must exist. On failure the previous file is untouched
 * and no .tmp is left behind (when the volume still takes deletes).
 * Returns 0 or ERR_WRITE_PROTECTED / ERR_VOLUME_FULL / ERR_ACCESS / ... */
int storage_write_file(const char *path, const void *data, size_t n);

/* Appends data[0..n) to path (created when missing) and flushes it. */
int storage_append(const char *path, const void *data, size_t n);

/* ---- in place ------------------------------------------------------------------
 * FAT has no journal: every change of the volume's allocation (creating,
 * growing, renaming or deleting a file) is several sector writes (FAT,
 * directory) that the firmware orders as it likes, and a cut between them
 * leaves fsck findings, even in files nobody was writing. Overwriting bytes
 * inside a file's existing size changes no allocation (the directory entry
 * gets only a new time), so a cut there tears at most that file's new
 * bytes. Files written often (a session's metadata and log) are therefore
 * allocated once with room to spare and then written in place; the
 * allocation changes when they run out of room, rarely. */

/* Makes path at least size bytes long: creates it, or extends it at its
 * end, with zero bytes; flushed. Does nothing when it is long enough. */
int storage_preallocate(const char *path, uint64_t size);

/* Overwrites path[offset, offset+n) with data and flushes. The file must
 * exist and be long enough (ERR_RANGE otherwise): nothing is allocated. */
int storage_overwrite(const char *path, uint64_t offset, const void *data, size_t n);

/* Appends data[0..n) to a preallocated log whose used part ends at *end
 * (the rest is zero bytes): written in place at *end and flushed, after
 * growing the file by whole steps of `grow` bytes when it lacks room.
 * *end advances on success. */
int storage_log_write(const char *path, uint64_t *end, const void *data, size_t n, size_t grow);

/* Keeps two copies of a small document, path and path.bak, for files that
 * change often: data[0..n) is written in place into path.bak, then into
 * path, each padded with `pad` bytes to its size (at least n + 1 bytes,
 * rounded up to 4 KiB; a shorter copy grows once). A cut tears at most one
 * copy and the other is whole (older or newer): the reader tries both and
 * keeps the newer valid one. Copies missing from an older layout are
 * created. */
int storage_write_mirrored(const char *path, const void *data, size_t n, char pad);

/* Creates the directory path and every missing parent ("a/b/c"). */
int storage_mkdirs(const char *path);

/* Reads the whole file path (or its complete NAME.new, see above) into buf
 * (cap bytes, caller-owned). *ret_len is its length. ERR_RANGE if it is
 * larger than cap; ERR_NOT_FOUND if neither exists. */
int storage_read_file(const char *path, void *buf, size_t cap, size_t *ret_len);

/* Repairs dir ("" = root) after a power cut: completes every interrupted
 * replace (NAME.new) and deletes every unfinished NAME.tmp, saying what it
 * did through note(msg, ctx) ("storage: ..."; NULL: diag_printf). Returns
 * the number of files repaired, or a negative ERR_* code. */
int storage_recover(const char *dir, void (*note)(const char *msg, void *ctx), void *ctx);

#endif
