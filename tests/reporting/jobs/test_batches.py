"""Batches of appraisal reports: asked for from the cycle overview, made by chunk
tasks (Celery eager here: the outbox runs them as the request commits), one ZIP with
exactly the appraisals the requester may see; a failed document fails the job
naming the person, and a retry makes only the rest; progress counts documents;
retention deletes the documents' files; the request's queries do not grow with the
batch. The batch surviving a killed worker is tests/faults/test_batch_kill.py."""

from __future__ import annotations

import io
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import reporting.pdf
from engagements.enums import CycleStatus
from organizations.enums import Role
from organizations.models import Employee, OutboxMessage
from organizations.tenancy import tenant_context
from reporting.batches import CHUNK_SIZE, RUN_BATCH_CHUNK_TASK, file_names
from reporting.enums import FileFormat, JobStatus, PartStatus
from reporting.models import ReportJob, ReportJobPart
from reporting.services import ORPHAN_AFTER, delete_expired_reports
from tests.appraisal_factories import AppraisalFactory
from tests.engagement_factories import ReviewCycleFactory
from tests.factories import BusinessUnitFactory, EmployeeFactory, MembershipFactory

REAL_HTML = reporting.pdf.HTML


def _ask(client, tenant, **filters: Any):
    return client.post(
        reverse("reporting:appraisal_batch", args=[tenant.org.slug]),
        {"cycle": tenant.cycle.pk, **filters},
    )


def _job(tenant) -> ReportJob:
    with tenant_context(tenant.org):
        return ReportJob.objects.get()


def _parts(tenant, job: ReportJob) -> list[ReportJobPart]:
    with tenant_context(tenant.org):
        return list(ReportJobPart.objects.filter(job=job).order_by("name"))


