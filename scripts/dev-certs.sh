#!/usr/bin/env bash
# Creates the development PKI in certs/generated when it is missing (a CA, a server certificate,
# client certificates for a counter and a backend of carrier A, a regulator, a counter of carrier B
# and an operator). Private keys are never committed: certs/generated is git-ignored.
# Pass --force to replace an existing set.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
swift build -c release --product simverify >&2
.build/release/simverify dev-certs --out certs/generated "$@"
