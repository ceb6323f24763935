"""The competency library's search and filters (django-filter).

Archived competencies are hidden unless the status filter asks for them.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from competencies.models import Competency, CompetencyCategory

ACTIVE, ARCHIVED, ALL = "active", "archived", "all"


class CompetencyFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    category = django_filters.ModelChoiceFilter(
        label=_("Category"), queryset=None, empty_label=_("All categories")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[
            (ARCHIVED, _("Archived only")),
            (ALL, _("In use and archived")),
        ],
        method="filter_status",
        empty_label=_("In use (not archived)"),
    )

    class Meta:
        model = Competency
        fields = ["q", "category", "status"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices come from the active tenant scope, set per request.
        self.filters["category"].queryset = CompetencyCategory.objects.order_by("name")

    @property
    def qs(self) -> QuerySet[Competency]:
        # An unbound filter set (no query string) does not filter at all.
        if not self.is_bound:
            return super().qs.filter(is_archived=False)
        return super().qs

    def filter_queryset(self, queryset: QuerySet[Competency]) -> QuerySet[Competency]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(is_archived=False)
        return queryset

    def search(
        self, queryset: QuerySet[Competency], name: str, value: str
    ) -> QuerySet[Competency]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(description__icontains=value)
        )

    def filter_status(
        self, queryset: QuerySet[Competency], name: str, value: str
    ) -> QuerySet[Competency]:
        if value == ARCHIVED:
            return queryset.filter(is_archived=True)
        return queryset
