/* model.h - model files -> struct model (config, typed weight views).
 *
 * Formats: llama2.c legacy (7 int32 header, fp32, optional freq_cis block),
 * llama2.c version 1 (magic "ak42", 256-byte header, fp32) and version 2
 * (the same header plus a group size; int8 weights in groups with fp32
 * scales, as llama2.c's export.py writes them) and GGUF v2/v3
 * (model_gguf.c; split files too). Loading is a job: model_load_begin
 * validates everything and allocates, then model_load_step reads one chunk
 * per call so the event loop stays responsive and can draw a progress bar. */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "gguf.h"
#include "platform.h"

enum model_format { MODEL_FMT_LEGACY = 1, MODEL_FMT_V1 = 2, MODEL_FMT_GGUF = 3, MODEL_FMT_V2 = 4 };

/* llama2.c version 2 weights: int8 values, one fp32 scale per group of
 * group_size values (not a ggml type: kept apart from their ids). */
#define TENSOR_Q8_GROUPS 0x10000
enum model_arch { ARCH_LLAMA = 1, ARCH_PHI2 = 2 };

#define MODEL_V1_MAGIC 0x616b3432u  /* "ak42" little-endian */
#define MODEL_V1_HEADER_BYTES 256
#define MODEL_LEGACY_HEADER_BYTES 28
/* Enough bytes of a file to identify and validate any llama2.c header. */
#define MODEL_PROBE_BYTES 256
/* Most rotated dimensions per head (RoPE tables live on the stack). */
#define MODEL_MAX_ROPE_DIM 512
/* Largest context the KV cache is sized for, whatever the model claims. */
#define MODEL_MAX_CONTEXT 4096

struct model_config {
    int dim;          /* transformer width */
    int hidden_dim;   /* FFN inner width */
    int n_layers;
    int n_heads;      /* query heads */
    int n_kv_heads;   /* key/value heads (GQA when < n_heads) */
    int vocab_size;
    int seq_len;      /* context the KV cache holds (<= MODEL_MAX_CONTEXT) */
    int ctx_train;    /* context length the model was trained with */
    int shared_classifier; /* output matrix is the token embedding */
    enum model_format format;
    enum model_arch arch;
    int rope_dim;     /* rotated dimensions of each head (partial rotary: < head size) */
    float rope_theta; /* RoPE frequency base */
    float norm_eps;   /* RMSNorm / LayerNorm epsilon */
    int sliding_window; /* attention window in positions (Mistral), 0 = none */
    int weight_type;  /* ggml type of most weight bytes (or TENSOR_Q8_GROUPS) */
    int group_size;   /* llama2.c version 2: values per int8 scale group */
    uint64_t n_params;
    uint64_t weight_bytes; /* bytes of all the weights (what loading them takes) */
    uint64_t token_bytes;  /* bytes of weights one token reads: all of them, but only
                              one row of the embedding table when the output matrix
                              is a separate one (model_bytes_per_token) */
    char family[40];       /* "stories15M", "TinyLlama-1.1B", ... or "" */
};

static inline int model_head_size(const struct model_config *c) { return c->dim / c->n_heads; }
static inline int model_kv_dim(const struct model_config *c)
{
    return c->dim / c->n_heads * c->n_kv_heads;
}

/* A weight matrix or vector in its file type: `rows` rows of `cols` values
 * (cols is the contiguous, input dimension; vectors have rows == 1).
 * data == NULL means the tensor is absent (optional biases). */
struct tensor {
    const void *data;
    int type;         /* enum ggml_type, or TENSOR_Q8_GROUPS */
    int rows, cols;
    const float *scales; /* TENSOR_Q8_GROUPS: one per group, row-major */
    int group;           /* TENSOR_Q8_GROUPS: values per scale */
};

struct layer_weights {
    struct tensor attn_norm, attn_norm_b; /* (dim) */
    struct tensor wq, wk, wv;             /* (dim | kv_dim, dim) */
    struct tensor bq, bk, bv;             /* (dim | kv_dim) biases, optional */
    struct tensor wqkv, bqkv;             /* fused (dim + 2*kv_dim, dim), phi2 */
    struct tensor wo, bo;                 /* (dim, dim) */
    struct tensor ffn_norm, ffn_norm_b;   /* (dim); llama only */
    struct tensor w_gate;                 /* (hidden, dim); llama: SwiGLU gate */
    struct tensor w_up, b_up;             /* (hidden, dim) */
    struct tensor w_down, b_down;         /* (dim, hidden) */
};

