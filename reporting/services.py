"""Writes of the reporting app: asking for an export, running it, and deleting
report files once their organisation's retention period is over.

An export runs as a ``ReportJob``: ``request_export`` creates it and owes its task
through the outbox in the same transaction; the task (``reporting.tasks``) calls
``run_report_job``, which writes the file and records the job's progress as it goes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from organizations.errors import DomainError
from organizations.models import Membership, Organization
from organizations.outbox import enqueue
from organizations.tenancy import is_postgresql, tenant_context
from reporting.access import may_have
from reporting.documents.jobs import write_document
from reporting.documents.registry import get_document
from reporting.enums import EXPORT_FORMATS, FINISHED_STATUSES, FileFormat, JobStatus
from reporting.exports.base import Dataset
from reporting.exports.registry import get_dataset
from reporting.models import ReportEmail, ReportJob, ReportJobPart
from reporting.scope import ReportScope
from reporting.writers import write_csv, write_xlsx

logger = logging.getLogger(__name__)
T = TypeVar("T")

RUN_REPORT_JOB_TASK = "reporting.run_report_job"
DELETE_EXPIRED_REPORTS_TASK = "reporting.delete_expired_reports"
# A member may have this many exports queued or running at once.
MAX_ACTIVE_JOBS = 3
# A job queued or running for longer than this is taken as abandoned (a worker died)
# and no longer counts against MAX_ACTIVE_JOBS.
JOB_STALE_AFTER = timedelta(hours=1)
# Files under reports/<organisation>/ that no job names (a worker died between
# storing the file and committing) are deleted once this old.
ORPHAN_AFTER = timedelta(days=1)
# The progress shown while running, recorded every this many rows.
PROGRESS_EVERY = 2000

FAILED_MESSAGE = gettext_lazy(
    "The export failed and no file was made. Ask for it again; if it fails again, "
    "tell your administrator."
)


# --- Asking for an export ----------------------------------------------------------


def request_export(
    *,
    actor: Membership,
    kind: str,
    file_format: str,
    parameters: Mapping[str, Any],
) -> ReportJob:
    """Ask for the export ``kind`` as ``file_format`` with ``parameters`` (JSON
    values: a cycle's id for the built-in kinds, validated by the caller's form).
    The job starts in Celery once the transaction commits (through the outbox).

    Raises PermissionDenied when ``actor`` may not export ``kind``; DomainError for
    an unknown kind or format, or while the member already has ``MAX_ACTIVE_JOBS``
    exports under way. Four queries, plus the dataset's ``available`` check.
    """
    dataset = get_dataset(kind)
    if dataset is None:
        raise DomainError(_("Choose one of the reports listed."), "kind")
    if file_format not in EXPORT_FORMATS:
        raise DomainError(_("Choose CSV or XLSX."), "file_format")
    if not dataset.available(ReportScope(actor)):
        raise PermissionDenied(_("You cannot export this report."))
    return create_job(
        actor=actor, kind=kind, file_format=file_format, parameters=parameters
    )


def create_job(
    *,
    actor: Membership,
    kind: str,
    file_format: str,
    parameters: Mapping[str, Any],
    start: bool = True,
) -> ReportJob:
    """A queued report job of ``actor`` whose task starts once the transaction
    commits (through the outbox); the caller has checked the kind and access.
    ``start=False``: no task is owed, the caller owes the job's work itself (a
    batch owes its chunks: ``reporting.batches``). DomainError while the member
    already has ``MAX_ACTIVE_JOBS`` jobs under way. Three queries (two without
    ``start``)."""
    organization = actor.organization
    now = timezone.now()
    with transaction.atomic():
        active = ReportJob.objects.filter(
            requested_by_id=actor.user_id,
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
            created_at__gte=now - JOB_STALE_AFTER,
        ).count()
        if active >= MAX_ACTIVE_JOBS:
            raise DomainError(
                _(
                    "You have %(count)s reports under way already. Wait for one to "
                    "finish (your reports list shows them), then ask again."
                )
                % {"count": active}
            )
        job = ReportJob.objects.create(
            organization=organization,
            kind=kind,
            parameters=dict(parameters),
            file_format=file_format,
            requested_by_id=actor.user_id,
            created_at=now,
            expires_at=now + timedelta(days=organization.report_retention_days),
        )
        if start:
            enqueue(RUN_REPORT_JOB_TASK, organization=organization, job_id=job.pk)
    return job


# --- Running it ----------------------------------------------------------------------


class ProgressRecorder:
    """Records a job's status and progress so that the job page sees it while the
    export runs, although the task's own transaction commits only at its end.

    Each write runs on a thread of its own, hence on a database connection of its
    own, in a short transaction of its own that enters the organisation like any
    other (``tenant_context``: the scope and the row-security setting of that
    connection) and commits at once. The caller waits for each write, so they stay
    in order and hold no lock when the task's transaction writes the job's final
    state. A failed write is logged, never raised: progress is a courtesy. On
    databases other than PostgreSQL nothing is recorded until the end (SQLite would
    lock the whole file against the task's transaction).
    """

    def __init__(self, organization: Organization, job_id: int) -> None:
        self.organization = organization
        self.job_id = job_id
        self._executor: ThreadPoolExecutor | None = None
        if is_postgresql():
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="report-progress"
            )

    def record(self, **fields: Any) -> None:
        if self._executor is None:
            return
        try:
            self._executor.submit(self._write, fields).result(timeout=30)
        except Exception:  # noqa: BLE001 - progress is a courtesy
            logger.warning("Could not record report job %s's progress", self.job_id)

    def _write(self, fields: dict[str, Any]) -> None:
        with tenant_context(self.organization):
            ReportJob.objects.filter(
                pk=self.job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
            ).update(**fields)

    def commit(self, write: Callable[[], T]) -> T:
        """Run ``write`` in a short transaction of its own inside the organisation,
        committed when it returns, and return its result; unlike ``record``, its
        errors are raised (a batch's document is recorded this way:
        ``reporting.batches``). Where ``record`` records nothing (not PostgreSQL),
        ``write`` runs in the caller's transaction."""
        if self._executor is None:
            return write()
        return self._executor.submit(self._commit, write).result(timeout=60)

    def _commit(self, write: Callable[[], T]) -> T:
        with tenant_context(self.organization):
            return write()

    def close(self) -> None:
        if self._executor is None:
            return
        # The thread's connections are closed on the thread that opened them
        # (``connections`` resolves per thread).
        self._executor.submit(connections.close_all).result(timeout=30)
        self._executor.shutdown(wait=True)
        self._executor = None


def run_report_job(*, organization: Organization, job_id: int) -> str | None:
    """Write the file of job ``job_id`` (inside the organisation's tenant context)
    and record the result; returns its status, None for a job missing or finished
    already (a second delivery does nothing).

    The requester's access is checked again first: a member who left, or who may no
    longer export the kind, gets a failed job. Rows are streamed from the database
    into the file; the progress is committed as it goes (``ProgressRecorder``). Any
    error marks the job failed with a plain message, deletes what was written and is
    logged, not raised.
    """
    job = ReportJob.objects.filter(pk=job_id).first()
    if job is None or job.status in FINISHED_STATUSES:
        return None
    requester = job.requested_by_id
    membership = (
        None
        if requester is None
        else Membership.objects.select_related("organization", "user")
        .filter(user_id=requester, is_active=True, user__is_active=True)
        .first()
    )
    if membership is None or not may_have(membership, job):
        return _fail(
            job, _("You can no longer export this report, so it was not made.")
        )
    document = get_document(job.kind) if job.file_format == FileFormat.PDF else None
    dataset = get_dataset(job.kind)
    recorder = ProgressRecorder(organization, job.pk)
    try:
        recorder.record(status=JobStatus.RUNNING, progress=0)
        with (
            translation.override(membership.user.language_in(organization)),
            timezone.override(ZoneInfo(organization.timezone)),
        ):
            try:
                # A savepoint: a failed query leaves the task's transaction usable
                # for recording the failure.
                with transaction.atomic():
                    if document is not None:
                        count = write_document(job, document, membership)
                    elif dataset is not None:
                        count = _write_file(
                            job, dataset, ReportScope(membership), recorder
                        )
                    else:  # ``may_have`` refuses an unknown kind before
                        raise LookupError(job.kind)
            except Exception:  # recorded on the job for its requester, not raised
                logger.exception("Report job %s failed", job.pk)
                _delete_file(job)
                return _fail(job, str(FAILED_MESSAGE))
    finally:
        recorder.close()
    ReportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE,
        progress=100,
        row_count=count,
        file=job.file.name,
        error="",
        finished_at=timezone.now(),
    )
    return JobStatus.DONE


