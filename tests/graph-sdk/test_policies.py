"""The authentication method configurations by Graph's ids (TemporaryAccessPass,
Fido2; ids case-insensitive), Graph's shapes, and group targets that work."""

from __future__ import annotations

import pytest
from msgraph.generated.models.authentication_method_state import AuthenticationMethodState
from msgraph.generated.models.authentication_method_target import AuthenticationMethodTarget
from msgraph.generated.models.authentication_method_target_type import AuthenticationMethodTargetType
from msgraph.generated.models.exclude_target import ExcludeTarget
from msgraph.generated.models.fido2_authentication_method_configuration import (
    Fido2AuthenticationMethodConfiguration,
)
from msgraph.generated.models.fido2_key_restrictions import Fido2KeyRestrictions
from msgraph.generated.models.fido2_restriction_enforcement_type import Fido2RestrictionEnforcementType
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph.generated.models.temporary_access_pass_authentication_method_configuration import (
    TemporaryAccessPassAuthenticationMethodConfiguration,
)

from browser import TEST_AAGUID, SoftAuthenticator, try_enroll_passkey
from contract import assert_graph_error, odata_type
from graph import show, tag

CONFIGS = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
TAP_CONFIG_TYPE = "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
FIDO2_CONFIG_TYPE = "#microsoft.graph.fido2AuthenticationMethodConfiguration"
WRITABLE = {
    "TemporaryAccessPass": ["state", "defaultLifetimeInMinutes", "minimumLifetimeInMinutes",
                            "maximumLifetimeInMinutes", "defaultLength", "isUsableOnce", "includeTargets",
                            "excludeTargets"],
    "Fido2": ["state", "isSelfServiceRegistrationAllowed", "isAttestationEnforced", "keyRestrictions",
              "includeTargets", "excludeTargets"],
}


def configs(graph):
    return graph.policies.authentication_methods_policy.authentication_method_configurations


@pytest.fixture
def restore_policies(raw):
    """Puts both configurations back as they were after the test."""
    saved = {}
    for cid in WRITABLE:
        res = raw.get(f"{CONFIGS}/{cid}")
        assert res.status_code == 200, show(res)
        saved[cid] = {k: v for k, v in res.json().items() if k in WRITABLE[cid]}
    yield
    for cid, body in saved.items():
        res = raw.patch(f"{CONFIGS}/{cid}", body)
        assert res.status_code == 204, f"restoring {cid}: {show(res)}"


def group_with(raw, api, *user_ids: str) -> str:
    t = tag()
    res = raw.post(
        "/groups",
        {"displayName": f"Policy group {t}", "mailEnabled": False, "mailNickname": f"pg{t}", "securityEnabled": True},
    )
    assert res.status_code == 201, show(res)
    gid = res.json()["id"]
    for uid in user_ids:
        res = raw.post(f"/groups/{gid}/members/$ref", {"@odata.id": f"{api}/directoryObjects/{uid}"})
        assert res.status_code == 204, show(res)
    return gid


async def test_tap_configuration_by_graph_id(graph, raw):
    conf = await configs(graph).by_authentication_method_configuration_id("TemporaryAccessPass").get()
    assert isinstance(conf, TemporaryAccessPassAuthenticationMethodConfiguration), type(conf).__name__
    assert conf.id == "TemporaryAccessPass"
    assert conf.state == AuthenticationMethodState.Enabled
    assert conf.default_lifetime_in_minutes == 60
    assert conf.minimum_lifetime_in_minutes == 60
    assert conf.maximum_lifetime_in_minutes == 480
    assert conf.default_length == 8
    assert conf.is_usable_once is False
    assert [(t.target_type, t.id) for t in conf.include_targets] == [(AuthenticationMethodTargetType.Group, "all_users")]
    assert conf.exclude_targets == []
    res = raw.get(f"{CONFIGS}/TemporaryAccessPass")
    odata_type(res.json(), TAP_CONFIG_TYPE)
    assert "@odata.context" in res.json()


