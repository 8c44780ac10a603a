#!/bin/bash
# run_tests.sh - run every test and end with one line "N passed, N failed".
#
# In order: the host unit tests (build/san/unit_tests), tests/host_*.sh,
# tests/qemu_*.sh. Output goes to the terminal and to build/test.log.
# Results are the lines starting with "PASS: " / "FAIL: "; a program that
# exits non-zero without printing a FAIL line counts as one failure.
#
#   TESTS=pattern    run only the tests whose name contains pattern (glob ok),
#                    e.g. TESTS=qemu, TESTS=host_tok, TESTS=unit
#   TEST_TIMEOUT=s   limit per test program (default 1800)
#   MODELS_DIR       the shared models (default ../shared/models)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export MODELS_DIR=${MODELS_DIR:-$(realpath -m "$root/../shared/models")}
# Test-only tools (silent when present; installs or says how otherwise).
scripts/deps.sh --test || exit 1
log=$root/build/test.log
mkdir -p "$root/build"
: >"$log"
pattern=${TESTS:-}
limit=${TEST_TIMEOUT:-1800}
passed=0 failed=0 skipped=0 ran=0
out=$(mktemp)
trap 'rm -f "$out" "$out.rc"' EXIT
trap 'say "interrupted"; exit 130' INT TERM

say() { echo "$*" | tee -a "$log"; }

# run NAME CMD...: runs one test program, streams and counts its results.
run() {
    local name=$1; shift
    if [ -n "$pattern" ] && [[ $name != *$pattern* ]]; then return; fi
    ran=$((ran + 1))
    say "== $name"
    local start=$SECONDS
    # timeout runs the test in its own process group and on expiry signals
    # the whole group; TERM first so a test's trap can kill its QEMU. That
    # group never sees the terminal's Ctrl-C, so the subshell forwards it, and
    # tee ignores it to keep the test's last words (and not SIGPIPE its cleanup).
    rm -f "$out.rc"; : >"$out"
    ( trap 'kill -TERM $tpid 2>/dev/null' INT TERM
      timeout -k 30 "$limit" "$@" </dev/null 2>&1 &
      tpid=$!
      wait $tpid; rc=$?
      [ $rc -gt 128 ] && kill -0 $tpid 2>/dev/null && { wait $tpid; rc=$?; }
      echo $rc >"$out.rc" ) | ( trap '' INT; exec tee -a "$log" "$out" )
    local rc
    rc=$(cat "$out.rc" 2>/dev/null || echo 1)
    local p f s
    p=$(grep -ac '^PASS: ' "$out")
    f=$(grep -ac '^FAIL: ' "$out")
    s=$(grep -ac '^SKIP: ' "$out")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        if [ "$rc" = 124 ]; then
            say "FAIL: $name: timed out after $limit s"
        else
            say "FAIL: $name: exited with status $rc"
        fi
        f=1
    fi
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    say "== $name done: pass $p, fail $f, $((SECONDS - start)) s"
}

# llama.cpp (node-llama-cpp) is the parity oracle of several tests: install it
# first so that none of them can quietly skip.
if ! bash tests/oracle/setup.sh >>"$log" 2>&1; then
    say "FAIL: oracle_setup: tests/oracle/setup.sh failed (see $log)"
    failed=$((failed + 1))
fi
if [ -x build/san/unit_tests ]; then
    run unit_tests env LLM_MODELS="$MODELS_DIR" LLM_ORACLE_REQUIRED=1 build/san/unit_tests
else
    run unit_tests sh -c 'echo "FAIL: unit_tests: build/san/unit_tests not built (make host)"; exit 1'
fi
for t in tests/host_*.sh tests/qemu_*.sh; do
    [ -f "$t" ] || continue
    [ "$t" = tests/qemu_lib.sh ] && continue
    run "$(basename "$t" .sh)" bash "$t"
done

if [ "$ran" = 0 ]; then
    say "no test matched TESTS=$pattern"
    failed=$((failed + 1))
fi
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
say "$summary"
[ "$failed" = 0 ]
