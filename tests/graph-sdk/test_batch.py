"""JSON batching: POST /$batch in Graph's format, up to 20 requests,
`dependsOn`, each inner request authorized as if it were sent alone."""

from __future__ import annotations

from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

from contract import QUERY_CODES, assert_graph_error
from graph import show, tag
from test_tap import PASSCODE

JSON = {"Content-Type": "application/json"}


def batch(raw, requests: list[dict]):
    res = raw.post("/$batch", {"requests": requests})
    assert res.status_code == 200, show(res)
    body = res.json()
    responses = {r["id"]: r for r in body["responses"]}
    assert set(responses) == {r["id"] for r in requests}, body
    return responses


def inner_error(response: dict, status: int, codes, *mentions) -> None:
    assert response["status"] == status, response
    err = response["body"]["error"]
    assert err["code"] in ((codes,) if isinstance(codes, str) else codes), response
    for m in mentions:
        assert m in err["message"], response
    assert err["innerError"]["request-id"], response


async def test_sdk_batch_of_20_passes(graph, new_user):
    users = [new_user("batch") for _ in range(20)]
    items = {}
    for user in users:
        info = graph.users.by_user_id(user["id"]).authentication.temporary_access_pass_methods.to_post_request_information(
            TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60, is_usable_once=True)
        )
        item = BatchRequestItem(request_information=info)
        items[item.id] = item
    content = BatchRequestContent(items)
    answer = await graph.batch.post(batch_request_content=content)
    statuses = answer.get_response_status_codes()
    assert statuses == {i: 201 for i in items}, statuses
    for user in users:
        listed = await graph.users.by_user_id(user["id"]).authentication.temporary_access_pass_methods.get()
        assert len(listed.value) == 1 and listed.value[0].is_usable_once is True, user["userPrincipalName"]


async def test_raw_batch_of_20_passes_returns_each_passcode(raw, new_user):
    users = [new_user("rawbatch") for _ in range(20)]
    requests = [
        {
            "id": str(i + 1),
            "method": "POST",
            "url": f"/users/{u['id']}/authentication/temporaryAccessPassMethods",
            "headers": JSON,
            "body": {"lifetimeInMinutes": 60},
        }
        for i, u in enumerate(users)
    ]
    responses = batch(raw, requests)
    passcodes = set()
    for rid, r in responses.items():
        assert r["status"] == 201, r
        headers = {k.lower(): v for k, v in r.get("headers", {}).items()}
        assert headers.get("content-type", "").startswith("application/json"), r
        assert PASSCODE.match(r["body"]["temporaryAccessPass"]), r
        passcodes.add(r["body"]["temporaryAccessPass"])
    assert len(passcodes) == 20


async def test_absolute_urls_under_the_base_are_accepted(raw, api, new_user):
    """The Python SDK writes each item's url in full (base URL included)."""
    user = new_user()
    responses = batch(raw, [
        {"id": "1", "method": "GET", "url": f"{api}/users/{user['id']}"},
        {"id": "2", "method": "GET", "url": f"/users/{user['id']}"},
        {"id": "3", "method": "GET", "url": f"users/{user['id']}"},
    ])
    for rid in ("1", "2", "3"):
        assert responses[rid]["status"] == 200 and responses[rid]["body"]["id"] == user["id"], responses[rid]
    # Another host's URL is refused: the whole batch, or that request.
    res = raw.post("/$batch", {"requests": [
        {"id": "x", "method": "GET", "url": f"http://elsewhere.example/v1.0/users/{user['id']}"}
    ]})
    if res.status_code == 400:
        assert_graph_error(res, 400, "Request_BadRequest", "url")
    else:
        assert res.status_code == 200, show(res)
        inner_error(res.json()["responses"][0], 400, "Request_BadRequest", "url")


