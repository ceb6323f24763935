"""Celery tasks of the feedback app: thin wrappers over ``feedback.services``."""

from __future__ import annotations

from celery import shared_task

from feedback.services.requests import send_due_reminders
from organizations.models import Organization
from organizations.tasks import tenant_task


@shared_task(bind=False)
def send_request_reminders() -> int:
    """Daily (beat): queue one reminder run per organisation, each in its own tenant.
    Returns the number of organisations queued."""
    ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    for organization_id in ids:
        send_request_reminders_for.delay(organization_id=organization_id)
    return len(ids)


@shared_task(bind=False, autoretry_for=(ConnectionError,), max_retries=5)
@tenant_task
def send_request_reminders_for(*, organization: Organization) -> int:
    """Remind the requestees of open asks due within two days; the e-mail ledger
    sends each reminder once, however often this runs."""
    return send_due_reminders(organization=organization)
