"""Celery tasks of the reporting app: thin wrappers that re-enter the tenant and call
one service. Services owe them by name through the outbox
(``reporting.services.request_export``, ``reporting.batches.request_batch``); beat
starts the daily retention pass by the name in ``CELERY_BEAT_SCHEDULE``.
"""

from __future__ import annotations

import logging

from celery import shared_task

from organizations.errors import describe_exception
from organizations.models import Organization
from organizations.outbox import enqueue_daily_everywhere
from organizations.tasks import RETRY_OPTIONS, tenant_task
from reporting.batches import (
    ASSEMBLE_BATCH_TASK,
    RUN_BATCH_CHUNK_TASK,
    assemble_batch,
    run_batch_chunk,
)
from reporting.dispatch import DELIVER_REPORT_TASK, DISPATCH_DUE_TASK, dispatch_due
from reporting.sending import (
    SEND_REPORT_EMAIL_TASK,
    EmailNotSent,
    deliver,
    record_send_failure,
    send_email,
)
from reporting.services import (
    DELETE_EXPIRED_REPORTS_TASK,
    RUN_REPORT_JOB_TASK,
    delete_expired_reports,
    run_report_job,
)

# A job's file takes seconds (an XLSX of 10,000 appraisals 1.5 s, a PDF about one);
# a render or an export that runs for minutes is stopped rather than let hold a
# worker (the soft limit raises inside the job, which records the failure).
JOB_SOFT_TIME_LIMIT = 600
JOB_TIME_LIMIT = 660


@shared_task(
    bind=False,
    name=RUN_REPORT_JOB_TASK,
    soft_time_limit=JOB_SOFT_TIME_LIMIT,
    time_limit=JOB_TIME_LIMIT,
    **RETRY_OPTIONS,
)
@tenant_task
def run_report_job_task(*, organization: Organization, job_id: int) -> str | None:
    """Write one report job's file (an export, or a PDF document). A second
    delivery of a finished job does nothing; a failure is recorded on the job, not
    raised."""
    return run_report_job(organization=organization, job_id=job_id)


@shared_task(
    bind=False,
    name=RUN_BATCH_CHUNK_TASK,
    # A worker killed mid-chunk leaves the message unacknowledged: it comes back
    # (and the outbox republishes it), and makes only the documents still queued.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=JOB_SOFT_TIME_LIMIT,
    time_limit=JOB_TIME_LIMIT,
    **RETRY_OPTIONS,
)
@tenant_task
def run_batch_chunk_task(*, organization: Organization, job_id: int, chunk: int) -> int:
    """Make the queued documents of one chunk of a batch of appraisal reports, each
    recorded before the next; owe the ZIP when none is left. Returns how many were
    made (none for a duplicate delivery)."""
    return run_batch_chunk(organization=organization, job_id=job_id, chunk=chunk)


@shared_task(
    bind=False,
    name=ASSEMBLE_BATCH_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=JOB_SOFT_TIME_LIMIT,
    time_limit=JOB_TIME_LIMIT,
    **RETRY_OPTIONS,
)
@tenant_task
def assemble_batch_task(*, organization: Organization, job_id: int) -> str | None:
    """Put a batch's documents together into its ZIP and mark the job done. A
    second delivery, or one before every document is made, does nothing."""
    return assemble_batch(organization=organization, job_id=job_id)


@shared_task(
    bind=False, name="reporting.delete_expired_reports_everywhere", **RETRY_OPTIONS
)
def delete_expired_reports_everywhere() -> int:
    """Beat, daily: owe the retention pass in every organisation, through the
    outbox. Returns how many organisations."""
    return enqueue_daily_everywhere(DELETE_EXPIRED_REPORTS_TASK)


@shared_task(bind=False, name=DELETE_EXPIRED_REPORTS_TASK, **RETRY_OPTIONS)
@tenant_task
def delete_expired_reports_task(*, organization: Organization) -> int:
    """Delete the organisation's report jobs and files past their retention
    period. Idempotent. Returns how many jobs were deleted."""
    return delete_expired_reports(organization=organization)


# --- Scheduled report e-mails (reporting.dispatch) ---------------------------------------

logger = logging.getLogger(__name__)


@shared_task(bind=False, name=DISPATCH_DUE_TASK, **RETRY_OPTIONS)
def dispatch_due_reports() -> int:
    """Beat, every five minutes: queue a delivery of every report subscription due,
    in every organisation, once per period. Returns how many were queued."""
    return dispatch_due()


@shared_task(bind=False, name=DELIVER_REPORT_TASK, **RETRY_OPTIONS)
@tenant_task
def deliver_report_task(*, organization: Organization, delivery_id: int) -> int:
    """Owe one send per recipient of a delivery. Returns how many."""
    return deliver(organization=organization, delivery_id=delivery_id)


_send_report_email = tenant_task(send_email)


@shared_task(
    bind=False,
    name=SEND_REPORT_EMAIL_TASK,
    soft_time_limit=JOB_SOFT_TIME_LIMIT,
    time_limit=JOB_TIME_LIMIT,
    **RETRY_OPTIONS,
)
def send_report_email_task(
    *, organization_id: int, email_id: int, outbox_id: int | None = None
) -> str | None:
    """Send one recipient's report e-mail, once. A failure (the SMTP server refused
    or was away, or the report could not be made) rolls the send back and is then
    recorded on the e-mail and its delivery; the outbox publishes the send again
    with its backoff, and the last attempt fails the delivery
    (``reporting.dispatch``, "Retries"). Returns the e-mail's status."""
    try:
        return _send_report_email(
            organization_id=organization_id, outbox_id=outbox_id, email_id=email_id
        )
    except Exception as exc:
        if isinstance(exc, EmailNotSent):
            reason = exc.reason
        else:
            logger.exception("Report e-mail %s could not be made", email_id)
            reason = describe_exception(exc)
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None or not record_send_failure(
            organization=organization,
            email_id=email_id,
            outbox_id=outbox_id,
            reason=reason,
        ):
            raise
        return "failed"
