#!/bin/bash
# host_net_tap.sh - our TCP/IP stack, HTTP API and HTTP client against the
# real Linux stack, through a TAP device in a network namespace made here.
#
#   Linux side 10.77.0.1/24 (tap0): curl, ICMP echo, python3 -m http.server,
#   and srv.py (below): a file server that drops connections / trickles /
#   honours Range, a fake OpenAI streaming endpoint, and a DNS responder
#   (models.test -> 10.77.0.1, anything else NXDOMAIN).
#   Our side 10.77.0.2 (llm.cfg ip=...): build/llm with the volume in $T/vol,
#   driven through a FIFO on stdin that stays open so it keeps serving.
#
# Needs root and /dev/net/tun; without them it prints SKIP and passes.
# One line per check: "PASS: name" or "FAIL: name: why".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LLM=${LLM:-$ROOT/build/llm}
MODELS=${MODELS_DIR:-$ROOT/../shared/models}
NS=llmtap$$
FAILS=0

skip() { echo "SKIP: host_net_tap: $*"; exit 0; }
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; FAILS=$((FAILS + 1)); }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, TAP)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null || skip "no ip(8)"
command -v curl >/dev/null || skip "no curl"
command -v python3 >/dev/null || skip "no python3"
[ -x "$LLM" ] || { echo "FAIL: host_net_tap: $LLM missing (make host)"; exit 1; }
[ -f "$MODELS/stories260K.bin" ] || skip "no $MODELS/stories260K.bin"
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"

T=$(mktemp -d /tmp/llm_tap.XXXXXX)
LLM_PID=
cleanup() {
    exec 3>&- 2>/dev/null
    [ -n "$LLM_PID" ] && kill "$LLM_PID" 2>/dev/null
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
    sleep 0.2
    ip netns del "$NS" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }

in_ns ip link set lo up
in_ns ip tuntap add dev tap0 mode tap || skip "cannot create a TAP device"
in_ns ip addr add 10.77.0.1/24 dev tap0
in_ns ip link set tap0 up

# ---- the volume, the files to serve, the servers ---------------------------------------
mkdir -p "$T/vol" "$T/www"
ln -s "$MODELS/stories260K.bin" "$T/vol/stories260K.bin"
ln -s "$MODELS/tok512.bin" "$T/vol/tok512.bin"
cat >"$T/vol/llm.cfg" <<'EOF'
autodemo=0
temperature=0
steps=64
ip=10.77.0.2
netmask=255.255.255.0
gateway=10.77.0.1
dns=10.77.0.1
port=8080
api_open=1
remote_key=sekrit
EOF
cp "$MODELS/stories260K.bin" "$T/www/story.bin"   # a real model: the menu lists it
head -c 2500000 /dev/urandom >"$T/www/resume.bin"
head -c 6000000 /dev/urandom >"$T/www/slow.bin"
sha() { sha256sum "$1" | cut -d' ' -f1; }

: >"$T/srv.log"
in_ns python3 "$ROOT/tests/fake_server.py" "$T/www" "$T/srv.log" 8001 10.77.0.1 10.77.0.1 2>"$T/srv.err" &
(cd "$T/www" && exec ip netns exec "$NS" python3 -m http.server --bind 10.77.0.1 8000 \
    >/dev/null 2>&1) &

# ---- our side ----------------------------------------------------------------------------
mkfifo "$T/in"
in_ns env LLM_TAP=tap0 "$LLM" "$T/vol" <"$T/in" >"$T/out" 2>"$T/err" &
LLM_PID=$!
exec 3>"$T/in"   # stdin stays open: the program keeps serving

