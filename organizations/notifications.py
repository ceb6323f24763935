"""Notification e-mails: queued after commit, sent at most once per event.

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

from organizations.jobs import start_after_commit
from organizations.models import Organization, User

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
    commits. Optional (non-essential) e-mails are skipped for users who opted out."""
    if user is None and not address:
        raise ValueError("An e-mail needs a user or an address.")
    kwargs = {
        "organization_id": organization.pk,
        "key": key,
        "template": template,
        "context": context,
        "user_id": user.pk if user is not None else None,
        "address": address,
        "essential": essential,
    }
    start_after_commit(DELIVER_EMAIL_TASK, **kwargs)
