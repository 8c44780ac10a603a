"""llama_model.py - the llama architecture this project runs, in PyTorch, and
its exporter to llama2.c's version-1 (fp32) model format.

The model is exactly what model.c + transformer.c compute for a version-1
file (and what karpathy/llama2.c's run.c computes):

  x = token_embedding[token]
  per layer:
    h = rmsnorm(x, attention_norm)             # x * rsqrt(mean(x^2) + 1e-5) * w
    q, k, v = wq h, wk h, wv h                 # k, v: n_kv_heads heads (GQA)
    RoPE on q and k: interleaved pairs (2i, 2i+1) of each head rotated by
        pos * theta^(-2i/head_size), theta = 10000
    causal softmax(q k^T / sqrt(head_size)) v; query head h reads kv head
        h // (n_heads / n_kv_heads)
    x = x + wo attn
    h = rmsnorm(x, ffn_norm)
    x = x + w2 (silu(w1 h) * w3 h)             # SwiGLU
  logits = classifier(rmsnorm(x, norm)); classifier = token_embedding when
  shared (tied), else its own vocab x dim matrix.

Version-1 file (llama2.c export.py legacy_export v1 / "version1_export"):
  256-byte header: uint32 magic 0x616b3432 ("ak42"), int32 version 1,
  int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len,
  uint8 shared_classifier, zero padding; then fp32 little-endian tensors:
  attention_norm[L], ffn_norm[L], norm, tok_embeddings, wq[L], wk[L], wv[L],
  wo[L], w1[L], w2[L], w3[L], output (only when not shared). Matrices are
  row-major (out_features x in_features), as nn.Linear stores them.

Used by scripts/train.py, scripts/export.py and tests/host_export.sh.
"""
import math
import struct
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = 0x616B3432
NORM_EPS = 1e-5
ROPE_THETA = 10000.0


@dataclass
class ModelArgs:
    dim: int = 128
    hidden_dim: int = 384
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 4
    vocab_size: int = 1024
    seq_len: int = 256
    shared_classifier: bool = True
    dropout: float = 0.0


class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * self.weight


def rope_tables(head_size, seq_len, dtype=torch.float32):
    """cos/sin of pos * theta^(-2i/head_size), shape (seq_len, head_size/2)."""
    i = torch.arange(0, head_size, 2, dtype=torch.float64)
    freqs = 1.0 / (ROPE_THETA ** (i / head_size))
    ang = torch.outer(torch.arange(seq_len, dtype=torch.float64), freqs)
    return torch.cos(ang).to(dtype), torch.sin(ang).to(dtype)


