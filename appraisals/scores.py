"""Computing scores from the database and storing them: what the rest of the project
calls. ``appraisals.scoring`` holds the rules as pure functions;
``appraisals.score_inputs`` loads their inputs; ``appraisals.score_store`` stores on
PostgreSQL.

Two ways through, with equal results (tests/appraisals/test_recompute_equality.py):

- the reference (``compute``, ``provisional_score``, ``figures_to_store`` and storing
  on other databases): every rating is loaded and every rule runs in Python;
- storing on PostgreSQL (``score_store``): the database adds up each evaluation's
  weighted sums and writes out the counted ratings' lists, the rules run in Python
  per appraisal, never per rating; three queries in all: the lock (which reads the
  cycles too), the inputs, one write of both tables; for a whole cycle, the lock
  then a read and a write per part (``score_store.PARTS``), run by a thread of their
  own while Python computes. Only rows whose figures changed are written, so an
  appraisal's ``computed_at`` is when its figures last changed.

Either way a recompute takes a fixed number of queries whatever the number of
employees, plans or ratings. Writes lock the open appraisals' rows first (``SELECT
... FOR UPDATE OF``, ordered by id), so two recomputations of the same appraisal run
one after the other: the later one waits, then reads the ratings committed
meanwhile. Finalised and acknowledged appraisals are frozen: never recomputed; their
explanation comes from their snapshot (``appraisals.explanation``). Starting
recomputations in Celery is ``appraisals.services.recompute``'s job; nothing here
queues or translates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from appraisals import calibration, score_store, scoring
from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal, Evaluation, RecomputeRun
from appraisals.score_inputs import (
    CYCLE_COLUMNS,
    AppraisalKey,
    Computed,
    Loaded,
    LockedAppraisal,
    load_rated,
)
from appraisals.scoring import AppraisalScore, PlanScore
from engagements.models import ReviewCycle

# --- Computing ------------------------------------------------------------------------


def compute(
    appraisals: Sequence[AppraisalKey], *, provisional: bool = False
) -> dict[int, Computed]:
    """Per appraisal id: its cycle parameters, plan inputs and score (unrounded).

    Counts approved evaluations only, or with ``provisional`` submitted ones too.
    Writes nothing. Queries: 5 to 7, whatever the number of appraisals.
    """
    return load_rated(appraisals, provisional=provisional).results


def provisional_score(appraisal: Appraisal) -> AppraisalScore:
    """The live figure of one appraisal counting submitted evaluations as well as
    approved ones (label it provisional). Writes nothing; 5 to 7 queries."""
    return compute([appraisal], provisional=True)[appraisal.pk][2]


@dataclass(frozen=True)
class AppraisalFigures:
    """What storing writes on one appraisal: its four rounded figures and snapshot."""

    general_score: Decimal | None
    engagement_score: Decimal | None
    final_score: Decimal | None
    percent: Decimal | None
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class EvaluationFigures:
    """What storing writes on one evaluation (review or self): its three figures."""

    goal_score: Decimal | None
    competency_score: Decimal | None
    score: Decimal | None


# The stored fields, in the order of the dataclasses above.
APPRAISAL_FIELDS = [f.name for f in fields(AppraisalFigures)]
EVALUATION_FIELDS = [f.name for f in fields(EvaluationFigures)]


@dataclass(frozen=True)
class Figures:
    """Per appraisal id and per evaluation id, the figures storing would write."""

    appraisals: dict[int, AppraisalFigures]
    evaluations: dict[int, EvaluationFigures]


def figures_to_store(appraisals: Sequence[AppraisalKey]) -> Figures:
    """The figures storing the scores of ``appraisals`` (and of their evaluations)
    would write now, counting approved evaluations only, by the reference
    computation. Writes nothing, locks nothing: the consistency check
    (``appraisals.consistency``) compares them with what is stored.

    Queries: 5 to 7, whatever the number of appraisals (the load).
    """
    return _figures(load_rated(appraisals, provisional=False))


def _figures(loaded: Loaded) -> Figures:
    return Figures(
        appraisals={
            pk: _appraisal_figures(*computed) for pk, computed in loaded.results.items()
        },
        evaluations={
            pk: _evaluation_figures(score) for pk, score in loaded.evaluations.items()
        },
    )


def _appraisal_figures(
    params: scoring.CycleInput, inputs: list[scoring.PlanInput], result: AppraisalScore
) -> AppraisalFigures:
    rounded = result.rounded()
    return AppraisalFigures(
        general_score=rounded["general_score"],
        engagement_score=rounded["engagement_score"],
        final_score=rounded["final_score"],
        percent=rounded["percent"],
        snapshot=scoring.snapshot(params, inputs, result),
    )


def _evaluation_figures(score: PlanScore) -> EvaluationFigures:
    return EvaluationFigures(
        goal_score=scoring.round2(score.goal),
        competency_score=scoring.round2(score.competency),
        score=scoring.round2(score.score),
    )


# --- Storing --------------------------------------------------------------------------


_Row = TypeVar("_Row", Appraisal, Evaluation)


def _lock_open(limit: int | None = None, **filters: Any) -> list[LockedAppraisal]:
    """The first ``limit`` (default all) open appraisals matching ``filters``, rows
    locked in id order (a fixed order, so two recomputations cannot deadlock), with
    their cycles' columns. One query; on PostgreSQL the same query also turns
    just-in-time compilation off for the rest of the transaction (why:
    ``score_store.JIT_OFF``)."""
    query = (
        Appraisal.objects.select_for_update(of=("self",))
        .filter(status=AppraisalStatus.OPEN, **filters)
        .order_by("pk")
    )
    columns = ["pk", "cycle_id", "employee_id", "calibration_delta"]
    columns += [f"cycle__{name}" for name in CYCLE_COLUMNS]
    if connection.vendor == "postgresql":
        query = query.annotate(jit_off=score_store.JIT_OFF)
        columns.append("jit_off")
    return [
        LockedAppraisal(
            pk, cycle_id, employee_id, tuple(rest[: len(CYCLE_COLUMNS)]), delta
        )
        for pk, cycle_id, employee_id, delta, *rest in query.values_list(*columns)[
            :limit
        ]
    ]


def _store(appraisals: list[LockedAppraisal]) -> int:
    """Compute and save the scores of ``appraisals`` (locked by the caller) and of
    their evaluations, writing only the rows whose figures changed, then the
    calibrated figures of those with a calibration adjustment (``sync_calibrated``:
    the adjustment δ stays, the calibrated final follows the new final); returns how
    many appraisals were recomputed. Queries: those of ``score_store.store`` on
    PostgreSQL (2 to 4), elsewhere those of ``store_rated``; plus, only when one of
    them has an adjustment, ``sync_calibrated``'s 1 or 2."""
    if not appraisals:
        return 0
    if connection.vendor == "postgresql":
        score_store.store(appraisals, timezone.now())
    else:
        store_rated(appraisals)
    adjusted = [a.pk for a in appraisals if a.delta is not None]
    if adjusted:
        sync_calibrated(adjusted)
    return len(appraisals)


