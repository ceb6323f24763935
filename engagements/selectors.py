"""Read queries of the engagements app and its access gates.

``engagements_visible_to`` and ``plans_visible_to`` are *the* definitions of
visibility that lists, detail pages and later exports start from; the ``get_*_for``
functions are the access gates (404 when not visible, 403 when the action is refused).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    prefetch_related_objects,
)
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from competencies.models import (
    Competency,
    CompetencyDescriptor,
    CompetencySetItem,
    CompetencySetJobTitle,
    RatingLevel,
    RatingScale,
)
from engagements.enums import (
    OUTCOME_STATUSES,
    PlanKind,
    PlanStatus,
)
from engagements.models import (
    Client,
    Engagement,
    EngagementType,
    Goal,
    GoalCheckIn,
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
from engagements.permissions import (
    can_check_in,
    can_edit_plan,
    can_manage_engagements,
    can_plan_on,
    can_view_plan,
    load_access,
)
from organizations.enums import Role
from organizations.history import timeline
from organizations.models import Membership
from organizations.permissions import Access

# Plan ids, or a queryset that yields them (used as a subquery).
PlanIds = Collection[int] | QuerySet[Any, Any]


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def engagements_with_perm(membership: Membership, perm: str) -> QuerySet[Engagement]:
    """Engagements on which the member holds a guardian object permission.

    Model-wide and superuser permissions are ignored on purpose (SECURITY.md).
    """
    return get_objects_for_user(
        membership.user,
        f"engagements.{perm}",
        klass=Engagement.objects.all(),
        accept_global_perms=False,
        with_superuser=False,
    )


def engagements_visible_to(membership: Membership) -> QuerySet[Engagement]:
    """HR admins see all; others the engagements where they hold a role, are staffed,
    or where one of their direct reports is staffed. Builds a queryset only."""
    qs = Engagement.objects.all()
    if membership.role == Role.HR_ADMIN:
        return qs
    uid = membership.user_id
    with_role = engagements_with_perm(membership, "view_engagement").values("pk")
    staffed = Plan.objects.filter(
        Q(employee__user_id=uid) | Q(employee__line_manager__user_id=uid),
        kind=PlanKind.ENGAGEMENT,
    ).values("engagement_id")
    return qs.filter(Q(pk__in=with_role) | Q(pk__in=staffed))


def plans_visible_to(membership: Membership) -> QuerySet[Plan]:
    """HR admins see all; others their own plans, their direct reports' plans, and the
    plans on engagements where they hold a role."""
    qs = Plan.objects.all()
    if membership.role == Role.HR_ADMIN:
        return qs
    uid = membership.user_id
    with_role = engagements_with_perm(membership, "view_engagement").values("pk")
    return qs.filter(
        Q(employee__user_id=uid)
        | Q(employee__line_manager__user_id=uid)
        | Q(kind=PlanKind.ENGAGEMENT, engagement__in=with_role)
    )


# --- Access gates ------------------------------------------------------------------------


def get_engagement_for(
    request: HttpRequest, pk: int, perm: str = "view"
) -> tuple[Engagement, Access]:
    """The engagement if visible (else 404) and the caller's access to it.

    ``perm``: "view", "plan" (write plans on it) or "manage" (HR: edit, staff, roles).
    Raises PermissionDenied when visible but the action is refused. Two or three queries.
    """
    membership = _membership(request)
    engagement = (
        engagements_visible_to(membership)
        .select_related("client", "business_unit")
        .filter(pk=pk)
        .first()
    )
    if engagement is None:
        raise Http404("No such engagement.")
    access = load_access(membership, [engagement])
    allowed = {
        "view": True,
        "plan": can_plan_on(access, engagement),
        "manage": can_manage_engagements(access),
    }[perm]
    if not allowed:
        raise PermissionDenied
    return engagement, access


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
    request: HttpRequest, pk: int, perm: str = "view"
) -> tuple[Plan, Access]:
    """The plan if visible (else 404); ``perm`` "view", "edit" or "check_in" (else 403).

    One query for the plan, plus up to two for the caller's guardian permissions.
    """
    membership = _membership(request)
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
    if not can_view_plan(access, plan):
        raise Http404("No such plan.")
    allowed = {
        "view": True,
        "edit": can_edit_plan(access, plan),
        "check_in": can_check_in(access, plan),
    }[perm]
    if not allowed:
        raise PermissionDenied
    return access


def get_goal_for(
    request: HttpRequest, pk: int, perm: str = "view"
) -> tuple[Goal, Access]:
    """The goal if its plan is visible (else 404); ``perm`` as for plans (else 403)."""
    membership = _membership(request)
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
    request: HttpRequest, pk: int, perm: str = "edit"
) -> tuple[KeyActivity, Access]:
    membership = _membership(request)
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


# --- Pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanProgress:
    plan: Plan
    goals: int
    weight_total: Decimal
    progress: int  # weighted mean progress, 0-100
    overdue: int


def plan_summaries(
    plans: QuerySet[Plan], today: date | None = None
) -> list[PlanProgress]:
    """Each plan with its goal count, weight total, weighted progress and overdue count.

    One query whatever the number of plans.
    """
    today = today or timezone.localdate()
    rows = plans.annotate(
        n_goals=Count("goals", distinct=True),
        weight_total=Sum("goals__weight"),
        weighted_progress=Sum(_weighted_progress()),
        n_overdue=Count(
            "goals",
            filter=Q(goals__due_date__lt=today)
            & ~Q(goals__status__in=OUTCOME_STATUSES),
            distinct=True,
        ),
    )
    result = []
    for plan in rows:
        total = plan.weight_total or Decimal(0)
        progress = int(plan.weighted_progress / total) if total else 0
        result.append(
            PlanProgress(
                plan=plan,
                goals=plan.n_goals,
                weight_total=total,
                progress=min(progress, 100),
                overdue=plan.n_overdue,
            )
        )
    return result


def _weighted_progress() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("goals__weight") * F("goals__progress"),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )


def engagement_team(engagement: Engagement) -> list[PlanProgress]:
    """The staffed plans of an engagement with progress, newest cycle first. One query."""
    plans = (
        Plan.objects.filter(engagement=engagement)
        # line_manager: permissions.can_view_plan reads it for every row.
        .select_related("employee__job_title", "employee__line_manager", "cycle")
        .order_by("-cycle__start_date", "employee__full_name")
    )
    return plan_summaries(plans)


def engagement_roles(engagement: Engagement) -> list[RoleAssignment]:
    return list(
        RoleAssignment.objects.filter(engagement=engagement).select_related(
            "employee__job_title"
        )
    )


def recent_checkins(
    engagement: Engagement, limit: int = 10, plan_ids: PlanIds | None = None
) -> list[GoalCheckIn]:
    """The latest check-ins on the engagement's goals, newest first. One query.

    ``plan_ids`` (ids, or a queryset of them such as ``visible_plan_ids``) narrows
    them to those plans; None means every plan of the engagement.
    """
    checkins = GoalCheckIn.objects.filter(goal__plan__engagement=engagement)
    if plan_ids is not None:
        checkins = checkins.filter(goal__plan_id__in=plan_ids)
    return list(
        checkins.select_related("goal__plan__employee", "author").order_by(
            "-created_at", "-pk"
        )[:limit]
    )


def plan_goals(plan: Plan) -> list[Goal]:
    """The plan's goals with their key activities, in two queries."""
    return list(
        plan.goals.prefetch_related(
            Prefetch(
                "activities", queryset=KeyActivity.objects.order_by("due_date", "pk")
            )
        )
    )


