"""Searchable pickers: the JSON endpoint (who may use which source, what it lists,
search, pages, query cost) and the pages that used to render the whole organisation
(their size no longer grows with it). The widgets and fields in forms are
test_picker_fields.py's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.enums import EngagementRole
from engagements.models import Engagement
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.pickers import PAGE_SIZE
from organizations.tenancy import tenant_context
from tests.engagement_factories import ClientFactory, EngagementFactory, PlanFactory
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
MakeMember = Callable[..., Membership]

# Test-only transaction bookkeeping, left out of query counts (as in the budgets).
BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)


def _people(org: Organization, count: int, **kwargs: Any) -> list[Employee]:
    """``count`` active people without a job title or unit (cheap to make)."""
    return EmployeeFactory.create_batch(
        count, organization=org, job_title=None, business_unit=None, **kwargs
    )


def _pick(client: Client, org: Organization, source: str, **params: Any) -> Any:
    return client.get(reverse("organizations:picker", args=[org.slug, source]), params)


def _entry(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def _values(response: Any) -> list[int]:
    return [row["value"] for row in response.json()["results"]]


def _error_beside(page: str, auto_id: str) -> str:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="{auto_id}-error">(.*?)</div>',
        page,
        re.S,
    )
    assert match is not None, f"no error beside {auto_id}"
    return match.group(1)


# --- The endpoint: who may use a source, and what it lists -----------------------------


def test_people_source_lists_active_people_of_the_organisation_only(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    mine = _people(hr_admin.organization, 2)
    _people(hr_admin.organization, 1, is_active=False)
    _people(other_org, 3)

    response = _pick(client_as(hr_admin), hr_admin.organization, "people")

    assert response.status_code == 200
    expected = sorted([*mine, _entry(hr_admin)], key=lambda e: (e.full_name, e.code))
    assert _values(response) == [e.pk for e in expected]
    first = response.json()["results"][0]
    assert first["text"] == f"{expected[0].full_name} ({expected[0].code})"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_people_source_is_refused_to_members_who_are_not_hr(
    client_as: ClientAs, org: Organization, make_member: MakeMember, role: str
) -> None:
    member = make_member(org, role)

    response = _pick(client_as(member), org, "people")

    assert response.status_code == 403


def test_unknown_source_is_404(client_as: ClientAs, hr_admin: Membership) -> None:
    response = _pick(client_as(hr_admin), hr_admin.organization, "everybody")

    assert response.status_code == 404


def test_picker_of_another_organisation_is_404(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    _people(other_org, 2)

    response = _pick(client_as(hr_admin), other_org, "people")

    assert response.status_code == 404


def test_plan_people_source_is_for_planners_and_line_managers_only(
    client_as: ClientAs, org: Organization, make_member: MakeMember
) -> None:
    planner = make_member(org, Role.EMPLOYEE)
    boss = make_member(org, Role.EMPLOYEE)
    report = make_member(org, Role.EMPLOYEE)
    engagement = EngagementFactory(organization=org)
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=Employee.objects.get(user=planner.user),
            role=EngagementRole.PLANNER,
        )
        Employee.objects.filter(user=report.user).update(
            line_manager=Employee.objects.get(user=boss.user)
        )

    answers = [
        _pick(client_as(member), org, "plan_people").status_code
        for member in (planner, boss, report)
    ]

    assert answers == [200, 200, 403]


def test_clients_source_lists_only_clients_of_engagements_the_member_sees(
    client_as: ClientAs, org: Organization, make_member: MakeMember
) -> None:
    member = make_member(org, Role.EMPLOYEE)
    seen = PlanFactory(organization=org, employee=_entry(member)).engagement
    ClientFactory(organization=org, name="Unseen Client")

    response = _pick(client_as(member), org, "clients")

    assert _values(response) == [seen.client_id]


def test_engagements_source_lists_only_engagements_the_member_sees(
    client_as: ClientAs, org: Organization, other_org: Organization, make_member
) -> None:
    member = make_member(org, Role.EMPLOYEE)
    seen = PlanFactory(organization=org, employee=_entry(member)).engagement
    EngagementFactory(organization=org)
    EngagementFactory(organization=other_org)

    response = _pick(client_as(member), org, "engagements")

    assert _values(response) == [seen.pk]
    assert response.json()["results"][0]["text"] == (
        f"{seen.code} · {seen.name} · {seen.client.name}"
    )


def test_feedback_subjects_of_an_employee_are_themselves_only(
    client_as: ClientAs, org: Organization, make_member: MakeMember
) -> None:
    member = make_member(org, Role.EMPLOYEE)
    _people(org, 3)

    response = _pick(client_as(member), org, "feedback_subjects")

    assert _values(response) == [_entry(member).pk]


# --- Search and pages ------------------------------------------------------------------


def test_search_matches_every_word_in_name_code_or_email(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    ada = EmployeeFactory(organization=org, full_name="Ada Lovelace", code="X-77")
    EmployeeFactory(organization=org, full_name="Ada Byron", code="X-78")
    grace = EmployeeFactory(
        organization=org, full_name="Grace Hopper", email="amazing.grace@example.test"
    )
    client = client_as(hr_admin)

    by_words = _values(_pick(client, org, "people", q="ada lovel"))
    by_code = _values(_pick(client, org, "people", q="x-77"))
    by_email = _values(_pick(client, org, "people", q="AMAZING"))

    assert (by_words, by_code, by_email) == ([ada.pk], [ada.pk], [grace.pk])


def test_pages_hold_twenty_rows_in_order_and_say_whether_more_follow(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    _people(org, 2 * PAGE_SIZE + 4)  # and the HR admin: 45 people
    client = client_as(hr_admin)
    with tenant_context(org):
        everyone = list(
            Employee.objects.order_by("full_name", "code", "pk").values_list(
                "pk", flat=True
            )
        )

    pages = [_pick(client, org, "people", page=n).json() for n in (1, 2, 3)]

    assert [page["more"] for page in pages] == [True, True, False]
    listed = [row["value"] for page in pages for row in page["results"]]
    assert listed == everyone
    assert [len(page["results"]) for page in pages] == [20, 20, 5]


def test_unreadable_page_number_is_the_first_page(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    client = client_as(hr_admin)
    org = hr_admin.organization

    first = _pick(client, org, "people").json()

    assert _pick(client, org, "people", page="x").json() == first
    assert _pick(client, org, "people", page="-3").json() == first


def _lookups(client: Client, url: str, **params: Any) -> int:
    """Queries a GET of ``url`` runs, without the tests' transaction bookkeeping."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len([q for q in queries.captured_queries if not BOOKKEEPING.match(q["sql"])])


