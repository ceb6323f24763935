"""Report subscriptions: who may subscribe whom to which report, who sees which
subscription, and saving, pausing and deleting one.

- HR admins subscribe anyone of the organisation to any report; every other member
  subscribes only themselves, to the reports of their own scope: line managers to the
  cycle digest and team summary of their line, holders of an engagement role to the
  analytics of their engagements, everyone to their own finalised appraisal
  (``kinds_for``).
- A recipient must be able to receive the report when the subscription is saved
  (``may_receive``); what each e-mail holds is computed again for each recipient at
  every delivery (``reporting.mailing.compose``), so one who loses access or leaves
  stops getting it.
- HR admins see every subscription; other members those they created or receive
  (``subscriptions_visible_to``); HR admins and the creator may change one
  (``may_manage``).

The schedule's next run comes from ``reporting.schedule.next_run_at``; the
deliveries from ``reporting.dispatch`` (docs/reporting.md, "Scheduled reports").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements.models import ReviewCycle
from organizations.errors import DomainError
from organizations.models import Employee, Membership
from reporting.enums import CycleEvent, Frequency, SubscriptionKind, Weekday
from reporting.models import ReportEmail, ReportRecipient, ReportSubscription
from reporting.permissions import Dashboard, dashboards_for
from reporting.schedule import next_run_at
from reporting.scope import ReportScope, get_engagement_for_report

# Recipients of one subscription at most: a digest for a leadership team, not a
# mailing list.
MAX_RECIPIENTS = 25


# --- Who may have what -------------------------------------------------------------------


def kinds_for(membership: Membership) -> list[SubscriptionKind]:
    """The report kinds ``membership`` may subscribe to: HR admins every kind (for
    anyone); others those of their own scope. One or two queries for non-HR
    members (their line and engagement roles), none for HR admins."""
    if membership.is_hr_admin:
        return list(SubscriptionKind)
    dashboards = dashboards_for(ReportScope(membership))
    kinds = []
    if Dashboard.OVERVIEW in dashboards:
        kinds += [SubscriptionKind.CYCLE_DIGEST, SubscriptionKind.TEAM_SUMMARY]
    if Dashboard.ENGAGEMENTS in dashboards:
        kinds.append(SubscriptionKind.ENGAGEMENT_ANALYTICS)
    kinds.append(SubscriptionKind.MY_APPRAISAL)
    return kinds


def may_receive(
    membership: Membership, kind: str, filters: dict[str, Any]
) -> str | None:
    """Why ``membership`` cannot receive a report of ``kind`` with ``filters``
    today, or None when they can: the rule each delivery applies again for each
    recipient. One to three queries."""
    name = _member_name(membership)
    if not membership.is_active or not membership.user.is_active:
        return _("%(name)s is no longer an active member.") % {"name": name}
    scope = ReportScope(membership)
    if kind == SubscriptionKind.CYCLE_DIGEST:
        allowed = Dashboard.OVERVIEW in dashboards_for(scope)
        reason = _(
            "%(name)s may not open the cycle overview: only HR admins and line "
            "managers receive the cycle digest."
        )
    elif kind == SubscriptionKind.TEAM_SUMMARY:
        allowed = scope.has_line()
        reason = _("%(name)s has nobody reporting to them, so there is no team.")
    elif kind == SubscriptionKind.ENGAGEMENT_ANALYTICS:
        allowed = _may_open_engagement(scope, filters)
        reason = _("%(name)s may not open this engagement's analytics.")
    else:
        allowed = Employee.objects.filter(user_id=membership.user_id).exists()
        reason = _(
            "%(name)s is not linked to anyone in the people directory, so they "
            "have no appraisal."
        )
    return None if allowed else reason % {"name": name}


def _may_open_engagement(scope: ReportScope, filters: dict[str, Any]) -> bool:
    if Dashboard.ENGAGEMENTS not in dashboards_for(scope):
        return False
    try:
        get_engagement_for_report(scope, int(filters.get("engagement") or 0))
    except Http404:
        return False
    return True


def _member_name(membership: Membership) -> str:
    user = membership.user
    return user.full_name or user.email


# --- Who sees which subscription ----------------------------------------------------------


def subscriptions_visible_to(membership: Membership) -> QuerySet[ReportSubscription]:
    """HR admins: every subscription of the organisation; others: those they
    created or receive. Builds a queryset only (the creator loaded with each)."""
    qs = ReportSubscription.objects.select_related("created_by")
    if membership.is_hr_admin:
        return qs
    receives = ReportRecipient.objects.filter(
        subscription=OuterRef("pk"), membership=membership
    )
    return qs.filter(Q(created_by_id=membership.user_id) | Exists(receives))


def get_subscription_for(membership: Membership, pk: int) -> ReportSubscription:
    """Subscription ``pk`` if ``membership`` may see it, else 404 (another
    organisation's and another member's look like one that does not exist). One
    query."""
    subscription = subscriptions_visible_to(membership).filter(pk=pk).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


def may_manage(membership: Membership, subscription: ReportSubscription) -> bool:
    """HR admins and the member who created it may change, send, pause or delete
    it; its other recipients may only read it (and unsubscribe). No query."""
    return membership.is_hr_admin or subscription.created_by_id == membership.user_id


def receives(membership: Membership, subscription: ReportSubscription) -> bool:
    """Whether ``membership`` is among the recipients (and has not unsubscribed).
    One query."""
    return ReportRecipient.objects.filter(
        subscription=subscription, membership=membership, unsubscribed_at=None
    ).exists()


def recipients_of(subscription: ReportSubscription) -> list[ReportRecipient]:
    """The subscription's recipients with their logins, by name. One query."""
    return list(
        ReportRecipient.objects.filter(subscription=subscription)
        .select_related("membership__user")
        .order_by("membership__user__full_name", "membership__user__email", "pk")
    )


