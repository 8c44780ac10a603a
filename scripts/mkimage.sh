#!/bin/bash
# mkimage.sh OUT.img - build a bootable disk image as a plain file (no root,
# no loop mounts): GPT with one EFI System Partition holding a FAT32 volume:
#
#   EFI/BOOT/BOOTX64.EFI   from $EFI (default build/llm.efi)
#   <models>               $MODEL and $TOKENIZER (root, or $MODELS_DIR_ON_IMAGE)
#   llm.cfg                $CFG, or a generated one naming the model/tokenizer
#                          (and api_key=$API_KEY when set)
#   prompts.txt            $PROMPTS, when set
#   <extra files>          $EXTRA: space-separated "path" or "path:name-on-image"
#
# MODEL unset: models/kjv1m.bin + models/kjv1m_tok1024.bin (the model this
# repository trains, see models/README.md); without them
# ../shared/models/stories260K.bin (+ tok512.bin) when present.
# MODEL= (empty) or TOKENIZER= (empty): no model / no tokenizer on the image.
# FREE_MB: free space to leave on the volume (default 16; sessions go there).
# PARTTOOL=sgdisk|sfdisk forces the partitioning tool.
#
# The image is sized to its contents, but never below the FAT32 minimum
# (65525 clusters: ~33 MiB with 512-byte clusters).
set -eu
PATH=$PATH:/usr/sbin:/sbin

