/* app.c - the console application: one cooperative event loop that polls the
 * keyboard, runs the kiosk timer and advances the current job (a model load
 * chunk or one generated token) by one step. Modes:
 *   MENU        numbered model list; idle for cfg.autodemo seconds -> demo
 *   LOADING     model weights arrive chunk by chunk (progress bar)
 *   REPL        line editor; a line is a prompt or a /command
 *   GENERATING  one token per loop turn; Esc stops (any key in the demo)
 *   DEMO_PAUSE  kiosk pause between two demo prompts
 *   CLIENT      a remote answer or a download runs (client.c); Esc stops it
 * Keys typed while loading or generating are queued for the next input mode. */
#include "app.h"
#include "api.h"
#include "netsvc.h"
#include "bench.h"
#include "simd.h"
#include "chat.h"
#include "client.h"
#include "config.h"
#include "demo.h"
#include "engine.h"
#include "errors.h"
#include "generate.h"
#include "lib.h"
#include "menu.h"
#include "platform.h"
#include "quant.h"
#include "session.h"
#include "storage.h"

enum mode { M_MENU, M_LOADING, M_REPL, M_GENERATING, M_DEMO_PAUSE, M_CLIENT };
enum after_load { AFTER_REPL, AFTER_DEMO, AFTER_ONESHOT };

#define APP_VERSION "llm-baremetal 0.6"
#define TURN_BYTES (CHAT_ARENA_BYTES + 16 * 1024) /* rendered history + one turn */

#define LINE_CAP 1024
#define KEYQ_MAX 256
#define PROGRESS_CELLS 30

static struct app {
    struct config cfg;
    struct catalog cat;
    struct engine eng;
    struct generation gen;
    struct demo_prompts prompts;
    enum mode mode;
    enum after_load after;
    int demo;                  /* the kiosk demo is running */
    int demo_next;             /* index of the next demo prompt */
    uint64_t deadline_us;      /* menu idle limit or demo pause end */
    int sel;                   /* highlighted menu choice */
    char line[LINE_CAP];       /* line editor contents (UTF-8) */
    size_t line_len;
    int progress_cells;        /* progress bar cells drawn so far */
    int keyq[KEYQ_MAX];
    int keyq_head, keyq_len;
    int input_closed;          /* host: stdin reached its end */
    struct chat chat;          /* the conversation; survives /model */
    char *turn_text;           /* (TURN_BYTES) rendered text of the current turn */
    char user[LINE_CAP];       /* the user message being answered */
    int chatting;              /* the running generation is a chat reply */
    struct session sess;       /* the conversation on the volume; number 0 = none */
    int sess_off;              /* a write failed: no session files this boot */
    struct api api;            /* the HTTP API (served while net.running) */
    struct netsvc net;
    struct client client;      /* /remote and /download (client.h) */
} A;

static void out_text(const char *s, size_t n, void *ctx)
{
    (void)ctx;
    plat_write(s, n);
}

static void warn_line(const char *msg, void *ctx)
{
    (void)ctx;
    diag_printf("warning: %s\n", msg);
}

static int oneshot(void)
{
    return A.after == AFTER_ONESHOT;
}

/* ---- menu ------------------------------------------------------------------ */

static void menu_prompt(void)
{
    if (A.cat.n_choices == 0) {
        con_printf("\nNo model found. Copy a llama2.c model and its tokenizer (for example "
                   "stories260K.bin and tok512.bin) to the root of this volume or to "
                   "\\models, then press Enter to look again.\n");
        return;
    }
    con_printf("\nChoose a model: number and Enter, or arrows and Enter; i shows details.");
    if (A.cfg.autodemo > 0 && catalog_first_model(&A.cat) >= 0)
        con_printf(" The demo starts after %d s without a key.", A.cfg.autodemo);
    con_printf("\nmodel> ");
}

static void enter_menu(void)
{
    engine_free(&A.eng);
    A.demo = 0;
    A.mode = M_MENU;
    A.line_len = 0;
    catalog_scan(&A.cat);
    if (A.sel >= A.cat.n_choices)
        A.sel = 0;
    catalog_print(&A.cat, A.sel);
    menu_prompt();
    A.deadline_us = plat_time_us() + (uint64_t)A.cfg.autodemo * 1000000u;
}

/* Path of the model the demo and the one-shot prompt use. */
static const char *default_model(void)
{
    if (A.cfg.model[0])
        return A.cfg.model;
    int i = catalog_first_model(&A.cat);
    return i < 0 ? NULL : catalog_choice(&A.cat, i)->path;
}

/* ---- loading ---------------------------------------------------------------- */

static void load_failed(const char *path, const char *why)
{
    diag_printf("\nCannot load %s: %s\n", path ? path : "a model", why);
    if (oneshot() && A.cfg.shutdown)
        plat_shutdown(1);
    if (oneshot())
        A.after = AFTER_REPL;
    enter_menu();
}

