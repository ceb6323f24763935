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

**Delivering** (``deliver``, the delivery task): creates the e-mail rows of the
recipients who still receive it (active members and users, not unsubscribed) and
owes one send task per e-mail. **Sending** (``send_email``): locks the e-mail row,
returns if it was sent or skipped already, composes it for that recipient
(``reporting.mailing``: their own access; nothing for them → skipped with the
reason), stores the PDF, sends it and marks it sent in the same transaction, which
commits right after the SMTP server accepted the message. The Message-ID is fixed
per e-mail row.

**Retries.** An SMTP failure (refused, dropped, a 4xx/5xx answer) rolls the send
back and is recorded on the e-mail (failed, with the reason and the attempt) and on
the delivery (queued, "retrying: ..."), in a transaction of its own; the outbox row
stays owed, so the outbox relay publishes the send again with its backoff
(``OUTBOX_REDELIVER_AFTER`` seconds, doubling per attempt, at most an hour). A send
that fails ``OUTBOX_MAX_ATTEMPTS`` times marks the delivery failed with the reason
and completes its outbox row. Celery's own retry is not used for SMTP failures (one
backoff, kept in the database, survives a Redis restart). Exactly once: an e-mail
marked sent is never sent again; the one window left is a crash between the SMTP
server's acceptance and the commit (milliseconds), after which the e-mail is sent
again with the same Message-ID.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from organizations import outbox
from organizations.errors import describe_exception
from organizations.models import Membership, Organization
from organizations.outbox import enqueue
from organizations.tenancy import DISPATCH_SETTING, is_postgresql, tenant_context
from reporting.enums import (
    DeliveryStatus,
    EmailStatus,
    FileFormat,
    Frequency,
    JobStatus,
    SubscriptionKind,
)
from reporting.mailing import (
    APPRAISAL_PERIOD,
    NotAvailable,
    ReportMessage,
    absolute,
    appraisal_period,
    build,
    latest_finalised,
)
from reporting.models import (
    ReportDelivery,
    ReportEmail,
    ReportJob,
    ReportRecipient,
    ReportSubscription,
)
from reporting.schedule import SCHEDULED, next_run_at, period_key

logger = logging.getLogger(__name__)

DISPATCH_DUE_TASK = "reporting.dispatch_due_reports"
DELIVER_REPORT_TASK = "reporting.deliver_report"
SEND_REPORT_EMAIL_TASK = "reporting.send_report_email"
# A PDF larger than this (bytes) is not attached: the e-mail links to a report job
# holding it (``REPORT_EMAIL_MAX_ATTACHMENT``).
MAX_ATTACHMENT = 5 * 1024 * 1024
# Missed runs of one subscription looked through to find the latest one due (a
# dispatcher that was down for longer sends the latest period once).
MAX_MISSED_RUNS = 1000


