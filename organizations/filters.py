"""Filters for the people directory (django-filter); the business unit, job title
and line manager are pickers (``organizations.pickers``), the line manager over the
people who have reports."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from organizations.models import Employee
from organizations.pickers import PickerFilter


class EmployeeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    business_unit = PickerFilter(
        source="business_units", label=_("Business unit"), empty_label=_("All units")
    )
    job_title = PickerFilter(
        source="job_titles", label=_("Job title"), empty_label=_("All job titles")
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
