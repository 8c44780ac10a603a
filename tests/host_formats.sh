#!/bin/bash
# host_formats.sh - the session export formats (export.c) and the JSON reader
# (json.c) against python3's own parsers, through tests/formats_cli.c (built
# here with gcc and the sanitizers against the core sources).
#
# formats_cli writes a sample conversation with tricky texts (quotes, commas,
# CR/LF/CRLF, tabs, emoji, invalid UTF-8 bytes, control characters, a 20 KB
# text, an odd role) as session.{txt,json,md,csv} and metadata.json; the
# expected field values are the input bytes decoded with every invalid byte
# replaced by U+FFFD (one per byte, as the writer does).
#   formats_json      json.loads (NaN/Infinity refused) gives back every
#                     metadata field and every turn's role/text/time/tokens
#   formats_metadata  metadata.json equals the export's "metadata" object
#   formats_csv       csv.reader gives back header + one row per turn with the
#                     same values; the file is byte-for-byte what python's
#                     csv.writer (RFC 4180 style, CRLF) writes for those rows
#   formats_md/txt    strict UTF-8, one heading per turn, every text inside
#   formats_reader    JSON written by python's json.dumps (ASCII-escaped and
#                     raw UTF-8, surrogate pairs) reads back byte-exact with
#                     json_parse; documents python rejects are rejected too,
#                     with a "input.json: byte N: ..." message
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

if ! gcc -std=c11 -O1 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
        -fsanitize=address,undefined -fno-sanitize-recover=undefined -I. \
        tests/formats_cli.c json.c export.c lib.c fmt.c errors.c platform_posix.c pfjob.c \
        -o "$tmp/formats_cli" -lpthread -lm 2>"$tmp/cc.log"; then
    echo "FAIL: formats_build: $(head -n 5 "$tmp/cc.log" | tr '\n' ' ')"
    exit 1
fi
echo "PASS: formats_build"
mkdir -p "$tmp/out"
if ! "$tmp/formats_cli" write "$tmp/out" 2>"$tmp/write.log"; then
    echo "FAIL: formats_write: $(head -n 3 "$tmp/write.log" | tr '\n' ' ')"
    exit 1
fi

python3 - "$tmp" <<'PY'
import codecs, csv, io, json, os, subprocess, sys

tmp = sys.argv[1]
out = os.path.join(tmp, "out")
cli = os.path.join(tmp, "formats_cli")
failed = False

def result(name, problems):
    global failed
    if problems:
        failed = True
        print("FAIL: %s: %s" % (name, "; ".join(problems[:5])))
    else:
        print("PASS: %s" % name)

# one U+FFFD per invalid byte, like tb_put_utf8
codecs.register_error("each_byte", lambda e: ("\ufffd", e.start + 1))
def repaired(b):
    return b.decode("utf-8", "each_byte")

def read(name, mode="rb"):
    with open(os.path.join(out, name), mode) as f:
        return f.read()

turns = []
for line in read("input.tsv", "r").splitlines():
    role, text, t, tokens, tps = line.split("\t")
    turns.append({"role": repaired(bytes.fromhex(role)), "text": repaired(bytes.fromhex(text)),
                  "time_s": int(t), "tokens": int(tokens), "tok_per_s": float(tps)})
n = len(turns)
def iso(t, sep="T"):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d" + sep + "%H:%M:%S") if t else None

def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))

def no_constants(c):
    raise ValueError("non-standard constant " + c)

# ---- JSON export ----
p = []
try:
    raw = read("session.json")
    doc = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    m = doc["metadata"]
    want = {"format": "llm-baremetal session", "version": 1, "session": 12,
            "created_s": 1735787000, "created": iso(1735787000), "updated_s": 1735787700,
            "updated": iso(1735787700), "template": 'chatml "v2"', "turn_count": n,
            "tokens_in": 1234, "tokens_out": 5678, "app_version": "llm-baremetal 0.1",
            "model": {"file": "stories15M.bin", "family": "llama", "quantization": "Q8_0"}}
    for k, v in want.items():
        if m.get(k) != v:
            p.append("metadata %s: %r, want %r" % (k, m.get(k), v))
    s = m["sampler"]
    if not (close(s["temperature"], 0.8) and close(s["topp"], 0.9) and s["seed"] == 2**64 - 1):
        p.append("sampler %r" % s)
    if not close(m["tok_per_s"], 25.3125):
        p.append("tok_per_s %r" % m["tok_per_s"])
    if len(doc["turns"]) != n:
        p.append("%d turns, want %d" % (len(doc["turns"]), n))
    for i, (got, exp) in enumerate(zip(doc["turns"], turns)):
        if got["index"] != i + 1 or got["role"] != exp["role"] or got["text"] != exp["text"]:
            p.append("turn %d: %r != %r" % (i + 1, (got["role"], got["text"][:60]), (exp["role"], exp["text"][:60])))
        if got["time_s"] != (exp["time_s"] or None) or got["time"] != iso(exp["time_s"]):
            p.append("turn %d time %r %r" % (i + 1, got["time_s"], got["time"]))
        if got["tokens"] != exp["tokens"] or not close(got["tok_per_s"], exp["tok_per_s"]):
            p.append("turn %d tokens %r %r" % (i + 1, got["tokens"], got["tok_per_s"]))
    if not raw.endswith(b"}\n") or b"\n  \"metadata\": {\n    \"format\"" not in raw:
        p.append("not 2-space pretty-printed")
