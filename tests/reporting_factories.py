"""Factories of the reporting app."""

from __future__ import annotations

from datetime import time, timedelta

import factory
from django.utils import timezone

from organizations.models import Membership
from organizations.tenancy import tenant_context
from reporting.enums import (
    DeliveryStatus,
    EmailStatus,
    FileFormat,
    Frequency,
    JobStatus,
    SubscriptionKind,
)
from reporting.models import (
    ReportDelivery,
    ReportEmail,
    ReportJob,
    ReportRecipient,
    ReportSubscription,
)
from tests.factories import OrganizationFactory, TenantFactory, UserFactory


class ReportJobFactory(TenantFactory):
    """A queued export of a cycle's appraisals as CSV, kept for 30 days."""

    class Meta:
        model = ReportJob

    organization = factory.SubFactory(OrganizationFactory)
    requested_by = factory.SubFactory(UserFactory)
    kind = "appraisals"
    parameters = factory.LazyFunction(dict)
    file_format = FileFormat.CSV
    status = JobStatus.QUEUED
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


def finished_report_job(requester: Membership, file: str) -> ReportJob:
    """A ready export of ``requester``'s, naming ``file`` (stored by the caller, or
    not at all)."""
    organization = requester.organization
    return ReportJobFactory(
        organization=organization,
        requested_by=requester.user,
        status=JobStatus.DONE,
        progress=100,
        row_count=1,
        file=file,
    )


# --- Scheduled report e-mails ----------------------------------------------------------


def subscription_for(
    creator: Membership,
    recipients: list[Membership] | None = None,
    **fields: object,
) -> ReportSubscription:
    """A weekly cycle digest (Mondays at 07:00) that ``creator`` made, sent to
    ``recipients`` (``creator`` by default), saved as is (no rule checked: tests of
    the rules call ``reporting.subscriptions.save_subscription``)."""
    organization = creator.organization
    with tenant_context(organization):
        subscription = ReportSubscription.objects.create(
            organization=organization,
            **{
                "kind": SubscriptionKind.CYCLE_DIGEST,
                "title": "Weekly cycle digest",
                "frequency": Frequency.WEEKLY,
                "weekday": 0,
                "time_of_day": time(7, 0),
                "created_by": creator.user,
                **fields,
            },
        )
        for membership in recipients if recipients is not None else [creator]:
            ReportRecipient.objects.create(
                organization=organization,
                subscription=subscription,
                membership=membership,
            )
    return subscription


def sent_delivery(
    subscription: ReportSubscription, recipient: Membership, file: str = ""
) -> tuple[ReportDelivery, ReportEmail]:
    """A delivery of ``subscription`` sent to ``recipient``, its e-mail naming the PDF
    ``file`` (stored by the caller, or not at all)."""
    now = timezone.now()
    with tenant_context(subscription.organization):
        delivery = ReportDelivery.objects.create(
            organization=subscription.organization,
            subscription=subscription,
            period=f"test-{now.timestamp()}",
            due_at=now,
            status=DeliveryStatus.SENT,
            attempts=1,
            finished_at=now,
        )
        email = ReportEmail.objects.create(
            organization=subscription.organization,
            delivery=delivery,
            recipient=recipient,
            address=recipient.user.email,
            status=EmailStatus.SENT,
            attempts=1,
            file=file,
            sent_at=now,
        )
    return delivery, email
