"""The audit log as Graph's /auditLogs/directoryAudits, read with the SDK and
narrowed with $filter (any() on targetResources, ge/le on activityDateTime,
initiatedBy, correlationId, activityDisplayName)."""

from __future__ import annotations

import datetime as dt

import pytest
from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
    DirectoryAuditsRequestBuilder,
)
from msgraph.generated.models.directory_audit import DirectoryAudit
from msgraph.generated.models.operation_result import OperationResult
from msgraph_core.tasks.page_iterator import PageIterator

from contract import assert_sdk_error, odata_time
from graph import config, show, tag
from harness import ADMIN_CLIENT

Q = DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters


async def audits(graph, filter: str | None = None, **kw) -> list[DirectoryAudit]:
    page = await graph.audit_logs.directory_audits.get(config(Q(filter=filter, **kw)))
    items: list[DirectoryAudit] = []

    def keep(item) -> bool:
        items.append(item)
        return True

    await PageIterator(page, graph.request_adapter).iterate(keep)
    return items


def targets(event: DirectoryAudit) -> set[str]:
    return {t.id for t in event.target_resources or []}


@pytest.fixture
def provisioned(raw):
    """A user created and given a pass by the admin client, with the
    request-ids of both calls and the time around them."""
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(seconds=1)
    t = tag()
    res = raw.post("/users", {"accountEnabled": True, "displayName": f"Audited {t}", "mailNickname": f"au{t}",
                              "userPrincipalName": f"au.{t}@example.com"})
    assert res.status_code == 201, show(res)
    user = res.json()
    created_request = res.headers.get("request-id")
    res = raw.post(f"/users/{user['id']}/authentication/temporaryAccessPassMethods", {"lifetimeInMinutes": 60})
    assert res.status_code == 201, show(res)
    tap_request = res.headers.get("request-id")
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=2)
    return {"user": user, "start": start, "end": end, "requests": [created_request, tap_request]}


async def test_directory_audits_are_graph_shaped(graph, raw, provisioned):
    user = provisioned["user"]
    events = await audits(graph, f"targetResources/any(t: t/id eq '{user['id']}')")
    assert len(events) >= 2, f"user creation and the pass: {[e.activity_display_name for e in events]}"
    for e in events:
        assert user["id"] in targets(e), "every event of the filter targets the user"
        assert e.id
        assert e.activity_date_time is not None
        assert provisioned["start"] <= e.activity_date_time <= provisioned["end"], e.activity_date_time
        assert e.activity_display_name
        assert e.category
        assert e.logged_by_service
        assert e.result == OperationResult.Success
        assert e.initiated_by is not None and e.initiated_by.app is not None, "a client's call is initiated by an app"
        assert e.initiated_by.app.app_id == ADMIN_CLIENT
        assert e.initiated_by.user is None
        assert isinstance(e.additional_details, list)
        target = next(t for t in e.target_resources if t.id == user["id"])
        assert target.type == "User", target.type
        assert target.user_principal_name == user["userPrincipalName"]
    assert {e.correlation_id for e in events} >= set(provisioned["requests"]), (
        "correlationId is the request-id of the call that made the change"
    )

    res = raw.get("/auditLogs/directoryAudits", params={"$filter": f"targetResources/any(t: t/id eq '{user['id']}')"})
    assert res.status_code == 200, show(res)
    body = res.json()
    assert "@odata.context" in body
    for item in body["value"]:
        for key in ("id", "activityDateTime", "activityDisplayName", "category", "correlationId", "initiatedBy",
                    "targetResources", "result", "resultReason", "loggedByService", "additionalDetails"):
            assert key in item, f"{key} missing: {item}"