# wait_for FILE TEXT SECONDS: TEXT (fixed string) appears in FILE.
wait_for() {
    local end=$((SECONDS + $3))
    while [ $SECONDS -lt $end ]; do
        grep -aqF -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$LLM_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# count FILE TEXT: lines holding TEXT.
count() { grep -acF -- "$2" "$1" 2>/dev/null; }
type_line() { printf '%s\n' "$1" >&3; }

type_line 1
if wait_for "$T/out" "Type a prompt" 60 && wait_for "$T/err" "HTTP API on http://10.77.0.2:8080/" 10; then
    pass tap_start
else
    fail tap_start "no REPL or no API line: $(tail -3 "$T/err")"
    exit 1
fi
for i in $(seq 50); do in_ns curl -s -m 1 -o /dev/null http://10.77.0.1:8001/none && break; sleep 0.1; done

# ---- the API from Linux ------------------------------------------------------------------
H=$(in_ns curl -s -m 10 http://10.77.0.2:8080/health)
echo "$H" | grep -q '"status":"ok"' && pass tap_health || fail tap_health "got: $H"

in_ns curl -s -m 60 -H 'Content-Type: application/json' \
    -d '{"prompt":"Once upon a time","max_tokens":40,"temperature":0}' \
    http://10.77.0.2:8080/v1/completions >"$T/compl.json"
R=$(python3 - "$T/compl.json" "$MODELS/reference/stories260K_greedy.tsv" <<'EOF'
import json, sys
text = json.load(open(sys.argv[1]))["choices"][0]["text"]
for row in open(sys.argv[2], encoding="utf-8").read().split("\n")[1:]:
    f = row.split("\t")
    if f[0] == "Once upon a time":
        ref = f[3].replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
print("ok" if len(text) > 40 and ref.startswith(text) else "text %r is not a prefix of %r" % (text, ref[:200]))
EOF
)
[ "$R" = ok ] && pass tap_completion_greedy || fail tap_completion_greedy "$R"

if in_ns python3 - <<'EOF'
import os, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(3)
def csum(b):
    b += b"\0" * (len(b) & 1)
    v = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    v = (v >> 16) + (v & 0xFFFF); v += v >> 16
    return ~v & 0xFFFF
payload = b"llm-baremetal ping" * 3
for seq in (1, 2):
    h = struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(h + payload), 0x1234, seq) + payload, ("10.77.0.2", 0))
    while True:
        pkt, addr = s.recvfrom(2048)
        ihl = (pkt[0] & 15) * 4
        t, _, _, ident, sq = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
        if addr[0] == "10.77.0.2" and t == 0 and ident == 0x1234 and sq == seq:
            if pkt[ihl + 8:] != payload or csum(pkt[ihl:]) != 0:
                sys.exit(1)
            break
EOF
then pass tap_ping; else fail tap_ping "no ICMP echo reply from 10.77.0.2"; fi

# ---- downloads ---------------------------------------------------------------------------
M=$T/vol/models
type_line "/download http://10.77.0.1:8000/story.bin $(sha "$T/www/story.bin")"
if wait_for "$T/out" "download: models/story.bin:" 60 && [ -f "$M/story.bin" ] &&
   [ "$(sha "$M/story.bin")" = "$(sha "$T/www/story.bin")" ] && [ ! -e "$M/story.bin.part" ] &&
   grep -aqF "(verified)" "$T/out" && grep -aq "It is choice [0-9]* of the menu: /model [0-9]* loads it" "$T/out"; then
    pass tap_download_plain
else
    fail tap_download_plain "$(grep -a 'download' "$T/out" | tail -3)"
fi

head -c 3000000 /dev/urandom >"$T/www/wrong.bin"
BAD=$(sha "$T/www/wrong.bin" | tr 0-9a-f 1-9a-f0)
type_line "/download http://10.77.0.1:8000/wrong.bin $BAD"
if wait_for "$T/out" "SHA-256 mismatch for wrong.bin" 60 && wait_for "$T/out" "deleted models/wrong.bin.part" 5 &&
   [ ! -e "$M/wrong.bin" ] && [ ! -e "$M/wrong.bin.part" ]; then
    pass tap_download_wrong_digest
else
    fail tap_download_wrong_digest "$(grep -a 'download' "$T/out" | tail -3); $(ls "$M")"
fi

# by name (DNS), the first answer drops after 700000 bytes: resumed with Range
type_line "/download http://models.test:8001/drop/resume.bin $(sha "$T/www/resume.bin")"
if wait_for "$T/out" "download: models/resume.bin:" 60 &&
   [ "$(sha "$M/resume.bin")" = "$(sha "$T/www/resume.bin")" ] &&
   grep -qF "GET /drop/resume.bin range=bytes=700000-" "$T/srv.log" &&
   grep -qF "DNS models.test" "$T/srv.log" && grep -aqF "retrying in 1 s from byte 700000" "$T/out"; then
    pass tap_download_resume
else
    fail tap_download_resume "$(grep -a 'download' "$T/out" | tail -4); $(grep resume "$T/srv.log")"
fi

