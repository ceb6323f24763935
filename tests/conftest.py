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
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.backends.postgresql.operations import (
    DatabaseOperations as PostgresOperations,
)
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from django.utils import translation

from organizations.enums import Role
from organizations.models import Membership, Organization
from organizations.tenancy import RLS_SETTING
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
    """Give this process a migrated test database, then connect as the app role.

    The database is ``test_<NAME>_<PROCESS>``, a copy of a migrated template (see
    ``_migrated_template``), dropped at teardown. A run that was killed leaves its
    database behind; the next run on the host drops those whose process is gone. With
    ``--reuse-db`` the name leaves out the process id (``test_<NAME>_<host>_<worker>``),
    it is migrated in place, and kept at teardown (``--create-db`` makes it afresh, and
    rebuilds the template too).
    """
    connection = connections["default"]
    verbosity = request.config.option.verbose
    keepdb = django_db_keepdb and not django_db_createdb
    if connection.vendor != "postgresql":
        with django_db_blocker.unblock():
            db_cfg = setup_databases(
                verbosity=verbosity,
                interactive=False,
                keepdb=keepdb,
                aliases={"default"},
                serialized_aliases=set(),
            )
        yield
        if not keepdb:
            with django_db_blocker.unblock():
                teardown_databases(db_cfg, verbosity=verbosity)
        return

    app_role = settings.DATABASE_APP_ROLE
    if not app_role:
        pytest.exit("DATABASE_APP_ROLE must name the application role.", 2)
    name = connection.settings_dict["NAME"]
    owner = connection.settings_dict["USER"]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    with django_db_blocker.unblock():
        _drop_databases_of_gone_processes(f"test_{name}_{HOST}_")
        if keepdb:
            test_settings["NAME"] = f"test_{name}_{HOST}_{WORKER}"
            setup_databases(
                verbosity=verbosity,
                interactive=False,
                keepdb=True,
                aliases={"default"},
                serialized_aliases=set(),
            )
            _grant_test_privileges(app_role)
        else:
            template = _migrated_template(name, rebuild=django_db_createdb)
            _use_copy_of(template, f"test_{name}_{PROCESS}")
        connection.close()
        connection.settings_dict["USER"] = app_role
    yield
    with django_db_blocker.unblock():
        if not keepdb:
            _end_stray_sessions()
        connection.close()
        connection.settings_dict["USER"] = owner
        if not keepdb:
            connection.creation.destroy_test_db(name, verbosity=verbosity)


def _end_stray_sessions() -> None:
    """End the other sessions of this process's test database before it is dropped.

    Threads of the test process may leave a connection open behind them (the browser
    journeys' live server answers each request on a thread of its own), and one open
    session makes ``DROP DATABASE`` fail the whole run at its very end. They run as
    the application role, which may end its own role's sessions; the database is
    this process's alone, so nothing else is touched."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND usename = current_user"
        )


def _grant_test_privileges(app_role: str) -> None:
    """Test-only: Django resets the tables after a transactional test by TRUNCATE
    (``_flush_by_delete`` deletes instead, except for a reset of the sequences)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{app_role}"')


# Serialises building, dropping and copying the templates across every test process
# that shares the PostgreSQL server (an advisory lock of the maintenance database).
_TEMPLATE_LOCK = int.from_bytes(
    hashlib.sha256(b"hrms test database template").digest()[:8], "big", signed=True
)


def _schema_fingerprint() -> str:
    """A digest of what a freshly migrated database depends on.

    Every migration file (project and third-party apps), each app's ``apps.py`` (the
    post-migrate hooks are connected there), ``organizations/tenancy.py`` (the
    row-level security that a post-migrate hook installs), the settings, this file and
    Django's version. A change to anything else that shapes the migrated schema needs
    ``--create-db`` once.
    """
    from django.apps import apps  # noqa: PLC0415 - needs the loaded app registry
    from django.db.migrations.loader import MigrationLoader  # noqa: PLC0415

    paths = {
        Path(sys.modules[migration.__module__].__file__ or "")
        for migration in MigrationLoader(
            None, ignore_no_migrations=True
        ).disk_migrations.values()
    }
    for app_config in apps.get_app_configs():
        paths.add(Path(app_config.path) / "apps.py")
    paths.add(Path(apps.get_app_config("organizations").path) / "tenancy.py")
    paths.add(Path(sys.modules[settings.SETTINGS_MODULE].__file__ or ""))
    paths.add(Path(__file__))
    digest = hashlib.sha256(django.get_version().encode())
    for path in sorted(p for p in paths if p.is_file()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _migrated_template(name: str, *, rebuild: bool) -> str:
    """The name of a migrated database to copy test databases from; built if missing.

    Migrating takes far longer than copying, so the first test process builds
    ``test_<NAME>_template_<fingerprint>`` (migrated, with the test privileges
    granted) and every process after it, in this run and the next ones, copies it
    while the fingerprint stays the same. A new fingerprint drops the older
    templates. While one process builds, the others wait for it (an advisory lock);
    a build killed half-way leaves ``test_<NAME>_<host>_<pid>_template``, which the
    next run drops with the databases of other gone processes.
    """
    connection = connections["default"]
    template = f"test_{name}_template_{_schema_fingerprint()}"
    with connection._nodb_cursor() as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK])
        admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
        found = admin.fetchone() is not None
        if found and not rebuild:
            return template
        admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
            [f"test_{name}_template_"],
        )
        for (stale,) in admin.fetchall():
            with contextlib.suppress(DatabaseError):
                admin.execute(f'DROP DATABASE IF EXISTS "{stale}"')
        build = f"test_{name}_{HOST}_{os.getpid()}_template"
        connection.settings_dict["TEST"]["NAME"] = build
        setup_databases(
            verbosity=0,
            interactive=False,
            keepdb=False,
            aliases={"default"},
            serialized_aliases=set(),
        )
        _grant_test_privileges(settings.DATABASE_APP_ROLE)
        connection.close()
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = name
        admin.execute(f'ALTER DATABASE "{build}" RENAME TO "{template}"')
    return template


