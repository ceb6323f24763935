"""Competency heatmap of one cycle: the average rating of each competency (rows)
per business unit, job title or engagement type (columns), against the expected
level of the same ratings.

Ratings count from review evaluations that were submitted or approved (a draft is
not a rating yet), N/A left out. A cell with fewer than ``MIN_GROUP`` ratings shows
its count but no average (small groups would single people out). The colour is the
gap: average rating minus average expected level. One query: one row per
(competency, column), grouped from the ratings (``competency_heatmap``) or, for the
organisation's whole picture, from the rating tallies the database keeps
(``heatmap_from_tallies``: a few thousand rows per cycle instead of ~100,000 ratings
at 10,000 employees; ``reporting.tallies``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from appraisals.enums import EvaluationStatus
from appraisals.models import CompetencyRating, Evaluation
from reporting.figures.stats import MIN_GROUP, rounded
from reporting.filters import BY_BUSINESS_UNIT, BY_ENGAGEMENT_TYPE, BY_JOB_TITLE
from reporting.models import CompetencyTally
from reporting.scope import ids_in

RATED = (EvaluationStatus.SUBMITTED, EvaluationStatus.APPROVED)
COLUMN_FIELDS = {
    BY_BUSINESS_UNIT: "evaluation__employee__business_unit__name",
    BY_JOB_TITLE: "evaluation__employee__job_title__name",
    BY_ENGAGEMENT_TYPE: "evaluation__plan__engagement__engagement_type__name",
}
# Columns per page: a heatmap stays readable (and its page the same size) however
# many business units the organisation has; the "All" column counts every column.
COLUMNS_PER_PAGE = 12
TALLY_COLUMN_FIELDS = {
    BY_BUSINESS_UNIT: "business_unit__name",
    BY_JOB_TITLE: "job_title__name",
    BY_ENGAGEMENT_TYPE: "engagement_type__name",
}


@dataclass(frozen=True)
class Cell:
    count: int
    average: Decimal | None  # None below MIN_GROUP ratings
    expected: Decimal | None
    gap: Decimal | None  # average − expected

    @property
    def suppressed(self) -> bool:
        return 0 < self.count < MIN_GROUP

    @property
    def tone(self) -> str:
        """A CSS class for the gap: far below, below, at, above the expectation."""
        if self.gap is None:
            return "heat-none"
        if self.gap <= Decimal("-1"):
            return "heat-low2"
        if self.gap < Decimal("-0.25"):
            return "heat-low1"
        if self.gap < Decimal("0.25"):
            return "heat-even"
        if self.gap < Decimal("1"):
            return "heat-high1"
        return "heat-high2"


EMPTY = Cell(0, None, None, None)


@dataclass(frozen=True)
class Row:
    competency: str
    cells: list[Cell]
    total: Cell


@dataclass(frozen=True)
class Heatmap:
    columns: list[str]  # the page's columns
    rows: list[Row]  # cells of the page's columns; the total over every column
    column_by: str
    total: int = 0  # columns in all
    page: int = 1
    pages: int = 1

    @property
    def is_empty(self) -> bool:
        return not self.rows


def _cell(count: int, total: Decimal | None, expected: Decimal | None) -> Cell:
    if count == 0 or total is None:
        return Cell(count, None, None, None)
    if count < MIN_GROUP:
        return Cell(count, None, None, None)
    average = total / count
    gap = average - expected if expected is not None else None
    return Cell(count, rounded(average), rounded(expected), rounded(gap))


def competency_heatmap(
    reviews: QuerySet[Evaluation],
    column_by: str,
    *,
    narrow: bool = False,
    page: int = 1,
) -> Heatmap:
    """The heatmap of the competency ratings of ``reviews`` (scoped, filtered and
    narrowed to a cycle by the caller), columns by ``column_by``. ``narrow``: the
    reviews are a viewer's few (a manager's line, a reviewer's engagements), read
    first as a set of ids (``ids_in``); ``page``: which ``COLUMNS_PER_PAGE``
    columns. One query."""
    rated = reviews.filter(status__in=RATED).values("pk")
    rows = (
        CompetencyRating.objects.filter(
            ids_in("appraisals_competencyrating", "evaluation_id", rated)
            if narrow
            else Q(evaluation__in=rated),
            not_applicable=False,
            value__isnull=False,
        )
        .annotate(
            competency=F("plan_competency__competency__name"),
            column=F(COLUMN_FIELDS[column_by]),
        )
        .order_by()
        .values("competency", "column")
        .annotate(
            n=Count("pk"),
            total=Sum("value"),
            expected=Sum("plan_competency__expected_level"),
        )
    )
    return heatmap_of(rows, column_by, page)


def heatmap_from_tallies(
    tallies: QuerySet[CompetencyTally], column_by: str, *, page: int = 1
) -> Heatmap:
    """The same heatmap from the rating tallies ``tallies`` (one cycle's, narrowed
    by business unit or job title by the caller): every rating of the cycle counts.
    One query, over the cycle's tallies."""
    rows = (
        tallies.annotate(
            competency_name=F("competency__name"),
            column=F(TALLY_COLUMN_FIELDS[column_by]),
        )
        .order_by()
        .values("competency_name", "column")
        .annotate(n=Sum("n"), total=Sum("total"), expected=Sum("expected"))
        .values_list("competency_name", "column", "n", "total", "expected")
    )
    return heatmap_of(
        (
            {"competency": c, "column": col, "n": n, "total": t, "expected": e}
            for c, col, n, t, e in rows
        ),
        column_by,
        page,
    )


def heatmap_of(rows: Iterable[dict[str, Any]], column_by: str, page: int) -> Heatmap:
    """The heatmap from one row per (competency name, column name) with the count
    of ratings ``n``, their sum ``total`` and the sum of their expected levels."""
    none_label = {
        BY_BUSINESS_UNIT: _("No business unit"),
        BY_JOB_TITLE: _("No job title"),
        BY_ENGAGEMENT_TYPE: _("General plans"),
    }[column_by]
    found: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = {}
    for row in rows:
        if not row["n"]:
            continue
        key = (row["competency"], row["column"] or none_label)
        n, total, expected = found.get(key, (0, Decimal(0), Decimal(0)))
        found[key] = (
            n + row["n"],
            total + Decimal(str(row["total"])),
            expected + Decimal(str(row["expected"])),
        )
    columns = sorted(
        {c for _, c in found}, key=lambda c: (c == none_label, c.casefold())
    )
    pages = max(1, -(-len(columns) // COLUMNS_PER_PAGE))
    page = min(max(1, page), pages)
    shown = columns[(page - 1) * COLUMNS_PER_PAGE : page * COLUMNS_PER_PAGE]
    totals: dict[str, list[Any]] = {}
    for (competency, _column), (n, total, expected) in found.items():
        sums = totals.setdefault(competency, [0, Decimal(0), Decimal(0)])
        sums[0] += n
        sums[1] += total
        sums[2] += expected
    result = []
    for competency in sorted(totals, key=str.casefold):
        cells = []
        for column in shown:
            key = (competency, column)
            if key not in found:
                cells.append(EMPTY)
                continue
            n, total, expected = found[key]
            cells.append(_cell(n, total, expected / n))
        n_all, sum_all, exp_all = totals[competency]
        total_cell = _cell(n_all, sum_all, exp_all / n_all)
        result.append(Row(competency=competency, cells=cells, total=total_cell))
    return Heatmap(
        columns=shown,
        rows=result,
        column_by=column_by,
        total=len(columns),
        page=page,
        pages=pages,
    )
