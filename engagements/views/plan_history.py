"""A plan's history on demand: the plan page's "Show history" button loads it (HTMX),
and without JavaScript it is a page of its own.

Access: ``engagements.selectors.access.get_plan_for`` (whoever may open the plan; 404
for anyone else and for another organisation's ids).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from engagements.selectors.access import get_plan_for
from engagements.selectors.history import plan_history
from engagements.views.plans import HISTORY_LIMIT
from organizations.http import TenantRequest, page_or_partial


@require_GET
def plan_history_section(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """The plan's history (its competencies, goals, key activities and check-ins): the
    timeline partial for the plan page's "Show history" button (HTMX), a page of its
    own without JavaScript. Everyone who can see the plan reads it."""
    plan, _access = get_plan_for(request, pk)
    return page_or_partial(
        request,
        "engagements/plan_history.html",
        "partials/timeline.html",
        {
            "plan": plan,
            "timeline": plan_history(plan)[:HISTORY_LIMIT],
            "history_limit": HISTORY_LIMIT,
        },
    )


urlpatterns: list[URLPattern] = [
    path("plans/<int:pk>/history/", plan_history_section, name="plan_history"),
]
