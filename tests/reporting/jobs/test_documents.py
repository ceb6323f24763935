"""The appraisal PDF: asked for from the appraisal page by whoever may open it, made
by the report job, downloaded through the job's page. Its text (poppler's
pdftotext) holds what the page shows the reader; hostile names, goals and comments
are printed as text and make the renderer fetch nothing; the query count does not
grow with the appraisal."""

from __future__ import annotations

import shutil
import subprocess
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal
from appraisals.selectors.appraisals import ScoreBands
from engagements.enums import PlanKind
from feedback.enums import FeedbackKind, Visibility
from organizations.enums import Role
from organizations.models import Employee
from organizations.tenancy import tenant_context
from reporting.documents.appraisal import APPRAISAL_REPORT, appraisal_html
from reporting.enums import FileFormat, JobStatus
from reporting.models import ReportJob
from reporting.pdf import StaticOnlyFetcher, render_pdf
from reporting.services import MAX_ACTIVE_JOBS, run_report_job
from tests.appraisal_factories import EvaluationFactory
from tests.engagement_factories import GoalFactory, PlanCompetencyFactory, PlanFactory
from tests.factories import MembershipFactory
from tests.feedback_factories import FeedbackFactory
from tests.reporting_factories import ReportJobFactory

HOSTILE = (
    '<img src="file:///etc/passwd"> <link rel="stylesheet" '
    'href="http://169.254.169.254/latest/meta-data/"> '
    "<style>@import url(http://127.0.0.1:9/x.css); p { background: url(x.png) }</style>"
)


