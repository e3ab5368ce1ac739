#!/usr/bin/env bash
# Onramp against an independent OpenID Connect relying party: panva's
# openid-client drives discovery, the code flow with PKCE, UserInfo, refresh
# rotation, revocation, introspection and RP-initiated logout, while headless
# Chromium with a virtual authenticator does the person's part (TAP sign-in,
# passkey enrollment, passkey sign-in).
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
# The shared harness checks each page with axe-core from ../browser/node_modules.
if [ ! -f ../browser/node_modules/axe-core/package.json ]; then
  (cd ../browser && npm ci --no-audit --no-fund)
fi
exec node --test rp.test.mjs
