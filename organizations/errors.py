"""The errors that services raise and views show, for every app.

A service refuses an operation by raising ``DomainError`` with a message fit for the
user (and, where one field is to blame, that field's name); views turn it into a form
error with ``organizations.http.apply_service``. Nothing here imports Django's
ORM, so any module may import it.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A rule of the domain refused the operation; the message is fit for the user.

    ``field`` names the form field to show it beside (None: above the form).
    ``errors`` maps further field names to their own messages, for a refusal that
    concerns several fields at once (an incomplete evaluation).
    """

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors: Mapping[str, str] = errors or {}


class EditConflict(DomainError):
    """A stale edit: someone saved the object after the editor loaded it.

    ``current_version`` lets a form offer the editor a resubmit against the latest.
    """

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


def describe_exception(exc: BaseException) -> str:
    """An exception's type and the first line of its message: enough for a person to
    report (a failed recomputation, an outbox row), never a traceback."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
