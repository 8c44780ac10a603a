#!/bin/bash
# host_nginx.sh - scripts/nginx-llm.conf in front of two machines running the
# HTTP API: two QEMUs (user networking, restrict=on, each forwarded to its
# own port on 127.0.0.1; both with api_key) behind Debian's nginx, run
# unprivileged on 127.0.0.1 with its own prefix, temp and log files.
#   - the config file, its marked lines rewritten to the test's ports, passes
#     nginx -t
#   - greedy completions through nginx equal llama2.c's reference text; both
#     machines' consoles show requests (the load is spread)
#   - a streamed completion arrives token by token, not in a few bursts
#     (proxy_buffering off), ends with [DONE]
#   - the bearer token passes through (wrong one: 401 from the machine)
#   - with one machine powered off, requests still succeed on the other
. "$(dirname "$0")/qemu_lib.sh"
need_files nginx "$MODELS/stories260K.bin" "$MODELS/tok512.bin" \
    "$MODELS/reference/stories260K_greedy.tsv" || finish
export MODELS
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || { skip nginx "no nginx (scripts/deps.sh --test)"; finish; }
CHECK=$QEMU_LIB_ROOT/tests/net_check.py
CONF=$QEMU_LIB_ROOT/scripts/nginx-llm.conf
KEY=s3cret


# ---- two QEMUs with qemu_lib --------------------------------------------------------
# qemu_lib drives one QEMU through globals; vm_use N saves the current one's
# and makes machine N current (its own scratch dir: image, OVMF vars, FIFOs).
QT0=$QT CUR=
declare -A VM
vm_use() {
    if [ -n "$CUR" ]; then
        VM[$CUR.pid]=$QEMU_PID VM[$CUR.cat]=$QEMU_CAT_PID VM[$CUR.fd]=$QEMU_IN_FD
        VM[$CUR.mark]=$QEMU_MARK
    fi
    CUR=$1
    # shellcheck disable=SC2034  # QEMU_LOG is qemu_lib's
    QT=$QT0/vm$1 QEMU_LOG=$QT0/vm$1/serial.log
    QEMU_PID=${VM[$1.pid]-} QEMU_CAT_PID=${VM[$1.cat]-} QEMU_IN_FD=${VM[$1.fd]-}
    QEMU_MARK=${VM[$1.mark]-0}
    mkdir -p "$QT"
}
NGINX_PID=
cleanup() {
    local rc=$? n
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    for n in 1 2; do vm_use $n; qemu_stop; done
    QT=$QT0
    (exit $rc); qemu_lib_cleanup
}
trap cleanup EXIT

P1=$(free_port 1) && P2=$(free_port 2) && NP=$(free_port 3) && [ "$P1" != "$P2" ] &&
    [ "$P2" != "$NP" ] && [ "$P1" != "$NP" ] || { fail nginx_ports "no free ports"; finish; }

printf 'autodemo=0\napi_key=%s\nmodel=stories260K.bin\n' "$KEY" >"$QT0/llm.cfg"
for n in 1 2; do
    vm_use $n
    qemu_image "$QT/n.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
        CFG="$QT0/llm.cfg" || { fail nginx_image "mkimage failed"; finish; }
    port=P$n
    # One vCPU each: two guests share the host's cores.
    SMP=1 qemu_start "$QT/n.img" -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${!port}-:8080" \
        -device virtio-net-pci,netdev=n0,romfile=
done
for n in 1 2; do
    vm_use $n
    wait_for "HTTP API on" 180 || { fail nginx_boot_$n "machine $n: no \"HTTP API on\" line"; finish; }
done

# ---- nginx ---------------------------------------------------------------------------
# The shipped file with its @BACKEND1@/@BACKEND2@/@LISTEN@ lines pointed at
# the test's ports, inside a main config of the test's own.
ND=$QT0/nginx
mkdir -p "$ND/tmp"
sed -e "/@BACKEND1@/s/server [^ ;]*/server 127.0.0.1:$P1/" \
    -e "/@BACKEND2@/s/server [^ ;]*/server 127.0.0.1:$P2/" \
    -e "/@LISTEN@/s/listen [^;]*;/listen 127.0.0.1:$NP;/" "$CONF" >"$ND/llm.conf"
if [ "$(grep -c "server 127.0.0.1:$P1 \|server 127.0.0.1:$P2 \|listen 127.0.0.1:$NP;" "$ND/llm.conf")" != 3 ]; then
    fail nginx_conf_markers "the @BACKEND1@/@BACKEND2@/@LISTEN@ lines of $CONF were not rewritten"; finish
fi
user=
[ "$(id -u)" = 0 ] && user='user root;'   # workers reach the test's 0700 dirs
cat >"$ND/nginx.conf" <<EOF
$user
worker_processes 1;
pid $ND/nginx.pid;
error_log $ND/error.log info;
events { worker_connections 256; }
http {
    log_format up '\$request \$status upstream=\$upstream_addr \$upstream_status';
    access_log $ND/access.log up;
    client_body_temp_path $ND/tmp/body;
    proxy_temp_path $ND/tmp/proxy;
    fastcgi_temp_path $ND/tmp/fastcgi;
    uwsgi_temp_path $ND/tmp/uwsgi;
    scgi_temp_path $ND/tmp/scgi;
    include $ND/llm.conf;
}
EOF
if "$NGINX" -t -p "$ND" -c "$ND/nginx.conf" >"$ND/t.log" 2>&1; then pass nginx_conf_valid; else
    fail nginx_conf_valid "$(tr '\n' ' ' <"$ND/t.log")"; finish; fi
