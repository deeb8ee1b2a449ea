#!/usr/bin/env bash
# Regenerates Sources/SimverifyProto from Protos/ with protoc (Debian protobuf-compiler) and
# protoc-gen-swift built from the swift-protobuf package this project depends on.
#   scripts/generate-protos.sh          rewrite the generated files
#   scripts/generate-protos.sh --check  fail if the committed files differ from a fresh generation
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
swift build -c release --product protoc-gen-swift >&2
plugin="$(swift build -c release --product protoc-gen-swift --show-bin-path)/protoc-gen-swift"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
protoc --plugin=protoc-gen-swift="$plugin" --swift_out="$out" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    -I Protos Protos/simverify/v1/*.proto
if [ "${1:-}" = "--check" ]; then
    if ! diff -r "$out" Sources/SimverifyProto >&2; then
        echo "generate-protos: Sources/SimverifyProto is out of date with Protos/; run scripts/generate-protos.sh" >&2
        exit 1
    fi
else
    rm -f Sources/SimverifyProto/*.pb.swift
    cp "$out"/*.pb.swift Sources/SimverifyProto/
fi
