"""Loading score inputs from the database and storing the scores they give.

``appraisals.scoring`` holds the rules as pure functions; this module feeds them and
writes their results. The inputs of any set of appraisals (one, or a whole cycle) are
loaded set-based, in a fixed number of queries whatever the number of employees, plans
or goals:

1. the cycles with their rating scale (plus one query for the organisation's default
   scale when a cycle has none of its own);
2. the plans of those employees in those cycles (with the engagement's name);
3. the evaluations of those appraisals (review and self) with their status;
4. goal ratings joined with the goal's weight; 5. competency ratings joined with the
   plan competency's weight (a rating of an item that is not on the evaluation's plan
   is ignored; unrated and N/A items are left out by the rules);
6. only when a cycle's client-satisfaction weight γ is above 0: the clients' ratings of
   those employees in answered surveys of their engagements.

Client-satisfaction window: a survey counts for a cycle when it was answered on or
after the cycle's first day (in the organisation's time zone). There is no upper
bound, so surveys answered during the review period, after the cycle's last day,
still count; once an appraisal is finalised its score is frozen. CSAT of an engagement
plan = the mean of the employee's ratings in those surveys of that engagement.

Writes lock the open appraisals' rows first (``SELECT ... FOR UPDATE OF``, ordered by
id), so two recomputations of the same appraisal run one after the other: the later
one waits, then reads the ratings committed meanwhile. Finalised and acknowledged
appraisals are frozen: never recomputed; their explanation comes from their snapshot
(``appraisals.explanation``). Starting recomputations in Celery is
``appraisals.services.recompute``'s job; nothing here queues or translates.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_scopes import get_scope

from appraisals import scoring
from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import (
    Appraisal,
    CompetencyRating,
    Evaluation,
    GoalRating,
    RecomputeRun,
)
from appraisals.scoring import AppraisalScore, CycleInput, PlanInput, PlanScore, Rated
from competencies.models import RatingScale
from engagements.enums import PlanKind
from engagements.models import Plan, ReviewCycle
from feedback.models import ClientSurveyRating
from organizations.tenancy import current_organization_id

# Without any rating scale in the organisation (nothing can be rated then), scores
# still need bounds for the percent: the product's standard 1–5 scale.
FALLBACK_SCALE = (Decimal(1), Decimal(5))
# The general plan's label in the inputs and the stored snapshot; readers see it in
# their own language (``appraisals.explanation.inputs_from_snapshot``).
GENERAL_PLAN_LABEL = "General plan"

APPROVED = (EvaluationStatus.APPROVED,)
SUBMITTED_OR_APPROVED = (EvaluationStatus.SUBMITTED, EvaluationStatus.APPROVED)

Computed = tuple[CycleInput, list[PlanInput], AppraisalScore]


# --- Loading ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    """What one load produced: per appraisal its inputs and score; per evaluation
    (review and self) its own goal/competency/evaluation score for display."""

    results: dict[int, Computed]
    evaluations: dict[int, PlanScore]


def _cycles(cycle_ids: set[int]) -> dict[int, tuple[ReviewCycle, CycleInput]]:
    """The cycles and their scoring parameters. One query, two when a cycle uses the
    organisation's default scale."""
    cycles = list(
        ReviewCycle.objects.filter(pk__in=cycle_ids).select_related("rating_scale")
    )
    default = FALLBACK_SCALE
    if any(c.rating_scale is None for c in cycles):
        scale = RatingScale.objects.filter(is_default=True).first()
        if scale is not None:
            default = (scale.min_value, scale.max_value)
    found = {}
    for cycle in cycles:
        if cycle.rating_scale is not None:
            smin, smax = cycle.rating_scale.min_value, cycle.rating_scale.max_value
        else:
            smin, smax = default
        found[cycle.pk] = (
            cycle,
            CycleInput(
                general_weight=cycle.general_weight,
                weighting=cycle.engagement_weighting,
                smin=smin,
                smax=smax,
                csat_weight=cycle.csat_weight,
            ),
        )
    return found


