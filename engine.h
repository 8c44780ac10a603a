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
 * tok_path leaves e->tok_path for the caller to fill before the first step.
 * On error nothing stays allocated and err holds a one-line reason. */
int engine_load_begin(struct engine *e, const char *model_path, const char *tok_path,
                      char *err, size_t errcap);
/* Loads the next chunk; *ret_done = 1 when the engine is ready. On error the
 * engine is freed and err says why. */
int engine_load_step(struct engine *e, int *ret_done, char *err, size_t errcap);
/* Whole load in one call (host tools and tests). */
int engine_load(struct engine *e, const char *model_path, const char *tok_path, char *err,
                size_t errcap);
/* Progress of the weight load in per mille. */
int engine_load_permille(const struct engine *e);
/* Returns all memory to the platform and zeroes *e. */
void engine_free(struct engine *e);

#endif
