#!/usr/bin/env bash
# Writes ID cards made from the faces-ea fixture portraits (scanned and photographed at a counter;
# see the .py file's header) and their pairs files to OUT (default: ~/.cache/simverify/id-cards),
# reproducibly. Measure them with `simverify eval OUT/pairs-photo.tsv --first-kind id-card`.
#   scripts/make-id-cards.sh [OUT [--without LAYER,... --limit N]]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
out=${1:-$cache/id-cards}
shared=${SIMVERIFY_SHARED:-$root/../shared}
# Made again only when the generator, its options or the fixture's manifest changed.
stamp=$( (sha256sum "$root/scripts/make-id-cards.py" "$shared/fixtures/faces-ea/MANIFEST.tsv" "$shared/fixtures/faces-ea/pairs.tsv" | cut -d' ' -f1; echo "${@:2}") | sha256sum | cut -d' ' -f1)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
    # The link to the portraits names this run's fixtures: an earlier run may have been given a
    # copy that is gone (the README examples run in a scratch folder).
    ln -sfn "$(cd "$shared/fixtures/faces-ea" && pwd -P)" "$out/faces-ea"
    exit 0
fi
python=$(bash "$root/scripts/python-env.sh")
rm -rf "$out/cards"
"$python" "$root/scripts/make-id-cards.py" "$shared" "$out" "${@:2}"
echo "$stamp" > "$out/.stamp"
