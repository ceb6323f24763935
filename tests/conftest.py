"""Shared fixtures. Tests run against PostgreSQL as the application role, so
row-level security is really in force; the owner role only creates and migrates.

Every test process has a database and cache keys of its own (see ``PROCESS``), so runs
side by side on one machine and pytest-xdist's workers (``make test`` runs
``pytest -n auto``) never share either."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import DatabaseError, connections
from django.test import Client
from django.test.utils import setup_databases, teardown_databases

from organizations.enums import Role
from organizations.models import Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory

# Who this test process is: a hash of the host (one PostgreSQL or Redis server may
# serve several machines, whose process ids say nothing to each other), the process
# id (two runs at once on one machine) and the pytest-xdist worker ("main" without
# xdist). pytest-django would suffix the worker itself ("test_hrms_gw0"), but only in
# its own django_db_setup, which the one below replaces.
HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
PROCESS = f"{HOST}_{os.getpid()}_{WORKER}"


@pytest.fixture(scope="session", autouse=True)
def _cache_keys_of_its_own() -> None:
    """Prefix every cache key with ``PROCESS``, before the first cache is opened.

    Tests share one Redis database (``REDIS_URL``, db 15) with every other test
    process: the survey page's rate-limit counters, for one, are per client address,
    and two workers posting from 127.0.0.1 at once would count each other's requests.
    A key prefix per process parts them whatever the number of workers (a database
    number per worker would run out at 16). Nothing in the suite flushes the database
    (``cache.clear()`` would empty every process's keys): a test that needs a counter
    at zero deletes its own keys, and the counters expire with their window.
    """
    cache = settings.CACHES["default"]
    cache["KEY_PREFIX"] = f"{cache.get('KEY_PREFIX', '')}:{PROCESS}"


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
    django_db_createdb: bool,
) -> Iterator[None]:
    """Create and migrate the test database as the owner, then connect as the app role.

    The database is ``test_<NAME>_<PROCESS>``, dropped at teardown. A run that was
    killed leaves its database behind; the next run on the host drops those whose
    process is gone. With ``--reuse-db`` the name leaves out the process id
    (``test_<NAME>_<host>_<worker>``), so the next run finds the database again and
    keeps it at teardown (``--create-db`` makes it afresh).
    """
    connection = connections["default"]
    keepdb = django_db_keepdb and not django_db_createdb
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        test_settings["NAME"] = (
            f"test_{name}_{HOST}_{WORKER}" if keepdb else f"test_{name}_{PROCESS}"
        )
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            _drop_databases_of_gone_processes(f"test_{name}_{HOST}_")
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=keepdb,
            aliases={"default"},
            serialized_aliases=set(),
        )
        owner = connection.settings_dict["USER"]
        app_role = settings.DATABASE_APP_ROLE
        if connection.vendor == "postgresql":
            if not app_role:
                pytest.exit("DATABASE_APP_ROLE must name the application role.", 2)
            with connection.cursor() as cursor:
                # Test-only: transactional tests (live server) reset tables by TRUNCATE.
                cursor.execute(
                    f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{app_role}"'
                )
            connection.close()
            connection.settings_dict["USER"] = app_role
    yield
    with django_db_blocker.unblock():
        connection.close()
        connection.settings_dict["USER"] = owner
        if not keepdb:
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


def _drop_databases_of_gone_processes(prefix: str) -> None:
    """Drop this host's test databases whose process no longer runs (killed runs).

    Connects as the owner to the configured database. A database still in use, or
    dropped meanwhile by another worker, is left to that process.
    """
    named = re.compile(rf"{re.escape(prefix)}(\d+)_\w+")
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix]
        )
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        found = named.fullmatch(name)
        if found is None or _is_running(int(found.group(1))):
            continue
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    connection.close()


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug="acme-test", name="Acme Test")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(slug="other-test", name="Other Test")


@pytest.fixture
def make_member(db: None) -> Callable[..., Membership]:
    def make(
        organization: Organization, role: str = Role.EMPLOYEE, **kwargs: Any
    ) -> Membership:
        return MembershipFactory(organization=organization, role=role, **kwargs)

    return make


@pytest.fixture
def hr_admin(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.HR_ADMIN)


@pytest.fixture
def manager(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.MANAGER)


@pytest.fixture
def employee_member(
    org: Organization, make_member: Callable[..., Membership]
) -> Membership:
    return make_member(org, Role.EMPLOYEE)


@pytest.fixture
def client_as() -> Callable[[Membership | None], Client]:
    def make(membership: Membership | None) -> Client:
        client = Client()
        if membership is not None:
            client.force_login(
                membership.user, backend="django.contrib.auth.backends.ModelBackend"
            )
        return client

    return make


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
