/* platform.h - the only seam between the portable core and the firmware or OS.
 *
 * Implemented by platform_efi.c (UEFI, gnu-efi) and platform_posix.c (Linux host).
 * Everything else in the project is freestanding C11 that calls only these
 * functions (plus lib.h). Functions return 0 or a negative ERR_* code (errors.h).
 */
#ifndef PLATFORM_H
#define PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* ---- memory ---------------------------------------------------------------
 * Page-granular allocation straight from the firmware (AllocatePages) or the
 * OS (mmap). Returned memory is zeroed and at least 64-byte aligned.
 * Ownership: the caller owns the block and must return it with plat_free,
 * passing the same size. Returns NULL when memory is exhausted. */
void *plat_alloc(size_t bytes);
void plat_free(void *p, size_t bytes);

/* Bytes of free memory plat_alloc could still hand out (the conventional
 * memory of the UEFI memory map; MemAvailable on Linux). */
uint64_t plat_mem_free(void);

/* ---- files ----------------------------------------------------------------
 * Paths are relative to the boot volume root (UEFI) or the data directory
 * (host), with '/' separators, e.g. "models/stories260K.bin". */
typedef struct plat_file plat_file;

/* Opens an existing file for reading. On success *ret_file is owned by the
 * caller and must be closed with plat_file_close. */
int plat_file_open(const char *path, plat_file **ret_file);
/* Size in bytes of an open file. */
int plat_file_size(plat_file *f, uint64_t *ret_size);
/* Reads up to n bytes at the current position into buf (caller-owned).
 * *ret_got is the number read; 0 means end of file. Implementations split
 * large reads into chunks the firmware handles well. */
int plat_file_read(plat_file *f, void *buf, size_t n, size_t *ret_got);
/* Moves the read position to an absolute offset. */
int plat_file_seek(plat_file *f, uint64_t offset);
void plat_file_close(plat_file *f);

/* ---- writing files ------------------------------------------------------------
 * Parent directories must exist (plat_mkdir makes one level). Errors a user
 * can act on are distinct: ERR_WRITE_PROTECTED (read-only medium),
 * ERR_VOLUME_FULL, ERR_ACCESS (read-only file), ERR_EXISTS. The crash-safe
 * way to replace a file is storage_write_file (storage.h), built on these. */

/* Creates path, or truncates it to 0 bytes if it exists, open for writing
 * at offset 0. *ret_file is caller-owned: plat_file_close it. */
int plat_file_create(const char *path, plat_file **ret_file);
/* Opens path for writing at its end, creating it (empty) when missing:
 * for logs. *ret_file is caller-owned. */
int plat_file_append(const char *path, plat_file **ret_file);
/* Opens an existing file for writing at offset 0 without truncating it
 * (plat_file_seek moves the position): for overwriting bytes in place.
 * ERR_NOT_FOUND when it is missing. *ret_file is caller-owned. */
int plat_file_open_rw(const char *path, plat_file **ret_file);
/* Writes all n bytes of buf (caller-owned) at the current position, or
 * fails; after a failure an unknown prefix may have reached the file. */
int plat_file_write(plat_file *f, const void *buf, size_t n);
/* Pushes the file's data and size to the medium: EFI_FILE_PROTOCOL.Flush
 * on UEFI (the FAT driver writes its cache), fsync on the host. Only after
 * it returns 0 is the data known to survive a power cut. */
int plat_file_flush(plat_file *f);
/* Renames from to to, within one directory (ERR_INVAL otherwise). If to
 * exists: the host replaces it atomically (rename(2)); UEFI's FAT cannot
 * and returns ERR_EXISTS, leaving both files alone, so the caller deletes
 * to first (storage.c orders that so a power cut loses nothing). Durable
 * when it returns 0. */
int plat_file_rename(const char *from, const char *to);
/* Deletes a file (not a directory: ERR_INVAL). ERR_NOT_FOUND if missing. */
int plat_file_delete(const char *path);
/* Creates one directory. 0 also when it exists already; ERR_EXISTS when a
 * file has that name; ERR_NOT_FOUND when its parent is missing. */
int plat_mkdir(const char *path);

