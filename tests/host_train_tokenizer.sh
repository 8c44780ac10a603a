#!/bin/bash
# host_train_tokenizer.sh - scripts/train_tokenizer.py (BPE trainer writing
# llama2.c's tokenizer.bin format, plus a Python copy of the encoder) against
# the project's tokenizer.c, which reads that file as it reads llama2.c's:
#
#   train_tok_<name>_ids    the ids tokenizer_encode(bos = 1) gives (a small C
#       program built here with the core sources) equal the trainer's own
#       Encoder ids, for held-out text and a table of hard strings (empty,
#       spaces, tabs, newlines, digits, punctuation, "<s>", accented letters,
#       CJK, emoji, a lone UTF-8 continuation byte: byte fallback <0xXX>).
#   train_tok_<name>_roundtrip  decoding those ids after the BOS (tokenizer.c's
#       piece rules: the space after BOS dropped, <0xXX> as the byte) gives
#       the text back, byte for byte.
#   train_tok_<name>_merges  the trained merge order is what the C merge rule
#       replays: every merged token's text, encoded on its own (the trainer's
#       encoder, equal to C by the ids check, without BOS and dummy space),
#       is that one token.
# Tokenizers: kjv512 (trained here on the KJV training chapters, scripts/kjv.py,
# the validation chapters as held-out text) and the committed default
# models/kjv1m_tok1024.bin (the same held-out chapters). SKIP when /usr/bin/python3
# or the `bible` command (Debian bible-kjv) is missing.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
    echo "SKIP: train_tok: no $PY"
    exit 0
fi
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

# tokenizer.c's encoder as a command: one line of ids per text file.
cat >"$tmp/enc.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "errors.h"
#include "tokenizer.h"
int main(int argc, char **argv)
{
    struct tokenizer t;
    char err[256];
    if (argc < 2 || tokenizer_load(&t, argv[1], err, sizeof err)) {
        fprintf(stderr, "enc: %s\n", argc < 2 ? "usage: enc TOK.bin FILE..." : err);
        return 1;
    }
    for (int a = 2; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) {
            perror(argv[a]);
            return 1;
        }
        static char text[1 << 22];
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = 0;
        int cap = tokenizer_max_tokens(&t, n), k = 0;
        int *ids = malloc(sizeof(int) * (size_t)cap);
        int rc = tokenizer_encode(&t, text, 1, 0, ids, cap, &k);
        if (rc) {
            fprintf(stderr, "enc: %s: %s\n", argv[a], err_str(rc));
            return 1;
        }
        for (int i = 0; i < k; i++)
            printf("%s%d", i ? " " : "", ids[i]);
        putchar('\n');
        free(ids);
    }
    tokenizer_free(&t);
    return 0;
}
C
if ! gcc -std=c11 -O1 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
        -fsanitize=address,undefined -fno-sanitize-recover=undefined -I. \
        "$tmp/enc.c" tokenizer.c tokenizer_spm.c tokenizer_bpe.c gguf.c lib.c fmt.c \
        errors.c platform_posix.c pfjob.c -o "$tmp/enc" -lpthread -lm 2>"$tmp/cc.log"; then
    echo "FAIL: train_tok_build: $(head -n 5 "$tmp/cc.log" | tr '\n' ' ')"
    exit 1
fi

if ! command -v bible >/dev/null 2>&1; then
    echo "SKIP: train_tok: no \`bible\` command (apt-get install bible-kjv) for the training text"
    exit 0
fi