def _zip(client, tenant, job: ReportJob) -> dict[str, bytes]:
    response = client.get(
        reverse("reporting:job_download", args=[tenant.org.slug, job.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _names(tenant, *people: Employee) -> list[str]:
    return sorted(file_names([p.full_name for p in people], tenant.cycle.name))


# --- What a batch holds -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_hr_gets_every_appraisal_of_the_cycle_in_one_zip(both, client_as):
    home, _away = both
    client = client_as(home.hr_admin)

    response = _ask(client, home)

    job = _job(home)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/reports/jobs/{job.pk}/")
    assert (job.status, job.file_format, job.row_count) == (JobStatus.DONE, "zip", 2)
    files = _zip(client, home, job)
    assert sorted(files) == _names(home, home.report, home.outsider_of_line)
    assert all(pdf.startswith(b"%PDF") for pdf in files.values())
    assert job.parameters["documents"] == 2
    assert all(part.file.name == "" for part in _parts(home, job))  # deleted


@pytest.mark.django_db(transaction=True)
def test_a_managers_batch_holds_only_their_line(both, client_as):
    home, _away = both
    client = client_as(home.manager)

    _ask(client, home)

    job = _job(home)
    assert job.status == JobStatus.DONE
    assert sorted(_zip(client, home, job)) == _names(home, home.report)


@pytest.mark.django_db(transaction=True)
def test_a_batch_narrowed_to_a_business_unit_holds_its_people_only(home, client_as):
    unit = BusinessUnitFactory(organization=home.org, name="Audit unit")
    with tenant_context(home.org):
        Employee.objects.filter(pk=home.outsider_of_line.pk).update(business_unit=unit)
    client = client_as(home.hr_admin)

    _ask(client, home, business_unit=unit.pk)

    job = _job(home)
    assert sorted(_zip(client, home, job)) == _names(home, home.outsider_of_line)
    assert job.parameters["title"] == "Cycle of today · Audit unit"


@pytest.mark.django_db(transaction=True)
def test_a_batch_narrowed_to_a_line_holds_that_line_only(home, client_as):
    client = client_as(home.hr_admin)

    _ask(client, home, line_manager=home.manager_entry.pk)

    assert sorted(_zip(client, home, _job(home))) == _names(home, home.report)


@pytest.mark.django_db(transaction=True)
def test_the_download_checks_again_that_the_batch_may_be_had(home, client_as):
    client = client_as(home.manager)
    _ask(client, home)
    job = _job(home)
    with tenant_context(home.org):
        # The report moves to another line: the manager has no line any more.
        Employee.objects.filter(pk=home.report.pk).update(line_manager=None)

    refused = client.get(
        reverse("reporting:job_download", args=[home.org.slug, job.pk])
    )

    assert refused.status_code == 403
    assert len(_zip(client_as(home.hr_admin), home, job)) == 1  # HR may still


@pytest.mark.django_db
def test_another_organisations_or_a_draft_cycle_is_404_and_makes_no_job(
    both, client_as
):
    home, away = both
    draft = ReviewCycleFactory(organization=home.org, status=CycleStatus.DRAFT)
    client = client_as(home.hr_admin)
    url = reverse("reporting:appraisal_batch", args=[home.org.slug])

    answers = [
        client.post(url, {"cycle": away.cycle.pk}).status_code,
        client.post(url, {"cycle": draft.pk}).status_code,
        client.post(url, {"cycle": 987654}).status_code,
        client.post(url, {}).status_code,
        client.get(url, {"cycle": home.cycle.pk}).status_code,
    ]

    assert answers == [404, 404, 404, 404, 405]
    with tenant_context(home.org):
        assert not ReportJob.objects.exists()


@pytest.mark.django_db
def test_an_employee_may_not_ask_for_a_batch(home, client_as):
    member = MembershipFactory(
        organization=home.org, role=Role.EMPLOYEE, employee=home.report
    )

    response = _ask(client_as(member), home)

    assert response.status_code == 403
    with tenant_context(home.org):
        assert not ReportJob.objects.exists()


@pytest.mark.django_db
def test_a_batch_with_nothing_in_it_says_so_and_adds_no_job(home, client_as):
    other = MembershipFactory(organization=home.org, role=Role.MANAGER)
    with tenant_context(home.org):
        line_of_one = Employee.objects.get(user=other.user)
    EmployeeFactory(organization=home.org, line_manager=line_of_one)  # no appraisal

    response = _ask(client_as(other), home)

    assert response.status_code == 302
    assert response["Location"].endswith(f"/reports/overview/?cycle={home.cycle.pk}")
    with tenant_context(home.org):
        assert not ReportJob.objects.exists()


def test_names_inside_the_zip_are_readable_safe_and_unique():
    names = file_names(
        ["Ana Ruiz", "ana ruiz", "Ana Ruiz", '../=HYPERLINK("x")', " "], "2026 H1"
    )

    assert names == [
        "Ana Ruiz - 2026 H1.pdf",
        "ana ruiz - 2026 H1 (2).pdf",
        "Ana Ruiz - 2026 H1 (3).pdf",
        "_=HYPERLINK(_x_) - 2026 H1.pdf",
        "- 2026 H1.pdf",
    ]


# --- Failure, retry and progress ------------------------------------------------------------


def _seen_from_elsewhere(tenant, job_id: int) -> tuple[str, int, int]:
    """The job as its page reads it while a document is being made: from another
    connection, so only what was committed."""

    def look() -> tuple[str, int, int]:
        try:
            with tenant_context(tenant.org):
                job = ReportJob.objects.get(pk=job_id)
                return job.status, job.progress, job.row_count
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(look).result(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_failed_document_fails_the_job_and_a_retry_makes_only_the_rest(
    home, client_as, monkeypatch
):
    seen: list[tuple[str, int, int]] = []
    rendered: list[str] = []

    def breaks_on_otto(*args: Any, string: str = "", **kwargs: Any) -> Any:
        rendered.append(string)
        if "Otto Outside" in string:
            seen.append(_seen_from_elsewhere(home, _job(home).pk))
            raise ValueError("no room on the page")
        return REAL_HTML(*args, string=string, **kwargs)

    monkeypatch.setattr(reporting.pdf, "HTML", breaks_on_otto)
    client = client_as(home.hr_admin)

    _ask(client, home)

    job = _job(home)
    made, failed = _parts(home, job)  # "=HYPERLINK…" sorts before "Otto…"
    assert len(rendered) == 2
    # The first document was committed before the second began.
    assert seen == [(JobStatus.RUNNING, 50, 1)]
    assert (job.status, job.file.name, job.row_count) == (JobStatus.FAILED, "", 1)
    assert "The appraisal report of Otto Outside could not be made" in job.error
    assert (made.status, failed.status) == (PartStatus.DONE, PartStatus.FAILED)
    assert failed.error == "ValueError: no room on the page"
    assert default_storage.exists(made.file.name)
    page = client.get(reverse("reporting:job_detail", args=[home.org.slug, job.pk]))
    assert "1 of 2 documents made." in page.content.decode()
    assert "Retry" in page.content.decode()

    monkeypatch.setattr(reporting.pdf, "HTML", REAL_HTML)
    rendered.clear()
    retried = client.post(
        reverse("reporting:batch_retry", args=[home.org.slug, job.pk])
    )

    job = _job(home)
    again, now_made = _parts(home, job)
    assert retried.status_code == 302
    assert (job.status, job.row_count, job.error) == (JobStatus.DONE, 2, "")
    assert again.finished_at == made.finished_at  # not made twice
    assert now_made.status == PartStatus.DONE
    assert len(_zip(client, home, job)) == 2
    assert not default_storage.exists(made.file.name)


@pytest.mark.django_db
def test_only_the_requester_retries_a_failed_batch(home, client_as):
    job = _failed_batch(home, home.manager)

    answers = [
        client_as(home.hr_admin).post(_retry_url(home, job)).status_code,
        client_as(home.manager).post(_retry_url(home, job)).status_code,
    ]

    assert answers == [403, 302]
    with tenant_context(home.org):
        job.refresh_from_db()
        chunks = OutboxMessage.objects.filter(task=RUN_BATCH_CHUNK_TASK).count()
    assert (job.status, chunks) == (JobStatus.QUEUED, 1)


@pytest.mark.django_db
def test_a_batch_that_did_not_fail_is_not_retried(home, client_as):
    job = _failed_batch(home, home.manager)
    with tenant_context(home.org):
        ReportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)

    response = client_as(home.manager).post(_retry_url(home, job), follow=True)

    assert "Only a batch that failed can be retried." in response.content.decode()
    with tenant_context(home.org):
        assert not OutboxMessage.objects.filter(task=RUN_BATCH_CHUNK_TASK).exists()


def _retry_url(tenant, job: ReportJob) -> str:
    return reverse("reporting:batch_retry", args=[tenant.org.slug, job.pk])


def _failed_batch(tenant, requester, *, expired: bool = False) -> ReportJob:
    """A failed batch of ``requester``'s on the tenant's cycle: one document made
    (its file stored), one failed."""
    now = timezone.now()
    with tenant_context(tenant.org):
        job = ReportJob.objects.create(
            organization=tenant.org,
            kind="appraisal_batch",
            file_format=FileFormat.ZIP,
            parameters={"cycle": str(tenant.cycle.pk), "documents": 2},
            requested_by=requester.user,
            status=JobStatus.FAILED,
            row_count=1,
            error="The appraisal report of Otto Outside could not be made.",
            expires_at=now - timedelta(minutes=1)
            if expired
            else now + timedelta(days=1),
        )
        made = ReportJobPart(
            organization=tenant.org,
            job=job,
            chunk=0,
            subject_id=tenant.appraisal.pk,
            name="Made.pdf",
            status=PartStatus.DONE,
            finished_at=now,
        )
        made.file.save("document.pdf", ContentFile(b"%PDF-1.7"), save=False)
        made.save()
        ReportJobPart.objects.create(
            organization=tenant.org,
            job=job,
            chunk=0,
            subject_id=tenant.other_appraisal.pk,
            name="Failed.pdf",
            status=PartStatus.FAILED,
            error="ValueError: no room on the page",
        )
    return job


# --- Retention -----------------------------------------------------------------------


@pytest.mark.django_db
def test_retention_deletes_an_expired_batch_with_its_documents_files(home):
    kept = _failed_batch(home, home.manager)
    expired = _failed_batch(home, home.hr_admin, expired=True)
    kept_file, expired_file = (
        _parts(home, job)[1].file.name for job in (kept, expired)
    )

    with tenant_context(home.org):
        deleted = delete_expired_reports(organization=home.org)

    assert deleted == 1
    assert not default_storage.exists(expired_file)
    assert default_storage.exists(kept_file)
    with tenant_context(home.org):
        assert list(ReportJobPart.objects.values_list("job_id", flat=True)) == [
            kept.pk,
            kept.pk,
        ]


@pytest.mark.django_db
def test_retention_keeps_an_old_document_of_a_batch_waiting_for_a_retry(home):
    job = _failed_batch(home, home.manager)
    name = _parts(home, job)[1].file.name
    old = (timezone.now() - ORPHAN_AFTER - timedelta(hours=1)).timestamp()
    os.utime(default_storage.path(name), (old, old))

    with tenant_context(home.org):
        delete_expired_reports(organization=home.org)

    assert default_storage.exists(name)


# --- Cost --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_request_costs_the_same_queries_whatever_the_size_of_the_batch(
    home, client_as
):
    client = client_as(home.hr_admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = _ask(client, home)
        assert response.status_code == 302
        return len(captured.captured_queries)

    count()  # warm-up: caches of the first request
    small = count()
    with tenant_context(home.org):
        for _ in range(3 * CHUNK_SIZE):
            AppraisalFactory(
                organization=home.org,
                cycle=home.cycle,
                employee=EmployeeFactory(organization=home.org),
            )
    large = count()

    with tenant_context(home.org):
        jobs = list(ReportJob.objects.order_by("pk"))
        chunks = OutboxMessage.objects.filter(task=RUN_BATCH_CHUNK_TASK).count()
    assert small == large
    assert [job.parameters["documents"] for job in jobs] == [2, 2, 32]
    assert chunks == 1 + 1 + 4
