"""Fixtures shared by the organisation tests."""

from __future__ import annotations

import pytest

from engagements.models import Engagement
from organizations.models import Organization
from tests.engagement_factories import EngagementFactory


@pytest.fixture
def engagement(org: Organization) -> Engagement:
    """An engagement of the organisation ``org`` (the pickers' tests)."""
    return EngagementFactory(organization=org)