static void start_load(const char *path, enum after_load after)
{
    char err[256];
    A.after = after;
    if (!path) {
        load_failed(NULL, "there is no usable model on this volume");
        return;
    }
    if (engine_load_begin(&A.eng, path, A.cfg.tokenizer, err, sizeof err)) {
        load_failed(path, err);
        return;
    }
    if (!A.eng.tok_path[0]) { /* none configured: the one whose vocabulary fits */
        int vocab = A.eng.model.cfg.vocab_size;
        const char *tok = catalog_tokenizer_for(&A.cat, vocab, path);
        if (!tok) {
            engine_free(&A.eng);
            fmt_snprintf(err, sizeof err, "no tokenizer with %d tokens on the volume "
                         "(copy one next to the model, e.g. tok512.bin for stories260K)",
                         vocab);
            load_failed(path, err);
            return;
        }
        engine_pick_tokenizer(&A.eng, tok);
    }
    A.mode = M_LOADING;
    A.progress_cells = -1;
}

static void draw_progress(void)
{
    int cells = engine_load_permille(&A.eng) * PROGRESS_CELLS / 1000;
    if (cells == A.progress_cells)
        return;
    A.progress_cells = cells;
    char bar[PROGRESS_CELLS + 1];
    for (int i = 0; i < PROGRESS_CELLS; i++)
        bar[i] = i < cells ? '#' : '.';
    bar[PROGRESS_CELLS] = 0;
    diag_printf("\rLoading %s [%s] %3d%%", A.eng.model_path, bar,
                engine_load_permille(&A.eng) / 10);
}

static void reseed(void)
{
    /* seed 0 means "different every run", as in the reference */
    A.eng.sampler.rng_state = A.cfg.seed ? A.cfg.seed : (plat_time_us() | 1);
}

static void start_generation(const char *prompt);
static void start_demo_prompt(void);
static void begin_session(void);

static void repl_prompt(void)
{
    A.line_len = 0;
    con_printf("> ");
}

static void load_done(void)
{
    char desc[160];
    model_config_describe(&A.eng.model.cfg, desc, sizeof desc);
    diag_printf("\nLoaded %s (%s) with tokenizer %s.\n", A.eng.model_path, desc,
                engine_uses_model_vocab(&A.eng) ? "from the model file" : A.eng.tok_path);
    reseed();
    if (chat_choose_template(&A.chat, &A.eng.model, A.cfg.template_name))
        diag_printf("warning: template '%s' is unknown; /template lists them\n",
                    A.cfg.template_name);
    if (!chat_is_raw(&A.chat))
        diag_printf("Chat template: %s (%s).\n", template_name(A.chat.tpl),
                    A.chat.tpl->description);
    switch (A.after) {
    case AFTER_ONESHOT:
        start_generation(A.cfg.prompt);
        break;
    case AFTER_DEMO:
        start_demo_prompt();
        break;
    case AFTER_REPL:
        begin_session();
        con_printf("Type a prompt and press Enter (Esc stops a generation); /help lists "
                   "the commands.\n");
        A.mode = M_REPL;
        repl_prompt();
        break;
    }
}

/* ---- sessions on the volume (session.h) ------------------------------------------
 * Interactive use only: the demo and the one-shot prompt leave no files. A
 * full or write-protected volume gives one warning; chatting goes on. */

static void session_failed(int rc)
{
    if (!A.sess_off)
        diag_printf("warning: sessions are not saved (%s)\n", err_str(rc));
    A.sess_off = 1;
    A.sess.number = 0;
}

/* The session ends: its replies get their output files (session.h says why
 * not per turn). */
static void end_session(void)
{
    int rc;
    if (A.sess.number && A.sess.meta.turns &&
        (rc = session_write_outputs(A.sess.number, &A.sess.outputs)) != 0)
        session_failed(rc);
}

static void begin_session(void)
{
    const struct model_config *c = &A.eng.model.cfg;
    struct session_settings set = {
        .model_file = path_base(A.eng.model_path),
        .family = c->family[0] ? c->family : c->arch == ARCH_PHI2 ? "phi2" : "llama",
        .quantization = c->weight_type == TENSOR_Q8_GROUPS ? "int8 groups" : qtype_name(c->weight_type),
        .template_name = template_name(A.chat.tpl),
        .app_version = APP_VERSION,
        .temperature = A.cfg.temperature,
        .topp = A.cfg.topp,
        .seed = A.cfg.seed,
    };
    int rc;
    end_session();
    A.sess.number = 0;
    if (!A.sess_off && (rc = session_start(&A.sess, &set, warn_line, NULL)) != 0)
        session_failed(rc);
}

/* The finished generation: the prompt, the reply and its output file. */
static void record_turn(void)
{
    const char *user = A.user;
    int rc;
    if (!A.sess.number)
        return;
    if ((rc = session_add_turn(&A.sess, "user", user, strlen(user), A.gen.n_prompt, 0)) ||
        (rc = session_add_turn(&A.sess, "assistant", A.gen.reply, A.gen.reply_len, A.gen.n_gen,
                               gen_tokens_per_s(&A.gen))))
        session_failed(rc);
}

/* /export FORMAT [N] (N: this session); all four formats when f < 0. */
static void export_session(int f, int number, int verbose)
{
    char path[STORAGE_PATH_MAX];
    int compress = !str_casecmp(A.cfg.compress, "lz4");
    for (int i = f < 0 ? 0 : f; i < (f < 0 ? EXPORT_FORMATS : f + 1); i++) {
        int rc = session_export(number, (enum export_format)i, compress, path, sizeof path,
                                verbose ? warn_line : NULL, NULL);
        if (rc == ERR_WRITE_PROTECTED || rc == ERR_VOLUME_FULL) {
            session_failed(rc);
            return;
        }
        if (verbose && rc == ERR_NOT_FOUND)
            con_printf("There is no session %d; /sessions lists them.\n", number);
        if (verbose && rc == ERR_NOT_FOUND)
            return;
        if (verbose && rc)
            con_printf("Cannot export session %d: %s\n", number, err_str(rc));
        else if (verbose)
            con_printf("Exported to %s\n", path);
    }
}

