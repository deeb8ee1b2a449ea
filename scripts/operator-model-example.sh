#!/usr/bin/env bash
# Writes a model descriptor for SFace's own folded file, as an operator would describe a model of
# theirs (docs/DECISIONS.md, "An operator's own model"), into $cache/operator-model/sface.json and
# prints its path. `simverify compare|eval|... --model-descriptor` runs it through the descriptor
# path (our alignment, blob and dnn::Net) instead of FaceRecognizerSF: the same features.
set -euo pipefail
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
models=${SIMVERIFY_MODELS:-$cache/models}
file=$models/face_recognition_sface_2021dec_float32.onnx
[ -f "$file" ] || { echo "operator-model-example: $file missing (run scripts/setup.sh)" >&2; exit 1; }
hash=$(grep " face_recognition_sface_2021dec_float32.onnx$" "$(dirname "$0")/models.sha256" | cut -d' ' -f1)
mkdir -p "$cache/operator-model"
cat > "$cache/operator-model/sface.json" <<JSON
{
  "name": "sface-2021dec-as-operator",
  "file": "$file",
  "sha256": "$hash",
  "input": { "width": 112, "height": 112, "colourOrder": "rgb", "mean": [0, 0, 0], "scale": [1, 1, 1] },
  "alignment": [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
  "embedding": { "size": 128, "distance": "cosine" },
  "threshold": 0.60
}
JSON
echo "$cache/operator-model/sface.json"
