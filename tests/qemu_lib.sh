# shellcheck shell=bash disable=SC2119,SC2120  # clean_log's FILE is optional
# qemu_lib.sh - helpers for QEMU integration tests (source it from tests/qemu_*.sh).
#
#   . "$(dirname "$0")/qemu_lib.sh"
#   printf 'prompt=Once upon a time\ntemperature=0\nshutdown=1\n' >"$QT/llm.cfg"
#   qemu_image "$QT/a.img" MODEL="$MODELS/stories260K.bin" \
#              TOKENIZER="$MODELS/tok512.bin" CFG="$QT/llm.cfg"
#   qemu_start "$QT/a.img"
#   wait_for "Once upon a time" 120 || fail gen "no output"
#   send_line "/quit"
#   qemu_wait 60 || fail quit "did not power off"
#   clean_log >"$QT/out.txt"
#   ...; pass gen
#   finish
#
# Serial wiring: QEMU's serial port is a `-chardev pipe` on two FIFOs. QEMU
# opens both read-write, so nothing blocks; `cat` drains $QT/ser.out into the
# raw log and the test writes keystrokes into $QT/ser.in through a descriptor
# it holds open read-write (a write never blocks even if QEMU has died).
# Only coreutils are needed: no socat, no python.
#
# OVMF's terminal turns serial bytes into keys: "\r" is Enter (send "\r"
# alone: "\n" arrives as a second key, U+000A), 0x08 is Backspace (U+0008),
# 0x7f (what terminals send for Backspace) arrives as SCAN_DELETE, "\e[A" as
# SCAN_UP, a lone "\e" as SCAN_ESC after a short delay. Its output starts with
# clear-screen/mode escapes and uses CR LF; clean_log removes both.

QEMU_LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODELS=${MODELS_DIR:-$(realpath -m "$QEMU_LIB_ROOT/../shared/models")}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}     # hard limit for one boot, seconds
QEMU_LOG_TAIL=${QEMU_LOG_TAIL:-20}    # log lines fail() shows
QEMU_TEST_NAME=$(basename "$0" .sh)
mkdir -p "$QEMU_LIB_ROOT/build/qemu-tests"
# Per-script scratch dir under build/: images, logs, FIFOs. Kept on failure.
QT=$(mktemp -d "$QEMU_LIB_ROOT/build/qemu-tests/$QEMU_TEST_NAME.XXXXXX")
QEMU_LOG=$QT/serial.log               # raw serial output of the current boot
QEMU_PID='' QEMU_CAT_PID='' QEMU_IN_FD='' QEMU_MARK=0 QEMU_FAILS=0 QEMU_BOOTS=0

# ---- images -------------------------------------------------------------------

# qemu_image OUT [VAR=value ...]
# Builds OUT with scripts/mkimage.sh; VARs are its inputs (MODEL, TOKENIZER,
# CFG, EXTRA, PROMPTS, MODELS_DIR_ON_IMAGE, EFI). The caller's environment
# cannot leak in: without MODEL=... the image gets mkimage's default
# (models/kjv1m.bin + models/kjv1m_tok1024.bin); MODEL= gives one without a model.
# mkimage's messages go to $QT/mkimage.log. Returns mkimage's status.
qemu_image() {
    local out=$1; shift
    env -u MODEL -u TOKENIZER -u CFG -u EXTRA -u PROMPTS -u MODELS_DIR_ON_IMAGE \
        MODELS_DIR="$MODELS" "$@" "$QEMU_LIB_ROOT/scripts/mkimage.sh" "$out" >"$QT/mkimage.log" 2>&1 ||
        { sed 's/^/  | /' "$QT/mkimage.log" >&2; return 1; }
}

# fat_volume IMG: the FAT volume inside IMG, from the first GPT entry (LBA
# 2: first and last LBA at bytes 32 and 40): sets $first and $last (LBAs)
# and $vol, the mtools image spec ("IMG@@OFFSET", use as mcopy -i "$vol").
fat_volume() {
    first=$(od -An -t u8 -j 1056 -N 8 "$1" | tr -d ' ')
    last=$(od -An -t u8 -j 1064 -N 8 "$1" | tr -d ' ')
    vol="$1@@$((first * 512))"
    export MTOOLS_SKIP_CHECK=1
}

# ---- boot ---------------------------------------------------------------------

