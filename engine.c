/* engine.c - model + tokenizer + state + sampler as one loadable unit. */
#include "engine.h"
#include "errors.h"
#include "lib.h"

int engine_load_begin(struct engine *e, const char *model_path, const char *tok_path,
                      char *err, size_t errcap)
{
    memset(e, 0, sizeof *e);
    str_copy(e->model_path, sizeof e->model_path, model_path);
    str_copy(e->tok_path, sizeof e->tok_path, tok_path);
    int rc = model_load_begin(&e->loader, &e->model, model_path, err, errcap);
    if (rc == 0 && !e->tok_path[0] && engine_model_has_vocab(e))
        engine_pick_tokenizer(e, ENGINE_MODEL_VOCAB);
    return rc;
}

/* Runs once the weights are in: tokenizer, buffers, sampler. */
static int finish_load(struct engine *e, char *err, size_t errcap)
{
    int rc = engine_uses_model_vocab(e) ? tokenizer_init_gguf(&e->tok, &e->model.gguf, err, errcap)
                                        : tokenizer_load(&e->tok, e->tok_path, err, errcap);
    if (rc)
        return rc;
    if (tokenizer_vocab_size(&e->tok) != e->model.cfg.vocab_size) {
        fmt_snprintf(err, errcap, "tokenizer %s has %d tokens, the model needs %d",
                     e->tok_path, tokenizer_vocab_size(&e->tok), e->model.cfg.vocab_size);
        return ERR_FORMAT;
    }
    if ((rc = run_state_alloc(&e->state, &e->model.cfg)) != 0 ||
        (rc = sampler_init(&e->sampler, e->model.cfg.vocab_size, 1.0f, 0.9f, 1)) != 0) {
        fmt_snprintf(err, errcap, "out of memory for the KV cache and buffers");
        return rc;
    }
    e->ready = 1;
    return 0;
}

int engine_uses_model_vocab(const struct engine *e)
{
    return !strcmp(e->tok_path, ENGINE_MODEL_VOCAB);
}

void engine_pick_tokenizer(struct engine *e, const char *tok_path)
{
    str_copy(e->tok_path, sizeof e->tok_path, tok_path);
}

int engine_model_has_vocab(const struct engine *e)
{
    return gguf_find(&e->model.gguf, "tokenizer.ggml.model") != NULL;
}

int engine_load_step(struct engine *e, int *ret_done, char *err, size_t errcap)
{
    int done = 0;
    int rc = model_load_step(&e->loader, &done, err, errcap);
    if (rc == 0 && done)
        rc = finish_load(e, err, errcap);
    if (rc) {
        engine_free(e);
        return rc;
    }
    *ret_done = done;
    return 0;
}

int engine_load(struct engine *e, const char *model_path, const char *tok_path, char *err,
                size_t errcap)
{
    int rc = engine_load_begin(e, model_path, tok_path, err, errcap), done = 0;
    while (rc == 0 && !done)
        rc = engine_load_step(e, &done, err, errcap);
    return rc;
}

int engine_load_permille(const struct engine *e)
{
    if (e->loader.total == 0)
        return 1000;
    return (int)(e->loader.done * 1000 / e->loader.total);
}

void engine_free(struct engine *e)
{
    model_load_abort(&e->loader);
    sampler_free(&e->sampler);
    run_state_free(&e->state);
    tokenizer_free(&e->tok);
    model_free(&e->model);
    memset(e, 0, sizeof *e);
}
