"""Users as Graph writes them: Microsoft's documented create-user body plus
the HR fields, read back through the SDK; PATCH, DELETE, the manager."""

from __future__ import annotations

import datetime as dt

import pytest
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.reference_update import ReferenceUpdate
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

from contract import assert_graph_error, assert_sdk_error
from graph import config, show, tag

HR_FIELDS = [
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "employeeId",
    "employeeType",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "companyName",
    "officeLocation",
    "usageLocation",
    "preferredLanguage",
    "mailNickname",
    "otherMails",
    "accountEnabled",
]

HIRE_DATE = dt.datetime(2027, 1, 4, 8, 0, tzinfo=dt.timezone.utc)
LEAVE_DATE = dt.datetime(2028, 6, 30, 17, 0, tzinfo=dt.timezone.utc)


def new_hire(t: str, **overrides) -> User:
    """Microsoft's documented create-user body (accountEnabled, displayName,
    mailNickname, userPrincipalName, passwordProfile) plus what an HR system sends."""
    fields = dict(
        account_enabled=True,
        display_name=f"Adele Vance {t}",
        mail_nickname=f"AdeleV{t}",
        user_principal_name=f"AdeleV.{t}@contoso.example",
        password_profile=PasswordProfile(force_change_password_next_sign_in=True, password="xWwvJ]6NMw+bWH-d"),
        given_name="Adele",
        surname="Vance",
        job_title="Product Marketing Manager",
        department=f"Marketing {t}",
        employee_id=f"E-{t}",
        employee_type="Employee",
        employee_hire_date=HIRE_DATE,
        employee_leave_date_time=LEAVE_DATE,
        company_name="Contoso",
        office_location="18/2111",
        usage_location="US",
        preferred_language="en-US",
        other_mails=[f"adele.{t}@personal.example"],
    )
    fields.update(overrides)
    return User(**fields)


def select(*fields: str):
    return config(UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=list(fields)))


async def test_create_user_with_documented_body_and_hr_fields(graph, raw, api):
    t = tag()
    created = await graph.users.post(new_hire(t))
    assert created is not None and created.id, "201 with the new user"
    assert created.user_principal_name == f"AdeleV.{t}@contoso.example"
    assert created.display_name == f"Adele Vance {t}"
    assert created.account_enabled is True
    assert created.password_profile is None, "the password is never returned"

    # Read back with $select, as Graph returns HR fields only when selected.
    got = await graph.users.by_user_id(created.id).get(select(*HR_FIELDS))
    assert got.id == created.id
    assert got.given_name == "Adele" and got.surname == "Vance"
    assert got.job_title == "Product Marketing Manager"
    assert got.department == f"Marketing {t}"
    assert got.employee_id == f"E-{t}"
    assert got.employee_type == "Employee"
    assert got.employee_hire_date == HIRE_DATE
    assert got.employee_leave_date_time == LEAVE_DATE
    assert got.company_name == "Contoso"
    assert got.office_location == "18/2111"
    assert got.usage_location == "US"
    assert got.preferred_language == "en-US"
    assert got.mail_nickname == f"AdeleV{t}"
    assert got.other_mails == [f"adele.{t}@personal.example"]
    assert got.account_enabled is True

    # The raw answers: Graph's @odata.context, and the password nowhere.
    res = raw.get(f"/users/{created.id}")
    assert res.status_code == 200, show(res)
    assert res.json().get("@odata.context") == f"{api}/$metadata#users/$entity", res.json()
    assert "xWwvJ]6NMw+bWH-d" not in res.text
    res = raw.get(f"/users/{created.id}", params={"$select": ",".join(HR_FIELDS)})
    assert res.status_code == 200, show(res)
    assert "xWwvJ]6NMw+bWH-d" not in res.text


async def test_create_user_raw_answers_201_with_context_and_location(raw, api):
    t = tag()
    body = {
        "@odata.type": "microsoft.graph.user",  # without the '#', as some docs write it
        "accountEnabled": True,
        "displayName": f"Raw {t}",
        "mailNickname": f"raw{t}",
        "userPrincipalName": f"raw.{t}@example.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": "Secret-123-abc"},
    }
    res = raw.post("/users", body)
    assert res.status_code == 201, show(res)
    user = res.json()
    assert user["@odata.context"] == f"{api}/$metadata#users/$entity", user
    assert user["userPrincipalName"] == f"raw.{t}@example.com"
    assert "Secret-123-abc" not in res.text
    assert res.headers.get("location", "").endswith(f"/users/{user['id']}"), dict(res.headers)


async def test_create_user_refuses_another_odata_type(raw):
    t = tag()
    res = raw.post(
        "/users",
        {
            "@odata.type": "#microsoft.graph.group",
            "accountEnabled": True,
            "displayName": f"Wrong type {t}",
            "mailNickname": f"wt{t}",
            "userPrincipalName": f"wt.{t}@example.com",
        },
    )
    assert_graph_error(res, 400, "Request_BadRequest", "@odata.type")


