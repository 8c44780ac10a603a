#!/bin/bash
# qemu_storage.sh - the firmware's write path (storage.c over platform_efi.c)
# through its first user: bench=1 saves the printed tables to \bench.md.
#   boot 1: bench.md is created; it must equal the tables on the serial
#           console, byte for byte (mtools reads it back from the image)
#   boot 2: bench.md exists, so FAT's replace runs (tmp -> new, delete old,
#           new -> name): the new tables, no side files left
#   boot 3: the disk attached read-only (DISK_RO=1): one clear warning, the
#           app still powers off, the image is not changed
# fsck.fat -n must find the volume clean after each writing boot.
. "$(dirname "$0")/qemu_lib.sh"
need_files storage "$MODELS/stories260K.bin" "$MODELS/tok512.bin" || finish
PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1

printf 'bench=1\nshutdown=1\nthreads=2\nsteps=16\n' >"$QT/llm.cfg"
img=$QT/storage.img
qemu_image "$img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail storage_image "mkimage failed"; finish; }

fat_volume "$img"

# The tables as printed: from the "llm bench: kernels" line up to the line
# that says where they went.
printed_tables() {
    clean_log | awk '/^llm bench: kernels / { on = 1 } /^(llm bench: tables|warning: llm bench)/ { on = 0 }
                     on { print }'
}

# fsck_clean NAME: fsck.fat -n on a copy of the partition.
fsck_clean() {
    dd if="$img" of="$QT/part.img" bs=512 skip="$first" count=$((last - first + 1)) \
        conv=sparse status=none
    if fsck.fat -n "$QT/part.img" >"$QT/fsck.log" 2>&1; then
        pass "$1"
    else
        fail "$1" "fsck.fat -n: $(tr '\n' ' ' <"$QT/fsck.log")"
    fi
    rm -f "$QT/part.img"
}

# writing_boot N: boots, then checks the saved copy against the console.
writing_boot() {
    local n=$1
    SMP=2 qemu_start "$img"
    if qemu_wait 300; then pass "storage_poweroff_$n"; else fail "storage_poweroff_$n" "no power-off"; fi
    clean_log >"$QT/out$n.txt"
    if grep -aq '^llm bench: tables saved to bench.md$' "$QT/out$n.txt"; then
        pass "storage_saved_msg_$n"
    else
        fail "storage_saved_msg_$n" "no 'llm bench: tables saved to bench.md'"
    fi
    printed_tables >"$QT/printed$n.md"
    if ! mcopy -n -i "$vol" ::bench.md "$QT/bench$n.md" 2>"$QT/mcopy.log"; then
        fail "storage_read_back_$n" "mcopy: $(cat "$QT/mcopy.log")"
    elif [ -s "$QT/printed$n.md" ] && grep -q '^| stories260K.bin |' "$QT/bench$n.md" &&
        cmp -s "$QT/printed$n.md" "$QT/bench$n.md"; then
        pass "storage_read_back_$n"
    else
        fail "storage_read_back_$n" "bench.md differs from the console: $(diff "$QT/printed$n.md" "$QT/bench$n.md" | head -n 6 | tr '\n' ' ')"
    fi
    local side
    side=$(mdir -b -i "$vol" :: 2>/dev/null | grep -iE '\.(tmp|new)$')
    [ -z "$side" ] && pass "storage_no_side_files_$n" || fail "storage_no_side_files_$n" "left: $side"
    fsck_clean "storage_fsck_$n"
}

writing_boot 1
writing_boot 2
# Boot 2 wrote a new table (new timings) through the replace path.
if [ -s "$QT/bench1.md" ] && [ -s "$QT/bench2.md" ] && ! cmp -s "$QT/bench1.md" "$QT/bench2.md"; then
    pass storage_replaced
else
    fail storage_replaced "bench.md after boot 2 is the same as after boot 1"
fi

# Boot 3: read-only disk.
sum_before=$(md5sum <"$img")
DISK_RO=1 SMP=2 qemu_start "$img"
if qemu_wait 300; then
    pass storage_ro_poweroff
else
    fail storage_ro_poweroff "no power-off with a write-protected disk"
fi
clean_log >"$QT/out3.txt"
warns=$(grep -ac '^warning: llm bench: tables not saved to bench.md: the volume is write-protected$' "$QT/out3.txt")
if [ "$warns" = 1 ] && grep -aq '^llm bench: done$' "$QT/out3.txt" &&
    ! grep -aq 'tables saved' "$QT/out3.txt"; then
    pass storage_ro_warning
else
    fail storage_ro_warning "expected one 'tables not saved ...: the volume is write-protected' line, got $warns"
fi
if grep -aq '^| stories260K.bin |' "$QT/out3.txt"; then
    pass storage_ro_bench_ran
else
    fail storage_ro_bench_ran "no benchmark row with a read-only disk"
fi
[ "$(md5sum <"$img")" = "$sum_before" ] && pass storage_ro_unchanged ||
    fail storage_ro_unchanged "the image changed during the read-only boot"
finish
