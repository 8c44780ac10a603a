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

/* Bytes currently allocated with plat_alloc (for leak tests). */
size_t plat_posix_live_bytes(void);

#endif
