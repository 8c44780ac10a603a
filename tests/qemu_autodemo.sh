#!/bin/bash
# qemu_autodemo.sh - boot with no key pressed: the kiosk demo must start after
# the idle time and print at least two prompts with their generations; a key
# press must bring the menu back.
. "$(dirname "$0")/qemu_lib.sh"

printf 'autodemo=2\ndemo_delay=1\nsteps=40\n' >"$QT/llm.cfg"
qemu_image "$QT/a.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail demo_image "mkimage failed"; finish; }
qemu_start "$QT/a.img"
wait_for "model> " 120 || { fail demo_menu "no menu"; finish; }
if wait_for "=== Demo 1/41: Stories ===" 60 && wait_for "[40 tokens," 300 &&
   wait_for "=== Demo 2/41: Stories ===" 60 && wait_for "[40 tokens," 300; then
    pass demo_two_prompts
else
    fail demo_two_prompts "the demo did not run two prompts"
fi
# Each demo block: header, the prompt's text continued by the model, stats.
blocks=$(clean_log | awk '/^=== Demo [12]\/41/ { getline; if (length($0) > 40) n++ } END { print n + 0 }')
[ "$blocks" -ge 2 ] && pass demo_generations_have_text ||
    fail demo_generations_have_text "demo blocks without generated text"
send "x"
wait_for "Models on this volume:" 60 && wait_for "model> " 30 && pass demo_key_returns_to_menu ||
    fail demo_key_returns_to_menu "a key press did not bring the menu back"
qemu_stop
finish
