"""Plan pages: detail, edit, activate, normalise and remove; who may do what, bad
input, optimistic locking, the review lock and query budgets.

``build_world`` sets up the people and plans that the goal and home page tests share.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.enums import (
    CycleStatus,
    EngagementRole,
    GoalStatus,
    PlanKind,
    PlanStatus,
)
from engagements.models import Engagement, Goal, Plan, ReviewCycle
from engagements.services.cycles import transition_cycle
from engagements.services.plans import add_goal, update_goal
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    GoalCheckInFactory,
    GoalFactory,
    KeyActivityFactory,
    PlanFactory,
    ReviewCycleFactory,
)

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15
# Tests run inside a transaction: atomic blocks add SAVEPOINT statements and the tenant
# middleware clears the row-security setting after the view, which a production
# request does not do (see tests/organizations/views/test_query_counts.py).
BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)
CONFLICT = re.compile(
    r"Changed by (?P<who>.+?) at \d\d:\d\d — review their changes and resubmit\."
)
LOCKED = (
    "This plan is locked because the cycle Main Cycle is in review. Plans cannot "
    "change once reviewers rate them."
)


# --- the shared world ------------------------------------------------------------------


@dataclass
class World:
    """One organisation with a staffed engagement and everyone around the plan."""

    org: Organization
    other_org: Organization
    hr: Membership
    planner: Membership  # planner of the plan's engagement
    other_planner: Membership  # planner of another engagement only
    owner: Membership  # the plan's employee
    manager: Membership  # the owner's line manager
    stranger: Membership  # an employee with no link to the plan
    outsider: Membership  # HR admin of another organisation
    cycle: ReviewCycle
    engagement: Engagement
    other_engagement: Engagement
    plan: Plan  # the owner's engagement plan
    general: Plan  # the owner's general plan
    foreign: Plan  # a plan in the other organisation

    def member(self, name: str) -> Membership:
        member: Membership = getattr(self, name)
        return member


def employee_of(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def build_world(
    org: Organization,
    other_org: Organization,
    make_member: Callable[..., Membership],
) -> World:
    hr = make_member(org, Role.HR_ADMIN, user__full_name="Hana HR")
    manager = make_member(org, Role.MANAGER, user__full_name="Mia Manager")
    planner = make_member(org, Role.EMPLOYEE, user__full_name="Pat Planner")
    other_planner = make_member(org, Role.MANAGER, user__full_name="Otto Planner")
    stranger = make_member(org, Role.EMPLOYEE, user__full_name="Sam Stranger")
    owner = make_member(
        org,
        Role.EMPLOYEE,
        user__full_name="Olga Owner",
        employee__line_manager=employee_of(manager),
    )
    outsider = make_member(other_org, Role.HR_ADMIN, user__full_name="Xavi Outsider")
    cycle = ReviewCycleFactory(
        organization=org, name="Main Cycle", status=CycleStatus.IN_PROGRESS
    )
    engagement = EngagementFactory(organization=org, name="Data Platform")
    other_engagement = EngagementFactory(organization=org, name="Mobile App")
    plan = PlanFactory(
        organization=org,
        cycle=cycle,
        engagement=engagement,
        employee=employee_of(owner),
        role_title="Data engineer",
    )
    general = PlanFactory(
        organization=org,
        cycle=cycle,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        employee=employee_of(owner),
    )
    PlanFactory(organization=org, cycle=cycle, engagement=other_engagement)
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=employee_of(planner),
            role=EngagementRole.PLANNER,
        )
        assign_role(
            actor=None,
            engagement=other_engagement,
            employee=employee_of(other_planner),
            role=EngagementRole.PLANNER,
        )
    foreign = PlanFactory(organization=other_org)
    return World(
        org=org,
        other_org=other_org,
        hr=hr,
        planner=planner,
        other_planner=other_planner,
        owner=owner,
        manager=manager,
        stranger=stranger,
        outsider=outsider,
        cycle=cycle,
        engagement=engagement,
        other_engagement=other_engagement,
        plan=plan,
        general=general,
        foreign=foreign,
    )


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def url(name: str, org: Organization, *args: Any) -> str:
    return reverse(f"engagements:{name}", args=[org.slug, *args])


def field_error(page: str, name: str) -> str | None:
    """The error text shown under field ``name``, unescaped, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)).strip() if match else None