async def test_fido2_configuration_by_graph_id(graph, raw):
    conf = await configs(graph).by_authentication_method_configuration_id("Fido2").get()
    assert isinstance(conf, Fido2AuthenticationMethodConfiguration), type(conf).__name__
    assert conf.id == "Fido2"
    assert conf.state == AuthenticationMethodState.Enabled
    assert conf.is_self_service_registration_allowed is True
    assert conf.is_attestation_enforced is False
    assert conf.key_restrictions is not None
    assert conf.key_restrictions.is_enforced is False
    assert conf.key_restrictions.enforcement_type in (
        Fido2RestrictionEnforcementType.Allow, Fido2RestrictionEnforcementType.Block
    )
    assert conf.key_restrictions.aa_guids == []
    assert [(t.target_type, t.id) for t in conf.include_targets] == [(AuthenticationMethodTargetType.Group, "all_users")]
    assert conf.exclude_targets == []
    body = raw.get(f"{CONFIGS}/Fido2").json()
    odata_type(body, FIDO2_CONFIG_TYPE)
    for key in ("id", "state", "isSelfServiceRegistrationAllowed", "isAttestationEnforced", "keyRestrictions",
                "includeTargets", "excludeTargets"):
        assert key in body, f"{key} missing: {body}"
    assert set(body["keyRestrictions"]) >= {"isEnforced", "enforcementType", "aaGuids"}, body["keyRestrictions"]


@pytest.mark.parametrize(
    "cid,canonical",
    [
        ("temporaryAccessPass", "TemporaryAccessPass"),
        ("temporaryaccesspass", "TemporaryAccessPass"),
        ("TEMPORARYACCESSPASS", "TemporaryAccessPass"),
        ("fido2", "Fido2"),
        ("FIDO2", "Fido2"),
    ],
)
async def test_configuration_ids_are_case_insensitive(raw, cid, canonical):
    res = raw.get(f"{CONFIGS}/{cid}")
    assert res.status_code == 200, show(res)
    assert res.json()["id"] == canonical


async def test_unknown_configuration_is_404(raw):
    assert_graph_error(raw.get(f"{CONFIGS}/Sms"), 404, "Request_ResourceNotFound", "Sms")


async def test_patch_tap_configuration(graph, restore_policies):
    await configs(graph).by_authentication_method_configuration_id("TemporaryAccessPass").patch(
        TemporaryAccessPassAuthenticationMethodConfiguration(default_lifetime_in_minutes=120, default_length=10)
    )
    conf = await configs(graph).by_authentication_method_configuration_id("temporaryAccessPass").get()
    assert conf.default_lifetime_in_minutes == 120
    assert conf.default_length == 10
    assert conf.maximum_lifetime_in_minutes == 480, "fields not sent stay"


async def test_tap_group_targets_decide_who_may_use_a_pass(graph, raw, api, onramp, new_user, restore_policies):
    inside, outside, excluded = new_user("inside"), new_user("outside"), new_user("excluded")
    included_group = group_with(raw, api, inside["id"], excluded["id"])
    excluded_group = group_with(raw, api, excluded["id"])
    await configs(graph).by_authentication_method_configuration_id("TemporaryAccessPass").patch(
        TemporaryAccessPassAuthenticationMethodConfiguration(
            include_targets=[AuthenticationMethodTarget(id=included_group, target_type=AuthenticationMethodTargetType.Group,
                                                        is_registration_required=False)],
            exclude_targets=[ExcludeTarget(id=excluded_group, target_type=AuthenticationMethodTargetType.Group)],
        )
    )
    conf = await configs(graph).by_authentication_method_configuration_id("TemporaryAccessPass").get()
    assert [(t.target_type, t.id) for t in conf.include_targets] == [(AuthenticationMethodTargetType.Group, included_group)]
    assert [(t.target_type, t.id) for t in conf.exclude_targets] == [(AuthenticationMethodTargetType.Group, excluded_group)]

    reasons = {}
    for name, user in (("inside", inside), ("outside", outside), ("excluded", excluded)):
        tap = await graph.users.by_user_id(user["id"]).authentication.temporary_access_pass_methods.post(
            TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60)
        )
        reasons[name] = (tap.is_usable, tap.method_usability_reason)
    assert reasons == {
        "inside": (True, "EnabledByPolicy"),
        "outside": (False, "DisabledByPolicy"),
        "excluded": (False, "DisabledByPolicy"),
    }

    # Membership is read when it matters: joining the group enables the pass.
    res = raw.post(f"/groups/{included_group}/members/$ref", {"@odata.id": f"{api}/directoryObjects/{outside['id']}"})
    assert res.status_code == 204, show(res)
    listed = await graph.users.by_user_id(outside["id"]).authentication.temporary_access_pass_methods.get()
    assert [(t.is_usable, t.method_usability_reason) for t in listed.value] == [(True, "EnabledByPolicy")]


