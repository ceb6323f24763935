"""Chart.js configurations built from the figures: plain dicts the pages hand to
``json_script`` and ``static/js/charts.js`` draws. No HTML or JavaScript here, and no
user text is ever interpreted: Chart.js draws labels as text on a canvas.

Every chart has a data table beside it in the page (the same figures), so the
charts add nothing a screen reader or a printout would miss.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from reporting.figures.distribution import Distribution, Group
from reporting.figures.engagements import Analytics, EngagementDetail
from reporting.figures.overview import Overview
from reporting.figures.reviewers import Consistency
from reporting.figures.trends import Line, Point

# Lines start their scale at zero, as bars do, so that a flat line is not a cliff.
LINE_OPTIONS: dict[str, Any] = {
    "responsive": True,
    "maintainAspectRatio": False,
    "scales": {"y": {"beginAtZero": True}},
}
# Colour-blind-safe palette (Okabe–Ito), cycled through datasets.
PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
]


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _bar(
    labels: list[str], datasets: list[dict[str, Any]], **options: Any
) -> dict[str, Any]:
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": datasets},
        "options": {"responsive": True, "maintainAspectRatio": False, **options},
    }


def _dataset(label: str, data: list[Any], index: int = 0) -> dict[str, Any]:
    """One series in the palette's ``index``-th colour; bars no wider than 56 px."""
    return {
        "label": label,
        "data": data,
        "backgroundColor": PALETTE[index % len(PALETTE)],
        "borderColor": PALETTE[index % len(PALETTE)],
        "maxBarThickness": 56,
    }


def status_bars(title: str, rows: list[tuple[str, int]]) -> dict[str, Any]:
    return _bar(
        [label for label, _ in rows],
        [_dataset(title, [n for _, n in rows])],
        plugins={"legend": {"display": False}},
    )


def completion_line(overview: Overview) -> dict[str, Any]:
    return {
        "type": "line",
        "data": {
            "labels": [d.day.isoformat() for d in overview.completion],
            "datasets": [
                _dataset(
                    _("Approved so far"), [d.cumulative for d in overview.completion], 0
                ),
                _dataset(
                    _("Approved that day"), [d.approved for d in overview.completion], 1
                ),
            ],
        },
        "options": LINE_OPTIONS,
    }


def histogram(distribution: Distribution) -> dict[str, Any]:
    return _bar(
        [b.label for b in distribution.histogram],
        [_dataset(_("Appraisals"), [b.count for b in distribution.histogram])],
        plugins={"legend": {"display": False}},
    )


def bands(distribution: Distribution) -> dict[str, Any]:
    return _bar(
        distribution.band_labels,
        [_dataset(_("Appraisals"), distribution.bands, 2)],
        plugins={"legend": {"display": False}},
    )


def grouped_bands(distribution: Distribution, groups: list[Group]) -> dict[str, Any]:
    """One group of bars per group, one bar per percent band."""
    return _bar(
        [g.name for g in groups],
        [
            _dataset(label, [g.bands[i] for g in groups], i)
            for i, label in enumerate(distribution.band_labels)
        ],
    )


def bias_bars(consistency: Consistency) -> dict[str, Any]:
    rows = consistency.rows
    return _bar(
        [r.name for r in rows],
        [
            {
                **_dataset(_("Bias"), [_number(r.bias) for r in rows]),
                "backgroundColor": [
                    PALETTE[1] if (r.bias or 0) > 0 else PALETTE[0] for r in rows
                ],
            }
        ],
        indexAxis="y",
        plugins={"legend": {"display": False}},
    )


def engagement_bars(analytics: Analytics) -> dict[str, Any]:
    rows = analytics.rows
    return _bar(
        [r.name for r in rows],
        [
            _dataset(_("Average score"), [_number(r.average_score) for r in rows], 0),
            _dataset(_("Client satisfaction"), [_number(r.csat) for r in rows], 1),
        ],
        indexAxis="y",
    )


def _line_points(points: list[Point]) -> list[float | None]:
    return [_number(p.mean) for p in points]


def trend_lines(labels: list[str], lines: list[Line]) -> dict[str, Any]:
    return {
        "type": "line",
        "data": {
            "labels": labels,
            "datasets": [
                {**_dataset(line.name, _line_points(line.points), i), "spanGaps": True}
                for i, line in enumerate(lines)
            ],
        },
        "options": LINE_OPTIONS,
    }


def person_chart(name: str, points: list[Point]) -> dict[str, Any]:
    return trend_lines([p.cycle for p in points], [Line(name=name, points=points)])


def csat_trend(detail: EngagementDetail) -> dict[str, Any] | None:
    if not detail.csat:
        return None
    return {
        "type": "line",
        "data": {
            "labels": [p.cycle for p in detail.csat],
            "datasets": [
                {
                    **_dataset(
                        _("Client satisfaction"), [_number(p.mean) for p in detail.csat]
                    ),
                    "spanGaps": True,
                }
            ],
        },
        "options": LINE_OPTIONS,
    }
