"""The "My team" page: a line manager's reports in the current cycle, one row per
person with their plans, goal progress, open feedback requests, evaluations,
appraisal and the manager's next step; direct reports by default, the whole line
below with ``scope=all``.

Access: every member may open it and sees their own team (an empty state without
reports or without a directory entry); ``manager=<id>`` shows that person's team to
HR admins (404 for another organisation's id) and is ignored for everyone else
(``selectors.access.get_team_manager_for``).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from appraisals.filters import TeamFilter
from appraisals.selectors.access import get_team_manager_for
from appraisals.selectors.appraisals import score_bands
from appraisals.selectors.team import current_cycle, team_members, team_rows
from organizations.http import TenantRequest
from organizations.models import Employee

PAGE_SIZE = 25


def _scope_links(data: QueryDict) -> dict[str, str]:
    """The query string of each side of the direct / all toggle, keeping the other
    filters (and leaving the page)."""
    links = {}
    for scope in (TeamFilter.DIRECT, TeamFilter.ALL):
        query = data.copy()
        query.pop("page", None)
        query["scope"] = scope
        links[scope] = query.urlencode()
    return links


@require_GET
def my_team(request: TenantRequest, org_slug: str) -> HttpResponse:
    viewer = request.membership
    manager = get_team_manager_for(request, request.GET.get("manager"))
    filterset = TeamFilter(
        request.GET or None,
        queryset=Employee.objects.none(),
        request=request,
        is_hr_admin=viewer.is_hr_admin,
    )
    cycle = current_cycle()
    context: dict[str, Any] = {
        "filter": filterset,
        "manager": manager,
        "cycle": cycle,
        "indirect": filterset.indirect,
        "is_own_team": manager is not None and manager.user_id == viewer.user_id,
        "scope_links": _scope_links(request.GET),
        "rows": [],
    }
    if manager is not None:
        filterset.queryset = team_members(
            manager, indirect=filterset.indirect, cycle=cycle, viewer=viewer
        )
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        context["rows"] = team_rows(
            list(page.object_list),
            manager=manager,
            cycle=cycle,
            viewer=viewer,
            today=timezone.localdate(),
        )
        context["page_obj"] = page
        context["paginator"] = page.paginator
        if cycle is not None and context["rows"]:
            context["bands"] = score_bands([cycle])
    query = request.GET.copy()
    query.pop("page", None)
    context["query_string"] = query.urlencode()
    return render(request, "appraisals/team/list.html", context)


urlpatterns = [
    path("team/", my_team, name="my_team"),
]
