#!/bin/bash
# host_tokenizer_oracle.sh - the project's GGUF tokenizers against llama.cpp
# (tests/oracle, node-llama-cpp 3.21.1) on small vocab-only GGUF files that
# this script writes (python3, struct.pack; metadata only, no tensors):
#
#   spm_stories    stories260K.gguf's 512-token SentencePiece vocabulary
#                  (byte fallback everywhere) plus added control tokens
#                  <|im_start|> <|im_end|> and user-defined [INST] <fn>
#   spm_noprefix   the same with add_space_prefix = false, add_eos_token = true
#   spm_llama      ggml-vocab-llama-spm.gguf's 32000 tokens plus the same
#   bpe_llama3     byte-level BPE trained here (~400 merges on English, code,
#                  numbers, accents, CJK, emoji), pre = llama-bpe
#   bpe_qwen2 / bpe_gpt2 / bpe_smollm / bpe_default   the same vocabulary
#                  with pre = qwen2, gpt-2, smollm and no pre (default)
#
# For each vocabulary, a table of hard strings (spaces, tabs, newlines,
# digits, punctuation, contractions, accents, CJK, Hangul, emoji, mixed
# scripts, special tokens) plus 150 seeded random strings are tokenized by
# llama.cpp and by tests/tokenize_cli.c (built here with gcc against the
# core sources) with add_special/parse_special off and on; the ids must be
# equal. Then llama_detokenize of those ids must equal tokenizer_detokenize,
# and BOS/EOS/EOT, add_bos/add_eos and the end-of-generation ids must agree.
# Prints "PASS: tokenizer_oracle_<vocab>_<check>" or "FAIL: ...: reason".
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
models=${MODELS_DIR:-$(realpath -m "$root/../shared/models")}

if ! tests/oracle/setup.sh; then
    echo "FAIL: tokenizer_oracle_setup: tests/oracle/setup.sh failed"
    exit 1
fi
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
[ -n "${KEEP_TMP:-}" ] && echo "host_tokenizer_oracle: files kept in $tmp" >&2

if ! gcc -std=c11 -O1 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
        -fsanitize=address,undefined -fno-sanitize-recover=undefined -I. \
        tests/tokenize_cli.c tokenizer.c tokenizer_spm.c tokenizer_bpe.c gguf.c lib.c fmt.c \
        errors.c platform_posix.c pfjob.c -o "$tmp/tokenize_cli" -lpthread -lm 2>"$tmp/cc.log"; then
    echo "FAIL: tokenizer_oracle_build: $(head -n 5 "$tmp/cc.log" | tr '\n' ' ')"
    exit 1
fi

# llama_detokenize and the vocabulary facts, through the same package.
cat >"$tmp/facts.mjs" <<'JS'
import fs from "fs";
import path from "path";
import { pathToFileURL } from "url";
const [oracleDir, model, idsFile] = process.argv.slice(2);
const lib = await import(pathToFileURL(path.join(oracleDir, "node_modules/node-llama-cpp/dist/index.js")));
const llama = await lib.getLlama({ gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
    progressLogs: false, maxThreads: 1, logLevel: lib.LlamaLogLevel.error, logger: () => {} });
const m = await llama.loadModel({ modelPath: path.resolve(model), gpuLayers: 0, vocabOnly: true, useMmap: false });
const ids = JSON.parse(fs.readFileSync(idsFile, "utf8"));
const n = m.fileInfo.metadata.tokenizer.ggml.tokens.length;
const eog = [];
for (let t = 0; t < n; t++) if (m._model.isEogToken(t)) eog.push(t);
const out = {
    n_vocab: n, bos: m.tokens.bos ?? -1, eos: m.tokens.eos ?? -1, eot: m.tokens.eot ?? -1,
    add_bos: m.tokens.shouldPrependBosToken, add_eos: m.tokens.shouldAppendEosToken, eog,
    detok: ids.map((l) => Buffer.from(m.detokenize(l, false), "utf8").toString("hex")),
};
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
JS

export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
python3 - "$tmp" "$models" "$root/tests/oracle" <<'PY'
import json, os, random, re, struct, subprocess, sys

tmp, models, oracle = sys.argv[1], sys.argv[2], sys.argv[3]
cli = os.path.join(tmp, "tokenize_cli")
failed = 0

def result(name, ok, why=""):
    global failed
    if ok:
        print("PASS: tokenizer_oracle_%s" % name)
    else:
        failed += 1
        print("FAIL: tokenizer_oracle_%s: %s" % (name, why))
    sys.stdout.flush()

# ---- GGUF reading and writing (metadata only) ----------------------------------
SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

