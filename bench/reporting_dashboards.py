"""The dashboards bench/reporting.py measures: each dashboard of the reporting app as
the HR admin, the line manager and the employee open it (``dashboard_pages``: the
bare pages, which bench/pages.py measures among every other page too), and the same
with filters that name rows of the seeded organisation (``dashboard_table``: a
closed cycle, a business unit, a client, a person, the heatmap's columns), with the
queries that find those rows in the seeded world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.page_runner import EMPLOYEE, HR, MANAGER, Page, World

# The filters of a dashboard's query string that name rows of the organisation, found
# in the seeded world (inside its tenant context): name → value.
Filters = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Dashboard:
    """A dashboard as a role opens it, with the filters that name rows of the
    organisation (its static query string, if any, is the page's)."""

    page: Page
    filters: Filters | None = None


# --- What is measured ----------------------------------------------------------------


def _finders() -> dict[str, Callable[[World], Any]]:
    """The queries whose first row by primary key a dashboard is opened on or
    filtered by, the same kind of row at both sizes."""
    from appraisals.enums import AppraisalStatus
    from appraisals.models import Appraisal
    from engagements.enums import CycleStatus, EngagementRole, PlanKind
    from engagements.models import Engagement, Plan

    def staffed_engagement(w: World) -> Any:
        """An engagement the employee login is staffed on in the cycle in review."""
        plans = Plan.objects.filter(
            employee=w.employee,
            kind=PlanKind.ENGAGEMENT,
            cycle__status=CycleStatus.REVIEW,
        )
        return Engagement.objects.filter(pk__in=plans.values("engagement"))

    def reviewed_engagement(w: World) -> Any:
        """An engagement the manager login reviews (their line's are not always
        staffed: directors' reports are managers)."""
        return Engagement.objects.filter(
            role_assignments__employee=w.manager,
            role_assignments__role=EngagementRole.REVIEWER,
        )

    def own_appraisal(w: World) -> Any:
        return Appraisal.objects.filter(
            employee=w.employee, cycle__status=CycleStatus.REVIEW
        )

    def report_appraisal(w: World) -> Any:
        """A direct report's, open, so that its provisional scores count."""
        return Appraisal.objects.filter(
            employee__line_manager=w.manager,
            cycle__status=CycleStatus.REVIEW,
            status=AppraisalStatus.OPEN,
        )

    return {
        "staffed_engagement": staffed_engagement,
        "reviewed_engagement": reviewed_engagement,
        "own_appraisal": own_appraisal,
        "report_appraisal": report_appraisal,
    }


def _first_pk(queryset: Any, what: str) -> int:
    pk = queryset.order_by("pk").values_list("pk", flat=True).first()
    if pk is None:
        raise LookupError(f"no {what}")
    return int(pk)


def closed_cycle(w: World) -> dict[str, Any]:
    """The first closed cycle: finalised appraisals instead of open ones."""
    from engagements.enums import CycleStatus
    from engagements.models import ReviewCycle

    cycles = ReviewCycle.objects.filter(status=CycleStatus.CLOSED)
    return {"cycle": _first_pk(cycles, "closed cycle")}


def employee_unit(w: World) -> dict[str, Any]:
    """The employee login's business unit: a team (one per level-two manager)."""
    return {"business_unit": w.employee.business_unit_id}


def staffed_client(w: World) -> dict[str, Any]:
    """The client of an engagement the employee login is staffed on."""
    from engagements.models import Client

    engagements = _finders()["staffed_engagement"](w)
    clients = Client.objects.filter(pk__in=engagements.values("client"))
    return {"client": _first_pk(clients, "client of the employee's engagements")}


def the_employee(w: World) -> dict[str, Any]:
    return {"employee": w.employee.pk}


def a_direct_report(w: World) -> dict[str, Any]:
    """A person of the manager's line: their first direct report (the reporting
    scope counts direct reports)."""
    from organizations.models import Employee

    reports = Employee.objects.filter(line_manager=w.manager)
    return {"employee": _first_pk(reports, "direct report of the manager")}


def dashboard_pages() -> list[Page]:
    """The dashboards opened without filters that name rows of the organisation: the
    HR admin's, and the line manager's of those a line manager may open (the
    reviewer consistency is HR's); and the score trend the appraisal page loads, for
    each role. bench/pages.py measures these too."""
    find = _finders()
    H = True  # a section that the appraisal page loads with HTMX
    # fmt: off
    return [
        # role   label                                  url name                   object / query
        Page(HR, "reports", "reporting:home"),
        Page(HR, "reports: overview", "reporting:overview"),
        Page(HR, "reports: scores", "reporting:scores"),
        Page(HR, "reports: competencies", "reporting:competencies"),
        Page(HR, "reports: competencies by job title", "reporting:competencies", query="columns=job_title"),
        Page(HR, "reports: competencies by engagement type", "reporting:competencies", query="columns=engagement_type"),
        Page(HR, "reports: engagements", "reporting:engagements"),
        Page(HR, "reports: engagement", "reporting:engagement", find["staffed_engagement"]),
        Page(HR, "reports: reviewers", "reporting:reviewers"),
        Page(HR, "reports: trends", "reporting:trends"),
        Page(HR, "appraisal: score trend section", "reporting:appraisal_trend", find["own_appraisal"], htmx=H),

        Page(MANAGER, "reports", "reporting:home"),
        Page(MANAGER, "reports: overview", "reporting:overview"),
        Page(MANAGER, "reports: scores", "reporting:scores"),
        Page(MANAGER, "reports: competencies", "reporting:competencies"),
        Page(MANAGER, "reports: competencies by job title", "reporting:competencies", query="columns=job_title"),
        Page(MANAGER, "reports: engagements", "reporting:engagements"),
        Page(MANAGER, "reports: engagement (reviewed)", "reporting:engagement", find["reviewed_engagement"]),
        Page(MANAGER, "reports: trends", "reporting:trends"),
        Page(MANAGER, "appraisal (a report's): score trend", "reporting:appraisal_trend", find["report_appraisal"], htmx=H),

        Page(EMPLOYEE, "appraisal: score trend section", "reporting:appraisal_trend", find["own_appraisal"], htmx=H),
    ]
    # fmt: on


def dashboard_table() -> list[Dashboard]:
    """``dashboard_pages()`` and the dashboards with filters that name rows of the
    organisation."""

    # fmt: off
    filtered = [
        Dashboard(Page(HR, "reports: overview, a closed cycle", "reporting:overview"), closed_cycle),
        Dashboard(Page(HR, "reports: overview, a business unit", "reporting:overview"), employee_unit),
        Dashboard(Page(HR, "reports: scores, a business unit", "reporting:scores"), employee_unit),
        Dashboard(Page(HR, "reports: engagements, a client", "reporting:engagements"), staffed_client),
        Dashboard(Page(HR, "reports: reviewers, a closed cycle", "reporting:reviewers"), closed_cycle),
        Dashboard(Page(HR, "reports: trends, one person", "reporting:trends"), the_employee),
        Dashboard(Page(MANAGER, "reports: overview, a closed cycle", "reporting:overview"), closed_cycle),
        Dashboard(Page(MANAGER, "reports: trends, one person", "reporting:trends"), a_direct_report),
    ]
    # fmt: on
    return [Dashboard(p) for p in dashboard_pages()] + filtered
