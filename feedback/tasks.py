"""Celery tasks of the feedback app: thin wrappers over ``feedback.services``."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from feedback.services.requests import send_due_reminders
from organizations.models import Organization
from organizations.outbox import enqueue
from organizations.tasks import RETRY_OPTIONS, tenant_task
from organizations.tenancy import tenant_context

SEND_REMINDERS_FOR_TASK = "feedback.tasks.send_request_reminders_for"


@shared_task(bind=False, **RETRY_OPTIONS)
def send_request_reminders() -> int:
    """Daily (beat): owe one reminder run per organisation, through the outbox, each in
    its own tenant (a second beat run the same day adds nothing while the first is
    pending). Returns the number of organisations."""
    today = timezone.now().date().isoformat()
    organizations = list(Organization.objects.order_by("pk"))
    for organization in organizations:
        with tenant_context(organization):
            enqueue(
                SEND_REMINDERS_FOR_TASK,
                organization=organization,
                idempotency_key=f"request-reminders:{today}",
            )
    return len(organizations)


@shared_task(bind=False, name=SEND_REMINDERS_FOR_TASK, **RETRY_OPTIONS)
@tenant_task
def send_request_reminders_for(*, organization: Organization) -> int:
    """Remind the requestees of open asks due within two days; the e-mail ledger
    sends each reminder once, however often this runs."""
    return send_due_reminders(organization=organization)