def read_gguf(path):
    d = open(path, "rb").read()
    o = 0
    def u(fmt):
        nonlocal o
        v = struct.unpack_from("<" + fmt, d, o)[0]
        o += struct.calcsize("<" + fmt)
        return v
    def val(t):
        nonlocal o
        if t == 8:
            n = u("Q"); v = d[o:o + n]; o += n
            return v
        if t == 9:
            et = u("I"); n = u("Q")
            return (et, [val(et) for _ in range(n)])
        return u(SCALAR[t])
    assert d[:4] == b"GGUF"
    o = 4
    u("I"); u("Q"); nkv = u("Q")
    kv = {}
    for _ in range(nkv):
        n = u("Q"); k = d[o:o + n].decode(); o += n
        t = u("I")
        kv[k] = (t, val(t))
    return kv

def write_gguf(path, kv):
    def s(b):
        return struct.pack("<Q", len(b)) + b
    def val(t, v):
        if t == 8:
            return s(v)
        if t == 9:
            et, items = v
            return struct.pack("<IQ", et, len(items)) + b"".join(val(et, x) for x in items)
        return struct.pack("<" + SCALAR[t], v)
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv))
    for k, (t, v) in kv.items():
        out += s(k.encode()) + struct.pack("<I", t) + val(t, v)
    out += b"\0" * (-len(out) % 32)
    open(path, "wb").write(out)

STR, ARR, U32, I32, F32, BOOL = 8, 9, 4, 5, 6, 7

# ---- vocabularies ---------------------------------------------------------------
def spm_vocab(src, extra):
    kv = read_gguf(os.path.join(models, src))
    toks = list(kv["tokenizer.ggml.tokens"][1][1])
    scores = list(kv["tokenizer.ggml.scores"][1][1])
    types = list(kv["tokenizer.ggml.token_type"][1][1])
    for text, ty in extra:
        toks.append(text.encode()); scores.append(0.0); types.append(ty)
    out = {}
    for k, v in kv.items():
        if k.startswith("tokenizer.ggml.") and k not in ("tokenizer.ggml.model",):
            continue
        out[k] = v
    out["tokenizer.ggml.tokens"] = (ARR, (STR, toks))
    out["tokenizer.ggml.scores"] = (ARR, (F32, scores))
    out["tokenizer.ggml.token_type"] = (ARR, (I32, types))
    out["tokenizer.ggml.bos_token_id"] = (U32, 1)
    out["tokenizer.ggml.eos_token_id"] = (U32, 2)
    out["tokenizer.ggml.unknown_token_id"] = (U32, 0)
    return out

SPM_EXTRA = [("<|im_start|>", 3), ("<|im_end|>", 3), ("[INST]", 4), ("<fn>", 4)]

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

B2U = bytes_to_unicode()

CORPUS = """Once upon a time, there was a little girl named Lily. She loved to play outside
in the park with her friends. One day, she saw a big, red ball. "Can I play too?" she asked.
The quick brown fox jumps over the lazy dog. It's what they'd do; we're sure you'll see.
I'm here, aren't you? They've gone. THE END. Numbers: 0 1 12 123 1234 12345 3.14159 2024-01-31
$100 + 20% = 120 dollars, 1,000,000 people; x = [1, 2, 3]; y = {"a": 1, 'b': 2}
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)  # recursion
for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }  /* C loop */
if x >= 10 and y <= 20: print(f"{x} {y}")
Café naïve résumé über straße fiancée déjà vu. Ünïcödé façade.
中文的句子很有意思。日本語の文章です。한국어 문장입니다. Привет, мир! Γειά σου κόσμε.
مرحبا بالعالم. שלום עולם. नमस्ते दुनिया. Emoji 😀😃😄 👍🏽 ❤️ 🇫🇷 👨‍👩‍👧
    indented line	with tab
trailing spaces   
"""

def train_bpe(n_merges):
    words = {}
    pat = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+")
    for w in pat.findall(CORPUS):
        key = tuple(B2U[b] for b in w.encode())
        words[key] = words.get(key, 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        nw = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1]); i += 2
                else:
                    out.append(w[i]); i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    return merges

MERGES = train_bpe(400)
BPE_SPECIAL = [("<|endoftext|>", 3), ("<|im_start|>", 3), ("<|im_end|>", 3), ("<|begin_of_text|>", 3),
               ("<|eot_id|>", 3), ("<|start_header_id|>", 3), ("<|end_header_id|>", 3),
               ("<|reserved_special_token_0|>", 3), ("<tool_call>", 4), ("<|im", 4), ("[INST]", 4)]
# Whole words that no merge builds: only ignore_merges (llama3) emits them.
BPE_WORDS = ["\u0120qwertz", "zyxw", "\u0120Lilyy"]

