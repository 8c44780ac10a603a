"""kjv.py - the training corpus: the King James Bible as Debian's bible-kjv
package prints it, split into chapters and into train / validation sets.

  CORPUS_CMD  `bible -f Gen1:1-Rev22:21`: the whole text, one verse a line,
              each line "Ge1:1 In the beginning God created ..." (-f turns
              pretty-printing off); 31102 lines, 4404412 bytes, ASCII.
  SHA256      of that output (bible-kjv 4.38, Debian 12); checked.

A chapter becomes one training document: its verses without the references,
joined by "\n". Chapter k (0-based, in Bible order, 1189 chapters) is in the
validation set when k % 20 == 10 (59 chapters, about 5%), else in training.
"""
import hashlib
import re
import subprocess

CORPUS_CMD = ["bible", "-f", "Gen1:1-Rev22:21"]
SHA256 = "cd45f0c9cedab8e4439bd6486c8952c77cc8b0ecc5d1f6ae3513f2039f47229d"
VAL_EVERY, VAL_AT = 20, 10

_REF = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")


def corpus_text(check=True):
    """The output of CORPUS_CMD (str); raises when its sha256 differs."""
    try:
        raw = subprocess.run(CORPUS_CMD, check=True, stdout=subprocess.PIPE).stdout
    except FileNotFoundError:
        raise SystemExit("kjv.py: `bible` not found: apt-get install bible-kjv")
    digest = hashlib.sha256(raw).hexdigest()
    if check and digest != SHA256:
        raise SystemExit(f"kjv.py: {' '.join(CORPUS_CMD)}: sha256 {digest}, expected {SHA256}")
    return raw.decode("ascii")


def chapters(text=None):
    """[(name, text)] in Bible order, e.g. ("Ge1", "In the beginning ...\\nAnd the earth ...")."""
    text = corpus_text() if text is None else text
    out, cur, verses = [], None, []
    for line in text.splitlines():
        m = _REF.match(line)
        if not m:
            raise ValueError(f"kjv.py: unexpected line: {line[:60]!r}")
        name = m.group(1) + m.group(2)
        if name != cur:
            if verses:
                out.append((cur, "\n".join(verses)))
            cur, verses = name, []
        verses.append(m.group(4))
    if verses:
        out.append((cur, "\n".join(verses)))
    return out


def split(chs):
    """(train, val) lists of chapter texts."""
    train = [t for k, (_, t) in enumerate(chs) if k % VAL_EVERY != VAL_AT]
    val = [t for k, (_, t) in enumerate(chs) if k % VAL_EVERY == VAL_AT]
    return train, val
