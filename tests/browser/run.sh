#!/usr/bin/env bash
# Real-browser end-to-end tests with headless Chromium and virtual authenticators:
#   e2e.test.mjs     a user signs in with a Temporary Access Pass, enrolls a
#                    passkey, then signs in to a relying party with it;
#   portal.test.mjs  the bootstrap administrator signs in to the admin portal,
#                    creates a user and a pass; the user signs in, enrolls and
#                    deletes a passkey; the audit log shows it all; then, at
#                    390 px, a group is created, gets a member and is picked
#                    in the TAP policy, a relying party is registered, and the
#                    onboarding policy page shows refused values beside their
#                    fields;
#   a11y.test.mjs    the accessibility check every page state of these gets
#                    (harness.mjs: axe-core, 1280 and 390 px, light and dark,
#                    overflow at 390 px) finds what pages made to fail it hold,
#                    and fails a file (fixtures/a11y-fails.mjs) over them;
#   portalux.test.mjs  a deep link survives the portal's sign-in; the audit
#                    log filters by user name; a form error shows beside its
#                    field; a new pass prints as the new hire's handout;
#   webhooks.test.mjs  a subscription receives tap.used, passkey.registered
#                    and onboarding.completed from a TAP sign-in and passkey
#                    enrollment, once each, checked with `standardwebhooks`;
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
# Again when package-lock.json is newer than the install (npm's copy in node_modules).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# One file at a time: each starts its own onramp and browser.
exec node --test --test-concurrency=1 a11y.test.mjs e2e.test.mjs portal.test.mjs portalux.test.mjs webhooks.test.mjs newhire.test.mjs
