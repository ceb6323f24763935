"""Filters for the client and engagement lists (django-filter).

Choices come from the active tenant scope, set per request; the engagement filter's
client is a picker (``organizations.pickers``) over the clients of the engagements the
member may see.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from engagements.enums import EngagementStatus
from engagements.forms import DATE
from engagements.models import Client, Engagement
from organizations.pickers import PickerFilter


def _search_text(value: str) -> str:
    return value.strip()


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = Client
        fields = ["q"]

    def search(
        self, queryset: QuerySet[Client], name: str, value: str
    ) -> QuerySet[Client]:
        value = _search_text(value)
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(industry__icontains=value)
            | Q(contact_email__icontains=value)
        )


class EngagementFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error(
                "date_to",
                _("The 'To' date is before the 'From' date; pick a later 'To' date."),
            )
        return cleaned


class EngagementFilter(django_filters.FilterSet):
    """Search, client, status, business unit and a date range.

    The date range keeps engagements that overlap [from, to]: they end on or after
    ``from`` and start on or before ``to``; either bound may be left empty.
    """

    q = django_filters.CharFilter(label=_("Search"), method="search")
    client = PickerFilter(
        source="clients", label=_("Client"), empty_label=_("All clients")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=EngagementStatus.choices,
        empty_label=_("Any status"),
    )
    business_unit = PickerFilter(
        source="business_units", label=_("Business unit"), empty_label=_("All units")
    )
    date_from = django_filters.DateFilter(
        label=_("From"),
        field_name="end_date",
        lookup_expr="gte",
        widget=DATE,
    )
    date_to = django_filters.DateFilter(
        label=_("To"),
        field_name="start_date",
        lookup_expr="lte",
        widget=DATE,
    )

    class Meta:
        model = Engagement
        fields = ["q", "client", "status", "business_unit", "date_from", "date_to"]
        form = EngagementFilterForm

    def search(
        self, queryset: QuerySet[Engagement], name: str, value: str
    ) -> QuerySet[Engagement]:
        value = _search_text(value)
        if not value:
            return queryset
        return queryset.filter(
            Q(code__icontains=value)
            | Q(name__icontains=value)
            | Q(client__name__icontains=value)
        )