def _write_file(
    job: ReportJob, dataset: Dataset, scope: ReportScope, recorder: ProgressRecorder
) -> int:
    """Stream the dataset's rows into a temporary file, then store it; returns how
    many rows. Sets ``job.file`` (not saved)."""
    params = job.parameters
    total = dataset.count(scope, params) if dataset.count is not None else None
    progress = _progress_callback(recorder, total)
    zone = timezone.get_current_timezone()
    rows = dataset.rows(scope, params)
    handle, path = tempfile.mkstemp(suffix=f".{job.file_format}")
    os.close(handle)
    try:
        if job.file_format == FileFormat.XLSX:
            count = write_xlsx(
                path,
                dataset.headers,
                rows,
                zone=zone,
                sheet_title=str(dataset.label),
                progress=progress,
                every=PROGRESS_EVERY,
            )
        else:
            # utf-8-sig: spreadsheet programs read the accents right.
            with open(path, "w", newline="", encoding="utf-8-sig") as stream:
                count = write_csv(
                    stream,
                    dataset.headers,
                    rows,
                    zone=zone,
                    progress=progress,
                    every=PROGRESS_EVERY,
                )
        with open(path, "rb") as stored:
            job.file.save(f"report.{job.file_format}", File(stored), save=False)
    finally:
        os.unlink(path)
    return count


