#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the report's browser test.
# Idempotent: does nothing when /usr/bin/chromium is already there.
# Needs root (or sudo) because it uses apt-get.
set -euo pipefail

CHROMIUM_BIN=/usr/bin/chromium

if [ -x "$CHROMIUM_BIN" ]; then
    echo "chromium already installed: $("$CHROMIUM_BIN" --version 2>/dev/null || echo "$CHROMIUM_BIN")"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    AS_ROOT=()
elif command -v sudo >/dev/null 2>&1; then
    AS_ROOT=(sudo)
else
    echo "install_chromium.sh: needs root or sudo to run apt-get" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${AS_ROOT[@]}" apt-get update
"${AS_ROOT[@]}" apt-get install -y --no-install-recommends chromium fonts-dejavu-core

"$CHROMIUM_BIN" --version
