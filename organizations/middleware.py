"""Resolve the organisation of every /o/<slug>/ request and run the view inside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db import connection, transaction
from django.db.models import CharField, Count, Func, Subquery, Value
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils import timezone, translation
from django_scopes import scope

from organizations.http import as_tenant_request
from organizations.models import Membership
from organizations.tenancy import is_postgresql, rls_annotation, set_row_security


def _no_jit() -> dict[str, Func]:
    """Switch PostgreSQL's JIT compiler off for the request's transaction, in the
    membership query itself (no round trip of its own).

    A page's queries are short, but the planner prices correlated subqueries (the
    evaluation queue's approval rule, visibility checks) above ``jit_above_cost``, and
    compiling them then takes 100-200 ms for queries that run in a few. Reports and
    background jobs, outside requests, keep the server's setting.
    """
    if not is_postgresql():
        return {}
    return {
        "_jit_off": Func(
            Value("jit"),
            Value("off"),
            Value(True),
            function="set_config",
            output_field=CharField(),
        )
    }


class TenantMiddleware:
    """The one gate between a request and an organisation's data.

    For views whose URL carries ``org_slug``: anonymous users go to the login page; a
    user without an active membership gets 404 (the organisation may as well not
    exist); otherwise the view runs inside a transaction, the tenant scope, the
    PostgreSQL row-security setting, the organisation's time zone and the member's
    language (``User.language_in``), with
    a ``TenantRequest`` (``organizations.http``): ``organization``, ``membership`` and
    a cached ``employee``.

    Cost: one query (the membership, which also sets the row-security setting,
    switches JIT compilation off for the transaction and counts the user's
    organisations for the navbar), on top of the session and user queries that
    authentication makes anyway.
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
            memberships = Membership.unscoped.for_user(request.user)
            membership = (
                memberships.filter(organization__slug=slug)
                .select_related("organization", "user")
                .annotate(
                    **rls_annotation(),
                    **_no_jit(),
                    # The navbar offers a switch only to members of several.
                    organizations_of_user=Subquery(
                        memberships.order_by()
                        .values("user")
                        .annotate(n=Count("*"))
                        .values("n")
                    ),
                )
                .first()
            )
            if membership is None:
                raise Http404("No such organisation.")
            tenant_request = as_tenant_request(request, membership)
            organization = membership.organization
            language = membership.user.language_in(organization)
            request.LANGUAGE_CODE = language
            with (
                scope(organization=organization),
                timezone.override(organization.timezone),
                translation.override(language),
            ):
                response = view_func(tenant_request, *view_args, **view_kwargs)
                if isinstance(response, SimpleTemplateResponse):
                    # Render while the scope is active; templates may touch the ORM.
                    response.render()
            # LocaleMiddleware keeps a Content-Language already set.
            response.headers["Content-Language"] = language
            if nested:
                # Inside an outer transaction (tests, nested calls) the local setting
                # would outlive this request; at a real commit it ends by itself.
                set_row_security(None)
        return response
