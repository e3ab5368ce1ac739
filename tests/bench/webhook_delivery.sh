#!/usr/bin/env bash
# Webhook delivery throughput: deliveries per second from Onramp's workers
# to a loopback receiver (node:http, answering 204 at once).
#
# Starts onramp (BIN if set, else target/release/onramp, built first;
# BUILD=debug for the debug binary) with an embedded store or Redis
# (STORE=embedded|redis), subscribes a receiver to user.created while the
# receiver is down, creates N users (N deliveries queue up, each failing its
# first attempt; the next is 20 s later, so none is in flight when onramp
# stops), stops onramp, waits out the retry delay, starts the receiver and
# onramp again, and times from the receiver's first delivery
# to its N-th: every delivery is due at once, so this is the rate at which
# one instance drains its queue.
#
# Tunables: N (default 2000), STORE, BATCH (webhooks.batch, default 32),
# POLL_MS (webhooks.poll_ms, default 10). Only 127.0.0.1 is targeted.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_NAME=webhooks
HOST=127.0.0.1
N="${N:-2000}"
STORE="${STORE:-embedded}"
BATCH="${BATCH:-32}"
POLL_MS="${POLL_MS:-10}"
BUILD="${BUILD:-release}"
TMP="$(mktemp -d)"
SERVER_PID=""
REDIS_PID=""
RECEIVER_PID=""
# shellcheck source=lib.sh
source tests/bench/lib.sh
cleanup() {
    stop_pid "$RECEIVER_PID"
    stop_pid "$SERVER_PID"
    stop_pid "$REDIS_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT

# Built every time (a no-op when up to date), so a stale binary is never timed.
if [[ -n "${BIN:-}" ]]; then
    :
elif [[ "$BUILD" == release ]]; then
    cargo build --locked --release --bin onramp
    BIN=target/release/onramp
else
    cargo build --locked --bin onramp
    BIN=target/debug/onramp
fi

PORT="$(free_port)"
RPORT="$(free_port)"
STORE_URL="embedded:$TMP/onramp.redb"
if [[ "$STORE" == redis ]]; then
    RDPORT="$(free_port)"
    redis-server --port "$RDPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" >/dev/null &
    REDIS_PID=$!
    sleep 0.5
    STORE_URL="redis://127.0.0.1:$RDPORT/0"
fi
cat >"$TMP/onramp.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
issuer = "http://localhost:$PORT"
[store]
url = "$STORE_URL"
[bootstrap]
pass_file = "$TMP/pass.txt"
[tokens]
rate_limit_per_client = 0
[webhooks]
poll_ms = $POLL_MS
batch = $BATCH
retry_base_seconds = 20
[log]
level = "warn"
[[clients]]
id = "bench"
secret = "bench-secret-0123456789"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All", "Webhook.ReadWrite.All"]
TOML
serve() {
    env -u ONRAMP_BIN "${CPU_SERVER[@]}" "$BIN" --config "$TMP/onramp.toml" serve >>"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
        sleep 0.1
    done
    die "onramp did not start: $(cat "$TMP/server.log")"
}
serve
TOKEN=$(curl -fs -u bench:bench-secret-0123456789 -d grant_type=client_credentials "http://127.0.0.1:$PORT/token" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$RPORT/hook\",\"events\":[\"user.created\"]}" \
    "http://127.0.0.1:$PORT/api/v1/webhooks"
log "creating $N users (deliveries queue while the receiver is down)"
for i in $(seq 1 "$N"); do
    printf '{"userPrincipalName":"bench%s@example.com","displayName":"Bench %s"}\n' "$i" "$i"
done >"$TMP/users.jsonl"
node - "$PORT" "$TOKEN" "$TMP/users.jsonl" <<'JS'
const [port, token, file] = process.argv.slice(2);
const lines = require('fs').readFileSync(file, 'utf8').trim().split('\n');
(async () => {
  for (let i = 0; i < lines.length; i += 16) {
    await Promise.all(lines.slice(i, i + 16).map(async (body) => {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/users`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      if (r.status !== 201) throw new Error(`create user: ${r.status} ${await r.text()}`);
    }));
  }
})().catch((e) => { console.error(e); process.exit(1); });
JS
# Let the first attempts fail, stop, and wait out the retry delay (20 s
# plus at most a quarter of jitter).
sleep 1
stop_pid "$SERVER_PID"
SERVER_PID=""
sleep 26
log "starting the receiver, then onramp again"
"${CPU_LOAD[@]}" node - "$RPORT" "$N" >"$TMP/receiver.out" <<'JS' &
const [port, n] = process.argv.slice(2).map(Number);
const ids = new Set();
let first = 0;
require('http').createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (!first) first = process.hrtime.bigint();
    ids.add(req.headers['webhook-id']);
    res.writeHead(204).end();
    if (ids.size === n) {
      const secs = Number(process.hrtime.bigint() - first) / 1e9;
      console.log(`${n} ${secs.toFixed(3)} ${(n / secs).toFixed(0)}`);
      process.exit(0);
    }
  });
}).listen(port, '127.0.0.1');
JS
RECEIVER_PID=$!
sleep 0.3
serve
wait "$RECEIVER_PID" || die "receiver failed"
RECEIVER_PID=""
read -r got secs rate <"$TMP/receiver.out"
log "store=$STORE batch=$BATCH poll_ms=$POLL_MS: $got deliveries in ${secs} s = $rate deliveries/s"
