"""Reviewer consistency of one cycle (HR only): per reviewer, how many reviews they
wrote, the mean and spread of their competency ratings, and their **bias**: their
mean minus the organisation's mean on the same competencies, each competency
weighted by how many of its ratings the reviewer gave. A positive bias is lenient,
a negative one harsh. The groundwork for calibration (docs/scoring.md, 5b).

Ratings count from submitted or approved reviews, N/A left out. Every figure
follows exactly from one row per (reviewer, competency) with the count, sum and sum
of squares of the ratings:

- ``reviewer_consistency`` groups them from the ratings (two queries: the reviews
  per reviewer, and the grouped ratings), for a narrowed set of reviews;
- ``consistency_from_tallies`` reads them from the rating tallies the database keeps
  (``reporting.tallies``), for the whole cycle: three queries (the competencies'
  means; the page of reviewers, ranked in SQL over one row per reviewer and
  competency, ~9,000 rows per cycle at 10,000 employees instead of ~100,000
  ratings; the reviews of the page's reviewers).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum

from appraisals.enums import EvaluationKind
from appraisals.models import CompetencyRating, Evaluation
from engagements.models import Plan, ReviewCycle
from organizations.tenancy import current_organization_id
from reporting.figures.heatmap import RATED
from reporting.figures.stats import rounded


@dataclass(frozen=True)
class ReviewerRow:
    employee_id: int
    name: str
    reviews: int
    ratings: int
    mean: Decimal | None
    spread: Decimal | None  # population standard deviation of their ratings
    bias: Decimal | None


PAGE_SIZE = 25


@dataclass(frozen=True)
class Consistency:
    rows: list[ReviewerRow]  # the page's reviewers, most lenient first
    organisation_mean: Decimal | None
    ratings: int
    total: int = 0  # reviewers in all
    page: int = 1
    pages: int = 1

    @property
    def is_empty(self) -> bool:
        return not self.rows

    @property
    def widest_bias(self) -> Decimal:
        """The largest absolute bias, for scaling the bars (at least 0.01)."""
        return max(
            [abs(r.bias) for r in self.rows if r.bias is not None] + [Decimal("0.01")]
        )


def reviewer_consistency(
    reviews: QuerySet[Evaluation], *, page: int = 1, per_page: int = PAGE_SIZE
) -> Consistency:
    """The consistency figures of the reviewers of ``reviews`` (narrowed to a cycle
    by the caller), most lenient first, one page of ``per_page``. Two queries."""
    rated = reviews.filter(status__in=RATED, reviewer__isnull=False)
    counts = dict(rated.order_by().values_list("reviewer_id").annotate(n=Count("pk")))
    rows = list(
        CompetencyRating.objects.filter(
            evaluation__in=rated.values("pk"),
            not_applicable=False,
            value__isnull=False,
        )
        .order_by()
        .values_list(
            "evaluation__reviewer_id",
            "evaluation__reviewer__full_name",
            "plan_competency__competency_id",
        )
        .annotate(
            n=Count("pk"),
            total=Sum("value"),
            squares=Sum(F("value") * F("value")),
        )
    )
    by_competency: dict[int, list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)]
    )
    for _, _, competency, n, total, _ in rows:
        by_competency[competency][0] += n
        by_competency[competency][1] += Decimal(str(total))
    competency_mean = {c: total / n for c, (n, total) in by_competency.items()}

    per_reviewer: dict[int, dict[str, Decimal]] = defaultdict(
        lambda: {
            "n": Decimal(0),
            "total": Decimal(0),
            "squares": Decimal(0),
            "expected": Decimal(0),
        }
    )
    names: dict[int, str] = {}
    for reviewer, name, competency, n, total, squares in rows:
        figures = per_reviewer[reviewer]
        names[reviewer] = name
        figures["n"] += n
        figures["total"] += Decimal(str(total))
        figures["squares"] += Decimal(str(squares))
        figures["expected"] += competency_mean[competency] * n
    result = [
        _row(
            reviewer,
            names[reviewer],
            counts.get(reviewer, 0),
            int(f["n"]),
            (f["total"], f["squares"], f["expected"]),
        )
        for reviewer, f in per_reviewer.items()
    ]
    result.sort(key=lambda r: (-(r.bias or 0), r.name.lower(), r.employee_id))
    all_n = sum(n for n, _ in by_competency.values())
    all_total = sum((t for _, t in by_competency.values()), Decimal(0))
    pages = max(1, -(-len(result) // per_page))
    page = min(max(1, page), pages)
    return Consistency(
        rows=result[(page - 1) * per_page : page * per_page],
        organisation_mean=rounded(all_total / all_n) if all_n else None,
        ratings=int(all_n),
        total=len(result),
        page=page,
        pages=pages,
    )


def _row(
    reviewer: int, name: str, reviews: int, n: int, figures: tuple[Decimal, ...]
) -> ReviewerRow:
    total, squares, expected = figures
    mean = total / n
    variance = max(squares / n - mean * mean, Decimal(0))
    return ReviewerRow(
        employee_id=reviewer,
        name=name,
        reviews=reviews,
        ratings=n,
        mean=rounded(mean),
        spread=rounded(variance.sqrt()),
        bias=rounded(mean - expected / n),
    )


# The cycle's ratings per competency (count, sum).
_TOTALS_SQL = """
    SELECT competency_id, sum(n), sum(total)
    FROM reporting_reviewertally
    WHERE organization_id = %s AND cycle_id = %s
    GROUP BY competency_id
