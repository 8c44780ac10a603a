#!/bin/bash
# host_fuzz.sh - libFuzzer (clang -fsanitize=fuzzer,address,undefined) over
# every parser of untrusted input: model files (fuzz_model), tokenizer.bin
# (fuzz_tokenizer), llm.cfg + prompts.txt + config_set (fuzz_config) and the
# number parsers / small printf against libc (fuzz_numbers), LZ4 frames and
# round trips (fuzz_lz4), metadata.json and the JSON writer (fuzz_json),
# HTTP requests/responses, chunked bodies, SSE and URLs (fuzz_http), TCP
# segments and socket calls on a live stack (fuzz_tcp).
#
# Builds tests/fuzz_<name>.c with the core sources it needs and
# platform_posix.c into build/fuzz/, generates seed corpora in a temp dir
# (headers cut from ../shared/models, tiny valid models, sample llm.cfg ...),
# runs each target for a bounded time and prints "PASS: fuzz_<name>" or
# "FAIL: fuzz_<name>: <reason>" (with the crash input and the top frame) for
# scripts/run_tests.sh. Crash inputs stay in build/fuzz/artifacts/; replay
# one with   build/fuzz/fuzz_<name> build/fuzz/artifacts/fuzz_<name>-crash-...
#
#   FUZZ_SECONDS=s   time per target (default 20)
#   FUZZ_JOBS=n      targets run at once (default: number of CPUs, at most 4)
#   FUZZ_TARGETS="model config"   run only these
#   FUZZ_KEEP=1      keep the final corpora in build/fuzz/corpus_<name>/
#   FUZZ_CC=clang    the compiler (must support -fsanitize=fuzzer)
#   MODELS_DIR       the shared models (seeds; synthetic seeds without it)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
M=${MODELS_DIR:-$root/../shared/models}
secs=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
[ "$jobs" -gt 4 ] && jobs=4
targets=${FUZZ_TARGETS:-model tokenizer config numbers gguf lz4 json net http tcp session}
out=$root/build/fuzz
art=$out/artifacts
CLANG=${FUZZ_CC:-clang}
mkdir -p "$out" "$art"

# tmpfs when there is one: fuzz_model writes a temp file per input.
tmp=$(mktemp -d -p /dev/shm llm_fuzz.XXXXXX 2>/dev/null || mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; failed=1; }
failed=0

# name -> core sources, max input length, extra link flags
sources() {
    case $1 in
        model) echo "model.c model_gguf.c gguf.c quant.c kernels.c simd.c mathf.c lib.c fmt.c errors.c" ;;
        tokenizer) echo "tokenizer.c lib.c fmt.c errors.c" ;;
        config) echo "config.c demo.c net_buf.c lib.c fmt.c errors.c" ;;
        numbers) echo "lib.c fmt.c errors.c" ;;
        gguf) echo "gguf.c lib.c fmt.c errors.c" ;;
        lz4) echo "lz4.c lib.c fmt.c errors.c" ;;
        json) echo "json.c lib.c fmt.c errors.c" ;;
        http) echo "http.c http_server.c http_client.c json.c lib.c fmt.c errors.c" ;;
        net) echo "$(ls net*.c | grep -v '^net_snp\.c$\|^netsvc\.c$' | tr '\n' ' ')lib.c fmt.c errors.c" ;;
        tcp) echo "$(ls net*.c | grep -v '^net_snp\.c$\|^netsvc\.c$' | tr '\n' ' ')lib.c fmt.c errors.c" ;;
        session) echo "session.c storage.c json.c export.c lz4.c chat.c engine.c template.c generate.c sampler.c transformer.c tokenizer.c tokenizer_spm.c tokenizer_bpe.c model.c model_gguf.c gguf.c quant.c kernels.c simd.c mathf.c prof.c lib.c fmt.c errors.c" ;;
    esac
}
max_len() {
    case $1 in
        model) echo 4096 ;;
        tokenizer) echo 8192 ;;
        config) echo 4096 ;;
        numbers) echo 128 ;;
        gguf) echo 16384 ;;
        lz4) echo 32768 ;;
        json) echo 4096 ;;
        http) echo 4096 ;;
        net) echo 4096 ;;
        tcp) echo 8192 ;;
        session) echo 4096 ;;
    esac
}
# shellcheck disable=SC2054
CFLAGS=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer -I. -D_GNU_SOURCE -std=c11 -g -O1 -Wall -Wextra)

# ---- toolchain ----------------------------------------------------------------
# Without clang's libFuzzer runtime nothing can run: say so per target.
probe_err=
if ! command -v "$CLANG" >/dev/null 2>&1; then
    probe_err="$CLANG not found (Debian: apt-get install clang libclang-rt-14-dev; scripts/deps.sh --test)"
