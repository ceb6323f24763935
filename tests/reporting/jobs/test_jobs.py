"""Report jobs: asking for one (who may, the outbox), running it (progress committed
as it goes, a failure leaves no file), and the retention pass."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import OutboxMessage
from organizations.tenancy import tenant_context
from reporting.enums import FileFormat, JobStatus
from reporting.exports.base import Column, ColumnType, Dataset
from reporting.exports.registry import register
from reporting.models import ReportJob
from reporting.scope import ReportScope
from reporting.services import (
    FAILED_MESSAGE,
    RUN_REPORT_JOB_TASK,
    request_export,
)
from reporting.tasks import delete_expired_reports_task
from tests.factories import MembershipFactory
from tests.reporting.jobs.helpers import read_csv, run
from tests.reporting_factories import ReportJobFactory

# --- Datasets registered for these tests (not listed on the exports page) -------------

SEEN_WHILE_RUNNING: list[tuple[str, int]] = []


def _explodes(scope: ReportScope, params: Any) -> Iterator[tuple[Any, ...]]:
    yield ("first row",)
    raise RuntimeError("the database went away")


def _counted(scope: ReportScope, params: Any) -> Iterator[tuple[Any, ...]]:
    """5,000 rows; at row 3,000 it looks at its own job from another connection, as
    the job page would while the export runs."""
    for n in range(5000):
        if n == 3000:
            SEEN_WHILE_RUNNING.append(_seen_from_elsewhere(scope, params["job"]))
        yield (n,)


def _seen_from_elsewhere(scope: ReportScope, job_id: int) -> tuple[str, int]:
    def look() -> tuple[str, int]:
        try:
            with tenant_context(scope.membership.organization):
                job = ReportJob.objects.get(pk=job_id)
                return job.status, job.progress
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(look).result(timeout=30)


register(
    Dataset(
        kind="test-explodes",
        label="Explodes",
        description="Fails after one row.",
        columns=(Column("text", "Text"),),
        rows=_explodes,
        listed=False,
    )
)
register(
    Dataset(
        kind="test-counted",
        label="Counted",
        description="Five thousand numbers.",
        columns=(Column("n", "N", ColumnType.INTEGER),),
        rows=_counted,
        count=lambda scope, params: 5000,
        listed=False,
    )
)


def _job(tenant, **kwargs):
    kwargs.setdefault("requested_by", tenant.hr_admin.user)
    return ReportJobFactory(
        organization=tenant.org, parameters={"cycle": tenant.cycle.pk}, **kwargs
    )


# --- Asking for an export ----------------------------------------------------------------


@pytest.mark.django_db
def test_request_export_creates_a_queued_job_owed_through_the_outbox(home):
    with tenant_context(home.org):
        job = request_export(
            actor=home.manager,
            kind="appraisals",
            file_format=FileFormat.XLSX,
            parameters={"cycle": home.cycle.pk},
        )
        owed = list(OutboxMessage.objects.values_list("task", "kwargs"))

    assert (job.status, job.requested_by_id) == (JobStatus.QUEUED, home.manager.user_id)
    assert job.expires_at - job.created_at == timedelta(days=30)
    assert owed == [
        (RUN_REPORT_JOB_TASK, {"job_id": job.pk, "organization_id": home.org.pk})
    ]


@pytest.mark.django_db
def test_request_export_expiry_follows_the_organisations_retention(home):
    home.org.report_retention_days = 7
    home.org.save(update_fields=["report_retention_days"])
    home.manager.organization.refresh_from_db()

    with tenant_context(home.org):
        job = request_export(
            actor=home.manager,
            kind="appraisals",
            file_format=FileFormat.CSV,
            parameters={"cycle": home.cycle.pk},
        )

    assert job.expires_at - job.created_at == timedelta(days=7)


@pytest.mark.django_db
def test_request_export_refuses_a_kind_the_member_may_not_export(home):
    employee = MembershipFactory(organization=home.org, role=Role.EMPLOYEE)

    with tenant_context(home.org), pytest.raises(PermissionDenied):
        request_export(
            actor=employee,
            kind="appraisals",
            file_format=FileFormat.CSV,
            parameters={"cycle": home.cycle.pk},
        )
    with tenant_context(home.org):
        assert not ReportJob.objects.exists()


@pytest.mark.django_db
def test_request_export_limits_the_exports_under_way(home):
    for _ in range(3):
        _job(home, requested_by=home.manager.user)

    with tenant_context(home.org), pytest.raises(DomainError):
        request_export(
            actor=home.manager,
            kind="appraisals",
            file_format=FileFormat.CSV,
            parameters={"cycle": home.cycle.pk},
        )


# --- Running it -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_job_says_so_plainly_and_leaves_no_file(home, settings):
    job = run(_job(home, kind="test-explodes"))

    assert (job.status, job.file.name, job.error) == (
        JobStatus.FAILED,
        "",
        str(FAILED_MESSAGE),
    )
    folder = f"reports/{home.org.pk}"
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == (
        [],
        [],
    )


@pytest.mark.django_db
def test_a_job_whose_requester_may_no_longer_export_fails_without_a_file(home):
    job = _job(home, kind="appraisals", requested_by=home.manager.user)
    with tenant_context(home.org):
        home.manager.role = Role.EMPLOYEE
        home.manager.save(update_fields=["role"])
        # The manager's report moved to another line.
        home.report.line_manager = None
        home.report.save(update_fields=["line_manager"])

    job = run(job)

    assert (job.status, job.file.name) == (JobStatus.FAILED, "")


@pytest.mark.django_db
def test_running_a_finished_job_again_does_nothing(home):
    job = run(_job(home, kind="appraisals"))
    name = job.file.name

    again = run(job)

    assert (again.status, again.file.name) == (JobStatus.DONE, name)


@pytest.mark.django_db(transaction=True)
def test_progress_is_committed_while_the_export_runs(home):
    job = _job(home, kind="test-counted")
    with tenant_context(home.org):
        ReportJob.objects.filter(pk=job.pk).update(
            parameters={"cycle": home.cycle.pk, "job": job.pk}
        )
    SEEN_WHILE_RUNNING.clear()

    job = run(job)

    assert SEEN_WHILE_RUNNING == [(JobStatus.RUNNING, 40)]
    assert (job.status, job.progress, job.row_count) == (JobStatus.DONE, 100, 5000)
    assert read_csv(job)[-1] == ["4999"]


@pytest.mark.django_db(transaction=True)
def test_the_exports_page_starts_the_job_through_the_outbox(home, client_as):
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the relay runs the task at commit

    response = client_as(home.hr_admin).post(
        reverse("reporting:exports", args=[home.org.slug]),
        {"kind": "appraisals", "cycle": home.cycle.pk, "file_format": "csv"},
    )

    with tenant_context(home.org):
        job = ReportJob.objects.get()
        completed = OutboxMessage.objects.filter(completed_at__isnull=False).count()
    assert response.status_code == 302
    assert (job.status, job.row_count) == (JobStatus.DONE, 2)
    assert completed == 1


# --- Retention ---------------------------------------------------------------------------


def _stored(tenant, *, expired: bool) -> ReportJob:
    now = timezone.now()
    job = _job(
        tenant,
        status=JobStatus.DONE,
        expires_at=now - timedelta(minutes=1) if expired else now + timedelta(days=1),
    )
    with tenant_context(tenant.org):
        job.file.save("report.csv", ContentFile(b"a,b\n"), save=True)
    return job


@pytest.mark.django_db
def test_the_retention_pass_deletes_expired_files_and_jobs_only(both):
    home, away = both
    expired, kept = _stored(home, expired=True), _stored(home, expired=False)
    away_expired = _stored(away, expired=True)

    deleted = delete_expired_reports_task(organization_id=home.org.pk)
    again = delete_expired_reports_task(organization_id=home.org.pk)

    with tenant_context(home.org):
        remaining = list(ReportJob.objects.values_list("pk", flat=True))
    assert (deleted, again) == (1, 0)
    assert remaining == [kept.pk]
    assert not default_storage.exists(expired.file.name)
    assert default_storage.exists(kept.file.name)
    assert default_storage.exists(away_expired.file.name)  # its own pass deletes it


@pytest.mark.django_db
def test_the_retention_pass_deletes_old_files_no_job_names(home):
    kept = _stored(home, expired=False)
    orphan = default_storage.save(
        f"reports/{home.org.pk}/orphan.csv", ContentFile(b"x")
    )
    old = (timezone.now() - timedelta(days=2)).timestamp()
    import os  # noqa: PLC0415 - only to age the file

    os.utime(default_storage.path(orphan), (old, old))

    delete_expired_reports_task(organization_id=home.org.pk)

    assert not default_storage.exists(orphan)
    assert default_storage.exists(kept.file.name)


def test_the_retention_pass_is_scheduled_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["reporting-delete-expired-reports"]

    assert entry["task"] == "reporting.delete_expired_reports_everywhere"


@pytest.mark.django_db
def test_report_jobs_table_has_row_level_security(home):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = %s",
            [ReportJob._meta.db_table],
        )
        flags = cursor.fetchone()
    job = _job(home, kind="appraisals")

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {ReportJob._meta.db_table} WHERE id = %s",  # noqa: S608 - a model's table
            [job.pk],
        )
        seen_without_tenant = cursor.fetchone()[0]

    assert flags == (True, True)
    assert seen_without_tenant == 0
