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
swift build -c release --product simverify >&2
bin=.build/release/simverify
$bin dev-certs --out certs/generated >&2
export OPENBLAS_NUM_THREADS=1
port=${SIMVERIFY_LOADTEST_PORT:-7543}
workers=$(nproc)
# Capacity, not policy: rate limits off and the per-certificate connection cap lifted, so one
# load client can drive the server (the limits themselves are tested in the test suite).
work=$(mktemp -d)
cat > "$work/load.json" <<JSON
{"port": $port, "logLevel": "warning", "engine": {"workers": $workers},
 "tls": {"certificate": "$root/certs/generated/server.pem", "privateKey": "$root/certs/generated/server-key.pem", "clientCA": "$root/certs/generated/ca.pem"},
 "limits": {"tenantCallsPerSecond": 0, "terminalCallsPerSecond": 0, "maxConnectionsPerCertificate": 1000},
 "audit": {"databasePath": "$work/audit.sqlite", "keysPath": "$root/.data/audit-keys.json"}}
JSON
$bin serve --config "$work/load.json" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do $bin health --server "127.0.0.1:$port" >/dev/null 2>&1 && break; sleep 0.2; done
backend=(--cert certs/generated/backend-carrier-a.pem --key certs/generated/backend-carrier-a-key.pem)
$bin loadtest --server "127.0.0.1:$port" --method health --requests 200000 --concurrency 32 --connections 4
$bin loadtest --server "127.0.0.1:$port" "${backend[@]}" --method verify --requests 300 --concurrency 8 --connections 2 \
    --engine-baseline --workers "$workers" \
    --id-card "$shared/fixtures/faces/images/obama__2012_official_portrait.jpg" \
    --selfie "$shared/fixtures/liveness/aws_office_pose/001.jpg"
$bin loadtest --server "127.0.0.1:$port" --idle-connections 200 --server-pid "$server"
