#!/usr/bin/env bash
# Sets up the machine and runs the whole test suite: the Swift tests (which also drive a Python
# client written from docs/PROTOCOL.md), the check that the generated protobuf code matches Protos/,
# `simverify eval` on the fixture pairs in debug and release with one and two workers, and every
# example command of README.md against the release binaries (scripts/readme-examples.py).
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
swift build -c release
shared=${SIMVERIFY_SHARED:-$root/../shared}
# The eval defect of issue 11 showed only in release builds: check both, with one and two workers.
for configuration in debug release; do
    for workers in 1 2; do
        out=$(.build/$configuration/simverify eval "$shared/fixtures/faces/pairs.tsv" --root "$shared/fixtures/faces" --workers "$workers")
        for expected in "images: 27, failures to enrol (no face): 0" "pairs: 39 genuine, 312 impostor, 0 excluded" "EER 0.0000"; do
            grep -qF "$expected" <<<"$out" || { echo "$out"; echo "test: $configuration eval with $workers workers lacks '$expected'" >&2; exit 1; }
        done
    done
done
echo "test: eval figures hold in debug and release with 1 and 2 workers" >&2
python3 scripts/readme-examples.py "$root" "$shared"
