#!/bin/bash
# bench_api.sh - what the HTTP API costs (issue 7's targets), in QEMU+OVMF:
#   - decode tok/s of the same greedy generation typed at the console and
#     asked through POST /v1/completions (both measured by the app the same
#     way, from the first generated token), and the API's overhead;
#   - time to the first streamed token as the client sees it (python3 over
#     the forwarded port), against one token time of the model + 50 ms.
# Prints a Markdown table and saves it to build/bench/api.md. Not a test:
# `make bench-api`. Knobs: BENCH_API_MODEL (default stories260K.bin from
# ../shared/models), BENCH_API_TOKENIZER, BENCH_API_TOKENS (200), RUNS (5).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
. tests/qemu_lib.sh
model=${BENCH_API_MODEL:-$MODELS/stories260K.bin}
tokenizer=${BENCH_API_TOKENIZER:-$MODELS/tok512.bin}
tokens=${BENCH_API_TOKENS:-200}
runs=${RUNS:-5}
prompt="Once upon a time"
out=$root/build/bench
mkdir -p "$out"
port=$((20000 + $$ % 20000))

printf 'autodemo=0\napi_open=1\ntemperature=0\nsteps=%s\n' "$tokens" >"$QT/llm.cfg"
qemu_image "$QT/api.img" MODEL="$model" TOKENIZER="$tokenizer" CFG="$QT/llm.cfg" ||
    { echo "bench_api: mkimage failed" >&2; exit 1; }
qemu_start "$QT/api.img" -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:8080" \
    -device virtio-net-pci,netdev=n0,romfile=
wait_for "HTTP API on" 120 || { echo "bench_api: no network" >&2; exit 1; }
send_line "1" && wait_for "Type a prompt" 120 || { echo "bench_api: no model" >&2; exit 1; }

# Console and API in turns (this machine's speed drifts): the same prompt
# typed at the console, then asked through POST /v1/completions with
# max_tokens = the console's token count; the app measures both the same
# way (gen_tokens_per_s) and logs the API's.
# The prompt's token count, from a one-token request: the console reports
# positions (prompt + generated - 1), the API generated tokens.
curl -s -m 300 "http://127.0.0.1:$port/v1/completions" \
    -d "{\"prompt\":\"$prompt\",\"max_tokens\":1,\"temperature\":0}" >/dev/null
sleep 0.5
n_prompt=$(clean_log | grep -ao 'api: completion #1: [0-9]* prompt' | awk '{print $4}')
console=() api=() gen=0
for i in $(seq "$runs"); do
    expect_send "> " "$prompt" 30 && wait_for " tok/s]" 600 || break
    line=$(clean_log | grep -ao '\[[0-9]* tokens, [0-9.]* tok/s\]' | tail -1)
    console+=("$(echo "$line" | awk '{print $3}')")
    gen=$(($(echo "$line" | tr -d '[' | awk '{print $1}') - n_prompt + 1))
    curl -s -m 600 "http://127.0.0.1:$port/v1/completions" \
        -d "{\"prompt\":\"$prompt\",\"max_tokens\":$gen,\"temperature\":0}" >/dev/null
    sleep 0.5
    api+=("$(clean_log | grep -ao 'api: completion #[0-9]*: .* tok/s' | tail -1 | awk '{print $(NF-1)}')")
done
[ "$gen" -gt 0 ] || { echo "bench_api: no console generation" >&2; exit 1; }

# Time to the first streamed token, seen by the client.
ttft=$(python3 - "$port" "$prompt" "$runs" <<'EOF'
import http.client, json, sys, time
port, prompt, runs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
times = []
for _ in range(runs):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    body = json.dumps({"prompt": prompt, "max_tokens": 16, "temperature": 0, "stream": True})
    t0 = time.monotonic()
    c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    first = None
    buf = b""
    while True:
        chunk = r.read1(4096) if hasattr(r, "read1") else r.read(1)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            data = ev.decode().partition("data: ")[2]
            if data and data != "[DONE]" and first is None:
                if json.loads(data)["choices"][0]["text"]:
                    first = time.monotonic() - t0
    c.close()
    times.append(first * 1000)
times.sort()
print("%.1f" % times[len(times) // 2])
EOF
)
server_first=$(clean_log | grep -ao 'first token sent at [0-9]* ms' | awk '{print $5}' | sort -g |
    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
qemu_stop

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${console[@]}") a=$(median "${api[@]}")
table=$(python3 - "$c" "$a" "$ttft" "$(basename "$model")" "$gen" "$server_first" <<'EOF'
import sys
c, a, ttft, model, gen = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
server_first = float(sys.argv[6])
token_ms = 1000.0 / c
bound = token_ms + 50
print("| %s, %s tokens, QEMU TCG | value | target |" % (model, gen))
print("|---|---:|---|")
print("| decode at the console | %.1f tok/s | |" % c)
print("| decode through POST /v1/completions | %.1f tok/s | |" % a)
print("| API overhead | %.1f%% | < 5%% |" % (100.0 * (c - a) / c))
print("| first streamed token at the client | %.1f ms | <= %.1f ms (one token %.1f ms + 50 ms) |" % (ttft, bound, token_ms))
print("| ... of which the app's prefill + first token (request in to chunk out) | %.1f ms | |" % server_first)
print("| ... of which delivery (network, HTTP, client) | %.1f ms | <= 50 ms |" % (ttft - server_first))
EOF
)
echo "$table" | tee "$out/api.md"
