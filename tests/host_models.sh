#!/bin/bash
# host_models.sh - scripts/models.sh (`make models`) against a local HTTP
# server on 127.0.0.1 (never the network): checksum good / bad / unknown,
# a connection dropped mid-way (resumed with a Range request), a server that
# goes away (clear error, .part kept, resumed later), a server without Range
# support, verified files skipped without a request; and the real manifest
# is well formed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
models=$root/scripts/models.sh
tmp=$(mktemp -d)
srv_pid=
trap '[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; [ -f "$tmp/out" ] && sed 's/^/    /' "$tmp/out" | tail -n 15; }

for c in curl python3 sha256sum; do
    command -v $c >/dev/null || { echo "FAIL: models_tools: $c missing (scripts/deps.sh --test)"; exit 1; }
done

# ---- a tiny HTTP server: Range support, told by control files in its
# directory to drop the connection after N bytes (.drop, once), to exit after
# that drop (.die) or to ignore Range (.norange); logs "PATH RANGE" per request.
cat >"$tmp/server.py" <<'EOF'
import os, sys, re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
root, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        name = os.path.basename(self.path)
        rng = self.headers.get("Range")
        with open(log, "a") as f: f.write("%s %s\n" % (self.path, rng or "-"))
        path = os.path.join(root, name)
        if not name or name.startswith(".") or not os.path.isfile(path):
            self.send_error(404); return
        data = open(path, "rb").read()
        start = 0
        if rng and not os.path.exists(os.path.join(root, ".norange")):
            m = re.match(r"bytes=(\d+)-$", rng)
            start = int(m.group(1)) if m else 0
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0"); self.end_headers(); return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        drop = os.path.join(root, ".drop")
        if os.path.exists(drop):
            n = int(open(drop).read()); os.remove(drop)
            self.wfile.write(body[:n]); self.wfile.flush()
            self.close_connection = True
            if os.path.exists(os.path.join(root, ".die")):
                os._exit(0)
            return
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up (curl refusing a 200 to a Range request)
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f: f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
EOF

srv=$tmp/srv
mkdir -p "$srv"
start_server() {
    rm -f "$tmp/port"
    python3 "$tmp/server.py" "$srv" "$tmp/port" "$tmp/log" &
    srv_pid=$!
    for _ in $(seq 100); do [ -f "$tmp/port" ] && break; sleep 0.05; done
    [ -f "$tmp/port" ] || { echo "FAIL: models_server: the test server did not start"; exit 1; }
    port=$(cat "$tmp/port")
}
stop_server() { kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=; }

# Files: 3 MiB of random bytes each; the manifest gives their sizes and hashes.
mk() { head -c 3145728 /dev/urandom >"$srv/$1"; }
for f in good.bin bad.bin drop.bin gone.bin norange.bin unknown.gguf; do mk $f; done
sz=3145728
sha() { sha256sum "$srv/$1" | cut -d' ' -f1; }
{
    echo "# test manifest"
    for f in good.bin drop.bin gone.bin norange.bin; do
        echo "$f $sz $(sha $f) https://example.invalid/$f"
    done
    echo "bad.bin $sz $(echo wrong | sha256sum | cut -d' ' -f1) https://example.invalid/bad.bin"
    echo "unknown.gguf - unknown https://example.invalid/unknown.gguf"
} >"$tmp/manifest"

cache=$tmp/cache
start_server
run() {   # run NAME...: models.sh against the test server; output in $tmp/out
    : >"$tmp/log"
    MODELS_MANIFEST=$tmp/manifest MODELS_CACHE=$cache MODELS_BASE_URL=http://127.0.0.1:$port \
        MODELS_RETRIES=3 MODELS_RETRY_DELAY=0 "$models" "$@" >"$tmp/out" 2>&1
}
same() { cmp -s "$srv/$1" "$cache/$1"; }

# good checksum
if run good.bin && same good.bin && [ ! -e "$cache/good.bin.part" ] &&
   grep -q "good.bin: verified" "$tmp/out"; then
    pass models_checksum_good
else
    fail models_checksum_good "no verified good.bin"
fi

# bad checksum: a clear error, nothing verified, the file quarantined
if run bad.bin; then
    fail models_checksum_bad "exit status 0"
elif [ -e "$cache/bad.bin" ] || [ -e "$cache/bad.bin.part" ]; then
    fail models_checksum_bad "bad.bin or bad.bin.part left in the cache"
elif grep -q "bad.bin: CHECKSUM MISMATCH: expected sha256" "$tmp/out" && [ -f "$cache/bad.bin.bad" ] &&
     ! MODELS_MANIFEST=$tmp/manifest MODELS_CACHE=$cache "$models" --image-files | grep -q bad.bin; then
    pass models_checksum_bad