def _progress_callback(
    recorder: ProgressRecorder, total: int | None
) -> Callable[[int], None]:
    def progress(written: int) -> None:
        if total:
            recorder.record(progress=min(99, written * 100 // total))

    return progress


def _fail(job: ReportJob, message: str) -> str:
    ReportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED,
        progress=0,
        file="",
        error=message[:1000],
        finished_at=timezone.now(),
    )
    return JobStatus.FAILED


def _delete_file(job: ReportJob) -> None:
    if job.file.name:
        with contextlib.suppress(OSError):
            job.file.storage.delete(job.file.name)
        job.file.name = ""


# --- Retention -----------------------------------------------------------------------


def delete_expired_reports(*, organization: Organization) -> int:
    """Delete the jobs of ``organization`` (the active tenant) whose ``expires_at``
    has passed, with their files and the files of their batch documents
    (``ReportJobPart``), the PDFs of report e-mails past the retention period
    (``_delete_expired_email_files``), and files of this organisation that no job,
    document or e-mail names any more (older than ``ORPHAN_AFTER``). Idempotent: a second run finds
    nothing. Returns how many jobs were deleted. A fixed number of queries (the
    expired jobs, their documents' files, the delete, the names still kept) plus one
    file operation per file."""
    now = timezone.now()
    expired = list(
        ReportJob.objects.filter(expires_at__lte=now).values_list("pk", "file")
    )
    storage = ReportJob._meta.get_field("file").storage
    part_files = ReportJobPart.objects.filter(
        job_id__in=[pk for pk, _name in expired]
    ).exclude(file="")
    for name in [name for _pk, name in expired] + list(
        part_files.values_list("file", flat=True)
    ):
        if name:
            with contextlib.suppress(OSError):
                storage.delete(name)
    ReportJob.objects.filter(pk__in=[pk for pk, _name in expired]).delete()
    _delete_expired_email_files(organization, storage, now)
    _delete_orphans(organization, storage, now)
    return len(expired)


def _delete_expired_email_files(
    organization: Organization, storage: Any, now: Any
) -> None:
    """The PDFs that scheduled report e-mails carried (``ReportEmail.file``), once
    their delivery is older than the retention period; the e-mail rows stay, as the
    delivery's record. Two queries."""
    cutoff = now - timedelta(days=organization.report_retention_days)
    old = ReportEmail.objects.filter(delivery__created_at__lte=cutoff).exclude(file="")
    for name in list(old.values_list("file", flat=True)):
        with contextlib.suppress(OSError):
            storage.delete(name)
    old.update(file="")


def _delete_orphans(organization: Organization, storage: Any, now: Any) -> None:
    folder = f"reports/{organization.pk}"
    try:
        _dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    named = set(
        ReportJob.objects.exclude(file="").values_list("file", flat=True).iterator()
    ) | set(
        ReportJobPart.objects.exclude(file="").values_list("file", flat=True).iterator()
    )
    named |= set(
        ReportEmail.objects.exclude(file="").values_list("file", flat=True).iterator()
    )
    for filename in files:
        name = f"{folder}/{filename}"
        if name in named:
            continue
        with contextlib.suppress(OSError):
            if storage.get_modified_time(name) <= now - ORPHAN_AFTER:
                storage.delete(name)
