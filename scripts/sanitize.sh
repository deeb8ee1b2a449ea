#!/usr/bin/env bash
# Memory safety, checked: builds the face engine, the liveness checks, the core and their tests
# (the C/C++ bridges over libjpeg-turbo, dlib and OpenCV, the worker pool, the zeroizing buffers,
# and `simverify eval`'s enrolment: the engine's start, a task group of analyses, the pool's
# shutdown, with one and two workers: EnrolmentTests) under AddressSanitizer and ThreadSanitizer,
# and runs those tests under each. A sanitizer report fails the run. Only those targets are built
# (SIMVERIFY_PACKAGE_SCOPE=engine, see Package.swift): the server's NIO, TLS and storage would
# double the build and are covered by the fuzz harnesses under ASan (scripts/fuzz.sh).
# Separate build folders: .build-asan, .build-tsan.
# Usage: bash scripts/sanitize.sh [address|thread ...]   (default: both)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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
export SIMVERIFY_PACKAGE_SCOPE=engine
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
    out=$(swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter "$filter" 2>&1) \
        || { echo "$out"; exit 1; }
    echo "$out" | tail -n 3
    # The eval path (EnrolmentTests) must have run under this sanitizer, with one and two workers.
    grep -qF "theFixturePairsEnrolWholeAndSeparate(workers:) with 2 test cases passed" <<<"$out" \
        || { echo "$out" | grep -i enrol; echo "sanitize: the enrolment did not run under $sanitizer" >&2; exit 1; }
done
echo "sanitize: ${sanitizers[*]}: clean" >&2
