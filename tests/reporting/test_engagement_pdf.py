"""The engagement PDF: what it counts for HR and for a line manager (the analytics
page's scope), worked out by hand on the report world; its SVG chart; who may ask
for it; and a query count that does not grow with the team."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.tenancy import tenant_context
from reporting.documents.engagement import ENGAGEMENT_REPORT, engagement_html
from reporting.models import ReportJob
from reporting.pdf import StaticOnlyFetcher, render_pdf
from reporting.svg import bars
from tests.engagement_factories import PlanFactory
from tests.factories import EmployeeFactory, OrganizationFactory
from tests.feedback_factories import ClientSurveyFactory
from tests.reporting.worlds import ReportWorld, build_world


@pytest.fixture
def world(db: None) -> ReportWorld:
    build_world(OrganizationFactory(slug="rival", name="Rival"), extra_people=2)
    return build_world(OrganizationFactory(slug="home", name="Home"))


def _html(world: ReportWorld, membership) -> str:
    with tenant_context(world.org):
        engagement = ENGAGEMENT_REPORT.subject(
            membership, {"engagement": world.engagement.pk}
        )
        assert engagement is not None
        return engagement_html(membership, engagement)


def _text(html: str, tmp_path: Path) -> str:
    fetcher = StaticOnlyFetcher()
    pdf = tmp_path / "engagement.pdf"
    pdf.write_bytes(render_pdf(html, fetcher=fetcher))
    assert fetcher.refused == []
    return subprocess.run(  # noqa: S603 - poppler's tool on the test's own file
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_hr_reads_the_whole_team_roles_attainment_and_averages(world, tmp_path):
    text = _text(_html(world, world.hr), tmp_path)

    for name in ("Ada", "Ben", "Cleo", "Dan", "Rita Reviewer"):
        assert name in text
    assert "Ledger" in text
    assert "66.67 %" in text  # 2 of 3 measured goals at or above target
    assert "3.50" in text  # Teamwork: (4 + 3 + 5 + 2) / 4
    assert "No client survey has been sent" in text
    assert "Page 1 of" in text


def test_a_line_manager_reads_their_line_and_no_small_average(world):
    html = _html(world, world.manager)

    assert "Ada" in html
    assert "Ben" in html
    assert "Cleo" not in html  # outside the manager's line
    assert "Dan" not in html
    # Teamwork rated twice in the line: the count, no average.
    assert '<td>Teamwork</td><td class="num">2</td><td class="num">—</td>' in html


def test_client_satisfaction_is_drawn_as_bars_for_its_readers(world):
    with tenant_context(world.org):
        ClientSurveyFactory(
            organization=world.org,
            engagement=world.engagement,
            answered_at=world.cycle.start_date.isoformat() + "T12:00:00Z",
            sent_at=world.cycle.start_date.isoformat() + "T12:00:00Z",
            overall=4,
        )

    html = _html(world, world.hr)

    assert "<svg" in html
    assert "Mean client satisfaction per cycle" in html
    assert "1 / 1" in html


def test_chart_labels_are_escaped():
    drawn = bars([("<b>Q1</b>", Decimal(4))], maximum=Decimal(5), title="<t>")

    assert "<b>" not in drawn
    assert "&lt;b&gt;Q1&lt;/b&gt;" in drawn
    assert "&lt;t&gt;" in drawn


@pytest.mark.django_db(transaction=True)
def test_who_may_ask_for_it_gets_the_job_and_others_nothing(world, client_as):
    url = reverse(
        "reporting:engagement_pdf", args=[world.org.slug, world.engagement.pk]
    )

    answers = [
        client_as(member).post(url).status_code
        for member in (world.hr, world.manager, world.reviewer, world.employee)
    ]

    assert answers == [302, 302, 302, 403]  # Ada (an employee) opens no analytics
    with tenant_context(world.org):
        assert ReportJob.objects.filter(kind="engagement_pdf").count() == 3


def test_the_engagement_report_costs_the_same_queries_whatever_the_team(world):
    def count() -> int:
        with tenant_context(world.org):
            engagement = ENGAGEMENT_REPORT.subject(
                world.hr, {"engagement": world.engagement.pk}
            )
            with CaptureQueriesContext(connection) as captured:
                engagement_html(world.hr, engagement)
        return len(captured.captured_queries)

    small = count()
    with tenant_context(world.org):
        for n in range(4):
            PlanFactory(
                organization=world.org,
                cycle=world.cycle,
                employee=EmployeeFactory(organization=world.org, full_name=f"New {n}"),
                engagement=world.engagement,
            )
    large = count()

    assert small == large
