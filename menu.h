/* menu.h - the model catalog of the boot volume and its menu rendering.
 * Console-neutral: prints through con_printf only. */
#ifndef MENU_H
#define MENU_H

#include <stdint.h>
#include "model.h"

#define CATALOG_MAX 64

enum catalog_kind {
    CAT_MODEL = 1,     /* a usable model file */
    CAT_BROKEN,        /* looks like a model file but fails validation */
    CAT_TOKENIZER      /* a llama2.c tokenizer */
};

struct catalog_entry {
    char path[256];           /* relative to the volume root */
    uint64_t size;
    enum catalog_kind kind;
    struct model_config cfg;  /* CAT_MODEL */
    int vocab_size;           /* CAT_TOKENIZER */
    char error[200];          /* CAT_BROKEN: the one-line reason */
    uint64_t need_bytes;      /* CAT_MODEL: weights + KV cache + buffers */
    int too_big;              /* CAT_MODEL: need_bytes > free memory */
};

struct catalog {
    struct catalog_entry e[CATALOG_MAX];
    int n;
    int n_choices;            /* models + broken: the numbered menu lines */
    uint64_t mem_free;        /* free memory when scanned */
    double bandwidth;         /* measured memory read bandwidth, bytes/s */
};

/* Scans the root and \models for *.bin and *.gguf files, classifies each
 * and checks usable models against the free memory. */
void catalog_scan(struct catalog *c);
/* The i-th numbered menu entry (0-based), or NULL. */
const struct catalog_entry *catalog_choice(const struct catalog *c, int i);
/* Index of the choice whose path equals path (or whose file name does),
 * or -1. */
int catalog_find(const struct catalog *c, const char *path);
/* First usable model's choice index, or -1. */
int catalog_first_model(const struct catalog *c);
/* Path of the tokenizer with vocab_size tokens that best fits the model
 * file (same name stem, then tok<N>.bin / tokenizer.bin, then any), or NULL. */
const char *catalog_tokenizer_for(const struct catalog *c, int vocab_size,
                                  const char *model_path);
/* Prints the menu with `sel` (choice index) marked. */
void catalog_print(const struct catalog *c, int sel);
/* Memory a model needs to run: weights, KV cache and activations. */
uint64_t model_memory_need(const struct model_config *cfg);
/* Prints every detail of a choice (GGUF: its metadata) for the `i` key. */
void catalog_print_details(const struct catalog *c, int i);
/* The one-line summary of a model config ("dim 64, 5 layers, ..."). */
void model_config_describe(const struct model_config *cfg, char *buf, size_t cap);

#endif