else
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
        >"$tmp/probe.c"
    if ! "$CLANG" "${CFLAGS[@]}" "$tmp/probe.c" -o "$tmp/probe" >"$tmp/probe.log" 2>&1; then
        probe_err="$CLANG cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing?): $(grep -m1 -i 'error' "$tmp/probe.log" || head -1 "$tmp/probe.log")"
    fi
fi
if [ -n "$probe_err" ]; then
    for t in $targets; do fail "fuzz_$t" "$probe_err"; done
    exit 1
fi

# ---- build (in parallel) --------------------------------------------------------
for t in $targets; do
    [ -f "tests/fuzz_$t.c" ] || { fail "fuzz_$t" "tests/fuzz_$t.c missing"; continue; }
    # shellcheck disable=SC2046
    ( "$CLANG" "${CFLAGS[@]}" "tests/fuzz_$t.c" $(sources "$t") platform_posix.c pfjob.c -lm \
          -o "$out/fuzz_$t" >"$out/fuzz_$t.build.log" 2>&1
      echo $? >"$tmp/build_$t.rc" ) &
    pids+=($!)
done
wait
pids=()
built=
for t in $targets; do
    [ -f "$tmp/build_$t.rc" ] || continue
    if [ "$(cat "$tmp/build_$t.rc")" != 0 ]; then
        fail "fuzz_$t" "build failed: $(grep -m1 'error' "$out/fuzz_$t.build.log" || head -1 "$out/fuzz_$t.build.log") (log: build/fuzz/fuzz_$t.build.log)"
    else
        built="$built $t"
    fi
done

# ---- seed corpora and dictionaries ------------------------------------------------
have_models=1
for f in stories260K.bin tok512.bin aidreams260K.bin aidreams260K_tok512.bin stories260K.gguf; do
    [ -f "$M/$f" ] || have_models=0
done
[ "$have_models" = 1 ] || echo "note: $M lacks the shared models; using synthetic seeds only"
for t in $targets; do mkdir -p "$tmp/corpus_$t"; done

if ! python3 - "$tmp" "$M" "$have_models" <<'EOF'
import os, struct, sys
tmp, M, have = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

def put(target, name, data):
    d = os.path.join(tmp, "corpus_" + target)
    if os.path.isdir(d):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

def rd(name, n=None):
    with open(os.path.join(M, name), "rb") as f:
        return f.read() if n is None else f.read(n)

# -- model: 8-byte claimed size, then the file bytes --
def claim(size, body):
    return struct.pack("<Q", size) + body

def legacy(dim, hid, L, heads, kv, vocab, seq, shared=True):
    head = dim // heads
    kvd = dim // heads * kv
    floats = (vocab * dim + L * dim + L * dim * dim + 2 * L * kvd * dim + L * dim * dim
              + L * dim + 3 * L * hid * dim + dim + seq * head + (0 if shared else vocab * dim))
    hdr = struct.pack("<7i", dim, hid, L, heads, kv, vocab if shared else -vocab, seq)
    return hdr + struct.pack("<%df" % floats, *[(i % 17) * 0.25 - 2 for i in range(floats)])

def v1(dim, hid, L, heads, kv, vocab, seq, shared=True):
    kvd = dim // heads * kv
    floats = (2 * L * dim + dim + vocab * dim + 2 * L * dim * dim + 2 * L * kvd * dim
              + 3 * L * hid * dim + (0 if shared else vocab * dim))
    hdr = struct.pack("<II7iB", 0x616B3432, 1, dim, hid, L, heads, kv, vocab, seq,
                      1 if shared else 0)
    hdr += b"\0" * (256 - len(hdr))
    return hdr + struct.pack("<%df" % floats, *[(i % 13) * 0.5 - 3 for i in range(floats)])

tiny = {
    "legacy_shared": legacy(2, 1, 1, 1, 1, 1, 1),
    "legacy_unshared": legacy(2, 3, 1, 1, 1, 2, 2, shared=False),
    "legacy_gqa": legacy(8, 4, 2, 2, 1, 3, 2),
    "v1_shared": v1(2, 1, 1, 1, 1, 1, 1),
    "v1_unshared": v1(4, 2, 1, 2, 1, 2, 3, shared=False),
}
for name, body in tiny.items():
    put("model", name, claim(len(body), body))
    put("model", name + "_cut", claim(len(body), body[:-4]))
