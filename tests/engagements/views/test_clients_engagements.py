"""Client and engagement pages: lists with search and filters, forms, and the
engagement detail page with its team, roles, activity and history."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm

from engagements.enums import EngagementRole, EngagementStatus, GoalStatus
from engagements.models import Client, Engagement, Plan
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    GoalCheckInFactory,
    GoalFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import BusinessUnitFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15
INVALID_CHOICE = (
    "Select a valid choice. That choice is not one of the available choices."
)


# --- helpers -------------------------------------------------------------------------


def _url(name: str, org: Any, *args: Any) -> str:
    return reverse(f"engagements:{name}", args=[org.slug, *args])


def _field_error(page: str, name: str) -> str | None:
    """The error text shown under field ``name``, unescaped, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _employee_of(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def _assign(engagement: Engagement, member: Membership, role: str) -> None:
    with tenant_context(engagement.organization):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=Employee.objects.get(user=member.user),
            role=role,
        )


def _clients(org: Any) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(Client.objects.order_by("pk").values())


def _engagements(org: Any) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(Engagement.objects.order_by("pk").values())


def _stored(obj: Any) -> dict[str, Any]:
    with tenant_context(obj.organization):
        return type(obj).objects.filter(pk=obj.pk).values().get()


def _listed(response: Any, key: str = "engagements") -> list[str]:
    return [item.name for item in response.context[key]]


def _query_count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _engagement_data(owner: Client, **overrides: Any) -> dict[str, Any]:
    data = {
        "client": owner.pk,
        "code": "NEW-01",
        "name": "New engagement",
        "description": "",
        "business_unit": "",
        "start_date": "2025-01-01",
        "end_date": "2025-06-30",
        "status": EngagementStatus.PLANNED,
    }
    data.update(overrides)
    return data


def _edit_data(engagement: Engagement, **overrides: Any) -> dict[str, Any]:
    data = {
        "client": engagement.client_id,
        "code": engagement.code,
        "name": engagement.name,
        "description": engagement.description,
        "business_unit": engagement.business_unit_id or "",
        "start_date": engagement.start_date.isoformat(),
        "end_date": engagement.end_date.isoformat(),
        "status": engagement.status,
    }
    data.update(overrides)
    return data


@pytest.fixture
def people(org, make_member):
    """Members around one engagement: staffed, their line manager, a planner, and
    people with no tie to it."""
    line_manager = make_member(org, Role.MANAGER)
    staffed = make_member(org, Role.EMPLOYEE)
    with tenant_context(org):
        entry = Employee.objects.get(user=staffed.user)
        entry.line_manager = Employee.objects.get(user=line_manager.user)
        entry.save()
    return {
        "line_manager": line_manager,
        "staffed": staffed,
        "planner": make_member(org, Role.EMPLOYEE),
        "stranger": make_member(org, Role.EMPLOYEE),
        "other_manager": make_member(org, Role.MANAGER),
    }


@pytest.fixture
def engagement(org, people):
    """An engagement with ``staffed`` on it and ``planner`` as its planner."""
    engagement = EngagementFactory(organization=org, name="Staffed engagement")
    PlanFactory(
        organization=org,
        engagement=engagement,
        employee=_employee_of(people["staffed"]),
        role_title="Analyst",
    )
    _assign(engagement, people["planner"], EngagementRole.PLANNER)
    return engagement


# --- clients: authorisation --------------------------------------------------------------


@pytest.mark.parametrize("page", ["clients", "client_create", "client_edit"])
def test_client_pages_open_for_hr_admins(client_as, hr_admin, org, page):
    client = ClientFactory(organization=org)
    args = [client.pk] if page == "client_edit" else []

    response = client_as(hr_admin).get(_url(page, org, *args))

    assert response.status_code == 200


@pytest.mark.parametrize("page", ["clients", "client_create", "client_edit"])
@pytest.mark.parametrize("role", ["line_manager", "staffed", "planner"])
def test_client_pages_are_forbidden_to_other_roles(
    client_as, org, people, engagement, page, role
):
    args = [engagement.client_id] if page == "client_edit" else []

    response = client_as(people[role]).get(_url(page, org, *args))

    assert response.status_code == 403


def test_client_edit_of_another_organisation_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = ClientFactory(organization=other_org)
    before = _stored(foreign)

    response = client_as(hr_admin).post(
        _url("client_edit", org, foreign.pk), {"name": "Taken over"}
    )

    assert response.status_code == 404
    assert _stored(foreign) == before


def test_client_edit_refuses_other_roles_before_the_lookup(
    client_as, employee_member, org, other_org
):
    foreign = ClientFactory(organization=other_org)

    codes = [
        client_as(employee_member).get(_url("client_edit", org, pk)).status_code
        for pk in (foreign.pk, 999_999_999)
    ]

    assert codes == [403, 403]


