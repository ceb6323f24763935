"""Factories of the reporting app."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

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
