#!/usr/bin/env bash
# Benchmark of directory lookups through the admin API: GET /api/v1/users
# with $filter by userPrincipalName and by employeeId, answered from the
# stores' indexes, at two directory sizes, on both stores.
#
#   tests/bench/directory_query.sh
#   SIZES="1000 100000" STORES="embedded redis" tests/bench/directory_query.sh
#
# Builds the release binaries, seeds each directory straight into the store
# (examples/directory_query.rs seed), starts the server pinned to CPU 0 and
# asks from CPU 1 (REQUESTS lookups per filter, CONCURRENCY at a time, every
# answer checked to be exactly the one user). Prints a Markdown table.
#
# Tunables: SIZES, STORES, REQUESTS (4000), CONCURRENCY (8), SKIP_BUILD=1.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_NAME="directory_query"
# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
SIZES="${SIZES:-1000 100000}"
STORES="${STORES:-embedded redis}"
REQUESTS="${REQUESTS:-4000}"
CONCURRENCY="${CONCURRENCY:-8}"
HOST="127.0.0.1"
CLIENT_ID="bench-hr"
CLIENT_SECRET="bench-hr-secret-0123456789"

while read -r var; do unset "$var"; done < <(compgen -e | grep '^ONRAMP_' || true)

TMP="$(mktemp -d -t onramp-dirbench.XXXXXX)"
SERVER_PID=""
REDIS_PID=""
cleanup() { stop_pid "$SERVER_PID"; stop_pid "$REDIS_PID"; rm -rf "$TMP"; }
trap cleanup EXIT

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release --bin onramp --example directory_query)
fi
BIN="$TARGET_DIR/release/onramp"
TOOL="$TARGET_DIR/release/examples/directory_query"

write_config() { # file port store_url prefix
    cat >"$1" <<CONF
[server]
listen = "$HOST:$2"
issuer = "http://localhost:$2"
workers = 1
[bootstrap]
pass_file = "$TMP/bootstrap-pass.txt"
[log]
level = "warn"
[tokens]
rate_limit_per_client = 0
[store]
url = "$3"
prefix = "$4"
[[clients]]
id = "$CLIENT_ID"
secret = "$CLIENT_SECRET"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All"]
CONF
}

serve() { # store_url prefix
    PORT="$(free_port)"
    write_config "$TMP/onramp.toml" "$PORT" "$1" "$2"
    "${CPU_SERVER[@]}" "$BIN" --config "$TMP/onramp.toml" serve >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -fsS --max-time 1 -o /dev/null "http://$HOST:$PORT/healthz" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "onramp exited"; }
        sleep 0.1
    done
    die "onramp did not answer /healthz within 30 s"
}

echo "| store | users | filter | lookups/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"
for store in $STORES; do
    for size in $SIZES; do
        case "$store" in
            embedded) url="embedded:$TMP/dir-$size.redb"; prefix="onramp" ;;
            redis) start_redis; url="redis://$HOST:$REDIS_PORT/0"; prefix="dir$size" ;;
            *) die "unknown store $store" ;;
        esac
        log "seeding $size users ($store)"
        "${CPU_LOAD[@]}" "$TOOL" seed "$url" "$prefix" "$size"
        serve "$url" "$prefix"
        wait_quiet
        "${CPU_LOAD[@]}" "$TOOL" query "http://localhost:$PORT" "$CLIENT_ID" "$CLIENT_SECRET" \
            "$size" "$REQUESTS" "$CONCURRENCY" | sed "s/^| /| $store | /"
        stop_pid "$SERVER_PID"; SERVER_PID=""
        stop_pid "$REDIS_PID"; REDIS_PID=""
    done
done
