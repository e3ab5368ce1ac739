#!/usr/bin/env bash
# Load benchmark of Onramp's token endpoint and discovery documents.
#
#   tests/bench/token_load.sh
#   MODES="refresh introspection" tests/bench/token_load.sh
#
# Builds the release binary, then for each store (embedded, redis) starts the
# server on a free loopback port with a throw-away configuration, pins it to
# CPU 0 and drives it with wrk pinned to CPU 1 (Redis, when used, also on
# CPU 1). Prints a Markdown table, then the raw single-core signing ceiling:
# aws-lc-rs, the server's crypto library (tests/bench/signing_ceiling), and
# `openssl speed`. Every process it starts is stopped on exit. Only 127.0.0.1
# is ever targeted. Takes about 8 minutes after the build.
#
# Modes (MODES, default "client_credentials discovery refresh introspection"):
#   client_credentials  POST /token client-credentials grants, ES256 and RS256
#   discovery           GET the discovery document and the JWKS
#   refresh             POST /token refresh_token grants with rotation: a user
#                       signs in once (TAP, passkey registration skipped),
#                       single sign-on fills a pool of REFRESH_POOL (256)
#                       refresh tokens, and wrk presents each once, carrying
#                       on with the rotated token from the answer (the pool
#                       is topped up before each wrk run)
#   introspection       POST /introspect of that user's access token and of
#                       one of its refresh tokens
#
# Tunables (environment): DURATION (default 10s), WARMUP (2s),
# CONNECTIONS (32), STORES ("embedded redis"), MODES, REFRESH_POOL, SKIP_BUILD=1 (use the existing
# binary), BENCH_BIN=path (benchmark another onramp binary; implies no build),
# SKIP_CEILING=1 (no signing-ceiling measurement), QUIET_TIMEOUT (120),
# RETRIES (2).
#
# Other processes on CPUs 0 and 1 distort the numbers. Before each scenario
# the script waits (at most QUIET_TIMEOUT s) for both CPUs to be idle; a
# measurement during which something else used them is repeated up to
# RETRIES times, and marked (!) in the table if it never ran undisturbed.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_NAME="token_load"
# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNECTIONS="${CONNECTIONS:-32}"
STORES="${STORES:-embedded redis}"
MODES="${MODES:-client_credentials discovery refresh introspection}"
REFRESH_POOL="${REFRESH_POOL:-256}"
HOST="127.0.0.1"   # loopback only

# ONRAMP_* variables override the configuration file; keep the run reproducible.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^ONRAMP_' || true)

# ---------------------------------------------------------------- cleanup
TMP="$(mktemp -d -t onramp-bench.XXXXXX)"
SERVER_PID=""
REDIS_PID=""

cleanup() {
    stop_pid "$SERVER_PID"; SERVER_PID=""
    stop_pid "$REDIS_PID"; REDIS_PID=""
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- build
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ -n "${BENCH_BIN:-}" ]]; then
    BIN="$BENCH_BIN"
else
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        log "building release binary (cargo build --release --bin onramp)"
        cargo build --release --bin onramp
    fi
    BIN="$TARGET_DIR/release/onramp"
fi
[[ -x "$BIN" ]] || die "onramp binary not found at $BIN"

# ---------------------------------------------------------------- wrk
if ! command -v wrk >/dev/null; then
    SUDO=(env DEBIAN_FRONTEND=noninteractive)
    [[ "$(id -u)" -eq 0 ]] || SUDO=(sudo "${SUDO[@]}")
    log "wrk not found; installing it with apt-get"
    if ! "${SUDO[@]}" apt-get install -y wrk; then
        "${SUDO[@]}" apt-get update
        "${SUDO[@]}" apt-get install -y wrk
    fi
fi
command -v wrk >/dev/null || die "wrk is not available"
command -v curl >/dev/null || die "curl is required"

# ---------------------------------------------------------------- clients
ES_ID="bench-es";  ES_SECRET="bench-secret-es-0123456789"
RS_ID="bench-rs";  RS_SECRET="bench-secret-rs-0123456789"