struct model_weights {
    struct tensor token_embd;             /* (vocab, dim) */
    struct tensor output_norm, output_norm_b; /* (dim) */
    struct tensor output, output_b;       /* (vocab, dim); == token_embd if shared */
    struct layer_weights *layers;         /* (n_layers), inside the block */
};

struct model {
    struct model_config cfg;
    struct model_weights w;
    void *block;            /* one plat_alloc'd block holding every tensor */
    size_t block_bytes;
    uint64_t file_size;     /* all parts together */
    struct gguf_file gguf;  /* GGUF metadata (tokenizer, template); zeroed otherwise */
};

/* Identifies and validates a llama2.c header. hdr holds the first hdr_len
 * bytes of a file of file_size bytes. On failure writes a one-line reason
 * naming the field, the expected and the found value into err and returns
 * ERR_FORMAT; *ret_cfg is written only on success. */
int model_probe(const void *hdr, size_t hdr_len, uint64_t file_size,
                struct model_config *ret_cfg, char *err, size_t errcap);

/* Opens path (llama2.c or GGUF, told apart by content) and validates it
 * without reading the weights. On success *ret_cfg holds the config and
 * *ret_size the file size (all parts). */
int model_probe_file(const char *path, struct model_config *ret_cfg,
                     uint64_t *ret_size, char *err, size_t errcap);

/* Bytes model_load_begin allocates for the weights of a llama2.c cfg. */
int model_weight_bytes(const struct model_config *cfg, uint64_t *ret_bytes);
/* cfg->token_bytes from cfg->weight_bytes, shared_classifier and vocab_size,
 * with emb_bytes the token embedding table's share of weight_bytes. */
uint64_t model_bytes_per_token(const struct model_config *cfg, uint64_t emb_bytes);

/* One region of a file to read into the block. */
struct load_item {
    uint32_t part;          /* file of a split GGUF; 0 otherwise */
    uint64_t offset, bytes;
    void *dst;
};

/* A load in progress. Owns the open file and the item list; model_load_step
 * releases them when the load completes or fails, model_load_abort when the
 * caller gives up. */
struct model_loader {
    struct model *m;
    char path[256];         /* llama2.c file; GGUF parts come from m->gguf */
    plat_file *file;
    uint32_t file_part;     /* part `file` belongs to */
    struct load_item *items;
    size_t items_bytes;
    int n_items;
    int cur;                /* item being read */
    uint64_t cur_done;      /* bytes of it read so far */
    uint64_t done, total;   /* progress over all items */
};

/* Validates the file and allocates the model's block (*m is filled with
 * config and views; its weights are not read yet). On error *m is zeroed,
 * nothing stays allocated and err says why. */
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

/* ---- shared by the format readers (model.c, model_gguf.c) ---- */

/* Checks the dimensions every architecture shares; one-line reason on error. */
int model_check_dims(const struct model_config *c, char *err, size_t errcap);
/* Allocates m's block: tensor_bytes for the tensors (the caller places them
 * at 64-byte aligned offsets from m->block), then the layer_weights array
 * for m->cfg.n_layers (m->w.layers). */
int model_alloc_block(struct model *m, uint64_t tensor_bytes, char *err, size_t errcap);

/* Names the model family from a GGUF general.name (may be NULL/empty) or,
 * failing that, from well-known dimensions; writes "" when unknown. */
void model_guess_family(struct model_config *c, const char *name, size_t name_len);

/* GGUF (model_gguf.c): config from the metadata of an open file. */
int model_gguf_config(const struct gguf_file *g, struct model_config *ret_cfg, char *err,
                      size_t errcap);
/* GGUF: allocates m's block, fills the views and the loader's item list. */
int model_gguf_plan(struct model *m, struct model_loader *ld, char *err, size_t errcap);

#endif
