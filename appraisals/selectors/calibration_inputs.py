"""The inputs of the calibration rules (``appraisals.calibration``), loaded set-based:
a cycle's leniency tallies in one query whatever its size, and the suggestion inputs
of any number of appraisals in one more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    F,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Concat

from appraisals import calibration
from appraisals.calibration import ItemTally, Leniency, Suggestion
from appraisals.enums import EvaluationKind, EvaluationStatus
from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    CompetencyRating,
    Evaluation,
    GoalRating,
)
from appraisals.scoring import inputs_from_snapshot

_COUNTED = {
    "evaluation__kind": EvaluationKind.REVIEW,
    "evaluation__status": EvaluationStatus.APPROVED,
    "evaluation__reviewer__isnull": False,
    "value__isnull": False,
    "not_applicable": False,
}
_SQUARES: DecimalField[Decimal, Decimal] = DecimalField(max_digits=12, decimal_places=2)


def _tallied(
    ratings: QuerySet[Any], cycle_id: int, prefix: str, item: str
) -> QuerySet[Any]:
    return (
        ratings.filter(evaluation__appraisal__cycle_id=cycle_id, **_COUNTED)
        .annotate(item=Concat(Value(prefix), Cast(item, CharField())))
        .values("evaluation__reviewer_id", "item")
        .order_by()
        .annotate(
            count=Count("pk"),
            total=Sum("value"),
            squares=Sum(F("value") * F("value"), output_field=_SQUARES),
        )
        .values_list("evaluation__reviewer_id", "item", "count", "total", "squares")
    )


def leniency_tallies(cycle_id: int) -> list[ItemTally]:
    """Per reviewer and item, the count, sum and sum of squares of the approved
    review ratings of the cycle (rule 1's items: competencies of the library, and
    goal attainment bands by the rating they suggested; N/A and goals without a
    band left out). One query (a UNION of two GROUP BYs), whatever the cycle's size.
    """
    competencies = _tallied(
        CompetencyRating.objects.all(),
        cycle_id,
        "c:",
        "plan_competency__competency_id",
    )
    goals = _tallied(
        GoalRating.objects.filter(suggested__isnull=False), cycle_id, "g:", "suggested"
    )
    return [
        ItemTally(reviewer, item, count, Decimal(total), Decimal(squares))
        for reviewer, item, count, total, squares in competencies.union(goals, all=True)
    ]


def shrinkage_constant() -> int:
    """The organisation's k (its appraisal settings; the default without them).
    One query."""
    k = AppraisalSettings.objects.values_list(
        "calibration_shrinkage", flat=True
    ).first()
    return calibration.DEFAULT_SHRINKAGE if k is None else k


def cycle_leniency(cycle_id: int, k: int | None = None) -> dict[int, Leniency]:
    """Every reviewer's leniency in the cycle (rules 1 and 2), by reviewer id. Two
    queries (one with ``k`` given)."""
    if k is None:
        k = shrinkage_constant()
    return calibration.leniency(leniency_tallies(cycle_id), k)


@dataclass(frozen=True)
class SuggestionInputs:
    """What a suggestion needs of one appraisal: its snapshot and the reviewer of
    each plan whose review is approved."""

    appraisal_id: int
    snapshot: Mapping[str, Any]
    reviewers: Mapping[int, int | None]


def suggestion_inputs(
    appraisal_ids: Sequence[int],
    snapshots: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[int, SuggestionInputs]:
    """The suggestion inputs of ``appraisal_ids``, by appraisal id. Two queries,
    whatever their number; one when the caller has their ``snapshots`` loaded
    already (appraisal id → snapshot)."""
    if not appraisal_ids:
        return {}
    if snapshots is None:
        snapshots = dict(
            Appraisal.objects.filter(pk__in=appraisal_ids).values_list("pk", "snapshot")
        )
    else:
        snapshots = {pk: snapshots[pk] for pk in appraisal_ids}
    reviewers: dict[int, dict[int, int | None]] = {pk: {} for pk in snapshots}
    approved = Evaluation.objects.filter(
        appraisal_id__in=list(snapshots),
        kind=EvaluationKind.REVIEW,
        status=EvaluationStatus.APPROVED,
    ).values_list("appraisal_id", "plan_id", "reviewer_id")
    for appraisal_id, plan_id, reviewer_id in approved:
        reviewers[appraisal_id][plan_id] = reviewer_id
    return {
        pk: SuggestionInputs(pk, snapshot or {}, reviewers[pk])
        for pk, snapshot in snapshots.items()
    }


def suggestion_for(
    inputs: SuggestionInputs, shifts: Mapping[int, Decimal]
) -> Suggestion | None:
    """Rule 3 for one appraisal from its loaded inputs and every reviewer's ŝ; None
    without a score. No query."""
    if not inputs.snapshot:
        return None
    cycle, plans = inputs_from_snapshot(dict(inputs.snapshot))
    return calibration.suggest(cycle, plans, inputs.reviewers, shifts)


def shifts_of(leniencies: Iterable[Leniency]) -> dict[int, Decimal]:
    """Reviewer id → ŝ, for ``suggestion_for``."""
    return {item.reviewer_id: item.shrunk for item in leniencies}
