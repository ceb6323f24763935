"""The dashboards: cycle overview, score distribution, competency heatmap,
engagement and client analytics (and one engagement's report), reviewer
consistency and trends across cycles, and the export of each.

A page is: ``reporting.reports.open_report`` (the gate, the filters from the query
string, the cycle), ``compute`` (the figures), the charts' configurations
(``reporting.charts``), render. Filters that name nothing of this organisation get
the page again with the message beside the field, status 400, and no figures. The
export button posts the same filters to ``export``, which asks for a report job of
the dashboard's dataset (``reporting.exports.dashboards``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from appraisals.enums import FINAL_STATUSES
from appraisals.selectors.access import appraisals_visible_to, get_appraisal_for
from organizations.errors import DomainError
from organizations.http import TenantRequest
from reporting import charts
from reporting.enums import EXPORT_FORMAT_CHOICES
from reporting.exports.dashboards import dataset_kind
from reporting.figures.engagements import engagement_detail
from reporting.figures.trends import person_trend
from reporting.permissions import Dashboard, dashboards_for, require
from reporting.reports import compute, followed_person, open_report
from reporting.scope import ReportScope, get_engagement_for_report, may_read_surveys
from reporting.services import request_export

TEMPLATES = {d: f"reporting/{d.value}.html" for d in Dashboard}
# Business units shown per page on the score distribution and the trends: a chart
# of seventy units is unreadable, and the page would grow with the organisation.
UNITS_PER_PAGE = 12


@dataclass(frozen=True)
class UnitPage:
    """One page of a dashboard's business units (the figures hold them all: the
    export writes every one)."""

    rows: list[Any]
    total: int
    page: int
    pages: int


def _unit_page(units: list[Any], page: int) -> UnitPage:
    pages = max(1, -(-len(units) // UNITS_PER_PAGE))
    page = min(max(1, page), pages)
    rows = units[(page - 1) * UNITS_PER_PAGE : page * UNITS_PER_PAGE]
    return UnitPage(rows=rows, total=len(units), page=page, pages=pages)


def _menu(request: TenantRequest, scope: ReportScope) -> list[tuple[Dashboard, str]]:
    slug = request.organization.slug
    return [
        (d, reverse(f"reporting:{d.value}", args=[slug])) for d in dashboards_for(scope)
    ]


def _charts(
    dashboard: Dashboard, figures: Any, units: UnitPage | None
) -> dict[str, Any]:
    """The Chart.js configurations of ``figures`` (the business units of ``units``,
    the page's)."""
    if figures is None:
        return {}
    if dashboard == Dashboard.OVERVIEW:
        return {
            "plans": charts.status_bars(_("Plans"), figures.plans_by_status),
            "evaluations": charts.status_bars(
                _("Reviews"), figures.evaluations_by_status
            ),
            "appraisals": charts.status_bars(
                _("Appraisals"), figures.appraisals_by_status
            ),
            "completion": charts.completion_line(figures),
        }
    if dashboard == Dashboard.SCORES:
        return {
            "histogram": charts.histogram(figures),
            "bands": charts.bands(figures),
            "business_units": charts.grouped_bands(
                figures, units.rows if units else []
            ),
            "job_titles": charts.grouped_bands(figures, figures.by_job_title),
            "engagement_types": charts.grouped_bands(
                figures, figures.by_engagement_type
            ),
        }
    if dashboard == Dashboard.ENGAGEMENTS:
        return {"engagements": charts.engagement_bars(figures)}
    if dashboard == Dashboard.REVIEWERS:
        return {"bias": charts.bias_bars(figures)}
    if dashboard == Dashboard.TRENDS:
        return {"trends": charts.trend_lines(figures.cycles, _lines(figures, units))}
    return {}


def _lines(trends: Any, units: UnitPage | None) -> list[Any]:
    """The trends' lines shown: everyone counted, then the page's units."""
    return [trends.overall, *(units.rows if units else [])]


def _page(request: TenantRequest, dashboard: Dashboard) -> HttpResponse:
    report = open_report(request.membership, dashboard, request.GET.copy())
    figures = compute(report)
    units = None
    if figures is not None and dashboard in (Dashboard.SCORES, Dashboard.TRENDS):
        units = _unit_page(figures.by_business_unit, report.page)
    slug = request.organization.slug
    context: dict[str, Any] = {
        "dashboard": dashboard,
        "dashboards": _menu(request, report.scope),
        "filter": report.filter,
        "cycle": report.cycle,
        "figures": figures,
        "charts": _charts(dashboard, figures, units),
        "units": units,
        "query_string": report.filter.query_string(),
        "reset_url": reverse(f"reporting:{dashboard.value}", args=[slug]),
        "export_url": reverse("reporting:export", args=[slug]),
        "export_parameters": report.parameters(),
        "formats": EXPORT_FORMAT_CHOICES,
    }
    if dashboard == Dashboard.OVERVIEW and report.scope.is_hr and report.cycle:
        context["queue_url"] = reverse(
            "appraisals:cycle_progress_evaluations", args=[slug, report.cycle.pk]
        )
    if dashboard == Dashboard.TRENDS and figures is not None:
        context["trend_lines"] = _lines(figures, units)
    if dashboard == Dashboard.TRENDS:
        person = followed_person(report)
        if person is not None:
            context["person_name"], context["person"] = person
            context["charts"]["person"] = charts.person_chart(*person)
    return render(
        request, TEMPLATES[dashboard], context, status=200 if report.valid else 400
    )


@require_GET
def reports_home(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The dashboards the member may open, each with what it answers; for a member
    with none, where their own figures are and what they may export."""
    scope = ReportScope(request.membership)
    return render(request, "reporting/home.html", {"dashboards": _menu(request, scope)})


def _dashboard_view(dashboard: Dashboard) -> Any:
    @require_GET
    def view(request: TenantRequest, org_slug: str) -> HttpResponse:
        return _page(request, dashboard)

    view.__name__ = view.__qualname__ = dashboard.value
    view.__doc__ = f"The {dashboard.value} dashboard."
    return view


@require_GET
def engagement_report(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """One engagement: its team's scores (those the viewer may count) and its client
    satisfaction across cycles."""
    scope = ReportScope(request.membership)
    require(scope, Dashboard.ENGAGEMENTS)
    engagement = get_engagement_for_report(scope, pk)
    figures = engagement_detail(
        engagement,
        plans=scope.plans(),
        reviews=scope.reviews(),
        may_read_surveys=may_read_surveys(scope, engagement),
    )
    return render(
        request,
        "reporting/engagement.html",
        {
            "dashboards": _menu(request, scope),
            "dashboard": Dashboard.ENGAGEMENTS,
            "engagement": engagement,
            "figures": figures,
            "charts": {"csat": charts.csat_trend(figures)},
        },
    )


@require_GET
def appraisal_trend(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The final score across cycles of the appraisal's employee, for the appraisal
    page (loaded into it by HTMX; a page of its own without). Those who may open the
    appraisal see it (``get_appraisal_for``: 404 otherwise); the employee sees the
    scores of finalised appraisals only, HR admins and the line manager provisional
    ones too, labelled. Two queries after the gate's."""
    appraisal, access = get_appraisal_for(request, pk)
    rows = appraisals_visible_to(request.membership).filter(
        employee_id=appraisal.employee_id
    )
    if not access.sees_provisional:
        rows = rows.filter(status__in=FINAL_STATUSES)
    points = person_trend(rows)
    context = {
        "points": points,
        "chart": charts.person_chart(appraisal.employee.full_name, points),
        "title": _("Final score per cycle"),
    }
    if request.htmx:
        return render(request, "reporting/partials/appraisal_trend.html", context)
    return render(
        request, "reporting/appraisal_trend.html", {**context, "appraisal": appraisal}
    )


@require_POST
def export(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Ask for an export of what a dashboard (the posted ``dashboard``) shows with
    the posted filters (the page's own), as CSV or XLSX; on to the job's page, where
    it shows progress. Filters that are not valid any more, or a refused export, go
    back to the dashboard with the reason; a member who may not open the dashboard
    gets 403."""
    data = request.POST.copy()
    try:
        chosen = Dashboard(data.pop("dashboard", [""])[-1])
    except ValueError:
        return HttpResponseBadRequest(_("Choose one of the dashboards to export."))
    file_format = data.pop("file_format", [""])[-1]
    data.pop("csrfmiddlewaretoken", None)
    report = open_report(request.membership, chosen, data)
    back = reverse(f"reporting:{chosen.value}", args=[org_slug])
    if not report.valid:
        messages.error(
            request,
            _(
                "These filters are not valid any more, so nothing was exported. "
                "Reset the filters and try again."
            ),
        )
        return redirect(back)
    try:
        job = request_export(
            actor=request.membership,
            kind=dataset_kind(chosen),
            file_format=file_format,
            parameters=report.parameters(),
        )
    except DomainError as error:
        messages.error(request, str(error))
        return redirect(back)
    return redirect("reporting:job_detail", org_slug, job.pk)


urlpatterns = [
    path("reports/", reports_home, name="home"),
    *[path(f"reports/{d.value}/", _dashboard_view(d), name=d.value) for d in Dashboard],
    path("reports/engagements/<int:pk>/", engagement_report, name="engagement"),
    path("reports/export/", export, name="export"),
    path("reports/appraisals/<int:pk>/trend/", appraisal_trend, name="appraisal_trend"),
]