def cycles_for_staffing() -> QuerySet[ReviewCycle]:
    """Cycles that accept staffing: not yet in review or closed."""
    return ReviewCycle.objects.filter(status__in=["draft", "planning", "in_progress"])


# --- Home page sections --------------------------------------------------------------


@dataclass(frozen=True)
class MyWork:
    my_plans: list[PlanProgress]
    plans_to_write: list[PlanProgress]
    my_roles: list[RoleAssignment]


def my_work(membership: Membership) -> MyWork:
    """The member's own plans, the draft plans they must write, and their engagement
    roles. Four or five queries whatever the data size."""
    uid = membership.user_id
    current = ~Q(cycle__status="closed")
    mine = (
        Plan.objects.filter(current, employee__user_id=uid)
        .select_related("cycle", "engagement__client")
        .order_by("-cycle__start_date", "kind", "start_date")
    )
    planning = engagements_with_perm(membership, "plan_engagement").values("pk")
    to_write = (
        Plan.objects.filter(current, status=PlanStatus.DRAFT, engagement__in=planning)
        .exclude(employee__user_id=uid)
        .select_related("cycle", "engagement__client", "employee")
        .order_by("engagement__name", "employee__full_name")
    )
    roles = (
        RoleAssignment.objects.filter(employee__user_id=uid)
        .exclude(engagement__status="closed")
        .select_related("engagement__client")
        .order_by("engagement__name", "role")
    )
    return MyWork(
        my_plans=plan_summaries(mine),
        plans_to_write=plan_summaries(to_write),
        my_roles=list(roles),
    )