put("model", "empty", b"")
put("model", "short_header", claim(20, b"\x40\0\0\0" * 5))
if have:
    for f in ("stories260K.bin", "aidreams260K.bin"):
        size = os.path.getsize(os.path.join(M, f))
        put("model", f + "_head", claim(size, rd(f, 2048)))
        put("model", f + "_head_wrongsize", claim(size + 4, rd(f, 2048)))
    put("model", "gguf_head", claim(os.path.getsize(os.path.join(M, "stories260K.gguf")),
                                     rd("stories260K.gguf", 512)))

# ---- paste from here into tests/host_fuzz.sh ----
# -- gguf: the bytes of a GGUF file --
def gs(b):
    return struct.pack("<Q", len(b)) + b
def gkv(key, t, payload):
    return gs(key) + struct.pack("<I", t) + payload
def garr(et, items):
    return struct.pack("<IQ", et, len(items)) + b"".join(items)
def gguf(kvs, tensors, version=3, align=32):
    # tensors: (name, dims, ggml type, data bytes)
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    off, blob = 0, b""
    for name, dims, t, data in tensors:
        out += gs(name) + struct.pack("<I%dQ" % len(dims), len(dims), *dims)
        out += struct.pack("<IQ", t, off)
        pad = data + b"\0" * (-len(data) % align)
        blob += pad
        off += len(pad)
    return out + b"\0" * (-len(out) % align) + blob
u32 = lambda k, v: gkv(k, 4, struct.pack("<I", v))
gstr = lambda k, v: gkv(k, 8, gs(v))
arch = [gstr(b"general.architecture", b"llama"), u32(b"llama.block_count", 1)]
toks = gkv(b"tokenizer.ggml.tokens", 9, garr(8, [gs(b"<unk>"), gs(b"<s>"), gs(b"\xe2\x96\x81a")]))
scores = gkv(b"tokenizer.ggml.scores", 9, garr(6, [struct.pack("<f", -i) for i in range(3)]))
gtypes = gkv(b"tokenizer.ggml.token_type", 9, garr(5, [struct.pack("<i", 1)] * 3))
allv = [gkv(b"u8", 0, b"\x07"), gkv(b"i8", 1, b"\xff"), gkv(b"u16", 2, b"\1\2"),
        gkv(b"i16", 3, b"\xfe\xff"), gkv(b"i32", 5, b"\xff" * 4), gkv(b"f32", 6, struct.pack("<f", 0.5)),
        gkv(b"bool", 7, b"\1"), gkv(b"u64", 10, b"\xff" * 8), gkv(b"i64", 11, b"\1" + b"\0" * 7),
        gkv(b"f64", 12, struct.pack("<d", 1e-5)), gkv(b"empty", 9, garr(4, [])),
        gkv(b"bools", 9, garr(7, [b"\0", b"\1"])), gkv(b"u64s", 9, garr(10, [b"\xff" * 8]))]
f32 = lambda n: struct.pack("<%df" % n, *[i * 0.5 for i in range(n)])
qtypes = {2: (32, 18), 3: (32, 20), 8: (32, 34), 12: (256, 144), 14: (256, 210)}
quant = [(b"q%d" % t, [2 * be, 1], t, bytes(i % 251 for i in range(2 * bb)))
         for t, (be, bb) in qtypes.items()]