def calibrated_figures(
    snapshot: dict[str, Any], delta: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """The calibrated final score and percent (rounded for storing) of an appraisal
    with ``snapshot`` and adjustment ``delta`` (docs/scoring.md, Calibration, rule
    4): clamp(unrounded final + δ) on the scale and its percent; (None, None)
    without an adjustment or a final score. No query."""
    if delta is None:
        return None, None
    found = calibration.final_of(snapshot)
    if found is None:
        return None, None
    final, smin, smax = found
    result = calibration.calibrated(final, delta, smin, smax)
    return scoring.round2(result.score), scoring.round2(result.percent)


def sync_calibrated(appraisal_ids: Iterable[int]) -> int:
    """Recompute the calibrated figures of those of ``appraisal_ids`` that have a
    calibration adjustment from their current snapshot, keeping δ; returns how many
    rows changed. Callers hold the rows' locks (a recompute, an adjustment).
    Queries: 1 to read, then 1 per 500 changed rows (none when nothing changed)."""
    rows = Appraisal.objects.filter(
        pk__in=list(appraisal_ids), calibration_delta__isnull=False
    ).values_list(
        "pk", "snapshot", "calibration_delta", "calibrated_score", "calibrated_percent"
    )
    changed = []
    for pk, snapshot, delta, score, percent in rows:
        wanted = calibrated_figures(snapshot or {}, delta)
        if wanted != (score, percent):
            changed.append(
                Appraisal(
                    pk=pk, calibrated_score=wanted[0], calibrated_percent=wanted[1]
                )
            )
    if changed:
        Appraisal.objects.bulk_update(
            changed, ["calibrated_score", "calibrated_percent"], batch_size=500
        )
    return len(changed)


def store_rated(appraisals: Sequence[AppraisalKey]) -> None:
    """Store what ``figures_to_store`` gives (the reference computation) on the rows
    where a figure changed, ``computed_at`` on the changed appraisals: how the
    embedded SQLite demo stores. Callers hold the row locks. Queries: the load, 2 to
    read the stored figures, 1 per 500 changed rows.
    """
    figures = figures_to_store(appraisals)
    _save_changed(
        Evaluation,
        {pk: vars(f) for pk, f in figures.evaluations.items()},
    )
    _save_changed(
        Appraisal,
        {pk: vars(f) for pk, f in figures.appraisals.items()},
        computed_at=timezone.now(),
    )


def _save_changed(
    model: type[_Row],
    values: dict[int, dict[str, Any]],
    **also: Any,
) -> None:
    """Write ``values`` (per row id, field → value) on the rows where one differs
    from what is stored, with the ``also`` fields on those rows. The path for
    databases without ``score_store`` (the SQLite demo). Queries: 1 to read, 1 per
    500 changed rows."""
    if not values:
        return
    names: list[str] = list(next(iter(values.values())))
    stored = model._default_manager.filter(pk__in=list(values)).values_list(
        "pk", *names
    )
    changed: list[_Row] = []
    for pk, *current in stored:
        wanted = values[pk]
        if current != [wanted[name] for name in names]:
            changed.append(model(pk=pk, **wanted, **also))
    if changed:
        model._default_manager.bulk_update(changed, [*names, *also], batch_size=500)


def recompute_appraisals(ids: Iterable[int]) -> int:
    """Recompute and store the open appraisals among ``ids``; returns how many.

    Finalised and acknowledged ones are skipped (frozen). Queries: a fixed number (3
    on PostgreSQL below ``score_store.PARTS_FROM`` appraisals, from there 1 + 2 ×
    ``score_store.PARTS``; one more for a default scale or client ratings when
    needed).
    Inside a transaction it runs in that transaction, without a savepoint: an error
    rolls the caller back too.
    """
    with transaction.atomic(savepoint=False):
        return _store(_lock_open(pk__in=list(ids)))


def recompute_cycle_chunk(cycle_id: int, *, after: int, size: int) -> list[int]:
    """Recompute and store the next ``size`` open appraisals of the cycle with an id
    above ``after``, in one transaction; returns their ids in order (fewer than
    ``size`` when the cycle has no more). Queries: a fixed number.
    """
    with transaction.atomic():
        chunk = _lock_open(size, cycle_id=cycle_id, pk__gt=after)
        _store(chunk)
    return [appraisal.pk for appraisal in chunk]


def recompute_cycle(cycle: ReviewCycle, run: RecomputeRun | None = None) -> int:
    """Recompute and store every open appraisal of ``cycle`` in one transaction;
    returns how many. With ``run``, records it as done with that total.

    Queries: a fixed number whatever the size of the cycle.
    """
    with transaction.atomic():
        count = _store(_lock_open(cycle_id=cycle.pk))
        if run is not None:
            run.status = RecomputeRun.Status.DONE
            run.total = run.done = count
            run.error = ""
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "total", "done", "error", "finished_at"])
    return count
