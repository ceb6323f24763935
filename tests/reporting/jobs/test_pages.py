"""The exports page, the report job pages and the download, for each role: who may
use them, who may not, and another organisation's jobs (404)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from organizations.enums import Role
from organizations.tenancy import tenant_context
from reporting.enums import JobStatus
from reporting.models import ReportJob
from tests.factories import MembershipFactory
from tests.reporting_factories import ReportJobFactory

pytestmark = pytest.mark.django_db


def _url(name, tenant, *args):
    return reverse(f"reporting:{name}", args=[tenant.org.slug, *args])


def _jobs(tenant):
    with tenant_context(tenant.org):
        return list(ReportJob.objects.values_list("kind", "requested_by_id"))


def _done_job(tenant, member, **kwargs):
    job = ReportJobFactory(
        organization=tenant.org,
        requested_by=member.user,
        status=JobStatus.DONE,
        row_count=2,
        parameters={"cycle": tenant.cycle.pk},
        **kwargs,
    )
    with tenant_context(tenant.org):
        job.file.save("report.csv", ContentFile(b"Employee\r\nA\r\n"), save=True)
    return job


def _field_error(page, name):
    found = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(found.group(1)) if found else None


# --- The exports page -----------------------------------------------------------------


def test_exports_page_offers_hr_every_report_and_this_organisations_cycles(
    client_as, both
):
    home, away = both

    response = client_as(home.hr_admin).get(_url("exports", home))

    page = response.content.decode()
    assert response.status_code == 200
    assert [d.kind for d in response.context["datasets"]] == [
        "appraisals",
        "evaluations",
        "goals",
        "competency_ratings",
        "feedback_counts",
        "client_surveys",
    ]
    assert f'<option value="{home.cycle.pk}">' in page
    assert f'<option value="{away.cycle.pk}"' not in page


def test_exports_page_tells_an_employee_there_is_nothing_to_export(client_as, home):
    employee = MembershipFactory(organization=home.org, role=Role.EMPLOYEE)

    response = client_as(employee).get(_url("exports", home))

    assert response.status_code == 200
    assert "There is nothing for you to export" in response.content.decode()


def test_exports_post_is_forbidden_with_nothing_to_export(client_as, home):
    employee = MembershipFactory(organization=home.org, role=Role.EMPLOYEE)

    response = client_as(employee).post(
        _url("exports", home),
        {"kind": "appraisals", "cycle": home.cycle.pk, "file_format": "csv"},
    )

    assert response.status_code == 403
    assert _jobs(home) == []


def test_exports_post_is_forbidden_for_a_report_outside_the_managers_scope(
    client_as, home
):
    response = client_as(home.manager).post(
        _url("exports", home),
        {"kind": "client_surveys", "cycle": home.cycle.pk, "file_format": "csv"},
    )

    assert response.status_code == 403
    assert _jobs(home) == []


def test_exports_post_starts_a_job_and_shows_its_page(client_as, home):
    response = client_as(home.manager).post(
        _url("exports", home),
        {"kind": "appraisals", "cycle": home.cycle.pk, "file_format": "xlsx"},
    )

    with tenant_context(home.org):
        job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("job_detail", home, job.pk)
    assert (job.kind, job.file_format, job.parameters, job.requested_by_id) == (
        "appraisals",
        "xlsx",
        {"cycle": home.cycle.pk},
        home.manager.user_id,
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cycle", "other", "Choose one of the cycles listed."),
        ("cycle", "", "Choose the review cycle to export."),
        ("kind", "salaries", "Choose one of the reports listed."),
        ("file_format", "pdf", "Choose CSV or XLSX."),
    ],
)
def test_exports_post_with_bad_input_shows_the_error_beside_the_field(
    client_as, both, field, value, message
):
    home, away = both
    data = {"kind": "appraisals", "cycle": home.cycle.pk, "file_format": "csv"}
    data[field] = away.cycle.pk if value == "other" else value

    response = client_as(home.hr_admin).post(_url("exports", home), data)

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, field) == message
    assert "Nothing was saved." in page
    assert _jobs(home) == []


# --- Job pages ------------------------------------------------------------------------


def test_job_page_shows_its_requester_and_hr_the_progress(client_as, home):
    job = ReportJobFactory(organization=home.org, requested_by=home.manager.user)

    mine = client_as(home.manager).get(_url("job_detail", home, job.pk))
    hr = client_as(home.hr_admin).get(_url("job_detail", home, job.pk))

    assert (mine.status_code, hr.status_code) == (200, 200)
    page = mine.content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "Queued: the export starts shortly." in page


def test_job_page_of_another_member_or_organisation_is_404(client_as, both):
    home, away = both
    job = ReportJobFactory(organization=home.org, requested_by=home.hr_admin.user)
    foreign = ReportJobFactory(organization=away.org, requested_by=away.hr_admin.user)

    other_member = client_as(home.manager).get(_url("job_detail", home, job.pk))
    other_org = client_as(home.hr_admin).get(_url("job_detail", home, foreign.pk))
    progress = client_as(home.manager).get(_url("job_progress", home, job.pk))

    assert (other_member.status_code, other_org.status_code) == (404, 404)
    assert progress.status_code == 404


def test_job_progress_partial_stops_polling_and_links_the_file_when_done(
    client_as, home
):
    job = _done_job(home, home.manager)

    response = client_as(home.manager).get(
        _url("job_progress", home, job.pk), HTTP_HX_REQUEST="true"
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "hx-get" not in page
    assert "<html" not in page
    assert _url("job_download", home, job.pk) in page
    assert "HX-Request" in response["Vary"]


def test_job_progress_partial_polls_while_running(client_as, home):
    job = ReportJobFactory(
        organization=home.org,
        requested_by=home.manager.user,
        status=JobStatus.RUNNING,
        progress=40,
    )

    response = client_as(home.manager).get(
        _url("job_progress", home, job.pk), HTTP_HX_REQUEST="true"
    )

    page = response.content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert 'aria-valuenow="40"' in page
    assert '<rect width="40"' in page


def test_job_page_of_a_failed_job_says_what_to_do(client_as, home):
    job = ReportJobFactory(
        organization=home.org,
        requested_by=home.manager.user,
        status=JobStatus.FAILED,
        error="The export failed and no file was made. Ask for it again.",
    )

    response = client_as(home.manager).get(_url("job_detail", home, job.pk))

    page = response.content.decode()
    # A finished job's page does not poll for progress.
    assert _url("job_progress", home, job.pk) not in page
    assert "Ask for it again." in page
    assert _url("job_download", home, job.pk) not in page


# --- Job list -------------------------------------------------------------------------


def test_job_list_shows_a_member_their_own_jobs_and_hr_all(client_as, both):
    home, away = both
    mine = ReportJobFactory(organization=home.org, requested_by=home.manager.user)
    hrs = ReportJobFactory(organization=home.org, requested_by=home.hr_admin.user)
    ReportJobFactory(organization=away.org, requested_by=away.hr_admin.user)

    manager_list = client_as(home.manager).get(_url("jobs", home))
    hr_list = client_as(home.hr_admin).get(_url("jobs", home))

    assert [job for job, _label in manager_list.context["rows"]] == [mine]
    assert [job for job, _label in hr_list.context["rows"]] == [hrs, mine]


def test_job_list_query_count_is_flat(client_as, home):
    client = client_as(home.hr_admin)
    counts = []

    for size in (1, 12):
        while len(_jobs(home)) < size:
            member = MembershipFactory(organization=home.org, role=Role.MANAGER)
            ReportJobFactory(organization=home.org, requested_by=member.user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_url("jobs", home))
        assert len(response.context["rows"]) == size
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[1] <= 15


# --- Download -------------------------------------------------------------------------


def test_download_serves_the_file_as_an_attachment_to_its_requester(client_as, home):
    job = _done_job(home, home.manager)

    response = client_as(home.manager).get(_url("job_download", home, job.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert job.download_name in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"Employee\r\nA\r\n"


def test_download_is_allowed_to_hr_for_any_members_job(client_as, home):
    job = _done_job(home, home.manager)

    response = client_as(home.hr_admin).get(_url("job_download", home, job.pk))
    response.close()  # as the server does once sent

    assert response.status_code == 200


def test_download_of_another_members_job_is_404(client_as, home):
    job = _done_job(home, home.hr_admin)

    response = client_as(home.manager).get(_url("job_download", home, job.pk))

    assert response.status_code == 404


def test_download_of_another_organisations_job_is_404(client_as, both):
    home, away = both
    foreign = _done_job(away, away.hr_admin)

    response = client_as(home.hr_admin).get(_url("job_download", home, foreign.pk))

    assert response.status_code == 404


def test_download_after_the_requesters_role_changed_is_forbidden(client_as, home):
    job = _done_job(home, home.hr_admin)
    with tenant_context(home.org):
        home.hr_admin.role = Role.EMPLOYEE
        home.hr_admin.save(update_fields=["role"])

    response = client_as(home.hr_admin).get(_url("job_download", home, job.pk))
    page = client_as(home.hr_admin).get(_url("job_detail", home, job.pk))

    assert response.status_code == 403
    assert "you can no longer download it" in page.content.decode()


def test_download_after_leaving_the_organisation_is_404(client_as, home):
    job = _done_job(home, home.manager)
    with tenant_context(home.org):
        home.manager.is_active = False
        home.manager.save(update_fields=["is_active"])

    response = client_as(home.manager).get(_url("job_download", home, job.pk))

    assert response.status_code == 404


def test_download_once_expired_is_gone(client_as, home):
    job = _done_job(home, home.manager)
    with tenant_context(home.org):
        ReportJob.objects.filter(pk=job.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

    response = client_as(home.manager).get(_url("job_download", home, job.pk))

    assert response.status_code == 410
    assert "retention period is over" in response.content.decode()


def test_download_of_a_file_that_is_gone_is_410(client_as, home):
    job = _done_job(home, home.manager)
    default_storage.delete(job.file.name)

    response = client_as(home.manager).get(_url("job_download", home, job.pk))

    assert response.status_code == 410


def test_download_of_an_unfinished_job_is_404(client_as, home):
    job = ReportJobFactory(organization=home.org, requested_by=home.manager.user)

    response = client_as(home.manager).get(_url("job_download", home, job.pk))

    assert response.status_code == 404
    assert "still being prepared" in response.content.decode()
