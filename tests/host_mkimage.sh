#!/bin/bash
# host_mkimage.sh - scripts/mkimage.sh refuses a model FAT32 cannot hold and
# says how to split it.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 4294967296 "$tmp/big.gguf" # sparse: 4 GiB exactly, one byte too many
if MODEL="$tmp/big.gguf" TOKENIZER= "$root/scripts/mkimage.sh" "$tmp/a.img" >"$tmp/out" 2>&1; then
    echo "FAIL: mkimage_refuses_4gib: the image was built"
elif grep -q "FAT32 cannot hold a file of 4 GiB or more; split it first: build/llm gguf-split .*big.gguf --parts 2" "$tmp/out"; then
    echo "PASS: mkimage_refuses_4gib"
else
    echo "FAIL: mkimage_refuses_4gib: $(cat "$tmp/out")"
fi
