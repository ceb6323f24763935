"""Read queries of HR's cycle progress page: the summary counts, the busiest
engagements, and the querysets its two paginated lists (appraisals, evaluations not
approved yet) and its bulk actions start from.

Every count is one aggregate query over the cycle, whatever its size; the lists are
querysets that the page filters (``appraisals.filters``) and paginates, so only the
rows of one page are ever fetched. Only HR admins reach this page
(``engagements.selectors.access.get_cycle_for`` gates it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, Evaluation, RecomputeRun
from engagements.models import ReviewCycle

# Engagements listed in the summary; the others are reached through the filters.
TOP_ENGAGEMENTS = 10


def _reviews() -> QuerySet[Evaluation]:
    """The review evaluations of the outer appraisal (for ``Exists``/``Subquery``)."""
    return Evaluation.objects.filter(
        appraisal=OuterRef("pk"), kind=EvaluationKind.REVIEW
    )


def ready_q() -> Q:
    """Appraisals ready to finalise: open, with at least one review evaluation and
    every review evaluation approved (the rule of ``selectors.appraisals.is_ready``,
    as a condition the database evaluates). Two index probes per appraisal."""
    unapproved = _reviews().exclude(status=EvaluationStatus.APPROVED)
    return (
        Q(status=AppraisalStatus.OPEN) & Q(Exists(_reviews())) & ~Q(Exists(unapproved))
    )


def ready(appraisals: QuerySet[Appraisal]) -> QuerySet[Appraisal]:
    """The ready-to-finalise rows of ``appraisals``. Runs no query."""
    return appraisals.filter(ready_q())


def ready_count(appraisals: QuerySet[Appraisal]) -> int:
    """How many rows of ``appraisals`` are ready to finalise. One query."""
    return ready(appraisals).count()


def _review_count(*, approved: bool) -> Coalesce:
    reviews = _reviews()
    if approved:
        reviews = reviews.filter(status=EvaluationStatus.APPROVED)
    counted = reviews.order_by().values("appraisal").annotate(n=Count("pk"))
    return Coalesce(
        Subquery(counted.values("n"), output_field=IntegerField()), Value(0)
    )


def cycle_appraisals(cycle: ReviewCycle) -> QuerySet[Appraisal]:
    """The cycle's appraisals as the progress list shows them, by employee name, with
    ``n_reviews`` and ``n_approved`` (so ``selectors.appraisals.is_ready`` applies)
    computed per row only for the rows fetched, and the large score snapshot left
    out. Building it runs no query; counting it runs a plain count."""
    return (
        Appraisal.objects.filter(cycle=cycle)
        .select_related("employee__business_unit")
        .only(
            "pk",
            "status",
            "final_score",
            "employee__full_name",
            "employee__user",
            "employee__business_unit__name",
        )
        .annotate(
            n_reviews=_review_count(approved=False),
            n_approved=_review_count(approved=True),
        )
        .order_by("employee__full_name", "pk")
    )


def open_evaluations(cycle: ReviewCycle) -> QuerySet[Evaluation]:
    """The cycle's review evaluations not approved yet, the earliest due first (so
    overdue ones lead; those without a due date last), then in the order they were
    assigned, with the names the list shows. That order is the one of the
    ``evaluation_open_review_due`` index (migration 0003), so a page reads its rows
    from the front of the index instead of sorting the whole cycle. Building it runs
    no query."""
    return (
        Evaluation.objects.filter(appraisal__cycle=cycle, kind=EvaluationKind.REVIEW)
        .exclude(status=EvaluationStatus.APPROVED)
        .select_related("employee", "reviewer", "plan__engagement")
        .only(
            "pk",
            "kind",
            "status",
            "due_date",
            "employee__full_name",
            "reviewer__full_name",
            "plan__kind",
            "plan__engagement__name",
        )
        .order_by(F("due_date").asc(nulls_last=True), "pk")
    )


# --- Summary counts -----------------------------------------------------------------


@dataclass(frozen=True)
class CycleSummary:
    appraisals_by_status: list[tuple[str, int]]
    appraisals_total: int
    # Open appraisals with review evaluations, every one approved.
    ready: int
    evaluations_by_status: list[tuple[str, int]]
    evaluations_total: int
    # Review evaluations not approved yet (draft, submitted or returned).
    waiting: int
    # Of those, due before today.
    overdue: int


def _overdue(today: date) -> Q:
    return Q(due_date__lt=today) & ~Q(status=EvaluationStatus.APPROVED)


def cycle_summary(cycle: ReviewCycle, today: date) -> CycleSummary:
    """The cycle's appraisals by status; its review evaluations by status, how many
    are overdue (due before ``today`` and not approved); and how many appraisals are
    ready to finalise. Two aggregate queries: one over the cycle's appraisals, one
    over their review evaluations (which counts the ready appraisals as the open ones
    with a review evaluation minus those with one not approved yet, so no appraisal
    is probed one by one)."""
    appraisals = Appraisal.objects.filter(cycle=cycle).aggregate(
        **{
            status.value: Count("pk", filter=Q(status=status))
            for status in AppraisalStatus
        },
    )
    is_open = Q(appraisal__status=AppraisalStatus.OPEN)
    evaluations = Evaluation.objects.filter(
        appraisal__cycle=cycle, kind=EvaluationKind.REVIEW
    ).aggregate(
        overdue=Count("pk", filter=_overdue(today)),
        open_reviewed=Count("appraisal", filter=is_open, distinct=True),
        open_waiting=Count(
            "appraisal",
            filter=is_open & ~Q(status=EvaluationStatus.APPROVED),
            distinct=True,
        ),
        **{
            status.value: Count("pk", filter=Q(status=status))
            for status in EvaluationStatus
        },
    )
    evaluations_total = sum(evaluations[s.value] for s in EvaluationStatus)
    return CycleSummary(
        appraisals_by_status=[
            (str(s.label), appraisals[s.value]) for s in AppraisalStatus
        ],
        appraisals_total=sum(appraisals[s.value] for s in AppraisalStatus),
        ready=evaluations["open_reviewed"] - evaluations["open_waiting"],
        evaluations_by_status=[
            (str(s.label), evaluations[s.value]) for s in EvaluationStatus
        ],
        evaluations_total=evaluations_total,
        waiting=evaluations_total - evaluations[EvaluationStatus.APPROVED.value],
        overdue=evaluations["overdue"],
    )


@dataclass(frozen=True)
class EngagementProgress:
    """Review evaluations of one engagement (or of the general plans) in a cycle."""

    engagement_id: int | None
    name: str
    total: int
    approved: int
    overdue: int

    @property
    def open(self) -> int:
        return self.total - self.approved


@dataclass(frozen=True)
class BusiestEngagements:
    rows: list[EngagementProgress]
    # True when more engagements have review evaluations than ``rows`` lists.
    more: bool


def busiest_engagements(
    cycle: ReviewCycle, today: date, limit: int = TOP_ENGAGEMENTS
) -> BusiestEngagements:
    """The ``limit`` engagements (the general plans counting as one) with the most
    review evaluations not approved yet, then the most overdue, then by name, over
    the review evaluations of the cycle's plans. One aggregate query (``limit`` + 1
    rows, to know whether there are more); it reaches the evaluations through the
    plans of the cycle, which is cheaper than through its appraisals."""
    approved = Q(status=EvaluationStatus.APPROVED)
    rows = list(
        Evaluation.objects.filter(plan__cycle=cycle, kind=EvaluationKind.REVIEW)
        .values("plan__engagement_id", "plan__engagement__name")
        .annotate(
            total=Count("pk"),
            approved=Count("pk", filter=approved),
            overdue=Count("pk", filter=_overdue(today)),
        )
        .annotate(waiting=F("total") - F("approved"))
        .order_by("-waiting", "-overdue", "plan__engagement__name")[: limit + 1]
    )
    return BusiestEngagements(
        rows=[
            EngagementProgress(
                engagement_id=row["plan__engagement_id"],
                name=row["plan__engagement__name"] or _("General plans"),
                total=row["total"],
                approved=row["approved"],
                overdue=row["overdue"],
            )
            for row in rows[:limit]
        ],
        more=len(rows) > limit,
    )


def latest_recompute(cycle: ReviewCycle) -> RecomputeRun | None:
    """The cycle's most recent score recomputation, if any. One query."""
    return RecomputeRun.objects.filter(cycle=cycle).first()
