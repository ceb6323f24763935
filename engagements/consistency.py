"""Consistency checks of the engagements app: the django-guardian object permissions
that engagement roles grant, and the goal weights of active plans.

Read-only selectors run by ``manage.py check_consistency`` inside one organisation's
tenant context; each returns the ``organizations.consistency.Difference`` rows it
found and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _
from guardian.models import UserObjectPermission

from engagements.enums import EngagementRole, PlanKind, PlanStatus
from engagements.models import ROLE_PERMISSIONS, Engagement, Plan, RoleAssignment
from engagements.services.plans import HUNDRED
from organizations.consistency import Difference

PERMISSIONS = "reviewer permissions"
PLAN_WEIGHTS = "plan weights"

# Every role also grants this one (``engagements.services.roles._grant``).
VIEW_PERMISSION = "view_engagement"


def expected_permissions(role: str) -> tuple[str, ...]:
    """The guardian permission codenames (app ``engagements``) that holding ``role``
    on an engagement grants, as ``engagements.services.roles`` assigns them."""
    return (ROLE_PERMISSIONS[role], VIEW_PERMISSION)


def check_role_permissions() -> list[Difference]:
    """Every engagement role held by a person with a login (the reviewers and
    approvers evaluations are routed to, planners and contributors) has the
    object permissions the role grants on its engagement.

    The app grants guardian permissions for engagement roles only: a reviewer or
    approver named on a plan, a line manager and a reviewer HR assigned act through
    the appraisal workflow's own rules (``appraisals.permissions``), hold no guardian
    permission, and are not checked here. A person without a login holds no
    permission until one is linked (``services.roles.sync_permissions_for``).

    Queries: 2 (3 the first time the engagement content type is looked up).
    """
    assignments = list(
        RoleAssignment.objects.filter(employee__user__isnull=False)
        .select_related("employee", "engagement")
        .order_by("engagement__name", "employee__full_name", "role", "pk")
    )
    if not assignments:
        return []
    content_type = ContentType.objects.get_for_model(Engagement)
    held: dict[tuple[int, str], set[str]] = defaultdict(set)
    for holder_id, object_pk, codename in UserObjectPermission.objects.filter(
        content_type=content_type,
        object_pk__in={str(a.engagement_id) for a in assignments},
        user_id__in={a.employee.user_id for a in assignments},
    ).values_list("user_id", "object_pk", "permission__codename"):
        held[(holder_id, object_pk)].add(codename)
    differences = []
    for assignment in assignments:
        user_id = assignment.employee.user_id
        has = held[(user_id or 0, str(assignment.engagement_id))]
        for codename in expected_permissions(assignment.role):
            if codename in has:
                continue
            differences.append(
                Difference(
                    PERMISSIONS,
                    _(
                        '%(person)s (%(role)s on engagement %(code)s "%(name)s", '
                        "user %(user)s)"
                    )
                    % {
                        "person": assignment.employee.full_name,
                        "role": EngagementRole(assignment.role).label,
                        "code": assignment.engagement.code,
                        "name": assignment.engagement.name,
                        "user": user_id,
                    },
                    _("the object permission engagements.%(codename)s")
                    % {"codename": codename},
                    _("no such permission on the engagement"),
                )
            )
    return differences


def check_plan_weights() -> list[Difference]:
    """Every active plan has goals whose weights total exactly 100: the rule
    ``engagements.services.plans.activate_plan`` enforces (and goal edits keep, by
    returning a plan whose total changes to draft). Draft plans may total anything;
    locked plans are left out too, since the move to review locks drafts as they are.

    One query.
    """
    plans = (
        Plan.objects.filter(status=PlanStatus.ACTIVE)
        .annotate(total=Sum("goals__weight"), goal_count=Count("goals"))
        .filter(Q(goal_count=0) | ~Q(total=HUNDRED))
        .select_related("employee", "engagement", "cycle")
        .order_by("cycle__start_date", "employee__full_name", "pk")
    )
    differences = []
    for plan in plans:
        total: Decimal = plan.total or Decimal(0)
        found = (
            _("no goals")
            if plan.goal_count == 0
            else _("goal weights totalling %(total)s") % {"total": f"{total:f}"}
        )
        if plan.kind == PlanKind.GENERAL:
            subject = _(
                'active plan %(id)s (%(person)s, general plan, cycle "%(cycle)s")'
            )
        else:
            subject = _(
                'active plan %(id)s (%(person)s, engagement "%(engagement)s", '
                'cycle "%(cycle)s")'
            )
        differences.append(
            Difference(
                PLAN_WEIGHTS,
                subject
                % {
                    "id": plan.pk,
                    "person": plan.employee.full_name,
                    "engagement": plan.engagement.name if plan.engagement else "",
                    "cycle": plan.cycle.name,
                },
                _("goal weights totalling 100"),
                found,
            )
        )
    return differences
