#!/bin/bash
# qemu_resume.sh - /resume and /save across reboots in the firmware:
#   boot 1: chat two turns, /quit                          -> session_001
#   boot 2: /resume 1 (prefilled), a third question, /save -> session_002 + kv.bin
#   boot 3: /resume 2 from kv.bin, a fourth question
# Every reply must equal the host program's for the same keystrokes on a
# directory volume: the prefilled reply is the engine's answer to the whole
# conversation in the template, the kv.bin one the uninterrupted cache's.
# Then a corrupted kv.bin is reported once and the prefill used instead.
. "$(dirname "$0")/qemu_lib.sh"
need_files resume "$MODELS/stories260K.bin" "$MODELS/tok512.bin" || finish
LLM=$QEMU_LIB_ROOT/build/llm
PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1

printf 'autodemo=0\ntemperature=0\nsteps=24\ntemplate=qa\ncompress=lz4\n' >"$QT/llm.cfg"
boot1=("Who is Lily?" "Where is she?")
boot2=("/resume 1" "What next?" "/save")
boot3=("/resume 2" "And then?")

# The host's replies: the same keystrokes, one run per boot, on one directory.
mkdir -p "$QT/vol"
cp "$QT/llm.cfg" "$QT/vol/"
for f in stories260K.bin tok512.bin; do ln -s "$MODELS/$f" "$QT/vol/$f"; done
host_boot() { { echo 1; printf '%s\n' "$@" /quit; } | "$LLM" "$QT/vol" 2>&1; }
host_boot "${boot1[@]}" >/dev/null
host_boot "${boot2[@]}" >"$QT/host2.txt"
host_boot "${boot3[@]}" >"$QT/host3.txt"
grep -a -A1 '^> What next?' "$QT/host2.txt" | tail -1 >"$QT/want2.txt"
grep -a -A1 '^> And then?' "$QT/host3.txt" | tail -1 >"$QT/want3.txt"
grep -aq 'KV cache from kv.bin' "$QT/host3.txt" && [ -s "$QT/want2.txt" ] && [ -s "$QT/want3.txt" ] ||
    { fail resume_host "the host gave no resumed answers"; finish; }

img=$QT/resume.img
qemu_image "$img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail resume_image "mkimage failed"; finish; }
lba() { od -An -t u8 -j $((1024 + $1)) -N 8 "$img" | tr -d ' '; }
vol="$img@@$(($(lba 32) * 512))"

# chat_boot LINES...: loads model 1, types each line (a prompt waits for its
# reply, a command for the next prompt), then /quit.
chat_boot() {
    local ok=1
    qemu_start "$img"
    expect_send "model> " "1" 120 && wait_for "Chat template: qa" 120 || ok=0
    for t in "$@"; do
        [ $ok = 1 ] && expect_send "> " "$t" 30 || ok=0
        [ $ok = 1 ] && [ "${t#/}" = "$t" ] && { wait_for "[24 tokens," 300 || ok=0; }
    done
    [ $ok = 1 ] && expect_send "> " "/quit" 30 && qemu_wait 120 || ok=0
    return $((1 - ok))
}
same_reply() { clean_log | grep -aqF -- "$(tr -d '\r' <"$1")"; }

chat_boot "${boot1[@]}" && pass resume_boot1 || fail resume_boot1 "the chat did not finish"
chat_boot "${boot2[@]}" && pass resume_boot2 || fail resume_boot2 "the resumed chat did not finish"
if log_has "Resumed session 1: 2 exchanges, prefilled with the next prompt." && same_reply "$QT/want2.txt"; then
    pass resume_prefill_matches_host
else
    fail resume_prefill_matches_host "want: $(cat "$QT/want2.txt")"
fi
log_has "Saved the KV cache" && pass resume_save || fail resume_save "no /save confirmation"
chat_boot "${boot3[@]}" && pass resume_boot3 || fail resume_boot3 "the chat did not finish"
if log_has "Resumed session 2: 3 exchanges, KV cache from kv.bin." && same_reply "$QT/want3.txt"; then
    pass resume_kv_matches_host
else
    fail resume_kv_matches_host "want: $(cat "$QT/want3.txt")"
fi

# The files: session_002 holds the whole continued conversation and kv.bin.
mcopy -n -i "$vol" ::sessions/session_002/conversation.log "$QT/log2" 2>/dev/null &&
    mcopy -n -i "$vol" ::sessions/session_002/kv.bin "$QT/kv.bin" 2>/dev/null
check=$(python3 - "$QT/log2" "$QT/kv.bin" <<'EOF2'
import json, struct, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\0")[0].split("\n") if l]
assert [r["text"] for r in recs[::2]] == ["Who is Lily?", "Where is she?", "What next?"], recs
kv = open(sys.argv[2], "rb").read()
assert kv[:8] == b"LLMKVSN1" and struct.unpack_from("<I", kv, 8)[0] == 1, kv[:16]
print("ok")
EOF2
)
[ "$check" = ok ] && pass resume_files || fail resume_files "$check"

# A flipped byte in kv.bin: one message, then the prefill path.
size=$(stat -c %s "$QT/kv.bin")
printf '\x55' | dd of="$QT/kv.bin" bs=1 seek=$((size - 40)) conv=notrunc status=none
mcopy -o -n -i "$vol" "$QT/kv.bin" ::sessions/session_002/kv.bin 2>/dev/null
chat_boot "/resume 2" && pass resume_boot4 || fail resume_boot4 "the chat did not finish"
n=$(clean_log | grep -ac 'kv.bin: corrupt.*ignored, the conversation is prefilled instead')
[ "$n" = 1 ] && log_has "Resumed session 2: 3 exchanges, prefilled" && pass resume_corrupt_kv_ignored ||
    fail resume_corrupt_kv_ignored "expected one message and the prefill, got $n"
finish
