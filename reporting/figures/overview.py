"""Cycle overview: how far the cycle is. Plans, review evaluations and appraisals by
status, approved evaluations per day since the review opened, and the reviewers and
approvers with the most overdue work.

Counts come from the rows the viewer may count (``ReportScope``), narrowed by the
dashboard's filters (through the appraisals they select). An evaluation is
**overdue** when its due date has passed and it is not approved; the reviewer owes
a draft or returned one, the approver a submitted one.

- ``cycle_overview`` groups the rows it is given (a line manager's, or narrowed by a
  filter): three queries, the plans, the appraisals and the reviews; the reviews
  are read once, and every figure of theirs (by status, per day, the late reviewers
  and approvers) is grouped from that one pass (``_REVIEWS_SQL``);
- ``overview_from_tallies`` reads the whole organisation's cycle from the tallies the
  database keeps (PostgreSQL): the plans per status (``CyclePlanTally``), the review
  evaluations per status and due date (``CycleReviewTally``), per engagement for the
  approvers (``EngagementReviewTally``), the appraisals per status
  (``CycleAppraisalTally``), the reviews created and approved per day
  (``ReviewDayTally``) and those each reviewer owes per due date
  (``OwedReviewTally``): six queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, Count, OuterRef, QuerySet, Subquery, Sum, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import (
    Appraisal,
    CycleAppraisalTally,
    CycleReviewTally,
    Evaluation,
)
from engagements.enums import CycleStatus, EngagementRole, PlanStatus
from engagements.models import CyclePlanTally, Plan, ReviewCycle
from organizations.tenancy import current_organization_id
from reporting.models import OwedReviewTally, ReviewDayTally

TOP_PEOPLE = 10
MAX_DAYS = 366
REVIEWER_OWES = (EvaluationStatus.DRAFT, EvaluationStatus.RETURNED)


@dataclass(frozen=True)
class Person:
    employee_id: int
    name: str
    overdue: int


@dataclass(frozen=True)
class DayCount:
    day: date
    approved: int
    cumulative: int


@dataclass(frozen=True)
class Overview:
    cycle: ReviewCycle
    plans_by_status: list[tuple[str, int]]
    evaluations_by_status: list[tuple[str, int]]  # the overdue ones also counted apart
    evaluations_total: int
    overdue: int
    appraisals_by_status: list[tuple[str, int]]
    completion: list[DayCount]
    late_reviewers: list[Person]
    late_approvers: list[Person]

    @property
    def is_empty(self) -> bool:
        return (
            not any(n for _, n in self.plans_by_status) and not self.evaluations_total
        )

    @property
    def approved_share(self) -> int | None:
        """Approved reviews in percent of all, rounded down; None without any."""
        if not self.evaluations_total:
            return None
        approved = dict(self.evaluations_by_status).get(
            str(EvaluationStatus.APPROVED.label), 0
        )
        return approved * 100 // self.evaluations_total


def _by_status(qs: QuerySet[Any], choices: Any) -> list[tuple[str, int]]:
    # COUNT(*), not of the key: the status alone can then be read from an index
    # (``plan_cycle_person``) without visiting the rows.
    found = dict(qs.order_by().values_list("status").annotate(n=Count("*")))
    return [(str(choice.label), found.get(choice.value, 0)) for choice in choices]


def _completion(
    per_day: dict[date, int], opened: date | None, last: date
) -> list[DayCount]:
    """Approved reviews per day (``per_day``) from the day the review opened (its
    first review evaluation) to ``last``, days without any included; at most a
    year."""
    if opened is None and not per_day:
        return []
    first = min([*per_day, *([opened] if opened else [])])
    last = max([last, *per_day])
    first = max(first, last - timedelta(days=MAX_DAYS))
    days, total, day = [], 0, first
    while day <= last:
        total += per_day.get(day, 0)
        days.append(DayCount(day=day, approved=per_day.get(day, 0), cumulative=total))
        day += timedelta(days=1)
    return days


def cycle_overview(
    cycle: ReviewCycle,
    *,
    appraisals: QuerySet[Appraisal],
    plans: QuerySet[Plan],
    reviews: QuerySet[Evaluation],
    today: date,
) -> Overview:
    """The overview of ``cycle`` over the given rows (scoped and filtered by the
    caller, all of the cycle already: ``Report.appraisals_in``, ``plans_in``,
    ``reviews_in``; a condition on the cycle repeated would make PostgreSQL square
    its selectivity and misjudge a narrowed set). Three queries."""
    figures = _review_figures(reviews, today)
    in_review = cycle.status == CycleStatus.REVIEW
    opened = figures.opened
    return Overview(
        cycle=cycle,
        plans_by_status=_by_status(plans, PlanStatus),
        evaluations_by_status=[
            (str(s.label), figures.by_status.get(s.value, 0)) for s in EvaluationStatus
        ],
        evaluations_total=sum(figures.by_status.values()),
        overdue=figures.overdue,
        appraisals_by_status=_by_status(appraisals, AppraisalStatus),
        completion=_completion(
            figures.per_day, opened, today if in_review else opened or today
        ),
        late_reviewers=figures.late_reviewers,
        late_approvers=figures.late_approvers,
    )


@dataclass
class _ReviewFigures:
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    opened: date | None = None  # the day of the first review
    per_day: dict[date, int] = field(default_factory=dict)  # approved per day
    late_reviewers: list[Person] = field(default_factory=list)
    late_approvers: list[Person] = field(default_factory=list)


# Every figure of the reviews ``r`` in one statement: the reviews are read once
# (MATERIALIZED), then grouped four ways, each part tagged: per status (with the
# overdue ones and the first day), approved per day, and the ten reviewers and the
# ten approvers with the most overdue work (``_LATE_APPROVERS_SQL`` over the late
# submitted reviews), each person with their rank.
_REVIEWS_SQL = """
    WITH r (status, due_date, approved_day, created_day, reviewer_id, engagement_id)
    AS MATERIALIZED ({reviews}),
    late AS (SELECT * FROM r WHERE due_date < %s AND status <> %s)
    SELECT 'status', status, CAST(NULL AS bigint), CAST(NULL AS text), count(*),
           sum(CASE WHEN due_date < %s AND status <> %s THEN 1 ELSE 0 END),
           min(created_day)
    FROM r GROUP BY status
    UNION ALL
    SELECT 'day', NULL, NULL, NULL, count(*), 0, approved_day
    FROM r WHERE status = %s AND approved_day IS NOT NULL GROUP BY approved_day
    UNION ALL
    SELECT * FROM (
        SELECT 'reviewer', NULL, e.id, e.full_name, count(*),
               row_number() OVER (ORDER BY count(*) DESC, e.full_name, e.id),
               CAST(NULL AS date)
        FROM late
        JOIN organizations_employee e
            ON e.organization_id = %s AND e.id = late.reviewer_id
        WHERE late.status IN (%s, %s)
        GROUP BY e.id, e.full_name
        ORDER BY 6
        LIMIT %s
    ) reviewers
    UNION ALL
    SELECT 'approver', NULL, a.employee_id, a.full_name, a.n, a.rank,
           CAST(NULL AS date)
    FROM ({approvers}) a