static void export_command(char *arg)
{
    char *num = arg;
    enum export_format f;
    long n = A.sess.number;
    while (*num && *num != ' ')
        num++;
    if (*num)
        *num++ = 0;
    if (export_format_from_name(arg, &f) || (*num && (parse_long(num, &n) || n < 1)) || n < 1) {
        con_printf("/export txt|json|md|csv [N]: session N (default: this one, %d)\n",
                   A.sess.number);
        return;
    }
    export_session((int)f, (int)n, 1);
}

static void list_sessions(void)
{
    struct textbuf b;
    tb_init_grow(&b);
    int rc = session_list(&b);
    if (rc == ERR_NOT_FOUND || rc == 0)
        con_printf("No sessions on this volume yet.\n");
    else if (rc < 0)
        con_printf("Cannot list the sessions: %s\n", err_str(rc));
    else
        con_printf("   N  created           model                 turns    first prompt\n%s",
                   b.p);
    tb_free(&b);
}

/* The turns of a resumed conversation, as the REPL showed them. */
static void show_turn(const char *role, const char *text, void *ctx)
{
    (void)ctx;
    if (!strcmp(role, "user"))
        con_printf("> %s\n", text);
    else
        con_printf("%s\n", text);
}

/* /resume N: session N's conversation continues here with this model. It
 * goes on in a new session (N stays the record of what was said with the
 * model it names) that starts with N's turns. The KV cache comes from N's
 * kv.bin when it matches; otherwise the next turn prefills the history in
 * the current template, exactly as after /model. */
static void resume_command(const char *arg)
{
    long n;
    int from_kv, rc;
    if (parse_long(arg, &n) || n < 1 || n > 999999) {
        con_printf("/resume N continues session N; /sessions lists them.\n");
        return;
    }
    if (chat_is_raw(&A.chat)) {
        con_printf("This model has no chat template; /template picks one, then /resume.\n");
        return;
    }
    rc = session_resume((int)n, &A.chat, &A.eng, A.turn_text, TURN_BYTES, show_turn, NULL,
                        warn_line, NULL, &from_kv);
    if (rc == ERR_NOT_FOUND) {
        con_printf("There is no session %ld; /sessions lists them.\n", n);
    } else if (rc == ERR_RANGE) {
        con_printf("Session %ld is too long to resume; a new conversation starts.\n", n);
    } else if (rc < 0) {
        con_printf("Cannot resume session %ld: %s\n", n, err_str(rc));
    } else {
        if (!A.sess.number || A.sess.meta.turns) /* the empty one of this load serves */
            begin_session();
        if (A.sess.number && (rc = session_add_chat_turns(&A.sess, &A.chat)) != 0)
            session_failed(rc);
        con_printf("Resumed session %ld: %d exchanges, %s.\n", n, A.chat.n_turns,
                   from_kv ? "KV cache from kv.bin" : "prefilled with the next prompt");
        if (A.sess.number)
            con_printf("It continues as session %d.\n", A.sess.number);
    }
}

/* /save: the KV cache of this conversation goes to the session's kv.bin. */
static void save_command(void)
{
    int compress = !str_casecmp(A.cfg.compress, "lz4");
    int rc = A.sess.number ? session_save_chat_kv(A.sess.number, &A.chat, &A.eng, compress,
                                                  A.turn_text, TURN_BYTES)
                           : ERR_NOT_FOUND;
    if (rc == ERR_NOT_FOUND)
        con_printf("There is no session to save to (sessions are off).\n");
    else if (rc == ERR_INVAL)
        con_printf("Nothing to save: the cache does not hold the conversation yet (after "
                   "the next reply it will).\n");
    else if (rc == ERR_WRITE_PROTECTED || rc == ERR_VOLUME_FULL)
        session_failed(rc);
    else if (rc)
        con_printf("Cannot save the KV cache: %s\n", err_str(rc));
    else
        con_printf("Saved the KV cache (%d positions) to session %d.\n", A.chat.kv_pos,
                   A.sess.number);
}

/* ---- generation -------------------------------------------------------------- */

/* A completion that cannot start; a one-shot prompt (-i) ends there, with
 * a failure status, as a model that cannot load does. */
static void prompt_failed(int rc)
{
    if (rc == ERR_RANGE)
        diag_printf("The prompt leaves no room for a reply: prompt and reply share %d "
                    "positions (steps, -n on the host; the context holds %d). Raise steps "
                    "or shorten the prompt.\n",
                    gen_steps_limit(&A.eng.model, A.cfg.steps), A.eng.model.cfg.seq_len);
    else
        diag_printf("Cannot start the prompt: %s\n", err_str(rc));
    if (oneshot() && A.cfg.shutdown)
        plat_shutdown(1);
    if (oneshot())
        A.after = AFTER_REPL;
    A.mode = M_REPL;
    repl_prompt();
}