die() { echo "mkimage: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: scripts/mkimage.sh OUT.img"
out=$1
root=$(cd "$(dirname "$0")/.." && pwd)
models_dir=${MODELS_DIR:-$(realpath -m "$root/../shared/models")}
efi=${EFI:-$root/build/llm.efi}
[ -f "$efi" ] || die "$efi not found (run: make efi)"

# ---- what goes on the image: parallel arrays of source path / image path ----
srcs=() dsts=()
add() { srcs+=("$1"); dsts+=("$2"); }

# Vocabulary size from a llama2.c model header (legacy: int32 #6 at byte 20;
# version 1: magic "ak42", version, then the same 7 ints at byte 8).
model_vocab() {
    local magic v
    magic=$(od -An -t u4 -N 4 "$1" | tr -d ' ')
    if [ "$magic" = 1634415666 ]; then
        v=$(od -An -t d4 -j 28 -N 4 "$1" | tr -d ' ')
    else
        v=$(od -An -t d4 -j 20 -N 4 "$1" | tr -d ' ')
    fi
    echo "${v#-}"   # negative = unshared classifier, same vocab
}

# A tokenizer beside a user-given model whose name says it fits the vocab.
guess_tokenizer() {
    local dir stem vocab c
    dir=$(dirname "$1")
    stem=$(basename "$1"); stem=${stem%.*}
    vocab=$(model_vocab "$1")
    for c in "$dir/${stem}_tok$vocab.bin" "$dir/tok$vocab.bin" \
             $([ "$vocab" = 32000 ] && echo "$dir/tokenizer.bin"); do
        [ -f "$c" ] && { echo "$c"; return; }
    done
}

model_files=()
tokenizer=
# The default model: the one this repository trains (models/README.md).
default_model=$root/models/kjv1m.bin
default_tokenizer=$root/models/kjv1m_tok1024.bin
if [ -z "${MODEL+set}" ]; then
    if [ -f "$default_model" ] && [ -f "$default_tokenizer" ]; then
        model_files=("$default_model")
        tokenizer=$default_tokenizer
    elif [ -f "$models_dir/stories260K.bin" ]; then
        model_files=("$models_dir/stories260K.bin")
        [ -f "$models_dir/tok512.bin" ] && tokenizer=$models_dir/tok512.bin
    else
        echo "no model: $default_model is missing; run" \
             "make run MODEL=path/to/model.bin TOKENIZER=path/to/tokenizer.bin" >&2
    fi
else
    # shellcheck disable=SC2206  # space-separated list by design
    model_files=($MODEL)
    for m in ${model_files[@]+"${model_files[@]}"}; do
        [ -f "$m" ] || die "MODEL not found: $m"
    done
    if [ ${#model_files[@]} -gt 0 ] && [ -z "${TOKENIZER+set}" ]; then
        case ${model_files[0]} in
            *.gguf) ;;    # GGUF carries its own vocabulary
            *) tokenizer=$(guess_tokenizer "${model_files[0]}")
               [ -n "$tokenizer" ] ||
                   echo "mkimage: no tokenizer found beside ${model_files[0]}; set TOKENIZER=path" >&2 ;;
        esac
    fi
fi
if [ -n "${TOKENIZER+set}" ]; then
    tokenizer=$TOKENIZER
    [ -z "$tokenizer" ] || [ -f "$tokenizer" ] || die "TOKENIZER not found: $tokenizer"
fi

mdir=${MODELS_DIR_ON_IMAGE:-}
mdir=${mdir#/}; mdir=${mdir%/}
mprefix=${mdir:+$mdir/}

add "$efi" EFI/BOOT/BOOTX64.EFI
for m in ${model_files[@]+"${model_files[@]}"}; do add "$m" "$mprefix$(basename "$m")"; done
[ -n "$tokenizer" ] && add "$tokenizer" "$mprefix$(basename "$tokenizer")"

out_dir=$(dirname "$out")
mkdir -p "$out_dir"
tmp=$(mktemp -d "$out_dir/.mkimage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -n "${CFG:-}" ]; then
    [ -f "$CFG" ] || die "CFG not found: $CFG"
    add "$CFG" llm.cfg
else
    {
        echo "# llm.cfg - key=value lines, '#' starts a comment (made by scripts/mkimage.sh)"
        [ ${#model_files[@]} -gt 0 ] && echo "model=$mprefix$(basename "${model_files[0]}")"
        [ -n "$tokenizer" ] && echo "tokenizer=$mprefix$(basename "$tokenizer")"
        echo "# other keys: temperature topp seed steps autodemo demo_delay prompt shutdown"
        # the HTTP API (with a network card) needs a key or api_open=1
        if [ -n "${API_KEY:-}" ]; then echo "api_key=$API_KEY"
        else echo "# api_key=SECRET (clients send Authorization: Bearer SECRET), or api_open=1"; fi
    } >"$tmp/llm.cfg"
    add "$tmp/llm.cfg" llm.cfg
fi
if [ -n "${PROMPTS:-}" ]; then
    [ -f "$PROMPTS" ] || die "PROMPTS not found: $PROMPTS"
    add "$PROMPTS" prompts.txt
fi
# shellcheck disable=SC2086
for e in ${EXTRA:-}; do
    src=${e%%:*}
    dst=$(basename "$src")
    [ "$src" != "$e" ] && dst=${e#*:}
    [ -f "$src" ] || die "EXTRA file not found: $src"
    add "$src" "${dst#/}"
done

# ---- size ---------------------------------------------------------------------
fat32_max=4294967295
content=0
for i in "${!srcs[@]}"; do
    sz=$(stat -Lc %s "${srcs[$i]}")
    [ "$sz" -le $fat32_max ] ||
        die "${srcs[$i]} is $sz bytes: FAT32 cannot hold a file of 4 GiB or more;" \
            "split it first: build/llm gguf-split ${srcs[$i]} --parts $((sz / 3758096384 + 1))" \
            "and put the first part (NAME-00001-of-...gguf) in MODEL, the others in EXTRA"
    content=$((content + sz))
done
# Each file wastes up to a cluster (32 KiB at most here); directories too.
content=$((content + (${#srcs[@]} + 16) * 32768))
mib=1048576
data=$((content + content / 20 + ${FREE_MB:-16} * mib))

# 4 KiB clusters as usual, smaller ones only to reach FAT32's 65525-cluster
# minimum on small volumes, larger ones to keep each FAT at 2^21 entries.
spc=8
while [ $spc -gt 1 ] && [ $((data / (spc * 512))) -lt 65600 ]; do spc=$((spc / 2)); done
while [ $spc -lt 64 ] && [ $(((data + spc * 512 - 1) / (spc * 512))) -gt 2097152 ]; do
    spc=$((spc * 2))
done
clsize=$((spc * 512))
clusters=$(((data + clsize - 1) / clsize))
# FAT32 needs >= 65525 clusters; a margin keeps mkfs.fat from complaining.
[ $clusters -ge 65600 ] || clusters=65600
fat_bytes=$((((clusters + 2) * 4 + 511) / 512 * 512))
part_bytes=$((mib + 2 * fat_bytes + clusters * clsize))   # 1 MiB: reserved + alignment
part_bytes=$(((part_bytes + mib - 1) / mib * mib))
part_start=2048                                            # sectors: 1 MiB aligned
part_sectors=$((part_bytes / 512))
img_bytes=$((mib + part_bytes + mib))                      # + primary and backup GPT

# ---- partition table ------------------------------------------------------------
img=$tmp/disk.img
truncate -s "$img_bytes" "$img"
esp_guid=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
parttool=${PARTTOOL:-}
if [ -z "$parttool" ]; then
    if command -v sgdisk >/dev/null; then parttool=sgdisk
    elif command -v sfdisk >/dev/null; then parttool=sfdisk
    else die "need sgdisk (gdisk) or sfdisk (fdisk): run scripts/deps.sh"; fi
fi
case $parttool in
    sgdisk)
        sgdisk -n "1:$part_start:$((part_start + part_sectors - 1))" -t 1:EF00 \
               -c "1:EFI system partition" "$img" >"$tmp/part.log" 2>&1 ||
            { cat "$tmp/part.log" >&2; die "sgdisk failed"; } ;;
    sfdisk)
        printf 'label: gpt\nstart=%d, size=%d, type=%s, name="EFI system partition"\n' \
               $part_start $part_sectors $esp_guid |
            sfdisk --quiet "$img" >"$tmp/part.log" 2>&1 ||
            { cat "$tmp/part.log" >&2; die "sfdisk failed"; } ;;
    *) die "PARTTOOL must be sgdisk or sfdisk" ;;
esac

# ---- FAT32 on a separate file, then placed at the partition offset ------------
fat=$tmp/part.img
truncate -s "$part_bytes" "$fat"
# -h: hidden sectors = partition start, as a real partitioner would set it.
mkfs.fat -F 32 -S 512 -s $spc -h $part_start -n LLM-BOOT "$fat" >"$tmp/mkfs.log" 2>&1 ||
    { cat "$tmp/mkfs.log" >&2; die "mkfs.fat failed"; }
grep -i warn "$tmp/mkfs.log" >&2 || true
# sparse: the empty data area stays a hole in the image file.
dd if="$fat" of="$img" bs=1M seek=$((part_start * 512 / mib)) conv=notrunc,sparse status=none
rm -f "$fat"

# ---- files, copied straight into the partition inside the image --------------
export MTOOLS_SKIP_CHECK=1
vol="$img@@$((part_start * 512))"
made=" "
for i in "${!srcs[@]}"; do
    dst=${dsts[$i]}
    d=$(dirname "$dst") path=
    if [ "$d" != . ]; then
        IFS=/ read -r -a parts <<<"$d"
        for p in "${parts[@]}"; do
            path=${path:+$path/}$p
            case $made in *" $path "*) continue ;; esac
            mmd -i "$vol" "::/$path" 2>/dev/null || true   # may exist already
            made="$made$path "
        done
    fi
    mcopy -i "$vol" -o "${srcs[$i]}" "::/$dst" || die "mcopy ${srcs[$i]} failed"
done

mv -f "$img" "$out"
names=$(printf '%s ' "${dsts[@]}")
echo "mkimage: $out: $((img_bytes / mib)) MiB, FAT32 (${clsize}-byte clusters): ${names% }"
