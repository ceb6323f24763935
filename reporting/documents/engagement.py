"""The engagement report: one engagement as a PDF, for whoever may open its analytics
page (``reporting.scope.get_engagement_for_report``), counting what that page counts
for them (``ReportScope``).

It holds the engagement's roles, its team in every cycle (allocation, review status
and the score of approved reviews the reader may count), goal attainment per cycle
(the share of measured goals at or above target), the competency averages of the
reviews the reader may count (fewer than three ratings: the count, no average), and
client satisfaction per cycle with a bar chart (for readers of the surveys).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Q
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisals.enums import EvaluationStatus
from appraisals.models import CompetencyRating
from engagements.enums import PlanKind
from engagements.models import Engagement, Goal, RoleAssignment
from organizations.models import Membership
from reporting import svg
from reporting.documents.base import Document, Params
from reporting.figures.engagements import (
    AT_OR_ABOVE_TARGET,
    MEASURED,
    engagement_detail,
)
from reporting.figures.stats import rounded
from reporting.permissions import Dashboard, require
from reporting.scope import ReportScope, get_engagement_for_report, may_read_surveys

# A competency average needs this many ratings (as the heatmap's cells).
MIN_RATINGS = 3
CSAT_SCALE = Decimal(5)


@dataclass(frozen=True)
class Attainment:
    cycle: str
    goals: int
    met: int

    @property
    def share(self) -> Decimal | None:
        return rounded(Decimal(self.met * 100) / self.goals) if self.goals else None


@dataclass(frozen=True)
class CompetencyAverage:
    name: str
    ratings: int
    average: Decimal | None  # None below MIN_RATINGS


def _subject(membership: Membership, params: Params) -> Engagement | None:
    """The engagement ``params["engagement"]`` if the member may open its analytics
    page. One or two queries."""
    try:
        pk = int(params.get("engagement", 0))
    except (TypeError, ValueError):
        return None
    scope = ReportScope(membership)
    try:
        require(scope, Dashboard.ENGAGEMENTS)
        return get_engagement_for_report(scope, pk)
    except (PermissionDenied, Http404):
        return None


def engagement_html(membership: Membership, engagement: Engagement) -> str:
    """The engagement report's HTML for ``membership``. A fixed number of queries
    whatever the size of the team: the team and its reviews (two), the surveys
    (two), the roles, the goals per cycle, the competency averages."""
    scope = ReportScope(membership)
    plans = scope.plans().filter(engagement=engagement, kind=PlanKind.ENGAGEMENT)
    reviews = scope.reviews().filter(plan__engagement=engagement)
    reads_surveys = may_read_surveys(scope, engagement)
    detail = engagement_detail(
        engagement,
        plans=scope.plans(),
        reviews=scope.reviews(),
        may_read_surveys=reads_surveys,
    )
    roles = list(
        RoleAssignment.objects.filter(engagement=engagement)
        .select_related("employee")
        .order_by("role", "employee__full_name", "pk")
    )
    attainment = [
        Attainment(cycle=name, goals=goals, met=met or 0)
        for name, _start, goals, met in Goal.objects.filter(
            MEASURED, plan__in=plans.values("pk")
        )
        .values_list("plan__cycle__name", "plan__cycle__start_date")
        .annotate(goals=Count("pk"), met=Count("pk", filter=AT_OR_ABOVE_TARGET))
        .order_by("plan__cycle__start_date")
    ]
    averages = [
        CompetencyAverage(
            name=name, ratings=n, average=rounded(mean) if n >= MIN_RATINGS else None
        )
        for name, n, mean in CompetencyRating.objects.filter(
            Q(evaluation__in=reviews.values("pk"))
            & Q(
                evaluation__status__in=[
                    EvaluationStatus.SUBMITTED,
                    EvaluationStatus.APPROVED,
                ]
            ),
            not_applicable=False,
            value__isnull=False,
        )
        .values_list("plan_competency__competency__name")
        .annotate(n=Count("pk"), mean=Avg("value"))
        .order_by("plan_competency__competency__name")
    ]
    chart = None
    if detail.csat:
        chart = svg.bars(
            [(point.cycle, point.mean) for point in detail.csat],
            maximum=CSAT_SCALE,
            title=_("Mean client satisfaction per cycle (1–5)"),
        )
    return render_to_string(
        "reporting/pdf/engagement.html",
        {
            "organization": membership.organization,
            "engagement": engagement,
            "roles": roles,
            "figures": detail,
            "attainment": attainment,
            "averages": averages,
            "min_ratings": MIN_RATINGS,
            "csat_chart": chart,
            "generated_at": timezone.localtime(),
        },
    )


def _title(engagement: Engagement) -> str:
    return f"{engagement.name} · {engagement.client.name}"


ENGAGEMENT_REPORT = Document(
    kind="engagement_pdf",
    label=gettext_lazy("Engagement report (PDF)"),
    subject=_subject,
    html=engagement_html,
    title=_title,
)
