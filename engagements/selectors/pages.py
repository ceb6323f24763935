"""Page data of the engagements app: plan summaries, an engagement's team, the
member's own work (and the home page section that shows it), and the lists of cycles,
clients, engagements, role rules, templates and engagement types.

Visibility comes from ``engagements.selectors.access``; everything here reads what the
caller may already see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from engagements.enums import OUTCOME_STATUSES, PlanKind, PlanStatus
from engagements.models import (
    Client,
    CyclePlanTally,
    Engagement,
    EngagementType,
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanTemplate,
    ReviewCycle,
    RoleAssignment,
    RoleRule,
    TemplateGoal,
)
from engagements.selectors.access import (
    PlanIds,
    engagements_visible_to,
    engagements_with_perm,
)
from engagements.tallies import refresh_plan_tally_without_triggers
from organizations.home import HomeSection
from organizations.http import TenantRequest
from organizations.models import Membership


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


# --- The engagement and plan pages -------------------------------------------------------


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


def cycles_for_staffing() -> QuerySet[ReviewCycle]:
    """Cycles that accept staffing: not yet in review or closed."""
    return ReviewCycle.objects.filter(status__in=["draft", "planning", "in_progress"])


# --- Home page section ---------------------------------------------------------------


@dataclass(frozen=True)
class MyWork:
    my_plans: list[PlanProgress]
    plans_to_write: list[PlanProgress]
    my_roles: list[RoleAssignment]


def my_work(membership: Membership) -> MyWork:
    """The member's own plans, the draft plans they must write (on engagements they
    plan, and their direct reports' general plans), and their engagement
    roles. Four or five queries whatever the data size (the content type of the
    permission lookup once per process). The draft plans come from an index of the
    organisation's draft plans, not from every plan of the organisation."""
    uid = membership.user_id
    current = ~Q(cycle__status="closed")
    mine = (
        Plan.objects.filter(current, employee__user_id=uid)
        .select_related("cycle", "engagement__client")
        .order_by("-cycle__start_date", "kind", "start_date")
    )
    planning = engagements_with_perm(membership, "plan_engagement").values("pk")
    # The line manager plans a direct report's general plan (``can_edit_plan``).
    general = Q(kind=PlanKind.GENERAL, employee__line_manager__user_id=uid)
    to_write = (
        Plan.objects.filter(current, status=PlanStatus.DRAFT)
        .filter(Q(engagement__in=planning) | general)
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


def my_work_section(request: HttpRequest) -> HomeSection:
    """The member's plans, the draft plans they must write, and their engagement
    roles. Adds three queries to the page whatever the data size (one per list in
    ``my_work``; a cold content-type cache adds one); the template touches only what
    those loaded.

    Registered with ``organizations.home`` in ``apps.py``.
    """
    # The home page is under /o/<slug>/: the tenant middleware handed the view a
    # TenantRequest, which organizations.home passes on as a plain HttpRequest.
    work = my_work(cast(TenantRequest, request).membership)
    return HomeSection(
        "engagements/home_my_work.html",
        {
            "my_plans": work.my_plans,
            "plans_to_write": work.plans_to_write,
            "my_roles": work.my_roles,
        },
        order=10,
    )


# --- Lists ---------------------------------------------------------------------------


def _count_of(
    rows: QuerySet[Any], column: str, distinct: str | None = None
) -> Coalesce:
    """How many ``rows`` (or distinct values of ``distinct``) share the outer row's
    ``column``, as a correlated subquery: run for the shown page's rows only, and
    left out of the list's total (Django drops unused annotations when counting).
    ``COUNT(*)`` rather than of a column, so an index on the organisation and
    ``column`` answers it alone."""
    counted = Count(distinct, distinct=True) if distinct else Count("*")
    per_row = (
        rows.filter(**{column: OuterRef("pk")})
        .order_by()
        .values(column)
        .annotate(n=counted)
        .values("n")
    )
    return Coalesce(Subquery(per_row), 0)


def cycles_overview() -> QuerySet[ReviewCycle]:
    """Every cycle of the organisation with its plan count, newest first. Builds a
    queryset; a page of it is one query (each row's count the sum of the cycle's few
    ``CyclePlanTally`` rows, kept by triggers), its total another."""
    refresh_plan_tally_without_triggers()  # SQLite: no triggers keep it
    plans = (
        CyclePlanTally.objects.filter(cycle=OuterRef("pk"))
        .order_by()
        .values("cycle")
        .annotate(total=Sum("n"))
        .values("total")
    )
    return ReviewCycle.objects.annotate(n_plans=Coalesce(Subquery(plans), 0)).order_by(
        "-start_date", "name"
    )


@dataclass(frozen=True)
class PlanCountRow:
    kind: str  # a PlanKind value
    label: str
    counts: list[int]  # one per PlanStatus, in PlanStatus order
    total: int


def cycle_plan_counts(cycle: ReviewCycle) -> list[PlanCountRow]:
    """How many plans the cycle has, by kind and status. One query, over the
    cycle's ``CyclePlanTally`` (at most six rows, kept by triggers)."""
    refresh_plan_tally_without_triggers()  # SQLite: no triggers keep it
    found = {
        (kind, status): n
        for kind, status, n in CyclePlanTally.objects.filter(cycle=cycle).values_list(
            "kind", "status", "n"
        )
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


@dataclass(frozen=True)
class PlansWithoutGoals:
    plans: list[Plan]  # the first ``limit``, by person, with employee and organisation
    total: int


def general_plans_without_goals(
    cycle: ReviewCycle, *, limit: int = 50
) -> PlansWithoutGoals:
    """The cycle's general plans that have no goal: what moving the cycle into review
    would lock empty. The first ``limit`` by person, and how many there are in all.
    One query when there are none or fewer than ``limit``, two otherwise."""
    found = (
        Plan.objects.filter(cycle=cycle, kind=PlanKind.GENERAL)
        .filter(~Exists(Goal.objects.filter(plan=OuterRef("pk"))))
        .select_related("employee", "organization")
        .order_by("employee__full_name", "pk")
    )
    plans = list(found[:limit])
    total = len(plans) if len(plans) < limit else found.count()
    return PlansWithoutGoals(plans=plans, total=total)


def clients_overview() -> QuerySet[Client]:
    """Every client with its engagement count, by name. Builds a queryset; a page of
    it is one query, its total another."""
    return Client.objects.annotate(
        n_engagements=_count_of(Engagement.objects.all(), "client")
    ).order_by("name", "pk")


def engagement_list(membership: Membership) -> QuerySet[Engagement]:
    """The engagements the member sees, with client, unit and team size (the people
    with an engagement plan on it). Builds a queryset; a page of it is one query,
    its total another over the engagement's indexed columns."""
    staffed = Plan.objects.filter(kind=PlanKind.ENGAGEMENT)
    return (
        engagements_visible_to(membership)
        .select_related("client", "business_unit")
        .annotate(team_size=_count_of(staffed, "engagement", distinct="employee"))
        .order_by("-start_date", "name", "pk")
    )


def engagement_clients(membership: Membership) -> QuerySet[Client]:
    """Clients of the engagements the member sees (choices of the list filter)."""
    if membership.is_hr_admin:
        return Client.objects.all()
    return Client.objects.filter(
        pk__in=engagements_visible_to(membership).values("client_id")
    )


def role_rule_list() -> QuerySet[RoleRule]:
    """Every role rule with its job title, by job title and role. One query."""
    return RoleRule.objects.select_related("job_title").order_by(
        "job_title__name", "role", "pk"
    )


def template_list() -> QuerySet[PlanTemplate]:
    """Every plan template with its goal count and goal weight total, by name.

    One query."""
    return PlanTemplate.objects.annotate(
        n_goals=Count("goals"), weight_total=Sum("goals__weight")
    ).order_by("name", "pk")


def template_goals(template: PlanTemplate) -> list[TemplateGoal]:
    """The template's goal blueprints in order. One query."""
    return list(
        TemplateGoal.objects.filter(template=template).order_by("position", "pk")
    )


def engagement_type_list() -> QuerySet[EngagementType]:
    """Every engagement type with its set and engagement count, by name. One query
    for a page (each row's count an index count of the type's engagements), one for
    the total (of the types alone: no join, no grouping)."""
    return (
        EngagementType.objects.select_related("competency_set")
        .annotate(n_engagements=_count_of(Engagement.objects.all(), "engagement_type"))
        .order_by("name", "pk")
    )