def _use_copy_of(template: str, test_name: str) -> None:
    """Create ``test_name`` as a copy of ``template`` and point the connection at it."""
    connection = connections["default"]
    with connection._nodb_cursor() as admin:
        admin.execute("SELECT pg_advisory_lock_shared(%s)", [_TEMPLATE_LOCK])
        admin.execute(f'DROP DATABASE IF EXISTS "{test_name}"')
        admin.execute(f'CREATE DATABASE "{test_name}" TEMPLATE "{template}"')
    connection.close()
    connection.settings_dict["TEST"]["NAME"] = test_name
    connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = test_name


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


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete() -> Iterator[None]:
    """Empty the tables after a transactional test with DELETE instead of TRUNCATE.

    After each transactional test (``transactional_db``, the live server) Django
    empties the tables with one TRUNCATE of them all, for which PostgreSQL gives
    every table and index a new file: seconds of work however few rows there are,
    and the suite's transactional tests leave few. Deleting them takes milliseconds.
    The rows of a table with row-level security are deleted once per organisation,
    under its tenant setting (the app role sees no others; a row no organisation
    can see stays, unseen by the application too); then every table is emptied,
    ``organizations_organization`` included. Foreign keys are checked at the commit,
    so the order does not matter. One PL/pgSQL block, one statement per table and
    organisation. A reset of the sequences (``reset_sequences=True``) still
    truncates.
    """
    original = PostgresOperations.sql_flush

    def sql_flush(
        ops: PostgresOperations,
        style: Any,
        tables: Sequence[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or allow_cascade or not tables:
            return original(
                ops,
                style,
                tables,
                reset_sequences=reset_sequences,
                allow_cascade=allow_cascade,
            )
        names = ", ".join(f"'{ops.quote_name(table)}'" for table in tables)
        return [
            _DELETE_EVERY_ROW.format(
                tables=names,
                organizations=ops.quote_name(Organization._meta.db_table),
                setting=RLS_SETTING,
            )
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "sql_flush", sql_flush)
        yield


_DELETE_EVERY_ROW = """
DO $flush$
DECLARE
  tables regclass[] := ARRAY[{tables}]::regclass[];
  secured regclass[];
  organization bigint;
  t regclass;
BEGIN
  SELECT coalesce(array_agg(oid::regclass), '{{}}') INTO secured
    FROM pg_class WHERE oid = ANY(tables) AND relrowsecurity;
  FOR organization IN SELECT id FROM {organizations} LOOP
    PERFORM set_config('{setting}', organization::text, true);
    FOREACH t IN ARRAY secured LOOP
      EXECUTE format('DELETE FROM %s', t);
    END LOOP;
  END LOOP;
  PERFORM set_config('{setting}', '', true);
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('DELETE FROM %s', t);
  END LOOP;
END
$flush$
"""


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """Each test starts in the project's language, whatever the previous test on this
    worker activated (a German page leaves nothing behind in production either: every
    request chooses its own)."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


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


# What a test marked slow (a browser journey, real processes, the demo seeded) weighs
# against an ordinary one when ordering the test files; roughly their ratio in time.
SLOW_WEIGHT = 100


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser journeys slow, then put the heaviest test files first.

    ``make test`` hands each pytest-xdist worker whole files in this order
    (``--dist loadfile --no-loadscope-reorder``). Heaviest first keeps the end of the
    run for short files, so the workers finish together; pytest-xdist's own order
    (most tests first) left the minute-long files of one or two tests to the end. A
    file weighs one per test and ``SLOW_WEIGHT`` per slow test. Runs last, after the
    browser conftest has marked its tests.
    """
    weights: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)
        file = item.nodeid.split("::", 1)[0]
        first_seen.setdefault(file, index)
        slow = item.get_closest_marker("slow") is not None
        weights[file] = weights.get(file, 0) + (SLOW_WEIGHT if slow else 1)
    items.sort(
        key=lambda item: (
            -weights[item.nodeid.split("::", 1)[0]],
            first_seen[item.nodeid.split("::", 1)[0]],
        )
    )


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
