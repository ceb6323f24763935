"""What a request of the matrix changed: a digest of every row it could touch, in
both organisations, in one round trip, and a watch that tells a request that only
read (nothing to compare) from one that may have written."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from guardian.models import GroupObjectPermission, UserObjectPermission

from organizations.models import Membership, Organization, User
from organizations.tenancy import RLS_SETTING, tenant_tables
from tests.authz.world import World


def _digests(tables: list[str], where: str = "") -> str:
    """One SELECT returning a digest of every row of ``tables``, in a stable order."""
    return "SELECT " + ", ".join(
        # Table names come from the model registry, never from input.
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608
        f'FROM "{table}" t {where})'
        for table in tables
    )


def _set_organization(organization_id: int | None) -> str:
    value = "" if organization_id is None else str(int(organization_id))
    return f"SELECT set_config('{RLS_SETTING}', '{value}', true)"


def db_state(world: World) -> tuple[Any, ...]:
    """Every row a request in the matrix could touch, in both organisations.

    Tenant tables are read inside each organisation (row-level security shows one
    tenant at a time); their history tables are included, so any save shows up. The
    object permissions that engagement roles grant live in django-guardian's tables.
    One round trip: the statements run as one query and each SELECT gives a result.
    """
    tenant = _digests(tenant_tables())
    statements = []  # (SQL, whether its result is part of the state)
    for organization in (world.org, world.other_org):
        memberships = _digests(
            [Membership._meta.db_table],
            f"WHERE organization_id = {int(organization.pk)}",
        )
        statements += [
            (_set_organization(organization.pk), False),
            (tenant, True),
            (memberships, True),
        ]
    shared = _digests(
        [
            User._meta.db_table,
            Organization._meta.db_table,
            UserObjectPermission._meta.db_table,
            GroupObjectPermission._meta.db_table,
        ]
    )
    statements += [(_set_organization(None), False), (shared, True)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(";\n".join(sql for sql, _ in statements))
        results = cursor.cursor  # psycopg's cursor: one result set per statement
        rows = []
        for _, kept in statements:
            row = results.fetchone()
            if kept:
                rows.append(row)
            results.nextset()
    return tuple(rows)


# The statements a request may run without changing anything: reads, cursors over
# reads, savepoints. Anything else (INSERT, UPDATE, DELETE...) may have written.
READ_ONLY = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "DECLARE", "FETCH", "CLOSE")


class WriteWatch:
    """Notes whether the connection ran a statement that may change data, so that a
    request that only read needs no comparison of the database before and after."""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any):
        words = sql.split(None, 1)
        if not words or words[0].upper() not in READ_ONLY:
            self.wrote = True
        return execute(sql, params, many, context)
