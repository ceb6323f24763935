"""What the client and engagement page tests share: URLs, stored rows, form data,
query counts, and the people and engagement fixtures."""

from __future__ import annotations

import html
import re
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.enums import EngagementStatus
from engagements.models import Client, Engagement
from engagements.services.roles import assign_role
from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context

QUERY_BUDGET = 15
INVALID_CHOICE = (
    "Select a valid choice. That choice is not one of the available choices."
)


def page_url(name: str, org: Any, *args: Any) -> str:
    return reverse(f"engagements:{name}", args=[org.slug, *args])


def field_error(page: str, name: str) -> str | None:
    """The error text shown under field ``name``, unescaped, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def employee_of(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def give_role(engagement: Engagement, member: Membership, role: str) -> None:
    with tenant_context(engagement.organization):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=Employee.objects.get(user=member.user),
            role=role,
        )


def stored_clients(org: Any) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(Client.objects.order_by("pk").values())


def stored_engagements(org: Any) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(Engagement.objects.order_by("pk").values())


def stored_fields(obj: Any) -> dict[str, Any]:
    with tenant_context(obj.organization):
        return type(obj).objects.filter(pk=obj.pk).values().get()


def listed_names(response: Any, key: str = "engagements") -> list[str]:
    return [item.name for item in response.context[key]]


def query_count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def engagement_data(owner: Client, **overrides: Any) -> dict[str, Any]:
    data = {
        "client": owner.pk,
        "code": "NEW-01",
        "name": "New engagement",
        "description": "",
        "business_unit": "",
        "start_date": "2025-01-01",
        "end_date": "2025-06-30",
        "status": EngagementStatus.PLANNED,
    }
    data.update(overrides)
    return data


def edit_data(engagement: Engagement, **overrides: Any) -> dict[str, Any]:
    data = {
        "client": engagement.client_id,
        "code": engagement.code,
        "name": engagement.name,
        "description": engagement.description,
        "business_unit": engagement.business_unit_id or "",
        "start_date": engagement.start_date.isoformat(),
        "end_date": engagement.end_date.isoformat(),
        "status": engagement.status,
    }
    data.update(overrides)
    return data


def grow(total: int, have: int, make: Any) -> None:
    for _ in range(total - have):
        make()
