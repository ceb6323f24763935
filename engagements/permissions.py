"""Who may do what with engagements, plans and goals.

Engagement roles are django-guardian object permissions on the Engagement (granted and
removed by ``services.assign_role`` / ``revoke_role``); tenant roles come from the
Membership. Every predicate takes an ``Access`` so a page asks guardian once.
"""

from __future__ import annotations

from guardian.core import ObjectPermissionChecker

from engagements.enums import PlanKind
from engagements.models import Engagement, Plan
from organizations.models import Membership
from organizations.permissions import Access


def load_access(membership: Membership, engagements: list[Engagement]) -> Access:
    """Guardian permissions of the member on ``engagements``. One or two queries."""
    access = Access(membership=membership)
    # Guardian answers "everything" for superusers; tenant access never comes from
    # platform-wide flags, so such an account gets no engagement permissions here.
    if not engagements or access.is_hr or membership.user.is_superuser:
        return access
    checker = ObjectPermissionChecker(membership.user)
    checker.prefetch_perms(engagements)  # type: ignore[arg-type]  # any iterable
    for engagement in engagements:
        access.perms[engagement.pk] = set(checker.get_perms(engagement))
    return access


def can_manage_engagements(access: Access) -> bool:
    """Clients, engagements, cycles, staffing, roles, rules and templates: HR admins."""
    return access.is_hr


def can_plan_on(access: Access, engagement: Engagement) -> bool:
    return access.is_hr or "plan_engagement" in access.on(engagement.pk)


def can_view_plan(access: Access, plan: Plan) -> bool:
    """HR, the employee, their line manager, and role holders on the engagement."""
    if access.is_hr or plan.employee.user_id == access.user_id:
        return True
    manager = plan.employee.line_manager
    if manager is not None and manager.user_id == access.user_id:
        return True
    return plan.kind == PlanKind.ENGAGEMENT and "view_engagement" in access.on(
        plan.engagement_id
    )


def can_edit_plan(access: Access, plan: Plan) -> bool:
    """HR; the engagement's planners (engagement plans); the line manager (general)."""
    if access.is_hr:
        return True
    if plan.kind == PlanKind.ENGAGEMENT:
        return "plan_engagement" in access.on(plan.engagement_id)
    manager = plan.employee.line_manager
    return manager is not None and manager.user_id == access.user_id


def can_check_in(access: Access, plan: Plan) -> bool:
    """The employee records their own progress; planners may too."""
    return plan.employee.user_id == access.user_id or can_edit_plan(access, plan)
