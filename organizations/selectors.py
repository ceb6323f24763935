"""Read queries of the organizations app: who may see which people.

``employees_visible_to`` is *the* definition of employee visibility; lists, detail
pages and later exports start from it. ``get_employee_for`` is the access gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from organizations.history import timeline
from organizations.http import TenantRequest
from organizations.models import (
    BusinessUnit,
    Employee,
    Invitation,
    JobTitle,
    Membership,
    OutboxMessage,
)
from organizations.permissions import can_manage_people
from organizations.search import Hits, SearchGroup, SearchResult, first_hits, matched


def employees_visible_to(membership: Membership) -> QuerySet[Employee]:
    """Employees the member may see: HR admins all; others themselves and direct reports.

    Must run inside the membership's tenant scope. Builds a queryset; no query.
    """
    qs = Employee.objects.all()
    if membership.is_hr_admin:
        return qs
    return qs.filter(
        Q(user_id=membership.user_id) | Q(line_manager__user_id=membership.user_id)
    )


def get_employee_for(request: TenantRequest, pk: int, perm: str = "view") -> Employee:
    """The employee ``pk`` if the caller may see it, else 404; 403 if ``perm`` is refused.

    ``perm`` is ``"view"`` or ``"change"``. One query.
    """
    membership = request.membership
    employee = (
        employees_visible_to(membership)
        .select_related("job_title", "business_unit", "line_manager", "user")
        .filter(pk=pk)
        .first()
    )
    if employee is None:
        raise Http404("No such employee.")
    if perm == "change" and not can_manage_people(membership):
        raise PermissionDenied
    return employee


def people_directory(membership: Membership) -> QuerySet[Employee]:
    """The directory list: visible employees with what each row shows, in one query."""
    return employees_visible_to(membership).select_related(
        "job_title", "business_unit", "line_manager"
    )


def search_people(
    membership: Membership, query: str, *, limit: int, vendor: str | None = None
) -> Hits:
    """The first ``limit`` directory entries the member may open that match
    ``query`` (every word in the name, code or e-mail address; on PostgreSQL also a
    name close to it, see ``organizations.search.matched``), with their total. One
    query."""
    found = matched(
        people_directory(membership),
        query,
        fields=("search_text",),
        similar=("full_name",),
        order=("full_name", "code", "pk"),
        vendor=vendor,
    )
    return first_hits(found, limit)


def people_search_group(request: TenantRequest, query: str, limit: int) -> SearchGroup:
    """Search's people: the entries whose page the member may open
    (``employees_visible_to``), each with its code, job title and unit; "show all"
    is the directory's search, for those who may open the directory. One query."""
    membership = request.membership
    hits = search_people(membership, query, limit=limit)
    slug = request.organization.slug
    results = [
        SearchResult(
            label=employee.full_name,
            url=reverse("organizations:employee_detail", args=[slug, employee.pk]),
            secondary=" · ".join(
                part
                for part in (
                    employee.code,
                    employee.job_title.name if employee.job_title else "",
                    employee.business_unit.name if employee.business_unit else "",
                    "" if employee.is_active else gettext("inactive"),
                )
                if part
            ),
        )
        for employee in hits.rows
    ]
    show_all = None
    if can_manage_people(membership):
        show_all = (
            reverse("organizations:people", args=[slug]) + "?" + urlencode({"q": query})
        )
    return SearchGroup(
        key="people",
        title=gettext("People"),
        results=results,
        total=hits.total,
        show_all_url=show_all,
        order=10,
    )


def membership_of(employee: Employee) -> Membership | None:
    """The membership of the person behind ``employee`` in the current organisation
    (active or not); None without a login. One query when the entry has a login."""
    if not employee.user_id:
        return None
    return Membership.objects.filter(user_id=employee.user_id).first()


def memberships_by_user(user_ids: list[int]) -> dict[int, Membership]:
    """The active-or-not memberships of the current organisation for these users."""
    return {m.user_id: m for m in Membership.objects.filter(user_id__in=user_ids)}


def pending_invitations() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by", "employee")


@dataclass(frozen=True)
class HrOverview:
    active_employees: int
    inactive_employees: int
    without_manager: int
    without_login: int
    pending_invitations: int