# --- Cycles, clients and the engagement pages ----------------------------------------
# (Used by engagements/views/cycles.py and engagements/views/clients.py.)


def _hr_only(request: HttpRequest) -> None:
    """HR-only pages refuse other roles *before* any lookup, so the 403 is the same
    for this organisation's ids, another's and unknown ones: it reveals nothing."""
    if _membership(request).role != Role.HR_ADMIN:
        raise PermissionDenied


def cycles_overview() -> QuerySet[ReviewCycle]:
    """Every cycle of the organisation with its plan count, newest first. One query."""
    return ReviewCycle.objects.annotate(n_plans=Count("plans")).order_by(
        "-start_date", "name"
    )


def get_cycle_for(request: HttpRequest, pk: int) -> ReviewCycle:
    """The cycle ``pk`` for an HR admin: 403 for other roles (before the lookup),
    404 when it is not in this organisation. One query."""
    _hr_only(request)
    cycle = ReviewCycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise Http404("No such cycle.")
    return cycle


@dataclass(frozen=True)
class PlanCountRow:
    kind: str  # a PlanKind value
    label: str
    counts: list[int]  # one per PlanStatus, in PlanStatus order
    total: int


def cycle_plan_counts(cycle: ReviewCycle) -> list[PlanCountRow]:
    """How many plans the cycle has, by kind and status. One query."""
    found = {
        (row["kind"], row["status"]): row["n"]
        for row in Plan.objects.filter(cycle=cycle)
        .values("kind", "status")
        .annotate(n=Count("pk"))
        .order_by()
    }
    rows = []
    for kind in PlanKind:
        counts = [found.get((kind.value, status.value), 0) for status in PlanStatus]
        rows.append(
            PlanCountRow(
                kind=kind.value, label=str(kind.label), counts=counts, total=sum(counts)
            )
        )
    return rows


def cycle_history(cycle: ReviewCycle) -> list[dict[str, object]]:
    """The cycle's change timeline, newest first. One query (a cycle names nothing)."""
    return timeline(cycle.history.select_related("history_user"))  # type: ignore[attr-defined]


def clients_overview() -> QuerySet[Client]:
    """Every client with its engagement count, by name. One query."""
    return Client.objects.annotate(n_engagements=Count("engagements")).order_by(
        "name", "pk"
    )


def get_client_for(request: HttpRequest, pk: int) -> Client:
    """The client ``pk`` for an HR admin: 403 for other roles (before the lookup),
    404 when it is not in this organisation. One query."""
    _hr_only(request)
    client = Client.objects.filter(pk=pk).first()
    if client is None:
        raise Http404("No such client.")
    return client


