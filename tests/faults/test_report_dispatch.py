"""Scheduled report e-mails with real processes: a Redis server and Celery workers of
the test's own, against the test database (docs/reliability.md, "Scheduled report
e-mails").

- **A worker killed during a dispatch.** Three subscriptions are due (a cycle digest
  for two recipients, a team summary, a my-appraisal). The dispatcher runs twice, as
  a beat that fired twice would (``manage.py send_due_reports``, the beat task's
  body), while no worker runs. The test then holds the delivery rows locked, starts
  a worker, waits until both of its pool processes are inside a delivery task and
  kills it (SIGKILL); then holds the review cycles' table locked (every e-mail reads
  it before it is sent, no delivery task does), starts a worker again, waits until
  its pool is stuck inside the sends and kills it again. A third worker and the outbox relay finish the work:
  each subscription's period is delivered once and each recipient's e-mail is in
  the mail files exactly once.
- **SMTP down.** The mail server is first absent (nothing listens), then refuses
  every connection (421), then accepts: the deliveries show the failure and that
  they retry, the outbox publishes the sends again with its backoff, and each
  e-mail arrives once.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from organizations.models import Organization, OutboxMessage
from organizations.tenancy import tenant_context
from reporting.dispatch import DELIVER_REPORT_TASK
from reporting.enums import DeliveryStatus, EmailStatus, SubscriptionKind
from reporting.models import ReportDelivery, ReportEmail, ReportSubscription
from reporting.sending import SEND_REPORT_EMAIL_TASK
from tests.faults.processes import (
    email_url,
    read_mail,
    run_manage,
    wait_until,
)
from tests.faults.services import CeleryWorker, RedisServer
from tests.faults.smtp import SmtpSink
from tests.faults.test_worker_death import sessions_waiting_for_a_lock
from tests.faults.web import database_url, process_env
from tests.reporting.worlds import ReportWorld, build_world
from tests.reporting_factories import subscription_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Long enough for a loaded two-core machine to start Python a few times over.
DRAIN_TIMEOUT = 300
# The relay republishes a published send that did not complete after this many
# seconds (doubling per attempt): short, so a retry comes within the test.
REDELIVER_AFTER = "3"


@dataclass
class Stack:
    env: dict[str, str]
    redis: RedisServer
    worker: CeleryWorker


@contextlib.contextmanager
def run_stack(tmp_path: Path, *, mail_url: str) -> Iterator[Stack]:
    """Redis and a (not yet started) worker configured alike: the test database as
    the application role, real Celery, e-mail through ``mail_url``, report files
    under ``tmp_path``. Stopped on the way out, whatever happened."""
    with contextlib.ExitStack() as cleanup:
        redis = cleanup.enter_context(RedisServer(directory=tmp_path / "redis"))
        redis.start()
        env = process_env(
            database_url=database_url(),
            redis_url=redis.url,
            EMAIL_URL=mail_url,
            OUTBOX_REDELIVER_AFTER=REDELIVER_AFTER,
            MEDIA_ROOT=str(tmp_path / "media"),
        )
        worker = cleanup.enter_context(CeleryWorker(env, directory=tmp_path / "worker"))
        yield Stack(env=env, redis=redis, worker=worker)


@pytest.fixture
def world(org: Organization) -> ReportWorld:
    return build_world(org)


def subscribe(world: ReportWorld) -> list[ReportSubscription]:
    """The three subscriptions, all due a minute ago."""
    subscriptions = [
        subscription_for(world.hr, [world.hr, world.manager]),
        subscription_for(
            world.hr,
            [world.manager],
            kind=SubscriptionKind.TEAM_SUMMARY,
            title="Team summary",
        ),
        subscription_for(
            world.employee, kind=SubscriptionKind.MY_APPRAISAL, title="My appraisal"
        ),
    ]
    with tenant_context(world.org):
        ReportSubscription.objects.update(
            next_run_at=timezone.now() - timedelta(minutes=1)
        )
    return subscriptions


def dispatch(stack: Stack) -> None:
    """The beat task's body in a process of its own."""
    result = run_manage(stack.env, "send_due_reports")
    assert result.returncode == 0, result.stdout + result.stderr


def unfinished(organization: Organization) -> list[OutboxMessage]:
    with tenant_context(organization):
        return list(OutboxMessage.objects.filter(completed_at__isnull=True))


def drain(stack: Stack, organization: Organization) -> None:
    """Run the relay's catch-up pass (as beat would) until every outbox row of the
    organisation is completed; fail naming the rows left, with the worker's log."""

    def done() -> bool:
        relay = run_manage(stack.env, "relay_outbox")
        assert relay.returncode == 0, relay.stderr
        return not unfinished(organization)

    try:
        wait_until(done, timeout=DRAIN_TIMEOUT, interval=1, what="the outbox to drain")
    except TimeoutError as exc:
        left = [
            (row.pk, row.task, row.attempts, row.last_error)
            for row in unfinished(organization)
        ]
        raise AssertionError(
            f"{exc} Left: {left}\n{stack.worker.output_text()[-6000:]}"
        ) from exc


def ledger(
    organization: Organization,
) -> tuple[list[ReportDelivery], list[ReportEmail]]:
    with tenant_context(organization):
        return (
            list(ReportDelivery.objects.order_by("pk")),
            list(ReportEmail.objects.order_by("pk")),
        )


