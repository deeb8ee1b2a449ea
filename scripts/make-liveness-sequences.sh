#!/usr/bin/env bash
# Writes the labelled liveness bursts built from ../shared/fixtures (see the .py file's header for
# how each kind is made) to OUT (default: ~/.cache/simverify/liveness-sequences), reproducibly.
#   scripts/make-liveness-sequences.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
out=${1:-$cache/liveness-sequences}
python=$(bash "$root/scripts/python-env.sh")
# The generator is deterministic: a set made by this generator from these fixtures is kept.
stamp=$( { sha256sum < "$root/scripts/make-liveness-sequences.py"; "$python" --version;
           find "$root/../shared/fixtures" -type f -printf '%P %s\n' | LC_ALL=C sort; } | sha256sum | cut -c1-64)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
    echo "make-liveness-sequences: $(find "$out" -name sequence.json | wc -l) sequences in $out (kept)" >&2
    exit 0
fi
rm -f "$out/.stamp"
"$python" "$root/scripts/make-liveness-sequences.py" "$root/../shared" "$out"
echo "$stamp" > "$out/.stamp"