def engagement_list(membership: Membership) -> QuerySet[Engagement]:
    """The engagements the member sees, with client, unit and team size. One query."""
    return (
        engagements_visible_to(membership)
        .select_related("client", "business_unit")
        .annotate(
            team_size=Count(
                "plans__employee",
                filter=Q(plans__kind=PlanKind.ENGAGEMENT),
                distinct=True,
            )
        )
        .order_by("-start_date", "name", "pk")
    )


def get_visible_engagement(request: HttpRequest, pk: int) -> Engagement:
    """The engagement if the caller may see it, else 404, without loading their
    permissions on it: for read-only parts of its page. One query.

    Use ``get_engagement_for`` whenever an action or a permission is involved.
    """
    engagement = (
        engagements_visible_to(_membership(request))
        .select_related("client", "business_unit")
        .filter(pk=pk)
        .first()
    )
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


def visible_plan_ids(
    membership: Membership, engagement: Engagement
) -> QuerySet[Plan, Any] | None:
    """The ids of the engagement's plans the member may see, as a subquery (no query
    of its own); None for HR admins, who see every plan, also ones since removed."""
    if membership.role == Role.HR_ADMIN:
        return None
    return plans_visible_to(membership).filter(engagement=engagement).values("pk")


def engagement_clients(membership: Membership) -> QuerySet[Client]:
    """Clients of the engagements the member sees (choices of the list filter)."""
    if membership.role == Role.HR_ADMIN:
        return Client.objects.all()
    return Client.objects.filter(
        pk__in=engagements_visible_to(membership).values("client_id")
    )


def engagement_history(
    engagement: Engagement, plan_ids: PlanIds | None = None
) -> list[dict[str, object]]:
    """Changes to the engagement, its role assignments and its plans, newest first,
    each labelled with what it is about.

    ``plan_ids`` (ids, or a queryset of them such as ``visible_plan_ids``) narrows
    the plan entries to those plans; None means every plan ever on the engagement.
    Three queries, plus one per kind of referenced object whose value changed
    (client, business unit, person, template...).
    """
    own = engagement.history.select_related("history_user")  # type: ignore[attr-defined]
    roles = RoleAssignment.history.filter(  # type: ignore[attr-defined]
        engagement_id=engagement.pk
    ).select_related("history_user", "employee")
    plans = Plan.history.filter(engagement_id=engagement.pk).select_related(  # type: ignore[attr-defined]
        "history_user", "employee", "cycle"
    )
    if plan_ids is not None:
        plans = plans.filter(id__in=plan_ids)

    def label(record: Any) -> str:
        model = record.instance_type
        if model is Engagement:
            return _("Engagement")
        if model is RoleAssignment:
            return _("Role: %(person)s as %(role)s") % {
                "person": record.employee or _("(removed)"),
                "role": record.get_role_display(),
            }
        return _("Plan: %(person)s in %(cycle)s") % {
            "person": record.employee or _("(removed)"),
            "cycle": record.cycle or _("(removed)"),
        }

    return timeline([*own, *roles, *plans], label=label)


# --- Plan and goal pages ----------------------------------------------------------------


def with_goal_details(goal: Goal) -> Goal:
    """``goal`` with its key activities and its check-ins (newest first, with their
    authors) loaded, for its card and page. Two queries."""
    prefetch_related_objects(
        [goal],
        Prefetch("activities", queryset=KeyActivity.objects.order_by("due_date", "pk")),
        Prefetch(
            "checkins",
            queryset=GoalCheckIn.objects.select_related("author").order_by(
                "-created_at", "-pk"
            ),
        ),
    )
    return goal


def _history_label(goal_titles: dict[int, str]) -> Callable[[Any], str]:
    def label(record: Any) -> str:
        model = record.instance_type
        if model is Plan:
            return _("Plan")
        if model is PlanCompetency:
            return _("Competency “%(name)s”") % {
                "name": record.competency or _("(removed)")
            }
        if model is Goal:
            return _("Goal “%(title)s”") % {"title": record.title}
        if model is KeyActivity:
            return _("Key activity “%(title)s”") % {"title": record.title}
        return _("Check-in on “%(goal)s”") % {
            "goal": goal_titles.get(record.goal_id, _("a removed goal"))
        }

    return label


