"""What views share: the typed tenant request, running a service from a form,
answering a form with errors, and checking where a form may send the member back. Decided in one place so no view re-implements them.

A view body reads: gate → form → ``apply_service(form, call)`` → redirect, or
``form_response(...)``. See docs/architecture.md, "Views".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

from organizations.errors import DomainError, EditConflict
from organizations.models import Employee, Membership, Organization

T = TypeVar("T")


class TenantRequest(HttpRequest):
    """A request inside ``/o/<slug>/``, as ``TenantMiddleware`` hands it to the view.

    ``organization`` and ``membership`` are loaded before the view runs (one query);
    ``employee`` is the caller's directory entry, loaded the first time it is read
    (one query) and cached for the rest of the request; None when the login is not
    linked to anyone in the directory. ``htmx`` comes from django-htmx's middleware.
    """

    organization: Organization
    membership: Membership
    htmx: HtmxDetails

    @cached_property
    def employee(self) -> Employee | None:
        return (
            Employee.objects.select_related(
                "job_title", "business_unit", "line_manager"
            )
            .filter(user_id=self.membership.user_id)
            .first()
        )


_TENANT_CLASSES: dict[type[HttpRequest], type[TenantRequest]] = {}


def _tenant_class(base: type[HttpRequest]) -> type[TenantRequest]:
    """``TenantRequest`` mixed into ``base`` (made once per request class)."""
    if base not in _TENANT_CLASSES:
        _TENANT_CLASSES[base] = type(
            f"Tenant{base.__name__}", (TenantRequest, base), {}
        )
    return _TENANT_CLASSES[base]


def as_tenant_request(request: HttpRequest, membership: Membership) -> TenantRequest:
    """Turn ``request`` (a WSGI or ASGI request) into a ``TenantRequest`` in place.

    The request keeps its own class's behaviour (``TenantWSGIRequest`` derives from
    both), so ``isinstance(request, TenantRequest)`` holds and ``employee`` is a real
    cached property rather than a lazy proxy that is never ``None``.
    """
    request.__class__ = _tenant_class(type(request))
    tenant_request: TenantRequest = request  # type: ignore[assignment]  # the class was swapped on the line above
    tenant_request.membership = membership
    tenant_request.organization = membership.organization
    return tenant_request


# --- Running a service from a form ------------------------------------------------


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What ``apply_service`` did: ``ok`` with the service's ``value``, or refused
    (the form now carries the errors); ``conflict`` when the refusal was a stale edit.
    """

    ok: bool
    value: T | None = None
    conflict: bool = False


def add_domain_error(form: BaseForm, exc: DomainError) -> None:
    """Show ``exc`` on ``form``: beside its field when the form has that field,
    above the form otherwise, plus any per-field ``errors`` it carries."""
    field = exc.field if exc.field in form.fields else None
    if exc.errors:
        form.add_error(None, exc.message)
        for name, message in exc.errors.items():
            form.add_error(name if name in form.fields else None, message)
        return
    form.add_error(field, exc.message)


def apply_service(form: BaseForm, call: Callable[[], T]) -> Outcome[T]:
    """Run ``call`` (a service call built from ``form.cleaned_data``) and map its
    refusal onto the form.

    A ``DomainError`` becomes a form error (see ``add_domain_error``). An
    ``EditConflict`` becomes an error above the form, and when the form has a
    ``version`` field its submitted value is moved to the current version, so that
    submitting again, after reviewing the other person's change, overwrites it
    knowingly. Other exceptions propagate.
    """
    try:
        value = call()
    except EditConflict as exc:
        form.add_error(None, exc.message)
        if "version" in form.fields and hasattr(form.data, "copy"):
            data = form.data.copy()
            data[form.add_prefix("version")] = str(exc.current_version)
            form.data = data
        return Outcome(ok=False, conflict=True)
    except DomainError as exc:
        add_domain_error(form, exc)
        return Outcome(ok=False)
    return Outcome(ok=True, value=value)


# --- Answering -------------------------------------------------------------------


def is_htmx(request: HttpRequest) -> bool:
    """True for a request made by HTMX (``HX-Request``), which wants a fragment."""
    return bool(getattr(request, "htmx", False))


def page_or_partial(
    request: HttpRequest,
    page: str,
    partial: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """Render ``partial`` for HTMX and ``page`` otherwise, from one URL.

    Adds ``Vary: HX-Request``: one URL answering with a fragment or a page must be
    kept apart by caches.
    """
    template = partial if is_htmx(request) else page
    response = render(request, template, dict(context), status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def form_response(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    form: BaseForm | None = None,
    partial: str | None = None,
) -> HttpResponse:
    """Answer a form page, with its errors if it has any.

    A form with errors answers 400, so that clients and tests see the refusal, except
    an HTMX request with a ``partial``: HTMX swaps only 2xx answers, so it gets the
    partial with the errors and 200 (and ``Vary: HX-Request``). ``form`` defaults to
    ``context["form"]``.
    """
    form = form if form is not None else context.get("form")
    refused = form is not None and bool(form.errors)
    if partial is not None and is_htmx(request):
        return page_or_partial(request, template, partial, context)
    if partial is not None:
        return page_or_partial(
            request, template, partial, context, status=400 if refused else 200
        )
    return render(request, template, dict(context), status=400 if refused else 200)


def safe_next(request: TenantRequest, target: str) -> str:
    """``target`` if it is a page of this organisation on this site, else "": where
    a form posted from another page (its ``next`` field) sends the member back.
    No query."""
    slug = request.organization.slug
    if (
        target
        and url_has_allowed_host_and_scheme(
            target,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        )
        and target.startswith(f"/o/{slug}/")
    ):
        return target
    return ""


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address, for login throttling and rate limits.

    Behind ``TRUSTED_PROXY_COUNT`` reverse proxies it is the Nth entry from the right
    of X-Forwarded-For (what the outermost trusted proxy saw; entries further left are
    the client's own claims); otherwise REMOTE_ADDR, and X-Forwarded-For is ignored so
    a client cannot choose its own address. None when the request carries no
    address at all (requests built in code).
    """
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


# --- The language of pages outside an organisation -----------------------------------


def remember_language(response: HttpResponse, language: str) -> HttpResponse:
    """Make ``language`` (a member's preference; "" for none) the language of the
    pages outside an organisation (sign-in, password pages), which LocaleMiddleware
    reads from its cookie; without a preference the cookie goes and the browser's
    language applies. Pages inside an organisation choose for themselves
    (``TenantMiddleware``). No query."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE or 365 * 24 * 3600,
            path=settings.LANGUAGE_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
