"""Read queries of appraisals: the member's list, the appraisal page (its score
explained, evaluations and history) and HR's cycle progress with recomputations.

Who may see an appraisal at all is ``selectors.access``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.explanation import Explanation, explain
from appraisals.models import Appraisal, Evaluation, RecomputeRun
from appraisals.selectors.access import AppraisalAccess, sees_scores
from engagements.models import ReviewCycle
from organizations.history import timeline
from organizations.models import Membership

# Fields whose values would reveal scores in the history timeline.
SCORE_FIELDS = ("general_score", "engagement_score", "final_score", "percent")


def with_evaluation_counts(qs: QuerySet[Appraisal]) -> QuerySet[Appraisal]:
    """Annotate ``n_reviews`` (review evaluations) and ``n_approved`` (approved ones);
    an appraisal is ready to finalise when both are equal and not zero."""
    review = Q(evaluations__kind=EvaluationKind.REVIEW)
    return qs.annotate(
        n_reviews=Count("evaluations", filter=review, distinct=True),
        n_approved=Count(
            "evaluations",
            filter=review & Q(evaluations__status=EvaluationStatus.APPROVED),
            distinct=True,
        ),
    )


# --- The member's appraisals -------------------------------------------------------


@dataclass(frozen=True)
class MyAppraisals:
    own: list[Appraisal]
    reports: list[Appraisal]


def my_appraisals(membership: Membership) -> MyAppraisals:
    """The member's own appraisals and their direct reports', newest cycle first,
    with evaluation counts. Two queries whatever the number of rows."""
    uid = membership.user_id
    base = with_evaluation_counts(
        Appraisal.objects.select_related("cycle", "employee__job_title")
    ).order_by("-cycle__start_date", "employee__full_name", "pk")
    return MyAppraisals(
        own=list(base.filter(employee__user_id=uid)),
        reports=list(base.filter(employee__line_manager__user_id=uid)),
    )


def appraisals_to_acknowledge(membership: Membership) -> list[Appraisal]:
    """The member's finalised appraisals still waiting for their acknowledgement.
    One query."""
    return list(
        Appraisal.objects.filter(
            employee__user_id=membership.user_id, status=AppraisalStatus.FINALIZED
        )
        .select_related("cycle")
        .order_by("-finalized_at", "pk")
    )


# --- The appraisal page ---------------------------------------------------------------


def appraisal_evaluations(appraisal: Appraisal) -> list[Evaluation]:
    """The appraisal's evaluations (reviews first, then self-assessments) with plan,
    engagement and reviewer. One query."""
    return list(
        Evaluation.objects.filter(appraisal=appraisal)
        .select_related("plan__engagement__client", "reviewer")
        .order_by("kind", "plan__kind", "plan__start_date", "pk")
    )


@dataclass(frozen=True)
class ScoreView:
    """The explanations the appraisal page shows: the stored (approved-only) score,
    and for HR and the line manager a provisional one when evaluations are waiting
    for approval. Either may be None (not shown)."""

    stored: Explanation | None
    provisional: Explanation | None


def score_view(
    appraisal: Appraisal, access: AppraisalAccess, evaluations: list[Evaluation]
) -> ScoreView:
    """What the caller sees of the score (``sees_scores``), explained.

    Cost: 5 to 7 queries for one live explanation, none for a snapshot. When a
    provisional explanation is computed live, the approved-only one is explained from
    the snapshot the last recomputation stored (what the stored figures are), so the
    page never computes twice.
    """
    if not sees_scores(access, appraisal):
        return ScoreView(None, None)
    waiting = any(
        e.kind == EvaluationKind.REVIEW and e.status == EvaluationStatus.SUBMITTED
        for e in evaluations
    )
    if appraisal.status != AppraisalStatus.OPEN or not waiting:
        return ScoreView(explain(appraisal), None)
    provisional = explain(appraisal, provisional=True)
    if not appraisal.snapshot:
        return ScoreView(None, provisional)
    return ScoreView(explain(appraisal, stored=True), provisional)


def appraisal_history(
    appraisal: Appraisal, *, show_scores: bool
) -> list[dict[str, object]]:
    """The appraisal's change timeline, newest first; score changes are left out for
    viewers who may not see scores yet. Two queries (the records, the names of the
    users who finalised)."""
    entries = timeline(appraisal.history.select_related("history_user"))
    if show_scores:
        return entries
    hidden = {
        str(f.verbose_name)
        for f in Appraisal._meta.concrete_fields
        if f.name in SCORE_FIELDS
    }
    for entry in entries:
        changes = cast("list[dict[str, Any]]", entry["changes"])  # timeline's rows
        entry["changes"] = [c for c in changes if c["field"] not in hidden]
    return entries


# --- Cycle progress (HR) ----------------------------------------------------------------


@dataclass
class EngagementProgress:
    """Review evaluations of one engagement (or of the general plans) in a cycle."""

    engagement_id: int | None
    name: str
    total: int = 0
    approved: int = 0
    overdue: int = 0


@dataclass
class CycleProgress:
    appraisals: list[Appraisal]
    appraisals_by_status: list[tuple[str, int]]
    evaluations_by_status: list[tuple[str, int]]
    evaluations_total: int
    overdue: int
    by_engagement: list[EngagementProgress]
    open_evaluations: list[Evaluation]
    ready_ids: set[int] = field(default_factory=set)


def cycle_progress(cycle: ReviewCycle, today: date | None = None) -> CycleProgress:
    """Appraisals by status, review evaluations by status, overdue ones (due before
    today and not approved), progress per engagement, every appraisal with its
    readiness and every review evaluation not yet approved. Three queries whatever
    the size of the cycle."""
    today = today or timezone.localdate()
    appraisals = list(
        with_evaluation_counts(
            Appraisal.objects.filter(cycle=cycle).select_related(
                "employee__line_manager", "employee__user"
            )
        ).order_by("employee__full_name", "pk")
    )
    appraisal_counts = {status.value: 0 for status in AppraisalStatus}
    for appraisal in appraisals:
        appraisal_counts[appraisal.status] += 1
    rows = (
        Evaluation.objects.filter(appraisal__cycle=cycle, kind=EvaluationKind.REVIEW)
        .values("plan__engagement_id", "plan__engagement__name", "status")
        .annotate(
            n=Count("pk"),
            late=Count(
                "pk",
                filter=Q(due_date__lt=today) & ~Q(status=EvaluationStatus.APPROVED),
            ),
        )
        .order_by()
    )
    status_counts = {status.value: 0 for status in EvaluationStatus}
    engagements: dict[int | None, EngagementProgress] = {}
    for row in rows:
        status_counts[row["status"]] += row["n"]
        key = row["plan__engagement_id"]
        progress = engagements.setdefault(
            key,
            EngagementProgress(
                engagement_id=key,
                name=row["plan__engagement__name"] or _("General plans"),
            ),
        )
        progress.total += row["n"]
        progress.overdue += row["late"]
        if row["status"] == EvaluationStatus.APPROVED:
            progress.approved += row["n"]
    open_evaluations = list(
        Evaluation.objects.filter(appraisal__cycle=cycle, kind=EvaluationKind.REVIEW)
        .exclude(status=EvaluationStatus.APPROVED)
        .select_related("employee", "reviewer", "plan__engagement")
        .order_by("due_date", "employee__full_name", "pk")
    )
    return CycleProgress(
        appraisals=appraisals,
        appraisals_by_status=_labelled(AppraisalStatus, appraisal_counts),
        evaluations_by_status=_labelled(EvaluationStatus, status_counts),
        evaluations_total=sum(status_counts.values()),
        overdue=sum(p.overdue for p in engagements.values()),
        by_engagement=sorted(
            engagements.values(),
            key=lambda p: (p.engagement_id is not None, p.name),
        ),
        open_evaluations=open_evaluations,
        ready_ids={a.pk for a in appraisals if is_ready(a)},
    )


def is_ready(appraisal: Appraisal) -> bool:
    """Open, with review evaluations, all approved (needs ``with_evaluation_counts``)."""
    n_reviews: int = appraisal.n_reviews  # type: ignore[attr-defined]  # annotated by with_evaluation_counts
    n_approved: int = appraisal.n_approved  # type: ignore[attr-defined]  # annotated by with_evaluation_counts
    return (
        appraisal.status == AppraisalStatus.OPEN
        and n_reviews > 0
        and n_reviews == n_approved
    )


def _labelled(choices: Any, counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(str(status.label), counts[status.value]) for status in choices]


def latest_recompute(cycle: ReviewCycle) -> RecomputeRun | None:
    """The cycle's most recent score recomputation, if any. One query."""
    return RecomputeRun.objects.filter(cycle=cycle).first()
