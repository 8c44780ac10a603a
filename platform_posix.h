/* platform_posix.h - host-only set-up of the POSIX platform layer. */
#ifndef PLATFORM_POSIX_H
#define PLATFORM_POSIX_H

#include <stddef.h>

/* Directory that relative paths of plat_file_open/plat_dir_list are resolved
 * against (the host's stand-in for the boot volume). Absolute paths are used
 * as they are. The string is copied. */
void plat_posix_set_root(const char *dir);

/* Puts a terminal stdin into raw mode (restored at exit) so plat_key_poll
 * sees single key presses; a pipe is read as it is. */
void plat_posix_console_init(void);

/* Test hooks for the write path (storage tests); each stays until reset.
 * fail_writes_after: plat_file_write stores only `bytes` more bytes, then
 *   fails with ERR_VOLUME_FULL (a nearly full volume); -1 turns it off.
 * cut_power_after: `calls` more file-changing calls (create, append, write,
 *   flush, rename, delete, mkdir) succeed; every later one fails with ERR_IO
 *   and changes nothing, as if the power went out; -1 turns it off.
 * set_fat_rename: plat_file_rename refuses an existing target with
 *   ERR_EXISTS, as UEFI's FAT driver does, instead of replacing it. */
void plat_posix_fail_writes_after(long long bytes);
void plat_posix_cut_power_after(int calls);
void plat_posix_set_fat_rename(int on);

/* Bytes currently allocated with plat_alloc (for leak tests). */
size_t plat_posix_live_bytes(void);

#endif
