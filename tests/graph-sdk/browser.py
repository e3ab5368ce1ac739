"""The person's part over plain HTTP: the sign-in pages (form posts with the
double-submit CSRF cookie) and a software passkey authenticator for the
WebAuthn registration, making the same calls as static/js/webauthn.js.

The authenticator is built from python-fido2's WebAuthn structures: an ES256
key per credential, `none` attestation, user presence and user verification,
a discoverable (resident) credential as Onramp requires, and a fixed AAGUID
so that the admin API's `aaGuid` can be checked.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import uuid

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

# The model this software authenticator claims to be (a random, unregistered AAGUID).
TEST_AAGUID = "6f1c2b7e-3a4d-4e5f-9a8b-7c6d5e4f3a2b"


class SoftAuthenticator:
    def __init__(self, aaguid: str = TEST_AAGUID):
        self.aaguid = aaguid
        self.credentials: list[dict] = []

    def register(self, origin: str, options: dict) -> dict:
        """navigator.credentials.create(): the registration response as the
        page's script sends it (base64url binary fields)."""
        pk = options["publicKey"]
        selection = pk.get("authenticatorSelection") or {}
        assert selection.get("residentKey") == "required", f"Onramp asks for a resident key: {selection}"
        assert selection.get("userVerification") == "required", f"Onramp asks for user verification: {selection}"
        assert any(p.get("alg") == -7 for p in pk["pubKeyCredParams"]), "ES256 is offered"
        excluded = {c["id"] for c in pk.get("excludeCredentials") or []}
        key = ec.generate_private_key(ec.SECP256R1())
        cred_id = os.urandom(32)
        assert websafe_encode(cred_id) not in excluded
        rp_id = pk["rp"]["id"]
        attested = AttestedCredentialData.create(
            Aaguid(uuid.UUID(self.aaguid).bytes), cred_id, ES256.from_cryptography_key(key.public_key())
        )
        flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.AT
        auth_data = AuthenticatorData.create(hashlib.sha256(rp_id.encode()).digest(), flags, 0, attested)
        attestation = AttestationObject.create("none", auth_data, {})
        client_data = CollectedClientData.create("webauthn.create", pk["challenge"], origin)
        self.credentials.append(
            {"id": cred_id, "key": key, "rp_id": rp_id, "user_handle": websafe_decode(pk["user"]["id"])}
        )
        return {
            "id": websafe_encode(cred_id),
            "rawId": websafe_encode(cred_id),
            "type": "public-key",
            "response": {
                "attestationObject": websafe_encode(attestation),
                "clientDataJSON": websafe_encode(client_data),
                "transports": ["internal"],
            },
            "extensions": {"credProps": {"rk": True}},
        }


class Page:
    def __init__(self, res: httpx.Response):
        self.res = res
        self.status = res.status_code
        self.body = res.text

    def field(self, name: str) -> str:
        m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', self.body)
        assert m, f"no field {name} on the page ({self.status}):\n{self.body[:3000]}"
        return html.unescape(m.group(1))

    def meta_csrf(self) -> str:
        m = re.search(r'name="csrf-token" content="([^"]*)"', self.body)
        assert m, f"no csrf-token meta on the page ({self.status}):\n{self.body[:3000]}"
        return html.unescape(m.group(1))


class Browser:
    """Cookies, forms and the WebAuthn JSON calls of the sign-in pages."""

    def __init__(self, base: str, authenticator: SoftAuthenticator | None = None):
        self.base = base
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        self.authenticator = authenticator or SoftAuthenticator()

    def close(self) -> None:
        self.http.close()

    def get(self, url: str) -> Page:
        return Page(self.http.get(url))

    def follow(self, page: Page) -> Page:
        for _ in range(10):
            loc = page.res.headers.get("location")
            if page.status not in (301, 302, 303, 307, 308) or not loc:
                return page
            if loc.startswith(self.base):
                loc = loc[len(self.base):]
            if not loc.startswith("/"):
                return page
            page = self.get(loc)
        return page

    def sign_in_with_tap(self, upn: str, passcode: str) -> Page:
        """User name page, then the TAP page; returns where the TAP led."""
        start = self.get(f"/signin?login_hint={upn}")
        assert start.status == 200, f"the sign-in page: {start.status} {start.body[:2000]}"
        csrf, r = start.field("csrf"), start.field("r")
        tap_page = Page(self.http.post("/signin", data={"csrf": csrf, "r": r, "username": upn}))
        assert tap_page.status == 200, tap_page.body[:2000]
        assert 'autocomplete="one-time-code"' in tap_page.body, "the TAP page follows the user name"
        res = Page(
            self.http.post("/signin/tap", data={"csrf": csrf, "r": r, "username": upn, "passcode": passcode})
        )
        return res

    def enroll(self, enroll_page: Page) -> tuple[int, dict]:
        """On the enrollment page: registers a passkey. Returns the status and
        JSON of /enroll/finish."""
        csrf = enroll_page.meta_csrf()
        r = enroll_page.field("r")
        headers = {"X-CSRF-Token": csrf}
        res = self.http.post("/enroll/options", json={"r": r}, headers=headers)
        assert res.status_code == 200, f"/enroll/options {res.status_code}: {res.text}"
        started = res.json()
        credential = self.authenticator.register(self.base, started["options"])
        done = self.http.post(
            "/enroll/finish",
            json={"r": r, "ceremony": started["ceremony"], "credential": credential},
            headers=headers,
        )
        try:
            body = done.json()
        except ValueError:
            body = {"text": done.text}
        return done.status_code, body


def enroll_passkey(base: str, upn: str, passcode: str, authenticator: SoftAuthenticator | None = None) -> None:
    """A new hire's first day: TAP sign-in, then a passkey. Fails the test
    if any step fails."""
    browser = Browser(base, authenticator)
    try:
        after_tap = browser.sign_in_with_tap(upn, passcode)
        assert after_tap.status == 303, f"TAP sign-in: {after_tap.status} {after_tap.body[:2000]}"
        enroll_page = browser.follow(after_tap)
        assert enroll_page.status == 200 and "enroll-form" in enroll_page.body, (
            f"the enrollment page follows a TAP sign-in: {enroll_page.status} {enroll_page.body[:2000]}"
        )
        status, body = browser.enroll(enroll_page)
        assert status == 200, f"/enroll/finish {status}: {body}"
    finally:
        browser.close()


def try_enroll_passkey(base: str, upn: str, passcode: str, authenticator: SoftAuthenticator) -> tuple[int, dict]:
    """Like enroll_passkey, but returns /enroll/finish's answer."""
    browser = Browser(base, authenticator)
    try:
        after_tap = browser.sign_in_with_tap(upn, passcode)
        assert after_tap.status == 303, f"TAP sign-in: {after_tap.status} {after_tap.body[:2000]}"
        return browser.enroll(browser.follow(after_tap))
    finally:
        browser.close()
