"""Celery tasks of the reporting app: thin wrappers that re-enter the tenant and call
one service. Services owe them by name through the outbox
(``reporting.services.request_export``); beat starts the daily retention pass by the
name in ``CELERY_BEAT_SCHEDULE``.
"""

from __future__ import annotations

from celery import shared_task

from organizations.models import Organization
from organizations.outbox import enqueue_daily_everywhere
from organizations.tasks import RETRY_OPTIONS, tenant_task
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