def test_client_create_by_a_manager_is_forbidden_and_saves_nothing(
    client_as, manager, org
):
    response = client_as(manager).post(_url("client_create", org), {"name": "Nope"})

    assert response.status_code == 403
    assert _clients(org) == []


# --- clients: list, create, edit ---------------------------------------------------------


def test_client_list_searches_name_industry_and_email(client_as, hr_admin, org):
    ClientFactory(organization=org, name="Alpha Bank", industry="Banking")
    ClientFactory(organization=org, name="Beta Retail", industry="Retail")
    ClientFactory(
        organization=org,
        name="Gamma",
        industry="Energy",
        contact_email="ops@gamma.test",
    )
    client = client_as(hr_admin)

    found = [
        _listed(client.get(_url("clients", org), {"q": q}), "clients")
        for q in ("alpha", "retail", "gamma.test", "  ")
    ]

    assert found == [
        ["Alpha Bank"],
        ["Beta Retail"],
        ["Gamma"],
        ["Alpha Bank", "Beta Retail", "Gamma"],
    ]


def test_client_list_shows_no_client_of_another_organisation(
    client_as, hr_admin, org, other_org
):
    ClientFactory(organization=org, name="Ours")
    ClientFactory(organization=other_org, name="Theirs")

    response = client_as(hr_admin).get(_url("clients", org))

    assert _listed(response, "clients") == ["Ours"]


def test_client_list_paginates_and_keeps_the_search(client_as, hr_admin, org):
    for number in range(27):
        ClientFactory(organization=org, name=f"Bulk {number:02d}")
    client = client_as(hr_admin)

    first = client.get(_url("clients", org), {"q": "Bulk"})
    second = client.get(_url("clients", org), {"q": "Bulk", "page": 2})

    assert (len(_listed(first, "clients")), _listed(second, "clients")) == (
        25,
        ["Bulk 25", "Bulk 26"],
    )
    assert "?q=Bulk&amp;page=2" in first.content.decode()


def test_client_list_counts_engagements(client_as, hr_admin, org):
    busy = ClientFactory(organization=org, name="Busy")
    ClientFactory(organization=org, name="Idle")
    EngagementFactory.create_batch(2, organization=org, client=busy)

    response = client_as(hr_admin).get(_url("clients", org))

    assert [(c.name, c.n_engagements) for c in response.context["clients"]] == [
        ("Busy", 2),
        ("Idle", 0),
    ]


def test_client_create_adds_a_client(client_as, hr_admin, org):
    response = client_as(hr_admin).post(
        _url("client_create", org),
        {"name": "Acme Bank", "industry": "Banking", "contact_email": "a@b.test"},
    )

    assert response.status_code == 302
    assert response["Location"] == _url("clients", org)
    assert [(c["name"], c["industry"], c["contact_email"]) for c in _clients(org)] == [
        ("Acme Bank", "Banking", "a@b.test")
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "acme bank"}, "name", "A client with this name exists already."),
        ({"name": ""}, "name", "This field is required."),
        (
            {"name": "Fresh", "contact_email": "not-an-address"},
            "contact_email",
            "Enter a valid email address.",
        ),
    ],
)
def test_client_create_refuses_bad_input_beside_the_field(
    client_as, hr_admin, org, data, field, message
):
    ClientFactory(organization=org, name="Acme Bank")
    before = _clients(org)

    response = client_as(hr_admin).post(_url("client_create", org), data)

    assert response.status_code == 400
    assert _field_error(response.content.decode(), field) == message
    assert _clients(org) == before


def test_client_create_accepts_a_name_used_in_another_organisation(
    client_as, hr_admin, org, other_org
):
    ClientFactory(organization=other_org, name="Acme Bank")

    response = client_as(hr_admin).post(
        _url("client_create", org), {"name": "Acme Bank"}
    )

    assert response.status_code == 302
    assert [c["name"] for c in _clients(org)] == ["Acme Bank"]


def test_client_edit_saves_changes_and_keeps_its_own_name(client_as, hr_admin, org):
    client = ClientFactory(organization=org, name="Keep")

    response = client_as(hr_admin).post(
        _url("client_edit", org, client.pk), {"name": "Keep", "industry": "Energy"}
    )

    assert response.status_code == 302
    assert (_stored(client)["name"], _stored(client)["industry"]) == ("Keep", "Energy")


