"""The world of the authorisation matrix, shared by every module of ``tests/authz/``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.test import Client, override_settings

from tests.authz.changes import db_state
from tests.authz.world import World, build_world


@pytest.fixture(scope="package")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the package's tests inside a transaction that is rolled back at
    the end (pytest tears it down before the first test outside ``tests/authz/``).

    Every test runs in a savepoint inside that transaction (pytest-django's
    ``django_db``) and every case of the matrix in one of its own within it
    (``engine._answer``), so one case's writes never reach the next; building the
    world per case would make the matrix many times slower.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
        ),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
            for actor, membership in built.members.items():
                client = Client()
                client.force_login(
                    membership.user,
                    backend="django.contrib.auth.backends.ModelBackend",
                )
                built.sessions[actor] = client.session.session_key
                built.signed_in[actor] = client.session[SESSION_KEY]
            built.baseline = db_state(built)
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
