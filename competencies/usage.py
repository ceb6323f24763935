"""Whether a rating scale may still change: a registry that other apps feed.

A scale is fixed once ratings exist in a cycle that uses it, but cycles and ratings
live in apps above this one, which this app never imports. They register a check in
their ``AppConfig.ready`` (as ``engagements`` does: "a cycle using this scale is in
review or closed"); ``scale_lock_reason`` asks every check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from competencies.models import RatingScale

# Returns why the scale cannot change (a sentence fit for the user), or None.
ScaleLockCheck = Callable[["RatingScale"], "str | None"]
_checks: list[ScaleLockCheck] = []


def register_scale_lock(check: ScaleLockCheck) -> ScaleLockCheck:
    """Add a lock check (idempotent); usable as a decorator."""
    if check not in _checks:
        _checks.append(check)
    return check


def unregister_scale_lock(check: ScaleLockCheck) -> None:
    """Remove a lock check (tests register temporary ones)."""
    if check in _checks:
        _checks.remove(check)


def scale_lock_reason(scale: RatingScale) -> str | None:
    """Why ``scale`` can no longer change, or None when it may.

    Runs the registered checks in order and returns the first reason; each check
    states its own cost (typically one query). Must run inside the tenant scope.
    """
    if scale.pk is None:
        return None
    for check in _checks:
        reason = check(scale)
        if reason:
            return reason
    return None
