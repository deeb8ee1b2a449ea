#!/usr/bin/env bash
# Builds (when needed) and starts the counter station's agent, simverify-counter, against the
# development server that scripts/run.sh runs: it listens on 127.0.0.1:8080, presents the
# development counter certificate (certs/generated/, relative to the current folder) and prints
# the URL to open in Chromium. Extra arguments go to simverify-counter (see --help).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
if [ -f "$root/Package.swift" ] && command -v swift >/dev/null; then
    (cd "$root" && swift build -c release --product simverify-counter >&2)
fi
exec "$root/.build/release/simverify-counter" "$@"
