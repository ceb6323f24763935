"""The dashboards' person pickers: choices limited to the people whose figures the
member may count (``ReportScope``), so a filter can name nobody else."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, QuerySet

from engagements.models import Engagement
from engagements.pickers import engagement_source
from organizations.models import Employee, Membership
from organizations.pickers import hr_admins, people_source
from reporting.scope import ReportScope


def counted_people(membership: Membership) -> QuerySet[Employee]:
    """HR admins: everyone; others: the people of their line. Builds only."""
    scope = ReportScope(membership)
    if scope.is_hr:
        return Employee.objects.all()
    return Employee.objects.filter(pk__in=scope.employee_ids())


def counted_line_managers(membership: Membership) -> QuerySet[Employee]:
    """People with a direct report among ``counted_people``. Builds only."""
    reports = counted_people(membership).filter(line_manager=OuterRef("pk"))
    return Employee.objects.filter(Exists(reports))


def report_recipients(membership: Membership) -> QuerySet[Employee]:
    """Whom HR may subscribe to a report: active people with an active login in
    this organisation. Builds only."""
    return Employee.objects.filter(
        is_active=True,
        user__is_active=True,
        user__memberships__organization_id=F("organization_id"),
        user__memberships__is_active=True,
    )


def report_engagements(membership: Membership) -> QuerySet[Engagement]:
    """The engagements whose analytics the member may open. Builds only."""
    return ReportScope(membership).engagements()


SOURCES = (
    people_source("report_people", counted_people),
    people_source("report_line_managers", counted_line_managers),
    people_source("report_recipients", report_recipients, hr_admins),
    engagement_source("report_engagements", report_engagements),
)
