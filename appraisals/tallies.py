"""The progress tallies and the approval fallback counted afresh from the rows, and
kept without triggers where there are none.

On PostgreSQL, statement-level triggers (migrations 0004 and 0005) keep
``ApprovalFallback`` and the progress tallies (``models``, "Progress tallies") exact
in the transaction of every write. The embedded SQLite database of ``make run`` has
no such triggers, so there the pages that read them call
``refresh_without_triggers()`` first, which rebuilds the active organisation's from
its rows: a few queries over the demo's few hundred rows, and nothing at all on
PostgreSQL. The recount is also what ``check_consistency`` compares the stored
tallies with (``consistency.check_progress_tallies``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q

from appraisals.enums import (
    AppraisalStatus,
    ApprovalCapacity,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import (
    GENERAL,
    Appraisal,
    AppraisalReviewTally,
    ApprovalFallback,
    CycleAppraisalTally,
    CycleReviewTally,
    EngagementReviewTally,
    EngagementWorkload,
    Evaluation,
    EvaluationApproval,
)
from appraisals.selectors.approvals import authorities_for
from engagements.models import CyclePlanTally
from engagements.tallies import refresh_plan_tally_without_triggers
from organizations.tenancy import current_organization_id, is_postgresql

# Every table the database keeps from the rows of others (never written by the
# application): what a copy of the database leaves out, or writes last.
DERIVED_MODELS: tuple[type[Any], ...] = (
    AppraisalReviewTally,
    ApprovalFallback,
    CycleAppraisalTally,
    CycleReviewTally,
    EngagementReviewTally,
    EngagementWorkload,
    CyclePlanTally,
)


def kept_by_triggers() -> bool:
    """Whether the database keeps the tallies itself (PostgreSQL)."""
    return is_postgresql()


@dataclass
class Recount:
    """The active organisation's tallies as its rows say they should be, keyed as
    the tables are."""

    cycle_reviews: Counter[Any]  # (cycle, status, due date) → n
    engagement_reviews: Counter[Any]  # (cycle, engagement or GENERAL, status, due) → n
    workloads: dict[Any, tuple[int, int]]  # (cycle, engagement) → (total, approved)
    per_appraisal: dict[int, tuple[int, int]]  # appraisal → (reviews, approved)
    appraisals: Counter[Any]  # (cycle, status, ready) → n


def recount() -> Recount:
    """Count the active organisation's review evaluations and appraisals afresh.
    Three queries; the last reads one row per appraisal."""
    cycle_reviews: Counter[Any] = Counter()
    engagement_reviews: Counter[Any] = Counter()
    workloads: dict[Any, tuple[int, int]] = {}
    rows = (
        Evaluation.objects.filter(kind=EvaluationKind.REVIEW)
        .values("plan__cycle_id", "plan__engagement_id", "status", "due_date")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        cycle, status, due = row["plan__cycle_id"], row["status"], row["due_date"]
        engagement = row["plan__engagement_id"] or GENERAL
        cycle_reviews[(cycle, status, due)] += row["count"]
        engagement_reviews[(cycle, engagement, status, due)] += row["count"]
        total, approved = workloads.get((cycle, engagement), (0, 0))
        approved += row["count"] if status == EvaluationStatus.APPROVED else 0
        workloads[(cycle, engagement)] = (total + row["count"], approved)
    per_appraisal = {
        row["appraisal_id"]: (row["reviews"], row["approved"])
        for row in Evaluation.objects.filter(kind=EvaluationKind.REVIEW)
        .values("appraisal_id")
        .annotate(
            reviews=Count("pk"),
            approved=Count("pk", filter=Q(status=EvaluationStatus.APPROVED)),
        )
        .order_by()
    }
    appraisals: Counter[Any] = Counter()
    for pk, cycle, status in Appraisal.objects.order_by().values_list(
        "pk", "cycle_id", "status"
    ):
        reviews, approved = per_appraisal.get(pk, (0, 0))
        is_ready = status == AppraisalStatus.OPEN and 0 < reviews == approved
        appraisals[(cycle, status, is_ready)] += 1
    return Recount(
        cycle_reviews, engagement_reviews, workloads, per_appraisal, appraisals
    )


def fallback_reviews() -> list[Evaluation]:
    """The submitted reviews in open appraisals that nobody qualifies to approve (so
    HR admins do) and whose approver capacity is not approved in the current
    submission: what ``ApprovalFallback`` holds, decided by
    ``permissions.approval_authority`` itself. Four queries."""
    reviews = list(
        Evaluation.objects.filter(
            kind=EvaluationKind.REVIEW,
            status=EvaluationStatus.SUBMITTED,
            appraisal__status=AppraisalStatus.OPEN,
        ).select_related(
            "plan__approver", "employee__line_manager__line_manager", "reviewer"
        )
    )
    approved = set(
        EvaluationApproval.objects.filter(
            evaluation__in=reviews,
            submission=F("evaluation__submission"),
            decision=ApprovalDecision.APPROVED,
            capacity=ApprovalCapacity.APPROVER,
        ).values_list("evaluation_id", flat=True)
    )
    authorities = authorities_for(reviews)
    return [
        review
        for review in reviews
        if authorities[review.pk].hr_fallback and review.pk not in approved
    ]


def refresh_without_triggers() -> None:
    """Where no trigger keeps them (SQLite), rebuild the active organisation's
    progress tallies, plan tally and approval fallback from its rows. Nothing on
    PostgreSQL. About twenty queries on SQLite."""
    if kept_by_triggers():
        return
    organization_id = current_organization_id()
    if organization_id is None:
        raise RuntimeError("Rebuilding tallies needs an active organisation scope.")
    counted = recount()
    tallies: list[tuple[type[Any], list[Any]]] = [
        (
            CycleReviewTally,
            [
                CycleReviewTally(cycle_id=c, status=s, due_date=d, n=n)
                for (c, s, d), n in counted.cycle_reviews.items()
            ],
        ),
        (
            EngagementReviewTally,
            [
                EngagementReviewTally(
                    cycle_id=c, engagement_id=e, status=s, due_date=d, n=n
                )
                for (c, e, s, d), n in counted.engagement_reviews.items()
            ],
        ),
        (
            EngagementWorkload,
            [
                EngagementWorkload(
                    cycle_id=c, engagement_id=e, total=total, approved=approved
                )
                for (c, e), (total, approved) in counted.workloads.items()
            ],
        ),
        (
            AppraisalReviewTally,
            [
                AppraisalReviewTally(
                    appraisal_id=pk, reviews=reviews, approved=approved
                )
                for pk, (reviews, approved) in counted.per_appraisal.items()
            ],
        ),
        (
            CycleAppraisalTally,
            [
                CycleAppraisalTally(cycle_id=c, status=s, ready=r, n=n)
                for (c, s, r), n in counted.appraisals.items()
            ],
        ),
        (
            ApprovalFallback,
            [
                ApprovalFallback(evaluation_id=e.pk, submitted_at=e.submitted_at)
                for e in fallback_reviews()
            ],
        ),
    ]
    for model, rows in tallies:
        model.objects.all().delete()
        for row in rows:
            row.organization_id = organization_id
        model.objects.bulk_create(rows)
    refresh_plan_tally_without_triggers()
