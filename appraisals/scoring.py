"""The scoring rules of docs/scoring.md, as pure functions on plain values.

Nothing here touches the database: ``appraisals.recompute`` loads the inputs of one
appraisal or a whole cycle in a fixed number of queries and calls ``score_appraisal``
for each. All arithmetic is ``Decimal``; every intermediate value stays unrounded and
only figures that are stored or shown go through ``round2`` (half-up, 2 places).

The rules, in words (shown to users on the appraisal page):

1. Goal score = Σ weight × rating / Σ weight over rated goals (N/A left out).
2. Competency score, the same over rated competencies.
3. A plan's score E = α × goal score + (1 − α) × competency score, α the plan's goal
   weight; one part alone when the other is empty; empty when both are.
4. Only approved evaluations count (the provisional figure also counts submitted ones).
5. General score G = the general plan's score.
6. Engagement composite EC = Σ Wₚ × Eₚ / Σ Wₚ over engagement plans with a counted
   evaluation; Wₚ = allocation % × days of the plan inside the cycle (``effort``),
   1 (``equal``) or the plan's custom weight (``custom``); plans of weight 0 drop out.
7. Final = β × G + (1 − β) × EC, β the cycle's general weight; one alone when the other
   is empty.
8. Percent = (final − lowest point) / (highest point − lowest point) × 100.
9. Client satisfaction (γ > 0): an engagement plan with survey ratings of the employee
   scores (1 − γ) × E + γ × CSAT, where CSAT maps the mean 1–5 survey rating linearly
   onto the scale: lowest point + (rating − 1) / 4 × (highest − lowest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")

EFFORT, EQUAL, CUSTOM = "effort", "equal", "custom"


def round2(value: Decimal | None) -> Decimal | None:
    """A stored or shown figure: half-up to 2 places. ``None`` stays ``None``."""
    if value is None:
        return None
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rated:
    """One goal or competency of an evaluation: its weight and rating (None = N/A or
    not rated, left out)."""

    weight: Decimal
    rating: Decimal | None


def weighted_mean(items: Iterable[Rated]) -> Decimal | None:
    """Σ w·r / Σ w over rated items; ``None`` when nothing rated carries weight."""
    total_weight = Decimal(0)
    total = Decimal(0)
    for item in items:
        if item.rating is None:
            continue
        total_weight += item.weight
        total += item.weight * item.rating
    return mean_of_sums(total, total_weight)


def mean_of_sums(total: Decimal | None, weight: Decimal | None) -> Decimal | None:
    """Rule 1 or 2 from its two sums, Σ w·r and Σ w over the rated items (a database
    may add them up: both are exact); ``None`` when nothing rated carries weight."""
    if total is None or not weight:
        return None
    return total / weight


def mix(
    share: Decimal, first: Decimal | None, second: Decimal | None
) -> Decimal | None:
    """``share·first + (1−share)·second``; one alone when the other is empty."""
    if first is None:
        return second
    if second is None:
        return first
    return share * first + (1 - share) * second


@dataclass(frozen=True)
class PlanScore:
    goal: Decimal | None
    competency: Decimal | None
    score: Decimal | None


def score_plan(
    goals: Sequence[Rated], competencies: Sequence[Rated], goal_weight: Decimal
) -> PlanScore:
    """Rules 1–3. ``goal_weight`` is α in percent (70 means 70 %)."""
    return plan_score(weighted_mean(goals), weighted_mean(competencies), goal_weight)


def plan_score(
    goal: Decimal | None, competency: Decimal | None, goal_weight: Decimal
) -> PlanScore:
    """Rule 3 from the goal and competency scores (rules 1 and 2)."""
    return PlanScore(goal, competency, mix(goal_weight / HUNDRED, goal, competency))


def days_inside(start: date, end: date, cycle_start: date, cycle_end: date) -> int:
    """Days of ``start..end`` inside the cycle, both ends inclusive; 0 if none."""
    first, last = max(start, cycle_start), min(end, cycle_end)
    return max((last - first).days + 1, 0)


def csat_on_scale(rating: Decimal, smin: Decimal, smax: Decimal) -> Decimal:
    """A 1–5 survey rating mapped linearly onto ``[smin, smax]``."""
    return smin + (rating - 1) / Decimal(4) * (smax - smin)


@dataclass(frozen=True)
class PlanInput:
    """Everything about one plan that its part of the score depends on."""

    plan_id: int
    label: str
    kind: str  # "general" or "engagement"
    goal_weight: Decimal  # α, percent
    goals: tuple[Rated, ...] = ()
    competencies: tuple[Rated, ...] = ()
    counted: bool = True  # has an evaluation that counts (approved, or provisional)
    allocation: Decimal | None = None  # percent, engagement plans
    days: int = 0  # days of the plan inside the cycle
    custom_weight: Decimal | None = None
    csat: Decimal | None = None  # mean 1–5 client rating of the employee, if any


@dataclass(frozen=True)
class CycleInput:
    general_weight: Decimal  # β, percent
    weighting: str  # effort | equal | custom
    smin: Decimal
    smax: Decimal
    csat_weight: Decimal = Decimal(0)  # γ, percent


@dataclass(frozen=True)
class Component:
    """A line of the explanation table: one plan's score, its weight and contribution."""

    plan_id: int
    label: str
    kind: str
    goal: Decimal | None
    competency: Decimal | None
    evaluation: Decimal | None  # E before client satisfaction
    csat: Decimal | None  # CSAT on the scale, when it applies
    score: Decimal | None  # E after client satisfaction
    weight: Decimal  # Wₚ for engagements, 1 for the general plan
    share: Decimal  # fraction of the final score this component carries
    contribution: Decimal  # share × score


