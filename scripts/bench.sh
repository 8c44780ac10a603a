#!/bin/bash
# bench.sh - `make bench`: random-weight models of the stories15M and
# stories110M shapes (scripts write them with `llm synth`, no downloads) in
# F32, Q8_0 and Q4_0, timed by `llm bench` with 1 and 2 threads next to the
# memory-bandwidth roofline measured in the same run. Prints the tables and
# keeps them in build/bench/results.md. BENCH_TOKENS / BENCH_PROMPT shorten it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
llm=$root/build/llm
out=$root/build/bench
mkdir -p "$out"
# name dim hidden layers heads kv_heads vocab
shapes=("stories15M 288 768 6 6 6 32000" "stories110M 768 2048 12 12 12 32000")
models=()
for s in "${shapes[@]}"; do
    read -r name dim hid layers heads kv vocab <<<"$s"
    for type in f32 q8_0 q4_0; do
        f=$out/$name-$type.gguf
        [ -f "$f" ] || "$llm" synth "$f" --arch llama --type "$type" --dim "$dim" --hidden "$hid" \
            --layers "$layers" --heads "$heads" --kv-heads "$kv" --vocab "$vocab" --ctx 512 >/dev/null
        models+=("$f")
    done
done
{
    echo "# llm bench on $(uname -m), $(nproc) CPUs, $(date -u +%Y-%m-%d)"
    for t in 1 2; do
        echo
        "$llm" bench -T "$t" -p "${BENCH_PROMPT:-128}" -n "${BENCH_TOKENS:-256}" "${models[@]}"
    done
} | tee "$out/results.md"
