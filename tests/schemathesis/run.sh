#!/usr/bin/env bash
# Property-based tests of the admin API against its own OpenAPI document
# (GET /api/v1/openapi.json) with schemathesis: every operation, with data
# that fits the document and data that does not, plus methods it does not
# list, under every check (no 5xx, statuses, content types, headers and
# bodies as documented, schema-valid requests accepted, schema-invalid ones
# refused, 405 with Allow for other methods, stateful use of created ids).
#
# Starts the built onramp (ONRAMP_BIN, default target/debug/onramp, built if
# missing) on a free loopback port with an embedded store in a temporary
# folder, and an application client holding every permission an
# application can have; RoleManagement.ReadWrite.Directory is for signed-in
# administrators only, so setDirectoryRoles answers 403 (see
# schemathesis.toml). Installs the pinned schemathesis (requirements.txt)
# into a virtualenv under the target folder (SCHEMATHESIS_VENV to choose
# another); installs python3-venv with apt-get when it is missing and this
# runs as root.
#
# Tunables: SCHEMATHESIS_MAX_EXAMPLES (per operation, default 60),
# SCHEMATHESIS_SEED (default 1; "random" for a new one each run),
# SCHEMATHESIS_WORKERS (default 1); further arguments go to `schemathesis
# run` (e.g. --include-operation-id createUser). Exits non-zero on any
# failure.
set -euo pipefail
# A relative ONRAMP_BIN is taken from where this script was started.
if [ -n "${ONRAMP_BIN:-}" ] && [ "${ONRAMP_BIN#/}" = "$ONRAMP_BIN" ]; then
  ONRAMP_BIN="$PWD/$ONRAMP_BIN"
fi
cd "$(dirname "$0")/../.."
ROOT="$PWD"
HERE="$ROOT/tests/schemathesis"
TARGET="${CARGO_TARGET_DIR:-target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
BIN="${ONRAMP_BIN:-$TARGET/debug/onramp}"
if [ ! -x "$BIN" ]; then
  cargo build --locked --bin onramp
fi
# The server takes its settings from ONRAMP_* variables too, and refuses
# unknown ones (ONRAMP_BIN): it gets only the file written below.
for name in $(compgen -e | grep '^ONRAMP_' || true); do
  unset "$name"
done

# ---- schemathesis in its own virtualenv, reinstalled when the pins change ----
VENV="${SCHEMATHESIS_VENV:-$TARGET/schemathesis-venv}"
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/schemathesis" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  command -v python3 >/dev/null || { echo "missing: python3" >&2; exit 1; }
  # Debian ships venv (with ensurepip) apart from python3.
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
      echo "missing: python3-venv (install it, then run again)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$WANT" > "$STAMP"
fi
PY="$VENV/bin/python"

# ---- a server of its own ----
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://localhost:$PORT"
CLIENT=schemathesis
SECRET="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')"
cat > "$WORK/onramp.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
issuer = "$BASE"

[store]
url = "embedded:$WORK/onramp.redb"

[bootstrap]
pass_file = "$WORK/bootstrap-pass.txt"

[tokens]
# Every request comes from one client.
rate_limit_per_client = 0

[log]
level = "warn"

[[clients]]
id = "$CLIENT"
name = "schemathesis"
secret = "$SECRET"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All", "Policy.ReadWrite.AuthenticationMethod", "AuditLog.Read.All", "Application.ReadWrite.All", "Group.ReadWrite.All", "Webhook.ReadWrite.All"]
EOF
(cd "$WORK" && exec "$BIN" --config "$WORK/onramp.toml" >"$WORK/server.log" 2>&1) &
SERVER_PID=$!

# Waits for the server, then takes an access token with client credentials.
TOKEN="$("$PY" - "$BASE" "$CLIENT" "$SECRET" "$SERVER_PID" <<'EOF'
import base64, json, os, sys, time, urllib.request
base, client, secret, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
deadline = time.monotonic() + 60
while True:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("onramp exited before it answered")
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
            if r.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("onramp did not answer /healthz within 60 s")
    time.sleep(0.2)
auth = base64.b64encode(f"{client}:{secret}".encode()).decode()
req = urllib.request.Request(base + "/token", data=b"grant_type=client_credentials",
                             headers={"Authorization": "Basic " + auth,
                                      "Content-Type": "application/x-www-form-urlencoded"})
with urllib.request.urlopen(req, timeout=10) as r:
    print(json.load(r)["access_token"])
EOF
)" || { echo "--- onramp log ---" >&2; cat "$WORK/server.log" >&2; exit 1; }

SEED="${SCHEMATHESIS_SEED:-1}"
SEED_ARGS=(--seed "$SEED")
[ "$SEED" = random ] && SEED_ARGS=()
# One worker by default: with two, CPython 3.11's AST recursion-depth
# bookkeeping races inside Hypothesis (a random "SystemError: AST
# constructor recursion depth mismatch" that is the tool's, not ours).
set +e
(cd "$WORK" && "$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run \
  "$BASE/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-60}" \
  --workers "${SCHEMATHESIS_WORKERS:-1}" \
  "${SEED_ARGS[@]}" \
  --no-color \
  "$@")
status=$?
set -e
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "onramp died during the run" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "--- onramp log (last 50 lines) ---" >&2
  tail -n 50 "$WORK/server.log" >&2
fi
exit "$status"
