#!/bin/bash
# qemu_prefill.sh - a prompt long enough for a full batch, through a model
# whose FFN rows are wide enough (hidden 4096) that the batch's activation
# rows go through them in several passes (quant.c): the firmware (AVX2 in
# TCG) must print exactly what the host prints with the same kernel table.
# Q8_0 and Q4_0 (whose AVX2 kernels read the expanded activation rows),
# Q4_K (a K-quant: 256-value blocks, Q8_K activations), and Q4_1, F16 and
# BF16 (AVX2 tiles over whole rows: dot_rows). PREFILL_TYPES="q4_1 f16" runs
# only those.
. "$(dirname "$0")/qemu_lib.sh"
LLM=$QEMU_LIB_ROOT/build/llm
PROMPT="Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her big red ball."
for type in ${PREFILL_TYPES:-q8_0 q4_0 q4_K q4_1 f16 bf16}; do
    "$LLM" synth "$QT/wide_$type.gguf" --arch llama --type $type --dim 256 --hidden 4096 --layers 2 \
        --heads 4 --kv-heads 2 --vocab-from "$MODELS/stories260K.gguf" >/dev/null 2>&1 ||
        { fail prefill_synth_$type "llm synth failed"; continue; }
    "$LLM" "$QT/wide_$type.gguf" -z "$MODELS/tok512.bin" -t 0 -n 80 -i "$PROMPT" --isa avx2 \
        </dev/null >"$QT/want.txt" 2>/dev/null || { fail prefill_host_$type "host run failed"; continue; }
    printf 'prompt=%s\ntemperature=0\nsteps=80\nisa=avx2\ntokenizer=tok512.bin\nshutdown=1\n' "$PROMPT" \
        >"$QT/llm.cfg"
    qemu_image "$QT/a.img" MODEL="$QT/wide_$type.gguf" TOKENIZER="$MODELS/tok512.bin" CFG="$QT/llm.cfg" ||
        { fail prefill_image_$type "mkimage failed"; continue; }
    qemu_start "$QT/a.img"
    qemu_wait 400 || { fail prefill_poweroff_$type "QEMU did not power off"; qemu_stop; continue; }
    clean_log >"$QT/serial_$type.txt"
    # the firmware's console shows control characters other than tab and
    # newlines as '?' (a random model's byte tokens can be \v)
    if python3 -c 'import re, sys
want = re.sub(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", b"?", open(sys.argv[2], "rb").read().rstrip(b"\r\n"))
sys.exit(0 if want in open(sys.argv[1], "rb").read() else 1)' "$QT/serial_$type.txt" "$QT/want.txt"; then
        pass prefill_passes_match_host_$type
    else
        fail prefill_passes_match_host_$type "the firmware's text differs from the host's ($(head -c 120 "$QT/want.txt"))"
    fi
done
finish
