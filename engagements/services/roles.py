"""Engagement roles and the django-guardian object permissions they grant, role
rules (roles given by job title), and granting a newly linked login its roles'
permissions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from engagements.enums import AssignmentSource, CycleStatus, EngagementRole, PlanKind
from engagements.models import (
    ROLE_PERMISSIONS,
    Engagement,
    Plan,
    RoleAssignment,
    RoleRule,
)
from organizations.errors import DomainError
from organizations.models import Employee, Membership, User


def _grant(user: User | None, engagement: Engagement, role: str) -> None:
    if user is None:
        return
    assign_perm(f"engagements.{ROLE_PERMISSIONS[role]}", user, engagement)
    assign_perm("engagements.view_engagement", user, engagement)


def _revoke(
    user: User | None, engagement: Engagement, role: str, remaining: set[str]
) -> None:
    if user is None:
        return
    remove_perm(f"engagements.{ROLE_PERMISSIONS[role]}", user, engagement)
    if not remaining:
        remove_perm("engagements.view_engagement", user, engagement)


def assign_role(
    *,
    actor: Membership | None,
    engagement: Engagement,
    employee: Employee,
    role: str,
    source: str = AssignmentSource.MANUAL,
) -> RoleAssignment:
    """Give ``employee`` an engagement role and its object permissions, atomically.

    Assigning a role someone already holds returns the existing assignment.
    """
    if role not in EngagementRole.values:
        raise DomainError(_("Choose one of the listed roles."), field="role")
    with transaction.atomic():
        existing = RoleAssignment.objects.filter(
            engagement=engagement, employee=employee, role=role
        ).first()
        if existing is not None:
            return existing
        if not employee.is_active:
            raise DomainError(
                _("%(name)s is inactive and cannot hold a role.") % {"name": employee},
                field="employee",
            )
        assignment = RoleAssignment.objects.create(
            organization_id=engagement.organization_id,
            engagement=engagement,
            employee=employee,
            role=role,
            source=source,
        )
        _grant(employee.user, engagement, role)
    return assignment


def revoke_role(*, actor: Membership, assignment: RoleAssignment) -> None:
    """Remove an engagement role and the permissions it granted, atomically."""
    with transaction.atomic():
        employee, engagement, role = (
            assignment.employee,
            assignment.engagement,
            assignment.role,
        )
        assignment.delete()
        remaining = set(
            RoleAssignment.objects.filter(
                engagement=engagement, employee=employee
            ).values_list("role", flat=True)
        )
        _revoke(employee.user, engagement, role, remaining)


def apply_role_rules(
    *, engagement: Engagement, employees: Sequence[Employee]
) -> list[RoleAssignment]:
    """Assign the roles that role rules give these staffed people's job titles."""
    title_ids = {e.job_title_id for e in employees if e.job_title_id}
    if not title_ids:
        return []
    rules: dict[int, list[str]] = {}
    for job_title_id, role in RoleRule.objects.filter(
        job_title_id__in=title_ids
    ).values_list("job_title_id", "role"):
        rules.setdefault(job_title_id, []).append(role)
    created = []
    for employee in employees:
        for role in rules.get(employee.job_title_id or 0, []):
            created.append(
                assign_role(
                    actor=None,
                    engagement=engagement,
                    employee=employee,
                    role=role,
                    source=AssignmentSource.RULE,
                )
            )
    return created


def create_role_rule(*, actor: Membership, job_title: Any, role: str) -> RoleRule:
    """Add a role rule and apply it to people already staffed on open engagements."""
    with transaction.atomic():
        if RoleRule.objects.filter(job_title=job_title, role=role).exists():
            raise DomainError(_("This rule exists already."), field="role")
        rule = RoleRule.objects.create(
            organization=actor.organization, job_title=job_title, role=role
        )
        staffed = (
            Plan.objects.filter(
                kind=PlanKind.ENGAGEMENT,
                employee__job_title=job_title,
                employee__is_active=True,
            )
            .exclude(cycle__status=CycleStatus.CLOSED)
            .select_related("engagement", "employee__user")
        )
        seen: set[tuple[int, int]] = set()
        for plan in staffed:
            key = (plan.engagement_id or 0, plan.employee_id)
            if key in seen or plan.engagement is None:
                continue
            seen.add(key)
            assign_role(
                actor=actor,
                engagement=plan.engagement,
                employee=plan.employee,
                role=role,
                source=AssignmentSource.RULE,
            )
    return rule


def delete_role_rule(*, actor: Membership, rule: RoleRule) -> None:
    """Remove a rule. Roles it already gave stay until revoked by hand."""
    rule.delete()


def sync_permissions_for(employee: Employee) -> None:
    """Grant a newly linked login the permissions of the roles its person holds."""
    if employee.user is None:
        return
    for assignment in RoleAssignment.objects.filter(employee=employee).select_related(
        "engagement"
    ):
        _grant(employee.user, assignment.engagement, assignment.role)
