"""Notification e-mails: owed through the outbox, sent at most once per event.

Every app sends through ``queue_email``. The Celery task renders the template in the
recipient's language (``User.language_in``), checks the recipient still belongs to the organisation and
wants optional e-mail, and records the send in the ``SentEmail`` ledger under ``key``
inside the same transaction, so a task delivered twice sends once. ``key`` must name
the event and the recipient, e.g. ``f"feedback.shared:{feedback.pk}:{user.pk}"``.

Templates are plain text; the first line is the subject. Contexts hold plain values
(strings, numbers) because they travel through the broker; ``path`` (a site-relative
URL) becomes ``link`` (absolute) at delivery.

The same call writes the in-app ``Notification`` (same transaction, same key) for an
event named in ``EVENT_KINDS`` with a ``path``, unless the recipient switched that kind
off in-app. Callers choose recipients who may open ``path``; a notification only links
there, so the target page's own gate still decides what its reader sees.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone, translation

from organizations.enums import NotificationKind
from organizations.models import Notification, Organization, User
from organizations.outbox import enqueue

DELIVER_EMAIL_TASK = "organizations.tasks.deliver_email"

# The event (a key's part before the first ":") → the kind of in-app notification it
# creates. Events not named here (client surveys, invitations, reports) create none.
EVENT_KINDS: dict[str, NotificationKind] = {
    "evaluation.assigned": NotificationKind.ASSIGNED,
    "evaluation.submitted": NotificationKind.SUBMITTED,
    "evaluation.returned": NotificationKind.RETURNED,
    "appraisal.finalised": NotificationKind.FINALISED,
    "appraisal.reminder": NotificationKind.REMINDER,
    "feedback.shared": NotificationKind.FEEDBACK_RECEIVED,
    "feedback.request_asked": NotificationKind.REQUEST_ASKED,
    "feedback.request_cancelled": NotificationKind.REQUEST_ASKED,
    "feedback.request_answered": NotificationKind.REQUEST_ANSWERED,
    "feedback.request_declined": NotificationKind.REQUEST_ANSWERED,
    "feedback.request_ready": NotificationKind.REQUEST_ANSWERED,
    "feedback.reminder": NotificationKind.REMINDER,
}


def queue_email(
    *,
    organization: Organization,
    key: str,
    template: str,
    context: dict[str, Any],
    user: User | None = None,
    address: str = "",
    essential: bool = False,
) -> None:
    """Send ``template`` to ``user`` (or to a bare ``address``) once the transaction
    commits, through the outbox (one INSERT; must run inside a transaction). Optional
    (non-essential) e-mails are skipped for users who opted out at delivery.

    For a ``user`` and an event of ``EVENT_KINDS``, also writes the in-app
    notification (``notify``: one more INSERT, none for a repeated key)."""
    if user is None and not address:
        raise ValueError("An e-mail needs a user or an address.")
    kwargs = {
        "key": key,
        "template": template,
        "context": context,
        "user_id": user.pk if user is not None else None,
        "address": address,
        "essential": essential,
    }
    enqueue(
        DELIVER_EMAIL_TASK,
        organization=organization,
        idempotency_key=f"email:{key}",
        **kwargs,
    )
    if user is not None:
        notify(
            organization=organization,
            key=key,
            template=template,
            context=context,
            user=user,
        )


def notify(
    *,
    organization: Organization,
    key: str,
    template: str,
    context: dict[str, Any],
    user: User,
) -> None:
    """Write ``user``'s in-app notification of the event ``key`` in the current
    transaction, titled with the e-mail's subject line and linking to
    ``context["path"]``. Nothing for an event outside ``EVENT_KINDS``, without a
    path, for an inactive user, for a kind the user switched off in-app, or when
    ``key`` already notified ``user``. One INSERT (``ON CONFLICT DO NOTHING``)."""
    kind = EVENT_KINDS.get(key.partition(":")[0])
    path = str(context.get("path", ""))
    if (
        kind is None
        or not path
        or not user.is_active
        or kind in user.muted_notification_kinds
    ):
        return
    full = {
        **context,
        "organization_name": organization.name,
        "site_url": settings.SITE_URL.rstrip("/"),
        "link": settings.SITE_URL.rstrip("/") + path,
    }
    # The language the e-mail goes out in (organizations.tasks.deliver_email).
    with translation.override(user.language_in(organization)):
        subject = render_to_string(template, full).strip().partition("\n")[0]
    Notification.objects.bulk_create(
        [
            Notification(
                organization=organization,
                recipient=user,
                kind=kind,
                key=key,
                title=subject.strip()[:300],
                path=path,
            )
        ],
        ignore_conflicts=True,
    )


# --- Reading and marking (the current organisation's scope) -----------------------

BADGE_LIMIT = 9


def notifications_for(user: User) -> QuerySet[Notification]:
    """``user``'s notifications in the active organisation, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def get_notification_for(user: User, pk: int) -> Notification:
    """``user``'s notification ``pk`` in the active organisation; ``Http404`` for
    anyone else's or another organisation's. One query."""
    return get_object_or_404(notifications_for(user), pk=pk)


def unread_badge(user: User) -> str:
    """The bell's label: "" when nothing is unread, else the count, "9+" past nine.
    One indexed query that counts at most ten rows."""
    count = (
        Notification.objects.filter(recipient=user, read_at__isnull=True)
        .order_by()[: BADGE_LIMIT + 1]
        .count()
    )
    if count > BADGE_LIMIT:
        return f"{BADGE_LIMIT}+"
    return str(count) if count else ""


def mark_read(*, notification: Notification) -> None:
    """Mark one notification read (once: a read one keeps its first time). One
    UPDATE."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )


def mark_all_read(*, user: User) -> int:
    """Mark every unread notification of ``user`` in the active organisation read.
    Returns how many. One UPDATE."""
    return (
        notifications_for(user)
        .filter(read_at__isnull=True)
        .update(read_at=timezone.now())
    )


def receives_email(user: User | None, *, member: bool, essential: bool) -> bool:
    """Whether ``organizations.tasks.deliver_email`` sends a notification to ``user``:
    an active user who is an active member of the organisation, and the e-mail
    essential or the user's optional e-mails on. Pure (no query)."""
    return (
        user is not None
        and user.is_active
        and member
        and (essential or user.optional_emails)
    )