def test_client_edit_refuses_another_clients_name(client_as, hr_admin, org):
    ClientFactory(organization=org, name="Taken")
    client = ClientFactory(organization=org, name="Mine")
    before = _stored(client)

    response = client_as(hr_admin).post(
        _url("client_edit", org, client.pk), {"name": "TAKEN", "industry": "X"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "name") == "A client with this name exists already."
    assert "Edit Mine" in page
    assert _stored(client) == before


# --- engagements: list and filters -------------------------------------------------------


def test_engagement_list_shows_hr_admins_every_engagement_of_their_organisation(
    client_as, hr_admin, org, other_org, engagement
):
    EngagementFactory(organization=org, name="Unstaffed")
    EngagementFactory(organization=other_org, name="Foreign")

    response = client_as(hr_admin).get(_url("engagements", org))

    assert sorted(_listed(response)) == ["Staffed engagement", "Unstaffed"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("staffed", ["Staffed engagement"]),
        ("line_manager", ["Staffed engagement"]),
        ("planner", ["Staffed engagement"]),
        ("stranger", []),
        ("other_manager", []),
    ],
)
def test_engagement_list_shows_members_only_the_engagements_they_can_see(
    client_as, org, other_org, people, engagement, role, expected
):
    EngagementFactory(organization=org, name="Unrelated")
    EngagementFactory(organization=other_org, name="Foreign")

    response = client_as(people[role]).get(_url("engagements", org))

    assert response.status_code == 200
    assert _listed(response) == expected
    assert response.context["can_manage"] is False


def test_engagement_list_shows_an_engagement_held_through_a_group_permission(
    client_as, org, people, engagement
):
    """Guardian's group permissions are one of the ways in (the list reads them with
    the member's own permissions, their staffing and their reports' staffing)."""
    member = people["stranger"]
    group = Group.objects.create(name="engagement-viewers")
    member.user.groups.add(group)
    with tenant_context(org):
        assign_perm("engagements.view_engagement", group, engagement)

    response = client_as(member).get(_url("engagements", org))

    assert _listed(response) == ["Staffed engagement"]
    assert response.context["paginator"].count == 1


def test_engagement_list_counts_an_engagement_reached_several_ways_once(
    client_as, org, people, engagement
):
    """The planner is also staffed on the engagement, and manages someone on it."""
    planner = people["planner"]
    PlanFactory(organization=org, engagement=engagement, employee=_employee_of(planner))
    with tenant_context(org):
        report = _employee_of(people["stranger"])
        report.line_manager = _employee_of(planner)
        report.save()
    PlanFactory(organization=org, engagement=engagement, employee=report)

    response = client_as(planner).get(_url("engagements", org))

    assert _listed(response) == ["Staffed engagement"]
    assert response.context["paginator"].count == 1


def test_engagement_list_shows_each_status_as_its_badge(client_as, hr_admin, org):
    for status in EngagementStatus:
        EngagementFactory(organization=org, status=status)

    page = client_as(hr_admin).get(_url("engagements", org)).content.decode()

    assert sorted(re.findall(r'<span class="badge ([^"]+)">(\w+)</span>', page)) == [
        ("text-bg-info", "Planned"),
        ("text-bg-secondary", "Closed"),
        ("text-bg-success", "Active"),
    ]


@pytest.fixture
def catalogue(org):
    """Three engagements across two clients, two units, three statuses and periods."""
    bank = ClientFactory(organization=org, name="Bank")
    shop = ClientFactory(organization=org, name="Shop")
    north = BusinessUnitFactory(organization=org, name="North")
    south = BusinessUnitFactory(organization=org, name="South")
    spring = EngagementFactory(
        organization=org,
        client=bank,
        business_unit=north,
        code="BNK-1",
        name="Spring audit",
        start_date=date(2025, 1, 1),
        end_date=date(2025, 3, 31),
        status=EngagementStatus.CLOSED,
    )
    summer = EngagementFactory(
        organization=org,
        client=bank,
        business_unit=south,
        code="BNK-2",
        name="Summer rollout",
        start_date=date(2025, 4, 1),
        end_date=date(2025, 6, 30),
        status=EngagementStatus.ACTIVE,
    )
    autumn = EngagementFactory(
        organization=org,
        client=shop,
        business_unit=north,
        code="SHP-1",
        name="Autumn review",
        start_date=date(2025, 7, 1),
        end_date=date(2025, 12, 31),
        status=EngagementStatus.PLANNED,
    )
    return {
        "bank": bank,
        "shop": shop,
        "north": north,
        "south": south,
        "spring": spring,
        "summer": summer,
        "autumn": autumn,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda c: {"client": c["bank"].pk}, ["Spring audit", "Summer rollout"]),
        (lambda c: {"client": c["shop"].pk}, ["Autumn review"]),
        (lambda c: {"status": EngagementStatus.ACTIVE}, ["Summer rollout"]),
        (lambda c: {"status": EngagementStatus.CLOSED}, ["Spring audit"]),
        (
            lambda c: {"business_unit": c["north"].pk},
            ["Autumn review", "Spring audit"],
        ),
        (lambda c: {"business_unit": c["south"].pk}, ["Summer rollout"]),
        (
            lambda c: {"date_from": "2025-03-15", "date_to": "2025-04-15"},
            ["Spring audit", "Summer rollout"],
        ),
        (lambda c: {"date_from": "2025-07-01"}, ["Autumn review"]),
        (lambda c: {"date_to": "2025-03-31"}, ["Spring audit"]),
        (
            lambda c: {"date_from": "2025-06-30", "date_to": "2025-07-01"},
            ["Autumn review", "Summer rollout"],
        ),
        (lambda c: {"q": "bnk-2"}, ["Summer rollout"]),
        (lambda c: {"q": "autumn"}, ["Autumn review"]),
        (lambda c: {"q": "shop"}, ["Autumn review"]),
        (
            lambda c: {"client": c["bank"].pk, "business_unit": c["north"].pk},
            ["Spring audit"],
        ),
        (lambda c: {}, ["Autumn review", "Spring audit", "Summer rollout"]),
    ],
)
def test_engagement_list_filters_narrow_the_list(
    client_as, hr_admin, org, catalogue, params, expected
):
    response = client_as(hr_admin).get(_url("engagements", org), params(catalogue))

    assert response.status_code == 200
    assert sorted(_listed(response)) == expected


