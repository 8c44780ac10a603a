#!/bin/bash
# models.sh - download the models listed in scripts/models.list (`make models`),
# verify their SHA-256 and keep them in a cache that `make run` / `make image`
# put on the disk image (under \models).
#
#   scripts/models.sh [NAME...]     download (all, or the named entries)
#   scripts/models.sh --list        what the manifest holds and what is cached
#   scripts/models.sh --image-files "path:models/NAME" for each verified file
#                                   (the EXTRA list the Makefile hands mkimage)
#
# A download goes to CACHE/NAME.part and is resumed with an HTTP Range request
# (curl -C -) after an interruption: up to MODELS_RETRIES attempts, then it
# stops with the .part kept, and the next run goes on from there. Only a file
# whose size and SHA-256 match the manifest is renamed to CACHE/NAME; one that
# does not match is moved to CACHE/NAME.bad. Verified files are skipped without
# any network access (CACHE/.NAME.verified holds the hash they were checked
# against). A manifest entry whose checksum is `unknown` is never marked
# verified on its own: its computed hash is printed and the file is kept as
# CACHE/NAME.unverified until you rerun with MODELS_TRUST_NEW=1, which records
# the hash in CACHE/PINS (later downloads must then match it).
#
# Environment:
#   MODELS_MANIFEST     manifest (default scripts/models.list)
#   MODELS_CACHE        download directory (default models/downloads)
#   MODELS_BASE_URL     fetch BASE/NAME instead of the manifest URLs (a mirror; tests)
#   MODELS_RETRIES      attempts per file (default 5)
#   MODELS_RETRY_DELAY  seconds between attempts (default 3)
#   MODELS_TRUST_NEW=1  pin the hash of files whose checksum is unknown
#   MODELS_PINS         pin file (default CACHE/PINS)
#   MODELS_ON_IMAGE=0   --image-files prints nothing (keep downloads off the image)
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
manifest=${MODELS_MANIFEST:-$root/scripts/models.list}
cache=${MODELS_CACHE:-$root/models/downloads}
base=${MODELS_BASE_URL:-}
base=${base%/}
retries=${MODELS_RETRIES:-5}
delay=${MODELS_RETRY_DELAY:-3}
trust=${MODELS_TRUST_NEW:-0}
pins=${MODELS_PINS:-$cache/PINS}

say() { echo "models: $*" >&2; }
die() { say "$*"; exit 1; }

[ -f "$manifest" ] || die "manifest not found: $manifest"

