"""Temporary Access Passes through the SDK: create, list, get, delete, and
"a second create replaces the first", as Graph documents them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)

from browser import Browser
from contract import assert_graph_error, assert_sdk_error, odata_type
from graph import show

TAP_TYPE = "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
PASSCODE = re.compile(r"^[A-HJKMNP-Z2-9]{8,48}$")  # no 0/O, 1/I/L


def taps(graph, user_id: str):
    return graph.users.by_user_id(user_id).authentication.temporary_access_pass_methods


def signs_in(base: str, upn: str, passcode: str) -> bool:
    browser = Browser(base)
    try:
        return browser.sign_in_with_tap(upn, passcode).status == 303
    finally:
        browser.close()


async def test_create_list_get_delete(graph, raw, onramp, new_user):
    user = new_user()
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    created = await taps(graph, user["id"]).post(
        TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60, is_usable_once=False)
    )
    assert created.id
    assert created.temporary_access_pass and PASSCODE.match(created.temporary_access_pass), created.temporary_access_pass
    assert created.lifetime_in_minutes == 60
    assert created.is_usable_once is False
    assert created.is_usable is True
    assert created.method_usability_reason == "EnabledByPolicy"
    assert created.created_date_time and created.created_date_time >= before
    assert created.start_date_time and created.start_date_time >= before

    listed = await taps(graph, user["id"]).get()
    assert [t.id for t in listed.value] == [created.id]
    assert listed.value[0].temporary_access_pass is None, "the passcode is shown only once"
    got = await taps(graph, user["id"]).by_temporary_access_pass_authentication_method_id(created.id).get()
    assert got.id == created.id and got.temporary_access_pass is None
    assert got.lifetime_in_minutes == 60 and got.is_usable is True

    res = raw.get(f"/users/{user['id']}/authentication/temporaryAccessPassMethods")
    assert res.status_code == 200, show(res)
    assert "@odata.context" in res.json()
    for item in res.json()["value"]:
        odata_type(item, TAP_TYPE)
    assert signs_in(onramp.base, user["userPrincipalName"], created.temporary_access_pass)

    await taps(graph, user["id"]).by_temporary_access_pass_authentication_method_id(created.id).delete()
    assert (await taps(graph, user["id"]).get()).value == []
    with pytest.raises(Exception) as caught:
        await taps(graph, user["id"]).by_temporary_access_pass_authentication_method_id(created.id).get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")


async def test_create_response_is_graph_shaped(raw, new_user):
    user = new_user()
    res = raw.post(
        f"/users/{user['id']}/authentication/temporaryAccessPassMethods",
        {"@odata.type": TAP_TYPE, "lifetimeInMinutes": 60, "isUsableOnce": True},
    )
    assert res.status_code == 201, show(res)
    body = res.json()
    odata_type(body, TAP_TYPE)
    assert "@odata.context" in body, body
    for key in ("id", "temporaryAccessPass", "createdDateTime", "startDateTime", "lifetimeInMinutes",
                "isUsableOnce", "isUsable", "methodUsabilityReason"):
        assert key in body, f"{key} missing: {body}"
    assert body["isUsableOnce"] is True


async def test_a_second_create_replaces_the_first(graph, onramp, new_user):
    user = new_user()
    first = await taps(graph, user["id"]).post(TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60))
    second = await taps(graph, user["id"]).post(TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=120))
    assert second.id != first.id
    assert second.temporary_access_pass != first.temporary_access_pass
    listed = await taps(graph, user["id"]).get()
    assert [t.id for t in listed.value] == [second.id], "one pass per user"
    assert listed.value[0].lifetime_in_minutes == 120
    with pytest.raises(Exception) as caught:
        await taps(graph, user["id"]).by_temporary_access_pass_authentication_method_id(first.id).get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")
    assert not signs_in(onramp.base, user["userPrincipalName"], first.temporary_access_pass), "the old pass is gone"
    assert signs_in(onramp.base, user["userPrincipalName"], second.temporary_access_pass)


async def test_create_by_upn_with_a_later_start(graph, new_user):
    user = new_user()
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).replace(microsecond=0)
    created = await taps(graph, user["userPrincipalName"]).post(
        TemporaryAccessPassAuthenticationMethod(start_date_time=start, lifetime_in_minutes=60, is_usable_once=True)
    )
    assert created.start_date_time == start
    assert created.is_usable is False
    assert created.method_usability_reason == "NotYetValid"
    listed = await taps(graph, user["id"]).get()
    assert [t.id for t in listed.value] == [created.id]


async def test_lifetime_outside_the_policy_is_400_naming_it(graph, new_user):
    user = new_user()
    with pytest.raises(Exception) as caught:
        await taps(graph, user["id"]).post(TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=5))
    assert_sdk_error(caught.value, 400, "Request_BadRequest", "lifetimeInMinutes")
    assert (await taps(graph, user["id"]).get()).value == [], "a refused create leaves no pass"


@pytest.mark.parametrize(
    "body,mention",
    [
        ({"lifetimeInMinutes": 60, "color": "red"}, "color"),
        ({"@odata.type": "#microsoft.graph.fido2AuthenticationMethod"}, "@odata.type"),
        ({"lifetimeInMinutes": "sixty"}, "lifetimeInMinutes"),
        ({"startDateTime": "tomorrow"}, "startDateTime"),
        ({"temporaryAccessPass": "CHOSEN12"}, "temporaryAccessPass"),
    ],
)
async def test_bad_create_body_is_400_naming_the_property(raw, new_user, body, mention):
    user = new_user()
    res = raw.post(f"/users/{user['id']}/authentication/temporaryAccessPassMethods", body)
    assert_graph_error(res, 400, "Request_BadRequest", mention)


async def test_create_for_a_missing_user_is_404(graph):
    missing = "00000000-0000-4000-8000-00000000abcd"
    with pytest.raises(Exception) as caught:
        await taps(graph, missing).post(TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60))
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound", missing)
