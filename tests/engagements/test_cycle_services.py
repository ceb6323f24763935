"""Review cycle services: creation, edits and the guarded status transitions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engagements.enums import CycleStatus, PlanKind, PlanStatus
from engagements.models import Plan, ReviewCycle
from engagements.services.cycles import (
    create_cycle,
    create_general_plans,
    transition_cycle,
    update_cycle,
)
from engagements.services.plans import update_plan
from organizations.errors import DomainError
from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context
from tests.engagement_factories import PlanFactory, ReviewCycleFactory
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


def _transition(actor: Membership, cycle: ReviewCycle, to: str) -> ReviewCycle:
    with tenant_context(actor.organization):
        return transition_cycle(actor=actor, cycle=cycle, to=to)


def _refusal(actor: Membership, cycle: ReviewCycle, to: str) -> str:
    with pytest.raises(DomainError) as caught:
        _transition(actor, cycle, to)
    return caught.value.message


def _status(cycle: ReviewCycle) -> str:
    with tenant_context(cycle.organization):
        return ReviewCycle.objects.get(pk=cycle.pk).status


def _general_plan_owners(cycle: ReviewCycle) -> list[int]:
    with tenant_context(cycle.organization):
        return sorted(
            Plan.objects.filter(cycle=cycle, kind=PlanKind.GENERAL).values_list(
                "employee_id", flat=True
            )
        )


def _stored(cycle: ReviewCycle) -> dict[str, Any]:
    with tenant_context(cycle.organization):
        return ReviewCycle.objects.filter(pk=cycle.pk).values().get()


def _employee_id(member: Membership) -> int:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user).pk


# --- create_cycle ----------------------------------------------------------------------


def test_create_cycle_defaults_general_weight_to_the_organisations(hr_admin, org):
    org.general_weight = Decimal("35")
    org.save()

    with tenant_context(org):
        cycle = create_cycle(
            actor=hr_admin,
            name="FY25",
            start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31),
        )

    stored = _stored(cycle)
    assert (stored["general_weight"], stored["status"]) == (
        Decimal("35.00"),
        CycleStatus.DRAFT,
    )


def test_create_cycle_keeps_a_given_general_weight(hr_admin, org):
    with tenant_context(org):
        cycle = create_cycle(
            actor=hr_admin,
            name="FY25",
            start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31),
            general_weight=Decimal("25"),
        )

    assert _stored(cycle)["general_weight"] == Decimal("25.00")


# --- transitions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (CycleStatus.DRAFT, CycleStatus.PLANNING),
        (CycleStatus.PLANNING, CycleStatus.IN_PROGRESS),
        (CycleStatus.IN_PROGRESS, CycleStatus.REVIEW),
        (CycleStatus.REVIEW, CycleStatus.CLOSED),
    ],
)
def test_transition_cycle_moves_to_the_next_status(hr_admin, org, start, to):
    cycle = ReviewCycleFactory(organization=org, status=start)

    _transition(hr_admin, cycle, to)

    assert _status(cycle) == to


@pytest.mark.parametrize(
    ("start", "to", "message"),
    [
        (
            CycleStatus.DRAFT,
            CycleStatus.IN_PROGRESS,
            "A cycle in Draft can only move to Planning.",
        ),
        (
            CycleStatus.PLANNING,
            CycleStatus.DRAFT,
            "A cycle in Planning can only move to In progress.",
        ),
        (
            CycleStatus.IN_PROGRESS,
            CycleStatus.CLOSED,
            "A cycle in In progress can only move to Review.",
        ),
        (
            CycleStatus.REVIEW,
            CycleStatus.IN_PROGRESS,
            "A cycle in Review can only move to Closed.",
        ),
        (CycleStatus.DRAFT, "bogus", "A cycle in Draft can only move to Planning."),
    ],
)
def test_transition_cycle_refuses_other_moves_and_changes_nothing(
    hr_admin, org, start, to, message
):
    cycle = ReviewCycleFactory(organization=org, status=start)

    refusal = _refusal(hr_admin, cycle, to)

    assert refusal == message
    assert _status(cycle) == start


@pytest.mark.parametrize("to", [*CycleStatus.values])
def test_transition_cycle_refuses_every_move_from_closed(hr_admin, org, to):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.CLOSED)

    refusal = _refusal(hr_admin, cycle, to)

    assert refusal == "This cycle is closed; it cannot move any more."
    assert _status(cycle) == CycleStatus.CLOSED


def test_transition_cycle_records_the_move_in_history(hr_admin, org):
    cycle = ReviewCycleFactory(organization=org)

    _transition(hr_admin, cycle, CycleStatus.PLANNING)

    with tenant_context(org):
        statuses = list(
            cycle.history.order_by("history_date").values_list("status", flat=True)
        )
    assert statuses == [CycleStatus.DRAFT, CycleStatus.PLANNING]


def test_opening_planning_creates_a_general_plan_per_active_employee(hr_admin, org):
    first = EmployeeFactory(organization=org)
    second = EmployeeFactory(organization=org)
    EmployeeFactory(organization=org, is_active=False)
    cycle = ReviewCycleFactory(organization=org)

    _transition(hr_admin, cycle, CycleStatus.PLANNING)

    assert _general_plan_owners(cycle) == sorted(
        [_employee_id(hr_admin), first.pk, second.pk]
    )


def test_opening_planning_gives_no_general_plan_to_inactive_employees(hr_admin, org):
    inactive = EmployeeFactory(organization=org, is_active=False)
    cycle = ReviewCycleFactory(organization=org)

    _transition(hr_admin, cycle, CycleStatus.PLANNING)

    assert inactive.pk not in _general_plan_owners(cycle)


def test_opening_planning_general_plans_follow_the_cycle_and_organisation(
    hr_admin, org
):
    org.goal_weight = Decimal("65")
    org.save()
    person = EmployeeFactory(organization=org)
    cycle = ReviewCycleFactory(
        organization=org, start_date=date(2025, 2, 1), end_date=date(2025, 11, 30)
    )

    _transition(hr_admin, cycle, CycleStatus.PLANNING)

    with tenant_context(org):
        plan = Plan.objects.get(cycle=cycle, employee=person)
    assert (
        plan.kind,
        plan.engagement_id,
        plan.allocation,
        plan.start_date,
        plan.end_date,
        plan.goal_weight,
        plan.status,
    ) == (
        PlanKind.GENERAL,
        None,
        None,
        date(2025, 2, 1),
        date(2025, 11, 30),
        Decimal("65.00"),
        PlanStatus.DRAFT,
    )


def test_opening_planning_keeps_existing_general_plans(hr_admin, org):
    person = EmployeeFactory(organization=org)
    cycle = ReviewCycleFactory(organization=org)
    existing = PlanFactory(
        organization=org,
        cycle=cycle,
        employee=person,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )

    _transition(hr_admin, cycle, CycleStatus.PLANNING)

    with tenant_context(org):
        mine = list(
            Plan.objects.filter(cycle=cycle, employee=person).values_list(
                "pk", flat=True
            )
        )
    assert mine == [existing.pk]


def test_create_general_plans_is_idempotent(hr_admin, org):
    EmployeeFactory.create_batch(2, organization=org)
    cycle = ReviewCycleFactory(organization=org)
    with tenant_context(org):
        first = create_general_plans(cycle=cycle)
    owners = _general_plan_owners(cycle)

    with tenant_context(org):
        second = create_general_plans(cycle=cycle)

    assert (first, second) == (3, 0)
    assert _general_plan_owners(cycle) == owners


def test_opening_planning_leaves_other_organisations_alone(hr_admin, org, other_org):
    foreign = EmployeeFactory(organization=other_org)
    cycle = ReviewCycleFactory(organization=org)

    _transition(hr_admin, cycle, CycleStatus.PLANNING)

    with tenant_context(other_org):
        foreign_plans = Plan.objects.filter(employee=foreign).count()
    assert foreign_plans == 0


def test_starting_the_review_locks_every_plan_of_the_cycle(hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    other_cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    PlanFactory(organization=org, cycle=cycle, status=PlanStatus.DRAFT)
    PlanFactory(organization=org, cycle=cycle, status=PlanStatus.ACTIVE)
    PlanFactory(
        organization=org,
        cycle=cycle,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        status=PlanStatus.ACTIVE,
    )
    untouched = PlanFactory(
        organization=org, cycle=other_cycle, status=PlanStatus.ACTIVE
    )

    _transition(hr_admin, cycle, CycleStatus.REVIEW)

    with tenant_context(org):
        statuses = set(
            Plan.objects.filter(cycle=cycle).values_list("status", flat=True)
        )
        other = Plan.objects.get(pk=untouched.pk).status
    assert statuses == {PlanStatus.LOCKED}
    assert other == PlanStatus.ACTIVE


def test_locked_plans_refuse_edits_after_the_review_starts(hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    plan = PlanFactory(organization=org, cycle=cycle)
    _transition(hr_admin, cycle, CycleStatus.REVIEW)

    with tenant_context(org), pytest.raises(DomainError):
        update_plan(
            actor=hr_admin, plan=plan, version=plan.version, role_title="Changed"
        )

    with tenant_context(org):
        assert Plan.objects.get(pk=plan.pk).role_title == ""


# --- update_cycle ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CycleStatus.IN_PROGRESS, CycleStatus.REVIEW])
@pytest.mark.parametrize(
    "change",
    [{"start_date": date(2025, 2, 1)}, {"end_date": date(2025, 11, 30)}],
)
def test_update_cycle_refuses_date_moves_once_in_progress(
    hr_admin, org, status, change
):
    cycle = ReviewCycleFactory(organization=org, status=status, name="Fixed")
    before = _stored(cycle)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        update_cycle(actor=hr_admin, cycle=cycle, name="Renamed", **change)

    assert (caught.value.field, caught.value.message) == (
        "start_date",
        "The dates are fixed once the cycle is in progress.",
    )
    assert _stored(cycle) == before


@pytest.mark.parametrize("status", [CycleStatus.DRAFT, CycleStatus.PLANNING])
def test_update_cycle_moves_dates_before_the_cycle_starts(hr_admin, org, status):
    cycle = ReviewCycleFactory(organization=org, status=status)

    with tenant_context(org):
        update_cycle(
            actor=hr_admin,
            cycle=cycle,
            start_date=date(2025, 2, 1),
            end_date=date(2025, 11, 30),
        )

    stored = _stored(cycle)
    assert (stored["start_date"], stored["end_date"]) == (
        date(2025, 2, 1),
        date(2025, 11, 30),
    )


def test_update_cycle_changes_weights_in_progress_with_the_same_dates(hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)

    with tenant_context(org):
        update_cycle(
            actor=hr_admin,
            cycle=cycle,
            start_date=cycle.start_date,
            end_date=cycle.end_date,
            general_weight=Decimal("30"),
        )

    assert _stored(cycle)["general_weight"] == Decimal("30.00")


def test_update_cycle_refuses_every_change_once_closed(hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.CLOSED)
    before = _stored(cycle)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        update_cycle(actor=hr_admin, cycle=cycle, name="Renamed")

    assert caught.value.message == "This cycle is closed; it can no longer change."
    assert _stored(cycle) == before
