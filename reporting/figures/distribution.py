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

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, QuerySet, Sum, Value, When
from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal
from engagements.enums import PlanKind
from engagements.models import ReviewCycle
from reporting.figures.stats import Bin, Summary, binned, edges, rounded, summarise
from reporting.models import DistributionTally, TypeDistributionTally

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


def _by_type(appraisals: QuerySet[Appraisal]) -> list[Any]:
    staffed = appraisals.filter(
        employee__plans__cycle=F("cycle"), employee__plans__kind=PlanKind.ENGAGEMENT
    )
    return _rows(staffed, "employee__plans__engagement__engagement_type__name")


def score_distribution(
    appraisals: QuerySet[Appraisal],
    cycle: ReviewCycle,
    scale: tuple[Decimal, Decimal],
) -> Distribution:
    """The distribution of ``appraisals`` (already narrowed to the viewer's scope,
    the cycle and the filters) on the rating ``scale`` (lowest, highest point).
    Three queries."""
    by_unit = _rows(appraisals, "employee__business_unit__name", "status")
    return distribution_of(
        cycle,
        scale,
        overall=by_unit,
        by_business_unit=_grouped(by_unit, _("No business unit")),
        by_job_title=_grouped(
            _rows(appraisals, "employee__job_title__name"), _("No job title")
        ),
        by_engagement_type=_grouped(_by_type(appraisals), _("No engagement type")),
    )


def distribution_from_tallies(
    tallies: QuerySet[DistributionTally],
    cycle: ReviewCycle,
    scale: tuple[Decimal, Decimal],
    *,
    types: QuerySet[TypeDistributionTally] | None,
    appraisals: QuerySet[Appraisal],
) -> Distribution:
    """The same distribution from the cycle's distribution tallies ``tallies``
    (narrowed by unit or title by the caller) and, for the engagement types, the
    cycle's ``types`` tallies (which count everyone: None when the tallies are
    narrowed, and the types come from the same ``appraisals`` as
    ``score_distribution`` takes). Each group's count, mean, median, spread and
    bands are summed in SQL, one row per group. Four queries."""
    overall = list(
        tallies.order_by().values("final_score", "band", "status").annotate(n=Sum("n"))
    )
    return distribution_of(
        cycle,
        scale,
        overall=overall,
        by_business_unit=_summed_groups(
            tallies, "business_unit", _("No business unit")
        ),
        by_job_title=_summed_groups(tallies, "job_title", _("No job title")),
        by_engagement_type=(
            _grouped(_by_type(appraisals), _("No engagement type"))
            if types is None
            else _summed_groups(types, "engagement_type", _("No engagement type"))
        ),
    )


# Per group of the tally rows ``t`` (group, final score, band, how many; summed per
# group and score where that makes fewer rows), in one pass over the rows sorted once: the count, the sum and
# sum of squares of the scores, the count per band, and the two middle scores
# (zero-based positions (count - 1) / 2 and count / 2: the smallest score whose
# running count passes each; rows of the same score are peers and share their
# running count). Scores are read as whole hundredths (they have two decimal
# places), so that the sort and the sums run on integers (the counts in
# ``integer``, so that their running sums stay ``bigint``); exact all the same.
_GROUPS_SQL = """
    WITH c AS (
        SELECT grp, cents, band, n,
               sum(n) OVER (PARTITION BY grp ORDER BY cents) AS upto,
               sum(n) OVER (PARTITION BY grp) AS count
        FROM (
            SELECT grp, (final_score * 100)::integer AS cents, band, n::integer AS n
            FROM ({tallies}) t
        ) t
    )
    SELECT {name}, b.count, b.total, b.squares, {band_columns}, b.low, b.high
    FROM (
        SELECT grp, max(count) AS count, sum(n::bigint * cents) AS total,
               sum(n::bigint * cents * cents) AS squares,
               {bands},
               min(cents) FILTER (WHERE upto > (count - 1) / 2) AS low,
               min(cents) FILTER (WHERE upto > count / 2) AS high
        FROM c GROUP BY grp
    ) b
    {names}
"""
HUNDRED = Decimal(100)


def _summed_groups(
    tallies: QuerySet[Any], group: str, none_label: str, *, by_name: bool = False
) -> list[Group]:
    """The groups of ``tallies`` by the key ``group`` (a foreign key), each summed
    in SQL: one query, one row per group. Grouped by id and named afterwards
    (numbers sort faster than names); where two rows share a name (two units of
    the same name), grouped by name again, as ``score_distribution`` groups."""
    rows = (
        tallies.filter(final_score__isnull=False)
        .annotate(grp=F(f"{group}__name" if by_name else f"{group}_id"))
        .order_by()
    )
    if group == "business_unit":
        # A unit's rows hardly repeat a score (they differ by title and status
        # only): summing them first would cost more than it saves the sort.
        rows = rows.values_list("grp", "final_score", "band", "n")
    else:
        # Summed per group and score first (hashed, not sorted): a job title's or
        # an engagement type's scores repeat across units and statuses, so the
        # sort has several times fewer rows.
        rows = rows.values_list("grp", "final_score", "band").annotate(n=Sum("n"))
    rows_sql, params = rows.query.sql_with_params()
    table = tallies.model._meta.get_field(group).related_model._meta.db_table
    name, names = (
        ("b.grp", "")
        if by_name
        else ("names.name", f'LEFT JOIN "{table}" names ON names.id = b.grp')
    )
    bands = range(len(BAND_EDGES))
    with connection.cursor() as cursor:
        cursor.execute(
            _GROUPS_SQL.format(
                tallies=rows_sql,
                bands=", ".join(
                    f"COALESCE(sum(n) FILTER (WHERE band = {i}), 0) AS band{i}"
                    for i in bands
                ),
                band_columns=", ".join(f"b.band{i}" for i in bands),
                name=name,
                names=names,
            ),
            params,
        )
        rows = cursor.fetchall()
    if not by_name and len({row[0] for row in rows}) < len(rows):
        return _summed_groups(tallies, group, none_label, by_name=True)
    groups = []
    for name, count, total, squares, *rest in rows:
        *band_counts, low, high = rest
        mean = Decimal(total) / count / HUNDRED
        variance = max(
            Decimal(squares) / count / (HUNDRED * HUNDRED) - mean * mean, Decimal(0)
        )
        summary = Summary(
            count=int(count),
            mean=rounded(mean),
            median=rounded(Decimal(low + high) / 2 / HUNDRED),
            stdev=rounded(variance.sqrt()),
        )
        groups.append(
            Group(
                name=name or none_label,
                summary=summary,
                bands=[int(b) for b in band_counts],
            )
        )
    return sorted(groups, key=lambda g: (g.name == none_label, g.name.casefold()))


def distribution_of(
    cycle: ReviewCycle,
    scale: tuple[Decimal, Decimal],
    *,
    overall: list[Any],
    by_business_unit: list[Group],
    by_job_title: list[Group],
    by_engagement_type: list[Group],
) -> Distribution:
    """The distribution from ``overall`` rows of (final score, band, status, how
    many) and the groups."""
    low, high = scale

    counts: dict[Decimal, int] = {}
    bands = [0] * len(BAND_EDGES)
    provisional = unscored = 0
    for row in overall:
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
        by_business_unit=by_business_unit,
        by_job_title=by_job_title,
        by_engagement_type=by_engagement_type,
    )
