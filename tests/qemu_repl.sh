#!/bin/bash
# qemu_repl.sh - a volume with a broken model beside a good one: the menu must
# show the broken file's reason, refuse it, load the good one, and the REPL
# typed through the serial console must answer, take settings and power off.
. "$(dirname "$0")/qemu_lib.sh"

size=$(stat -c %s "$MODELS/stories260K.bin")
head -c $((size - 100)) "$MODELS/stories260K.bin" >"$QT/broken.bin"
# Two bad lines: the app must name them and keep going with the defaults.
printf 'autodemo=0\nbogus=1\ntemperature=abc\n' >"$QT/llm.cfg"
qemu_image "$QT/a.img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" EXTRA="$QT/broken.bin:broken.bin" || { fail repl_image "mkimage failed"; finish; }
qemu_start "$QT/a.img"

if wait_for "model> " 120; then pass repl_menu; else fail repl_menu "no model menu"; finish; fi
if log_has "warning: llm.cfg:2: unknown key 'bogus'; ignored" &&
   log_has "warning: llm.cfg:3: temperature: 'abc' is not a number; keeping 1.0"; then
    pass repl_config_warnings
else
    fail repl_config_warnings "bad llm.cfg lines were not reported with their line numbers"
fi
if log_has "broken.bin" && log_has "unusable: file size: expected 1056540 bytes from the header, found 1056440"; then
    pass repl_menu_shows_broken_model
else
    fail repl_menu_shows_broken_model "the menu does not show the broken file's reason"
fi
send_line "1"
wait_for "broken.bin is unusable" 30 && pass repl_broken_refused ||
    fail repl_broken_refused "choosing the broken model did not explain why"
expect_send "model> " "2" 30
if wait_for "Loaded stories260K.bin" 120 && wait_for "> " 30; then
    pass repl_good_model_loads
else
    fail repl_good_model_loads "the good model did not load"; finish
fi
send_line "/temp 0"
wait_for "temperature = 0" 30 || fail repl_settings "/temp 0 not acknowledged"
expect_send "> " "/steps 60" 30
wait_for "steps = 60" 30 && pass repl_settings || fail repl_settings "/steps not acknowledged"
# Backspace (0x7f, what a terminal sends) must edit the line.
wait_for "> " 30 && send $'Once upon a timx\x7fe\r'
want=$(awk '/^=== prompt="Once upon a time"/ { getline; print; exit }' \
    "$MODELS/reference/stories260K_greedy_stdout.txt" | cut -c1-100)
if wait_for "$want" 300 && wait_for "[60 tokens," 300; then
    pass repl_generation
else
    fail repl_generation "no greedy answer to the typed prompt"
fi
expect_send "> " "/quit" 30
qemu_wait 60 && pass repl_quit_powers_off || fail repl_quit_powers_off "QEMU still running after /quit"
finish
