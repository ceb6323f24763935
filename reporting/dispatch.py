"""Scheduled report e-mails: finding what is due, queueing deliveries, sending.

**The ledger.** A ``ReportDelivery`` is one period of a subscription (a week, a
month, a cycle's move, one appraisal, one press of "send now"), unique per
(subscription, period); a ``ReportEmail`` is one recipient's e-mail of it, unique
per (delivery, recipient). Whatever runs twice (beat firing twice, two dispatchers,
a redelivered or retried task), the database keys make a period deliver once and a
recipient's e-mail go out once.

**Dispatching** (``dispatch_due``, beat every five minutes): one query across
organisations finds the active subscriptions due (``next_run_at`` passed), in a
transaction that alone may read every organisation's subscriptions (the setting
``app.report_dispatch``, which the policy of that table and no other admits:
``organizations.tenancy.CROSS_TENANT_TABLES``). Then, per organisation, inside its
tenant context: the due subscriptions are locked (``SKIP LOCKED``: an overlapping
dispatcher leaves them to this one), their deliveries inserted with
``ON CONFLICT DO NOTHING``, one delivery task owed through the outbox per delivery
inserted now, and ``next_run_at`` moved on. A cycle's move (``cycle_status_changed``)
queues the deliveries of the subscriptions following it in the move's transaction;
``send_now`` one delivery of a period of its own.

The deliveries are sent by ``reporting.sending``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from organizations.models import Membership, Organization
from organizations.outbox import enqueue
from organizations.tenancy import DISPATCH_SETTING, is_postgresql, tenant_context
from reporting.enums import (
    Frequency,
    SubscriptionKind,
)
from reporting.mailing import (
    appraisal_period,
    latest_finalised,
)
from reporting.models import (
    ReportDelivery,
    ReportRecipient,
    ReportSubscription,
)
from reporting.schedule import SCHEDULED, next_run_at, period_key

logger = logging.getLogger(__name__)

DISPATCH_DUE_TASK = "reporting.dispatch_due_reports"
DELIVER_REPORT_TASK = "reporting.deliver_report"
# Missed runs of one subscription looked through to find the latest one due (a
# dispatcher that was down for longer sends the latest period once).
MAX_MISSED_RUNS = 1000


# --- Finding what is due ---------------------------------------------------------------


def dispatch_due(now: datetime | None = None) -> int:
    """Queue a delivery of every active subscription whose ``next_run_at`` has
    passed, in every organisation, and move its next run on. Returns how many
    deliveries were created (0 for periods queued already: a second run, or two
    dispatchers at once, create nothing more).

    One query across organisations (in a transaction of its own that reads every
    organisation's subscriptions and nothing else), one for their organisations,
    then per organisation one transaction: lock, read the existing deliveries,
    insert, read back, update the subscriptions, and one outbox row per delivery.
    An organisation whose pass fails is logged and retried by the next run; the
    others go on."""
    now = now or timezone.now()
    due = _due_everywhere(now)
    organizations = Organization.objects.in_bulk({org_id for org_id, _pk in due})
    created = 0
    failures: list[Exception] = []
    for org_id, organization in sorted(organizations.items()):
        ids = [pk for owner, pk in due if owner == org_id]
        try:
            created += _dispatch_in(organization, ids, now)
        except Exception as exc:  # one organisation must not stop the rest
            logger.exception("Report dispatch failed in organisation %s", org_id)
            failures.append(exc)
    if failures:
        raise failures[0]
    return created


def _due_everywhere(now: datetime) -> list[tuple[int, int]]:
    """(organisation id, subscription id) of every subscription due, across
    organisations. One query, plus the setting's two."""
    with transaction.atomic():
        _set_dispatch("on")
        with scopes_disabled():
            due = list(
                ReportSubscription.objects.filter(is_active=True, next_run_at__lte=now)
                .order_by("organization_id", "pk")
                .values_list("organization_id", "pk")
            )
        # Off again at once: within a test's transaction (or any caller's) nothing
        # after this read may see other organisations' subscriptions.
        _set_dispatch("")
    return due


def _set_dispatch(value: str) -> None:
    """Let this transaction read every organisation's report subscriptions (and
    nothing else of theirs), or stop it (``""``). PostgreSQL only."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [DISPATCH_SETTING, value])


def _dispatch_in(organization: Organization, ids: list[int], now: datetime) -> int:
    zone = ZoneInfo(organization.timezone)
    with tenant_context(organization):
        skip_locked = connection.features.has_select_for_update_skip_locked
        subscriptions = list(
            ReportSubscription.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk__in=ids, is_active=True, next_run_at__lte=now)
            .order_by("pk")
        )
        planned: list[ReportDelivery] = []
        for subscription in subscriptions:
            due_at = _latest_due(subscription, now, zone)
            if subscription.frequency not in SCHEDULED:
                pass  # a stale next run: only a cycle's move sends these
            elif subscription.kind == SubscriptionKind.MY_APPRAISAL:
                planned += _appraisal_deliveries(subscription, due_at)
            else:
                period = period_key(subscription, due_at.astimezone(zone))
                planned.append(_delivery(subscription, period, due_at))
            subscription.last_run_at = now
            subscription.next_run_at = next_run_at(subscription, after=now, zone=zone)
        ReportSubscription.objects.bulk_update(
            subscriptions, ["last_run_at", "next_run_at"]
        )
        return len(queue_deliveries(organization, planned))


def _latest_due(
    subscription: ReportSubscription, now: datetime, zone: ZoneInfo
) -> datetime:
    """The latest run of ``subscription`` at or before ``now`` from its stored next
    run on: its period is the one delivered (missed earlier runs are not sent one by
    one)."""
    due_at = subscription.next_run_at or now  # never None: the query wants it set
    for _missed in range(MAX_MISSED_RUNS):
        following = next_run_at(subscription, after=due_at, zone=zone)
        if following is None or following > now:
            break
        due_at = following
    return due_at


def _delivery(
    subscription: ReportSubscription,
    period: str,
    due_at: datetime,
    requested_by: int | None = None,
) -> ReportDelivery:
    return ReportDelivery(
        organization_id=subscription.organization_id,
        subscription=subscription,
        period=period,
        due_at=due_at,
        requested_by_id=requested_by,
    )


def _appraisal_deliveries(
    subscription: ReportSubscription, due_at: datetime
) -> list[ReportDelivery]:
    """A my-appraisal subscription's deliveries: one per recipient's latest
    finalised appraisal (its period names the appraisal, so each is sent once;
    none for a recipient without a new one). Two queries."""
    users = list(receiving(subscription).values_list("membership__user_id", flat=True))
    return [
        _delivery(subscription, appraisal_period(appraisal), due_at)
        for appraisal in latest_finalised(users).values()
    ]


def queue_deliveries(
    organization: Organization, planned: Iterable[ReportDelivery]
) -> list[ReportDelivery]:
    """Insert ``planned`` deliveries, leaving out periods that exist already
    (``ON CONFLICT DO NOTHING`` on the (subscription, period) key), and owe one
    delivery task per delivery inserted now (through the outbox, keyed by the
    delivery). Returns the deliveries inserted. Inside the organisation's tenant
    context; four queries, plus one per delivery inserted."""
    planned = list(planned)
    if not planned:
        return []
    subscriptions = {d.subscription_id for d in planned}
    periods = {d.period for d in planned}
    wanted = {(d.subscription_id, d.period) for d in planned}

    def existing() -> dict[tuple[int, str], ReportDelivery]:
        return {
            (d.subscription_id, d.period): d
            for d in ReportDelivery.objects.filter(
                subscription_id__in=subscriptions, period__in=periods
            )
            if (d.subscription_id, d.period) in wanted
        }

    before = existing()
    ReportDelivery.objects.bulk_create(planned, ignore_conflicts=True)
    inserted = [d for key, d in sorted(existing().items()) if key not in before]
    for delivery in inserted:
        enqueue(
            DELIVER_REPORT_TASK,
            organization=organization,
            idempotency_key=f"report-delivery:{delivery.pk}",
            delivery_id=delivery.pk,
        )
    return inserted


def send_now(*, actor: Membership, subscription: ReportSubscription) -> ReportDelivery:
    """Deliver ``subscription`` now, whatever its schedule ("send now"): a delivery
    of a period of its own, requested by ``actor``, owed through the outbox (sent
    at once where tasks run eagerly: ``make run``). The caller has checked that the
    actor may manage the subscription. Its "last sent" becomes now; its next
    scheduled run stays. Four queries."""
    if subscription.organization_id != actor.organization_id:
        raise ValueError("send_now() for another organisation's subscription.")
    now = timezone.now()
    period = f"now-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    with transaction.atomic():
        delivery = _delivery(subscription, period, now, requested_by=actor.user_id)
        delivery.save(force_insert=True)
        ReportSubscription.objects.filter(pk=subscription.pk).update(last_run_at=now)
        subscription.last_run_at = now
        enqueue(
            DELIVER_REPORT_TASK,
            organization=subscription.organization_id,
            idempotency_key=f"report-delivery:{delivery.pk}",
            delivery_id=delivery.pk,
        )
    return delivery


def queue_cycle_event(sender: Any, cycle: Any, to_status: str, **kwargs: Any) -> None:
    """``engagements.signals.cycle_status_changed`` receiver: queue a delivery of
    every active subscription following this move (period ``cycle-<id>-<status>``;
    my-appraisal ones per appraisal), in the move's transaction, so a rolled-back
    move queues nothing. Subscriptions naming another cycle are left out. One query
    when nothing follows the move."""
    subscriptions = [
        s
        for s in ReportSubscription.objects.filter(
            is_active=True, frequency=Frequency.CYCLE_EVENT, cycle_event=to_status
        ).select_related("organization")
        if (s.filters or {}).get("cycle") in (None, "", cycle.pk, str(cycle.pk))
    ]
    if not subscriptions:
        return
    now = timezone.now()
    planned: list[ReportDelivery] = []
    for subscription in subscriptions:
        if subscription.kind == SubscriptionKind.MY_APPRAISAL:
            planned += _appraisal_deliveries(subscription, now)
        else:
            period = f"cycle-{cycle.pk}-{to_status}"
            planned.append(_delivery(subscription, period, now))
    ReportSubscription.objects.filter(pk__in=[s.pk for s in subscriptions]).update(
        last_run_at=now
    )
    queue_deliveries(subscriptions[0].organization, planned)


def receiving(subscription: ReportSubscription) -> Any:
    """The recipients of ``subscription`` who still receive it: not unsubscribed,
    an active membership of an active user. A queryset (no query)."""
    return ReportRecipient.objects.filter(
        subscription=subscription,
        unsubscribed_at__isnull=True,
        membership__is_active=True,
        membership__user__is_active=True,
    )