async def test_more_than_20_requests_is_400(raw):
    requests = [{"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(21)]
    assert_graph_error(raw.post("/$batch", {"requests": requests}), 400, "Request_BadRequest", "20")


async def test_duplicate_ids_and_bad_shapes_are_400(raw):
    dup = [{"id": "1", "method": "GET", "url": "/users?$top=1"}, {"id": "1", "method": "GET", "url": "/users?$top=1"}]
    assert_graph_error(raw.post("/$batch", {"requests": dup}), 400, "Request_BadRequest", "1")
    assert_graph_error(raw.post("/$batch", {"requests": [{"id": "1", "url": "/users"}]}), 400, "Request_BadRequest",
                       "method")
    assert_graph_error(raw.post("/$batch", {"reqs": []}), 400, "Request_BadRequest", "requests")
    missing_dep = [{"id": "1", "method": "GET", "url": "/users?$top=1", "dependsOn": ["9"]}]
    assert_graph_error(raw.post("/$batch", {"requests": missing_dep}), 400, "Request_BadRequest", "9")
    body_without_type = [{"id": "1", "method": "POST", "url": "/users", "body": {"displayName": "x"}}]
    assert_graph_error(raw.post("/$batch", {"requests": body_without_type}), 400, "Request_BadRequest",
                       "Content-Type")


async def test_depends_on_runs_in_order_and_a_failure_cascades(raw, api):
    t = tag()
    upn = f"chain.{t}@example.com"
    requests = [
        {"id": "3", "dependsOn": ["2"], "method": "GET", "url": f"/users/{upn}?$select=id,userPrincipalName"},
        {"id": "2", "dependsOn": ["1"], "method": "POST",
         "url": f"/users/{upn}/authentication/temporaryAccessPassMethods", "headers": JSON, "body": {}},
        {"id": "1", "method": "POST", "url": "/users", "headers": JSON,
         "body": {"accountEnabled": True, "displayName": f"Chain {t}", "mailNickname": f"chain{t}",
                  "userPrincipalName": upn}},
    ]
    responses = batch(raw, requests)
    assert responses["1"]["status"] == 201, responses["1"]
    assert responses["2"]["status"] == 201, responses["2"]
    assert responses["3"]["status"] == 200, responses["3"]
    assert responses["3"]["body"]["id"] == responses["1"]["body"]["id"]

    failing = [
        {"id": "a", "method": "GET", "url": "/users/00000000-0000-4000-8000-00000000dead"},
        {"id": "b", "dependsOn": ["a"], "method": "DELETE", "url": f"/users/{upn}"},
    ]
    responses = batch(raw, failing)
    inner_error(responses["a"], 404, "Request_ResourceNotFound")
    assert responses["b"]["status"] == 424, responses["b"]
    assert raw.get(f"/users/{upn}").status_code == 200, "the dependent DELETE did not run"


async def test_each_inner_request_is_authorized_alone(raw_reader, raw, new_user):
    user = new_user()
    requests = [
        {"id": "user", "method": "GET", "url": f"/users/{user['id']}"},
        {"id": "pass", "method": "POST", "url": f"/users/{user['id']}/authentication/temporaryAccessPassMethods",
         "headers": JSON, "body": {}},
        {"id": "audit", "method": "GET", "url": "/auditLogs/directoryAudits?$top=1"},
    ]
    responses = batch(raw_reader, requests)
    assert responses["user"]["status"] == 200 and responses["user"]["body"]["id"] == user["id"], responses["user"]
    inner_error(responses["pass"], 403, "Authorization_RequestDenied")
    inner_error(responses["audit"], 403, "Authorization_RequestDenied")
    listed = raw.get(f"/users/{user['id']}/authentication/temporaryAccessPassMethods")
    assert listed.json()["value"] == [], "the refused inner request created nothing"


async def test_inner_requests_follow_the_query_rules(raw):
    requests = [
        {"id": "1", "method": "GET", "url": "/users?$bogus=1"},
        {"id": "2", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}},
        {"id": "3", "method": "GET", "url": "/users/$count"},
        {"id": "4", "method": "PATCH", "url": "/groups", "headers": JSON, "body": {}},
    ]
    responses = batch(raw, requests)
    inner_error(responses["1"], 400, QUERY_CODES, "$bogus")
    assert responses["2"]["status"] == 200, responses["2"]
    inner_error(responses["3"], 400, "Request_BadRequest", "$count")
    assert responses["4"]["status"] in (400, 405), responses["4"]
    assert "error" in responses["4"]["body"], responses["4"]


async def test_batch_needs_a_token(raw_anonymous):
    res = raw_anonymous.post("/$batch", {"requests": [{"id": "1", "method": "GET", "url": "/users"}]})
    assert_graph_error(res, 401, "InvalidAuthenticationToken")
