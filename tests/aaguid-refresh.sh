#!/usr/bin/env bash
# Refreshes static/aaguid.json, the authenticator models Onramp names
# passkeys by (portal and security info page), from the community list
# https://github.com/passkeydeveloper/passkey-authenticator-aaguids
# (combined_aaguid.json: the community entries plus FIDO MDS). Only the
# names are kept (no icons). Run by hand, then review and commit the diff;
# CI never downloads it. Usage: tests/aaguid-refresh.sh [url]
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-https://raw.githubusercontent.com/passkeydeveloper/passkey-authenticator-aaguids/main/combined_aaguid.json}"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
curl -fsSL --max-time 60 "$url" -o "$tmp"
python3 - "$tmp" static/aaguid.json <<'PY'
import json, re, sys
source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as f:
    data = json.load(f)
# The list says it will be retired by emptying it: keep what we have then.
if not isinstance(data, dict) or not data:
    sys.exit("the downloaded list is empty or not an object; static/aaguid.json left as it is")
uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
names = {}
for aaguid, entry in data.items():
    aaguid = aaguid.lower()
    name = (entry or {}).get("name", "").strip() if isinstance(entry, dict) else ""
    if uuid.match(aaguid) and name:
        names[aaguid] = {"name": name}
with open(target, "w", encoding="utf-8") as f:
    json.dump(dict(sorted(names.items())), f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"{len(names)} authenticator models written to {target}")
PY
