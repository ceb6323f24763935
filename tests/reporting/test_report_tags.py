"""The heatmap's cells as the page draws them (``reporting.templatetags``)."""

from __future__ import annotations

from decimal import Decimal

from django.template import Context, Template

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