def bpe_vocab(pre):
    toks = [B2U[b] for b in range(256)]
    seen = set(toks)
    for a, b in MERGES:
        if a + b not in seen:
            toks.append(a + b); seen.add(a + b)
    types = [1] * len(toks)
    for w in BPE_WORDS:
        assert w not in seen
        toks.append(w); types.append(1); seen.add(w)
    ids = {}
    for text, ty in BPE_SPECIAL:
        ids[text] = len(toks)
        toks.append(text); types.append(ty)
    base = read_gguf(os.path.join(models, "ggml-vocab-llama-spm.gguf"))
    kv = {k: v for k, v in base.items() if k.startswith("llama.") and k != "llama.vocab_size"}
    kv["general.architecture"] = (STR, b"llama")
    kv["general.name"] = (STR, b"bpe-test")
    kv["tokenizer.ggml.model"] = (STR, b"gpt2")
    if pre is not None:
        kv["tokenizer.ggml.pre"] = (STR, pre.encode())
    kv["tokenizer.ggml.tokens"] = (ARR, (STR, [t.encode() for t in toks]))
    kv["tokenizer.ggml.token_type"] = (ARR, (I32, types))
    kv["tokenizer.ggml.merges"] = (ARR, (STR, [(a + " " + b).encode() for a, b in MERGES]))
    if pre == "llama-bpe":
        kv["tokenizer.ggml.bos_token_id"] = (U32, ids["<|begin_of_text|>"])
        kv["tokenizer.ggml.eos_token_id"] = (U32, ids["<|eot_id|>"])
    else:
        kv["tokenizer.ggml.bos_token_id"] = (U32, ids["<|endoftext|>"])
        kv["tokenizer.ggml.eos_token_id"] = (U32, ids["<|im_end|>"])
        kv["tokenizer.ggml.add_bos_token"] = (BOOL, pre == "smollm")
    return kv

def spm_noprefix():
    kv = spm_vocab("stories260K.gguf", SPM_EXTRA)
    kv["tokenizer.ggml.add_space_prefix"] = (BOOL, False)
    kv["tokenizer.ggml.add_eos_token"] = (BOOL, True)
    return kv

vocabs = [
    ("spm_stories", spm_vocab("stories260K.gguf", SPM_EXTRA)),
    ("spm_noprefix", spm_noprefix()),
    ("spm_llama", spm_vocab("ggml-vocab-llama-spm.gguf", SPM_EXTRA)),
    ("bpe_llama3", bpe_vocab("llama-bpe")),
    ("bpe_qwen2", bpe_vocab("qwen2")),
    ("bpe_gpt2", bpe_vocab("gpt-2")),
    ("bpe_smollm", bpe_vocab("smollm")),
    ("bpe_default", bpe_vocab(None)),
]

# ---- strings ----------------------------------------------------------------------
HARD = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", "\t\n", " \n ", "\r\n", "a\r\nb", "\r",
    "Hello world", " Hello world", "Hello world ", "Hello  world", "Hello   world  ", "  leading",
    "trailing  ", "a\tb", "\t\tindent", "line1\nline2", "line1\n\nline2\n", "x \n\n y", "    four",
    "1", "12", "123", "1234", "12345", "1234567", " 1", " 12345", "a1b22c333", "3.14159",
    "1,000,000", "2024-01-31", "$100", "+1-(555)", "0x1F", "\u0661\u0662\u0663", "\u00bd \u2166",
    "Hello, world!", "what?!", "...", "a.b,c;d:e", "(x) [y] {z} <w>", "a+b=c^d~e|f", "`code`",
    "@user #tag %p &amp *ptr _u", "\"quoted\" 'single'", "http://example.com/a?b=c&d=e",
    "it's", "don't", "we're", "I've", "I'm", "you'll", "he'd", "IT'S", "We'RE", "he'LL", "'s",
    "''", "'", "' s", "the cat's toy's", "'t'm'd", "rock'n'roll",
    "caf\u00e9", "na\u00efve r\u00e9sum\u00e9", "\u00dcn\u00efc\u00f6d\u00e9", "stra\u00dfe",
    "e\u0301 combining", "\u4e2d\u6587\u7684\u53e5\u5b50", "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0393\u03b5\u03b9\u03ac", "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947", "\U0001f600", "\U0001f600\U0001f603",
    "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\U0001f1eb\U0001f1f7",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "mixed \u4e2d\u6587 and English 123 \U0001f600!",
    "\u00a0nbsp\u00a0", "ideo\u3000space", "line\u2028sep", "\x0b\x0c", "\u0085next",
    "\U00011f04\U00011f05", "\U0002ebf0", "\U000e0001tag", "\ufeffbom", "\x7f\x01",
    "def f(x):\n    return x**2  # square\n", "for (int i = 0; i < n; i++) { s += a[i]; }",
    "if x >= 10 and y <= 20:\n\tprint(x)", "Once upon a time, there was a little girl named Lily.",
    "The quick brown fox jumps over the lazy dog.", "qwertz qwertz", "zyxw", " Lilyy",
    "<s>", "</s>", "<s>Hello</s>", "a<s>b", " <s> ", "<s><s>", "<unk>", "<|im_start|>",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n", "<|im_start", "<|im_end|>x",
    "<|im<|im_start|>", "[INST] hi [/INST]", "x[INST]y", "<fn>call()</fn>", "<tool_call>{}",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<|endoftext|>", "text<|endoftext|>", "<|reserved_special_token_0|>", "\u2581", "\u2581\u2581x",
    "<0x41>", "[EMPTY_0]", "   <s>   ", "\n<s>\n",
]
PIECES = ["a", "b", "the", " ", "  ", "\t", "\n", "'s", "'", "1", "23", "456", ".", ",", "!", "?",
          "\u00e9", "\u4e2d", "\ud55c", "\U0001f600", "<s>", "</s>", "<|im_start|>", "<|im_end|>",
          "[INST]", "<|im", "Hello", "World", "\u00a0", "\r", "$", "+", "_", "-", "(", ")", "\u0661",
          "\u2581", "x", "Y", "'T", "ll", "re"]
