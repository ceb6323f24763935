"""Who may do what: the vocabulary every app's permissions share, and the view guards.

Each app has one permission entry point with the same signature,
``<app>.permissions.can(access, action, target=None) -> bool``, backed by small
predicates in the same module. ``Access`` is the caller as those predicates see them:
the membership (tenant role) plus the django-guardian object permissions it holds on
the engagements in play (loaded once per page by ``engagements.permissions.load_access``).

The one HR-only check is ``Membership.is_hr_admin``; views that only HR admins may open
use ``role_required(Role.HR_ADMIN)`` / ``HrAdminRequiredMixin`` or ``require_hr_admin``,
which refuse *before* any lookup so that the 403 reveals nothing about ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from organizations.enums import Role
from organizations.models import Membership

M = TypeVar("M", bound=Model)


@dataclass
class Access:
    """The caller and the guardian permissions they hold on the engagements in play.

    ``perms`` maps an engagement id to the codenames held on it; it is empty for HR
    admins (who need none) and for pages that involve no engagement.
    """

    membership: Membership
    perms: dict[int, set[str]] = field(default_factory=dict)

    @property
    def is_hr(self) -> bool:
        return self.membership.is_hr_admin

    @property
    def user_id(self) -> int:
        return self.membership.user_id

    def on(self, engagement_id: int | None) -> set[str]:
        return self.perms.get(engagement_id or 0, set())


class Action(StrEnum):
    """What ``can`` answers for this app's objects."""

    MANAGE_PEOPLE = "manage_people"


def can(access: Access, action: Action | str, target: object = None) -> bool:
    """May ``access``'s member do ``action`` (on ``target``)? No query.

    ``manage_people``: HR admins run the directory, invitations, roles and the
    organisation's settings.
    """
    if action == Action.MANAGE_PEOPLE:
        return access.is_hr
    raise ValueError(f"Unknown action for organizations: {action!r}")


def may_open_person(
    membership: Membership, own_entry_id: int | None, person: Any
) -> bool:
    """Whether ``membership`` may open ``person``'s page (a directory entry): HR, the
    person themself, their line manager (``own_entry_id``: the member's own entry).
    The rule of ``organizations.selectors.employees_visible_to``, without a query;
    the page itself still checks through that selector."""
    return (
        membership.is_hr_admin
        or (person.user_id is not None and person.user_id == membership.user_id)
        or (own_entry_id is not None and person.line_manager_id == own_entry_id)
    )


def can_manage_people(membership: Membership) -> bool:
    """HR admins run the directory, invitations, roles and organisation settings."""
    return can(Access(membership), Action.MANAGE_PEOPLE)


def require_hr_admin(membership: Membership) -> None:
    """403 unless the member is an HR admin. Call it before any lookup, so the answer
    is the same for this organisation's ids, another's and unknown ones."""
    if not membership.is_hr_admin:
        raise PermissionDenied


def get_for_hr_admin(
    membership: Membership, queryset: QuerySet[M], pk: int, *, missing: str
) -> M:
    """Row ``pk`` of ``queryset`` for an HR admin: 403 for other roles, before the
    lookup, so the answer is the same for this organisation's ids, another's and
    unknown ones; 404 (with ``missing``) when the tenant-scoped ``queryset`` has no
    such row. One query. The gate of every HR-only object type is built on it."""
    require_hr_admin(membership)
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404(missing)
    return found


def role_required(*roles: str) -> Callable[..., Any]:
    """Allow the decorated tenant view only to members with one of ``roles`` (else 403).

    Also usable on class-based views through ``RoleRequiredMixin``.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if _membership_of(request).role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _membership_of(request: HttpRequest) -> Membership:
    """The membership the tenant middleware attached (403 outside a tenant URL)."""
    membership = getattr(request, "membership", None)
    if not isinstance(membership, Membership):
        raise PermissionDenied
    return membership


class RoleRequiredMixin:
    """Class-based view guard: ``allowed_roles`` lists the tenant roles let in."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _membership_of(request).role not in self.allowed_roles:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]  # a mixin: the view class after it in the MRO has dispatch


class HrAdminRequiredMixin(RoleRequiredMixin):
    allowed_roles = (Role.HR_ADMIN,)
