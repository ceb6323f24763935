"""The heatmap's cells as the page draws them (``reporting.templatetags``)."""

from __future__ import annotations

from decimal import Decimal

from django.template import Context, Template

from reporting.figures.engagements import Figures
from reporting.figures.heatmap import EMPTY, Cell

ROW = Template("{% load report_tags %}{% heat_cell cell %}")


def draw(cell: Cell) -> str:
    return ROW.render(Context({"cell": cell}))


def test_a_cell_shows_its_average_count_and_gap() -> None:
    html = draw(Cell(4, Decimal("3.25"), Decimal("4.00"), Decimal("-0.75")))
    assert html == (
        '<td class="heat-low1" title="Gap -0.75 to the expected level 4.00">'
        '<div class="fw-semibold">3.25</div><div class="small">4 ratings</div></td>'
    )


def test_a_cell_under_three_ratings_is_grey_and_shows_no_average() -> None:
    html = draw(Cell(2, None, None, None))
    assert html == (
        '<td class="heat-none"><div class="fw-semibold">–</div>'
        '<div class="small">2 ratings</div></td>'
    )


def test_one_rating_is_singular_and_an_empty_cell_is_blank() -> None:
    assert '<div class="small">1 rating</div>' in draw(Cell(1, None, None, None))
    assert draw(EMPTY) == '<td class="heat-none"></td>'


def test_a_gap_of_one_or_more_has_its_own_tone() -> None:
    html = draw(Cell(30, Decimal("5.00"), Decimal("3.50"), Decimal("1.50")))
    assert html.startswith('<td class="heat-high2" title="Gap 1.50 to the expected')
    assert "30 ratings" in html


ENGAGEMENT_ROW = Template("{% load report_tags %}{% engagement_row row by slug %}")


def _figures(**changes: object) -> Figures:
    row = Figures(
        key=7,
        name="Audit <2026>",
        client="Acme & Co",
        team=4,
        score_total=Decimal("7.50"),
        scores=2,
        goals=4,
        goals_met=3,
        surveys_sent=5,
        surveys_answered=2,
        csat_total=9,
        feedback={"praise": 3, "suggestion": 0},
    )
    for name, value in changes.items():
        setattr(row, name, value)
    return row


def test_an_engagement_row_links_its_report_and_shows_every_figure_escaped() -> None:
    html = ENGAGEMENT_ROW.render(
        Context({"row": _figures(), "by": "engagements", "slug": "acme"})
    )

    assert html == (
        '<tr>\n<td><a href="/o/acme/reports/engagements/7/">Audit &lt;2026&gt;</a></td>'
        "<td>Acme &amp; Co</td>\n"
        '<td class="text-end">4</td>\n'
        '<td class="text-end">3.75</td>\n'
        '<td class="text-end">75.00 % '
        '<span class="text-body-secondary small">(3/4)</span></td>\n'
        '<td class="text-end">4.50</td>\n'
        '<td class="text-end">2 / 5</td>\n'
        '<td class="text-end">3</td><td class="text-end">0</td>\n</tr>'
    )


def test_a_client_row_without_figures_shows_dashes_and_unreadable_surveys() -> None:
    row = _figures(
        name="Acme",
        scores=0,
        score_total=Decimal(0),
        goals=0,
        surveys_sent=None,
        surveys_answered=0,
    )
    html = ENGAGEMENT_ROW.render(Context({"row": row, "by": "clients", "slug": "acme"}))

    assert html.startswith('<tr>\n<td>Acme</td>\n<td class="text-end">4</td>\n')
    assert '<td class="text-end">–</td>\n<td class="text-end">–</td>\n' in html
    assert "not yours to read" in html
    assert "href" not in html
