#!/usr/bin/env bash
# Face-engine benchmark: release build, the shared fixture photos, and Python face_recognition
# on the same photos in the same run. Extra arguments go to `simverify-bench engine`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
bash "$root/scripts/setup.sh"
python=$(bash "$root/scripts/python-env.sh")
cd "$root"
swift build -c release --product simverify-bench >&2
export OPENBLAS_NUM_THREADS=1
exec .build/release/simverify-bench engine --python-script "$root/scripts/bench-python.py" --images "$shared/fixtures/faces/images" \
    --selfies "$shared/fixtures/liveness/aws_office_pose" --python "$python" "$@"
