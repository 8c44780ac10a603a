#!/bin/bash
# qemu_smp.sh - parallel_for on every core through MP Services: boot OVMF
# with 2 vCPUs (1, and 4 on a host with 4 cores) and the one-shot llm.cfg of
# qemu_oneshot.sh; the serial console must carry the reference text of llama2.c run.c byte
# for byte, whatever the thread count, and the app must say how many threads
# it uses. threads=1 in llm.cfg must give the same text on one core.
# Boot times are printed for comparison (TCG: ratios only, not a benchmark).
. "$(dirname "$0")/qemu_lib.sh"

awk '/^=== prompt="Once upon a time"/ { on = 1; next } /^===/ { on = 0 } on { print }' \
    "$MODELS/reference/stories260K_greedy_stdout.txt" >"$QT/want.txt"
[ -s "$QT/want.txt" ] || { fail smp_reference "no reference block in $MODELS/reference"; finish; }

# has_reference FILE: the reference block appears in FILE as whole lines.
has_reference() {
    python3 -c 'import sys; sys.exit(0 if b"\n" + open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read() else 1)' \
        "$1" "$QT/want.txt"
}

# boot NAME IMG SMP THREADS_LINE: one boot; checks power-off, the reference
# text and the "threads: N" line, and reports the time.
boot() {
    local name=$1 img=$2 smp=$3 want_threads=$4 t0 t1
    t0=$(date +%s.%N)
    SMP=$smp qemu_start "$img"
    if ! qemu_wait 400; then
        fail "${name}_poweroff" "QEMU did not power off by itself"
        return
    fi
    t1=$(date +%s.%N)
    pass "${name}_poweroff"
    clean_log >"$QT/$name.txt"
    if has_reference "$QT/$name.txt"; then
        pass "${name}_reference_text"
    else
        fail "${name}_reference_text" "the serial output does not contain the reference text"
    fi
    if grep -aqx "threads: $want_threads" "$QT/$name.txt"; then
        pass "${name}_threads_line"
    else
        fail "${name}_threads_line" "no 'threads: $want_threads' line"
    fi
    local tps
    tps=$(grep -ao 'achieved tok/s: [0-9.]*' "$QT/$name.txt" | head -n1)
    awk -v n="$name" -v s="$smp" -v a="$t0" -v b="$t1" -v r="${tps:-no tok/s line}" \
        'BEGIN { printf "  %s: -smp %s, boot to power-off %.1f s, %s\n", n, s, b - a, r }'
}

cfg='prompt=Once upon a time\ntemperature=0\nsteps=200\nshutdown=1\n'
printf "$cfg" >"$QT/llm.cfg"
qemu_image "$QT/a.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail smp_image "mkimage failed"; finish; }
printf "${cfg}threads=1\n" >"$QT/one.cfg"
qemu_image "$QT/one.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/one.cfg" || { fail smp_image_threads1 "mkimage failed"; finish; }

boot smp2 "$QT/a.img" 2 2
boot smp2_threads1 "$QT/one.img" 2 1
boot smp1 "$QT/a.img" 1 1
if grep -aqF "One CPU: running single-threaded." "$QT/smp1.txt"; then
    pass smp1_says_single_threaded
else
    fail smp1_says_single_threaded "no 'One CPU' line with -smp 1"
fi
# Four vCPUs only where the host has four cores: with fewer, TCG's vCPU
# threads take turns and every parallel_for waits for a descheduled worker
# (40 s instead of 5 s on a 2-core host), which proves nothing more.
if [ "$(nproc 2>/dev/null || echo 1)" -ge 4 ]; then
    boot smp4 "$QT/a.img" 4 4
else
    skip smp4 "host has $(nproc) CPUs; -smp 4 needs 4"
fi
finish
