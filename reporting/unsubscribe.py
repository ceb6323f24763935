"""One-click unsubscribe from a scheduled report (RFC 8058).

Every report e-mail carries a signed link naming the organisation and the recipient
row (``ReportRecipient``), in its footer and in the ``List-Unsubscribe`` header. The
link is the credential: no account is needed, and it does not expire (an old e-mail
must still let its reader stop the next one). A bad signature, an unknown recipient
and another organisation's recipient all read as "not found".

``unsubscribe`` is idempotent: the first use records the time, later ones keep it.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from organizations.models import Organization
from organizations.tenancy import tenant_context
from reporting.models import ReportRecipient

UNSUBSCRIBE_SALT = "reporting.report-unsubscribe"


def unsubscribe_token(recipient: ReportRecipient) -> str:
    """The signed token of ``recipient``'s unsubscribe link."""
    return signing.dumps(
        {"o": recipient.organization_id, "r": recipient.pk}, salt=UNSUBSCRIBE_SALT
    )


def unsubscribe_url(recipient: ReportRecipient) -> str:
    """The absolute address of ``recipient``'s unsubscribe page (``SITE_URL``)."""
    path = reverse("reporting_public:unsubscribe", args=[unsubscribe_token(recipient)])
    return settings.SITE_URL.rstrip("/") + path


def recipient_from_token(token: str) -> ReportRecipient | None:
    """The recipient row a link names, with its subscription and organisation; None
    for a bad signature, an unknown organisation or recipient. Two queries (the
    organisation, the recipient) plus the tenant context's settings."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    org_id, recipient_id = data.get("o"), data.get("r")
    if not (isinstance(org_id, int) and isinstance(recipient_id, int)):
        return None
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        return None
    with tenant_context(organization):
        recipient = (
            ReportRecipient.objects.select_related("subscription")
            .filter(pk=recipient_id)
            .first()
        )
    if recipient is not None:
        recipient.organization = organization
    return recipient


def unsubscribe(recipient: ReportRecipient) -> ReportRecipient:
    """Stop ``recipient``'s e-mails of its subscription; a second call changes
    nothing. One query (inside the recipient's organisation)."""
    with tenant_context(recipient.organization):
        now = timezone.now()
        updated = ReportRecipient.objects.filter(
            pk=recipient.pk, unsubscribed_at__isnull=True
        ).update(unsubscribed_at=now)
        if updated:
            recipient.unsubscribed_at = now
    return recipient
