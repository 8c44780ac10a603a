/* demo.c - kiosk demo prompts: the built-in set and prompts.txt (demo.h). */
#include <stddef.h>
#include <stdint.h>

#include "demo.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"

/* ---- built-in prompts ----------------------------------------------------
 * Openings in the style of TinyStories (simple words, children's stories),
 * so a small model continues them well. Each category array entry shares the
 * category pointer, which is what demo_prompt.category promises. */
static const char cat_stories[] = "Stories";
static const char cat_animals[] = "Animals";
static const char cat_friends[] = "Friends & Family";
static const char cat_adventure[] = "Adventure";
static const char cat_magic[] = "Magic";
static const char cat_nature[] = "Nature";
static const char cat_general[] = "General";

static const struct demo_prompt builtin[] = {
    {cat_stories, "Once upon a time"},
    {cat_stories, "Once upon a time, in a small town,"},
    {cat_stories, "One day, a little girl named Lily"},
    {cat_stories, "There was once a boy named Tim who"},
    {cat_stories, "Long ago, in a faraway land,"},
    {cat_stories, "Every morning, Sam woke up early to"},
    {cat_stories, "It was a sunny day and"},

    {cat_animals, "The little dog"},
    {cat_animals, "A big brown bear lived in the woods. One day,"},
    {cat_animals, "The cat sat by the window and"},
    {cat_animals, "Once there was a tiny bird who wanted to fly"},
    {cat_animals, "The fish in the pond"},
    {cat_animals, "A fluffy bunny hopped into the garden"},
    {cat_animals, "The old owl looked down from the tree and said,"},

    {cat_friends, "Mom and Dad took Ben to the park"},
    {cat_friends, "Anna had a best friend named Max."},
    {cat_friends, "Grandma baked a big cake for"},
    {cat_friends, "Tom and his sister Sue wanted to build"},
    {cat_friends, "At school, Mia met a new friend"},
    {cat_friends, "Dad said, \"Let's go fishing today!\""},
    {cat_friends, "The two friends did not want to share their toys."},

    {cat_adventure, "Max found an old map under his bed."},
    {cat_adventure, "The little boat sailed across the sea"},
    {cat_adventure, "Sara climbed to the top of the hill and saw"},
    {cat_adventure, "Deep in the forest, there was a secret cave."},
    {cat_adventure, "The red train went up the big mountain"},
    {cat_adventure, "Jack wanted to fly to the moon in a rocket."},
    {cat_adventure, "One night, a bright star fell from the sky"},

    {cat_magic, "The princess had a magic wand"},
    {cat_magic, "A friendly dragon lived in a castle"},
    {cat_magic, "The wizard waved his hand and"},
    {cat_magic, "Lily found a shiny key that could open"},
    {cat_magic, "There was a talking tree in the park."},
    {cat_magic, "One night, the toy robot came to life"},
    {cat_magic, "Once upon a time, a fairy lost her wings."},

    {cat_nature, "The sun was shining and the flowers"},
    {cat_nature, "It started to rain, so"},
    {cat_nature, "In the winter, the snow was soft and white."},
    {cat_nature, "The big tree in the garden"},
    {cat_nature, "A little seed was planted in the ground."},
    {cat_nature, "The wind blew the leaves"},
};
_Static_assert(sizeof(builtin) / sizeof(builtin[0]) == 41, "41 built-in prompts");
#define BUILTIN_CATEGORIES 6

void demo_prompts_builtin(struct demo_prompts *d)
{
    memset(d, 0, sizeof(*d));
    d->items = builtin;
    d->count = (int)ARRAY_LEN(builtin);
    d->n_categories = BUILTIN_CATEGORIES;
}

/* ---- prompts.txt --------------------------------------------------------- */

