#!/bin/bash
# qemu_gguf.sh - quantized GGUF models of both architectures in the firmware:
# a synthetic llama Q4_K and a phi2 Q8_0 model (the ones tests/host_gguf_parity.sh
# checks against llama.cpp) must print in QEMU exactly what the host program
# prints, and /model must swap between them in one boot.
. "$(dirname "$0")/qemu_lib.sh"
LLM=$QEMU_LIB_ROOT/build/llm
"$LLM" synth "$QT/llamaq4k.gguf" --arch llama --type q4_K --vocab-from "$MODELS/stories260K.gguf" >/dev/null 2>&1 &&
"$LLM" synth "$QT/phi2q8.gguf" --arch phi2 --type q8_0 --vocab-from "$MODELS/stories260K.gguf" >/dev/null 2>&1 ||
    { fail gguf_synth "llm synth failed"; finish; }
# the llama model again as a split GGUF in two parts (llama.cpp's gguf-split layout)
cp "$QT/llamaq4k.gguf" "$QT/split.gguf" && "$LLM" gguf-split "$QT/split.gguf" --parts 2 >/dev/null 2>&1 ||
    { fail gguf_split "llm gguf-split failed"; finish; }
for m in llamaq4k phi2q8; do
    "$LLM" "$QT/$m.gguf" -z "$MODELS/tok512.bin" -t 0 -n 40 -i "Once upon a time" \
        </dev/null >"$QT/$m.want" 2>/dev/null || { fail gguf_host "host run of $m failed"; finish; }
done
# the llama2.c vocabulary (same 512 pieces) filters unprintable bytes as the host does
printf 'autodemo=0\ntemperature=0\nsteps=40\ntokenizer=tok512.bin\n' >"$QT/llm.cfg"
qemu_image "$QT/a.img" MODEL="$QT/llamaq4k.gguf" TOKENIZER="$MODELS/tok512.bin" CFG="$QT/llm.cfg" \
    EXTRA="$QT/phi2q8.gguf:phi2q8.gguf $QT/split-00001-of-00002.gguf:split-00001-of-00002.gguf $QT/split-00002-of-00002.gguf:split-00002-of-00002.gguf" || { fail gguf_image "mkimage failed"; finish; }
qemu_start "$QT/a.img"
expect_send "model> " "1" 120
wait_for "Loaded llamaq4k.gguf (GGUF llama q4_K" 120 && expect_send "> " "Once upon a time" 30
if wait_for "[40 tokens," 300; then
    if clean_log | grep -aqF -- "$(tr -d '\r' <"$QT/llamaq4k.want" | head -c 60)"; then
        pass gguf_llama_q4_K_matches_host
    else
        fail gguf_llama_q4_K_matches_host "QEMU output differs from the host's: $(head -c 60 "$QT/llamaq4k.want")"
    fi
else
    fail gguf_llama_q4_K_matches_host "no generation"
fi
expect_send "> " "/model 2" 30
wait_for "Loaded phi2q8.gguf (Phi-2: GGUF phi2 q8_0" 120 && expect_send "> " "Once upon a time" 30
if wait_for "[40 tokens," 300 && clean_log | grep -aqF -- "$(tr -d '\r' <"$QT/phi2q8.want" | head -c 60)"; then
    pass gguf_phi2_q8_0_after_swap_matches_host
else
    fail gguf_phi2_q8_0_after_swap_matches_host "the swapped-in phi2 model did not print the host's text"
fi
# 3 = the split model (its second part is not listed): the same text as the whole file
expect_send "> " "/model 3" 30
if wait_for "Loaded split-00001-of-00002.gguf" 120 && expect_send "> " "Once upon a time" 30 &&
   wait_for "[40 tokens," 300 &&
   [ "$(clean_log | grep -acF -- "$(tr -d '\r' <"$QT/llamaq4k.want" | head -c 60)")" -ge 2 ] &&
   ! log_has "split-00002-of-00002.gguf  ("; then
    pass gguf_split_model_in_firmware
else
    fail gguf_split_model_in_firmware "the split model did not load as one or printed other text"
fi
expect_send "> " "/quit" 30
qemu_wait 60 || fail gguf_quit "QEMU still running after /quit"
finish
