#!/bin/bash
# qemu_powercut.sh - power cuts during session writes (storage.c, session.c).
# KILLS times (default 20): boot, load the model, type chat turns without
# waiting (each turn writes its records into the preallocated conversation.log
# and both copies of the metadata, in place), and SIGKILL QEMU after a random
# delay; the next boot writes the output files the cut session lacks. After each
# cut:
#   - fsck.fat -n on the FAT volume must be clean. The one finding accepted
#     is the volume's dirty bit (the firmware's FAT driver sets it while files
#     are open; a cut leaves it set, nothing is lost); anything else fails.
#   - python3 reads every session: of metadata.json and metadata.json.bak
#     (rewritten in place, one after the other) at least one must be valid
#     JSON of that session, and the newer one counts; every log line (up to
#     the first zero byte of the preallocated log) but a torn last one must
#     be a valid record.
#   - every session completed in an earlier round (one that was not the one
#     being written when the cut came) reads back exactly as it did then.
. "$(dirname "$0")/qemu_lib.sh"
need_files powercut "$MODELS/stories260K.bin" "$MODELS/tok512.bin" || finish
PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1
KILLS=${KILLS:-20}

printf 'autodemo=0\ntemperature=0\nsteps=24\ntemplate=qa\n' >"$QT/llm.cfg"
img=$QT/powercut.img
qemu_image "$img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail powercut_image "mkimage failed"; finish; }
lba() { od -An -t u8 -j $((1024 + $1)) -N 8 "$img" | tr -d ' '; }
first=$(lba 32) last=$(lba 40)
vol="$img@@$((first * 512))"

# read_sessions OUT: a JSON summary {session: [meta, records]} of the volume.
read_sessions() {
    rm -rf "$QT/copy" && mkdir -p "$QT/copy"
    mcopy -s -n -i "$vol" ::sessions "$QT/copy/" 2>/dev/null
    python3 - "$QT/copy/sessions" "$1" <<'PY'
import json, os, sys
root, out = sys.argv[1], sys.argv[2]
summary, errors = {}, []
for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
    d = os.path.join(root, name)
    num = int(name[8:])
    metas = []                           # the whole copies (a cut tears at most one)
    for f in ("metadata.json", "metadata.json.bak", "metadata.json.new"):
        p = os.path.join(d, f)
        if not os.path.exists(p):
            continue
        try:
            m = json.load(open(p, encoding="utf-8"))
            assert m["session"] == num, "wrong session number"
            metas.append(m)
        except Exception as e:
            pass
    recs, log = [], os.path.join(d, "conversation.log")
    if os.path.exists(log):
        lines = open(log, "rb").read().split(b"\0")[0].split(b"\n")
        for i, l in enumerate(lines[:-1]):   # the part after the last newline may be torn
            try:
                r = json.loads(l.decode("utf-8")); assert r["role"] in ("user", "assistant")
                recs.append(r["text"])
            except Exception as e:
                errors.append("%s: log line %d: %s" % (name, i + 1, e))
    if not metas:                        # cut while the session was being created
        if recs:
            errors.append("%s: %d turns but no whole metadata copy" % (name, len(recs)))
        summary[name] = None
        continue
    meta = max(metas, key=lambda m: (m["turn_count"], m["updated_s"]))
    if meta["turn_count"] > len(recs):
        errors.append("%s: metadata counts %d turns, the log has %d" % (name, meta["turn_count"], len(recs)))
    summary[name] = [meta["turn_count"], recs]
json.dump(summary, open(out, "w"))
print("\n".join(errors) if errors else "ok")
PY
}

# cut_power: SIGKILL to the qemu-system process itself (QEMU_PID is the
# `timeout` wrapper around scripts/qemu.sh), found among its descendants.
cut_power() {
    local p kids=$QEMU_PID all=''
    while [ -n "$kids" ]; do
        all="$all $kids"
        kids=$(for p in $kids; do ps -o pid= --ppid "$p"; done)
    done
    for p in $all; do
        case $(ps -o comm= -p "$p" 2>/dev/null) in qemu-system*) kill -KILL "$p" && return 0 ;; esac
    done
    return 1
}

bad_fsck=0 bad_read=0 bad_keep=0 cuts=0
: >"$QT/prev.json"
for round in $(seq 1 "$KILLS"); do
    qemu_start "$img"
    if expect_send "model> " "1" 60 && wait_for "Chat template: qa" 60; then
        for q in "Who is Lily?" "Where is she?" "What next?" "And then?" "Why?"; do send_line "$q"; done
        sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * 2 }')"
    fi
    cut_power && cuts=$((cuts + 1))
    qemu_stop 2>/dev/null  # no "Killed" job notice
    dd if="$img" of="$QT/part.img" bs=512 skip="$first" count=$((last - first + 1)) conv=sparse status=none
    fsck.fat -n "$QT/part.img" >"$QT/fsck.log" 2>&1
    rc=$?
    # accepted: clean, or the dirty bit as the only finding
    other=$(grep -avE '^fsck\.fat |^Checking we can access|^There is no label|^[^:]*: [0-9]+ files, [0-9]+/[0-9]+ clusters$|Dirty bit is set|Automatically removing dirty bit|^ *[0-9]\) |^$|Leaving filesystem unchanged|^\*\*\* Filesystem was changed \*\*\*|^The changes have not yet been written|will not be written' "$QT/fsck.log")
    if [ $rc -ne 0 ] && [ -n "$other" ]; then
        bad_fsck=$((bad_fsck + 1)); echo "round $round: fsck: $(tr '\n' ' ' <"$QT/fsck.log")"
    fi
    res=$(read_sessions "$QT/now.json")
    [ "$res" = ok ] || { bad_read=$((bad_read + 1)); echo "round $round: $res"; }
    # sessions of earlier rounds (all but the newest then) must be unchanged
    keep=$(python3 - "$QT/prev.json" "$QT/now.json" <<'PY'
import json, sys
try: prev = json.load(open(sys.argv[1]))
except Exception: prev = {}
now = json.load(open(sys.argv[2]))
done = sorted(prev)[:-1]
print(" ".join(n for n in done if now.get(n) != prev[n]) or "ok")
PY
)
    [ "$keep" = ok ] || { bad_keep=$((bad_keep + 1)); echo "round $round: changed: $keep"; }
    cp "$QT/now.json" "$QT/prev.json"
done
n=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])).values()
print("%d_sessions_%d_turns" % (len(s), sum(len(v[1]) for v in s if v)))' "$QT/prev.json")
[ "$cuts" -ge "$KILLS" ] && pass "powercut_${cuts}_cuts_${n}" || fail powercut_cuts "only $cuts cuts"
[ $bad_fsck = 0 ] && pass powercut_fsck || fail powercut_fsck "$bad_fsck rounds with fsck findings"
[ $bad_read = 0 ] && pass powercut_sessions_readable || fail powercut_sessions_readable "$bad_read rounds"
[ $bad_keep = 0 ] && pass powercut_earlier_sessions_whole || fail powercut_earlier_sessions_whole "$bad_keep rounds"
finish