seeds = {
    "tiny": gguf(arch, [(b"w", [4, 2], 0, f32(8))]),
    "v2": gguf(arch, [(b"w", [4], 0, f32(4))], version=2),
    "v1": gguf(arch, [], version=1),
    "no_tensors": gguf(arch + [toks, scores, gtypes], []),
    "all_values": gguf(allv + arch, [(b"s", [], 0, f32(1))]),
    "types": gguf(arch, [(b"h", [8, 2], 1, b"\0" * 32), (b"b", [8], 30, b"\0" * 16)] + quant),
    "align64": gguf(arch + [u32(b"general.alignment", 64)], [(b"a", [3], 0, f32(3)),
                    (b"b", [5, 1, 1, 1], 0, f32(5))], align=64),
    "align1": gguf([u32(b"general.alignment", 1)], [(b"a", [3], 0, f32(3)), (b"b", [1], 0, f32(1))], align=1),
    "split_first": gguf(arch + [gkv(b"split.no", 2, b"\0\0"), gkv(b"split.count", 2, b"\2\0"),
                                gkv(b"split.tensors.count", 5, b"\2\0\0\0")], [(b"a", [2], 0, f32(2))]),
    "unsupported": gguf(arch, [(b"k", [256], 13, b"\0" * 176)]),
}
for name, body in seeds.items():
    put("gguf", name, body)
    put("gguf", name + "_half", body[:len(body) // 2])
put("gguf", "empty", b"")
put("gguf", "magic_only", b"GGUF\3\0\0\0")
def gskip(b, pos, t):  # the end of one value of type t at pos
    if t == 8:
        return pos + 8 + struct.unpack_from("<Q", b, pos)[0]
    if t == 9:
        et, n = struct.unpack_from("<IQ", b, pos)
        pos += 12
        for _ in range(n):
            pos = gskip(b, pos, et)
        return pos
    return pos + {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}[t]
if have:
    g = rd("stories260K.gguf", 16384)
    put("gguf", "stories_head", g)
    pos = 24  # stories260K.gguf's metadata without its tensors
    for _ in range(struct.unpack_from("<Q", g, 16)[0]):
        pos += 8 + struct.unpack_from("<Q", g, pos)[0]
        pos = gskip(g, pos + 4, struct.unpack_from("<I", g, pos)[0])
    put("gguf", "stories_meta", g[:8] + struct.pack("<Q", 0) + g[16:pos])
    if os.path.exists(os.path.join(M, "ggml-vocab-llama-spm.gguf")):
        put("gguf", "vocab_head", rd("ggml-vocab-llama-spm.gguf", 4096))
# -- tokenizer --
def tok(pieces, max_len=None):
    out = struct.pack("<I", max_len if max_len is not None else max(len(p) for p in pieces))
    for i, p in enumerate(pieces):
        out += struct.pack("<fi", -float(i), len(p)) + p
    return out

byte_pieces = [b"<0x%02X>" % b for b in range(256)]
base = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + byte_pieces
put("tokenizer", "minimal", tok([b""]))
put("tokenizer", "bytes_only", tok(base))
put("tokenizer", "merges", tok(base + [b" ", b"a", b"b", b"ab", b" a", b" ab", b"ba", b"aba",
                                       b"\xc3\xa9", b"\0x", b"<0x4", b"<0x-1>", b"<0x 0A>"]))
put("tokenizer", "dup_pieces", tok([b"x", b"x", b"y", b"xy", b"xy"]))
put("tokenizer", "understated_max", tok([b"abc", b"defgh", b"abcdefgh"], max_len=1))
if have:
    t = rd("tok512.bin")
    put("tokenizer", "tok512", t)
    put("tokenizer", "tok512_cut", t[:1500])
    put("tokenizer", "tok512_cut_odd", t[:1001])
    put("tokenizer", "aidreams_cut", rd("aidreams260K_tok512.bin", 3000))
    put("tokenizer", "gguf_head", rd("stories260K.gguf", 256))

# -- config (llm.cfg text, prompts.txt text, key=value for config_set) --
put("config", "llm.cfg", b"""# llm.cfg
model = models/stories260K.bin
tokenizer=models\\tok512.bin\r
temperature=0.8
topp = 0.95
seed=18446744073709551615
steps=128
autodemo=0
demo_delay=5
prompt="  Once upon a time, Issue #5 "
shutdown=yes
""")
put("config", "llm_bad.cfg", b"\xef\xbb\xbf" + b"".join(
    l + b"\n" for l in [b"temperature=0.5 # hot", b"topp=2", b"seed=-1", b"steps=99999999999",
                        b"bogus=1", b"no equals here", b"=x", b"shutdown=maybe",
                        b"model=\x01ctl", b"prompt=" + b"x" * 1100, b"Temperature=\"\"",
                        b"autodemo= 1e3", b"demo_delay=+3", b"prompt=\xff\xfe", b"a\0b=1",
                        b"seed=18446744073709551616", b"topp=nan", b"temperature=inf",
                        b"steps=", b"model", b"tokenizer=\xc3\xa9\xe2\x82\xac",
                        b"TOPP=1.0", b"x=y"]))
put("config", "prompts.txt", b"""\xef\xbb\xbfOnce upon a time\r
# Animals
The little dog
#
# animals
A cat sat by the window.
  # Stories and a very long category name that is cut at sixty-three bytes \xc3\xa9\xc3\xa9
Long ago,\tin a faraway land,
\xff bad line
""")
put("config", "set_temperature", b"TEMPERATURE=1e-3")
put("config", "set_prompt", b"prompt=\"\"quoted\"\"")
put("config", "set_model", b"model\0C:\\models\\a.bin")

# -- numbers: text for parse_long/parse_float; bytes also drive the formats --
for i, s in enumerate([b"42", b" -17 ", b"9223372036854775807", b"-9223372036854775808",
                       b"9223372036854775808", b"0.5", b"1e-3", b"3.4028235e38",
                       b"  +.25E+2 ", b"1e39", b"0x10", b"1e-46", b"123456789012345678901234",
                       b"0.000000000000000000000000000000000000000001", b"inf", b"-nan",
                       b"\x0c\x0f%d\xff\xff\xff\xff\xff\xff\xff\x7fhello world"]):
    put("numbers", "n%02d" % i, s)
EOF
then
    for t in $built; do fail "fuzz_$t" "seed corpus generation failed (python3)"; done
    exit 1
fi

# -- lz4: frames from the lz4 command (tests/host_lz4.sh needs it too) and plain text --
if [ -d "$tmp/corpus_lz4" ]; then
    head -c 3000 README.md >"$tmp/lz4_text"
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12; do cat README.md; done \
        | head -c 150000 >"$tmp/lz4_long" # three 64 KB blocks with -B4
    cp "$tmp/lz4_text" "$tmp/corpus_lz4/text"
    printf '' >"$tmp/corpus_lz4/empty"
    if command -v lz4 >/dev/null 2>&1; then
        k=0
        for opts in "" "--content-size -BX" "-BD --no-frame-crc" "-9" "-B4 -BD" "-B4 -BX --content-size"; do
            k=$((k + 1))
            # shellcheck disable=SC2086
            lz4 -q -c $opts "$tmp/lz4_text" >"$tmp/corpus_lz4/cli_text_$k"
            # shellcheck disable=SC2086
            lz4 -q -c $opts "$tmp/lz4_long" >"$tmp/corpus_lz4/cli_long_$k"
        done
        printf 'x' | lz4 -q -c >"$tmp/corpus_lz4/cli_one"
        printf '' | lz4 -q -c >"$tmp/corpus_lz4/cli_empty"
        cat "$tmp/corpus_lz4/cli_one" "$tmp/corpus_lz4/cli_text_1" >"$tmp/corpus_lz4/cli_concat"
        { printf '\x5a\x2a\x4d\x18\x03\x00\x00\x00abc'; cat "$tmp/corpus_lz4/cli_one"; } \
            >"$tmp/corpus_lz4/cli_skippable"
    else
        echo "note: no lz4 command; fuzz_lz4 starts from plain text only"
    fi
fi

# -- json: metadata.json-like documents and edge cases --
if [ -d "$tmp/corpus_json" ]; then
    printf '%s\n' '{' '  "format": "llm-baremetal session",' '  "version": 1,' '  "session": 3,' \
        '  "created_s": 1735787000,' '  "created": "2025-01-02T03:03:20",' \
        '  "model": {"file": "stories15M.bin", "family": "llama", "quantization": null},' \
        '  "sampler": {"temperature": 0.8, "topp": 0.9, "seed": 18446744073709551615},' \
        '  "turns": [{"role": "user", "text": "a\"b\\c\u00e9\ud83d\ude00\n", "tok_per_s": 1.5e-3}],' \
        '  "ok": true, "no": false, "": [], "e": {}' '}' >"$tmp/corpus_json/metadata"
    printf '\xef\xbb\xbf[1,-0,0.5,1E+2,"\\u0000",[[[]]]]' >"$tmp/corpus_json/bom_array"
    printf '{"a":1,"a":2}' >"$tmp/corpus_json/dup"
    printf '"\\ud800"' >"$tmp/corpus_json/lone"
    printf '"\xc3\xa9\xf0\x9f\x98\x80\xff"' >"$tmp/corpus_json/utf8"
    printf '[1,]' >"$tmp/corpus_json/trailing"
    printf '' >"$tmp/corpus_json/empty"
fi
# -- session: conversation.log records (preallocated: zero bytes after them)
# and metadata.json copies (fuzz_session.c) --
if [ -d "$tmp/corpus_session" ]; then
    printf '%s\n' '{"role":"user","time_s":1735787000,"tokens":5,"tok_per_s":0,"text":"Who is Lily?"}' \
        '{"role":"assistant","time_s":1735787001,"tokens":24,"tok_per_s":41.5,"text":"Lily is a girl.\n\u00e9"}' \
        >"$tmp/corpus_session/log"
    head -c 200 /dev/zero >>"$tmp/corpus_session/log"
    printf '{"role":"user","time_s":1,"tokens":1,"tok_per_s":0,"text":"cut' >"$tmp/corpus_session/torn"
    printf '%s\n' '{"format": "llm-baremetal session", "version": 1, "session": 1, "created_s": 1,' \
        ' "updated_s": 2, "turn_count": 2, "model": {"file": "m.bin", "family": "llama",' \
        ' "quantization": "q8_0"}, "sampler": {"temperature": 0.8, "topp": 0.9, "seed": 7},' \
        ' "template": "qa", "tokens_in": 5, "tokens_out": 24, "tok_per_s": 41.5, "app_version": "1"}' \
        '                ' >"$tmp/corpus_session/meta"
fi
printf '%s\n' '"{"' '"}"' '"["' '"]"' '":"' '","' '"\\u"' '"\\ud83d\\ude00"' '"true"' '"false"' \
    '"null"' '"1e-3"' '"-0.5"' '"\xef\xbb\xbf"' '"\\\""' >"$tmp/json.dict"

# -- net: records [flags][length: 2 bytes][bytes] (tests/fuzz_net.c): frames,
#    and bare DHCP / DNS messages for its parser runs --
if [ -d "$tmp/corpus_net" ]; then
    python3 - "$tmp/corpus_net" <<'EOF' || echo "note: fuzz_net seeds not generated"
import os, struct, sys
d = sys.argv[1]
us, peer, bc = bytes.fromhex("525400123456"), bytes.fromhex("52550a000202"), b"\xff" * 6
ip_us, ip_gw, ip_dns = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]), bytes([10, 0, 2, 3])
def cs(b):
    b += b"\0" * (len(b) & 1)
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def rec(p, flags=0): return bytes([flags]) + struct.pack(">H", len(p)) + p
def eth(dst, t, p): return dst + peer + struct.pack(">H", t) + p
def ip(src, dst, proto, p):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(p), 1, 0, 64, proto, 0, src, dst)
    return h[:10] + struct.pack(">H", cs(h)) + h[12:] + p
