#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root"
export OPENBLAS_NUM_THREADS=1
swift build --build-tests
swift test --skip-build
