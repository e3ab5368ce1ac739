#!/usr/bin/env bash
# Load benchmark of a full passkey sign-in: authorize (which answers with
# the sign-in page, and that with the passkey ceremony of the browser's
# autofill request) → software-authenticator assertion → finish (which
# answers the authorization request with its code at once) → token
# exchange with PKCE. Three requests; the "Sign in with a passkey" button
# would ask /signin/passkey/options for a ceremony of its own (one more).
#
#   tests/bench/signin_load.sh
#
# Builds the release server and the load tool (examples/signin_load.rs), then
# for each store (embedded, redis) starts the server on a free loopback port
# with a throw-away configuration holding the two clients of
# config/demo.toml, pins it to CPU 0 and drives it with the load tool pinned
# to CPU 1 (Redis, when used, also on CPU 1). For each concurrency the tool
# provisions USERS users with a Temporary Access Pass and enrolls a passkey
# for each (setup, not measured), then runs that many concurrent flows for
# DURATION seconds. Prints a Markdown table. Every process it starts is
# stopped on exit. Only loopback is ever targeted: the server listens on
# 127.0.0.1 and the tool calls it `localhost`, which must be the WebAuthn
# RP ID. The per-client token rate limit is turned off
# (all token requests come from demo-rp). Takes a few minutes after the build.
#
# Per store it also reports the server's CPU time per flow (user + system
# time of the server process over the measured phase, divided by the flows),
# the Redis commands per flow (INFO stats), and, in a separate counting run
# under strace, one flow at a time (strace slows the server, so it is not
# timed): fsync and fdatasync calls of the server per flow, Redis round
# trips per flow (the server's own count, onramp_redis_round_trips_total
# on /metrics) and Redis's write calls per flow (about one per answer; a
# pipeline that reaches Redis in two reads is answered twice).
#
# Tunables (environment): USERS (default 40), CONCURRENCY ("8 16"),
# DURATION (10, seconds), STORES ("embedded redis"), SKIP_BUILD=1 (use the
# existing binaries), BENCH_BIN=path and BENCH_LOAD_BIN=path (benchmark
# other builds of the server and of the load tool; imply no build),
# BUILD_TIMEOUT (3600), SETUP_TIMEOUT (300, seconds for the tool's
# enrollment phase), QUIET_TIMEOUT (120), QUIET_SECONDS (3), RETRIES (2),
# COUNT_SECONDS (5, the counting run; 0 skips it), INSTR_SECONDS (0, the
# instruction count under callgrind; 20 gives several hundred flows),
# ID_TOKEN_ALG (ES256,
# the demo client's ID token algorithm; RS256 is the server's default).
#
# Other processes on CPUs 0 and 1 distort the numbers. Before each run the
# script waits (at most QUIET_TIMEOUT s) for both CPUs to be idle for
# QUIET_SECONDS in a row; a measurement during which something else used
# them is repeated up to RETRIES times, and the least disturbed one is
# marked (!) in the table if it never ran undisturbed.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_NAME="signin_load"
# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
USERS="${USERS:-40}"
CONCURRENCY="${CONCURRENCY:-8 16}"
DURATION="${DURATION:-10}"
DURATION="${DURATION%s}"
STORES="${STORES:-embedded redis}"
ID_TOKEN_ALG="${ID_TOKEN_ALG:-ES256}"
SETUP_TIMEOUT="${SETUP_TIMEOUT:-300}"
QUIET_SECONDS="${QUIET_SECONDS:-3}"
HOST="127.0.0.1"   # loopback only

# ONRAMP_* variables override the configuration file (and unknown ones make
# start-up fail); keep the run reproducible. The load tool gets its
# ONRAMP_ISSUER explicitly.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^ONRAMP_' || true)

[[ "$USERS" =~ ^[1-9][0-9]*$ ]] || die "USERS must be a positive integer"
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive number of seconds"
for c in $CONCURRENCY; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "bad CONCURRENCY value $c"; done

# ---------------------------------------------------------------- cleanup
TMP="$(mktemp -d -t onramp-signin-bench.XXXXXX)"
SERVER_PID=""
REDIS_PID=""
LOAD_PID=""

