"""Who may do what with engagements, plans and goals: the app's one permission entry
point, ``can(access, action, target)``.

Engagement roles are django-guardian object permissions on the Engagement (granted and
removed by ``services.roles.assign_role`` / ``revoke_role``); tenant roles come from the
Membership. Every predicate takes an ``Access`` (``organizations.permissions``), so a
page asks guardian once (``load_access``) and then answers every question without a
query.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from guardian.core import ObjectPermissionChecker

from engagements.enums import PlanKind
from engagements.models import Engagement, Plan
from organizations.models import Membership
from organizations.permissions import Access


class Action(StrEnum):
    """What ``can`` answers for this app's objects."""

    MANAGE = "manage"  # no target
    PLAN_ON = "plan_on"  # target: an Engagement
    VIEW_PLAN = "view_plan"  # target: a Plan
    EDIT_PLAN = "edit_plan"  # target: a Plan
    CHECK_IN = "check_in"  # target: a Plan


def can(access: Access, action: Action | str, target: object = None) -> bool:
    """May ``access``'s member do ``action`` (on ``target``)? No query when the plan's
    employee and line manager are loaded.

    ``manage``: clients, engagements, cycles, staffing, roles, rules and templates.
    ``plan_on`` an engagement: write plans on it. ``view_plan``, ``edit_plan`` and
    ``check_in`` a plan. Raises ValueError for an unknown action and TypeError for a
    target of the wrong kind.
    """
    if action == Action.MANAGE:
        return can_manage_engagements(access)
    if action == Action.PLAN_ON:
        if not isinstance(target, Engagement):
            raise TypeError(f"{action} needs an Engagement, not {target!r}")
        return can_plan_on(access, target)
    predicate = PLAN_PREDICATES.get(action)
    if predicate is None:
        raise ValueError(f"Unknown action for engagements: {action!r}")
    if not isinstance(target, Plan):
        raise TypeError(f"{action} needs a Plan, not {target!r}")
    return predicate(access, target)


def load_access(membership: Membership, engagements: list[Engagement]) -> Access:
    """Guardian permissions of the member on ``engagements``. One or two queries."""
    access = Access(membership=membership)
    # Guardian answers "everything" for superusers; tenant access never comes from
    # platform-wide flags, so such an account gets no engagement permissions here.
    if not engagements or access.is_hr or membership.user.is_superuser:
        return access
    checker = ObjectPermissionChecker(membership.user)
    checker.prefetch_perms(engagements)  # type: ignore[arg-type]  # guardian's stub wants a QuerySet; any iterable of objects works
    for engagement in engagements:
        access.perms[engagement.pk] = set(checker.get_perms(engagement))
    return access


# --- The predicates behind ``can`` ---------------------------------------------------


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


PLAN_PREDICATES: dict[str, Callable[[Access, Plan], bool]] = {
    Action.VIEW_PLAN: can_view_plan,
    Action.EDIT_PLAN: can_edit_plan,
    Action.CHECK_IN: can_check_in,
}
