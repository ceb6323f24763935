"""Celery tasks of the organizations app, the tenant task wrapper all apps use, and
the outbox relay's beat tasks."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from functools import wraps
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from organizations import outbox, ratelimit
from organizations.models import (
    Invitation,
    Membership,
    Organization,
    SentEmail,
    User,
)
from organizations.notifications import receives_email
from organizations.services import invitation_token
from organizations.tenancy import tenant_context

# Every task retries, with growing pauses, when the database or the broker is
# unreachable (a restart, an outage); the outbox republishes whatever still fails.
RETRY_ON: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
)
RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": RETRY_ON,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
}


def tenant_task(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task body inside the tenant named by its required ``organization_id``.

    A call without ``organization_id`` fails with TypeError before touching data; the
    organisation is loaded and its scope and row-security setting entered here, so the
    body cannot forget either.

    Work published by the outbox carries ``outbox_id``: the body runs only if that row
    is still owed (its lock makes a concurrent duplicate wait, then skip), and the row
    is marked completed in the body's own transaction, so the outbox never counts work
    done that was not. Returns None for a duplicate. Cost: 2 queries for an outbox
    delivery, on top of the body's.
    """

    @wraps(func)
    def wrapper(
        *args: Any, organization_id: int, outbox_id: int | None = None, **kwargs: Any
    ) -> Any:
        if not isinstance(organization_id, int):
            raise TypeError("organization_id must be an organisation's id.")
        organization = Organization.objects.get(pk=organization_id)
        try:
            with tenant_context(organization):
                if outbox_id is not None and not outbox.claim(outbox_id):
                    return None
                result = func(*args, organization=organization, **kwargs)
                if outbox_id is not None:
                    outbox.complete(outbox_id)
                return result
        except Exception as exc:
            if outbox_id is not None:
                outbox.record_failure(organization, outbox_id, exc)
            raise

    return wrapper


@shared_task(bind=False, name="organizations.relay_outbox", **RETRY_OPTIONS)
def relay_outbox() -> int:
    """Beat, every few seconds: publish the outbox rows that are due (the catch-up
    behind each commit's fast path). Returns how many were published."""
    return outbox.relay()


@shared_task(bind=False, name="organizations.prune_outbox", **RETRY_OPTIONS)
def prune_outbox() -> int:
    """Beat, daily: delete completed outbox rows past their keeping time, and rate
    limit counters kept in the database during a cache outage once stale."""
    return outbox.prune() + ratelimit.prune_counters()


@shared_task(bind=False, **RETRY_OPTIONS)
@tenant_task
def send_invitation_email(*, organization: Organization, invitation_id: int) -> bool:
    """E-mail an invitation link. Returns False when the invitation is no longer usable."""
    invitation = (
        Invitation.objects.select_related("invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_pending:
        return False
    link = settings.SITE_URL.rstrip("/") + reverse(
        "invitation_accept", args=[invitation_token(invitation)]
    )
    context = {
        "invitation": invitation,
        "organization": organization,
        "link": link,
        "days": settings.INVITATION_MAX_AGE.days,
    }
    with translation.override(organization.language or settings.LANGUAGE_CODE):
        subject = _("You are invited to join %(org)s on Engagement HRMS") % {
            "org": organization.name
        }
        body = render_to_string("organizations/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    return True


@shared_task(
    bind=False,
    **{**RETRY_OPTIONS, "autoretry_for": (*RETRY_ON, smtplib.SMTPException)},
)
@tenant_task
def deliver_email(
    *,
    organization: Organization,
    key: str,
    template: str,
    context: dict[str, Any],
    user_id: int | None,
    address: str,
    essential: bool,
) -> bool:
    """Send one notification unless the ledger already holds ``key``.

    Returns True when sent. Skips users who left the organisation, were deactivated or
    switched optional e-mails off (unless ``essential``).
    """
    user: User | None = None
    if user_id is not None:
        user = User.objects.filter(pk=user_id, is_active=True).first()
        member = Membership.unscoped.filter(
            organization=organization, user_id=user_id, is_active=True
        ).exists()
        if user is None or not receives_email(user, member=member, essential=essential):
            return False
        address = user.email
    if SentEmail.objects.filter(key=key).exists():
        return False
    full = {
        **context,
        "organization_name": organization.name,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    if "path" in context:
        full["link"] = settings.SITE_URL.rstrip("/") + context["path"]
    language = (
        user.language_in(organization) if user is not None else organization.language
    )
    with translation.override(language):
        text = render_to_string(template, full)
    subject, _sep, body = text.strip().partition("\n")
    with transaction.atomic():
        # The unique key makes a concurrent duplicate wait here and then fail, so
        # only one of two deliveries of the same event sends.
        try:
            with transaction.atomic():
                SentEmail.objects.create(
                    organization=organization, key=key, recipient=address
                )
        except IntegrityError:
            return False
        send_mail(
            subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, [address]
        )
    return True
