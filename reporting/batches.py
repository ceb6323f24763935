"""Batches of appraisal reports: every appraisal report a member may see of one
cycle, optionally narrowed to a business unit or a line manager's line, as one ZIP
of PDFs (docs/reporting.md, "Batches"; docs/reliability.md, "Batches and killed
workers").

The set is the cycle overview's (``reporting.access.batch_report``: its gate, its
filters, ``Report.appraisals_in``), each document the appraisal report
(``reporting.documents.appraisal``) as the requester reads it.

- ``request_batch`` creates the job (kind ``appraisal_batch``, format ZIP), one
  ``ReportJobPart`` per appraisal in chunks of ``CHUNK_SIZE`` and one task per chunk
  owed through the outbox, in the caller's transaction.
- ``run_batch_chunk`` (a task per chunk, acknowledged late) makes the chunk's queued
  documents one by one: each PDF is stored and its part marked done in a
  transaction of its own, committed before the next document begins, so a worker
  killed half-way leaves the finished documents finished and the task, delivered
  again, makes only the rest. Whichever chunk finishes last owes the assembly.
- ``assemble_batch`` writes the ZIP from the parts' files, stores it as the job's
  file, marks the job done and deletes the parts' files.
- A document that fails marks its part failed and the job failed, naming the
  person; the finished parts are kept, and ``retry_batch`` queues the failed ones
  again, so a retry makes only what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisals.models import Appraisal
from engagements.models import ReviewCycle
from organizations.errors import DomainError, describe_exception
from organizations.models import Membership, Organization
from organizations.outbox import enqueue, enqueue_many
from organizations.tenancy import is_postgresql
from reporting.access import BATCH_FILTERS, batch_report
from reporting.documents.appraisal import APPRAISAL_REPORT
from reporting.enums import FINISHED_STATUSES, FileFormat, JobStatus, PartStatus
from reporting.models import ReportJob, ReportJobPart
from reporting.reports import Report
from reporting.services import ProgressRecorder, create_job

logger = logging.getLogger(__name__)

APPRAISAL_BATCH = "appraisal_batch"
BATCH_LABEL = gettext_lazy("Appraisal reports (ZIP of PDFs)")
# Documents per chunk, the unit of work of one task: small enough that a redelivered
# chunk waits little and several workers share a batch, large enough that the
# outbox and the broker carry few messages (100 for 1,000 appraisals).
CHUNK_SIZE = 10
RUN_BATCH_CHUNK_TASK = "reporting.run_batch_chunk"
ASSEMBLE_BATCH_TASK = "reporting.assemble_batch"
# Errors that say nothing about the document: the task fails and is retried (the
# task's ``RETRY_OPTIONS``, then the outbox), the part stays queued.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
# Characters a file name inside the ZIP does not keep (paths, controls, and those
# Windows refuses).
UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME = 150


# --- What a batch holds --------------------------------------------------------------


def batch_appraisals(report: Report) -> QuerySet[Appraisal]:
    """The appraisals a batch of ``report`` (``reporting.access.batch_report``)
    holds: those of its cycle the cycle overview counts for its viewer with its
    filters (HR admins every one, a line manager their line, their own left out),
    by the employee's name. Builds a queryset; narrowed by a filter, the overview
    reads the selected ids first (one query)."""
    if report.cycle is None:
        return Appraisal.objects.none()
    return report.appraisals_in(report.cycle).order_by("employee__full_name", "pk")


def file_names(people: Iterable[str], cycle: str) -> list[str]:
    """The names of the documents inside the ZIP, in the order of ``people``:
    "<full name> - <cycle>.pdf", without characters a file system refuses, made
    unique with " (2)", " (3)"... (compared without case, as Windows and macOS
    compare)."""
    used: set[str] = set()
    names = []
    for person in people:
        stem = UNSAFE_IN_NAMES.sub("_", f"{person} - {cycle}").strip(" .")[:MAX_NAME]
        stem = stem or "appraisal"
        name, number = f"{stem}.pdf", 1
        while name.casefold() in used:
            number += 1
            name = f"{stem} ({number}).pdf"
        used.add(name.casefold())
        names.append(name)
    return names


def _title(report: Report, cycle: ReviewCycle) -> str:
    """The batch's title for the job list: the cycle and the filters chosen."""
    words = [cycle.name]
    unit = report.choices.get("business_unit")
    if unit is not None:
        words.append(str(unit))
    manager = report.choices.get("line_manager")
    if manager is not None:
        words.append(_("line of %(name)s") % {"name": manager.full_name})
    return " · ".join(words)


