#!/bin/bash
# host_cli.sh - the host program `llm` (sanitized build) against the
# reference: stdout byte for byte for every greedy prompt and the published
# seeded sample, clear errors for broken files, and the REPL driven through
# a pipe. Prints PASS:/FAIL: lines for scripts/run_tests.sh.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
M=${MODELS_DIR:-$root/../shared/models}
LLM=$root/build/san/llm
REF=$M/reference
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# Reference blocks: '=== prompt="P" cmd: ...' then the exact stdout.
n=0
while IFS= read -r prompt; do
    n=$((n + 1))
    awk -v want="$prompt" '
        /^=== prompt="/ { on = (substr($0, 13, length(want) + 2) == want "\" ") ; next }
        on { print }' "$REF/stories260K_greedy_stdout.txt" >"$tmp/want"
    "$LLM" "$M/stories260K.bin" -z "$M/tok512.bin" -t 0 -n 200 -i "$prompt" \
        </dev/null >"$tmp/got" 2>"$tmp/err"
    rc=$?
    name="cli_greedy_stdout_$n"
    if [ $rc -ne 0 ]; then
        fail "$name" "exit $rc: $(tail -3 "$tmp/err")"
    elif ! cmp -s "$tmp/got" "$tmp/want"; then
        fail "$name" "stdout differs for prompt '$prompt' ($(wc -c <"$tmp/got") vs $(wc -c <"$tmp/want") bytes)"
    else
        pass "$name"
    fi
done < <(sed -n 's/^=== prompt="\(.*\)" cmd: .*/\1/p' "$REF/stories260K_greedy_stdout.txt")
[ "$n" = 5 ] || fail cli_greedy_prompts "expected 5 reference prompts, found $n"

# Published sampled run: -t 1.0 -p 0.9 -s 133742, 256 steps, no prompt.
awk '/^=== / { on = index($0, "-s 133742") > 0; next } on { print }' \
    "$REF/upstream_expected.txt" >"$tmp/want"
"$LLM" "$M/stories260K.bin" -z "$M/tok512.bin" -t 1.0 -p 0.9 -s 133742 -n 256 -i "" \
    >"$tmp/got" 2>"$tmp/err"
if cmp -s "$tmp/got" "$tmp/want"; then pass cli_seeded_topp_stdout
else fail cli_seeded_topp_stdout "$(diff "$tmp/got" "$tmp/want" | head -5)"; fi

# Broken model files: exit status 1, the reason on stderr, no sanitizer report.
size=$(stat -c %s "$M/stories260K.bin")
head -c $((size - 1)) "$M/stories260K.bin" >"$tmp/truncated.bin"
printf 'x' >"$tmp/onebyte.bin"
{ printf '\x40\x00\x00\x00\xac\x00\x00\x00\x05\x00\x00\x00\x07\x00\x00\x00'
  tail -c +17 "$M/stories260K.bin"; } >"$tmp/heads.bin"
head -c 5000 /dev/urandom >"$tmp/garbage.bin"
for case in "truncated:file size: expected 1056540 bytes from the header, found 1056539" \
            "onebyte:header: expected 28 bytes, file has 1" \
            "heads:n_heads: 7 does not divide dim 64" \
            "garbage:"; do
    f=${case%%:*} want=${case#*:}
    "$LLM" "$tmp/$f.bin" -z "$M/tok512.bin" -t 0 -i "x" >"$tmp/got" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 1 ]; then fail "cli_broken_$f" "exit $rc, want 1: $(head -3 "$tmp/err")"
    elif grep -q "Sanitizer\|runtime error" "$tmp/err"; then fail "cli_broken_$f" "sanitizer report"
    elif ! grep -q "Cannot load .*$f.bin: $want" "$tmp/err"; then
        fail "cli_broken_$f" "message: $(grep -v '^$' "$tmp/err" | head -2)"
    else pass "cli_broken_$f"; fi
done

# A prompt that fills all of -n's positions: exit 1, the reason (not an
# encoding error), nothing on stdout.
"$LLM" "$M/stories260K.bin" -z "$M/tok512.bin" -t 0 -n 5 -i "Once upon a time there was a girl" \
    </dev/null >"$tmp/got" 2>"$tmp/err"