def _goal_family_history(goal_history: list[Any]) -> list[Any]:
    """History rows of the key activities and check-ins of the goals in
    ``goal_history`` (including removed ones). Two queries."""
    goal_ids = {record.id for record in goal_history}
    activities = KeyActivity.history.filter(  # type: ignore[attr-defined]
        goal_id__in=goal_ids
    ).select_related("history_user")
    checkins = GoalCheckIn.history.filter(  # type: ignore[attr-defined]
        goal_id__in=goal_ids
    ).select_related("history_user")
    return [*activities, *checkins]


def plan_history(plan: Plan) -> list[dict[str, object]]:
    """The change timeline of a plan, its competencies, goals, key activities and
    check-ins, newest first, each entry labelled with what it is about. Five queries,
    plus one per kind of reference whose value changed (to name it)."""
    plan_rows = list(
        Plan.history.filter(id=plan.pk).select_related("history_user")  # type: ignore[attr-defined]
    )
    competency_rows = list(
        PlanCompetency.history.filter(plan_id=plan.pk).select_related(  # type: ignore[attr-defined]
            "history_user", "competency"
        )
    )
    goal_rows = list(
        Goal.history.filter(plan_id=plan.pk).select_related("history_user")  # type: ignore[attr-defined]
    )
    titles = {record.id: record.title for record in sorted(goal_rows, key=_when)}
    records = [
        *plan_rows,
        *competency_rows,
        *goal_rows,
        *_goal_family_history(goal_rows),
    ]
    return timeline(records, label=_history_label(titles))


def goal_history(goal: Goal) -> list[dict[str, object]]:
    """The change timeline of one goal, its key activities and check-ins, newest
    first. Three queries, plus one per kind of reference whose value changed."""
    goal_rows = list(
        Goal.history.filter(id=goal.pk).select_related("history_user")  # type: ignore[attr-defined]
    )
    titles = {goal.pk: goal.title}
    records = [*goal_rows, *_goal_family_history(goal_rows or [goal])]
    return timeline(records, label=_history_label(titles))


def _when(record: Any) -> tuple[Any, int]:
    return (record.history_date, record.history_id)


# --- Staffing, roles, role rules and templates ---------------------------------------
# (Used by engagements/views/staffing.py.)


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


def role_rule_list() -> QuerySet[RoleRule]:
    """Every role rule with its job title, by job title and role. One query."""
    return RoleRule.objects.select_related("job_title").order_by(
        "job_title__name", "role", "pk"
    )


def get_role_rule_for(request: HttpRequest, pk: int) -> RoleRule:
    """The role rule ``pk`` for an HR admin: 403 for other roles (before the lookup),
    404 when it is not in this organisation. One query."""
    _hr_only(request)
    rule = RoleRule.objects.filter(pk=pk).select_related("job_title").first()
    if rule is None:
        raise Http404("No such role rule.")
    return rule


def template_list() -> QuerySet[PlanTemplate]:
    """Every plan template with its goal count and goal weight total, by name.

    One query."""
    return PlanTemplate.objects.annotate(
        n_goals=Count("goals"), weight_total=Sum("goals__weight")
    ).order_by("name", "pk")


def get_template_for(request: HttpRequest, pk: int) -> PlanTemplate:
    """The plan template ``pk`` for an HR admin: 403 for other roles (before the
    lookup), 404 when it is not in this organisation. One query."""
    _hr_only(request)
    template = PlanTemplate.objects.filter(pk=pk).first()
    if template is None:
        raise Http404("No such template.")
    return template


def template_goals(template: PlanTemplate) -> list[TemplateGoal]:
    """The template's goal blueprints in order. One query."""
    return list(
        TemplateGoal.objects.filter(template=template).order_by("position", "pk")
    )


