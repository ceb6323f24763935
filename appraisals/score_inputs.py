"""The inputs of the scoring rules, loaded from the database for a set of appraisals.

Everything a score depends on is loaded set-based, in a fixed number of queries
whatever the number of appraisals, plans, goals or ratings:

1. the cycles with their rating scale (plus one query for the organisation's default
   scale when a cycle has none of its own);
2. the plans of those employees in those cycles (with the engagement's name);
3. the evaluations of those appraisals (review and self) with their status, and their
   ratings: either every rating with its item's weight (``load_rated``, the
   reference, on any database) or, per evaluation, the two sums the rules need
   (``appraisals.score_store``, PostgreSQL only). A rating of an item that is not on
   the evaluation's plan is ignored; unrated and N/A items are left out by the rules;
4. only when a cycle's client-satisfaction weight γ is above 0: the clients' ratings
   of those employees in answered surveys of their engagements.

Client-satisfaction window: a survey counts for a cycle when it was answered on or
after the cycle's first day (in the organisation's time zone). There is no upper
bound, so surveys answered during the review period, after the cycle's last day,
still count; once an appraisal is finalised its score is frozen. CSAT of an engagement
plan = the mean of the employee's ratings in those surveys of that engagement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet
from django_scopes import get_scope

from appraisals import scoring
from appraisals.enums import EvaluationKind, EvaluationStatus
from appraisals.models import CompetencyRating, Evaluation, GoalRating
from appraisals.scoring import AppraisalScore, CycleInput, PlanInput, PlanScore, Rated
from competencies.models import RatingScale
from engagements.enums import PlanKind
from engagements.models import Plan, ReviewCycle
from feedback.models import ClientSurveyRating

# Without any rating scale in the organisation (nothing can be rated then), scores
# still need bounds for the percent: the product's standard 1–5 scale.
FALLBACK_SCALE = (Decimal(1), Decimal(5))
# The general plan's label in the inputs and the stored snapshot; readers see it in
# their own language (``appraisals.explanation.inputs_from_snapshot``).
GENERAL_PLAN_LABEL = "General plan"

APPROVED = (EvaluationStatus.APPROVED,)
SUBMITTED_OR_APPROVED = (EvaluationStatus.SUBMITTED, EvaluationStatus.APPROVED)

Computed = tuple[CycleInput, list[PlanInput], AppraisalScore]
# Per evaluation id, its rated items in the items' order: goals, then competencies.
Ratings = tuple[Mapping[int, Sequence[Rated]], Mapping[int, Sequence[Rated]]]
NO_RATINGS: Ratings = ({}, {})


class AppraisalKey(Protocol):
    """What loading needs of an appraisal: an ``Appraisal`` or a row of its ids."""

    @property
    def pk(self) -> Any: ...
    @property
    def cycle_id(self) -> int: ...
    @property
    def employee_id(self) -> int: ...


class EvaluationRow(NamedTuple):
    id: int
    plan_id: int
    kind: str
    status: str


class CycleRow(NamedTuple):
    """A cycle's dates and scoring parameters."""

    start_date: date
    end_date: date
    params: CycleInput


Cycles = dict[int, CycleRow]


class LockedAppraisal(NamedTuple):
    """An open appraisal as a recompute locks it, with its cycle's columns (after the
    cycle id, ``CYCLE_COLUMNS``) read in the same query."""

    pk: int
    cycle_id: int
    employee_id: int
    cycle: tuple[Any, ...]
    # The calibration adjustment in force (``Appraisal.calibration_delta``), read by
    # the lock so a recompute keeps the calibrated figures in step without a query
    # when no appraisal has one.
    delta: Decimal | None = None


# A cycle's columns as ``cycles_from`` reads them, after its id.
CYCLE_COLUMNS = (
    "start_date",
    "end_date",
    "general_weight",
    "engagement_weighting",
    "csat_weight",
    "rating_scale__min_value",
    "rating_scale__max_value",
)


@dataclass(frozen=True)
class Loaded:
    """What one load produced: per appraisal its inputs and score; per evaluation
    (review and self) its own goal/competency/evaluation score for display."""

    results: dict[int, Computed] = field(default_factory=dict)
    evaluations: dict[int, PlanScore] = field(default_factory=dict)


class PlanRow(NamedTuple):
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
    for name in PlanRow._fields
)