rc=$?
if [ $rc -ne 1 ]; then fail cli_prompt_fills_steps "exit $rc, want 1: $(tail -2 "$tmp/err")"
elif [ -s "$tmp/got" ]; then fail cli_prompt_fills_steps "stdout: $(head -c 200 "$tmp/got")"
elif ! grep -q "The prompt leaves no room for a reply: prompt and reply share 5 positions" "$tmp/err"; then
    fail cli_prompt_fills_steps "message: $(tail -2 "$tmp/err")"
else pass cli_prompt_fills_steps; fi

# The menu and REPL through a pipe: a volume with a broken model beside the
# good one; choose the good one, change settings, generate, quit.
mkdir -p "$tmp/vol/models"
ln -s "$M/stories260K.bin" "$tmp/vol/stories260K.bin"
ln -s "$M/tok512.bin" "$tmp/vol/tok512.bin"
# a second 512-token vocabulary: pairing must pick the one that fits by name
ln -s "$M/aidreams260K_tok512.bin" "$tmp/vol/aidreams260K_tok512.bin"
cp "$tmp/truncated.bin" "$tmp/vol/models/broken.bin"
printf '1\n2\n/help\n/temp 0\n/steps 40\n/bogus\nOnce upon a timx\x7fe\n/models\n2\n/quit\n' |
    "$LLM" "$tmp/vol" >"$tmp/got" 2>"$tmp/err"
rc=$?
want_text=$(awk '/prompt="Once upon a time"/ { on = 1; next } on { print; exit }' \
    "$REF/stories260K_greedy_stdout.txt" | cut -c1-120)
check() { grep -qF -- "$2" "$tmp/got" || { fail cli_repl "$1: '$2' missing"; return 1; }; }
if [ $rc -ne 0 ]; then fail cli_repl "exit $rc: $(tail -3 "$tmp/err")"
elif check "menu lists the broken file" "models/broken.bin" &&
     check "menu shows its reason" "unusable: file size: expected 1056540 bytes from the header, found 1056539" &&
     check "choosing it explains" "models/broken.bin is unusable" &&
     check "setting" "temperature = 0" && check "setting" "steps = 40" &&
     check "unknown command" "Unknown command /bogus" &&
     check "generation after backspace" "${want_text:0:60}" &&
     check "stats" "[40 tokens," &&
     check "help" "/steps N     positions to generate" &&
     check "quit" "Shutting down."; then
    if [ "$(grep -c "Models on this volume:" "$tmp/got")" != 2 ]; then
        fail cli_repl "/models did not return to the menu"
    else
        pass cli_repl
    fi
fi

# The kiosk demo reads prompts.txt from the volume (categories from '#' lines)
# and starts by itself when no key comes; stdin stays open but silent.
mkdir -p "$tmp/demo"
ln -s "$M/stories260K.bin" "$tmp/demo/stories260K.bin"
ln -s "$M/tok512.bin" "$tmp/demo/tok512.bin"
printf 'autodemo=1\ndemo_delay=0\nsteps=20\n' >"$tmp/demo/llm.cfg"
printf '# Robots\r\nThe tiny robot\r\n# Kites\r\nA red kite\r\nThe wind\r\n' >"$tmp/demo/prompts.txt"
timeout 5 "$LLM" "$tmp/demo" < <(sleep 7) >"$tmp/got" 2>"$tmp/err"
if grep -qF "Auto-demo: 3 prompts in 2 categories" "$tmp/got" &&
   grep -qF "=== Demo 1/3: Robots ===" "$tmp/got" && grep -q "^The tiny robot" "$tmp/got" &&
   grep -qF "=== Demo 3/3: Kites ===" "$tmp/got" && grep -q "^The wind" "$tmp/got" &&
   grep -qF "=== Demo 1/3: Robots ===" <(sed -n '/Demo 3\/3/,$p' "$tmp/got"); then
    pass cli_demo_prompts_file
