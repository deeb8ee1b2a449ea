#!/usr/bin/env bash
# Writes the faces-ea fixture portraits with a face mask drawn on (see the .py file's header) to
# OUT (default: ~/.cache/simverify/masked-faces), reproducibly; made again only when the generator
# or the fixture's manifest changed. The covered-face tests read them (SIMVERIFY_MASKED_FACES).
#   scripts/make-masked-faces.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
out=${1:-$cache/masked-faces}
shared=${SIMVERIFY_SHARED:-$root/../shared}
stamp=$( (sha256sum "$root/scripts/make-masked-faces.py" "$shared/fixtures/faces-ea/MANIFEST.tsv" | cut -d' ' -f1) | sha256sum | cut -d' ' -f1)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
    exit 0
fi
python=$(bash "$root/scripts/python-env.sh")
rm -rf "$out/masked"
"$python" "$root/scripts/make-masked-faces.py" "$shared" "$out"
echo "$stamp" > "$out/.stamp"
