"""Reviewer consistency of one cycle (HR only): per reviewer, how many reviews they
wrote, the mean and spread of their competency ratings, and their **bias**: their
mean minus the organisation's mean on the same competencies, each competency
weighted by how many of its ratings the reviewer gave. A positive bias is lenient,
a negative one harsh. The groundwork for calibration (docs/scoring.md, 5b).

Ratings count from submitted or approved reviews, N/A left out. Two queries: the
reviews per reviewer, and one row per (reviewer, competency) with the count, sum
and sum of squares of the ratings, from which every figure follows exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, QuerySet, Sum

from appraisals.models import CompetencyRating, Evaluation
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
    result = []
    for reviewer, figures in per_reviewer.items():
        n = figures["n"]
        mean = figures["total"] / n
        variance = max(figures["squares"] / n - mean * mean, Decimal(0))
        result.append(
            ReviewerRow(
                employee_id=reviewer,
                name=names[reviewer],
                reviews=counts.get(reviewer, 0),
                ratings=int(n),
                mean=rounded(mean),
                spread=rounded(variance.sqrt()),
                bias=rounded(mean - figures["expected"] / n),
            )
        )
    result.sort(key=lambda r: (-(r.bias or 0), r.name.casefold(), r.employee_id))
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
