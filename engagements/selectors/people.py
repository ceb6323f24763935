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

from engagements.enums import PlanKind
from engagements.models import Engagement, Plan, RoleAssignment
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
