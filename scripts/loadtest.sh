#!/usr/bin/env bash
# Load benchmark against a real server on loopback (release build, hardened as in production:
# scrubbed frees, audit log with group commit): Health with 32 calls in flight, Verify with
# fixture photos against the engine's own throughput measured in the same run, and the server's
# memory with 200 idle TLS connections.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
bash "$root/scripts/setup.sh"
cd "$root"
. "$root/scripts/lib/loopback-server.sh"
port=${SIMVERIFY_LOADTEST_PORT:-7543}
workers=$(nproc)
# Capacity, not policy: rate limits off and the per-certificate connection cap lifted, so one
# load client can drive the server (the limits themselves are tested in the test suite).
start_loopback_server "$port" '"policy": {"livenessRequired": false}, "engine": {"workers": '"$workers"'},
 "limits": {"tenantCallsPerSecond": 0, "terminalCallsPerSecond": 0, "maxConnectionsPerCertificate": 1000},'
backend=(--cert certs/generated/backend-carrier-a.pem --key certs/generated/backend-carrier-a-key.pem)
$bench load --server "127.0.0.1:$port" --method health --requests 200000 --concurrency 32 --connections 4
$bench load --server "127.0.0.1:$port" "${backend[@]}" --method verify --requests 300 --concurrency 8 --connections 2 \
    --engine-baseline --workers "$workers" \
    --id-card "$shared/fixtures/faces/images/obama__2012_official_portrait.jpg" \
    --selfie "$shared/fixtures/liveness/aws_office_pose/001.jpg"
$bench load --server "127.0.0.1:$port" --idle-connections 200 --server-pid "$server"
