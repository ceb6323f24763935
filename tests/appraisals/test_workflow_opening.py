"""Opening appraisals: when a cycle enters review and early evaluation; reviewer
resolution (never the employee), idempotency, a fixed query count, e-mails once.

``build_world`` sets up the people and plans the other workflow tests share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appraisals.enums import EvaluationKind
from appraisals.models import Appraisal, AppraisalSettings, Evaluation
from appraisals.services import opening
from appraisals.tasks import open_early_evaluations_everywhere
from engagements.enums import (
    CycleStatus,
    EngagementRole,
    EngagementStatus,
    PlanKind,
    PlanStatus,
)
from engagements.models import Engagement, Plan, ReviewCycle
from engagements.services.cycles import transition_cycle
from engagements.services.roles import apply_role_rules, assign_role
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.competency_factories import DefaultScaleFactory
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    PlanCompetencyFactory,
    PlanFactory,
    ReviewCycleFactory,
    RoleRuleFactory,
)
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


@dataclass
class World:
    org: Organization
    other_org: Organization
    hr: Membership
    grand: Membership  # the manager's line manager
    manager: Membership  # the owner's line manager
    owner: Membership  # the employee evaluated
    reviewer: Membership  # reviewer role on the engagement
    approver: Membership  # approver role on the engagement
    planner: Membership
    stranger: Membership
    outsider: Membership  # HR admin of the other organisation
    cycle: ReviewCycle
    engagement: Engagement
    plan: Plan  # the owner's engagement plan (two goals, one competency)
    general: Plan  # the owner's general plan

    def employee(self, name: str) -> Employee:
        return employee_of(getattr(self, name))


def employee_of(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def assign(engagement: Engagement, member: Membership, role: str) -> None:
    with tenant_context(engagement.organization):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=employee_of(member),
            role=role,
        )


def build_world(
    org: Organization,
    other_org: Organization,
    make_member: Callable[..., Membership],
    *,
    open_review: bool = True,
) -> World:
    DefaultScaleFactory(organization=org)
    hr = make_member(org, Role.HR_ADMIN, user__full_name="Hana HR")
    grand = make_member(org, Role.MANAGER, user__full_name="Gus Grand")
    manager = make_member(
        org,
        Role.MANAGER,
        user__full_name="Mia Manager",
        employee__line_manager=employee_of(grand),
    )
    owner = make_member(
        org,
        Role.EMPLOYEE,
        user__full_name="Olga Owner",
        employee__line_manager=employee_of(manager),
    )
    reviewer = make_member(org, Role.EMPLOYEE, user__full_name="Rita Reviewer")
    approver = make_member(org, Role.MANAGER, user__full_name="Abe Approver")
    planner = make_member(org, Role.EMPLOYEE, user__full_name="Pat Planner")
    stranger = make_member(org, Role.EMPLOYEE, user__full_name="Sam Stranger")
    outsider = make_member(other_org, Role.HR_ADMIN, user__full_name="Xavi Outsider")
    cycle = ReviewCycleFactory(
        organization=org, name="Main Cycle", status=CycleStatus.IN_PROGRESS
    )
    engagement = EngagementFactory(organization=org, name="Data Platform")
    plan = PlanFactory(
        organization=org,
        cycle=cycle,
        engagement=engagement,
        employee=employee_of(owner),
    )
    GoalFactory(
        plan=plan,
        title="Revenue",
        weight=Decimal(60),
        target_value=100,
        actual_value=95,
    )
    GoalFactory(plan=plan, title="Quality", weight=Decimal(40))
    PlanCompetencyFactory(plan=plan)
    general = PlanFactory(
        organization=org,
        cycle=cycle,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        employee=employee_of(owner),
    )
    assign(engagement, reviewer, EngagementRole.REVIEWER)
    assign(engagement, approver, EngagementRole.APPROVER)
    assign(engagement, planner, EngagementRole.PLANNER)
    world = World(
        org=org,
        other_org=other_org,
        hr=hr,
        grand=grand,
        manager=manager,
        owner=owner,
        reviewer=reviewer,
        approver=approver,
        planner=planner,
        stranger=stranger,
        outsider=outsider,
        cycle=cycle,
        engagement=engagement,
        plan=plan,
        general=general,
    )
    if open_review:
        start_review(world)
    return world


def start_review(world: World) -> None:
    with tenant_context(world.org):
        transition_cycle(actor=world.hr, cycle=world.cycle, to=CycleStatus.REVIEW)


def evaluation(
    world: World, plan: Plan, kind: str = EvaluationKind.REVIEW
) -> Evaluation:
    with tenant_context(world.org):
        return Evaluation.objects.select_related("reviewer").get(plan=plan, kind=kind)


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


# --- opening on review --------------------------------------------------------------------


def test_review_opens_an_appraisal_and_two_evaluations_per_plan(world):
    with tenant_context(world.org):
        appraisals = list(Appraisal.objects.all())
        rows = sorted(
            Evaluation.objects.values_list(
                "plan_id", "kind", "reviewer_id", "employee_id"
            )
        )
    owner = world.employee("owner")

    assert [(a.employee_id, a.cycle_id) for a in appraisals] == [
        (owner.pk, world.cycle.pk)
    ]
    assert rows == sorted(
        [
            (world.plan.pk, "review", world.employee("reviewer").pk, owner.pk),
            (world.plan.pk, "self", owner.pk, owner.pk),
            (world.general.pk, "review", world.employee("manager").pk, owner.pk),
            (world.general.pk, "self", owner.pk, owner.pk),
        ]
    )


def test_due_date_is_today_plus_the_settings_days(org, other_org, make_member):
    with tenant_context(org):
        AppraisalSettings.objects.create(organization=org, evaluation_days=5)

    world = build_world(org, other_org, make_member)

    review = evaluation(world, world.plan)
    assert review.due_date == timezone.localdate() + timedelta(days=5)


def test_opening_again_creates_nothing(world):
    with tenant_context(world.org):
        again = opening.open_appraisals(cycle=world.cycle)

        assert again == 0
        assert Evaluation.objects.count() == 4
        assert Appraisal.objects.count() == 1


def test_plan_reviewer_override_wins_over_engagement_reviewers(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member, open_review=False)
    with tenant_context(org):
        Plan.objects.filter(pk=world.plan.pk).update(
            reviewer=world.employee("stranger")
        )

    start_review(world)

    assert evaluation(world, world.plan).reviewer == world.employee("stranger")


def test_first_engagement_reviewer_by_name_other_than_the_employee(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member, open_review=False)
    early = make_member(org, Role.EMPLOYEE, user__full_name="Aaron Early")
    assign(world.engagement, early, EngagementRole.REVIEWER)
    assign(world.engagement, world.owner, EngagementRole.REVIEWER)

    start_review(world)

    assert evaluation(world, world.plan).reviewer == employee_of(early)


def test_role_rule_making_the_employee_reviewer_never_makes_them_review_themselves(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member, open_review=False)
    owner = world.employee("owner")
    with tenant_context(org):
        title = owner.job_title
    RoleRuleFactory(organization=org, job_title=title, role="reviewer")
    other = EngagementFactory(organization=org, name="Solo")
    solo = PlanFactory(
        organization=org, cycle=world.cycle, engagement=other, employee=owner
    )
    with tenant_context(org):
        apply_role_rules(engagement=other, employees=[owner])
        assert other.role_assignments.get().employee == owner

    start_review(world)

    review = evaluation(world, solo)
    assert review.reviewer is None
    with tenant_context(org):
        assert not Evaluation.objects.filter(
            kind=EvaluationKind.REVIEW, reviewer=owner
        ).exists()


def test_general_plan_without_line_manager_needs_a_reviewer(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member, open_review=False)
    loner = EmployeeFactory(organization=org, full_name="Lone Wolf")
    lone_plan = PlanFactory(
        organization=org,
        cycle=world.cycle,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        employee=loner,
    )

    start_review(world)

    assert evaluation(world, lone_plan).reviewer is None


def _many_plans(org, cycle, n: int) -> None:
    engagement = EngagementFactory(organization=org)
    for _ in range(n):
        PlanFactory(organization=org, cycle=cycle, engagement=engagement)


@pytest.mark.parametrize("extra", [2, 12])
def test_opening_costs_a_fixed_number_of_queries(
    org, other_org, make_member, extra, django_capture_on_commit_callbacks
):
    world = build_world(org, other_org, make_member, open_review=False)
    _many_plans(org, world.cycle, extra)

    with tenant_context(org), CaptureQueriesContext(connection) as captured:
        created = opening.open_appraisals(cycle=world.cycle)

    assert created == 2 * (extra + 2)
    # 12, plus one outbox INSERT for the e-mail owed to each of the two reviewers,
    # and one in-app notification INSERT for each of them.
    assert len(captured.captured_queries) <= 15
    test_opening_costs_a_fixed_number_of_queries.counts.add(  # type: ignore[attr-defined]  # counts shared across parametrised runs
        len(captured.captured_queries)
    )
    assert len(test_opening_costs_a_fixed_number_of_queries.counts) == 1  # type: ignore[attr-defined]  # counts shared across parametrised runs


test_opening_costs_a_fixed_number_of_queries.counts = set()  # type: ignore[attr-defined]  # counts shared across parametrised runs


def test_assigned_email_goes_to_each_reviewer_once(
    org, other_org, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    world = build_world(org, other_org, make_member, open_review=False)

    with django_capture_on_commit_callbacks(execute=True):
        start_review(world)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        opening.open_appraisals(cycle=world.cycle)

    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == sorted([world.reviewer.user.email, world.manager.user.email])
    subjects = {m.subject for m in mailoutbox}
    assert "Evaluation to write: Olga Owner · Data Platform" in subjects


# --- early evaluation ------------------------------------------------------------------------


def _early_world(org, other_org, make_member) -> tuple[World, Plan, Plan]:
    world = build_world(org, other_org, make_member, open_review=False)
    with tenant_context(org):
        ReviewCycle.objects.filter(pk=world.cycle.pk).update(
            allow_early_evaluation=True
        )
        world.cycle.refresh_from_db()
        # The owner's plans run on, whatever today's date.
        Plan.objects.filter(cycle=world.cycle).update(end_date=date(2999, 12, 31))
    closed = EngagementFactory(
        organization=org, name="Closed One", status=EngagementStatus.CLOSED
    )
    ended = PlanFactory(
        organization=org,
        cycle=world.cycle,
        engagement=closed,
        employee=world.employee("stranger"),
    )
    past = PlanFactory(
        organization=org,
        cycle=world.cycle,
        employee=world.employee("planner"),
        start_date=date(2020, 1, 1),
        end_date=date(2020, 6, 30),
    )
    return world, ended, past


def test_early_evaluation_opens_ended_plans_only_and_locks_them(
    org, other_org, make_member
):
    world, ended, past = _early_world(org, other_org, make_member)

    with tenant_context(org):
        created = opening.open_early_evaluations(cycle=world.cycle, actor=world.hr)
        plans = set(Evaluation.objects.values_list("plan_id", flat=True))
        statuses = set(
            Plan.objects.filter(pk__in=[ended.pk, past.pk]).values_list(
                "status", flat=True
            )
        )
        again = opening.open_early_evaluations(cycle=world.cycle, actor=world.hr)

    assert created == 4
    assert plans == {ended.pk, past.pk}
    assert statuses == {PlanStatus.LOCKED}
    assert again == 0


def test_review_after_early_evaluation_adds_only_the_rest(org, other_org, make_member):
    world, ended, _past = _early_world(org, other_org, make_member)
    with tenant_context(org):
        opening.open_early_evaluations(cycle=world.cycle, actor=world.hr)
        first = Evaluation.objects.get(plan=ended, kind=EvaluationKind.REVIEW).pk

    start_review(world)

    with tenant_context(org):
        assert Evaluation.objects.count() == 8
        assert (
            Evaluation.objects.get(plan=ended, kind=EvaluationKind.REVIEW).pk == first
        )
        assert Appraisal.objects.count() == 3


def test_early_evaluation_refused_when_the_cycle_does_not_allow_it(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member, open_review=False)

    with tenant_context(org), pytest.raises(DomainError, match="Early evaluation"):
        opening.open_early_evaluations(cycle=world.cycle, actor=world.hr)

    with tenant_context(org):
        assert not Evaluation.objects.exists()


def test_daily_task_opens_early_evaluations(
    org, other_org, make_member, django_capture_on_commit_callbacks
):
    world, ended, _past = _early_world(org, other_org, make_member)

    # The daily task owes one run per organisation through the outbox; each runs
    # once its organisation's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        queued = open_early_evaluations_everywhere()

    assert queued >= 2
    with tenant_context(org):
        assert Evaluation.objects.filter(plan=ended).count() == 2
    assert world.cycle.status == CycleStatus.IN_PROGRESS