async def test_filter_by_activity_date_time_range(graph, provisioned):
    window = (f"activityDateTime ge {odata_time(provisioned['start'])} and "
              f"activityDateTime le {odata_time(provisioned['end'])}")
    events = await audits(graph, window)
    mine = [e for e in events if provisioned["user"]["id"] in targets(e)]
    assert len(mine) >= 2
    for e in events:
        assert provisioned["start"] <= e.activity_date_time <= provisioned["end"]
    later = await audits(graph, f"activityDateTime ge {odata_time(provisioned['end'] + dt.timedelta(hours=1))}")
    assert later == []


async def test_filter_by_correlation_id_initiator_and_activity(graph, provisioned):
    user = provisioned["user"]
    tap_request = provisioned["requests"][1]
    events = await audits(graph, f"correlationId eq '{tap_request}'")
    assert len(events) >= 1 and all(e.correlation_id == tap_request for e in events)
    activity = events[0].activity_display_name

    same_activity = await audits(
        graph, f"activityDisplayName eq '{activity}' and targetResources/any(t: t/id eq '{user['id']}')"
    )
    assert [e.id for e in same_activity] == [e.id for e in events if e.activity_display_name == activity]

    by_app = await audits(
        graph, f"initiatedBy/app/appId eq '{ADMIN_CLIENT}' and targetResources/any(t: t/id eq '{user['id']}')"
    )
    assert len(by_app) >= 2 and all(e.initiated_by.app.app_id == ADMIN_CLIENT for e in by_app)
    nobody = await audits(graph, f"initiatedBy/app/appId eq 'no-such-app' and targetResources/any(t: t/id eq '{user['id']}')")
    assert nobody == []


async def test_orderby_and_top(graph, api, provisioned):
    user = provisioned["user"]
    q = Q(filter=f"targetResources/any(t: t/id eq '{user['id']}')", orderby=["activityDateTime asc"], top=1)
    first = await graph.audit_logs.directory_audits.get(config(q))
    assert len(first.value) == 1
    assert first.odata_next_link and first.odata_next_link.startswith(f"{api}/auditLogs/directoryAudits")
    events = await audits(graph, f"targetResources/any(t: t/id eq '{user['id']}')", orderby=["activityDateTime asc"],
                          top=1)
    times = [e.activity_date_time for e in events]
    assert times == sorted(times) and len(times) >= 2
    newest_first = await audits(graph, f"targetResources/any(t: t/id eq '{user['id']}')",
                                orderby=["activityDateTime desc"])
    assert [e.activity_date_time for e in newest_first] == sorted(times, reverse=True)
    assert {e.id for e in newest_first} == {e.id for e in events}


async def test_group_membership_is_audited(graph, raw, api, new_user):
    user = new_user()
    t = tag()
    res = raw.post("/groups", {"displayName": f"Audited {t}", "mailEnabled": False, "mailNickname": f"ag{t}",
                               "securityEnabled": True})
    assert res.status_code == 201, show(res)
    gid = res.json()["id"]
    res = raw.post(f"/groups/{gid}/members/$ref", {"@odata.id": f"{api}/directoryObjects/{user['id']}"})
    assert res.status_code == 204, show(res)
    events = await audits(graph, f"targetResources/any(t: t/id eq '{gid}') and targetResources/any(t: t/id eq '{user['id']}')")
    assert len(events) == 1, [e.activity_display_name for e in events]
    kinds = {t.id: t.type for t in events[0].target_resources}
    assert kinds == {gid: "Group", user["id"]: "User"}


async def test_directory_audits_need_audit_permission(graph_reader):
    with pytest.raises(Exception) as caught:
        await graph_reader.audit_logs.directory_audits.get()
    assert_sdk_error(caught.value, 403, "Authorization_RequestDenied")


async def test_get_one_directory_audit(graph, provisioned):
    events = await audits(graph, f"targetResources/any(t: t/id eq '{provisioned['user']['id']}')")
    one = await graph.audit_logs.directory_audits.by_directory_audit_id(events[0].id).get()
    assert one.id == events[0].id and one.activity_display_name == events[0].activity_display_name
    with pytest.raises(Exception) as caught:
        await graph.audit_logs.directory_audits.by_directory_audit_id("no-such-event").get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")