cleanup() {
    # LOAD_PID is `timeout`, which passes the TERM on to the load tool.
    stop_pid "$LOAD_PID"; LOAD_PID=""
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
if [[ -n "${BENCH_BIN:-}${BENCH_LOAD_BIN:-}" ]]; then
    SKIP_BUILD=1
elif [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building (cargo build --release --bin onramp --example signin_load)"
    timeout "${BUILD_TIMEOUT:-3600}" cargo build --release --bin onramp --example signin_load
fi
BIN="${BENCH_BIN:-$TARGET_DIR/release/onramp}"
LOAD_BIN="${BENCH_LOAD_BIN:-$TARGET_DIR/release/examples/signin_load}"
[[ -x "$BIN" ]] || die "onramp binary not found at $BIN"
[[ -x "$LOAD_BIN" ]] || die "load tool not found at $LOAD_BIN"
command -v curl >/dev/null || die "curl is required"

# ---------------------------------------------------------------- config
# The clients of config/demo.toml, with their development secrets; the load
# tool has them built in. The redirect URI is never contacted.
HR_ID="hr-sync";  HR_SECRET="hr-sync-dev-secret-change-me"

write_config() { # file port store_url [prefix]
    {
        cat <<EOF
[server]
listen = "$HOST:$2"
issuer = "http://localhost:$2"
workers = 1

# The first start's pass (the output is not a terminal), cleaned up with TMP.
[bootstrap]
pass_file = "$TMP/bootstrap-pass.txt"

[log]
level = "warn"

# All token requests come from one client (demo-rp): no per-client rate
# limit, or it, not the server, would cap the flow rate.
[tokens]
rate_limit_per_client = 0

[store]
url = "$3"
EOF
        [[ -z "${4:-}" ]] || printf 'prefix = "%s"\n' "$4"
        cat <<'EOF'

# An HR system that provisions users and passes through the admin API.
[[clients]]
id = "hr-sync"
name = "HR provisioning"
secret = "hr-sync-dev-secret-change-me"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"]

# The example relying party (examples/demo_rp.rs).
[[clients]]
id = "demo-rp"
name = "Demo app"
secret = "demo-rp-dev-secret-change-me"
grant_types = ["authorization_code", "refresh_token"]
redirect_uris = ["http://localhost:3000/callback"]
EOF
        printf 'id_token_alg = "%s"\n' "$ID_TOKEN_ALG"
    } >"$1"
}

# ---------------------------------------------------------------- server
# The admin client must get a token, or the load tool cannot provision users.
check_admin_token() {
    local code
    code="$(curl -sS --max-time 5 -o "$TMP/token.json" -w '%{http_code}' \
        -u "$HR_ID:$HR_SECRET" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data 'grant_type=client_credentials' "http://$HOST:$PORT/token" 2>"$TMP/curl.err")" || true
    if [[ "$code" != 200 ]]; then
        printf -- '--- POST /token as %s: HTTP %s ---\n' "$HR_ID" "${code:-none}" >&2
        cat "$TMP/curl.err" "$TMP/token.json" >&2 2>/dev/null || true
        printf '\n--- onramp output ---\n' >&2
        cat "$TMP/server-$STORE.log" >&2
        die "token request for $HR_ID did not return 200"
    fi
}

# ---------------------------------------------------------------- load
RESULTS=()
WARNINGS=()
LOG_SEEN=0   # lines of the current server log already reported

# Sets NEWS to the server's output (level warn and above) since the last
# call, without colours and blank lines.
server_log_lines() { # store
    local f="$TMP/server-$1.log" n
    n="$(wc -l <"$f")"
    NEWS=""
    if (( n > LOG_SEEN )); then
        NEWS="$(sed -n "$(( LOG_SEEN + 1 )),${n}p" "$f" | sed -E $'s/\x1b\\[[0-9;]*m//g' | grep -v '^[[:space:]]*$' || true)"
    fi
    LOG_SEEN="$n"
}

# Reports what the server logged during a measurement as a warning.
server_log_news() { # store label
    server_log_lines "$1"
    if [[ -n "$NEWS" ]]; then
        WARNINGS+=("$2: onramp logged $(wc -l <<<"$NEWS") line(s); first ones: $(head -n 3 <<<"$NEWS" | tr '\n' ' ' | cut -c1-600)")
        log "onramp output during $2:"
        head -n 20 <<<"$NEWS" >&2
    fi
}

# One run of the load tool; sets ROW (the table row), OTHER (empty if no
# other process disturbed the measured phase, else a description) and
# DISTURBANCE (CPU 0 + CPU 1 percentage used by others).
measure_once() { # store concurrency
    local store="$1" conc="$2" out="$TMP/load.out" err="$TMP/load.err"
    local label="$store / concurrency $conc"
    wait_quiet
    log "$label: enrolling $USERS users, then measuring ${DURATION}s"
    local w0 w1 c0 c1 a0 a1 p0 p1 r0=0 r1=0 l0=0 tool="" rc=0 started=0 q0=0 q1=0
    child_ticks w0
    env ONRAMP_ISSUER="http://localhost:$PORT" \
        timeout -k 5 $(( SETUP_TIMEOUT + DURATION + 60 )) \
        "${CPU_LOAD[@]}" "$LOAD_BIN" "$USERS" "$conc" "$DURATION" >"$out" 2>"$err" &
    LOAD_PID=$!
    # The tool prints "enrolled N users; running ..." when setup is done:
    # start the CPU accounting there.
    local deadline=$(( SECONDS + SETUP_TIMEOUT ))
    while kill -0 "$LOAD_PID" 2>/dev/null && (( SECONDS < deadline )); do
        if grep -q '^enrolled ' "$err" 2>/dev/null; then started=1; break; fi
        sleep 0.05
    done
    if (( started )); then
        tool="$(pgrep -P "$LOAD_PID" | head -n 1 || true)"
        c0="$(cpu_ticks 0)"; c1="$(cpu_ticks 1)"
        p0="$(proc_ticks "$SERVER_PID")"
        [[ -n "$REDIS_PID" ]] && r0="$(proc_ticks "$REDIS_PID")" && q0="$(redis_commands)"
        [[ -n "$tool" ]] && l0="$(proc_ticks "$tool")"
    else
        log "$label: setup did not finish within ${SETUP_TIMEOUT}s or the tool exited"
        stop_pid "$LOAD_PID"
    fi
    wait "$LOAD_PID" 2>/dev/null || rc=$?
    LOAD_PID=""
    if (( started )); then
        a0="$(cpu_ticks 0)"; a1="$(cpu_ticks 1)"
        p1="$(proc_ticks "$SERVER_PID")"
        [[ -n "$REDIS_PID" ]] && r1="$(proc_ticks "$REDIS_PID")" && q1="$(redis_commands)"
    fi
    child_ticks w1
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server-$store.log" >&2; die "onramp died during $label"; }
    # Failed flows are printed (two per worker at most) on stderr.
    if grep -q '^flow failed' "$err"; then
        WARNINGS+=("$label: $(grep '^flow failed' "$err" | sort | uniq -c | sort -rn | head -3 | sed -E 's/^ *([0-9]+) /\1x /' | tr '\n' ';' | cut -c1-800)")
    fi
    server_log_news "$store" "$label"
    local line
    line="$(sed -nE 's/^passkey sign-in flows: ([0-9]+) ok, ([0-9]+) failed, ([0-9.]+) flows\/s, p50 ([0-9.]+) ms, p99 ([0-9.]+) ms$/\1 \2 \3 \4 \5/p' "$out")"
    OTHER=""
    DISTURBANCE=998   # a failed run is worse than any disturbed one
    if (( rc != 0 )) || [[ -z "$line" ]]; then
        log "$label: the load tool failed (exit status $rc)"
        cat "$out" >&2
        tail -n 20 "$err" >&2
        WARNINGS+=("$label: the load tool failed (exit status $rc): $(tail -n 3 "$err" | tr '\n' ' ' | cut -c1-600)")
        ROW="| $store | $conc | run failed | – | – | – | – | – | – | – |"
        return 0
    fi
    local ok failed rate p50 p99
    read -r ok failed rate p50 p99 <<<"$line"
    # CPU shares over the measured phase; "other" is anything not ours.
    local t0=$(( ${a0#* } - ${c0#* } )) t1=$(( ${a1#* } - ${c1#* } ))
    local onramp load redis other0 other1 mark="" fail="0"
    onramp="$(pct $(( p1 - p0 )) "$t0")"
    load="$(pct $(( w1 - w0 - l0 )) "$t1")"
    redis="$(pct $(( r1 - r0 )) "$t1")"
    # Process and per-CPU accounting differ slightly; clamp at 0.
    other0=$(( $(pct $(( ${a0% *} - ${c0% *} )) "$t0") - onramp )); (( other0 > 0 )) || other0=0
    other1=$(( $(pct $(( ${a1% *} - ${c1% *} )) "$t1") - load - redis )); (( other1 > 0 )) || other1=0
    DISTURBANCE=$(( other0 + other1 ))
    if (( other0 > 5 || other1 > 10 )); then
        mark=" (!)"
        OTHER="other processes used CPU 0: ${other0}%, CPU 1: ${other1}%"
    fi
    if (( failed > 0 )); then
        fail="$failed of $(( ok + failed ))"
        log "WARNING: $label: $failed failed flows"
    fi
    local tool_cpu="${load}%" per_flow commands="–"
    [[ -n "$REDIS_PID" ]] && tool_cpu+=" (+ redis ${redis}%)"
    per_flow="$(awk -v t=$(( p1 - p0 )) -v hz="$(getconf CLK_TCK)" -v n="$ok" 'BEGIN { if (n > 0) printf "%.2f ms", t * 1000 / hz / n; else print "–" }')"
    [[ -n "$REDIS_PID" ]] && commands="$(awk -v c=$(( q1 - q0 )) -v n="$ok" 'BEGIN { if (n > 0) printf "%.1f", c / n; else print "–" }')"
    ROW="| $store | $conc | $rate$mark | $p50 ms | $p99 ms | $fail | $per_flow | ${onramp}% | $tool_cpu | $commands |"
    log "$label: $ok ok, $failed failed, $rate flows/s, p50 $p50 ms, p99 $p99 ms, onramp ${onramp}% of CPU 0, load tool ${load}% and redis ${redis}% of CPU 1, other ${other0}%/${other1}%"
}

# Measures a scenario; a disturbed measurement is repeated up to RETRIES
# times (default 2). If none was clean, the least disturbed one is reported,
# marked (!).
run_load() { # store concurrency
    local attempt best_row="" best_other="" best=999
    OTHER=""
    for attempt in $(seq 0 "${RETRIES:-2}"); do
        (( attempt == 0 )) || log "$1 / concurrency $2: repeating the disturbed measurement ($OTHER)"
        measure_once "$@"
        if [[ -z "$best_row" ]] || (( DISTURBANCE < best )); then
            best_row="$ROW"; best_other="$OTHER"; best="$DISTURBANCE"
        fi
        [[ -n "$OTHER" ]] || break
    done
    RESULTS+=("$best_row")
    if [[ -n "$best_other" ]]; then
        WARNINGS+=("$1 / concurrency $2: $best_other during the least disturbed of $(( ${RETRIES:-2} + 1 )) measurements; numbers marked (!) are unreliable")
    fi
}

# Redis's count of commands processed so far.
redis_commands() {
    redis-cli -h "$HOST" -p "$REDIS_PORT" INFO stats 2>/dev/null \
        | sed -nE 's/^total_commands_processed:([0-9]+).*/\1/p'
}

# Calls of the named syscalls in an `strace -c` summary.
strace_calls() { # file syscall...
    local f="$1"; shift
    awk -v names=" $* " 'index(names, " " $NF " ") && $4 ~ /^[0-9]+$/ { n += $4 } END { print n + 0 }' "$f"
}

# The counting run: the load tool at concurrency 1 for COUNT_SECONDS with
# The server's own count of Redis round trips (a command or a pipeline
# sent, its answer awaited), from /metrics.
redis_round_trips() {
    curl -fsS "http://$HOST:$PORT/metrics" 2>/dev/null |
        awk '$1 == "onramp_redis_round_trips_total" { print $2 }'
}

# strace counting the server's fsync/fdatasync and Redis's write/writev
# calls. One flow at a time, each Redis write answers one round trip (with
# concurrent flows, commands sharing the multiplexed connection are answered
# together). Not timed: strace slows both.
COUNTS=()
count_run() { # store
    local store="$1" secs="${COUNT_SECONDS:-5}" out="$TMP/count.out" err="$TMP/count.err"
    (( secs > 0 )) || return 0
    command -v strace >/dev/null || { WARNINGS+=("$store: strace is not installed; no syscall counts"); return 0; }
    log "$store: counting run (${secs}s under strace)"
    env ONRAMP_ISSUER="http://localhost:$PORT" timeout -k 5 $(( SETUP_TIMEOUT + secs + 60 )) \
        "${CPU_LOAD[@]}" "$LOAD_BIN" "$USERS" 1 "$secs" >"$out" 2>"$err" &
    LOAD_PID=$!
    local deadline=$(( SECONDS + SETUP_TIMEOUT )) s1="" s2=""
    while kill -0 "$LOAD_PID" 2>/dev/null && (( SECONDS < deadline )); do
        grep -q '^enrolled ' "$err" 2>/dev/null && break
        sleep 0.05
    done
    local trips_before trips_after trips="–"
    trips_before="$(redis_round_trips)"
    strace -f -qq -c -o "$TMP/strace-server" -p "$SERVER_PID" & s1=$!
    if [[ -n "$REDIS_PID" ]]; then
        strace -f -qq -c -e trace=write,writev -o "$TMP/strace-redis" -p "$REDIS_PID" & s2=$!
    fi
    wait "$LOAD_PID" 2>/dev/null || true
    LOAD_PID=""
    trips_after="$(redis_round_trips)"
    kill -INT $s1 $s2 2>/dev/null || true
    wait $s1 $s2 2>/dev/null || true
    local ok syncs calls replies="–"
    ok="$(sed -nE 's/^passkey sign-in flows: ([0-9]+) ok.*/\1/p' "$out")"
    if [[ -z "$ok" || "$ok" == 0 ]]; then
        WARNINGS+=("$store: the counting run completed no flow")
        return 0
    fi
    syncs="$(awk -v c="$(strace_calls "$TMP/strace-server" fsync fdatasync)" -v n="$ok" 'BEGIN { printf "%.2f", c / n }')"
    calls="$(awk -v c="$(awk '$NF == "total" { print $4 }' "$TMP/strace-server")" -v n="$ok" 'BEGIN { printf "%.1f", c / n }')"
    [[ -n "$s2" ]] && replies="$(awk -v c="$(strace_calls "$TMP/strace-redis" write writev)" -v n="$ok" 'BEGIN { printf "%.1f", c / n }')"
    [[ -n "$REDIS_PID" && -n "$trips_before" && -n "$trips_after" ]] &&
        trips="$(awk -v a="$trips_before" -v b="$trips_after" -v n="$ok" 'BEGIN { printf "%.1f", (b - a) / n }')"
    COUNTS+=("| $store | $ok | $syncs | $calls | $trips | $replies |")
}

# The instruction count: the server under callgrind (valgrind), the load
# tool at concurrency 1 with 4 users for INSTR_SECONDS (0 skips it);
# instrumentation is switched on once the users are enrolled, so the count
# is of the measured flows only: the server's own user-space instructions
# per flow (not the kernel's). Unlike CPU time it does not depend on what
# else the machine, or its host, is doing, so it compares two builds run
# on different days; it does not weigh instructions by their cost (a
# multiplication, a cache miss, one step of `rep stosb`).
INSTR=()
instr_run() { # store
    local store="$1" secs="${INSTR_SECONDS:-0}" out="$TMP/instr.out" err="$TMP/instr.err"
    local cg="$TMP/callgrind.out" ok total
    (( secs > 0 )) || return 0
    command -v callgrind_control >/dev/null || { WARNINGS+=("$store: valgrind is not installed; no instruction count"); return 0; }
    SERVER_WRAP=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$cg")
    start_server "$store"
    SERVER_WRAP=()
    check_admin_token
    log "$store: instruction count (${secs}s under callgrind, one flow at a time)"
    env ONRAMP_ISSUER="http://localhost:$PORT" timeout -k 5 $(( SETUP_TIMEOUT + secs + 60 )) \
        "$LOAD_BIN" 4 1 "$secs" >"$out" 2>"$err" &
    LOAD_PID=$!
    local deadline=$(( SECONDS + SETUP_TIMEOUT ))
    while kill -0 "$LOAD_PID" 2>/dev/null && (( SECONDS < deadline )); do
        grep -q '^enrolled ' "$err" 2>/dev/null && break
        sleep 0.05
    done
    callgrind_control -i on "$SERVER_PID" >/dev/null 2>&1
    wait "$LOAD_PID" 2>/dev/null || true
    LOAD_PID=""
    callgrind_control -d "$SERVER_PID" >/dev/null 2>&1
    ok="$(sed -nE 's/^passkey sign-in flows: ([0-9]+) ok.*/\1/p' "$out")"
    total="$(callgrind_annotate "$cg.1" 2>/dev/null | sed -nE 's/^ *([0-9,]+) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
    stop_server
    if [[ -z "$ok" || "$ok" == 0 || -z "$total" ]]; then
        WARNINGS+=("$store: the instruction count completed no flow: $(tail -n 2 "$err" | tr '\n' ' ' | cut -c1-300)")
        return 0
    fi
    INSTR+=("| $store | $ok | $(awk -v t="$total" -v n="$ok" 'BEGIN { printf "%.0f", t / n / 1000 }')k |")
}

LOADAVG_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for STORE in $STORES; do
    start_server "$STORE"
    LOG_SEEN=0
    check_admin_token
    # Start-up output: the first-start banner with the administrator's pass,
    # and for Redis the expected warning that persistence is off.
    server_log_lines "$STORE"
    STARTUP="$(grep -E 'WARN|ERROR|panic' <<<"$NEWS" || true)"
    [[ -z "$STARTUP" ]] || { log "onramp start-up warnings ($STORE):"; printf '%s\n' "$STARTUP" >&2; }
    for C in $CONCURRENCY; do
        run_load "$STORE" "$C"
    done
    count_run "$STORE"
    server_log_news "$STORE" "$STORE / counting run"
    stop_server
    instr_run "$STORE"
done

# ---------------------------------------------------------------- report
echo
echo "## Full passkey sign-in ($(date -u +%Y-%m-%d), $(nproc) CPUs, $USERS users, ${DURATION}s per run, $ID_TOKEN_ALG ID tokens, server on CPU 0, load tool on CPU 1)"
echo
if [[ -n "${BENCH_BIN:-}${BENCH_LOAD_BIN:-}" ]]; then
    REV="binaries given by BENCH_BIN / BENCH_LOAD_BIN"
elif [[ "${SKIP_BUILD:-0}" == 1 ]]; then
    REV="existing binaries, not rebuilt"
else
    REV="git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git -C "$ROOT" status --porcelain -- src examples Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
        REV+=" + uncommitted changes"
    fi
fi
echo "Binaries: \`$BIN\`, \`$LOAD_BIN\` ($REV). Load average before the run: $LOADAVG_BEFORE."
echo
echo "| store | concurrency | flows/s | p50 | p99 | failures | server CPU per flow | onramp CPU (CPU 0) | load tool CPU (CPU 1) | Redis commands per flow |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${RESULTS[@]}"
if ((${#COUNTS[@]})); then
    echo
    echo "Counting run (one flow at a time, ${COUNT_SECONDS:-5}s under strace, not timed):"
    echo
    echo "| store | flows | fsync + fdatasync per flow | system calls per flow | Redis round trips per flow | Redis write calls per flow |"
    echo "|---|---:|---:|---:|---:|---:|"
    printf '%s\n' "${COUNTS[@]}"
fi
if ((${#INSTR[@]})); then
    echo
    echo "Instruction count (the server under callgrind, one flow at a time, ${INSTR_SECONDS}s, not timed):"
    echo
    echo "| store | flows | server instructions per flow (user space) |"
    echo "|---|---:|---:|"
    printf '%s\n' "${INSTR[@]}"
fi

if ((${#WARNINGS[@]})); then
    echo
    echo "Warnings:"
    printf -- '- %s\n' "${WARNINGS[@]}"
fi
