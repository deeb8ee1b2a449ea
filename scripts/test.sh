#!/usr/bin/env bash
# Sets up the machine and runs the whole test suite: the Swift tests (which also drive a Python
# client written from docs/PROTOCOL.md, and the PostgreSQL stores against a private server that
# scripts/postgres.sh starts), the check that the generated protobuf code matches Protos/
# and that every hand-written Swift file is formatted (scripts/format.sh),
# `simverify eval` on the fixture pairs in debug and release with one and two workers, `simverify
# assess` on the development data with its report checked in Chromium, and every example command
# of README.md against the release binaries (scripts/readme-examples.py), then the counter station
# in Chromium with a fake camera (scripts/counter-in-browser.py, docs/COUNTER.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
SIMVERIFY_PYTHON=$(bash "$root/scripts/python-env.sh")
export SIMVERIFY_PYTHON
# Labelled liveness bursts built from ../shared/fixtures (the liveness tests read them).
SIMVERIFY_LIVENESS_SEQUENCES=${SIMVERIFY_LIVENESS_SEQUENCES:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/liveness-sequences}
bash "$root/scripts/make-liveness-sequences.sh" "$SIMVERIFY_LIVENESS_SEQUENCES"
export SIMVERIFY_LIVENESS_SEQUENCES
# ID cards made from the faces-ea portraits (the ID-card tests and the assessment read them).
SIMVERIFY_ID_CARDS=${SIMVERIFY_ID_CARDS:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/id-cards}
bash "$root/scripts/make-id-cards.sh" "$SIMVERIFY_ID_CARDS"
export SIMVERIFY_ID_CARDS
# The covered-face tests read the portraits with a mask drawn on (made once, cached).
SIMVERIFY_MASKED_FACES=${SIMVERIFY_MASKED_FACES:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/masked-faces}
bash "$root/scripts/make-masked-faces.sh" "$SIMVERIFY_MASKED_FACES"
export SIMVERIFY_MASKED_FACES
# OpenCV's Python bindings' YuNet + SFace results on this machine, for the parity test.
SIMVERIFY_SFACE_PARITY_REFERENCE=${SIMVERIFY_SFACE_PARITY_REFERENCE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify/parity/sface-reference.json}
bash "$root/scripts/parity-reference-sface.sh" "$SIMVERIFY_SFACE_PARITY_REFERENCE"
export SIMVERIFY_SFACE_PARITY_REFERENCE
# A private PostgreSQL server on loopback for the shared stores' tests (stopped on exit).
SIMVERIFY_POSTGRES_URL=$(bash "$root/scripts/postgres.sh" start)
export SIMVERIFY_POSTGRES_URL
trap 'bash "$root/scripts/postgres.sh" stop' EXIT
cd "$root"
export OPENBLAS_NUM_THREADS=1
bash scripts/generate-protos.sh --check
bash scripts/format.sh --check
swift build --build-tests
swift test --skip-build
swift build -c release
shared=${SIMVERIFY_SHARED:-$root/../shared}
# The product binary holds no benchmark or load tool (they are simverify-bench's) and links no
# HdrHistogram; nothing finds files through #filePath.
subcommands=$(.build/release/simverify --help | sed -n '/^SUBCOMMANDS:/,$p')
grep -q "^  serve " <<<"$subcommands" || { echo "test: simverify --help lists no subcommands" >&2; exit 1; }
for tool in bench bench-liveness bench-audit loadtest soak; do
    if grep -qE "^  $tool( |$)" <<<"$subcommands"; then echo "test: simverify still has '$tool'" >&2; exit 1; fi
done
if nm .build/release/simverify | grep -q Histogram; then echo "test: simverify links HdrHistogram" >&2; exit 1; fi
.build/release/simverify-bench --help | grep -q "liveness" || { echo "test: simverify-bench lacks its commands" >&2; exit 1; }
if grep -rn '#filePath' Sources; then echo "test: a source finds files through #filePath" >&2; exit 1; fi
# The service knows no wire: no NIO, no protobuf and no wire status outside the transport.
if grep -rnE '^import (NIO|SwiftProtobuf|SimverifyProto|SimverifyWire)|RPCStatus' Sources/SimverifyServer/Service Sources/SimverifyServer/Session; then
    echo "test: the service (SimverifyServer/Service, Session) depends on the wire" >&2
    exit 1
fi
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
# The assessment on every part of the development data, then read in Chromium: its sections, its
# plots drawn, nothing fetched from outside; the report and its screenshot stay in .test-output/.
output=$root/.test-output
mkdir -p "$output"
.build/release/simverify assess --pairs "$shared/fixtures/faces-ea/pairs.tsv" --groups "$shared/fixtures/faces-ea/MANIFEST.tsv" \
    --liveness "$shared/fixtures/liveness-video" --labels Fixtures/liveness-video/challenges.tsv --id-cards "$SIMVERIFY_ID_CARDS" \
    --out "$output/assessment.html" | tee "$output/assess.txt"
grep -qF "privacy canary: PASSED" "$output/assess.txt" || { echo "test: the assessment's privacy canary did not pass" >&2; exit 1; }
"$SIMVERIFY_PYTHON" scripts/report-in-browser.py "$output/assessment.html" --plots 2 --section "How it was made" \
    --section "Accuracy by group" --section "ID cards" --section "Liveness" --section "Privacy canary" --section "DET curve by gender"
python3 scripts/readme-examples.py "$root" "$shared"
# The counter station in a real browser: its cases' screenshots stay in .test-output/.
"$SIMVERIFY_PYTHON" scripts/counter-in-browser.py "$root" "$shared" "$output"
