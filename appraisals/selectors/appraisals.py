"""Read queries of appraisals: the member's list, the appraisal page (its score
explained, evaluations and history) and readiness to finalise (HR's cycle progress
page is ``selectors.progress``'s).

Who may see an appraisal at all is ``selectors.access``'s business.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from appraisals.enums import (
    FINAL_STATUSES,
    AppraisalStatus,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.explanation import Explanation, explain
from appraisals.models import Appraisal, Evaluation
from appraisals.selectors.access import (
    AppraisalAccess,
    access_to,
    appraisals_visible_to,
    sees_scores,
)
from competencies.models import RatingLevel
from engagements.models import ReviewCycle
from organizations.history import timeline
from organizations.models import Employee, Membership

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


# --- The band of a final score ------------------------------------------------------


def band_label(score: Decimal | None, levels: Sequence[tuple[Decimal, str]]) -> str:
    """The name of the band a score falls in, from its rating scale's labelled points
    ``levels`` ((point, label) pairs): the labelled point nearest the score, halfway
    rounding up (3.5 on a 1–5 scale is named by the 4), as "4 · Exceeds". Attainment
    bands name no band (they suggest goal ratings), so the scale's labels do. Empty
    for no score or a scale without labelled points. No query."""
    if score is None or not levels:
        return ""
    point, label = min(levels, key=lambda level: (abs(level[0] - score), -level[0]))
    return f"{format(point.normalize(), 'f')} · {label}"


@dataclass(frozen=True)
class ScoreBands:
    """The labelled points of the rating scale of each cycle (by id), to name the
    band of a score of that cycle (``band_label``)."""

    levels: dict[int, tuple[tuple[Decimal, str], ...]]

    def label(self, cycle_id: int, score: Decimal | None) -> str:
        """The band of ``score`` in cycle ``cycle_id``; empty when it has none."""
        return band_label(score, self.levels.get(cycle_id, ()))


def score_bands(cycles: Iterable[ReviewCycle]) -> ScoreBands:
    """The bands of the scales of ``cycles`` (a cycle's own scale, else the
    organisation's default, as ``scale_for_cycle``). One query; none without
    cycles."""
    cycles = list(cycles)
    if not cycles:
        return ScoreBands({})
    wanted = Q(scale_id__in={c.rating_scale_id for c in cycles if c.rating_scale_id})
    if any(c.rating_scale_id is None for c in cycles):
        wanted |= Q(scale__is_default=True)
    by_scale: dict[int, list[tuple[Decimal, str]]] = {}
    default_id = None
    for scale_id, value, label, is_default in (
        RatingLevel.objects.filter(wanted)
        .order_by("value")
        .values_list("scale_id", "value", "label", "scale__is_default")
    ):
        by_scale.setdefault(scale_id, []).append((value, label))
        if is_default:
            default_id = scale_id
    return ScoreBands(
        {
            c.pk: tuple(by_scale.get(c.rating_scale_id or default_id or 0, ()))
            for c in cycles
        }
    )


# --- A person's appraisals across cycles --------------------------------------------


@dataclass(frozen=True)
class PersonAppraisal:
    """One row of a person's appraisals: the score only where the viewer may see it
    (``sees_scores``), and its change from the previous row with a shown score."""

    appraisal: Appraisal
    score: Decimal | None
    percent: Decimal | None
    is_provisional: bool
    change: Decimal | None
    hidden: bool  # the viewer may not see this appraisal's scores yet


def person_appraisals(
    membership: Membership, employee: Employee
) -> list[PersonAppraisal]:
    """The appraisals of ``employee`` the member may see (``appraisals_visible_to``),
    newest cycle first, with the trend of the final score from cycle to cycle. A
    score the member may not see yet (the employee's own before finalisation) is
    left out, of the row and of the trend. One query."""
    appraisals = (
        appraisals_visible_to(membership)
        .filter(employee=employee)
        .select_related("cycle", "employee__line_manager")
        .order_by("cycle__start_date", "cycle_id")
    )
    rows: list[PersonAppraisal] = []
    previous: Decimal | None = None
    for appraisal in appraisals:
        shown = sees_scores(access_to(membership, appraisal), appraisal)
        score = appraisal.final_score if shown else None
        rows.append(
            PersonAppraisal(
                appraisal=appraisal,
                score=score,
                percent=appraisal.percent if shown else None,
                is_provisional=appraisal.status not in FINAL_STATUSES,
                change=score - previous
                if score is not None and previous is not None
                else None,
                hidden=not shown,
            )
        )
        if score is not None:
            previous = score
    rows.reverse()
    return rows


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
    appraisal: Appraisal, *, show_scores: bool, is_subject: bool = False
) -> list[dict[str, object]]:
    """The appraisal's change timeline, newest first; score changes are left out for
    viewers who may not see scores yet. The employee's acknowledgement comment is
    "your comment" to the employee (``is_subject``) and "<name>'s comment" to anyone
    else. Two queries (the records, the names of the users who finalised)."""
    entries = timeline(appraisal.history.select_related("history_user"))
    comment_field = str(Appraisal._meta.get_field("acknowledgement").verbose_name)
    comment_label = (
        _("your comment")
        if is_subject
        else _("%(name)s's comment") % {"name": appraisal.employee.full_name}
    )
    hidden = (
        set()
        if show_scores
        else {
            str(f.verbose_name)
            for f in Appraisal._meta.concrete_fields
            if f.name in SCORE_FIELDS
        }
    )
    for entry in entries:
        changes = cast("list[dict[str, Any]]", entry["changes"])  # timeline's rows
        entry["changes"] = [
            {**c, "field": comment_label} if c["field"] == comment_field else c
            for c in changes
            if c["field"] not in hidden
        ]
    return entries


# --- Readiness -------------------------------------------------------------------------


def review_counts(appraisal: Appraisal) -> tuple[int, int]:
    """The appraisal's review evaluations and approved ones, as
    ``with_evaluation_counts`` (or another queryset of this module) annotated them
    on the row: ``n_reviews`` and ``n_approved``. KeyError when it was not."""
    annotated = vars(appraisal)
    return int(annotated["n_reviews"]), int(annotated["n_approved"])


def is_ready(appraisal: Appraisal) -> bool:
    """Open, with review evaluations, all approved (needs ``with_evaluation_counts``)."""
    n_reviews, n_approved = review_counts(appraisal)
    return (
        appraisal.status == AppraisalStatus.OPEN
        and n_reviews > 0
        and n_reviews == n_approved
    )
