"""Who may do what with rating scales, the competency library and competency sets.

The one entry point is ``can(access, action, target=None)``. The library (the list
and each competency's page) is readable by every member; everything else is for HR
admins, whose views refuse other roles before any lookup (``require_hr_admin``), so
the 403 reveals nothing about which ids exist.
"""

from __future__ import annotations

from enum import StrEnum

from organizations.permissions import Access


class Action(StrEnum):
    """What ``can`` answers for this app."""

    # Scales, categories, the library's competencies and competency sets.
    MANAGE = "manage"


def can(access: Access, action: Action | str, target: object = None) -> bool:
    """May ``access``'s member do ``action``? No query.

    ``manage``: HR admins shape the rating scales, the library and the competency
    sets (any ``target`` of this app).
    """
    if action == Action.MANAGE:
        return access.is_hr
    raise ValueError(f"Unknown action for competencies: {action!r}")
