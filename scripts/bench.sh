#!/bin/bash
# bench.sh - `make bench` and `make bench-compare`: speed, not a test.
#
#   scripts/bench.sh [--compare] [SHAPE[:TYPE]...]
#
# 1. Random-weight GGUF models (`llm synth --fast`: no downloads) of the
#    shapes below, cached in build/bench/ and reused by later runs.
# 2. Host: `llm bench` with 1 and 2 threads: prefill and decode tok/s, MiB of
#    weights per token, decode against the roofline (how fast the same binary
#    reads the model's weights, measured between decode rounds), per-kernel
#    shares.
# 3. QEMU (TCG, -smp 1 and -smp 2 with thread=multi): the stories15M models
#    booted with bench=1 in llm.cfg, to show the multi-core speed-up inside
#    UEFI (emulated time: compare the two, not with the host).
# 4. --compare: llama.cpp (node-llama-cpp 3.21.1, tests/oracle/) on the same
#    files with 2 and 1 threads, side by side with ours, and BENCHMARKS.md
#    rewritten below its marker line.
# Tables go to the terminal and to build/bench/results.md.
#
# Shapes (args or BENCH_SHAPES, e.g. "stories15M tinyllama-1.1B:q8_0"; a
# shape without :TYPE means its default types):
#   stories15M stories110M tinyllama-1.1B   f32 q8_0 q4_0
#   llama2-7B                               q4_0 (q8_0 on request: 7 GB)
# Environment: BENCH_PROMPT (128) and BENCH_TOKENS (256) per model,
#   BENCH_THREADS ("1 2"), BENCH_LLAMA_THREADS ("2 1"), BENCH_LLAMA_SECONDS
#   (60: llama.cpp's decode stops there and reports the rate so far; with 2
#   threads on a busy 2-core machine it can crawl), BENCH_QEMU (1; 0 skips
#   QEMU), BENCH_QEMU_STEPS (128: decode tokens in QEMU, prompt half).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
llm=$root/build/llm
out=$root/build/bench
mkdir -p "$out"

compare=0
[ "${1-}" = --compare ] && { compare=1; shift; }
want=${*:-${BENCH_SHAPES:-stories15M stories110M tinyllama-1.1B llama2-7B}}
prompt=${BENCH_PROMPT:-128} tokens=${BENCH_TOKENS:-256}

# name dim hidden layers heads kv_heads vocab default-types
shapes=("stories15M 288 768 6 6 6 32000 f32,q8_0,q4_0"
        "stories110M 768 2048 12 12 12 32000 f32,q8_0,q4_0"
        "tinyllama-1.1B 2048 5632 22 32 4 32000 f32,q8_0,q4_0"
        "llama2-7B 4096 11008 32 32 32 32000 q4_0")

