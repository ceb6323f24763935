"""Hypothesis properties of the calibration rules (``appraisals.calibration``,
docs/scoring.md "Calibration").

The shift property, derived. With, per item ``i``, ``N_i`` ratings summing to ``S_i``
in all and ``n_Y,i`` of them summing to ``s_Y,i`` by reviewer Y, rule 1 is::

    b_Y = Σ_i (s_Y,i − n_Y,i × (S_i − s_Y,i) / (N_i − n_Y,i)) / n_Y,
    n_Y = Σ_i n_Y,i, both over the items with N_i > n_Y,i.

Add a constant c to every rating of one reviewer X. No count changes, so the items
compared and every n stay as they were; ``s_X,i`` and ``S_i`` grow by ``c × n_X,i``.

- For X, ``S_i − s_X,i`` (the others' sum) is unchanged and each term grows by
  ``c × n_X,i``: ``b_X`` grows by ``c × Σ_i n_X,i / n_X = c`` exactly.
- For any other Y, ``s_Y,i`` is unchanged and ``S_i − s_Y,i`` grows by ``c × n_X,i``,
  so each term falls by ``c × n_Y,i × n_X,i / (N_i − n_Y,i)``::

      b_Y' − b_Y = −c × Σ_i n_Y,i × n_X,i / (N_i − n_Y,i) / n_Y

  over Y's compared items (those X did not rate add nothing: ``n_X,i = 0``). A
  reviewer sharing no item with X keeps their leniency.

The tests check both as exact ``Fraction`` equalities.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appraisals import calibration, scores, scoring
from appraisals.calibration import ItemTally
from appraisals.enums import CalibrationScope, EvaluationStatus
from appraisals.models import (
    Appraisal,
    CalibrationAdjustment,
    CalibrationSession,
    CompetencyRating,
)
from appraisals.scoring import CycleInput, PlanInput
from appraisals.services import calibration as services
from organizations.enums import Role
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisals.test_calibration_rules import World, build_world
from tests.appraisals.test_scoring_rules import appraisal_inputs, close

D = Decimal

# (reviewer, item, rating): ratings on a 1–5 scale in half points.
Rating = tuple[int, str, Decimal]


@st.composite
def cycle_ratings(draw: st.DrawFn) -> list[Rating]:
    """The approved ratings of a cycle: up to 5 reviewers over up to 4 items."""
    return draw(
        st.lists(
            st.tuples(
                st.integers(0, 4),
                st.sampled_from(["c:1", "c:2", "c:3", "g:4.0"]),
                st.integers(2, 10).map(lambda half: D(half) / 2),
            ),
            max_size=40,
        )
    )


def tallied(ratings: list[Rating]) -> list[ItemTally]:
    """The ratings as ``leniency_tallies`` gives them: one row per reviewer and item,
    in the order they first appear."""
    rows: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for reviewer, item, value in ratings:
        rows[reviewer, item].append(value)
    return [
        ItemTally(
            reviewer,
            item,
            len(values),
            sum(values, D(0)),
            sum((v * v for v in values), D(0)),
        )
        for (reviewer, item), values in rows.items()
    ]


def moved_by(tallies: list[ItemTally], x: int, y: int) -> Fraction:
    """Σ_i n_Y,i × n_X,i / (N_i − n_Y,i) / n_Y over Y's compared items: how far b_Y
    falls per unit added to X's ratings (the module docstring)."""
    count: dict[tuple[int, str], int] = {
        (t.reviewer_id, t.item): t.count for t in tallies
    }
    total: dict[str, int] = defaultdict(int)
    for t in tallies:
        total[t.item] += t.count
    compared = [
        t for t in tallies if t.reviewer_id == y and total[t.item] > t.count > 0
    ]
    n_y = sum(t.count for t in compared)
    return (
        sum(
            (
                Fraction(t.count * count.get((x, t.item), 0), total[t.item] - t.count)
                for t in compared
            ),
            Fraction(0),
        )
        / n_y
    )


@given(
    cycle_ratings(),
    st.integers(0, 4),
    st.decimals(min_value=D("0.01"), max_value=D(3), places=2),
)
def test_adding_c_to_one_reviewer_moves_leniencies_by_the_formula(
    ratings: list[Rating], x: int, c: Decimal
) -> None:
    before_tallies = tallied(ratings)
    after_tallies = tallied([(r, i, v + c if r == x else v) for r, i, v in ratings])

    before = calibration.raw_leniency(before_tallies)
    after = calibration.raw_leniency(after_tallies)

    assert after.keys() == before.keys()
    for reviewer, (b, n) in before.items():
        moved = after[reviewer][0] - b
        assert after[reviewer][1] == n
        if reviewer == x:
            assert moved == Fraction(c)
        else:
            assert moved == -Fraction(c) * moved_by(before_tallies, x, reviewer)


