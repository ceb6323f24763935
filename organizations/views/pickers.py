"""The pickers' JSON endpoint: one page of what the member may choose from a source
(see ``organizations.pickers``), for the search boxes of ``static/js/pickers.js``."""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from organizations import pickers
from organizations.http import TenantRequest


@require_GET
def picker(request: TenantRequest, org_slug: str, source: str) -> JsonResponse:
    """``{"results": [{"value": pk, "text": label}, ...], "more": bool}``: page
    ``?page=`` (from 1) of the rows of ``source`` the member may choose that match
    ``?q=`` (every word, in a name, code or e-mail address as the source says).

    404 for an unknown source, 403 for a member who may not use it. Two queries whatever
    the page, besides the middleware's: the source's gate (most need none) and the page.
    """
    found = pickers.source_named(source)
    if found is None:
        raise Http404("No such picker.")
    page = pickers.pick_page(
        found,
        request.membership,
        query=request.GET.get("q", ""),
        page=pickers.page_number(request.GET.get("page")),
    )
    response = JsonResponse(
        {
            "results": [{"value": pk, "text": text} for pk, text in page.results],
            "more": page.more,
        }
    )
    # Names of colleagues: kept out of shared caches.
    patch_cache_control(response, private=True, no_store=True)
    return response
