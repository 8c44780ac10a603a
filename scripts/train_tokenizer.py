#!/usr/bin/python3
"""train_tokenizer.py - a BPE tokenizer trainer that writes llama2.c's
tokenizer.bin format, and an encoder that is, id for id, the project's
tokenizer.c (= llama2.c run.c's encode).

  train_tokenizer.py --vocab 1024 --out models/kjv1m_tok1024.bin [--input FILE ...]
      trains on FILEs (each one document), default the KJV training chapters
      (scripts/kjv.py); prints the merge count and the held-out compression.
  train_tokenizer.py --encode TOK.bin [--bos] (--text S | --text-file F)
      prints the ids of the text (one line, space separated), as tokenizer.c's
      tokenizer_encode(t, text, bos, eos = 0) gives them.

File format (tokenizer.c, run.c): int32 max_token_length, then per token
float32 score, int32 length, the bytes. Ids, as tokenizer.c assumes:
  0 <unk>, 1 <s> (BOS), 2 </s> (EOS)               score 0
  3 + b: <0xXX> byte fallback for byte b            score 0
  the single characters of the training text        score -1e9 (never merged into)
  merged tokens in merge order, rank r = 0, 1, ...  score -r
The encoder (below and tokenizer.c) starts from one symbol per UTF-8 code
point (unknown ones become byte tokens), after a dummy-prefix space, and
repeatedly merges the adjacent pair whose concatenation is a token of the
highest score (leftmost on ties). With score -r the first trained merge is
the best, so the trained merge order is what the C tokenizer replays.

Training: text is pre-split into words (an optional leading space then
letters, or digits, or other non-space characters; each other white-space
character alone), with a space prepended to every document as the encoder
does; then classic BPE over the word counts: repeatedly merge the most
frequent adjacent pair (ties: the smallest pair of strings), never across
words, until the vocabulary is full.
"""
import argparse
import collections
import heapq
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SCORE_CHAR = -1e9
MERGE_SCORE_FLOOR = -1e10
_WORD = re.compile(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s")


def train(docs, vocab_size, log=print):
    """docs: list of str. Returns [(piece bytes, score)] of vocab_size tokens."""
    words = collections.Counter()
    chars = set()
    for d in docs:
        d = " " + d
        chars.update(d)
        words.update(_WORD.findall(d))
    base = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)]
    base += [(f"<0x{b:02X}>", 0.0) for b in range(256)]
    base += [(c, SCORE_CHAR) for c in sorted(chars)]
    n_merges = vocab_size - len(base)
    if n_merges < 0:
        raise SystemExit(f"train_tokenizer: vocab {vocab_size} < {len(base)} base tokens")
    # word id -> list of symbols; pair -> count; pair -> set of word ids
    wlist = [list(w) for w in words]
    wcount = [words[w] for w in words]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, syms in enumerate(wlist):
        for a, b in zip(syms, syms[1:]):
            pairs[(a, b)] += wcount[i]
            where[(a, b)].add(i)
    # max-heap of (-count, pair) with lazy deletion
    heap = [(-c, p) for p, c in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        negc, p = heapq.heappop(heap)
        if pairs.get(p, 0) != -negc or -negc <= 0:
            continue  # stale
        a, b = p
        new = a + b
        merges.append(new)
        changed = collections.Counter()
        for i in list(where[p]):
            syms, c = wlist[i], wcount[i]
            for x, y in zip(syms, syms[1:]):
                changed[(x, y)] -= c
            out, k = [], 0
            while k < len(syms):
                if k + 1 < len(syms) and syms[k] == a and syms[k + 1] == b:
                    out.append(new)
                    k += 2
                else:
                    out.append(syms[k])
                    k += 1
            wlist[i] = out
            for x, y in zip(out, out[1:]):
                changed[(x, y)] += c
                where[(x, y)].add(i)
        for q, dc in changed.items():
            if dc:
                pairs[q] += dc
                if pairs[q] > 0:
                    heapq.heappush(heap, (-pairs[q], q))
        del pairs[p]
        del where[p]
    log(f"train_tokenizer: {len(base)} base tokens ({len(chars)} characters), "
        f"{len(merges)} merges, vocabulary {len(base) + len(merges)}")
    vocab = [(s.encode("utf-8"), sc) for s, sc in base]
    vocab += [(m.encode("utf-8"), -float(r)) for r, m in enumerate(merges)]
    assert len(set(p for p, _ in vocab)) == len(vocab), "duplicate pieces"
    return vocab


def write(vocab, path):
    with open(path, "wb") as f:
        f.write(struct.pack("<i", max(len(p) for p, _ in vocab)))
        for p, sc in vocab:
            f.write(struct.pack("<fi", sc, len(p)))
            f.write(p)


def load(path):
    """[(piece bytes, score float32)] from a tokenizer.bin."""
    data = open(path, "rb").read()
    off, vocab = 4, []
    while off < len(data):
        sc, n = struct.unpack_from("<fi", data, off)
        vocab.append((data[off + 8:off + 8 + n], sc))
        off += 8 + n
    return vocab


class Encoder:
    """tokenizer.c's encode_llama2c, on bytes."""

    def __init__(self, vocab):
        self.pieces = [p.split(b"\0", 1)[0] for p, _ in vocab]  # a NUL ends a piece, as in C
        self.scores = [sc for _, sc in vocab]
        self.ids = {}
        for i, p in enumerate(self.pieces):
            self.ids.setdefault(p, i)

    def encode(self, text, bos=True, eos=False, dummy_prefix=True):
        """dummy_prefix=False is not something tokenizer.c does (tests use it)."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        pieces, ids, scores = self.pieces, self.ids, self.scores
        syms = []
        if bos:
            syms.append(1)

        def push_piece(p):
            i = ids.get(p)
            if i is not None:
                syms.append(i)
            else:
                syms.extend(b + 3 for b in p)

        if data and dummy_prefix:
            push_piece(b" ")
        k, n = 0, len(data)
        while k < n:
            j = k + 1
            while j < n and j - k < 4 and (data[j] & 0xC0) == 0x80:
                j += 1
            push_piece(data[k:j])
            k = j
        m = len(syms)
        sid = syms
        nxt = list(range(1, m)) + [-1]
        prv = list(range(-1, m - 1))
        gen = [0] * m
        heap = []

        def consider(pos):
            q = nxt[pos]
            if q < 0:
                return
            i = ids.get(pieces[sid[pos]] + pieces[sid[q]])
            if i is None or not scores[i] > MERGE_SCORE_FLOOR:
                return
            heapq.heappush(heap, (-scores[i], pos, gen[pos], i))

        for pos in range(m - 1):
            consider(pos)
        while heap:
            _, pos, g, i = heapq.heappop(heap)
            if sid[pos] < 0 or gen[pos] != g:
                continue
            r = nxt[pos]
            sid[pos] = i
            gen[pos] += 1
            nxt[pos] = nxt[r]
            if nxt[pos] >= 0:
                prv[nxt[pos]] = pos
            sid[r] = -1
            if prv[pos] >= 0:
                gen[prv[pos]] += 1
                consider(prv[pos])
            consider(pos)
        out = [t for t in sid if t >= 0]
        if eos:
            out.append(2)
        return out

    def decode(self, ids, prev=-1):
        """Bytes of ids as tokenizer.c's tokenizer_decode(prev, id) pieces give
        them (prev: the id before ids[0], e.g. 1 after BOS)."""
        out = []
        for t in ids:
            p = self.pieces[t]
            if prev == 1 and p.startswith(b" "):
                p = p[1:]
            m = re.fullmatch(rb"<0x([0-9A-Fa-f]{2})>", p)
            out.append(bytes([int(m.group(1), 16)]) if m else p)
            prev = t
        return b"".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--out")
    ap.add_argument("--input", nargs="*", help="training text files (default: KJV train split)")
    ap.add_argument("--encode", metavar="TOK.bin")
    ap.add_argument("--bos", action="store_true")
    ap.add_argument("--text")
    ap.add_argument("--text-file")
    a = ap.parse_args()
    if a.encode:
        enc = Encoder(load(a.encode))
        text = a.text.encode() if a.text is not None else open(a.text_file, "rb").read()
        print(" ".join(map(str, enc.encode(text, bos=a.bos))))
        return
    if not a.out:
        ap.error("--out is required for training")
    val = []
    if a.input:
        docs = [open(f, encoding="utf-8").read() for f in a.input]
    else:
        import kjv
        docs, val = kjv.split(kjv.chapters())
    vocab = train(docs, a.vocab)
    write(vocab, a.out)
    if val:
        enc = Encoder(vocab)
        nbytes = sum(len(d.encode()) for d in val)
        ntok = sum(len(enc.encode(d, bos=False)) for d in val)
        print(f"train_tokenizer: validation text {nbytes} bytes -> {ntok} tokens "
              f"({nbytes / ntok:.2f} bytes per token)")
    print(f"train_tokenizer: wrote {a.out} ({os.path.getsize(a.out)} bytes)")


if __name__ == "__main__":
    main()
