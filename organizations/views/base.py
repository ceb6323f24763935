"""What the organizations views share: running a one-click action, and a form page
that answers 400 when its form is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from organizations.errors import DomainError


def run_action(request: HttpRequest, call: Callable[[], object], done: str) -> None:
    """Run a one-click action's service call: flash its refusal (a ``DomainError``),
    or ``done`` when it went through."""
    try:
        call()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)


class BadRequestOnInvalidMixin:
    """For a class-based form view: a refused form answers 400, not 200."""

    def form_invalid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_invalid(form)  # type: ignore[misc]  # a mixin: the edit view after it in the MRO has form_invalid
        response.status_code = 400
        return response
