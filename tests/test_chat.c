/* test_chat.c - chat turns: a stop string is cut from the reply and from the
 * KV cache, and a turn continued on the trimmed cache computes exactly what
 * a fresh forward pass over the same tokens computes. Also the rendering of
 * turns and history through a template. */
#include "testlib.h"

#include "../chat.h"
#include "../errors.h"
#include "../engine.h"
#include "../generate.h"
#include "../gguf_write.h"
#include "../kernels.h"
#include "../platform_posix.h"

TEST(chat_stop_string_trims_reply_and_cache)
{
    char model[512], tok[512], err[256];
    snprintf(model, sizeof model, "%s/stories260K.bin", test_models_dir());
    snprintf(tok, sizeof tok, "%s/tok512.bin", test_models_dir());
    struct engine e;
    if (engine_load(&e, model, tok, err, sizeof err)) {
        CHECK_MSG(0, "load: %s", err);
        return;
    }
    e.sampler.temperature = 0.0f;
    /* greedy "Once upon a time, there was ..." stops at "e was", which begins
     * inside the token " there" and ends in the next one, " was" */
    static const char *const stops[] = {"e was", NULL};
    struct gen_request r1 = {"Once upon a time", 1, 0, 512, 60, stops, {1, 2}, 2, 0};
    struct generation g1, g2;
    struct test_text out1 = {.n = 0}, out2 = {.n = 0};
    CHECK_INT(gen_begin_request(&g1, &e.model, &e.state, &e.tok, &e.sampler, &r1, test_collect, &out1), 0);
    while (!g1.done)
        gen_step(&g1);
    CHECK_STR(out1.s, ", ther");                /* printed: the reply without "e was" */
    CHECK_INT(g1.reply_len, 6);
    size_t unfed_len;
    const char *unfed = gen_unfed_text(&g1, &unfed_len);
    int kv1 = gen_kv_end(&g1);
    /* the token that held "the"/"there" is dropped from the cache: its
     * text comes back as unfed */
    CHECK(kv1 == g1.n_prompt + g1.n_fed);
    /* no kept token reaches into the cut stop string; the first dropped one does */
    for (int i = 0; i < g1.n_fed; i++)
        CHECK((size_t)g1.tok_end[i] <= g1.reply_len);
    CHECK(g1.n_fed < g1.n_gen - 1);
    CHECK((size_t)g1.tok_end[g1.n_fed] > g1.reply_len);
    CHECK_INT(unfed_len, 5);                    /* " ther": the dropped token's kept text */
    CHECK(!memcmp(unfed, g1.reply + g1.reply_len - unfed_len, unfed_len));

    /* continue on the trimmed cache */
    struct gen_request r2 = {" and", 0, kv1, 512, 8, NULL, {1}, 1, 0};
    CHECK_INT(gen_begin_request(&g2, &e.model, &e.state, &e.tok, &e.sampler, &r2, test_collect, &out2), 0);
    while (!g2.done)
        gen_step(&g2);
    CHECK_INT(g2.n_gen, 8);

    /* the same tokens through a fresh cache give the same next tokens */
    int seq[600], n = 0;
    for (int i = 0; i < g1.n_prompt; i++)
        seq[n++] = g1.prompt_tokens[i];
    for (int i = 0; i < g1.n_fed; i++)
        seq[n++] = g1.gen_ids[i];
    CHECK_INT(n, kv1);
    for (int i = 0; i < g2.n_prompt; i++)
        seq[n++] = g2.prompt_tokens[i];
    struct run_state fresh;
    CHECK_INT(run_state_alloc(&fresh, &e.model.cfg), 0);
    float *logits = NULL;
    for (int pos = 0; pos < n; pos++)
        logits = transformer_forward(&e.model, &fresh, seq[pos], pos);
    for (int i = 0; i < g2.n_gen; i++) {
        int next = k_argmax(logits, e.model.cfg.vocab_size);
        CHECK_MSG(next == g2.gen_ids[i], "token %d: fresh %d, cached %d", i, next, g2.gen_ids[i]);
        logits = transformer_forward(&e.model, &fresh, next, n + i);
    }
    run_state_free(&fresh);
    gen_end(&g1);
    gen_end(&g2);
    engine_free(&e);
    CHECK_INT(plat_posix_live_bytes(), 0);
}

TEST(chat_renders_turns_and_history)
{
    struct chat c;
    CHECK_INT(chat_init(&c, template_find("qa")), 0);
    char buf[512];
    CHECK_INT(chat_render_turn(&c, "Hi?", buf, sizeof buf), (int)strlen("Q: Hi?\nA:"));
    CHECK_STR(buf, "Q: Hi?\nA:");
    CHECK_INT(chat_add_exchange(&c, "Hi?", " Hello.", 7), 0);
    chat_set_cached(&c, 12, "lo.", 3);
    /* the cache lacks "lo." and the reply's end marker: both come first */
    CHECK(chat_render_turn(&c, "More?", buf, sizeof buf) > 0);
    CHECK_STR(buf, "lo.\nQ: More?\nA:");
    CHECK(chat_render_history(&c, buf, sizeof buf) > 0);
    CHECK_STR(buf, "Q: Hi?\nA: Hello.\n");
    CHECK_INT(chat_render_turn(&c, "More?", buf, 5), ERR_RANGE);
    chat_reset(&c);
    CHECK(chat_render_turn(&c, "New", buf, sizeof buf) > 0);
    CHECK_STR(buf, "Q: New\nA:");
    chat_free(&c);
    CHECK_INT(plat_posix_live_bytes(), 0);
}

static int to_buf(void *ctx, const void *data, size_t n)
{
    struct test_text *b = ctx;
    if (b->n + n > sizeof b->s)
        return -1;
    memcpy(b->s + b->n, data, n);
    b->n += n;
    return 0;
}

/* The template comes from the model's GGUF tokenizer.chat_template unless a
 * name is given. */
TEST(chat_template_from_gguf_metadata)
{
    static const char *const jinja[] = {
        "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + "
        "'<|im_end|>' + '\\n'}}{% endfor %}",
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}"
        "{{ '[INST] ' + m['content'] + ' [/INST]' }}{% endif %}{% endfor %}",
        NULL, /* no template in the file */
    };
    static const char *const want[] = {"chatml", "mistral", "raw"};
    for (int i = 0; i < 3; i++) {
        struct gguf_writer w;
        struct test_text file = {.n = 0};
        gguf_writer_init(&w);
        gguf_w_str(&w, "general.architecture", "llama");
        if (jinja[i])
            gguf_w_str(&w, "tokenizer.chat_template", jinja[i]);
        CHECK_INT(gguf_w_write(&w, to_buf, &file), 0);
        gguf_writer_free(&w);
        struct model m;
        memset(&m, 0, sizeof m);
        char err[200];
        CHECK_INT(gguf_parse(&m.gguf, file.s, file.n, file.n, err, sizeof err), 0);
        struct chat c;
        CHECK_INT(chat_init(&c, template_find("qa")), 0);
        CHECK_INT(chat_choose_template(&c, &m, ""), 0);
        CHECK_STR(template_name(c.tpl), want[i]);
        CHECK_INT(chat_choose_template(&c, &m, "alpaca"), 0); /* a name wins */
        CHECK_STR(template_name(c.tpl), "alpaca");
        CHECK_INT(chat_choose_template(&c, &m, "nonesuch"), ERR_NOT_FOUND);
        CHECK_STR(template_name(c.tpl), "alpaca");
        chat_free(&c);
        gguf_close(&m.gguf);
    }
    CHECK_INT(plat_posix_live_bytes(), 0);
}
