/* model.h - model files -> struct model (config, weight views).
 *
 * Formats: llama2.c legacy (7 int32 header, fp32, optional freq_cis block)
 * and llama2.c version 1 (magic "ak42", 256-byte header, fp32).
 * Loading is a job: model_load_begin validates the header against the file
 * size and allocates, then model_load_step reads one chunk per call so the
 * event loop stays responsive and can draw a progress bar. */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "platform.h"

enum model_format { MODEL_FMT_LEGACY = 1, MODEL_FMT_V1 = 2 };

#define MODEL_V1_MAGIC 0x616b3432u  /* "ak42" little-endian */
#define MODEL_V1_HEADER_BYTES 256
#define MODEL_LEGACY_HEADER_BYTES 28
/* Enough bytes of a file to identify and validate any supported header. */
#define MODEL_PROBE_BYTES 256

struct model_config {
    int dim;          /* transformer width */
    int hidden_dim;   /* FFN inner width */
    int n_layers;
    int n_heads;      /* query heads */
    int n_kv_heads;   /* key/value heads (GQA when < n_heads) */
    int vocab_size;
    int seq_len;      /* context length */
    int shared_classifier; /* output matrix is the token embedding */
    enum model_format format;
};

static inline int model_head_size(const struct model_config *c) { return c->dim / c->n_heads; }
static inline int model_kv_dim(const struct model_config *c)
{
    return c->dim / c->n_heads * c->n_kv_heads;
}

/* Weight views into struct model's block. Shapes are (rows, cols) row-major;
 * per-layer tensors are stacked on a leading layer axis. */
struct model_weights {
    float *token_embedding; /* (vocab_size, dim) */
    float *rms_att;         /* (layer, dim) */
    float *wq;              /* (layer, dim, dim): n_heads*head_size rows */
    float *wk;              /* (layer, kv_dim, dim) */
    float *wv;              /* (layer, kv_dim, dim) */
    float *wo;              /* (layer, dim, dim) */
    float *rms_ffn;         /* (layer, dim) */
    float *w1;              /* (layer, hidden_dim, dim) gate */
    float *w2;              /* (layer, dim, hidden_dim) down */
    float *w3;              /* (layer, hidden_dim, dim) up */
    float *rms_final;       /* (dim) */
    float *wcls;            /* (vocab_size, dim); == token_embedding if shared */
};

struct model {
    struct model_config cfg;
    struct model_weights w;
    void *block;            /* one plat_alloc'd block holding every tensor */
    size_t block_bytes;
    uint64_t file_size;
};

/* Identifies and validates a header. hdr holds the first hdr_len bytes of a
 * file of file_size bytes. On failure writes a one-line reason naming the
 * field, the expected and the found value into err and returns ERR_FORMAT;
 * *ret_cfg is written only on success. */
int model_probe(const void *hdr, size_t hdr_len, uint64_t file_size,
                struct model_config *ret_cfg, char *err, size_t errcap);

/* Opens path, reads and validates the header (model_probe). On success
 * *ret_cfg holds the config and *ret_size the file size. */
int model_probe_file(const char *path, struct model_config *ret_cfg,
                     uint64_t *ret_size, char *err, size_t errcap);

/* Bytes model_load_begin allocates for the weights of cfg (with alignment). */
int model_weight_bytes(const struct model_config *cfg, uint64_t *ret_bytes);

#define MODEL_MAX_TENSORS 12

/* A load in progress. Owns the open file; model_load_step closes it when the
 * load completes or fails, model_load_abort when the caller gives up. */
struct model_loader {
    plat_file *file;
    struct model *m;
    struct {
        uint64_t file_offset;
        uint64_t bytes;
        float *dst;
    } tensors[MODEL_MAX_TENSORS];
    int n_tensors;
    int cur;                /* tensor being read */
    uint64_t cur_done;      /* bytes of it read so far */
    uint64_t done, total;   /* progress over all tensors */
};

/* Validates the file and allocates the model's block (*m is filled with
 * config and views; its weights are not read yet). On error *m is untouched
 * except for zeroing, nothing stays allocated and err says why. */
int model_load_begin(struct model_loader *ld, struct model *m, const char *path,
                     char *err, size_t errcap);
/* Reads the next chunk (at most MODEL_LOAD_CHUNK bytes). *ret_done becomes 1
 * when every tensor is in memory. On error the model is freed. */
#define MODEL_LOAD_CHUNK (4u << 20)
int model_load_step(struct model_loader *ld, int *ret_done, char *err, size_t errcap);
void model_load_abort(struct model_loader *ld);

/* Loads a whole model at once (begin + steps); for tools and tests. */
int model_load(struct model *m, const char *path, char *err, size_t errcap);
/* Returns the model's memory to the platform and zeroes *m. */
void model_free(struct model *m);

#endif
