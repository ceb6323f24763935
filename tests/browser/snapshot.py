"""A copy of every row of the test database, kept in temporary tables of a database
session of its own, to put back far faster than the rows were made.

The browser journeys share the demo this way (``demo_data`` in
tests/browser/conftest.py): seeding it costs thousands of queries, putting it back a
statement per table and organisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from appraisals.tallies import DERIVED_MODELS
from organizations.models import Organization
from organizations.tenancy import RLS_SETTING
from reporting.tallies import DERIVED_MODELS as REPORTING_DERIVED_MODELS

# Kept by database triggers from the rows of other tables (docs/performance.md).
DERIVED_TABLES = frozenset(
    model._meta.db_table for model in (*DERIVED_MODELS, *REPORTING_DERIVED_MODELS)
)

# The tables of the installed models: name, row-level security, columns to copy
# (quoted, in table order; generated columns cannot be written and are left out).
_TABLES = """
    SELECT c.relname, c.relrowsecurity,
           string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid
         AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
    WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(%s)
    GROUP BY c.relname, c.relrowsecurity
    ORDER BY c.relname
"""


@dataclass(frozen=True)
class _Table:
    name: str
    copy: str  # the temporary table holding its rows
    columns: str
    secured: bool  # row-level security: copied one organisation at a time


@dataclass(frozen=True)
class DatabaseSnapshot:
    """Every row of the test database as it was when ``take()`` ran.

    The copies are temporary tables of a connection of the snapshot's own (Django
    closes the test's connections after every transactional test, which would drop
    them), connected as the test connection is: as the app role. The app role sees
    the rows of one organisation at a time in a table with row-level security, so
    those tables are copied once per organisation, under its tenant setting (a row
    no organisation can see is not copied; the application could not see it
    either). ``restore()`` empties every table the way the reset after a
    transactional test does, then copies the rows back, ids included, in one
    transaction; foreign keys are checked at its commit, so the order of the tables
    does not matter. Both cost one statement per table and organisation.
    ``close()`` ends the snapshot's connection (before the test database is
    dropped).
    """

    day: date
    organizations: tuple[int, ...]
    tables: tuple[_Table, ...]
    session: BaseDatabaseWrapper

    @classmethod
    def take(cls) -> DatabaseSnapshot:
        session = connection.copy()
        names = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        with _transaction(session) as cursor:
            cursor.execute(_TABLES, [sorted(names)])
            tables = tuple(
                _Table(name, f"snapshot_{index}", columns, secured)
                for index, (name, secured, columns) in enumerate(cursor.fetchall())
            )
            cursor.execute(
                f'SELECT id FROM "{Organization._meta.db_table}" ORDER BY id'  # noqa: S608 - a model's table
            )
            organizations = tuple(row[0] for row in cursor.fetchall())
            for table in tables:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {table.copy} AS "  # noqa: S608 - names from the catalogue
                    f'SELECT {table.columns} FROM "{table.name}" WITH NO DATA'
                )
            _copy_rows(cursor, tables, organizations, into_copies=True)
        return cls(timezone.localdate(), organizations, tables, session)

    def restore(self) -> bool:
        """Put the rows back. False, changing nothing, when the snapshot was taken
        on another day (data made relative to today would be out of date) or its
        connection was lost: the caller then makes the data again."""
        if timezone.localdate() != self.day or not _connected(self.session):
            return False
        call_command(
            "flush",
            interactive=False,
            reset_sequences=False,
            inhibit_post_migrate=True,
            verbosity=0,
        )
        with _transaction(self.session) as cursor:
            _copy_rows(cursor, self.tables, self.organizations, into_copies=False)
        # Content types are back with the ids they had, not those of the reset.
        ContentType.objects.clear_cache()
        return True

    def close(self) -> None:
        self.session.close()


@contextlib.contextmanager
def _transaction(session: BaseDatabaseWrapper) -> Iterator[Any]:
    """A cursor of ``session`` in a transaction, committed unless it raised."""
    session.set_autocommit(False)
    try:
        with session.cursor() as cursor:
            yield cursor
        session.commit()
    except BaseException:
        with contextlib.suppress(DatabaseError):
            session.rollback()
        raise
    finally:
        # A lost connection stays lost: the next restore() sees it and says so.
        if session.connection is not None:
            with contextlib.suppress(DatabaseError):
                session.set_autocommit(True)


def _connected(session: BaseDatabaseWrapper) -> bool:
    return session.connection is not None and session.is_usable()


def _copy_rows(
    cursor: Any,
    tables: tuple[_Table, ...],
    organizations: tuple[int, ...],
    *,
    into_copies: bool,
) -> None:
    """Copy every table's rows into its copy, or back (``into_copies=False``)."""

    def copy(table: _Table, where: str = "", params: tuple[int, ...] = ()) -> None:
        source, target = (
            (table.name, table.copy) if into_copies else (table.copy, table.name)
        )
        cursor.execute(
            f'INSERT INTO "{target}" ({table.columns}) '  # noqa: S608 - names from the catalogue
            f'SELECT {table.columns} FROM "{source}" {where}',
            params,
        )

    # Tables the database keeps from the rows of others (triggers): written last, and
    # emptied first, since putting the other rows back already wrote to them (and,
    # table by table, from rows whose plans or people were not back yet).
    ordered = sorted(tables, key=lambda table: table.name in DERIVED_TABLES)
    for table in ordered:
        if not table.secured:
            copy(table)
    for organization in organizations:
        cursor.execute(
            "SELECT set_config(%s, %s, true)", [RLS_SETTING, str(organization)]
        )
        for table in ordered:
            if not table.secured:
                continue
            if table.name in DERIVED_TABLES and not into_copies:
                cursor.execute(f'DELETE FROM "{table.name}"')  # noqa: S608 - a model's table
            copy(table, "WHERE organization_id = %s", (organization,))
    cursor.execute("SELECT set_config(%s, '', true)", [RLS_SETTING])
