"""Demo surveys (idempotent)."""

from __future__ import annotations

from organizations.models import Organization


def seed(organization: Organization) -> None:
    """Filled in by the surveys workstream."""
