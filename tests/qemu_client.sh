#!/bin/bash
# qemu_client.sh - the HTTP client in the firmware (client.c): /download and
# /remote over QEMU's restricted user network. Test servers listen on the
# host's 127.0.0.1 and the guest reaches them through guestfwd (one
# tests/relay.py per connection): 10.0.2.100:8000 is python3's http.server,
# 10.0.2.100:8001 tests/fake_server.py (a connection drop for the resume
# case, an OpenAI-style stream for /remote). Checks the downloaded files on
# the image with mtools and their SHA-256.
. "$(dirname "$0")/qemu_lib.sh"
need_files client "$MODELS/stories260K.bin" "$MODELS/tok512.bin" || finish
export MTOOLS_SKIP_CHECK=1

www=$QT/www
mkdir -p "$www"
cp "$MODELS/stories260K.bin" "$www/story2.bin"
head -c 1500000 /dev/urandom >"$www/resume.bin"
sha() { sha256sum "$1" | cut -d' ' -f1; }
dl_port=$(free_port 0) api_port=$(free_port 1)
(cd "$www" && exec python3 -m http.server --bind 127.0.0.1 "$dl_port") >"$QT/http.log" 2>&1 &
web_pid=$!
python3 "$QEMU_LIB_ROOT/tests/fake_server.py" "$www" "$QT/fake.log" "$api_port" 127.0.0.1 \
    2>"$QT/fake.err" &
fake_pid=$!
trap 'kill $web_pid $fake_pid 2>/dev/null' EXIT
sleep 1

printf 'autodemo=0\ntemperature=0\nsteps=24\nremote_key=sekrit\n' >"$QT/llm.cfg"
img=$QT/client.img
qemu_image "$img" MODEL="$MODELS/stories260K.bin" TOKENIZER="$MODELS/tok512.bin" \
    CFG="$QT/llm.cfg" || { fail client_image "mkimage failed"; finish; }
relay="python3 ${QEMU_LIB_ROOT//,/,,}/tests/relay.py"
qemu_start "$img" -netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:8000-cmd:$relay $dl_port,guestfwd=tcp:10.0.2.100:8001-cmd:$relay $api_port" \
    -device virtio-net-pci,netdev=n0,romfile=
wait_for "HTTP API on" 120 && send_line "1" && wait_for "Type a prompt" 120 ||
    { fail client_boot "no network or no model"; finish; }

# A model file: streamed onto the volume, digest checked, listed in the menu.
want=$(sha "$www/story2.bin")
if expect_send "> " "/download http://10.0.2.100:8000/story2.bin $want" 30 &&
   wait_for "SHA-256 $want" 300; then
    pass client_download
else
    fail client_download "no digest line"
fi
lba() { od -An -t u8 -j $((1024 + $1)) -N 8 "$img" | tr -d ' '; }
vol="$img@@$(($(lba 32) * 512))"
# A wrong digest: refused, nothing left behind.
if expect_send "> " "/download http://10.0.2.100:8000/resume.bin $(printf '0%.0s' $(seq 64))" 30 &&
   wait_for "SHA-256 mismatch for resume.bin" 120; then
    pass client_download_wrong_digest
else
    fail client_download_wrong_digest "no mismatch message"
fi
# A drop mid-file: resumed with Range.
want2=$(sha "$www/resume.bin")
if expect_send "> " "/download http://10.0.2.100:8001/drop/resume.bin $want2" 30 &&
   wait_for "SHA-256 $want2" 300 && grep -q 'range=bytes=700000-' "$QT/fake.log"; then
    pass client_download_resume
else
    fail client_download_resume "no resumed download (server log: $(tr '\n' ' ' <"$QT/fake.log"))"
fi

# Remote inference: the prompt goes to the fake server, its stream is printed.
if expect_send "> " "/remote http://10.0.2.100:8001" 30 && expect_send "> " "Hello there" 30 &&
   wait_for "Hello from the fake server (1 messages)" 60 &&
   grep -q 'auth=Bearer sekrit' "$QT/fake.log"; then
    pass client_remote_stream
else
    fail client_remote_stream "no streamed remote answer"
fi
expect_send "> " "/remote off" 30 && expect_send "> " "/quit" 30
qemu_wait 60 || fail client_quit "QEMU still running after /quit"

mcopy -n -i "$vol" ::models/story2.bin "$QT/got2.bin" 2>/dev/null
mcopy -n -i "$vol" ::models/resume.bin "$QT/got3.bin" 2>/dev/null
[ -f "$QT/got2.bin" ] && [ "$(sha "$QT/got2.bin")" = "$want" ] && pass client_file_on_image ||
    fail client_file_on_image "models/story2.bin missing or different on the image"
[ -f "$QT/got3.bin" ] && [ "$(sha "$QT/got3.bin")" = "$want2" ] && pass client_resumed_file_on_image ||
    fail client_resumed_file_on_image "models/resume.bin missing or different on the image"
left=$(mdir -b -i "$vol" ::models 2>/dev/null | grep -c '\.part')
[ "$left" = 0 ] && pass client_no_part_files || fail client_no_part_files "$left .part files left"
finish
