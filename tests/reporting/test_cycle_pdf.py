"""The cycle PDF: the figures of the cycle dashboards for HR and for a line manager
(their own pages' figures, read from the pages' context, and worked out by hand on
the report world), the top and bottom of goal attainment, who may ask for it,
hostile names printed as text, and a query count that does not grow with the
cycle."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appraisals.enums import AppraisalStatus, EvaluationStatus
from competencies.models import Competency
from engagements.enums import CycleStatus, Direction, PlanKind
from engagements.models import Plan
from organizations.models import BusinessUnit, Employee, Membership
from organizations.tenancy import tenant_context
from reporting.documents.cycle import CYCLE_REPORT, cycle_html
from reporting.enums import JobStatus
from reporting.figures.attainment import attainment_extremes
from reporting.models import ReportJob
from reporting.pdf import StaticOnlyFetcher, render_pdf
from tests.appraisal_factories import (
    AppraisalFactory,
    CompetencyRatingFactory,
    EvaluationFactory,
)
from tests.engagement_factories import (
    GoalFactory,
    PlanCompetencyFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import BusinessUnitFactory, EmployeeFactory, OrganizationFactory
from tests.reporting.worlds import ReportWorld, build_world

IMG = '<img src="file:///etc/passwd">'
LINK = '<link rel="stylesheet" href="http://169.254.169.254/">'


@pytest.fixture
def world(db: None) -> ReportWorld:
    build_world(OrganizationFactory(slug="rival", name="Rival"), extra_people=2)
    return build_world(OrganizationFactory(slug="home", name="Home"))


def _html(world: ReportWorld, membership) -> str:
    with tenant_context(world.org):
        cycle = CYCLE_REPORT.subject(membership, {"cycle": world.cycle.pk})
        assert cycle is not None
        return cycle_html(membership, cycle)


def _text(html: str, tmp_path: Path) -> str:
    fetcher = StaticOnlyFetcher()
    pdf = tmp_path / "cycle.pdf"
    pdf.write_bytes(render_pdf(html, fetcher=fetcher))
    assert fetcher.refused == []
    return _pdf_text(pdf)


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(  # noqa: S603 - poppler's tool on the test's own file
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _dashboard(client, world: ReportWorld, name: str) -> Any:
    """The figures the dashboard ``name`` shows for the world's cycle."""
    response = client.get(
        reverse(f"reporting:{name}", args=[world.org.slug]),
        {"cycle": world.cycle.pk},
    )
    assert response.status_code == 200
    return response.context["figures"]


def _row(text: str, *cells: object) -> bool:
    """Whether a line of ``text`` holds ``cells`` in order, apart only by spaces."""
    pattern = r"\s+".join(re.escape(str(c)) for c in cells)
    return re.search(rf"(^|\s){pattern}(\s|$)", text, re.MULTILINE) is not None


def _assert_dashboard_figures(text: str, client, world: ReportWorld) -> None:
    overview = _dashboard(client, world, "overview")
    for label, n in overview.appraisals_by_status:
        assert _row(text, label, n)
    assert _row(text, f"{overview.approved_share} %", overview.overdue)
    scores = _dashboard(client, world, "scores")
    summary = scores.summary
    assert _row(
        text,
        summary.count,
        summary.mean,
        summary.median,
        summary.stdev,
        scores.provisional,
        scores.unscored,
    )
    for label, n in scores.band_rows:
        assert _row(text, label, n)
    for group in scores.by_business_unit:
        assert _row(text, group.name, group.summary.count, group.summary.mean)


# --- What it holds -------------------------------------------------------------------


