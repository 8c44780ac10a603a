#!/bin/bash
# tests/oracle/setup.sh - install the llama.cpp oracle (npm package
# node-llama-cpp, pinned in package.json/package-lock.json) into
# tests/oracle/node_modules. Idempotent and quiet: does nothing when the
# installed tree already matches package-lock.json.
#
#   tests/oracle/setup.sh          install if needed; exit 0 when usable
#   tests/oracle/setup.sh --check  only report whether it is installed (exit 0/1)
#
# What it guards against:
#  - node-llama-cpp's postinstall would, if the prebuilt binary package is
#    missing, try to download llama.cpp from GitHub and build it with cmake.
#    We run `npm ci --ignore-scripts` (no postinstall at all), package.json
#    sets config.nodeLlamaCppPostinstall=skip, and NODE_LLAMA_CPP_SKIP_DOWNLOAD
#    is exported, so no step here or in llama.mjs reaches anything but the
#    npm registry.
#  - --omit=optional skips the ~650 MB of CUDA/Vulkan/ARM/Windows/macOS
#    binary packages; the one we use, @node-llama-cpp/linux-x64 (CPU), is a
#    direct dependency in package.json so it is always installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
export NODE_LLAMA_CPP_POSTINSTALL=skip

die() { echo "oracle setup: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 ||
    die "node not found; install Node.js >= 20 (the machine image has nodesource nodejs 20; Debian 12's nodejs 18 is too old)"
command -v npm >/dev/null 2>&1 || die "npm not found; install npm (Node.js >= 20)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || major=0
[ "${major:-0}" -ge 20 ] 2>/dev/null ||
    die "node $(node --version 2>/dev/null) is too old: node-llama-cpp 3.21.1 needs Node.js >= 20"
case "$(uname -m)" in
    x86_64) ;;
    *) die "only linux-x64 is set up (package.json pins @node-llama-cpp/linux-x64)" ;;
esac

stamp=node_modules/.oracle-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
installed() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
        [ -f node_modules/node-llama-cpp/package.json ] &&
        [ -d node_modules/@node-llama-cpp/linux-x64/bins/linux-x64 ]
}

if [ "${1-}" = --check ]; then
    installed && exit 0
    exit 1
fi
installed && exit 0

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm ci --omit=optional --ignore-scripts --no-audit --no-fund \
        --loglevel=error >"$log" 2>&1; then
    cat "$log" >&2
    die "npm ci failed (is the npm registry reachable?); see the output above"
fi
installed_ok=$(node -e '
    const v = require("./node_modules/node-llama-cpp/package.json").version;
    const b = require("./node_modules/@node-llama-cpp/linux-x64/package.json").version;
    process.stdout.write(v === "3.21.1" && b === v ? "ok" : v + "/" + b);' 2>&1)
[ "$installed_ok" = ok ] || die "unexpected versions after npm ci: $installed_ok"
echo "$want" >"$stamp"
exit 0
