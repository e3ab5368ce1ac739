"""After a real passkey enrollment (TAP sign-in, then WebAuthn registration
with a software authenticator over the pages' own HTTP calls), the SDK sees
the passkey in `methods` and `fido2Methods` as Graph's fido2AuthenticationMethod."""

from __future__ import annotations

import datetime as dt

import pytest
from msgraph.generated.models.fido2_authentication_method import Fido2AuthenticationMethod
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)

from browser import TEST_AAGUID, enroll_passkey
from contract import assert_graph_error, assert_sdk_error, odata_type
from graph import show

FIDO2_TYPE = "#microsoft.graph.fido2AuthenticationMethod"
TAP_TYPE = "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
FIDO2_FIELDS = ("id", "displayName", "createdDateTime", "aaGuid", "model", "attestationLevel", "attestationCertificates")


@pytest.fixture
async def enrolled(graph, onramp, new_user):
    """A user who signed in with a TAP and registered a passkey."""
    user = new_user("enrolled")
    tap = await graph.users.by_user_id(user["id"]).authentication.temporary_access_pass_methods.post(
        TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60)
    )
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    enroll_passkey(onramp.base, user["userPrincipalName"], tap.temporary_access_pass)
    return {"user": user, "tap": tap, "before": before}


async def test_fido2_methods_after_enrollment(graph, raw, enrolled):
    user = enrolled["user"]
    page = await graph.users.by_user_id(user["id"]).authentication.fido2_methods.get()
    assert len(page.value) == 1, page.value
    key = page.value[0]
    assert isinstance(key, Fido2AuthenticationMethod)
    assert key.id
    assert key.display_name == "Passkey 1"
    assert key.aa_guid == TEST_AAGUID
    assert key.attestation_level is not None and key.attestation_level.value == "notAttested", key.attestation_level
    assert key.attestation_certificates == []
    assert key.created_date_time and key.created_date_time >= enrolled["before"]

    got = await graph.users.by_user_id(user["id"]).authentication.fido2_methods.by_fido2_authentication_method_id(
        key.id
    ).get()
    assert got.id == key.id and got.aa_guid == TEST_AAGUID

    res = raw.get(f"/users/{user['id']}/authentication/fido2Methods")
    assert res.status_code == 200, show(res)
    assert "@odata.context" in res.json()
    for item in res.json()["value"]:
        odata_type(item, FIDO2_TYPE)
        for field in FIDO2_FIELDS:
            assert field in item, f"{field} missing (null when unknown): {item}"


async def test_methods_lists_every_method_with_its_type(graph, raw, enrolled):
    user = enrolled["user"]
    page = await graph.users.by_user_id(user["userPrincipalName"]).authentication.methods.get()
    by_type = {type(m).__name__: m for m in page.value}
    assert set(by_type) == {"Fido2AuthenticationMethod", "TemporaryAccessPassAuthenticationMethod"}, (
        f"the SDK picks each method's class from its @odata.type: {[type(m).__name__ for m in page.value]}"
    )
    assert by_type["TemporaryAccessPassAuthenticationMethod"].id == enrolled["tap"].id
    assert by_type["Fido2AuthenticationMethod"].aa_guid == TEST_AAGUID

    res = raw.get(f"/users/{user['id']}/authentication/methods")
    assert res.status_code == 200, show(res)
    types = sorted(item.get("@odata.type") for item in res.json()["value"])
    assert types == sorted([FIDO2_TYPE, TAP_TYPE]), res.json()

    # Filtering by type: Graph's derived-type cast is not needed, $filter on
    # the one property all methods share is.
    key_id = by_type["Fido2AuthenticationMethod"].id
    res = raw.get(f"/users/{user['id']}/authentication/methods", params={"$filter": f"id eq '{key_id}'"})
    assert res.status_code == 200, show(res)
    assert [m["id"] for m in res.json()["value"]] == [key_id]


async def test_delete_a_fido2_method(graph, enrolled):
    user = enrolled["user"]
    methods = graph.users.by_user_id(user["id"]).authentication.fido2_methods
    key = (await methods.get()).value[0]
    await methods.by_fido2_authentication_method_id(key.id).delete()
    assert (await methods.get()).value == []
    with pytest.raises(Exception) as caught:
        await methods.by_fido2_authentication_method_id(key.id).get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")


async def test_a_user_without_methods(graph, raw, new_user):
    user = new_user()
    assert (await graph.users.by_user_id(user["id"]).authentication.methods.get()).value == []
    assert (await graph.users.by_user_id(user["id"]).authentication.fido2_methods.get()).value == []
    res = raw.get(f"/users/{user['id']}/authentication/fido2Methods/AAAA")
    assert_graph_error(res, 404, "Request_ResourceNotFound")
