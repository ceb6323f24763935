"""Cycle overview: how far the cycle is. Plans, review evaluations and appraisals by
status, approved evaluations per day since the review opened, and the reviewers and
approvers with the most overdue work.

Counts come from the rows the viewer may count (``ReportScope``), narrowed by the
dashboard's filters (through the appraisals they select). An evaluation is
**overdue** when its due date has passed and it is not approved; the reviewer owes
a draft or returned one, the approver a submitted one. Six queries either way:

- ``cycle_overview`` groups the rows it is given (a line manager's, or narrowed by a
  filter);
- ``overview_from_tallies`` reads the whole organisation's cycle from the tallies the
  database keeps (PostgreSQL): the plans per status (``CyclePlanTally``), the review
  evaluations per status and due date (``CycleReviewTally``), per engagement for the
  approvers (``EngagementReviewTally``), the appraisals per status
  (``CycleAppraisalTally``), the reviews created and approved per day
  (``ReviewDayTally``) and those each reviewer owes per due date
  (``OwedReviewTally``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Min, Q, QuerySet, Sum
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


def _overdue(today: date) -> Q:
    return Q(due_date__lt=today) & ~Q(status=EvaluationStatus.APPROVED)


def _by_status(qs: QuerySet[Any], choices: Any) -> list[tuple[str, int]]:
    found = dict(qs.order_by().values_list("status").annotate(n=Count("pk")))
    return [(str(choice.label), found.get(choice.value, 0)) for choice in choices]


def _approved_per_day(reviews: QuerySet[Evaluation]) -> dict[date, int]:
    """Approved reviews per day (organisation's time zone). One query."""
    tz = timezone.get_current_timezone()
    return dict(
        reviews.filter(status=EvaluationStatus.APPROVED, approved_at__isnull=False)
        .annotate(day=TruncDate("approved_at", tzinfo=tz))
        .order_by()
        .values_list("day")
        .annotate(n=Count("pk"))
    )


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


def _top(rows: QuerySet[Any], person: str, count: Any) -> list[Person]:
    ranked = (
        rows.order_by()
        .values(person, f"{person}__full_name")
        .annotate(n=count)
        .order_by("-n", f"{person}__full_name", person)
        .values_list(person, f"{person}__full_name", "n")[:TOP_PEOPLE]
    )
    return [Person(employee_id=pk, name=name, overdue=n) for pk, name, n in ranked]


def cycle_overview(
    cycle: ReviewCycle,
    *,
    appraisals: QuerySet[Appraisal],
    plans: QuerySet[Plan],
    reviews: QuerySet[Evaluation],
    today: date,
) -> Overview:
    """The overview of ``cycle`` over the given rows (scoped and filtered by the
    caller; the cycle is applied here to the appraisals and plans, while
    ``reviews`` are already the cycle's: ``Report.reviews_in``). Six queries."""
    appraisals = appraisals.filter(cycle=cycle)
    plans = plans.filter(cycle=cycle)
    late = _overdue(today)
    review_counts = dict.fromkeys(EvaluationStatus.values, 0)
    overdue, opened_at = 0, None
    for status, n, n_late, first in (
        reviews.order_by()
        .values_list("status")
        .annotate(n=Count("pk"), late=Count("pk", filter=late), first=Min("created_at"))
    ):
        review_counts[status] = n
        overdue += n_late
        opened_at = first if opened_at is None else min(opened_at, first)
    late_reviews = reviews.filter(late)
    late_by_engagement, params = (
        late_reviews.filter(
            status=EvaluationStatus.SUBMITTED, plan__engagement__isnull=False
        )
        .annotate(engagement=F("plan__engagement_id"))
        .order_by()
        .values("engagement")
        .annotate(late=Count("pk"))
        .query.sql_with_params()
    )
    in_review = cycle.status == CycleStatus.REVIEW
    opened = timezone.localdate(opened_at) if opened_at else None
    return Overview(
        cycle=cycle,
        plans_by_status=_by_status(plans, PlanStatus),
        evaluations_by_status=[
            (str(s.label), review_counts[s.value]) for s in EvaluationStatus
        ],
        evaluations_total=sum(review_counts.values()),
        overdue=overdue,
        appraisals_by_status=_by_status(appraisals, AppraisalStatus),
        completion=_completion(
            _approved_per_day(reviews), opened, today if in_review else opened or today
        ),
        late_reviewers=_top(
            late_reviews.filter(status__in=REVIEWER_OWES, reviewer__isnull=False),
            "reviewer",
            Count("pk"),
        ),
        late_approvers=_late_approvers(
            f"SELECT engagement AS engagement_id, late AS n FROM ({late_by_engagement}) g",  # noqa: S608 - Django's compiled query
            list(params),
        ),
    )


# The approvers of the engagements with the most submitted reviews past their due
# date: the cycle's per-engagement tallies joined to the approver roles.
# The approvers of the engagements with the most submitted reviews past their due
# date, from ``late`` (engagement id, how many such reviews): it starts from the few
# late reviews, not from every approver of the organisation.
_LATE_APPROVERS_SQL = """
    SELECT ra.employee_id, e.full_name, sum(t.n) AS n
    FROM ({late}) t
    JOIN engagements_roleassignment ra
        ON ra.organization_id = %s
       AND ra.engagement_id = t.engagement_id AND ra.role = %s
    JOIN organizations_employee e
        ON e.organization_id = ra.organization_id AND e.id = ra.employee_id
    GROUP BY ra.employee_id, e.full_name
    ORDER BY n DESC, e.full_name, ra.employee_id
    LIMIT %s
"""
# The same from the cycle's per-engagement tallies.
_LATE_FROM_TALLIES = """
    SELECT engagement_id, sum(n) AS n FROM appraisals_engagementreviewtally
    WHERE organization_id = %s AND cycle_id = %s AND status = %s AND due_date < %s
    GROUP BY engagement_id
"""


def _late_approvers(late: str, params: list[Any]) -> list[Person]:
    """The approvers with the most late submitted reviews (``late``: the SQL of
    (engagement id, how many) with its ``params``). One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LATE_APPROVERS_SQL.format(late=late),
            [
                *params,
                current_organization_id(),
                EngagementRole.APPROVER.value,
                TOP_PEOPLE,
            ],
        )
        return [Person(pk, name, n) for pk, name, n in cursor.fetchall()]


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
