"""The reporting tallies (``models``: ``CompetencyTally``, ``ReviewerTally``,
``ReviewDayTally``, ``ScoreTally``): when the dashboards may read them, and a recount
of them from the rows they count.

On PostgreSQL, statement-level triggers (migrations ``0002_rating_tallies`` and
``0003_cycle_tallies``) keep them exact in the transaction of every write they
depend on. HR's dashboards read them, with the progress tallies of the appraisals and
engagements apps, when they count the whole organisation's cycle, narrowed at most
by what the tallies are keyed by (business unit, job title): ``tally_filters``.
Every other view (a line manager's, a reviewer's, a filter by line manager,
engagement type or client) groups the rows it counts, a narrowed set. The embedded
SQLite database of ``make run`` has no triggers: there the dashboards always group
the rows (the demo's few thousand).

``recount()`` counts every tally afresh from the rows of the active organisation:
what ``check_reporting_tallies`` (run by ``check_consistency``) and the tests
compare the stored ones with.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from appraisals.consistency import TALLIES
from appraisals.enums import EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, CompetencyRating, Evaluation
from engagements.enums import PlanKind
from engagements.models import Plan
from organizations.consistency import Difference
from organizations.models import Organization
from organizations.tenancy import current_organization_id, is_postgresql
from reporting.figures.distribution import band_expression
from reporting.figures.heatmap import RATED
from reporting.models import (
    CompetencyTally,
    DistributionTally,
    OwedReviewTally,
    ReviewDayTally,
    ReviewerTally,
    ScoreTally,
    StaffingTally,
    TypeDistributionTally,
)

# The tables the database keeps from the rows of others (never written by the
# application): what a copy of the database writes last (as
# ``appraisals.tallies.DERIVED_MODELS``).
DERIVED_MODELS: tuple[type[Any], ...] = (
    CompetencyTally,
    ReviewerTally,
    ReviewDayTally,
    ScoreTally,
    DistributionTally,
    OwedReviewTally,
    StaffingTally,
    TypeDistributionTally,
)

# The filters whose narrowing the tallies answer: filter name → tally field.
TALLIED_FILTERS = {"business_unit": "business_unit", "job_title": "job_title"}

# A tally as a mapping: key (its key columns) → figures (its counters).
Counted = dict[tuple[Any, ...], tuple[Any, ...]]


def tally_filters(
    *, is_hr: bool, narrowing: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The tally lookups that give what a viewer counts with the narrowing filters
    ``narrowing`` (name → chosen row), or None when the tallies cannot answer: no
    trigger keeps them (SQLite), the viewer is not an HR admin (their scope is not
    the whole organisation), or a filter is not one of the tallies' keys."""
    if not is_hr or not is_postgresql():
        return None
    if not set(narrowing) <= TALLIED_FILTERS.keys():
        return None
    return {TALLIED_FILTERS[name]: value for name, value in narrowing.items()}


def _grouped(rows: QuerySet[Any], keys: int) -> Counted:
    """``{key: figures}`` from grouped ``values_list`` rows: the first ``keys``
    values are the key."""
    return {tuple(row[:keys]): tuple(row[keys:]) for row in rows}


def _counted_ratings() -> QuerySet[CompetencyRating]:
    return CompetencyRating.objects.filter(
        evaluation__kind=EvaluationKind.REVIEW,
        evaluation__status__in=RATED,
        not_applicable=False,
        value__isnull=False,
    ).order_by()


def _competencies() -> Counted:
    return _grouped(
        _counted_ratings()
        .values_list(
            "evaluation__plan__cycle_id",
            "plan_competency__competency_id",
            "evaluation__employee__business_unit_id",
            "evaluation__employee__job_title_id",
            "evaluation__plan__engagement__engagement_type_id",
        )
        .annotate(
            n=Count("pk"),
            total=Sum("value"),
            expected=Sum("plan_competency__expected_level"),
        ),
        5,
    )


def _reviewers() -> Counted:
    return _grouped(
        _counted_ratings()
        .filter(evaluation__reviewer__isnull=False)
        .values_list(
            "evaluation__plan__cycle_id",
            "evaluation__reviewer_id",
            "plan_competency__competency_id",
        )
        .annotate(
            n=Count("pk"),
            total=Sum("value"),
            squares=Sum(F("value") * F("value")),
        ),
        3,
    )


def _review_days() -> Counted:
    organization_id = current_organization_id()
    if organization_id is None:
        raise RuntimeError("Counting the tallies needs an active organisation scope.")
    tz = zoneinfo.ZoneInfo(Organization.objects.get(pk=organization_id).timezone)
    reviews = Evaluation.objects.filter(kind=EvaluationKind.REVIEW).order_by()
    days: dict[tuple[Any, ...], list[int]] = {}
    for field, position, rows in (
        ("created_at", 0, reviews),
        (
            "approved_at",
            1,
            reviews.filter(status=EvaluationStatus.APPROVED, approved_at__isnull=False),
        ),
    ):
        for cycle, day, n in (
            rows.annotate(day=TruncDate(field, tzinfo=tz))
            .values_list("plan__cycle_id", "day")
            .annotate(n=Count("pk"))
        ):
            days.setdefault((cycle, day), [0, 0])[position] += n
    return {key: tuple(counts) for key, counts in days.items()}


def _owed() -> Counted:
    return _grouped(
        Evaluation.objects.filter(
            kind=EvaluationKind.REVIEW,
            status__in=(EvaluationStatus.DRAFT, EvaluationStatus.RETURNED),
            reviewer__isnull=False,
        )
        .order_by()
        .values_list("plan__cycle_id", "reviewer_id", "due_date")
        .annotate(n=Count("pk")),
        3,
    )


