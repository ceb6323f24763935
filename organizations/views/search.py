"""The navigation's search (``organizations.search``): the results page, and the
same results as a dropdown under the navigation's box for HTMX."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from organizations.http import TenantRequest, is_htmx, page_or_partial
from organizations.search import (
    DROPDOWN_LIMIT,
    GROUP_LIMIT,
    MIN_QUERY_LENGTH,
    groups_for,
    normalised,
)


@require_GET
def search(request: TenantRequest, org_slug: str) -> HttpResponse:
    """People, engagements, clients and plans matching ``?q=`` that the member may
    open, grouped by kind, each group's first rows and its total. HTMX (the box in
    the navigation, as the member types) gets the dropdown with fewer rows per group;
    otherwise the page, which works without JavaScript.

    A query shorter than ``MIN_QUERY_LENGTH`` searches nothing and says so. Besides
    the middleware's queries, one per group (four), whatever the number of matches.
    """
    query = normalised(request.GET.get("q"))
    searched = len(query) >= MIN_QUERY_LENGTH
    limit = DROPDOWN_LIMIT if is_htmx(request) else GROUP_LIMIT
    groups = groups_for(request, query, limit) if searched else []
    context = {
        "query": query,
        # The navigation's box keeps what was searched.
        "nav_search_query": query,
        "searched": searched,
        "too_short": bool(query) and not searched,
        "min_length": MIN_QUERY_LENGTH,
        "groups": [group for group in groups if group.total],
        "empty_groups": [group for group in groups if not group.total],
        "found": sum(group.total for group in groups),
    }
    response = page_or_partial(
        request,
        "organizations/search.html",
        "organizations/partials/search_dropdown.html",
        context,
    )
    # Names of colleagues: kept out of shared caches.
    patch_cache_control(response, private=True, no_store=True)
    return response
