"""Template helpers of the dashboards: markup drawn many times on one page, built
in Python instead of an ``{% include %}`` per item (an include costs a template
render each time; the heatmap draws up to 13 cells a row)."""

from __future__ import annotations

from django import template
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from reporting.figures.heatmap import Cell

register = template.Library()


@register.simple_tag
def heat_cell(cell: Cell) -> SafeString:
    """One cell of the competency heatmap: its tone, the gap to the expected level
    as a tooltip, the average (a dash below three ratings) and how many ratings it
    averages; an empty cell for no rating."""
    title = (
        ""
        if cell.gap is None
        else gettext("Gap %(gap)s to the expected level %(expected)s")
        % {"gap": localize(cell.gap), "expected": localize(cell.expected)}
    )
    if not cell.count:
        return format_html('<td class="{}"{}></td>', cell.tone, _title(title))
    return format_html(
        '<td class="{}"{}><div class="fw-semibold">{}</div><div class="small">{}</div></td>',
        cell.tone,
        _title(title),
        "–" if cell.average is None else localize(cell.average),
        ngettext("%(n)s rating", "%(n)s ratings", cell.count)
        % {"n": localize(cell.count)},
    )


def _title(title: str) -> SafeString:
    return format_html(' title="{}"', title) if title else SafeString("")
