"""Template context for the organisation a request runs in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from organizations.enums import Role
from organizations.models import Membership


def tenant(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    context: dict[str, Any] = {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "is_hr_admin": bool(membership and membership.is_hr_admin),
        "is_manager": bool(membership and membership.role == Role.MANAGER),
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Lazy: only pages that render the switcher pay its query.
        context["my_memberships"] = SimpleLazyObject(
            lambda: list(
                Membership.unscoped.for_user(user)
                .select_related("organization")
                .order_by("organization__name")
            )
        )
    return context