def apply_rope(x, cos, sin):
    """x: (B, T, H, hs); rotates the interleaved pairs (x[2i], x[2i+1])."""
    B, T, H, hs = x.shape
    xr = x.reshape(B, T, H, hs // 2, 2)
    a, b = xr[..., 0], xr[..., 1]
    c = cos[:T].view(1, T, 1, hs // 2)
    s = sin[:T].view(1, T, 1, hs // 2)
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).reshape(B, T, H, hs)


class Attention(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        assert a.dim % a.n_heads == 0 and a.n_heads % a.n_kv_heads == 0
        self.n_heads, self.n_kv_heads = a.n_heads, a.n_kv_heads
        self.head_size = a.dim // a.n_heads
        kv_dim = self.head_size * a.n_kv_heads
        self.wq = nn.Linear(a.dim, a.dim, bias=False)
        self.wk = nn.Linear(a.dim, kv_dim, bias=False)
        self.wv = nn.Linear(a.dim, kv_dim, bias=False)
        self.wo = nn.Linear(a.dim, a.dim, bias=False)
        self.dropout = a.dropout

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        hs = self.head_size
        q = self.wq(x).view(B, T, self.n_heads, hs)
        k = self.wk(x).view(B, T, self.n_kv_heads, hs)
        v = self.wv(x).view(B, T, self.n_kv_heads, hs)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.n_heads // self.n_kv_heads
        if rep > 1:  # query head h reads kv head h // rep
            k = k.repeat_interleave(rep, dim=2)
            v = v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        if self.training and self.dropout > 0:
            att = F.dropout(att, self.dropout)
        y = (att @ v).transpose(1, 2).reshape(B, T, -1)
        return self.wo(y)


class FeedForward(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.w1 = nn.Linear(a.dim, a.hidden_dim, bias=False)
        self.w2 = nn.Linear(a.hidden_dim, a.dim, bias=False)
        self.w3 = nn.Linear(a.dim, a.hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.attention_norm = RMSNorm(a.dim)
        self.attention = Attention(a)
        self.ffn_norm = RMSNorm(a.dim)
        self.feed_forward = FeedForward(a)

    def forward(self, x, cos, sin):
        x = x + self.attention(self.attention_norm(x), cos, sin)
        return x + self.feed_forward(self.ffn_norm(x))


class Transformer(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.args = a
        self.tok_embeddings = nn.Embedding(a.vocab_size, a.dim)
        self.layers = nn.ModuleList(Block(a) for _ in range(a.n_layers))
        self.norm = RMSNorm(a.dim)
        self.output = None if a.shared_classifier else nn.Linear(a.dim, a.vocab_size, bias=False)
        cos, sin = rope_tables(a.dim // a.n_heads, a.seq_len)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2 style scaled residual projections
            if name.endswith("wo.weight") or name.endswith("w2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * a.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, tokens):
        """tokens (B, T) -> logits (B, T, vocab)."""
        T = tokens.shape[1]
        assert T <= self.args.seq_len
        cos, sin = self.rope_cos.to(self.tok_embeddings.weight.dtype), self.rope_sin.to(
            self.tok_embeddings.weight.dtype)
        x = self.tok_embeddings(tokens)
        for layer in self.layers:
            x = layer(x, cos, sin)
        x = self.norm(x)
        w = self.tok_embeddings.weight if self.output is None else self.output.weight
        return x @ w.t()

    def n_params(self):
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def greedy(self, prompt, n):
        """Greedy continuation (argmax, lowest id on ties) of a list of ids."""
        ids = list(prompt)
        for _ in range(n):
            logits = self(torch.tensor([ids[-self.args.seq_len:]]))[0, -1]
            ids.append(int(torch.argmax(logits)))
        return ids[len(prompt):]


def export_v1(model: Transformer, path):
    """Writes llama2.c version-1 (fp32) format, as model.c reads it."""
    a = model.args
    hdr = struct.pack("<Ii", MAGIC, 1)
    hdr += struct.pack("<7i", a.dim, a.hidden_dim, a.n_layers, a.n_heads, a.n_kv_heads,
                       a.vocab_size, a.seq_len)
    hdr += struct.pack("<B", 1 if a.shared_classifier else 0)
    hdr += b"\0" * (256 - len(hdr))
    L = model.layers
    tensors = [l.attention_norm.weight for l in L] + [l.ffn_norm.weight for l in L]
    tensors += [model.norm.weight, model.tok_embeddings.weight]
    for get in (lambda l: l.attention.wq, lambda l: l.attention.wk, lambda l: l.attention.wv,
                lambda l: l.attention.wo, lambda l: l.feed_forward.w1,
                lambda l: l.feed_forward.w2, lambda l: l.feed_forward.w3):
        tensors += [get(l).weight for l in L]
    if not a.shared_classifier:
        tensors.append(model.output.weight)
    with open(path, "wb") as f:
        f.write(hdr)
        for t in tensors:
            f.write(t.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes())


def load_v1(path):
    """The inverse of export_v1: a Transformer from a version-1 file."""
    import numpy as np
    data = open(path, "rb").read()
    magic, version = struct.unpack_from("<Ii", data, 0)
    if magic != MAGIC or version != 1:
        raise ValueError(f"{path}: not a llama2.c version-1 file")
    dim, hid, L, nh, nkv, vocab, seq = struct.unpack_from("<7i", data, 8)
    a = ModelArgs(dim=dim, hidden_dim=hid, n_layers=L, n_heads=nh, n_kv_heads=nkv,
                  vocab_size=vocab, seq_len=seq, shared_classifier=bool(data[36]))
    model = Transformer(a)
    w = np.frombuffer(data, dtype="<f4", offset=256)
    off = 0

    def take(t):
        nonlocal off
        n = t.numel()
        with torch.no_grad():
            t.copy_(torch.from_numpy(w[off:off + n].copy()).view_as(t))
        off += n

    layers = model.layers
    for l in layers:
        take(l.attention_norm.weight)
    for l in layers:
        take(l.ffn_norm.weight)
    take(model.norm.weight)
    take(model.tok_embeddings.weight)
    for get in (lambda l: l.attention.wq, lambda l: l.attention.wk, lambda l: l.attention.wv,
                lambda l: l.attention.wo, lambda l: l.feed_forward.w1,
                lambda l: l.feed_forward.w2, lambda l: l.feed_forward.w3):
        for l in layers:
            take(get(l).weight)
    if not a.shared_classifier:
        take(model.output.weight)
    if off != len(w):
        raise ValueError(f"{path}: {len(w) - off} floats left over")
    return model.eval()


def save_checkpoint(model, path, extra=None):
    torch.save({"args": asdict(model.args), "model": model.state_dict(), **(extra or {})}, path)


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    model = Transformer(ModelArgs(**ck["args"]))
    model.load_state_dict(ck["model"])
    return model, ck