@dataclass(frozen=True)
class AppraisalScore:
    general: Decimal | None
    engagement: Decimal | None
    final: Decimal | None
    percent: Decimal | None
    components: tuple[Component, ...] = field(default_factory=tuple)

    def rounded(self) -> dict[str, Decimal | None]:
        """The four stored figures."""
        return {
            "general_score": round2(self.general),
            "engagement_score": round2(self.engagement),
            "final_score": round2(self.final),
            "percent": round2(self.percent),
        }


def plan_weight(plan: PlanInput, weighting: str) -> Decimal:
    """Rule 6's Wₚ."""
    if weighting == EQUAL:
        return Decimal(1)
    if weighting == CUSTOM:
        return plan.custom_weight or Decimal(0)
    return (plan.allocation or Decimal(0)) * plan.days


def _component(
    plan: PlanInput,
    result: PlanScore,
    csat: Decimal | None,
    score: Decimal,
    weight: Decimal,
    share: Decimal,
) -> Component:
    """The explanation line of ``plan``: E from ``result``, ``score`` after client
    satisfaction, and its contribution ``share × score``."""
    return Component(
        plan.plan_id,
        plan.label,
        plan.kind,
        result.goal,
        result.competency,
        result.score,
        csat,
        score,
        weight,
        share,
        share * score,
    )


def score_appraisal(cycle: CycleInput, plans: Sequence[PlanInput]) -> AppraisalScore:
    """Rules 5–9 over an employee's plans (the general one and the engagement ones)."""
    return combine_plans(
        cycle,
        [
            (plan, score_plan(plan.goals, plan.competencies, plan.goal_weight))
            for plan in plans
            if plan.counted
        ],
    )


