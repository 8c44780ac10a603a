#!/bin/bash
# host_lz4.sh - the project's LZ4 frame codec (lz4.c, through tests/lz4_cli.c
# built here with gcc and ASan/UBSan) against Debian's `lz4` command:
#
#   lz4_ours_to_cli_<sample>   frames we write decompress with `lz4 -d` to
#                              identical bytes (and pass `lz4 -t`)
#   lz4_cli_to_ours_<options>  frames `lz4 <options>` writes decompress with
#                              ours to identical bytes, for default options,
#                              --content-size, -BD (linked blocks), -B4D (many
#                              linked blocks), --no-frame-crc, -B4..-B7, -BX
#                              (block checksums), -9, --favor-decSpeed,
#                              --fast=8; `lz4_cli size` is exact when the
#                              frame declares its size, an upper bound otherwise
#   lz4_concat / lz4_skippable both tools agree on concatenated frames and
#                              skip skippable frames
#   lz4_refuse_*               legacy frames (lz4 -l), a corrupted block with
#                              -BX, a truncated frame: exit 1, one line naming it
#   lz4_ratio                  compressed size of README.md and the GPL-3
#                              text next to `lz4` default; ours within 10%
#
# Samples: empty, 1 byte, README.md, GPL-3 (when present), stories260K.bin
# (float weights), 300 KB of seeded random bytes, 9 MB of one byte (3
# blocks), 5 MB of repeated text with noise (2 blocks). About 10 s.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
M=${MODELS_DIR:-$(realpath -m "$root/../shared/models")}

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; failed=1; }
failed=0

if ! command -v lz4 >/dev/null 2>&1; then
    echo "FAIL: lz4_setup: the lz4 command is missing (apt-get install lz4; scripts/deps.sh --test)"
    exit 1
fi
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
[ -n "${KEEP_TMP:-}" ] && echo "host_lz4: files kept in $tmp" >&2

cli=$tmp/lz4_cli
if ! gcc -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
        -fsanitize=address,undefined -fno-sanitize-recover=undefined -I. \
        tests/lz4_cli.c lz4.c lib.c fmt.c errors.c platform_posix.c pfjob.c \
        -o "$cli" -lpthread -lm 2>"$tmp/cc.log"; then
    echo "FAIL: lz4_build: $(head -n 5 "$tmp/cc.log" | tr '\n' ' ')"
    exit 1
fi

