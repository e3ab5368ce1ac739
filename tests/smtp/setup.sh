#!/usr/bin/env bash
# Installs the pinned SMTP test server (requirements.txt) into a virtualenv
# under the target folder (SMTP_VENV to choose another), reinstalled when
# the pins change, and prints its interpreter. tests/all.sh runs it before
# `cargo test`; the Rust test finds the interpreter at the same path (or in
# ONRAMP_TEST_SMTP_PYTHON) and fails, never skips, when it is missing.
# Installs python3-venv with apt-get when it is missing and this runs as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
HERE="$ROOT/tests/smtp"
TARGET="${CARGO_TARGET_DIR:-target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
VENV="${SMTP_VENV:-$TARGET/smtp-venv}"
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  command -v python3 >/dev/null || { echo "missing: python3" >&2; exit 1; }
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
echo "$VENV/bin/python"
