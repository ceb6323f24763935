"""Who sees which report job: the visibility definition, the job gate, and whether a
job's file may still be downloaded.

``jobs_visible_to`` is *the* definition of who sees a report job: HR admins every job
of the organisation, every other member the jobs they asked for. ``get_job_for`` is
its gate (404 for a job that does not exist, is another organisation's or is not
visible). ``may_download`` decides again, at download time, whether the member may
still have the file: an HR admin always; the member who asked for it only while they
may still export that kind of report (a manager who lost their line, or a member
whose role changed, may not), or, for a PDF document, open the page of what it is
about, or, for a batch of appraisal reports (a ZIP), open the cycle overview of the
batch's cycle with its filters (``may_have``, ``batch_report``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from organizations.http import TenantRequest
from organizations.models import Membership
from reporting.documents.registry import get_document
from reporting.enums import FileFormat
from reporting.exports.registry import get_dataset
from reporting.models import ReportJob
from reporting.permissions import Dashboard
from reporting.reports import Report, open_report
from reporting.scope import ReportScope

# The cycle overview's filters, which narrow a batch of appraisal reports.
BATCH_FILTERS = ("cycle", "business_unit", "line_manager")


def jobs_visible_to(membership: Membership) -> QuerySet[ReportJob]:
    """HR admins: every job of the organisation; others: their own. Builds a
    queryset only; the requester is loaded with each job (one query per page)."""
    qs = ReportJob.objects.select_related("requested_by").order_by("-created_at", "-pk")
    if membership.is_hr_admin:
        return qs
    return qs.filter(requested_by_id=membership.user_id)


def get_job_for(request: TenantRequest, pk: int) -> ReportJob:
    """The job ``pk`` if the caller may see it, else 404 (another organisation's and
    another member's look like one that does not exist). One query."""
    job = jobs_visible_to(request.membership).filter(pk=pk).first()
    if job is None:
        raise Http404("No such report.")
    return job


def may_download(membership: Membership, job: ReportJob) -> bool:
    """Whether ``membership`` may download ``job``'s file now: HR admins always; the
    member who asked for it while they may still have it (``may_have``). Anyone
    else: no."""
    if membership.is_hr_admin:
        return True
    if job.requested_by_id != membership.user_id:
        return False
    return may_have(membership, job)


def may_have(membership: Membership, job: ReportJob) -> bool:
    """Whether ``membership`` may have the file of ``job`` now: for a PDF document,
    whether they may open the page of what it is about (``Document.subject``, one
    query); for a batch (a ZIP), whether they may still open the cycle overview of
    its cycle with its filters (``batch_report``); for an export, whether they may
    export its kind (``Dataset.available``, one query or none). An unknown kind:
    no."""
    if job.file_format == FileFormat.ZIP:
        return batch_report(membership, job.parameters) is not None
    if job.file_format == FileFormat.PDF:
        document = get_document(job.kind)
        return (
            document is not None
            and document.subject(membership, job.parameters) is not None
        )
    dataset = get_dataset(job.kind)
    return dataset is not None and dataset.available(ReportScope(membership))


def batch_report(
    membership: Membership, parameters: Mapping[str, Any]
) -> Report | None:
    """The cycle overview that a batch of appraisal reports with ``parameters`` (a
    cycle's id, optionally a business unit's and a line manager's) is made from, if
    ``membership`` may open it: the overview's gate (HR admins, members with a
    line), its filters valid in this organisation, and the cycle one of those the
    dashboards show. None otherwise (another organisation's cycle, a draft one, a
    member who lost their line). Its ``appraisals_in(cycle)`` are what the batch
    holds. The overview's queries: the cycles, the gate's, each filter's own."""
    chosen = {
        name: str(parameters[name])
        for name in BATCH_FILTERS
        if parameters.get(name) not in (None, "")
    }
    if "cycle" not in chosen:
        return None
    try:
        report = open_report(membership, Dashboard.OVERVIEW, chosen)
    except PermissionDenied:
        return None
    if not report.valid or report.cycle is None:
        return None
    if str(report.cycle.pk) != chosen["cycle"]:
        return None
    return report