except Exception as e:
    p.append("%s: %s" % (type(e).__name__, e))
result("formats_json", p)

p = []
try:
    meta = json.loads(read("metadata.json").decode("utf-8"), parse_constant=no_constants)
    if meta != doc["metadata"]:
        p.append("metadata.json differs from the export's metadata")
except Exception as e:
    p.append("%s: %s" % (type(e).__name__, e))
result("formats_metadata", p)

# ---- CSV ----
p = []
try:
    raw = read("session.csv")
    text = raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    if rows[0] != ["index", "role", "time", "tokens", "tokens_per_s", "text"]:
        p.append("header %r" % rows[0])
    if len(rows) != n + 1:
        p.append("%d rows, want %d" % (len(rows) - 1, n))
    for i, (row, exp) in enumerate(zip(rows[1:], turns)):
        want = [str(i + 1), exp["role"], iso(exp["time_s"]) or "", str(exp["tokens"]),
                "%.2f" % exp["tok_per_s"], exp["text"]]
        if row != want:
            p.append("row %d: %r != %r" % (i + 1, [c[:40] for c in row], [c[:40] for c in want]))
    again = io.StringIO(newline="")
    csv.writer(again, lineterminator="\r\n").writerows(rows)
    if again.getvalue() != text:
        p.append("bytes differ from python csv.writer's")
    if not raw.endswith(b"\r\n"):
        p.append("no CRLF at the end")
except Exception as e:
    p.append("%s: %s" % (type(e).__name__, e))
result("formats_csv", p)

# ---- Markdown and text ----
for fmt, heading in (("md", "## %d. "), ("txt", "[%d] ")):
    p = []
    try:
        text = read("session." + fmt).decode("utf-8")
        for i, exp in enumerate(turns):
            if exp["text"] not in text:
                p.append("turn %d text missing" % (i + 1))
            if ("\n" + heading % (i + 1)) not in text:
                p.append("turn %d heading missing" % (i + 1))
        if "stories15M.bin" not in text or "2025-01-02 03:03:20" not in text:
            p.append("metadata missing")
    except Exception as e:
        p.append("%s: %s" % (type(e).__name__, e))
    result("formats_" + fmt, p)

# ---- the reader on python's JSON ----
p = []
def cli_read(doc_bytes):
    path = os.path.join(tmp, "in.json")
    with open(path, "wb") as f:
        f.write(doc_bytes)
    r = subprocess.run([cli, "read", path], capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", "replace")

items = ["", "plain", 'q"uote\\back/slash', "\b\f\n\r\t\x00\x01\x1f\x7f", "\u00e9\u20ac\U0001F600\U0010FFFF",
         "\ud7ff\ue000\ufffd", "x" * 70000, "mixed \U0001F44D\U0001F3FD text,\r\n"]
for ascii_only in (True, False):
    for indent in (None, 2):
        body = json.dumps({"items": items + [1, 2.5, None, True]}, ensure_ascii=ascii_only, indent=indent)
        rc, got = cli_read(body.encode("utf-8"))
        lines = got.split("\n")[:-1]
        want = [s.encode("utf-8").hex() for s in items] + ["type 3", "type 3", "type 0", "type 2"]
        if rc != 0 or lines != want:
            p.append("ascii=%s indent=%s: rc %d, %s" % (ascii_only, indent, rc, got[:120]))
bad = [b'{"items": [1,]}', b'{"items": ["\\ud800"]}', b'{"items": ["a\tb"]}', b'{"items": [01]}',
       b'{"items": [NaN]}', b'{"items": ["\xff"]}', b'{"items": [1] } x', b"{'items': []}",
       b'{"items": [.5]}', b'{"items": ["\\x41"]}', b'{"items": [tru]}', b'{"items": [1e]}',
       b'{"items": [-]}', b'{"items": ["\\uDC00"]}', b'{"items": [1]', b'']
for doc_b in bad:
    try:
        # python takes lone surrogates, which no UTF-8 text can hold
        json.dumps(json.loads(doc_b.decode("utf-8"), parse_constant=no_constants),
                   ensure_ascii=False).encode("utf-8")
        p.append("python accepts %r (fix the test)" % doc_b)
    except (ValueError, UnicodeError):
        pass
    rc, got = cli_read(doc_b)
    if rc != 2 or not got.startswith("input.json: byte "):
        p.append("%r: rc %d, %r" % (doc_b, rc, got[:80]))
result("formats_reader", p)
sys.exit(1 if failed else 0)
PY
