"""A dashboard for one viewer: their scope, the filters they chose, the cycle, and
the figures. The dashboard pages and their exports both start here, so an export
holds exactly what its page shows.

``open_report`` checks the viewer may open the dashboard (``reporting.permissions``),
binds the filters (``reporting.filters``) and picks the cycle; ``compute`` returns
the dashboard's figures (``reporting.figures``). Filters that name nothing of this
organisation make the report invalid: no figures, the messages beside the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from appraisals.enums import EvaluationKind
from appraisals.models import Appraisal, Evaluation
from engagements.models import Plan, ReviewCycle
from feedback.selectors.access import feedback_visible_to
from organizations.lookups import Ids
from organizations.models import Membership
from reporting.figures.cycles import current_of, report_cycles, scale_of
from reporting.figures.distribution import (
    distribution_from_tallies,
    score_distribution,
)
from reporting.figures.engagements import engagement_analytics
from reporting.figures.heatmap import competency_heatmap, heatmap_from_tallies
from reporting.figures.overview import cycle_overview, overview_from_tallies
from reporting.figures.reviewers import (
    consistency_from_tallies,
    reviewer_consistency,
)
from reporting.figures.trends import person_trend, score_trends, trends_from_tallies
from reporting.filters import (
    BY_BUSINESS_UNIT,
    BY_ENGAGEMENT,
    AppraisalFilter,
    EngagementFilter,
    HeatmapFilter,
    OverviewFilter,
    TrendFilter,
)
from reporting.models import (
    CompetencyTally,
    DistributionTally,
    ScoreTally,
    TypeDistributionTally,
)
from reporting.permissions import Dashboard, require
from reporting.scope import ReportScope
from reporting.tallies import tally_filters

FILTERS: dict[Dashboard, type[AppraisalFilter]] = {
    Dashboard.OVERVIEW: OverviewFilter,
    Dashboard.SCORES: AppraisalFilter,
    Dashboard.COMPETENCIES: HeatmapFilter,
    Dashboard.ENGAGEMENTS: EngagementFilter,
    Dashboard.REVIEWERS: AppraisalFilter,
    Dashboard.TRENDS: TrendFilter,
}
# Filters that choose what to show rather than narrow who is counted.
NOT_NARROWING = ("cycle", "columns", "employee", "by")


@dataclass
class Report:
    """One viewer's dashboard with its filters bound."""

    dashboard: Dashboard
    scope: ReportScope
    filter: AppraisalFilter
    valid: bool
    cycle: ReviewCycle | None
    page: int = 1  # of a dashboard that pages its rows
    cycles: list[ReviewCycle] = field(default_factory=list)  # those it may show
    # Per cycle, the selected appraisals and people (``_selection``), and reviews.
    _selected: dict[int, tuple[Ids, Ids]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _reviews: dict[int, Ids] = field(default_factory=dict, repr=False, compare=False)

    @property
    def narrowed(self) -> bool:
        """Whether a filter that narrows who is counted is set."""
        data = self.filter.data or {}
        return any(
            data.get(name) for name in self.filter.filters if name not in NOT_NARROWING
        )

    @property
    def choices(self) -> dict[str, Any]:
        """The valid filters' cleaned values (empty when invalid or unbound)."""
        if not self.valid or not self.filter.is_bound:
            return {}
        return self.filter.form.cleaned_data

    def parameters(self) -> dict[str, str]:
        """The bound filters as plain strings, for an export of this report."""
        data = self.filter.data or {}
        values = {name: data.get(name) for name in self.filter.filters}
        if self.cycle is not None and "cycle" in self.filter.filters:
            values["cycle"] = str(self.cycle.pk)
        return {name: str(value) for name, value in values.items() if value}

    def tally_filters(self) -> dict[str, Any] | None:
        """The rating tallies' lookups that count what this report counts, or None
        when they cannot (``reporting.tallies.tally_filters``)."""
        data = self.filter.data or {}
        narrowing = {
            name: self.choices.get(name)
            for name in self.filter.filters
            if name not in NOT_NARROWING and data.get(name)
        }
        return tally_filters(is_hr=self.scope.is_hr, narrowing=narrowing)

    def appraisals(self) -> QuerySet[Appraisal]:
        """The scoped appraisals the filters select (every cycle)."""
        if not self.valid:
            return Appraisal.objects.none()
        return self.filter.qs

    def _selection(self, cycle: ReviewCycle) -> tuple[Ids, Ids]:
        """The appraisals of ``cycle`` that the narrowing filters select, and their
        people, read once (one query, the first time per cycle): a business unit or
        a line is a small part of the organisation, and lists of ids let a figure's
        query start from them through an index (the appraisals' reviews, the
        people's plans) instead of joining the filters' conditions again."""
        selected = self._selected.get(cycle.pk)
        if selected is None:
            rows = list(
                self.appraisals()
                .filter(cycle=cycle)
                .order_by()
                .values_list("pk", "employee_id")
                .distinct()  # a filter through plans may repeat an appraisal
            )
            selected = self._selected[cycle.pk] = (
                Ids(pk for pk, _ in rows),
                Ids(person for _, person in rows),
            )
        return selected

    def appraisals_in(self, cycle: ReviewCycle) -> QuerySet[Appraisal]:
        """The appraisals of ``cycle`` the filters select (by key when narrowed)."""
        if not self.narrowed:
            return self.appraisals().filter(cycle=cycle)
        return Appraisal.objects.filter(pk__any=self._selection(cycle)[0])

    def plans_in(self, cycle: ReviewCycle) -> QuerySet[Plan]:
        """The scope's plans of ``cycle``, of the selected people when narrowed."""
        plans = self.scope.plans_in(cycle)
        if not self.narrowed:
            return plans
        return plans.filter(employee_id__among=self._selection(cycle)[1])

    def reviews_in(
        self, cycle: ReviewCycle, *, read_once: bool = True
    ) -> QuerySet[Evaluation]:
        """The scope's reviews of the plans of ``cycle`` (``ReportScope.reviews_in``).

        Narrowed, they are the reviews of the appraisals of ``cycle`` that the
        filters select (a review belongs to the appraisal of its plan's cycle and
        person: ``appraisals.services.opening``), found by their appraisals' keys:
        a join on the plans' cycle would scan the cycle's plans (~29,000 at 10,000
        employees). With ``read_once`` their own ids are read next (one more query,
        the first time per cycle), for figures that read the reviews more than once or
        join them to their ratings; without, for a figure that reads them once
        (the overview), by appraisal."""
        if not self.narrowed:
            return self.scope.reviews_in(cycle)
        # The selected appraisals hold the cycle: HR admins need no join on the
        # plans, others read the cycle's ids (the same read as ``plans_in``'s).
        scoped = (
            self.scope.reviews() if self.scope.is_hr else self.scope.reviews_in(cycle)
        )
        reviews = scoped.filter(appraisal_id__any=self._selection(cycle)[0])
        if not read_once:
            return reviews
        ids = self._reviews.get(cycle.pk)
        if ids is None:
            ids = self._reviews[cycle.pk] = Ids(
                reviews.order_by().values_list("pk", flat=True)
            )
        return Evaluation.objects.filter(kind=EvaluationKind.REVIEW, pk__any=ids)


def open_report(
    membership: Membership,
    dashboard: Dashboard,
    data: QueryDict | dict[str, str] | None,
) -> Report:
    """The dashboard for ``membership`` with the filters ``data`` (the query
    string, or an export's parameters). Raises PermissionDenied when the member may
    not open it. One query for the cycles, one or two for the gate of members
    other than HR admins, and the filters' own when they are bound."""
    scope = ReportScope(membership)
    require(scope, dashboard)
    cycles = report_cycles()
    bound = QueryDict(mutable=True)
    bound.update(data or {})
    current = current_of(cycles)
    if not bound.get("cycle") and current is not None:
        # The form shows the cycle the figures are about, and links carry it.
        bound["cycle"] = str(current.pk)
    data = bound
    filterset = FILTERS[dashboard](
        data or None,
        queryset=scope.appraisals(),
        # Pickers read the member from the request.
        request=SimpleNamespace(membership=membership),
        cycles=cycles,
    )
    valid = not filterset.is_bound or filterset.is_valid()
    cycle = None
    if valid:
        chosen = (
            filterset.form.cleaned_data.get("cycle") if filterset.is_bound else None
        )
        cycle = next((c for c in cycles if str(c.pk) == chosen), current)
    page = data.get("page", "")
    return Report(
        dashboard,
        scope,
        filterset,
        valid,
        cycle,
        int(page) if page.isdigit() else 1,
        cycles,
    )


def compute(report: Report, today: date | None = None) -> Any:
    """The figures of ``report``'s dashboard, or None when it is invalid or there
    is no cycle to show (the trends need none). Each dashboard's query count is in
    its module's docstring."""
    if not report.valid:
        return None
    if report.dashboard == Dashboard.TRENDS:
        tallied = report.tally_filters()
        if tallied is not None:
            return trends_from_tallies(ScoreTally.objects.filter(**tallied))
        return score_trends(report.appraisals())
    cycle = report.cycle
    if cycle is None:
        return None
    if report.dashboard == Dashboard.OVERVIEW:
        if report.tally_filters() == {}:
            return overview_from_tallies(cycle, today=today or timezone.localdate())
        return cycle_overview(
            cycle,
            appraisals=report.appraisals_in(cycle),
            plans=report.plans_in(cycle),
            reviews=report.reviews_in(cycle, read_once=False),
            today=today or timezone.localdate(),
        )
    if report.dashboard == Dashboard.SCORES:
        appraisals = report.appraisals().filter(cycle=cycle)
        tallied = report.tally_filters()
        if tallied is not None:
            return distribution_from_tallies(
                DistributionTally.objects.filter(cycle=cycle, **tallied),
                cycle,
                scale_of(cycle),
                types=(
                    None
                    if tallied
                    else TypeDistributionTally.objects.filter(cycle=cycle)
                ),
                appraisals=appraisals,
            )
        return score_distribution(appraisals, cycle, scale_of(cycle))
    if report.dashboard == Dashboard.COMPETENCIES:
        columns = report.choices.get("columns") or BY_BUSINESS_UNIT
        tallied = report.tally_filters()
        if tallied is not None:
            return heatmap_from_tallies(
                CompetencyTally.objects.filter(cycle=cycle, **tallied),
                columns,
                page=report.page,
            )
        return competency_heatmap(
            report.reviews_in(cycle),
            columns,
            narrow=not report.scope.is_hr,
            page=report.page,
        )
    if report.dashboard == Dashboard.REVIEWERS:
        if report.tally_filters() == {}:
            return consistency_from_tallies(cycle, page=report.page)
        return reviewer_consistency(report.reviews_in(cycle), page=report.page)
    plans = report.scope.plans_in(cycle)
    if isinstance(report.filter, EngagementFilter):
        plans = report.filter.filter_plans(plans)
    return engagement_analytics(
        cycle,
        cycles=report.cycles,
        by=report.choices.get("by") or BY_ENGAGEMENT,
        page=report.page,
        plans=plans,
        reviews=report.scope.reviews_in(cycle),
        feedback=feedback_visible_to(report.scope.membership),
        survey_engagements=report.scope.survey_engagement_ids(),
        # A viewer other than HR counts their own plans, listed by id: few rows.
        few=not report.scope.is_hr,
    )


def followed_person(report: Report) -> tuple[str, list[Any]] | None:
    """On the trends: the chosen person's name and final score per cycle. One
    query (the person is loaded by the filter)."""
    employee = report.choices.get("employee")
    if employee is None:
        return None
    return employee.full_name, person_trend(
        report.appraisals().filter(employee=employee)
    )
