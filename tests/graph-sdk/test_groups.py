"""Security groups through the SDK: create, get, list, patch, delete, and
members by reference (`members/$ref`), `members`, `memberOf`."""

from __future__ import annotations

import pytest
from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.models.group import Group
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User

from contract import assert_graph_error, assert_sdk_error, odata_type
from graph import config, show, tag


def security_group(t: str, **extra) -> Group:
    """Graph's documented body for a security group."""
    return Group(
        display_name=f"Onboarding {t}",
        description="New hires of the month",
        mail_enabled=False,
        mail_nickname=f"onboarding{t}",
        security_enabled=True,
        **extra,
    )


async def test_create_get_list_patch_delete(graph, raw, api):
    t = tag()
    created = await graph.groups.post(security_group(t))
    assert created.id
    assert created.display_name == f"Onboarding {t}"
    assert created.security_enabled is True and created.mail_enabled is False
    assert created.mail_nickname == f"onboarding{t}"
    assert created.description == "New hires of the month"
    assert created.created_date_time is not None
    assert created.group_types == []

    got = await graph.groups.by_group_id(created.id).get()
    assert got.id == created.id and got.display_name == f"Onboarding {t}"
    res = raw.get(f"/groups/{created.id}")
    assert res.status_code == 200, show(res)
    assert res.json()["@odata.context"] == f"{api}/$metadata#groups/$entity", res.json()

    page = await graph.groups.get(
        config(GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(filter=f"displayName eq 'Onboarding {t}'"))
    )
    assert [g.id for g in page.value] == [created.id]
    page = await graph.groups.get(
        config(GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(filter=f"startsWith(displayName,'Onboarding {t}')",
                                                                           select=["id", "displayName"]))
    )
    assert [g.id for g in page.value] == [created.id]
    assert page.value[0].description is None, "not selected"

    await graph.groups.by_group_id(created.id).patch(Group(description="Changed", display_name=f"Onboarding {t} (B)"))
    got = await graph.groups.by_group_id(created.id).get()
    assert got.description == "Changed" and got.display_name == f"Onboarding {t} (B)"
    assert got.mail_nickname == f"onboarding{t}", "fields not sent stay"

    await graph.groups.by_group_id(created.id).delete()
    with pytest.raises(Exception) as caught:
        await graph.groups.by_group_id(created.id).get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound", created.id)


@pytest.mark.parametrize(
    "overrides,mention",
    [
        (dict(mail_enabled=True), "mailEnabled"),
        (dict(security_enabled=False), "securityEnabled"),
        (dict(group_types=["Unified"]), "groupTypes"),
        (dict(display_name=None), "displayName"),
    ],
)
async def test_only_security_groups(graph, overrides, mention):
    fields = dict(display_name=f"Other {tag()}", mail_enabled=False, mail_nickname=f"o{tag()}", security_enabled=True)
    fields.update(overrides)
    with pytest.raises(Exception) as caught:
        await graph.groups.post(Group(**{k: v for k, v in fields.items() if v is not None}))
    assert_sdk_error(caught.value, 400, "Request_BadRequest", mention)


async def test_create_group_refuses_unknown_properties_and_other_types(raw):
    t = tag()
    base = {"displayName": f"G {t}", "mailEnabled": False, "mailNickname": f"g{t}", "securityEnabled": True}
    assert_graph_error(raw.post("/groups", {**base, "visibility2": "Private"}), 400, "Request_BadRequest", "visibility2")
    assert_graph_error(raw.post("/groups", {**base, "@odata.type": "#microsoft.graph.user"}), 400,
                       "Request_BadRequest", "@odata.type")
    res = raw.post("/groups", {**base, "@odata.type": "#microsoft.graph.group"})
    assert res.status_code == 201, show(res)


async def test_members_by_ref(graph, raw, api, new_user):
    t = tag()
    group = await graph.groups.post(security_group(t))
    alice, bob = new_user("alice"), new_user("bob")
    members = graph.groups.by_group_id(group.id).members
    await members.ref.post(ReferenceCreate(odata_id=f"{api}/directoryObjects/{alice['id']}"))
    await members.ref.post(ReferenceCreate(odata_id=f"{api}/users/{bob['id']}"))

    page = await members.get()
    assert {m.id for m in page.value} == {alice["id"], bob["id"]}
    for m in page.value:
        assert isinstance(m, User), f"members come back as #microsoft.graph.user, not {type(m).__name__}"
    res = raw.get(f"/groups/{group.id}/members")
    assert res.status_code == 200, show(res)
    for item in res.json()["value"]:
        odata_type(item, "#microsoft.graph.user")

    groups_of_alice = await graph.users.by_user_id(alice["id"]).member_of.get()
    assert [g.id for g in groups_of_alice.value] == [group.id]
    assert isinstance(groups_of_alice.value[0], Group), type(groups_of_alice.value[0]).__name__
    res = raw.get(f"/users/{alice['userPrincipalName']}/memberOf")
    assert res.status_code == 200, show(res)
    for item in res.json()["value"]:
        odata_type(item, "#microsoft.graph.group")

    # Graph refuses a member added twice.
    res = raw.post(f"/groups/{group.id}/members/$ref", {"@odata.id": f"{api}/directoryObjects/{alice['id']}"})
    assert_graph_error(res, 400, "Request_BadRequest", "already exist")

    await members.by_directory_object_id(alice["id"]).ref.delete()
    page = await members.get()
    assert [m.id for m in page.value] == [bob["id"]]
    assert (await graph.users.by_user_id(alice["id"]).member_of.get()).value == []
    with pytest.raises(Exception) as caught:
        await members.by_directory_object_id(alice["id"]).ref.delete()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")


async def test_members_ref_errors(raw, api, new_user):
    t = tag()
    res = raw.post("/groups", {"displayName": f"E {t}", "mailEnabled": False, "mailNickname": f"e{t}",
                               "securityEnabled": True})
    assert res.status_code == 201, show(res)
    gid = res.json()["id"]
    missing = "00000000-0000-4000-8000-0000000000ee"
    res = raw.post(f"/groups/{gid}/members/$ref", {"@odata.id": f"{api}/directoryObjects/{missing}"})
    assert_graph_error(res, 404, "Request_ResourceNotFound", missing)
    assert_graph_error(raw.post(f"/groups/{gid}/members/$ref", {}), 400, "Request_BadRequest", "@odata.id")
    assert_graph_error(raw.post(f"/groups/{gid}/members/$ref", {"@odata.id": "not a url"}), 400,
                       "Request_BadRequest", "@odata.id")
    res = raw.post(f"/groups/{missing}/members/$ref", {"@odata.id": f"{api}/directoryObjects/{new_user()['id']}"})
    assert_graph_error(res, 404, "Request_ResourceNotFound", missing)


async def test_deleting_a_user_removes_the_membership(graph, raw, api, new_user):
    group = await graph.groups.post(security_group(tag()))
    user = new_user()
    await graph.groups.by_group_id(group.id).members.ref.post(ReferenceCreate(odata_id=f"{api}/directoryObjects/{user['id']}"))
    await graph.users.by_user_id(user["id"]).delete()
    assert (await graph.groups.by_group_id(group.id).members.get()).value == []


async def test_groups_need_group_permission(graph_reader):
    with pytest.raises(Exception) as caught:
        await graph_reader.groups.post(security_group(tag()))
    assert_sdk_error(caught.value, 403, "Authorization_RequestDenied")
