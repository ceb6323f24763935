"""Batches of appraisal reports: the cycle overview's button asks for every appraisal
report of the cycle the member may see, with the overview's filters (a business
unit, a line manager's line), as one ZIP (``reporting.batches``); the job's page
shows how many documents are made, then the download, and "Retry" for a batch that
failed."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from organizations.errors import DomainError
from organizations.http import TenantRequest
from reporting.access import batch_report, get_job_for
from reporting.batches import request_batch, retry_batch
from reporting.permissions import Dashboard, require
from reporting.scope import ReportScope


@require_POST
def appraisal_batch(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Ask for the appraisal reports of the posted cycle (and business unit or line
    manager, the overview's filters) as one ZIP; on to the job's page. 403 for
    members who may not open the cycle overview; 404 for a cycle or filter the
    overview does not show them (another organisation's, a draft cycle). A batch
    that would hold nothing goes back to the overview with the reason."""
    require(ReportScope(request.membership), Dashboard.OVERVIEW)
    report = batch_report(request.membership, request.POST)
    if report is None:
        raise Http404("No such cycle.")
    back = reverse("reporting:overview", args=[org_slug])
    try:
        job = request_batch(actor=request.membership, report=report)
    except DomainError as error:
        messages.error(request, str(error))
        return redirect(f"{back}?{report.filter.query_string()}")
    return redirect("reporting:job_detail", org_slug, job.pk)


@require_POST
def batch_retry(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Make the documents a failed batch is missing (its requester, while they may
    still have it): 404 for a job the member does not see, 403 for one they did not
    ask for or may no longer have; back to the job's page."""
    job = get_job_for(request, pk)
    try:
        retry_batch(actor=request.membership, job=job)
    except DomainError as error:
        messages.error(request, str(error))
    return redirect("reporting:job_detail", org_slug, job.pk)


urlpatterns = [
    path("reports/pdf/appraisals/", appraisal_batch, name="appraisal_batch"),
    path("reports/jobs/<int:pk>/retry/", batch_retry, name="batch_retry"),
]
