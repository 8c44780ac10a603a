#!/bin/bash
# qemu_bench.sh - bench=1 in llm.cfg (bench.c from app_main): the firmware
# prints the speed table for every model on the volume, then powers off with
# shutdown=1. Checks the header (kernels, threads, lengths), a row for
# stories260K with non-zero tok/s and a roofline percentage, and the
# kernel-share table; speed itself is never judged (TCG time is emulated).
. "$(dirname "$0")/qemu_lib.sh"
need_files bench "$MODELS/stories260K.bin" "$MODELS/tok512.bin" || finish

printf 'bench=1\nshutdown=1\nthreads=2\nsteps=16\n' >"$QT/llm.cfg"
qemu_image "$QT/bench.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail bench_image "mkimage failed"; finish; }
SMP=2 qemu_start "$QT/bench.img"
if qemu_wait 300; then
    pass bench_poweroff
else
    fail bench_poweroff "QEMU did not power off by itself after the benchmark"
fi
clean_log >"$QT/out.txt"

if grep -aqE '^llm bench: kernels [a-z0-9]+, threads 2, prompt 8 \(best of 3\), decode 16 tokens \(median token time\), roofline from the model.s weights read between rounds$' "$QT/out.txt"; then
    pass bench_header
else
    fail bench_header "no 'llm bench: kernels ..., threads 2, ...' line"
fi
if awk -F'|' '$2 == " stories260K.bin " && $3 == " f32 " && $4 + 0 > 0 && $5 + 0 > 0 &&
        $6 + 0 > 0 && $7 + 0 > 0 && $8 ~ /^ [0-9]+% $/ { ok = 1 } END { exit !ok }' "$QT/out.txt"; then
    pass bench_row
else
    fail bench_row "no plausible row for stories260K.bin: $(grep -a '| stories260K' "$QT/out.txt" | head -n 1)"
fi
if grep -aq '^| model | matmul | attention |' "$QT/out.txt" &&
    [ "$(grep -ac '^| stories260K.bin |.*%' "$QT/out.txt")" = 2 ]; then
    pass bench_kernel_table
else
    fail bench_kernel_table "no kernel-share table with a stories260K.bin row"
fi
grep -aq '^llm bench: done$' "$QT/out.txt" && pass bench_done || fail bench_done "no 'llm bench: done'"
finish
