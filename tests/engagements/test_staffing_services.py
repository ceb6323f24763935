"""Staffing: engagement plans with default dates, skipped duplicates, over-allocation
warnings across engagements that run at the same time, locked cycles, role rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from guardian.shortcuts import get_perms

from engagements.enums import (
    AssignmentSource,
    CycleStatus,
    EngagementRole,
    PlanKind,
    PlanStatus,
)
from engagements.models import Engagement, Plan, ReviewCycle, RoleAssignment
from engagements.services.staffing import StaffingResult, staff_employees
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization, User
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
    RoleRuleFactory,
)
from tests.factories import EmployeeFactory, JobTitleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagement(org: Organization) -> Engagement:
    return EngagementFactory(
        organization=org, start_date=date(2025, 3, 1), end_date=date(2025, 9, 30)
    )


@pytest.fixture
def cycle(org: Organization) -> ReviewCycle:
    return ReviewCycleFactory(
        organization=org,
        start_date=date(2025, 1, 1),
        end_date=date(2025, 6, 30),
        status=CycleStatus.PLANNING,
    )


def _staff(
    actor: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    employees: Sequence[Employee],
    allocation: str = "50",
    **kwargs: Any,
) -> StaffingResult:
    with tenant_context(actor.organization):
        return staff_employees(
            actor=actor,
            engagement=engagement,
            cycle=cycle,
            employees=employees,
            allocation=Decimal(allocation),
            **kwargs,
        )


def _refusal(*args: Any, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        _staff(*args, **kwargs)
    return caught.value


def _plans(engagement: Engagement) -> list[tuple[Any, ...]]:
    with tenant_context(engagement.organization):
        return list(
            Plan.objects.filter(engagement=engagement)
            .order_by("employee__code")
            .values_list(
                "employee_id",
                "kind",
                "start_date",
                "end_date",
                "allocation",
                "role_title",
                "status",
                "goal_weight",
            )
        )


def _employee(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.select_related("job_title").get(user=member.user)


def _other_engagement_plan(
    employee: Employee, start: date, end: date, allocation: str
) -> Plan:
    engagement = EngagementFactory(
        organization=employee.organization,
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
    )
    return PlanFactory(
        organization=employee.organization,
        employee=employee,
        engagement=engagement,
        start_date=start,
        end_date=end,
        allocation=Decimal(allocation),
    )


# --- plans and dates -------------------------------------------------------------------


def test_staff_employees_creates_plans_dated_to_the_engagement_cycle_overlap(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    first = EmployeeFactory(organization=hr_admin.organization)
    second = EmployeeFactory(organization=hr_admin.organization)

    result = _staff(
        hr_admin, engagement, cycle, [first, second], "40", role_title="Data architect"
    )

    overlap = (date(2025, 3, 1), date(2025, 6, 30))
    expected_row = (
        PlanKind.ENGAGEMENT,
        *overlap,
        Decimal("40.00"),
        "Data architect",
        PlanStatus.DRAFT,
        hr_admin.organization.goal_weight,
    )
    assert _plans(engagement) == [
        (first.pk, *expected_row),
        (second.pk, *expected_row),
    ]
    assert [p.employee_id for p in result.plans] == [first.pk, second.pk]
    assert (result.skipped, result.warnings) == ([], [])


def test_staff_employees_uses_the_dates_given(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)

    _staff(
        hr_admin,
        engagement,
        cycle,
        [person],
        start_date=date(2025, 4, 1),
        end_date=date(2025, 5, 15),
    )

    assert [row[2:4] for row in _plans(engagement)] == [
        (date(2025, 4, 1), date(2025, 5, 15))
    ]


def test_staff_employees_fills_a_missing_end_from_the_overlap(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)

    _staff(hr_admin, engagement, cycle, [person], start_date=date(2025, 4, 1))

    assert [row[2:4] for row in _plans(engagement)] == [
        (date(2025, 4, 1), date(2025, 6, 30))
    ]


def test_staff_employees_skips_people_already_staffed_in_the_cycle(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    staffed = EmployeeFactory(organization=hr_admin.organization)
    newcomer = EmployeeFactory(organization=hr_admin.organization)
    _staff(hr_admin, engagement, cycle, [staffed], "30")

    result = _staff(hr_admin, engagement, cycle, [staffed, newcomer], "60")

    assert result.skipped == [staffed]
    assert [p.employee_id for p in result.plans] == [newcomer.pk]
    assert [(row[0], row[4]) for row in _plans(engagement)] == [
        (staffed.pk, Decimal("30.00")),
        (newcomer.pk, Decimal("60.00")),
    ]


# --- over-allocation -----------------------------------------------------------------


def test_staff_employees_warns_when_simultaneous_allocations_pass_100(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization, full_name="Ada Busy")
    _other_engagement_plan(person, date(2025, 1, 1), date(2025, 3, 31), "80")

    result = _staff(hr_admin, engagement, cycle, [person], "30")

    assert result.warnings == [
        "Ada Busy would be allocated 110 % between 2025-03-01 and 2025-03-31 across "
        "engagements (more than 100 %)."
    ]
    assert [p.employee_id for p in result.plans] == [person.pk]


def test_staff_employees_adds_up_only_engagements_running_at_the_same_time(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)
    _other_engagement_plan(person, date(2025, 3, 1), date(2025, 3, 31), "60")
    _other_engagement_plan(person, date(2025, 5, 1), date(2025, 6, 30), "60")

    result = _staff(hr_admin, engagement, cycle, [person], "40")

    assert result.warnings == []


def test_staff_employees_ignores_engagements_outside_the_staffing_dates(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)
    _other_engagement_plan(person, date(2025, 7, 1), date(2025, 12, 31), "100")

    result = _staff(hr_admin, engagement, cycle, [person], "100")

    assert result.warnings == []


def test_staff_employees_reports_the_peak_of_three_overlapping_engagements(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization, full_name="Bo Peak")
    _other_engagement_plan(person, date(2025, 3, 1), date(2025, 4, 30), "40")
    _other_engagement_plan(person, date(2025, 4, 10), date(2025, 6, 30), "30")

    result = _staff(hr_admin, engagement, cycle, [person], "50")

    assert result.warnings == [
        "Bo Peak would be allocated 120 % between 2025-04-10 and 2025-04-30 across "
        "engagements (more than 100 %)."
    ]


def test_staff_employees_warns_each_overallocated_person_only(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    busy = EmployeeFactory(organization=hr_admin.organization, full_name="Cy Busy")
    free = EmployeeFactory(organization=hr_admin.organization, full_name="Di Free")
    _other_engagement_plan(busy, date(2025, 1, 1), date(2025, 12, 31), "90")
    _other_engagement_plan(free, date(2025, 1, 1), date(2025, 12, 31), "10")

    result = _staff(hr_admin, engagement, cycle, [busy, free], "20")

    assert result.warnings == [
        "Cy Busy would be allocated 110 % between 2025-03-01 and 2025-06-30 across "
        "engagements (more than 100 %)."
    ]
    assert len(result.plans) == 2


# --- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CycleStatus.REVIEW, CycleStatus.CLOSED])
def test_staff_employees_is_refused_once_the_cycle_is_in_review(
    hr_admin: Membership, engagement: Engagement, status: str
) -> None:
    cycle = ReviewCycleFactory(organization=hr_admin.organization, status=status)
    person = EmployeeFactory(organization=hr_admin.organization)

    error = _refusal(hr_admin, engagement, cycle, [person])

    assert error.message == (
        f"The cycle {cycle.name} is in review or closed; staffing can no longer change."
    )
    assert _plans(engagement) == []


def test_staff_employees_is_accepted_while_the_cycle_is_in_progress(
    hr_admin: Membership, engagement: Engagement
) -> None:
    cycle = ReviewCycleFactory(
        organization=hr_admin.organization, status=CycleStatus.IN_PROGRESS
    )
    person = EmployeeFactory(organization=hr_admin.organization)

    _staff(hr_admin, engagement, cycle, [person])

    assert [row[0] for row in _plans(engagement)] == [person.pk]


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"start_date": date(2025, 2, 1)}, "start_date"),
        ({"end_date": date(2025, 10, 31)}, "end_date"),
    ],
)
def test_staff_employees_refuses_dates_outside_the_engagement(
    hr_admin: Membership,
    engagement: Engagement,
    dates: dict[str, date],
    field: str,
) -> None:
    cycle = ReviewCycleFactory(
        organization=hr_admin.organization,
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
    )
    person = EmployeeFactory(organization=hr_admin.organization)

    error = _refusal(hr_admin, engagement, cycle, [person], **dates)

    assert (error.field, error.message) == (
        field,
        "The dates must lie within the engagement (2025-03-01 to 2025-09-30).",
    )
    assert _plans(engagement) == []


def test_staff_employees_refuses_an_end_before_the_start(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)

    error = _refusal(
        hr_admin,
        engagement,
        cycle,
        [person],
        start_date=date(2025, 5, 1),
        end_date=date(2025, 4, 1),
    )

    assert (error.field, error.message) == (
        "end_date",
        "The end cannot be before the start.",
    )


def test_staff_employees_refuses_a_cycle_that_misses_the_engagement(
    hr_admin: Membership, engagement: Engagement
) -> None:
    cycle = ReviewCycleFactory(
        organization=hr_admin.organization,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
    )
    person = EmployeeFactory(organization=hr_admin.organization)

    error = _refusal(hr_admin, engagement, cycle, [person])

    assert (error.field, error.message) == (
        "cycle",
        "The engagement and the cycle do not overlap; pick another cycle.",
    )


@pytest.mark.parametrize("allocation", ["0", "100.01", "-5"])
def test_staff_employees_refuses_an_allocation_out_of_range(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle, allocation: str
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)

    error = _refusal(hr_admin, engagement, cycle, [person], allocation)

    assert error.field == "allocation"
    assert _plans(engagement) == []


def test_staff_employees_refuses_an_empty_list_of_people(
    hr_admin: Membership, engagement: Engagement, cycle: ReviewCycle
) -> None:
    error = _refusal(hr_admin, engagement, cycle, [])

    assert (error.field, error.message) == (
        "employees",
        "Pick at least one person to staff.",
    )


# --- role rules --------------------------------------------------------------------------


def _user_perms(user_id: int, engagement: Engagement) -> set[str]:
    # A fresh user object: no permission cache survives from an earlier check.
    return set(get_perms(User.objects.get(pk=user_id), engagement))


def test_staff_employees_applies_role_rules_to_the_people_staffed(
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    make_member: Any,
) -> None:
    org = hr_admin.organization
    manager_title = JobTitleFactory(organization=org, name="Engagement Manager")
    RoleRuleFactory(
        organization=org, job_title=manager_title, role=EngagementRole.REVIEWER
    )
    lead = make_member(org, employee__job_title=manager_title)
    analyst = make_member(org)

    _staff(hr_admin, engagement, cycle, [_employee(lead), _employee(analyst)])

    with tenant_context(org):
        roles = list(
            RoleAssignment.objects.filter(engagement=engagement).values_list(
                "employee__user_id", "role", "source"
            )
        )
    assert roles == [(lead.user_id, EngagementRole.REVIEWER, AssignmentSource.RULE)]
    assert _user_perms(lead.user_id, engagement) == {
        "review_engagement",
        "view_engagement",
    }
    assert _user_perms(analyst.user_id, engagement) == set()


def test_staff_employees_gives_rule_roles_only_on_that_engagement(
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    make_member: Any,
) -> None:
    org = hr_admin.organization
    title = JobTitleFactory(organization=org)
    RoleRuleFactory(organization=org, job_title=title, role=EngagementRole.PLANNER)
    lead = make_member(org, employee__job_title=title)
    elsewhere = EngagementFactory(organization=org)

    _staff(hr_admin, engagement, cycle, [_employee(lead)])

    assert _user_perms(lead.user_id, elsewhere) == set()
    assert _user_perms(lead.user_id, engagement) == {
        "plan_engagement",
        "view_engagement",
    }
