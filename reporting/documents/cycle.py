"""The cycle report: one review cycle's figures as a PDF, for whoever may open the
cycle dashboards (``reporting.permissions``: HR admins, and members with someone
in their line), counting what those dashboards count for them (``ReportScope``).

Its figures are the dashboards' own, unfiltered, for the chosen cycle: each section
opens its dashboard's report (``reporting.reports.open_report``) and computes it
(``compute``), so that the PDF shows what the pages show the reader (HR's from the
tallies, a manager's from their line's rows). It holds the overview's completion
(plans, reviews and appraisals by status, the overdue work), the score
distribution with its histogram drawn as SVG (``reporting.svg``), the competency
heatmap's first page of columns (fewer than three ratings: the count, no average),
reviewer consistency's first page (HR admins only, as the dashboard), and the
people with the highest and the lowest goal attainment
(``reporting.figures.attainment``) among those the reader counts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagements.models import ReviewCycle
from organizations.models import Membership
from reporting import svg
from reporting.documents.base import Document, Params
from reporting.figures.attainment import EXTREMES, attainment_extremes
from reporting.figures.cycles import report_cycles
from reporting.figures.distribution import Distribution
from reporting.figures.stats import MIN_GROUP
from reporting.permissions import Dashboard, dashboards_for, require
from reporting.reports import Report, compute, open_report
from reporting.scope import ReportScope

# A heatmap of more columns than this is printed on a landscape page.
WIDE_FROM = 6
# The dashboards whose figures the report holds, in its order (those the reader
# may open).
SECTIONS = (
    Dashboard.OVERVIEW,
    Dashboard.SCORES,
    Dashboard.COMPETENCIES,
    Dashboard.REVIEWERS,
)


def _subject(membership: Membership, params: Params) -> ReviewCycle | None:
    """The cycle ``params["cycle"]`` if the member may open the cycle overview and
    the dashboards may show it (``report_cycles``: never a draft, never another
    organisation's). Two queries at most for the gate, one for the cycles."""
    try:
        pk = int(params.get("cycle", 0))
    except (TypeError, ValueError):
        return None
    try:
        require(ReportScope(membership), Dashboard.OVERVIEW)
    except PermissionDenied:
        return None
    return next((c for c in report_cycles() if c.pk == pk), None)


def _histogram(distribution: Distribution | None) -> SafeString:
    """The final scores' bins as bars (the dashboard's histogram)."""
    if distribution is None or distribution.is_empty:
        return SafeString("")
    highest = max(b.count for b in distribution.histogram)
    return svg.bars(
        [(b.label, Decimal(b.count)) for b in distribution.histogram],
        maximum=Decimal(highest or 1),
        title=_("Appraisals by final score"),
    )


def _attainment_plans(report: Report, cycle: ReviewCycle) -> Any:
    """The plans of ``cycle`` whose goals rank people: HR's every plan; a
    manager's those of their line, the people the dashboards count for them
    (their engagement roles' plans count in the engagement analytics, not here)."""
    plans = report.plans_in(cycle)
    if report.scope.is_hr:
        return plans
    return plans.filter(employee_id__in=report.scope.employee_ids())


def cycle_html(membership: Membership, cycle: ReviewCycle) -> str:
    """The cycle report's HTML for ``membership``. A fixed number of queries
    whatever the cycle's size: per section its dashboard's cycles (one) and figures
    (each figure module's docstring), and one for the attainment ranking; 20 for
    an HR admin, 14 for a line manager."""
    scope = ReportScope(membership)
    allowed = dashboards_for(scope)
    reports = {
        d: open_report(membership, d, {"cycle": str(cycle.pk)})
        for d in SECTIONS
        if d in allowed
    }
    figures = {d.value: compute(report) for d, report in reports.items()}
    overview = reports[Dashboard.OVERVIEW]
    return render_to_string(
        "reporting/pdf/cycle.html",
        {
            "organization": membership.organization,
            "cycle": cycle,
            "overview": figures[Dashboard.OVERVIEW.value],
            "scores": figures.get(Dashboard.SCORES.value),
            "heatmap": figures.get(Dashboard.COMPETENCIES.value),
            "reviewers": figures.get(Dashboard.REVIEWERS.value),
            "shows_reviewers": Dashboard.REVIEWERS in reports,
            "attainment": attainment_extremes(_attainment_plans(overview, cycle)),
            "histogram": _histogram(figures.get(Dashboard.SCORES.value)),
            "is_hr": scope.is_hr,
            "min_ratings": MIN_GROUP,
            "wide_from": WIDE_FROM,
            "extremes": EXTREMES,
            "generated_at": timezone.localtime(),
        },
    )


def _title(cycle: ReviewCycle) -> str:
    return _("Cycle report · %(cycle)s") % {"cycle": cycle.name}


CYCLE_REPORT = Document(
    kind="cycle_pdf",
    label=gettext_lazy("Cycle report (PDF)"),
    subject=_subject,
    html=cycle_html,
    title=_title,
)
