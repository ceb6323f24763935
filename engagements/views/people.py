"""A person's page, the engagements app's sections: their plans across cycles, their
goals and check-ins in the cycles still open, and the engagements they are staffed on
or hold a role on.

Access: ``organizations.selectors.get_employee_for`` (HR admins, the person, their
line manager; 404 for anyone else and for another organisation's ids), then each
row through the viewer's own visibility (``engagements.selectors.access``). Each
section is a fragment for HTMX (the person's page loads it lazily) and a page of its
own otherwise.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from engagements.selectors.people import (
    GOALS_SHOWN,
    person_engagements,
    person_goals,
    person_plans,
)
from organizations.http import TenantRequest, page_or_partial
from organizations.selectors import get_employee_for

SECTION_PAGE = "partials/person_section_page.html"


@require_GET
def employee_plans(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The person's plans in every cycle, each linked to its page. Two queries."""
    employee = get_employee_for(request, pk)
    template = "engagements/people/plans.html"
    context = {
        "employee": employee,
        "plans": person_plans(request.membership, employee),
        "section_template": template,
        "section_title": _("Plans"),
    }
    return page_or_partial(request, SECTION_PAGE, template, context)


@require_GET
def employee_goals(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The person's goals in the cycles still open, with progress, attainment and
    the latest check-in, each linked to its page. Two queries."""
    employee = get_employee_for(request, pk)
    template = "engagements/people/goals.html"
    goals = person_goals(request.membership, employee)
    context = {
        "employee": employee,
        "goals": goals,
        "capped": len(goals) == GOALS_SHOWN,
        "section_template": template,
        "section_title": _("Goals and check-ins"),
    }
    return page_or_partial(request, SECTION_PAGE, template, context)


@require_GET
def employee_engagements(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """The engagements the person is staffed on or holds a role on. Three
    queries."""
    employee = get_employee_for(request, pk)
    template = "engagements/people/engagements.html"
    context = {
        "employee": employee,
        "rows": person_engagements(request.membership, employee),
        "section_template": template,
        "section_title": _("Engagements and roles"),
    }
    return page_or_partial(request, SECTION_PAGE, template, context)


urlpatterns: list[URLPattern] = [
    path("people/<int:pk>/plans/", employee_plans, name="employee_plans"),
    path("people/<int:pk>/goals/", employee_goals, name="employee_goals"),
    path(
        "people/<int:pk>/engagements/",
        employee_engagements,
        name="employee_engagements",
    ),
]