# a slow download: the API answers meanwhile; Esc stops it, /download resumes it
type_line "/download http://models.test:8001/slow/slow.bin $(sha "$T/www/slow.bin")"
sleep 1.5
t0=$(date +%s.%N)
H=$(in_ns curl -s -m 5 http://10.77.0.2:8080/health)
t1=$(date +%s.%N)
if echo "$H" | grep -q '"status":"ok"' && [ ! -e "$M/slow.bin" ] &&
   python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 2.0 else 1)"; then
    pass tap_api_during_download
else
    fail tap_api_during_download "health '$H' after $(python3 -c "print($t1 - $t0)") s"
fi
printf '\033' >&3
if wait_for "$T/out" "download: stopped" 10 && wait_for "$T/out" "slow.bin.part kept" 5 &&
   [ -s "$M/slow.bin.part" ] && [ ! -e "$M/slow.bin" ]; then
    pass tap_download_esc
else
    fail tap_download_esc "$(grep -a 'download' "$T/out" | tail -3)"
fi
sleep 0.3
type_line "/download http://models.test:8001/slow/slow.bin $(sha "$T/www/slow.bin")"
if wait_for "$T/out" "download: models/slow.bin:" 90 &&
   [ "$(sha "$M/slow.bin")" = "$(sha "$T/www/slow.bin")" ] && grep -aqF "resuming models/slow.bin.part" "$T/out" &&
   [ "$(grep -c 'GET /slow/slow.bin range=bytes=[1-9]' "$T/srv.log")" = 1 ]; then
    pass tap_download_resume_after_esc
else
    fail tap_download_resume_after_esc "$(grep -a 'download' "$T/out" | tail -3); $(grep slow "$T/srv.log")"
fi

type_line "/download http://10.77.0.1:8000/story.bin"
wait_for "$T/out" "models/story.bin exists already" 10 && pass tap_download_exists ||
    fail tap_download_exists "no refusal"

type_line "/model"   # without a number: lists the menu's choices
wait_for "$T/out" "models/story.bin" 10 && pass tap_download_in_menu || fail tap_download_in_menu \
    "the menu does not list the download"

# ---- remote inference ------------------------------------------------------------------------
type_line "/remote http://models.test:8001/v1"
type_line "Hi there"
if wait_for "$T/out" "Hello from the fake server (1 messages)" 30 &&
   grep -qF "POST /v1/chat/completions auth=Bearer sekrit" "$T/srv.log" &&
   python3 -c "
import json, sys; r = json.load(open('$T/srv.log.chat'))
assert r['stream'] is True and r['max_tokens'] == 64 and r['temperature'] == 0
assert r['messages'][-1] == {'role': 'user', 'content': 'Hi there'}"; then
    pass tap_remote_stream
else
    fail tap_remote_stream "$(tail -5 "$T/out")"
fi
type_line "And then?"
if wait_for "$T/out" "(3 messages)" 30 && python3 -c "
import json; r = json.load(open('$T/srv.log.chat'))
assert r['messages'][1] == {'role': 'assistant', 'content': 'Hello from the fake server (1 messages)'}"; then
    pass tap_remote_conversation
else
    fail tap_remote_conversation "$(tail -3 "$T/out")"
fi

type_line "/remote http://10.77.0.1:8001/bad"
type_line "Hi"
wait_for "$T/out" "remote: HTTP 401 Unauthorized: wrong key for the fake server" 30 &&
    pass tap_remote_401 || fail tap_remote_401 "$(tail -3 "$T/out")"

type_line "/remote http://10.77.0.1:9"
type_line "Hi"
wait_for "$T/out" "remote: 10.77.0.1:9 refused the connection" 30 &&
    pass tap_remote_refused || fail tap_remote_refused "$(tail -3 "$T/out")"

type_line "/remote http://nosuch.test"
type_line "Hi"
wait_for "$T/out" "remote: nosuch.test: no such host (DNS)" 30 &&
    pass tap_remote_nxdomain || fail tap_remote_nxdomain "$(tail -3 "$T/out")"

# local again: the model answers
type_line "/remote off"
type_line "Once upon a time"
wait_for "$T/out" "tok/s]" 60 && pass tap_remote_off || fail tap_remote_off "$(tail -3 "$T/out")"

type_line "/quit"
for i in $(seq 100); do kill -0 "$LLM_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$LLM_PID" 2>/dev/null; then
    fail tap_quit "still running after /quit"
else
    wait "$LLM_PID"; rc=$?
    [ $rc = 0 ] && pass tap_quit || fail tap_quit "exit status $rc: $(tail -3 "$T/err")"
fi
LLM_PID=
[ $FAILS = 0 ]
