#!/bin/bash
# qemu_menu.sh - several models on one volume: a good llama2.c file, the
# same model as GGUF, one too big for the machine's memory and a broken one.
# The menu must list each with its facts, refuse the too-big and the broken
# one with the numbers, show a details page, and run the GGUF model.
. "$(dirname "$0")/qemu_lib.sh"

# Too big: stories260K's weights with a context of 2^20 positions, so the
# KV cache alone needs 1.25 GiB (the legacy freq_cis block grows with it).
python3 - "$MODELS/stories260K.bin" "$QT/huge.bin" <<'PY'
import struct, sys
src = open(sys.argv[1], 'rb').read()
dim, hid, layers, heads, kv, vocab, seq = struct.unpack('<7i', src[:28])
head = dim // heads
fcis = seq * head * 4                      # bytes of the old freq_cis block
weights = src[28:len(src) - fcis]
new_seq = 1 << 20
with open(sys.argv[2], 'wb') as f:
    f.write(struct.pack('<7i', dim, hid, layers, heads, kv, vocab, new_seq))
    f.write(weights)
    f.truncate(28 + len(weights) + new_seq * head * 4)
PY
# llama2.c version 2: int8 weights in groups of 4 with fp32 scales, in the
# layout of llama2.c's export.py (norms first, then each matrix per layer).
python3 - "$MODELS/stories260K.bin" "$QT/storiesv2.bin" <<'PY'
import array, struct, sys
src = open(sys.argv[1], 'rb').read()
dim, hid, L, heads, kvh, vocab, seq = struct.unpack('<7i', src[:28])
kv = dim // heads * kvh
w = array.array('f'); w.frombytes(src[28:])
sizes = [vocab*dim, L*dim, L*dim*dim, L*dim*kv, L*dim*kv, L*dim*dim, L*dim, L*dim*hid, L*dim*hid, L*dim*hid, dim]
t, o = [], 0
for n in sizes:
    t.append(w[o:o+n]); o += n
gs = 4
out = open(sys.argv[2], 'wb')
hdr = struct.pack('<Ii7iBi', 0x616b3432, 2, dim, hid, L, heads, kvh, vocab, seq, 1, gs)
out.write(hdr + b'\0' * (256 - len(hdr)))
for i in (1, 6, 10):
    out.write(t[i].tobytes())
def rnd(x):                      # round half away from zero
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)
for i in (0, 2, 3, 4, 5, 7, 8, 9):
    layers = 1 if i == 0 else L
    per = len(t[i]) // layers
    for l in range(layers):
        m = t[i][l*per:(l+1)*per]
        q, s = array.array('b'), array.array('f')
        for g in range(0, per, gs):
            grp = m[g:g+gs]
            sc = struct.unpack('f', struct.pack('f', max(abs(v) for v in grp) / 127.0))[0]
            s.append(sc)
            q.extend(rnd(v / sc) if sc > 0 else 0 for v in grp)
        out.write(q.tobytes() + s.tobytes())
PY
head -c 5000 /dev/urandom >"$QT/garbage.bin"
printf 'autodemo=0\n' >"$QT/llm.cfg"
qemu_image "$QT/a.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" \
    EXTRA="$MODELS/stories260K.gguf:stories260K.gguf $QT/huge.bin:huge.bin $QT/garbage.bin:garbage.bin $QT/storiesv2.bin:storiesv2.bin" ||
    { fail menu_image "mkimage failed"; finish; }
qemu_start "$QT/a.img"
wait_for "model> " 120 || { fail menu_listing "no menu"; finish; }
# Sorted: garbage.bin, huge.bin, stories260K.bin, stories260K.gguf.
if log_has " 1. garbage.bin" && log_has " 2. huge.bin" && log_has " 3. stories260K.bin" &&
   log_has " 4. stories260K.gguf" &&
   log_has "GGUF llama f32, 0.29M params, dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512, context 2048" &&
   log_has "llama2.c llama f32, 0.26M params, dim 64" && log_has "-- TOO BIG: " &&
   log_has "tokens/s (memory bound at"; then
    pass menu_listing
else
    fail menu_listing "the menu misses models or their facts"
fi
send_line "2"
wait_for "huge.bin needs 1313 MiB but only " 30 && wait_for "MiB are free." 5 && pass menu_refuses_too_big ||
    fail menu_refuses_too_big "the too-big model was not refused with its numbers"
wait_for "model> " 30 && send_line "1"
wait_for "garbage.bin is unusable:" 30 && pass menu_refuses_broken ||
    fail menu_refuses_broken "the broken file was not refused"
wait_for "model> " 30 && send "4i"
wait_for "== stories260K.gguf ==" 30 && wait_for "llama.attention.head_count_kv = uint32 4" 30 &&
    pass menu_details_page || fail menu_details_page "no details page for the GGUF model"
# arrows move the selection (the details page left it on 4), Enter loads it
wait_for "model> " 30 && send $'\e[A'
wait_for "> 3. stories260K.bin" 30 && send $'\e[B' && wait_for "> 4. stories260K.gguf" 30 &&
    pass menu_arrow_keys || fail menu_arrow_keys "the arrow keys did not move the selection"
send $'\r'
if wait_for "Loaded stories260K.gguf" 120 && wait_for "> " 30; then
    send_line "/temp 0"
    wait_for "> " 30 && send_line "Once upon a time"
    want=$(awk '/^=== prompt="Once upon a time"/ { getline; print; exit }' \
        "$MODELS/reference/stories260K_greedy_stdout.txt" | cut -c1-100)
    wait_for "$want" 300 && pass menu_gguf_generates || fail menu_gguf_generates "no greedy text"
else
    fail menu_gguf_generates "the GGUF model did not load"
fi
# the int8 (version 2) copy: listed as such, and its greedy story starts
# like the fp32 model's
wait_for "> " 120 && send_line "/model 5"
if wait_for "Loaded storiesv2.bin (stories260K: llama2.c v2 llama int8 groups" 120 &&
   expect_send "> " "Once upon a time" 30 &&
   wait_for "Once upon a time, there was a little girl named Lily." 300; then
    pass menu_llama2c_v2_int8
else
    fail menu_llama2c_v2_int8 "the version 2 model did not load or generate"
fi
wait_for "> " 120 && send_line "/quit"
qemu_wait 60 || fail menu_quit "QEMU still running after /quit"
finish
