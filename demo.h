/* demo.h - the prompts of the unattended kiosk demo.
 *
 * Either the 41 built-in TinyStories-style openings in 6 categories, or the
 * prompts of `prompts.txt` on the volume:
 *   - one prompt per line; LF or CRLF; a UTF-8 BOM is skipped; leading and
 *     trailing blanks are trimmed; blank lines are ignored
 *   - a line whose first non-blank character is '#' names the category of
 *     the prompts that follow ("# Animals"); prompts before any category
 *     line are in "General". A bare "#" line is ignored. Categories with the
 *     same name (ASCII case-insensitive) are merged, the first spelling wins.
 *     A prompt therefore cannot start with '#'.
 *   - a prompt longer than DEMO_PROMPT_MAX - 1 bytes, or one that is not
 *     valid UTF-8 text (control characters count as invalid), is skipped
 *     whole rather than cut mid-sentence; `skipped` and `first_skipped` let
 *     the caller warn about it. An invalid category line is skipped the same
 *     way (its prompts stay in the current category); an over-long category
 *     name is cut to DEMO_CATEGORY_MAX - 1 bytes at a character boundary.
 *   - an empty or absent file (or one without a usable prompt) means the
 *     caller uses the built-in set.
 */
#ifndef DEMO_H
#define DEMO_H

#include <stddef.h>

#define DEMO_PROMPT_MAX 1024     /* bytes incl. NUL; same as config.prompt */
#define DEMO_CATEGORY_MAX 64     /* bytes incl. NUL */
#define DEMO_FILE_MAX (64 * 1024) /* bigger prompts.txt files are refused */

struct demo_prompt {
    const char *category; /* same pointer for every prompt of a category */
    const char *text;
};

struct demo_prompts {
    const struct demo_prompt *items; /* count entries, file order */
    int count;
    int n_categories;  /* distinct categories that have prompts */
    int skipped;       /* lines ignored (too long / not UTF-8 text) */
    int first_skipped; /* 1-based line number of the first, 0 if none */
    void *block;       /* plat_alloc'd storage for a parsed file, else NULL */
    size_t block_size;
};

/* The built-in set (static data; demo_prompts_free is a no-op for it). */
void demo_prompts_builtin(struct demo_prompts *d);

/* Parses len bytes of prompts.txt text (caller-owned, need not be
 * NUL-terminated) into *d, which then owns one plat_alloc'd block holding
 * copies of everything (free with demo_prompts_free). Returns 0,
 * ERR_FORMAT if there is no usable prompt, ERR_NOMEM or ERR_RANGE;
 * *d is written only on success. */
int demo_prompts_parse(struct demo_prompts *d, const char *text, size_t len);

/* Reads path with plat_file_* and parses it. Returns 0, ERR_NOT_FOUND,
 * ERR_RANGE (file over DEMO_FILE_MAX), ERR_IO, ERR_NOMEM or ERR_FORMAT;
 * on error *d is untouched and the caller falls back to the built-ins. */
int demo_prompts_load(struct demo_prompts *d, const char *path);

/* Releases a parsed set's block; leaves *d empty (count 0). */
void demo_prompts_free(struct demo_prompts *d);

int demo_prompts_count(const struct demo_prompts *d);
/* The i-th prompt, or NULL if i is out of range. Valid until free. */
const struct demo_prompt *demo_prompts_get(const struct demo_prompts *d, int i);
/* Number of distinct categories. */
int demo_prompts_categories(const struct demo_prompts *d);

#endif