static void start_generation(const char *prompt)
{
    A.eng.sampler.temperature = A.cfg.temperature;
    A.eng.sampler.topp = A.cfg.topp;
    str_copy(A.user, sizeof A.user, prompt);
    int rc = gen_begin(&A.gen, &A.eng.model, &A.eng.state, &A.eng.tok, &A.eng.sampler, prompt,
                       A.cfg.steps, out_text, NULL);
    if (rc) {
        prompt_failed(rc);
        return;
    }
    A.mode = M_GENERATING;
}

/* A chat turn: the model answers `user` with the conversation so far. */
static void start_chat_reply(const char *user)
{
    A.eng.sampler.temperature = A.cfg.temperature;
    A.eng.sampler.topp = A.cfg.topp;
    str_copy(A.user, sizeof A.user, user);
    int rc = chat_begin_reply(&A.chat, &A.eng, user, A.cfg.steps, A.turn_text, TURN_BYTES,
                              &A.gen, out_text, NULL);
    if (rc == ERR_RANGE) {
        con_printf("The conversation no longer fits in the context of %d positions; /new "
                   "starts a new one.\n", A.eng.model.cfg.seq_len);
    } else if (rc) {
        con_printf("Cannot start the reply: %s\n", err_str(rc));
    } else {
        A.chatting = 1;
        A.mode = M_GENERATING;
        return;
    }
    repl_prompt();
}

static void finish_generation(void)
{
    int tokens = A.chatting ? A.gen.n_gen : A.gen.pos;
    double tps = gen_tokens_per_s(&A.gen);
    if (!A.demo && !oneshot())
        record_turn();
    if (A.chatting && chat_end_reply(&A.chat, &A.gen, A.user))
        con_printf("\n(the transcript is full: a new conversation starts)");
    A.chatting = 0;
    gen_end(&A.gen);
    con_printf("\n");
    if (oneshot())
        diag_printf("achieved tok/s: %.2f (%d tokens)\n", tps, tokens);
    else
        con_printf("[%d tokens, %.2f tok/s]\n", tokens, tps);
    if (A.demo) {
        A.mode = M_DEMO_PAUSE;
        A.deadline_us = plat_time_us() + (uint64_t)A.cfg.demo_delay * 1000000u;
        return;
    }
    if (oneshot()) {
        if (A.cfg.shutdown)
            plat_shutdown(0);
        A.after = AFTER_REPL;
        con_printf("Type a prompt and press Enter; /help lists the commands.\n");
    }
    A.mode = M_REPL;
    repl_prompt();
}

/* ---- kiosk demo ------------------------------------------------------------------ */

static void start_demo(void)
{
    con_printf("\n\nAuto-demo: %d prompts in %d categories; press any key for the menu.\n",
               demo_prompts_count(&A.prompts), demo_prompts_categories(&A.prompts));
    A.demo = 1;
    A.demo_next = 0;
    start_load(default_model(), AFTER_DEMO);
}

static void start_demo_prompt(void)
{
    int n = demo_prompts_count(&A.prompts);
    const struct demo_prompt *p = demo_prompts_get(&A.prompts, A.demo_next % n);
    con_printf("\n=== Demo %d/%d: %s ===\n", A.demo_next % n + 1, n, p->category);
    A.demo_next = (A.demo_next + 1) % n;
    start_generation(p->text);
}

/* ---- REPL commands ------------------------------------------------------------------ */

static void show_help(void)
{
    con_printf("Commands:\n"
               "  /help        this list\n"
               "  /temp X      sampling temperature (0 = greedy), now %.2f\n"
               "  /topp X      nucleus sampling threshold in [0,1], now %.2f\n"
               "  /seed N      random seed (0 = from the clock), now %llu\n"
               "  /steps N     positions to generate (0 = whole context), now %d\n"
               "  /template N  chat template (none: list them), now %s\n"
               "  /system T    system prompt for chat templates\n"
               "  /cot N       chain of thought: 0 off, 1 in the question, 2 in the answer\n"
               "  /new         start a new conversation (and session)\n"
               "  /sessions    list the sessions saved on this volume\n"
               "  /export F [N] write session N (default: this one) as F: txt, json, md, csv\n"
               "  /resume N    continue session N's conversation (in a new session)\n"
               "  /save        keep the KV cache with the session, for a fast /resume\n"
               "  /model N     switch to model N of the menu, keeping the conversation\n"
               "  /models      back to the model menu\n"
               "  /remote URL [MODEL]  send prompts to an OpenAI-style server (off: local)\n"
               "  /download URL [SHA256]  save a model file into models/ (Esc stops)\n"
               "  /quit        shut the machine down\n",
               A.cfg.temperature, A.cfg.topp, (unsigned long long)A.cfg.seed, A.cfg.steps,
               template_name(A.chat.tpl));
}

/* /temp, /topp, /seed, /steps: validated by the same code as llm.cfg. */
static void set_setting(const char *key, const char *value)
{
    char err[200], now[64];
    if (config_set(&A.cfg, key, value, err, sizeof err)) {
        con_printf("%s\n", err);
        return;
    }
    config_get(&A.cfg, key, now, sizeof now);
    con_printf("%s = %s\n", key, now);
    if (!strcmp(key, "seed"))
        reseed();
}