# ---- samples ----
s=$tmp/samples
mkdir -p "$s"
: >"$s/empty"
printf 'x' >"$s/one"
cp README.md "$s/readme"
gpl=/usr/share/common-licenses/GPL-3
[ -f "$gpl" ] && cp "$gpl" "$s/gpl3"
[ -f "$M/stories260K.bin" ] && cp "$M/stories260K.bin" "$s/model"
python3 - "$s" <<'EOF'
import os, random, sys
d = sys.argv[1]
r = random.Random(6)
open(os.path.join(d, "random"), "wb").write(bytes(r.getrandbits(8) for _ in range(300000)))
open(os.path.join(d, "onebyte9M"), "wb").write(b"z" * (9 << 20))
text = open("README.md", "rb").read()
out = bytearray()
while len(out) < 5 << 20:
    out += text[r.randrange(len(text) // 2):][: r.randrange(200, 5000)]
    out += bytes(r.getrandbits(8) for _ in range(r.randrange(0, 64)))
open(os.path.join(d, "mixed5M"), "wb").write(bytes(out))
EOF
samples=$(cd "$s" && ls)

# ---- ours -> lz4 ----
for x in $samples; do
    f=$tmp/$x.ours.lz4
    if ! "$cli" c "$s/$x" "$f" 2>"$tmp/err"; then
        fail "lz4_ours_to_cli_$x" "lz4_cli c: $(head -1 "$tmp/err")"
    elif ! lz4 -q -t "$f" 2>"$tmp/err"; then
        fail "lz4_ours_to_cli_$x" "lz4 -t rejects our frame: $(head -1 "$tmp/err")"
    elif ! lz4 -q -d -c "$f" 2>"$tmp/err" | cmp -s - "$s/$x"; then
        fail "lz4_ours_to_cli_$x" "lz4 -d output differs from the input $(head -1 "$tmp/err")"
    else
        pass "lz4_ours_to_cli_$x"
    fi
done

# ---- lz4 -> ours ----
# label|options
variants="default|
content_size|--content-size
linked|-BD
linked_64k_blocks|-B4 -BD
no_frame_crc|--no-frame-crc
B4|-B4
B5|-B5
B6|-B6
B7|-B7
block_checksum|-BX
level9|-9
favor_dec_speed|--favor-decSpeed
fast8|--fast=8"
while IFS='|' read -r label opts; do
    why=
    for x in $samples; do
        f=$tmp/$x.$label.lz4
        # shellcheck disable=SC2086
        if ! lz4 -q -f $opts "$s/$x" "$f" 2>"$tmp/err"; then
            why="lz4 $opts $x failed: $(head -1 "$tmp/err")"
            break
        fi
        if ! "$cli" d "$f" "$tmp/out" 2>"$tmp/err"; then
            why="$x: $(head -1 "$tmp/err")"
            break
        fi
        if ! cmp -s "$tmp/out" "$s/$x"; then
            why="$x: decoded bytes differ"
            break
        fi
        read -r got kind < <("$cli" size "$f")
        want=$(stat -c %s "$s/$x")
        if [ "$label" = content_size ] && [ "$want" != 0 ]; then
            [ "$kind" = exact ] && [ "$got" = "$want" ] || why="$x: size says '$got $kind', file has $want"
        elif [ "$want" != 0 ] && { [ "$kind" != bound ] || [ "$got" -lt "$want" ]; }; then
            why="$x: size says '$got $kind' without a content size, file has $want"
        fi
        [ -n "$why" ] && break
    done
    # the linked variants must really be linked (FLG bit 5 clear) where
    # there are several blocks (lz4 marks one-block frames independent)
    if [ -z "$why" ] && [[ $label == linked* ]]; then
        flg=$(od -An -tu1 -j4 -N1 "$tmp/mixed5M.$label.lz4")
        [ $((flg & 32)) = 0 ] || why="lz4 $opts wrote independent blocks (FLG $flg)"
    fi
    if [ -n "$why" ]; then fail "lz4_cli_to_ours_$label" "$why"; else pass "lz4_cli_to_ours_$label"; fi
done <<<"$variants"

# ---- several frames, skippable frames ----
cat "$tmp/readme.ours.lz4" "$tmp/random.B4.lz4" "$tmp/empty.ours.lz4" "$tmp/one.linked.lz4" >"$tmp/cat.lz4"
cat "$s/readme" "$s/random" "$s/one" >"$tmp/cat.want"
if ! "$cli" d "$tmp/cat.lz4" "$tmp/out" 2>"$tmp/err"; then
    fail lz4_concat "$(head -1 "$tmp/err")"
elif ! cmp -s "$tmp/out" "$tmp/cat.want" || ! lz4 -q -d -c "$tmp/cat.lz4" | cmp -s - "$tmp/cat.want"; then
    fail lz4_concat "decoded bytes differ (ours or lz4's)"
else
    pass lz4_concat
fi
python3 - "$tmp/skip.lz4" "$tmp/readme.ours.lz4" "$tmp/gpl3.default.lz4" <<'EOF'
import struct, sys
out, a = sys.argv[1], open(sys.argv[2], "rb").read()
skip = lambda k, data: struct.pack("<II", 0x184D2A50 + k, len(data)) + data
open(out, "wb").write(skip(0, b"") + a + skip(15, b"metadata \x04\x22\x4d\x18") + a + skip(7, b"x" * 1000))
EOF
cat "$s/readme" "$s/readme" >"$tmp/skip.want"
if ! "$cli" d "$tmp/skip.lz4" "$tmp/out" 2>"$tmp/err"; then
    fail lz4_skippable "$(head -1 "$tmp/err")"
elif ! cmp -s "$tmp/out" "$tmp/skip.want" || ! lz4 -q -d -c "$tmp/skip.lz4" | cmp -s - "$tmp/skip.want"; then
    fail lz4_skippable "decoded bytes differ (ours or lz4's)"
else
    pass lz4_skippable
fi

# ---- refusals: exit 1 and a message naming the problem ----
refuse() { # name file pattern
    if "$cli" d "$2" "$tmp/out" 2>"$tmp/err"; then
        fail "$1" "accepted"
    elif ! grep -q "$3" "$tmp/err"; then
        fail "$1" "message does not say '$3': $(head -1 "$tmp/err")"
    else
        echo "lz4 $1: $(head -1 "$tmp/err")"
        pass "$1"
    fi
}
lz4 -q -f -l "$s/readme" "$tmp/legacy.lz4"
refuse lz4_refuse_legacy "$tmp/legacy.lz4" "legacy LZ4 format"
damage() { # copy of $1 with its middle byte changed
    cp "$1" "$tmp/bad.lz4"
    printf '\x5a' | dd of="$tmp/bad.lz4" bs=1 seek=$(($(stat -c %s "$1") / 2)) conv=notrunc status=none
}
damage "$tmp/mixed5M.block_checksum.lz4"
refuse lz4_refuse_corrupt_block "$tmp/bad.lz4" "block [0-9]*: block checksum"
damage "$tmp/mixed5M.default.lz4"
refuse lz4_refuse_corrupt_content "$tmp/bad.lz4" "block [0-9]*: \|content checksum"
head -c 1000 "$tmp/gpl3.default.lz4" >"$tmp/cut.lz4"
refuse lz4_refuse_truncated "$tmp/cut.lz4" "truncated"

# ---- ratio next to lz4's default level ----
why=
for x in readme gpl3; do
    [ -f "$s/$x" ] || continue
    n=$(stat -c %s "$s/$x")
    ours=$(stat -c %s "$tmp/$x.ours.lz4")
    theirs=$(stat -c %s "$tmp/$x.default.lz4")
    hc=$(stat -c %s "$tmp/$x.level9.lz4")
    echo "lz4 ratio $x: $n bytes -> ours $ours ($((100 * ours / n))%, saves $((100 - 100 * ours / n))%)," \
         "lz4 -1 $theirs ($((100 * theirs / n))%), lz4 -9 $hc ($((100 * hc / n))%)"
    [ $((ours * 10)) -le $((theirs * 11)) ] || why="$why $x: ours $ours > 1.1 x lz4's $theirs;"
done
if [ -n "$why" ]; then fail lz4_ratio "$why"; else pass lz4_ratio; fi

[ "$failed" = 0 ]
