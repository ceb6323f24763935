"""The "My work" section of the home page: your plans, plans to write, your roles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.enums import CycleStatus, EngagementRole, GoalStatus, PlanStatus
from engagements.selectors.pages import my_work_section
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.home import sections_for
from organizations.models import Membership
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.engagements.views.test_plans import (
    QUERY_BUDGET,
    World,
    build_world,
    employee_of,
    lookups,
    page_text,
    url,
)

pytestmark = pytest.mark.django_db

SECTION_BUDGET = 5


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def _home(org: Any) -> str:
    return reverse("organizations:home", args=[org.slug])


def _section(member: Membership) -> dict[str, Any]:
    request = RequestFactory().get("/")
    request.membership = member  # type: ignore[attr-defined]  # a bare RequestFactory request standing in for the middleware
    with tenant_context(member.organization):
        return my_work_section(request).context


def _titles(rows: list[Any]) -> list[str]:
    return [
        row.plan.engagement.name if row.plan.engagement else "General" for row in rows
    ]


# --- your plans ----------------------------------------------------------------------------


def test_my_work_lists_the_employees_own_plans(world, client_as):
    GoalFactory(
        plan=world.plan,
        weight=Decimal("75"),
        progress=100,
        status=GoalStatus.ACHIEVED,
    )
    GoalFactory(
        plan=world.plan,
        weight=Decimal("25"),
        progress=20,
        due_date=date(2025, 2, 1),
        status=GoalStatus.BEHIND,
    )

    response = client_as(world.owner).get(_home(world.org))

    text = page_text(response)
    section = text[text.index('id="my-plans"') : text.index('id="plans-to-write"')]
    assert url("plan_detail", world.org, world.plan.pk) in section
    assert url("plan_detail", world.org, world.general.pk) in section
    assert "Data Platform" in section
    assert world.engagement.client.name in section
    assert "General plan" in section
    assert "Main Cycle" in section
    assert 'value="80"' in section  # (75·100 + 25·20) / 100
    assert "1 overdue" in section


def test_my_work_leaves_out_plans_of_closed_cycles(world):
    closed = ReviewCycleFactory(organization=world.org, status=CycleStatus.CLOSED)
    PlanFactory(
        organization=world.org,
        cycle=closed,
        engagement=world.other_engagement,
        employee=employee_of(world.owner),
    )

    rows = _section(world.owner)["my_plans"]

    assert sorted(_titles(rows)) == ["Data Platform", "General"]


def test_my_work_shows_nobody_elses_plans(world):
    assert _section(world.stranger)["my_plans"] == []


# --- plans to write ------------------------------------------------------------------------


def test_plans_to_write_lists_draft_plans_on_the_planners_engagements(world, client_as):
    response = client_as(world.planner).get(_home(world.org))

    text = page_text(response)
    section = text[text.index('id="plans-to-write"') : text.index('id="my-roles"')]
    assert [row.plan.pk for row in _section(world.planner)["plans_to_write"]] == [
        world.plan.pk
    ]
    assert "Olga Owner" in section
    assert url("plan_detail", world.org, world.plan.pk) in section
    assert "0 goals, weights 0/100" in section


def test_plans_to_write_leave_out_active_plans(world, client_as):
    GoalFactory(plan=world.plan, weight=Decimal("100"))
    client_as(world.planner).post(url("plan_activate", world.org, world.plan.pk))

    assert _section(world.planner)["plans_to_write"] == []


def test_plans_to_write_leave_out_other_engagements(world):
    rows = _section(world.other_planner)["plans_to_write"]

    assert [row.plan.engagement_id for row in rows] == [world.other_engagement.pk]


def test_plans_to_write_leave_out_the_planners_own_plan(world):
    PlanFactory(
        organization=world.org,
        cycle=world.cycle,
        engagement=world.engagement,
        employee=employee_of(world.planner),
    )

    rows = _section(world.planner)["plans_to_write"]

    assert [row.plan.pk for row in rows] == [world.plan.pk]


# --- your engagement roles -------------------------------------------------------------------


def test_my_work_lists_the_members_engagement_roles(world, client_as):
    with tenant_context(world.org):
        assign_role(
            actor=None,
            engagement=world.other_engagement,
            employee=employee_of(world.planner),
            role=EngagementRole.REVIEWER,
        )

    response = client_as(world.planner).get(_home(world.org))

    text = page_text(response)
    section = text[text.index('id="my-roles"') :]
    assert [
        (a.engagement.name, a.get_role_display())
        for a in _section(world.planner)["my_roles"]
    ] == [("Data Platform", "Planner"), ("Mobile App", "Reviewer")]
    assert url("engagement_detail", world.org, world.engagement.pk) in section
    assert "Reviewer" in section


def test_my_work_explains_each_empty_section(world, client_as):
    response = client_as(world.stranger).get(_home(world.org))

    text = page_text(response)
    assert "You have no plans in an open review cycle yet." in text
    assert "No draft plans are waiting for you." in text
    assert "You hold no planner, reviewer, approver or contributor role" in text


def test_my_work_is_registered_as_a_home_section(world):
    request = RequestFactory().get("/")
    request.membership = world.owner  # type: ignore[attr-defined]  # a bare RequestFactory request standing in for the middleware

    with tenant_context(world.org):
        templates = [s.template_name for s in sections_for(request)]

    assert "engagements/home_my_work.html" in templates


def test_my_work_shows_nothing_of_another_organisation(world, make_member):
    # The same person also works for the other organisation, with a plan and a role.
    twin = make_member(world.other_org, Role.EMPLOYEE, user=world.owner.user)
    foreign_plan = PlanFactory(organization=world.other_org, employee=employee_of(twin))
    with tenant_context(world.other_org):
        assign_role(
            actor=None,
            engagement=foreign_plan.engagement,
            employee=employee_of(twin),
            role=EngagementRole.PLANNER,
        )

    section = _section(world.owner)

    assert sorted(row.plan.pk for row in section["my_plans"]) == sorted(
        [world.plan.pk, world.general.pk]
    )
    assert (section["plans_to_write"], section["my_roles"]) == ([], [])


# --- query budgets ---------------------------------------------------------------------------


def _more_work(world: World, count: int) -> None:
    """``count`` more plans, roles and drafts for the owner and the planner."""
    for _ in range(count):
        engagement = EngagementFactory(organization=world.org)
        plan = PlanFactory(
            organization=world.org,
            cycle=world.cycle,
            engagement=engagement,
            employee=employee_of(world.owner),
        )
        GoalFactory(plan=plan, due_date=date(2025, 2, 1))
        with tenant_context(world.org):
            for member in (world.planner, world.manager, world.hr):
                assign_role(
                    actor=None,
                    engagement=engagement,
                    employee=employee_of(member),
                    role=EngagementRole.PLANNER,
                )


def _section_queries(member: Membership) -> int:
    request = RequestFactory().get("/")
    request.membership = member  # type: ignore[attr-defined]  # a bare RequestFactory request standing in for the middleware
    with (
        tenant_context(member.organization),
        CaptureQueriesContext(connection) as captured,
    ):
        section = my_work_section(request)
        render_to_string(
            section.template_name,
            {"section": section.context, "organization": member.organization},
        )
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["hr", "manager", "planner", "owner", "stranger"])
def test_my_work_adds_at_most_five_queries_whatever_the_data(world, who):
    member = world.member(who)
    few = _section_queries(member)
    _more_work(world, 6)

    many = _section_queries(member)

    assert many == few
    assert many <= SECTION_BUDGET


@pytest.mark.parametrize("who", ["hr", "manager", "owner"])
def test_home_page_with_my_work_stays_within_the_query_budget(world, client_as, who):
    _more_work(world, 1)
    client = client_as(world.member(who))
    client.get(_home(world.org))  # warm caches
    _response, few = lookups(client, _home(world.org))
    _more_work(world, 6)

    response, many = lookups(client, _home(world.org))

    assert response.status_code == 200
    assert len(many) == len(few)
    assert len(many) <= QUERY_BUDGET


def test_home_page_shows_my_work_for_a_manager_with_roles(world, client_as):
    _more_work(world, 2)

    response = client_as(world.manager).get(_home(world.org))

    text = page_text(response)
    assert text.count('badge text-bg-light border">Planner') == 2
    drafts = _section(world.manager)["plans_to_write"]
    # Two drafts on the engagements they plan, and their report's general plan.
    assert [row.plan.status for row in drafts] == [PlanStatus.DRAFT] * 3
    assert world.general.pk in [row.plan.pk for row in drafts]
