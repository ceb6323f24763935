"""The exports page, report jobs (list, page, progress) and their downloads.

Exports run as report jobs in Celery: the exports page asks for one and sends the
member to its page, whose progress bar HTMX refreshes until the file is ready. The
download checks access again (``reporting.access.may_download``).
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django.views.generic import ListView

from organizations.http import (
    TenantRequest,
    apply_service,
    form_response,
    page_or_partial,
)
from reporting.access import get_job_for, jobs_visible_to, may_download
from reporting.batches import APPRAISAL_BATCH, BATCH_LABEL
from reporting.documents.registry import get_document
from reporting.enums import FileFormat, JobStatus
from reporting.exports.registry import available_datasets, get_dataset
from reporting.forms import ExportForm
from reporting.models import ReportJob
from reporting.scope import ReportScope
from reporting.services import request_export

PAGE_SIZE = 25
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


@require_http_methods(["GET", "POST"])
def exports(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The reports the member may export, with the form that asks for one; POST
    starts the job and sends the member to its page. A member with nothing to
    export gets 403 on POST."""
    offered = available_datasets(ReportScope(request.membership))
    if request.method == "POST":
        if not offered:
            raise PermissionDenied(_("You have nothing to export."))
        form = ExportForm(request.POST, offered=offered)
        if form.is_valid():
            outcome = apply_service(
                form,
                lambda: request_export(
                    actor=request.membership,
                    kind=form.cleaned_data["kind"],
                    file_format=form.cleaned_data["file_format"],
                    parameters=form.parameters(),
                ),
            )
            if outcome.ok and outcome.value is not None:
                return redirect("reporting:job_detail", org_slug, outcome.value.pk)
    else:
        form = ExportForm(offered=offered)
    return form_response(
        request, "reporting/exports.html", {"form": form, "datasets": offered}
    )


class JobListView(ListView):
    """The member's report jobs (HR admins: the organisation's), newest first."""

    request: TenantRequest
    template_name = "reporting/job_list.html"
    paginate_by = PAGE_SIZE
    context_object_name = "jobs"
    http_method_names = ["get", "head", "options"]

    def get_queryset(self) -> QuerySet[ReportJob]:
        return jobs_visible_to(self.request.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["show_requester"] = self.request.membership.is_hr_admin
        context["rows"] = [(job, _label(job)) for job in context["jobs"]]
        return context


def _label(job: ReportJob) -> str:
    """The name of a job's report kind (its kind, if no longer registered), with the
    title of what a PDF document (or a batch of them) is about. No query."""
    if job.file_format == FileFormat.ZIP and job.kind == APPRAISAL_BATCH:
        title = job.parameters.get("title")
        return f"{BATCH_LABEL} · {title}" if title else str(BATCH_LABEL)
    if job.file_format == FileFormat.PDF:
        document = get_document(job.kind)
        label = str(document.label) if document else job.kind
        title = job.parameters.get("title")
        return f"{label} · {title}" if title else label
    dataset = get_dataset(job.kind)
    return str(dataset.label) if dataset else job.kind


def _job_context(request: TenantRequest, job: ReportJob) -> dict[str, Any]:
    return {
        "job": job,
        "label": _label(job),
        "expired": job.is_expired(),
        "can_download": job.status == JobStatus.DONE
        and not job.is_expired()
        and may_download(request.membership, job),
        # A batch: how many documents it holds, and whether its requester may ask
        # for the missing ones once it failed (the service checks access again).
        "documents": job.parameters.get("documents")
        if job.kind == APPRAISAL_BATCH
        else None,
        "can_retry": job.kind == APPRAISAL_BATCH
        and job.status == JobStatus.FAILED
        and not job.is_expired()
        and job.requested_by_id == request.membership.user_id,
    }


@require_GET
def job_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """One report job: its progress while it runs, then its download link."""
    job = get_job_for(request, pk)
    return render(request, "reporting/job_detail.html", _job_context(request, job))


@require_GET
def job_progress(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The job's progress, the partial HTMX polls every 2 s until the job is done or
    failed (the full page without HTMX)."""
    job = get_job_for(request, pk)
    return page_or_partial(
        request,
        "reporting/job_detail.html",
        "reporting/partials/job_progress.html",
        _job_context(request, job),
    )


@require_GET
def job_download(request: TenantRequest, org_slug: str, pk: int) -> HttpResponseBase:
    """The job's file, as an attachment: 404 when the job is not the caller's to see,
    403 when the caller may no longer export it, 410 once expired or deleted."""
    job = get_job_for(request, pk)
    if not may_download(request.membership, job):
        raise PermissionDenied(_("You can no longer download this report."))
    storage = job.file.storage
    if (
        job.status != JobStatus.DONE
        or job.is_expired(timezone.now())
        or not job.file.name
        or not storage.exists(job.file.name)
    ):
        return render(
            request,
            "reporting/job_gone.html",
            {"job": job, "finished": job.status == JobStatus.DONE},
            status=410 if job.status == JobStatus.DONE else 404,
        )
    content_type = CONTENT_TYPES.get(job.file_format) or (
        mimetypes.guess_type(job.download_name)[0] or "application/octet-stream"
    )
    return FileResponse(
        storage.open(job.file.name, "rb"),
        as_attachment=True,
        filename=job.download_name,
        content_type=content_type,
    )


urlpatterns = [
    path("reports/exports/", exports, name="exports"),
    path("reports/jobs/", JobListView.as_view(), name="jobs"),
    path("reports/jobs/<int:pk>/", job_detail, name="job_detail"),
    path("reports/jobs/<int:pk>/progress/", job_progress, name="job_progress"),
    path("reports/jobs/<int:pk>/download/", job_download, name="job_download"),
]