# ---- manifest: parallel arrays -------------------------------------------------
names=() sizes=() sums=() urls=()
lineno=0
while read -r n b s u extra; do
    lineno=$((lineno + 1))
    case $n in ''|'#'*) continue ;; esac
    if [ -z "$u" ] || [ -n "${extra:-}" ]; then
        die "$manifest:$lineno: want NAME BYTES SHA256 URL"
    fi
    case $n in */*|.*) die "$manifest:$lineno: bad name: $n" ;; esac
    [[ $b == - || $b =~ ^[0-9]+$ ]] || die "$manifest:$lineno: bad size: $b"
    [[ $s == unknown || $s =~ ^[0-9a-f]{64}$ ]] ||
        die "$manifest:$lineno: bad sha256 (64 lowercase hex digits or 'unknown'): $s"
    names+=("$n") sizes+=("$b") sums+=("$s") urls+=("$u")
done <"$manifest"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
human() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MB", b / 1048576; else printf "%d bytes", b }'; }

# The hash a file must have: the manifest's, else a pin from MODELS_TRUST_NEW.
expected() {
    local i=$1
    if [ "${sums[$i]}" != unknown ]; then echo "${sums[$i]}"; return; fi
    [ -f "$pins" ] && awk -v n="${names[$i]}" '$1 == n { h = $2 } END { if (h) print h }' "$pins"
}

# verified I: CACHE/NAME was checked against the hash expected now (no rehash).
is_verified() {
    local i=$1 f=$cache/${names[$1]} exp
    exp=$(expected "$i")
    [ -n "$exp" ] && [ -f "$f" ] && [ -f "$cache/.${names[$i]}.verified" ] &&
        [ "$(cat "$cache/.${names[$i]}.verified")" = "$exp" ] &&
        { [ "${sizes[$i]}" = - ] || [ "$(size_of "$f")" = "${sizes[$i]}" ]; }
}

# ---- --list / --image-files --------------------------------------------------------
if [ "${1:-}" = --list ]; then
    printf '%-40s %12s  %-8s %s\n' NAME BYTES SHA256 STATE
    for i in "${!names[@]}"; do
        n=${names[$i]} st="not downloaded"
        if is_verified "$i"; then st="verified: $cache/$n"
        elif [ -f "$cache/$n.unverified" ]; then st="downloaded, checksum unknown: $cache/$n.unverified"
        elif [ -f "$cache/$n.part" ]; then st="partial: $(size_of "$cache/$n.part") bytes"
        elif [ -f "$cache/$n" ]; then st="present, not verified"
        fi
        k=known; [ "${sums[$i]}" = unknown ] && k=unknown
        printf '%-40s %12s  %-8s %s\n' "$n" "${sizes[$i]}" "$k" "$st"
    done
    exit 0
fi
if [ "${1:-}" = --image-files ]; then
    [ "${MODELS_ON_IMAGE:-1}" = 0 ] && exit 0
    # Files already on the image as MODEL / TOKENIZER are not copied twice.
    skip=" "
    # shellcheck disable=SC2086  # MODEL is a space-separated list
    for f in ${MODEL:-} ${TOKENIZER:-}; do
        [ -e "$f" ] && skip="$skip$(realpath "$f") "
    done
    out=()
    for i in "${!names[@]}"; do
        is_verified "$i" || continue
        f=$(realpath "$cache/${names[$i]}")
        case $skip in *" $f "*) continue ;; esac
        out+=("$f:models/${names[$i]}")
    done
    [ ${#out[@]} -gt 0 ] && echo "${out[*]}"
    exit 0
fi

# ---- which entries -------------------------------------------------------------------
want=()
if [ $# -eq 0 ]; then
    want=("${!names[@]}")
else
    for a in "$@"; do
        case $a in -*) die "unknown option: $a (see the header of $0)" ;; esac
        found=
        for i in "${!names[@]}"; do [ "${names[$i]}" = "$a" ] && found=$i; done
        [ -n "$found" ] || die "$a is not in $manifest"
        want+=("$found")
    done
fi

command -v curl >/dev/null || die "curl is missing: run scripts/deps.sh (or apt-get install curl)"
command -v sha256sum >/dev/null || die "sha256sum is missing (coreutils)"
mkdir -p "$cache" || die "cannot create $cache"

# fetch I: CACHE/NAME.part complete (as far as can be told), or return 1.
fetch() {
    local i=$1 n=${names[$1]} bytes=${sizes[$1]} part=$cache/${names[$1]}.part
    local url=${urls[$1]} attempt=0 have rc code progress
    [ -n "$base" ] && url=$base/$n
    progress=(-sS)
    [ -t 2 ] && progress=(--progress-bar)
    while :; do
        have=$(size_of "$part")
        if [ "$bytes" != - ]; then
            [ "$have" = "$bytes" ] && return 0
            if [ "$have" -gt "$bytes" ]; then
                say "$n: $part is larger than $bytes bytes; starting over"
                rm -f "$part"; have=0
            fi
        fi
        attempt=$((attempt + 1))
        if [ "$have" -gt 0 ]; then
            say "$n: resuming at byte $have ($(human "$have")) from $url"
        else
            say "$n: downloading $([ "$bytes" != - ] && human "$bytes") from $url"
        fi
        # -f: an HTTP error leaves no error page in the file; -C -: Range from
        # the .part's size; the speed limit turns a stalled link into an error.
        code=$(curl --location --fail --continue-at - --output "$part" \
                    --proto '=http,https' --connect-timeout 20 \
                    --speed-limit 1024 --speed-time 60 \
                    --write-out '%{http_code}' "${progress[@]}" "$url")
        rc=$?
        [ "$code" = 000 ] && code=
        case $rc in
            0)  if [ "$bytes" = - ] || [ "$(size_of "$part")" = "$bytes" ]; then return 0; fi
                if [ "$(size_of "$part")" -gt "$bytes" ]; then return 0; fi  # verify says why
                say "$n: the server ended the transfer at $(size_of "$part") of $bytes bytes" ;;
            33) say "$n: the server does not resume (no Range support); starting over"
                rm -f "$part" ;;
            22) case $code in
                    416) # the range starts at the end: nothing left to fetch
                         [ "$bytes" = - ] && return 0 ;;
                    408|429|5*) ;;
                    *) say "$n: HTTP $code from $url; not retrying"; return 1 ;;
                esac
                say "$n: HTTP $code from $url" ;;
            *)  say "$n: transfer failed (curl exit $rc${code:+, HTTP $code})" ;;
        esac
        if [ "$attempt" -ge "$retries" ]; then
            if [ -s "$part" ]; then
                say "$n: giving up after $attempt attempts; the partial download is kept:" \
                    "$part ($(size_of "$part") bytes); run 'make models' again to resume"
            else
                say "$n: giving up after $attempt attempts; nothing was downloaded from $url"
                rm -f "$part"
            fi
            return 1
        fi
        say "$n: retrying in ${delay}s (attempt $((attempt + 1)) of $retries)"
        sleep "$delay"
    done
}

# verify I FILE: the downloaded FILE becomes CACHE/NAME when its hash is right.
verify() {
    local i=$1 file=$2 n=${names[$1]} exp got size
    size=$(size_of "$file")
    say "$n: checking SHA-256 of $size bytes"
    got=$(sha_of "$file")
    exp=$(expected "$i")
    if [ -z "$exp" ]; then
        if [ "$trust" = 1 ]; then
            echo "$n $got" >>"$pins"
            say "$n: no published checksum; MODELS_TRUST_NEW=1: pinned sha256 $got in $pins"
            exp=$got
        else
            [ "$file" = "$cache/$n.unverified" ] || mv -f "$file" "$cache/$n.unverified"
            say "$n: NOT VERIFIED: no published SHA-256 is known for this file."
            say "$n: it has $size bytes and sha256 $got (kept as $cache/$n.unverified);"
            say "$n: compare it with a source you trust, then run: MODELS_TRUST_NEW=1 make models"
            return 1
        fi
    fi
    if [ "$got" != "$exp" ] || { [ "${sizes[$i]}" != - ] && [ "$size" != "${sizes[$i]}" ]; }; then
        mv -f "$file" "$cache/$n.bad"
        local wsize=
        [ "${sizes[$i]}" != - ] && wsize=" (${sizes[$i]} bytes)"
        say "$n: CHECKSUM MISMATCH: expected sha256 $exp$wsize"
        say "$n:                    got      sha256 $got ($size bytes)"
        say "$n: the file was moved to $cache/$n.bad and is not used;" \
            "'make models' downloads it again from the start"
        return 1
    fi
    mv -f "$file" "$cache/$n"
    echo "$exp" >"$cache/.$n.verified"
    say "$n: verified ($(human "$size"), sha256 $exp)"
}

ok=0 bad=0 failed=()
for i in "${want[@]}"; do
    n=${names[$i]}
    if is_verified "$i"; then
        say "$n: already verified, skipped"
        ok=$((ok + 1)); continue
    fi
    rm -f "$cache/.$n.verified"
    src=
    if [ -f "$cache/$n" ]; then
        src=$cache/$n            # present but not checked against this hash
    elif [ -f "$cache/$n.unverified" ]; then
        src=$cache/$n.unverified # downloaded earlier, waiting for a pin
    elif fetch "$i"; then
        src=$cache/$n.part
    fi
    if [ -n "$src" ] && verify "$i" "$src"; then
        ok=$((ok + 1))
    else
        bad=$((bad + 1)); failed+=("$n")
    fi
done
if [ "$bad" -gt 0 ]; then
    say "$ok verified, $bad not: ${failed[*]}"
    exit 1
fi
say "$ok verified in $cache (make run / make image put them on the image under \\models)"
