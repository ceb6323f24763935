"""Filters of HR's cycle progress page (django-filter): one over the cycle's
appraisals, one over its review evaluations not approved yet.

Both share the search box and the business unit, engagement and reviewer filters
(same names, so switching between the two lists keeps them); the evaluations also
filter by the approver they wait for. An appraisal matches an
engagement or a reviewer when one of its review evaluations does. The page's bulk
actions post the same fields back and act on exactly the rows they select.

Choices come from the active tenant scope, set per request; the engagement and
reviewer filters are pickers (``organizations.pickers``) that render only the chosen
row, so the page stays the same size whatever the organisation's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from appraisals.selectors.progress import ready_q
from appraisals.selectors.team import NO_APPRAISAL, filter_by_appraisal_status
from engagements.enums import EngagementRole
from engagements.models import Engagement, ReviewCycle, RoleAssignment
from organizations.models import BusinessUnit, Employee
from organizations.pickers import PickerFilter

READY = "ready"
OVERDUE = "overdue"


class _ProgressFilter(django_filters.FilterSet):
    """What both lists filter on. Subclasses implement the three ``by_*`` methods."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    business_unit = PickerFilter(
        source="business_units",
        label=_("Business unit"),
        method="by_business_unit",
        empty_label=_("All units"),
    )
    # Long lists: searchable pickers over every engagement and person the viewer may
    # see (one row rendered, the chosen one); the filter itself narrows to the cycle.
    engagement = PickerFilter(
        source="engagements",
        label=_("Engagement"),
        method="by_engagement",
        empty_label=_("All engagements"),
    )
    reviewer = PickerFilter(
        source="people",
        label=_("Reviewer"),
        method="by_reviewer",
        empty_label=_("Any reviewer"),
    )

    def __init__(
        self, *args: Any, cycle: ReviewCycle, today: date, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(employee__full_name__icontains=value) | Q(employee__code__icontains=value)
        )

    def by_business_unit(
        self, queryset: QuerySet[Any], name: str, value: BusinessUnit
    ) -> QuerySet[Any]:
        return queryset.filter(employee__business_unit=value)


class AppraisalProgressFilter(_ProgressFilter):
    """The cycle's appraisals: by status (or ready to finalise), business unit, and
    engagement or reviewer of one of their review evaluations."""

    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[
            (AppraisalStatus.OPEN.value, AppraisalStatus.OPEN.label),
            (READY, _("Ready to finalise")),
            (AppraisalStatus.FINALIZED.value, AppraisalStatus.FINALIZED.label),
            (AppraisalStatus.ACKNOWLEDGED.value, AppraisalStatus.ACKNOWLEDGED.label),
        ],
        method="by_status",
        empty_label=_("Any status"),
    )

    class Meta:
        model = Appraisal
        fields = ["q", "status", "business_unit", "engagement", "reviewer"]

    def by_status(
        self, queryset: QuerySet[Appraisal], name: str, value: str
    ) -> QuerySet[Appraisal]:
        if value == READY:
            return queryset.filter(ready_q())
        return queryset.filter(status=value)

    def _with_review(
        self, queryset: QuerySet[Appraisal], match: Q
    ) -> QuerySet[Appraisal]:
        reviews = Evaluation.objects.filter(
            match, appraisal=OuterRef("pk"), kind=EvaluationKind.REVIEW
        )
        return queryset.filter(Exists(reviews))

    def by_engagement(
        self, queryset: QuerySet[Appraisal], name: str, value: Engagement
    ) -> QuerySet[Appraisal]:
        return self._with_review(queryset, Q(plan__engagement=value))

    def by_reviewer(
        self, queryset: QuerySet[Appraisal], name: str, value: Employee
    ) -> QuerySet[Appraisal]:
        return self._with_review(queryset, Q(reviewer=value))


