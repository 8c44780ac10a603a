#!/usr/bin/python3
"""train.py - train the project's default model: a small llama (the exact
architecture of scripts/llama_model.py = model.c / transformer.c) on the King
James Bible (scripts/kjv.py), on the CPU, and export it to llama2.c version 1.

  nice /usr/bin/python3 scripts/train.py --tokenizer models/kjv1m_tok1024.bin \\
      --out models/kjv1m.bin [--dim 128 --hidden 384 --layers 4 --heads 4 \\
      --kv-heads 4 --seq-len 256 --batch 16 --steps 3000 --lr 3e-3 ...]

Data: every chapter is one document, tokenized as tokenizer.c tokenizes a
prompt (BOS, dummy space, the text); the documents are concatenated and
training windows of seq_len + 1 tokens are drawn at random offsets. The
validation loss is the mean over every non-overlapping window of the
validation chapters; the final "train loss" the same over as many fixed
windows of the training stream. AdamW (betas 0.9/0.95, weight decay 0.1 on
matrices), linear warm-up then cosine decay to lr/10 over the run's progress,
which is the larger of step / --steps and elapsed / --max-minutes: on a busy
machine the run ends on time with the learning rate fully decayed. The
checkpoint (WORK/NAME.pt, default build/train/) and the exported model are
written at every evaluation, so an interrupted run leaves a usable model.
Prints a summary JSON line at the end (also written to WORK/NAME.json).

Speed: Debian's python3-torch uses the system BLAS; with the reference BLAS
(libblas3) training is about 14x slower than with libopenblas0-pthread
installed. models/README.md has the command that made models/kjv1m.bin.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kjv  # noqa: E402
import train_tokenizer as tt  # noqa: E402
from llama_model import ModelArgs, Transformer, export_v1, save_checkpoint  # noqa: E402


def stream(enc, docs):
    ids = []
    for d in docs:
        ids += enc.encode(d, bos=True)
    return torch.tensor(ids, dtype=torch.long)


@torch.no_grad()
def evaluate(model, data, seq_len, max_windows=None, batch=16):
    model.eval()
    n = (len(data) - 1) // seq_len
    if max_windows:
        n = min(n, max_windows)
    tot, cnt = 0.0, 0
    for s in range(0, n, batch):
        k = min(batch, n - s)
        x = torch.stack([data[(s + i) * seq_len:(s + i) * seq_len + seq_len] for i in range(k)])
        y = torch.stack([data[(s + i) * seq_len + 1:(s + i) * seq_len + seq_len + 1] for i in range(k)])
        loss = F.cross_entropy(model(x).view(-1, model.args.vocab_size), y.view(-1), reduction="sum")
        tot += float(loss)
        cnt += y.numel()
    model.train()
    return tot / cnt


def main():
    ap = argparse.ArgumentParser(description="train the default KJV model")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True, help="exported model .bin")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--untied", action="store_true", help="separate classifier matrix")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--max-minutes", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="build/train", help="checkpoint and summary directory")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    vocab = tt.load(a.tokenizer)
    enc = tt.Encoder(vocab)
    train_docs, val_docs = kjv.split(kjv.chapters())
    train_data, val_data = stream(enc, train_docs), stream(enc, val_docs)
    print(f"data: {len(train_docs)} train chapters -> {len(train_data)} tokens, "
          f"{len(val_docs)} validation chapters -> {len(val_data)} tokens "
          f"({time.time() - t0:.1f} s)", flush=True)

    args = ModelArgs(dim=a.dim, hidden_dim=a.hidden, n_layers=a.layers, n_heads=a.heads,
                     n_kv_heads=a.kv_heads, vocab_size=len(vocab), seq_len=a.seq_len,
                     shared_classifier=not a.untied)
    model = Transformer(args)
    print(f"model: {args} -> {model.n_params()} parameters", flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    os.makedirs(a.work, exist_ok=True)
    base = os.path.join(a.work, os.path.splitext(os.path.basename(a.out))[0])
    ckpt = base + ".pt"

    def progress(step):
        """Fraction of the run done: steps or wall time, whichever is further."""
        return max(step / a.steps, (time.time() - start) / 60 / a.max_minutes)

    def lr_at(step):
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        f = min(1.0, progress(step))
        return a.lr / 10 + 0.5 * (a.lr - a.lr / 10) * (1 + math.cos(math.pi * f))

    def save(step, val_loss):
        save_checkpoint(model, ckpt, {"step": step, "val_loss": val_loss})
        export_v1(model, a.out)

    g = torch.Generator().manual_seed(a.seed)
    start = time.time()
    smooth, step, val_loss = None, 0, float("nan")
    T = a.seq_len
    while step < a.steps:
        if progress(step) >= 1.0:
            print(f"stopping at step {step}: --max-minutes {a.max_minutes} reached", flush=True)
            break
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step)
        ix = torch.randint(0, len(train_data) - T - 1, (a.batch,), generator=g)
        x = torch.stack([train_data[i:i + T] for i in ix])
        y = torch.stack([train_data[i + 1:i + T + 1] for i in ix])
        loss = F.cross_entropy(model(x).view(-1, args.vocab_size), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        smooth = float(loss) if smooth is None else 0.98 * smooth + 0.02 * float(loss)
        if step % 25 == 0:
            el = time.time() - start
            print(f"step {step}/{a.steps} loss {float(loss):.4f} (smoothed {smooth:.4f}) "
                  f"lr {lr_at(step):.2e} {el:.0f} s ({el / step:.3f} s/step)", flush=True)
        if step % a.eval_every == 0:
            val_loss = evaluate(model, val_data, T)
            print(f"eval step {step}: validation loss {val_loss:.4f}", flush=True)
            save(step, val_loss)
    elapsed = time.time() - start
    val_loss = evaluate(model, val_data, T)
    n_val_windows = (len(val_data) - 1) // T
    train_loss = evaluate(model, train_data, T, max_windows=n_val_windows)
    save(step, val_loss)
    summary = {
        "steps": step, "batch": a.batch, "seq_len": T, "tokens_seen": step * a.batch * T,
        "train_minutes": round(elapsed / 60, 2), "params": model.n_params(),
        "train_loss": round(train_loss, 4), "val_loss": round(val_loss, 4),
        "train_tokens": len(train_data), "val_tokens": len(val_data),
        "args": vars(a), "model": vars(args),
        "corpus_cmd": " ".join(kjv.CORPUS_CMD), "corpus_sha256": kjv.SHA256,
    }
    with open(base + ".json", "w") as f:
        json.dump(summary, f, indent=1)
    print("summary: " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
