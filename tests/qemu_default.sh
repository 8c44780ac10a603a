#!/bin/bash
# qemu_default.sh - the image `make run` builds (scripts/mkimage.sh with MODEL
# unset) carries the model this repository trains, and it is what the kiosk
# demo runs:
#   default_image        the image lists kjv1m.bin and kjv1m_tok1024.bin
#   default_autodemo     booted with mkimage's own llm.cfg and no key pressed,
#       the demo loads kjv1m.bin with kjv1m_tok1024.bin and prints a
#       generation after the first demo prompt (words of the KJV style: at
#       least 3 of the, and, of, unto, that, his, shall, he, in, to; and at
#       least 40 letters). The demo samples with a clock seed, so the text
#       differs per boot: "the" and "and" both were missing now and then.
#   default_sample       with an llm.cfg asking for the card's greedy sample
#       (models/README.md: prompt, steps) the serial console carries that text
#       exactly, as build/llm prints it on the host
. "$(dirname "$0")/qemu_lib.sh"
root=$QEMU_LIB_ROOT

need_files default "$root/models/kjv1m.bin" "$root/models/kjv1m_tok1024.bin" || finish
qemu_image "$QT/a.img" || { fail default_image "mkimage failed"; finish; }
# mkimage's last line lists the files it put on the image.
files=$(grep '^mkimage: ' "$QT/mkimage.log" | tail -n 1)
if [[ " ${files##*: } " == *" kjv1m.bin "* && " ${files##*: } " == *" kjv1m_tok1024.bin "* ]]; then
    pass default_image
else
    fail default_image "kjv1m.bin / kjv1m_tok1024.bin not on the default image: $files"
fi

qemu_start "$QT/a.img"
if wait_for "model> " 120 && wait_for "Loaded kjv1m.bin" 120 && wait_for "=== Demo 1/" 60 &&
   wait_for " tokens," 300; then
    text=$(clean_log | awk '/^=== Demo 1\// { on = 1; next } on && /tokens,/ { exit } on { print }')
    kjv=0
    for w in the and of unto that his shall he in to; do
        printf '%s' "$text" | grep -qiw "$w" && kjv=$((kjv + 1))
    done
    if clean_log | grep -aq "kjv1m_tok1024.bin" && [ "$kjv" -ge 3 ] &&
       [ "$(printf '%s' "$text" | tr -cd 'A-Za-z' | wc -c)" -ge 40 ]; then
        pass default_autodemo
    else
        fail default_autodemo "demo text without KJV words or not with kjv1m_tok1024.bin: $(printf '%s' "$text" | head -c 200)"
    fi
else
    fail default_autodemo "the demo did not load kjv1m.bin and generate"
fi
qemu_stop

# The card's greedy sample, in the firmware.
read -r steps prompt < <(python3 - "$root/models/README.md" "$QT/want.txt" <<'PY'
import re, sys
m = re.search(r'<!-- sample: -n (\d+) -i "(.*?)" -->\n```text\n(.*?)\n```', open(sys.argv[1]).read(), re.S)
open(sys.argv[2], "w").write(m.group(3) if m else "")
if m:
    print(m.group(1), m.group(2))
PY
)
if [ -z "${steps:-}" ] || [ ! -s "$QT/want.txt" ]; then
    fail default_sample "no '<!-- sample: -n N -i \"PROMPT\" -->' block in models/README.md"
    finish
fi
printf 'model=kjv1m.bin\ntokenizer=kjv1m_tok1024.bin\nprompt=%s\ntemperature=0\nsteps=%s\nshutdown=1\n' \
    "$prompt" "$steps" >"$QT/llm.cfg"
qemu_image "$QT/b.img" CFG="$QT/llm.cfg" || { fail default_sample "mkimage failed"; finish; }
qemu_start "$QT/b.img"
if qemu_wait 400 && clean_log >"$QT/serial.txt" &&
   python3 -c 'import sys; sys.exit(0 if b"\n" + open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read() else 1)' \
       "$QT/serial.txt" "$QT/want.txt"; then
    pass default_sample
else
    fail default_sample "the serial output does not contain the card's greedy sample"
fi
finish
