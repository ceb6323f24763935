"""Filters for the people directory (django-filter); the line manager is a picker
(``organizations.pickers``) over the people who have reports."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from organizations.models import BusinessUnit, Employee, JobTitle
from organizations.pickers import PickerFilter


class EmployeeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    business_unit = django_filters.ModelChoiceFilter(
        label=_("Business unit"), queryset=None, empty_label=_("All units")
    )
    job_title = django_filters.ModelChoiceFilter(
        label=_("Job title"), queryset=None, empty_label=_("All job titles")
    )
    line_manager = PickerFilter(
        source="managers", label=_("Line manager"), empty_label=_("Anyone")
    )
    is_active = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[("true", _("Active")), ("false", _("Inactive"))],
        method="filter_active",
        empty_label=_("Active and inactive"),
    )

    class Meta:
        model = Employee
        fields = ["q", "business_unit", "job_title", "line_manager", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices come from the active tenant scope, set per request.
        self.filters["business_unit"].queryset = BusinessUnit.objects.all()
        self.filters["job_title"].queryset = JobTitle.objects.all()

    def search(
        self, queryset: QuerySet[Employee], name: str, value: str
    ) -> QuerySet[Employee]:
        value = value.strip()
        if not value:
            return queryset
        # The name, code and e-mail address, upper-cased once when written.
        return queryset.filter(search_text__icontains=value)

    def filter_active(
        self, queryset: QuerySet[Employee], name: str, value: str
    ) -> QuerySet[Employee]:
        if value in ("true", "false"):
            return queryset.filter(is_active=value == "true")
        return queryset
