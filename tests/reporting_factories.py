"""Factories of the reporting app."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from organizations.models import Membership
from reporting.enums import FileFormat, JobStatus
from reporting.models import ReportJob
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
