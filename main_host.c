/* main_host.c - the Linux program `llm`: llama2.c-style flags, then the same
 * application the firmware runs (app_main), on the terminal.
 *
 *   llm [DIR]                              menu over the models in DIR (default .)
 *   llm MODEL [-z TOK] [-t T] [-p P] [-s SEED] [-n STEPS] [-i PROMPT] [-T THREADS]
 *   llm synth|greedy-ids|gguf-split ...   host tools (tool_synth.c)
 * With -i it generates once (stdout: the text only) and exits. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "config.h"
#include "platform_posix.h"
#include "simd.h"

/* Host tools (tool_synth.c): `llm synth|greedy-ids|gguf-split ...`. Weak so
 * that programs linked without tool_synth.o (build/san/llm) still link; they
 * say the tools are missing. */
int tool_main(int argc, char **argv) __attribute__((weak));
/* `llm bench` (tool_bench.c), weak for the same reason. */
int bench_main(int argc, char **argv) __attribute__((weak));
/* `llm quantize` (tool_quantize.c), weak for the same reason. */
int quantize_main(int argc, char **argv) __attribute__((weak));

static void usage(const char *argv0)
{
    char names[128];
    fprintf(stderr,
            "usage: %s [DIR]\n"
            "       %s MODEL [-z TOKENIZER] [-t TEMP] [-p TOPP] [-s SEED] [-n STEPS] "
            "[-i PROMPT] [-T THREADS] [--isa ISA]\n"
            "  DIR     directory to list models from (the host's boot volume), default .\n"
            "  -i      generate once for PROMPT and exit; without it the REPL starts\n"
            "  -T      threads for the matrix kernels (0 = all cores, the default)\n"
            "  --isa   kernels: %s (auto, the default, is the best this CPU runs)\n",
            argv0, argv0, simd_names(names, sizeof names));
}

int main(int argc, char **argv)
{
    struct config cli;
    char err[256];
    int i = 1;
    simd_select("auto"); /* the tools run the kernels users get; --isa / isa= override */
    if (argc > 1 && (!strcmp(argv[1], "synth") || !strcmp(argv[1], "greedy-ids") ||
                     !strcmp(argv[1], "gguf-split"))) {
        if (!tool_main) {
            fprintf(stderr, "%s: %s is not in this build (use build/llm)\n", argv[0], argv[1]);
            return 2;
        }
        return tool_main(argc - 1, argv + 1);
    }
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } tools[] = {{"bench", bench_main}, {"quantize", quantize_main}};
    for (size_t t = 0; argc > 1 && t < sizeof tools / sizeof tools[0]; t++) {
        if (strcmp(argv[1], tools[t].name))
            continue;
        if (!tools[t].fn) {
            fprintf(stderr, "%s: %s is not in this build (use build/llm)\n", argv[0], argv[1]);
            return 2;
        }
        return tools[t].fn(argc - 1, argv + 1);
    }
    config_defaults(&cli);
    cli.set_mask = 0;
    if (i < argc && argv[i][0] != '-') {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            plat_posix_set_root(argv[i]);
        } else if (config_set(&cli, "model", argv[i], err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        i++;
    }
    static const struct {
        char flag;
        const char *key;
    } flags[] = {{'z', "tokenizer"}, {'t', "temperature"}, {'p', "topp"},
                 {'s', "seed"},      {'n', "steps"},       {'i', "prompt"},
                 {'T', "threads"}};
    for (; i < argc; i += 2) {
        size_t f = sizeof flags / sizeof flags[0];
        if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            if (config_set(&cli, "isa", argv[i + 1], err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] && !argv[i][2])
            for (f = 0; f < sizeof flags / sizeof flags[0]; f++)
                if (flags[f].flag == argv[i][1])
                    break;
        if (f == sizeof flags / sizeof flags[0] || i + 1 >= argc) {
            usage(argv[0]);
            return 1;
        }
        if (config_set(&cli, flags[f].key, argv[i + 1], err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    if (cli.set_mask & CONFIG_SET_PROMPT) {
        /* one-shot: like llama2.c's run, exit when done, no kiosk timer */
        config_set(&cli, "shutdown", "1", NULL, 0);
    } else {
        plat_posix_console_init();
    }
    return app_main(&cli);
}
