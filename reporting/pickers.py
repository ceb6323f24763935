"""The dashboards' person pickers: choices limited to the people whose figures the
member may count (``ReportScope``), so a filter can name nobody else."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from organizations.models import Employee, Membership
from organizations.pickers import people_source
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


SOURCES = (
    people_source("report_people", counted_people),
    people_source("report_line_managers", counted_line_managers),
)