def hr_overview() -> HrOverview:
    """Headline figures for the HR admin's home page. Two queries: one aggregate over
    the directory's indexed columns (an index-only scan once vacuumed), and the
    count of pending invitations."""
    has_reports = Employee.objects.filter(line_manager=OuterRef("pk"))
    counts = Employee.objects.aggregate(
        active=Count("pk", filter=Q(is_active=True)),
        inactive=Count("pk", filter=Q(is_active=False)),
        # The top of the hierarchy (no manager, but reports) is not a gap to fill.
        without_manager=Count(
            "pk",
            filter=Q(is_active=True, line_manager__isnull=True) & ~Exists(has_reports),
        ),
        without_login=Count("pk", filter=Q(is_active=True, user__isnull=True)),
    )
    return HrOverview(
        active_employees=counts["active"],
        inactive_employees=counts["inactive"],
        without_manager=counts["without_manager"],
        without_login=counts["without_login"],
        pending_invitations=pending_invitations().count(),
    )


def direct_reports_of(employee: Employee | None) -> QuerySet[Employee]:
    if employee is None:
        return Employee.objects.none()
    return Employee.objects.filter(
        line_manager=employee, is_active=True
    ).select_related("job_title", "business_unit")


def employee_history(employee: Employee) -> list[dict[str, object]]:
    """The change timeline of one employee, newest first: who, when, before, after.

    Two to five queries whatever the length: the history rows, then one per kind of
    referenced object (job title, business unit, line manager) to name them.
    """
    records = list(
        employee.history.select_related("history_user").order_by("history_date")
    )
    return timeline(records)


def business_units_with_head_counts() -> QuerySet[BusinessUnit]:
    """Business units by name, each with its parent and ``people`` (how many entries
    are filed under it). Builds a queryset; one query when run."""
    # Meta.ordering does not apply to GROUP BY queries; paginating needs an order.
    return (
        BusinessUnit.objects.select_related("parent")
        .annotate(people=Count("employees"))
        .order_by("name")
    )


def job_titles_with_head_counts() -> QuerySet[JobTitle]:
    """Job titles by name, each with ``people`` (how many entries hold it). Builds a
    queryset; one query when run."""
    # Meta.ordering does not apply to GROUP BY queries; paginating needs an order.
    return JobTitle.objects.annotate(people=Count("employees")).order_by("name")


# --- Background work (the outbox) ------------------------------------------------------

# What each kind of background work is called on HR's page; a task missing here shows
# its technical name.
TASK_LABELS = {
    "organizations.tasks.deliver_email": _("Notification e-mail"),
    "organizations.tasks.send_invitation_email": _("Invitation e-mail"),
    "appraisals.recompute_appraisal": _("Score recomputation of one appraisal"),
    "appraisals.recompute_cycle_step": _("Score recomputation of a cycle (one step)"),
    "appraisals.open_early_evaluations": _("Opening early evaluations"),
    "feedback.tasks.send_request_reminders_for": _("Feedback request reminders"),
    "reporting.run_report_job": _("Report export"),
    "reporting.delete_expired_reports": _("Deleting expired report files"),
}


@dataclass(frozen=True)
class OutboxProblem:
    message: OutboxMessage
    label: str


@dataclass(frozen=True)
class OutboxBacklog:
    """The organisation's background work still owed, for HR's page."""

    waiting: (
        int  # not yet handed to a worker (the broker was unreachable, or just owed)
    )
    running: int  # handed to a worker, not completed yet
    failed: int  # gave up after OUTBOX_MAX_ATTEMPTS; HR may retry
    completed_last_day: int
    oldest_owed_at: datetime | None
    problems: list[OutboxProblem]  # failed rows and rows with an error, newest first


def outbox_backlog(*, problem_limit: int = 50) -> OutboxBacklog:
    """Counts of the active organisation's owed background work and its failures.
    Two queries."""
    day_ago = timezone.now() - timedelta(days=1)
    owed = Q(completed_at__isnull=True, failed_at__isnull=True)
    counts = OutboxMessage.objects.aggregate(
        waiting=Count("pk", filter=owed & Q(dispatched_at__isnull=True)),
        running=Count("pk", filter=owed & Q(dispatched_at__isnull=False)),
        failed=Count(
            "pk", filter=Q(completed_at__isnull=True, failed_at__isnull=False)
        ),
        completed=Count("pk", filter=Q(completed_at__gte=day_ago)),
        oldest=Min("created_at", filter=Q(completed_at__isnull=True)),
    )
    problems = [
        OutboxProblem(message, str(TASK_LABELS.get(message.task, message.task)))
        for message in OutboxMessage.objects.filter(completed_at__isnull=True)
        .filter(Q(failed_at__isnull=False) | ~Q(last_error=""))
        .order_by("-created_at")[:problem_limit]
    ]
    return OutboxBacklog(
        waiting=counts["waiting"],
        running=counts["running"],
        failed=counts["failed"],
        completed_last_day=counts["completed"],
        oldest_owed_at=counts["oldest"],
        problems=problems,
    )
