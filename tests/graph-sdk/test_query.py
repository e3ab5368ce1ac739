"""OData query options on /users through the SDK: $filter (eq, ne, not,
startsWith, in, and, or, ge/le on dates, any()), $select, $orderby, $top with
@odata.nextLink paging, $count (with ConsistencyLevel: eventual) and $search."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from msgraph.generated.models.user import User
from msgraph.generated.users.count.count_request_builder import CountRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.tasks.page_iterator import PageIterator

from contract import assert_graph_error, assert_sdk_error
from graph import EVENTUAL, config, show, tag

Q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters


def hire(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 9, 0, tzinfo=dt.timezone.utc)


@dataclass
class Cohort:
    tag: str
    department: str
    word: str  # a search token only this cohort's display names carry
    users: dict[str, dict]  # by short name

    def upn(self, name: str) -> str:
        return self.users[name]["userPrincipalName"]

    def ids(self, *names: str) -> set[str]:
        return {self.users[n]["id"] for n in names}


@pytest.fixture(scope="module")
def cohort(raw) -> Cohort:
    t = tag()
    word = f"Q{t}"
    department = f"Cohort {t}"
    people = {
        "alpha": dict(displayName=f"{word} Alpha", jobTitle="Engineer", employeeHireDate=hire(2027, 1, 4),
                      otherMails=[f"alpha.{t}@home.example"]),
        "bravo": dict(displayName=f"{word} Bravo", jobTitle="Engineer", employeeHireDate=hire(2027, 2, 1)),
        "charlie": dict(displayName=f"{word} Charlie", jobTitle="Designer", employeeHireDate=hire(2027, 3, 1)),
        "delta": dict(displayName=f"{word} Delta", jobTitle="Manager", employeeHireDate=hire(2027, 4, 1),
                      accountEnabled=False),
        "sinead": dict(displayName=f"Sinéad O'Brien {t}", jobTitle="Engineer", employeeHireDate=hire(2027, 5, 3)),
    }
    users = {}
    for name, fields in people.items():
        body = {
            "accountEnabled": True,
            "mailNickname": f"{name}{t}",
            "userPrincipalName": f"{name}.{t}@cohort.example",
            "department": department,
            **{k: (v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, dt.datetime) else v) for k, v in fields.items()},
        }
        res = raw.post("/users", body)
        assert res.status_code == 201, show(res)
        users[name] = res.json()
    return Cohort(t, department, word, users)


async def find(graph, filter: str, eventual: bool = False, **kw) -> list[User]:
    q = Q(filter=filter, **kw)
    if eventual:
        q.count = True
    page = await graph.users.get(config(q, EVENTUAL if eventual else None))
    assert page is not None
    return page.value or []


def ids(users: list[User]) -> set[str]:
    return {u.id for u in users}


async def test_filter_eq_on_upn_finds_exactly_that_user(graph, cohort):
    found = await find(graph, f"userPrincipalName eq '{cohort.upn('bravo')}'")
    assert ids(found) == cohort.ids("bravo")


async def test_filter_eq_on_upn_ignores_case(graph, cohort):
    found = await find(graph, f"userPrincipalName eq '{cohort.upn('bravo').upper()}'")
    assert ids(found) == cohort.ids("bravo")


@pytest.mark.parametrize(
    "upn",
    [
        "nobody.{t}@cohort.example",
        "bravo@cohort.example",  # a prefix of bravo.<t>@…
        "bravo.{t}@cohort",  # a prefix of the UPN
        "ravo.{t}@cohort.example",  # a suffix of it
        "bravo.{t}@cohort.example.org",
    ],
)
async def test_filter_eq_on_an_absent_upn_finds_nobody(graph, cohort, upn):
    found = await find(graph, f"userPrincipalName eq '{upn.format(t=cohort.tag)}'")
    assert found == [], f"matched {[u.user_principal_name for u in found]}"


async def test_filter_on_a_quoted_value(graph, cohort):
    found = await find(graph, f"displayName eq 'Sinéad O''Brien {cohort.tag}'")
    assert ids(found) == cohort.ids("sinead")


async def test_filter_startswith(graph, cohort):
    found = await find(graph, f"startsWith(displayName,'{cohort.word}')")
    assert ids(found) == cohort.ids("alpha", "bravo", "charlie", "delta")


async def test_filter_and(graph, cohort):
    found = await find(graph, f"department eq '{cohort.department}' and jobTitle eq 'Engineer'")
    assert ids(found) == cohort.ids("alpha", "bravo", "sinead")


async def test_filter_or_in_parentheses(graph, cohort):
    found = await find(
        graph, f"department eq '{cohort.department}' and (jobTitle eq 'Designer' or jobTitle eq 'Manager')"
    )
    assert ids(found) == cohort.ids("charlie", "delta")


async def test_filter_in(graph, cohort):
    found = await find(graph, f"userPrincipalName in ('{cohort.upn('alpha')}', '{cohort.upn('charlie')}')")
    assert ids(found) == cohort.ids("alpha", "charlie")


async def test_filter_ne_and_not_as_advanced_queries(graph, cohort):
    for expr in (
        f"department eq '{cohort.department}' and jobTitle ne 'Engineer'",
        f"department eq '{cohort.department}' and not(jobTitle eq 'Engineer')",
    ):
        found = await find(graph, expr, eventual=True)
        assert ids(found) == cohort.ids("charlie", "delta"), expr


async def test_filter_boolean(graph, cohort):
    found = await find(graph, f"department eq '{cohort.department}' and accountEnabled eq false")
    assert ids(found) == cohort.ids("delta")


async def test_filter_ge_le_on_dates(graph, cohort):
    found = await find(
        graph,
        f"department eq '{cohort.department}' and employeeHireDate ge 2027-02-01T00:00:00Z "
        "and employeeHireDate le 2027-04-01T23:59:59Z",
        eventual=True,
    )
    assert ids(found) == cohort.ids("bravo", "charlie", "delta")


async def test_filter_any_on_a_collection(graph, cohort):
    found = await find(graph, f"otherMails/any(m: m eq 'alpha.{cohort.tag}@home.example')", eventual=True)
    assert ids(found) == cohort.ids("alpha")


async def test_select_returns_only_the_selected_properties(graph, raw, api, cohort):
    found = await find(graph, f"department eq '{cohort.department}'", select=["id", "displayName", "jobTitle"])
    assert ids(found) == cohort.ids("alpha", "bravo", "charlie", "delta", "sinead")
    for u in found:
        assert u.display_name and u.job_title
        assert u.user_principal_name is None and u.department is None, "not selected"
    res = raw.get(
        "/users",
        params={"$filter": f"department eq '{cohort.department}'", "$select": "id,displayName,jobTitle"},
    )
    assert res.status_code == 200, show(res)
    body = res.json()
    assert body["@odata.context"].startswith(f"{api}/$metadata#users("), body.get("@odata.context")
    for item in body["value"]:
        assert {k for k in item if not k.startswith("@odata.")} == {"id", "displayName", "jobTitle"}, item


async def test_orderby_display_name_descending(graph, cohort):
    found = await find(
        graph,
        f"department eq '{cohort.department}' and startsWith(displayName,'{cohort.word}')",
        eventual=True,
        orderby=["displayName desc"],
    )
    assert [u.display_name for u in found] == [
        f"{cohort.word} Delta", f"{cohort.word} Charlie", f"{cohort.word} Bravo", f"{cohort.word} Alpha"
    ]


async def test_orderby_two_keys(graph, cohort):
    found = await find(
        graph, f"department eq '{cohort.department}'", eventual=True, orderby=["jobTitle", "displayName desc"]
    )
    assert [u.id for u in found] == [
        cohort.users[n]["id"] for n in ("charlie", "sinead", "bravo", "alpha", "delta")
    ], [(u.job_title, u.display_name) for u in found]


async def test_top_and_next_link_paging_with_the_page_iterator(graph, api, cohort):
    first = await graph.users.get(config(Q(filter=f"department eq '{cohort.department}'", top=2)))
    assert len(first.value) == 2
    assert first.odata_next_link and first.odata_next_link.startswith(f"{api}/users"), first.odata_next_link
    seen: list[str] = []

    def collect(user: User) -> bool:
        seen.append(user.id)
        assert user.department == cohort.department, "later pages keep the $filter"
        return True

    await PageIterator(first, graph.request_adapter).iterate(collect)
    assert len(seen) == len(set(seen)) == 5, seen
    assert set(seen) == cohort.ids("alpha", "bravo", "charlie", "delta", "sinead")


async def test_next_link_keeps_select_and_orderby(raw, cohort):
    res = raw.get(
        "/users",
        params={
            "$filter": f"department eq '{cohort.department}'",
            "$select": "id,displayName",
            "$orderby": "displayName",
            "$top": "2",
            "$count": "true",
        },
        headers=EVENTUAL,
    )
    names: list[str] = []
    pages = 0
    while True:
        assert res.status_code == 200, show(res)
        body = res.json()
        pages += 1
        for item in body["value"]:
            assert set(k for k in item if not k.startswith("@")) == {"id", "displayName"}, item
            names.append(item["displayName"])
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert pages < 10, "paging never ends"
        res = raw.get(link, headers=EVENTUAL)
    assert pages == 3
    assert names == sorted(names, key=str.casefold) and len(names) == 5, names


async def test_count_true_gives_the_total_not_the_page(graph, cohort):
    page = await graph.users.get(
        config(Q(filter=f"department eq '{cohort.department}'", top=2, count=True), EVENTUAL)
    )
    assert page.odata_count == 5
    assert len(page.value) == 2


async def test_users_count_segment(graph, raw, cohort):
    total = await graph.users.count.get(config(CountRequestBuilder.CountRequestBuilderGetQueryParameters(), EVENTUAL))
    listed = 0
    res = raw.get("/users", params={"$top": "999", "$select": "id"})
    while True:
        assert res.status_code == 200, show(res)
        listed += len(res.json()["value"])
        link = res.json().get("@odata.nextLink")
        if not link:
            break
        res = raw.get(link)
    assert total == listed
    in_cohort = await graph.users.count.get(
        config(CountRequestBuilder.CountRequestBuilderGetQueryParameters(filter=f"department eq '{cohort.department}'"),
               EVENTUAL)
    )
    assert in_cohort == 5
    res = raw.get("/users/$count", headers=EVENTUAL)
    assert res.status_code == 200 and res.text.strip() == str(total), show(res)
    assert res.headers["content-type"].startswith("text/plain"), res.headers


async def test_users_count_segment_needs_consistency_level(graph, raw):
    assert_graph_error(raw.get("/users/$count"), 400, "Request_BadRequest", "$count")
    with pytest.raises(Exception) as caught:
        await graph.users.count.get()
    assert_sdk_error(caught.value, 400, "Request_BadRequest", "$count")


async def test_search_display_name(graph, cohort):
    page = await graph.users.get(config(Q(search=f'"displayName:{cohort.word}"', count=True), EVENTUAL))
    assert ids(page.value) == cohort.ids("alpha", "bravo", "charlie", "delta")
    assert page.odata_count == 4


async def test_search_needs_consistency_level(graph, raw, cohort):
    res = raw.get("/users", params={"$search": f'"displayName:{cohort.word}"'})
    assert_graph_error(res, 400, "Request_UnsupportedQuery", "ConsistencyLevel")
    with pytest.raises(Exception) as caught:
        await graph.users.get(config(Q(search=f'"displayName:{cohort.word}"')))
    assert_sdk_error(caught.value, 400, "Request_UnsupportedQuery", "ConsistencyLevel")