@given(cycle_ratings(), st.integers(0, 4))
def test_a_reviewer_sharing_no_item_keeps_their_leniency(
    ratings: list[Rating], x: int
) -> None:
    mine = {item for r, item, _ in ratings if r == x}
    lifted = [(r, i, v + 1 if r == x else v) for r, i, v in ratings]

    before = calibration.raw_leniency(tallied(ratings))
    after = calibration.raw_leniency(tallied(lifted))

    for reviewer in before:
        shared = {i for r, i, _ in ratings if r == reviewer} & mine
        if reviewer != x and not shared:
            assert after[reviewer] == before[reviewer]


@given(cycle_ratings(), st.integers(0, 30))
def test_shrunk_leniency_is_between_zero_and_raw(ratings: list[Rating], k: int) -> None:
    result = calibration.leniency(tallied(ratings), k)

    for figures in result.values():
        if figures.too_few or figures.raw is None:
            assert figures.shrunk == 0
        else:
            assert abs(figures.shrunk) <= abs(figures.raw)
            assert figures.shrunk * figures.raw >= 0
            exact = Fraction(figures.raw) * figures.compared / (figures.compared + k)
            assert abs(Fraction(figures.shrunk) - exact) < Fraction(1, 10**20)


@given(cycle_ratings(), st.randoms(use_true_random=False))
def test_leniency_does_not_depend_on_the_order_of_ratings(
    ratings: list[Rating], rng: random.Random
) -> None:
    shuffled = list(ratings)
    rng.shuffle(shuffled)
    tallies = tallied(ratings)
    reordered = list(reversed(tallied(shuffled)))

    assert calibration.raw_leniency(reordered) == calibration.raw_leniency(tallies)
    assert calibration.leniency(reordered) == calibration.leniency(tallies)


# --- Suggestions and calibrated finals -------------------------------------------


def reviewers_of(plans: list[PlanInput]) -> dict[int, int | None]:
    """Plan i reviewed by reviewer i % 3, the general plan (id 0) by nobody known."""
    return {p.plan_id: (p.plan_id % 3 or None) for p in plans}


@settings(max_examples=50)
@given(appraisal_inputs())
def test_with_every_shift_zero_the_suggestion_is_zero(
    case: tuple[CycleInput, list[PlanInput]],
) -> None:
    cycle, plans = case
    reviewers = reviewers_of(plans)

    zero = calibration.suggest(cycle, plans, reviewers, dict.fromkeys(range(3), D(0)))
    empty = calibration.suggest(cycle, plans, reviewers, {})

    if scoring.score_appraisal(cycle, plans).final is None:
        assert zero is None
        assert empty is None
    else:
        assert zero is not None
        assert empty is not None
        assert zero.delta == empty.delta == 0
        assert zero.suggested == zero.final


SHIFTS = st.dictionaries(
    st.integers(0, 2),
    st.decimals(min_value=D(-10), max_value=D(10), places=4),
)


@settings(max_examples=50)
@given(appraisal_inputs(), SHIFTS)
def test_suggested_finals_stay_within_the_scale(
    case: tuple[CycleInput, list[PlanInput]], shifts: dict[int, Decimal]
) -> None:
    cycle, plans = case

    suggestion = calibration.suggest(cycle, plans, reviewers_of(plans), shifts)

    if suggestion is not None:
        assert cycle.smin <= suggestion.suggested <= cycle.smax
        assert suggestion.delta == suggestion.suggested - suggestion.final
        for plan in suggestion.plans:
            assert cycle.smin <= plan.corrected <= cycle.smax


SCALES = st.sampled_from([(D(1), D(5)), (D(0), D(4)), (D(1), D(10)), (D(1), D(7))])


@given(
    SCALES,
    st.integers(0, 1000),
    st.decimals(min_value=D(-100), max_value=D(100), places=6),
)
def test_calibrated_finals_stay_within_the_scale(
    scale: tuple[Decimal, Decimal], at: int, delta: Decimal
) -> None:
    smin, smax = scale
    final = smin + (smax - smin) * at / 1000

    result = calibration.calibrated(final, delta, smin, smax)

    assert smin <= result.score <= smax
    assert D(0) <= result.percent <= D(100)
    rounded = scoring.round2(result.score)
    assert rounded is not None
    assert smin <= rounded <= smax
    if smin <= final + delta <= smax:
        assert result.score == final + delta


@settings(max_examples=50)
@given(appraisal_inputs(), SHIFTS, st.randoms(use_true_random=False))
def test_suggestion_does_not_depend_on_the_order_of_plans_and_ratings(
    case: tuple[CycleInput, list[PlanInput]],
    shifts: dict[int, Decimal],
    rng: random.Random,
) -> None:
    cycle, plans = case
    shuffle = rng.shuffle
    shuffled = []
    for plan in plans:
        goals, competencies = list(plan.goals), list(plan.competencies)
        shuffle(goals)
        shuffle(competencies)
        shuffled.append(
            replace(plan, goals=tuple(goals), competencies=tuple(competencies))
        )
    shuffle(shuffled)
    reviewers = reviewers_of(plans)

    first = calibration.suggest(cycle, plans, reviewers, shifts)
    second = calibration.suggest(cycle, shuffled, reviewers, shifts)

    assert (first is None) == (second is None)
    if first is not None and second is not None:
        assert close(first.final, second.final)
        assert close(first.suggested, second.suggested)
        assert close(first.delta, second.delta)


