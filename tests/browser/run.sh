#!/usr/bin/env bash
# Real-browser end-to-end tests with headless Chromium and virtual authenticators:
#   e2e.test.mjs     a user signs in with a Temporary Access Pass, enrolls a
#                    passkey, then signs in to a relying party with it;
#   portal.test.mjs  the bootstrap administrator signs in to the admin portal,
#                    creates a user and a pass; the user signs in, enrolls and
#                    deletes a passkey; the audit log shows it all; then, at
#                    390 px, a group is created, gets a member and is picked
#                    in the TAP policy;
#   newhire.test.mjs "all set" after a first passkey, local times, signing
#                    out, the lost phone, German pages (ui_locales and
#                    Accept-Language).
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
# One file at a time: each starts its own onramp and browser.
exec node --test --test-concurrency=1 e2e.test.mjs portal.test.mjs newhire.test.mjs