def test_hr_reads_the_figures_of_the_dashboards(world, client_as, tmp_path):
    client = client_as(world.hr)

    text = _text(_html(world, world.hr), tmp_path)

    _assert_dashboard_figures(text, client, world)
    assert _row(text, "Finalised", 2)
    assert _row(text, 3, "3.17", "3.00", "0.62", 1, 1)  # Ada, Ben, Cleo; Dan unscored
    heatmap = _dashboard(client, world, "competencies")
    assert heatmap.columns == ["Audit", "Tax"]
    assert _row(text, "Teamwork", "4.00", "–", "3.50")  # Tax: one rating, no average
    reviewers = _dashboard(client, world, "reviewers")
    for row in reviewers.rows:
        bias = f"+{row.bias}" if row.bias > 0 else row.bias
        assert _row(
            text, row.name, row.reviews, row.ratings, row.mean, row.spread, bias
        )
    assert [r.name for r in reviewers.rows] == ["Rita Reviewer", "Rolf Reviewer"]
    assert "The organisation's mean is 3.50 over 4 ratings." in text
    # Ada and Cleo met their one goal, Ben missed his.
    assert _row(text, "Ada", 1, 1, "100.00 %")
    assert _row(text, "Cleo", 1, 1, "100.00 %")
    assert _row(text, "Ben", 1, 0, "0.00 %")
    assert "Page 1 of" in text
    assert "Extra" not in text  # the rival organisation's people


def test_a_line_manager_reads_their_line_only(world, client_as, tmp_path):
    client = client_as(world.manager)

    html = _html(world, world.manager)
    text = _text(html, tmp_path)

    _assert_dashboard_figures(text, client, world)
    assert _row(text, 2, "3.50", "3.50", "0.50", 1, 0)  # Ada 4.00, Ben 3.00
    assert _dashboard(client, world, "competencies").columns == ["Audit"]
    # Teamwork rated twice in the line: the count, no average.
    assert (
        '<td class="heat-none"><div class="fw-semibold">–</div>'
        '<div class="small">2 ratings</div></td>'
    ) in html
    assert _row(text, "Ada", 1, 1, "100.00 %")
    assert _row(text, "Ben", 1, 0, "0.00 %")
    assert "Reviewer consistency" not in text  # HR's only, as the dashboard
    for outside in ("Cleo", "Dan", "Rolf", "Tax", "Extra"):
        assert outside not in text


def test_attainment_lists_the_top_and_the_bottom_once_each(world):
    with tenant_context(world.org):
        plans = Plan.objects.filter(cycle=world.cycle)

        one = attainment_extremes(plans, limit=1)
        two = attainment_extremes(plans, limit=2)

    assert [p.name for p in one.top] == ["Ada"]
    assert [p.name for p in one.bottom] == ["Ben"]  # Cleo (100 %) is neither
    assert [p.name for p in two.top] == ["Ada", "Cleo"]
    assert [p.name for p in two.bottom] == ["Ben"]
    assert (one.people, one.bottom[0].share) == (3, Decimal("0.00"))


# --- Who may ask for it -------------------------------------------------------------


def _ask(client, world: ReportWorld, pk: int):
    return client.post(reverse("reporting:cycle_pdf", args=[world.org.slug, pk]))


@pytest.mark.django_db(transaction=True)
def test_hr_gets_the_pdf_through_a_report_job(world, client_as, tmp_path):
    client = client_as(world.hr)

    response = _ask(client, world, world.cycle.pk)

    with tenant_context(world.org):
        job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/reports/jobs/{job.pk}/")
    assert (job.kind, job.status) == ("cycle_pdf", JobStatus.DONE)
    download = client.get(
        reverse("reporting:job_download", args=[world.org.slug, job.pk])
    )
    pdf = tmp_path / "download.pdf"
    pdf.write_bytes(b"".join(download.streaming_content))
    assert "Cycle report · Review" in _pdf_text(pdf)
    assert default_storage.exists(job.file.name)


@pytest.mark.django_db(transaction=True)
def test_only_the_cycle_dashboards_viewers_may_ask_for_it(world, client_as):
    draft = ReviewCycleFactory(organization=world.org, status=CycleStatus.DRAFT)
    rival = build_world(OrganizationFactory(slug="far", name="Far"))

    answers = [
        _ask(client_as(world.manager), world, world.cycle.pk).status_code,
        _ask(client_as(world.employee), world, world.cycle.pk).status_code,
        _ask(client_as(world.reviewer), world, world.cycle.pk).status_code,
        _ask(client_as(world.hr), world, rival.cycle.pk).status_code,
        _ask(client_as(world.hr), world, draft.pk).status_code,
        client_as(world.hr)
        .get(reverse("reporting:cycle_pdf", args=[world.org.slug, world.cycle.pk]))
        .status_code,
    ]

    # Ada (an employee) and Rita (a reviewer without a line) open no cycle
    # dashboard; another organisation's cycle and a draft are not shown there.
    assert answers == [302, 403, 403, 404, 404, 405]
    with tenant_context(world.org):
        assert ReportJob.objects.filter(kind="cycle_pdf").count() == 1


