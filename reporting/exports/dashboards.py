"""Each dashboard's export: what the page shows, with its filters applied, as rows.

The rows come from the same ``reporting.reports.open_report`` and ``compute`` as the
page, for the member who asked (their scope and permissions checked again when the
job runs and when its file is downloaded). The figures are aggregates, a few
hundred rows at most, so they need no streaming. Registered from the app's
``ready``; started by the dashboards' export button, not offered on the exports
page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from feedback.enums import FeedbackKind
from reporting.exports.base import Column, ColumnType, Dataset, Params, Row
from reporting.exports.registry import get_dataset, register
from reporting.figures.distribution import BAND_LABELS
from reporting.filters import BY_ENGAGEMENT
from reporting.permissions import Dashboard, require
from reporting.reports import compute, open_report
from reporting.scope import ReportScope

TEXT, DECIMAL, INTEGER = ColumnType.TEXT, ColumnType.DECIMAL, ColumnType.INTEGER


def dataset_kind(dashboard: Dashboard) -> str:
    return f"dashboard-{dashboard.value}"


def _figures(dashboard: Dashboard, scope: ReportScope, params: Params) -> Any:
    report = open_report(scope.membership, dashboard, dict(params))
    return compute(report)


def _overview(figures: Any) -> Iterator[Row]:
    for section, rows in (
        (gettext("Plans"), figures.plans_by_status),
        (gettext("Review evaluations"), figures.evaluations_by_status),
        (gettext("Appraisals"), figures.appraisals_by_status),
    ):
        for label, n in rows:
            yield (section, label, n)
    yield (gettext("Review evaluations"), gettext("Overdue"), figures.overdue)
    for day in figures.completion:
        yield (gettext("Approved per day"), day.day.isoformat(), day.approved)
    for person in figures.late_reviewers:
        yield (gettext("Overdue reviews of"), person.name, person.overdue)
    for person in figures.late_approvers:
        yield (gettext("Overdue approvals of"), person.name, person.overdue)


def _scores(figures: Any) -> Iterator[Row]:
    summary = figures.summary
    yield (
        gettext("Everyone counted"),
        "",
        summary.count,
        summary.mean,
        summary.median,
        summary.stdev,
        figures.provisional,
        *figures.bands,
    )
    for grouping, groups in (
        (gettext("Business unit"), figures.by_business_unit),
        (gettext("Job title"), figures.by_job_title),
        (gettext("Engagement type"), figures.by_engagement_type),
    ):
        for group in groups:
            s = group.summary
            yield (
                grouping,
                group.name,
                s.count,
                s.mean,
                s.median,
                s.stdev,
                None,
                *group.bands,
            )


def _competencies(figures: Any) -> Iterator[Row]:
    # The heatmap comes a page of columns at a time; "All" once, with the last.
    last = figures.page == figures.pages
    for row in figures.rows:
        for column, cell in [
            *zip(figures.columns, row.cells, strict=True),
            *([(gettext("All"), row.total)] if last else []),
        ]:
            if cell.count:
                yield (
                    row.competency,
                    column,
                    cell.count,
                    cell.average,
                    cell.expected,
                    cell.gap,
                )


def _engagements(figures: Any) -> Iterator[Row]:
    level = gettext("Engagement") if figures.by == BY_ENGAGEMENT else gettext("Client")
    for f in figures.rows:
        yield (
            level,
            f.name,
            f.client,
            f.team,
            f.average_score,
            f.goals,
            f.goals_met,
            f.attainment,
            f.surveys_sent,
            f.surveys_answered if f.surveys_sent is not None else None,
            f.csat,
            *f.feedback.values(),
        )


def _reviewers(figures: Any) -> Iterator[Row]:
    for r in figures.rows:
        yield (r.name, r.reviews, r.ratings, r.mean, r.spread, r.bias)


def _trends(figures: Any) -> Iterator[Row]:
    for line in figures.lines:
        for point in line.points:
            if point.count:
                yield (
                    line.name,
                    point.cycle,
                    point.mean,
                    point.count,
                    point.provisional,
                )


BANDS = tuple(BAND_LABELS)
SHAPES: dict[
    Dashboard, tuple[Any, tuple[Column, ...], Callable[[Any], Iterator[Row]]]
] = {
    Dashboard.OVERVIEW: (
        _("Cycle overview"),
        (
            Column("section", _("Section")),
            Column("item", _("Item")),
            Column("count", _("Count"), INTEGER),
        ),
        _overview,
    ),
    Dashboard.SCORES: (
        _("Score distribution"),
        (
            Column("grouping", _("Grouping")),
            Column("group", _("Group")),
            Column("appraisals", _("Appraisals scored"), INTEGER),
            Column("mean", _("Mean"), DECIMAL),
            Column("median", _("Median"), DECIMAL),
            Column("stdev", _("Standard deviation"), DECIMAL),
            Column("provisional", _("Provisional"), INTEGER),
            *(Column(f"band{i}", _(band), INTEGER) for i, band in enumerate(BANDS)),
        ),
        _scores,
    ),
    Dashboard.COMPETENCIES: (
        _("Competency heatmap"),
        (
            Column("competency", _("Competency")),
            Column("group", _("Group")),
            Column("ratings", _("Ratings"), INTEGER),
            Column("average", _("Average rating"), DECIMAL),
            Column("expected", _("Expected level"), DECIMAL),
            Column("gap", _("Gap"), DECIMAL),
        ),
        _competencies,
    ),
    Dashboard.ENGAGEMENTS: (
        _("Engagements and clients"),
        (
            Column("level", _("Level")),
            Column("name", _("Name")),
            Column("client", _("Client")),
            Column("team", _("Team"), INTEGER),
            Column("score", _("Average score"), DECIMAL),
            Column("goals", _("Goals measured"), INTEGER),
            Column("goals_met", _("Goals at or above target"), INTEGER),
            Column("attainment", _("Attainment (%)"), DECIMAL),
            Column("sent", _("Surveys sent"), INTEGER),
            Column("answered", _("Surveys answered"), INTEGER),
            Column("csat", _("Client satisfaction"), DECIMAL),
            *(Column(f"feedback_{k.value}", k.label, INTEGER) for k in FeedbackKind),
        ),
        _engagements,
    ),
    Dashboard.REVIEWERS: (
        _("Reviewer consistency"),
        (
            Column("reviewer", _("Reviewer")),
            Column("reviews", _("Reviews"), INTEGER),
            Column("ratings", _("Ratings"), INTEGER),
            Column("mean", _("Mean"), DECIMAL),
            Column("spread", _("Spread (standard deviation)"), DECIMAL),
            Column("bias", _("Bias"), DECIMAL),
        ),
        _reviewers,
    ),
    Dashboard.TRENDS: (
        _("Trends across cycles"),
        (
            Column("group", _("Group")),
            Column("cycle", _("Cycle")),
            Column("mean", _("Average final score"), DECIMAL),
            Column("appraisals", _("Appraisals scored"), INTEGER),
            Column("provisional", _("Provisional"), INTEGER),
        ),
        _trends,
    ),
}


def _may_open(dashboard: Dashboard) -> Callable[[ReportScope], bool]:
    def available(scope: ReportScope) -> bool:
        try:
            require(scope, dashboard)
        except PermissionDenied:
            return False
        return True

    return available


def _rows(dashboard: Dashboard, to_rows: Callable[[Any], Iterator[Row]]) -> Any:
    """The rows of every page of what the dashboard shows (a dashboard that pages
    its table, the engagement analytics, is read page after page)."""

    def rows(scope: ReportScope, params: Params) -> Iterator[Row]:
        page = 1
        while True:
            figures = _figures(dashboard, scope, {**params, "page": str(page)})
            if figures is None:
                return
            yield from to_rows(figures)
            if page >= getattr(figures, "pages", 1):
                return
            page += 1

    return rows


def register_dashboard_exports() -> None:
    """Register each dashboard's dataset (once; ``AppConfig.ready``)."""
    for dashboard, (label, columns, to_rows) in SHAPES.items():
        if get_dataset(dataset_kind(dashboard)) is not None:
            continue
        register(
            Dataset(
                kind=dataset_kind(dashboard),
                label=label,
                description=_("What the dashboard shows, with its filters applied."),
                columns=columns,
                rows=_rows(dashboard, to_rows),
                available=_may_open(dashboard),
                needs_cycle=False,
                listed=False,
            )
        )
