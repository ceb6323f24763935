"""The shape the HR list pages with an add form share (role rules, plan templates,
engagement types): the rows paginated under the form."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse

from organizations.http import TenantRequest, form_response

PAGE_SIZE = 25


def list_with_form(
    request: TenantRequest,
    template: str,
    rows: QuerySet[Any],
    context: dict[str, Any],
    name: str,
) -> HttpResponse:
    """``template`` with ``rows`` paginated as ``page_obj`` and ``name`` beside the
    add form in ``context["form"]``; 400 when that form has errors."""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context.update({"page_obj": page, name: page.object_list})
    return form_response(request, template, context)
