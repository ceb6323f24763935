"""The member's in-app notifications: the list, opening one (marks it read) and
marking all read. Every member reads only their own, in this organisation."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from organizations import notifications
from organizations.http import TenantRequest

PAGE_SIZE = 25


@require_GET
def notification_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The member's notifications, newest first, paginated. Three queries besides
    the middleware's: the count, the page and the bell."""
    user = request.membership.user
    page = Paginator(notifications.notifications_for(user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "organizations/notifications.html",
        {"page_obj": page, "rows": list(page.object_list)},
    )


@require_POST
def notification_open(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Mark one of the member's notifications read and go to its target (404 for
    anyone else's)."""
    notification = notifications.get_notification_for(request.membership.user, pk)
    notifications.mark_read(notification=notification)
    return redirect(notification.path)


@require_POST
def notification_read_all(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Mark all of the member's notifications in this organisation read."""
    notifications.mark_all_read(user=request.membership.user)
    messages.success(request, _("All notifications marked read."))
    return redirect("organizations:notifications", org_slug)