static void set_template(const char *name)
{
    if (!*name) {
        for (int i = 0; i < template_count(); i++)
            con_printf("  %-16s %s\n", template_name(template_at(i)),
                       template_at(i)->description);
        return;
    }
    const struct chat_template *t = template_find(name);
    if (!t) {
        con_printf("Unknown template '%s'; /template lists them.\n", name);
        return;
    }
    A.chat.tpl = t;
    str_copy(A.cfg.template_name, sizeof A.cfg.template_name, template_name(t));
    A.chat.kv_pos = A.chat.n_turns ? -1 : 0; /* the cached text was another format */
    A.chat.reply_open = 0;
    A.chat.carry[0] = 0;
    con_printf("template %s\n", template_name(t));
}

/* /model N: unload this model, load choice N and keep the conversation.
 * Returns 1 when a load started (no prompt to print now). */
static int swap_model(const char *arg)
{
    long n;
    catalog_scan(&A.cat);
    if (parse_long(arg, &n) || n < 1 || n > A.cat.n_choices) {
        catalog_print(&A.cat, A.sel);
        con_printf("/model N loads choice N and keeps the conversation.\n");
        return 0;
    }
    const struct catalog_entry *e = catalog_choice(&A.cat, (int)n - 1);
    if (e->kind != CAT_MODEL || e->too_big) {
        con_printf("%s cannot be loaded: %s\n", e->path,
                   e->kind == CAT_MODEL ? "not enough memory" : e->error);
        return 0;
    }
    A.sel = (int)n - 1;
    engine_free(&A.eng); /* memory back to the firmware before the next load */
    start_load(e->path, AFTER_REPL);
    return 1;
}

static void run_command(char *cmd)
{
    static const struct {
        const char *name, *key;
    } settings[] = {{"temp", "temperature"}, {"topp", "topp"}, {"seed", "seed"},
                    {"steps", "steps"}};
    char *arg = cmd;
    while (*arg && *arg != ' ')
        arg++;
    if (*arg)
        *arg++ = 0;
    str_trim(arg);
    if (!strcmp(cmd, "help")) {
        show_help();
    } else if (!strcmp(cmd, "quit")) {
        end_session();
        if (A.sess.number && A.sess.meta.turns)
            export_session(-1, A.sess.number, 0);
        con_printf("Shutting down.\n");
        plat_shutdown(0);
    } else if (!strcmp(cmd, "models")) {
        enter_menu();
        return;
    } else if (!strcmp(cmd, "model")) {
        if (swap_model(arg))
            return;
    } else if (!strcmp(cmd, "template")) {
        set_template(arg);
    } else if (!strcmp(cmd, "system")) {
        str_copy(A.chat.system, sizeof A.chat.system, arg);
        A.chat.kv_pos = A.chat.n_turns ? -1 : A.chat.kv_pos; /* the history changes */
        con_printf("system prompt %s\n", arg[0] ? "set" : "cleared");
    } else if (!strcmp(cmd, "cot")) {
        long v;
        if (parse_long(arg, &v) || v < 0 || v > 2)
            con_printf("/cot takes 0 (off), 1 (in the question) or 2 (in the answer)\n");
        else
            con_printf("chain of thought %d\n", A.chat.cot = (int)v);
    } else if (!strcmp(cmd, "new")) {
        chat_reset(&A.chat);
        client_remote_reset(&A.client);
        begin_session();
        con_printf("New conversation.\n");
    } else if (!strcmp(cmd, "sessions")) {
        list_sessions();
    } else if (!strcmp(cmd, "export")) {
        export_command(arg);
    } else if (!strcmp(cmd, "resume")) {
        resume_command(arg);
    } else if (!strcmp(cmd, "save")) {
        save_command();
    } else if (!strcmp(cmd, "remote")) {
        client_remote_command(&A.client, arg);
    } else if (!strcmp(cmd, "download")) {
        if (client_download_command(&A.client, arg, plat_time_us()) == 0) {
            A.mode = M_CLIENT;
            return;
        }
    } else {
        size_t i;
        for (i = 0; i < ARRAY_LEN(settings); i++)
            if (!strcmp(cmd, settings[i].name))
                break;
        if (i == ARRAY_LEN(settings))
            con_printf("Unknown command /%s; /help lists the commands.\n", cmd);
        else if (!*arg)
            con_printf("/%s needs a value; /help shows the current one.\n", cmd);
        else
            set_setting(settings[i].key, arg);
    }
    repl_prompt();
}

static int serve_network(void);

/* A prompt for the /remote server: the REPL waits in M_CLIENT. */
static void remote_prompt(const char *prompt)
{
    const struct client_gen g = {A.chat.system, A.cfg.steps, A.cfg.temperature, A.cfg.topp,
                                 A.cfg.remote_key};
    if (client_remote_send(&A.client, prompt, &g, plat_time_us()) == 0)
        A.mode = M_CLIENT;
    else
        repl_prompt();
}

static void repl_submit(void)
{
    A.line[A.line_len] = 0;
    con_printf("\n");
    str_trim(A.line);
    if (A.line[0] && A.line[0] != '/' && client_remote_on(&A.client)) {
        remote_prompt(A.line);
        return;
    }
    while (A.api.running) /* the engine is the API request's until it ends */
        serve_network();
    if (A.line[0] == '/')
        run_command(A.line + 1);
    else if (A.line[0] && !chat_is_raw(&A.chat))
        start_chat_reply(A.line);
    else if (A.line[0])
        start_generation(A.line);
    else
        repl_prompt();
}

