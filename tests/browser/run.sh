#!/usr/bin/env bash
# Real-browser end-to-end test: headless Chromium signs a user in with a
# Temporary Access Pass, enrolls a passkey, then signs in with it.
# Needs the onramp binary (ONRAMP_BIN, default target/debug/onramp), Node.js
# with npm, and Chromium (CHROMIUM, default /usr/bin/chromium).
set -euo pipefail
# A relative ONRAMP_BIN is taken from where this script was started.
if [ -n "${ONRAMP_BIN:-}" ] && [ "${ONRAMP_BIN#/}" = "$ONRAMP_BIN" ]; then
  ONRAMP_BIN="$PWD/$ONRAMP_BIN"
  export ONRAMP_BIN
fi
cd "$(dirname "$0")"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
exec node --test e2e.test.mjs
