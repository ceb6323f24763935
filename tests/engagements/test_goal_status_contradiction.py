"""A goal's status contradicts its numbers: "Missed" at or above target, "Achieved"
well below it; without an attainment the self-reported progress decides."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engagements.enums import Direction, GoalStatus
from engagements.models import Goal


def _goal(
    status: str, actual: str | None, progress: int = 50, target: str | None = "10"
) -> Goal:
    return Goal(
        status=status,
        target_value=None if target is None else Decimal(target),
        actual_value=None if actual is None else Decimal(actual),
        direction=Direction.HIGHER,
        progress=progress,
    )


@pytest.mark.parametrize(
    ("status", "actual", "expected"),
    [
        (
            GoalStatus.MISSED,
            "12",
            "Marked missed, but the actual reaches 120 % of the target.",
        ),
        (
            GoalStatus.MISSED,
            "10",
            "Marked missed, but the actual reaches 100 % of the target.",
        ),
        (
            GoalStatus.ACHIEVED,
            "5",
            "Marked achieved, but the actual reaches only 50 % of the target.",
        ),
        (
            GoalStatus.ACHIEVED,
            "8.99",
            "Marked achieved, but the actual reaches only 89.9 % of the target.",
        ),
    ],
)
def test_status_contradiction_names_the_attainment(status, actual, expected):
    assert _goal(status, actual).status_contradiction() == expected


@pytest.mark.parametrize(
    ("status", "actual"),
    [
        (GoalStatus.MISSED, "9.99"),
        (GoalStatus.ACHIEVED, "9"),
        (GoalStatus.ACHIEVED, "15"),
        (GoalStatus.ON_TRACK, "2"),
        (GoalStatus.AT_RISK, "20"),
        (GoalStatus.BEHIND, "20"),
        (GoalStatus.NOT_STARTED, "20"),
    ],
)
def test_status_contradiction_is_none_when_status_and_attainment_agree(status, actual):
    assert _goal(status, actual).status_contradiction() is None


@pytest.mark.parametrize(
    ("status", "progress", "expected"),
    [
        (GoalStatus.MISSED, 100, "Marked missed, but the progress is complete."),
        (GoalStatus.MISSED, 99, None),
        (GoalStatus.ACHIEVED, 55, "Marked achieved, but the progress is only 55 %."),
        (GoalStatus.ACHIEVED, 90, None),
    ],
)
def test_status_contradiction_without_attainment_reads_the_progress(
    status, progress, expected
):
    goal = _goal(status, actual=None, progress=progress)

    assert goal.status_contradiction() == expected


def test_status_contradiction_honours_lower_is_better():
    goal = _goal(GoalStatus.MISSED, actual="4", target="5")
    goal.direction = Direction.LOWER

    assert goal.status_contradiction() == (
        "Marked missed, but the actual reaches 125 % of the target."
    )
