"""Scheduled report e-mails in every state, so that the pages have something to show:

- HR's weekly cycle digest for the managing director (Mondays at 07:00), sent once
  already: its delivery and the e-mail with the PDF, made as "send now" makes them;
- HR's team summary for two managers on Fridays, one of whom unsubscribed;
- the line manager's month-end analytics of an engagement of theirs, paused;
- the employee's own appraisal, sent when a cycle closes.

Saved through the same services as the pages (``reporting.subscriptions``), so the
rules hold; a second run adds nothing. The delivered digest is sent at once, as its
task would send it, through the configured mail backend (the console under
``make run``)."""

from __future__ import annotations

from datetime import time

from organizations.enums import Role
from organizations.models import Membership, Organization
from reporting import dispatch, sending
from reporting.enums import (
    CycleEvent,
    EmailStatus,
    Frequency,
    SubscriptionKind,
    Weekday,
)
from reporting.models import ReportEmail, ReportRecipient, ReportSubscription
from reporting.scope import ReportScope
from reporting.subscriptions import save_subscription, set_active

DIRECTOR = "approver@acme.test"


def seed(organization: Organization) -> None:
    if ReportSubscription.objects.exists():
        return
    members = {
        m.user.email: m
        for m in Membership.objects.select_related("user", "organization").filter(
            organization=organization, is_active=True
        )
    }
    hr = next((m for m in members.values() if m.role == Role.HR_ADMIN), None)
    director = members.get(DIRECTOR)
    if hr is None or director is None:
        return  # another organisation than acme: no logins to subscribe
    digest = _subscribe(
        hr,
        [director],
        kind=SubscriptionKind.CYCLE_DIGEST,
        title="Monday cycle digest",
        frequency=Frequency.WEEKLY,
        weekday=Weekday.MONDAY,
        time_of_day=time(7, 0),
    )
    _deliver_now(organization, hr, digest)
    managers = [members[e] for e in ("manager@acme.test", "reviewer@acme.test")]
    summary = _subscribe(
        hr,
        managers,
        kind=SubscriptionKind.TEAM_SUMMARY,
        title="Friday team summary",
        frequency=Frequency.WEEKLY,
        weekday=Weekday.FRIDAY,
        time_of_day=time(16, 0),
    )
    ReportRecipient.objects.filter(subscription=summary, membership=managers[1]).update(
        unsubscribed_at=summary.created_at
    )
    manager = managers[0]
    engagement = ReportScope(manager).engagements().order_by("code").first()
    if engagement is not None:
        analytics = _subscribe(
            manager,
            [manager],
            kind=SubscriptionKind.ENGAGEMENT_ANALYTICS,
            title=f"Month-end analytics of {engagement.code}",
            filters={"engagement": engagement.pk},
            frequency=Frequency.MONTHLY,
            day_of_month=31,
            time_of_day=time(18, 0),
        )
        set_active(actor=manager, subscription=analytics, active=False)
    employee = members["employee@acme.test"]
    _subscribe(
        employee,
        [employee],
        kind=SubscriptionKind.MY_APPRAISAL,
        title="My appraisal when finalised",
        frequency=Frequency.CYCLE_EVENT,
        cycle_event=CycleEvent.CYCLE_CLOSED,
        time_of_day=time(7, 0),
    )


def _subscribe(
    actor: Membership, recipients: list[Membership], **fields: object
) -> ReportSubscription:
    return save_subscription(
        actor=actor,
        subscription=ReportSubscription(organization=actor.organization, **fields),
        recipients=recipients,
    )


def _deliver_now(
    organization: Organization, actor: Membership, subscription: ReportSubscription
) -> None:
    """Send now, and run its tasks at once (their outbox rows, published when the
    seed commits, then find the work done and do nothing)."""
    delivery = dispatch.send_now(actor=actor, subscription=subscription)
    sending.deliver(organization=organization, delivery_id=delivery.pk)
    for email_id in ReportEmail.objects.filter(
        delivery=delivery, status=EmailStatus.QUEUED
    ).values_list("pk", flat=True):
        sending.send_email(organization=organization, email_id=email_id)
