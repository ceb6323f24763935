"""The engagement detail page: who may open it, its team with progress, its roles,
the activity and history sections, and its query counts."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.enums import EngagementRole, GoalStatus
from engagements.models import Engagement, Plan
from organizations.models import Employee
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    GoalCheckInFactory,
    GoalFactory,
    PlanFactory,
)
from tests.engagements.views.helpers import (
    QUERY_BUDGET,
    edit_data,
    employee_of,
    give_role,
    grow,
    page_url,
    query_count,
)
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db


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
        page_url("engagement_detail", org, engagement.pk)
    )

    assert response.status_code == status


def test_engagement_detail_opens_for_hr_admins(client_as, hr_admin, org, engagement):
    response = client_as(hr_admin).get(
        page_url("engagement_detail", org, engagement.pk)
    )

    assert response.status_code == 200


@pytest.mark.parametrize("role", ["hr_admin", "staffed", "planner"])
def test_engagement_detail_of_another_organisation_is_404(
    client_as, hr_admin, org, other_org, people, engagement, role
):
    foreign = EngagementFactory(organization=other_org)
    member = hr_admin if role == "hr_admin" else people[role]

    codes = [
        client_as(member).get(page_url("engagement_detail", org, pk)).status_code
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

    response = client_as(member).get(page_url("engagement_detail", org, engagement.pk))

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

    response = client_as(hr_admin).get(
        page_url("engagement_detail", org, engagement.pk)
    )

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
        page_url("engagement_detail", org, engagement.pk)
    )
    planner = client_as(people["planner"]).get(
        page_url("engagement_detail", org, engagement.pk)
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
    give_role(engagement, reviewer, EngagementRole.REVIEWER)
    give_role(engagement, people["line_manager"], EngagementRole.REVIEWER)

    response = client_as(hr_admin).get(
        page_url("engagement_detail", org, engagement.pk)
    )

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
        page_url("engagement_detail", org, engagement.pk), {"section": section}, **kw
    )


def test_engagement_detail_loads_activity_and_history_as_sections(
    client_as, hr_admin, org, engagement
):
    response = client_as(hr_admin).get(
        page_url("engagement_detail", org, engagement.pk)
    )

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
        page_url("engagement_edit", org, engagement.pk),
        edit_data(engagement, name="Renamed engagement"),
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
        page_url("engagement_edit", org, engagement.pk),
        edit_data(engagement, client=new_client.pk),
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


@pytest.mark.parametrize("role", ["hr_admin", "planner", "staffed"])
def test_engagement_detail_query_count_is_flat(
    client_as, hr_admin, org, make_member, people, engagement, role
):
    member = hr_admin if role == "hr_admin" else people[role]
    client = client_as(member)
    url = page_url("engagement_detail", org, engagement.pk)
    with tenant_context(org):
        cycle = Plan.objects.get(engagement=engagement).cycle

    def make() -> None:
        teammate = make_member(org)
        plan = PlanFactory(
            organization=org,
            cycle=cycle,
            engagement=engagement,
            employee=employee_of(teammate),
        )
        GoalCheckInFactory(goal=GoalFactory(plan=plan, due_date=date(2025, 2, 1)))
        give_role(engagement, teammate, EngagementRole.CONTRIBUTOR)

    client.get(url)
    counts = []
    for team in (1, 5):
        with tenant_context(org):
            have = Plan.objects.filter(engagement=engagement).count()
        grow(team, have, make)
        counts.append(query_count(client, url))

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
    url = page_url("engagement_detail", org, engagement.pk) + f"?section={section}"
    headers = {"HX-Request": "true"} if htmx else {}
    with tenant_context(org):
        cycle = Plan.objects.get(engagement=engagement).cycle

    def make() -> None:
        teammate = make_member(org)
        plan = PlanFactory(
            organization=org,
            cycle=cycle,
            engagement=engagement,
            employee=employee_of(teammate),
        )
        GoalCheckInFactory(goal=GoalFactory(plan=plan))
        give_role(engagement, teammate, EngagementRole.CONTRIBUTOR)

    client.get(url, headers=headers)
    counts = []
    # Two sizes that both show rows: names in a list cost one query for the viewer's own
    # entry (``person_link``), whatever the number of rows.
    for team in (2, 6):
        with tenant_context(org):
            have = Plan.objects.filter(engagement=engagement).count()
        grow(team, have, make)
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
    url = page_url("engagement_detail", org, engagement.pk) + "?section=history"
    client.get(url)

    count = query_count(client, url)

    assert count <= QUERY_BUDGET