@dataclass(frozen=True)
class Context:
    """The cycles, plans and client ratings of a set of appraisals: everything but
    the evaluations and their ratings. 2 to 4 queries (``load_context``)."""

    cycles: Cycles
    plans: dict[int, PlanRow]
    csat: dict[tuple[int, int, int], Decimal]

    def plans_of(self) -> dict[tuple[int, int], list[PlanRow]]:
        """Per (cycle, employee), the plans: the general one first, then by start."""
        found: dict[tuple[int, int], list[PlanRow]] = defaultdict(list)
        for plan in sorted(
            self.plans.values(),
            key=lambda p: (p.kind != PlanKind.GENERAL, p.start_date, p.id),
        ):
            found[(plan.cycle_id, plan.employee_id)].append(plan)
        return found


def load_context(appraisals: Sequence[AppraisalKey]) -> Context:
    """The cycles, plans and (γ > 0 only) client ratings of ``appraisals``.

    Queries: 2, one more when a cycle uses the organisation's default scale, one more
    when a cycle has γ > 0.
    """
    cycles = load_cycles(appraisals)
    return Context(cycles, _plans(appraisals), client_ratings(appraisals, cycles))


def client_ratings(
    appraisals: Sequence[AppraisalKey], cycles: Cycles
) -> dict[tuple[int, int, int], Decimal]:
    """The mean client rating per (cycle, engagement, employee) of ``appraisals``:
    the engagements are those of the employees' plans in those cycles, read by a
    subquery, so callers need not have loaded the plans. No query unless a cycle has
    γ > 0; then one."""
    employee_ids = {a.employee_id for a in appraisals}
    engagement_ids = Plan.objects.filter(
        cycle_id__in=set(cycles),
        employee_id__in=employee_ids,
        engagement_id__isnull=False,
    ).values_list("engagement_id", flat=True)
    return _csat_means(cycles, employee_ids, engagement_ids)


def load_cycles(appraisals: Sequence[AppraisalKey]) -> Cycles:
    """The cycles of ``appraisals`` with their scoring parameters. One query, two
    when a cycle uses the organisation's default scale."""
    return cycles_from(
        ReviewCycle.objects.filter(pk__in={a.cycle_id for a in appraisals})
        .order_by()
        .values_list("pk", *CYCLE_COLUMNS)
    )


def cycles_from(rows: Iterable[Sequence[Any]]) -> Cycles:
    """Cycles from rows of (id, *``CYCLE_COLUMNS``). No query, one for the
    organisation's default scale when a cycle has no scale of its own."""
    found = {}
    default: tuple[Decimal, Decimal] | None = None
    for cycle_id, start, end, beta, weighting, gamma, smin, smax in rows:
        if smin is None or smax is None:
            if default is None:
                scale = RatingScale.objects.filter(is_default=True).first()
                default = (
                    FALLBACK_SCALE
                    if scale is None
                    else (scale.min_value, scale.max_value)
                )
            smin, smax = default
        found[cycle_id] = CycleRow(
            start,
            end,
            CycleInput(
                general_weight=beta,
                weighting=weighting,
                smin=smin,
                smax=smax,
                csat_weight=gamma,
            ),
        )
    return found


def _plans(appraisals: Sequence[AppraisalKey]) -> dict[int, PlanRow]:
    """The plans of the appraisals' employees in the appraisals' cycles. One query."""
    wanted = {(a.cycle_id, a.employee_id) for a in appraisals}
    rows = (
        Plan.objects.filter(
            cycle_id__in={a.cycle_id for a in appraisals},
            employee_id__in={a.employee_id for a in appraisals},
        )
        .order_by()  # any order (``Context.plans_of`` sorts), no join to sort by
        .values_list(*_PLAN_COLUMNS)
    )
    plans = (PlanRow(*row) for row in rows)
    return {p.id: p for p in plans if (p.cycle_id, p.employee_id) in wanted}


def _csat_means(
    cycles: Cycles,
    employee_ids: set[int],
    engagement_ids: QuerySet[Plan, int],
) -> dict[tuple[int, int, int], Decimal]:
    """Mean client rating per (cycle, engagement, employee) over surveys answered on
    or after the cycle's first day, of the engagements ``engagement_ids`` (a
    subquery). No query unless some cycle has γ > 0; then one."""
    starts = {
        cycle_id: _start_of(cycle.start_date)
        for cycle_id, cycle in cycles.items()
        if cycle.params.csat_weight > 0
    }
    if not starts:
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