# --- Asking for one ----------------------------------------------------------------------


def request_batch(*, actor: Membership, report: Report) -> ReportJob:
    """Ask for the batch of ``report`` (``batch_report`` for ``actor``: the caller
    has checked it is not None): the job, one part per appraisal in chunks of
    ``CHUNK_SIZE``, and one task per chunk owed through the outbox, all committed
    together.

    DomainError when the batch would hold nothing, or while the member already has
    ``MAX_ACTIVE_JOBS`` reports under way. A fixed number of queries whatever the
    number of appraisals: the appraisals (one, two when narrowed), the job (two),
    the parts (one INSERT), the chunks' tasks (one INSERT)."""
    cycle = report.cycle
    rows = list(batch_appraisals(report).values_list("pk", "employee__full_name"))
    if cycle is None or not rows:
        raise DomainError(
            _(
                "There is no appraisal you may see in this cycle with these filters, "
                "so there is nothing to download."
            )
        )
    names = file_names([person for _pk, person in rows], cycle.name)
    chosen = report.parameters()
    parameters: dict[str, Any] = {
        **{name: chosen[name] for name in BATCH_FILTERS if chosen.get(name)},
        "title": _title(report, cycle),
        "documents": len(rows),
    }
    organization = actor.organization
    with transaction.atomic():
        job = create_job(
            actor=actor,
            kind=APPRAISAL_BATCH,
            file_format=FileFormat.ZIP,
            parameters=parameters,
            start=False,
        )
        ReportJobPart.objects.bulk_create(
            ReportJobPart(
                organization=organization,
                job=job,
                chunk=index // CHUNK_SIZE,
                subject_id=pk,
                name=name,
            )
            for index, ((pk, _person), name) in enumerate(zip(rows, names, strict=True))
        )
        chunks = range((len(rows) + CHUNK_SIZE - 1) // CHUNK_SIZE)
        _owe_chunks(organization, job, chunks)
    return job


def _owe_chunks(
    organization: Organization, job: ReportJob, chunks: Iterable[int]
) -> None:
    enqueue_many(
        RUN_BATCH_CHUNK_TASK,
        organization=organization,
        calls=[
            (f"batch:{job.pk}:{chunk}", {"job_id": job.pk, "chunk": chunk})
            for chunk in chunks
        ],
    )


def retry_batch(*, actor: Membership, job: ReportJob) -> ReportJob:
    """Queue again the documents of the failed batch ``job`` that are not made (the
    failed one, and those its failure stopped), keeping those made; the job is
    queued again and its chunks' tasks owed through the outbox.

    PermissionDenied unless ``actor`` asked for it and may still have it
    (``batch_report``); DomainError for a job that is not a failed batch. A fixed
    number of queries: the job's lock, the overview's, the parts (two), the job,
    the tasks."""
    with transaction.atomic():
        locked = ReportJob.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or locked.kind != APPRAISAL_BATCH:
            raise DomainError(_("Only a batch of appraisal reports can be retried."))
        if locked.requested_by_id != actor.user_id:
            raise PermissionDenied(_("Only who asked for this batch can retry it."))
        if locked.status != JobStatus.FAILED:
            raise DomainError(_("Only a batch that failed can be retried."))
        if batch_report(actor, locked.parameters) is None:
            raise PermissionDenied(_("You can no longer have this batch."))
        parts = ReportJobPart.objects.filter(job_id=locked.pk)
        parts.filter(status=PartStatus.FAILED).update(
            status=PartStatus.QUEUED, error="", finished_at=None
        )
        chunks = list(
            parts.filter(status=PartStatus.QUEUED)
            .order_by("chunk")
            .values_list("chunk", flat=True)
            .distinct()
        )
        ReportJob.objects.filter(pk=locked.pk).update(
            status=JobStatus.QUEUED, error="", finished_at=None
        )
        if chunks:
            _owe_chunks(actor.organization, locked, chunks)
        else:  # every document is made; what failed was putting them together
            _owe_assembly(actor.organization, locked.pk)
    return ReportJob.objects.get(pk=job.pk)


def _owe_assembly(organization: Organization, job_id: int) -> None:
    enqueue(
        ASSEMBLE_BATCH_TASK,
        organization=organization,
        idempotency_key=f"batch-zip:{job_id}",
        job_id=job_id,
    )


# --- Making the documents ------------------------------------------------------------------


class DocumentFailed(Exception):
    """A batch's document could not be made (recorded on its part and the job)."""


def _requester(job: ReportJob) -> Membership | None:
    if job.requested_by_id is None:
        return None
    return (
        Membership.objects.select_related("organization", "user")
        .filter(user_id=job.requested_by_id, is_active=True, user__is_active=True)
        .first()
    )


def _lock_chunk(job_id: int, chunk: int) -> None:
    """Hold the chunk for the task's transaction: a retry's task for a chunk that an
    earlier task still works on waits for it, then finds its parts made. Other
    deliveries of the same task already wait on their outbox row."""
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"reporting.batch:{job_id}:{chunk}"],
        )