# model NAME TYPE: prints the cached file of that shape, writing it first.
model() {
    local s name dim hid layers heads kv vocab types f=$out/$1-$2.gguf
    for s in "${shapes[@]}"; do
        read -r name dim hid layers heads kv vocab types <<<"$s"
        [ "$name" = "$1" ] && break
        name=
    done
    [ -n "$name" ] || { echo "bench: unknown shape $1 (${shapes[*]%% *})" >&2; return 1; }
    if [ ! -f "$f" ]; then
        echo "bench: writing $f" >&2
        if ! "$llm" synth "$f.tmp" --fast --arch llama --type "$2" --dim "$dim" --hidden "$hid" \
                --layers "$layers" --heads "$heads" --kv-heads "$kv" --vocab "$vocab" --ctx 512 >/dev/null; then
            rm -f "$f.tmp"
            return 1
        fi
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

models=()
for w in $want; do
    name=${w%%:*} types=
    if [ "$name" != "$w" ]; then
        types=${w#*:}
    else
        for s in "${shapes[@]}"; do [ "${s%% *}" = "$name" ] && types=${s##* }; done
    fi
    [ -n "$types" ] || { echo "bench: unknown shape $name" >&2; exit 2; }
    for t in ${types//,/ }; do models+=("$(model "$name" "$t")"); done
done

res=$out/results.md
{ echo "# llm bench on $(uname -m), $(nproc) CPUs, $(date -u +%Y-%m-%d)"; } >"$res"
say() { tee -a "$res"; }

# ---- host -----------------------------------------------------------------------
for t in ${BENCH_THREADS:-1 2}; do
    echo | say
    "$llm" bench -T "$t" -p "$prompt" -n "$tokens" "${models[@]}" | tee "$out/host-T$t.md" | say
done

# ---- QEMU -------------------------------------------------------------------------
# qemu_bench SMP: boots an image of the stories15M models with bench=1 and
# threads=SMP; the table lands in build/bench/qemu-smpN.md.
qemu_bench() {
    local n=$1 img=$out/qemu-bench.img log=$out/qemu-smp$1.log steps=${BENCH_QEMU_STEPS:-128}
    printf 'bench=1\nshutdown=1\nthreads=%s\nsteps=%s\n' "$n" "$steps" >"$out/qemu-llm.cfg"
    MODEL="${qmodels[*]}" TOKENIZER='' CFG=$out/qemu-llm.cfg "$root/scripts/mkimage.sh" "$img" >/dev/null
    QEMU_SERIAL=file:$log KVM=0 TCG_THREAD=multi SMP=$n MEM=1024 VARS=$out/qemu.vars.fd \
        timeout 1800 "$root/scripts/qemu.sh" "$img" </dev/null >/dev/null 2>&1 || true
    rm -f "$img" "$out/qemu.vars.fd"
    LC_ALL=C sed -e 's#\x1b\[[0-9;?=]*[ -/]*[@-~]##g' -e 's#\r##g' "$log" |
        sed -n '/^llm bench: kernels/,/^llm bench: done/p' | grep -v '^llm bench: done' >"$out/qemu-smp$n.md"
    [ -s "$out/qemu-smp$n.md" ] || echo "bench: QEMU -smp $n printed no table (see $log)" >&2
}
if [ "${BENCH_QEMU:-1}" != 0 ]; then
    qmodels=()
    for t in f32 q8_0 q4_0; do qmodels+=("$(model stories15M $t)"); done
    for n in 1 2; do qemu_bench "$n"; done
    { for n in 1 2; do
        echo; echo "QEMU TCG -smp $n (thread=multi), bench=1 threads=$n:"; echo
        cat "$out/qemu-smp$n.md"
      done
      echo; echo "QEMU decode speed-up, -smp 2 over -smp 1:"; echo
      echo "| model | decode tok/s -smp 1 | decode tok/s -smp 2 | speed-up |"
      echo "|---|---:|---:|---:|"
      awk -F'|' 'FNR == 1 { f++ } $4 ~ /^ *[0-9.]+ *$/ && NF > 8 { d[f, $2] = $6 + 0; if (f == 1) o[++n] = $2 }
          END { for (i = 1; i <= n; i++) { a = d[1, o[i]]; b = d[2, o[i]]
                printf "|%s| %.1f | %.1f | %.2fx |\n", o[i], a, b, (a > 0 ? b / a : 0) } }' \
          "$out/qemu-smp1.md" "$out/qemu-smp2.md"; } | tee "$out/qemu.md" | say
fi

[ "$compare" = 1 ] || exit 0

# ---- llama.cpp --------------------------------------------------------------------
"$root/tests/oracle/setup.sh" || { echo "bench: node-llama-cpp is not installed" >&2; exit 1; }
cmp=$out/compare.md
: >"$cmp"
for t in ${BENCH_LLAMA_THREADS:-2 1}; do
    [ -f "$out/host-T$t.md" ] || "$llm" bench -T "$t" -p "$prompt" -n "$tokens" "${models[@]}" >"$out/host-T$t.md"
    {
        echo
        echo "$t thread(s); llama.cpp's KV cache f16, ours f32; roofline tok/s = llm bench's (the rate $t thread(s) read the model's own weights at between decode rounds, / weight bytes);"
        echo "llama.cpp decodes at most ${BENCH_LLAMA_SECONDS:-60} s (the rate over the tokens it did):"
        echo
        echo "| model | prefill tok/s | llama.cpp | ratio | decode tok/s | llama.cpp | ratio | roofline tok/s |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    } | tee -a "$cmp"
    for f in "${models[@]}"; do
        base=$(basename "$f")
        row=$(grep -F "| $base |" "$out/host-T$t.md" | head -n1)
        js=$(node "$root/tests/oracle/llama.mjs" bench "$f" --threads "$t" --prompt-n "$prompt" --n "$tokens" \
                 --max-seconds "${BENCH_LLAMA_SECONDS:-60}" 2>"$out/llama.err") ||
            { echo "bench: llama.cpp failed on $base: $(tail -n 2 "$out/llama.err")" >&2; js='{}'; }
        lp=$(sed -n 's/.*"prefill":\([0-9.e+-]*\).*/\1/p' <<<"$js")
        ld=$(sed -n 's/.*"decode":\([0-9.e+-]*\).*/\1/p' <<<"$js")
        awk -F'|' -v lp="${lp:-0}" -v ld="${ld:-0}" -v name="$base" '
            function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
            { p = $5 + 0; d = $6 + 0
              printf "| %s | %.1f | %.1f | %s | %.1f | %.1f | %s | %.1f |\n",
                     name, p, lp, ratio(p, lp), d, ld, ratio(d, ld), $7 + 0 }' <<<"$row" | tee -a "$cmp"
    done
done
cat "$cmp" >>"$res"

# ---- BENCHMARKS.md ------------------------------------------------------------------
doc=$root/BENCHMARKS.md
marker='<!-- generated by scripts/bench.sh --compare (make bench-compare): everything below -->'
if [ -f "$doc" ] && grep -qxF "$marker" "$doc"; then
    head=$(awk -v m="$marker" '$0 == m { exit } { print }' "$doc")
else
    head="# Benchmarks

\`make bench-compare\` regenerates this file below the marker line."
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
flags=$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -e avx2 -e avx512f -e avx512_vnni | tr '\n' ' ')
{
    printf '%s\n\n%s\n\n' "$head" "$marker"
    echo "## Machine"
    echo
    echo "- CPU: $cpu, $(nproc) cores (${flags% }), shared with other work: numbers are noisy"
    echo "- RAM: $mem; Linux $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- models: random weights from \`llm synth --fast\`, context 512; prompt $prompt tokens, decode $tokens tokens"
    echo
    echo "## llm bench (host)"
    for t in ${BENCH_THREADS:-1 2}; do echo; cat "$out/host-T$t.md"; done
    echo
    echo "## Side by side with llama.cpp (node-llama-cpp 3.21.1, CPU, same files, same run)"
    cat "$cmp"
    if [ "${BENCH_QEMU:-1}" != 0 ]; then
        echo
        echo "## UEFI in QEMU (TCG, emulated time: compare -smp 1 with -smp 2 only)"
        cat "$out/qemu.md"
    fi
} >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "bench: wrote $doc"