# --- Saving ------------------------------------------------------------------------------


def save_subscription(
    *,
    actor: Membership,
    subscription: ReportSubscription,
    recipients: Sequence[Membership],
) -> ReportSubscription:
    """Create or update ``subscription`` (its fields set by the caller) with
    ``recipients``, and compute its next run. Refused (DomainError beside the field
    concerned) when the actor may not subscribe to the kind, a non-HR member names
    anyone but themselves, a recipient cannot receive it, or the filters name what
    the actor may not report on."""
    if subscription.pk is not None and not may_manage(actor, subscription):
        raise DomainError(_("Only HR and the person who created it may change it."))
    if subscription.kind not in kinds_for(actor):
        raise DomainError(
            _("You may not subscribe to this report. Choose one of those listed."),
            "kind",
        )
    chosen = list({m.pk: m for m in recipients}.values())
    if not chosen:
        raise DomainError(_("Choose at least one recipient."), "recipients")
    if len(chosen) > MAX_RECIPIENTS:
        raise DomainError(
            _("Choose at most %(n)s recipients.") % {"n": MAX_RECIPIENTS},
            "recipients",
        )
    if not actor.is_hr_admin and [m.pk for m in chosen] != [actor.pk]:
        raise DomainError(
            _("You may subscribe only yourself; ask HR to subscribe others."),
            "recipients",
        )
    _check_filters(actor, subscription)
    for membership in chosen:
        reason = may_receive(membership, subscription.kind, subscription.filters)
        if reason is not None:
            raise DomainError(reason, "recipients")
    if subscription.pk is None:
        subscription.created_by_id = actor.user_id
    zone = ZoneInfo(actor.organization.timezone)
    subscription.next_run_at = next_run_at(
        subscription, after=timezone.now(), zone=zone
    )
    with transaction.atomic():
        subscription.save()
        kept = [m.pk for m in chosen]
        ReportRecipient.objects.filter(subscription=subscription).exclude(
            membership_id__in=kept
        ).delete()
        ReportRecipient.objects.bulk_create(
            [
                ReportRecipient(
                    organization_id=subscription.organization_id,
                    subscription=subscription,
                    membership=m,
                )
                for m in chosen
            ],
            ignore_conflicts=True,
        )
    return subscription


