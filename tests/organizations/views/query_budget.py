"""Counting a page's queries in the tests: its lookups, without the test-only
transaction bookkeeping (the query-budget tests of tests/organizations/views/)."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.authz.engine import close_download

PAGE_BUDGET = 15
# Tests run inside a transaction, so atomic blocks issue SAVEPOINT / RELEASE SAVEPOINT
# (and ROLLBACK TO SAVEPOINT) statements that a production request does not; they are
# not lookups and are left out when counting what a page or the middleware costs.
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")
# Also test-only: under an outer transaction the middleware clears the row-security
# setting after the view (``set_row_security(None)``); at a real commit it ends by itself.
RLS_RESET = re.compile(r"^\s*SELECT set_config\(")


def lookups(captured: list[dict[str, str]]) -> list[str]:
    """The SQL of the captured queries, without test-only transaction bookkeeping."""
    return [
        q["sql"]
        for q in captured
        if not SAVEPOINT.match(q["sql"]) and not RLS_RESET.match(q["sql"])
    ]


def table_of(sql: str) -> str:
    match = re.search(r'\bFROM "(\w+)"', sql)
    return match.group(1) if match else sql


# Sections that only answer HTMX requests (a plain GET redirects to their page).
HTMX_ONLY = {"appraisals:home_appraisals"}


def get_counted(
    client: Client, url: str, htmx: bool = False
) -> tuple[Any, list[dict[str, str]]]:
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    if getattr(response, "streaming", False):
        close_download(response)  # a file download: its file is open until closed
    return response, queries.captured_queries
