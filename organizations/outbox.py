"""The transactional outbox: background work owed after a commit, never lost.

Every piece of Celery work that a request or a service starts goes through
``enqueue(task, organization=..., idempotency_key=..., **kwargs)``. It writes an ``OutboxMessage`` row in the
caller's transaction, so the work is owed exactly when the change that caused it is
committed: a rollback owes nothing, and a broker that is down at commit time delays
the work instead of losing it or turning a saved action into an error page.

The relay publishes due rows to Celery:

- the **fast path**: right after the transaction that wrote rows commits, the rows due
  in those organisations are published, so work starts at once when the broker is up;
- the **catch-up**: beat runs ``organizations.relay_outbox`` every
  ``OUTBOX_RELAY_INTERVAL`` seconds (and ``manage.py relay_outbox`` does the same pass),
  publishing rows whose publication failed and republishing rows that were published
  but not completed within the redelivery delay (a message lost with a Redis restart,
  a worker that died). The delay doubles per attempt, from ``OUTBOX_REDELIVER_AFTER``
  seconds up to an hour; after ``OUTBOX_MAX_ATTEMPTS`` publications the row is marked
  failed and shown to HR (Settings → Background work), who can retry it.

A row is never marked done by the relay. The task marks it completed in the same
transaction as its own effect (``organizations.tasks.tenant_task``), after locking the
row and checking it is not completed yet, so a message published twice (two relays, a
crash between publishing and marking, a redelivery) acts once. Publication failures
(broker down) do not count as attempts: an outage of any length loses nothing.

The relay is the only code that reads outbox rows across organisations: it sets the
row-security setting ``app.outbox_relay`` for its own transaction, which the policy of
the outbox table (and no other) admits (``organizations.tenancy.CROSS_TENANT_TABLES``).

Nothing else in the code base calls ``.delay()`` or ``.apply_async()``;
``tests/test_architecture.py`` reads the source to keep it so.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from organizations.errors import describe_exception
from organizations.models import Organization, OutboxMessage
from organizations.tenancy import (
    RELAY_SETTING,
    current_organization_id,
    is_postgresql,
    tenant_context,
)

logger = logging.getLogger(__name__)

# How long a publication failure (broker unreachable) waits before the next try.
PUBLISH_RETRY_AFTER = timedelta(seconds=10)
# The longest wait between two publications of one row.
MAX_REDELIVER_AFTER = timedelta(hours=1)
# Rows one relay pass publishes at most (the next pass takes the rest).
RELAY_BATCH = 500


def redeliver_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "OUTBOX_REDELIVER_AFTER", 60)))


def max_attempts() -> int:
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8))


# --- Writing --------------------------------------------------------------------------


def enqueue(
    task: str,
    *,
    organization: Organization | int,
    idempotency_key: str = "",
    **kwargs: Any,
) -> None:
    """Owe the Celery task ``task`` with ``kwargs`` (plus ``organization_id``) once the
    current transaction commits. One INSERT.

    ``idempotency_key``: while a row with the same key waits to be published,
    enqueueing it again does nothing (several rating changes in one request recompute
    the appraisal once). ``kwargs`` must be JSON values (ids, strings, numbers).

    Raises RuntimeError outside a transaction: the row must commit with the change that
    makes the work owed (requests to tenant pages, ``tenant_context`` and
    ``transaction.atomic`` all open one).
    """
    organization_id = _owing_organization(organization)
    message = OutboxMessage(
        organization_id=organization_id,
        task=task,
        kwargs={**kwargs, "organization_id": organization_id},
        key=idempotency_key,
    )
    if idempotency_key:
        # A pending row with the same key already owes this work.
        OutboxMessage.objects.bulk_create([message], ignore_conflicts=True)
        written = Q(key=idempotency_key, dispatched_at__isnull=True)
    else:
        message.save(force_insert=True)
        written = Q(pk=message.pk)
    _publish_after_commit(organization_id, written)


def enqueue_many(
    task: str,
    *,
    organization: Organization | int,
    calls: Iterable[tuple[str, Mapping[str, Any]]],
) -> None:
    """``enqueue`` for several calls of ``task`` at once, each an idempotency key and
    its ``kwargs`` (a batch's chunks): one INSERT whatever their number. Keys must
    not be empty; a call whose key is pending already is left out, as ``enqueue``
    leaves it. Raises as ``enqueue``."""
    organization_id = _owing_organization(organization)
    messages = [
        OutboxMessage(
            organization_id=organization_id,
            task=task,
            kwargs={**kwargs, "organization_id": organization_id},
            key=key,
        )
        for key, kwargs in calls
    ]
    if not messages:
        return
    if any(not message.key for message in messages):
        raise ValueError("enqueue_many() needs an idempotency key for every call.")
    OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
    keys = [message.key for message in messages]
    _publish_after_commit(organization_id, Q(key__in=keys, dispatched_at__isnull=True))


def _owing_organization(organization: Organization | int) -> int:
    """The id of the organisation that owes work, after checking that the caller is
    inside a transaction and not in another organisation's scope."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError(
            "enqueue() must run inside a transaction, so the work is owed exactly when "
            "the change that causes it commits (wrap the change in transaction.atomic)."
        )
    organization_id = organization if isinstance(organization, int) else organization.pk
    scoped = current_organization_id()
    if scoped is not None and scoped != organization_id:
        raise ValueError("enqueue() for another organisation than the active one.")
    return organization_id