/* Free bytes on the volume (EFI_FILE_SYSTEM_INFO.FreeSpace; statvfs on the
 * host), for refusing a download that cannot fit. */
int plat_volume_free(uint64_t *ret_bytes);

/* One directory entry as seen by plat_dir_list. The name is only valid
 * during the callback. */
struct plat_dirent {
    const char *name;   /* UTF-8 (ASCII on FAT), no path */
    uint64_t size;
    int is_dir;
};
/* Calls fn for every entry of dir ("" is the root), skipping "." and "..".
 * fn returns nonzero to stop early. Returns ERR_NOT_FOUND if dir is missing. */
int plat_dir_list(const char *dir,
                  int (*fn)(const struct plat_dirent *e, void *ctx), void *ctx);

/* ---- console ----------------------------------------------------------------
 * UTF-8 text; '\n' is translated to whatever the console needs. */
void plat_write(const char *s, size_t n);

/* Diagnostics (progress bars, warnings, statistics): stderr on the host so
 * that stdout carries only generated text, the same console on UEFI. */
void plat_write_diag(const char *s, size_t n);

/* Key codes returned by plat_key_poll: Unicode code points for characters,
 * PLAT_KEY_* for the rest. Enter is always '\n'; Backspace/Delete are
 * PLAT_KEY_BACKSPACE. */
enum {
    PLAT_KEY_NONE = -1,
    PLAT_KEY_BACKSPACE = 8,
    PLAT_KEY_ESC = 27,
    PLAT_KEY_UP = 0x110001,
    PLAT_KEY_DOWN,
    PLAT_KEY_LEFT,
    PLAT_KEY_RIGHT,
    PLAT_KEY_EOF          /* host only: input closed (piped stdin ended) */
};
/* Returns the next key press without blocking, or PLAT_KEY_NONE. */
int plat_key_poll(void);

/* ---- time -------------------------------------------------------------------- */
/* Monotonic microseconds since some fixed point (TSC calibrated on UEFI). */
uint64_t plat_time_us(void);
/* Seconds since 1970-01-01 00:00 on the wall clock (the firmware's RTC,
 * whose time zone is unknown; the host's UTC), 0 when there is none. For
 * timestamps in session files, never for measuring time. */
uint64_t plat_time_wall(void);
/* Gives the CPU away briefly when the event loop has nothing to do
 * (about a millisecond). Never call it on a per-token path. */
void plat_idle(void);

/* ---- network device ------------------------------------------------------------
 * The machine's network interface as a struct net_link (net.h) that moves
 * whole Ethernet frames: UEFI takes the first NIC's Simple Network Protocol
 * (net_snp.c); the host opens the TAP device named by the environment
 * variable LLM_TAP (tests create it in a network namespace). ERR_NOT_FOUND
 * when there is none; why (why_cap bytes) then says what was found. The
 * link stays valid until plat_net_close. */
struct net_link;
int plat_net_open(struct net_link *ret_link, char *why, size_t why_cap);
void plat_net_close(void);

/* ---- machine ----------------------------------------------------------------- */
/* Powers the machine off (UEFI) or exits the process with the given status
 * (host). Does not return. */
void plat_shutdown(int status) __attribute__((noreturn));

/* ---- compute ----------------------------------------------------------------- */
/* Number of threads parallel_for uses (>= 1), the calling one included. */
int plat_num_threads(void);
/* Limits parallel_for to n threads (the calling one included); n <= 0 means
 * all cores. UEFI clamps n to the processors MP Services started; the host
 * takes n as given (up to a fixed cap), so tests can oversubscribe. Call
 * from the main thread, never from inside parallel_for. */
void plat_set_threads(int n);
/* Runs fn(i, ctx) for every i in [0, n), spread over all threads, and returns
 * when all calls have finished. Each i runs exactly once, on one thread, so
 * results do not depend on the thread count when the fn(i) are independent.
 * fn runs on worker cores: it must not call any plat_* function except
 * plat_num_threads. Only the main thread calls plat_parallel_for; a nested
 * call (from inside fn) runs serially on the caller. */
void plat_parallel_for(int n, void (*fn)(int i, void *ctx), void *ctx);

#endif
