"""The transactional outbox (organizations/outbox.py): work is owed with the change
that causes it, published after commit, done once however often it is delivered, and
kept (not lost) while the broker is down.

These tests run the relay against the real PostgreSQL; Celery runs tasks eagerly here,
except where a test points the broker at a closed port. Real workers and a Redis that
stops are in tests/faults/.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.db import (
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from organizations import outbox
from organizations.enums import Role
from organizations.models import (
    Membership,
    Organization,
    OutboxMessage,
    RateLimitCounter,
    SentEmail,
)
from organizations.notifications import DELIVER_EMAIL_TASK, queue_email
from organizations.tasks import deliver_email, prune_outbox
from organizations.tenancy import tenant_context

TEMPLATE = "feedback/email/feedback_shared.txt"


def _owe_email(org: Organization, member: Membership, key: str) -> None:
    queue_email(
        organization=org,
        key=key,
        template=TEMPLATE,
        context={"author_name": "Ana", "path": "/"},
        user=member.user,
    )


def _rows(org: Organization) -> list[OutboxMessage]:
    with tenant_context(org):
        return list(OutboxMessage.objects.order_by("pk"))


@pytest.fixture
def member(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.EMPLOYEE)


# --- Owing work --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_enqueue_in_autocommit_mode_is_refused(org: Organization) -> None:
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="inside a transaction"):
        outbox.enqueue(DELIVER_EMAIL_TASK, organization=org, key="x")
    with tenant_context(org):
        assert not OutboxMessage.objects.exists()


def test_work_is_owed_with_the_change_and_not_after_a_rollback(
    org: Organization, member: Membership, mailoutbox: list[Any]
) -> None:
    class Undo(Exception):
        pass

    def owe_then_fail() -> None:
        with tenant_context(org):
            _owe_email(org, member, "rolled-back")
            raise Undo

    with pytest.raises(Undo):
        owe_then_fail()

    assert _rows(org) == []
    assert mailoutbox == []


def test_a_committed_change_runs_its_work_once_and_marks_it_completed(
    org: Organization,
    member: Membership,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        _owe_email(org, member, "shared:1")

    [row] = _rows(org)
    assert row.task == DELIVER_EMAIL_TASK
    assert row.kwargs["organization_id"] == org.pk
    assert row.completed_at is not None
    assert (row.attempts, row.last_error) == (1, "")
    assert [m.to for m in mailoutbox] == [[member.user.email]]


def test_the_same_key_owed_twice_before_publication_is_one_row(
    org: Organization,
    member: Membership,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        _owe_email(org, member, "twice")
        _owe_email(org, member, "twice")
        _owe_email(org, member, "other")

    assert len(_rows(org)) == 2
    assert len(mailoutbox) == 2


def test_enqueue_for_another_organisation_than_the_active_one_is_refused(
    org: Organization, other_org: Organization
) -> None:
    with tenant_context(org), pytest.raises(ValueError, match="another organisation"):
        outbox.enqueue(DELIVER_EMAIL_TASK, organization=other_org)


def test_enqueue_many_owes_each_call_once_in_one_insert(
    org: Organization,
    member: Membership,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    def call(key: str) -> tuple[str, dict[str, Any]]:
        return f"email:{key}", {
            "key": key,
            "template": TEMPLATE,
            "context": {"author_name": "Ana", "path": "/"},
            "user_id": member.user_id,
            "address": "",
            "essential": True,
        }

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        _owe_email(org, member, "many:0")  # pending already: left out
        with CaptureQueriesContext(connection) as captured:
            outbox.enqueue_many(
                DELIVER_EMAIL_TASK,
                organization=org,
                calls=[call(f"many:{n}") for n in range(3)],
            )

    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert [row.key for row in _rows(org)] == [f"email:many:{n}" for n in range(3)]
    assert all(row.completed_at is not None for row in _rows(org))
    assert len(mailoutbox) == 3


# --- Delivered twice, done once ------------------------------------------------------------


def test_a_second_delivery_of_the_same_row_does_nothing(
    org: Organization, member: Membership, mailoutbox: list[Any]
) -> None:
    with tenant_context(org):
        _owe_email(org, member, "dup")  # its fast path never runs in this test
    [row] = _rows(org)
    kwargs = {**row.kwargs, "outbox_id": row.pk}

    first = deliver_email.apply(kwargs=kwargs).get()
    second = deliver_email.apply(kwargs=kwargs).get()

    assert (first, second) == (True, None)
    assert len(mailoutbox) == 1
    [row] = _rows(org)
    assert row.completed_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_publish_each_row_once(
    org: Organization, make_member: Callable[..., Membership], mailoutbox: list[Any]
) -> None:
    members = [make_member(org, Role.EMPLOYEE) for _ in range(6)]
    with tenant_context(org):
        for n, member in enumerate(members):
            _owe_email(org, member, f"race:{n}")
    # The fast path ran at commit (autocommit test): put the rows back to due.
    with tenant_context(org):
        OutboxMessage.objects.update(
            completed_at=None,
            attempts=0,
            dispatched_at=None,
            next_attempt_at=timezone.now(),
        )
        SentEmail.objects.all().delete()
    mailoutbox.clear()

    barrier = threading.Barrier(2)
    published: list[int] = []

    def run_relay() -> None:
        try:
            barrier.wait(timeout=10)
            published.append(outbox.relay())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(published) == len(members)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.user.email for m in members)
    assert all(row.completed_at is not None and row.attempts == 1 for row in _rows(org))


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_publishing_and_marking_publishes_again_and_acts_once(
    org: Organization,
    member: Membership,
    mailoutbox: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tenant_context(org):
        _owe_email(org, member, "crash")
    # The fast path ran at commit (autocommit test): put the row back to due.
    with tenant_context(org):
        OutboxMessage.objects.update(
            completed_at=None,
            attempts=0,
            dispatched_at=None,
            next_attempt_at=timezone.now(),
        )
        SentEmail.objects.all().delete()
    mailoutbox.clear()

    def crash(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("the relay process died")

    with monkeypatch.context() as patched:
        patched.setattr(outbox, "_record_publications", crash)
        with pytest.raises(KeyboardInterrupt):
            outbox.relay()

    # The crash rolled the relay's transaction back: the row is still owed.
    [row] = _rows(org)
    assert (row.completed_at, row.attempts) == (None, 0)

    assert outbox.relay() == 1
    assert outbox.relay() == 0
    [row] = _rows(org)
    assert row.completed_at is not None
    with tenant_context(org):
        assert SentEmail.objects.filter(key="crash").count() == 1


# --- Failing work: backoff and the failure record --------------------------------------------


@pytest.fixture
def failing_email(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every delivery fails the way a broken template would."""

    def broken(*args: Any, **kwargs: Any) -> str:
        raise ValueError("template exploded\nsecond line")

    monkeypatch.setattr("organizations.tasks.render_to_string", broken)