rng = random.Random(20240531)
RANDOM = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(150)]
TEXTS = HARD + RANDOM

def run_json(args):
    p = subprocess.run(args, capture_output=True, timeout=600)
    if p.returncode != 0:
        lines = p.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError("%s %s failed: %s" % (os.path.basename(args[0]), args[1],
                                                 lines[-1] if lines else "exit %d" % p.returncode))
    return json.loads(p.stdout)

MODES = [("plain", []), ("parse_special", ["--parse-special"]),
         ("add_special_parse_special", ["--add-special", "--parse-special"])]

def show(s):
    return json.dumps(s, ensure_ascii=True)[:70]

for name, kv in vocabs:
    path = os.path.join(tmp, name + ".gguf")
    write_gguf(path, kv)
    text_args = []
    for t in TEXTS:
        text_args += ["--text", t]
    all_ids = []
    for mode, flags in MODES:
        check = "%s_%s" % (name, mode)
        try:
            # llama.mjs skips "" (node-llama-cpp returns []); ids are compared as lists.
            theirs = run_json(["node", os.path.join(oracle, "llama.mjs"), "tokenize", path] + text_args + flags)
            ours = run_json([cli, "tokenize", path] + text_args + flags)
        except Exception as e:
            result(check, False, str(e))
            continue
        bad = [i for i in range(len(TEXTS)) if theirs[i] != ours[i]]
        why = ""
        if bad:
            i = bad[0]
            why = "%d of %d strings differ, first %s: llama.cpp %s, ours %s" % (
                len(bad), len(TEXTS), show(TEXTS[i]), theirs[i][:24], ours[i][:24])
        result(check, not bad, why)
        all_ids += theirs
    # detokenize the oracle's ids both ways, and the vocabulary facts
    idsf = os.path.join(tmp, name + ".ids.json")
    json.dump(all_ids, open(idsf, "w"))
    try:
        facts = run_json(["node", os.path.join(tmp, "facts.mjs"), oracle, path, idsf])
        id_args = []
        for l in all_ids:
            id_args += ["--ids", " ".join(map(str, l))]
        ours = run_json([cli, "detokenize", path] + id_args)
        info = run_json([cli, "info", path])
    except Exception as e:
        result(name + "_detokenize", False, str(e))
        result(name + "_special_ids", False, str(e))
        continue
    bad = [i for i in range(len(all_ids)) if facts["detok"][i] != ours[i][0]]
    why = ""
    if bad:
        i = bad[0]
        why = "%d of %d differ, first ids %s: llama.cpp %s, ours %s" % (
            len(bad), len(all_ids), all_ids[i][:16], show(bytes.fromhex(facts["detok"][i]).decode(errors="replace")),
            show(bytes.fromhex(ours[i][0]).decode(errors="replace")))
    result(name + "_detokenize", not bad, why)
    diffs = [k for k in ("n_vocab", "bos", "eos", "eot", "add_bos", "add_eos", "eog") if facts[k] != info[k]]
    result(name + "_special_ids", not diffs,
           "; ".join("%s: llama.cpp %s, ours %s" % (k, facts[k], info[k]) for k in diffs))
sys.exit(1 if failed else 0)
PY
