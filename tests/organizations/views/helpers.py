"""What the people directory tests share: URLs, stored rows, form data and the
names a page lists."""

from __future__ import annotations

import html
import re
from typing import Any

from django.urls import reverse

from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context


def people_url(org: Any) -> str:
    return reverse("organizations:people", args=[org.slug])


def create_url(org: Any) -> str:
    return reverse("organizations:employee_create", args=[org.slug])


def edit_url(org: Any, employee: Employee) -> str:
    return reverse("organizations:employee_edit", args=[org.slug, employee.pk])


def field_error(page: str, name: str) -> str | None:
    """The error text shown under field ``name``, unescaped, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def marked_invalid(page: str, name: str) -> bool:
    """Whether the widget of field ``name`` carries aria-invalid pointing at its error."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{name}"[^>]*>', page)
    if match is None:
        return False
    tag = match.group(0)
    return 'aria-invalid="true"' in tag and f"id_{name}-error" in tag


def stored_person(org: Any, employee: Employee) -> dict[str, Any]:
    with tenant_context(org):
        return Employee.objects.filter(pk=employee.pk).values().get()


def people_count(org: Any) -> int:
    with tenant_context(org):
        return Employee.objects.count()


def employee_of(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def form_data(employee: Employee, **overrides: Any) -> dict[str, Any]:
    data = {
        "code": employee.code,
        "full_name": employee.full_name,
        "email": employee.email,
        "job_title": employee.job_title_id or "",
        "business_unit": employee.business_unit_id or "",
        "line_manager": employee.line_manager_id or "",
    }
    data.update(overrides)
    return data


def new_person_data(org: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "code": "NEW1",
        "full_name": "New Person",
        "email": "new.person@example.test",
        "job_title": "",
        "business_unit": "",
        "line_manager": "",
    }
    data.update(overrides)
    return data


def listed_names(response: Any) -> list[str]:
    return [employee.full_name for employee, _member in response.context["rows"]]
