"""Role predicates and the view guards built on them.

Views ask these questions in one obvious place (``role_required`` or an access
function in ``selectors``); templates receive the answers as booleans.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from organizations.enums import Role

if TYPE_CHECKING:
    from organizations.models import Membership


def can_manage_people(membership: Membership) -> bool:
    """HR admins run the directory, invitations, roles and organisation settings."""
    return membership.role == Role.HR_ADMIN


def role_required(*roles: str) -> Callable[..., Any]:
    """Allow the decorated tenant view only to members with one of ``roles`` (else 403).

    Also usable on class-based views through ``RoleRequiredMixin``.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.membership.role not in roles:  # type: ignore[attr-defined]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin:
    """Class-based view guard: ``allowed_roles`` lists the tenant roles let in."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.membership.role not in self.allowed_roles:  # type: ignore[attr-defined]
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class HrAdminRequiredMixin(RoleRequiredMixin):
    allowed_roles = (Role.HR_ADMIN,)
