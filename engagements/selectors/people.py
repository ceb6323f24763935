"""Reads for a person's page: their plans across cycles, and the engagements they
are staffed on or hold a role on.

Every read starts from the viewer's visibility definitions in
``engagements.selectors.access`` (``plans_visible_to``, ``engagements_visible_to``),
so a section never shows a row its own page would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import OuterRef, Subquery

from engagements.enums import CycleStatus, PlanKind
from engagements.models import Engagement, Goal, GoalCheckIn, Plan, RoleAssignment
from engagements.selectors.access import engagements_visible_to, plans_visible_to
from organizations.models import Employee, Membership


def person_plans(membership: Membership, employee: Employee) -> list[Plan]:
    """Every plan of ``employee`` the member may open, in every cycle: newest cycle
    first, the general plan before the engagement plans. One query."""
    return list(
        plans_visible_to(membership)
        .filter(employee=employee)
        .select_related("cycle", "engagement__client")
        .order_by("-cycle__start_date", "cycle_id", "kind", "engagement__name", "pk")
    )


# The goals section lists the goals of cycles still open, at most this many.
GOALS_SHOWN = 60


def person_goals(membership: Membership, employee: Employee) -> list[Goal]:
    """The goals of ``employee``'s plans the member may open, in cycles not closed
    (newest cycle first, then plan and the goals' order), at most ``GOALS_SHOWN``;
    each with its plan, cycle and engagement, and its latest check-in's time and
    author as ``last_checkin_at`` and ``last_checkin_by``. One query."""
    latest = GoalCheckIn.objects.filter(goal=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    return list(
        Goal.objects.filter(
            plan__in=plans_visible_to(membership).filter(employee=employee).values("pk")
        )
        .exclude(plan__cycle__status=CycleStatus.CLOSED)
        .select_related("plan__cycle", "plan__engagement")
        .annotate(
            last_checkin_at=Subquery(latest.values("created_at")[:1]),
            last_checkin_by=Subquery(latest.values("author__full_name")[:1]),
        )
        .order_by(
            "-plan__cycle__start_date",
            "plan__kind",
            "plan__engagement__name",
            "plan_id",
            "position",
            "pk",
        )[:GOALS_SHOWN]
    )


@dataclass
class StaffingSpell:
    """One engagement plan: the cycle, the dates and the share of time."""

    cycle_name: str
    start_date: date
    end_date: date
    allocation: Decimal | None
    role_title: str


@dataclass
class PersonEngagement:
    """One engagement on the person's page: their staffing on it and their roles."""

    engagement: Engagement
    spells: list[StaffingSpell] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)


def person_engagements(
    membership: Membership, employee: Employee
) -> list[PersonEngagement]:
    """The engagements the member may see on which ``employee`` is staffed or holds
    a role, newest first, each with the staffing (engagement plans, every cycle) and
    the role names. Two queries whatever the number of rows."""
    visible = engagements_visible_to(membership).values("pk")
    staffed = (
        Plan.objects.filter(
            employee=employee, kind=PlanKind.ENGAGEMENT, engagement__in=visible
        )
        .select_related("engagement__client", "cycle")
        .order_by("-start_date", "pk")
    )
    roles = (
        RoleAssignment.objects.filter(employee=employee, engagement__in=visible)
        .select_related("engagement__client")
        .order_by("role", "pk")
    )
    rows: dict[int, PersonEngagement] = {}
    for plan in staffed:
        if plan.engagement is None:  # an engagement plan always has one
            continue
        row = rows.setdefault(plan.engagement.pk, PersonEngagement(plan.engagement))
        row.spells.append(
            StaffingSpell(
                cycle_name=plan.cycle.name,
                start_date=plan.start_date,
                end_date=plan.end_date,
                allocation=plan.allocation,
                role_title=plan.role_title,
            )
        )
    for assignment in roles:
        row = rows.setdefault(
            assignment.engagement.pk, PersonEngagement(assignment.engagement)
        )
        row.roles.append(assignment.get_role_display())
    return sorted(
        rows.values(),
        key=lambda r: (r.engagement.start_date, r.engagement.pk),
        reverse=True,
    )