class EvaluationProgressFilter(_ProgressFilter):
    """The cycle's review evaluations not approved yet: by status (or overdue),
    business unit of the employee evaluated, engagement and reviewer."""

    state = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[
            (OVERDUE, _("Overdue")),
            (EvaluationStatus.DRAFT.value, EvaluationStatus.DRAFT.label),
            (EvaluationStatus.SUBMITTED.value, EvaluationStatus.SUBMITTED.label),
            (EvaluationStatus.RETURNED.value, EvaluationStatus.RETURNED.label),
        ],
        method="by_state",
        empty_label=_("Any status"),
    )

    # The reviews waiting on an approver: linked from the reporting overview's
    # "approvers with the most overdue approvals" (as that list counts them).
    approver = PickerFilter(
        source="people",
        label=_("Waiting for approver"),
        method="by_approver",
        empty_label=_("Any approver"),
    )

    class Meta:
        model = Evaluation
        fields = ["q", "state", "business_unit", "engagement", "reviewer", "approver"]

    def by_state(
        self, queryset: QuerySet[Evaluation], name: str, value: str
    ) -> QuerySet[Evaluation]:
        if value == OVERDUE:
            return queryset.filter(due_date__lt=self.today)
        return queryset.filter(status=value)

    def by_engagement(
        self, queryset: QuerySet[Evaluation], name: str, value: Engagement
    ) -> QuerySet[Evaluation]:
        return queryset.filter(plan__engagement=value)

    def by_reviewer(
        self, queryset: QuerySet[Evaluation], name: str, value: Employee
    ) -> QuerySet[Evaluation]:
        return queryset.filter(reviewer=value)

    def by_approver(
        self, queryset: QuerySet[Evaluation], name: str, value: Employee
    ) -> QuerySet[Evaluation]:
        """Submitted reviews on the engagements where ``value`` holds the approver
        role: the approvals they owe."""
        approves = RoleAssignment.objects.filter(
            employee=value, role=EngagementRole.APPROVER
        ).values("engagement_id")
        return queryset.filter(
            status=EvaluationStatus.SUBMITTED, plan__engagement_id__in=approves
        )


class TeamFilter(django_filters.FilterSet):
    """The "My team" page's filters over ``selectors.team.team_members``: search,
    business unit, appraisal status, direct or all reports, sorting and, for HR
    admins only, whose team (a picker; the view resolves it through
    ``get_team_manager_for``, so this filter never narrows by it)."""

    DIRECT, ALL = "direct", "all"

    q = django_filters.CharFilter(label=_("Search"), method="search")
    manager = PickerFilter(
        source="managers",
        label=_("Manager"),
        method="unchanged",
        empty_label=_("My own team"),
    )
    scope = django_filters.ChoiceFilter(
        label=_("Reports"),
        choices=[
            (DIRECT, _("Direct reports")),
            (ALL, _("Direct and indirect reports")),
        ],
        method="unchanged",
        empty_label=None,
    )
    business_unit = PickerFilter(
        source="business_units",
        label=_("Business unit"),
        field_name="business_unit",
        empty_label=_("All units"),
    )
    appraisal = django_filters.ChoiceFilter(
        label=_("Appraisal"),
        choices=[(NO_APPRAISAL, _("No appraisal yet")), *AppraisalStatus.choices],
        method="by_appraisal",
        empty_label=_("Any status"),
    )
    order = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=(
            ("full_name", "name"),
            ("business_unit__name", "unit"),
            ("appraisal_status", "appraisal"),
            ("appraisal_score", "score"),
        ),
        field_labels={
            "full_name": _("Name"),
            "business_unit__name": _("Business unit"),
            "appraisal_status": _("Appraisal status"),
            "appraisal_score": _("Score"),
        },
        empty_label=None,
        null_label=None,
    )

    class Meta:
        model = Employee
        fields = ["q", "manager", "scope", "business_unit", "appraisal", "order"]

    def __init__(self, *args: Any, is_hr_admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not is_hr_admin:
            # The picker's source is HR's only, and a member sees their own team.
            del self.filters["manager"]

    @property
    def indirect(self) -> bool:
        return (self.data or {}).get("scope") == self.ALL

    def unchanged(
        self, queryset: QuerySet[Any], name: str, value: Any
    ) -> QuerySet[Any]:
        return queryset

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(full_name__icontains=value) | Q(code__icontains=value))

    def by_appraisal(
        self, queryset: QuerySet[Employee], name: str, value: str
    ) -> QuerySet[Employee]:
        return filter_by_appraisal_status(queryset, value)