# Held-out text and hard strings, one file each; kjv512 trained on the
# training chapters.
if ! "$PY" - "$tmp" >"$tmp/prep.log" 2>&1 <<'PY'; then
import os, sys
sys.path.insert(0, "scripts")
import kjv, train_tokenizer as tt
out = sys.argv[1]
train, val = kjv.split(kjv.chapters())
tt.write(tt.train(train, 512, log=lambda *a: None), f"{out}/kjv512.bin")
texts = ["\n".join(val), val[0], val[-1][:300],
         "", " ", "  ", "a", "\n", "\t\tx", "   And   God  said \n\n Let", "In the beginning",
         "12 345 6789, 3:16; (verily!) 'Amen.' \"quoted\" - -- ? <s> </s> <unk> <0x41>",
         "caf\u00e9 na\u00efve \u00c9den \u65e5\u672c\u8a9e \U0001F600 \u2581x",
         "THE LORD Jehovah Melchizedek Nebuchadnezzar Zerubbabel",
         "and and and and and and and and and and and and"]
for i, t in enumerate(texts):
    open(f"{out}/text{i:02d}.txt", "wb").write(t.encode("utf-8"))
# a lone continuation byte and a truncated 3-byte sequence (invalid UTF-8)
open(f"{out}/text{len(texts):02d}.txt", "wb").write(b"ab\x80cd \xe6\x97 end \xff")
PY
    echo "FAIL: train_tok_prepare: $(tail -n 3 "$tmp/prep.log" | tr '\n' ' ')"
    exit 1
fi

check() { # check NAME TOK.bin
    local name=$1 tok=$2
    if ! "$tmp/enc" "$tok" "$tmp"/text*.txt >"$tmp/$name.c.ids" 2>"$tmp/$name.err"; then
        echo "FAIL: train_tok_${name}_ids: C encoder: $(head -n 2 "$tmp/$name.err" | tr '\n' ' ')"
        return
    fi
    "$PY" - "$tok" "$tmp/$name.c.ids" "$name" "$tmp"/text*.txt <<'PY'
import sys
sys.path.insert(0, "scripts")
import train_tokenizer as tt
tok, cids, name, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
vocab = tt.load(tok)
enc = tt.Encoder(vocab)
c_lines = [list(map(int, l.split())) for l in open(cids).read().split("\n")[:len(files)]]
bad = rt_bad = 0
total = 0
for f, c in zip(files, c_lines):
    text = open(f, "rb").read()
    py = enc.encode(text, bos=True)
    total += len(py)
    if py != c:
        k = next((i for i, (a, b) in enumerate(zip(py, c)) if a != b), min(len(py), len(c)))
        print(f"  {f}: first difference at {k}: C {c[k:k+6]} Python {py[k:k+6]}")
        bad += 1
    back = enc.decode(py[1:], prev=py[0])
    if back != text:
        print(f"  {f}: round trip {back[:60]!r} != {text[:60]!r}")
        rt_bad += 1
n = len(files)
print(f"FAIL: train_tok_{name}_ids: {bad} of {n} texts differ" if bad else
      f"PASS: train_tok_{name}_ids: {n} texts, {total} ids equal (C tokenizer.c = trainer's encoder)")
print(f"FAIL: train_tok_{name}_roundtrip: {rt_bad} of {n} texts" if rt_bad else
      f"PASS: train_tok_{name}_roundtrip: {n} texts decode back")
# merges: every merged token's text, encoded alone (no BOS, no dummy space),
# is that token: the C merge rule (highest score first) rebuilds it.
merged = [i for i, (p, s) in enumerate(vocab) if i >= 259 and s > -1e9 + 1]
ok = 0
for i in merged:
    p = vocab[i][0]
    ok += enc.encode(p, bos=False, dummy_prefix=False) == [i]
print(f"FAIL: train_tok_{name}_merges: {len(merged) - ok} of {len(merged)} merged tokens do not encode to themselves"
      if ok != len(merged) else
      f"PASS: train_tok_{name}_merges: all {len(merged)} merged tokens encode to themselves")
PY
}

check kjv512 "$tmp/kjv512.bin"
if [ -f models/kjv1m_tok1024.bin ]; then
    check kjv1m_tok1024 models/kjv1m_tok1024.bin
else
    echo "FAIL: train_tok_kjv1m_tok1024: models/kjv1m_tok1024.bin is missing"
fi