static void menu_submit(void)
{
    A.line[A.line_len] = 0;
    con_printf("\n");
    if (A.cat.n_choices == 0) {
        enter_menu();
        return;
    }
    long choice = A.sel + 1;
    if (A.line_len && (parse_long(A.line, &choice) || choice < 1 || choice > A.cat.n_choices)) {
        con_printf("Type a number from 1 to %d.\n", A.cat.n_choices);
        A.line_len = 0;
        menu_prompt();
        return;
    }
    A.sel = (int)choice - 1;
    const struct catalog_entry *e = catalog_choice(&A.cat, A.sel);
    if (e->kind == CAT_BROKEN || e->too_big) {
        if (e->kind == CAT_BROKEN)
            con_printf("%s is unusable: %s\n", e->path, e->error);
        else
            con_printf("%s needs %llu MiB but only %llu MiB are free.\n", e->path,
                       (unsigned long long)(e->need_bytes >> 20),
                       (unsigned long long)(A.cat.mem_free >> 20));
        A.line_len = 0;
        menu_prompt();
        return;
    }
    start_load(e->path, AFTER_REPL);
}

/* ---- keys -------------------------------------------------------------------------- */

/* Appends the code point to the line as UTF-8 and echoes it. */
static void line_insert(int cp)
{
    char u[4];
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (A.line_len + n >= LINE_CAP || cp < 0x20 || cp > 0x10FFFF)
        return;
    if (n == 1) {
        u[0] = (char)cp;
    } else {
        for (size_t i = n - 1; i > 0; i--, cp >>= 6)
            u[i] = (char)(0x80 | (cp & 0x3F));
        u[0] = (char)((0xF00 >> n) | cp); /* lead byte: n high bits set */
    }
    memcpy(A.line + A.line_len, u, n);
    A.line_len += n;
    plat_write(u, n);
}

static void line_backspace(void)
{
    if (!A.line_len)
        return;
    do /* drop continuation bytes, then the lead byte */
        A.line_len--;
    while (A.line_len && ((unsigned char)A.line[A.line_len] & 0xC0) == 0x80);
    con_printf("\b \b");
}

static void menu_key(int key)
{
    A.deadline_us = plat_time_us() + (uint64_t)A.cfg.autodemo * 1000000u;
    if (key == '\n') {
        menu_submit();
    } else if (key == PLAT_KEY_BACKSPACE) {
        line_backspace();
    } else if ((key == PLAT_KEY_UP || key == PLAT_KEY_DOWN) && A.cat.n_choices) {
        A.sel = (A.sel + (key == PLAT_KEY_UP ? A.cat.n_choices - 1 : 1)) % A.cat.n_choices;
        A.line_len = 0;
        con_printf("\r> %d. %s\nmodel> ", A.sel + 1, catalog_choice(&A.cat, A.sel)->path);
    } else if (key >= '0' && key <= '9') {
        line_insert(key);
    } else if ((key == 'i' || key == 'I') && A.cat.n_choices) {
        long n = A.sel + 1;
        A.line[A.line_len] = 0;
        if (A.line_len && parse_long(A.line, &n) == 0 && n >= 1 && n <= A.cat.n_choices)
            A.sel = (int)n - 1;
        catalog_print_details(&A.cat, A.sel);
        A.line_len = 0;
        menu_prompt();
    }
}

static void repl_key(int key)
{
    if (key == '\n')
        repl_submit();
    else if (key == PLAT_KEY_BACKSPACE)
        line_backspace();
    else if (key > 0 && key < 0x110000)
        line_insert(key);
}

static void queue_key(int key)
{
    if (A.keyq_len < KEYQ_MAX)
        A.keyq[(A.keyq_head + A.keyq_len++) % KEYQ_MAX] = key;
}

/* Next key for an input mode: queued ones first, then the keyboard. */
static int next_input_key(void)
{
    if (A.keyq_len) {
        int key = A.keyq[A.keyq_head];
        A.keyq_head = (A.keyq_head + 1) % KEYQ_MAX;
        A.keyq_len--;
        return key;
    }
    return plat_key_poll();
}

/* Keys that arrive while a job runs: Esc stops a generation, any key stops
 * the demo, the rest wait in the queue. */
static void busy_key(int key)
{
    if (A.demo) {
        if (A.mode == M_GENERATING)
            gen_end(&A.gen);
        con_printf("\n");
        A.keyq_len = 0;
        enter_menu();
    } else if (key == PLAT_KEY_ESC && A.mode == M_GENERATING && !oneshot()) {
        gen_stop(&A.gen);
        finish_generation();
    } else if (key == PLAT_KEY_ESC && A.mode == M_CLIENT) {
        client_stop(&A.client); /* run_client returns to the REPL */
    } else if (key != PLAT_KEY_ESC) {
        queue_key(key);
    }
}

static void handle_keys(void)
{
    int input_mode = A.mode == M_MENU || A.mode == M_REPL;
    int key = input_mode ? next_input_key() : plat_key_poll();
    if (key == PLAT_KEY_NONE)
        return;
    if (key == PLAT_KEY_EOF) {
        A.input_closed = 1;
        return;
    }
    if (A.mode == M_MENU)
        menu_key(key);
    else if (A.mode == M_REPL)
        repl_key(key);
    else
        busy_key(key);
}