@pytest.mark.parametrize("page", [1, 2])
def test_endpoint_query_count_does_not_grow_with_the_rows(
    client_as: ClientAs, hr_admin: Membership, page: int
) -> None:
    org = hr_admin.organization
    client = client_as(hr_admin)
    url = reverse("organizations:picker", args=[org.slug, "people"])
    _people(org, 5)
    few = _lookups(client, url, q="Employee", page=page)
    _people(org, 45)

    many = _lookups(client, url, q="Employee", page=page)

    # The session, the user, the membership and the page.
    assert few == many == 4


# --- Pages that used to render the organisation ------------------------------------------------

# The HR engagement page measured 15.6 KB here with 30 and with 300 people; at 10,000
# people it used to be 478 KB, almost all of it the role form's list of everyone.
ENGAGEMENT_PAGE_LIMIT = 30_000


def _size(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    return len(response.content)


def test_hr_engagement_page_does_not_grow_with_the_organisation(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    org = engagement.organization
    client = client_as(hr_admin)
    url = reverse("engagements:engagement_detail", args=[org.slug, engagement.pk])
    _people(org, 30)
    small = _size(client, url)
    _people(org, 270)

    large = _size(client, url)

    assert large < ENGAGEMENT_PAGE_LIMIT
    assert abs(large - small) < 50


def test_people_directory_filter_lists_no_manager(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    managers = _people(org, 30)
    for manager in managers:
        EmployeeFactory(
            organization=org, line_manager=manager, job_title=None, business_unit=None
        )

    response = client_as(hr_admin).get(reverse("organizations:people", args=[org.slug]))

    select = re.search(
        r'<select name="line_manager".*?</select>', response.content.decode(), re.S
    )
    assert select is not None
    assert re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0)) == ["Anyone"]


def test_people_directory_filters_by_a_typed_manager_code(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    boss, other_boss = _people(org, 2)
    report = EmployeeFactory(organization=org, line_manager=boss)
    EmployeeFactory(organization=org, line_manager=other_boss)

    response = client_as(hr_admin).get(
        reverse("organizations:people", args=[org.slug]),
        {"line_manager-find": boss.code},
    )

    assert [row.pk for row, _member in response.context["rows"]] == [report.pk]


def test_people_directory_says_when_a_typed_manager_code_matches_nobody(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    boss = _people(org, 1)[0]
    EmployeeFactory(organization=org, line_manager=boss)

    response = client_as(hr_admin).get(
        reverse("organizations:people", args=[org.slug]),
        {"line_manager-find": "NO-SUCH-CODE"},
    )

    error = _error_beside(response.content.decode(), "id_line_manager")
    assert "has the code or e-mail address “NO-SUCH-CODE”" in error
    assert list(response.context["rows"]) == []


def test_engagements_endpoint_query_count_does_not_grow_with_the_rows(
    client_as: ClientAs, org: Organization, make_member: MakeMember
) -> None:
    member = make_member(org, Role.EMPLOYEE)
    me = _entry(member)
    client = client_as(member)
    url = reverse("organizations:picker", args=[org.slug, "engagements"])
    PlanFactory.create_batch(2, organization=org, employee=me)
    few = [_lookups(client, url, page=page) for page in (1, 2)]
    PlanFactory.create_batch(23, organization=org, employee=me)

    many = [_lookups(client, url, page=page) for page in (1, 2)]

    assert few == many
    assert max(many) <= 6
