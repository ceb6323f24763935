"""Running an export in a test: the rows a dataset gives a member, and a job run
from end to end into a file that is read back."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.storage import default_storage
from django.utils import timezone, translation

from organizations.models import Membership
from organizations.tenancy import tenant_context
from reporting.exports.registry import get_dataset
from reporting.models import ReportJob
from reporting.scope import ReportScope
from reporting.services import run_report_job


def dataset_rows(
    member: Membership, kind: str, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows the dataset ``kind`` gives ``member``, as the job would produce
    them (inside the tenant, in the organisation's time zone)."""
    dataset = get_dataset(kind)
    assert dataset is not None
    organization = member.organization
    with (
        tenant_context(organization),
        translation.override("en-gb"),
        timezone.override(organization.timezone),
    ):
        return [tuple(row) for row in dataset.rows(ReportScope(member), params)]


def run(job: ReportJob) -> ReportJob:
    """Run ``job`` as its task would and return it as stored."""
    with tenant_context(job.organization):
        run_report_job(organization=job.organization, job_id=job.pk)
        return ReportJob.objects.get(pk=job.pk)


def read_csv(job: ReportJob) -> list[list[str]]:
    with default_storage.open(job.file.name, "rb") as stored:
        text = stored.read().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))
