"""Demo data from the apps above this one.

``seed_demo`` creates the organisations and people, then runs every registered seeder
inside each organisation's tenant context. Apps register in ``AppConfig.ready`` (in
INSTALLED_APPS order), so this app never imports them. Seeders must be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable

from organizations.models import Organization

Seeder = Callable[[Organization], None]
_seeders: list[Seeder] = []


def register(seeder: Seeder) -> Seeder:
    if seeder not in _seeders:
        _seeders.append(seeder)
    return seeder


def run_seeders(organization: Organization) -> None:
    """Run every registered seeder for ``organization`` (inside its tenant context)."""
    for seeder in _seeders:
        seeder(organization)
