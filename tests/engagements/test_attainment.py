"""Attainment: actual against target in percent, honouring the direction, allowed above
100 %, empty without both values, and defined when a denominator is zero."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagements.enums import Direction
from engagements.models import Goal, attainment

HIGHER = Direction.HIGHER
LOWER = Direction.LOWER


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@pytest.mark.parametrize(
    ("target", "actual", "expected"),
    [
        ("10", "12", "120.0"),
        ("10", "10", "100.0"),
        ("10", "5", "50.0"),
        ("3", "1", "33.3"),
        ("3", "2", "66.7"),
        ("200", "0", "0.0"),
        ("0.5", "2", "400.0"),
    ],
)
def test_attainment_when_higher_is_better_is_actual_over_target(
    target, actual, expected
):
    assert attainment(_d(target), _d(actual), HIGHER) == Decimal(expected)


@pytest.mark.parametrize(
    ("target", "actual", "expected"),
    [
        ("5", "4", "125.0"),
        ("5", "5", "100.0"),
        ("5", "10", "50.0"),
        ("2", "3", "66.7"),
        ("48", "24", "200.0"),
    ],
)
def test_attainment_when_lower_is_better_is_target_over_actual(
    target, actual, expected
):
    assert attainment(_d(target), _d(actual), LOWER) == Decimal(expected)


def test_attainment_above_target_exceeds_100_in_both_directions():
    assert (
        attainment(Decimal("10"), Decimal("12"), HIGHER),
        attainment(Decimal("5"), Decimal("4"), LOWER),
    ) == (Decimal("120.0"), Decimal("125.0"))


@pytest.mark.parametrize("direction", [HIGHER, LOWER])
@pytest.mark.parametrize(("target", "actual"), [(None, "5"), ("5", None), (None, None)])
def test_attainment_without_both_values_is_none(direction, target, actual):
    assert attainment(_d(target), _d(actual), direction) is None


@pytest.mark.parametrize(
    ("target", "actual", "direction", "expected"),
    [
        # Higher is better, target 0: any non-negative actual meets it.
        ("0", "0", HIGHER, "100"),
        ("0", "7", HIGHER, "100"),
        ("0", "-1", HIGHER, "0"),
        # Lower is better, actual 0: it beats any non-negative target.
        ("3", "0", LOWER, "100"),
        ("0", "0", LOWER, "100"),
        ("-2", "0", LOWER, "0"),
    ],
)
def test_attainment_with_a_zero_denominator_is_met_or_not(
    target, actual, direction, expected
):
    assert attainment(_d(target), _d(actual), direction) == Decimal(expected)


def test_attainment_of_lower_is_better_with_zero_target_and_positive_actual_is_zero():
    assert attainment(Decimal("0"), Decimal("4"), LOWER) == Decimal("0.0")


def test_goal_attainment_uses_its_own_target_actual_and_direction():
    goal = Goal(target_value=Decimal("8"), actual_value=Decimal("10"), direction=LOWER)

    assert goal.attainment == Decimal("80.0")


def test_goal_attainment_without_an_actual_is_none():
    goal = Goal(target_value=Decimal("8"), actual_value=None, direction=HIGHER)

    assert goal.attainment is None


POSITIVE = st.decimals(
    min_value=Decimal("0.01"),
    max_value=Decimal("1000000"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@given(target=POSITIVE, actual=POSITIVE)
def test_attainment_directions_mirror_each_other(target, actual):
    assert attainment(target, actual, HIGHER) == attainment(actual, target, LOWER)


@given(target=POSITIVE, actual=POSITIVE)
def test_attainment_is_at_least_100_exactly_when_the_target_is_met(target, actual):
    met_higher = attainment(target, actual, HIGHER) >= 100
    met_lower = attainment(target, actual, LOWER) >= 100

    # Rounding to one decimal can lift a near miss to 100.0; it never lowers a hit.
    assert (met_higher or actual < target, met_lower or actual > target) == (
        True,
        True,
    )
