#!/usr/bin/env bash
# Soak run (release build), bounded: a server on loopback with rate limits off, then
# `simverify soak` for SIMVERIFY_SOAK_SECONDS (default 150) with mixed valid and invalid traffic.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
bash "$root/scripts/setup.sh"
cd "$root"
swift build -c release --product simverify >&2
bin=.build/release/simverify
$bin dev-certs --out certs/generated >&2
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
cat > "$work/soak.json" <<JSON
{"port": ${SIMVERIFY_SOAK_PORT:-7643}, "logLevel": "warning",
 "tls": {"certificate": "$root/certs/generated/server.pem", "privateKey": "$root/certs/generated/server-key.pem", "clientCA": "$root/certs/generated/ca.pem"},
 "limits": {"tenantCallsPerSecond": 0, "terminalCallsPerSecond": 0},
 "audit": {"databasePath": "$work/audit.sqlite", "keysPath": "$root/.data/audit-keys.json"}}
JSON
$bin serve --config "$work/soak.json" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do $bin health --server "127.0.0.1:${SIMVERIFY_SOAK_PORT:-7643}" >/dev/null 2>&1 && break; sleep 0.2; done
faces="$shared/fixtures/faces/images"
$bin soak --server "127.0.0.1:${SIMVERIFY_SOAK_PORT:-7643}" --server-pid "$server" --duration "${SIMVERIFY_SOAK_SECONDS:-150}" \
    --person-a "$faces/london_008__neutral.jpg" --person-a2 "$faces/london_008__smiling.jpg" --person-b "$faces/paul_rudd__1.jpg"