@pytest.mark.django_db(transaction=True)
def test_a_failing_task_is_retried_with_growing_delays_then_marked_failed(
    org: Organization,
    member: Membership,
    failing_email: None,
    settings: Any,
) -> None:
    settings.OUTBOX_REDELIVER_AFTER = 60
    settings.OUTBOX_MAX_ATTEMPTS = 3
    with tenant_context(org):
        _owe_email(org, member, "broken")  # the fast path makes the first attempt

    [row] = _rows(org)
    assert row.completed_at is None
    assert row.failed_at is None
    assert row.attempts == 1
    assert row.last_error == "ValueError: template exploded"
    first_wait = row.next_attempt_at - row.dispatched_at
    assert first_wait == timedelta(seconds=60)

    # Nothing is due before its time.
    assert outbox.relay() == 0
    with tenant_context(org):
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox.relay() == 1
    [row] = _rows(org)
    assert row.attempts == 2
    assert row.next_attempt_at - row.dispatched_at == timedelta(seconds=120)

    with tenant_context(org):
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
    outbox.relay()
    with tenant_context(org):
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox.relay() == 0  # third attempt used up: marked failed, not published
    [row] = _rows(org)
    assert row.attempts == 3
    assert row.failed_at is not None
    assert row.last_error == "ValueError: template exploded"


