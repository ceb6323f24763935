"""A plain 503 page, in one place, whenever PostgreSQL cannot be reached.

A lost or refused database connection (``OperationalError``, ``InterfaceError``) is an
outage, not a bug: the visitor gets ``templates/503.html`` with ``Retry-After: 30``,
never a traceback, whether ``DEBUG`` is on or off. Three hooks cover every place such
an error can surface, and all three answer with ``database_unavailable_response``:

- ``DatabaseUnavailableMiddleware.process_exception``: errors raised by a view that
  Django calls itself (pages outside ``/o/<slug>/``);
- ``server_error``, the project's ``handler500``: errors raised anywhere else, such as
  inside ``TenantMiddleware`` (which calls tenant views itself) or while the session
  or the user is loaded, with ``DEBUG`` off;
- the middleware's ``__call__``: Django marks the request when it converts an
  uncaught error into a response (the ``got_request_exception`` signal); the
  middleware, first in ``MIDDLEWARE``, swaps that response for the 503 page. This
  covers ``DEBUG`` on, where Django renders its technical page instead of calling
  ``handler500``.

Nothing half-written survives: tenant views run inside the tenant middleware's
transaction, which PostgreSQL rolls back when the connection dies before the commit.
With ``CONN_HEALTH_CHECKS`` a process drops a dead persistent connection before
using it, so it recovers by itself once PostgreSQL is back.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
TEMPLATE = "503.html"

# Set on a request whose processing met a database outage somewhere inside, and on
# the 503 page's response (so it is not made twice).
_OUTAGE_MARK = "_database_unavailable"
_PAGE_MARK = "_database_unavailable_page"

# Headers of the 503 page itself; every other header of the response it replaces
# (the security headers set by inner middleware) is kept.
_OWN_HEADERS = {
    "content-type",
    "content-length",
    "content-language",
    "cache-control",
    "expires",
    "retry-after",
    "vary",
}


def is_database_outage(error: BaseException | None) -> bool:
    """True for the errors of a refused, lost or unusable database connection.

    ``OperationalError`` also covers other transient failures (a deadlock, a
    statement timeout); a "try again shortly" page suits those too.
    """
    return isinstance(error, OperationalError | InterfaceError)


def database_unavailable_response() -> HttpResponse:
    """The 503 page: rendered without the request, so without context processors
    (they read the user, hence the session, hence the database)."""
    response = HttpResponse(render_to_string(TEMPLATE), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    setattr(response, _PAGE_MARK, True)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the 503 page for a database outage, Django's 500 page else.

    Django calls it while handling the error, so ``sys.exc_info()`` holds it.
    """
    if is_database_outage(sys.exc_info()[1]):
        return database_unavailable_response()
    return defaults.server_error(request)


def _mark_outage(
    sender: Any, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Receiver of ``got_request_exception``, sent while the error is handled."""
    if request is not None and is_database_outage(sys.exc_info()[1]):
        setattr(request, _OUTAGE_MARK, True)


class DatabaseUnavailableMiddleware:
    """Answer 503 (see the module's docstring) instead of a 500 or a traceback.

    Must be first in ``MIDDLEWARE``, so that it sees every response, including the
    ones made from errors raised in other middleware. Costs nothing on a normal
    request: one attribute lookup.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(
            _mark_outage, dispatch_uid="config.middleware.mark_database_outage"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, _OUTAGE_MARK, False) or getattr(
            response, _PAGE_MARK, False
        ):
            return response
        unavailable = database_unavailable_response()
        for header, value in response.headers.items():
            if header.lower() not in _OWN_HEADERS:
                unavailable.headers.setdefault(header, value)
        return unavailable

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not is_database_outage(exception):
            return None
        # Django logs the errors it handles itself; this one it never sees.
        logger.error("Database unavailable: %s", request.path, exc_info=exception)
        return database_unavailable_response()
