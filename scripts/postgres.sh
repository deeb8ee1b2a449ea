#!/usr/bin/env bash
# A private PostgreSQL server for the tests and the scale test: Debian's postgresql binaries
# (scripts/setup.sh installs them), a data directory of its own, run as the postgres user,
# listening on 127.0.0.1 only. Authentication is `trust` for the one role it creates (simverify):
# it is a throwaway server on loopback, never a deployment's (docs/SCALING.md says how to run one).
# Usage: bash scripts/postgres.sh start|stop|status   (start prints the database's URL)
# Environment: SIMVERIFY_POSTGRES_PORT (54329), SIMVERIFY_POSTGRES_DIR (/tmp/simverify-postgres-PORT).
set -euo pipefail
port=${SIMVERIFY_POSTGRES_PORT:-54329}
dir=${SIMVERIFY_POSTGRES_DIR:-/tmp/simverify-postgres-$port}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/pg_ctl" ] || { echo "postgres: no PostgreSQL server installed (run scripts/setup.sh)" >&2; exit 1; }
as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"
    elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
    else sudo -u postgres "$@"; fi
}
url="postgres://simverify@127.0.0.1:$port/simverify"
case "${1:-start}" in
start)
    if [ ! -f "$dir/PG_VERSION" ]; then
        if [ "$(id -u)" -eq 0 ]; then install -d -o postgres -g postgres -m 700 "$dir"
        else sudo install -d -o postgres -g postgres -m 700 "$dir"; fi
        as_postgres "$bin/initdb" -D "$dir" -U simverify --auth=trust -E UTF8 >/dev/null
    fi
    if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        # A server that ended with an earlier session leaves its pid file; its pid may belong to
        # another process by now, which would make pg_ctl think the server still runs.
        if [ -f "$dir/postmaster.pid" ] && ! pgrep -u postgres -f "postgres -D $dir" >/dev/null; then
            rm -f "$dir/postmaster.pid"
        fi
        as_postgres "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300" start >/dev/null
    fi
    psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U simverify -d postgres -tAq)
    if ! "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'simverify'" | grep -q 1; then
        "${psql[@]}" -c "CREATE DATABASE simverify"
    fi
    echo "$url"
    ;;
stop)
    if [ -f "$dir/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    ;;
status)
    as_postgres "$bin/pg_ctl" -D "$dir" status
    ;;
*)
    echo "usage: bash scripts/postgres.sh start|stop|status" >&2
    exit 2
    ;;
esac