else
    fail models_checksum_bad "no CHECKSUM MISMATCH message or no bad.bin.bad"
fi

# the connection drops after 1 MB: resumed with a Range request, verified
echo 1000000 >"$srv/.drop"
if run drop.bin && same drop.bin && grep -q "^/drop.bin bytes=1000000-$" "$tmp/log" &&
   grep -q "resuming at byte 1000000" "$tmp/out"; then
    pass models_resume_after_drop
else
    fail models_resume_after_drop "not resumed with Range: $(tr '\n' ';' <"$tmp/log")"
fi

# the server goes away mid-way: a clear error, the .part kept ...
echo 1200000 >"$srv/.drop"; touch "$srv/.die"
if run gone.bin; then
    fail models_server_gone "exit status 0"
elif [ "$(stat -c %s "$cache/gone.bin.part" 2>/dev/null)" = 1200000 ] && [ ! -e "$cache/gone.bin" ] &&
     grep -q "gone.bin: giving up after 3 attempts; the partial download is kept" "$tmp/out"; then
    pass models_server_gone
else
    fail models_server_gone "no clear error or no 1200000-byte .part"
fi
wait "$srv_pid" 2>/dev/null; srv_pid=; rm -f "$srv/.die"
# ... and the next run, with the server back, resumes it
start_server
if run gone.bin && same gone.bin && grep -q "^/gone.bin bytes=1200000-$" "$tmp/log"; then
    pass models_resume_later
else
    fail models_resume_later "not resumed: $(tr '\n' ';' <"$tmp/log")"
fi

# a server that ignores Range: starts over and still ends verified
head -c 500000 "$srv/norange.bin" >"$cache/norange.bin.part"
touch "$srv/.norange"
if run norange.bin && same norange.bin && grep -q "does not resume (no Range support); starting over" "$tmp/out"; then
    pass models_no_range_support
else
    fail models_no_range_support "not verified"
fi
rm -f "$srv/.norange"

# unknown checksum: never verified by itself; MODELS_TRUST_NEW=1 pins it
if run unknown.gguf; then
    fail models_checksum_unknown "exit status 0 without a pin"
elif [ -e "$cache/unknown.gguf" ] || ! grep -q "NOT VERIFIED.*no published SHA-256" "$tmp/out" ||
     ! grep -q "$(sha unknown.gguf)" "$tmp/out"; then
    fail models_checksum_unknown "no NOT VERIFIED message with the computed hash, or a file in place"
elif ! MODELS_TRUST_NEW=1 run unknown.gguf || ! same unknown.gguf || [ -s "$tmp/log" ] ||
     ! grep -q "^unknown.gguf $(sha unknown.gguf)$" "$cache/PINS"; then
    fail models_checksum_unknown "MODELS_TRUST_NEW=1 did not pin it (without a new download)"
else
    pass models_checksum_unknown
fi

# already verified: skipped without a single request, even with no server
stop_server
if run good.bin drop.bin gone.bin unknown.gguf && [ ! -s "$tmp/log" ] &&
   [ "$(grep -c "already verified, skipped" "$tmp/out")" = 4 ]; then
    pass models_idempotent
else
    fail models_idempotent "not skipped"
fi

# what goes on the image: verified files only, not MODEL/TOKENIZER twice
files=$(MODELS_MANIFEST=$tmp/manifest MODELS_CACHE=$cache MODEL="$cache/good.bin" "$models" --image-files)
if [[ " $files " == *" $cache/drop.bin:models/drop.bin "* ]] && [[ $files != *good.bin* ]] &&
   [[ $files != *bad.bin* ]] &&
   [ -z "$(MODELS_ON_IMAGE=0 MODELS_MANIFEST=$tmp/manifest MODELS_CACHE=$cache "$models" --image-files)" ]; then
    pass models_image_files
else
    fail models_image_files "got: $files"
fi

# the real manifest parses, its checksums are all known, and the tokenizer's
# matches the shared copy of llama2.c's tokenizer.bin when it is here.
if ! MODELS_CACHE=$tmp/none "$root/scripts/models.sh" --list >"$tmp/out" 2>&1; then
    fail models_manifest "scripts/models.list does not parse"
elif grep -v '^#' "$root/scripts/models.list" | grep -q ' unknown '; then
    fail models_manifest "an entry has an unknown checksum"
else
    tok=${MODELS_DIR:-$root/../shared/models}/tokenizer.bin
    want=$(awk '$1 == "tokenizer.bin" { print $2, $3 }' "$root/scripts/models.list")
    if [ -f "$tok" ] && [ "$want" != "$(stat -c %s "$tok") $(sha256sum "$tok" | cut -d' ' -f1)" ]; then
        fail models_manifest "tokenizer.bin entry ($want) differs from $tok"
    else
        pass models_manifest
    fi
fi