def _ratings(
    model: type[GoalRating] | type[CompetencyRating],
    appraisal_ids: list[int],
    weight: str,
    own_plan: Q,
) -> dict[int, list[Rated]]:
    """Ratings of the appraisals' evaluations with their item's weight, per
    evaluation id, in the items' order. One query."""
    rows = model.objects.filter(
        own_plan, evaluation__appraisal_id__in=appraisal_ids
    ).values_list("evaluation_id", weight, "value", "not_applicable")
    found: dict[int, list[Rated]] = defaultdict(list)
    for evaluation_id, item_weight, value, not_applicable in rows:
        found[evaluation_id].append(
            Rated(item_weight, None if not_applicable else value)
        )
    return found


def _csat_means(
    cycles: dict[int, tuple[ReviewCycle, CycleInput]],
    employee_ids: set[int],
    engagement_ids: set[int],
) -> dict[tuple[int, int, int], Decimal]:
    """Mean client rating per (cycle, engagement, employee) over surveys answered on
    or after the cycle's first day. No query unless some cycle has γ > 0; then one."""
    starts = {
        cycle_id: _start_of(cycle.start_date)
        for cycle_id, (cycle, params) in cycles.items()
        if params.csat_weight > 0
    }
    if not starts or not engagement_ids:
        return {}
    rows = ClientSurveyRating.objects.filter(
        survey__answered_at__isnull=False,
        survey__answered_at__gte=min(starts.values()),
        survey__engagement_id__in=engagement_ids,
        employee_id__in=employee_ids,
    ).values_list(
        "survey__engagement_id", "employee_id", "survey__answered_at", "rating"
    )
    totals: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for engagement_id, employee_id, answered_at, rating in rows:
        for cycle_id, start in starts.items():
            if answered_at is not None and answered_at >= start:
                total = totals[(cycle_id, engagement_id, employee_id)]
                total[0] += rating
                total[1] += 1
    return {key: Decimal(s) / Decimal(n) for key, (s, n) in totals.items()}


def _start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the active organisation's time zone."""
    organization = get_scope().get("organization")
    name = getattr(organization, "timezone", None) or "UTC"
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(name))


class _PlanRow(NamedTuple):
    id: int
    cycle_id: int
    employee_id: int
    kind: str
    engagement_id: int | None
    engagement_name: str | None
    start_date: date
    end_date: date
    allocation: Decimal | None
    goal_weight: Decimal
    custom_weight: Decimal | None


_PLAN_COLUMNS = tuple(
    "engagement__name" if name == "engagement_name" else name
    for name in _PlanRow._fields
)


def _plans(appraisals: Sequence[Appraisal]) -> dict[int, _PlanRow]:
    """The plans of the appraisals' employees in the appraisals' cycles. One query."""
    wanted = {(a.cycle_id, a.employee_id) for a in appraisals}
    rows = Plan.objects.filter(
        cycle_id__in={a.cycle_id for a in appraisals},
        employee_id__in={a.employee_id for a in appraisals},
    ).values_list(*_PLAN_COLUMNS)
    plans = (_PlanRow(*row) for row in rows)
    return {p.id: p for p in plans if (p.cycle_id, p.employee_id) in wanted}


def _plan_input(
    plan: _PlanRow,
    cycle: ReviewCycle,
    review: tuple[int, str] | None,
    counting: tuple[str, ...],
    ratings: tuple[dict[int, list[Rated]], dict[int, list[Rated]]],
    csat: Decimal | None,
) -> PlanInput:
    """One plan's scoring input; ``review`` is its review evaluation (id, status)."""
    counted = review is not None and review[1] in counting
    # Ratings of an evaluation that does not count stay out of the input (and so
    # out of the stored snapshot): a draft is nobody's business yet.
    evaluation_id = review[0] if review is not None and counted else 0
    general = plan.kind == PlanKind.GENERAL
    return PlanInput(
        plan_id=plan.id,
        label=GENERAL_PLAN_LABEL if general else (plan.engagement_name or ""),
        kind=plan.kind,
        goal_weight=plan.goal_weight,
        goals=tuple(ratings[0].get(evaluation_id, [])),
        competencies=tuple(ratings[1].get(evaluation_id, [])),
        counted=counted,
        allocation=plan.allocation,
        days=scoring.days_inside(
            plan.start_date, plan.end_date, cycle.start_date, cycle.end_date
        ),
        custom_weight=plan.custom_weight,
        csat=csat,
    )


