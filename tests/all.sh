#!/usr/bin/env bash
# The full test suite: formatting, lints, unit and integration tests, the
# browser, relying-party and Graph SDK suites.
# Installs what the tests need when it is missing (Debian/Ubuntu, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! need apt-get; then
    echo "missing: $* (install it, then run again)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

need redis-server || apt_install redis-server
need cargo || { echo "missing: cargo (install Rust from rustup.rs)" >&2; exit 1; }

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# The onboarding mail test's SMTP server (aiosmtpd, pinned, in a virtualenv
# under the target folder): before `cargo test`, whose test fails without it.
need python3 || apt_install python3
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
tests/smtp/setup.sh >/dev/null
cargo test --locked

# The admin API against its own OpenAPI document (schemathesis, in a
# virtualenv under the target folder; Debian needs python3-venv for it).
need python3 || apt_install python3
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
cargo build --locked --bin onramp
ONRAMP_BIN="${CARGO_TARGET_DIR:-target}/debug/onramp" tests/schemathesis/run.sh

# Property tests (proptest) of the hand-written parsers, every test named
# prop_*: 100,000 cases each here, against the default 256 above. Built
# optimised (the `fuzz` profile: no LTO, many codegen units, so it builds
# quickly): on the 2-core machine the run takes about 1.5 minutes
# optimised and over 30 unoptimised.
PROPTEST_CASES=100000 cargo test --locked --profile fuzz --lib -- prop_

# Real-browser end-to-end test: headless Chromium, Node.js and npm.
[ -x /usr/bin/chromium ] || apt_install chromium
need npm || apt_install nodejs npm
ONRAMP_BIN="${CARGO_TARGET_DIR:-target}/debug/onramp" tests/browser/run.sh
# The same flows through an independent relying-party library (openid-client).
ONRAMP_BIN="${CARGO_TARGET_DIR:-target}/debug/onramp" tests/rp-node/run.sh
# The admin API as Microsoft Graph: Microsoft's Graph SDK for Python, on both
# stores (python3-venv is installed by the script when missing).
ONRAMP_BIN="${CARGO_TARGET_DIR:-target}/debug/onramp" tests/graph-sdk/run.sh
