"""Every visibility definition and access gate of the engagements app, reviewable
alone.

``engagements_visible_to`` and ``plans_visible_to`` are *the* definitions of
visibility that lists, detail pages and later exports start from; the ``get_*_for``
functions are the access gates (404 when not visible, 403 when the action is refused).
HR-only gates refuse other roles *before* any lookup
(``organizations.permissions.require_hr_admin``), so the 403 is the same for this
organisation's ids, another's and unknown ones: it reveals nothing.
``get_cycle_for`` is the review cycle's one gate; ``appraisals`` uses it too.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import BigIntegerField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404
from guardian.models import GroupObjectPermission, UserObjectPermission

from engagements.enums import PlanKind
from engagements.models import (
    Client,
    Engagement,
    EngagementType,
    Goal,
    KeyActivity,
    Plan,
    PlanCompetency,
    PlanTemplate,
    ReviewCycle,
    RoleAssignment,
    RoleRule,
    TemplateCompetency,
    TemplateGoal,
)
from engagements.permissions import Action, can, load_access
from organizations.http import TenantRequest
from organizations.models import Membership
from organizations.permissions import Access, get_for_hr_admin

# Plan ids, or a queryset that yields them (used as a subquery).
PlanIds = Collection[int] | QuerySet[Any, Any]

# What each ``perm`` of the gates below asks ``permissions.can`` (None: seeing it is
# enough).
ENGAGEMENT_PERMS: dict[str, Action | None] = {
    "view": None,
    "plan": Action.PLAN_ON,
    "manage": Action.MANAGE,
}
PLAN_PERMS: dict[str, Action | None] = {
    "view": None,
    "edit": Action.EDIT_PLAN,
    "check_in": Action.CHECK_IN,
}


def engagement_ids_with_perm(membership: Membership, perm: str) -> QuerySet[Any, Any]:
    """The ids of the engagements on which the member holds a guardian object
    permission, directly or through a group, as one ``UNION`` (a subquery; builds a
    queryset only).

    Model-wide and superuser permissions are ignored on purpose (docs/security.md):
    the answer of guardian's ``get_objects_for_user(..., accept_global_perms=False,
    with_superuser=False)``. Read from the member's permission rows, their object ids
    as numbers: guardian compares every engagement's id as text, which no index serves
    (a tenth of a second at a few thousand engagements).
    """
    content_type = ContentType.objects.get_for_model(Engagement)
    held = {
        "content_type": content_type,
        "permission__content_type": content_type,
        "permission__codename": perm,
    }
    as_id = Cast("object_pk", BigIntegerField())
    direct = UserObjectPermission.objects.filter(user_id=membership.user_id, **held)
    through_groups = GroupObjectPermission.objects.filter(
        group__user=membership.user_id, **held
    )
    return (
        direct.annotate(engagement_id=as_id)
        .values("engagement_id")
        .union(through_groups.annotate(engagement_id=as_id).values("engagement_id"))
    )


def engagement_perm_parts(
    membership: Membership, perms: Sequence[str]
) -> tuple[QuerySet[Any, Any], QuerySet[Any, Any]]:
    """(codename, engagement id) for every engagement on which the member holds one
    of ``perms``: the direct permissions and those through a group, two querysets
    for the caller's ``UNION`` (as ``engagement_ids_with_perm``; builds querysets
    only)."""
    content_type = ContentType.objects.get_for_model(Engagement)
    held = {
        "content_type": content_type,
        "permission__content_type": content_type,
        "permission__codename__in": list(perms),
    }
    as_id = Cast("object_pk", BigIntegerField())
    direct = UserObjectPermission.objects.filter(user_id=membership.user_id, **held)
    through_groups = GroupObjectPermission.objects.filter(
        group__user=membership.user_id, **held
    )
    return (
        direct.annotate(engagement_id=as_id)
        .order_by()
        .values_list("permission__codename", "engagement_id"),
        through_groups.annotate(engagement_id=as_id)
        .order_by()
        .values_list("permission__codename", "engagement_id"),
    )


def engagements_with_perm(membership: Membership, perm: str) -> QuerySet[Engagement]:
    """Engagements on which the member holds a guardian object permission, directly
    or through a group (``engagement_ids_with_perm``). Builds a queryset only."""
    return Engagement.objects.filter(pk__in=engagement_ids_with_perm(membership, perm))


def engagements_visible_to(membership: Membership) -> QuerySet[Engagement]:
    """HR admins see all; others the engagements where they hold a role, are staffed,
    or where one of their direct reports is staffed. Builds a queryset only.

    The three ways in are one ``UNION`` of engagement ids, each read from an index on
    the member, and the engagements then by primary key: an ``OR`` of ``IN``
    subqueries made PostgreSQL read every engagement of the table and test each
    against the three.
    """
    qs = Engagement.objects.all()
    if membership.is_hr_admin:
        return qs
    uid = membership.user_id
    staffed = Plan.objects.filter(employee__user_id=uid, kind=PlanKind.ENGAGEMENT)
    reports_staffed = Plan.objects.filter(
        employee__line_manager__user_id=uid, kind=PlanKind.ENGAGEMENT
    )
    return qs.filter(
        pk__in=engagement_ids_with_perm(membership, "view_engagement").union(
            staffed.order_by().values("engagement_id"),
            reports_staffed.order_by().values("engagement_id"),
        )
    )


def plans_visible_to(membership: Membership) -> QuerySet[Plan]:
    """HR admins see all; others their own plans, their direct reports' plans, and the
    plans on engagements where they hold a role."""
    qs = Plan.objects.all()
    if membership.is_hr_admin:
        return qs
    uid = membership.user_id
    with_role = engagements_with_perm(membership, "view_engagement").values("pk")
    return qs.filter(
        Q(employee__user_id=uid)
        | Q(employee__line_manager__user_id=uid)
        | Q(kind=PlanKind.ENGAGEMENT, engagement__in=with_role)
    )


def visible_plan_ids(
    membership: Membership, engagement: Engagement
) -> QuerySet[Plan, Any] | None:
    """The ids of the engagement's plans the member may see, as a subquery (no query
    of its own); None for HR admins, who see every plan, also ones since removed."""
    if membership.is_hr_admin:
        return None
    return plans_visible_to(membership).filter(engagement=engagement).values("pk")


# --- Engagements, plans, goals and what hangs on them ------------------------------------


def get_engagement_for(
    request: TenantRequest, pk: int, perm: str = "view"
) -> tuple[Engagement, Access]:
    """The engagement if visible (else 404) and the caller's access to it.

    ``perm``: "view", "plan" (write plans on it) or "manage" (HR: edit, staff, roles).
    Raises PermissionDenied when visible but the action is refused. Two or three queries.
    """
    membership = request.membership
    engagement = (
        engagements_visible_to(membership)
        .select_related("client", "business_unit")
        .filter(pk=pk)
        .first()
    )
    if engagement is None:
        raise Http404("No such engagement.")
    access = load_access(membership, [engagement])
    action = ENGAGEMENT_PERMS[perm]
    if action is not None and not can(access, action, engagement):
        raise PermissionDenied
    return engagement, access


def get_visible_engagement(request: TenantRequest, pk: int) -> Engagement:
    """The engagement if the caller may see it, else 404, without loading their
    permissions on it: for read-only parts of its page. One query.

    Use ``get_engagement_for`` whenever an action or a permission is involved.
    """
    engagement = (
        engagements_visible_to(request.membership)
        .select_related("client", "business_unit")
        .filter(pk=pk)
        .first()
    )
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


def _plan_queryset() -> QuerySet[Plan]:
    return Plan.objects.select_related(
        "cycle",
        "engagement__client",
        "employee__line_manager",
        "employee__job_title",
        "template",
        "reviewer",
        "approver",
    )


def get_plan_for(
    request: TenantRequest, pk: int, perm: str = "view"
) -> tuple[Plan, Access]:
    """The plan if visible (else 404); ``perm`` "view", "edit" or "check_in" (else 403).

    One query for the plan, plus up to two for the caller's guardian permissions.
    """
    membership = request.membership
    plan = (
        _plan_queryset()
        .filter(pk=pk, pk__in=plans_visible_to(membership).values("pk"))
        .first()
    )
    if plan is None:
        raise Http404("No such plan.")
    return plan, _authorise_plan(membership, plan, perm)


def _authorise_plan(membership: Membership, plan: Plan, perm: str) -> Access:
    access = load_access(membership, [plan.engagement] if plan.engagement else [])
    if not can(access, Action.VIEW_PLAN, plan):
        raise Http404("No such plan.")
    action = PLAN_PERMS[perm]
    if action is not None and not can(access, action, plan):
        raise PermissionDenied
    return access


def get_goal_for(
    request: TenantRequest, pk: int, perm: str = "view"
) -> tuple[Goal, Access]:
    """The goal if its plan is visible (else 404); ``perm`` as for plans (else 403)."""
    membership = request.membership
    goal = (
        Goal.objects.filter(plan__in=plans_visible_to(membership).values("pk"), pk=pk)
        .select_related(
            "plan__cycle",
            "plan__engagement__client",
            "plan__employee__line_manager",
        )
        .first()
    )
    if goal is None:
        raise Http404("No such goal.")
    return goal, _authorise_plan(membership, goal.plan, perm)


def get_activity_for(
    request: TenantRequest, pk: int, perm: str = "edit"
) -> tuple[KeyActivity, Access]:
    membership = request.membership
    activity = (
        KeyActivity.objects.filter(
            goal__plan__in=plans_visible_to(membership).values("pk"), pk=pk
        )
        .select_related(
            "goal__plan__cycle",
            "goal__plan__engagement",
            "goal__plan__employee__line_manager",
        )
        .first()
    )
    if activity is None:
        raise Http404("No such activity.")
    return activity, _authorise_plan(membership, activity.goal.plan, perm)


def get_plan_competency_for(
    request: TenantRequest, pk: int, perm: str = "edit"
) -> tuple[PlanCompetency, Access]:
    """The plan competency if its plan is visible (else 404); ``perm`` as for plans
    (else 403). One query, plus up to two for the caller's guardian permissions."""
    membership = request.membership
    item = (
        PlanCompetency.objects.filter(
            plan__in=plans_visible_to(membership).values("pk"), pk=pk
        )
        .select_related(
            "competency",
            "plan__cycle",
            "plan__engagement",
            "plan__employee__line_manager",
        )
        .first()
    )
    if item is None:
        raise Http404("No such plan competency.")
    return item, _authorise_plan(membership, item.plan, perm)


