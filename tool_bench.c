/* tool_bench.c - `llm bench [-T threads] [-p prompt] [-n tokens] [--isa NAME] MODEL...`:
 * the host front end of bench.c (the table itself is shared with the
 * firmware's bench=1). */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "errors.h"
#include "lib.h"
#include "platform.h"
#include "simd.h"

int bench_main(int argc, char **argv);

static int usage(void)
{
    char names[128];
    fprintf(stderr, "usage: llm bench [-T threads] [-p prompt] [-n tokens] [--isa NAME] MODEL...\n"
                    "  -p  prompt tokens for the prefill timing (default 128)\n"
                    "  -n  tokens to decode (default 256)\n"
                    "  --isa  kernels: %s (auto, the default, is the best this CPU runs)\n",
            simd_names(names, sizeof names));
    return 2;
}

int bench_main(int argc, char **argv)
{
    static struct bench b;
    const char *isa = "auto"; /* the table is generic until selected */
    int prompt = 128, tokens = 256, first = 1, rc;
    long v;
    for (; first < argc && argv[first][0] == '-'; first += 2) {
        const char *opt = argv[first], *val = first + 1 < argc ? argv[first + 1] : NULL;
        if (!val)
            return usage();
        if (!strcmp(opt, "--isa")) {
            isa = val;
            continue;
        }
        if (parse_long(val, &v) || v < 0 || v > MODEL_MAX_CONTEXT)
            return usage();
        if (!strcmp(opt, "-T"))
            plat_set_threads((int)v);
        else if (!strcmp(opt, "-p"))
            prompt = (int)v;
        else if (!strcmp(opt, "-n"))
            tokens = (int)v;
        else
            return usage();
    }
    if (first >= argc)
        return usage();
    if ((rc = simd_select(isa)) != 0) {
        fprintf(stderr, "llm bench: --isa %s: %s\n", isa,
                rc == ERR_UNSUPPORTED ? "this CPU cannot run it" : "unknown kernel table");
        return 2;
    }
    bench_begin(&b, prompt, tokens);
    int failed = 0;
    for (int i = first; i < argc; i++)
        failed |= bench_model(&b, argv[i]) != 0;
    bench_end(&b);
    return failed;
}
