#!/usr/bin/env bash
# Formatting: swift-format with swift-nio's configuration (.swift-format, as that package ships
# it: 4 spaces, 120 columns) over every hand-written Swift file; the generated protobuf code
# (Sources/SimverifyProto) is left out.
#   bash scripts/format.sh           formats in place
#   bash scripts/format.sh --check   fails, naming the files, when any file is not formatted
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files -- '*.swift' | grep -v '^Sources/SimverifyProto/')
if [ "${1:-}" = "--check" ]; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    for file in "${files[@]}"; do mkdir -p "$scratch/$(dirname "$file")"; cp "$file" "$scratch/$file"; done
    (cd "$scratch" && swift format format --in-place --parallel --configuration "$root/.swift-format" "${files[@]}")
    unformatted=0
    for file in "${files[@]}"; do
        if ! cmp -s "$file" "$scratch/$file"; then echo "format: $file is not formatted (bash scripts/format.sh)" >&2; unformatted=1; fi
    done
    [ "$unformatted" = 0 ] || exit 1
    echo "format: ${#files[@]} files formatted as .swift-format says" >&2
else
    swift format format --in-place --parallel --configuration .swift-format "${files[@]}"
fi
