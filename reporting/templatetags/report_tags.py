"""Template helpers of the dashboards: markup drawn many times on one page, built
in Python instead of an ``{% include %}`` or a block of template per item (a
template costs a render of each tag and variable each time; the heatmap draws up
to 13 cells a row, the engagement table 25 rows of 12 cells)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from organizations.templatetags.app_tags import rating_point
from reporting.figures.engagements import Figures
from reporting.figures.heatmap import Cell
from reporting.filters import BY_CLIENT

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


@register.simple_tag
def engagement_row(row: Figures, by: str, org_slug: str) -> SafeString:
    """One row of the engagement analytics' table: the engagement (a link to its
    report) and its client, or the client; the team, the average score, the goals
    at or above target, client satisfaction, surveys answered of sent (or that the
    viewer may not read them) and the feedback per kind."""
    dash = "–"
    if by == BY_CLIENT:
        name = format_html("<td>{}</td>", row.name)
    else:
        name = format_html(
            '<td><a href="{}">{}</a></td><td>{}</td>',
            reverse("reporting:engagement", args=[org_slug, row.key]),
            row.name,
            row.client,
        )
    attainment = (
        format_html(
            '{} % <span class="text-body-secondary small">({}/{})</span>',
            localize(row.attainment),
            localize(row.goals_met),
            localize(row.goals),
        )
        if row.attainment is not None
        else dash
    )
    surveys = (
        format_html(
            '<span class="text-body-secondary small">{}</span>',
            gettext("not yours to read"),
        )
        if row.surveys_sent is None
        else format_html(
            "{} / {}", localize(row.surveys_answered), localize(row.surveys_sent)
        )
    )
    return format_html(
        "<tr>\n{}\n"
        '<td class="text-end">{}</td>\n'
        '<td class="text-end">{}</td>\n'
        '<td class="text-end">{}</td>\n'
        '<td class="text-end">{}</td>\n'
        '<td class="text-end">{}</td>\n'
        "{}\n</tr>",
        name,
        localize(row.team),
        dash if row.average_score is None else localize(row.average_score),
        attainment,
        dash if row.csat is None else localize(row.csat),
        surveys,
        format_html_join(
            "",
            '<td class="text-end">{}</td>',
            ((localize(n),) for n in row.feedback.values()),
        ),
    )


# The PDF reports write ratings as the pages do ("3 · Meets expectations").
register.simple_tag(rating_point)
