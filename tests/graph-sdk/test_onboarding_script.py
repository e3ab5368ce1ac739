"""The standard HR script, unchanged from Entra but for the base URL: look the
new hire up by UPN, create them if absent, issue a Temporary Access Pass.
It must never match the wrong person; the new hire then signs in with the
pass and registers a passkey."""

from __future__ import annotations

from msgraph import GraphServiceClient
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph.generated.models.user import User
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from browser import TEST_AAGUID, enroll_passkey
from graph import config, tag


async def onboard(graph: GraphServiceClient, hire: dict) -> tuple[User, TemporaryAccessPassAuthenticationMethod, bool]:
    """What an integrator writes (this function is the script)."""
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter=f"userPrincipalName eq '{hire['upn']}'", select=["id", "userPrincipalName", "displayName"]
    )
    found = await graph.users.get(config(query))
    created = False
    if found.value:
        user = found.value[0]
    else:
        user = await graph.users.post(
            User(
                account_enabled=True,
                display_name=hire["name"],
                mail_nickname=hire["upn"].split("@")[0],
                user_principal_name=hire["upn"],
                password_profile=PasswordProfile(force_change_password_next_sign_in=True, password="Unused-9-pass"),
                department=hire["department"],
                job_title=hire["title"],
                employee_id=hire["employeeId"],
            )
        )
        created = True
    tap = await graph.users.by_user_id(user.id).authentication.temporary_access_pass_methods.post(
        TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=480, is_usable_once=True)
    )
    return user, tap, created


async def test_onboarding_script(graph, raw, onramp, new_user):
    t = tag()
    upn = f"jo.{t}@contoso.example"
    # People a sloppy match would pick instead of the new hire.
    decoys = [
        new_user(f"jo.{t}x"),  # a UPN that starts with the hire's
        new_user("bloggs", displayName=f"Jo Bloggs {t}"),  # the same display name
        new_user("jo", userPrincipalName=f"{upn}.org"),  # the hire's UPN is a prefix of this one
    ]
    for d in decoys:
        assert d["userPrincipalName"].lower() != upn.lower()
    hire = {"upn": upn, "name": f"Jo Bloggs {t}", "department": "Finance", "title": "Analyst", "employeeId": f"F{t}"}

    user, tap, created = await onboard(graph, hire)
    assert created, "the new hire was absent, so the script created them"
    assert user.user_principal_name == upn
    assert tap.temporary_access_pass and tap.is_usable is True

    # A second run (the HR system retries) finds the same person, and the new
    # pass replaces the first.
    again, tap2, created = await onboard(graph, hire)
    assert not created and again.id == user.id
    listed = await graph.users.by_user_id(user.id).authentication.temporary_access_pass_methods.get()
    assert [p.id for p in listed.value] == [tap2.id]
    for d in decoys:
        theirs = await graph.users.by_user_id(d["id"]).authentication.temporary_access_pass_methods.get()
        assert theirs.value == [], f"the script gave {d['userPrincipalName']} a pass"

    # Exactly one user with that UPN exists.
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter=f"userPrincipalName eq '{upn}'")
    assert [u.id for u in (await graph.users.get(config(query))).value] == [user.id]

    # Day one: the pass works and a passkey is registered.
    enroll_passkey(onramp.base, upn, tap2.temporary_access_pass)
    keys = await graph.users.by_user_id(user.id).authentication.fido2_methods.get()
    assert [k.aa_guid for k in keys.value] == [TEST_AAGUID]
