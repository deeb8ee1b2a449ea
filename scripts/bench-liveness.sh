#!/usr/bin/env bash
# Liveness benchmark: release build, the generated bursts (scripts/make-liveness-sequences.sh), a
# liveness Verify of 5 frames and an ID photo through the service on one face worker, p50 against
# the model's target (SFace 300 ms, dlib 250 ms), with references measured in the same run, and a
# Verify of a 15-frame real camera burst (../shared/fixtures/liveness-video). Extra arguments go
# to `simverify-bench liveness`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SIMVERIFY_SHARED:-$root/../shared}
cache=${SIMVERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simverify}
bash "$root/scripts/setup.sh"
bash "$root/scripts/make-liveness-sequences.sh" "$cache/liveness-sequences" >&2
cd "$root"
swift build -c release --product simverify-bench >&2
export OPENBLAS_NUM_THREADS=1
exec .build/release/simverify-bench liveness "$cache/liveness-sequences" \
    --id-card "$shared/fixtures/liveness/aws_office_pose/001.jpg" \
    --long-burst "$shared/fixtures/liveness-video/krzysiek_webcam_turn_up_down" "$@"
