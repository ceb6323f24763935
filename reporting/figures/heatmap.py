"""Competency heatmap of one cycle: the average rating of each competency (rows)
per business unit, job title or engagement type (columns), against the expected
level of the same ratings.

Ratings count from review evaluations that were submitted or approved (a draft is
not a rating yet), N/A left out. A cell with fewer than ``MIN_GROUP`` ratings shows
its count but no average (small groups would single people out). The colour is the
gap: average rating minus average expected level. One query: one row per
(competency, column).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from appraisals.enums import EvaluationStatus
from appraisals.models import CompetencyRating, Evaluation
from reporting.figures.stats import MIN_GROUP, rounded
from reporting.filters import BY_BUSINESS_UNIT, BY_ENGAGEMENT_TYPE, BY_JOB_TITLE
from reporting.scope import ids_in

RATED = (EvaluationStatus.SUBMITTED, EvaluationStatus.APPROVED)
COLUMN_FIELDS = {
    BY_BUSINESS_UNIT: "evaluation__employee__business_unit__name",
    BY_JOB_TITLE: "evaluation__employee__job_title__name",
    BY_ENGAGEMENT_TYPE: "evaluation__plan__engagement__engagement_type__name",
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
    columns: list[str]
    rows: list[Row]
    column_by: str

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
    reviews: QuerySet[Evaluation], column_by: str, *, narrow: bool = False
) -> Heatmap:
    """The heatmap of the competency ratings of ``reviews`` (scoped, filtered and
    narrowed to a cycle by the caller), columns by ``column_by``. ``narrow``: the
    reviews are a viewer's few (a manager's line, a reviewer's engagements), read
    first as a set of ids (``ids_in``). One query."""
    field = COLUMN_FIELDS[column_by]
    rated = reviews.filter(status__in=RATED).values("pk")
    rows = (
        CompetencyRating.objects.filter(
            ids_in("appraisals_competencyrating", "evaluation_id", rated)
            if narrow
            else Q(evaluation__in=rated),
            not_applicable=False,
            value__isnull=False,
        )
        .annotate(competency=F("plan_competency__competency__name"), column=F(field))
        .order_by()
        .values("competency", "column")
        .annotate(
            n=Count("pk"),
            total=Sum("value"),
            expected=Avg("plan_competency__expected_level"),
        )
    )
    none_label = {
        BY_BUSINESS_UNIT: _("No business unit"),
        BY_JOB_TITLE: _("No job title"),
        BY_ENGAGEMENT_TYPE: _("General plans"),
    }[column_by]
    found: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = {}
    for row in rows:
        column = row["column"] or none_label
        found[(row["competency"], column)] = (
            row["n"],
            Decimal(str(row["total"])),
            Decimal(str(row["expected"])),
        )
    columns = sorted(
        {c for _, c in found}, key=lambda c: (c == none_label, c.casefold())
    )
    competencies = sorted({c for c, _ in found}, key=str.casefold)
    result = []
    for competency in competencies:
        cells, n_all, sum_all, exp_all = [], 0, Decimal(0), Decimal(0)
        for column in columns:
            key = (competency, column)
            if key not in found:
                cells.append(EMPTY)
                continue
            n, total, expected = found[key]
            cells.append(_cell(n, total, expected))
            if n:
                n_all += n
                sum_all += total
                exp_all += expected * n
        total_cell = _cell(n_all, sum_all, exp_all / n_all if n_all else None)
        result.append(Row(competency=competency, cells=cells, total=total_cell))
    return Heatmap(columns=columns, rows=result, column_by=column_by)
