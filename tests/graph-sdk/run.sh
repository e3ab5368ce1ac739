#!/usr/bin/env bash
# The Microsoft Graph compatibility contract: Microsoft's own Graph SDK for
# Python (msgraph-sdk), used exactly as an integrator's script uses it with
# only the base URL changed, plus raw-HTTP tables of Graph's error and query
# rules, against the onramp binary on both stores (embedded and Redis).
#
#   ONRAMP_BIN      the binary (default target/debug/onramp; a relative path
#                   is taken from where this script was started)
#   REDIS_SERVER    redis-server for the Redis store (default: from PATH)
#   GRAPH_SDK_STORES  "embedded,redis" (default) or one of them
#   GRAPH_SDK_VENV  the virtualenv (default ${CARGO_TARGET_DIR:-target}/graph-sdk-venv)
# Extra arguments go to pytest (e.g. -k batch, -x, -q).
#
# Needs python3 with venv (installed with apt-get when missing and root).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/tests/graph-sdk"

# Relative paths are taken from where this script was started.
abs() { case "$1" in /*) printf %s "$1" ;; *) printf %s "$PWD/$1" ;; esac; }
TARGET_DIR="$(abs "${CARGO_TARGET_DIR:-$ROOT/target}")"
ONRAMP_BIN="$(abs "${ONRAMP_BIN:-$TARGET_DIR/debug/onramp}")"
export ONRAMP_BIN
VENV="$(abs "${GRAPH_SDK_VENV:-$TARGET_DIR/graph-sdk-venv}")"

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: $* (install it, then run again)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

command -v python3 >/dev/null 2>&1 || apt_install python3
# Debian splits venv and ensurepip out of python3.
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
case "${GRAPH_SDK_STORES:-embedded,redis}" in
  *redis*) command -v "${REDIS_SERVER:-redis-server}" >/dev/null 2>&1 || apt_install redis-server ;;
esac

# The venv is rebuilt when requirements.txt changes (or the venv is broken).
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ] \
  || ! "$VENV/bin/python" -c 'import msgraph, pytest' 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input \
    -r "$HERE/requirements.txt"
  echo "$WANT" > "$STAMP"
fi

cd "$HERE"
exec "$VENV/bin/python" -m pytest "$@"
