# Shared by the benchmark scripts (sourced, not run): process clean-up,
# CPU pinning, free ports, CPU accounting, starting Redis and Onramp, and
# waiting for a quiet machine. The sourcing script sets BENCH_NAME, HOST,
# TMP, BIN and defines write_config (file port store_url prefix) before
# calling start_server; it owns SERVER_PID and REDIS_PID for its clean-up.

log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

CPU_SERVER=()
CPU_LOAD=()
# What start_server runs the server under, besides the CPU pinning (e.g.
# valgrind).
SERVER_WRAP=()
if command -v taskset >/dev/null && [[ "$(nproc)" -ge 2 ]]; then
    CPU_SERVER=(taskset -c 0)
    CPU_LOAD=(taskset -c 1)
else
    log "WARNING: taskset missing or fewer than 2 CPUs; running unpinned (numbers not comparable)"
fi

stop_pid() {
    local pid="$1"
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

port_in_use() {
    if command -v ss >/dev/null; then
        [[ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
    fi
}

# A free port below the usual ephemeral range.
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 12000 ))
        if ! port_in_use "$p"; then echo "$p"; return 0; fi
    done
    die "no free port found"
}

# Busy and total jiffies of one CPU from /proc/stat: "busy total".
cpu_ticks() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# User + system jiffies of a process (all its threads).
proc_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

start_redis() {
    command -v redis-server >/dev/null || die "redis-server is not installed"
    REDIS_PORT="$(free_port)"
    log "starting redis-server on $HOST:$REDIS_PORT"
    # Redis shares CPU 1 with the load generator so that CPU 0 measures only Onramp.
    "${CPU_LOAD[@]}" redis-server --bind "$HOST" --port "$REDIS_PORT" --save "" \
        --appendonly no --daemonize no --loglevel warning \
        >"$TMP/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/$HOST/$REDIS_PORT") 2>/dev/null; then return 0; fi
        kill -0 "$REDIS_PID" 2>/dev/null || { cat "$TMP/redis.log" >&2; die "redis-server exited"; }
        sleep 0.1
    done
    cat "$TMP/redis.log" >&2
    die "redis-server did not start listening within 10 s"
}

start_server() { # store
    local store="$1" url prefix="onramp"
    PORT="$(free_port)"
    case "$store" in
        embedded) url="embedded:$TMP/onramp.redb"; rm -f "$TMP/onramp.redb" ;;
        redis) start_redis; url="redis://$HOST:$REDIS_PORT/0"; prefix="$BENCH_NAME-$$-$RANDOM" ;;
        *) die "unknown store $store" ;;
    esac
    write_config "$TMP/onramp.toml" "$PORT" "$url" "$prefix"
    log "starting onramp ($store store) on $HOST:$PORT"
    "${CPU_SERVER[@]}" "${SERVER_WRAP[@]}" "$BIN" --config "$TMP/onramp.toml" serve >"$TMP/server-$store.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if curl -fsS --max-time 1 -o /dev/null "http://$HOST:$PORT/healthz" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null && rc=0 || rc=$?
            SERVER_PID=""
            printf -- '--- onramp output (exit status %s) ---\n' "$rc" >&2
            cat "$TMP/server-$store.log" >&2
            die "onramp exited before /healthz answered ($store store)"
        fi
        sleep 0.1
    done
    cat "$TMP/server-$store.log" >&2
    die "onramp did not answer /healthz within 30 s ($store store)"
}

stop_server() {
    stop_pid "$SERVER_PID"; SERVER_PID=""
    stop_pid "$REDIS_PID"; REDIS_PID=""
}

# Seconds x 100 of CPU used by this shell's finished children (and their
# waited-for descendants: the load tool under `timeout`). `times` must run in
# this shell, not in a $(...) subshell.
child_ticks() { # variable name
    times >"$TMP/times"
    printf -v "$1" '%s' "$(tail -n 1 "$TMP/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d", t * 100 }')"
}

pct() { # ticks_delta total_delta
    awk -v d="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", 100 * d / t; else print 0 }'
}

# Waits (at most QUIET_TIMEOUT seconds, default 120) until CPU 0 and CPU 1
# have both been below 15% busy for QUIET_SECONDS (default 1) seconds in a
# row, so that someone else's compile or test run does not skew a run.
wait_quiet() {
    local deadline=$(( SECONDS + ${QUIET_TIMEOUT:-120} )) said=0 quiet=0 b0 b1 x0 x1
    while :; do
        b0="$(cpu_ticks 0)"; b1="$(cpu_ticks 1)"; sleep 1; x0="$(cpu_ticks 0)"; x1="$(cpu_ticks 1)"
        # shellcheck disable=SC2086
        if (( $(pct $(( ${x0% *} - ${b0% *} )) $(( ${x0#* } - ${b0#* } ))) < 15 &&
              $(pct $(( ${x1% *} - ${b1% *} )) $(( ${x1#* } - ${b1#* } ))) < 15 )); then
            (( ++quiet < ${QUIET_SECONDS:-1} )) || return 0
            continue
        fi
        quiet=0
        if (( SECONDS >= deadline )); then
            log "WARNING: CPUs still busy after ${QUIET_TIMEOUT:-120} s; measuring anyway"
            return 0
        fi
        (( said )) || { log "other processes are using CPU 0/1; waiting for them to finish"; said=1; }
    done
}