# qemu_start IMG [extra qemu args]
# Boots IMG headless in the background (scripts/qemu.sh: OVMF, TCG unless KVM
# works; MEM/SMP/DISK env apply). Serial output goes to $QEMU_LOG (reset for
# this boot). At most $QEMU_TIMEOUT seconds, then QEMU is killed.
qemu_start() {
    local img=$1; shift
    qemu_stop
    QEMU_BOOTS=$((QEMU_BOOTS + 1))
    local ser=$QT/ser$QEMU_BOOTS
    rm -f "$ser.in" "$ser.out"
    mkfifo "$ser.in" "$ser.out" || return 1
    : >"$QEMU_LOG"
    QEMU_MARK=0
    exec {QEMU_IN_FD}<>"$ser.in"
    cat "$ser.out" >"$QEMU_LOG" {QEMU_IN_FD}>&- &
    QEMU_CAT_PID=$!
    # --foreground: QEMU stays in the test's process group, so a runner that
    # kills the group (scripts/run_tests.sh timeout) kills QEMU too.
    QEMU_SERIAL=chardev:ser0 VARS="$QT/vars.fd" \
        timeout --foreground -k 5 "$QEMU_TIMEOUT" "$QEMU_LIB_ROOT/scripts/qemu.sh" "$img" \
        -chardev "pipe,id=ser0,path=$ser" "$@" \
        </dev/null >"$QT/qemu.stderr" 2>&1 {QEMU_IN_FD}>&- &
    QEMU_PID=$!
}