def get_template_goal_for(template: PlanTemplate, pk: int) -> TemplateGoal:
    """The goal blueprint ``pk`` *of this template*, else 404. One query."""
    goal = TemplateGoal.objects.filter(template=template, pk=pk).first()
    if goal is None:
        raise Http404("No such template goal.")
    return goal


# --- Competencies on plans -------------------------------------------------------------
# (Used by engagements/views/competencies.py, the plan page and services.)


def scale_for_cycle(cycle: ReviewCycle) -> RatingScale | None:
    """The rating scale of ``cycle``: its own, else the organisation's default; None
    when the organisation has no scale yet. The scale's ``levels`` are loaded
    (ordered by point). One query (two for a scale without levels)."""
    levels = RatingLevel.objects.select_related("scale").order_by("value")
    if cycle.rating_scale_id is not None:
        levels = levels.filter(scale_id=cycle.rating_scale_id)
        scales = RatingScale.objects.filter(pk=cycle.rating_scale_id)
    else:
        levels = levels.filter(scale__is_default=True)
        scales = RatingScale.objects.filter(is_default=True)
    found = list(levels)
    scale = found[0].scale if found else scales.first()
    if scale is not None:
        # The scale's own cache of its levels, so scale.levels.all() costs nothing.
        scale._prefetched_objects_cache = {"levels": found}  # type: ignore[attr-defined]
    return scale


@dataclass(frozen=True)
class ScalePoint:
    value: Decimal
    label: str
    description: str = ""

    @property
    def text(self) -> str:
        """ "3 · Meets expectations", or "3" for a point without a label."""
        number = format(self.value.normalize(), "f")
        return f"{number} · {self.label}" if self.label else number


def scale_points(scale: RatingScale | None) -> list[ScalePoint]:
    """Every point of ``scale`` with its label (from its loaded levels). No query
    after ``scale_for_cycle``; empty without a scale."""
    if scale is None:
        return []
    levels = {level.value: level for level in scale.levels.all()}
    return [
        ScalePoint(
            value=value,
            label=levels[value].label if value in levels else "",
            description=levels[value].description if value in levels else "",
        )
        for value in scale.points()
    ]


@dataclass(frozen=True)
class DescribedPoint:
    point: ScalePoint
    descriptor: str  # what this point looks like for the competency ("" if unwritten)
    expected: bool


@dataclass(frozen=True)
class PlanCompetencyRow:
    item: PlanCompetency
    expected: ScalePoint | None  # None when the level is not a point of the scale
    points: list[DescribedPoint]


def plan_competencies(plan: Plan) -> list[PlanCompetency]:
    """The plan's competencies in order, with competency, category and descriptors.

    Two queries whatever their number."""
    return list(
        PlanCompetency.objects.filter(plan=plan)
        .select_related("competency__category")
        .prefetch_related(
            Prefetch(
                "competency__descriptors",
                queryset=CompetencyDescriptor.objects.order_by("value"),
            )
        )
        .order_by("position", "pk")
    )


def plan_competency_rows(
    items: list[PlanCompetency], points: list[ScalePoint]
) -> list[PlanCompetencyRow]:
    """Each plan competency with its expected point and the descriptor of every
    point of the scale. No query (descriptors come loaded by ``plan_competencies``)."""
    by_value = {point.value: point for point in points}
    rows = []
    for item in items:
        descriptors = {d.value: d.text for d in item.competency.descriptors.all()}
        rows.append(
            PlanCompetencyRow(
                item=item,
                expected=by_value.get(item.expected_level),
                points=[
                    DescribedPoint(
                        point=point,
                        descriptor=descriptors.get(point.value, ""),
                        expected=point.value == item.expected_level,
                    )
                    for point in points
                ],
            )
        )
    return rows


