"""PDF documents asked for from the page of what they are about: a POST creates the
report job (``reporting.services.create_job``) and the member follows its progress
on the job's page, then downloads the file. The page's own access function decides
(404 for what the member may not open)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from organizations.errors import DomainError
from organizations.http import TenantRequest
from reporting.documents.appraisal import APPRAISAL_REPORT
from reporting.documents.base import Document
from reporting.documents.cycle import CYCLE_REPORT
from reporting.documents.engagement import ENGAGEMENT_REPORT
from reporting.enums import FileFormat
from reporting.permissions import Dashboard, require
from reporting.scope import ReportScope
from reporting.services import create_job


def _request(
    request: TenantRequest, document: Document, parameters: dict, back: str
) -> HttpResponse:
    subject = document.subject(request.membership, parameters)
    if subject is None:
        raise Http404("Nothing to report on.")
    try:
        job = create_job(
            actor=request.membership,
            kind=document.kind,
            file_format=FileFormat.PDF,
            parameters={**parameters, "title": document.title(subject)},
        )
    except DomainError as error:
        messages.error(request, str(error))
        return redirect(back)
    return redirect("reporting:job_detail", request.organization.slug, job.pk)


@require_POST
def appraisal_pdf(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Ask for the PDF of appraisal ``pk`` (whoever may open the appraisal page)."""
    back = reverse("appraisals:appraisal_detail", args=[org_slug, pk])
    return _request(request, APPRAISAL_REPORT, {"appraisal": pk}, back)


@require_POST
def engagement_pdf(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Ask for the PDF of engagement ``pk`` (whoever may open its analytics page:
    403 for members who may open no engagement analytics, 404 beyond their scope)."""
    require(ReportScope(request.membership), Dashboard.ENGAGEMENTS)
    back = reverse("reporting:engagement", args=[org_slug, pk])
    return _request(request, ENGAGEMENT_REPORT, {"engagement": pk}, back)


@require_POST
def cycle_pdf(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Ask for the PDF of cycle ``pk`` (whoever may open the cycle overview: 403
    for members who may not, 404 for a cycle the dashboards do not show)."""
    require(ReportScope(request.membership), Dashboard.OVERVIEW)
    back = reverse("reporting:overview", args=[org_slug]) + f"?cycle={pk}"
    return _request(request, CYCLE_REPORT, {"cycle": pk}, back)


urlpatterns = [
    path("reports/pdf/appraisal/<int:pk>/", appraisal_pdf, name="appraisal_pdf"),
    path("reports/pdf/engagement/<int:pk>/", engagement_pdf, name="engagement_pdf"),
    path("reports/pdf/cycle/<int:pk>/", cycle_pdf, name="cycle_pdf"),
]
