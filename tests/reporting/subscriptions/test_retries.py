"""SMTP failures of report e-mails (``reporting.dispatch``, "Retries"): the e-mail is
marked failed with the reason and the delivery says it retries; the outbox publishes
the send again with its backoff; once the server is back each e-mail arrives once;
after the last attempt the delivery is failed for good, with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from organizations import outbox
from organizations.models import OutboxMessage
from organizations.tenancy import tenant_context
from reporting.enums import DeliveryStatus, EmailStatus
from reporting.sending import SEND_REPORT_EMAIL_TASK
from reporting.tasks import send_report_email_task
from tests.reporting.subscriptions.conftest import (
    MONDAY_7AM,
    deliveries,
    due_at,
    emails,
)
from tests.reporting.subscriptions.smtp import FlakyBackend
from tests.reporting_factories import subscription_for

pytestmark = pytest.mark.slow  # the e-mails carry rendered PDFs


@pytest.fixture
def smtp(settings: Any) -> Iterator[type[FlakyBackend]]:
    settings.EMAIL_BACKEND = "tests.reporting.subscriptions.smtp.FlakyBackend"
    yield FlakyBackend
    FlakyBackend.down = False


@pytest.fixture
def retry(world, after_commit) -> Callable[[], int]:
    """The outbox relay's catch-up pass once the redelivery delay has passed (as
    beat would run it later), with the sends it publishes run."""

    def run() -> int:
        with tenant_context(world.org):
            OutboxMessage.objects.filter(completed_at__isnull=True).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )
        return after_commit(outbox.relay)

    return run


def send_rows(world) -> list[OutboxMessage]:
    with tenant_context(world.org):
        return list(OutboxMessage.objects.filter(task=SEND_REPORT_EMAIL_TASK))


def test_an_smtp_outage_fails_visibly_retries_and_sends_once(
    world, smtp, dispatch, retry
):
    digest = subscription_for(world.hr, [world.hr, world.manager])
    due_at(digest, MONDAY_7AM)
    smtp.down = True

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    [delivery] = deliveries(digest)
    assert mail.outbox == []
    assert [(e.status, e.attempts) for e in emails(digest)] == [
        (EmailStatus.FAILED, 1)
    ] * 2
    assert all("SMTPServerDisconnected" in e.error for e in emails(digest))
    assert delivery.status == DeliveryStatus.QUEUED
    assert "(attempt 1 of 8), retrying: SMTPServerDisconnected" in delivery.error
    assert [row.completed_at for row in send_rows(world)] == [None, None]

    smtp.down = False
    retry()
    retry()  # a second pass finds nothing owed

    [delivery] = deliveries(digest)
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(
        [world.hr.user.email, world.manager.user.email]
    )
    assert [(e.status, e.attempts, e.error) for e in emails(digest)] == [
        (EmailStatus.SENT, 2, "")
    ] * 2
    assert (delivery.status, delivery.attempts, delivery.error) == (
        DeliveryStatus.SENT,
        2,
        "",
    )
    assert all(row.completed_at is not None for row in send_rows(world))


def test_a_send_failing_every_attempt_fails_the_delivery_with_the_reason(
    world, smtp, dispatch, retry, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    digest = subscription_for(world.hr, [world.manager])
    due_at(digest, MONDAY_7AM)
    smtp.down = True

    dispatch(MONDAY_7AM + timedelta(minutes=1))
    retry()

    [delivery] = deliveries(digest)
    [email] = emails(digest)
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 2)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == (
        f"Not sent to {world.manager.user.email} after 2 attempts: "
        "SMTPServerDisconnected: Connection unexpectedly closed"
    )
    assert delivery.finished_at is not None
    assert [row.completed_at is not None for row in send_rows(world)] == [True]

    smtp.down = False
    retry()

    assert mail.outbox == []


def test_a_send_delivered_twice_sends_once(world, dispatch, after_commit):
    digest = subscription_for(world.hr, [world.manager])
    due_at(digest, MONDAY_7AM)
    dispatch(MONDAY_7AM + timedelta(minutes=1))
    [email] = emails(digest)

    again = after_commit(
        lambda: send_report_email_task(organization_id=world.org.pk, email_id=email.pk)
    )

    assert again == EmailStatus.SENT
    assert len(mail.outbox) == 1
    assert emails(digest)[0].attempts == 1