token_lua() { # id secret file
    local b64
    b64="$(printf '%s:%s' "$1" "$2" | base64 | tr -d '\n')"
    cat >"$3" <<EOF
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $b64"
EOF
}
token_lua "$ES_ID" "$ES_SECRET" "$TMP/token-es.lua"
token_lua "$RS_ID" "$RS_SECRET" "$TMP/token-rs.lua"

# The user flows: an admin client that provisions the user, and a relying
# party with the code and refresh grants (ES256 access tokens, the default).
ADMIN_ID="bench-admin"; ADMIN_SECRET="bench-secret-admin-0123456789"
RP_ID="bench-rp";       RP_SECRET="bench-secret-rp-0123456789"
RP_REDIRECT="http://localhost:9/callback"   # never contacted
RP_BASIC="$(printf '%s:%s' "$RP_ID" "$RP_SECRET" | base64 | tr -d '\n')"

# Refresh grants: each refresh token works once, so wrk keeps a pool (the
# file it is given, one token a line). A request takes a token from the
# pool and its answer puts the rotated one back; on exit the pool is written
# back, so the measurement goes on where the warm-up stopped. Tokens in
# flight when wrk stops are lost, hence a pool of several times the
# connections.
refresh_lua() { # pool-file lua-file
    cat >"$2" <<EOL
local pool_file = "$1"
pool = {}   -- global: done() reads it with thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(pool_file) do
    if #line > 0 then table.insert(pool, line) end
  end
end

function request()
  local token = table.remove(pool, 1) or "pool-exhausted"
  return wrk.format("POST", "/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic $RP_BASIC",
  }, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(pool, token) end
end

function done(summary, latency, requests)
  local f = assert(io.open(pool_file, "w"))
  for _, thread in ipairs(threads) do
    for _, token in ipairs(thread:get("pool")) do f:write(token, "\n") end
  end
  f:close()
end
EOL
}

introspect_lua() { # token lua-file
    cat >"$2" <<EOL
wrk.method = "POST"
wrk.body = "token=$1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $RP_BASIC"
EOL
}

write_config() { # file port store_url prefix
    cat >"$1" <<EOF
[server]
listen = "$HOST:$2"
issuer = "http://localhost:$2"
workers = 1

# The first start's pass (the output is not a terminal), cleaned up with TMP.
[bootstrap]
pass_file = "$TMP/bootstrap-pass.txt"

[log]
level = "warn"

# The load comes from one client: no per-client rate limit here.
[tokens]
rate_limit_per_client = 0

[store]
url = "$3"
prefix = "$4"

[[clients]]
id = "$ES_ID"
secret = "$ES_SECRET"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All"]
access_token_alg = "ES256"

[[clients]]
id = "$RS_ID"
secret = "$RS_SECRET"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All"]
access_token_alg = "RS256"

[[clients]]
id = "$ADMIN_ID"
secret = "$ADMIN_SECRET"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All", "Policy.ReadWrite.AuthenticationMethod"]

[[clients]]
id = "$RP_ID"
secret = "$RP_SECRET"
grant_types = ["authorization_code", "refresh_token"]
redirect_uris = ["$RP_REDIRECT"]
EOF
}

