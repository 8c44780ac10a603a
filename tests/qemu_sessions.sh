#!/bin/bash
# qemu_sessions.sh - sessions on the volume in the firmware (session.c):
#   boot 1: chat two turns, /quit; sessions/session_001 read back with
#           mtools: metadata.json and the JSON export parsed by python3's
#           json, the CSV export by its csv module, the log's records, the
#           two output files; fsck.fat -n clean
#   boot 2: on the same image the model load allocates session_002
#   boot 3: the disk read-only: one warning, the chat goes on, image unchanged
. "$(dirname "$0")/qemu_lib.sh"
need_files sessions "$MODELS/stories260K.bin" "$MODELS/tok512.bin" || finish
PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1

printf 'autodemo=0\ntemperature=0\nsteps=24\ntemplate=qa\n' >"$QT/llm.cfg"
img=$QT/sessions.img
qemu_image "$img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail sessions_image "mkimage failed"; finish; }
fat_volume "$img"
dir=::sessions/session_001

# chat_boot TURNS...: loads model 1, sends each prompt, then /quit.
chat_boot() {
    local ok=1
    qemu_start "$img"
    expect_send "model> " "1" 120 && wait_for "Chat template: qa" 120 || ok=0
    for t in "$@"; do
        [ $ok = 1 ] && expect_send "> " "$t" 30 && wait_for "[24 tokens," 300 || ok=0
    done
    [ $ok = 1 ] && expect_send "> " "/quit" 30 && qemu_wait 120 || ok=0
    return $((1 - ok))
}

if chat_boot "Who is Lily?" "Where is she?"; then pass sessions_chat; else fail sessions_chat "the chat did not finish"; fi
clean_log >"$QT/out1.txt"
mkdir -p "$QT/s1"
for f in metadata.json metadata.json.bak conversation.log output_001.txt output_002.txt export/session_001.txt \
    export/session_001.json export/session_001.md export/session_001.csv; do
    mcopy -n -i "$vol" "$dir/$f" "$QT/s1/${f#export/}" 2>>"$QT/mcopy.log" ||
        fail "sessions_read_$f" "mcopy: $(tail -n 1 "$QT/mcopy.log")"
done
check=$(python3 - "$QT/s1" <<'EOF'
import csv, json, sys
d = sys.argv[1]
meta = json.load(open(d + "/metadata.json", encoding="utf-8"))
assert json.load(open(d + "/metadata.json.bak", encoding="utf-8")) == meta
assert meta["session"] == 1 and meta["turn_count"] == 4, meta
assert meta["model"]["file"] == "stories260K.bin" and meta["template"] == "qa", meta
# preallocated: the records end at the first zero byte
log = open(d + "/conversation.log", "rb").read()
assert len(log) == 65536 and log.rstrip(b"\0").endswith(b"\n"), len(log)
recs = [json.loads(l) for l in log.split(b"\0")[0].decode("utf-8").split("\n") if l]
assert [r["role"] for r in recs] == ["user", "assistant"] * 2, recs
assert recs[0]["text"] == "Who is Lily?" and recs[2]["text"] == "Where is she?", recs
assert open(d + "/output_002.txt", encoding="utf-8").read() == recs[3]["text"]
exp = json.load(open(d + "/session_001.json", encoding="utf-8"))
assert [t["text"] for t in exp["turns"]] == [r["text"] for r in recs], exp
rows = list(csv.reader(open(d + "/session_001.csv", encoding="utf-8", newline="")))
assert rows[0] == ["index", "role", "time", "tokens", "tokens_per_s", "text"], rows[0]
assert [r[5] for r in rows[1:]] == [r["text"] for r in recs], rows
print("ok")
EOF
)
[ "$check" = ok ] && pass sessions_files_parse || fail sessions_files_parse "$check"
# the replies on the console are the ones saved
reply=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().split(chr(0))[0].split(chr(10))[1])["text"].strip())' \
    "$QT/s1/conversation.log" 2>/dev/null)
[ -n "$reply" ] && grep -aqF -- "$reply" "$QT/out1.txt" && pass sessions_reply_saved ||
    fail sessions_reply_saved "the first reply on the console is not in the log"

dd if="$img" of="$QT/part.img" bs=512 skip="$first" count=$((last - first + 1)) conv=sparse status=none
if fsck.fat -n "$QT/part.img" >"$QT/fsck.log" 2>&1; then pass sessions_fsck; else
    fail sessions_fsck "$(tr '\n' ' ' <"$QT/fsck.log")"; fi
rm -f "$QT/part.img"

# Boot 2: a reboot does not clobber session_001.
if chat_boot; then pass sessions_boot2; else fail sessions_boot2 "no /quit after the load"; fi
if mcopy -n -i "$vol" ::sessions/session_002/metadata.json "$QT/meta2.json" 2>/dev/null &&
    grep -q '"session": 2,' "$QT/meta2.json" &&
    mcopy -n -i "$vol" "$dir/metadata.json" - 2>/dev/null | cmp -s - "$QT/s1/metadata.json"; then
    pass sessions_next_number
else
    fail sessions_next_number "no session_002, or session_001 changed"
fi

# Boot 3: write-protected: one warning, the chat still answers.
sum_before=$(md5sum <"$img")
DISK_RO=1 chat_boot "Who is Lily?" && pass sessions_ro_chat || fail sessions_ro_chat "no reply on a read-only disk"
warns=$(clean_log | grep -ac '^warning: sessions are not saved (the volume is write-protected)$')
[ "$warns" = 1 ] && pass sessions_ro_warning || fail sessions_ro_warning "expected one warning, got $warns"
[ "$(md5sum <"$img")" = "$sum_before" ] && pass sessions_ro_unchanged ||
    fail sessions_ro_unchanged "the image changed during the read-only boot"
finish