def test_engagement_list_refuses_a_date_range_that_ends_before_it_starts(
    client_as, hr_admin, org, catalogue
):
    response = client_as(hr_admin).get(
        _url("engagements", org), {"date_from": "2025-06-01", "date_to": "2025-05-01"}
    )

    assert response.status_code == 200
    assert (
        _field_error(response.content.decode(), "date_to")
        == "The 'To' date is before the 'From' date; pick a later 'To' date."
    )
    assert _listed(response) == []


def test_engagement_list_filter_by_another_organisations_client_shows_nothing(
    client_as, hr_admin, org, other_org, catalogue
):
    foreign = ClientFactory(organization=other_org)
    EngagementFactory(organization=other_org, client=foreign)

    response = client_as(hr_admin).get(_url("engagements", org), {"client": foreign.pk})

    assert response.status_code == 200
    assert _listed(response) == []


def test_engagement_list_offers_members_only_clients_they_can_see(
    client_as, org, people, engagement, catalogue
):
    response = client_as(people["staffed"]).get(_url("engagements", org))

    with tenant_context(org):
        choices = list(response.context["filter"].form.fields["client"].queryset)
    assert choices == [engagement.client]


def test_engagement_list_paginates_by_25_and_keeps_the_filters(
    client_as, hr_admin, org
):
    bank = ClientFactory(organization=org, name="Bank")
    for number in range(27):
        EngagementFactory(
            organization=org,
            client=bank,
            name=f"Bulk {number:02d}",
            start_date=date(2025, 1, 1),
        )
    client = client_as(hr_admin)

    first = client.get(_url("engagements", org), {"client": bank.pk})
    second = client.get(_url("engagements", org), {"client": bank.pk, "page": 2})

    assert (len(_listed(first)), _listed(second)) == (25, ["Bulk 25", "Bulk 26"])
    assert f"?client={bank.pk}&amp;page=2" in first.content.decode()


def test_engagement_list_shows_the_team_size(client_as, hr_admin, org):
    engagement = EngagementFactory(organization=org)
    person = EmployeeFactory(organization=org)
    PlanFactory(organization=org, engagement=engagement, employee=person)
    PlanFactory(organization=org, engagement=engagement, employee=person)
    PlanFactory(organization=org, engagement=engagement)

    response = client_as(hr_admin).get(_url("engagements", org))

    assert [e.team_size for e in response.context["engagements"]] == [2]


# --- engagements: create and edit --------------------------------------------------------


@pytest.mark.parametrize("page", ["engagement_create", "engagement_edit"])
@pytest.mark.parametrize("role", ["line_manager", "staffed", "planner", "stranger"])
def test_engagement_forms_are_forbidden_to_other_roles(
    client_as, org, people, engagement, page, role
):
    args = [engagement.pk] if page == "engagement_edit" else []
    before = _engagements(org)

    get = client_as(people[role]).get(_url(page, org, *args))
    post = client_as(people[role]).post(
        _url(page, org, *args), _edit_data(engagement, name="Hijacked", code="X-1")
    )

    assert (get.status_code, post.status_code) == (403, 403)
    assert _engagements(org) == before


def test_engagement_edit_of_another_organisation_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = EngagementFactory(organization=other_org)
    before = _stored(foreign)

    response = client_as(hr_admin).post(
        _url("engagement_edit", org, foreign.pk), _edit_data(foreign, name="Mine")
    )

    assert response.status_code == 404
    assert _stored(foreign) == before


