#!/bin/bash
# deps.sh - make sure the Debian packages the build, `make run` and the tests
# need are installed; install the missing ones when we can.
#
#   scripts/deps.sh            build + run tools
#   scripts/deps.sh --test     also the tools the test scripts use (or DEPS_TEST=1)
#   scripts/deps.sh --list     print the package names and exit (.ci/run uses it)
#
# Silent when everything is present. Installs with apt-get as root, with
# `sudo -n` when that works without a password, else prints the exact command
# and exits 1.
set -eu

# The one list: "package probe" where a probe is an absolute file path or a
# command name. Alternatives for one need are separated by '|'.
BUILD_DEPS=(
    "gcc gcc"
    "make make"
    "binutils ld"
    "binutils objcopy"
    "libc6-dev /usr/include/stdio.h"
    "gnu-efi /usr/lib/crt0-efi-x86_64.o"
    "ovmf /usr/share/OVMF/OVMF_CODE_4M.fd"
    "ovmf /usr/share/OVMF/OVMF_VARS_4M.fd"
    "qemu-system-x86 qemu-system-x86_64"
    "mtools mcopy"
    "dosfstools mkfs.fat"
    "gdisk sgdisk|fdisk sfdisk"
    "curl curl"    # make models (scripts/models.sh)
)
# Only for `make test`: tests/*.sh may use python3 for parsing/comparisons.
TEST_DEPS=(
    "python3 python3"
    # tests/host_fuzz.sh: clang with libFuzzer (+ ASan/UBSan runtimes)
    "clang clang"
    "libclang-rt-14-dev /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a"
    # tests/host_export.sh, scripts/train.py: PyTorch for /usr/bin/python3
    "python3-torch /usr/lib/python3/dist-packages/torch/__init__.py"
    # tests/host_train_tokenizer.sh, scripts/train.py: the KJV text (`bible`)
    "bible-kjv bible"
    # tests/host_lz4.sh: LZ4 frames both ways against the reference tool
    "lz4 lz4"
    # tests/qemu_net.sh: the chat page rendered in headless Chromium
    "chromium /usr/bin/chromium"
    # tests/host_nginx.sh: scripts/nginx-llm.conf in front of two QEMUs
    # (the light build has the upstream and proxy modules it needs)
    "nginx-light /usr/sbin/nginx"
)

want_test=${DEPS_TEST:-0}
list_only=0
for a in "$@"; do
    case $a in
        --test) want_test=1 ;;
        --list) list_only=1 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "deps.sh: unknown argument: $a" >&2; exit 2 ;;
    esac
done

deps=("${BUILD_DEPS[@]}")
[ "$want_test" = 1 ] && deps+=("${TEST_DEPS[@]}")

# sbin is not on a normal user's PATH on Debian, but mkfs.fat/sgdisk live there.
PATH=$PATH:/usr/sbin:/sbin

have() {
    case $1 in
        /*) [ -e "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

if [ "$list_only" = 1 ]; then
    # First alternative of each need, deduplicated, on one line.
    for d in "${deps[@]}"; do
        first=${d%%|*}
        echo "${first%% *}"
    done | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $/\n/'
    exit 0
fi

missing=()
for d in "${deps[@]}"; do
    ok=0
    IFS='|' read -r -a alts <<<"$d"
    for alt in "${alts[@]}"; do
        probe=${alt#* }
        if have "$probe"; then ok=1; break; fi
    done
    if [ "$ok" = 0 ]; then
        pkg=${alts[0]%% *}
        case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
    fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

# --no-install-recommends keeps qemu from pulling in a GTK desktop stack;
# libc6-dev is listed explicitly because gcc only recommends it.
install=(apt-get install -y --no-install-recommends "${missing[@]}")
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
    echo "deps.sh: installing missing packages: ${missing[*]}" >&2
    apt-get update -q >&2
    "${install[@]}" >&2
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "deps.sh: installing missing packages with sudo: ${missing[*]}" >&2
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    sudo -n env DEBIAN_FRONTEND=noninteractive "${install[@]}" >&2
else
    echo "deps.sh: missing packages; run:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
exit 0
