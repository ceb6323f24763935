"""Celery tasks of the feedback app: thin wrappers over ``feedback.services``."""

from __future__ import annotations

from celery import shared_task

from feedback.services.requests import send_due_reminders
from organizations.models import Organization
from organizations.outbox import enqueue_daily_everywhere
from organizations.tasks import RETRY_OPTIONS, tenant_task

SEND_REMINDERS_FOR_TASK = "feedback.tasks.send_request_reminders_for"


@shared_task(bind=False, **RETRY_OPTIONS)
def send_request_reminders() -> int:
    """Daily (beat): owe one reminder run per organisation, through the outbox, each in
    its own tenant (a second beat run the same day adds nothing while the first is
    pending). Returns the number of organisations."""
    return enqueue_daily_everywhere(SEND_REMINDERS_FOR_TASK)


@shared_task(bind=False, name=SEND_REMINDERS_FOR_TASK, **RETRY_OPTIONS)
@tenant_task
def send_request_reminders_for(*, organization: Organization) -> int:
    """Remind the requestees of open asks due within two days; the e-mail ledger
    sends each reminder once, however often this runs."""
    return send_due_reminders(organization=organization)
