"""Resolve the organisation of every /o/<slug>/ request and run the view inside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django_scopes import scope

from organizations.models import Employee, Membership
from organizations.tenancy import _set_rls, rls_annotation


def _employee_of(membership: Membership) -> Employee | None:
    return (
        Employee.objects.select_related("job_title", "business_unit", "line_manager")
        .filter(user_id=membership.user_id)
        .first()
    )


class TenantMiddleware:
    """The one gate between a request and an organisation's data.

    For views whose URL carries ``org_slug``: anonymous users go to the login page; a
    user without an active membership gets 404 (the organisation may as well not
    exist); otherwise the view runs inside a transaction, the tenant scope, the
    PostgreSQL row-security setting and the organisation's time zone, with
    ``request.organization``, ``request.membership`` and a lazy ``request.employee``.

    Cost: one query (the membership, which also sets the row-security setting), on top
    of the session and user queries that authentication makes anyway.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        slug = view_kwargs.get("org_slug")
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())

        nested = connection.in_atomic_block
        with transaction.atomic():
            membership = (
                Membership.unscoped.for_user(request.user)
                .filter(organization__slug=slug)
                .select_related("organization", "user")
                .annotate(**rls_annotation())
                .first()
            )
            if membership is None:
                raise Http404("No such organisation.")
            organization = membership.organization
            request.organization = organization  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            request.employee = SimpleLazyObject(  # type: ignore[attr-defined]
                lambda: _employee_of(membership)
            )
            with (
                scope(organization=organization),
                timezone.override(organization.timezone),
            ):
                response = view_func(request, *view_args, **view_kwargs)
                if isinstance(response, SimpleTemplateResponse):
                    # Render while the scope is active; templates may touch the ORM.
                    response.render()
            if nested:
                # Inside an outer transaction (tests, nested calls) the local setting
                # would outlive this request; at a real commit it ends by itself.
                _set_rls(None)
        return response
