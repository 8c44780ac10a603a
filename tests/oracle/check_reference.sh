#!/bin/bash
# tests/oracle/check_reference.sh - check that the llama.cpp oracle
# (tests/oracle/llama.mjs, node-llama-cpp 3.21.1) agrees with the golden
# references in $MODELS_DIR (default ../shared/models beside the repo):
#
#   oracle_stories260K_reference  greedy generation on stories260K.gguf from
#       each BOS-prefixed prompt_token_ids of reference/stories260K_greedy.tsv
#       equals its generated_token_ids (5 rows, 200 positions each)
#   oracle_vocab_llama_spm        tokenize (add_special=false,
#       parse_special=false) of every ggml-vocab-llama-spm.gguf.inp string
#       with the vocab-only ggml-vocab-llama-spm.gguf equals the .out line
#
# Prints one "PASS: name" or "FAIL: name: reason" line per check; exit 1 if
# any failed. Installs the oracle first (tests/oracle/setup.sh, npm only).
# The node -e programs are single-quoted on purpose (JS template strings).
# shellcheck disable=SC2016
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
models=${MODELS_DIR:-$(realpath -m "$root/../shared/models")}
rc=0

if ! "$here/setup.sh"; then
    echo "FAIL: oracle_setup: tests/oracle/setup.sh failed"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- stories260K greedy ------------------------------------------------------
name=oracle_stories260K_reference
tsv=$models/reference/stories260K_greedy.tsv
gguf=$models/stories260K.gguf
if [ ! -f "$tsv" ] || [ ! -f "$gguf" ]; then
    echo "FAIL: $name: missing $tsv or $gguf"
    rc=1
else
    # column 2 = prompt_token_ids (BOS first), column 3 = generated ids
    tail -n +2 "$tsv" | cut -f2 >"$tmp/prompts"
    tail -n +2 "$tsv" | cut -f3 >"$tmp/expected"
    if ! node "$here/llama.mjs" generate "$gguf" --prompt-ids-file "$tmp/prompts" \
            --n 200 >"$tmp/got" 2>"$tmp/err"; then
        echo "FAIL: $name: llama.mjs generate failed: $(tail -n 3 "$tmp/err" | tr '\n' ' ')"
        rc=1
    elif msg=$(node -e '
        const fs = require("fs");
        const die = (m) => { process.stdout.write(m); process.exit(1); };
        const [gotF, expF, prF] = process.argv.slice(1);
        const got = JSON.parse(fs.readFileSync(gotF, "utf8"));
        const exp = fs.readFileSync(expF, "utf8").split("\n").filter((l) => l !== "")
            .map((l) => l.split(" ").map(Number));
        const pr = fs.readFileSync(prF, "utf8").split("\n").filter((l) => l !== "")
            .map((l) => l.split(" ").map(Number));
        if (exp.length !== 5 || got.length !== exp.length)
            die(`expected 5 rows, reference has ${exp.length}, oracle gave ${got.length}`);
        let positions = 0;
        for (let r = 0; r < exp.length; r++) {
            // Greedy decoding is a pure function of the prefix, so the first
            // len(expected) of our 200 tokens must equal the reference.
            const e = exp[r], g = got[r].ids.slice(0, e.length);
            if (pr[r][0] !== 1) die(`row ${r + 1}: prompt does not start with BOS`);
            for (let i = 0; i < e.length; i++)
                if (g[i] !== e[i])
                    die(`row ${r + 1} (prompt ${pr[r].join(" ")}): token ${i} is ${g[i]}, reference ${e[i]}`);
            positions += pr[r].length - 1 + e.length;
        }
        if (positions !== 5 * 200) die(`covered ${positions} positions, not 1000`);
        process.stdout.write(`${exp.length} rows, ${positions} positions`);
    ' "$tmp/got" "$tmp/expected" "$tmp/prompts" 2>&1); then
        echo "PASS: $name ($msg)"
    else
        echo "FAIL: $name: $msg"
        rc=1
    fi
fi

# --- ggml-vocab-llama-spm tokenizer vectors ---------------------------------
name=oracle_vocab_llama_spm
vocab=$models/ggml-vocab-llama-spm.gguf
if [ ! -f "$vocab" ] || [ ! -f "$vocab.inp" ] || [ ! -f "$vocab.out" ]; then
    echo "FAIL: $name: missing $vocab{,.inp,.out}"
    rc=1
elif ! node "$here/llama.mjs" tokenize "$vocab" --vocab-only --file "$vocab.inp" \
        --sep '\n__ggml_vocab_test__\n' >"$tmp/tok" 2>"$tmp/err"; then
    echo "FAIL: $name: llama.mjs tokenize failed: $(tail -n 3 "$tmp/err" | tr '\n' ' ')"
    rc=1
elif msg=$(node -e '
    const fs = require("fs");
    const die = (m) => { process.stdout.write(m); process.exit(1); };
    const [gotF, outF] = process.argv.slice(1);
    const got = JSON.parse(fs.readFileSync(gotF, "utf8"));
    let lines = fs.readFileSync(outF, "utf8").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const exp = lines.map((l) => l.trim() === "" ? [] : l.trim().split(/\s+/).map(Number));
    if (got.length !== exp.length) die(`${got.length} strings tokenized, .out has ${exp.length} lines`);
    for (let i = 0; i < exp.length; i++)
        if (JSON.stringify(got[i]) !== JSON.stringify(exp[i]))
            die(`string ${i + 1}: [${got[i]}] != .out [${exp[i]}]`);
    process.stdout.write(`${exp.length} strings`);
' "$tmp/tok" "$vocab.out" 2>&1); then
    echo "PASS: $name ($msg)"
else
    echo "FAIL: $name: $msg"
    rc=1
fi
exit $rc