def _check_filters(actor: Membership, subscription: ReportSubscription) -> None:
    filters = subscription.filters
    if subscription.kind == SubscriptionKind.ENGAGEMENT_ANALYTICS:
        try:
            get_engagement_for_report(
                ReportScope(actor), int(filters.get("engagement") or 0)
            )
        except Http404:
            raise DomainError(
                _("Choose an engagement whose analytics you may open."), "engagement"
            ) from None
    cycle = filters.get("cycle")
    if cycle is not None and not ReviewCycle.objects.filter(pk=cycle).exists():
        raise DomainError(_("Choose one of the cycles listed."), "cycle")
    if subscription.frequency == Frequency.CYCLE_EVENT and not (
        subscription.cycle_event
    ):
        raise DomainError(_("Choose the cycle event that sends it."), "cycle_event")


def set_active(
    *, actor: Membership, subscription: ReportSubscription, active: bool
) -> ReportSubscription:
    """Pause or resume ``subscription``: a paused one is never due; a resumed one is
    next due at its next time from now (the periods missed while paused are not
    sent). One or two queries."""
    if not may_manage(actor, subscription):
        raise DomainError(_("Only HR and the person who created it may change it."))
    subscription.is_active = active
    subscription.next_run_at = (
        next_run_at(
            subscription,
            after=timezone.now(),
            zone=ZoneInfo(actor.organization.timezone),
        )
        if active
        else None
    )
    subscription.save(update_fields=["is_active", "next_run_at"])
    return subscription


def delete_subscription(*, actor: Membership, subscription: ReportSubscription) -> None:
    """Delete ``subscription`` with its recipients and deliveries, and the PDFs its
    e-mails carried."""
    if not may_manage(actor, subscription):
        raise DomainError(_("Only HR and the person who created it may delete it."))
    files = list(
        ReportEmail.objects.filter(delivery__subscription=subscription)
        .exclude(file="")
        .values_list("file", flat=True)
    )
    storage = ReportEmail._meta.get_field("file").storage
    with transaction.atomic():
        subscription.delete()
        transaction.on_commit(lambda: _delete_files(storage, files))


def _delete_files(storage: Any, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            continue


def unsubscribe_member(
    *, membership: Membership, subscription: ReportSubscription
) -> bool:
    """Stop sending ``subscription`` to ``membership`` (the in-app twin of the
    e-mail's one-click link). Returns whether they were receiving it."""
    return bool(
        ReportRecipient.objects.filter(
            subscription=subscription,
            membership=membership,
            unsubscribed_at__isnull=True,
        ).update(unsubscribed_at=timezone.now())
    )


def schedule_label(subscription: ReportSubscription) -> str:
    """When the subscription is sent, in words: "Weekly on Monday at 07:00",
    "Monthly on day 31 at 18:00 (the last day of shorter months)", "When a cycle
    moves: Review opened (sent at once)". No query."""
    at = subscription.time_of_day.strftime("%H:%M")
    if subscription.frequency == Frequency.WEEKLY and subscription.weekday is not None:
        return _("Weekly on %(day)s at %(time)s") % {
            "day": Weekday(subscription.weekday).label,
            "time": at,
        }
    if subscription.frequency == Frequency.MONTHLY:
        day = subscription.day_of_month or 1
        label = _("Monthly on day %(day)s at %(time)s") % {"day": day, "time": at}
        if day > 28:
            label += " " + _("(the last day of shorter months)")
        return label
    event = (
        CycleEvent(subscription.cycle_event).label if subscription.cycle_event else ""
    )
    return _("When a cycle moves: %(event)s (sent at once)") % {"event": event}