def udp(sp, dp, p): return struct.pack(">HHHH", sp, dp, 8 + len(p), 0) + p
def dhcp(t):
    m = struct.pack(">BBBBI", 2, 1, 6, 0, 0) + b"\0" * 8 + ip_us + ip_gw + b"\0" * 4 + us
    m += b"\0" * (236 - len(m)) + b"\x63\x82\x53\x63" + bytes([53, 1, t, 54, 4]) + ip_gw
    m += bytes([51, 4, 0, 1, 81, 128, 1, 4, 255, 255, 255, 0, 3, 4]) + ip_gw + bytes([6, 4]) + ip_dns
    return m + bytes([58, 4, 0, 0, 0, 30, 59, 4, 0, 0, 0, 50, 255])
q = b"\x07example\x03com\x00\x00\x01\x00\x01"
dns_ok = struct.pack(">6H", 0, 0x8180, 1, 1, 0, 0) + q + bytes.fromhex("c00c000100010000012c00045db8d822")
# example.com CNAME www.example.com (rdata at offset 41), then its A record
dns_cname = struct.pack(">6H", 0, 0x8180, 1, 2, 0, 0) + q + bytes.fromhex(
    "c00c0005000100000e10000603777777c00c" "c0290001000100000e1000040a000001")
arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + peer + ip_gw + b"\0" * 6 + ip_us
icmp = bytes([8, 0, 0, 0, 0x12, 0x34, 0, 1]) + b"abcdefgh"
icmp = icmp[:2] + struct.pack(">H", cs(icmp)) + icmp[4:]
seeds = {
    "arp": rec(eth(bc, 0x0806, arp)),
    "ping": rec(eth(bc, 0x0806, arp)) + rec(eth(us, 0x0800, ip(ip_gw, ip_us, 1, icmp)), 0x10),
    "udp": rec(eth(us, 0x0800, ip(ip_gw, ip_us, 17, udp(67, 68, dhcp(2)))), 6),
    "dhcp": rec(dhcp(2)) + rec(dhcp(5), 0x10) + rec(dhcp(5), 0xf8) + rec(dhcp(6), 0x08),
    "dns": rec(dns_ok) + rec(dns_cname, 0x10),
    "empty": b"",
}
for name, data in seeds.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
EOF
fi
printf '%s\n' '"\x63\x82\x53\x63"' '"\x08\x00\x45\x00"' '"\x08\x06\x00\x01"' '"\xc0\x0c"' \
    '"\x00\x01\x00\x01"' '"\x81\x80"' '"\x00\x43\x00\x44"' >"$tmp/net.dict"