def _load(appraisals: Sequence[Appraisal], *, provisional: bool) -> _Loaded:
    """Inputs and scores of ``appraisals`` (any cycles of the active organisation).

    Queries: 5 to 7, whatever the number of appraisals, plans, goals or ratings.
    """
    if not appraisals:
        return _Loaded({}, {})
    counting = SUBMITTED_OR_APPROVED if provisional else APPROVED
    appraisal_ids = [a.pk for a in appraisals]
    cycles = _cycles({a.cycle_id for a in appraisals})
    plans = _plans(appraisals)
    evaluations = Evaluation.objects.filter(appraisal_id__in=appraisal_ids).values_list(
        "id", "plan_id", "kind", "status"
    )
    ratings = (
        _ratings(
            GoalRating,
            appraisal_ids,
            "goal__weight",
            Q(evaluation__plan_id=F("goal__plan_id")),
        ),
        _ratings(
            CompetencyRating,
            appraisal_ids,
            "plan_competency__weight",
            Q(evaluation__plan_id=F("plan_competency__plan_id")),
        ),
    )
    csat = _csat_means(
        cycles,
        {a.employee_id for a in appraisals},
        {p.engagement_id for p in plans.values() if p.engagement_id is not None},
    )

    reviews: dict[int, tuple[int, str]] = {}
    scores: dict[int, PlanScore] = {}
    for evaluation_id, plan_id, kind, status in evaluations:
        plan = plans.get(plan_id)
        if plan is None:
            continue
        if kind == EvaluationKind.REVIEW:
            reviews[plan_id] = (evaluation_id, status)
        scores[evaluation_id] = scoring.score_plan(
            ratings[0].get(evaluation_id, []),
            ratings[1].get(evaluation_id, []),
            plan.goal_weight,
        )

    plans_of: dict[tuple[int, int], list[_PlanRow]] = defaultdict(list)
    for plan in sorted(
        plans.values(),
        key=lambda p: (p.kind != PlanKind.GENERAL, p.start_date, p.id),
    ):
        plans_of[(plan.cycle_id, plan.employee_id)].append(plan)
    results: dict[int, Computed] = {}
    for appraisal in appraisals:
        cycle, params = cycles[appraisal.cycle_id]
        inputs = [
            _plan_input(
                plan,
                cycle,
                reviews.get(plan.id),
                counting,
                ratings,
                csat.get((plan.cycle_id, plan.engagement_id or 0, plan.employee_id)),
            )
            for plan in plans_of[(appraisal.cycle_id, appraisal.employee_id)]
        ]
        results[appraisal.pk] = (
            params,
            inputs,
            scoring.score_appraisal(params, inputs),
        )
    return _Loaded(results, scores)


def compute(
    appraisals: Sequence[Appraisal], *, provisional: bool = False
) -> dict[int, Computed]:
    """Per appraisal id: its cycle parameters, plan inputs and score (unrounded).

    Counts approved evaluations only, or with ``provisional`` submitted ones too.
    Writes nothing. Queries: 5 to 7, whatever the number of appraisals.
    """
    return _load(appraisals, provisional=provisional).results


def provisional_score(appraisal: Appraisal) -> AppraisalScore:
    """The live figure of one appraisal counting submitted evaluations as well as
    approved ones (label it provisional). Writes nothing; 5 to 7 queries."""
    return compute([appraisal], provisional=True)[appraisal.pk][2]


# --- Storing ------------------------------------------------------------------------


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


def figures_to_store(appraisals: Sequence[Appraisal]) -> Figures:
    """The figures storing the scores of ``appraisals`` (and of their evaluations)
    would write now, counting approved evaluations only. Writes nothing, locks
    nothing: ``_store`` writes exactly these, and the consistency check
    (``appraisals.consistency``) compares them with what is stored.

    Queries: 5 to 7, whatever the number of appraisals (the load).
    """
    loaded = _load(appraisals, provisional=False)
    return Figures(
        appraisals={
            pk: _appraisal_figures(params, inputs, result)
            for pk, (params, inputs, result) in loaded.results.items()
        },
        evaluations={
            pk: _evaluation_figures(score) for pk, score in loaded.evaluations.items()
        },
    )