# qemu_running: true while the current QEMU is alive.
qemu_running() { [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; }

# qemu_wait [TIMEOUT]
# Waits for the guest to power off by itself (e.g. shutdown=1, /quit).
# Returns 0 if it did within TIMEOUT seconds (default $QEMU_TIMEOUT), else
# kills QEMU and returns 1. The log is complete when this returns.
qemu_wait() {
    local limit=${1:-$QEMU_TIMEOUT} t=0
    [ -n "$QEMU_PID" ] || return 1
    while qemu_running; do
        if [ "$t" -ge $((limit * 5)) ]; then
            qemu_stop
            return 1
        fi
        sleep 0.2
        t=$((t + 1))
    done
    local rc=0
    wait "$QEMU_PID" 2>/dev/null || rc=$?
    QEMU_PID=
    qemu_drain
    [ "$rc" = 0 ]   # 124/137: our timeout fired; other: QEMU failed
}

# qemu_run IMG TIMEOUT [extra qemu args]: qemu_start + qemu_wait TIMEOUT.
qemu_run() {
    local img=$1 limit=$2; shift 2
    qemu_start "$img" "$@" && qemu_wait "$limit"
}

# qemu_stop: kills QEMU (if running) and the log reader. Safe to call twice.
qemu_stop() {
    if [ -n "$QEMU_PID" ]; then
        kill "$QEMU_PID" 2>/dev/null
        local i
        for i in 1 2 3 4 5 6 7 8 9 10; do qemu_running || break; sleep 0.2; done
        qemu_running && kill -KILL "$QEMU_PID" 2>/dev/null
        wait "$QEMU_PID" 2>/dev/null
        QEMU_PID=
    fi
    qemu_drain
}

# Collects the log reader; it ends by itself once QEMU has closed the FIFO,
# but is killed if QEMU never opened it (failed to start).
qemu_drain() {
    if [ -n "$QEMU_CAT_PID" ]; then
        local i
        for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QEMU_CAT_PID" 2>/dev/null || break; sleep 0.1; done
        kill "$QEMU_CAT_PID" 2>/dev/null
        wait "$QEMU_CAT_PID" 2>/dev/null
        QEMU_CAT_PID=
    fi
    if [ -n "$QEMU_IN_FD" ]; then
        exec {QEMU_IN_FD}>&-
        QEMU_IN_FD=
    fi
}

# ---- the serial console -------------------------------------------------------

# clean_log [FILE]: prints the serial log (default $QEMU_LOG) without ANSI/VT
# escape sequences and without CR, so it compares with plain text.
clean_log() {
    LC_ALL=C sed -e 's#\x1b\[[0-9;?=]*[ -/]*[@-~]##g' \
                 -e 's#\x1b[()][0-9A-Za-z]##g' -e 's#\x1b[78=>cDEM]##g' \
                 -e 's#\r##g' "${1:-$QEMU_LOG}"
}

# log_has TEXT: true if the cleaned log contains TEXT anywhere (one line).
log_has() { clean_log | grep -aqF -- "$1"; }

# wait_for TEXT [TIMEOUT]
# Expect-like: waits until TEXT (fixed string, one line) appears in the cleaned
# log after the previous wait_for's match, then moves past it. So waiting for
# a prompt twice waits for two prompts. Returns 1 on timeout (default 120 s)
# or when QEMU exits without printing it.
wait_for() {
    local text=$1 limit=${2:-120} t=0 hit
    while :; do
        hit=$(clean_log | LC_ALL=C tail -c +$((QEMU_MARK + 1)) |
              LC_ALL=C grep -aboF -m1 -- "$text" | head -n1)
        if [ -n "$hit" ]; then
            QEMU_MARK=$((QEMU_MARK + ${hit%%:*} + $(printf %s "$text" | wc -c)))
            return 0
        fi
        if ! qemu_running; then
            # One last look: output may have landed just before exit.
            qemu_drain
            [ "$t" = -1 ] && return 1
            t=-1; continue
        fi
        [ "$t" -ge $((limit * 5)) ] && return 1
        sleep 0.2
        t=$((t + 1))
    done
}

# log_since_mark: the cleaned log after the last wait_for match.
log_since_mark() { clean_log | LC_ALL=C tail -c +$((QEMU_MARK + 1)); }

# send BYTES: writes BYTES to the serial input as they are (use $'...' for
# control keys: send $'\x7f' backspace, send $'\e[A' up). QEMU_TYPE_DELAY
# (seconds, e.g. 0.05) types one byte at a time like a person.
send() {
    [ -n "$QEMU_IN_FD" ] || { echo "send: no QEMU running" >&2; return 1; }
    if [ -n "${QEMU_TYPE_DELAY:-}" ]; then
        local i s=$1
        for ((i = 0; i < ${#s}; i++)); do
            printf '%s' "${s:i:1}" >&"$QEMU_IN_FD"; sleep "$QEMU_TYPE_DELAY"
        done
    else
        printf '%s' "$1" >&"$QEMU_IN_FD"
    fi
}

# send_line TEXT: TEXT then Enter ("\r", what a terminal sends).
send_line() { send "$1"$'\r'; }

# expect_send TEXT SEND [TIMEOUT]: wait_for TEXT, then send_line SEND.
expect_send() { wait_for "$1" "${3:-120}" && send_line "$2"; }

# ---- results --------------------------------------------------------------------

# pass NAME / fail NAME REASON / skip NAME REASON: one result line each;
# scripts/run_tests.sh counts the "PASS: " and "FAIL: " lines. fail also shows
# the end of the cleaned serial log (indented, so it is never counted).
pass() { echo "PASS: $1"; }
skip() { echo "SKIP: $1: $2"; }
fail() {
    QEMU_FAILS=$((QEMU_FAILS + 1))
    echo "FAIL: $1: $2"
    if [ -s "$QEMU_LOG" ] && [ "$QEMU_LOG_TAIL" -gt 0 ]; then
        echo "  | last $QEMU_LOG_TAIL lines of the serial log ($QEMU_LOG):"
        clean_log | tail -n "$QEMU_LOG_TAIL" | sed 's/^/  | /'
    fi
    if [ -s "$QT/qemu.stderr" ] && grep -qv 'terminating on signal' "$QT/qemu.stderr"; then
        sed 's/^/  | qemu: /' "$QT/qemu.stderr"
    fi
}

# need_files NAME FILE...: true if all exist, else prints SKIP and is false.
need_files() {
    local name=$1 f; shift
    for f in "$@"; do
        [ -e "$f" ] || { skip "$name" "missing $f"; return 1; }
    done
}

# finish: exits the test script, 1 if any fail was reported.
finish() { exit $((QEMU_FAILS > 0)); }

# Whatever happens, no QEMU outlives the script; scratch is kept on failure.
qemu_lib_cleanup() {
    local rc=$?
    qemu_stop
    if [ "$rc" = 0 ] && [ "$QEMU_FAILS" = 0 ] && [ "${KEEP_TMP:-0}" != 1 ]; then
        rm -rf "$QT"
    else
        echo "  (qemu test files kept in $QT)"
    fi
}
trap qemu_lib_cleanup EXIT
trap 'exit 130' INT TERM

# free_port N: a free port on 127.0.0.1, searched from one derived from our
# pid (and N) so that tests running side by side don't race for one port.
free_port() {
    local p=$((20000 + ($$ * 7 + ${1:-0} * 997) % 30000)) i
    for ((i = 0; i < 200; i++)); do
        python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' \
            "$p" 2>/dev/null && { echo "$p"; return 0; }
        p=$((p + 1))
    done
    return 1
}
