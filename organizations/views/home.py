"""The start pages: the site root (the organisation switcher), an organisation's home
page, and the health probe."""

from __future__ import annotations

from typing import Any, cast

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from organizations import selectors
from organizations.home import sections_for
from organizations.http import TenantRequest
from organizations.models import Membership, User


@login_required
def root(request: HttpRequest) -> HttpResponse:
    """Send a member of one organisation straight there; let others pick one."""
    user = cast(User, request.user)  # login_required let only signed-in accounts in
    memberships = list(
        Membership.unscoped.for_user(user)
        .select_related("organization")
        .order_by("organization__name")
    )
    if len(memberships) == 1:
        return redirect("organizations:home", memberships[0].organization.slug)
    return render(request, "organizations/switcher.html", {"choices": memberships})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Report whether the database and the Celery broker (Redis) answer.

    503 when the database does not answer: nothing works without it, so a load
    balancer should stop sending traffic. A Redis outage is 200 with ``"status":
    "degraded"``: pages still work (the cache degrades to no cache, rate limits count
    in the database), so the web process must stay in rotation; only background work
    waits. Cost: one ``SELECT 1`` and one Redis ``PING`` (connect 0.5 s, read 1 s).
    """
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = "unavailable"
    if settings.REDIS_URL:
        try:
            with redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0
            ) as client:
                client.ping()
            checks["broker"] = "ok"
        except Exception:  # noqa: BLE001 - any failure means the broker is away
            checks["broker"] = "unavailable"
    else:
        checks["broker"] = "eager (no broker configured)"
    if checks["database"] == "unavailable":
        status, code = "unavailable", 503
    elif checks["broker"] == "unavailable":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, **checks}, status=code)


def home(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The role-aware start page: what this member can do next."""
    me = request.employee
    context: dict[str, Any] = {"me": me}
    if request.membership.is_hr_admin:
        context["overview"] = selectors.hr_overview()
        context["recent_invitations"] = list(selectors.pending_invitations()[:5])
    context["direct_reports"] = list(selectors.direct_reports_of(me))
    context["sections"] = sections_for(request)
    return render(request, "organizations/home.html", context)