def _store(appraisals: list[Appraisal]) -> int:
    """Compute and save the scores of ``appraisals`` (already locked by the caller)
    and of their evaluations. Queries: the load plus two bulk updates."""
    if not appraisals:
        return 0
    computed = figures_to_store(appraisals)
    now = timezone.now()
    for appraisal in appraisals:
        figures = computed.appraisals[appraisal.pk]
        for name in APPRAISAL_FIELDS:
            setattr(appraisal, name, getattr(figures, name))
        appraisal.computed_at = now
    _bulk_set(Appraisal, appraisals, [*APPRAISAL_FIELDS, "computed_at"])
    _bulk_set(
        Evaluation,
        [
            Evaluation(
                pk=pk, **{name: getattr(figures, name) for name in EVALUATION_FIELDS}
            )
            for pk, figures in computed.evaluations.items()
        ],
        EVALUATION_FIELDS,
    )
    return len(appraisals)


def _bulk_set(
    model: type[models.Model], rows: Sequence[Any], fields: list[str]
) -> None:
    """Write ``fields`` of ``rows`` (same model, current organisation) in one query.

    On PostgreSQL: ``UPDATE ... FROM unnest(<one array per column>)``, one parameter
    per column whatever the number of rows, linear in the rows. Django's
    ``bulk_update`` builds a ``CASE WHEN id = ...`` per field and row, which is
    quadratic (25× the time for 10× the rows measured at 1,000 employees). Elsewhere
    (the embedded SQLite demo) it falls back to ``bulk_update``.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, fields, batch_size=500)
        return
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    arrays: list[list[Any]] = [[row.pk for row in rows]]
    types = [f"{meta.pk.db_type(connection)}[]"]
    for field in columns:
        values = [getattr(row, field.attname) for row in rows]
        if isinstance(field, models.JSONField):
            values = [json.dumps(v, cls=field.encoder) for v in values]
        arrays.append(values)
        types.append(f"{field.db_type(connection)}[]")
    names = ["id"] + [quote(f.column) for f in columns]
    # Identifiers come from the model's metadata (quoted); values are parameters.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET "  # noqa: S608
        + ", ".join(f"{name} = v.{name}" for name in names[1:])
        + " FROM unnest("
        + ", ".join(f"%s::{kind}" for kind in types)
        + f") AS v({', '.join(names)}) "
        "WHERE t.id = v.id AND t.organization_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*arrays, current_organization_id()])


def _appraisal_figures(
    params: CycleInput, inputs: list[PlanInput], result: AppraisalScore
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


def _open_locked(**filters: Any) -> QuerySet[Appraisal]:
    """Open appraisals matching ``filters``, rows locked in id order (a fixed order,
    so two recomputations cannot deadlock)."""
    return (
        Appraisal.objects.select_for_update(of=("self",))
        .filter(status=AppraisalStatus.OPEN, **filters)
        .order_by("pk")
    )


def recompute_appraisals(ids: Iterable[int]) -> int:
    """Recompute and store the open appraisals among ``ids``; returns how many.

    Finalised and acknowledged ones are skipped (frozen). Queries: a fixed number.
    """
    with transaction.atomic():
        return _store(list(_open_locked(pk__in=list(ids))))


def recompute_cycle_chunk(cycle_id: int, *, after: int, size: int) -> list[int]:
    """Recompute and store the next ``size`` open appraisals of the cycle with an id
    above ``after``, in one transaction; returns their ids in order (fewer than
    ``size`` when the cycle has no more). Queries: a fixed number.
    """
    with transaction.atomic():
        chunk = list(_open_locked(cycle_id=cycle_id, pk__gt=after)[:size])
        _store(chunk)
    return [appraisal.pk for appraisal in chunk]


def recompute_cycle(cycle: ReviewCycle, run: RecomputeRun | None = None) -> int:
    """Recompute and store every open appraisal of ``cycle`` in one transaction;
    returns how many. With ``run``, records it as done with that total.

    Queries: a fixed number whatever the size of the cycle.
    """
    with transaction.atomic():
        count = _store(list(_open_locked(cycle_id=cycle.pk)))
        if run is not None:
            run.status = RecomputeRun.Status.DONE
            run.total = run.done = count
            run.error = ""
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "total", "done", "error", "finished_at"])
    return count
