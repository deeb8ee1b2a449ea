#!/usr/bin/env bash
# Regenerates Fixtures/parity/sface-reference.json with OpenCV 4.6's own Python bindings
# (opencv-python-headless 4.6.0.66 from PyPI, in its own virtualenv: it needs numpy < 2) and the
# folded YuNet and SFace files that scripts/setup.sh installs.
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
mkdir -p "$root/Fixtures/parity"
"$venv/bin/python" "$root/scripts/parity-reference-sface.py" "$shared" "$cache/samples" "$models" \
    "$root/Fixtures/parity/sface-reference.json"