def _scores() -> Counted:
    return _grouped(
        Appraisal.objects.filter(final_score__isnull=False)
        .order_by()
        .values_list(
            "cycle_id",
            "employee__business_unit_id",
            "employee__job_title_id",
            "status",
        )
        .annotate(scored=Count("pk"), total=Sum("final_score")),
        4,
    )


def _distribution() -> Counted:
    return _grouped(
        Appraisal.objects.annotate(band=band_expression())
        .order_by()
        .values_list(
            "cycle_id",
            "employee__business_unit_id",
            "employee__job_title_id",
            "status",
            "final_score",
            "band",
        )
        .annotate(n=Count("pk")),
        6,
    )


def _staffing() -> Counted:
    return _grouped(
        Plan.objects.filter(kind=PlanKind.ENGAGEMENT)
        .order_by()
        .values_list("cycle_id", "employee_id", "engagement__engagement_type_id")
        .annotate(plans=Count("pk")),
        3,
    )


def _types() -> Counted:
    types_of: dict[tuple[Any, Any], list[Any]] = {}
    for cycle, employee, kind in _staffing():
        types_of.setdefault((cycle, employee), []).append(kind)
    counted: dict[tuple[Any, ...], int] = {}
    for cycle, employee, status, score, band in (
        Appraisal.objects.annotate(band=band_expression())
        .order_by()
        .values_list("cycle_id", "employee_id", "status", "final_score", "band")
        .iterator(chunk_size=2000)
    ):
        for kind in types_of.get((cycle, employee), ()):
            key = (cycle, kind, status, score, band)
            counted[key] = counted.get(key, 0) + 1
    return {key: (n,) for key, n in counted.items()}


# Each tally: how to read it as stored, how to count it afresh.
KEPT: dict[str, tuple[Callable[[], Counted], Callable[[], Counted]]] = {
    "CompetencyTally": (
        lambda: _grouped(
            CompetencyTally.objects.values_list(
                "cycle_id",
                "competency_id",
                "business_unit_id",
                "job_title_id",
                "engagement_type_id",
                "n",
                "total",
                "expected",
            ),
            5,
        ),
        _competencies,
    ),
    "ReviewerTally": (
        lambda: _grouped(
            ReviewerTally.objects.values_list(
                "cycle_id", "reviewer_id", "competency_id", "n", "total", "squares"
            ),
            3,
        ),
        _reviewers,
    ),
    "ReviewDayTally": (
        lambda: _grouped(
            ReviewDayTally.objects.values_list(
                "cycle_id", "day", "created", "approved"
            ),
            2,
        ),
        _review_days,
    ),
    "StaffingTally": (
        lambda: _grouped(
            StaffingTally.objects.values_list(
                "cycle_id", "employee_id", "engagement_type_id", "plans"
            ),
            3,
        ),
        _staffing,
    ),
    "TypeDistributionTally": (
        lambda: _grouped(
            TypeDistributionTally.objects.values_list(
                "cycle_id", "engagement_type_id", "status", "final_score", "band", "n"
            ),
            5,
        ),
        _types,
    ),
    "OwedReviewTally": (
        lambda: _grouped(
            OwedReviewTally.objects.values_list(
                "cycle_id", "reviewer_id", "due_date", "n"
            ),
            3,
        ),
        _owed,
    ),
    "ScoreTally": (
        lambda: _grouped(
            ScoreTally.objects.values_list(
                "cycle_id",
                "business_unit_id",
                "job_title_id",
                "status",
                "scored",
                "total",
            ),
            4,
        ),
        _scores,
    ),
    "DistributionTally": (
        lambda: _grouped(
            DistributionTally.objects.values_list(
                "cycle_id",
                "business_unit_id",
                "job_title_id",
                "status",
                "final_score",
                "band",
                "n",
            ),
            6,
        ),
        _distribution,
    ),
}


def recount() -> dict[str, Counted]:
    """Every tally counted afresh from the active organisation's rows. Eleven
    queries (the organisation's time zone, then each grouping every row it
    counts)."""
    return {name: count() for name, (_stored, count) in KEPT.items()}


def stored() -> dict[str, Counted]:
    """Every tally as the database keeps it (the active organisation's). Eight
    queries."""
    return {name: read() for name, (read, _count) in KEPT.items()}


def _shown(figures: tuple[Any, ...] | None) -> str:
    if figures is None:
        return _("nothing")
    return ", ".join(
        str(f.normalize() if hasattr(f, "normalize") else f) for f in figures
    )


def check_reporting_tallies() -> list[Difference]:
    """The stored tallies that differ from a recount of the active organisation's
    rows, one per key (none when they agree, and always none on SQLite, where no
    trigger keeps them). Nineteen queries, the recount grouping every counted row."""
    if not is_postgresql():
        return []
    counted, kept = recount(), stored()
    differences = []
    for name in KEPT:
        expected, found = counted[name], kept[name]
        for key in sorted(expected.keys() | found.keys(), key=str):
            if expected.get(key) != found.get(key):
                differences.append(
                    Difference(
                        TALLIES,
                        _("%(tally)s (%(key)s)")
                        % {"tally": name, "key": ", ".join(str(p) for p in key)},
                        _("%(value)s (recounted)")
                        % {"value": _shown(expected.get(key))},
                        _("%(value)s stored") % {"value": _shown(found.get(key))},
                    )
                )
    return differences
