#!/usr/bin/env bash
# Soak run (release build), bounded: a server on loopback with rate limits off, then
# `simverify-bench soak` for SIMVERIFY_SOAK_SECONDS (default 150) with mixed valid and invalid traffic.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
bash "$root/scripts/setup.sh"
cd "$root"
. "$root/scripts/lib/loopback-server.sh"
port=${SIMVERIFY_SOAK_PORT:-7643}
start_loopback_server "$port" '"policy": {"livenessRequired": false}, "limits": {"tenantCallsPerSecond": 0, "terminalCallsPerSecond": 0},'
faces="$shared/fixtures/faces/images"
$bench soak --server "127.0.0.1:$port" --server-pid "$server" --duration "${SIMVERIFY_SOAK_SECONDS:-150}" \
    --person-a "$faces/london_008__neutral.jpg" --person-a2 "$faces/london_008__smiling.jpg" --person-b "$faces/paul_rudd__1.jpg"