@pytest.mark.django_db(transaction=True)
def test_hr_can_retry_failed_work(
    org: Organization,
    member: Membership,
    mailoutbox: list[Any],
    settings: Any,
) -> None:
    with tenant_context(org):
        _owe_email(org, member, "retry-me")
    with tenant_context(org):
        OutboxMessage.objects.update(
            completed_at=None,
            failed_at=timezone.now(),
            attempts=8,
            last_error="X: y",
            next_attempt_at=timezone.now(),
        )
        SentEmail.objects.all().delete()
    mailoutbox.clear()

    assert outbox.retry_failed(organization=org) == 1

    [row] = _rows(org)
    assert row.failed_at is None
    assert row.completed_at is not None
    assert row.attempts == 1
    assert len(mailoutbox) == 1


# --- The broker is down ------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _broker_down() -> Iterator[None]:
    """Tasks go to a broker at a port nobody listens on, instead of running eagerly."""
    conf = current_app.conf
    saved = (conf.task_always_eager, conf.broker_url)

    def fresh_pools() -> None:
        # Forget the pools (not close them: kombu's registry hands the same pool to
        # the same broker again).
        current_app._pool = None
        current_app.amqp._producer_pool = None

    conf.task_always_eager = False
    conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    fresh_pools()
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url = saved
        fresh_pools()


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_keeps_the_work_owed_and_the_action_saved(
    org: Organization,
    member: Membership,
    mailoutbox: list[Any],
) -> None:
    with _broker_down(), tenant_context(org):
        _owe_email(org, member, "outage")  # commits; the fast path cannot publish

    [row] = _rows(org)
    assert row.completed_at is None
    assert row.dispatched_at is None
    assert row.attempts == 0  # an outage uses up no attempt
    assert row.last_error.startswith("OperationalError")
    assert row.next_attempt_at > timezone.now()
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_work_owed_during_an_outage_runs_once_when_the_broker_is_back(
    org: Organization, member: Membership, mailoutbox: list[Any]
) -> None:
    with _broker_down(), tenant_context(org):
        _owe_email(org, member, "later")

    with tenant_context(org):
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox.relay() == 1
    assert outbox.relay() == 0
    assert len(mailoutbox) == 1
    [row] = _rows(org)
    assert row.completed_at is not None
    assert row.attempts == 1


# --- Row-level security ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_outside_the_relay_outbox_rows_stay_inside_their_organisation(
    org: Organization, other_org: Organization, member: Membership
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")
    with tenant_context(org):
        _owe_email(org, member, "mine")
    with tenant_context(other_org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM organizations_outboxmessage")
        assert cursor.fetchone()[0] == 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM organizations_outboxmessage")
        assert cursor.fetchone()[0] == 0
        outbox._enter_relay()
        cursor.execute("SELECT count(*) FROM organizations_outboxmessage")
        assert cursor.fetchone()[0] == 1


# --- Keeping it small -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_daily_prune_deletes_old_completed_rows_and_stale_counters(
    org: Organization, member: Membership
) -> None:
    with tenant_context(org):
        _owe_email(org, member, "old")
        _owe_email(org, member, "recent")
    with tenant_context(org):
        OutboxMessage.objects.filter(key="email:old").update(
            completed_at=timezone.now() - timedelta(days=30)
        )
    RateLimitCounter.objects.create(
        key="ratelimit:test:old",
        window_started_at=timezone.now() - timedelta(days=2),
        count=3,
    )
    RateLimitCounter.objects.create(
        key="ratelimit:test:new", window_started_at=timezone.now(), count=1
    )

    assert prune_outbox() == 2

    assert [row.key for row in _rows(org)] == ["email:recent"]
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == [
        "ratelimit:test:new"
    ]


# --- Every task retries a lost database or broker ---------------------------------------------


def test_every_task_of_the_project_retries_when_the_database_is_unreachable() -> None:
    current_app.autodiscover_tasks(force=True)
    ours = {
        name: task
        for name, task in current_app.tasks.items()
        if name.split(".")[0]
        in {"organizations", "competencies", "engagements", "feedback", "appraisals"}
    }
    assert "organizations.relay_outbox" in ours
    assert "appraisals.recompute_appraisal" in ours
    for name, task in ours.items():
        retried = tuple(getattr(task, "autoretry_for", ()))
        assert OperationalError in retried, name
        assert InterfaceError in retried, name
        assert task.retry_backoff, name
