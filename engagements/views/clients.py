"""Clients (HR admins) and engagements: lists with filters, create, edit, detail.

Clients and the engagement forms are for HR admins; other roles get 403 before any
lookup. The engagement list and detail are for every member who can see the
engagement (``selectors.engagements_visible_to``); an invisible one is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django_filters.views import FilterView

from engagements.filters import ClientFilter, EngagementFilter
from engagements.forms import ClientForm, EngagementForm
from engagements.models import Client, Engagement
from engagements.permissions import Action, can
from engagements.selectors.access import (
    get_client_for,
    get_engagement_for,
    get_visible_engagement,
    visible_plan_ids,
)
from engagements.selectors.history import engagement_history
from engagements.selectors.pages import (
    clients_overview,
    engagement_list,
    engagement_roles,
    engagement_team,
    recent_checkins,
)
from engagements.services.clients import save_client, save_engagement
from organizations.enums import Role
from organizations.http import (
    TenantRequest,
    apply_service,
    form_response,
    page_or_partial,
)
from organizations.permissions import Access, HrAdminRequiredMixin, role_required

PAGE_SIZE = 25
HISTORY_LIMIT = 50
ACTIVITY_LIMIT = 10
# Parts of the engagement page that load on their own (?section=...).
SECTIONS = ("activity", "history")


def _query_string(request: HttpRequest) -> str:
    """The current filters without the page number, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Clients ----------------------------------------------------------------------------


class ClientListView(HrAdminRequiredMixin, FilterView):
    """Every client with its engagement count; search by name, industry or e-mail."""

    template_name = "engagements/client_list.html"
    filterset_class = ClientFilter
    paginate_by = PAGE_SIZE
    context_object_name = "clients"

    def get_queryset(self) -> QuerySet[Client]:
        return clients_overview()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["query_string"] = _query_string(self.request)
        return context


def _client_form(
    request: TenantRequest, org_slug: str, client: Client | None
) -> HttpResponse:
    form = ClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: save_client(
                actor=request.membership, client=form.save(commit=False)
            ),
        )
        if outcome.value is not None:
            messages.success(
                request, _("%(name)s saved.") % {"name": outcome.value.name}
            )
            return redirect("engagements:clients", org_slug)
    if form.errors and client is not None:
        # The bound instance carries the rejected values; show the stored ones.
        client.refresh_from_db()
    context = {"form": form, "client": client}
    return form_response(request, "engagements/client_form.html", context)


@role_required(Role.HR_ADMIN)
def client_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    return _client_form(request, org_slug, None)


def client_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    return _client_form(request, org_slug, get_client_for(request, pk))


# --- Engagements ------------------------------------------------------------------------


class EngagementListView(FilterView):
    """The engagements the member can see, filtered and paginated (every member)."""

    template_name = "engagements/engagement_list.html"
    filterset_class = EngagementFilter
    paginate_by = PAGE_SIZE
    context_object_name = "engagements"
    request: TenantRequest

    def get_queryset(self) -> QuerySet[Engagement]:
        return engagement_list(self.request.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["query_string"] = _query_string(self.request)
        context["can_manage"] = can(Access(self.request.membership), Action.MANAGE)
        return context


def _engagement_form(
    request: TenantRequest, org_slug: str, engagement: Engagement | None
) -> HttpResponse:
    form = EngagementForm(request.POST or None, instance=engagement)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: save_engagement(
                actor=request.membership, engagement=form.save(commit=False)
            ),
        )
        if (saved := outcome.value) is not None:
            messages.success(request, _("%(name)s saved.") % {"name": saved})
            return redirect("engagements:engagement_detail", org_slug, saved.pk)
    if form.errors and engagement is not None:
        # The bound instance carries the rejected values; show the stored ones.
        engagement.refresh_from_db()
    context = {"form": form, "engagement": engagement}
    return form_response(request, "engagements/engagement_form.html", context)


@role_required(Role.HR_ADMIN)
def engagement_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    return _engagement_form(request, org_slug, None)


@role_required(Role.HR_ADMIN)
def engagement_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    engagement, _access = get_engagement_for(request, pk, perm="manage")
    return _engagement_form(request, org_slug, engagement)


def engagement_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The engagement with its team and progress and its role holders.

    Recent activity and the history load as sections of their own
    (``?section=activity`` / ``?section=history``: HTMX fills them in on the page,
    without JavaScript they open as pages), so each response stays within the query
    budget. Both show only the plans the viewer may see.
    """
    section = request.GET.get("section")
    if section in SECTIONS:
        return _engagement_section(request, pk, section)
    engagement, access = get_engagement_for(request, pk)
    team = [
        (row, can(access, Action.VIEW_PLAN, row.plan))
        for row in engagement_team(engagement)
    ]
    context = {
        "engagement": engagement,
        "team": team,
        "roles": engagement_roles(engagement),
        "can_manage": can(access, Action.MANAGE),
        "can_plan": can(access, Action.PLAN_ON, engagement),
    }
    return render(request, "engagements/engagement_detail.html", context)


def _engagement_section(request: TenantRequest, pk: int, section: str) -> HttpResponse:
    """One read-only section of the engagement page: the fragment for HTMX, else a
    page of its own (one URL, so the answer varies on ``HX-Request``)."""
    engagement = get_visible_engagement(request, pk)
    visible = visible_plan_ids(request.membership, engagement)
    context: dict[str, Any] = {"engagement": engagement, "section": section}
    if section == "activity":
        context["checkins"] = recent_checkins(
            engagement, limit=ACTIVITY_LIMIT, plan_ids=visible
        )
    else:
        context["timeline"] = engagement_history(engagement, plan_ids=visible)[
            :HISTORY_LIMIT
        ]
        context["history_limit"] = HISTORY_LIMIT
    return page_or_partial(
        request,
        "engagements/engagement_detail.html",
        f"engagements/partials/engagement_{section}.html",
        context,
    )


urlpatterns = [
    path("clients/", ClientListView.as_view(), name="clients"),
    path("clients/new/", client_create, name="client_create"),
    path("clients/<int:pk>/edit/", client_edit, name="client_edit"),
    path("engagements/", EngagementListView.as_view(), name="engagements"),
    path("engagements/new/", engagement_create, name="engagement_create"),
    path("engagements/<int:pk>/", engagement_detail, name="engagement_detail"),
    path("engagements/<int:pk>/edit/", engagement_edit, name="engagement_edit"),
]
