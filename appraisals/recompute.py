"""Loading score inputs from the database, storing scores, explaining them.

``appraisals.scoring`` holds the rules as pure functions; this module feeds them. The
inputs of any set of appraisals (one, or a whole cycle) are loaded set-based, in a
fixed number of queries whatever the number of employees, plans or goals:

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
appraisals are frozen: never recomputed; their explanation comes from their snapshot.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
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
from appraisals.scoring import inputs_from_snapshot as scoring_inputs_from_snapshot
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Membership
from organizations.tenancy import current_organization_id

logger = logging.getLogger(__name__)

# Without any rating scale in the organisation (nothing can be rated then), scores
# still need bounds for the percent: the product's standard 1–5 scale.
FALLBACK_SCALE = (Decimal(1), Decimal(5))
# A cycle run recomputes this many appraisals per task, so its progress is committed
# (and visible) as it goes and no transaction holds thousands of row locks for long.
RUN_CHUNK = 500
# A run queued or running for longer than this is taken as abandoned (a worker died)
# and no longer blocks starting a new one.
RUN_STALE_AFTER = timedelta(hours=1)

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


def _cycles(cycle_ids: set[int]) -> dict[int, tuple[Any, CycleInput]]:
    """The cycles and their scoring parameters. One query, two when a cycle uses the
    organisation's default scale."""
    from engagements.models import ReviewCycle

    cycles = list(
        ReviewCycle.objects.filter(pk__in=cycle_ids).select_related("rating_scale")
    )
    default = FALLBACK_SCALE
    if any(c.rating_scale is None for c in cycles):
        from competencies.models import RatingScale

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
    cycles: dict[int, tuple[Any, CycleInput]],
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
    from feedback.models import ClientSurveyRating

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
    from engagements.models import Plan

    wanted = {(a.cycle_id, a.employee_id) for a in appraisals}
    rows = Plan.objects.filter(
        cycle_id__in={a.cycle_id for a in appraisals},
        employee_id__in={a.employee_id for a in appraisals},
    ).values_list(*_PLAN_COLUMNS)
    plans = (_PlanRow(*row) for row in rows)
    return {p.id: p for p in plans if (p.cycle_id, p.employee_id) in wanted}


