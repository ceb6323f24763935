"""The engagements app's groups of the navigation's search (``organizations.search``):
engagements, clients and plans, each from the app's own visibility definition, so a
result is always a page the viewer may open. Registered in ``EngagementsConfig.ready``.

Each search below is one query: the first rows and the total
(``organizations.search.first_hits``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext

from engagements.enums import PlanKind
from engagements.models import Client, Engagement, Plan
from engagements.selectors.access import engagements_visible_to, plans_visible_to
from engagements.selectors.pages import engagement_clients
from organizations.http import TenantRequest
from organizations.models import Membership
from organizations.search import Hits, SearchGroup, SearchResult, first_hits, matched


def _list_url(name: str, slug: str, **query: object) -> str:
    return reverse(name, args=[slug]) + "?" + urlencode(query)


def _line(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


# --- Engagements ----------------------------------------------------------------------


def search_engagements(
    membership: Membership, query: str, *, limit: int, vendor: str | None = None
) -> Hits:
    """The first ``limit`` engagements the member sees (``engagements_visible_to``)
    whose code, name or client matches ``query`` (on PostgreSQL also a name close to
    it), with client and unit, and their total. One query."""
    found = matched(
        engagements_visible_to(membership).select_related("client", "business_unit"),
        query,
        fields=("code", "name", "client__name"),
        similar=("name", "client__name"),
        order=("name", "code", "pk"),
        vendor=vendor,
    )
    return first_hits(found, limit)


def engagement_search_group(
    request: TenantRequest, query: str, limit: int
) -> SearchGroup:
    """Search's engagements, each with its code, client, unit and status; "show all"
    is the engagement list's search (every member). One query."""
    slug = request.organization.slug
    hits = search_engagements(request.membership, query, limit=limit)
    engagements: list[Engagement] = hits.rows
    return SearchGroup(
        key="engagements",
        title=gettext("Engagements"),
        results=[
            SearchResult(
                label=engagement.name,
                url=reverse(
                    "engagements:engagement_detail", args=[slug, engagement.pk]
                ),
                secondary=_line(
                    engagement.code,
                    engagement.client.name,
                    engagement.business_unit.name if engagement.business_unit else "",
                    engagement.get_status_display(),
                ),
            )
            for engagement in engagements
        ],
        total=hits.total,
        show_all_url=_list_url("engagements:engagements", slug, q=query),
        order=20,
    )


# --- Clients ----------------------------------------------------------------------------


def search_clients(
    membership: Membership, query: str, *, limit: int, vendor: str | None = None
) -> Hits:
    """The first ``limit`` clients the member may choose (HR admins every client,
    others the clients of the engagements they see: ``engagement_clients``) whose name
    or industry matches ``query``, and their total. One query."""
    found = matched(
        engagement_clients(membership),
        query,
        fields=("name", "industry"),
        similar=("name",),
        order=("name", "pk"),
        vendor=vendor,
    )
    return first_hits(found, limit)


def client_search_group(request: TenantRequest, query: str, limit: int) -> SearchGroup:
    """Search's clients. HR admins open a client's page and "show all" is the client
    list's search; other members, who have no client pages, open the engagement list
    filtered by that client (only their own engagements). One query."""
    membership = request.membership
    slug = request.organization.slug
    hits = search_clients(membership, query, limit=limit)
    clients: list[Client] = hits.rows
    if membership.is_hr_admin:
        results = [
            SearchResult(
                label=client.name,
                url=reverse("engagements:client_edit", args=[slug, client.pk]),
                secondary=client.industry,
            )
            for client in clients
        ]
        show_all: str | None = _list_url("engagements:clients", slug, q=query)
    else:
        results = [
            SearchResult(
                label=client.name,
                url=_list_url("engagements:engagements", slug, client=client.pk),
                secondary=client.industry,
            )
            for client in clients
        ]
        show_all = None
    return SearchGroup(
        key="clients",
        title=gettext("Clients"),
        results=results,
        total=hits.total,
        show_all_url=show_all,
        order=30,
    )


# --- Plans ------------------------------------------------------------------------------


def search_plans(
    membership: Membership, query: str, *, limit: int, vendor: str | None = None
) -> Hits:
    """The first ``limit`` plans the member may open (``plans_visible_to``, the plan
    page's own gate) whose person (name, code or e-mail address) or engagement (code
    or name) matches ``query``, on PostgreSQL also a name close to it; the newest
    cycle first. With employee, engagement and cycle, and their total. One query."""
    found = matched(
        plans_visible_to(membership).select_related("employee", "engagement", "cycle"),
        query,
        fields=("employee__search_text", "engagement__code", "engagement__name"),
        similar=("employee__full_name", "engagement__name"),
        order=("-cycle__start_date", "employee__full_name", "kind", "pk"),
        vendor=vendor,
    )
    return first_hits(found, limit)


def plan_search_group(request: TenantRequest, query: str, limit: int) -> SearchGroup:
    """Search's plans, each named by its person and engagement (or "General plan")
    with its cycle and status. There is no list of plans to show all of them in.
    One query."""
    slug = request.organization.slug
    hits = search_plans(request.membership, query, limit=limit)
    plans: list[Plan] = hits.rows
    return SearchGroup(
        key="plans",
        title=gettext("Plans"),
        results=[
            SearchResult(
                label=_line(
                    plan.employee.full_name,
                    plan.engagement.name
                    if plan.kind == PlanKind.ENGAGEMENT and plan.engagement
                    else gettext("General plan"),
                ),
                url=reverse("engagements:plan_detail", args=[slug, plan.pk]),
                secondary=_line(
                    plan.engagement.code if plan.engagement else "",
                    plan.cycle.name,
                    plan.get_status_display(),
                ),
            )
            for plan in plans
        ],
        total=hits.total,
        order=40,
    )


PROVIDERS = (engagement_search_group, client_search_group, plan_search_group)
