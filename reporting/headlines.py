"""Headline figures of the current cycle on the home page of HR admins and line
managers, linking to the dashboards (``organizations.home`` section).

HR admins read them from the tallies the cycle progress page uses (two small
queries whatever the organisation's size); managers count the rows of their line.
Employees and members without a line get no section and pay no query beyond the
first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from appraisals.enums import FINAL_STATUSES, EvaluationStatus
from appraisals.selectors.progress import cycle_summary
from appraisals.tallies import refresh_without_triggers
from engagements.models import ReviewCycle
from organizations.enums import Role
from organizations.home import HomeSection
from organizations.http import TenantRequest
from reporting.figures.cycles import default_cycle
from reporting.scope import ReportScope


@dataclass(frozen=True)
class Headlines:
    cycle: ReviewCycle
    reviews: int
    approved: int
    overdue: int
    appraisals: int
    final: int

    @property
    def approved_percent(self) -> int | None:
        return self.approved * 100 // self.reviews if self.reviews else None


def headlines(scope: ReportScope, cycle: ReviewCycle) -> Headlines:
    """The cycle's headline figures for ``scope``. Two queries."""
    today = timezone.localdate()
    if scope.is_hr:
        refresh_without_triggers()  # SQLite: no triggers keep the tallies
        summary = cycle_summary(cycle, today)
        by_status = dict(summary.appraisals_by_status)
        evaluations = dict(summary.evaluations_by_status)
        return Headlines(
            cycle=cycle,
            reviews=summary.evaluations_total,
            approved=evaluations.get(str(EvaluationStatus.APPROVED.label), 0),
            overdue=summary.overdue,
            appraisals=summary.appraisals_total,
            final=sum(by_status.get(str(s.label), 0) for s in FINAL_STATUSES),
        )
    reviews = scope.reviews_in(cycle).aggregate(
        total=Count("pk"),
        approved=Count("pk", filter=Q(status=EvaluationStatus.APPROVED)),
        overdue=Count(
            "pk",
            filter=Q(due_date__lt=today) & ~Q(status=EvaluationStatus.APPROVED),
        ),
    )
    appraisals = (
        scope.appraisals()
        .filter(cycle=cycle)
        .aggregate(
            total=Count("pk"), final=Count("pk", filter=Q(status__in=FINAL_STATUSES))
        )
    )
    return Headlines(
        cycle=cycle,
        reviews=reviews["total"],
        approved=reviews["approved"],
        overdue=reviews["overdue"],
        appraisals=appraisals["total"],
        final=appraisals["final"],
    )


def headline_section(request: HttpRequest) -> HomeSection | None:
    """The section for HR admins and managers with a line in the current cycle.
    Three queries for HR admins (the cycle, two tallies), four for managers (the
    cycle, their line, two counts); none for employees."""
    membership = cast(TenantRequest, request).membership
    if membership.role not in (Role.HR_ADMIN, Role.MANAGER):
        return None
    cycle = default_cycle()
    if cycle is None:
        return None
    scope = ReportScope(membership)
    if not scope.is_hr and not scope.appraisals().filter(cycle=cycle).exists():
        return None
    slug = cast(TenantRequest, request).organization.slug
    return HomeSection(
        "reporting/home_headlines.html",
        {
            "headlines": headlines(scope, cycle),
            "overview_url": reverse("reporting:overview", args=[slug]),
            "scores_url": reverse("reporting:scores", args=[slug]),
            "reports_url": reverse("reporting:home", args=[slug]),
        },
        order=5,
    )
