"""Every select says what to choose: no page an HR admin may open shows Django's
"---------" empty choice. The pages are the authorisation matrix's (every named URL
of every app, ``tests/authz/table.py``), each opened with GET on every target an HR
admin may read, with its queries."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.urls import reverse

from tests.authz.engine import client_for, close_download
from tests.authz.policy import Actor, Outcome, Target
from tests.authz.table import POLICY, PREPARE
from tests.authz.targets import url_kwargs
from tests.authz.world import World

# The placeholder Django gives a select's empty choice when the form names none.
DJANGO_EMPTY_LABEL = b"---------"
# Another organisation's ids and ids that exist nowhere answer 404.
SELECT = re.compile(rb'<select name="([^"]*)"[^>]*>(.*?)</select>', re.S)
OWN_TARGETS = tuple(t for t in Target if t not in (Target.FOREIGN, Target.MISSING))


def _pages() -> Iterator[tuple[str, Target, str]]:
    """(URL name, target, query) of every GET the HR admin is allowed."""
    for name, policy in sorted(POLICY.items()):
        for method, target in policy.rows:
            if method != "GET" or target not in OWN_TARGETS:
                continue
            if policy.expected("GET", target, Actor.HR_ADMIN) is not Outcome.ALLOWED:
                continue
            for query in policy.queries:
                yield name, target, query


def test_every_page_lists_pages_with_forms() -> None:
    names = {name for name, _target, _query in _pages()}

    assert {
        "organizations:employee_create",
        "competencies:competency_sets",
        "engagements:engagement_create",
    } <= names


@pytest.mark.django_db
def test_no_page_shows_djangos_empty_choice_placeholder(world: World) -> None:
    shown = []

    for name, target, query in _pages():
        kwargs = url_kwargs(world, name, POLICY[name], target)
        path = reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")
        with transaction.atomic():
            if name in PREPARE:
                PREPARE[name](world)
            response = client_for(world, Actor.HR_ADMIN).get(path)
            content = b""
            if getattr(response, "streaming", False):
                close_download(response)
            else:
                content = response.content
            transaction.set_rollback(True)
        fields = [
            field.decode()
            for field, options in SELECT.findall(content)
            if DJANGO_EMPTY_LABEL in options
        ]
        if DJANGO_EMPTY_LABEL in content:
            shown.append(f"{name} ({target}): {', '.join(fields) or '?'}")

    assert shown == [], "\n".join(shown)
