"""Charts for PDF reports, drawn as inline SVG on the server (a PDF runs no
JavaScript, so Chart.js cannot draw there). Labels are escaped like any template
value; sizes are numbers the module computes."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, BAR_AREA, LABEL_HEIGHT = 480, 120, 28


def bars(
    points: Sequence[tuple[str, Decimal | None]], *, maximum: Decimal, title: str
) -> SafeString:
    """A bar per point (label, value; None: no bar, a dash), scaled to
    ``maximum``, each value written above its bar. Empty for no point."""
    if not points:
        return SafeString("")
    slot = WIDTH / len(points)
    width = min(slot * 0.6, 60)

    def bar(index: int, label: str, value: Decimal | None) -> tuple[object, ...]:
        x = index * slot + (slot - width) / 2
        share = float(value / maximum) if value is not None and maximum else 0.0
        height = round(BAR_AREA * max(0.0, min(share, 1.0)), 1)
        y = BAR_AREA - height + 14
        text = "–" if value is None else localize(value)
        return (
            round(x, 1),
            y,
            round(width, 1),
            height,
            round(x + width / 2, 1),
            y - 3,
            text,
            round(x + width / 2, 1),
            BAR_AREA + 14 + 16,
            label,
        )

    drawn = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#0d6efd"/>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="9">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="8">{}</text>',
        (bar(i, label, value) for i, (label, value) in enumerate(points)),
    )
    height = BAR_AREA + 14 + LABEL_HEIGHT
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{}" height="{}" '
        'viewBox="0 0 {} {}"><title>{}</title>'
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="0.5"/>'
        "{}</svg>",
        WIDTH,
        height,
        WIDTH,
        height,
        title,
        BAR_AREA + 14,
        WIDTH,
        BAR_AREA + 14,
        drawn,
    )