"""
# One row per reviewer of the cycle's tallies, their ratings' expected sum from the
# competencies' means (passed in as exact decimals), ranked as ``reviewer_consistency``
# ranks (bias rounded to 2 places, half away from zero, then the name), one page.
# Names are read only for the reviewers who can be on the page or before it: those
# whose bias is at least that of the page's last row by bias alone (``cut``); the
# name only orders equal biases. Reading every reviewer's name made the page grow
# with the organisation.
_PAGE_SQL = """
    WITH means (competency_id, mean) AS (VALUES {means}),
    per AS (
        SELECT t.reviewer_id, sum(t.n) AS n, sum(t.total) AS total,
               sum(t.squares) AS squares, sum(t.n * m.mean) AS expected
        FROM reporting_reviewertally t JOIN means m USING (competency_id)
        WHERE t.organization_id = %s AND t.cycle_id = %s
        GROUP BY t.reviewer_id
    ),
    ranked AS MATERIALIZED (
        SELECT per.*, round((total - expected) / n, 2) AS bias,
               count(*) OVER () AS reviewers
        FROM per
    ),
    cut AS (
        SELECT bias FROM ranked ORDER BY bias DESC LIMIT 1 OFFSET %s
    )
    SELECT reviewer_id, name, n, total, squares, expected, reviewers
    FROM (
        -- Each candidate's name read by key (a join would hash every employee).
        SELECT ranked.*, (
            SELECT e.full_name FROM organizations_employee e
            WHERE e.organization_id = %s AND e.id = ranked.reviewer_id
        ) AS name
        FROM ranked
        WHERE ranked.bias >= coalesce((SELECT bias FROM cut), ranked.bias)
    ) named
    ORDER BY bias DESC, lower(name), reviewer_id
    LIMIT %s OFFSET %s
"""


def consistency_from_tallies(
    cycle: ReviewCycle, *, page: int = 1, per_page: int = PAGE_SIZE
) -> Consistency:
    """The consistency figures of every reviewer of ``cycle`` from the rating
    tallies (PostgreSQL), most lenient first, one page of ``per_page``. Three
    queries (one without any rating; four for a page past the last)."""
    organization = current_organization_id()
    with connection.cursor() as cursor:
        cursor.execute(_TOTALS_SQL, [organization, cycle.pk])
        by_competency = {c: (n, total) for c, n, total in cursor.fetchall()}
    all_n = sum(n for n, _ in by_competency.values())
    if not all_n:
        return Consistency(rows=[], organisation_mean=None, ratings=0)
    all_total = sum((t for _, t in by_competency.values()), Decimal(0))
    means = sorted((c, total / n) for c, (n, total) in by_competency.items())
    values = ", ".join(["(%s::bigint, %s::numeric)"] * len(means))

    def reviewers_page(number: int) -> list[Any]:
        params: list[Any] = [part for pair in means for part in pair]
        offset = (number - 1) * per_page
        params += [organization, cycle.pk, offset + per_page - 1]
        params += [organization, per_page, offset]
        with connection.cursor() as cursor:
            cursor.execute(_PAGE_SQL.format(means=values), params)
            return cursor.fetchall()

    page = max(1, page)
    found = reviewers_page(page)
    if not found and page > 1:
        # Past the last page (a link kept from larger figures): the last one.
        last = reviewers_page(1)
        page = max(1, -(-last[0][6] // per_page)) if last else 1
        found = reviewers_page(page) if page > 1 else last
    reviewers = found[0][6] if found else 0
    pages = max(1, -(-reviewers // per_page))
    counts = dict(
        Evaluation.objects.filter(
            reviewer_id__in=[row[0] for row in found],
            kind=EvaluationKind.REVIEW,
            status__in=RATED,
        )
        # The plan's cycle read by key for each of the page's reviews: a join on
        # the cycle would make PostgreSQL hash the cycle's every plan.
        .alias(
            cycle_id=Subquery(
                Plan.objects.filter(pk=OuterRef("plan_id"))
                .order_by()
                .values("cycle_id")
            )
        )
        .filter(cycle_id=cycle.pk)
        .order_by()
        .values_list("reviewer_id")
        .annotate(n=Count("pk"))
    )
    return Consistency(
        rows=[
            _row(reviewer, name, counts.get(reviewer, 0), n, (total, squares, expected))
            for reviewer, name, n, total, squares, expected, _ in found
        ],
        organisation_mean=rounded(all_total / all_n),
        ratings=int(all_n),
        total=reviewers,
        page=page,
        pages=pages,
    )