# -- tcp: operation programs (tests/fuzz_tcp.c): shaped segments, time, socket calls --
if [ -d "$tmp/corpus_tcp" ]; then
    python3 - "$tmp/corpus_tcp" <<'EOF' || echo "note: fuzz_tcp seeds not generated"
import os, struct, sys
d = sys.argv[1]
def seg(view, flags, dseq=0, dack=0, wnd=8192, n8=0, mss=None):
    op = 2 | view << 6 | (0x20 if mss is not None else 0)
    return bytes([op, flags]) + struct.pack(">hhHB", dseq, dack, wnd, n8) + (struct.pack(">H", mss) if mss is not None else b"")
def app(what, handle=0, n=None):
    return bytes([6, handle << 4 | what]) + (struct.pack(">H", n) if n is not None else b"")
def tick(b): return bytes([5, b])
def raw(p, op=0): return bytes([op]) + struct.pack(">H", len(p)) + p
syn81 = struct.pack(">HHIIBBHHH", 40000, 81, 7, 0, 0x50, 0x02, 8192, 0, 0)
seeds = {
    "data_in": seg(0, 0x18, n8=10) + app(3, 0, 256) + tick(50),
    "send_ack": app(0, 0, 0x2000) + tick(1) + seg(0, 0x10) + tick(100) + seg(0, 0x10, dack=-1460),
    "fin_close": seg(1, 0x11, n8=4) + app(3, 1, 64) + app(3, 1, 64) + app(6, 1) + tick(5) + seg(1, 0x10),
    "passive": seg(2, 0x02, mss=1200) + seg(2, 0x10) + app(9) + app(0, 2, 3000) + tick(5),
    "rst": seg(0, 0x04) + app(3, 0, 10),
    "rst_guess": seg(1, 0x04, dseq=100) + seg(1, 0x02),
    "closed_port": raw(syn81) + raw(syn81, 0x20),
    "timeouts": app(0, 1, 5000) + tick(0x9c) + tick(0x9e) + app(3, 1, 10),
    "connect": app(10) + seg(3, 0x12, mss=1460) + app(0, 2, 100) + app(8, 0) + tick(0x96),
    "zero_window": seg(0, 0x10, wnd=0) + app(0, 0, 40000) + tick(100) + tick(0x94) + seg(0, 0x10, wnd=0) + tick(0x96),
    "ooo": seg(0, 0x10, dseq=800, n8=100) + seg(0, 0x10, dseq=400, n8=50) + seg(0, 0x11, n8=50) + app(3, 0, 2000),
    "release": app(8, 0) + seg(0, 0x10, n8=20) + app(8, 1) + tick(0x99),
    "dupacks": app(0, 0, 8192) + tick(1) + seg(0, 0x10, dack=-8192) * 3 + seg(0, 0x10, dack=-6792)
               + seg(0, 0x10, dack=-6792) * 4 + seg(0, 0x10) + app(0, 0, 30000) + tick(1) + seg(0, 0x10),
    "empty": b"",
}
for name, data in seeds.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
EOF
fi

