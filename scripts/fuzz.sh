#!/usr/bin/env bash
# Runs every libFuzzer harness (frame decoder, request validation, JPEG decoder, audit records,
# signed notes and checkpoints, session tokens, the counter agent's uploads) for a bounded time each: scripts/fuzz.sh [SECONDS] [TARGET...].
# Builds simverify-fuzz with -sanitize=fuzzer,address into .build-fuzz. Seeds: Fixtures/fuzz/TARGET.
# A crash stops the run with its input in .fuzz-artifacts/TARGET/: fix the bug, then commit the
# input under Fixtures/fuzz/TARGET/ so the test suite replays it forever.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame request jpeg record note session counter)
swift build --scratch-path .build-fuzz --product simverify-fuzz --sanitize=fuzzer --sanitize=address \
    -Xswiftc -DFUZZING >&2
bin=$(swift build --scratch-path .build-fuzz --product simverify-fuzz --sanitize=fuzzer --sanitize=address \
    -Xswiftc -DFUZZING --show-bin-path)/simverify-fuzz
export OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
for target in "${targets[@]}"; do
    work=$(mktemp -d)
    mkdir -p ".fuzz-artifacts/$target"
    echo "fuzz: $target for ${seconds}s" >&2
    SIMVERIFY_FUZZ_TARGET=$target "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix=".fuzz-artifacts/$target/" -print_final_stats=1 "$work" "Fixtures/fuzz/$target" 2>&1 \
        | grep -E "^#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|Test unit written" >&2
    rm -rf "$work"
done
echo "fuzz: no crash in ${targets[*]}" >&2