# An adjustment as ``Appraisal.calibration_delta`` stores it: 24 decimal places.
STORED = D(10) ** -24


@settings(max_examples=50)
@given(appraisal_inputs(), SHIFTS, st.data())
def test_an_accepted_delta_survives_a_recompute(
    case: tuple[CycleInput, list[PlanInput]],
    shifts: dict[int, Decimal],
    data: st.DataObject,
) -> None:
    """Pure: δ of a suggestion, stored and read back, applied to the final of a
    recompute after a rating changed, is still δ (the calibrated final follows the
    new final, clamped). ``test_accepting_then_recomputing_keeps_delta`` goes
    through the services and the database."""
    cycle, plans = case
    suggestion = calibration.suggest(cycle, plans, reviewers_of(plans), shifts)
    if suggestion is None:
        return
    stored = suggestion.delta.quantize(STORED)
    snapshot = scoring.snapshot(cycle, plans, scoring.score_appraisal(cycle, plans))
    index = data.draw(st.integers(0, len(plans) - 1))
    steps = int((cycle.smax - cycle.smin) * 2)
    new_rating = cycle.smin + D(data.draw(st.integers(0, steps))) / 2
    changed = list(plans)
    changed[index] = replace(
        plans[index],
        goals=(*plans[index].goals, scoring.Rated(D(1), new_rating)),
    )
    recomputed = scoring.snapshot(
        cycle, changed, scoring.score_appraisal(cycle, changed)
    )

    found = calibration.final_of(recomputed)
    before = calibration.final_of(snapshot)

    assert before is not None
    assert found is not None
    assert abs(stored - suggestion.delta) <= STORED / 2
    final, smin, smax = found
    result = calibration.calibrated(final, stored, smin, smax)
    assert result.score == calibration.clamp(final + stored, smin, smax)
    if smin < result.score < smax:
        assert close(result.score - final, stored)


# --- Through the database ------------------------------------------------------------


@dataclass
class Accepted:
    """The worked example (tests/appraisals/test_calibration_rules.py) with scores,
    an HR admin and an open session over the organisation."""

    org: Organization
    world: World
    hr: Membership
    session: CalibrationSession


@pytest.fixture
def accepted(org: Organization, make_member: Callable[..., Membership]) -> Accepted:
    world = build_world(org)
    hr = make_member(org, Role.HR_ADMIN)
    with tenant_context(org):
        scores.recompute_appraisals(
            list(
                Appraisal.objects.filter(cycle=world.cycle).values_list("pk", flat=True)
            )
        )
        session = services.open_session(
            actor=hr,
            cycle=world.cycle,
            name="H1 calibration",
            scope=CalibrationScope.ORGANIZATION,
        )
    return Accepted(org, world, hr, session)


@pytest.mark.django_db
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    person=st.sampled_from(["ada", "ben"]),
    which=st.integers(0, 20),
    value=st.integers(1, 5),
)
def test_accepting_then_recomputing_keeps_delta(
    accepted: Accepted, person: str, which: int, value: int
) -> None:
    """Accept the suggestion for Ada or Ben, change one of their approved ratings,
    recompute: the adjustment in force and ``calibration_delta`` are unchanged, and
    the calibrated figures are clamp(new unrounded final + δ) and its percent. Each
    example runs in a savepoint rolled back at its end."""
    appraisal: Appraisal = getattr(accepted.world, person)
    with tenant_context(accepted.org), transaction.atomic():
        adjustment = services.accept_suggestion(
            actor=accepted.hr, session=accepted.session, appraisal=appraisal
        )
        ratings = list(
            CompetencyRating.objects.filter(
                evaluation__appraisal=appraisal,
                evaluation__status=EvaluationStatus.APPROVED,
                value__isnull=False,
            ).order_by("pk")
        )
        rating = ratings[which % len(ratings)]
        CompetencyRating.objects.filter(pk=rating.pk).update(value=D(value))
        scores.recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
        in_force = CalibrationAdjustment.objects.get(
            appraisal=appraisal, removed_at__isnull=True
        )
        transaction.set_rollback(True)

    found = calibration.final_of(appraisal.snapshot)
    assert found is not None
    final, smin, smax = found
    expected = calibration.calibrated(final, adjustment.delta, smin, smax)
    assert in_force.pk == adjustment.pk
    assert appraisal.calibration_delta == adjustment.delta
    assert (appraisal.calibrated_score, appraisal.calibrated_percent) == (
        scoring.round2(expected.score),
        scoring.round2(expected.percent),
    )