/* ---- the loop ---------------------------------------------------------------------- */

/* Advances the current job one step; returns 0 when there was nothing to do. */
static int step(void)
{
    char err[256];
    int done;
    switch (A.mode) {
    case M_LOADING:
        if (engine_load_step(&A.eng, &done, err, sizeof err)) {
            load_failed(A.eng.model_path[0] ? A.eng.model_path : NULL, err);
            return 1;
        }
        draw_progress();
        if (done)
            load_done();
        return 1;
    case M_GENERATING:
        gen_step(&A.gen);
        if (A.gen.done)
            finish_generation();
        return 1;
    case M_DEMO_PAUSE:
        if (plat_time_us() >= A.deadline_us)
            start_demo_prompt();
        return 0;
    case M_MENU:
        if (A.cfg.autodemo > 0 && catalog_first_model(&A.cat) >= 0 &&
            plat_time_us() >= A.deadline_us)
            start_demo();
        return 0;
    case M_REPL:
    case M_CLIENT: /* run_client advances it */
        return 0;
    }
    return 0;
}

/* The few-shot examples file named by llm.cfg, if any. */
static void load_few_shot(void)
{
    if (!A.cfg.fewshot[0])
        return;
    plat_file *f;
    uint64_t size = 0;
    char buf[FEW_SHOT_FILE_MAX];
    size_t got = 0;
    int line = 0, rc = plat_file_open(A.cfg.fewshot, &f);
    if (rc == 0) {
        if ((rc = plat_file_size(f, &size)) == 0 && size > sizeof buf)
            rc = ERR_RANGE;
        if (rc == 0)
            rc = plat_file_read(f, buf, (size_t)size, &got);
        plat_file_close(f);
    }
    if (rc == 0)
        rc = chat_set_few_shot(&A.chat, buf, got, &line);
    if (rc)
        diag_printf("warning: %s:%d: %s; no examples\n", A.cfg.fewshot, line, err_str(rc));
}

/* Activates the isa= kernel table; one the CPU can't run (or an unknown
 * name) falls back to the best one with a warning. */
static void select_kernels(const char *isa)
{
    int rc = simd_select(isa);
    char names[128];
    if (rc == ERR_UNSUPPORTED)
        diag_printf("warning: isa=%s: this CPU cannot run it; using the best it can\n", isa);
    else if (rc)
        diag_printf("warning: isa=%s: unknown (%s); using the best this CPU runs\n", isa,
                    simd_names(names, sizeof names));
    if (rc)
        simd_select("auto");
    diag_printf("kernels: %s\n", g_simd->name);
}

/* ---- the network and the HTTP API (api.h, netsvc.h) ---------------------------------- */

static int api_loaded_model; /* the API started a load that has not succeeded yet */

/* The engine is lent to an API request only between console generations. */
static struct engine *api_engine(void *ctx)
{
    (void)ctx;
    if (A.eng.ready)
        api_loaded_model = 0;
    return A.eng.ready && (A.mode == M_REPL || A.mode == M_MENU || A.mode == M_CLIENT) ? &A.eng
                                                                                      : NULL;
}

/* A request waits at the menu with no model: load the default one, once
 * (a model that fails to load fails the request instead of looping). */
static int api_want_engine(void *ctx)
{
    (void)ctx;
    if (A.mode != M_MENU || A.eng.ready)
        return 0; /* busy: the request waits */
    if (!default_model() || api_loaded_model)
        return ERR_NOT_FOUND;
    api_loaded_model = 1;
    diag_printf("api: loading %s for a request\n", default_model());
    start_load(default_model(), AFTER_REPL);
    return 0;
}

static const struct chat_template *api_template(void *ctx)
{
    (void)ctx;
    return A.chat.tpl;
}

static void api_cache_used(void *ctx)
{
    (void)ctx;
    A.chat.kv_pos = -1; /* the console chat prefills its conversation again */
}

static const char *api_model_name(void *ctx, int i)
{
    (void)ctx;
    if (A.eng.ready)
        return i == 0 ? path_base(A.eng.model_path) : NULL;
    for (int k = 0, seen = 0; k < A.cat.n; k++)
        if (A.cat.e[k].kind == CAT_MODEL && seen++ == i)
            return path_base(A.cat.e[k].path);
    return NULL;
}

static void net_say(void *ctx, const char *line)
{
    (void)ctx;
    diag_printf("%s\n", line);
}

/* net=auto|on|off: the stack and the API start when there is a NIC. */
static void start_network(void)
{
    const struct api_settings set = {A.cfg.api_key, A.cfg.api_open, A.cfg.steps};
    const struct api_hooks hooks = {api_engine, api_want_engine, api_template, api_cache_used,
                                    api_model_name, net_say, NULL};
    int wanted = !str_casecmp(A.cfg.net, "on");
    char why[160];
    int rc;

    if (!str_casecmp(A.cfg.net, "off"))
        return;
    if (!wanted && str_casecmp(A.cfg.net, "auto"))
        diag_printf("warning: net=%s: use auto, on or off; auto it is\n", A.cfg.net);
    if ((rc = api_init(&A.api, &set, &hooks)) != 0) {
        diag_printf("warning: network off: %s\n", err_str(rc));
        return;
    }
    rc = netsvc_start(&A.net, &A.cfg, &A.api, net_say, NULL, why, sizeof why);
    if (rc) {
        if (wanted || rc != ERR_NOT_FOUND)
            diag_printf("warning: network off: %s\n", why);
        api_free(&A.api);
        return;
    }
    if (!A.cfg.api_key[0] && !A.cfg.api_open)
        diag_printf("network: the API needs api_key= or api_open=1 in llm.cfg; "
                    "/health and the chat page are open\n");
}

