#!/usr/bin/env bash
# Sets up the machine and runs the whole test suite: the Swift tests (which also drive a Python
# client written from docs/PROTOCOL.md) and the check that the generated protobuf code matches Protos/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
SIMVERIFY_PYTHON=$(bash "$root/scripts/python-env.sh")
export SIMVERIFY_PYTHON
# Labelled liveness bursts built from ../shared/fixtures (the liveness tests read them).
SIMVERIFY_LIVENESS_SEQUENCES=${SIMVERIFY_LIVENESS_SEQUENCES:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/liveness-sequences}
bash "$root/scripts/make-liveness-sequences.sh" "$SIMVERIFY_LIVENESS_SEQUENCES"
export SIMVERIFY_LIVENESS_SEQUENCES
cd "$root"
export OPENBLAS_NUM_THREADS=1
bash scripts/generate-protos.sh --check
swift build --build-tests
swift test --skip-build
