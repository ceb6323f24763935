"""The calibration rules of docs/scoring.md ("Calibration"), as pure functions on
plain values: reviewer leniency, its shrinkage, the suggested adjustment of an
appraisal and the calibrated final. Nothing here touches the database:
``appraisals.selectors.calibration_inputs`` loads the inputs (the leniency tallies
in one set-based query for a whole cycle) and ``appraisals.services.calibration``
stores adjustments.

The rules, in words:

1. Reviewer leniency. Over the approved review evaluations of a cycle, an *item* is a
   competency (of the organisation's library: the same competency on different plans
   is one item) or a goal attainment band (a goal rating's item is the band its
   goal's attainment fell in, recorded as the rating that band suggested; goals
   without a measured attainment have no band and are left out). For each rating a
   reviewer gave on an item that another reviewer also rated, the difference is
   their rating minus the mean rating of that item by all *other* reviewers
   (leave-one-out). A reviewer's raw leniency ``b`` is the mean of those differences
   over all such ratings, and ``n`` is how many there are. N/A ratings are left out.
   With, per item ``i``, ``N_i`` ratings summing to ``S_i`` in all and ``n_i`` of
   them summing to ``s_i`` by the reviewer::

       b = Σ_i (s_i − n_i × (S_i − s_i) / (N_i − n_i)) / Σ_i n_i
       over the items with N_i > n_i (someone else rated them too).

2. Shrinkage: ``ŝ = b × n / (n + k)``, ``k`` the organisation's shrinkage constant
   (default 10); ``ŝ = 0`` below ``MINIMUM_RATINGS`` compared ratings.
3. Suggestion: the final score recomputed with each counted plan score ``E``
   replaced by ``clamp(E − ŝ_r)`` on the scale, ``r`` the plan's reviewer (the line
   manager for the general plan); ``δ = suggested final − final``.
4. Calibrated final: ``clamp(final + δ)`` on the scale; its percent as rule 8 of the
   scoring rules.

Leniency is computed with ``fractions.Fraction`` (exact: adding ``c`` to every rating
of a reviewer raises their ``b`` by exactly ``c``) and handed on as ``Decimal``; the
scoring rules' ``Decimal`` arithmetic does the rest. Nothing is rounded but figures
for display.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from appraisals import scoring
from appraisals.scoring import CycleInput, PlanInput, PlanScore

# Below this many compared ratings a reviewer's leniency is not corrected at all.
MINIMUM_RATINGS = 5
DEFAULT_SHRINKAGE = 10
# How many items a reviewer panel names as driving a reviewer's leniency.
DRIVERS = 3


@dataclass(frozen=True)
class ItemTally:
    """One reviewer's ratings of one item in a cycle: how many, their sum and the sum
    of their squares (for the spread). ``item`` is ``"c:<competency id>"`` or
    ``"g:<suggested rating>"``."""

    reviewer_id: int
    item: str
    count: int
    total: Decimal
    squares: Decimal


@dataclass(frozen=True)
class Driver:
    """An item behind a reviewer's leniency: their mean on it, the other reviewers'
    mean, and how many of their ratings it holds."""

    item: str
    count: int
    mean: Decimal
    others_mean: Decimal

    @property
    def difference(self) -> Decimal:
        return self.mean - self.others_mean


@dataclass(frozen=True)
class Leniency:
    """A reviewer's figures in a cycle.

    ``ratings``, ``mean`` and ``spread`` (population standard deviation) cover every
    rating they gave; ``compared`` (n) only those of items someone else rated too;
    ``raw`` is b (None when nothing compares), ``shrunk`` ŝ (0 below the minimum).
    """

    reviewer_id: int
    ratings: int
    mean: Decimal
    spread: Decimal
    compared: int
    raw: Decimal | None
    shrunk: Decimal
    drivers: tuple[Driver, ...] = ()

    @property
    def too_few(self) -> bool:
        """Too few compared ratings to correct (``shrunk`` is 0 for that reason)."""
        return self.compared < MINIMUM_RATINGS


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def raw_leniency(tallies: Iterable[ItemTally]) -> dict[int, tuple[Fraction, int]]:
    """Rule 1, exact: per reviewer with a compared rating, (b, n). No query."""
    rows = list(tallies)
    items: dict[str, tuple[int, Fraction]] = {}
    for row in rows:
        count, total = items.get(row.item, (0, Fraction(0)))
        items[row.item] = (count + row.count, total + Fraction(row.total))
    sums: dict[int, Fraction] = defaultdict(Fraction)
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        all_count, all_total = items[row.item]
        others = all_count - row.count
        if others <= 0 or row.count <= 0:
            continue
        own = Fraction(row.total)
        sums[row.reviewer_id] += own - row.count * (all_total - own) / others
        counts[row.reviewer_id] += row.count
    return {r: (sums[r] / counts[r], counts[r]) for r in counts}


def shrink(raw: Decimal | Fraction | None, compared: int, k: int) -> Decimal:
    """Rule 2: ŝ = b × n / (n + k); 0 below ``MINIMUM_RATINGS`` or without b."""
    if raw is None or compared < MINIMUM_RATINGS:
        return Decimal(0)
    return _decimal(Fraction(raw) * compared / (compared + k))


def leniency(
    tallies: Iterable[ItemTally], k: int = DEFAULT_SHRINKAGE
) -> dict[int, Leniency]:
    """Every reviewer's figures (rules 1 and 2) from the cycle's tallies, with the
    ``DRIVERS`` items that move their raw leniency most. No query."""
    rows = list(tallies)
    raw = raw_leniency(rows)
    items: dict[str, tuple[int, Fraction]] = {}
    for row in rows:
        count, total = items.get(row.item, (0, Fraction(0)))
        items[row.item] = (count + row.count, total + Fraction(row.total))
    by_reviewer: dict[int, list[ItemTally]] = defaultdict(list)
    for row in rows:
        by_reviewer[row.reviewer_id].append(row)
    result: dict[int, Leniency] = {}
    for reviewer, own in by_reviewer.items():
        count = sum(row.count for row in own)
        total = sum((Fraction(row.total) for row in own), Fraction(0))
        squares = sum((Fraction(row.squares) for row in own), Fraction(0))
        mean = total / count if count else Fraction(0)
        variance = squares / count - mean * mean if count else Fraction(0)
        drivers = []
        for row in own:
            all_count, all_total = items[row.item]
            if all_count <= row.count or row.count <= 0:
                continue
            others = (all_total - Fraction(row.total)) / (all_count - row.count)
            drivers.append(
                Driver(
                    row.item,
                    row.count,
                    _decimal(Fraction(row.total) / row.count),
                    _decimal(others),
                )
            )
        # The items that move b most: a difference times the ratings it holds.
        drivers.sort(key=lambda d: (-abs(d.difference) * d.count, d.item))
        b, n = raw.get(reviewer, (None, 0))
        result[reviewer] = Leniency(
            reviewer_id=reviewer,
            ratings=count,
            mean=_decimal(mean),
            spread=_decimal(max(variance, Fraction(0))).sqrt(),
            compared=n,
            raw=None if b is None else _decimal(b),
            shrunk=shrink(b, n, k),
            drivers=tuple(drivers[:DRIVERS]),
        )
    return result


def clamp(value: Decimal, smin: Decimal, smax: Decimal) -> Decimal:
    return min(max(value, smin), smax)


def box_of(score: Decimal, smin: Decimal, smax: Decimal) -> str:
    """The nine-box performance third of ``score`` on the scale: "low", "medium" or
    "high" (low < smin + (smax − smin)/3 ≤ medium < smin + 2(smax − smin)/3 ≤
    high). No query."""
    third = (smax - smin) / 3
    if score < smin + third:
        return "low"
    if score < smin + 2 * third:
        return "medium"
    return "high"


@dataclass(frozen=True)
class CorrectedPlan:
    """One counted plan of a suggestion: its reviewer, E, ŝ and the corrected E."""

    plan_id: int
    label: str
    kind: str
    reviewer_id: int | None
    score: Decimal
    shift: Decimal
    corrected: Decimal


@dataclass(frozen=True)
class Suggestion:
    """Rule 3 for one appraisal: the final, the suggested final and δ, unrounded."""

    final: Decimal
    suggested: Decimal
    delta: Decimal
    plans: tuple[CorrectedPlan, ...]

    @property
    def is_zero(self) -> bool:
        return self.delta == 0


def suggest(
    cycle: CycleInput,
    plans: Sequence[PlanInput],
    reviewers: Mapping[int, int | None],
    shifts: Mapping[int, Decimal],
) -> Suggestion | None:
    """Rule 3: the suggestion for an appraisal from its scoring inputs (as its
    snapshot records them), the reviewer of each counted plan (plan id → reviewer
    id) and each reviewer's ŝ (reviewer id → ŝ; a reviewer not listed has ŝ = 0).
    None when the appraisal has no final score. No query."""
    scored: list[tuple[PlanInput, PlanScore]] = []
    corrected: list[tuple[PlanInput, PlanScore]] = []
    lines: list[CorrectedPlan] = []
    for plan in plans:
        if not plan.counted:
            continue
        result = scoring.score_plan(plan.goals, plan.competencies, plan.goal_weight)
        scored.append((plan, result))
        if result.score is None:
            corrected.append((plan, result))
            continue
        reviewer = reviewers.get(plan.plan_id)
        shift = shifts.get(reviewer, Decimal(0)) if reviewer is not None else Decimal(0)
        score = clamp(result.score - shift, cycle.smin, cycle.smax)
        corrected.append((plan, PlanScore(result.goal, result.competency, score)))
        lines.append(
            CorrectedPlan(
                plan.plan_id,
                plan.label,
                plan.kind,
                reviewer,
                result.score,
                shift,
                score,
            )
        )
    final = scoring.combine_plans(cycle, scored).final
    if final is None:
        return None
    suggested = scoring.combine_plans(cycle, corrected).final
    if suggested is None:  # never: the same plans count
        return None
    return Suggestion(final, suggested, suggested - final, tuple(lines))


@dataclass(frozen=True)
class Calibrated:
    score: Decimal
    percent: Decimal


def calibrated(
    final: Decimal, delta: Decimal, smin: Decimal, smax: Decimal
) -> Calibrated:
    """Rule 4: clamp(final + δ) on the scale and its percent, unrounded."""
    score = clamp(final + delta, smin, smax)
    return Calibrated(score, (score - smin) / (smax - smin) * scoring.HUNDRED)


def final_of(snapshot: Mapping[str, object]) -> tuple[Decimal, Decimal, Decimal] | None:
    """The unrounded final score a stored snapshot reproduces, with its scale's
    lowest and highest point; None without a final. No query."""
    if not snapshot:
        return None
    cycle, plans = scoring.inputs_from_snapshot(dict(snapshot))
    final = scoring.score_appraisal(cycle, plans).final
    if final is None:
        return None
    return final, cycle.smin, cycle.smax
