#!/usr/bin/env bash
# Memory safety, checked: builds the face engine's tests (the C/C++ bridges over libjpeg-turbo,
# dlib and OpenCV, the worker pool, the zeroizing buffers) and the command-line tool under
# AddressSanitizer and ThreadSanitizer, runs those tests, and runs `simverify eval` (the engine's
# start, a task group of analyses, the pool's shutdown) with one and two workers under each.
# A sanitizer report fails the run. Separate build folders: .build-asan, .build-tsan.
# Usage: bash scripts/sanitize.sh [address|thread ...]   (default: both)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
cd "$root"
bash scripts/setup.sh
# The ID-card tests read the generated cards (made once; scripts/test.sh makes them too).
SIMVERIFY_ID_CARDS=${SIMVERIFY_ID_CARDS:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/id-cards}
bash scripts/make-id-cards.sh "$SIMVERIFY_ID_CARDS"
export SIMVERIFY_ID_CARDS
# The covered-face tests read the portraits with a mask drawn on (made once, cached).
SIMVERIFY_MASKED_FACES=${SIMVERIFY_MASKED_FACES:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/masked-faces}
bash scripts/make-masked-faces.sh "$SIMVERIFY_MASKED_FACES"
export SIMVERIFY_MASKED_FACES
# OpenCV's Python bindings' results on this machine, for the parity test (written once per run).
SIMVERIFY_SFACE_PARITY_REFERENCE=${SIMVERIFY_SFACE_PARITY_REFERENCE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/parity/sface-reference.json}
[ -f "$SIMVERIFY_SFACE_PARITY_REFERENCE" ] || bash scripts/parity-reference-sface.sh "$SIMVERIFY_SFACE_PARITY_REFERENCE"
export SIMVERIFY_SFACE_PARITY_REFERENCE
export OPENBLAS_NUM_THREADS=1
# The engine's suites that reach native code and threads; the server's suites are covered by
# the fuzz harnesses (ASan) and would take the sanitizers' slowdown times their load tests.
filter='SimverifyFaceEngineTests|SimverifyCoreTests|SimverifyLivenessTests'
sanitizers=("$@")
[ ${#sanitizers[@]} -eq 0 ] && sanitizers=(address thread)
for sanitizer in "${sanitizers[@]}"; do
    scratch=.build-${sanitizer:0:1}san
    [ "$sanitizer" = address ] && scratch=.build-asan
    [ "$sanitizer" = thread ] && scratch=.build-tsan
    echo "sanitize: $sanitizer: building into $scratch" >&2
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" >&2
    # Reports go to stderr and end the process with a non-zero status.
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    echo "sanitize: $sanitizer: engine, core and liveness tests" >&2
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter "$filter"
    for workers in 1 2; do
        echo "sanitize: $sanitizer: simverify eval with $workers worker(s)" >&2
        out=$("$scratch/debug/simverify" eval "$shared/fixtures/faces/pairs.tsv" --root "$shared/fixtures/faces" --workers "$workers")
        echo "$out" | grep -q "pairs: 39 genuine, 312 impostor, 0 excluded" || { echo "$out"; echo "sanitize: eval under $sanitizer enrolled the wrong set" >&2; exit 1; }
    done
done
echo "sanitize: ${sanitizers[*]}: clean" >&2
