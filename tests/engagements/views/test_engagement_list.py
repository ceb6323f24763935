"""The engagement list: who sees which engagements, its filters, pagination and
team sizes, and its query count."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from engagements.enums import EngagementRole, EngagementStatus
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.engagements.views.helpers import (
    QUERY_BUDGET,
    employee_of,
    field_error,
    give_role,
    grow,
    listed_names,
    page_url,
    query_count,
    stored_engagements,
)
from tests.factories import BusinessUnitFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


# --- engagements: list and filters -------------------------------------------------------


def test_engagement_list_shows_hr_admins_every_engagement_of_their_organisation(
    client_as, hr_admin, org, other_org, engagement
):
    EngagementFactory(organization=org, name="Unstaffed")
    EngagementFactory(organization=other_org, name="Foreign")

    response = client_as(hr_admin).get(page_url("engagements", org))

    assert sorted(listed_names(response)) == ["Staffed engagement", "Unstaffed"]


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

    response = client_as(people[role]).get(page_url("engagements", org))

    assert response.status_code == 200
    assert listed_names(response) == expected
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

    response = client_as(member).get(page_url("engagements", org))

    assert listed_names(response) == ["Staffed engagement"]
    assert response.context["paginator"].count == 1


def test_engagement_list_counts_an_engagement_reached_several_ways_once(
    client_as, org, people, engagement
):
    """The planner is also staffed on the engagement, and manages someone on it."""
    planner = people["planner"]
    PlanFactory(organization=org, engagement=engagement, employee=employee_of(planner))
    with tenant_context(org):
        report = employee_of(people["stranger"])
        report.line_manager = employee_of(planner)
        report.save()
    PlanFactory(organization=org, engagement=engagement, employee=report)

    response = client_as(planner).get(page_url("engagements", org))

    assert listed_names(response) == ["Staffed engagement"]
    assert response.context["paginator"].count == 1


def test_engagement_list_shows_each_status_as_its_badge(client_as, hr_admin, org):
    for status in EngagementStatus:
        EngagementFactory(organization=org, status=status)

    page = client_as(hr_admin).get(page_url("engagements", org)).content.decode()

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
    made = {"bank": bank, "shop": shop, "north": north, "south": south}
    for key, owner, unit, code, name, start, end, status in [
        ("spring", bank, north, "BNK-1", "Spring audit", (1, 1), (3, 31), "closed"),
        ("summer", bank, south, "BNK-2", "Summer rollout", (4, 1), (6, 30), "active"),
        ("autumn", shop, north, "SHP-1", "Autumn review", (7, 1), (12, 31), "planned"),
    ]:
        made[key] = EngagementFactory(
            organization=org,
            client=owner,
            business_unit=unit,
            code=code,
            name=name,
            start_date=date(2025, *start),
            end_date=date(2025, *end),
            status=EngagementStatus(status),
        )
    return made


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
    response = client_as(hr_admin).get(page_url("engagements", org), params(catalogue))

    assert response.status_code == 200
    assert sorted(listed_names(response)) == expected


def test_engagement_list_refuses_a_date_range_that_ends_before_it_starts(
    client_as, hr_admin, org, catalogue
):
    response = client_as(hr_admin).get(
        page_url("engagements", org),
        {"date_from": "2025-06-01", "date_to": "2025-05-01"},
    )

    assert response.status_code == 200
    assert (
        field_error(response.content.decode(), "date_to")
        == "The 'To' date is before the 'From' date; pick a later 'To' date."
    )
    assert listed_names(response) == []


def test_engagement_list_filter_by_another_organisations_client_shows_nothing(
    client_as, hr_admin, org, other_org, catalogue
):
    foreign = ClientFactory(organization=other_org)
    EngagementFactory(organization=other_org, client=foreign)

    response = client_as(hr_admin).get(
        page_url("engagements", org), {"client": foreign.pk}
    )

    assert response.status_code == 200
    assert listed_names(response) == []


def test_engagement_list_offers_members_only_clients_they_can_see(
    client_as, org, people, engagement, catalogue
):
    response = client_as(people["staffed"]).get(page_url("engagements", org))

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

    first = client.get(page_url("engagements", org), {"client": bank.pk})
    second = client.get(page_url("engagements", org), {"client": bank.pk, "page": 2})

    assert (len(listed_names(first)), listed_names(second)) == (
        25,
        ["Bulk 25", "Bulk 26"],
    )
    assert f"?client={bank.pk}&amp;page=2" in first.content.decode()


def test_engagement_list_shows_the_team_size(client_as, hr_admin, org):
    engagement = EngagementFactory(organization=org)
    person = EmployeeFactory(organization=org)
    PlanFactory(organization=org, engagement=engagement, employee=person)
    PlanFactory(organization=org, engagement=engagement, employee=person)
    PlanFactory(organization=org, engagement=engagement)

    response = client_as(hr_admin).get(page_url("engagements", org))

    assert [e.team_size for e in response.context["engagements"]] == [2]


@pytest.mark.parametrize("role", ["hr_admin", "staffed", "line_manager", "planner"])
def test_engagement_list_query_count_is_flat(client_as, hr_admin, org, people, role):
    member = hr_admin if role == "hr_admin" else people[role]
    staffed = employee_of(people["staffed"])
    cycle = ReviewCycleFactory(organization=org)
    client = client_as(member)
    url = page_url("engagements", org)
    client.get(url)
    counts = []

    def make() -> None:
        engagement = EngagementFactory(
            organization=org, business_unit=BusinessUnitFactory(organization=org)
        )
        PlanFactory(
            organization=org, cycle=cycle, engagement=engagement, employee=staffed
        )
        give_role(engagement, people["planner"], EngagementRole.PLANNER)

    for total in (1, 3, 30):
        grow(total, len(stored_engagements(org)), make)
        response_count = query_count(client, url)
        counts.append(response_count)

    assert counts == [counts[0]] * 3
    assert counts[0] <= QUERY_BUDGET