class EmailNotSent(Exception):
    """Sending one report e-mail failed; ``reason`` is fit for the delivery page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def max_attachment() -> int:
    return int(getattr(settings, "REPORT_EMAIL_MAX_ATTACHMENT", MAX_ATTACHMENT))


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


# --- Delivering ------------------------------------------------------------------------


def receiving(subscription: ReportSubscription) -> Any:
    """The recipients of ``subscription`` who still receive it: not unsubscribed,
    an active membership of an active user. A queryset (no query)."""
    return ReportRecipient.objects.filter(
        subscription=subscription,
        unsubscribed_at__isnull=True,
        membership__is_active=True,
        membership__user__is_active=True,
    )


def deliver(*, organization: Organization, delivery_id: int) -> int:
    """The delivery task's body: create the e-mail of every recipient who still
    receives the subscription (a my-appraisal delivery: only the appraisal's
    employee) and owe one send task per e-mail not sent yet. A delivery nobody
    receives is finished as "nothing to send". Returns how many sends were owed;
    0 for a delivery missing or finished. Inside the tenant context (the task's
    transaction); five queries plus one per e-mail."""
    delivery = (
        ReportDelivery.objects.select_for_update(of=("self",))
        .select_related("subscription")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != DeliveryStatus.QUEUED:
        return 0
    recipients = receiving(delivery.subscription).select_related("membership__user")
    about = APPRAISAL_PERIOD.fullmatch(delivery.period)
    if about:
        # Only the employee whose appraisal it is.
        recipients = recipients.filter(
            membership__user__employee_records__appraisals__pk=int(about["appraisal"])
        )
    ReportEmail.objects.bulk_create(
        [
            ReportEmail(
                organization=organization,
                delivery=delivery,
                recipient=r.membership,
                address=r.membership.user.email,
            )
            for r in recipients
        ],
        ignore_conflicts=True,
    )
    pending = list(
        ReportEmail.objects.filter(
            delivery=delivery, status__in=[EmailStatus.QUEUED, EmailStatus.FAILED]
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for email_id in pending:
        enqueue(
            SEND_REPORT_EMAIL_TASK,
            organization=organization,
            idempotency_key=f"report-email:{email_id}",
            email_id=email_id,
        )
    if not pending:
        settle(delivery)
    return len(pending)


def send_email(*, organization: Organization, email_id: int) -> str | None:
    """The send task's body: send one recipient's e-mail unless it was sent or
    skipped already (its row is locked, so a concurrent duplicate waits and then
    finds it sent). Skipped with the reason when the recipient no longer receives
    the report or may no longer have it. Raises EmailNotSent when the SMTP server
    refuses or cannot be reached (the caller records it and the outbox retries).
    Returns the e-mail's status; None for an e-mail that does not exist."""
    email = (
        ReportEmail.objects.select_for_update(of=("self",))
        .select_related("delivery__subscription__organization", "recipient__user")
        .filter(pk=email_id)
        .first()
    )
    if email is None:
        return None
    if email.status in (EmailStatus.SENT, EmailStatus.SKIPPED):
        return str(email.status)
    delivery = email.delivery
    subscription = delivery.subscription
    email.attempts += 1
    try:
        if not receiving(subscription).filter(membership=email.recipient).exists():
            raise NotAvailable(
                _("The recipient unsubscribed or left the organisation.")
            )
        message = build(subscription, email.recipient, period=delivery.period)
    except NotAvailable as refused:
        email.status = EmailStatus.SKIPPED
        email.error = refused.reason
        email.save(update_fields=["status", "error", "attempts"])
        settle(delivery)
        return str(email.status)
    if message.pdf is not None and len(message.pdf) > max_attachment():
        message = message.linking(_file_job(organization, email, message))
    if message.pdf is not None:
        email.file.save(message.pdf_name, ContentFile(message.pdf), save=False)
    email.address = email.recipient.user.email
    email.message_id = message_id(organization, email)
    # Every lock the commit needs is taken before the SMTP server accepts the
    # message (the e-mail's above, the delivery's here), so nothing between its
    # acceptance and the commit waits: a crash there is a matter of milliseconds.
    ReportDelivery.objects.select_for_update().get(pk=delivery.pk)
    try:
        _email(message, email).send()
    except (smtplib.SMTPException, OSError) as exc:
        if email.file.name:
            email.file.storage.delete(email.file.name)
        raise EmailNotSent(describe_exception(exc)) from exc
    email.status = EmailStatus.SENT
    email.sent_at = timezone.now()
    email.error = ""
    email.save()
    settle(delivery)
    return str(email.status)


