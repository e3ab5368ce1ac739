"""Graph's authentication methods report, read with the SDK exactly as an
Entra script reads it: client.reports.authentication_methods
.user_registration_details.get(...) with $filter and paging, and a single
user's details."""

from __future__ import annotations

import pytest
from msgraph.generated.reports.authentication_methods.user_registration_details.user_registration_details_request_builder import (
    UserRegistrationDetailsRequestBuilder,
)
from msgraph_core.tasks.page_iterator import PageIterator

from contract import assert_sdk_error
from graph import config, show, tag

Q = UserRegistrationDetailsRequestBuilder.UserRegistrationDetailsRequestBuilderGetQueryParameters


async def details(graph, **kw) -> list:
    builder = graph.reports.authentication_methods.user_registration_details
    page = await builder.get(config(Q(**kw)))
    items: list = []

    def keep(item) -> bool:
        items.append(item)
        return True

    await PageIterator(page, graph.request_adapter).iterate(keep)
    return items


async def test_registration_details_with_filter_and_paging(graph, raw, new_user):
    t = tag()
    passed = new_user(f"rr{t}a")
    res = raw.post(f"/users/{passed['id']}/authentication/temporaryAccessPassMethods", {"lifetimeInMinutes": 60})
    assert res.status_code == 201, show(res)
    bare = new_user(f"rr{t}b")
    prefix = f"rr{t}"

    mine = await details(graph, filter=f"startswith(userPrincipalName,'{prefix}')", top=1)
    by_upn = {d.user_principal_name: d for d in mine}
    assert set(by_upn) == {passed["userPrincipalName"], bare["userPrincipalName"]}
    with_pass = by_upn[passed["userPrincipalName"]]
    assert with_pass.id == passed["id"]
    assert with_pass.user_display_name == passed["displayName"]
    assert with_pass.methods_registered == ["temporaryAccessPass"]
    assert with_pass.is_mfa_registered is False
    assert with_pass.is_passwordless_capable is False
    assert with_pass.is_admin is False
    assert with_pass.last_updated_date_time is not None
    assert by_upn[bare["userPrincipalName"]].methods_registered == []

    tap_holders = await details(graph, filter="methodsRegistered/any(m: m eq 'temporaryAccessPass')")
    assert passed["userPrincipalName"] in {d.user_principal_name for d in tap_holders}
    assert bare["userPrincipalName"] not in {d.user_principal_name for d in tap_holders}

    one = await graph.reports.authentication_methods.user_registration_details.by_user_registration_details_id(
        passed["id"]
    ).get()
    assert one.user_principal_name == passed["userPrincipalName"]


async def test_registration_details_refuse_what_they_do_not_support(graph, graph_reader):
    with pytest.raises(Exception) as e:
        await details(graph, filter="isAdmin ne true")
    assert_sdk_error(e.value, 400, "Request_UnsupportedQuery", "isAdmin")
    # Graph's permission: AuditLog.Read.All.
    with pytest.raises(Exception) as e:
        await details(graph_reader)
    assert_sdk_error(e.value, 403, "Authorization_RequestDenied")