async def test_fido2_key_restrictions_and_group_targets(graph, raw, api, onramp, new_user, restore_policies):
    member = new_user("member")
    group = group_with(raw, api, member["id"])
    await configs(graph).by_authentication_method_configuration_id("Fido2").patch(
        Fido2AuthenticationMethodConfiguration(
            key_restrictions=Fido2KeyRestrictions(
                is_enforced=True, enforcement_type=Fido2RestrictionEnforcementType.Block, aa_guids=[TEST_AAGUID.upper()]
            ),
            include_targets=[AuthenticationMethodTarget(id=group, target_type=AuthenticationMethodTargetType.Group,
                                                        is_registration_required=False)],
        )
    )
    conf = await configs(graph).by_authentication_method_configuration_id("fido2").get()
    assert conf.key_restrictions.is_enforced is True
    assert conf.key_restrictions.enforcement_type == Fido2RestrictionEnforcementType.Block
    assert conf.key_restrictions.aa_guids == [TEST_AAGUID], "AAGUIDs are kept in lower case"
    assert [(t.target_type, t.id) for t in conf.include_targets] == [(AuthenticationMethodTargetType.Group, group)]

    # The blocked model cannot be registered by a member of the group.
    tap = await graph.users.by_user_id(member["id"]).authentication.temporary_access_pass_methods.post(
        TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60)
    )
    status, body = try_enroll_passkey(onramp.base, member["userPrincipalName"], tap.temporary_access_pass,
                                      SoftAuthenticator())
    assert status != 200, f"a blocked AAGUID registered: {body}"
    assert TEST_AAGUID in str(body.get("message", "")).lower(), body


@pytest.mark.parametrize(
    "cid,body,mention",
    [
        ("TemporaryAccessPass", {"@odata.type": FIDO2_CONFIG_TYPE}, "@odata.type"),
        ("Fido2", {"@odata.type": TAP_CONFIG_TYPE}, "@odata.type"),
        ("TemporaryAccessPass", {"defaultLifetimeInMinutes": 60, "flavour": "mint"}, "flavour"),
        ("Fido2", {"keyRestrictions": {"isEnforced": True, "enforcementType": "sometimes", "aaGuids": []}},
         "enforcementType"),
        ("TemporaryAccessPass", {"includeTargets": [{"targetType": "group", "id": "00000000-0000-4000-8000-0000000000aa"}]},
         "00000000-0000-4000-8000-0000000000aa"),
        ("Fido2", {"includeTargets": [{"targetType": "printer", "id": "all_users"}]}, "targetType"),
        ("TemporaryAccessPass", {"defaultLength": 4}, "defaultLength"),
    ],
)
async def test_bad_configuration_patch_is_400_naming_it(raw, restore_policies, cid, body, mention):
    assert_graph_error(raw.patch(f"{CONFIGS}/{cid}", body), 400, "Request_BadRequest", mention)


async def test_patch_accepts_its_own_odata_type(raw, restore_policies):
    res = raw.patch(f"{CONFIGS}/Fido2", {"@odata.type": FIDO2_CONFIG_TYPE, "isSelfServiceRegistrationAllowed": True})
    assert res.status_code == 204, show(res)
    res = raw.patch(f"{CONFIGS}/TemporaryAccessPass", {"@odata.type": TAP_CONFIG_TYPE, "defaultLength": 8})
    assert res.status_code == 204, show(res)