def message_id(organization: Organization, email: ReportEmail) -> str:
    """The Message-ID of ``email``: the same for every attempt, so a message sent
    twice (a crash right after the SMTP server accepted it) reads as one."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<report-{organization.pk}-{email.pk}@{domain}>"


def _email(message: ReportMessage, email: ReportEmail) -> EmailMultiAlternatives:
    headers = {"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"}
    if message.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.address],
        headers=headers,
    )
    mail.attach_alternative(message.html, "text/html")
    if message.pdf is not None:
        mail.attach(message.pdf_name, message.pdf, "application/pdf")
    return mail


def _file_job(
    organization: Organization, email: ReportEmail, message: ReportMessage
) -> str:
    """A finished report job of the recipient's holding a PDF too large to attach
    (its page and download check access again; it expires with the organisation's
    retention period). Returns the absolute link to its page."""
    now = timezone.now()
    job = ReportJob(
        organization=organization,
        kind=message.document_kind,
        parameters=dict(message.document_params),
        file_format=FileFormat.PDF,
        requested_by_id=email.recipient.user_id,
        status=JobStatus.DONE,
        progress=100,
        row_count=1,
        created_at=now,
        finished_at=now,
        expires_at=now + timedelta(days=organization.report_retention_days),
    )
    job.file.save(message.pdf_name, ContentFile(message.pdf or b""), save=False)
    job.save()
    return absolute(reverse("reporting:job_detail", args=[organization.slug, job.pk]))


def record_send_failure(
    *, organization: Organization, email_id: int, outbox_id: int | None, reason: str
) -> bool:
    """After a send failed and rolled back: record it on the e-mail (failed, the
    reason, one more attempt) and on its delivery, in a transaction of its own.
    Returns True when that was the last attempt (``OUTBOX_MAX_ATTEMPTS``): the
    delivery is then failed with the reason, and the send's outbox row completed so
    that it is not published again; False while the outbox will retry it."""
    with tenant_context(organization):
        email = (
            ReportEmail.objects.select_for_update(of=("self",))
            .select_related("delivery")
            .filter(pk=email_id)
            .first()
        )
        if email is None or email.status in (EmailStatus.SENT, EmailStatus.SKIPPED):
            return True
        email.attempts += 1
        email.status = EmailStatus.FAILED
        email.error = reason[:1000]
        email.save(update_fields=["attempts", "status", "error"])
        last = email.attempts >= outbox.max_attempts()
        delivery = ReportDelivery.objects.select_for_update().get(pk=email.delivery_id)
        delivery.attempts = max(delivery.attempts, email.attempts)
        facts = {
            "address": email.address,
            "attempts": email.attempts,
            "most": outbox.max_attempts(),
            "reason": reason,
        }
        if last:
            delivery.status = DeliveryStatus.FAILED
            delivery.error = (
                _("Not sent to %(address)s after %(attempts)s attempts: %(reason)s")
                % facts
            )[:1000]
            delivery.finished_at = timezone.now()
            if outbox_id is not None:
                outbox.complete(outbox_id)
        else:
            delivery.error = (
                _(
                    "Sending to %(address)s failed (attempt %(attempts)s of "
                    "%(most)s), retrying: %(reason)s"
                )
                % facts
            )[:1000]
        delivery.save(update_fields=["attempts", "status", "error", "finished_at"])
    return last


def settle(delivery: ReportDelivery) -> str:
    """The delivery's status from its e-mails': sent once every one is sent or
    skipped (at least one sent), "nothing to send" when none was sent (the first
    reason kept); unchanged while one is queued or failed (retrying, or failed for
    good: ``record_send_failure`` failed the delivery then). Locks the delivery row.
    Two queries."""
    locked = ReportDelivery.objects.select_for_update().get(pk=delivery.pk)
    emails = list(
        ReportEmail.objects.filter(delivery=locked)
        .order_by("pk")
        .values_list("status", "attempts", "error")
    )
    statuses = Counter(status for status, _attempts, _error in emails)
    if statuses[EmailStatus.QUEUED] or statuses[EmailStatus.FAILED]:
        return str(locked.status)
    if statuses[EmailStatus.SENT]:
        locked.status = DeliveryStatus.SENT
        locked.error = ""
    else:
        locked.status = DeliveryStatus.SKIPPED
        reasons = [error for _status, _attempts, error in emails if error]
        locked.error = (
            reasons[0] if reasons else _("Nobody receives this report any more.")
        )
    locked.attempts = max([locked.attempts, *(a for _s, a, _e in emails)])
    locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "error", "attempts", "finished_at"])
    delivery.status = locked.status
    return str(locked.status)
