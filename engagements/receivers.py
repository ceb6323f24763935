"""What the engagements app does when other apps' signals fire; connected in
``apps.py``."""

from __future__ import annotations

from typing import Any

from engagements.services.roles import sync_permissions_for
from organizations.models import Employee


def sync_permissions_on_link(sender: Any, employee: Employee, **kwargs: Any) -> None:
    """A login was linked to ``employee``: grant it the permissions of the
    engagement roles that person holds (``organizations.signals.employee_linked``)."""
    sync_permissions_for(employee)