@pytest.mark.parametrize(
    "field,value",
    [
        ("employeeHireDate", "next monday"),
        ("accountEnabled", "yes"),
        ("otherMails", "one@example.com"),
        ("usageLocation", 12),
    ],
)
async def test_create_user_refuses_a_badly_typed_field(raw, field, value):
    t = tag()
    body = {
        "accountEnabled": True,
        "displayName": f"Typed {t}",
        "mailNickname": f"ty{t}",
        "userPrincipalName": f"ty.{t}@example.com",
        field: value,
    }
    assert_graph_error(raw.post("/users", body), 400, "Request_BadRequest", field)


async def test_get_user_by_upn_case_insensitively(graph, new_user):
    user = new_user()
    got = await graph.users.by_user_id(user["userPrincipalName"].upper()).get()
    assert got.id == user["id"]


async def test_patch_changes_only_what_is_sent_and_null_clears(graph, raw):
    t = tag()
    created = await graph.users.post(new_hire(t))
    await graph.users.by_user_id(created.id).patch(
        User(job_title="Head of Marketing", office_location="19/3000", department=f"Growth {t}")
    )
    got = await graph.users.by_user_id(created.id).get(select(*HR_FIELDS))
    assert got.job_title == "Head of Marketing"
    assert got.office_location == "19/3000"
    assert got.department == f"Growth {t}"
    assert got.given_name == "Adele", "fields not sent stay"
    assert got.employee_hire_date == HIRE_DATE

    res = raw.patch(f"/users/{created.id}", {"officeLocation": None, "employeeLeaveDateTime": None})
    assert res.status_code == 204, show(res)
    got = await graph.users.by_user_id(created.id).get(select("officeLocation", "employeeLeaveDateTime", "jobTitle"))
    assert got.office_location is None and got.employee_leave_date_time is None
    assert got.job_title == "Head of Marketing"

    # accountEnabled false, through the SDK.
    await graph.users.by_user_id(created.id).patch(User(account_enabled=False))
    got = await graph.users.by_user_id(created.id).get(select("accountEnabled"))
    assert got.account_enabled is False


async def test_patch_refuses_unknown_properties_and_changes_nothing(raw, graph, new_user):
    user = new_user()
    res = raw.patch(f"/users/{user['id']}", {"jobTitle": "Changed", "shoeSize": 44})
    assert_graph_error(res, 400, "Request_BadRequest", "shoeSize")
    got = await graph.users.by_user_id(user["id"]).get(select("jobTitle"))
    assert got.job_title is None, "a refused PATCH changes nothing"


async def test_patch_accepts_and_discards_password_profile(raw, new_user):
    user = new_user()
    res = raw.patch(
        f"/users/{user['id']}",
        {"passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "Another-Secret-456"}},
    )
    assert res.status_code == 204, show(res)
    assert "Another-Secret-456" not in raw.get(f"/users/{user['id']}").text


async def test_delete_user(graph, new_user):
    user = new_user()
    await graph.users.by_user_id(user["id"]).delete()
    with pytest.raises(Exception) as caught:
        await graph.users.by_user_id(user["id"]).get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")
    with pytest.raises(Exception) as caught:
        await graph.users.by_user_id(user["id"]).delete()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")


async def test_manager_by_ref(graph, raw, api, new_user):
    employee, manager = new_user("employee"), new_user("manager")
    await graph.users.by_user_id(employee["id"]).manager.ref.put(
        ReferenceUpdate(odata_id=f"{api}/users/{manager['id']}")
    )
    got = await graph.users.by_user_id(employee["id"]).manager.get()
    assert got is not None and got.id == manager["id"]
    assert isinstance(got, User), f"the manager comes back as #microsoft.graph.user, not {type(got).__name__}"
    assert got.user_principal_name == manager["userPrincipalName"]

    # Replacing the manager (Graph's directoryObjects form of the reference).
    other = new_user("manager")
    res = raw.put(f"/users/{employee['id']}/manager/$ref", {"@odata.id": f"{api}/directoryObjects/{other['id']}"})
    assert res.status_code == 204, show(res)
    assert (await graph.users.by_user_id(employee["id"]).manager.get()).id == other["id"]

    await graph.users.by_user_id(employee["id"]).manager.ref.delete()
    with pytest.raises(Exception) as caught:
        await graph.users.by_user_id(employee["id"]).manager.get()
    assert_sdk_error(caught.value, 404, "Request_ResourceNotFound")


async def test_manager_ref_to_a_missing_user_is_404(raw, api, new_user):
    employee = new_user()
    missing = "00000000-0000-4000-8000-000000000000"
    res = raw.put(f"/users/{employee['id']}/manager/$ref", {"@odata.id": f"{api}/users/{missing}"})
    assert_graph_error(res, 404, "Request_ResourceNotFound", missing)
    res = raw.put(f"/users/{employee['id']}/manager/$ref", {})
    assert_graph_error(res, 400, "Request_BadRequest", "@odata.id")
