#!/usr/bin/python3
"""export.py - PyTorch checkpoint (scripts/train.py's .pt) to a llama2.c
version-1 model file that build/llm and the firmware load.

  /usr/bin/python3 scripts/export.py CHECKPOINT.pt OUT.bin

The architecture and the file layout are documented in scripts/llama_model.py;
tests/host_export.sh checks that build/llm computes the same logits and greedy
ids as the PyTorch forward pass for exported random models.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_model import export_v1, load_checkpoint  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: export.py CHECKPOINT.pt OUT.bin")
    model, _ = load_checkpoint(sys.argv[1])
    export_v1(model, sys.argv[2])
    a = model.args
    print(f"{sys.argv[2]}: version 1, dim {a.dim} hidden {a.hidden_dim} layers {a.n_layers} "
          f"heads {a.n_heads} kv_heads {a.n_kv_heads} vocab {a.vocab_size} seq_len {a.seq_len} "
          f"shared_classifier {int(a.shared_classifier)}, {model.n_params()} parameters, "
          f"{os.path.getsize(sys.argv[2])} bytes")


if __name__ == "__main__":
    main()