def combine_plans(
    cycle: CycleInput, scored: Sequence[tuple[PlanInput, PlanScore]]
) -> AppraisalScore:
    """Rules 5–9 over the counted plans of an employee, each with its score (rules
    1–3) already worked out; ``score_appraisal`` works them out from the ratings."""
    beta = cycle.general_weight / HUNDRED
    gamma = cycle.csat_weight / HUNDRED
    general: Decimal | None = None
    general_plan: tuple[PlanInput, PlanScore] | None = None
    weighted: list[tuple[PlanInput, PlanScore, Decimal | None, Decimal, Decimal]] = []
    for plan, result in scored:
        if plan.kind == "general":
            general, general_plan = result.score, (plan, result)
            continue
        if result.score is None:
            continue
        weight = plan_weight(plan, cycle.weighting)
        if weight <= 0:
            continue
        csat = None
        score = result.score
        if gamma > 0 and plan.csat is not None:
            csat = csat_on_scale(plan.csat, cycle.smin, cycle.smax)
            score = (1 - gamma) * result.score + gamma * csat
        weighted.append((plan, result, csat, score, weight))

    engagement: Decimal | None = None
    total_weight = sum((w for *_rest, w in weighted), Decimal(0))
    if total_weight > 0:
        engagement = sum((s * w for *_r, s, w in weighted), Decimal(0)) / total_weight
    final = mix(beta, general, engagement)
    percent = None
    if final is not None:
        percent = (final - cycle.smin) / (cycle.smax - cycle.smin) * HUNDRED

    # Shares of the final score, for the explanation table (they sum to 1).
    general_share = (
        Decimal(0) if general is None else (Decimal(1) if engagement is None else beta)
    )
    engagement_share = (
        Decimal(1) - general_share if engagement is not None else Decimal(0)
    )
    components: list[Component] = []
    if general_plan is not None and general is not None:
        plan, result = general_plan
        components.append(
            _component(plan, result, None, general, Decimal(1), general_share)
        )
    for plan, result, csat, score, weight in weighted:
        share = engagement_share * weight / total_weight
        components.append(_component(plan, result, csat, score, weight, share))
    return AppraisalScore(general, engagement, final, percent, tuple(components))


def snapshot(
    cycle: CycleInput, plans: Sequence[PlanInput], result: AppraisalScore
) -> dict[str, Any]:
    """A JSON-ready record of every input and output, enough to reproduce the score."""

    def num(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    def rated(items: Sequence[Rated]) -> list[dict[str, str | None]]:
        return [{"weight": num(i.weight), "rating": num(i.rating)} for i in items]

    return {
        "rules": "docs/scoring.md, The rules",
        "scale": {"min": num(cycle.smin), "max": num(cycle.smax)},
        "general_weight": num(cycle.general_weight),
        "weighting": cycle.weighting,
        "csat_weight": num(cycle.csat_weight),
        "plans": [
            {
                "plan_id": p.plan_id,
                "label": p.label,
                "kind": p.kind,
                "counted": p.counted,
                "goal_weight": num(p.goal_weight),
                "allocation": num(p.allocation),
                "days": p.days,
                "custom_weight": num(p.custom_weight),
                "csat": num(p.csat),
                "goals": rated(p.goals),
                "competencies": rated(p.competencies),
            }
            for p in plans
        ],
        "components": [
            {
                "plan_id": c.plan_id,
                "label": c.label,
                "kind": c.kind,
                "goal": num(round2(c.goal)),
                "competency": num(round2(c.competency)),
                "evaluation": num(round2(c.evaluation)),
                "csat": num(round2(c.csat)),
                "score": num(round2(c.score)),
                "weight": num(c.weight),
                "share": num(round2(c.share * HUNDRED)),
                "contribution": num(round2(c.contribution)),
            }
            for c in result.components
        ],
        "result": {k: num(v) for k, v in result.rounded().items()},
    }


def inputs_from_snapshot(
    data: dict[str, Any],
) -> tuple[CycleInput, list[PlanInput]]:
    """The inputs a stored ``snapshot`` recorded, ready to score again."""

    def dec(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    def items(rows: list[dict[str, str | None]]) -> tuple[Rated, ...]:
        return tuple(Rated(Decimal(str(r["weight"])), dec(r["rating"])) for r in rows)

    cycle = CycleInput(
        general_weight=Decimal(data["general_weight"]),
        weighting=data["weighting"],
        smin=Decimal(data["scale"]["min"]),
        smax=Decimal(data["scale"]["max"]),
        csat_weight=Decimal(data.get("csat_weight") or 0),
    )
    plans = [
        PlanInput(
            plan_id=p["plan_id"],
            label=p["label"],
            kind=p["kind"],
            goal_weight=Decimal(p["goal_weight"]),
            goals=items(p["goals"]),
            competencies=items(p["competencies"]),
            counted=p["counted"],
            allocation=dec(p["allocation"]),
            days=p["days"],
            custom_weight=dec(p["custom_weight"]),
            csat=dec(p["csat"]),
        )
        for p in data["plans"]
    ]
    return cycle, plans


def replay(data: dict[str, Any]) -> AppraisalScore:
    """Recompute a score from a stored snapshot (proves a finalised score reproducible)."""
    return score_appraisal(*inputs_from_snapshot(data))