# ---------------------------------------------------------------- server
check_token() { # id secret alg
    local code
    code="$(curl -sS --max-time 5 -o "$TMP/token.json" -w '%{http_code}' \
        -u "$1:$2" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data 'grant_type=client_credentials' "http://$HOST:$PORT/token" 2>"$TMP/curl.err")" || true
    if [[ "$code" != 200 ]]; then
        printf -- '--- POST /token as %s: HTTP %s ---\n' "$1" "${code:-none}" >&2
        cat "$TMP/curl.err" "$TMP/token.json" >&2 2>/dev/null || true
        printf '\n--- onramp output ---\n' >&2
        cat "$TMP/server-$STORE.log" >&2
        die "token request for $1 did not return 200"
    fi
    # The header of the access token names its algorithm.
    local header
    header="$(sed -E 's/.*"access_token":"([^".]*)\..*/\1/' "$TMP/token.json" | tr '_-' '/+')"
    while (( ${#header} % 4 )); do header+="="; done
    header="$(printf '%s' "$header" | base64 -d 2>/dev/null || true)"
    [[ "$header" == *"\"alg\":\"$3\""* ]] || log "WARNING: $1's access token header is not $3: $header"
}

# ---------------------------------------------------------------- user tokens
# A user signs in once through the real pages (curl with a cookie jar): the
# admin API creates the user and a Temporary Access Pass and lets users skip
# passkey registration, and the sign-in ends in a session. Single sign-on
# then gives codes at once, each redeemed for an access and a refresh token
# (one family each). The first pair is kept for introspection
# (USER_ACCESS_TOKEN, USER_REFRESH_TOKEN); the others fill $TMP/refresh.pool.
# (grep -o ends each value with a newline; the JSON has none.)
json_field() { grep -oE "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }
form_field() { sed -nE "s/.*name=\"$1\" value=\"([^\"]*)\".*/\1/p" | head -n 1; }

USER_JAR=""; USER_AUTHORIZE=""
seed_user_tokens() {
    local base="http://$HOST:$PORT" jar="$TMP/jar" admin uid pass auth loc page csrf r
    local web=(curl -sS --max-time 10 -c "$jar" -b "$jar")
    rm -f "$jar" "$TMP/refresh.pool"
    USER_JAR="$jar"
    admin="$("${web[@]}" -u "$ADMIN_ID:$ADMIN_SECRET" -d grant_type=client_credentials "$base/token" | json_field access_token)"
    [[ -n "$admin" ]] || die "no admin token"
    "${web[@]}" -o /dev/null -X PATCH -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"isRegistrationRequiredAfterTap": false}' \
        "$base/api/v1/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"
    uid="$("${web[@]}" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"userPrincipalName": "bench@example.com", "displayName": "Bench"}' "$base/api/v1/users" | json_field id)"
    [[ -n "$uid" ]] || die "could not create the benchmark user"
    pass="$("${web[@]}" -X POST -H "Authorization: Bearer $admin" \
        "$base/api/v1/users/$uid/authentication/temporaryAccessPassMethods" | json_field temporaryAccessPass)"
    [[ -n "$pass" ]] || die "could not issue a pass for the benchmark user"
    auth="$base/authorize?response_type=code&client_id=$RP_ID&redirect_uri=$(printf %s "$RP_REDIRECT" | sed 's/:/%3A/g; s#/#%2F#g')&scope=openid%20offline_access"
    loc="$("${web[@]}" -o /dev/null -w '%{redirect_url}' "$auth")"          # → /signin
    page="$("${web[@]}" "$loc")"
    csrf="$(printf '%s' "$page" | form_field csrf)"; r="$(printf '%s' "$page" | form_field r)"
    [[ -n "$csrf" && -n "$r" ]] || die "the sign-in page has no form"
    "${web[@]}" -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode "r=$r" \
        --data-urlencode "username=bench@example.com" "$base/signin"            # → the pass page
    loc="$("${web[@]}" -o /dev/null -w '%{redirect_url}' --data-urlencode "csrf=$csrf" --data-urlencode "r=$r" \
        --data-urlencode "username=bench@example.com" --data-urlencode "passcode=$pass" "$base/signin/tap")"
    page="$("${web[@]}" "$loc")"                                             # → enrollment, skipped
    csrf="$(printf '%s' "$page" | form_field csrf)"
    loc="$("${web[@]}" -o /dev/null -w '%{redirect_url}' --data-urlencode "csrf=$csrf" --data-urlencode "r=$r" \
        "$base/enroll/skip")"                                                  # → /authorize/resume
    "${web[@]}" -o /dev/null "$loc"
    USER_AUTHORIZE="$auth"
    redeem_user_code "$TMP/user-token.json"
    USER_ACCESS_TOKEN="$(json_field access_token <"$TMP/user-token.json")"
    USER_REFRESH_TOKEN="$(json_field refresh_token <"$TMP/user-token.json")"
    [[ -n "$USER_ACCESS_TOKEN" && -n "$USER_REFRESH_TOKEN" ]] || die "no user tokens"
    top_up_refresh_pool
}

# A code through single sign-on, redeemed; the token response goes to $1.
redeem_user_code() {
    local web=(curl -sS --max-time 10 -c "$USER_JAR" -b "$USER_JAR") loc code
    loc="$("${web[@]}" -o /dev/null -w '%{redirect_url}' "$USER_AUTHORIZE")"
    code="$(printf '%s' "$loc" | sed -nE 's/.*[?&]code=([^&]*).*/\1/p')"
    [[ -n "$code" ]] || die "no code from /authorize (got: $loc)"
    "${web[@]}" -o "$1" -u "$RP_ID:$RP_SECRET" -d grant_type=authorization_code \
        -d "code=$code" --data-urlencode "redirect_uri=$RP_REDIRECT" "http://$HOST:$PORT/token"
    grep -q '"refresh_token"' "$1" || die "no refresh token: $(cat "$1")"
}

# Fills the pool up to REFRESH_POOL tokens. Each wrk run loses the tokens in
# flight when it stops (one per connection), so this runs before each one.
top_up_refresh_pool() {
    local have=0 added=0
    [[ -f "$TMP/refresh.pool" ]] && have="$(grep -c . "$TMP/refresh.pool" || true)"
    while (( have + added < REFRESH_POOL )); do
        redeem_user_code "$TMP/user-token.json"
        json_field refresh_token <"$TMP/user-token.json" >>"$TMP/refresh.pool"
        added=$(( added + 1 ))
    done
    log "refresh token pool: $have kept, $added added"
}

# ---------------------------------------------------------------- load
RESULTS=()
WARNINGS=()

# One measurement; sets ROW (the table row) and OTHER (empty if no other
# process disturbed it, else a description).
measure_once() { # store scenario url [lua]
    local store="$1" scenario="$2" url="$3" lua="${4:-}" out="$TMP/wrk.out"
    local args=(-t1 "-c$CONNECTIONS" --latency --timeout 5s)
    [[ -n "$lua" ]] && args+=(-s "$lua")
    wait_quiet
    # A scenario may need to prepare each run (the refresh token pool).
    [[ -z "${BEFORE_RUN:-}" ]] || "$BEFORE_RUN"
    log "$store / $scenario: warm-up $WARMUP"
    timeout 60 "${CPU_LOAD[@]}" wrk "${args[@]}" "-d$WARMUP" "$url" >/dev/null
    log "$store / $scenario: measuring $DURATION"
    [[ -z "${BEFORE_RUN:-}" ]] || "$BEFORE_RUN"
    local c0 c1 a0 a1 p0 p1 r0=0 r1=0 w0 w1
    child_ticks w0; p0="$(proc_ticks "$SERVER_PID")"
    [[ -n "$REDIS_PID" ]] && r0="$(proc_ticks "$REDIS_PID")"
    c0="$(cpu_ticks 0)"; c1="$(cpu_ticks 1)"
    timeout 120 "${CPU_LOAD[@]}" wrk "${args[@]}" "-d$DURATION" "$url" >"$out"
    a0="$(cpu_ticks 0)"; a1="$(cpu_ticks 1)"
    child_ticks w1; p1="$(proc_ticks "$SERVER_PID")"
    [[ -n "$REDIS_PID" ]] && r1="$(proc_ticks "$REDIS_PID")"
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server-$store.log" >&2; die "onramp died during $scenario"; }
    local rps p50 p99 non2xx sockerr
    rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
    p50="$(awk '/Latency Distribution/ { d = 1 } d && $1 == "50%" { print $2; exit }' "$out")"
    p99="$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")"
    non2xx="$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")"
    sockerr="$(grep -E '^ *Socket errors' "$out" || true)"
    [[ -n "$rps" ]] || { cat "$out" >&2; die "could not parse wrk output"; }
    if [[ -n "$non2xx" && "$non2xx" != 0 ]]; then
        WARNINGS+=("$store / $scenario: $non2xx non-2xx responses")
        log "WARNING: $store / $scenario: wrk saw $non2xx non-2xx responses"
    fi
    if [[ -n "$sockerr" ]]; then
        WARNINGS+=("$store / $scenario:${sockerr#*Socket errors}")
        log "WARNING: $store / $scenario: $sockerr"
    fi
    # CPU shares over the measured interval; "other" is anything not ours.
    local t0=$(( ${a0#* } - ${c0#* } )) t1=$(( ${a1#* } - ${c1#* } ))
    local onramp wrk redis other0 other1 mark=""
    onramp="$(pct $(( p1 - p0 )) "$t0")"
    wrk="$(pct $(( w1 - w0 )) "$t1")"
    redis="$(pct $(( r1 - r0 )) "$t1")"
    # Process and per-CPU accounting differ slightly; clamp at 0.
    other0=$(( $(pct $(( ${a0% *} - ${c0% *} )) "$t0") - onramp )); (( other0 > 0 )) || other0=0
    other1=$(( $(pct $(( ${a1% *} - ${c1% *} )) "$t1") - wrk - redis )); (( other1 > 0 )) || other1=0
    OTHER=""
    if (( other0 > 5 || other1 > 10 )); then
        mark=" (!)"
        OTHER="other processes used CPU 0: ${other0}%, CPU 1: ${other1}%"
    fi
    ROW="| $store | $scenario | $rps$mark | $p50 | $p99 | ${onramp}% | ${wrk}% |"
    log "$store / $scenario: $rps req/s, p50 $p50, p99 $p99, onramp ${onramp}% of CPU 0, wrk ${wrk}% of CPU 1, other ${other0}%/${other1}%"
}

# Measures a scenario; a disturbed measurement is repeated up to RETRIES
# times (default 2) and reported with (!) if none was clean.
run_wrk() { # store scenario url [lua]
    local attempt
    for attempt in $(seq 0 "${RETRIES:-2}"); do
        (( attempt == 0 )) || log "$2: repeating the disturbed measurement ($OTHER)"
        measure_once "$@"
        [[ -n "$OTHER" ]] || break
    done
    RESULTS+=("$ROW")
    if [[ -n "$OTHER" ]]; then
        WARNINGS+=("$1 / $2: $OTHER during the measurement; numbers marked (!) are unreliable")
    fi
}

LOADAVG_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for STORE in $STORES; do
    start_server "$STORE"
    check_token "$ES_ID" "$ES_SECRET" ES256
    check_token "$RS_ID" "$RS_SECRET" RS256
    BASE="http://$HOST:$PORT"
    if [[ " $MODES " == *" client_credentials "* ]]; then
        run_wrk "$STORE" "POST /token client_credentials ES256" "$BASE/token" "$TMP/token-es.lua"
        run_wrk "$STORE" "POST /token client_credentials RS256" "$BASE/token" "$TMP/token-rs.lua"
    fi
    if [[ " $MODES " == *" discovery "* ]]; then
        run_wrk "$STORE" "GET /.well-known/openid-configuration" "$BASE/.well-known/openid-configuration"
        run_wrk "$STORE" "GET /.well-known/jwks.json" "$BASE/.well-known/jwks.json"
    fi
    if [[ " $MODES " == *" refresh "* || " $MODES " == *" introspection "* ]]; then
        seed_user_tokens
    fi
    if [[ " $MODES " == *" refresh "* ]]; then
        refresh_lua "$TMP/refresh.pool" "$TMP/refresh.lua"
        BEFORE_RUN=top_up_refresh_pool
        run_wrk "$STORE" "POST /token refresh_token (rotation)" "$BASE/token" "$TMP/refresh.lua"
        BEFORE_RUN=""
    fi
    if [[ " $MODES " == *" introspection "* ]]; then
        introspect_lua "$USER_ACCESS_TOKEN" "$TMP/introspect-at.lua"
        introspect_lua "$USER_REFRESH_TOKEN" "$TMP/introspect-rt.lua"
        run_wrk "$STORE" "POST /introspect access token" "$BASE/introspect" "$TMP/introspect-at.lua"
        run_wrk "$STORE" "POST /introspect refresh token" "$BASE/introspect" "$TMP/introspect-rt.lua"
    fi
    if grep -qiE 'error|panic' "$TMP/server-$STORE.log"; then
        WARNINGS+=("$STORE: onramp logged errors, see below")
        printf -- '--- onramp output (%s) ---\n' "$STORE" >&2
        grep -iE 'error|panic' "$TMP/server-$STORE.log" | head -20 >&2
    fi
    stop_server
done

# ---------------------------------------------------------------- report
echo
echo "## Onramp load ($(date -u +%Y-%m-%d), $(nproc) CPUs, wrk -t1 -c$CONNECTIONS -d$DURATION, server on CPU 0, wrk on CPU 1)"
echo
if [[ -n "${BENCH_BIN:-}" ]]; then
    REV="binary given by BENCH_BIN"
elif [[ "${SKIP_BUILD:-0}" == 1 ]]; then
    REV="existing binary, not rebuilt"
else
    REV="git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
        REV+=" + uncommitted changes"
    fi
fi
echo "Binary: \`$BIN\` ($REV). Load average before the run: $LOADAVG_BEFORE."
echo
echo "| store | scenario | requests/s | p50 | p99 | onramp CPU (CPU 0) | wrk CPU (CPU 1) |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${RESULTS[@]}"

# Raw signing rate on one core: the crypto library the server uses (aws-lc-rs,
# tests/bench/signing_ceiling, three runs), and OpenSSL for reference.
if [[ "${SKIP_CEILING:-0}" != 1 ]]; then
    CEIL_ROWS=()
    CEIL_DIR="$ROOT/tests/bench/signing_ceiling"
    CEIL_TARGET="$TARGET_DIR/bench-signing-ceiling"
    log "building the signing-ceiling probe (aws-lc-rs)"
    if CARGO_TARGET_DIR="$CEIL_TARGET" cargo build --release --locked \
            --manifest-path "$CEIL_DIR/Cargo.toml" >"$TMP/ceiling-build.log" 2>&1; then
        log "measuring aws-lc-rs signing rate on CPU 0 (3 x 2 x 3 s)"
        for _ in 1 2 3; do
            wait_quiet
            "${CPU_SERVER[@]}" "$CEIL_TARGET/release/onramp-signing-ceiling" 3 >>"$TMP/ceiling.out"
        done
        # Interference only slows a run down, so the best run is the ceiling.
        med() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/ceiling.out" | sort -n | awk '{ v[NR] = $1 } END { printf "%s (median %s, worst %s)", v[NR], v[int((NR + 1) / 2)], v[1] }'; }
        CEIL_ROWS+=("| aws-lc-rs $(awk '/^name = "aws-lc-rs"/ { getline; gsub(/[^0-9.]/, ""); print }' "$CEIL_DIR/Cargo.lock") (the server's library) | $(med rsa2048) | $(med ecdsap256) |")
    else
        tail -20 "$TMP/ceiling-build.log" >&2
        WARNINGS+=("could not build tests/bench/signing_ceiling; aws-lc-rs ceiling not measured")
    fi
    if command -v openssl >/dev/null; then
        log "measuring OpenSSL signing rate on CPU 0 (openssl speed, 2 x 3 s)"
        wait_quiet
        "${CPU_SERVER[@]}" openssl speed -seconds 3 rsa2048 ecdsap256 >"$TMP/speed.out" 2>/dev/null || true
        rsa="$(awk '/^rsa 2048 bits/ { printf "%.0f", $(NF-1) }' "$TMP/speed.out")"
        ec="$(awk '/ecdsa \(nistp256\)/ { printf "%.0f", $(NF-1) }' "$TMP/speed.out")"
        CEIL_ROWS+=("| $(openssl version | awk '{ print $1, $2 }') (openssl speed) | ${rsa:-?} | ${ec:-?} |")
    fi
    echo
    echo "## Single-core signing ceiling (CPU 0, signatures/s, best of the runs)"
    echo
    echo "| library | RSA-2048 (RS256) | ECDSA P-256 (ES256) |"
    echo "|---|---:|---:|"
    printf '%s\n' "${CEIL_ROWS[@]}"
fi

if ((${#WARNINGS[@]})); then
    echo
    echo "Warnings:"
    printf -- '- %s\n' "${WARNINGS[@]}"
fi