def _plan_input(
    plan: _PlanRow,
    cycle: Any,
    review: tuple[int, str] | None,
    counting: tuple[str, ...],
    ratings: tuple[dict[int, list[Rated]], dict[int, list[Rated]]],
    csat: Decimal | None,
) -> PlanInput:
    """One plan's scoring input; ``review`` is its review evaluation (id, status)."""
    from engagements.enums import PlanKind

    counted = review is not None and review[1] in counting
    # Ratings of an evaluation that does not count stay out of the input (and so
    # out of the stored snapshot): a draft is nobody's business yet.
    evaluation_id = review[0] if review is not None and counted else 0
    general = plan.kind == PlanKind.GENERAL
    return PlanInput(
        plan_id=plan.id,
        label=_("General plan") if general else (plan.engagement_name or ""),
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
    from engagements.enums import PlanKind

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


def _store(appraisals: list[Appraisal]) -> int:
    """Compute and save the scores of ``appraisals`` (already locked by the caller)
    and of their evaluations. Queries: the load plus two bulk updates."""
    if not appraisals:
        return 0
    loaded = _load(appraisals, provisional=False)
    now = timezone.now()
    for appraisal in appraisals:
        params, inputs, result = loaded.results[appraisal.pk]
        for name, value in result.rounded().items():
            setattr(appraisal, name, value)
        appraisal.snapshot = scoring.snapshot(params, inputs, result)
        appraisal.computed_at = now
    _bulk_set(
        Appraisal,
        appraisals,
        [
            "general_score",
            "engagement_score",
            "final_score",
            "percent",
            "snapshot",
            "computed_at",
        ],
    )
    _bulk_set(
        Evaluation,
        [
            Evaluation(pk=pk, **_evaluation_figures(score))
            for pk, score in loaded.evaluations.items()
        ],
        ["goal_score", "competency_score", "score"],
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
    types = [f"{meta.pk.db_type(connection)}[]"]  # type: ignore[union-attr]
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


def _evaluation_figures(score: PlanScore) -> dict[str, Decimal | None]:
    return {
        "goal_score": scoring.round2(score.goal),
        "competency_score": scoring.round2(score.competency),
        "score": scoring.round2(score.score),
    }


def _open_locked(**filters: Any) -> Any:
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


def recompute_cycle(cycle: Any, run: RecomputeRun | None = None) -> int:
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


# --- Queueing -----------------------------------------------------------------------


class _PendingRecomputes:
    """One on-commit callback per transaction collecting the appraisals to recompute,
    so several changes to one appraisal in a transaction start one task.

    It lives in Django's list of on-commit callbacks: a rollback drops it together
    with the transaction, so nothing stale survives into the next transaction.
    """

    def __init__(self) -> None:
        self.keys: set[tuple[int, int]] = set()

    def __call__(self) -> None:
        from appraisals.tasks import recompute_appraisal_task

        for organization_id, appraisal_id in sorted(self.keys):
            recompute_appraisal_task.delay(
                organization_id=organization_id, appraisal_id=appraisal_id
            )


def queue_recompute(appraisal: Appraisal) -> None:
    """Recompute ``appraisal`` in Celery after the current transaction commits.

    Calls for the same appraisal in one transaction start a single task; outside a
    transaction the task starts at once.
    """
    key = (appraisal.organization_id, appraisal.pk)
    if connection.in_atomic_block:
        for entry in connection.run_on_commit:
            callback = entry[1]
            if isinstance(callback, _PendingRecomputes):
                callback.keys.add(key)
                return
    pending = _PendingRecomputes()
    pending.keys.add(key)
    transaction.on_commit(pending)


def _queue_run(run: RecomputeRun, *, after: int = 0) -> None:
    from appraisals.tasks import recompute_cycle_task

    organization_id, run_id = run.organization_id, run.pk
    transaction.on_commit(
        lambda: recompute_cycle_task.delay(
            organization_id=organization_id, run_id=run_id, after=after
        )
    )


def start_cycle_recompute(*, actor: Membership, cycle: Any) -> RecomputeRun:
    """HR: recompute every open appraisal of ``cycle`` in Celery, with progress.

    Raises PermissionDenied for anyone but an HR admin, and DomainError while another
    recomputation of the cycle is queued or running (one left unfinished for over an
    hour is taken as abandoned, marked failed, and no longer blocks).
    """
    from engagements.models import ReviewCycle

    if actor.role != Role.HR_ADMIN:
        raise PermissionDenied(_("Only HR admins can recompute a cycle's scores."))
    with transaction.atomic():
        # Serialises two HR admins pressing the button at the same moment.
        ReviewCycle.objects.select_for_update().filter(pk=cycle.pk).first()
        active = list(
            RecomputeRun.objects.filter(
                cycle_id=cycle.pk,
                status__in=[RecomputeRun.Status.QUEUED, RecomputeRun.Status.RUNNING],
            )
        )
        stale_before = timezone.now() - RUN_STALE_AFTER
        for run in active:
            if run.created_at >= stale_before:
                raise DomainError(
                    _(
                        "Scores of this cycle are already being recomputed (started "
                        "%(time)s, %(progress)s %% done). Wait for it to finish; the "
                        "progress shows on this page."
                    )
                    % {
                        "time": timezone.localtime(run.created_at).strftime("%H:%M"),
                        "progress": run.progress,
                    }
                )
            _fail(run, _("Stopped without finishing; a new recomputation replaced it."))
        run = RecomputeRun.objects.create(
            organization=actor.organization, cycle_id=cycle.pk, requested_by=actor.user
        )
        _queue_run(run)
    return run


def start_system_recompute(cycle: Any) -> RecomputeRun:
    """Recompute ``cycle`` after its weights changed (no requester). Always starts a
    new run: one already under way may have read the old weights."""
    with transaction.atomic():
        run = RecomputeRun.objects.create(
            organization_id=cycle.organization_id, cycle_id=cycle.pk
        )
        _queue_run(run)
    return run


def _fail(run: RecomputeRun, error: str) -> None:
    run.status = RecomputeRun.Status.FAILED
    run.error = error[:1000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def _describe(exc: Exception) -> str:
    """The exception's type and first line: enough for HR to report, no traceback."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def advance_run(run_id: int, *, after: int = 0) -> None:
    """One step of a cycle run: recompute the next ``RUN_CHUNK`` open appraisals with
    an id above ``after``, record the progress and queue the next step.

    Idempotent: a finished (done or failed) or missing run is left alone, and running a
    step twice recomputes the same rows to the same values and records the same
    progress. An error rolls the step back and marks the run failed with the message.
    """
    run = RecomputeRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status in (
        RecomputeRun.Status.DONE,
        RecomputeRun.Status.FAILED,
    ):
        return
    try:
        with transaction.atomic():
            chunk = list(_open_locked(cycle_id=run.cycle_id, pk__gt=after)[:RUN_CHUNK])
            _store(chunk)
    except Exception as exc:  # recorded on the run for HR to see, not raised
        logger.exception("Recompute run %s failed", run_id)
        _fail(run, _describe(exc))
        return
    last = chunk[-1].pk if chunk else after
    counts = Appraisal.objects.filter(
        cycle_id=run.cycle_id, status=AppraisalStatus.OPEN
    ).aggregate(total=Count("pk"), done=Count("pk", filter=Q(pk__lte=last)))
    run.total, run.done = counts["total"], counts["done"]
    if len(chunk) < RUN_CHUNK:
        run.status = RecomputeRun.Status.DONE
        run.done = run.total
        run.finished_at = timezone.now()
    else:
        run.status = RecomputeRun.Status.RUNNING
        _queue_run(run, after=last)
    run.save(update_fields=["status", "total", "done", "finished_at"])


# --- Explaining ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExplainedComponent:
    """One row of the score table (figures rounded for display)."""

    label: str
    kind: str
    goal: Decimal | None
    competency: Decimal | None
    evaluation: Decimal | None  # E before client satisfaction
    csat: Decimal | None  # CSAT on the scale, when it applied
    score: Decimal | None  # the score this row contributes
    weight: Decimal  # Wₚ (1 for the general plan)
    weight_basis: str  # how the weight came about, in words
    share: Decimal | None  # percent of the final score this row carries
    contribution: Decimal | None


@dataclass(frozen=True)
class Explanation:
    """Everything the appraisal page shows to explain a score."""

    components: tuple[ExplainedComponent, ...]
    general: Decimal | None
    engagement: Decimal | None
    final: Decimal | None
    percent: Decimal | None
    formula: tuple[str, ...]
    missing: tuple[str, ...]
    is_provisional: bool
    from_snapshot: bool
    scale_min: Decimal
    scale_max: Decimal
    general_weight: Decimal
    weighting: str
    csat_weight: Decimal


def _num(value: Decimal) -> str:
    """``60.00`` → ``60``, ``2.50`` → ``2.5``: weights as people write them."""
    return format(value.normalize(), "f")


def _basis(plan: PlanInput, weighting: str) -> str:
    if plan.kind != "engagement":
        return _("general plan")
    if weighting == scoring.EQUAL:
        return _("equal weight per engagement")
    if weighting == scoring.CUSTOM:
        return _("custom weight %(weight)s") % {
            "weight": _num(plan.custom_weight or Decimal(0))
        }
    return _("%(allocation)s %% × %(days)s days") % {
        "allocation": _num(plan.allocation or Decimal(0)),
        "days": plan.days,
    }


def _formula(cycle: CycleInput, *, provisional: bool) -> tuple[str, ...]:
    beta = cycle.general_weight
    weighting = {
        scoring.EFFORT: _(
            "Engagement composite EC = Σ Wₚ × Eₚ ÷ Σ Wₚ over engagement plans with a "
            "counted evaluation, where Wₚ = allocation % × days of the plan inside "
            "the cycle. Plans of weight 0 are left out."
        ),
        scoring.EQUAL: _(
            "Engagement composite EC = the plain average of the engagement plans' "
            "scores Eₚ (every engagement weighs the same)."
        ),
        scoring.CUSTOM: _(
            "Engagement composite EC = Σ Wₚ × Eₚ ÷ Σ Wₚ, where Wₚ is each plan's "
            "custom weight. Plans of weight 0 are left out."
        ),
    }[cycle.weighting]
    lines = [
        _(
            "A plan's score E = α × goal score + (1 − α) × competency score, α being "
            "the plan's goal weight. Goal and competency scores are weighted averages "
            "of the ratings; items rated N/A are left out, and when only one part is "
            "rated it counts alone."
        ),
        _("General score G = the score of the general plan."),
        weighting,
    ]
    if cycle.csat_weight > 0:
        lines.append(
            _(
                "Client satisfaction: an engagement with survey ratings of the employee "
                "scores %(rest)s %% × E + %(gamma)s %% × CSAT, where CSAT maps the mean "
                "1–5 client rating onto the scale (1 → %(min)s, 5 → %(max)s)."
            )
            % {
                "rest": _num(100 - cycle.csat_weight),
                "gamma": _num(cycle.csat_weight),
                "min": _num(cycle.smin),
                "max": _num(cycle.smax),
            }
        )
    lines += [
        _(
            "Final score = %(beta)s %% × G + %(rest)s %% × EC; when only one of them "
            "exists, it alone is the final score."
        )
        % {"beta": _num(beta), "rest": _num(100 - beta)},
        _("Percent = (final − %(min)s) ÷ (%(max)s − %(min)s) × 100.")
        % {"min": _num(cycle.smin), "max": _num(cycle.smax)},
        _(
            "Every step uses the unrounded result of the step before; only the "
            "figures shown are rounded to two decimal places."
        ),
        _(
            "Provisional: evaluations submitted but not yet approved are included, so "
            "these figures can still change."
        )
        if provisional
        else _("Only approved evaluations count."),
    ]
    return tuple(lines)


def _not_counted(label: str, general: bool, *, provisional: bool) -> str:
    if general:
        if provisional:
            return _("The general evaluation is not submitted yet.")
        return _("The general evaluation is not approved yet.")
    if provisional:
        return _("%(label)s: the evaluation is not submitted yet.") % {"label": label}
    return _("%(label)s: the evaluation is not approved yet.") % {"label": label}


def _missing(
    cycle: CycleInput, plans: Sequence[PlanInput], *, provisional: bool
) -> tuple[str, ...]:
    """Why parts of the score are absent, in words."""
    notes: list[str] = []
    if not any(p.kind != "engagement" for p in plans):
        notes.append(_("There is no general plan in this cycle."))
    for plan in plans:
        general = plan.kind != "engagement"
        if not plan.counted:
            notes.append(_not_counted(plan.label, general, provisional=provisional))
            continue
        result = scoring.score_plan(plan.goals, plan.competencies, plan.goal_weight)
        if result.score is None:
            notes.append(
                _("%(label)s: nothing is rated (everything N/A), so it is left out.")
                % {"label": plan.label}
            )
        elif not general and scoring.plan_weight(plan, cycle.weighting) <= 0:
            notes.append(
                _("%(label)s: its weight is 0 (%(basis)s), so it is left out.")
                % {"label": plan.label, "basis": _basis(plan, cycle.weighting)}
            )
    return tuple(notes)


def inputs_from_snapshot(data: dict[str, Any]) -> tuple[CycleInput, list[PlanInput]]:
    """The inputs recorded by ``scoring.snapshot``, with the general plan's label in
    the reader's language."""
    cycle, plans = scoring_inputs_from_snapshot(data)
    return cycle, [
        replace(p, label=_("General plan")) if p.kind != "engagement" else p
        for p in plans
    ]


def explain(
    appraisal: Appraisal, *, provisional: bool = False, stored: bool = False
) -> Explanation:
    """The score of ``appraisal`` with every component, its weight and contribution,
    the formula in words and what is missing.

    A finalised or acknowledged appraisal is explained from its stored snapshot, so
    the explanation stays what it was even after weights change (``provisional`` is
    then ignored); ``stored`` does the same for an open one (the figures of its last
    recomputation, i.e. the stored scores). Otherwise it is computed live: approved
    evaluations only, or with ``provisional`` submitted ones too. Without a snapshot
    it is always computed live. Queries: none from a snapshot, else 5 to 7.
    """
    has_snapshot = "plans" in (appraisal.snapshot or {})
    frozen = has_snapshot and (stored or appraisal.status != AppraisalStatus.OPEN)
    if frozen:
        cycle, plans = inputs_from_snapshot(appraisal.snapshot)
        result = scoring.score_appraisal(cycle, plans)
        provisional = False
    else:
        cycle, plans, result = compute([appraisal], provisional=provisional)[
            appraisal.pk
        ]
    by_id = {p.plan_id: p for p in plans}
    rows = tuple(
        ExplainedComponent(
            label=by_id[c.plan_id].label,
            kind=c.kind,
            goal=scoring.round2(c.goal),
            competency=scoring.round2(c.competency),
            evaluation=scoring.round2(c.evaluation),
            csat=scoring.round2(c.csat),
            score=scoring.round2(c.score),
            weight=c.weight,
            weight_basis=(
                _("β = %(beta)s %%") % {"beta": _num(cycle.general_weight)}
                if c.kind != "engagement"
                else _basis(by_id[c.plan_id], cycle.weighting)
            ),
            share=scoring.round2(c.share * scoring.HUNDRED),
            contribution=scoring.round2(c.contribution),
        )
        for c in result.components
    )
    figures = result.rounded()
    return Explanation(
        components=rows,
        general=figures["general_score"],
        engagement=figures["engagement_score"],
        final=figures["final_score"],
        percent=figures["percent"],
        formula=_formula(cycle, provisional=provisional),
        missing=_missing(cycle, plans, provisional=provisional),
        is_provisional=provisional,
        from_snapshot=frozen,
        scale_min=cycle.smin,
        scale_max=cycle.smax,
        general_weight=cycle.general_weight,
        weighting=cycle.weighting,
        csat_weight=cycle.csat_weight,
    )