def test_engagement_create_adds_an_engagement(client_as, hr_admin, org):
    client = ClientFactory(organization=org)
    unit = BusinessUnitFactory(organization=org)

    response = client_as(hr_admin).post(
        _url("engagement_create", org),
        _engagement_data(client, business_unit=unit.pk, description="Scope"),
    )

    rows = _engagements(org)
    assert response.status_code == 302
    assert response["Location"] == _url("engagement_detail", org, rows[0]["id"])
    assert [
        (r["client_id"], r["code"], r["business_unit_id"], r["description"])
        for r in rows
    ] == [(client.pk, "NEW-01", unit.pk, "Scope")]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"code": "taken-1"},
            "code",
            "Another engagement already uses this code.",
        ),
        (
            {"start_date": "2025-06-01", "end_date": "2025-05-31"},
            "end_date",
            "The end cannot be before the start.",
        ),
        ({"client": ""}, "client", "This field is required."),
        ({"status": "bogus"}, "status", None),
    ],
)
def test_engagement_create_refuses_bad_input_beside_the_field(
    client_as, hr_admin, org, overrides, field, message
):
    client = ClientFactory(organization=org)
    EngagementFactory(organization=org, client=client, code="TAKEN-1")
    before = _engagements(org)

    response = client_as(hr_admin).post(
        _url("engagement_create", org), _engagement_data(client, **overrides)
    )

    error = _field_error(response.content.decode(), field)
    assert response.status_code == 400
    assert error == (
        message or "Select a valid choice. bogus is not one of the available choices."
    )
    assert _engagements(org) == before


@pytest.mark.parametrize("field", ["client", "business_unit"])
def test_engagement_create_refuses_a_reference_to_another_organisation(
    client_as, hr_admin, org, other_org, field
):
    mine = ClientFactory(organization=org)
    foreign = EngagementFactory(
        organization=other_org,
        business_unit=BusinessUnitFactory(organization=other_org),
    )
    foreign_ids = {
        "client": foreign.client_id,
        "business_unit": foreign.business_unit_id,
    }

    response = client_as(hr_admin).post(
        _url("engagement_create", org),
        _engagement_data(mine, **{field: foreign_ids[field]}),
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), field) == INVALID_CHOICE
    assert _engagements(org) == []


def test_engagement_create_accepts_a_code_used_in_another_organisation(
    client_as, hr_admin, org, other_org
):
    EngagementFactory(organization=other_org, code="NEW-01")

    response = client_as(hr_admin).post(
        _url("engagement_create", org),
        _engagement_data(ClientFactory(organization=org)),
    )

    assert response.status_code == 302
    assert [r["code"] for r in _engagements(org)] == ["NEW-01"]


def test_engagement_edit_saves_valid_changes(client_as, hr_admin, org, engagement):
    response = client_as(hr_admin).post(
        _url("engagement_edit", org, engagement.pk),
        _edit_data(engagement, name="Renamed", status=EngagementStatus.CLOSED),
    )

    stored = _stored(engagement)
    assert response.status_code == 302
    assert response["Location"] == _url("engagement_detail", org, engagement.pk)
    assert (stored["name"], stored["status"], stored["code"]) == (
        "Renamed",
        EngagementStatus.CLOSED,
        engagement.code,
    )


def test_engagement_edit_refuses_dates_that_leave_plans_outside(
    client_as, hr_admin, org, engagement
):
    before = _stored(engagement)

    response = client_as(hr_admin).post(
        _url("engagement_edit", org, engagement.pk),
        _edit_data(
            engagement, name="Renamed", start_date="2026-01-01", end_date="2026-06-30"
        ),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "end_date") == (
        "Some plans on this engagement fall outside these dates. "
        "Change those plans first."
    )
    assert "Edit Staffed engagement" in html.unescape(page)
    assert _stored(engagement) == before


def test_engagement_edit_refuses_another_engagements_code(
    client_as, hr_admin, org, engagement
):
    EngagementFactory(organization=org, code="OTHER-9")
    before = _stored(engagement)

    response = client_as(hr_admin).post(
        _url("engagement_edit", org, engagement.pk),
        _edit_data(engagement, code="other-9"),
    )

    assert response.status_code == 400
    assert (
        _field_error(response.content.decode(), "code")
        == "Another engagement already uses this code."
    )
    assert _stored(engagement) == before


# --- engagement detail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staffed", 200),
        ("line_manager", 200),
        ("planner", 200),
        ("stranger", 404),
        ("other_manager", 404),
    ],
)
def test_engagement_detail_is_for_those_who_can_see_the_engagement(
    client_as, org, people, engagement, role, status
):
    response = client_as(people[role]).get(
        _url("engagement_detail", org, engagement.pk)
    )

    assert response.status_code == status


def test_engagement_detail_opens_for_hr_admins(client_as, hr_admin, org, engagement):
    response = client_as(hr_admin).get(_url("engagement_detail", org, engagement.pk))

    assert response.status_code == 200


@pytest.mark.parametrize("role", ["hr_admin", "staffed", "planner"])
def test_engagement_detail_of_another_organisation_is_404(
    client_as, hr_admin, org, other_org, people, engagement, role
):
    foreign = EngagementFactory(organization=other_org)
    member = hr_admin if role == "hr_admin" else people[role]

    codes = [
        client_as(member).get(_url("engagement_detail", org, pk)).status_code
        for pk in (foreign.pk, 999_999_999)
    ]

    assert codes == [404, 404]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("hr_admin", (True, True)),
        ("planner", (False, True)),
        ("staffed", (False, False)),
        ("line_manager", (False, False)),
    ],
)
def test_engagement_detail_tells_the_template_what_the_viewer_may_do(
    client_as, hr_admin, org, people, engagement, role, expected
):
    member = hr_admin if role == "hr_admin" else people[role]

    response = client_as(member).get(_url("engagement_detail", org, engagement.pk))

    assert (response.context["can_manage"], response.context["can_plan"]) == expected
    assert "engagements/partials/engagement_actions.html" in [
        t.name for t in response.templates
    ]