static int span_eq_ci(const char *name, const char *s, size_t n)
{
    size_t i = 0;
    for (; i < n && name[i]; i++) {
        char a = name[i], b = s[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return i == n && name[i] == 0;
}

struct cat {
    const char *name;
    int used;
};

/* One walk over the lines serves both passes: with fill == 0 it only sizes
 * the block (upper bounds), with fill == 1 it copies into it. */
struct build {
    int fill;
    uint64_t n_prompts, n_cat_lines, bytes; /* sizing pass */
    struct demo_prompt *items;              /* fill pass */
    struct cat *cats;
    char *chars;
    size_t n_cats, cur;
    int count, n_categories, skipped, first_skipped;
};

static void skip_line(struct build *b, int line)
{
    if (!b->fill)
        return;
    if (b->skipped++ == 0)
        b->first_skipped = line;
}

static const char *store(struct build *b, const char *s, size_t n)
{
    char *p = b->chars;
    memcpy(p, s, n);
    p[n] = 0;
    b->chars += n + 1;
    return p;
}

static void category_line(struct build *b, int line, const char *s, size_t n)
{
    s++, n--; /* the '#' */
    span_trim(&s, &n);
    if (n == 0)
        return;
    if (!utf8_is_text(s, n)) {
        skip_line(b, line);
        return;
    }
    if (n >= DEMO_CATEGORY_MAX) {
        n = DEMO_CATEGORY_MAX - 1;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] is the first byte cut: back to a character start */
        span_trim(&s, &n);
    }
    if (!b->fill) {
        b->n_cat_lines++;
        b->bytes += n + 1;
        return;
    }
    for (size_t j = 0; j < b->n_cats; j++) {
        if (span_eq_ci(b->cats[j].name, s, n)) {
            b->cur = j;
            return;
        }
    }
    b->cats[b->n_cats].name = store(b, s, n);
    b->cur = b->n_cats++;
}

static void prompt_line(struct build *b, int line, const char *s, size_t n)
{
    if (n >= DEMO_PROMPT_MAX || !utf8_is_text(s, n)) {
        skip_line(b, line);
        return;
    }
    if (!b->fill) {
        b->n_prompts++;
        b->bytes += n + 1;
        return;
    }
    struct cat *c = &b->cats[b->cur];
    b->items[b->count].category = c->name;
    b->items[b->count].text = store(b, s, n);
    b->count++;
    if (!c->used) {
        c->used = 1;
        b->n_categories++;
    }
}

static void walk(struct build *b, const char *text, size_t len)
{
    struct line_reader lr;
    const char *s;
    size_t n;
    line_reader_init(&lr, text, len);
    while (line_reader_next(&lr, &s, &n)) {
        int line = lr.line;
        span_trim(&s, &n); /* also drops the '\r' of CRLF */
        if (n > 0) {
            if (s[0] == '#')
                category_line(b, line, s, n);
            else
                prompt_line(b, line, s, n);
        }
    }
}

int demo_prompts_parse(struct demo_prompts *d, const char *text, size_t len)
{
    struct build b;
    uint64_t items_sz, cats_sz, total;

    memset(&b, 0, sizeof(b));
    walk(&b, text, len);
    if (b.n_prompts == 0)
        return ERR_FORMAT;
    if (b.n_prompts > INT32_MAX)
        return ERR_RANGE;
    if (size_mul(b.n_prompts, sizeof(struct demo_prompt), &items_sz) ||
        size_mul(b.n_cat_lines + 1, sizeof(struct cat), &cats_sz) ||
        size_add(items_sz, cats_sz, &total) || size_add(total, b.bytes, &total) ||
        total > SIZE_MAX)
        return ERR_RANGE;

    void *block = plat_alloc((size_t)total);
    if (!block)
        return ERR_NOMEM;
    /* Layout: items, then categories, then the strings (all pointer-aligned
     * because the two arrays have pointer-sized elements). */
    b.fill = 1;
    b.items = block;
    b.cats = (struct cat *)((char *)block + items_sz);
    b.chars = (char *)block + items_sz + cats_sz;
    b.cats[0].name = cat_general;
    b.n_cats = 1;
    walk(&b, text, len);

    memset(d, 0, sizeof(*d));
    d->items = b.items;
    d->count = b.count;
    d->n_categories = b.n_categories;
    d->skipped = b.skipped;
    d->first_skipped = b.first_skipped;
    d->block = block;
    d->block_size = (size_t)total;
    return 0;
}

int demo_prompts_load(struct demo_prompts *d, const char *path)
{
    plat_file *f = NULL;
    uint64_t size = 0;
    char *buf = NULL;
    size_t total = 0;
    int rc;

    if ((rc = plat_file_open(path, &f)) != 0)
        return rc;
    if ((rc = plat_file_size(f, &size)) != 0)
        goto err_size;
    if (size > DEMO_FILE_MAX) {
        rc = ERR_RANGE;
        goto err_size;
    }
    if (size == 0) {
        rc = ERR_FORMAT; /* empty file: the built-ins */
        goto err_size;
    }
    if (!(buf = plat_alloc((size_t)size))) {
        rc = ERR_NOMEM;
        goto err_size;
    }
    while (total < size) {
        size_t got = 0;
        if ((rc = plat_file_read(f, buf + total, (size_t)size - total, &got)) != 0)
            goto err_read;
        if (got == 0)
            break;
        total += got;
    }
    rc = demo_prompts_parse(d, buf, total);

err_read:
    plat_free(buf, (size_t)size);
err_size:
    plat_file_close(f);
    return rc;
}

void demo_prompts_free(struct demo_prompts *d)
{
    if (d->block)
        plat_free(d->block, d->block_size);
    memset(d, 0, sizeof(*d));
}

int demo_prompts_count(const struct demo_prompts *d)
{
    return d->count;
}

const struct demo_prompt *demo_prompts_get(const struct demo_prompts *d, int i)
{
    return i >= 0 && i < d->count ? &d->items[i] : NULL;
}

int demo_prompts_categories(const struct demo_prompts *d)
{
    return d->n_categories;
}