"""
# The late submitted reviews of ``late`` per engagement, for ``_LATE_APPROVERS_SQL``
# (grouped first: each engagement's approvers are then looked up once).
_LATE_SUBMITTED = (
    "SELECT engagement_id, count(*) AS n FROM late WHERE status = %s "
    "GROUP BY engagement_id"
)


def _review_figures(reviews: QuerySet[Evaluation], today: date) -> _ReviewFigures:
    """The figures of ``reviews`` (days in the organisation's time zone). One
    query (``_REVIEWS_SQL``)."""
    tz = timezone.get_current_timezone()
    rows_sql, rows_params = (
        reviews.order_by()
        .annotate(
            approved_day=TruncDate("approved_at", tzinfo=tz),
            created_day=TruncDate("created_at", tzinfo=tz),
            # Only a late submitted review's engagement is needed (its approvers
            # owe it), read by key: a join would make PostgreSQL hash every plan.
            engagement=Case(
                When(
                    status=EvaluationStatus.SUBMITTED,
                    due_date__lt=today,
                    then=Subquery(
                        Plan.objects.filter(pk=OuterRef("plan_id"))
                        .order_by()
                        .values("engagement_id")
                    ),
                ),
                default=None,
            ),
        )
        .values_list(
            "status",
            "due_date",
            "approved_day",
            "created_day",
            "reviewer_id",
            "engagement",
        )
        .query.sql_with_params()
    )
    organization = current_organization_id()
    approved = EvaluationStatus.APPROVED.value
    params = [
        *rows_params,
        *(today, approved) * 2,
        approved,
        organization,
        *(status.value for status in REVIEWER_OWES),
        TOP_PEOPLE,
        EvaluationStatus.SUBMITTED.value,
        *_approver_params(),
    ]
    figures = _ReviewFigures()
    approvers = _LATE_APPROVERS_SQL.format(late=_LATE_SUBMITTED)
    with connection.cursor() as cursor:
        cursor.execute(
            _REVIEWS_SQL.format(reviews=rows_sql, approvers=approvers), params
        )
        # The people by their rank (the parts of a UNION keep no order).
        rows = sorted(cursor.fetchall(), key=lambda row: (row[0], row[5]))
    for part, status, person, name, n, late, day in rows:
        day = _as_date(day)
        if part == "status":
            figures.by_status[status] = n
            figures.overdue += late
            if day is not None and (figures.opened is None or day < figures.opened):
                figures.opened = day
        elif part == "day" and day is not None:
            figures.per_day[day] = n
        elif part != "day":
            people = (
                figures.late_reviewers if part == "reviewer" else figures.late_approvers
            )
            people.append(Person(employee_id=person, name=name, overdue=n))
    return figures


def _as_date(value: Any) -> date | None:
    """A day from the raw cursor: a date on PostgreSQL, its ISO text on SQLite."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# The approvers of the engagements with the most submitted reviews past their due
# date, from ``late`` (engagement id, how many such reviews): it starts from the few
# late reviews, not from every approver of the organisation.
_LATE_APPROVERS_SQL = """
    SELECT ra.employee_id, e.full_name, sum(t.n) AS n,
           row_number() OVER (
               ORDER BY sum(t.n) DESC, e.full_name, ra.employee_id
           ) AS rank
    FROM ({late}) t
    JOIN engagements_roleassignment ra
        ON ra.organization_id = %s
       AND ra.engagement_id = t.engagement_id AND ra.role = %s
    JOIN organizations_employee e
        ON e.organization_id = ra.organization_id AND e.id = ra.employee_id
    GROUP BY ra.employee_id, e.full_name
    ORDER BY rank
    LIMIT %s
"""
# The late submitted reviews per engagement from the cycle's per-engagement tallies.
_LATE_FROM_TALLIES = """
    SELECT engagement_id, sum(n) AS n FROM appraisals_engagementreviewtally
    WHERE organization_id = %s AND cycle_id = %s AND status = %s AND due_date < %s
    GROUP BY engagement_id
"""


def _approver_params() -> list[Any]:
    """``_LATE_APPROVERS_SQL``'s own parameters, after those of its ``late``."""
    return [current_organization_id(), EngagementRole.APPROVER.value, TOP_PEOPLE]


def _late_approvers(late: str, params: list[Any]) -> list[Person]:
    """The approvers with the most late submitted reviews (``late``: the SQL of
    (engagement id, how many) with its ``params``). One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LATE_APPROVERS_SQL.format(late=late), [*params, *_approver_params()]
        )
        return [Person(pk, name, n) for pk, name, n, _rank in cursor.fetchall()]


def overview_from_tallies(cycle: ReviewCycle, *, today: date) -> Overview:
    """The overview of the whole organisation's ``cycle`` from the tallies
    (PostgreSQL). Six queries."""
    plans = dict(
        CyclePlanTally.objects.filter(cycle=cycle)
        .order_by()
        .values_list("status")
        .annotate(total=Sum("n"))
    )
    review_counts = dict.fromkeys(EvaluationStatus.values, 0)
    overdue = 0
    for status, due, n in CycleReviewTally.objects.filter(cycle=cycle).values_list(
        "status", "due_date", "n"
    ):
        review_counts[status] += n
        if due is not None and due < today and status != EvaluationStatus.APPROVED:
            overdue += n
    appraisals = dict(
        CycleAppraisalTally.objects.filter(cycle=cycle)
        .order_by()
        .values_list("status")
        .annotate(total=Sum("n"))
    )
    per_day, opened = {}, None
    for day, created, approved in ReviewDayTally.objects.filter(
        cycle=cycle
    ).values_list("day", "created", "approved"):
        if approved:
            per_day[day] = approved
        if created and (opened is None or day < opened):
            opened = day
    approvers = _late_approvers(
        _LATE_FROM_TALLIES,
        [
            current_organization_id(),
            cycle.pk,
            EvaluationStatus.SUBMITTED.value,
            today,
        ],
    )
    reviewers = [
        Person(employee_id=pk, name=name, overdue=n)
        for pk, name, n in OwedReviewTally.objects.filter(
            cycle=cycle, due_date__lt=today
        )
        .values("reviewer_id", "reviewer__full_name")
        .annotate(n=Sum("n"))
        .order_by("-n", "reviewer__full_name", "reviewer_id")
        .values_list("reviewer_id", "reviewer__full_name", "n")[:TOP_PEOPLE]
    ]
    in_review = cycle.status == CycleStatus.REVIEW
    return Overview(
        cycle=cycle,
        plans_by_status=[(str(s.label), plans.get(s.value, 0)) for s in PlanStatus],
        evaluations_by_status=[
            (str(s.label), review_counts[s.value]) for s in EvaluationStatus
        ],
        evaluations_total=sum(review_counts.values()),
        overdue=overdue,
        appraisals_by_status=[
            (str(s.label), appraisals.get(s.value, 0)) for s in AppraisalStatus
        ],
        completion=_completion(
            per_day, opened, today if in_review else opened or today
        ),
        late_reviewers=reviewers,
        late_approvers=approvers,
    )
