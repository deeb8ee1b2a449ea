# Sourced by the benchmark scripts: builds the release binary, makes the development
# certificates, and starts `simverify serve` on loopback with its own audit log and session store
# in a temporary directory, removed (and the server stopped) when the script exits.
#   start_loopback_server PORT 'EXTRA JSON FIELDS'
# Sets: bin (the server binary), bench (simverify-bench), server (its pid), work (the temporary directory).
start_loopback_server() {
    local port=$1 extra=$2
    swift build -c release --product simverify >&2
    swift build -c release --product simverify-bench >&2
    bin=.build/release/simverify
    bench=.build/release/simverify-bench
    $bin dev-certs --out certs/generated >&2
    export OPENBLAS_NUM_THREADS=1
    work=$(mktemp -d)
    cat > "$work/server.json" <<JSON
{"port": $port, "logLevel": "warning", $extra
 "tls": {"certificate": "$root/certs/generated/server.pem", "privateKey": "$root/certs/generated/server-key.pem", "clientCA": "$root/certs/generated/ca.pem"},
 "audit": {"databasePath": "$work/audit.sqlite", "sessionDatabasePath": "$work/sessions.sqlite", "keysPath": "$root/.data/audit-keys.json"}}
JSON
    $bin serve --config "$work/server.json" &
    server=$!
    trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 1 100); do $bin health --server "127.0.0.1:$port" >/dev/null 2>&1 && break; sleep 0.2; done
}
