/* engine.h - a loaded model with everything it needs to generate: weights,
 * tokenizer, activations/KV cache and sampler. Loading is incremental
 * (engine_load_step) so the event loop can draw progress and stay live. */
#ifndef ENGINE_H
#define ENGINE_H

#include "model.h"
#include "sampler.h"
#include "tokenizer.h"
#include "transformer.h"

struct engine {
    struct model model;
    struct tokenizer tok;
    struct run_state state;
    struct sampler sampler;
    struct model_loader loader;
    char model_path[256];
    char tok_path[256];
    int ready;   /* everything loaded */
};

/* Starts loading model_path (validating it: e->model.cfg is set on return)
 * and remembers tok_path, which is loaded when the weights are in; an empty
 * tok_path means the model's own vocabulary when it has one, else the
 * caller fills it (engine_pick_tokenizer) before the first step.
 * On error nothing stays allocated and err holds a one-line reason. */
int engine_load_begin(struct engine *e, const char *model_path, const char *tok_path,
                      char *err, size_t errcap);
/* Loads the next chunk; *ret_done = 1 when the engine is ready. On error the
 * engine is freed and err says why. */
int engine_load_step(struct engine *e, int *ret_done, char *err, size_t errcap);
/* tok_path value meaning "the vocabulary inside the GGUF model file". */
#define ENGINE_MODEL_VOCAB "(model)"
/* 1 if the model file carries its own vocabulary (GGUF tokenizer.ggml.*). */
int engine_model_has_vocab(const struct engine *e);
/* Sets the tokenizer to load once the weights are in (a path, or
 * ENGINE_MODEL_VOCAB); call between engine_load_begin and the first step. */
void engine_pick_tokenizer(struct engine *e, const char *tok_path);
int engine_uses_model_vocab(const struct engine *e);
/* Whole load in one call (host tools and tests). */
int engine_load(struct engine *e, const char *model_path, const char *tok_path, char *err,
                size_t errcap);
/* Progress of the weight load in per mille. */
int engine_load_permille(const struct engine *e);
/* Returns all memory to the platform and zeroes *e. */
void engine_free(struct engine *e);

#endif
