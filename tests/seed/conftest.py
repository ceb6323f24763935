"""The ``world`` fixture: one organisation of EMPLOYEES people built by seed_scale,
seeded once per test module that uses it and removed after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from organizations.models import Organization
from tests.seed.world import EMPLOYEES, SEED, SLUG, drop, seed


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[Organization]:
    """One world of EMPLOYEES people for the whole module (built once, removed after)."""
    with django_db_blocker.unblock():
        seed(SLUG, EMPLOYEES, "--seed", str(SEED))
        organization = Organization.objects.get(slug=SLUG)
    yield organization
    with django_db_blocker.unblock():
        drop(SLUG)
