#!/usr/bin/env bash
# Regenerates Fixtures/parity/reference.json with dlib's Python bindings (dlib-bin) and
# face_recognition 1.3.0, for the shared fixture photos and the face_recognition sample photos.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
bash "$root/scripts/setup.sh"
python=$(bash "$root/scripts/python-env.sh")
mkdir -p "$root/Fixtures/parity"
OPENBLAS_NUM_THREADS=1 "$python" "$root/scripts/parity-reference.py" "$shared" "$cache/samples" \
    "$root/Fixtures/parity/reference.json"
