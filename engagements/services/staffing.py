"""Staffing: putting people on an engagement for a cycle (one engagement plan each),
with the default dates and the over-allocation warnings that go with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from engagements.enums import PlanKind, PlanStatus
from engagements.models import Engagement, Plan, ReviewCycle
from engagements.selectors.competencies import engagement_set_id
from engagements.services.competencies import attach_set_competencies
from engagements.services.roles import apply_role_rules
from organizations.errors import DomainError
from organizations.models import Employee, Membership

HUNDRED = Decimal(100)


@dataclass
class StaffingResult:
    plans: list[Plan] = field(default_factory=list)
    skipped: list[Employee] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def overlap(
    a_start: date, a_end: date, b_start: date, b_end: date
) -> tuple[date, date] | None:
    start, end = max(a_start, b_start), min(a_end, b_end)
    return (start, end) if start <= end else None


def default_plan_dates(
    engagement: Engagement, cycle: ReviewCycle
) -> tuple[date, date] | None:
    """The overlap of the engagement and the cycle, or None if they do not meet."""
    return overlap(
        engagement.start_date, engagement.end_date, cycle.start_date, cycle.end_date
    )


def overallocation_warnings(
    *,
    employees: Sequence[Employee],
    start: date,
    end: date,
    allocation: Decimal,
    exclude_engagement: Engagement | None = None,
) -> list[str]:
    """Warnings for people whose engagement allocations would exceed 100 % on some day
    of [start, end] with ``allocation`` added. One query; never blocks.

    Only plans that run at the same time count: 60 % in January and 60 % in March
    never add up, so the peak of simultaneous allocations is compared with 100 %.
    """
    plans = Plan.objects.filter(
        kind=PlanKind.ENGAGEMENT,
        employee__in=[e.pk for e in employees],
        start_date__lte=end,
        end_date__gte=start,
    )
    if exclude_engagement is not None:
        plans = plans.exclude(engagement=exclude_engagement)
    periods: dict[int, list[tuple[date, date, Decimal]]] = {}
    for employee_id, plan_start, plan_end, share in plans.values_list(
        "employee_id", "start_date", "end_date", "allocation"
    ):
        periods.setdefault(employee_id, []).append(
            (max(plan_start, start), min(plan_end, end), share or Decimal(0))
        )
    warnings = []
    for employee in employees:
        peak, peak_start, peak_end = _peak_allocation(
            periods.get(employee.pk, []), start, end
        )
        total = peak + allocation
        if total > HUNDRED:
            warnings.append(
                _(
                    "%(name)s would be allocated %(total)s %% between %(start)s and "
                    "%(end)s across engagements (more than 100 %%)."
                )
                % {
                    "name": employee.full_name,
                    "total": f"{total.normalize():f}",
                    "start": peak_start.isoformat(),
                    "end": peak_end.isoformat(),
                }
            )
    return warnings


def _peak_allocation(
    periods: Sequence[tuple[date, date, Decimal]], start: date, end: date
) -> tuple[Decimal, date, date]:
    """The highest total of ``periods`` (inside [start, end]) on any one day, and the
    first stretch of days at that total; (0, start, end) without periods."""
    changes: dict[date, Decimal] = {}
    for period_start, period_end, share in periods:
        after = period_end + timedelta(days=1)
        changes[period_start] = changes.get(period_start, Decimal(0)) + share
        changes[after] = changes.get(after, Decimal(0)) - share
    days = sorted(changes)
    current = peak = Decimal(0)
    peak_start, peak_end = start, end
    for index, day in enumerate(days):
        current += changes[day]
        if day > end:
            break
        if current > peak:
            peak, peak_start = current, day
            following = days[index + 1] if index + 1 < len(days) else None
            peak_end = end if following is None else following - timedelta(days=1)
    return peak, peak_start, peak_end


def staff_employees(
    *,
    actor: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    employees: Sequence[Employee],
    allocation: Decimal,
    start_date: date | None = None,
    end_date: date | None = None,
    role_title: str = "",
) -> StaffingResult:
    """Staff people on an engagement for a cycle: one engagement plan each.

    Dates default to the overlap of engagement and cycle; the plan must meet the cycle
    and stay inside the engagement. People already staffed are skipped. Role rules for
    their job titles are applied. Over-allocation is reported, not refused.
    """
    if cycle.plans_locked:
        raise DomainError(
            _(
                "The cycle %(cycle)s is in review or closed; staffing can no longer change."
            )
            % {"cycle": cycle.name}
        )
    if not employees:
        raise DomainError(_("Pick at least one person to staff."), field="employees")
    if not 0 < allocation <= HUNDRED:
        raise DomainError(
            _("The allocation is a percentage above 0 and at most 100."),
            field="allocation",
        )
    window = default_plan_dates(engagement, cycle)
    if window is None:
        raise DomainError(
            _("The engagement and the cycle do not overlap; pick another cycle."),
            field="cycle",
        )
    start = start_date or window[0]
    end = end_date or window[1]
    if end < start:
        raise DomainError(_("The end cannot be before the start."), field="end_date")
    if start < engagement.start_date or end > engagement.end_date:
        raise DomainError(
            _("The dates must lie within the engagement (%(start)s to %(end)s).")
            % {"start": engagement.start_date, "end": engagement.end_date},
            field="start_date" if start < engagement.start_date else "end_date",
        )
    if overlap(start, end, cycle.start_date, cycle.end_date) is None:
        raise DomainError(
            _("These dates fall outside the cycle; the plan would not count."),
            field="start_date",
        )
    result = StaffingResult()
    with transaction.atomic():
        already = set(
            Plan.objects.filter(
                cycle=cycle,
                engagement=engagement,
                employee__in=[e.pk for e in employees],
            ).values_list("employee_id", flat=True)
        )
        fresh = [e for e in employees if e.pk not in already]
        result.skipped = [e for e in employees if e.pk in already]
        result.warnings = overallocation_warnings(
            employees=fresh, start=start, end=end, allocation=allocation
        )
        goal_weight = actor.organization.goal_weight
        for employee in fresh:
            plan = Plan(
                organization=actor.organization,
                cycle=cycle,
                employee=employee,
                kind=PlanKind.ENGAGEMENT,
                engagement=engagement,
                start_date=start,
                end_date=end,
                allocation=allocation,
                role_title=role_title,
                goal_weight=goal_weight,
                status=PlanStatus.DRAFT,
            )
            plan.save()
            result.plans.append(plan)
        if result.plans:
            set_id = engagement_set_id(engagement)
            attach_set_competencies([(plan, set_id) for plan in result.plans])
        apply_role_rules(engagement=engagement, employees=fresh)
    return result