def get_role_assignment_for(engagement: Engagement, pk: int) -> RoleAssignment:
    """The role assignment ``pk`` *on this engagement* (else 404), with what revoking
    it touches. The caller has already authorised the engagement. One query."""
    assignment = (
        RoleAssignment.objects.filter(engagement=engagement, pk=pk)
        .select_related("employee__user", "engagement")
        .first()
    )
    if assignment is None:
        raise Http404("No such role assignment.")
    return assignment


# --- HR-only objects ----------------------------------------------------------------------


def get_cycle_for(request: TenantRequest, pk: int) -> ReviewCycle:
    """The cycle ``pk`` for an HR admin: 403 for other roles (before the lookup),
    404 when it is not in this organisation. One query."""
    return get_for_hr_admin(
        request.membership, ReviewCycle.objects.all(), pk, missing="No such cycle."
    )


def get_client_for(request: TenantRequest, pk: int) -> Client:
    """The client ``pk`` for an HR admin: 403 for other roles (before the lookup),
    404 when it is not in this organisation. One query."""
    return get_for_hr_admin(
        request.membership, Client.objects.all(), pk, missing="No such client."
    )


def get_role_rule_for(request: TenantRequest, pk: int) -> RoleRule:
    """The role rule ``pk`` for an HR admin: 403 for other roles (before the lookup),
    404 when it is not in this organisation. One query."""
    return get_for_hr_admin(
        request.membership,
        RoleRule.objects.select_related("job_title"),
        pk,
        missing="No such role rule.",
    )


