#!/usr/bin/env bash
# Benchmark of the portal's CSV import (preview, then commit) of ROWS new
# hires, on both stores: examples/csv_import.rs runs Onramp's services
# in-process on each store (no HTTP: the upload itself is one request) and
# prints a Markdown table row per store.
#
#   tests/bench/csv_import.sh
#   ROWS=10000 STORES="embedded redis" SKIP_BUILD=1 tests/bench/csv_import.sh

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_NAME="csv_import"
# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
ROWS="${ROWS:-10000}"
STORES="${STORES:-embedded redis}"
HOST="127.0.0.1"

while read -r var; do unset "$var"; done < <(compgen -e | grep '^ONRAMP_' || true)

TMP="$(mktemp -d -t onramp-csvbench.XXXXXX)"
SERVER_PID=""
REDIS_PID=""
cleanup() { stop_pid "$REDIS_PID"; rm -rf "$TMP"; }
trap cleanup EXIT

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building the release example"
    (cd "$ROOT" && cargo build --release --locked --example csv_import)
fi
TOOL="$TARGET_DIR/release/examples/csv_import"

echo "| store | rows | file | preview | commit | rows/s (both steps) |"
echo "|---|---:|---:|---:|---:|---:|"
for store in $STORES; do
    case "$store" in
        embedded) url="embedded:$TMP/import.redb"; prefix="onramp" ;;
        redis) start_redis; url="redis://$HOST:$REDIS_PORT/0"; prefix="csv$$" ;;
        *) die "unknown store $store" ;;
    esac
    log "importing $ROWS rows ($store)"
    "${CPU_SERVER[@]}" "$TOOL" "$url" "$prefix" "$ROWS"
    stop_pid "$REDIS_PID"; REDIS_PID=""
done