def _text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text, as poppler's pdftotext reads it (layout kept)."""
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    return subprocess.run(  # noqa: S603 - a fixed tool on a file of the test's own
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(source), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _ask(client, tenant, appraisal):
    return client.post(
        reverse("reporting:appraisal_pdf", args=[tenant.org.slug, appraisal.pk])
    )


def _job(tenant) -> ReportJob:
    with tenant_context(tenant.org):
        return ReportJob.objects.get()


def _download(client, tenant, job) -> bytes:
    response = client.get(
        reverse("reporting:job_download", args=[tenant.org.slug, job.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content)


def _page_explanation(client, tenant, appraisal):
    response = client.get(
        reverse("appraisals:appraisal_detail", args=[tenant.org.slug, appraisal.pk])
    )
    assert response.status_code == 200
    return response.context["explanation"], response.context["provisional"]


@pytest.mark.django_db(transaction=True)
def test_hr_gets_the_appraisal_as_the_page_shows_it(both, client_as, tmp_path):
    home, _away = both
    client = client_as(home.hr_admin)

    response = _ask(client, home, home.appraisal)

    job = _job(home)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/reports/jobs/{job.pk}/")
    assert (job.status, job.file_format, job.row_count) == (JobStatus.DONE, "pdf", 1)
    text = _text(_download(client, home, job), tmp_path)
    stored, provisional = _page_explanation(client, home, home.appraisal)
    assert home.report.full_name in text
    assert "Cycle of today" in text
    assert home.goal.title in text  # the goal, with its target and actual
    assert "200" in text
    assert "150" in text
    assert provisional is not None  # a submitted review: HR sees provisional figures
    assert "Provisional" in text
    for figure in (stored, provisional):
        if figure is not None and figure.final is not None:
            assert str(figure.final) in text
    assert "Page 1 of" in text
    assert "Otto Outside" not in text  # another person's appraisal
    assert "Calm Client" not in text  # the other organisation's


@pytest.mark.django_db(transaction=True)
def test_the_employee_reads_no_score_before_finalisation(home, client_as, tmp_path):
    member = MembershipFactory(
        organization=home.org, role=Role.EMPLOYEE, employee=home.report
    )
    client = client_as(member)

    _ask(client, home, home.appraisal)

    text = _text(_download(client, home, _job(home)), tmp_path)
    assert "Scores are shown once HR has finalised the appraisal." in text
    assert "Provisional" not in text
    assert "3.75" not in text  # the stored final score


@pytest.mark.django_db(transaction=True)
def test_whoever_may_not_open_the_appraisal_gets_404_and_no_job(both, client_as):
    home, away = both
    stranger = MembershipFactory(organization=home.org, role=Role.EMPLOYEE)

    refused = [
        _ask(client_as(stranger), home, home.appraisal).status_code,
        _ask(client_as(home.manager), home, home.other_appraisal).status_code,
        _ask(client_as(home.hr_admin), home, away.appraisal).status_code,
        client_as(home.hr_admin)
        .get(reverse("reporting:appraisal_pdf", args=[home.org.slug, 1]))
        .status_code,
    ]

    assert refused == [404, 404, 404, 405]
    with tenant_context(home.org):
        assert not ReportJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_too_many_reports_under_way_says_so_and_adds_no_job(home, client_as):
    with tenant_context(home.org):
        for _ in range(MAX_ACTIVE_JOBS):
            ReportJobFactory(
                organization=home.org,
                requested_by=home.hr_admin.user,
                status=JobStatus.RUNNING,
            )
    client = client_as(home.hr_admin)

    response = client.post(
        reverse("reporting:appraisal_pdf", args=[home.org.slug, home.appraisal.pk]),
        follow=True,
    )

    page = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"/appraisals/{home.appraisal.pk}/")
    assert f"You have {MAX_ACTIVE_JOBS} reports under way already." in page
    with tenant_context(home.org):
        assert ReportJob.objects.count() == MAX_ACTIVE_JOBS  # none added


@pytest.mark.django_db(transaction=True)
def test_the_download_checks_again_that_the_appraisal_may_be_opened(home, client_as):
    client = client_as(home.manager)
    _ask(client, home, home.appraisal)
    job = _job(home)
    with tenant_context(home.org):
        # The report moves to another line: the manager may no longer open it.
        Employee.objects.filter(pk=home.report.pk).update(line_manager=None)

    response = client.get(
        reverse("reporting:job_download", args=[home.org.slug, job.pk])
    )

    assert response.status_code == 403
    assert default_storage.exists(job.file.name)  # HR may still have it


@pytest.mark.django_db
def test_a_job_whose_reader_lost_the_appraisal_fails_without_a_file(home):
    with tenant_context(home.org):
        job = ReportJob.objects.create(
            organization=home.org,
            kind=APPRAISAL_REPORT.kind,
            file_format=FileFormat.PDF,
            parameters={"appraisal": home.other_appraisal.pk},
            requested_by=home.manager.user,
            expires_at=home.cycle.end_date.isoformat() + "T00:00:00Z",
        )
        status = run_report_job(organization=home.org, job_id=job.pk)
        job.refresh_from_db()

    assert (status, job.file.name) == (JobStatus.FAILED, "")
    assert "no longer" in job.error


# --- Hostile content ---------------------------------------------------------------------


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []  # what the server saw

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener():
    """A local HTTP server that counts the requests it gets."""
    server = HTTPServer(("127.0.0.1", 0), _Counter)
    _Counter.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Counter.hits
    server.shutdown()
    server.server_close()


def test_the_renderer_fetches_nothing_outside_static_files(listener, tmp_path):
    base, hits = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    fetcher = StaticOnlyFetcher()
    hostile = f"""<html><head>
        <link rel="stylesheet" href="{base}/style.css">
        <style>@import url({base}/import.css); @import url(file://{secret});
        body {{ background: url({base}/bg.png) }}</style></head>
        <body><p>Text</p><img src="file://{secret}"><img src="{base}/img.png">
        <img src="data:text/html;base64,PGI+eDwvYj4="></body></html>"""

    pdf = render_pdf(hostile, fetcher=fetcher)

    assert pdf.startswith(b"%PDF")
    assert hits == []
    assert len(fetcher.refused) == 7
    assert all(
        url.startswith((base, "file:", "data:text/html")) for url in fetcher.refused
    )


@pytest.mark.django_db(transaction=True)
def test_hostile_names_goals_and_comments_are_printed_as_text(
    home, client_as, tmp_path
):
    with tenant_context(home.org):
        Employee.objects.filter(pk=home.report.pk).update(full_name=HOSTILE)
        home.goal.title = HOSTILE[:200]
        home.goal.save(update_fields=["title"])
        FeedbackFactory(
            organization=home.org,
            subject=home.report,
            kind=FeedbackKind.PRAISE,
            visibility=Visibility.SHARED,
            body=HOSTILE,
        )
        appraisal = Appraisal.objects.select_related(
            "cycle", "employee__line_manager", "employee__job_title"
        ).get(pk=home.appraisal.pk)
        html = appraisal_html(home.hr_admin, appraisal)
    fetcher = StaticOnlyFetcher()

    text = _text(render_pdf(html, fetcher=fetcher), tmp_path)

    assert fetcher.refused == []  # escaped: no element asked for anything
    assert "<img" not in html.split("<body>", 1)[1].replace("&lt;img", "")
    assert 'src="file:///etc/passwd"' in text.replace("\n", " ")


# --- Cost --------------------------------------------------------------------------------


def _grow(home) -> None:
    """Three more plans with goals and competencies on the report's appraisal."""
    with tenant_context(home.org):
        for n in range(3):
            plan = PlanFactory(
                organization=home.org,
                cycle=home.cycle,
                employee=home.report,
                kind=PlanKind.ENGAGEMENT,
            )
            GoalFactory.create_batch(4, plan=plan, target_value=Decimal(10 + n))
            PlanCompetencyFactory.create_batch(3, plan=plan)
            EvaluationFactory(plan=plan, appraisal=home.appraisal, reviewer=None)


@pytest.mark.django_db
def test_the_appraisal_report_costs_the_same_queries_whatever_its_size(home):
    def count() -> int:
        with tenant_context(home.org):
            appraisal = APPRAISAL_REPORT.subject(
                home.hr_admin, {"appraisal": home.appraisal.pk}
            )
            with CaptureQueriesContext(connection) as captured:
                appraisal_html(home.hr_admin, appraisal)
        return len(captured.captured_queries)

    small = count()
    _grow(home)
    large = count()

    assert small == large
    # The evaluations, a live provisional explanation (six), the scale (two without
    # levels), the feedback (two), the plans' goals, competencies, both kinds of
    # ratings and the descriptors (five).
    assert small <= 16


@pytest.mark.django_db
def test_a_finalised_appraisal_shows_its_stored_score_to_the_employee(home):
    member = MembershipFactory(
        organization=home.org, role=Role.EMPLOYEE, employee=home.report
    )
    with tenant_context(home.org):
        Appraisal.objects.filter(pk=home.appraisal.pk).update(
            status=AppraisalStatus.FINALIZED
        )
        appraisal = Appraisal.objects.select_related(
            "cycle", "employee__line_manager", "employee__job_title"
        ).get(pk=home.appraisal.pk)
        html = appraisal_html(member, appraisal)

    assert "Scores are shown once HR has finalised" not in html
    assert "Provisional" not in html


def test_the_appraisal_report_names_the_band_of_the_final_score():
    explanation = SimpleNamespace(final=Decimal("3.75"), components=(), missing=())

    html = render_to_string(
        "reporting/pdf/explanation.html",
        {
            "explanation": explanation,
            "appraisal": SimpleNamespace(cycle_id=1),
            "bands": ScoreBands({1: ((Decimal(3), "Meets"), (Decimal(4), "Exceeds"))}),
        },
    )

    assert "<strong>3.75</strong> · 4 · Exceeds" in html
