#!/bin/bash
# host_export.sh - the PyTorch model and exporter of scripts/ (llama_model.py,
# export.py, used by scripts/train.py) against the C forward pass: tiny
# randomly initialised PyTorch models are exported to llama2.c version 1 and
# run by build/llm (`llm greedy-ids`, tool_synth.c).
#
# Models (every weight random, the RMSNorm gains too, so that a swapped or
# misplaced tensor changes the numbers):
#   tied_mha     dim 64, hidden 160, 2 layers, 4 heads, 4 kv heads, vocab 320,
#                seq_len 128, shared classifier
#   untied_gqa   dim 48, hidden 128, 3 layers, 6 heads, 2 kv heads (GQA),
#                vocab 300, seq_len 96, separate classifier
# For each:
#   export_<m>_logits  the raw logits of every position of prompt + greedy
#       continuation (`greedy-ids --logits --all --raw`, 87 positions, RoPE
#       far from position 0) equal PyTorch's float32 forward pass:
#       max |C - PyTorch| < 1e-4 (measured 2.7e-5 and 2.4e-5 with logits in
#       [-21, 23] and [-7, 7]: float32 summation order).
#   export_<m>_greedy  the 80 greedy ids after the prompt (`greedy-ids --n 80`)
#       equal PyTorch's (argmax; the script checks that the reference margins
#       top1 - top2 stay above 1e-3, so a float rounding cannot flip them).
#   export_cli         scripts/export.py on a saved checkpoint writes the same
#       bytes as llama_model.export_v1 on the model.
# The committed default model (models/kjv1m.bin, trained by scripts/train.py,
# models/README.md), read back into PyTorch with llama_model.load_v1:
#   export_kjv1m_logits / _greedy   as above, for "In the beginning" tokenized by
#       the trainer's encoder (BOS first) and 100 greedy ids.
#   export_kjv1m_sample  `llm models/kjv1m.bin -z models/kjv1m_tok1024.bin -t 0
#       -n N -i PROMPT` prints exactly the greedy sample of models/README.md.
# SKIP (not FAIL) when /usr/bin/python3 has no torch (Debian: python3-torch;
# scripts/deps.sh --test installs it).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
PY=/usr/bin/python3
LLM=$root/build/llm
TOL=1e-4

if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "SKIP: export: $PY has no torch module (apt-get install python3-torch)"
    exit 0
fi
if [ ! -x "$LLM" ]; then
    echo "FAIL: export: $LLM not built (make host)"
    exit 1
fi
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

# Reference side: models, exported files, PyTorch greedy ids and logits.
if ! "$PY" - "$tmp" >"$tmp/gen.log" 2>&1 <<'PY'; then
import json, os, sys
import torch
sys.path.insert(0, "scripts")
from llama_model import ModelArgs, Transformer, export_v1, save_checkpoint

