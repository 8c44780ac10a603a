#!/bin/bash
# qemu_prefill.sh - a prompt long enough for a full batch, through a model
# whose FFN rows are wide enough (hidden 4096) that the batch's activation
# rows go through them in several passes (quant.c): the firmware (AVX2 in
# TCG) must print exactly what the host prints with the same kernel table.
. "$(dirname "$0")/qemu_lib.sh"
LLM=$QEMU_LIB_ROOT/build/llm
PROMPT="Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her big red ball."
"$LLM" synth "$QT/wide.gguf" --arch llama --type q8_0 --dim 256 --hidden 4096 --layers 2 \
    --heads 4 --kv-heads 2 --vocab-from "$MODELS/stories260K.gguf" >/dev/null 2>&1 ||
    { fail prefill_synth "llm synth failed"; finish; }
"$LLM" "$QT/wide.gguf" -z "$MODELS/tok512.bin" -t 0 -n 80 -i "$PROMPT" --isa avx2 \
    </dev/null >"$QT/want.txt" 2>/dev/null || { fail prefill_host "host run failed"; finish; }
printf 'prompt=%s\ntemperature=0\nsteps=80\nisa=avx2\ntokenizer=tok512.bin\nshutdown=1\n' "$PROMPT" \
    >"$QT/llm.cfg"
qemu_image "$QT/a.img" MODEL="$QT/wide.gguf" TOKENIZER="$MODELS/tok512.bin" CFG="$QT/llm.cfg" ||
    { fail prefill_image "mkimage failed"; finish; }
qemu_start "$QT/a.img"
qemu_wait 400 || { fail prefill_poweroff "QEMU did not power off"; finish; }
clean_log >"$QT/serial.txt"
if python3 -c 'import sys; sys.exit(0 if open(sys.argv[2], "rb").read().rstrip(b"\n") in open(sys.argv[1], "rb").read() else 1)' \
    "$QT/serial.txt" "$QT/want.txt"; then
    pass prefill_passes_match_host
else
    fail prefill_passes_match_host "the firmware's text differs from the host's ($(head -c 120 "$QT/want.txt"))"
fi
finish