def test_engagement_detail_shows_the_team_with_progress(
    client_as, hr_admin, org, people, engagement
):
    with tenant_context(org):
        plan = Plan.objects.get(engagement=engagement)
    GoalFactory(plan=plan, weight=Decimal("60"), progress=50)
    GoalFactory(
        plan=plan,
        weight=Decimal("40"),
        progress=100,
        status=GoalStatus.ON_TRACK,
        due_date=date(2025, 2, 1),
    )

    response = client_as(hr_admin).get(_url("engagement_detail", org, engagement.pk))

    [(row, visible)] = response.context["team"]
    assert (
        row.plan.employee.full_name,
        row.plan.allocation,
        row.plan.role_title,
        row.goals,
        row.progress,
        row.overdue,
        visible,
    ) == (
        people["staffed"].user.full_name,
        Decimal("50.00"),
        "Analyst",
        2,
        70,
        1,
        True,
    )
    assert 'value="70" max="100"' in response.content.decode()


def test_engagement_detail_links_only_the_plans_the_viewer_may_see(
    client_as, org, people, engagement
):
    teammate_plan = PlanFactory(organization=org, engagement=engagement)
    with tenant_context(org):
        own_plan = Plan.objects.get(
            engagement=engagement, employee__user=people["staffed"].user
        )

    staffed = client_as(people["staffed"]).get(
        _url("engagement_detail", org, engagement.pk)
    )
    planner = client_as(people["planner"]).get(
        _url("engagement_detail", org, engagement.pk)
    )

    own_url = reverse("engagements:plan_detail", args=[org.slug, own_plan.pk])
    other_url = reverse("engagements:plan_detail", args=[org.slug, teammate_plan.pk])
    staffed_page, planner_page = staffed.content.decode(), planner.content.decode()
    assert (own_url in staffed_page, other_url in staffed_page) == (True, False)
    assert (own_url in planner_page, other_url in planner_page) == (True, True)


def test_engagement_detail_groups_role_holders_by_role(
    client_as, hr_admin, org, make_member, people, engagement
):
    reviewer = make_member(org)
    _assign(engagement, reviewer, EngagementRole.REVIEWER)
    _assign(engagement, people["line_manager"], EngagementRole.REVIEWER)

    response = client_as(hr_admin).get(_url("engagement_detail", org, engagement.pk))

    page = html.unescape(response.content.decode())
    assert sorted(
        (a.role, a.employee.full_name) for a in response.context["roles"]
    ) == sorted(
        [
            ("planner", people["planner"].user.full_name),
            ("reviewer", reviewer.user.full_name),
            ("reviewer", people["line_manager"].user.full_name),
        ]
    )
    assert page.count('<dt class="col-sm-4">Reviewer</dt>') == 1
    assert page.count('<dt class="col-sm-4">Planner</dt>') == 1


def _section(client: Any, org: Any, engagement: Engagement, section: str, **kw: Any):
    return client.get(
        _url("engagement_detail", org, engagement.pk), {"section": section}, **kw
    )


def test_engagement_detail_loads_activity_and_history_as_sections(
    client_as, hr_admin, org, engagement
):
    response = client_as(hr_admin).get(_url("engagement_detail", org, engagement.pk))

    page = response.content.decode()
    path = response.wsgi_request.path
    assert f'hx-get="{path}?section=activity"' in page
    assert f'hx-get="{path}?section=history"' in page
    assert '<a href="?section=history">' in page


