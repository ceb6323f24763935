"""The competency library and its categories.

Every member may read the library (the list and each competency's page); adding,
changing, archiving and deleting competencies and the categories are for HR admins,
refused with 403 before any lookup (``role_required`` or
``get_competency_for(..., perm="manage")``). Another organisation's ids are 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView

from competencies.filters import CompetencyFilter
from competencies.forms import CategoryForm, CompetencyForm
from competencies.models import Competency
from competencies.permissions import Action, can
from competencies.selectors import (
    category_list,
    competency_history,
    competency_levels,
    competency_library,
    competency_usage,
    default_scale_with_levels,
    get_competency_for,
)
from competencies.services.library import (
    create_category,
    create_competency,
    delete_competency,
    ensure_default_categories,
    set_competency_archived,
    update_competency,
)
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.http import TenantRequest, apply_service, form_response
from organizations.permissions import Access, role_required

PAGE_SIZE = 25
HISTORY_LIMIT = 50


def _query_string(request: TenantRequest) -> str:
    """The current filters without the page number, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Categories ----------------------------------------------------------------------


@role_required(Role.HR_ADMIN)
def categories(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The competency categories, and a form to add one (HR admins)."""
    ensure_default_categories(request.organization)
    form = CategoryForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        outcome = apply_service(
            form, lambda: create_category(actor=request.membership, name=name)
        )
        if outcome.value is not None:
            messages.success(
                request, _("Category %(name)s added.") % {"name": outcome.value.name}
            )
            return redirect("competencies:categories", org_slug)
    page = Paginator(category_list(), PAGE_SIZE * 2).get_page(request.GET.get("page"))
    return form_response(
        request,
        "competencies/category_list.html",
        {"form": form, "page_obj": page, "categories": page.object_list},
    )


# --- The competency library ----------------------------------------------------------


class CompetencyListView(FilterView):
    """The library with search, a category filter and pagination (every member)."""

    template_name = "competencies/competency_list.html"
    filterset_class = CompetencyFilter
    paginate_by = PAGE_SIZE
    context_object_name = "competencies"
    request: TenantRequest

    def get_queryset(self) -> QuerySet[Competency]:
        return competency_library()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["query_string"] = _query_string(self.request)
        context["can_manage"] = can(Access(self.request.membership), Action.MANAGE)
        return context


def _competency_form(
    request: TenantRequest, org_slug: str, competency: Competency | None
) -> HttpResponse:
    """The add (``competency`` None) or edit page of a competency, and its POST."""
    ensure_default_categories(request.organization)
    scale, levels = default_scale_with_levels()
    form = CompetencyForm(
        request.POST if request.method == "POST" else None,
        instance=competency,
        levels=levels,
    )
    if request.method == "POST" and form.is_valid():
        fields = form.competency_fields()

        def save() -> Competency:
            if competency is None:
                return create_competency(actor=request.membership, **fields)
            return update_competency(
                actor=request.membership, competency=competency, **fields
            )

        outcome = apply_service(form, save)
        if outcome.value is not None:
            saved = outcome.value
            messages.success(request, _("%(name)s saved.") % {"name": saved.name})
            return redirect("competencies:competency_detail", org_slug, saved.pk)
    if form.errors and competency is not None:
        # The bound instance carries the rejected values; show the stored ones.
        competency.refresh_from_db()
    return form_response(
        request,
        "competencies/competency_form.html",
        {"form": form, "competency": competency, "scale": scale},
    )


@role_required(Role.HR_ADMIN)
def competency_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    return _competency_form(request, org_slug, None)


def competency_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    competency = get_competency_for(request, pk, perm="manage")
    return _competency_form(request, org_slug, competency)


def competency_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A competency with what each point looks like (every member); HR admins also
    see where it is used and its history."""
    competency = get_competency_for(request, pk)
    scale, levels = default_scale_with_levels()
    can_manage = can(Access(request.membership), Action.MANAGE)
    context: dict[str, Any] = {
        "competency": competency,
        "scale": scale,
        "levels": competency_levels(competency, levels),
        "can_manage": can_manage,
    }
    if can_manage:
        context["usage"] = competency_usage(competency)
        context["timeline"] = competency_history(competency)[:HISTORY_LIMIT]
        context["history_limit"] = HISTORY_LIMIT
    return render(request, "competencies/competency_detail.html", context)


@require_POST
def competency_archive(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Archive the competency, or restore it when archived (HR admins)."""
    competency = get_competency_for(request, pk, perm="manage")
    competency = set_competency_archived(
        actor=request.membership,
        competency=competency,
        archived=not competency.is_archived,
    )
    if competency.is_archived:
        text = _(
            "%(name)s is archived: plans and sets that have it keep it, but it can no "
            "longer be added."
        )
    else:
        text = _("%(name)s is back in the library.")
    messages.success(request, text % {"name": competency.name})
    return redirect("competencies:competency_detail", org_slug, competency.pk)


@require_POST
def competency_delete(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Delete a competency nobody uses (HR admins); one in use is refused."""
    competency = get_competency_for(request, pk, perm="manage")
    try:
        delete_competency(actor=request.membership, competency=competency)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("competencies:competency_detail", org_slug, competency.pk)
    messages.success(request, _("%(name)s was deleted.") % {"name": competency.name})
    return redirect("competencies:competencies", org_slug)