# -- http: request streams for the server, responses for the client (tests/fuzz_http.c) --
if [ -d "$tmp/corpus_http" ]; then
    hc=$tmp/corpus_http
    printf 'GET /v1/models?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0k\r\n\r\n' >"$hc/get"
    printf 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /a HTTP/1.1\r\nHost: a\r\n\r\n' >"$hc/pipelined"
    printf 'POST /ab HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n0\r\nT: v\r\n\r\n' >"$hc/chunked"
    printf 'PUT /abc HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi' >"$hc/expect"
    printf 'HEAD /abcd HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n' >"$hc/http10"
    printf 'GET / HTTP/1.1\r\nHost: a\r\n folded\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n' >"$hc/bad"
    printf 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc' >"$hc/resp_length"
    printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n' >"$hc/resp_sse"
    printf '1a\r\nevent: x\ndata: a\ndata: b\n\n\r\n0\r\n\r\n' >>"$hc/resp_sse"
    printf 'HTTP/1.0 206 Partial Content\r\nContent-Range: bytes 0-3/9\r\n\r\nbody until close' >"$hc/resp_close"
    printf 'http://10.0.2.2:8080/v1/chat?stream=1#f' >"$hc/url"
    printf '' >"$hc/empty"
fi
printf '%s\n' '"HTTP/1.1"' '"HTTP/1.0"' '"\x0d\x0a"' '"\x0d\x0a\x0d\x0a"' '"Content-Length:"' \
    '"Transfer-Encoding: chunked"' '"Connection: close"' '"Connection: keep-alive"' \
    '"Expect: 100-continue"' '"Host: a"' '"0\x0d\x0a\x0d\x0a"' '"data: "' '"event: "' '"http://"' \
    '"GET / "' '"POST /"' '"HEAD /"' '"Authorization: Bearer "' >"$tmp/http.dict"

# Dictionaries: the tokens the parsers compare against.
printf '%s\n' '"model"' '"tokenizer"' '"temperature"' '"topp"' '"seed"' '"steps"' \
    '"autodemo"' '"demo_delay"' '"prompt"' '"shutdown"' '"="' '"\x22"' '"#"' '"\x0d\x0a"' \
    '"\xef\xbb\xbf"' '"yes"' '"off"' '"true"' '"1e"' '"\xc3\xa9"' '"\xf4\x8f\xbf\xbf"' \
    >"$tmp/config.dict"
printf '%s\n' '"24ka"' '"\x01\x00\x00\x00"' '"\xff\xff\xff\xff"' '"\x00\x00\x00\x80"' \
    >"$tmp/model.dict"
