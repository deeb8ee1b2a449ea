#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), builds simverify, and runs the main job. Until the RPC
# server exists the main job is `simverify compare` on two sample photos of the same person;
# arguments replace the photos.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
bash "$root/scripts/setup.sh"
cd "$root"
swift build -c release --product simverify >&2
export OPENBLAS_NUM_THREADS=1
if [ $# -eq 0 ]; then
    set -- "$cache/samples/obama.jpg" "$cache/samples/obama2.jpg"
fi
exec .build/release/simverify compare "$@"