def get_template_for(request: TenantRequest, pk: int) -> PlanTemplate:
    """The plan template ``pk`` for an HR admin: 403 for other roles (before the
    lookup), 404 when it is not in this organisation. One query."""
    return get_for_hr_admin(
        request.membership, PlanTemplate.objects.all(), pk, missing="No such template."
    )


def get_template_goal_for(template: PlanTemplate, pk: int) -> TemplateGoal:
    """The goal blueprint ``pk`` *of this template*, else 404. One query."""
    goal = TemplateGoal.objects.filter(template=template, pk=pk).first()
    if goal is None:
        raise Http404("No such template goal.")
    return goal


def get_template_competency_for(template: PlanTemplate, pk: int) -> TemplateCompetency:
    """The competency ``pk`` *of this template* (else 404), with its competency.
    The caller has already authorised the template. One query."""
    item = (
        TemplateCompetency.objects.filter(template=template, pk=pk)
        .select_related("competency")
        .first()
    )
    if item is None:
        raise Http404("No such template competency.")
    return item


def get_engagement_type_for(request: TenantRequest, pk: int) -> EngagementType:
    """The engagement type ``pk`` for an HR admin: 403 for other roles (before the
    lookup), 404 when it is not in this organisation. One query."""
    return get_for_hr_admin(
        request.membership,
        EngagementType.objects.all(),
        pk,
        missing="No such engagement type.",
    )
