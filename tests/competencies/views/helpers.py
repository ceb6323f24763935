"""Shared helpers of the competencies page tests."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.models import Membership, Organization

ClientAs = Callable[[Membership | None], Client]
MakeMember = Callable[..., Membership]

PAGE_BUDGET = 15
# Test-only statements a production request does not run (see
# tests/organizations/views/test_query_counts.py): savepoints of the test transaction
# and the row-security reset after the view.
_NOISE = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)


def url(name: str, org: Organization, *args: int) -> str:
    return reverse(f"competencies:{name}", args=[org.slug, *args])


def field_error(page: str, auto_id: str) -> str | None:
    """The error text shown beside the field ``auto_id``, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="{re.escape(auto_id)}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def queries(client: Client, address: str) -> int:
    """How many queries a GET of ``address`` runs (200 expected), without the
    test-only transaction bookkeeping."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(address)
    assert response.status_code == 200
    return sum(1 for q in captured.captured_queries if not _NOISE.match(q["sql"]))