printf '%s\n' '"GGUF"' '"\x03\x00\x00\x00"' '"\x02\x00\x00\x00"' '"general.alignment"' '"split.count"' '"split.no"' '"split.tensors.count"' '"\x09\x00\x00\x00"' '"\x08\x00\x00\x00"' '"\xff\xff\xff\xff\xff\xff\xff\x7f"' >"$tmp/gguf.dict"
printf '%s\n' '"<0x"' '"GGUF"' '"\x0a<s>\x0a"' '"<unk>"' '"\x00\x00\x80\x7f"' >"$tmp/tokenizer.dict"
printf '%s\n' '"e+"' '"e-"' '"."' '"9223372036854775807"' '"340282346638528859811704183484516925440"' \
    >"$tmp/numbers.dict"
printf '%s\n' '"\x04\x22\x4d\x18"' '"\x50\x2a\x4d\x18"' '"\x02\x21\x4c\x18"' '"\x00\x00\x00\x80"' \
    '"\x00\x00\x00\x00"' '"\xff\xff"' >"$tmp/lz4.dict"

# ---- run --------------------------------------------------------------------------
run_one() {
    local t=$1 dict=()
    [ -f "$tmp/$t.dict" ] && dict=(-dict="$tmp/$t.dict")
    rm -f "$art/fuzz_$t-"*
    # ASan/UBSan abort on the first report; libFuzzer saves the input.
    TMPDIR=$tmp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
        timeout -k 5 $((secs + 120)) "$out/fuzz_$t" -max_total_time="$secs" \
        -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" -print_final_stats=1 \
        -artifact_prefix="$art/fuzz_$t-" "${dict[@]}" "$tmp/corpus_$t" \
        >"$out/fuzz_$t.log" 2>&1
    echo $? >"$tmp/run_$t.rc"
}

report() {
    local t=$1
    local log=$out/fuzz_$t.log rc
    rc=$(cat "$tmp/run_$t.rc" 2>/dev/null || echo 1)
    local runs eps newu rss units
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    newu=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    units=$(find "$tmp/corpus_$t" -type f 2>/dev/null | wc -l)
    if [ "${FUZZ_KEEP:-0}" = 1 ]; then
        rm -rf "$out/corpus_$t" && cp -r "$tmp/corpus_$t" "$out/corpus_$t"
    fi
    local cov
    cov=$(grep -a -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    if [ "$rc" = 0 ] && grep -aq '^Done [0-9]* runs' "$log"; then
        echo "fuzz_$t: ${runs:-?} runs in $secs s, ${eps:-?} exec/s, $cov, ${newu:-0} new inputs, corpus now $units, peak RSS ${rss:-?} MB"
        pass "fuzz_$t"
        return
    fi
    local unit why top
    unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    why=$(grep -a -m1 "^fuzz_$t: " "$log" | sed "s/^fuzz_$t: //")
    [ -n "$why" ] || why=$(grep -a -m1 -E '^==[0-9]+==ERROR: |^SUMMARY: |runtime error: |ERROR: libFuzzer: ' "$log" \
                           | sed -E 's/^==[0-9]+==//; s/ at pc 0x[0-9a-f]+ bp .*//')
    [ -n "$why" ] || why="exit status $rc"
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && why="did not finish within $((secs + 120)) s; $why"
    # top frame in project code (not libFuzzer, sanitizers, libc or the abort)
    top=$(grep -a -E '^ +#[0-9]+ 0x[0-9a-f]+ in ' "$log" \
          | grep -a -v -E 'fuzzer::|__sanitizer|__asan|__ubsan|libc\.so|/libc|abort|raise|pthread_kill|LLVMFuzzerTestOneInput' \
          | grep -a "$root" | head -1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //; s#'"$root"'/##')
    echo "---- fuzz_$t log (build/fuzz/fuzz_$t.log), last lines:"
    grep -a -v -E '^#[0-9]+	(NEW|REDUCE|pulse)' "$log" | grep -a -v '^    #[0-9][0-9] ' | tail -25
    echo "----"
    fail "fuzz_$t" "$why; input: ${unit:-none saved}${top:+; top frame: $top} (replay: build/fuzz/fuzz_$t ${unit:-})"
}

# shellcheck disable=SC2086
set -- $built
while [ $# -gt 0 ]; do
    wave=()
    for _ in $(seq "$jobs"); do
        [ $# -gt 0 ] || break
        wave+=("$1")
        run_one "$1" &
        pids+=($!)
        shift
    done
    wait
    pids=()
    for t in "${wave[@]}"; do report "$t"; done
done

[ "$failed" = 0 ]
