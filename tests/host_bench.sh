#!/bin/bash
# host_bench.sh - `llm bench` (bench.c through tool_bench.c) on stories260K
# and on a model from `llm synth --fast`: the header names the kernels and
# threads, each model gets a row with non-zero tok/s and a roofline
# percentage, the kernel-share table follows, --isa picks the table, and bad
# input fails clearly. Short runs; speed itself is never judged.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
M=${MODELS_DIR:-$root/../shared/models}
LLM=$root/build/llm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

[ -f "$M/stories260K.bin" ] || { echo "SKIP: bench: missing $M/stories260K.bin"; exit 0; }

# row_ok FILE NAME TYPE: the table row of NAME has TYPE, MiB/token, prefill,
# decode and roofline > 0 and a percentage.
row_ok() {
    awk -F'|' -v n=" $2 " -v t=" $3 " '$2 == n && $3 == t && $4 + 0 > 0 && $5 + 0 > 0 &&
        $6 + 0 > 0 && $7 + 0 > 0 && $8 ~ /^ [0-9]+% $/ { ok = 1 } END { exit !ok }' "$1"
}
# shares_ok FILE NAME: its kernel-share row has one percentage per column
# of the share table's head, summing to ~100.
shares_ok() {
    awk -F'|' -v n=" $2 " '$2 == " model " && $3 == " matmul " { cols = NF }
        $2 == n && $3 ~ /%/ { s = 0; for (i = 3; i < NF; i++) s += $i
        if (NF == cols && s > 99 && s < 101) ok = 1 } END { exit !ok }' "$1"
}

"$LLM" bench -T 2 -p 8 -n 16 "$M/stories260K.bin" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ]; then
    fail bench_runs "exit $rc: $(tail -n 3 "$tmp/err")"
else
    pass bench_runs
    grep -qE '^llm bench: kernels [a-z0-9]+, threads 2, prompt 8 \(best of 3\), decode 16 tokens \(median token time\), roofline from the model.s weights read between rounds$' "$tmp/out" &&
        pass bench_header || fail bench_header "$(head -n 1 "$tmp/out")"
    row_ok "$tmp/out" stories260K.bin f32 && pass bench_row ||
        fail bench_row "$(grep -F '| stories260K' "$tmp/out" | head -n 1)"
    shares_ok "$tmp/out" stories260K.bin && pass bench_kernel_shares ||
        fail bench_kernel_shares "$(grep -A4 'per kernel' "$tmp/out" | tr '\n' ' ')"
fi

"$LLM" bench --isa generic -T 1 -p 4 -n 4 "$M/stories260K.bin" >"$tmp/gen" 2>&1
grep -q '^llm bench: kernels generic, threads 1,' "$tmp/gen" && pass bench_isa_generic ||
    fail bench_isa_generic "$(head -n 1 "$tmp/gen")"
"$LLM" bench --isa nosuch "$M/stories260K.bin" >"$tmp/bad" 2>&1
rc=$?
[ $rc = 2 ] && grep -q 'nosuch: unknown kernel table' "$tmp/bad" && pass bench_isa_unknown ||
    fail bench_isa_unknown "exit $rc: $(head -n 2 "$tmp/bad")"

# A missing file fails the run but the other models are still measured.
"$LLM" bench -p 4 -n 4 "$tmp/missing.gguf" "$M/stories260K.bin" >"$tmp/miss" 2>"$tmp/miss.err"
rc=$?
[ $rc -ne 0 ] && grep -q 'missing.gguf' "$tmp/miss.err" && row_ok "$tmp/miss" stories260K.bin f32 &&
    pass bench_missing_file || fail bench_missing_file "exit $rc: $(cat "$tmp/miss.err")"

# The generator's fast mode writes a model the benchmark loads (q4_0 rows).
if "$LLM" synth "$tmp/fast.gguf" --fast --arch llama --type q4_0 --dim 128 --hidden 256 \
        --layers 2 --heads 4 --kv-heads 2 --vocab 300 --ctx 64 >/dev/null 2>"$tmp/synth.err" &&
    "$LLM" bench -p 8 -n 8 "$tmp/fast.gguf" >"$tmp/fast" 2>&1 && row_ok "$tmp/fast" fast.gguf q4_0; then
    pass bench_synth_fast
else
    fail bench_synth_fast "$(tail -n 3 "$tmp/synth.err" "$tmp/fast" 2>/dev/null | tr '\n' ' ')"
fi
