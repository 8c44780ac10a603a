#!/bin/bash
# qemu_chat.sh - a conversation in the firmware: a template from llm.cfg, a
# system prompt and few-shot examples, two turns on one KV cache, then /model
# to the GGUF copy of the model, which gets the conversation prefilled and
# answers the third turn exactly as the host program does.
. "$(dirname "$0")/qemu_lib.sh"
LLM=$QEMU_LIB_ROOT/build/llm

printf 'autodemo=0\ntemperature=0\nsteps=24\ntemplate=qa\nsystem=Short answers.\nfewshot=ex.txt\n' >"$QT/llm.cfg"
printf 'Q: Who is Tom?\nA: A boy.\n' >"$QT/ex.txt"
# The host's answers to the same conversation (same files in a directory).
mkdir -p "$QT/vol"
cp "$QT/llm.cfg" "$QT/ex.txt" "$QT/vol/"
for f in stories260K.bin stories260K.gguf tok512.bin; do ln -s "$MODELS/$f" "$QT/vol/$f"; done
printf '1\nWho is Lily?\nWhere is she?\n/model 2\nWhat next?\n/quit\n' |
    "$LLM" "$QT/vol" >"$QT/host.txt" 2>/dev/null
grep -a -A1 '^> What next?' "$QT/host.txt" | tail -1 >"$QT/want3.txt"
[ -s "$QT/want3.txt" ] || { fail chat_host "the host gave no third answer"; finish; }

qemu_image "$QT/a.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" EXTRA="$MODELS/stories260K.gguf:stories260K.gguf $QT/ex.txt:ex.txt" ||
    { fail chat_image "mkimage failed"; finish; }
qemu_start "$QT/a.img"
expect_send "model> " "1" 120
if wait_for "Chat template: qa" 120 && expect_send "> " "Who is Lily?" 30 &&
   wait_for "[24 tokens," 300 && expect_send "> " "Where is she?" 30 &&
   wait_for "[24 tokens," 300; then
    pass chat_two_turns
else
    fail chat_two_turns "no two chat replies"
fi
expect_send "> " "/model 2" 30
if wait_for "Loaded stories260K.gguf" 120 && expect_send "> " "What next?" 30 &&
   wait_for "[24 tokens," 300 && clean_log | grep -aqF -- "$(tr -d '\r' <"$QT/want3.txt")"; then
    pass chat_swap_keeps_conversation
else
    fail chat_swap_keeps_conversation "the third answer after /model differs from the host's: $(cat "$QT/want3.txt")"
fi
expect_send "> " "/quit" 30
qemu_wait 60 || fail chat_quit "QEMU still running after /quit"
finish