TOC_ANCHORS = (
    "plan-details",
    "plan-goals",
    "plan-competencies",
    "plan-evaluations-title",
    "plan-feedback-title",
    "plan-history",
)


def page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def flashed(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def lookups(client: Client, path: str) -> tuple[Any, list[str]]:
    """GET ``path``; the response and its SQL without test-only bookkeeping."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [
        q["sql"] for q in captured.captured_queries if not BOOKKEEPING.match(q["sql"])
    ]


def lock_cycle(world: World) -> None:
    with tenant_context(world.org):
        transition_cycle(actor=world.hr, cycle=world.cycle, to=CycleStatus.REVIEW)


def plan_row(plan: Plan) -> dict[str, Any]:
    with tenant_context(plan.organization):
        return Plan.objects.filter(pk=plan.pk).values().get()


def goal_rows(plan: Plan) -> list[dict[str, Any]]:
    with tenant_context(plan.organization):
        return list(Goal.objects.filter(plan=plan).order_by("pk").values())


def plan_edit_data(plan: Plan, **overrides: Any) -> dict[str, Any]:
    data = {
        "version": plan.version,
        "start_date": plan.start_date.isoformat(),
        "end_date": plan.end_date.isoformat(),
        "allocation": str(plan.allocation),
        "role_title": plan.role_title,
        "responsibilities": plan.responsibilities,
        "goal_weight": str(plan.goal_weight),
        "custom_weight": "",
        "reviewer": "",
        "approver": "",
    }
    data.update(overrides)
    return data


# --- plan_detail: who sees it ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["hr", "planner", "owner", "manager"])
def test_plan_detail_is_shown_to_everyone_around_the_plan(world, client_as, who):
    response = client_as(world.member(who)).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    assert response.status_code == 200
    assert response.context["plan"].pk == world.plan.pk


@pytest.mark.parametrize("who", ["other_planner", "stranger"])
def test_plan_detail_is_404_for_people_who_cannot_see_the_plan(world, client_as, who):
    response = client_as(world.member(who)).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    assert response.status_code == 404


def test_plan_detail_of_another_organisation_is_404(world, client_as):
    response = client_as(world.hr).get(url("plan_detail", world.org, world.foreign.pk))

    assert response.status_code == 404


def test_plan_detail_is_404_for_a_member_of_another_organisation_only(world, client_as):
    response = client_as(world.outsider).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    assert response.status_code == 404


def test_plan_detail_through_the_other_organisation_is_404(world, client_as):
    response = client_as(world.outsider).get(
        url("plan_detail", world.other_org, world.plan.pk)
    )

    assert response.status_code == 404


def test_plan_detail_asks_anonymous_visitors_to_log_in(world, client_as):
    response = client_as(None).get(url("plan_detail", world.org, world.plan.pk))

    assert (response.status_code, response["Location"].split("?")[0]) == (
        302,
        reverse("login"),
    )


def test_line_manager_sees_the_general_plan_of_a_direct_report(world, client_as):
    response = client_as(world.manager).get(
        url("plan_detail", world.org, world.general.pk)
    )

    assert response.status_code == 200
    assert "General plan" in page_text(response)


def test_planner_of_the_engagement_does_not_see_the_general_plan(world, client_as):
    response = client_as(world.planner).get(
        url("plan_detail", world.org, world.general.pk)
    )

    assert response.status_code == 404


# --- plan_detail: what it shows -------------------------------------------------------------


def test_plan_detail_shows_the_header(world, client_as):
    response = client_as(world.owner).get(url("plan_detail", world.org, world.plan.pk))

    text = page_text(response)
    for expected in (
        "Olga Owner",
        "Data Platform",
        world.engagement.client.name,
        "Main Cycle",
        "1 Jan 2025 – 31 Dec 2025",
        "50 %",
        "Data engineer",
        "70 %",
        "The engagement's reviewers",
    ):
        assert expected in text


def test_plan_detail_shows_each_goal_with_attainment_and_overdue_badge(
    world, client_as
):
    GoalFactory(
        plan=world.plan,
        title="Cut incident count",
        metric="Incidents",
        target_value=Decimal("5"),
        actual_value=Decimal("4"),
        unit="incidents",
        direction="lower",
        weight=Decimal("60"),
        progress=70,
        status=GoalStatus.ON_TRACK,
        due_date=date(2025, 3, 31),
    )
    GoalFactory(
        plan=world.plan,
        title="Raise adoption",
        target_value=Decimal("10"),
        actual_value=Decimal("12"),
        unit="teams",
        weight=Decimal("40"),
        status=GoalStatus.ACHIEVED,
        due_date=date(2025, 3, 31),
    )

    response = client_as(world.owner).get(url("plan_detail", world.org, world.plan.pk))

    text = page_text(response)
    first = text[text.index("Cut incident count") : text.index("Raise adoption")]
    second = text[text.index("Raise adoption") :]
    assert "125 %" in first
    assert "5 incidents · Incidents · Lower is better" in first
    assert "4 incidents" in first
    assert "Overdue" in first
    assert "120 %" in second
    assert "Overdue" not in second.split("History")[0]
    assert "Weights total 100 of 100" in text


def test_plan_detail_explains_a_weight_total_other_than_100(world, client_as):
    GoalFactory(plan=world.plan, weight=Decimal("30"))
    GoalFactory(plan=world.plan, weight=Decimal("45.5"))

    response = client_as(world.planner).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    text = page_text(response)
    assert "Weights total 75.5 of 100" in text
    assert (
        "The goal weights total 75.5; they must total exactly 100 before the plan "
        "can be activated." in text
    )
    assert "Normalise to 100" in text
    assert "Activate plan" in text


@pytest.mark.parametrize("who", ["hr", "planner"])
def test_plan_detail_offers_editing_to_editors(world, client_as, who):
    GoalFactory(plan=world.plan, weight=Decimal("30"))

    response = client_as(world.member(who)).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    text = page_text(response)
    assert response.context["editable"] is True
    assert url("plan_edit", world.org, world.plan.pk) in text
    assert url("plan_activate", world.org, world.plan.pk) in text
    assert url("plan_normalise", world.org, world.plan.pk) in text
    assert url("goal_create", world.org, world.plan.pk) in text


@pytest.mark.parametrize("who", ["owner", "manager"])
def test_plan_detail_offers_no_editing_to_viewers(world, client_as, who):
    GoalFactory(plan=world.plan, weight=Decimal("30"))

    response = client_as(world.member(who)).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    text = page_text(response)
    assert response.context["editable"] is False
    for name in ("plan_edit", "plan_activate", "plan_normalise", "goal_create"):
        assert url(name, world.org, world.plan.pk) not in text
    assert "Normalise to 100" not in text


def test_plan_detail_offers_check_ins_to_the_employee(world, client_as):
    goal = GoalFactory(plan=world.plan)

    response = client_as(world.owner).get(url("plan_detail", world.org, world.plan.pk))

    assert url("checkin_create", world.org, goal.pk) in page_text(response)


def test_plan_detail_offers_removal_to_hr_only(world, client_as):
    hr_page = client_as(world.hr).get(url("plan_detail", world.org, world.plan.pk))
    planner_page = client_as(world.planner).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    removal = url("plan_remove", world.org, world.plan.pk)
    assert (removal in page_text(hr_page), removal in page_text(planner_page)) == (
        True,
        False,
    )


def test_plan_detail_shows_the_lock_and_hides_editing_once_in_review(world, client_as):
    GoalFactory(plan=world.plan, weight=Decimal("30"))
    lock_cycle(world)

    response = client_as(world.planner).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    text = page_text(response)
    assert LOCKED in text
    assert response.context["editable"] is False
    assert url("plan_edit", world.org, world.plan.pk) not in text
    assert "Normalise to 100" not in text


def test_plan_detail_folds_the_key_activity_forms_and_loads_history_on_demand(
    world, client_as
):
    goal = GoalFactory(plan=world.plan, title="Launch")
    KeyActivityFactory(goal=goal, title="Kick-off")

    response = client_as(world.planner).get(
        url("plan_detail", world.org, world.plan.pk)
    )

    page = page_text(response)
    history_url = url("plan_history", world.org, world.plan.pk)
    goal_url = url("goal_detail", world.org, goal.pk)
    assert 'data-testid="page-toc"' in page
    assert [f'href="#{anchor}"' in page for anchor in TOC_ANCHORS] == [True] * 6
    assert f'data-bs-target="#activity-form-{goal.pk}"' in page
    assert f'href="{goal_url}#activities-{goal.pk}"' in page
    assert f'id="activity-form-{goal.pk}" class="collapse"' in page
    assert f'href="{history_url}" hx-get="{history_url}"' in page
    assert "timeline" not in response.context


def test_goal_detail_shows_the_key_activity_form_open(world, client_as):
    goal = GoalFactory(plan=world.plan, title="Launch")

    response = client_as(world.planner).get(url("goal_detail", world.org, goal.pk))

    page = page_text(response)
    assert f'id="activity-form-{goal.pk}" class=""' in page
    assert "activity-toggle" not in page


def test_key_activity_form_with_an_error_renders_open(world, client_as):
    goal = GoalFactory(plan=world.plan, title="Launch")

    response = client_as(world.planner).post(
        url("activity_create", world.org, goal.pk),
        {f"activity-{goal.pk}-title": ""},
        headers={"HX-Request": "true"},
    )

    page = page_text(response)
    assert response.status_code == 200
    assert 'class="invalid-feedback d-block"' in page
    assert f'id="activity-form-{goal.pk}" class=""' in page


@pytest.mark.parametrize("who", ["hr", "planner", "owner", "manager"])
def test_plan_history_partial_answers_who_may_see_the_plan(world, client_as, who):
    goal = GoalFactory(plan=world.plan, title="Launch")
    KeyActivityFactory(goal=goal, title="Kick-off")

    response = client_as(world.member(who)).get(
        url("plan_history", world.org, world.plan.pk), headers={"HX-Request": "true"}
    )

    page = page_text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert "Key activity “Kick-off”" in page
    assert "HX-Request" in response["Vary"]


def test_plan_history_without_javascript_is_a_page_of_its_own(world, client_as):
    response = client_as(world.owner).get(url("plan_history", world.org, world.plan.pk))

    page = page_text(response)
    assert response.status_code == 200
    assert "<html" in page
    assert [e["subject"] for e in response.context["timeline"]][-1] == "Plan"


@pytest.mark.parametrize(
    ("who", "plan"), [("stranger", "plan"), ("outsider", "plan"), ("hr", "foreign")]
)
def test_plan_history_of_a_plan_the_member_cannot_see_is_404(
    world, client_as, who, plan
):
    target: Plan = getattr(world, plan)
    slug = world.member(who).organization.slug

    response = client_as(world.member(who)).get(
        reverse("engagements:plan_history", args=[slug, target.pk]),
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 404


def test_plan_detail_history_covers_the_plan_goals_activities_and_checkins(
    world, client_as
):
    goal = GoalFactory(plan=world.plan, title="Launch")
    KeyActivityFactory(goal=goal, title="Kick-off")
    GoalCheckInFactory(goal=goal)
    client = client_as(world.planner)
    client.post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Lead engineer"),
    )

    response = client.get(url("plan_history", world.org, world.plan.pk))

    subjects = [entry["subject"] for entry in response.context["timeline"]]
    newest = response.context["timeline"][0]
    assert sorted(set(subjects)) == [
        "Check-in on “Launch”",
        "Goal “Launch”",
        "Key activity “Kick-off”",
        "Plan",
    ]
    assert (newest["subject"], str(newest["who"])) == ("Plan", "Pat Planner")
    assert {
        "field": "role on the engagement",
        "old": "Data engineer",
        "new": "Lead engineer",
    } in newest["changes"]


# --- plan_detail: query budget -------------------------------------------------------------


def _fill(plan: Plan, goals: int) -> None:
    for _ in range(goals):
        goal = GoalFactory(plan=plan, due_date=date(2025, 2, 1))
        KeyActivityFactory.create_batch(2, goal=goal)
        GoalCheckInFactory(goal=goal)


@pytest.mark.parametrize("who", ["hr", "planner", "owner", "manager"])
def test_plan_detail_queries_stay_flat_as_goals_grow(world, client_as, who):
    _fill(world.plan, 1)
    client = client_as(world.member(who))
    client.get(url("plan_detail", world.org, world.plan.pk))  # warm caches
    one, one_sql = lookups(client, url("plan_detail", world.org, world.plan.pk))
    _fill(world.plan, 9)

    ten, ten_sql = lookups(client, url("plan_detail", world.org, world.plan.pk))

    assert (len(one.context["goals"]), len(ten.context["goals"])) == (1, 10)
    assert len(ten_sql) == len(one_sql)
    assert len(ten_sql) <= QUERY_BUDGET


@pytest.mark.parametrize("who", ["hr", "planner", "owner", "manager"])
def test_plan_detail_stays_within_the_query_budget(world, client_as, who):
    _fill(world.plan, 10)
    client = client_as(world.member(who))
    client.get(url("plan_detail", world.org, world.plan.pk))  # warm caches

    response, sql = lookups(client, url("plan_detail", world.org, world.plan.pk))

    assert response.status_code == 200
    assert len(sql) <= QUERY_BUDGET


def test_plan_detail_for_hr_fits_the_budget_even_counting_bookkeeping(
    world, client_as, django_assert_max_num_queries
):
    _fill(world.plan, 10)
    client = client_as(world.hr)

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(url("plan_detail", world.org, world.plan.pk))

    assert response.status_code == 200


# --- plan_edit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("hr", 200),
        ("planner", 200),
        ("owner", 403),
        ("manager", 403),
        ("other_planner", 404),
        ("stranger", 404),
        ("outsider", 404),
    ],
)
def test_plan_edit_of_an_engagement_plan_answers_by_role(world, client_as, who, status):
    response = client_as(world.member(who)).get(
        url("plan_edit", world.org, world.plan.pk)
    )

    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [("hr", 200), ("manager", 200), ("owner", 403), ("planner", 404)],
)
def test_plan_edit_of_a_general_plan_answers_by_role(world, client_as, who, status):
    response = client_as(world.member(who)).get(
        url("plan_edit", world.org, world.general.pk)
    )

    assert response.status_code == status


def test_plan_edit_of_another_organisation_is_404(world, client_as):
    response = client_as(world.hr).get(url("plan_edit", world.org, world.foreign.pk))

    assert response.status_code == 404


def test_plan_edit_saves_and_returns_to_the_plan(world, client_as):
    response = client_as(world.planner).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Lead engineer", allocation="60"),
    )

    row = plan_row(world.plan)
    assert (response.status_code, response["Location"]) == (
        302,
        url("plan_detail", world.org, world.plan.pk),
    )
    assert (row["role_title"], row["allocation"], row["version"]) == (
        "Lead engineer",
        Decimal("60.00"),
        2,
    )


def test_line_manager_edits_the_general_plan(world, client_as):
    response = client_as(world.manager).post(
        url("plan_edit", world.org, world.general.pk),
        {
            "version": 1,
            "start_date": "2025-01-01",
            "end_date": "2025-12-31",
            "responsibilities": "Mentor two juniors",
            "goal_weight": "80",
            "reviewer": "",
            "approver": "",
        },
    )

    assert response.status_code == 302
    assert plan_row(world.general)["responsibilities"] == "Mentor two juniors"


def test_plan_edit_posted_by_the_employee_is_403_and_changes_nothing(world, client_as):
    response = client_as(world.owner).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Self-promoted"),
    )

    assert response.status_code == 403
    assert plan_row(world.plan)["role_title"] == "Data engineer"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"end_date": "2024-12-01"},
            "end_date",
            "The end cannot be before the start.",
        ),
        (
            {"allocation": "120"},
            "allocation",
            "Ensure this value is less than or equal to 100.",
        ),
        ({"allocation": ""}, "allocation", "This field is required."),
        (
            {"goal_weight": "-1"},
            "goal_weight",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            {"start_date": "2024-06-01"},
            "start_date",
            "The dates must lie within the engagement (2025-01-01 to 2025-12-31).",
        ),
        ({"start_date": "not a date"}, "start_date", "Enter a valid date."),
    ],
)
def test_plan_edit_with_bad_input_shows_the_error_and_changes_nothing(
    world, client_as, overrides, field, message
):
    before = plan_row(world.plan)

    response = client_as(world.planner).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Changed", **overrides),
    )

    assert response.status_code == 400
    assert field_error(page_text(response), field) == message
    assert plan_row(world.plan) == before


def test_plan_edit_refuses_the_employee_as_their_own_reviewer(world, client_as):
    response = client_as(world.planner).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, reviewer=employee_of(world.owner).pk),
    )

    assert response.status_code == 400
    assert field_error(page_text(response), "reviewer") == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert plan_row(world.plan)["reviewer_id"] is None


def test_plan_edit_accepts_a_reviewer_and_approver_other_than_the_employee(
    world, client_as
):
    response = client_as(world.planner).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(
            world.plan,
            reviewer=employee_of(world.manager).pk,
            approver=employee_of(world.hr).pk,
        ),
    )

    row = plan_row(world.plan)
    assert response.status_code == 302
    assert (row["reviewer_id"], row["approver_id"]) == (
        employee_of(world.manager).pk,
        employee_of(world.hr).pk,
    )


def test_plan_edit_with_a_stale_version_names_who_changed_it(world, client_as):
    stale = plan_edit_data(world.plan, role_title="Mine")
    client_as(world.hr).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Theirs"),
    )

    response = client_as(world.planner).post(
        url("plan_edit", world.org, world.plan.pk), stale
    )

    match = CONFLICT.search(page_text(response))
    assert response.status_code == 400
    assert match is not None
    assert match.group("who") == "Hana HR"
    row = plan_row(world.plan)
    assert (row["role_title"], row["version"]) == ("Theirs", 2)


def test_plan_edit_after_a_conflict_resubmits_against_the_latest_version(
    world, client_as
):
    stale = plan_edit_data(world.plan, role_title="Mine")
    client_as(world.hr).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Theirs"),
    )
    planner = client_as(world.planner)
    conflict = planner.post(url("plan_edit", world.org, world.plan.pk), stale)
    resubmit = dict(stale, version=conflict.context["form"]["version"].value())

    response = planner.post(url("plan_edit", world.org, world.plan.pk), resubmit)

    assert (conflict.status_code, response.status_code) == (400, 302)
    assert plan_row(world.plan)["role_title"] == "Mine"


def test_plan_edit_of_a_locked_plan_is_refused_and_changes_nothing(world, client_as):
    lock_cycle(world)
    before = plan_row(world.plan)

    response = client_as(world.planner).post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Too late"),
    )

    assert response.status_code == 400
    assert LOCKED in page_text(response)
    assert plan_row(world.plan) == before


def test_plan_edit_page_of_a_locked_plan_disables_the_form(world, client_as):
    lock_cycle(world)

    response = client_as(world.planner).get(url("plan_edit", world.org, world.plan.pk))

    text = page_text(response)
    assert LOCKED in text
    assert "<fieldset disabled>" in text


# --- plan_activate and plan_normalise ------------------------------------------------------


@pytest.mark.parametrize("who", ["hr", "planner"])
def test_plan_activate_by_an_editor_activates_a_plan_totalling_100(
    world, client_as, who
):
    GoalFactory(plan=world.plan, weight=Decimal("60"))
    GoalFactory(plan=world.plan, weight=Decimal("40"))

    response = client_as(world.member(who)).post(
        url("plan_activate", world.org, world.plan.pk)
    )

    assert (response.status_code, response["Location"]) == (
        302,
        url("plan_detail", world.org, world.plan.pk),
    )
    assert plan_row(world.plan)["status"] == PlanStatus.ACTIVE
    assert flashed(response) == [
        (
            "success",
            "The plan is active. Olga Owner can now see it and record progress.",
        )
    ]


def test_plan_activate_refuses_weights_other_than_100_with_the_reason(world, client_as):
    GoalFactory(plan=world.plan, weight=Decimal("60"))
    GoalFactory(plan=world.plan, weight=Decimal("30"))

    response = client_as(world.planner).post(
        url("plan_activate", world.org, world.plan.pk)
    )

    assert response.status_code == 302
    assert plan_row(world.plan)["status"] == PlanStatus.DRAFT
    assert flashed(response) == [
        (
            "error",
            "Goal weights total 90; they must total 100 before the plan can be "
            "activated. Adjust them, or use 'Normalise to 100'.",
        )
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 403), ("manager", 403), ("other_planner", 404), ("stranger", 404)],
)
def test_plan_activate_is_refused_to_non_editors(world, client_as, who, status):
    GoalFactory(plan=world.plan, weight=Decimal("100"))

    response = client_as(world.member(who)).post(
        url("plan_activate", world.org, world.plan.pk)
    )

    assert response.status_code == status
    assert plan_row(world.plan)["status"] == PlanStatus.DRAFT


def test_plan_activate_of_another_organisation_is_404(world, client_as):
    response = client_as(world.hr).post(
        url("plan_activate", world.org, world.foreign.pk)
    )

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["plan_activate", "plan_normalise", "plan_remove"])
def test_plan_actions_refuse_get(world, client_as, name):
    response = client_as(world.hr).get(url(name, world.org, world.plan.pk))

    assert response.status_code == 405


def test_plan_normalise_scales_the_weights_to_100(world, client_as):
    GoalFactory(plan=world.plan, weight=Decimal("30"))
    GoalFactory(plan=world.plan, weight=Decimal("20"))
    GoalFactory(plan=world.plan, weight=Decimal("10"))

    response = client_as(world.planner).post(
        url("plan_normalise", world.org, world.plan.pk)
    )

    assert response.status_code == 302
    assert [row["weight"] for row in goal_rows(world.plan)] == [
        Decimal("50.00"),
        Decimal("33.33"),
        Decimal("16.67"),
    ]
    assert flashed(response) == [
        ("success", "Goal weights now total 100, in the same proportions as before.")
    ]


@pytest.mark.parametrize(("who", "status"), [("owner", 403), ("stranger", 404)])
def test_plan_normalise_is_refused_to_non_editors(world, client_as, who, status):
    GoalFactory(plan=world.plan, weight=Decimal("30"))

    response = client_as(world.member(who)).post(
        url("plan_normalise", world.org, world.plan.pk)
    )

    assert response.status_code == status
    assert [row["weight"] for row in goal_rows(world.plan)] == [Decimal("30.00")]


@pytest.mark.parametrize("name", ["plan_activate", "plan_normalise"])
def test_plan_actions_on_a_locked_plan_are_refused_and_change_nothing(
    world, client_as, name
):
    GoalFactory(plan=world.plan, weight=Decimal("30"))
    lock_cycle(world)
    before = (plan_row(world.plan), goal_rows(world.plan))

    response = client_as(world.planner).post(url(name, world.org, world.plan.pk))

    assert response.status_code == 302
    assert flashed(response) == [("error", LOCKED)]
    assert (plan_row(world.plan), goal_rows(world.plan)) == before


# --- plan_remove -----------------------------------------------------------------------------


def test_plan_remove_by_hr_deletes_the_plan_and_returns_to_the_engagement(
    world, client_as
):
    GoalFactory(plan=world.plan)

    response = client_as(world.hr).post(url("plan_remove", world.org, world.plan.pk))

    assert (response.status_code, response["Location"]) == (
        302,
        url("engagement_detail", world.org, world.engagement.pk),
    )
    with tenant_context(world.org):
        assert Plan.objects.filter(pk=world.plan.pk).exists() is False
    assert flashed(response) == [
        (
            "success",
            f"Olga Owner was taken off {world.engagement}; their plan for Main Cycle "
            "is deleted.",
        )
    ]


@pytest.mark.parametrize("who", ["planner", "manager", "owner", "stranger"])
def test_plan_remove_is_403_for_everyone_but_hr(world, client_as, who):
    response = client_as(world.member(who)).post(
        url("plan_remove", world.org, world.plan.pk)
    )

    assert response.status_code == 403
    with tenant_context(world.org):
        assert Plan.objects.filter(pk=world.plan.pk).exists() is True


def test_plan_remove_of_another_organisation_is_404(world, client_as):
    response = client_as(world.hr).post(url("plan_remove", world.org, world.foreign.pk))

    assert response.status_code == 404


def test_plan_remove_refuses_a_general_plan(world, client_as):
    response = client_as(world.hr).post(url("plan_remove", world.org, world.general.pk))

    assert response["Location"] == url("plan_detail", world.org, world.general.pk)
    assert flashed(response) == [("error", "General plans cannot be removed.")]
    with tenant_context(world.org):
        assert Plan.objects.filter(pk=world.general.pk).exists() is True


def test_plan_remove_refuses_a_plan_with_recorded_progress(world, client_as):
    GoalCheckInFactory(goal=GoalFactory(plan=world.plan))

    response = client_as(world.hr).post(url("plan_remove", world.org, world.plan.pk))

    assert flashed(response) == [
        (
            "error",
            "Progress was already recorded on this plan; it cannot be removed.",
        )
    ]
    with tenant_context(world.org):
        assert Plan.objects.filter(pk=world.plan.pk).exists() is True


def test_plan_remove_of_a_locked_plan_is_refused(world, client_as):
    lock_cycle(world)

    response = client_as(world.hr).post(url("plan_remove", world.org, world.plan.pk))

    assert flashed(response) == [("error", LOCKED)]
    with tenant_context(world.org):
        assert Plan.objects.filter(pk=world.plan.pk).exists() is True


def test_plan_history_collapses_goals_created_in_a_row_into_one_line(world, client_as):
    with tenant_context(world.org):
        for title in ("Alpha", "Beta", "Gamma"):
            add_goal(
                actor=world.planner, plan=world.plan, title=title, weight=Decimal(10)
            )

    response = client_as(world.planner).get(
        url("plan_history", world.org, world.plan.pk)
    )

    history = page_text(response)
    created = [e for e in response.context["timeline"] if e.get("count")]
    assert [(e["kind"], e["items"]) for e in created] == [
        ("Created 3 goals", ["Goal “Alpha”", "Goal “Beta”", "Goal “Gamma”"])
    ]
    assert history.count("Created 3 goals") == 1
    assert "Goal “Beta”" in history


def test_plan_history_names_fields_and_choices_for_people(world, client_as):
    with tenant_context(world.org):
        goal = add_goal(
            actor=world.planner, plan=world.plan, title="Ship", weight=Decimal(10)
        )
        update_goal(
            actor=world.planner,
            goal=goal,
            version=goal.version,
            actual_value=Decimal(7),
            status=GoalStatus.ON_TRACK,
        )

    response = client_as(world.planner).get(
        url("plan_history", world.org, world.plan.pk)
    )

    history = page_text(response)
    assert "<strong>Actual</strong>: — → 7" in history
    assert "<strong>Status</strong>: Not started → On track" in history
    assert "actual_value" not in history
    assert "on_track" not in history
