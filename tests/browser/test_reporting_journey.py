"""Reporting end to end, in a real browser, on the seed_demo data: the score
distribution dashboard.

HR opens the dashboards from the menu and the score distribution shows the cycle in
review; HR switches to the last closed cycle (every appraisal scored), reads the
headline figures, the histogram (drawn by Chart.js) and the table under it, then
narrows the page to one business unit: figures, chart and table change to that
unit's, in a link that carries the filters. The page's XLSX export becomes a report
job; once the job's page offers the file it is downloaded and read with openpyxl:
it holds what the filtered page showed. The database is only read, to name the
cycles.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Locator, Page, expect

from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.browser.conftest import Journey
from tests.browser.test_planning_journey import _pick

pytestmark = pytest.mark.browser

UNIT = "Technology Consulting"  # has scored appraisals, and fewer than everyone
HEADER = ("Grouping", "Group", "Appraisals scored", "Mean")
# With Celery eager the job is done before its page opens; with a worker it takes a
# few polls (every 2 s) of the progress bar.
JOB_TIMEOUT_MS = 30_000

# True once Chart.js has drawn every chart of the page, each bar in place (the
# journeys turn its animations off, but a bar still animating would not count).
_CHARTS_DRAWN = """() => [...document.querySelectorAll("canvas[data-chart]")].every(
  (canvas) => {
    const chart = window.Chart ? window.Chart.getChart(canvas) : undefined;
    return chart !== undefined && canvas.width > 0 && canvas.height > 0 &&
      chart.data.datasets.every((dataset, index) => {
        const elements = chart.getDatasetMeta(index).data;
        return elements.length === dataset.data.length && elements.every(
          (element) => Object.values(element.$animations || {}).every(
            (animation) => !animation.active()
          )
        );
      });
  }
)"""
_CHART_DATA = """(canvas) => {
  const data = window.Chart.getChart(canvas).data;
  return {labels: data.labels, counts: data.datasets[0].data};
}"""


def _figure(page: Page, name: str) -> str:
    return page.locator(f"[data-figure='{name}']").inner_text()


def _chart(page: Page, chart_id: str) -> Locator:
    """The card of the chart ``chart_id``: its canvas, and its table under it."""
    return page.locator("figure").filter(
        has=page.locator(f"canvas[data-chart='{chart_id}']")
    )


def _wait_for_charts(page: Page) -> None:
    page.wait_for_function(_CHARTS_DRAWN)


def _drawn_chart(page: Page, chart_id: str) -> dict[str, list[Any]]:
    """The labels and counts of the chart ``chart_id``, once every chart of the page
    is drawn."""
    _wait_for_charts(page)
    return page.locator(f"canvas[data-chart='{chart_id}']").evaluate(_CHART_DATA)


def _table(chart: Locator) -> list[list[str]]:
    """The cells of the table under ``chart``, row by row, opened first."""
    details = chart.locator("details")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    rows = details.locator("tbody tr")
    expect(rows.first).to_be_visible()
    return [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in rows.all()
    ]


def _histogram(page: Page) -> tuple[dict[str, list[Any]], list[list[str]]]:
    """The histogram's chart data and its table, checked against each other."""
    data = _drawn_chart(page, "chart-histogram")
    table = _table(_chart(page, "chart-histogram"))
    assert [int(count) for _, count in table] == data["counts"]
    assert sum(data["counts"]) == int(_figure(page, "count"))
    return data, table


def _unit_row(page: Page, unit: str) -> list[str]:
    table = _table(_chart(page, "chart-business-units"))
    rows = [row for row in table if row[0] == unit]
    assert len(rows) == 1, table
    return rows[0]


def _cycle_names() -> tuple[str, str]:
    """The names of the demo's cycle in review (the dashboards' default) and of the
    last closed one (every appraisal scored)."""
    with tenant_context(Organization.objects.get(slug="acme")):
        in_review = ReviewCycle.objects.get(status=CycleStatus.REVIEW)
        closed = (
            ReviewCycle.objects.filter(status=CycleStatus.CLOSED)
            .order_by("-start_date")
            .first()
        )
        assert closed is not None
        return in_review.name, closed.name


