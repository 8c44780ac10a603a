#!/bin/bash
# qemu_isa.sh - the kernel table in the firmware: with QEMU's default CPU
# (TCG "max": AVX2, no AVX-512) the app picks avx2 by itself and still prints
# llama2.c's reference text; isa=generic forces the portable C; asking a CPU
# without AVX (qemu64) for avx2 gives one warning and the generic kernels; an
# unknown name warns with the names there are and picks the best table.
# (AVX-512 cannot be checked here: QEMU's TCG has no AVX-512 and KVM is not
# usable on this machine; the host tests cover those kernels.)
. "$(dirname "$0")/qemu_lib.sh"

awk '/^=== prompt="Once upon a time"/ { on = 1; next } /^===/ { on = 0 } on { print }' \
    "$MODELS/reference/stories260K_greedy_stdout.txt" >"$QT/want.txt"

# boot NAME CFG_EXTRA WANT_KERNELS [qemu args]: one oneshot generation.
boot() {
    local name=$1 extra=$2 want=$3; shift 3
    printf 'prompt=Once upon a time\ntemperature=0\nsteps=200\nshutdown=1\n%s' "$extra" \
        >"$QT/$name.cfg"
    qemu_image "$QT/$name.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
        CFG="$QT/$name.cfg" || { fail "${name}_image" "mkimage failed"; return; }
    qemu_start "$QT/$name.img" "$@"
    qemu_wait 400 || { fail "${name}_poweroff" "QEMU did not power off"; return; }
    clean_log >"$QT/$name.txt"
    if grep -aqx "kernels: $want" "$QT/$name.txt"; then
        pass "${name}_kernels_$want"
    else
        fail "${name}_kernels_$want" "no 'kernels: $want' line: $(grep -a 'kernels:' "$QT/$name.txt")"
    fi
    if python3 -c 'import sys; sys.exit(0 if b"\n" + open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read() else 1)' \
        "$QT/$name.txt" "$QT/want.txt"; then
        pass "${name}_reference_text"
    else
        fail "${name}_reference_text" "the serial output does not contain the reference text"
    fi
}

boot isa_auto "" avx2
boot isa_generic "isa=generic
" generic
boot isa_avx2_on_qemu64 "isa=avx2
" generic -cpu qemu64
if grep -aq "isa=avx2: this CPU cannot run it" "$QT/isa_avx2_on_qemu64.txt"; then
    pass isa_unsupported_warns
else
    fail isa_unsupported_warns "no warning for isa=avx2 on a CPU without AVX"
fi
boot isa_unknown "isa=nosuch
" avx2
if grep -aq "isa=nosuch: unknown (auto, generic, avx2, avx2vnni, avx512, avx512vnni)" \
    "$QT/isa_unknown.txt"; then
    pass isa_unknown_warns_with_names
else
    fail isa_unknown_warns_with_names "$(grep -a 'isa=' "$QT/isa_unknown.txt" | head -2)"
fi
finish