else
    fail cli_demo_prompts_file "$(grep -m3 'Demo\|warning' "$tmp/got" "$tmp/err")"
fi

# Chat: a template keeps the conversation between turns; /model swaps to the
# GGUF copy of the model and the conversation is prefilled into it again.
mkdir -p "$tmp/chat"
for f in stories260K.bin stories260K.gguf tok512.bin; do ln -s "$M/$f" "$tmp/chat/$f"; done
printf 'autodemo=0\ntemperature=0\nsteps=20\ntemplate=qa\nsystem=Short answers.\nfewshot=ex.txt\ncot=1\n' >"$tmp/chat/llm.cfg"
printf 'Q: Who is Tom?\nA: A boy.\n\nQ: Where is Tom?\nA: At home.\n' >"$tmp/chat/ex.txt"
printf '1\nWho is Lily?\nWhere is she?\n/model 2\nWhat next?\n/new\n/quit\n' |
    "$LLM" "$tmp/chat" >"$tmp/got" 2>"$tmp/err"
if grep -qF "Chat template: qa" "$tmp/err" && [ "$(grep -c '^\[20 tokens,' "$tmp/got")" = 3 ] &&
   grep -qF "Loaded stories260K.gguf" "$tmp/err" && grep -qF "New conversation." "$tmp/got"; then
    if grep -q "ex.txt" "$tmp/err"; then
        fail cli_chat_turns_and_swap "a good few-shot file was refused: $(grep ex.txt "$tmp/err")"
    else
        pass cli_chat_turns_and_swap
    fi
else
    fail cli_chat_turns_and_swap "$(grep -m4 'tokens\|template\|Loaded' "$tmp/got" "$tmp/err")"
fi

# A broken few-shot file is reported with its line and the chat goes on.
printf 'A: an answer without a question\n' >"$tmp/chat/ex.txt"
printf '1\nHi?\n/quit\n' | "$LLM" "$tmp/chat" >"$tmp/got" 2>"$tmp/err"
if grep -q "warning: ex.txt:1: .*; no examples" "$tmp/err" && grep -q '^\[20 tokens,' "$tmp/got"; then
    pass cli_chat_bad_fewshot_file
else
    fail cli_chat_bad_fewshot_file "$(grep -m2 'ex.txt\|tokens' "$tmp/err" "$tmp/got")"
fi

# --isa: every kernel table this CPU runs gives llama2.c's reference text;
# an unknown name warns with the names there are and falls back to the best
# table.
awk '/^=== prompt="Once upon a time"/ { on = 1; next } /^===/ { on = 0 } on { print }' \
    "$REF/stories260K_greedy_stdout.txt" >"$tmp/want_isa"
for isa in generic avx2 avx2vnni avx512 avx512vnni; do
    "$LLM" "$M/stories260K.bin" -z "$M/tok512.bin" -t 0 -n 200 --isa $isa -i "Once upon a time" \
        >"$tmp/got_isa" 2>"$tmp/err_isa"
    if grep -q "isa=$isa: this CPU cannot run it" "$tmp/err_isa"; then
        echo "SKIP: cli_isa_$isa (this CPU cannot run it)"
    elif grep -qx "kernels: $isa" "$tmp/err_isa" && cmp -s "$tmp/got_isa" "$tmp/want_isa"; then
        pass "cli_isa_$isa"
    else
        fail "cli_isa_$isa" "$(grep kernels "$tmp/err_isa"; diff "$tmp/got_isa" "$tmp/want_isa" | head -3)"
    fi
done
"$LLM" "$M/stories260K.bin" -z "$M/tok512.bin" -t 0 -n 20 --isa nosuch -i "Once" \
    >"$tmp/got_isa" 2>"$tmp/err_isa"
if grep -q "isa=nosuch: unknown (auto, generic, avx2, avx2vnni, avx512, avx512vnni)" "$tmp/err_isa" &&
   grep -q "^kernels: " "$tmp/err_isa" &&
   [ -s "$tmp/got_isa" ]; then
    pass cli_isa_unknown_warns
else
    fail cli_isa_unknown_warns "$(head -3 "$tmp/err_isa")"
fi
