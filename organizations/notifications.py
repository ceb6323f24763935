"""Notification e-mails: owed through the outbox, sent at most once per event.

Every app sends through ``queue_email``. The Celery task renders the template in the
organisation's language, checks the recipient still belongs to the organisation and
wants optional e-mail, and records the send in the ``SentEmail`` ledger under ``key``
inside the same transaction, so a task delivered twice sends once. ``key`` must name
the event and the recipient, e.g. ``f"feedback.shared:{feedback.pk}:{user.pk}"``.

Templates are plain text; the first line is the subject. Contexts hold plain values
(strings, numbers) because they travel through the broker; ``path`` (a site-relative
URL) becomes ``link`` (absolute) at delivery.
"""

from __future__ import annotations

from typing import Any

from organizations.models import Organization, User
from organizations.outbox import enqueue

DELIVER_EMAIL_TASK = "organizations.tasks.deliver_email"


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
    commits, through the outbox (one INSERT; must run inside a transaction). Optional (non-essential) e-mails are skipped for users who opted out."""
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
