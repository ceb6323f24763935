"""The dashboards' filters (django-filter), in the query string so that a filtered
view is a link one can share.

``AppraisalFilter`` narrows the appraisals a dashboard counts: by cycle, business
unit, job title, line manager, and (through an engagement plan of the same cycle)
engagement type and client. ``HeatmapFilter`` adds the heatmap's choice of columns.
Choices come from the active tenant scope; the line manager and client filters are
pickers (``organizations.pickers``) that render only the chosen row, so a page stays
the same size whatever the organisation's.

The filters only ever narrow what ``reporting.scope.ReportScope`` lets a viewer count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from appraisals.models import Appraisal
from engagements.enums import PlanKind
from engagements.models import Client, EngagementType, Plan, ReviewCycle
from organizations.pickers import PickerFilter

# The engagement analytics' rows: one per engagement, or per client.
BY_ENGAGEMENT, BY_CLIENT = "engagements", "clients"
# The heatmap's column choices: what its columns group the ratings by.
BY_BUSINESS_UNIT, BY_JOB_TITLE, BY_ENGAGEMENT_TYPE = (
    "business_unit",
    "job_title",
    "engagement_type",
)
COLUMN_CHOICES = [
    (BY_BUSINESS_UNIT, _("Business unit")),
    (BY_JOB_TITLE, _("Job title")),
    (BY_ENGAGEMENT_TYPE, _("Engagement type")),
]


class NameChoiceIterator(ModelChoiceIterator):
    """A named model's choices as (id, name), read in one plain query: no model
    instance per option and no server-side cursor (three round trips), for the
    selects every dashboard's filter bar draws (a hundred options or more). The
    label is the name, as the models' ``__str__`` gives it."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        field = self.field
        if field.empty_label is not None:
            yield ("", field.empty_label)
        if field.null_label is not None:
            yield (field.null_value, field.null_label)
        yield from self.queryset.values_list("pk", "name")


class NameChoiceField(ModelChoiceField):
    iterator = NameChoiceIterator


class NameChoiceFilter(django_filters.ModelChoiceFilter):
    """``ModelChoiceFilter`` over a model with a ``name`` (``NameChoiceIterator``)."""

    field_class = NameChoiceField


class AppraisalFilter(django_filters.FilterSet):
    """What the score dashboards filter on. ``cycle`` is applied by the page (the
    dashboards are about one cycle, the trends about all), so it is not a filter
    method here."""

    # The cycles are loaded once by the page (``reporting.figures.cycles``) and
    # passed in: their choices, the default and the chosen one cost one query.
    cycle = django_filters.ChoiceFilter(
        label=_("Review cycle"),
        choices=[],
        method="keep",
        empty_label=None,
    )
    business_unit = PickerFilter(
        source="business_units",
        label=_("Business unit"),
        field_name="employee__business_unit",
        empty_label=_("All units"),
    )
    job_title = PickerFilter(
        source="job_titles",
        label=_("Job title"),
        field_name="employee__job_title",
        empty_label=_("All job titles"),
    )
    line_manager = PickerFilter(
        source="report_line_managers",
        label=_("Line manager"),
        field_name="employee__line_manager",
        empty_label=_("Any line manager"),
    )
    engagement_type = NameChoiceFilter(
        label=_("Engagement type"),
        queryset=EngagementType.objects.none(),
        method="by_engagement_type",
        empty_label=_("All types"),
    )
    client = PickerFilter(
        source="clients",
        label=_("Client"),
        method="by_client",
        empty_label=_("All clients"),
    )

    class Meta:
        model = Appraisal
        fields = [
            "cycle",
            "business_unit",
            "job_title",
            "line_manager",
            "engagement_type",
            "client",
        ]

    def __init__(
        self, *args: Any, cycles: list[ReviewCycle] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if "cycle" in self.filters:
            self.filters["cycle"].extra["choices"] = [
                (str(c.pk), c.name) for c in cycles or []
            ]
        self.filters["engagement_type"].queryset = EngagementType.objects.order_by(
            "name"
        )

    def keep(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset

    def _with_engagement_plan(
        self, queryset: QuerySet[Appraisal], **match: Any
    ) -> QuerySet[Appraisal]:
        plans = Plan.objects.filter(
            employee_id=OuterRef("employee_id"),
            cycle_id=OuterRef("cycle_id"),
            kind=PlanKind.ENGAGEMENT,
            **match,
        )
        return queryset.filter(Exists(plans))

    def by_engagement_type(
        self, queryset: QuerySet[Appraisal], name: str, value: EngagementType
    ) -> QuerySet[Appraisal]:
        return self._with_engagement_plan(queryset, engagement__engagement_type=value)

    def by_client(
        self, queryset: QuerySet[Appraisal], name: str, value: Client
    ) -> QuerySet[Appraisal]:
        return self._with_engagement_plan(queryset, engagement__client=value)

    def query_string(self, *, without: tuple[str, ...] = ()) -> str:
        """The bound values as a query string (for links and exports)."""
        query = QueryDict(mutable=True)
        for name in self.filters:
            value = (self.data or {}).get(name)
            if value and name not in without:
                query[name] = value
        return query.urlencode()


class OverviewFilter(AppraisalFilter):
    """The cycle overview: a cycle, a business unit and a line manager (the rest
    narrows scores, not progress)."""

    class Meta(AppraisalFilter.Meta):
        fields = ["cycle", "business_unit", "line_manager"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("job_title", "engagement_type", "client"):
            del self.filters[name]


class HeatmapFilter(AppraisalFilter):
    columns = django_filters.ChoiceFilter(
        label=_("Columns"),
        choices=COLUMN_CHOICES,
        method="keep",
        empty_label=None,
    )

    class Meta(AppraisalFilter.Meta):
        fields = [*AppraisalFilter.Meta.fields, "columns"]


class TrendFilter(AppraisalFilter):
    """The trends: every cycle, the same narrowing, and one person to follow."""

    employee = PickerFilter(
        source="report_people",
        label=_("Person"),
        method="keep",
        empty_label=_("Nobody in particular"),
    )

    class Meta(AppraisalFilter.Meta):
        fields = [*AppraisalFilter.Meta.fields, "employee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.filters["cycle"]


class EngagementFilter(AppraisalFilter):
    """Engagement analytics: a cycle, an engagement type and a client, and whether
    the table lists engagements or clients."""

    by = django_filters.ChoiceFilter(
        label=_("One row per"),
        choices=[(BY_ENGAGEMENT, _("Engagement")), (BY_CLIENT, _("Client"))],
        method="keep",
        empty_label=None,
    )

    class Meta(AppraisalFilter.Meta):
        fields = ["cycle", "engagement_type", "client", "by"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("business_unit", "job_title", "line_manager"):
            del self.filters[name]

    def filter_plans(self, plans: QuerySet[Plan]) -> QuerySet[Plan]:
        """``plans`` narrowed to the chosen engagement type and client."""
        if not self.is_bound or not self.is_valid():
            return plans
        data = self.form.cleaned_data
        if data.get("engagement_type"):
            plans = plans.filter(engagement__engagement_type=data["engagement_type"])
        if data.get("client"):
            plans = plans.filter(engagement__client=data["client"])
        return plans