def addable_competencies(plan: Plan) -> QuerySet[Competency]:
    """Competencies that may be added to ``plan``: not archived and not on it yet,
    by category and name. Builds a queryset only."""
    return (
        Competency.objects.filter(is_archived=False)
        .exclude(pk__in=PlanCompetency.objects.filter(plan=plan).values("competency"))
        .select_related("category")
        .order_by("category__name", "name")
    )


def get_plan_competency_for(
    request: HttpRequest, pk: int, perm: str = "edit"
) -> tuple[PlanCompetency, Access]:
    """The plan competency if its plan is visible (else 404); ``perm`` as for plans
    (else 403). One query, plus up to two for the caller's guardian permissions."""
    membership = _membership(request)
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


def general_set_ids(job_title_ids: Collection[int]) -> dict[int, int]:
    """The competency set of each job title: the first linked to it (by set name).

    One query."""
    found: dict[int, int] = {}
    if not job_title_ids:
        return found
    links = (
        CompetencySetJobTitle.objects.filter(job_title_id__in=job_title_ids)
        .order_by("competency_set__name", "competency_set_id")
        .values_list("job_title_id", "competency_set_id")
    )
    for job_title_id, set_id in links:
        found.setdefault(job_title_id, set_id)
    return found


def engagement_set_id(engagement: Engagement) -> int | None:
    """The competency set of an engagement's plans: its own, else its type's.

    One query when the engagement has a type and no set of its own."""
    if engagement.competency_set_id is not None:
        return engagement.competency_set_id
    if engagement.engagement_type_id is None:
        return None
    return (
        EngagementType.objects.filter(pk=engagement.engagement_type_id)
        .values_list("competency_set_id", flat=True)
        .first()
    )


def set_items_by_set(set_ids: Collection[int]) -> dict[int, list[CompetencySetItem]]:
    """The items of each competency set, by competency name. One query (none without
    sets)."""
    found: dict[int, list[CompetencySetItem]] = {}
    if not set_ids:
        return found
    for item in CompetencySetItem.objects.filter(
        competency_set_id__in=set_ids
    ).order_by("competency__name", "pk"):
        found.setdefault(item.competency_set_id, []).append(item)
    return found


def template_competencies(template: PlanTemplate) -> list[TemplateCompetency]:
    """The template's competencies with their category, by name. One query."""
    return list(
        TemplateCompetency.objects.filter(template=template)
        .select_related("competency__category")
        .order_by("competency__name", "pk")
    )


def addable_template_competencies(template: PlanTemplate) -> QuerySet[Competency]:
    """Competencies that may be added to ``template``: not archived and not in it
    yet, by category and name. Builds a queryset only."""
    return (
        Competency.objects.filter(is_archived=False)
        .exclude(
            pk__in=TemplateCompetency.objects.filter(template=template).values(
                "competency"
            )
        )
        .select_related("category")
        .order_by("category__name", "name")
    )


def default_scale() -> RatingScale | None:
    """The organisation's default scale with its levels loaded. One query (two for a
    scale without levels)."""
    found = list(
        RatingLevel.objects.filter(scale__is_default=True)
        .select_related("scale")
        .order_by("value")
    )
    scale = (
        found[0].scale if found else RatingScale.objects.filter(is_default=True).first()
    )
    if scale is not None:
        scale._prefetched_objects_cache = {"levels": found}  # type: ignore[attr-defined]
    return scale


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


# --- Engagement types (HR admins) ---------------------------------------------------------


def engagement_type_list() -> QuerySet[EngagementType]:
    """Every engagement type with its set and engagement count, by name. One query."""
    return (
        EngagementType.objects.select_related("competency_set")
        .annotate(n_engagements=Count("engagements"))
        .order_by("name", "pk")
    )


def get_engagement_type_for(request: HttpRequest, pk: int) -> EngagementType:
    """The engagement type ``pk`` for an HR admin: 403 for other roles (before the
    lookup), 404 when it is not in this organisation. One query."""
    _hr_only(request)
    found = EngagementType.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("No such engagement type.")
    return found
