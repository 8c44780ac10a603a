#!/bin/bash
# qemu_oneshot.sh - boot OVMF with stories260K and an llm.cfg that asks for one
# greedy generation and a power-off; the serial console must carry the
# reference stdout of llama2.c run.c byte for byte, and QEMU must exit.
. "$(dirname "$0")/qemu_lib.sh"

# stories_image IMG CFG: a volume with stories260K, tok512 and llm.cfg from CFG (a
# printf format).
stories_image() {
    printf "$2" >"$1.cfg"
    qemu_image "$1" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" CFG="$1.cfg" ||
        { fail oneshot_image "mkimage failed"; finish; }
}

# powers_off NAME IMG [QEMU ARGS]: boots IMG; NAME fails unless QEMU exits by itself.
powers_off() {
    local name=$1 img=$2
    shift 2
    qemu_start "$img" "$@"
    qemu_wait 400 || { fail "$name" "QEMU did not power off by itself"; return 1; }
}

stories_image "$QT/a.img" 'prompt=Once upon a time\ntemperature=0\nsteps=200\nshutdown=1\n'
powers_off oneshot_poweroff "$QT/a.img" && pass oneshot_poweroff
awk '/^=== prompt="Once upon a time"/ { on = 1; next } /^===/ { on = 0 } on { print }' \
    "$MODELS/reference/stories260K_greedy_stdout.txt" >"$QT/want.txt"
clean_log >"$QT/serial.txt"
# The reference block must appear as whole lines, exactly.
if python3 - "$QT/serial.txt" "$QT/want.txt" <<'PY'
import sys
log = open(sys.argv[1], 'rb').read()
want = open(sys.argv[2], 'rb').read()
sys.exit(0 if (b'\n' + want) in log else 1)
PY
then
    pass oneshot_reference_text
else
    fail oneshot_reference_text "the serial output does not contain the reference text"
fi
log_has "achieved tok/s:" && pass oneshot_stats || fail oneshot_stats "no tok/s line"

# A prompt that fills all of steps' positions: the reason on the console,
# and the one-shot boot still powers off.
stories_image "$QT/s.img" 'prompt=Once upon a time there was a girl\ntemperature=0\nsteps=5\nshutdown=1\n'
if powers_off oneshot_prompt_fills_steps "$QT/s.img"; then
    if log_has "The prompt leaves no room for a reply: prompt and reply share 5 positions"; then
        pass oneshot_prompt_fills_steps
    else
        fail oneshot_prompt_fills_steps "no reason on the console: $(clean_log | tail -c 300)"
    fi
fi

# The SSE2 baseline binary must also run on a CPU without AVX.
qemu_start "$QT/a.img" -cpu qemu64
if qemu_wait 400 && clean_log >"$QT/serial64.txt" &&
   python3 -c 'import sys; sys.exit(0 if b"\n" + open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read() else 1)' \
       "$QT/serial64.txt" "$QT/want.txt"; then
    pass oneshot_sse2_only_cpu
else
    fail oneshot_sse2_only_cpu "no reference text with -cpu qemu64"
fi

# The same model as GGUF must print the same text (issue 3: both formats).
printf 'model=stories260K.gguf\ntokenizer=tok512.bin\nprompt=Once upon a time\ntemperature=0\nsteps=200\nshutdown=1\n' >"$QT/gguf.cfg"
qemu_image "$QT/g.img" MODEL="$MODELS/stories260K.gguf" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/gguf.cfg" || { fail oneshot_gguf_image "mkimage failed"; finish; }
qemu_start "$QT/g.img"
if qemu_wait 400 && clean_log >"$QT/serial_gguf.txt" &&
   python3 -c 'import sys; sys.exit(0 if b"\n" + open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read() else 1)' \
       "$QT/serial_gguf.txt" "$QT/want.txt"; then
    pass oneshot_gguf_reference_text
else
    fail oneshot_gguf_reference_text "stories260K.gguf did not print the reference text"
fi
finish