def test_hr_filters_the_score_distribution_and_downloads_it_as_xlsx(
    journey: Journey, tmp_path: Path
) -> None:
    page = journey.page
    in_review, closed = _cycle_names()

    # --- 1. Reports → Dashboards → Score distribution: the cycle in review ----------
    journey.log_in("hr@acme.test")
    navbar = page.get_by_role("navigation", name="Main navigation")
    navbar.get_by_role("button", name="Reports", exact=True).click()
    navbar.get_by_role("link", name="Dashboards", exact=True).click()
    expect(page).to_have_url(re.compile(r"/o/acme/reports/$"))
    page.get_by_role("link", name="Score distribution", exact=True).click()

    expect(page).to_have_url(re.compile(r"/o/acme/reports/scores/$"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"Score distribution · {in_review}")
    filters = page.get_by_role("search", name="Filter the figures")
    cycle_choice = filters.get_by_label("Review cycle")
    expect(cycle_choice.locator("option:checked")).to_have_text(in_review)
    _histogram(page)
    _wait_for_charts(page)
    journey.step("scores-default-cycle")

    # --- 2. The last closed cycle, everyone in it -----------------------------------
    cycle_choice.select_option(label=closed)
    filters.get_by_role("button", name="Show", exact=True).click()

    expect(heading).to_have_text(f"Score distribution · {closed}")
    expect(cycle_choice.locator("option:checked")).to_have_text(closed)
    everyone = {name: _figure(page, name) for name in ("count", "mean")}
    all_chart, all_table = _histogram(page)
    unit = _unit_row(page, UNIT)
    unit_count, unit_mean = int(unit[1]), unit[2]
    assert 0 < unit_count < int(everyone["count"]), (unit, everyone)
    _wait_for_charts(page)
    journey.step("scores-everyone", readme="score-distribution")

    # --- 3. One business unit: figures, chart and table change ----------------------
    _pick(filters, "Business unit", UNIT)  # a searchable picker over the units
    unit_id = filters.locator("select[name='business_unit']").input_value()
    filters.get_by_role("button", name="Show", exact=True).click()

    expect(page).to_have_url(
        re.compile(rf"/reports/scores/\?.*business_unit={unit_id}")
    )
    expect(heading).to_have_text(f"Score distribution · {closed}")
    expect(page.locator("[data-figure='count']")).to_have_text(str(unit_count))
    expect(page.locator("[data-figure='mean']")).to_have_text(unit_mean)
    expect(filters.locator("select[name='business_unit']")).to_have_value(unit_id)
    unit_chart, unit_table = _histogram(page)
    assert unit_chart["labels"] == all_chart["labels"]  # the same scale, fewer people
    assert unit_chart["counts"] != all_chart["counts"]
    assert unit_table != all_table
    assert [row[0] for row in _table(_chart(page, "chart-business-units"))] == [UNIT]
    filtered = {name: _figure(page, name) for name in ("count", "mean")}
    _wait_for_charts(page)
    journey.step("scores-one-unit")

    # The link is one to share: opened afresh, it shows the same figures.
    shared = page.url
    journey.goto(shared)
    expect(heading).to_have_text(f"Score distribution · {closed}")
    expect(page.locator("[data-figure='count']")).to_have_text(filtered["count"])
    expect(page.locator("[data-figure='mean']")).to_have_text(filtered["mean"])
    assert parse_qs(urlsplit(page.url).query)["business_unit"] == [unit_id]

    # --- 4. Export what is shown as XLSX, follow the job, download the file ---------
    export = page.get_by_role("form", name="Export these figures")
    expect(export.locator("input[name='business_unit']")).to_have_value(unit_id)
    export.get_by_role("button", name="XLSX", exact=True).click()

    expect(page).to_have_url(re.compile(r"/o/acme/reports/jobs/\d+/$"))
    expect(heading).to_have_text("Score distribution")
    progress = page.locator("#job-progress")
    download_link = progress.get_by_role("link", name="Download")
    expect(download_link).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(progress.get_by_role("progressbar")).to_have_attribute(
        "aria-valuenow", "100"
    )
    ready = re.search(r"Ready: (\d+) rows?\.", progress.inner_text())
    assert ready is not None, progress.inner_text()
    journey.step("export-job-done")

    with page.expect_download() as started:
        download_link.click()
    download = started.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    workbook = load_workbook(path, read_only=True)
    try:
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    assert len(rows) == 1 + int(ready.group(1))  # the header, then the rows
    assert rows[0][: len(HEADER)] == HEADER
    assert rows[1][0] == "Everyone counted"
    assert rows[1][2] == int(filtered["count"])
    assert Decimal(str(rows[1][3])) == Decimal(filtered["mean"])
    units = [row[1] for row in rows[2:] if row[0] == "Business unit"]
    assert units == [UNIT]