@pytest.mark.parametrize("section", ["activity", "history"])
def test_engagement_detail_section_over_htmx_is_a_fragment(
    client_as, hr_admin, org, engagement, section
):
    response = _section(
        client_as(hr_admin), org, engagement, section, headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == (
        f"engagements/partials/engagement_{section}.html"
    )
    assert "<html" not in page
    assert "HX-Request" in response["Vary"].split(", ")


@pytest.mark.parametrize("section", ["activity", "history"])
def test_engagement_detail_section_without_javascript_is_a_page(
    client_as, hr_admin, org, engagement, section
):
    response = _section(client_as(hr_admin), org, engagement, section)

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "<html" in page
    assert "Back to the engagement" in page
    assert "engagements/partials/engagement_actions.html" not in [
        t.name for t in response.templates
    ]


@pytest.mark.parametrize("section", ["activity", "history"])
@pytest.mark.parametrize("role", ["stranger", "other_manager"])
def test_engagement_detail_section_is_404_for_those_who_cannot_see_it(
    client_as, org, people, engagement, section, role
):
    response = _section(client_as(people[role]), org, engagement, section)

    assert response.status_code == 404


@pytest.mark.parametrize("section", ["activity", "history"])
def test_engagement_detail_section_of_another_organisation_is_404(
    client_as, hr_admin, org, other_org, section
):
    foreign = EngagementFactory(organization=other_org)

    response = _section(client_as(hr_admin), org, foreign, section)

    assert response.status_code == 404


def test_engagement_detail_ignores_an_unknown_section(
    client_as, hr_admin, org, engagement
):
    response = _section(client_as(hr_admin), org, engagement, "bogus")

    assert response.status_code == 200
    assert "team" in response.context


def test_engagement_detail_shows_check_ins_only_on_plans_the_viewer_may_see(
    client_as, hr_admin, org, people, engagement
):
    with tenant_context(org):
        own_plan = Plan.objects.get(engagement=engagement)
    teammate_plan = PlanFactory(organization=org, engagement=engagement)
    GoalCheckInFactory(goal=GoalFactory(plan=own_plan), note="Own progress")
    GoalCheckInFactory(goal=GoalFactory(plan=teammate_plan), note="Teammate secret")

    staffed = _section(client_as(people["staffed"]), org, engagement, "activity")
    planner = _section(client_as(people["planner"]), org, engagement, "activity")
    hr = _section(client_as(hr_admin), org, engagement, "activity")

    assert [c.note for c in staffed.context["checkins"]] == ["Own progress"]
    assert "Teammate secret" not in staffed.content.decode()
    assert sorted(c.note for c in planner.context["checkins"]) == [
        "Own progress",
        "Teammate secret",
    ]
    assert sorted(c.note for c in hr.context["checkins"]) == [
        "Own progress",
        "Teammate secret",
    ]


def test_engagement_detail_activity_shows_the_latest_ten_check_ins(
    client_as, hr_admin, org, engagement
):
    with tenant_context(org):
        plan = Plan.objects.get(engagement=engagement)
    goal = GoalFactory(plan=plan)
    for number in range(12):
        GoalCheckInFactory(goal=goal, progress=number)

    response = _section(client_as(hr_admin), org, engagement, "activity")

    assert [c.progress for c in response.context["checkins"]] == list(range(11, 1, -1))


def test_engagement_detail_history_merges_engagement_roles_and_plans(
    client_as, hr_admin, org, people, engagement
):
    client = client_as(hr_admin)
    client.post(
        _url("engagement_edit", org, engagement.pk),
        _edit_data(engagement, name="Renamed engagement"),
    )

    response = _section(client, org, engagement, "history")

    subjects = [entry["subject"] for entry in response.context["timeline"]]
    staffed_name = people["staffed"].user.full_name
    planner_name = people["planner"].user.full_name
    with tenant_context(org):
        cycle_name = Plan.objects.get(engagement=engagement).cycle.name
    assert sorted(subjects) == sorted(
        [
            "Engagement",
            "Engagement",
            f"Plan: {staffed_name} in {cycle_name}",
            f"Role: {planner_name} as Planner",
        ]
    )
    assert response.context["timeline"][0]["changes"] == [
        {"field": "name", "old": "Staffed engagement", "new": "Renamed engagement"}
    ]
    assert f"Role: {planner_name} as Planner" in html.unescape(
        response.content.decode()
    )


def test_engagement_detail_history_names_changed_references(
    client_as, hr_admin, org, people, engagement
):
    new_client = ClientFactory(organization=org, name="New Client Ltd")
    client = client_as(hr_admin)
    client.post(
        _url("engagement_edit", org, engagement.pk),
        _edit_data(engagement, client=new_client.pk),
    )

    response = _section(client, org, engagement, "history")

    assert response.context["timeline"][0]["changes"] == [
        {"field": "client", "old": engagement.client.name, "new": "New Client Ltd"}
    ]


def test_engagement_detail_history_leaves_out_plans_the_viewer_may_not_see(
    client_as, org, people, engagement
):
    PlanFactory(organization=org, engagement=engagement)

    response = _section(client_as(people["staffed"]), org, engagement, "history")

    staffed_name = people["staffed"].user.full_name
    plan_entries = [
        str(entry["subject"])
        for entry in response.context["timeline"]
        if str(entry["subject"]).startswith("Plan:")
    ]
    assert [s.split(" in ")[0] for s in plan_entries] == [f"Plan: {staffed_name}"]


# --- query counts --------------------------------------------------------------------------


def _grow(total: int, have: int, make: Any) -> None:
    for _ in range(total - have):
        make()


def test_client_list_query_count_is_flat(client_as, hr_admin, org):
    client = client_as(hr_admin)
    url = _url("clients", org)
    client.get(url)
    counts = []

    for total in (1, 3, 30):
        _grow(
            total,
            len(_clients(org)),
            lambda: EngagementFactory(organization=org).client,
        )
        counts.append(_query_count(client, url))

    assert counts == [counts[0]] * 3
    assert counts[0] <= QUERY_BUDGET


@pytest.mark.parametrize("role", ["hr_admin", "staffed", "line_manager", "planner"])
def test_engagement_list_query_count_is_flat(client_as, hr_admin, org, people, role):
    member = hr_admin if role == "hr_admin" else people[role]
    staffed = _employee_of(people["staffed"])
    cycle = ReviewCycleFactory(organization=org)
    client = client_as(member)
    url = _url("engagements", org)
    client.get(url)
    counts = []

    def make() -> None:
        engagement = EngagementFactory(
            organization=org, business_unit=BusinessUnitFactory(organization=org)
        )
        PlanFactory(
            organization=org, cycle=cycle, engagement=engagement, employee=staffed
        )
        _assign(engagement, people["planner"], EngagementRole.PLANNER)

    for total in (1, 3, 30):
        _grow(total, len(_engagements(org)), make)
        response_count = _query_count(client, url)
        counts.append(response_count)

    assert counts == [counts[0]] * 3
    assert counts[0] <= QUERY_BUDGET


@pytest.mark.parametrize("role", ["hr_admin", "planner", "staffed"])
def test_engagement_detail_query_count_is_flat(
    client_as, hr_admin, org, make_member, people, engagement, role
):
    member = hr_admin if role == "hr_admin" else people[role]
    client = client_as(member)
    url = _url("engagement_detail", org, engagement.pk)
    with tenant_context(org):
        cycle = Plan.objects.get(engagement=engagement).cycle

    def make() -> None:
        teammate = make_member(org)
        plan = PlanFactory(
            organization=org,
            cycle=cycle,
            engagement=engagement,
            employee=_employee_of(teammate),
        )
        GoalCheckInFactory(goal=GoalFactory(plan=plan, due_date=date(2025, 2, 1)))
        _assign(engagement, teammate, EngagementRole.CONTRIBUTOR)

    client.get(url)
    counts = []
    for team in (1, 5):
        with tenant_context(org):
            have = Plan.objects.filter(engagement=engagement).count()
        _grow(team, have, make)
        counts.append(_query_count(client, url))

    assert counts == [counts[0]] * 2
    assert counts[0] <= QUERY_BUDGET


@pytest.mark.parametrize("section", ["activity", "history"])
@pytest.mark.parametrize("role", ["hr_admin", "planner", "staffed"])
@pytest.mark.parametrize("htmx", [True, False])
def test_engagement_detail_section_query_count_is_flat(
    client_as, hr_admin, org, make_member, people, engagement, section, role, htmx
):
    member = hr_admin if role == "hr_admin" else people[role]
    client = client_as(member)
    url = _url("engagement_detail", org, engagement.pk) + f"?section={section}"
    headers = {"HX-Request": "true"} if htmx else {}
    with tenant_context(org):
        cycle = Plan.objects.get(engagement=engagement).cycle

    def make() -> None:
        teammate = make_member(org)
        plan = PlanFactory(
            organization=org,
            cycle=cycle,
            engagement=engagement,
            employee=_employee_of(teammate),
        )
        GoalCheckInFactory(goal=GoalFactory(plan=plan))
        _assign(engagement, teammate, EngagementRole.CONTRIBUTOR)

    client.get(url, headers=headers)
    counts = []
    for team in (1, 5):
        with tenant_context(org):
            have = Plan.objects.filter(engagement=engagement).count()
        _grow(team, have, make)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, headers=headers)
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts == [counts[0]] * 2
    assert counts[0] <= QUERY_BUDGET