def run_batch_chunk(*, organization: Organization, job_id: int, chunk: int) -> int:
    """Make the queued documents of chunk ``chunk`` of batch ``job_id`` (inside the
    organisation's tenant context, as its task runs it), one by one; returns how
    many were made. A finished or missing job: nothing (a duplicate delivery).

    The requester's access is checked again first (``batch_report``): a member who
    may no longer have the batch gets it failed. Each document is the appraisal
    report as the requester reads it; its PDF is stored and its part marked done,
    with the job's progress, in a transaction of its own committed before the next
    document (``ProgressRecorder.commit``). An appraisal the requester may no
    longer open is marked done without a file and left out of the ZIP. A document
    that fails marks its part and the job failed and ends the chunk; the job
    failing elsewhere ends it too. When no part of the job is left to make, the
    assembly is owed (once: its idempotency key). Database errors are raised, so
    the task is retried and makes only what is still queued.

    Queries per document: the appraisal report's (``appraisal_html``: at most 17,
    and one for its subject), one to see the job still runs, and the record of the
    document on its own connection (three)."""
    job = ReportJob.objects.filter(pk=job_id, kind=APPRAISAL_BATCH).first()
    if job is None or job.status in FINISHED_STATUSES:
        return 0
    membership = _requester(job)
    recorder = ProgressRecorder(organization, job.pk)
    made = 0
    try:
        if membership is None or batch_report(membership, job.parameters) is None:
            message = _("You can no longer have this batch, so it was not made.")
            recorder.commit(lambda: _fail_job(job.pk, message))
            return 0
        _lock_chunk(job.pk, chunk)
        recorder.record(status=JobStatus.RUNNING)
        parts = list(
            ReportJobPart.objects.filter(
                job_id=job.pk, chunk=chunk, status=PartStatus.QUEUED
            ).order_by("pk")
        )
        total = int(job.parameters.get("documents") or 0) or len(parts)
        with (
            translation.override(membership.user.language_in(organization)),
            timezone.override(ZoneInfo(organization.timezone)),
        ):
            for part in parts:
                if _job_failed(job.pk):
                    break
                try:
                    made += make_document(recorder, membership, part, total)
                except DocumentFailed:
                    break
        if not ReportJobPart.objects.filter(
            job_id=job.pk, status__in=[PartStatus.QUEUED, PartStatus.FAILED]
        ).exists():
            _owe_assembly(organization, job.pk)
    finally:
        recorder.close()
    return made


def _job_failed(job_id: int) -> bool:
    return ReportJob.objects.filter(pk=job_id, status=JobStatus.FAILED).exists()


def make_document(
    recorder: ProgressRecorder, membership: Membership, part: ReportJobPart, total: int
) -> int:
    """Make one part's document as ``membership`` reads it, store its PDF and
    record the part done on the recorder's connection; returns 1 when a document
    was made and recorded, 0 when it was left out (the appraisal is no longer
    visible) or another delivery recorded it first. DocumentFailed (recorded) when
    it could not be made; database errors are raised as they are."""
    # WeasyPrint (and the system libraries it loads) only where a PDF is made.
    from reporting.pdf import StaticOnlyFetcher, render_pdf  # noqa: PLC0415

    person = part.name.removesuffix(".pdf")
    pdf = b""
    try:
        # A savepoint: a failed query leaves the task's transaction usable.
        with transaction.atomic():
            subject = APPRAISAL_REPORT.subject(
                membership, {"appraisal": part.subject_id}
            )
            if subject is not None:
                person = subject.employee.full_name
                fetcher = StaticOnlyFetcher()
                pdf = render_pdf(
                    APPRAISAL_REPORT.html(membership, subject), fetcher=fetcher
                )
                if fetcher.refused:
                    logger.warning(
                        "Batch %s, appraisal %s: %s resources outside the "
                        "application's static files were refused",
                        part.job_id,
                        part.subject_id,
                        len(fetcher.refused),
                    )
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # recorded on the part and the job, not raised
        logger.exception(
            "Batch %s: the report of appraisal %s failed", part.job_id, part.subject_id
        )
        error = describe_exception(exc)
        recorder.commit(lambda: _fail_part(part, person, error))
        raise DocumentFailed(person) from exc
    if pdf:
        part.file.save("document.pdf", ContentFile(pdf), save=False)
    recorded = recorder.commit(lambda: _record_done(part, total))
    if not recorded and part.file.name:
        with contextlib.suppress(OSError):
            part.file.storage.delete(part.file.name)
    return 1 if recorded and pdf else 0


