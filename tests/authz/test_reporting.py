"""The authorisation matrix over the reporting app's URLs: every target x every actor
x GET and POST against ``tests/authz/policies/reporting.py``, and the exports POST
naming another organisation's review cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.authz.engine import AppMatrix
from tests.authz.policies.reporting import POLICY


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    """Report files the matrix stores go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


class TestReportingMatrix(AppMatrix):
    policy = POLICY
    foreign_references = [
        ("reporting:exports", "cycle", "review_cycle"),
    ]
