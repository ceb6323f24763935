"""The "My team" page: whose team, direct and indirect reports, the next-step rule,
filters and sorting, provisional scores and a query count flat in team size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.selectors.team import NextAction, PersonFacts, Step, next_action
from engagements.enums import CycleStatus, GoalStatus, PlanKind, PlanStatus
from engagements.models import ReviewCycle
from organizations.context_processors import org_menu
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import AppraisalFactory, EvaluationFactory
from tests.engagement_factories import (
    GoalCheckInFactory,
    GoalFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import BusinessUnitFactory, EmployeeFactory
from tests.feedback_factories import FeedbackAskFactory, FeedbackRequestFactory
from tests.organizations.views.query_budget import PAGE_BUDGET, lookups

pytestmark = pytest.mark.django_db


@dataclass
class Team:
    """``boss`` (a manager) with direct reports ``alice`` and ``bob``; ``carol``
    reports to ``alice``; ``dave`` reports to someone else."""

    boss: Membership
    boss_entry: Employee
    alice: Employee
    bob: Employee
    carol: Employee
    dave: Employee
    cycle: ReviewCycle


def _entry(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


@pytest.fixture
def team(org: Organization, make_member: Callable[..., Membership]) -> Team:
    boss = make_member(org, Role.MANAGER)
    boss_entry = _entry(boss)
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    alice = EmployeeFactory(
        organization=org, full_name="Alice", line_manager=boss_entry
    )
    bob = EmployeeFactory(organization=org, full_name="Bob", line_manager=boss_entry)
    carol = EmployeeFactory(organization=org, full_name="Carol", line_manager=alice)
    dave = EmployeeFactory(
        organization=org,
        full_name="Dave",
        line_manager=EmployeeFactory(organization=org, full_name="Other boss"),
    )
    return Team(boss, boss_entry, alice, bob, carol, dave, cycle)


def _url(org: Organization, query: str = "") -> str:
    url = reverse("appraisals:my_team", args=[org.slug])
    return f"{url}?{query}" if query else url


def _people(client: Client, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200
    return [row.person.pk for row in response.context["rows"]]


# --- Scope -----------------------------------------------------------------------------


def test_my_team_shows_direct_reports_by_default(client_as, org, team):
    people = _people(client_as(team.boss), _url(org))

    assert people == [team.alice.pk, team.bob.pk]


def test_my_team_with_scope_all_adds_the_whole_line_below(client_as, org, team):
    people = _people(client_as(team.boss), _url(org, "scope=all"))

    assert people == [team.alice.pk, team.bob.pk, team.carol.pk]


def test_my_team_ignores_the_manager_parameter_for_a_manager(client_as, org, team):
    other_boss = team.dave.line_manager
    assert other_boss is not None

    people = _people(client_as(team.boss), _url(org, f"manager={other_boss.pk}"))

    assert people == [team.alice.pk, team.bob.pk]


def test_my_team_shows_any_managers_team_to_hr(client_as, org, team, hr_admin):
    people = _people(
        client_as(hr_admin), _url(org, f"manager={team.alice.pk}&scope=all")
    )

    assert people == [team.carol.pk]


def test_my_team_of_another_organisations_manager_is_404_for_hr(
    client_as, org, other_org, team, hr_admin
):
    foreign = EmployeeFactory(organization=other_org)
    EmployeeFactory(organization=other_org, line_manager=foreign)

    foreign_response = client_as(hr_admin).get(_url(org, f"manager={foreign.pk}"))
    malformed = client_as(hr_admin).get(_url(org, "manager=x1"))

    assert foreign_response.status_code == 404
    assert malformed.status_code == 404


def test_my_team_of_an_employee_without_reports_is_an_empty_state(
    client_as, org, team, employee_member
):
    response = client_as(employee_member).get(_url(org))

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "Nobody reports to you." in response.content.decode()


def test_my_team_hides_the_scores_of_indirect_reports(client_as, org, team):
    AppraisalFactory(cycle=team.cycle, employee=team.carol, final_score=Decimal("3.10"))

    response = client_as(team.boss).get(_url(org, "scope=all"))

    rows = {row.person.pk: row for row in response.context["rows"]}
    assert rows[team.carol.pk].sees_appraisal is False
    assert "3.10" not in response.content.decode()


# --- The next step ---------------------------------------------------------------------


BASE_FACTS = PersonFacts(
    is_direct=True,
    line_manager_name="Boss",
    cycle_status=CycleStatus.IN_PROGRESS,
    plan_statuses=(PlanStatus.ACTIVE,),
    reviews=(),
    appraisal_status=None,
    overdue_goals=0,
)


def _facts(**changes: Any) -> PersonFacts:
    return replace(BASE_FACTS, **changes)


MANAGER_ID = 7
CASES = [
    ({"plan_statuses": (PlanStatus.DRAFT,)}, False, Step.ACTIVATE_PLAN),
    (
        {
            "cycle_status": CycleStatus.REVIEW,
            "reviews": ((MANAGER_ID, EvaluationStatus.DRAFT),),
            "appraisal_status": AppraisalStatus.OPEN,
        },
        False,
        Step.WRITE_REVIEW,
    ),
    (
        {
            "cycle_status": CycleStatus.REVIEW,
            "reviews": ((MANAGER_ID, EvaluationStatus.RETURNED),),
        },
        False,
        Step.WRITE_REVIEW,
    ),
    ({"reviews": ((None, EvaluationStatus.DRAFT),)}, True, Step.ASSIGN_REVIEWER),
    ({"reviews": ((3, EvaluationStatus.SUBMITTED),)}, False, Step.AWAIT_APPROVAL),
    (
        {
            "reviews": ((3, EvaluationStatus.APPROVED),),
            "appraisal_status": AppraisalStatus.OPEN,
        },
        True,
        Step.FINALISE,
    ),
    (
        {
            "reviews": ((3, EvaluationStatus.APPROVED),),
            "appraisal_status": AppraisalStatus.OPEN,
        },
        False,
        Step.AWAIT_FINALISATION,
    ),
    (
        {"appraisal_status": AppraisalStatus.FINALIZED},
        False,
        Step.AWAIT_ACKNOWLEDGEMENT,
    ),
    ({"appraisal_status": AppraisalStatus.ACKNOWLEDGED}, False, Step.NOTHING),
    ({"overdue_goals": 2}, False, Step.FOLLOW_UP_GOALS),
    ({"overdue_goals": 2, "cycle_status": CycleStatus.CLOSED}, False, Step.NOTHING),
    ({}, False, Step.NOTHING),
    (
        {"is_direct": False, "plan_statuses": (PlanStatus.DRAFT,)},
        False,
        Step.FOLLOW_UP_MANAGER,
    ),
    ({"is_direct": False}, False, Step.NOTHING),
]


@pytest.mark.parametrize(("changes", "viewer_is_hr", "expected"), CASES)
def test_next_action_follows_the_rule(changes, viewer_is_hr, expected):
    action = next_action(
        _facts(**changes), manager_id=MANAGER_ID, viewer_is_hr=viewer_is_hr
    )

    assert action.code == expected


def test_next_action_of_an_indirect_report_names_their_manager():
    action = next_action(
        _facts(is_direct=False, plan_statuses=(PlanStatus.DRAFT,)),
        manager_id=MANAGER_ID,
        viewer_is_hr=False,
    )

    assert action == NextAction(
        Step.FOLLOW_UP_MANAGER, "Follow up with Boss", is_task=False
    )


def test_my_team_shows_the_next_step_for_each_person(client_as, org, team):
    PlanFactory(organization=org, cycle=team.cycle, employee=team.alice)
    PlanFactory(
        organization=org,
        cycle=team.cycle,
        employee=team.bob,
        status=PlanStatus.ACTIVE,
    )

    response = client_as(team.boss).get(_url(org))

    actions = {row.person.pk: row.action.code for row in response.context["rows"]}
    assert actions == {team.alice.pk: Step.ACTIVATE_PLAN, team.bob.pk: Step.NOTHING}
    assert "Activate the plan" in response.content.decode()


# --- Filters, sorting, labels ----------------------------------------------------------


def test_my_team_filters_by_appraisal_status_and_unit(client_as, org, team):
    AppraisalFactory(cycle=team.cycle, employee=team.alice, status=AppraisalStatus.OPEN)
    unit = BusinessUnitFactory(organization=org, name="Advisory")
    with tenant_context(org):
        Employee.objects.filter(pk=team.bob.pk).update(business_unit=unit)
    client = client_as(team.boss)

    open_only = _people(client, _url(org, "appraisal=open"))
    without = _people(client, _url(org, "appraisal=none"))
    in_unit = _people(client, _url(org, f"business_unit={unit.pk}"))

    assert open_only == [team.alice.pk]
    assert without == [team.bob.pk]
    assert in_unit == [team.bob.pk]


def test_my_team_sorts_by_score(client_as, org, team):
    AppraisalFactory(cycle=team.cycle, employee=team.alice, final_score=Decimal("2"))
    AppraisalFactory(cycle=team.cycle, employee=team.bob, final_score=Decimal("4"))
    client = client_as(team.boss)

    highest_first = _people(client, _url(org, "order=-score"))
    by_name_reversed = _people(client, _url(org, "order=-name"))

    assert highest_first == [team.bob.pk, team.alice.pk]
    assert by_name_reversed == [team.bob.pk, team.alice.pk]


def test_my_team_labels_open_scores_provisional(client_as, org, team):
    AppraisalFactory(
        cycle=team.cycle,
        employee=team.alice,
        status=AppraisalStatus.OPEN,
        final_score=Decimal("3.25"),
    )
    AppraisalFactory(
        cycle=team.cycle,
        employee=team.bob,
        status=AppraisalStatus.FINALIZED,
        finalized_at=timezone.now(),
        final_score=Decimal("4.50"),
    )

    response = client_as(team.boss).get(_url(org))

    rows = {row.person.pk: row for row in response.context["rows"]}
    assert rows[team.alice.pk].is_provisional is True
    assert rows[team.bob.pk].is_provisional is False
    assert response.content.decode().count(">provisional</span>") == 1


def test_my_team_counts_goals_check_ins_and_open_requests(client_as, org, team):
    plan = PlanFactory(
        organization=org,
        cycle=team.cycle,
        employee=team.alice,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        status=PlanStatus.ACTIVE,
    )
    yesterday = timezone.localdate() - timedelta(days=1)
    on_track = GoalFactory(plan=plan, status=GoalStatus.ON_TRACK)
    GoalFactory(plan=plan, status=GoalStatus.AT_RISK, due_date=yesterday)
    GoalCheckInFactory(goal=on_track)
    request = FeedbackRequestFactory(organization=org, subject=team.alice)
    FeedbackAskFactory(request=request)

    response = client_as(team.boss).get(_url(org))

    row = next(r for r in response.context["rows"] if r.person == team.alice)
    assert (row.goals.total, row.goals.on_track_share, row.goals.overdue) == (2, 50, 1)
    assert row.goals.last_check_in is not None
    assert row.open_requests == 1
    assert [p.can_open for p in row.plans] == [True]


# --- Cost ------------------------------------------------------------------------------


def _add_report(org: Organization, manager: Employee, cycle: ReviewCycle) -> None:
    """One report with everything a row shows: two plans, goals with check-ins, a
    review, an appraisal and an open feedback request."""
    person = EmployeeFactory(organization=org, line_manager=manager)
    report = EmployeeFactory(organization=org, line_manager=person)
    for employee in (person, report):
        plan = PlanFactory(organization=org, cycle=cycle, employee=employee)
        PlanFactory(
            organization=org,
            cycle=cycle,
            employee=employee,
            kind=PlanKind.GENERAL,
            engagement=None,
            allocation=None,
        )
        GoalCheckInFactory(goal=GoalFactory(plan=plan))
        appraisal = AppraisalFactory(
            cycle=cycle, employee=employee, final_score=Decimal("3")
        )
        EvaluationFactory(plan=plan, appraisal=appraisal, reviewer=manager)
        request = FeedbackRequestFactory(
            organization=org, subject=employee, engagement=plan.engagement
        )
        FeedbackAskFactory(request=request)


@pytest.mark.parametrize("viewer", ["manager", "hr"])
def test_my_team_query_count_is_flat_in_team_size(
    client_as, org, team, hr_admin, viewer
):
    client = client_as(team.boss if viewer == "manager" else hr_admin)
    url = _url(org, f"scope=all&manager={team.boss_entry.pk}")
    _add_report(org, team.boss_entry, team.cycle)
    client.get(url)  # warm the per-process caches (the menu, content types)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for _ in range(3):
        _add_report(org, team.boss_entry, team.cycle)

    with CaptureQueriesContext(connection) as large:
        response = client.get(url)

    assert len(response.context["rows"]) == 11
    assert len(large.captured_queries) == len(small.captured_queries)
    # The page's lookups, counted as the query budget counts them (without the test
    # transaction's savepoints).
    assert len(lookups(large.captured_queries)) <= PAGE_BUDGET


# --- Navigation ------------------------------------------------------------------------


def test_my_team_is_in_the_menu_of_managers_and_hr_only(
    client_as, org, team, hr_admin, employee_member
):
    org_menu.cache_clear()
    home = reverse("organizations:home", args=[org.slug])
    link = f'href="{_url(org)}"'

    shown = {
        who: link in client_as(member).get(home).content.decode()
        for who, member in (
            ("manager", team.boss),
            ("hr", hr_admin),
            ("employee", employee_member),
        )
    }

    assert shown == {"manager": True, "hr": True, "employee": False}


def test_my_team_page_marks_its_menu_item_active(client_as, org, team):
    org_menu.cache_clear()

    page = client_as(team.boss).get(_url(org)).content.decode()

    assert f'active" aria-current="page" href="{_url(org)}"' in page
