#!/usr/bin/env bash
# Regenerates Fixtures/parity/sface-reference.json with OpenCV 4.6's own Python bindings
# (opencv-python-headless 4.6.0.66 from PyPI, in its own virtualenv: it needs numpy < 2) and the
# folded YuNet and SFace files that scripts/setup.sh installs; or writes OUT instead:
#   scripts/parity-reference-sface.sh [OUT]
# A feature's last digits depend on the CPU (OpenCV picks its kernels by instruction set: 1e-3
# apart between an AVX-512 Intel and an AVX2 AMD machine), so the test command writes a reference
# on the machine under test (SIMVERIFY_SFACE_PARITY_REFERENCE) and both builds run on one CPU.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
models=${SIMVERIFY_MODELS:-$cache/models}
bash "$root/scripts/setup.sh"
venv=$cache/opencv-env
if [ ! -f "$venv/.simverify-ready-1" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "numpy<2" opencv-python-headless==4.6.0.66 Pillow >&2
    touch "$venv/.simverify-ready-1"
fi
out=${1:-$root/Fixtures/parity/sface-reference.json}
mkdir -p "$(dirname "$out")"
"$venv/bin/python" "$root/scripts/parity-reference-sface.py" "$shared" "$cache/samples" "$models" "$out" >&2
