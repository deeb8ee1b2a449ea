#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), builds simverify, creates the development certificates
# when missing, and runs the server on its embedded defaults (127.0.0.1:7443, mutual TLS against
# certs/generated/ca.pem). Stop it with Ctrl-C or SIGTERM: in-flight calls finish first.
# Extra arguments go to `simverify serve` (e.g. --config simverify.example.json, --port 8443).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root"
swift build -c release --product simverify >&2
.build/release/simverify dev-certs --out certs/generated >&2
export OPENBLAS_NUM_THREADS=1
exec .build/release/simverify serve "$@"