/* One round of network work: frames, connections, and a token of the API's
 * request when the engine is free. Returns 1 if a token was generated. */
static int serve_network(void)
{
    if (!A.net.running)
        return 0;
    /* The token first, then the polls: its text goes from the HTTP buffer
     * into TCP and onto the wire now, not one token later. */
    int worked = api_engine(NULL) ? api_step(&A.api) : 0;
    uint64_t now = plat_time_us();
    api_poll(&A.api, now);
    netsvc_poll(&A.net, now);
    if (api_busy(&A.api))
        A.deadline_us = now + (uint64_t)MAX(A.cfg.autodemo, 1) * 1000000u; /* no kiosk demo */
    return worked;
}

/* ---- the client: /remote and /download (client.h) ------------------------------------- */

static void client_text(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    plat_write(s, n);
}

static void client_say(void *ctx, const char *line)
{
    (void)ctx;
    con_printf("%s\n", line);
}

static void client_progress(void *ctx, const char *line)
{
    (void)ctx;
    if (line)
        diag_printf("\r%s", line);
    else
        diag_printf("\n");
}

/* A new model file: the menu lists it from now on. */
static void client_downloaded(void *ctx, const char *path)
{
    (void)ctx;
    catalog_scan(&A.cat);
    int i = catalog_find(&A.cat, path);
    const struct catalog_entry *e = i >= 0 ? catalog_choice(&A.cat, i) : NULL;
    if (e && e->kind == CAT_MODEL)
        con_printf("It is choice %d of the menu: /model %d loads it.\n", i + 1, i + 1);
    else if (e)
        con_printf("The menu lists it as choice %d, unusable: %s\n", i + 1, e->error);
}

static void start_client(void)
{
    const struct client_hooks h = {client_text, client_say, client_progress, client_downloaded,
                                   NULL, NULL};
    if (client_init(&A.client, &h, A.net.running ? &A.net.net : NULL) != 0)
        diag_printf("warning: /remote and /download are off: out of memory\n");
}

/* The client's job advances next to the server's; when it ends the REPL
 * takes input again. Returns 1 if it did something. */
static int run_client(void)
{
    int worked = client_step(&A.client, plat_time_us());
    if (A.mode == M_CLIENT && !client_busy(&A.client)) {
        A.mode = M_REPL;
        repl_prompt();
    }
    return worked;
}

int app_main(const struct config *cli)
{
    memset(&A, 0, sizeof A);
    config_defaults(&A.cfg);
    config_load(&A.cfg, "llm.cfg", warn_line, NULL);
    if (cli)
        config_apply(&A.cfg, cli);
    plat_set_threads(A.cfg.threads);
    select_kernels(A.cfg.isa);
    if (demo_prompts_load(&A.prompts, "prompts.txt") != 0)
        demo_prompts_builtin(&A.prompts);
    else if (A.prompts.skipped)
        diag_printf("warning: prompts.txt:%d: %d line(s) skipped (too long or not text)\n",
                    A.prompts.first_skipped, A.prompts.skipped);
    catalog_scan(&A.cat);
    if (chat_init(&A.chat, template_find("raw")) ||
        (A.turn_text = plat_alloc(TURN_BYTES)) == NULL) {
        con_printf("Out of memory.\n");
        return 1;
    }
    str_copy(A.chat.system, sizeof A.chat.system, A.cfg.system);
    A.chat.cot = MIN(MAX(A.cfg.cot, 0), 2);
    load_few_shot();
    if (!(A.cfg.set_mask & CONFIG_SET_PROMPT) && !A.cfg.bench) {
        session_recover(warn_line, NULL); /* what a power cut left of the last session */
        start_network();
    }
    start_client();
    if (A.cfg.bench) { /* the speed table first; then off, or on to the menu */
        bench_catalog(&A.cat, A.cfg.steps, "bench.md"); /* a copy on the volume too */
        if (A.cfg.shutdown)
            plat_shutdown(0);
    }
    if (A.cfg.set_mask & CONFIG_SET_PROMPT) {
        start_load(default_model(), AFTER_ONESHOT);
    } else {
        int i = A.cfg.model[0] ? catalog_find(&A.cat, A.cfg.model) : -1;
        A.sel = i < 0 ? 0 : i;
        con_printf("llm-baremetal: LLM inference without an operating system.\n");
        enter_menu();
    }
    for (;;) {
        handle_keys();
        if (A.input_closed && (A.mode == M_MENU || A.mode == M_REPL) && !A.keyq_len) {
            con_printf("\n");
            break;
        }
        int worked = step();
        worked |= serve_network();
        worked |= run_client();
        if (!worked)
            plat_idle();
    }
    end_session();
    client_free(&A.client);
    if (A.net.running) {
        api_free(&A.api);
        netsvc_stop(&A.net);
    }
    engine_free(&A.eng);
    demo_prompts_free(&A.prompts);
    chat_free(&A.chat);
    plat_free(A.turn_text, TURN_BYTES);
    return 0;
}
