"""The "My team" page: a line manager's reports (direct, or the whole line below them)
in the current cycle, one row per person, and what the manager has to do next.

Who is in a team is ``team_members``: the manager's direct reports, or with
``indirect`` everyone below them at any depth (a recursive CTE embedded as a
subquery, so it costs no query of its own). HR admins read any manager's team; any
other member only their own (the view decides whose team is shown).

``team_rows`` loads what the rows show for one page of people in a fixed number of
queries, whatever the page's size: plans, goal counts with the last check-in,
review evaluations, appraisals, open feedback requests and which plans the viewer
may open. ``next_action`` is the rule that turns those facts into the manager's next
step, in words at its top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from appraisals.enums import (
    FINAL_STATUSES,
    AppraisalStatus,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import Appraisal, Evaluation
from engagements.enums import OUTCOME_STATUSES, CycleStatus, GoalStatus, PlanStatus
from engagements.models import Goal, Plan, ReviewCycle
from engagements.selectors.access import plans_visible_to
from feedback.enums import AskStatus
from feedback.models import FeedbackAsk, FeedbackRequest
from feedback.selectors.access import requests_visible_to
from organizations.models import Employee, Membership

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The cycle a team page shows: the first status found in this order, the latest
# start among equals.
CURRENT_ORDER = (
    CycleStatus.REVIEW,
    CycleStatus.IN_PROGRESS,
    CycleStatus.PLANNING,
    CycleStatus.CLOSED,
)
# A score's places (``Appraisal.final_score``).
SCORE_PLACES = Decimal("0.01")
# The appraisal status filter's value for "no appraisal yet".
NO_APPRAISAL = "none"


def current_cycle() -> ReviewCycle | None:
    """The cycle in review, else in progress, else in planning, else the latest
    closed one (never a draft). One query."""
    rank = Case(
        *(When(status=status, then=Value(i)) for i, status in enumerate(CURRENT_ORDER)),
        output_field=IntegerField(),
    )
    return (
        ReviewCycle.objects.filter(status__in=CURRENT_ORDER)
        .annotate(rank=rank)
        .order_by("rank", "-start_date", "-pk")
        .first()
    )


@cache
def _line_statement(table: str) -> str:
    # UNION (not UNION ALL) stops at people already found, so even a loop in the
    # hierarchy (which the services refuse) would end.
    return (
        "WITH RECURSIVE line(id) AS ("  # noqa: S608 - a model's table, constants
        f" SELECT e.id FROM {table} e"
        " WHERE e.organization_id = %s AND e.line_manager_id = %s"
        f" UNION SELECT e.id FROM {table} e JOIN line ON e.line_manager_id = line.id"
        " WHERE e.organization_id = %s"
        ") SELECT id FROM line"
    )


def line_below(manager_id: int, organization_id: int, field: str = "pk") -> Q:
    """A filter on ``field`` (an employee id) for everyone below the manager in
    the line, at any depth (not the manager). A subquery, no query of its own."""
    sql = _line_statement(Employee._meta.db_table)
    # This module's statement; the ids are parameters.
    return Q(
        **{f"{field}__in": RawSQL(sql, [organization_id, manager_id, organization_id])}  # noqa: S611
    )


def team_members(
    manager: Employee,
    *,
    indirect: bool,
    cycle: ReviewCycle | None,
    viewer: Membership,
) -> QuerySet[Employee]:
    """The active people reporting to ``manager``: directly, or with ``indirect`` at
    any depth below them. Each carries ``appraisal_status``, ``appraisal_score``
    (the final score) and ``appraisal_calibrated`` (the calibrated final, if any) of
    ``cycle``'s appraisal, for filters and sorting, and
    ``open_requests``: the open feedback requests about them (not cancelled, an ask
    still open) that ``viewer`` may read. Ordered by name. Builds a queryset only; the caller decides whose team it may read."""
    if indirect:
        line = line_below(manager.pk, manager.organization_id)
    else:
        line = Q(line_manager=manager)
    appraisal = Appraisal.objects.filter(cycle=cycle, employee=OuterRef("pk"))
    return (
        Employee.objects.filter(line, is_active=True)
        .select_related("job_title", "business_unit", "line_manager")
        .annotate(
            appraisal_id=Subquery(appraisal.values("pk")[:1]),
            appraisal_status=Subquery(appraisal.values("status")[:1]),
            appraisal_score=Subquery(appraisal.values("final_score")[:1]),
            appraisal_calibrated=Subquery(appraisal.values("calibrated_score")[:1]),
            open_requests=Coalesce(Subquery(_open_requests(viewer)), 0),
        )
        .order_by("full_name", "pk")
    )


def filter_by_appraisal_status(
    people: QuerySet[Employee], status: str
) -> QuerySet[Employee]:
    """``people`` whose current appraisal has ``status`` (``NO_APPRAISAL``: none yet).
    Needs the annotations of ``team_members``."""
    if status == NO_APPRAISAL:
        return people.filter(Q(appraisal_status__isnull=True))
    return people.filter(Q(appraisal_status=status))


# --- The next action -------------------------------------------------------------------


class Step:
    """What ``next_action`` may answer, by code (stable, for tests and styling)."""

    NOTHING = "nothing"
    ACTIVATE_PLAN = "activate_plan"
    WRITE_REVIEW = "write_review"
    ASSIGN_REVIEWER = "assign_reviewer"
    AWAIT_APPROVAL = "await_approval"
    FINALISE = "finalise"
    AWAIT_FINALISATION = "await_finalisation"
    AWAIT_ACKNOWLEDGEMENT = "await_acknowledgement"
    FOLLOW_UP_GOALS = "follow_up_goals"
    FOLLOW_UP_MANAGER = "follow_up_manager"


@dataclass(frozen=True)
class NextAction:
    code: str
    label: StrOrPromise
    # True when the team's manager (or HR) has to act; False when they wait.
    is_task: bool


@dataclass(frozen=True)
class PersonFacts:
    """What the rule reads about one person in the cycle."""

    is_direct: bool
    line_manager_name: str
    cycle_status: str | None
    plan_statuses: tuple[str, ...]
    # (reviewer id, status) of each review evaluation.
    reviews: tuple[tuple[int | None, str], ...]
    appraisal_status: str | None
    overdue_goals: int


def next_action(
    facts: PersonFacts, *, manager_id: int, viewer_is_hr: bool
) -> NextAction:
    """The manager's next step for one person, the first that applies:

    1. someone else's report (indirect): follow up with their line manager when
       anything below is open, else nothing;
    2. appraisal acknowledged: nothing; finalised: wait for the acknowledgement;
    3. a plan still in draft (planning or in progress): activate the plan;
    4. a review the manager writes, in draft or returned: write the review;
    5. a review without a reviewer: HR assigns one;
    6. a review submitted: wait for its approval;
    7. every review approved, appraisal open: HR finalises it (HR: "Finalise the
       appraisal");
    8. overdue goals while the cycle runs: follow up on them;
    9. otherwise nothing.

    Pure: no query.
    """
    if not facts.is_direct:
        step = next_action(
            PersonFacts(
                is_direct=True,
                line_manager_name=facts.line_manager_name,
                cycle_status=facts.cycle_status,
                plan_statuses=facts.plan_statuses,
                reviews=facts.reviews,
                appraisal_status=facts.appraisal_status,
                overdue_goals=facts.overdue_goals,
            ),
            manager_id=0,  # nobody: the rule for their own manager, minus own reviews
            viewer_is_hr=viewer_is_hr,
        )
        if step.code in (Step.NOTHING, Step.AWAIT_ACKNOWLEDGEMENT):
            return step
        return NextAction(
            Step.FOLLOW_UP_MANAGER,
            _("Follow up with %(manager)s") % {"manager": facts.line_manager_name},
            is_task=False,
        )
    if facts.appraisal_status == AppraisalStatus.ACKNOWLEDGED:
        return NextAction(Step.NOTHING, _("Nothing to do"), is_task=False)
    if facts.appraisal_status == AppraisalStatus.FINALIZED:
        return NextAction(
            Step.AWAIT_ACKNOWLEDGEMENT,
            _("Waiting for the acknowledgement"),
            is_task=False,
        )
    running = facts.cycle_status in (CycleStatus.PLANNING, CycleStatus.IN_PROGRESS)
    if running and PlanStatus.DRAFT in facts.plan_statuses:
        return NextAction(Step.ACTIVATE_PLAN, _("Activate the plan"), is_task=True)
    open_review = (EvaluationStatus.DRAFT, EvaluationStatus.RETURNED)
    if any(r == manager_id and s in open_review for r, s in facts.reviews):
        return NextAction(Step.WRITE_REVIEW, _("Write the review"), is_task=True)
    if any(r is None for r, _s in facts.reviews):
        return NextAction(
            Step.ASSIGN_REVIEWER, _("HR assigns a reviewer"), is_task=viewer_is_hr
        )
    statuses = {s for _r, s in facts.reviews}
    if EvaluationStatus.SUBMITTED in statuses:
        return NextAction(
            Step.AWAIT_APPROVAL, _("Review waiting for approval"), is_task=False
        )
    if statuses - {EvaluationStatus.APPROVED}:
        return NextAction(
            Step.AWAIT_APPROVAL, _("Reviews being written"), is_task=False
        )
    if statuses and facts.appraisal_status == AppraisalStatus.OPEN:
        if viewer_is_hr:
            return NextAction(Step.FINALISE, _("Finalise the appraisal"), is_task=True)
        return NextAction(
            Step.AWAIT_FINALISATION, _("Waiting for HR to finalise"), is_task=False
        )
    if running and facts.overdue_goals:
        return NextAction(
            Step.FOLLOW_UP_GOALS, _("Follow up on overdue goals"), is_task=True
        )
    return NextAction(Step.NOTHING, _("Nothing to do"), is_task=False)


# --- Rows ------------------------------------------------------------------------------


@dataclass
class TeamPlan:
    plan: Plan
    can_open: bool
    review_status: str | None = None
    review_status_label: str = ""


@dataclass(frozen=True)
class GoalProgress:
    total: int
    on_track: int
    at_risk: int
    overdue: int
    last_check_in: datetime | None

    def share(self, count: int) -> int:
        """``count`` in percent of all goals, rounded."""
        return round(count * 100 / self.total) if self.total else 0

    @property
    def on_track_share(self) -> int:
        return self.share(self.on_track)

    @property
    def at_risk_share(self) -> int:
        return self.share(self.at_risk)

    @property
    def overdue_share(self) -> int:
        return self.share(self.overdue)


NO_GOALS = GoalProgress(0, 0, 0, 0, None)


@dataclass
class TeamRow:
    person: Employee
    is_direct: bool
    plans: list[TeamPlan] = field(default_factory=list)
    goals: GoalProgress = NO_GOALS
    open_requests: int = 0
    # Whether the viewer may read the score and open the appraisal.
    sees_appraisal: bool = False
    action: NextAction | None = None

    @property
    def appraisal_id(self) -> int | None:
        return getattr(self.person, "appraisal_id", None)

    @property
    def appraisal_status(self) -> str | None:
        return getattr(self.person, "appraisal_status", None)

    @property
    def appraisal_status_label(self) -> str:
        status = self.appraisal_status
        return str(AppraisalStatus(status).label) if status else ""

    @property
    def score(self) -> Decimal | None:
        """The final score to two places, as stored (SQLite hands an annotation's
        decimal back with a float's digits)."""
        score = getattr(self.person, "appraisal_score", None)
        return None if score is None else Decimal(score).quantize(SCORE_PLACES)

    @property
    def calibrated(self) -> Decimal | None:
        """The calibrated final score to two places; None without an adjustment in
        force."""
        score = getattr(self.person, "appraisal_calibrated", None)
        return None if score is None else Decimal(score).quantize(SCORE_PLACES)

    @property
    def is_provisional(self) -> bool:
        """An open appraisal's stored score may still change (docs/scoring.md)."""
        return (
            self.appraisal_status is not None
            and self.appraisal_status not in FINAL_STATUSES
            and self.score is not None
        )


def team_rows(
    people: list[Employee],
    *,
    manager: Employee,
    cycle: ReviewCycle | None,
    viewer: Membership,
    today: date,
) -> list[TeamRow]:
    """One row per person of ``people`` (a page of ``team_members``), in their order.

    Two queries whatever the number of people (plans with their reviews and
    whether the viewer opens them; goal counts), none without a cycle or people; the
    appraisal and the open requests come with ``team_members``' annotations.
    """
    rows = [
        TeamRow(person=p, is_direct=p.line_manager_id == manager.pk) for p in people
    ]
    if cycle is None or not rows:
        for row in rows:
            row.action = NextAction(Step.NOTHING, _("Nothing to do"), is_task=False)
        return rows
    by_person = {row.person.pk: row for row in rows}
    ids = list(by_person)
    review = Evaluation.objects.filter(plan=OuterRef("pk"), kind=EvaluationKind.REVIEW)
    plans = Plan.objects.filter(cycle=cycle, employee_id__in=ids).select_related(
        "engagement"
    )
    if viewer.is_hr_admin:
        plans = plans.annotate(can_open=Value(True))
    else:
        visible = plans_visible_to(viewer).filter(pk=OuterRef("pk"))
        plans = plans.annotate(can_open=Exists(visible))
    plans = plans.annotate(
        review_status=Subquery(review.values("status")[:1]),
        review_by=Subquery(review.values("reviewer_id")[:1]),
    ).order_by("employee_id", "kind", "start_date", "pk")
    reviews: dict[int, list[tuple[int | None, str]]] = {}
    for plan in plans:
        team_plan = TeamPlan(plan=plan, can_open=plan.can_open)
        if plan.review_status:
            team_plan.review_status = plan.review_status
            team_plan.review_status_label = str(
                EvaluationStatus(plan.review_status).label
            )
            reviews.setdefault(plan.employee_id, []).append(
                (plan.review_by, plan.review_status)
            )
        by_person[plan.employee_id].plans.append(team_plan)
    _load_goals(by_person, cycle, ids, today)
    for row in rows:
        person = row.person
        row.open_requests = getattr(person, "open_requests", 0)
        manager_of = person.line_manager
        row.sees_appraisal = (
            viewer.is_hr_admin and person.user_id != viewer.user_id
        ) or (manager_of is not None and manager_of.user_id == viewer.user_id)
        row.action = next_action(
            PersonFacts(
                is_direct=row.is_direct,
                line_manager_name=str(manager_of or ""),
                cycle_status=cycle.status,
                plan_statuses=tuple(p.plan.status for p in row.plans),
                reviews=tuple(reviews.get(person.pk, ())),
                appraisal_status=row.appraisal_status,
                overdue_goals=row.goals.overdue,
            ),
            manager_id=manager.pk,
            viewer_is_hr=viewer.is_hr_admin,
        )
    return rows


def _load_goals(
    by_person: dict[int, TeamRow], cycle: ReviewCycle, ids: list[int], today: date
) -> None:
    """Goal counts and the last check-in per person, over the cycle's plans. One
    query."""
    at_risk = (GoalStatus.AT_RISK, GoalStatus.BEHIND)
    overdue = Q(due_date__lt=today) & ~Q(status__in=OUTCOME_STATUSES)
    counts = (
        Goal.objects.filter(plan__cycle=cycle, plan__employee_id__in=ids)
        .values("plan__employee_id")
        .annotate(
            total=Count("pk", distinct=True),
            on_track=Count("pk", distinct=True, filter=Q(status=GoalStatus.ON_TRACK)),
            at_risk=Count("pk", distinct=True, filter=Q(status__in=at_risk)),
            overdue=Count("pk", distinct=True, filter=overdue),
            last=Max("checkins__created_at"),
        )
        .order_by()
    )
    for c in counts:
        by_person[c["plan__employee_id"]].goals = GoalProgress(
            total=c["total"],
            on_track=c["on_track"],
            at_risk=c["at_risk"],
            overdue=c["overdue"],
            last_check_in=c["last"],
        )


def _open_requests(viewer: Membership) -> QuerySet[FeedbackRequest, Any]:
    """The number of open feedback requests about the outer row's employee that
    ``viewer`` may read, as a subquery of one value."""
    open_ask = FeedbackAsk.objects.filter(request=OuterRef("pk"), status=AskStatus.OPEN)
    return (
        requests_visible_to(viewer)
        .filter(subject=OuterRef("pk"), cancelled_at__isnull=True)
        .filter(Exists(open_ask))
        .order_by()
        .values("subject")
        .annotate(n=Count("pk"))
        .values("n")
    )
