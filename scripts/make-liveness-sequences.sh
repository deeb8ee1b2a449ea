#!/usr/bin/env bash
# Writes the labelled liveness bursts built from ../shared/fixtures (see the .py file's header for
# how each kind is made) to OUT (default: ~/.cache/simverify/liveness-sequences), reproducibly.
#   scripts/make-liveness-sequences.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
out=${1:-$cache/liveness-sequences}
python=$(bash "$root/scripts/python-env.sh")
"$python" "$root/scripts/make-liveness-sequences.py" "$root/../shared" "$out"
