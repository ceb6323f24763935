"""Read queries of HR's cycle progress page: the summary counts, the busiest
engagements, and the querysets its two paginated lists (appraisals, evaluations not
approved yet) and its bulk actions start from.

The counts read the tallies that triggers keep in the transaction of every write
(``appraisals.models``, "Progress tallies"; docs/performance.md), a few dozen rows
whatever the cycle's size; the lists are querysets that the page filters
(``appraisals.filters``) and paginates, so only the rows of one page are ever
fetched, and their unfiltered totals come from the same tallies. Only HR admins
reach this page (``engagements.selectors.access.get_cycle_for`` gates it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import (
    Appraisal,
    CycleAppraisalTally,
    CycleReviewTally,
    EngagementReviewTally,
    EngagementWorkload,
    Evaluation,
    RecomputeRun,
)
from engagements.models import Engagement, ReviewCycle

# Engagements listed in the summary; the others are reached through the filters.
TOP_ENGAGEMENTS = 10


def _reviews() -> QuerySet[Evaluation]:
    """The review evaluations of the outer appraisal (for ``Subquery``)."""
    return Evaluation.objects.filter(
        appraisal=OuterRef("pk"), kind=EvaluationKind.REVIEW
    )


def ready_q() -> Q:
    """Appraisals ready to finalise: open, with at least one review evaluation and
    every review evaluation approved (the rule of ``selectors.appraisals.is_ready``,
    as a condition the database evaluates over the appraisal's
    ``AppraisalReviewTally``). A join on the appraisal's key; the services that act
    on the rows check the rule again on the locked rows."""
    return Q(
        status=AppraisalStatus.OPEN,
        review_tally__reviews__gt=0,
        review_tally__approved=F("review_tally__reviews"),
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
            "calibrated_score",
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
#
# Read from the tallies that triggers keep (``appraisals.models``, "Progress
# tallies"; migration 0005): a few dozen rows per cycle whatever its size.


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
    """The cycle's appraisals by status and how many are ready to finalise; its
    review evaluations by status and how many are overdue (due before ``today`` and
    not approved). Two queries over the cycle's tallies: at most 6 rows of
    ``CycleAppraisalTally`` and one per (status, due date) of ``CycleReviewTally``
    (a few dozen: due dates are set when evaluations open)."""
    appraisals = dict.fromkeys(AppraisalStatus.values, 0)
    ready = 0
    for status, is_ready, n in CycleAppraisalTally.objects.filter(
        cycle=cycle
    ).values_list("status", "ready", "n"):
        appraisals[status] += n
        ready += n if is_ready else 0
    evaluations = dict.fromkeys(EvaluationStatus.values, 0)
    overdue = 0
    for row in (
        CycleReviewTally.objects.filter(cycle=cycle)
        .values("status")
        .annotate(count=Sum("n"), late=Sum("n", filter=_overdue(today)))
        .order_by()
    ):
        evaluations[row["status"]] += row["count"]
        overdue += row["late"] or 0
    evaluations_total = sum(evaluations.values())
    return CycleSummary(
        appraisals_by_status=[
            (str(s.label), appraisals[s.value]) for s in AppraisalStatus
        ],
        appraisals_total=sum(appraisals.values()),
        ready=ready,
        evaluations_by_status=[
            (str(s.label), evaluations[s.value]) for s in EvaluationStatus
        ],
        evaluations_total=evaluations_total,
        waiting=evaluations_total - evaluations[EvaluationStatus.APPROVED.value],
        overdue=overdue,
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
    review evaluations not approved yet, then the most overdue, then by name.

    One query over the cycle's ``EngagementWorkload`` (one row per engagement with
    review evaluations): its ``waiting`` index gives the ``limit`` + 1-th largest
    number waiting, and only the engagements with at least that many (the ones tied
    with it included) get their overdue count (from ``EngagementReviewTally``) and
    name; ``limit`` + 1 rows come back, to know whether there are more. Its cost
    follows the number of engagements tied at that rank, not the cycle's size."""
    workloads = EngagementWorkload.objects.filter(cycle=cycle)
    threshold = workloads.order_by("-waiting").values("waiting")[limit : limit + 1]
    overdue = (
        EngagementReviewTally.objects.filter(
            cycle=cycle, engagement_id=OuterRef("engagement_id")
        )
        .filter(_overdue(today))
        .order_by()
        .values("cycle")
        .annotate(late=Sum("n"))
        .values("late")
    )
    name = Engagement.objects.filter(pk=OuterRef("engagement_id")).values("name")
    rows = list(
        workloads.filter(waiting__gte=Coalesce(Subquery(threshold), Value(0)))
        .annotate(
            overdue=Coalesce(Subquery(overdue), Value(0)),
            name=Subquery(name[:1]),
        )
        .order_by("-waiting", "-overdue", F("name").asc(nulls_last=True), "pk")
        .values("engagement_id", "name", "total", "approved", "overdue")[: limit + 1]
    )
    return BusiestEngagements(
        rows=[
            EngagementProgress(
                engagement_id=row["engagement_id"] or None,
                name=row["name"] or _("General plans"),
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