def enqueue_daily_everywhere(task: str) -> int:
    """Owe ``task`` once today in every organisation, each in its own tenant: what a
    daily beat job fans out. A second run the same day adds nothing while the first
    is still waiting (the key names the task and the day). Returns how many
    organisations. One transaction and one INSERT per organisation."""
    today = timezone.now().date().isoformat()
    organizations = list(Organization.objects.order_by("pk"))
    for organization in organizations:
        with tenant_context(organization):
            enqueue(task, organization=organization, idempotency_key=f"{task}:{today}")
    return len(organizations)


class _FastPath:
    """An on-commit callback that publishes the rows a transaction wrote (rows owed
    earlier are the catch-up pass's).

    One is registered per savepoint that enqueues (Django drops a rolled-back
    savepoint's callbacks, so one registered in a sibling savepoint cannot be reused);
    two callbacks of one transaction may name the same row: the second finds it
    published already.
    """

    def __init__(self, savepoints: tuple[str, ...]) -> None:
        self.savepoints = savepoints
        self.written: dict[int, Q] = {}
        self.started = False

    def add(self, organization_id: int, written: Q) -> None:
        earlier = self.written.get(organization_id)
        self.written[organization_id] = (
            written if earlier is None else earlier | written
        )

    def __call__(self) -> None:
        self.started = True
        for organization_id, written in sorted(self.written.items()):
            try:
                relay(organization_id=organization_id, only=written)
            except Exception:  # the catch-up pass will publish them
                logger.warning(
                    "Outbox fast path failed for organisation %s; the relay will retry",
                    organization_id,
                    exc_info=True,
                )


# The newest fast-path callback of each connection, held weakly: Django's list of
# on-commit callbacks holds the only strong reference, so a rollback that drops the
# callback drops the entry too.
_fast_paths: weakref.WeakValueDictionary[int, _FastPath] = weakref.WeakValueDictionary()


def _publish_after_commit(organization_id: int, written: Q) -> None:
    conn = transaction.get_connection()
    savepoints = tuple(conn.savepoint_ids)
    pending = _fast_paths.get(id(conn))
    if (
        pending is None
        or pending.started
        or savepoints[: len(pending.savepoints)] != pending.savepoints
    ):
        # None registered yet, or not in this savepoint or one enclosing it.
        pending = _FastPath(savepoints)
        _fast_paths[id(conn)] = pending
        transaction.on_commit(pending)
    pending.add(organization_id, written)


# --- Relaying -------------------------------------------------------------------------


def due(now: Any = None) -> QuerySet[OutboxMessage]:
    """Rows to publish now: not completed, not failed, their time come."""
    now = now or timezone.now()
    return OutboxMessage.all_organizations.filter(
        completed_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now
    )


def relay(
    *,
    organization_id: int | None = None,
    only: Q | None = None,
    limit: int = RELAY_BATCH,
) -> int:
    """Publish due outbox rows to Celery: the rows ``only`` selects of one organisation
    (the fast path), or every organisation's (the catch-up pass). Returns how many
    were published.

    Runs in one transaction that locks the rows it takes (``SKIP LOCKED``: two relays at
    once take different rows, and a row whose task is running is left alone), publishes
    each, then records the publication: ``attempts`` + 1 and the time after which an
    uncompleted row is published again. A crash between publishing and recording
    rolls the recording back, so the row is published again; the task's own check
    makes the second delivery a no-op. A broker error stops the pass and leaves the
    rest due in ``PUBLISH_RETRY_AFTER``. Rows past ``OUTBOX_MAX_ATTEMPTS`` are marked
    failed instead of published.

    Cost: 3 queries (setting, lock, update) plus one per failed row.
    """
    if organization_id is not None:
        organization = Organization.objects.get(pk=organization_id)
        rows = due().filter(organization_id=organization_id)
        if only is not None:
            rows = rows.filter(only)
        with tenant_context(organization):
            return _relay_locked(rows, limit)
    with transaction.atomic():
        _enter_relay()
        return _relay_locked(due(), limit)


