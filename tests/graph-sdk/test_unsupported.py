"""A query option, property, operator or value we do not support is a 400
naming it, on every collection: never silently ignored (a script that
filters and gets everyone back would act on the wrong people).

Raw HTTP, as a curl script sends it: `$` unencoded, values percent-encoded.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from contract import QUERY_CODES, assert_graph_error
from graph import EVENTUAL, show, tag

COLLECTIONS = {
    "users": "/users",
    "groups": "/groups",
    "groupMembers": "/groups/{group}/members",
    "memberOf": "/users/{user}/memberOf",
    "methods": "/users/{user}/authentication/methods",
    "temporaryAccessPassMethods": "/users/{user}/authentication/temporaryAccessPassMethods",
    "fido2Methods": "/users/{user}/authentication/fido2Methods",
    "directoryAudits": "/auditLogs/directoryAudits",
}

# (case id, raw query string, what the message must name: a string, or a
# tuple of which one suffices)
EVERY_COLLECTION = [
    ("unknown-option", "$bogus=1", "$bogus"),
    ("skip", "$skip=1", "$skip"),
    ("apply", "$apply=groupby((id))", "$apply"),
    ("expand-unknown", "$expand=noSuchRelation", ("$expand", "noSuchRelation")),
    ("select-unknown", "$select=id,noSuchProperty", "noSuchProperty"),
    ("filter-unknown-property", "$filter=noSuchProperty eq 'x'", "noSuchProperty"),
    ("orderby-unknown-property", "$orderby=noSuchProperty", "noSuchProperty"),
    ("orderby-bad-direction", "$orderby=id sideways", ("sideways", "$orderby")),
    ("top-zero", "$top=0", "$top"),
    ("top-negative", "$top=-1", "$top"),
    ("top-not-a-number", "$top=ten", "$top"),
    ("top-twice", "$top=1&$top=2", "$top"),
    ("count-not-boolean", "$count=maybe", "$count"),
    ("filter-gt", "$filter=id gt 'a'", "gt"),
    ("filter-contains", "$filter=contains(id,'a')", "contains"),
    ("filter-unknown-function", "$filter=frobnicate(id)", "frobnicate"),
    ("filter-arithmetic", "$filter=id add 1 eq 2", "add"),
]

MALFORMED_FILTERS = [
    "id eq",
    "id eq 'unterminated",
    "(id eq 'a'",
    "id eq 'a' and",
    "id 'a'",
    "eq 'a'",
]

NO_SEARCH = ["methods", "temporaryAccessPassMethods", "fido2Methods", "directoryAudits"]

PER_COLLECTION = [
    ("users", "top-over-999", "$top=1000", "$top"),
    ("users", "filter-real-graph-property-we-lack", "$filter=onPremisesSyncEnabled eq true", "onPremisesSyncEnabled"),
    ("users", "filter-password", "$filter=passwordProfile/password eq 'x'", "passwordProfile"),
    ("users", "filter-wrong-type", "$filter=accountEnabled eq 'yes'", ("accountEnabled", "yes")),
    ("users", "filter-any-on-a-string", "$filter=displayName/any(d: d eq 'x')", "displayName"),
    ("users", "filter-bad-date", "$filter=employeeHireDate ge 'soon'", ("employeeHireDate", "soon")),
    ("users", "select-password-profile-password", "$select=passwordProfile/password", "passwordProfile"),
    ("users", "search-unquoted", '$search=displayName:x', "$search"),
    ("users", "search-unknown-property", '$search="noSuchProperty:x"', "noSuchProperty"),
    ("directoryAudits", "filter-any-unknown-member", "$filter=targetResources/any(t: t/noSuch eq 'x')", "noSuch"),
    ("directoryAudits", "filter-bad-date", "$filter=activityDateTime ge 'yesterday'", ("activityDateTime", "yesterday")),
]


def encode(query: str) -> str:
    """Percent-encodes each value (spaces, quotes), keeping `$name=`."""
    parts = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        parts.append(f"{name}={quote(value, safe=',()/:')}")
    return "&".join(parts)


@pytest.fixture(scope="module")
def targets(raw) -> dict[str, str]:
    t = tag()
    res = raw.post(
        "/users",
        {
            "accountEnabled": True,
            "displayName": f"Query target {t}",
            "mailNickname": f"qt{t}",
            "userPrincipalName": f"qt.{t}@example.com",
        },
    )
    assert res.status_code == 201, show(res)
    user = res.json()["id"]
    res = raw.post(
        "/groups",
        {"displayName": f"Query target {t}", "mailEnabled": False, "mailNickname": f"qt{t}", "securityEnabled": True},
    )
    group = res.json().get("id", "group-creation-failed") if res.status_code == 201 else "group-creation-failed"
    return {"user": user, "group": group}


def collection_path(name: str, targets: dict[str, str]) -> str:
    path = COLLECTIONS[name].format(**targets)
    assert "group-creation-failed" not in path, "POST /groups failed, so this collection cannot be checked"
    return path


def cases():
    for cname in COLLECTIONS:
        for case_id, query, mention in EVERY_COLLECTION:
            yield pytest.param(cname, query, mention, id=f"{cname}-{case_id}")
    for cname, case_id, query, mention in PER_COLLECTION:
        yield pytest.param(cname, query, mention, id=f"{cname}-{case_id}")
    for cname in NO_SEARCH:
        yield pytest.param(cname, '$search="displayName:x"', "$search", id=f"{cname}-search")


@pytest.mark.parametrize("collection,query,mention", list(cases()))
async def test_unsupported_query_is_400_naming_it(raw, targets, collection, query, mention):
    path = collection_path(collection, targets)
    res = raw.get(f"{path}?{encode(query)}", headers=EVENTUAL)
    assert_graph_error(res, 400, QUERY_CODES, mention)


@pytest.mark.parametrize("collection", list(COLLECTIONS))
@pytest.mark.parametrize("expr", MALFORMED_FILTERS)
async def test_malformed_filter_is_400(raw, targets, collection, expr):
    path = collection_path(collection, targets)
    res = raw.get(f"{path}?$filter={quote(expr, safe='')}", headers=EVENTUAL)
    assert_graph_error(res, 400, QUERY_CODES)


@pytest.mark.parametrize("collection", list(COLLECTIONS))
async def test_supported_options_are_answered_on_every_collection(raw, targets, collection):
    """The counterpart: $top, $select=id and $count=true work everywhere
    (so the 400s above are about the named thing, not the collection)."""
    path = collection_path(collection, targets)
    res = raw.get(f"{path}?$top=1&$select=id&$count=true", headers=EVENTUAL)
    assert res.status_code == 200, show(res)
    body = res.json()
    assert isinstance(body.get("value"), list) and len(body["value"]) <= 1, body
    assert isinstance(body.get("@odata.count"), int), f"$count=true gives @odata.count: {body}"
    assert "@odata.context" in body, body
    for item in body["value"]:
        assert {k for k in item if not k.startswith("@odata.")} == {"id"}, item


@pytest.mark.parametrize(
    "path,query,mention",
    [
        ("/users/{user}", "$select=noSuchProperty", "noSuchProperty"),
        ("/users/{user}", "$bogus=1", "$bogus"),
        ("/users/{user}", "$expand=noSuchRelation", ("$expand", "noSuchRelation")),
        ("/groups/{group}", "$select=noSuchProperty", "noSuchProperty"),
        ("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2", "$select=noSuchProperty",
         "noSuchProperty"),
        ("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass", "$bogus=1",
         "$bogus"),
    ],
)
async def test_unsupported_query_on_a_single_resource_is_400(raw, targets, path, query, mention):
    p = path.format(**targets)
    assert "group-creation-failed" not in p, "POST /groups failed"
    assert_graph_error(raw.get(f"{p}?{encode(query)}"), 400, QUERY_CODES, mention)


async def test_percent_encoded_option_names_are_the_same_options(raw, targets):
    """Kiota's URI templates write `%24filter`; both spellings are one option."""
    upn = raw.get(f"/users/{targets['user']}").json()["userPrincipalName"]
    res = raw.get(f"/users?%24filter={quote(f'userPrincipalName eq {chr(39)}{upn}{chr(39)}', safe='')}")
    assert res.status_code == 200, show(res)
    assert [u["id"] for u in res.json()["value"]] == [targets["user"]]
    assert_graph_error(raw.get("/users?%24bogus=1"), 400, QUERY_CODES, "$bogus")
