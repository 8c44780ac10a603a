#!/bin/bash
# qemu_net.sh - the HTTP API over the firmware's own TCP/IP stack (api.c,
# netsvc.c, net_*.c), from the host through QEMU user networking
# (virtio-net, restrict=on: the guest reaches nothing but the host's
# forwarded port on 127.0.0.1):
#   boot 1 (api_open=1): /health and the console's address line; greedy
#          /v1/completions equal to llama2.c's reference continuation, in one
#          piece and as server-sent events; chat completions both ways;
#          /v1/models; 400/404/405; 20 concurrent clients while /health keeps
#          answering; the chat page in headless Chromium (screenshot, DOM,
#          and a message sent through the form and streamed back)
#   boot 2 (api_key=s3cret): 401 without or with a wrong token (logged on
#          the console), 200 with the right one; /health stays open
#   boot 3 (neither key nor api_open): the API is closed and says how to open it
# Screenshots: build/qemu-tests/chat_page.png, chat_page_reply.png.
. "$(dirname "$0")/qemu_lib.sh"
need_files net "$MODELS/stories260K.bin" "$MODELS/tok512.bin" \
    "$MODELS/reference/stories260K_greedy.tsv" || finish
export MODELS
CHECK=$QEMU_LIB_ROOT/tests/net_check.py
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SHOTS=$QEMU_LIB_ROOT/build/qemu-tests

PORT=$(free_port 0) || { fail net_port "no free port"; finish; }
URL=http://127.0.0.1:$PORT

# net_boot CFG: boots an image with CFG as llm.cfg, NIC forwarded to $PORT.
net_boot() {
    printf '%s' "$1" >"$QT/llm.cfg"
    qemu_image "$QT/n.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
        CFG="$QT/llm.cfg" || return 1
    qemu_start "$QT/n.img" -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:8080" \
        -device virtio-net-pci,netdev=n0,romfile=
    wait_for "HTTP API on" 120
}

# req NAME [curl args...]: the body to $QT/NAME.out (also $out), the status to $code.
req() {
    out=$QT/$1.out; shift
    code=$(curl -s -m 120 -o "$out" -w '%{http_code}' "$@") || code="curl-$?"
}
# check NAME WHAT ARGS...: PASS/FAIL NAME from net_check.py WHAT $out ARGS
# (the last req's answer, which must be a 200).
check() {
    local name=$1 what=$2 r; shift 2
    if [ "$code" != 200 ]; then fail "$name" "HTTP $code: $(head -c 300 "$out" 2>/dev/null)"; return; fi
    r=$(python3 "$CHECK" "$what" "$out" "$@")
    case $r in ok*) pass "$name" ;; *) fail "$name" "$r" ;; esac
}
# expect_error NAME STATUS [curl args...]: STATUS with an OpenAI error object.
expect_error() {
    local name=$1 want=$2 r; shift 2
    req "$name" "$@"
    if [ "$code" != "$want" ]; then fail "$name" "HTTP $code, want $want: $(head -c 200 "$out")"; return; fi
    r=$(python3 "$CHECK" error "$out")
    case $r in ok*) pass "$name" ;; *) fail "$name" "$r" ;; esac
}

# ---- boot 1: the open API -------------------------------------------------------
if ! net_boot $'autodemo=0\napi_open=1\nmodel=stories260K.bin\n'; then
    fail net_boot "no \"HTTP API on\" line"; finish
fi
log_has "network: HTTP API on http://10.0.2.15:8080/" && pass net_address_line ||
    fail net_address_line "no \"HTTP API on http://10.0.2.15:8080/\" line"

req health "$URL/health"
check net_health health

# Greedy, as many tokens as the reference has: llama2.c's exact text.
N=$(python3 "$CHECK" ntokens)
req complete "$URL/v1/completions" -H 'Content-Type: application/json' \
    -d "{\"prompt\":\"Once upon a time\",\"max_tokens\":$N,\"temperature\":0}"
check net_completion_reference completion "$N"
log_has "api: completion #1: 5 prompt + $N generated tokens" &&
    log_has "http: POST /v1/completions 200" && pass net_completion_logged ||
    fail net_completion_logged "no api:/http: lines for the completion"

S=40
req stream "$URL/v1/completions" -N -D "$QT/stream.head" \
    -d "{\"prompt\":\"Once upon a time\",\"max_tokens\":$S,\"temperature\":0,\"stream\":true}"
