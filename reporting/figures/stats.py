"""Pure arithmetic over grouped counts: summaries and bins of a distribution, from
``{value: how many}`` rather than one row per person, so the database returns at
most one row per distinct score (two decimals on a short scale: a few hundred).

Figures are ``Decimal`` rounded half-up to 2 places, like every stored score
(docs/scoring.md); every step uses the unrounded values of the step before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

TWO_PLACES = Decimal("0.01")
# Fewer ratings or authors than this in a group: the group shows no average
# (docs/reporting.md, "Small groups").
MIN_GROUP = 3


def rounded(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Summary:
    count: int
    mean: Decimal | None
    median: Decimal | None
    stdev: Decimal | None  # population standard deviation


def summarise(counts: Mapping[Decimal, int]) -> Summary:
    """Count, mean, median and standard deviation of the values ``counts`` holds
    (value → how many times). Empty values give an empty summary."""
    total = sum(counts.values())
    if total == 0:
        return Summary(0, None, None, None)
    mean = sum((v * n for v, n in counts.items()), Decimal(0)) / total
    variance = sum((n * (v - mean) ** 2 for v, n in counts.items()), Decimal(0)) / total
    return Summary(
        count=total,
        mean=rounded(mean),
        median=rounded(median(counts)),
        stdev=rounded(variance.sqrt()),
    )


def median(counts: Mapping[Decimal, int]) -> Decimal | None:
    """The median of grouped values: the middle value, or the mean of the two
    middle values of an even count."""
    total = sum(counts.values())
    if total == 0:
        return None
    positions = ((total - 1) // 2, total // 2)  # zero-based, equal when odd
    found: list[Decimal] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(found) < 2 and seen > positions[len(found)]:
            found.append(value)
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


@dataclass(frozen=True)
class Bin:
    low: Decimal
    high: Decimal
    count: int
    last: bool  # the last bin includes its upper edge

    @property
    def label(self) -> str:
        return f"{self.low:g}–{self.high:g}"


def edges(low: Decimal, high: Decimal, bins: int) -> list[Decimal]:
    """``bins + 1`` equally spaced edges from ``low`` to ``high``."""
    width = (high - low) / bins
    return [low + width * i for i in range(bins)] + [high]


def binned(counts: Mapping[Decimal, int], bounds: Sequence[Decimal]) -> list[Bin]:
    """How many values fall into each interval of ``bounds``: [a, b) each, the last
    [a, b]. Values outside every interval are left out."""
    result = []
    last_index = len(bounds) - 2
    for i, (low, high) in enumerate(pairwise(bounds)):
        last = i == last_index
        n = sum(
            count
            for value, count in counts.items()
            if low <= value < high or (last and value == high)
        )
        result.append(Bin(low=low, high=high, count=n, last=last))
    return result


def merge(rows: Iterable[tuple[Decimal | None, int]]) -> dict[Decimal, int]:
    """``{value: count}`` from (value, count) rows, empty values left out."""
    counts: dict[Decimal, int] = {}
    for value, n in rows:
        if value is not None:
            counts[value] = counts.get(value, 0) + n
    return counts
