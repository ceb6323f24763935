"""Scheduled report e-mails: delivering and sending what ``reporting.dispatch``
queued (the ledger is described there).

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
import smtplib
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations import outbox
from organizations.errors import describe_exception
from organizations.models import Organization
from organizations.outbox import enqueue
from organizations.tenancy import tenant_context
from reporting.dispatch import receiving
from reporting.enums import (
    DeliveryStatus,
    EmailStatus,
    FileFormat,
    JobStatus,
)
from reporting.mailing import (
    APPRAISAL_PERIOD,
    NotAvailable,
    ReportMessage,
    absolute,
    build,
)
from reporting.models import (
    ReportDelivery,
    ReportEmail,
    ReportJob,
)

logger = logging.getLogger(__name__)

SEND_REPORT_EMAIL_TASK = "reporting.send_report_email"
# A PDF larger than this (bytes) is not attached: the e-mail links to a report job
# holding it (``REPORT_EMAIL_MAX_ATTACHMENT``).
MAX_ATTACHMENT = 5 * 1024 * 1024


class EmailNotSent(Exception):
    """Sending one report e-mail failed; ``reason`` is fit for the delivery page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def max_attachment() -> int:
    return int(getattr(settings, "REPORT_EMAIL_MAX_ATTACHMENT", MAX_ATTACHMENT))


# --- Delivering ------------------------------------------------------------------------


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
