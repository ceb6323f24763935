"""Trends across cycles: the average final score per cycle, for the organisation
(what the viewer may count) and per business unit, and one person's final score per
cycle.

A score counts when it is stored; scores of appraisals still open are provisional
and the tables say so. Cycles appear in the order of their start, only those with
scores. One query for the groups (``score_trends`` groups the appraisals it is given;
``trends_from_tallies`` reads the whole organisation's from the score tallies the
database keeps, ``models.ScoreTally``: a few hundred rows per cycle), one for a
person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal
from reporting.figures.stats import rounded
from reporting.models import ScoreTally


@dataclass(frozen=True)
class Point:
    cycle: str
    mean: Decimal | None
    count: int
    provisional: int  # of ``count``, appraisals still open


@dataclass(frozen=True)
class Line:
    name: str
    points: list[Point]  # one per cycle of ``Trends.cycles``, empty ones included


@dataclass(frozen=True)
class Trends:
    cycles: list[str]
    overall: Line
    by_business_unit: list[Line]

    @property
    def is_empty(self) -> bool:
        return not self.cycles

    @property
    def lines(self) -> list[Line]:
        return [self.overall, *self.by_business_unit]


def _points(
    cycles: list[tuple[int, str]], found: dict[int, tuple[Decimal, int, int]]
) -> list[Point]:
    points = []
    for cycle_id, name in cycles:
        total, n, provisional = found.get(cycle_id, (Decimal(0), 0, 0))
        points.append(
            Point(
                cycle=name,
                mean=rounded(total / n) if n else None,
                count=n,
                provisional=provisional,
            )
        )
    return points


def score_trends(appraisals: QuerySet[Appraisal]) -> Trends:
    """Average final score per cycle of ``appraisals`` (scoped and filtered by the
    caller, every cycle), overall and per business unit. One query: one row per
    (cycle, business unit)."""
    return trends_of(
        appraisals.filter(final_score__isnull=False)
        .order_by()
        .values_list(
            "cycle_id",
            "cycle__name",
            "cycle__start_date",
            "employee__business_unit__name",
        )
        .annotate(
            total=Sum("final_score"),
            n=Count("pk"),
            provisional=Count("pk", filter=Q(status=AppraisalStatus.OPEN)),
        )
    )


def trends_from_tallies(tallies: QuerySet[ScoreTally]) -> Trends:
    """The same trends from the score tallies ``tallies`` (the organisation's,
    narrowed by business unit or job title by the caller). One query."""
    return trends_of(
        tallies.order_by()
        .values_list(
            "cycle_id",
            "cycle__name",
            "cycle__start_date",
            "business_unit__name",
        )
        .annotate(
            total=Sum("total"),
            n=Sum("scored"),
            provisional=Coalesce(
                Sum("scored", filter=Q(status=AppraisalStatus.OPEN)), 0
            ),
        )
    )


def trends_of(grouped: Iterable[tuple[Any, ...]]) -> Trends:
    """The trends from one row per (cycle, business unit): cycle id, name and start,
    unit name, sum of final scores, how many, how many provisional."""
    rows = list(grouped)
    cycles = sorted({(start, pk, name) for pk, name, start, *_ in rows})
    ordered = [(pk, name) for _, pk, name in cycles]
    overall: dict[int, list] = defaultdict(lambda: [Decimal(0), 0, 0])
    units: dict[str, dict[int, tuple[Decimal, int, int]]] = defaultdict(dict)
    no_unit = _("No business unit")
    for cycle_id, _name, _start, unit, total, n, provisional in rows:
        total = Decimal(str(total))
        units[unit or no_unit][cycle_id] = (total, n, provisional)
        sums = overall[cycle_id]
        sums[0] += total
        sums[1] += n
        sums[2] += provisional
    return Trends(
        cycles=[name for _, name in ordered],
        overall=Line(
            name=_("Everyone counted"),
            points=_points(ordered, {k: tuple(v) for k, v in overall.items()}),
        ),
        by_business_unit=[
            Line(name=unit, points=_points(ordered, units[unit]))
            for unit in sorted(units, key=lambda u: (u == no_unit, u.casefold()))
        ],
    )


def person_trend(appraisals: QuerySet[Appraisal]) -> list[Point]:
    """One person's final score per cycle: ``appraisals`` are theirs (scoped by the
    caller). One query."""
    rows = (
        appraisals.filter(final_score__isnull=False)
        .order_by("cycle__start_date", "cycle_id")
        .values_list("cycle__name", "final_score", "status")
    )
    return [
        Point(
            cycle=name,
            mean=score,
            count=1,
            provisional=int(status == AppraisalStatus.OPEN),
        )
        for name, score, status in rows
    ]