out = sys.argv[1]
torch.manual_seed(20260101)
cases = {
    "tied_mha": ModelArgs(dim=64, hidden_dim=160, n_layers=2, n_heads=4, n_kv_heads=4,
                          vocab_size=320, seq_len=128, shared_classifier=True),
    "untied_gqa": ModelArgs(dim=48, hidden_dim=128, n_layers=3, n_heads=6, n_kv_heads=2,
                            vocab_size=300, seq_len=96, shared_classifier=False),
}
N = 80
for name, a in cases.items():
    m = Transformer(a)
    with torch.no_grad():
        for pname, p in m.named_parameters():
            if p.dim() == 1:   # RMSNorm gains around 1
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            else:              # scaled so that logits spread over a few units
                p.normal_(0.0, 1.0 / p.shape[1] ** 0.5 * 1.5)
        if a.shared_classifier:
            m.tok_embeddings.weight.mul_(3.0)
    m.eval()
    export_v1(m, f"{out}/{name}.bin")
    prompt = [1] + torch.randint(3, a.vocab_size, (7,)).tolist()
    ids = m.greedy(prompt, N)
    with torch.no_grad():
        logits = m(torch.tensor([prompt + ids[:-1]]))[0]
    # margins of the greedy choices
    gen = logits[len(prompt) - 1:]
    top2 = gen.topk(2, dim=-1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    if margin < 1e-3:
        sys.exit(f"{name}: reference greedy margin {margin} too small; pick another seed")
    json.dump({"prompt": prompt, "ids": ids, "logits": logits.tolist(), "margin": margin},
              open(f"{out}/{name}.json", "w"))
    if name == "untied_gqa":
        save_checkpoint(m, f"{out}/{name}.pt")
    print(f"{name}: {m.n_params()} parameters, min greedy margin {margin:.4f}, "
          f"logit range [{float(logits.min()):.2f}, {float(logits.max()):.2f}]")
PY
    echo "FAIL: export_reference: $(tail -n 3 "$tmp/gen.log" | tr '\n' ' ')"
    exit 1
fi
sed 's/^/  /' "$tmp/gen.log"

# The committed model: PyTorch side from the exported file itself.
names="tied_mha untied_gqa"
if [ -f models/kjv1m.bin ] && [ -f models/kjv1m_tok1024.bin ]; then
    if "$PY" - "$tmp" >"$tmp/kjv.log" 2>&1 <<'PY'; then
import json, sys
import torch
sys.path.insert(0, "scripts")
import train_tokenizer as tt
from llama_model import load_v1
m = load_v1("models/kjv1m.bin")
prompt = tt.Encoder(tt.load("models/kjv1m_tok1024.bin")).encode("In the beginning", bos=True)
ids = m.greedy(prompt, 100)
with torch.no_grad():
    logits = m(torch.tensor([prompt + ids[:-1]]))[0]
top2 = logits[len(prompt) - 1:].topk(2, dim=-1).values
margin = float((top2[:, 0] - top2[:, 1]).min())
if margin < 1e-3:
    sys.exit(f"kjv1m: reference greedy margin {margin} too small; pick another prompt")
json.dump({"prompt": prompt, "ids": ids, "logits": logits.tolist(), "margin": margin},
          open(f"{sys.argv[1]}/kjv1m.json", "w"))
PY
        cp models/kjv1m.bin "$tmp/kjv1m.bin"
        names="$names kjv1m"
    else
        echo "FAIL: export_kjv1m_reference: $(tail -n 3 "$tmp/kjv.log" | tr '\n' ' ')"
    fi
    # the card's greedy sample
    "$PY" - "$LLM" <<'PY'
import os, re, subprocess, sys
card = open("models/README.md").read() if os.path.exists("models/README.md") else ""
m = re.search(r'<!-- sample: -n (\d+) -i "(.*?)" -->\n```text\n(.*?)\n```', card, re.S)
if not m:
    print("FAIL: export_kjv1m_sample: no '<!-- sample: -n N -i \"PROMPT\" -->' block in models/README.md")
    sys.exit()
n, prompt, want = m.groups()
out = subprocess.run([sys.argv[1], "models/kjv1m.bin", "-z", "models/kjv1m_tok1024.bin", "-t", "0",
                      "-n", n, "-i", prompt], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
got = out.stdout.decode("utf-8", "replace").rstrip("\n")
if out.returncode == 0 and got == want:
    print(f"PASS: export_kjv1m_sample: build/llm prints the card's greedy sample ({len(got)} bytes)")
else:
    k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    print(f"FAIL: export_kjv1m_sample: exit {out.returncode}, differs at byte {k}: {got[k:k+40]!r} vs {want[k:k+40]!r}")
PY
else
    echo "FAIL: export_kjv1m: models/kjv1m.bin or models/kjv1m_tok1024.bin is missing"
fi

for name in $names; do
    ref=$tmp/$name.json
    prompt=$("$PY" -c 'import json,sys; print(" ".join(map(str, json.load(open(sys.argv[1]))["prompt"])))' "$ref")
    seq=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(map(str, d["prompt"] + d["ids"][:-1])))' "$ref")
    if ! "$LLM" greedy-ids "$tmp/$name.bin" --prompt-ids "$seq" --logits --all --raw \
            >"$tmp/$name.logits" 2>"$tmp/$name.err"; then
        echo "FAIL: export_${name}_logits: llm greedy-ids: $(head -n 2 "$tmp/$name.err" | tr '\n' ' ')"
    else
        "$PY" - "$ref" "$tmp/$name.logits" "$name" "$TOL" <<'PY'
import json, sys
ref, got, name, tol = json.load(open(sys.argv[1]))["logits"], json.load(open(sys.argv[2]))["logits"], sys.argv[3], float(sys.argv[4])
if len(ref) != len(got) or any(len(a) != len(b) for a, b in zip(ref, got)):
    print(f"FAIL: export_{name}_logits: shape {len(got)}x{len(got[0])} != {len(ref)}x{len(ref[0])}")
    sys.exit()
worst, at = 0.0, None
for p, (a, b) in enumerate(zip(ref, got)):
    for v, (x, y) in enumerate(zip(a, b)):
        if abs(x - y) > worst:
            worst, at = abs(x - y), (p, v)
if worst < tol:
    print(f"PASS: export_{name}_logits: {len(ref)} positions x {len(ref[0])} logits, max |C - PyTorch| = {worst:.2e} < {tol:g}")
else:
    print(f"FAIL: export_{name}_logits: max |C - PyTorch| = {worst:.3g} at position {at[0]} token {at[1]} (tolerance {tol:g})")
PY
    fi
    n=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["ids"]))' "$ref")
    if ! "$LLM" greedy-ids "$tmp/$name.bin" --prompt-ids "$prompt" --n "$n" \
            >"$tmp/$name.greedy" 2>"$tmp/$name.err"; then
        echo "FAIL: export_${name}_greedy: llm greedy-ids: $(head -n 2 "$tmp/$name.err" | tr '\n' ' ')"
    else
        "$PY" - "$ref" "$tmp/$name.greedy" "$name" <<'PY'
import json, sys
ref, got, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["ids"], sys.argv[3]
want = ref["ids"]
if got == want:
    print(f"PASS: export_{name}_greedy: {len(want)} greedy ids equal (min reference margin {ref['margin']:.3f})")
else:
    k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    print(f"FAIL: export_{name}_greedy: first difference at step {k}: C {got[k:k+5]} PyTorch {want[k:k+5]}")
PY
    fi
done

# scripts/export.py (checkpoint -> .bin) writes what export_v1 wrote.
if "$PY" scripts/export.py "$tmp/untied_gqa.pt" "$tmp/cli.bin" >"$tmp/cli.log" 2>&1 &&
        cmp -s "$tmp/cli.bin" "$tmp/untied_gqa.bin"; then
    echo "PASS: export_cli: scripts/export.py checkpoint -> $(stat -c %s "$tmp/cli.bin") bytes, identical to export_v1"
else
    echo "FAIL: export_cli: $(tail -n 2 "$tmp/cli.log" | tr '\n' ' ') (output differs or export failed)"
fi