"$NGINX" -p "$ND" -c "$ND/nginx.conf" -g 'daemon off;' 2>>"$ND/error.log" &
NGINX_PID=$!
URL=http://127.0.0.1:$NP
for ((i = 0; i < 50; i++)); do
    curl -s -o /dev/null "$URL/health" && break
    sleep 0.2
done

# ---- through nginx ---------------------------------------------------------------------
N=16
ok=0
for i in 1 2 3 4 5 6; do
    code=$(curl -s -m 120 -o "$QT0/r$i.out" -w '%{http_code}' "$URL/v1/completions" \
        -H "Authorization: Bearer $KEY" \
        -d "{\"prompt\":\"Once upon a time\",\"max_tokens\":$N,\"temperature\":0}")
    r=$(python3 "$CHECK" completion "$QT0/r$i.out" "$N")
    if [ "$code" = 200 ] && [ "$r" = ok ]; then ok=$((ok + 1)); else
        fail nginx_completion "request $i: HTTP $code: $r"; fi
done
[ $ok = 6 ] && pass nginx_completion

# Both machines answered some of them (their consoles log each request).
counts=
for n in 1 2; do
    vm_use $n
    counts="$counts $(clean_log | grep -ac '^http: POST /v1/completions 200')"
done
read -r c1 c2 <<<"$counts"
[ "$c1" -ge 1 ] && [ "$c2" -ge 1 ] && [ $((c1 + c2)) = 6 ] && pass nginx_both_backends ||
    fail nginx_both_backends "machine 1 logged $c1 completions, machine 2 $c2 (want both, 6 in all)"

# A long stream: events arrive spread out, as the tokens are made.
r=$(timeout 150 python3 - "$URL/v1/completions" "$KEY" "$QT0/sse.txt" "$QEMU_LIB_ROOT/tests" 2>&1 <<'EOF'
import json, sys, time, urllib.request
url, key, out, tests = sys.argv[1:]
sys.dont_write_bytecode = True  # no tests/__pycache__
sys.path.insert(0, tests)
from net_check import ref
body = json.dumps({"prompt": "Once upon a time", "max_tokens": 300, "temperature": 0, "stream": True})
req = urllib.request.Request(url, body.encode(), {"Authorization": "Bearer " + key})
t0, times, data = time.monotonic(), [], []
with urllib.request.urlopen(req, timeout=120) as r:
    assert r.status == 200 and r.headers.get_content_type() == "text/event-stream", r.headers
    while True:
        line = r.fp.readline()   # as the bytes arrive, no read-ahead
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith("data: "):
            times.append(time.monotonic() - t0)
            data.append(line[6:])
with open(out, "w") as f:
    f.writelines("%.4f\t%s\n" % x for x in zip(times, data))
assert data[-1] == "[DONE]", data[-1:]
chunks = [json.loads(d) for d in data[:-1]]
assert chunks[-1]["choices"][0]["finish_reason"] == "length", chunks[-1]
text = "".join(c["choices"][0]["text"] for c in chunks)
# Bursts: events under 1 ms after the previous one came in the same read
# (a token takes a few ms here). Straight from a machine: ~300 bursts of at
# most 3-5 events; a proxy that buffers delivers a few big ones.
sizes = [1]
for a, b in zip(times, times[1:]):
    if b - a > 0.001:
        sizes.append(1)
    else:
        sizes[-1] += 1
bursts, span = len(sizes), times[-2] - times[0]
assert span > 0.3 and bursts >= len(times) // 3 and max(sizes) <= max(8, len(times) // 10), \
    "%d events in %d bursts (the largest %d) over %.2fs: buffered?" % (len(times), bursts, max(sizes), span)
# The reference has fewer than 300 tokens: it is the start of the text.
want = ref(0)
assert text.startswith(want), "text %r\n  want %r..." % (text[:80], want[:80])
print("ok %d events in %d bursts (the largest %d) over %.2fs" % (len(times), bursts, max(sizes), span))
EOF
)
case $r in ok*) pass nginx_stream; echo "  ($r)" ;; *) fail nginx_stream "$(printf %s "$r" | tail -n 2 | tr '\n' ' ')" ;; esac

# The bearer token is the machines' business: passed through both ways.
code=$(curl -s -m 30 -o "$QT0/w.out" -w '%{http_code}' "$URL/v1/models" -H 'Authorization: Bearer guess')
[ "$code" = 401 ] && pass nginx_auth_passthrough || fail nginx_auth_passthrough "wrong token: HTTP $code"

# Machine 2 powered off: nginx sends everything to machine 1.
vm_use 2
qemu_stop
vm_use 1
before=$(clean_log | grep -ac '^http: POST /v1/completions 200')
ok=0
for i in 1 2 3 4; do
    code=$(curl -s -m 60 -o "$QT0/f$i.out" -w '%{http_code}' "$URL/v1/completions" \
        -H "Authorization: Bearer $KEY" -d '{"prompt":"Once upon a time","max_tokens":8,"temperature":0}')
    [ "$code" = 200 ] && [ "$(python3 "$CHECK" completion "$QT0/f$i.out" 8)" = ok ] && ok=$((ok + 1))
done
after=$(clean_log | grep -ac '^http: POST /v1/completions 200')
# nginx's access log: at least one of them was tried on machine 2 first.
retried=$(grep -c "upstream=127.0.0.1:$P2, 127.0.0.1:$P1 " "$ND/access.log")
[ $ok = 4 ] && [ $((after - before)) = 4 ] && [ "$retried" -ge 1 ] && pass nginx_failover ||
    fail nginx_failover "$ok of 4 answered with machine 2 off; machine 1 logged $((after - before)), nginx retried $retried"
finish
