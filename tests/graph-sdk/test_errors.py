"""Graph's error envelope on all of /api/v1, and what the SDK makes of it.

{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}, a `request-id` header on every answer, the caller's
`client-request-id` echoed; the SDK raises ODataError whose `.error.code` and
`.error.message` are ours.
"""

from __future__ import annotations

import uuid

import pytest
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph.generated.models.user import User

from contract import assert_graph_error, assert_sdk_error
from graph import show, tag


async def test_every_answer_carries_a_request_id_and_echoes_client_request_id(raw, new_user):
    user = new_user()
    client_request_id = str(uuid.uuid4())
    for method, path, body in [
        ("GET", "/users", None),
        ("GET", f"/users/{user['id']}", None),
        ("PATCH", f"/users/{user['id']}", {"displayName": "Renamed " + tag()}),
        ("GET", f"/users/{uuid.uuid4()}", None),
    ]:
        res = raw.request(method, path, json=body, headers={"client-request-id": client_request_id})
        assert res.headers.get("request-id"), f"no request-id header: {show(res)}"
        assert res.headers.get("client-request-id") == client_request_id, (
            f"client-request-id not echoed: {dict(res.headers)}"
        )
    one = raw.get("/users").headers.get("request-id")
    two = raw.get("/users").headers.get("request-id")
    assert one != two, "each request has its own request-id"


async def test_401_without_a_token(raw_anonymous):
    res = raw_anonymous.get("/users", headers={"client-request-id": str(uuid.uuid4())})
    assert_graph_error(res, 401, "InvalidAuthenticationToken")
    assert res.headers.get("www-authenticate", "").startswith("Bearer"), dict(res.headers)


async def test_401_with_a_bad_token(raw_anonymous):
    res = raw_anonymous.get("/users", headers={"Authorization": "Bearer not-a-jwt"})
    assert_graph_error(res, 401, "InvalidAuthenticationToken")


async def test_404_unknown_user_raw_and_sdk(raw, graph):
    missing = str(uuid.uuid4())
    res = raw.get(f"/users/{missing}", headers={"client-request-id": str(uuid.uuid4())})
    err = assert_graph_error(res, 404, "Request_ResourceNotFound", missing)
    with pytest.raises(Exception) as caught:
        await graph.users.by_user_id(missing).get()
    e = assert_sdk_error(caught.value, 404, "Request_ResourceNotFound", missing)
    assert e.error.message == err["message"], "the SDK carries our message"


async def test_404_unknown_upn(graph):
    upn = f"nobody.{tag()}@example.com"
    with pytest.raises(Exception) as caught:
        await graph.users.by_user_id(upn).get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound", upn)


async def test_404_unknown_route_has_the_envelope(raw):
    res = raw.get("/noSuchResource")
    assert res.status_code in (400, 404), show(res)
    assert_graph_error(res, res.status_code, ("Request_ResourceNotFound", "Request_BadRequest"), "noSuchResource")


async def test_403_missing_permission_raw_and_sdk(raw_reader, graph_reader, new_user):
    user = new_user()
    path = f"/users/{user['id']}/authentication/temporaryAccessPassMethods"
    res = raw_reader.post(path, {})
    err = assert_graph_error(res, 403, "Authorization_RequestDenied")
    with pytest.raises(Exception) as caught:
        await graph_reader.users.by_user_id(user["id"]).authentication.temporary_access_pass_methods.post(
            TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60)
        )
    e = assert_sdk_error(caught.value, 403, "Authorization_RequestDenied")
    assert e.error.message == err["message"]


async def test_403_an_application_never_issues_a_pass_for_an_administrator(graph, bootstrap_admin):
    with pytest.raises(Exception) as caught:
        await graph.users.by_user_id(bootstrap_admin["id"]).authentication.temporary_access_pass_methods.post(
            TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60)
        )
    assert_sdk_error(caught.value, 403, "Authorization_RequestDenied")


async def test_409_duplicate_upn_raw_and_sdk(raw, graph, new_user):
    # Onramp answers a taken UPN with 409 Conflict (Entra ID itself answers
    # 400 Request_BadRequest "Another object with the same value for property
    # userPrincipalName already exists."): the message says the same.
    user = new_user()
    body = {
        "accountEnabled": True,
        "displayName": "Someone else",
        "mailNickname": "someone" + tag(),
        "userPrincipalName": user["userPrincipalName"].upper(),
    }
    res = raw.post("/users", body)
    err = assert_graph_error(res, 409, "Conflict", "userPrincipalName")
    assert "already exists" in err["message"], err
    with pytest.raises(Exception) as caught:
        await graph.users.post(
            User(
                account_enabled=True,
                display_name="Someone else",
                mail_nickname="someone" + tag(),
                user_principal_name=user["userPrincipalName"],
            )
        )
    e = assert_sdk_error(caught.value, 409, "Conflict", "userPrincipalName")
    assert e.error.message == err["message"]


async def test_400_unknown_property_raw_and_sdk(raw, graph):
    body = {
        "accountEnabled": True,
        "displayName": "Colourful",
        "mailNickname": "c" + tag(),
        "userPrincipalName": f"c.{tag()}@example.com",
        "favouriteColour": "teal",
    }
    res = raw.post("/users", body)
    err = assert_graph_error(res, 400, "Request_BadRequest", "favouriteColour")
    body["userPrincipalName"] = f"c.{tag()}@example.com"
    with pytest.raises(Exception) as caught:
        await graph.users.post(
            User(
                account_enabled=True,
                display_name="Colourful",
                mail_nickname="c" + tag(),
                user_principal_name=body["userPrincipalName"],
                additional_data={"favouriteColour": "teal"},
            )
        )
    e = assert_sdk_error(caught.value, 400, "Request_BadRequest", "favouriteColour")
    assert e.error.message == err["message"], "the SDK carries our message"
    # Neither attempt created a user.
    found = raw.get("/users", params={"$filter": f"userPrincipalName eq '{body['userPrincipalName']}'"})
    assert found.status_code == 200 and found.json()["value"] == [], show(found)


async def test_400_body_that_is_not_json(raw):
    res = raw.request("POST", "/users", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_graph_error(res, 400, "Request_BadRequest")


async def test_400_missing_required_property(raw):
    res = raw.post("/users", {"accountEnabled": True, "mailNickname": "x", "userPrincipalName": f"x.{tag()}@example.com"})
    assert_graph_error(res, 400, "Request_BadRequest", "displayName")