def _plan_input(
    plan: PlanRow,
    cycle: CycleRow,
    review: EvaluationRow | None,
    counted: bool,
    ratings: Ratings,
    csat: Decimal | None,
) -> PlanInput:
    """One plan's scoring input; ``review`` is its review evaluation, if any."""
    # Ratings of an evaluation that does not count stay out of the input (and so
    # out of the stored snapshot): a draft is nobody's business yet.
    evaluation_id = review.id if review is not None and counted else 0
    general = plan.kind == PlanKind.GENERAL
    return PlanInput(
        plan_id=plan.id,
        label=GENERAL_PLAN_LABEL if general else (plan.engagement_name or ""),
        kind=plan.kind,
        goal_weight=plan.goal_weight,
        goals=tuple(ratings[0].get(evaluation_id, ())),
        competencies=tuple(ratings[1].get(evaluation_id, ())),
        counted=counted,
        allocation=plan.allocation,
        days=scoring.days_inside(
            plan.start_date, plan.end_date, cycle.start_date, cycle.end_date
        ),
        custom_weight=plan.custom_weight,
        csat=csat,
    )


def assemble(
    appraisals: Sequence[AppraisalKey],
    context: Context,
    evaluations: Sequence[EvaluationRow],
    scores: Mapping[int, PlanScore],
    *,
    provisional: bool,
    ratings: Ratings = NO_RATINGS,
) -> Loaded:
    """Each appraisal's inputs and score from its plans and evaluations, given every
    evaluation's own score (``scores``, rules 1–3). With ``ratings`` the inputs list
    the counted ratings (the snapshot's lists); without, they list none and storing
    fills the snapshot's lists in (``appraisals.score_store``). No query.

    Counts approved evaluations only, or with ``provisional`` submitted ones too.
    """
    counting = SUBMITTED_OR_APPROVED if provisional else APPROVED
    reviews = {
        e.plan_id: e
        for e in evaluations
        if e.kind == EvaluationKind.REVIEW and e.plan_id in context.plans
    }
    plans_of = context.plans_of()
    loaded = Loaded(
        evaluations={
            e.id: scores[e.id] for e in evaluations if e.plan_id in context.plans
        }
    )
    for appraisal in appraisals:
        cycle = context.cycles[appraisal.cycle_id]
        params = cycle.params
        inputs = []
        for plan in plans_of[(appraisal.cycle_id, appraisal.employee_id)]:
            review = reviews.get(plan.id)
            counted = review is not None and review.status in counting
            inputs.append(
                _plan_input(
                    plan,
                    cycle,
                    review,
                    counted,
                    ratings,
                    context.csat.get(
                        (plan.cycle_id, plan.engagement_id or 0, plan.employee_id)
                    ),
                )
            )
        scored = [
            (plan, scores[reviews[plan.plan_id].id]) for plan in inputs if plan.counted
        ]
        loaded.results[appraisal.pk] = (
            params,
            inputs,
            scoring.combine_plans(params, scored),
        )
    return loaded


def load_rated(appraisals: Sequence[AppraisalKey], *, provisional: bool) -> Loaded:
    """Inputs and scores of ``appraisals`` (any cycles of the active organisation),
    every rating loaded and every rule applied in Python: the reference computation,
    on any database. The inputs list the counted ratings.

    Queries: 5 to 7, whatever the number of appraisals, plans, goals or ratings.
    """
    if not appraisals:
        return Loaded()
    appraisal_ids = [a.pk for a in appraisals]
    context = load_context(appraisals)
    evaluations = [
        EvaluationRow(*row)
        for row in Evaluation.objects.filter(appraisal_id__in=appraisal_ids)
        .order_by()
        .values_list("id", "plan_id", "kind", "status")
    ]
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
    scores = {
        e.id: scoring.score_plan(
            ratings[0].get(e.id, ()),
            ratings[1].get(e.id, ()),
            context.plans[e.plan_id].goal_weight,
        )
        for e in evaluations
        if e.plan_id in context.plans
    }
    return assemble(
        appraisals,
        context,
        evaluations,
        scores,
        provisional=provisional,
        ratings=ratings,
    )


def _ratings(
    model: type[GoalRating] | type[CompetencyRating],
    appraisal_ids: list[int],
    weight: str,
    own_plan: Q,
) -> dict[int, list[Rated]]:
    """Ratings of the appraisals' evaluations with their item's weight, per
    evaluation id, in the items' order (the models' ordering). One query."""
    rows = model.objects.filter(
        own_plan, evaluation__appraisal_id__in=appraisal_ids
    ).values_list("evaluation_id", weight, "value", "not_applicable")
    found: dict[int, list[Rated]] = defaultdict(list)
    for evaluation_id, item_weight, value, not_applicable in rows:
        found[evaluation_id].append(
            Rated(item_weight, None if not_applicable else value)
        )
    return found