def _record_done(part: ReportJobPart, total: int) -> bool:
    """The part done with its file, and the job's progress (documents made of
    ``total``). False when the part is not queued any more. Three queries."""
    recorded = ReportJobPart.objects.filter(
        pk=part.pk, status=PartStatus.QUEUED
    ).update(
        status=PartStatus.DONE,
        file=part.file.name or "",
        error="",
        finished_at=timezone.now(),
    )
    if not recorded:
        return False
    done = ReportJobPart.objects.filter(
        job_id=part.job_id, status=PartStatus.DONE
    ).count()
    ReportJob.objects.filter(
        pk=part.job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(
        status=JobStatus.RUNNING,
        progress=min(99, done * 100 // max(total, 1)),
        row_count=done,
    )
    return True


def _fail_part(part: ReportJobPart, person: str, error: str) -> None:
    ReportJobPart.objects.filter(pk=part.pk).update(
        status=PartStatus.FAILED, error=error[:1000], finished_at=timezone.now()
    )
    _fail_job(
        part.job_id,
        _(
            "The appraisal report of %(person)s could not be made, so the ZIP was "
            "not put together. The documents made so far are kept: “Retry” makes "
            "the rest. If it fails again, tell your administrator."
        )
        % {"person": person},
    )


def _fail_job(job_id: int, message: str) -> None:
    ReportJob.objects.filter(
        pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(
        status=JobStatus.FAILED,
        file="",
        error=message[:1000],
        finished_at=timezone.now(),
    )


# --- Putting the ZIP together ------------------------------------------------------------


def assemble_batch(*, organization: Organization, job_id: int) -> str | None:
    """Write the ZIP of batch ``job_id`` from its parts' files (named as
    ``file_names`` named them), store it as the job's file and mark the job done
    (``row_count``: the documents in it); the parts' files are deleted once that
    commits. Returns the job's status, or None when there is nothing to do: the job
    is missing or finished (a duplicate delivery), or a part is not made yet.

    A part whose file is gone from storage fails the job, naming the person (a
    retry makes it again). Four queries plus one file read per document."""
    job = (
        ReportJob.objects.select_for_update()
        .filter(pk=job_id, kind=APPRAISAL_BATCH)
        .first()
    )
    if job is None or job.status in FINISHED_STATUSES:
        return None
    parts = list(ReportJobPart.objects.filter(job_id=job.pk).order_by("name", "pk"))
    if any(part.status != PartStatus.DONE for part in parts):
        return None
    stored = [part for part in parts if part.file.name]
    handle, path = tempfile.mkstemp(suffix=".zip")
    os.close(handle)
    try:
        # PDFs are compressed already: stored as they are, the ZIP is made at the
        # speed of copying.
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
            for part in stored:
                try:
                    source = part.file.storage.open(part.file.name, "rb")
                except FileNotFoundError:
                    _fail_part(
                        part,
                        part.name.removesuffix(".pdf"),
                        "The document's file is gone from storage.",
                    )
                    return JobStatus.FAILED
                with source, archive.open(part.name, "w") as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
        with open(path, "rb") as zipped:
            job.file.save("batch.zip", File(zipped), save=False)
    finally:
        os.unlink(path)
    ReportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE,
        progress=100,
        row_count=len(stored),
        file=job.file.name,
        error="",
        finished_at=timezone.now(),
    )
    ReportJobPart.objects.filter(job_id=job.pk).exclude(file="").update(file="")
    names = [part.file.name for part in stored]
    storage = ReportJobPart._meta.get_field("file").storage
    transaction.on_commit(lambda: _delete_files(storage, names))
    return JobStatus.DONE


def _delete_files(storage: Any, names: list[str]) -> None:
    """Best effort: a file left behind is an orphan, which the retention pass
    deletes (``reporting.services.delete_expired_reports``)."""
    for name in names:
        with contextlib.suppress(OSError):
            storage.delete(name)