def _enter_relay() -> None:
    """Let this transaction read every organisation's outbox rows (and nothing else)."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [RELAY_SETTING])


def _relay_locked(rows: QuerySet[OutboxMessage], limit: int) -> int:
    skip_locked = connection.features.has_select_for_update_skip_locked
    messages = list(
        rows.order_by("pk").select_for_update(skip_locked=skip_locked)[:limit]
    )
    now = timezone.now()
    published: list[int] = []
    failures: dict[int, str] = {}
    broker_error: Exception | None = None
    for message in messages:
        if message.attempts >= max_attempts():
            _mark_failed(message, now)
            continue
        try:
            _publish(message)
        except Exception as exc:  # noqa: BLE001 - the broker, or an eager task
            if not current_app.conf.task_always_eager or _is_broker_error(exc):
                broker_error = exc
                break
            # A task run eagerly (make run, tests) was delivered and failed, as a
            # worker's run would.
            failures[message.pk] = describe_exception(exc)
        published.append(message.pk)
    if published:
        _record_publications(published, now)
    for pk, error in failures.items():
        OutboxMessage.all_organizations.filter(pk=pk).update(last_error=error[:1000])
    if broker_error is not None:
        waiting = [
            m.pk
            for m in messages
            if m.pk not in published and m.attempts < max_attempts()
        ]
        OutboxMessage.all_organizations.filter(pk__in=waiting).update(
            next_attempt_at=now + PUBLISH_RETRY_AFTER,
            last_error=describe_exception(broker_error)[:1000],
        )
        logger.warning("Outbox relay: broker unavailable (%s)", broker_error)
    return len(published)


def _publish(message: OutboxMessage) -> None:
    """Send one row's task to the broker (or run it, when tasks run eagerly)."""
    if message.task not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    task = current_app.tasks[message.task]
    # retry=False: a broker that is down fails at once; the relay retries later.
    task.apply_async(kwargs={**message.kwargs, "outbox_id": message.pk}, retry=False)


def _record_publications(ids: Iterable[int], now: Any) -> None:
    """Published: one more attempt, and republished if not completed by then."""
    base = redeliver_after()
    # The delay doubles with each attempt; rows of one pass share their attempt count
    # rarely enough that one UPDATE per distinct count is cheap.
    by_attempts: dict[int, list[int]] = {}
    for pk, attempts in OutboxMessage.all_organizations.filter(
        pk__in=list(ids)
    ).values_list("pk", "attempts"):
        by_attempts.setdefault(attempts, []).append(pk)
    for attempts, pks in by_attempts.items():
        wait = min(base * (2**attempts), MAX_REDELIVER_AFTER)
        OutboxMessage.all_organizations.filter(pk__in=pks).update(
            attempts=F("attempts") + 1,
            dispatched_at=now,
            next_attempt_at=now + wait,
        )


def _mark_failed(message: OutboxMessage, now: Any) -> None:
    OutboxMessage.all_organizations.filter(pk=message.pk).update(failed_at=now)
    logger.error(
        "Outbox row %s (%s) failed after %s attempts: %s",
        message.pk,
        message.task,
        message.attempts,
        message.last_error,
    )


def _is_broker_error(exc: Exception) -> bool:
    """Whether publishing failed because the broker could not be reached."""
    return isinstance(exc, (KombuOperationalError, ConnectionError, OSError))


# --- The consumer's side ----------------------------------------------------------------


def claim(outbox_id: int) -> bool:
    """Inside the task's transaction: lock the row and say whether its work is still
    owed. False when it is completed already (a duplicate delivery) or gone (pruned).
    A second delivery running at the same time waits here for the first. One query."""
    return (
        OutboxMessage.objects.select_for_update()
        .filter(pk=outbox_id, completed_at__isnull=True)
        .exists()
    )


def complete(outbox_id: int) -> None:
    """Inside the task's transaction, after its effect: the work is done. One query."""
    OutboxMessage.objects.filter(pk=outbox_id).update(
        completed_at=timezone.now(), last_error=""
    )


def record_failure(
    organization: Organization, outbox_id: int, exc: BaseException
) -> None:
    """After a task failed (its transaction rolled back): keep the error on the row for
    HR and the consistency check. Best effort: the database may be what failed."""
    try:
        with tenant_context(organization):
            OutboxMessage.objects.filter(pk=outbox_id).update(
                last_error=describe_exception(exc)[:1000]
            )
    except Exception:  # noqa: BLE001
        logger.warning("Could not record the failure of outbox row %s", outbox_id)


# --- Operating it -----------------------------------------------------------------------


def retry_failed(
    *, organization: Organization, ids: Iterable[int] | None = None
) -> int:
    """Give failed rows of ``organization`` (all, or ``ids``) a fresh set of attempts;
    they are published at once after commit. Returns how many."""
    chosen = None if ids is None else list(ids)
    with tenant_context(organization):
        rows = OutboxMessage.objects.filter(
            failed_at__isnull=False, completed_at__isnull=True
        )
        if chosen is not None:
            rows = rows.filter(pk__in=chosen)
        count = rows.update(
            failed_at=None, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        if count:
            _publish_after_commit(
                organization.pk, Q(pk__in=chosen) if chosen is not None else Q()
            )
    return count


def prune(*, older_than: timedelta | None = None) -> int:
    """Delete completed rows older than ``older_than`` (``OUTBOX_KEEP_COMPLETED``, 14
    days): the e-mail ledger and each task's own records keep the lasting facts."""
    keep = older_than or timedelta(
        days=int(getattr(settings, "OUTBOX_KEEP_COMPLETED_DAYS", 14))
    )
    with transaction.atomic():
        _enter_relay()
        deleted, _ = OutboxMessage.all_organizations.filter(
            completed_at__lt=timezone.now() - keep
        ).delete()
    return deleted


def backlog_filter() -> Q:
    """Rows still owed (pending, dispatched or failed)."""
    return Q(completed_at__isnull=True)
