#!/usr/bin/env bash
# Audit-log benchmark (release build): durable appends with group commit against one-at-a-time
# commits, the PostgreSQL log's ceiling from one and three replicas (a private server,
# scripts/postgres.sh), then `simverify-audit verify` timed on a 1,000,000-entry bundle.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root"
swift build -c release --product simverify-bench >&2
swift build -c release --product simverify-audit >&2
postgres=$(bash scripts/postgres.sh start)
bundle=$(mktemp -d)/bundle
trap 'rm -rf "$(dirname "$bundle")"' EXIT
.build/release/simverify-bench audit --postgres "$postgres" --bundle "$bundle" --entries "${SIMVERIFY_BENCH_ENTRIES:-1000000}"
du -sh "$bundle" | awk '{print "bundle size: " $1}'
start=$(date +%s.%N)
.build/release/simverify-audit verify --bundle "$bundle" --quiet
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { t = e - s; printf "simverify-audit verify: %.1f s for the bundle   target <= 15 s  %s\n", t, (t <= 15 ? "ok" : "MISSED") }'
