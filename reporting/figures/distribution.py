"""Score distribution of one cycle: final scores and percent bands, overall and by
business unit, job title and engagement type, with mean, median, standard deviation
and how many appraisals are provisional.

A score counts when it is stored (``Appraisal.final_score``, from approved
evaluations only: docs/scoring.md). An appraisal is **provisional** while it is
open: its score may still change. Three queries, one per grouping, each returning
one row per (group, distinct score, band): at most a few hundred rows per group
whatever the organisation's size. The overall figures are the sum of the business
unit groups (people without a unit form a group of their own).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal
from engagements.enums import PlanKind
from engagements.models import ReviewCycle
from reporting.figures.stats import Bin, Summary, binned, edges, summarise

# Percent bands: five of twenty points each, the last including 100.
BAND_EDGES = [Decimal(0), Decimal(20), Decimal(40), Decimal(60), Decimal(80)]
BAND_LABELS = ["0–20 %", "20–40 %", "40–60 %", "60–80 %", "80–100 %"]
# The final-score histogram splits the rating scale into this many equal bins.
SCORE_BINS = 8


def band_expression() -> Case:
    """The percent band (0..4) of an appraisal, in SQL."""
    whens = [
        When(percent__lt=BAND_EDGES[i + 1], then=Value(i))
        for i in range(len(BAND_EDGES) - 1)
    ]
    return Case(*whens, default=Value(len(BAND_EDGES) - 1), output_field=IntegerField())


@dataclass(frozen=True)
class Group:
    name: str
    summary: Summary
    bands: list[int]  # appraisals per percent band


@dataclass(frozen=True)
class Distribution:
    cycle: ReviewCycle
    scale: tuple[Decimal, Decimal]
    summary: Summary
    histogram: list[Bin]  # final scores
    bands: list[int]  # appraisals per percent band
    band_labels: list[str]
    provisional: int  # scored appraisals still open
    unscored: int  # appraisals without a final score yet
    by_business_unit: list[Group]
    by_job_title: list[Group]
    by_engagement_type: list[Group]

    @property
    def is_empty(self) -> bool:
        return self.summary.count == 0

    @property
    def band_rows(self) -> list[tuple[str, int]]:
        return list(zip(self.band_labels, self.bands, strict=True))


def _grouped(rows: list[dict[str, Any]], none_label: str) -> list[Group]:
    scores: dict[str, dict[Decimal, int]] = defaultdict(dict)
    bands: dict[str, list[int]] = defaultdict(lambda: [0] * len(BAND_EDGES))
    for row in rows:
        if row["final_score"] is None:
            continue
        name = row["group"] or none_label
        counts = scores[name]
        counts[row["final_score"]] = counts.get(row["final_score"], 0) + row["n"]
        bands[name][row["band"]] += row["n"]
    return [
        Group(name=name, summary=summarise(scores[name]), bands=bands[name])
        for name in sorted(scores, key=lambda n: (n == none_label, n.casefold()))
    ]


def _rows(appraisals: QuerySet[Appraisal], group: str, *extra: str) -> list[Any]:
    return list(
        appraisals.annotate(group=F(group), band=band_expression())
        .order_by()
        .values("group", "final_score", "band", *extra)
        .annotate(n=Count("pk", distinct=True))
    )


def score_distribution(
    appraisals: QuerySet[Appraisal],
    cycle: ReviewCycle,
    scale: tuple[Decimal, Decimal],
) -> Distribution:
    """The distribution of ``appraisals`` (already narrowed to the viewer's scope,
    the cycle and the filters) on the rating ``scale`` (lowest, highest point).
    Three queries."""
    low, high = scale
    by_unit = _rows(appraisals, "employee__business_unit__name", "status")
    by_title = _rows(appraisals, "employee__job_title__name")
    staffed = appraisals.filter(
        employee__plans__cycle=F("cycle"), employee__plans__kind=PlanKind.ENGAGEMENT
    )
    by_type = _rows(staffed, "employee__plans__engagement__engagement_type__name")

    counts: dict[Decimal, int] = {}
    bands = [0] * len(BAND_EDGES)
    provisional = unscored = 0
    for row in by_unit:
        score = row["final_score"]
        if score is None:
            unscored += row["n"]
            continue
        counts[score] = counts.get(score, 0) + row["n"]
        bands[row["band"]] += row["n"]
        if row["status"] == AppraisalStatus.OPEN:
            provisional += row["n"]
    return Distribution(
        cycle=cycle,
        scale=(low, high),
        summary=summarise(counts),
        histogram=binned(counts, edges(low, high, SCORE_BINS)),
        bands=bands,
        band_labels=BAND_LABELS,
        provisional=provisional,
        unscored=unscored,
        by_business_unit=_grouped(by_unit, _("No business unit")),
        by_job_title=_grouped(by_title, _("No job title")),
        by_engagement_type=_grouped(by_type, _("No engagement type")),
    )