grep -qi '^Content-Type: text/event-stream' "$QT/stream.head" ||
    fail net_completion_stream_type "$(grep -i '^Content-Type' "$QT/stream.head")"
check net_completion_stream stream "$S"

req chat "$URL/v1/chat/completions" \
    -d '{"messages":[{"role":"system","content":"Short answers."},{"role":"user","content":"Who is Lily?"}],"max_tokens":24,"temperature":0}'
check net_chat chat
req chat_stream "$URL/v1/chat/completions" -N \
    -d '{"messages":[{"role":"user","content":"Who is Lily?"}],"max_tokens":16,"temperature":0,"stream":true}'
check net_chat_stream chat_stream
# Greedy both ways: the streamed deltas make the same reply.
same=$(python3 - "$QT/chat_stream.out" "$URL" <<'EOF'
import json, sys, urllib.request
deltas = [json.loads(l[6:]) for l in open(sys.argv[1]) if l.startswith("data: {")]
streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in deltas)
body = json.dumps({"messages": [{"role": "user", "content": "Who is Lily?"}], "max_tokens": 16, "temperature": 0})
r = json.load(urllib.request.urlopen(sys.argv[2] + "/v1/chat/completions", body.encode(), timeout=60))
whole = r["choices"][0]["message"]["content"]
print("ok" if whole == streamed else "streamed %r, whole %r" % (streamed, whole))
EOF
)
[ "$same" = ok ] && pass net_chat_stream_same || fail net_chat_stream_same "$same"

req models "$URL/v1/models"
check net_models models stories260K.bin

expect_error net_bad_json 400 "$URL/v1/completions" -d '{"prompt": "Once", "max_tokens": '
expect_error net_not_found 404 "$URL/no/such/page"
req get_completions "$URL/v1/completions" -D "$QT/get_completions.head"
if [ "$code" = 405 ] && grep -qi '^Allow: POST' "$QT/get_completions.head"; then pass net_method_405; else
    fail net_method_405 "GET /v1/completions: HTTP $code, headers: $(tr -d '\r' <"$QT/get_completions.head" | tr '\n' ' ')"; fi

t_load=$SECONDS
# 20 clients at once; /health answers while their replies queue (64 tokens
# each: several seconds of work in all, so the polls overlap it).
K=64
pids=()
for i in $(seq 20); do
    curl -s -m 120 -o "$QT/c$i.out" -w '%{http_code}' "$URL/v1/completions" \
        -d "{\"prompt\":\"Once upon a time\",\"max_tokens\":$K,\"temperature\":0}" >"$QT/c$i.code" &
    pids+=($!)
done
: >"$QT/health_during.txt"
# Polls start once the clients' connections are in: of a burst of SYNs, the
# listener keeps LISTEN_BACKLOG (16, netsvc.c) half-open and drops the rest,
# and QEMU's slirp resends a dropped SYN only after ~6 s.
sleep 1
running() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while running; do
    { curl -s -m 10 -o "$QT/h.out" -w '%{http_code} %{time_total} ' "$URL/health"
      cat "$QT/h.out"; echo; } >>"$QT/health_during.txt"
    sleep 0.1
done
wait "${pids[@]}"
bad=
for i in $(seq 20); do
    c=$(cat "$QT/c$i.code")
    if [ "$c" != 200 ]; then bad="$bad client $i: HTTP $c;"; continue; fi
    r=$(python3 "$CHECK" completion "$QT/c$i.out" "$K")
    [ "$r" = ok ] || bad="$bad client $i: $r;"
done
ids=$(cat "$QT"/c[0-9]*.out | grep -o '"id":"cmpl-[0-9]*"' | sort -u | wc -l)
[ -z "$bad" ] && [ "$ids" = 20 ] && pass net_concurrent_20 ||
    fail net_concurrent_20 "${bad:-$ids distinct ids, want 20}"
# Every poll answered 200 with JSON, and some of them saw the queue in use.
r=$(python3 - "$QT/health_during.txt" <<'EOF'
import json, sys
rows = [l.split(" ", 2) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) >= 2, "only %d health polls during the 20 requests" % len(rows)
busy = 0
for code, t, body in rows:
    assert code == "200", "health answered %s" % code
    assert float(t) < 5, "health took %ss" % t
    j = json.loads(body)
    busy += j.get("queue", 0) > 0 or j.get("busy") is True
assert busy, "no poll saw a queued or running request: %s" % rows
print("ok")
EOF
)
[ "$r" = ok ] && pass net_health_during_load || fail net_health_during_load "$r"
echo "  (20 clients: $((SECONDS - t_load)) s, $(wc -l <"$QT/health_during.txt") health polls)"