def relay(stack: Stack) -> None:
    """One pass of the outbox relay (as beat runs it), once the redelivery delay of
    what the killed worker held has passed."""
    wait_until(
        lambda: "Published 0 " not in run_manage(stack.env, "relay_outbox").stdout,
        timeout=60,
        interval=1,
        what="the relay to publish the dead worker's work again",
    )


def kill_while_stuck(stack: Stack) -> None:
    """Start the worker, wait until each pool process waits for a lock inside a
    task, kill it (the caller holds the lock)."""
    stack.worker.start()
    wait_until(
        lambda: sessions_waiting_for_a_lock() >= stack.worker.concurrency,
        timeout=180,
        what="both pool processes to be inside a task",
    )
    stack.worker.kill()


# --- A worker killed during a dispatch ----------------------------------------------------


def test_a_worker_killed_during_a_dispatch_delivers_each_period_once(
    world: ReportWorld, tmp_path: Path
):
    subscriptions = subscribe(world)
    mail = tmp_path / "mail"
    mail.mkdir()
    with run_stack(tmp_path, mail_url=email_url(mail)) as stack:
        dispatch(stack)
        dispatch(stack)  # beat fired twice
        deliveries, _ = ledger(world.org)
        assert len(deliveries) == 3

        with tenant_context(world.org):
            # Held until the worker is dead: the delivery tasks block on them.
            list(ReportDelivery.objects.select_for_update())
            kill_while_stuck(stack)
        relay(stack)  # the dead worker's deliveries, published again
        with tenant_context(world.org), connection.cursor() as cursor:
            # Every e-mail reads the review cycles before it is sent; the delivery
            # tasks do not: they finish, and the sends block.
            cursor.execute(
                "LOCK TABLE engagements_reviewcycle IN ACCESS EXCLUSIVE MODE"
            )
            kill_while_stuck(stack)
        _, emails = ledger(world.org)
        assert len(emails) == 4
        assert read_mail(mail) == []

        stack.worker.start()
        drain(stack, world.org)
        dispatch(stack)  # nothing is due any more

        deliveries, emails = ledger(world.org)
        output = stack.worker.output_text()
        with tenant_context(world.org):
            attempts = {
                task: max(
                    OutboxMessage.objects.filter(task=task).values_list(
                        "attempts", flat=True
                    )
                )
                for task in (DELIVER_REPORT_TASK, SEND_REPORT_EMAIL_TASK)
            }

    assert sorted(d.subscription_id for d in deliveries) == sorted(
        s.pk for s in subscriptions
    ), output[-4000:]
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 3
    # The dead workers' deliveries and sends came back.
    assert attempts[DELIVER_REPORT_TASK] > 1
    assert attempts[SEND_REPORT_EMAIL_TASK] > 1
    assert [e.status for e in emails] == [EmailStatus.SENT] * 4
    messages = read_mail(mail)
    assert Counter(
        address.addr_spec for m in messages for address in m["To"].addresses
    ) == {
        world.hr.user.email: 1,
        world.manager.user.email: 2,
        world.employee.user.email: 1,
    }
    assert sorted(str(m["Message-ID"]) for m in messages) == sorted(
        e.message_id for e in emails
    )
    assert all(
        part.get_content_type() == "application/pdf"
        for m in messages
        for part in m.iter_attachments()
    )


# --- SMTP down ----------------------------------------------------------------------------


def test_deliveries_during_an_smtp_outage_fail_visibly_retry_and_arrive_once(
    world: ReportWorld, tmp_path: Path
):
    digest = subscription_for(world.hr, [world.hr, world.manager])
    with tenant_context(world.org):
        ReportSubscription.objects.update(
            next_run_at=timezone.now() - timedelta(minutes=1)
        )
    with SmtpSink() as sink, run_stack(tmp_path, mail_url=sink.email_url) as stack:
        stack.worker.start()
        dispatch(stack)  # nothing listens on the mail server's port

        def failed(at_least: int) -> bool:
            _, emails = ledger(world.org)
            return len(emails) == 2 and all(
                e.status == EmailStatus.FAILED and e.attempts >= at_least
                for e in emails
            )

        wait_until(lambda: failed(1), timeout=180, what="the sends to fail")
        [delivery], emails = ledger(world.org)
        assert delivery.status == DeliveryStatus.QUEUED
        assert "retrying" in delivery.error
        assert all("ConnectionRefusedError" in e.error for e in emails)

        sink.start(accept=False)  # answers, and refuses (421)
        wait_until(
            lambda: run_manage(stack.env, "relay_outbox").returncode == 0 and failed(2),
            timeout=180,
            interval=1,
            what="the sends to be retried and refused",
        )
        [delivery], emails = ledger(world.org)
        assert all("SMTPConnectError" in e.error for e in emails)
        assert sink.refused >= 2
        assert sink.messages == []

        sink.accept()
        drain(stack, world.org)
        run_manage(stack.env, "relay_outbox")  # one more pass sends nothing new
        [delivery], emails = ledger(world.org)
        received = sink.messages

    assert delivery.subscription_id == digest.pk
    assert (delivery.status, delivery.error) == (DeliveryStatus.SENT, "")
    assert delivery.attempts >= 3
    assert [e.status for e in emails] == [EmailStatus.SENT] * 2
    assert sorted(str(m["To"]) for m in received) == sorted(
        [world.hr.user.email, world.manager.user.email]
    )
    assert sorted(str(m["Message-ID"]) for m in received) == sorted(
        e.message_id for e in emails
    )