def test_overview_page_offers_the_pdf_of_its_cycle(world, client_as):
    response = client_as(world.manager).get(
        reverse("reporting:overview", args=[world.org.slug]), {"cycle": world.cycle.pk}
    )

    action = reverse("reporting:cycle_pdf", args=[world.org.slug, world.cycle.pk])
    assert f'action="{action}"' in response.content.decode()


# --- Hostile content -----------------------------------------------------------------


def test_hostile_names_are_printed_as_text_and_fetch_nothing(world, tmp_path):
    with tenant_context(world.org):
        Employee.objects.filter(pk=world.people["Ada"].pk).update(full_name=IMG)
        Employee.objects.filter(full_name="Rita Reviewer").update(full_name=LINK)
        BusinessUnit.objects.filter(name="Audit").update(name=LINK)
        Competency.objects.filter(name="Teamwork").update(name=IMG)

    html = _html(world, world.hr)
    text = _text(html, tmp_path)  # asserts that nothing was refused: nothing asked

    body = html.split("<body>", 1)[1]
    assert "<img" not in body
    assert "<link" not in body
    # Without the spaces and line breaks of narrow columns.
    flat = "".join(text.split())
    assert 'src="file:///etc/passwd">' in flat
    assert 'href="http://169.254.169.254/">' in flat


# --- Cost --------------------------------------------------------------------------------


def _grow(world: ReportWorld, people: int) -> None:
    """``people`` more people in a new unit, every other one in the manager's line,
    each with a scored appraisal, a rated review by a new reviewer and a goal."""
    with tenant_context(world.org):
        boss = Employee.objects.get(user=world.manager.user)
        teamwork = Competency.objects.get(name="Teamwork")
    unit = BusinessUnitFactory(organization=world.org, name="Advisory")
    reviewer = EmployeeFactory(organization=world.org, full_name="Rhea Reviewer")
    for n in range(people):
        employee = EmployeeFactory(
            organization=world.org,
            full_name=f"Grown {n}",
            business_unit=unit,
            line_manager=boss if n % 2 == 0 else None,
        )
        appraisal = AppraisalFactory(
            organization=world.org,
            cycle=world.cycle,
            employee=employee,
            status=AppraisalStatus.OPEN,
            final_score=Decimal("3.50"),
            percent=Decimal("62.50"),
        )
        plan = PlanFactory(
            organization=world.org,
            cycle=world.cycle,
            employee=employee,
            kind=PlanKind.ENGAGEMENT,
            engagement=world.engagement,
        )
        review = EvaluationFactory(
            organization=world.org,
            plan=plan,
            appraisal=appraisal,
            reviewer=reviewer,
            status=EvaluationStatus.SUBMITTED,
        )
        CompetencyRatingFactory(
            organization=world.org,
            evaluation=review,
            plan_competency=PlanCompetencyFactory(
                organization=world.org, plan=plan, competency=teamwork, expected_level=3
            ),
            value=Decimal(3),
        )
        GoalFactory(
            organization=world.org,
            plan=plan,
            direction=Direction.HIGHER,
            target_value=Decimal(100),
            actual_value=Decimal(90 + n),
        )


@pytest.mark.parametrize("reader", ["hr", "manager"])
def test_the_cycle_report_costs_the_same_queries_whatever_the_cycle(world, reader):
    def count() -> int:
        with tenant_context(world.org):
            # Loaded afresh, as the job loads it: a scope keeps what it read on it.
            membership = Membership.objects.select_related("organization").get(
                pk=getattr(world, reader).pk
            )
            cycle = CYCLE_REPORT.subject(membership, {"cycle": world.cycle.pk})
            with CaptureQueriesContext(connection) as captured:
                cycle_html(membership, cycle)
        return len(captured.captured_queries)

    small = count()
    _grow(world, 24)
    large = count()

    assert small == large
    # Per dashboard its cycles and figures (HR's from the tallies: six for the
    # overview, four for the scores, one for the heatmap, three for the reviewers),
    # and one for the attainment ranking.
    assert small <= 20