# ---- the chat page ---------------------------------------------------------------
req page "$URL/" -D "$QT/page.head"
if [ "$code" = 200 ] && grep -qi '^Content-Type: text/html' "$QT/page.head" &&
   grep -q '<span id="model"' "$QT/page.out"; then pass net_page_html; else
    fail net_page_html "GET /: HTTP $code, $(head -c 100 "$QT/page.out")"; fi

if [ -x "$CHROMIUM" ]; then
    chrome() {  # chrome ARGS...: headless Chromium with a fresh profile
        local profile rc=0
        profile=$(mktemp -d "$QT/chromium.XXXXXX")
        timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$profile" "$@" 2>>"$QT/chromium.log" || rc=$?
        rm -rf "$profile"
        return $rc
    }
    shot=$SHOTS/chat_page.png
    rm -f "$shot"
    chrome --screenshot="$shot" --window-size=1000,700 --virtual-time-budget=5000 "$URL/" >/dev/null
    r=$(python3 "$CHECK" png "$shot" 1000 700 203040 2>&1)
    case $r in ok*) pass net_page_screenshot ;; *) fail net_page_screenshot "$shot: $r" ;; esac
    # The page's script ran: it put the name from /v1/models into the DOM.
    chrome --virtual-time-budget=5000 --dump-dom "$URL/" >"$QT/dom.html"
    grep -q '<span id="model" class="meta">stories260K.bin</span>' "$QT/dom.html" && pass net_page_dom ||
        fail net_page_dom "no model name in the DOM: $(grep -o '<span id="model"[^<]*' "$QT/dom.html")"
    # A message typed into the form, streamed back by the API.
    mark=$(clean_log | grep -ac '^http: POST /v1/chat/completions 200')
    r=$(timeout -k 5 150 python3 "$CHECK" cdp "$CHROMIUM" "$URL/" "$SHOTS/chat_page_reply.png" "Who is Lily?" 2>&1)
    after=$(clean_log | grep -ac '^http: POST /v1/chat/completions 200')
    case $r in
        "ok stories260K.bin|"*)
            if [ "$after" -gt "$mark" ]; then pass net_page_send; else
                fail net_page_send "the console shows no chat request from the page"; fi ;;
        *) fail net_page_send "$r" ;;
    esac
else
    skip net_page_chromium "no $CHROMIUM (scripts/deps.sh --test)"
fi
clean_log >"$QT/boot1.txt"

# ---- boot 2: api_key --------------------------------------------------------------
if net_boot $'autodemo=0\napi_key=s3cret\nmodel=stories260K.bin\n'; then
    req key_health "$URL/health"
    check net_key_health_open health
    expect_error net_key_none_401 401 "$URL/v1/models"
    expect_error net_key_wrong_401 401 "$URL/v1/completions" -H 'Authorization: Bearer guess' \
        -d '{"prompt":"Once upon a time","max_tokens":4}'
    sleep 0.5
    log_has "api: 401 GET /v1/models: no bearer token" &&
        log_has "api: 401 POST /v1/completions: wrong bearer token" && pass net_key_401_logged ||
        fail net_key_401_logged "no \"api: 401 ...\" lines on the console"
    req key_models "$URL/v1/models" -H 'Authorization: Bearer s3cret'
    check net_key_right_models models stories260K.bin
    req key_complete "$URL/v1/completions" -H 'Authorization: Bearer s3cret' \
        -d '{"prompt":"Once upon a time","max_tokens":8,"temperature":0}'
    check net_key_right_completion completion 8
else
    fail net_key_boot "no \"HTTP API on\" line with api_key"
fi

# ---- boot 3: neither api_key nor api_open ------------------------------------------
if net_boot $'autodemo=0\nmodel=stories260K.bin\n'; then
    expect_error net_closed_401 401 "$URL/v1/models"
    grep -q 'api_open=1' "$QT/net_closed_401.out" && pass net_closed_says_how ||
        fail net_closed_says_how "the 401 does not mention api_open=1: $(cat "$QT/net_closed_401.out")"
    req closed_health "$URL/health"
    check net_closed_health_open health
else
    fail net_closed_boot "no \"HTTP API on\" line without a key"
fi
qemu_stop
finish
