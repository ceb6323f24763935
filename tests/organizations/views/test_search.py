"""The navigation's search (``organizations:search``): what each member finds (only
what they may open, never another organisation's rows), typo tolerance on PostgreSQL,
the fallback for other databases, the short-query and no-result messages, the live
dropdown, and a query count that does not grow with the matches."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse

from engagements.enums import PlanKind
from engagements.selectors.search import search_plans
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.search import DROPDOWN_LIMIT, GROUP_LIMIT, matched
from organizations.selectors import people_directory, search_people
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.engagements.views.helpers import employee_of
from tests.factories import EmployeeFactory, MembershipFactory
from tests.organizations.views.query_budget import PAGE_BUDGET, get_counted, lookups

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """One organisation around the engagement "Nimbus migration" (client "Nimbus
    Bank"): HR, a line manager, their report John Carver and John's peer Priya Sharma
    (who reports to someone else), both staffed on it. Another organisation holds a
    canary of every kind with the same names."""

    org: Organization
    hr: Membership
    manager: Membership
    report: Membership
    peer: Membership


def _named(org: Organization, role: str, name: str, **kwargs: object) -> Membership:
    return MembershipFactory(
        organization=org, role=role, user__full_name=name, **kwargs
    )


def _plant_canaries(other_org: Organization) -> None:
    canary = _named(other_org, Role.EMPLOYEE, "John Canary")
    engagement = EngagementFactory(
        organization=other_org,
        code="NIM-CANARY",
        name="Nimbus canary",
        client=ClientFactory(organization=other_org, name="Nimbus canary client"),
    )
    PlanFactory(
        organization=other_org, employee=employee_of(canary), engagement=engagement
    )


@pytest.fixture
def world(org, other_org) -> World:
    _plant_canaries(other_org)
    hr = _named(org, Role.HR_ADMIN, "Hannah Reyes")
    manager = _named(org, Role.MANAGER, "Martin Ortega")
    other_manager = _named(org, Role.MANAGER, "Olga Brandt")
    report = _named(
        org,
        Role.EMPLOYEE,
        "John Carver",
        employee__line_manager=employee_of(manager),
    )
    peer = _named(
        org,
        Role.EMPLOYEE,
        "Priya Sharma",
        employee__line_manager=employee_of(other_manager),
    )
    cycle = ReviewCycleFactory(organization=org, name="Cycle 2026")
    engagement = EngagementFactory(
        organization=org,
        code="NIM-01",
        name="Nimbus migration",
        client=ClientFactory(organization=org, name="Nimbus Bank", industry="Banking"),
    )
    for member in (report, peer):
        PlanFactory(
            organization=org,
            cycle=cycle,
            employee=employee_of(member),
            engagement=engagement,
        )
    return World(org=org, hr=hr, manager=manager, report=report, peer=peer)


def _search(client, org: Organization, query: str, *, htmx: bool = False):
    url = reverse("organizations:search", args=[org.slug])
    headers = {"HX-Request": "true"} if htmx else {}
    return client.get(url, {"q": query}, headers=headers)


def _found(response) -> dict[str, list[str]]:
    """Each group's labels, by group, for the groups that found something."""
    return {
        group.key: [result.label for result in group.results]
        for group in response.context["groups"]
    }


# --- who finds what -------------------------------------------------------------------


def test_search_shows_hr_every_match_of_their_organisation_and_none_of_another(
    client_as, world
):
    response = _search(client_as(world.hr), world.org, "Nimbus")

    assert response.status_code == 200
    assert _found(response) == {
        "engagements": ["Nimbus migration"],
        "clients": ["Nimbus Bank"],
        "plans": ["John Carver · Nimbus migration", "Priya Sharma · Nimbus migration"],
    }
    assert "anary" not in response.content.decode()


def test_search_finds_people_and_their_plans_by_name_for_hr(client_as, world):
    response = _search(client_as(world.hr), world.org, "John")

    assert _found(response) == {
        "people": ["John Carver"],
        "plans": ["John Carver · Nimbus migration"],
    }
    assert "Canary" not in response.content.decode()


def test_search_shows_an_employee_their_own_plan_but_never_a_peers(client_as, world):
    response = _search(client_as(world.report), world.org, "Nimbus")

    assert _found(response) == {
        "engagements": ["Nimbus migration"],
        "clients": ["Nimbus Bank"],
        "plans": ["John Carver · Nimbus migration"],
    }


def test_search_for_a_peer_by_name_finds_nothing_for_an_employee(client_as, world):
    response = _search(client_as(world.report), world.org, "Priya Sharma")

    assert _found(response) == {}
    assert response.context["found"] == 0


def test_search_shows_a_line_manager_their_report_and_the_reports_plan(
    client_as, world
):
    response = _search(client_as(world.manager), world.org, "Carver")

    assert _found(response) == {
        "people": ["John Carver"],
        "plans": ["John Carver · Nimbus migration"],
    }


def test_search_shows_a_line_manager_nothing_of_someone_elses_report(client_as, world):
    response = _search(client_as(world.manager), world.org, "Sharma")

    assert _found(response) == {}


def test_search_gives_non_hr_members_client_links_to_their_engagement_list(
    client_as, world
):
    response = _search(client_as(world.report), world.org, "Nimbus Bank")

    (clients,) = [g for g in response.context["groups"] if g.key == "clients"]
    engagement_list = reverse("engagements:engagements", args=[world.org.slug])
    assert [r.url.partition("?")[0] for r in clients.results] == [engagement_list]
    assert clients.show_all_url is None


def test_search_result_lines_show_code_cycle_and_status(client_as, world):
    response = _search(client_as(world.hr), world.org, "Nimbus migration")

    groups = {group.key: group for group in response.context["groups"]}
    assert groups["engagements"].results[0].secondary.startswith("NIM-01 · Nimbus Bank")
    assert groups["plans"].results[0].secondary == "NIM-01 · Cycle 2026 · Draft"


# --- matching ---------------------------------------------------------------------------


def test_search_tolerates_a_typo_on_postgresql(client_as, world):
    response = _search(client_as(world.hr), world.org, "Jonh")

    assert _found(response)["people"] == ["John Carver"]


def test_search_ranks_the_closest_name_first_on_postgresql(client_as, world):
    EmployeeFactory(organization=world.org, full_name="Ann Carverton")

    response = _search(client_as(world.hr), world.org, "Carver")

    assert _found(response)["people"] == ["John Carver", "Ann Carverton"]


def test_search_fallback_matches_words_without_similarity(world):
    """The fallback of other databases (SQLite under ``make run``), chosen by the
    vendor: every word in a searched column, no trigram function, the plain order."""
    with tenant_context(world.org):
        queryset = matched(
            people_directory(world.hr),
            "jonh",
            fields=("search_text",),
            similar=("full_name",),
            order=("full_name", "pk"),
            vendor="sqlite",
        )
        sql = str(queryset.query).upper()
        typo = search_people(world.hr, "Jonh", limit=5, vendor="sqlite")
        words = search_people(world.hr, "carver john", limit=5, vendor="sqlite")
        plans = search_plans(world.hr, "nimbus", limit=5, vendor="sqlite")

    assert "SIMILARITY" not in sql
    assert (typo.rows, typo.total) == ([], 0)
    assert [e.full_name for e in words.rows] == ["John Carver"]
    assert [p.employee.full_name for p in plans.rows] == ["John Carver", "Priya Sharma"]
    assert plans.total == 2


def test_search_fallback_keeps_to_what_the_member_may_open(world):
    with tenant_context(world.org):
        plans = search_plans(world.report, "nimbus", limit=5, vendor="sqlite")
        people = search_people(world.report, "priya", limit=5, vendor="sqlite")

    assert [p.employee.full_name for p in plans.rows] == ["John Carver"]
    assert people.total == 0


# --- messages -------------------------------------------------------------------------


def test_search_with_one_character_asks_for_more_and_searches_nothing(client_as, world):
    response = _search(client_as(world.hr), world.org, " J ")

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["groups"] == []
    assert "Type at least 2 characters to search." in page


def test_search_that_finds_nothing_says_what_to_try(client_as, world):
    response = _search(client_as(world.hr), world.org, "Zebulon")

    page = response.content.decode()
    assert response.context["found"] == 0
    assert "Nothing you can open matches “Zebulon”." in page
    assert "Check the spelling" in page


# --- the page, the dropdown and the navigation's box ---------------------------------------


def test_search_group_links_to_the_filtered_list_when_it_has_more_rows(
    client_as, world
):
    for number in range(GROUP_LIMIT + 1):
        EngagementFactory(organization=world.org, name=f"Orion wave {number}")

    response = _search(client_as(world.hr), world.org, "Orion")

    (engagements,) = response.context["groups"]
    expected = reverse("engagements:engagements", args=[world.org.slug]) + "?q=Orion"
    assert (len(engagements.results), engagements.total) == (GROUP_LIMIT, 6)
    assert engagements.show_all_url == expected
    assert f'href="{expected}"' in response.content.decode()


def test_search_answers_htmx_with_the_dropdown(client_as, world):
    for number in range(DROPDOWN_LIMIT + 2):
        EngagementFactory(organization=world.org, name=f"Orion wave {number}")

    response = _search(client_as(world.hr), world.org, "Orion", htmx=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert page.count('role="option"') == DROPDOWN_LIMIT + 1  # and "All results"
    assert "HX-Request" in response["Vary"]
    assert "no-store" in response["Cache-Control"]


def test_navigation_has_the_search_box_for_members(client_as, world):
    response = client_as(world.report).get(
        reverse("organizations:home", args=[world.org.slug])
    )

    page = response.content.decode()
    assert 'data-testid="nav-search"' in page
    assert reverse("organizations:search", args=[world.org.slug]) in page
    assert "js/search.js" in page


# --- cost -------------------------------------------------------------------------------


def _grow(world: World, size: int) -> None:
    """``size`` more matches of every kind for "Nimbus", visible to HR and to John."""
    with tenant_context(world.org):
        report = Employee.objects.get(user=world.report.user)
        cycle = ReviewCycleFactory(organization=world.org)
    for number in range(size):
        engagement = EngagementFactory(
            organization=world.org,
            name=f"Nimbus phase {size}-{number}",
            client=ClientFactory(
                organization=world.org, name=f"Nimbus {size}-{number}"
            ),
        )
        PlanFactory(
            organization=world.org, cycle=cycle, employee=report, engagement=engagement
        )
        EmployeeFactory(
            organization=world.org, full_name=f"Nimbus Person {size}-{number}"
        )
    PlanFactory(
        organization=world.org,
        cycle=cycle,
        employee=report,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )


@pytest.mark.parametrize("who", ["hr", "report"])
def test_search_query_count_is_flat_and_within_budget(client_as, world, who):
    member = getattr(world, who)
    client = client_as(member)
    url = reverse("organizations:search", args=[world.org.slug]) + "?q=Nimbus"
    client.get(url)  # warm the per-process caches (menu, content types)

    _grow(world, 2)
    _, small = get_counted(client, url)
    _grow(world, 10)
    response, large = get_counted(client, url)

    assert response.status_code == 200
    assert response.context["found"] > 20
    assert len(lookups(large)) == len(lookups(small)) <= PAGE_BUDGET
