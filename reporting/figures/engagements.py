"""Engagement and client analytics of one cycle: per engagement and per client, the
team size, the average engagement score, goal attainment, client satisfaction and
feedback volume by kind; and, for one engagement, its team's scores and its client
satisfaction across cycles.

- **Team size**: people with an engagement plan there in the cycle.
- **Average score**: the mean score of the approved review evaluations of those
  plans (the figure that counts toward appraisals).
- **Goal attainment**: the share of goals with a target and an actual that are at
  or above target (higher-is-better: actual ≥ target; lower-is-better: actual ≤
  target).
- **Client satisfaction**: the mean overall rating of the client surveys answered,
  and answered/sent, of surveys sent from the cycle's first day until the next
  cycle's first day (each survey belongs to one cycle; a draft cycle is no next
  cycle: the dashboards never show one, and its surveys would count nowhere).
- **Feedback**: feedback the viewer may read, given during the same period, by
  kind. Anonymous answers to feedback requests never count here: one engagement
  could narrow them to fewer than three authors.

Everything counts only what ``ReportScope`` lets the viewer count: a manager sees
the plans and reviews of their line, a reviewer or approver those of their
engagements; client surveys only where the viewer may read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.utils import timezone

from appraisals.enums import EvaluationStatus
from appraisals.models import Evaluation
from engagements.enums import CycleStatus, Direction, PlanKind
from engagements.models import Client, Engagement, Goal, Plan, ReviewCycle
from feedback.enums import FeedbackKind
from feedback.models import ClientSurvey, Feedback
from organizations.lookups import Ids
from reporting.figures.stats import rounded
from reporting.filters import BY_CLIENT, BY_ENGAGEMENT

AT_OR_ABOVE_TARGET = Q(target_value__isnull=False, actual_value__isnull=False) & (
    Q(direction=Direction.HIGHER, actual_value__gte=F("target_value"))
    | Q(direction=Direction.LOWER, actual_value__lte=F("target_value"))
)
MEASURED = Q(target_value__isnull=False, actual_value__isnull=False)


@dataclass
class Figures:
    """The figures of one engagement or one client."""

    key: int
    name: str
    client: str = ""
    team: int = 0
    score_total: Decimal = Decimal(0)
    scores: int = 0
    goals: int = 0
    goals_met: int = 0
    surveys_sent: int | None = None  # None: the viewer may not read the surveys
    surveys_answered: int = 0
    csat_total: int = 0
    feedback: dict[str, int] = field(default_factory=dict)

    @property
    def average_score(self) -> Decimal | None:
        return rounded(self.score_total / self.scores) if self.scores else None

    @property
    def attainment(self) -> Decimal | None:
        """Share of measured goals at or above target, in percent."""
        if not self.goals:
            return None
        return rounded(Decimal(self.goals_met * 100) / self.goals)

    @property
    def csat(self) -> Decimal | None:
        if not self.surveys_answered:
            return None
        return rounded(Decimal(self.csat_total) / self.surveys_answered)

    @property
    def feedback_total(self) -> int:
        return sum(self.feedback.values())

    def feedback_of(self, kind: str) -> int:
        return self.feedback.get(kind, 0)


PAGE_SIZE = 25


@dataclass(frozen=True)
class Analytics:
    cycle: ReviewCycle
    by: str
    rows: list[Figures]  # the page's engagements or clients, by name
    total: int  # engagements or clients in all
    page: int
    pages: int
    feedback_kinds: list[tuple[str, str]]

    @property
    def is_empty(self) -> bool:
        return not self.total

    @property
    def engagements(self) -> list[Figures]:
        return self.rows if self.by == BY_ENGAGEMENT else []

    @property
    def clients(self) -> list[Figures]:
        return self.rows if self.by == BY_CLIENT else []


def period(
    cycle: ReviewCycle, cycles: Iterable[ReviewCycle]
) -> tuple[datetime, datetime | None]:
    """The cycle's reporting period in the organisation's time zone: from its first
    day to the first day of the next of ``cycles`` (the cycles the dashboards show,
    never a draft), open when none starts later. No query."""
    following = min(
        (c.start_date for c in cycles if c.start_date > cycle.start_date),
        default=None,
    )
    return _midnight(cycle.start_date), _midnight(following) if following else None


def _midnight(day: date) -> datetime:
    return datetime.combine(
        day, time.min, tzinfo=ZoneInfo(str(timezone.get_current_timezone()))
    )


def _in_period(column: str, start: datetime, end: datetime | None) -> Q:
    q = Q(**{f"{column}__gte": start})
    return q & Q(**{f"{column}__lt": end}) if end is not None else q


def _page_of_groups(
    plans: QuerySet[Plan], key: str, by: str, page: int, per_page: int
) -> tuple[dict[int, Figures], int, int]:
    """The page's engagements or clients (those with plans among ``plans``) by
    name, how many there are in all, and the page shown (the last one for a page
    past it). One query; two for a page past the last."""
    groups: QuerySet[Any] = (
        Engagement.objects.all() if by == BY_ENGAGEMENT else Client.objects.all()
    ).filter(pk__in=plans.order_by().values(key))
    fields = ("pk", "name", "client__name") if by == BY_ENGAGEMENT else ("pk", "name")

    def page_of(number: int) -> list[Any]:
        # The page's rows and, on each, how many rows there are in all (read in
        # the same pass over the cycle's plans).
        return list(
            groups.order_by("name", "pk")
            .annotate(total=Window(Count("pk")))
            .values_list(*fields, "total")[(number - 1) * per_page : number * per_page]
        )

    listed = page_of(page)
    if not listed and page > 1:
        # Past the last page (a link kept from larger figures): the last one.
        total = groups.count()
        page = max(1, -(-total // per_page))
        listed = page_of(page)
    total = listed[0][-1] if listed else 0
    rows = {
        row[0]: Figures(key=row[0], name=row[1], client=(row[2:-1] or ("",))[0])
        for row in listed
    }
    return rows, total, page


def _grouped(
    plans: QuerySet[Plan],
    key: str,
    names: tuple[str, ...],
    readable: Any,
    reviews: QuerySet[Evaluation],
) -> QuerySet[Any]:
    """Per ``key`` of ``plans`` (with the ``names`` of the row, by name), the
    team, whether the viewer reads the surveys (``readable``), the sum and count
    of the approved reviews' scores and the measured goals and those met: rows of
    (key, *names, team, may_read, score_total, scores, goals, met). Each plan's
    approved review (one per plan) and measured goals are read by key."""
    score = Subquery(
        reviews.filter(
            plan_id=OuterRef("pk"),
            status=EvaluationStatus.APPROVED,
            score__isnull=False,
        )
        .order_by()
        .values("score")[:1]
    )
    measured = (
        Goal.objects.filter(MEASURED, plan_id=OuterRef("pk"))
        .order_by()
        .values("plan_id")
    )
    grouped = (
        plans.order_by()
        .values_list(key, *names)
        .annotate(
            team=Count("employee_id", distinct=True),
            may_read=Max(readable),
            score_total=Sum(score),
            scores=Count(score),
            measured_goals=Sum(Subquery(measured.annotate(n=Count("pk")).values("n"))),
            goals_met=Sum(
                Subquery(
                    measured.annotate(n=Count("pk", filter=AT_OR_ABOVE_TARGET)).values(
                        "n"
                    )
                )
            ),
        )
    )
    return grouped.order_by(*names[:1], key) if names else grouped


def engagement_analytics(
    cycle: ReviewCycle,
    *,
    cycles: Iterable[ReviewCycle],
    plans: QuerySet[Plan],
    reviews: QuerySet[Evaluation],
    feedback: QuerySet[Feedback],
    survey_engagements: Ids | None,
    by: str = BY_ENGAGEMENT,
    page: int = 1,
    per_page: int = PAGE_SIZE,
    few: bool = False,
) -> Analytics:
    """One page (``per_page`` rows by name) of the per-engagement or per-client
    (``by``) figures of ``cycle`` over the scoped querysets (``plans``: the
    cycle's, as ``Report.plans_in`` gives them; ``cycles``: those the
    dashboards show, for the period; ``survey_engagements``: the ids of the
    engagements whose surveys the viewer reads, or None for every engagement).

    Four queries whatever the organisation's size: the page's rows with how many
    there are in all, then grouped queries over the page's engagements or clients
    only: the team, scores and goals from their plans, the surveys, the feedback
    (one more for a page past the last). With ``few`` (the plans are a viewer's
    own, listed by id: a line manager's, a role holder's), three: every row's
    team, scores and goals in one grouped query, paged here, then the surveys and
    the feedback of the page's rows."""
    start, end = period(cycle, cycles)
    plans = plans.filter(kind=PlanKind.ENGAGEMENT)
    key = "engagement_id" if by == BY_ENGAGEMENT else "engagement__client_id"
    names = (
        ("engagement__name", "engagement__client__name")
        if by == BY_ENGAGEMENT
        else ("engagement__client__name",)
    )
    readable: Any = Value(1)
    if survey_engagements is not None:
        readable = Case(
            When(Q(engagement_id__any=survey_engagements), then=Value(1)),
            default=Value(0),
        )
    page = max(1, page)
    if few:
        grouped = list(_grouped(plans, key, names, readable, reviews))
        total = len(grouped)
        page = min(page, max(1, -(-total // per_page)))
        grouped = grouped[(page - 1) * per_page : page * per_page]
        rows = {
            row[0]: Figures(key=row[0], name=row[1], client=(row[2:-6] or ("",))[0])
            for row in grouped
        }
        plans = plans.filter(**{f"{key}__in": list(rows)})
    else:
        rows, total, page = _page_of_groups(plans, key, by, page, per_page)
        plans = plans.filter(**{f"{key}__in": list(rows)})
        grouped = list(_grouped(plans, key, (), readable, reviews)) if rows else []
    for row in grouped:
        pk, (team, may_read, score_total, scores, goals, met) = row[0], row[-6:]
        figures = rows[pk]
        figures.team = team
        figures.surveys_sent = 0 if may_read else None
        if scores:
            figures.score_total = Decimal(str(score_total))
            figures.scores = scores
        figures.goals = goals or 0
        figures.goals_met = met or 0
    kinds = FeedbackKind.values
    result = Analytics(
        cycle=cycle,
        by=by,
        rows=list(rows.values()),
        total=total,
        page=page,
        pages=max(1, -(-total // per_page)),
        feedback_kinds=[(k.value, str(k.label)) for k in FeedbackKind],
    )
    if not rows:
        return result
    staffed = plans.order_by().values("engagement_id")
    own_key = "engagement_id" if by == BY_ENGAGEMENT else "engagement__client_id"
    surveys = ClientSurvey.objects.filter(
        _in_period("sent_at", start, end), engagement_id__in=staffed
    )
    if survey_engagements is not None:
        surveys = surveys.filter(engagement_id__any=survey_engagements)
    if all(f.surveys_sent is None for f in rows.values()):
        surveys = surveys.none()  # none the viewer may read: no query
    answered = Q(answered_at__isnull=False)
    for pk, sent, n_answered, csat_total in (
        surveys.order_by()
        .values_list(own_key)
        .annotate(
            sent=Count("pk"),
            answered=Count("pk", filter=answered),
            total=Sum("overall", filter=answered),
        )
    ):
        figures = rows[pk]
        figures.surveys_sent = sent
        figures.surveys_answered = n_answered
        figures.csat_total = csat_total or 0
    for pk, kind, n in (
        feedback.filter(_in_period("created_at", start, end), engagement_id__in=staffed)
        .order_by()
        .values_list(own_key, "kind")
        .annotate(n=Count("pk"))
    ):
        rows[pk].feedback[kind] = n
    for figures in rows.values():
        figures.feedback = {kind: figures.feedback.get(kind, 0) for kind in kinds}
    return result


# --- One engagement -----------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    employee_id: int
    name: str
    cycle: str
    allocation: Decimal | None
    status: str  # the review's status label, or "" without a review
    score: Decimal | None  # the review's score once approved


@dataclass(frozen=True)
class CsatPoint:
    cycle: str
    sent: int
    answered: int
    mean: Decimal | None


@dataclass(frozen=True)
class EngagementDetail:
    team: list[Member]
    csat: list[CsatPoint] | None  # None: the viewer may not read the surveys

    @property
    def is_empty(self) -> bool:
        return not self.team


def engagement_detail(
    engagement: Engagement,
    *,
    plans: QuerySet[Plan],
    reviews: QuerySet[Evaluation],
    may_read_surveys: bool,
) -> EngagementDetail:
    """The team of ``engagement`` in every cycle (the plans the viewer may count,
    newest cycle first) with their reviews' scores the viewer may count, and the
    client satisfaction per cycle. Three queries, four with the surveys."""
    rows = list(
        plans.filter(engagement=engagement, kind=PlanKind.ENGAGEMENT)
        .select_related("employee", "cycle")
        .order_by("-cycle__start_date", "employee__full_name", "pk")
    )
    scores = {
        plan_id: (status, score)
        for plan_id, status, score in reviews.filter(
            plan__engagement=engagement
        ).values_list("plan_id", "status", "score")
    }
    labels = dict(EvaluationStatus.choices)
    team = []
    for plan in rows:
        status, score = scores.get(plan.pk, ("", None))
        team.append(
            Member(
                employee_id=plan.employee_id,
                name=plan.employee.full_name,
                cycle=plan.cycle.name,
                allocation=plan.allocation,
                status=str(labels.get(status, "")),
                score=score if status == EvaluationStatus.APPROVED else None,
            )
        )
    csat = None
    if may_read_surveys:
        csat = _csat_by_cycle(engagement)
    return EngagementDetail(team=team, csat=csat)


def _csat_by_cycle(engagement: Engagement) -> list[CsatPoint]:
    """The engagement's surveys per cycle period (``period``: the cycles the
    dashboards show), oldest first, cycles without surveys left out. Two
    queries."""
    cycles = list(
        ReviewCycle.objects.exclude(status=CycleStatus.DRAFT)
        .order_by("start_date", "pk")
        .values_list("name", "start_date")
    )
    surveys = list(
        ClientSurvey.objects.filter(engagement=engagement).values_list(
            "sent_at", "answered_at", "overall"
        )
    )
    points = []
    for i, (name, start) in enumerate(cycles):
        begin = _midnight(start)
        end = _midnight(cycles[i + 1][1]) if i + 1 < len(cycles) else None
        inside = [s for s in surveys if s[0] >= begin and (end is None or s[0] < end)]
        if not inside:
            continue
        answered = [s[2] for s in inside if s[1] is not None and s[2] is not None]
        points.append(
            CsatPoint(
                cycle=name,
                sent=len(inside),
                answered=len(answered),
                mean=rounded(Decimal(sum(answered)) / len(answered))
                if answered
                else None,
            )
        )
    return points