@pytest.mark.parametrize("role", ["hr_admin", "planner", "staffed"])
def test_engagement_history_with_changed_references_stays_within_budget(
    client_as, hr_admin, org, people, engagement, role
):
    member = hr_admin if role == "hr_admin" else people[role]
    with tenant_context(org):
        plan = Plan.objects.get(engagement=engagement)
        plan.reviewer = Employee.objects.get(user=people["line_manager"].user)
        plan.role_title = "Lead analyst"
        plan.save()
        stored = Engagement.objects.get(pk=engagement.pk)
        stored.client = ClientFactory(organization=org)
        stored.business_unit = BusinessUnitFactory(organization=org)
        stored.save()
    client = client_as(member)
    url = _url("engagement_detail", org, engagement.pk) + "?section=history"
    client.get(url)

    count = _query_count(client, url)

    assert count <= QUERY_BUDGET


@pytest.mark.parametrize(
    "page", ["client_create", "client_edit", "engagement_create", "engagement_edit"]
)
def test_client_and_engagement_forms_stay_within_the_query_budget(
    client_as, hr_admin, org, engagement, page
):
    args = {
        "client_edit": [engagement.client_id],
        "engagement_edit": [engagement.pk],
    }.get(page, [])
    BusinessUnitFactory.create_batch(3, organization=org)

    count = _query_count(client_as(hr_admin), _url(page, org, *args))

    assert count <= QUERY_BUDGET
