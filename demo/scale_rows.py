"""Set-based inserts for the synthetic organisation of ``demo.scale``.

Rows are collected as tuples (``Rows``) and written with one
``INSERT ... SELECT * FROM unnest(<one array per column>)`` per batch of ``BATCH``
rows: one parameter per column whatever the number of rows, sent in binary apart
from the statement, and none of the per-object work of ``bulk_create``. Ids are
taken from the table's sequence first (one query per batch), so the caller knows
every row's id before the children that point at it are built. ``COPY`` would be
faster still, but PostgreSQL refuses ``COPY FROM`` on tables under row-level
security, which every tenant table is.

History: ``write_history`` gives every row of the organisation in the tables written
here one "+" record, exactly as ``simple_history.utils.bulk_create_with_history``
records objects created in their current state (same tracked columns, no user, no
change reason), in one ``INSERT ... SELECT`` per table, after the updates that set
the final state (scores, finalisation). Query cost: per table one query for its
sequence's name and two per batch (ids, rows), plus one per history table.

On a database other than PostgreSQL (the embedded SQLite of ``make run``) rows go
through ``bulk_create`` instead: slower, same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from time import perf_counter
from typing import Any, cast

import psycopg
from django.db import connection, models
from django.utils import timezone

BATCH = 50_000
SIGNED_OFF = time(16, 0)


def at(day: date, moment: time = SIGNED_OFF) -> datetime:
    """A moment of ``day`` in UTC (synthetic timestamps follow the seed's dates)."""
    return datetime.combine(day, moment, tzinfo=UTC)


class Rows:
    """Rows of one model, collected as tuples in the order of ``fields``.

    ``constants`` fill columns that are the same on every row (typically
    ``organization_id``); columns named in neither take the field's default (its
    callable, such as ``uuid4``, runs per row; ``timezone.now`` and ``auto_now_add``
    take one shared time). ``add`` returns the row's position; ``insert`` writes
    them and returns their ids in the same order.
    """

    def __init__(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        **constants: Any,
    ) -> None:
        self.model = model
        self.fields = tuple(fields)
        self.constants = constants
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> int:
        self.rows.append(values)
        return len(self.rows) - 1

    def __len__(self) -> int:
        return len(self.rows)

    def insert(self, log: Log | None = None) -> list[int]:
        """Write the rows; returns their ids. One query, plus two per ``BATCH``
        rows."""
        ids = insert_rows(self.model, self.fields, self.rows, self.constants)
        if log is not None:
            log.count(self.model, len(ids))
        return ids


def _columns(
    model: type[models.Model], given: Sequence[str], constants: dict[str, Any]
) -> list[tuple[models.Field[Any, Any], Callable[[int], list[Any]] | None]]:
    """Every concrete column but the id, with how to fill it when not ``given``."""
    now = timezone.now()
    found: list[tuple[models.Field[Any, Any], Callable[[int], list[Any]] | None]] = []
    for column in model._meta.concrete_fields:
        concrete = cast("models.Field[Any, Any]", column)
        if concrete.primary_key and concrete.attname not in given:
            continue
        if concrete.generated:  # PostgreSQL computes it
            continue
        name = concrete.attname
        if name in given:
            found.append((concrete, None))
            continue
        if name in constants:
            found.append((concrete, _repeat(constants[name])))
            continue
        if getattr(concrete, "auto_now_add", False) or getattr(
            concrete, "auto_now", False
        ):
            found.append((concrete, _repeat(now)))
            continue
        default = concrete.default
        if default is timezone.now:
            found.append((concrete, _repeat(now)))
        elif callable(default) and default is not models.NOT_PROVIDED:
            found.append((concrete, _each(default)))
        else:
            found.append((concrete, _repeat(concrete.get_default())))
    return found


def _repeat(value: Any) -> Callable[[int], list[Any]]:
    return lambda count: [value] * count


def _each(default: Callable[[], Any]) -> Callable[[int], list[Any]]:
    return lambda count: [default() for _ in range(count)]


def _server_cursor() -> psycopg.Cursor[Any]:
    """A cursor that sends parameters to the server apart from the statement.

    Django's cursors bind parameters on the client: each array is quoted into the
    SQL text in Python, element by element (a third of the seed's time). psycopg's
    own cursor sends them in its C-accelerated formats instead. Same connection,
    same transaction; Django does not see these statements.
    """
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    constants: dict[str, Any] | None = None,
) -> list[int]:
    """Insert ``rows`` (tuples in the order of ``fields``, attnames) into ``model``'s
    table and return their ids in order. On PostgreSQL one query for the sequence's
    name (none when ``fields`` has the ids) and two per ``BATCH`` rows."""
    constants = constants or {}
    if not rows:
        return []
    columns = _columns(model, fields, constants)
    if connection.vendor != "postgresql":
        return _bulk_create(model, fields, rows, columns)
    position = {name: index for index, name in enumerate(fields)}
    has_id = "id" in position
    quote = connection.ops.quote_name
    table = model._meta.db_table
    names = ["id"] + [quote(f.column) for f, _fill in columns if f.attname != "id"]
    types = [f"{model._meta.pk.db_type(connection)}[]"] + [
        f"{f.db_type(connection)}[]" for f, _fill in columns if f.attname != "id"
    ]
    # Identifiers come from the model's metadata (quoted); values are parameters.
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(names)}) "  # noqa: S608
        "SELECT * FROM unnest(" + ", ".join(f"%b::{kind}" for kind in types) + ")"
    )
    ids: list[int] = []
    sequence: str | None = None
    with _server_cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            transposed = list(zip(*chunk, strict=True))
            if has_id:
                chunk_ids = list(transposed[position["id"]])
            else:
                if sequence is None:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                    (sequence,) = cursor.fetchone() or (None,)
                # The sequence's name once, not per row: ten times faster.
                cursor.execute(
                    "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                    [sequence, len(chunk)],
                )
                chunk_ids = [row[0] for row in cursor.fetchall()]
            arrays: list[list[Any]] = [chunk_ids]
            for column, fill in columns:
                if column.attname == "id":
                    continue
                values = (
                    list(transposed[position[column.attname]])
                    if fill is None
                    else fill(len(chunk))
                )
                if isinstance(column, models.JSONField):
                    values = [json.dumps(v) for v in values]
                arrays.append(values)
            cursor.execute(sql, arrays)
            ids.extend(chunk_ids)
    return ids


def update_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> int:
    """Set ``fields`` (attnames) of the rows whose id comes first in each tuple of
    ``rows``: one ``UPDATE ... FROM unnest(...)`` per ``BATCH`` rows (``bulk_update``
    elsewhere). Returns the rows given."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        objects = []
        for row in rows:
            obj = model(pk=row[0])
            for name, value in zip(fields, row[1:], strict=True):
                setattr(obj, name, value)
            objects.append(obj)
        names = [model._meta.get_field(f.removesuffix("_id")).name for f in fields]
        model._default_manager.bulk_update(objects, names, batch_size=500)
        return len(rows)
    quote = connection.ops.quote_name
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    columns = [cast("models.Field[Any, Any]", by_attname[name]) for name in fields]
    names = ["id"] + [quote(f.column) for f in columns]
    types = [f"{model._meta.pk.db_type(connection)}[]"] + [
        f"{f.db_type(connection)}[]" for f in columns
    ]
    # Identifiers come from the model's metadata (quoted); values are parameters.
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET "  # noqa: S608
        + ", ".join(f"{name} = v.{name}" for name in names[1:])
        + " FROM unnest("
        + ", ".join(f"%b::{kind}" for kind in types)
        + f") AS v({', '.join(names)}) WHERE t.id = v.id"
    )
    with _server_cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])
    return len(rows)


def _bulk_create(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    columns: list[tuple[models.Field[Any, Any], Callable[[int], list[Any]] | None]],
) -> list[int]:
    """The same rows through ``bulk_create``, for databases other than PostgreSQL."""
    fills = {f.attname: fill(len(rows)) for f, fill in columns if fill is not None}
    objects = [
        model(
            **dict(zip(fields, row, strict=True)),
            **{name: values[index] for name, values in fills.items()},
        )
        for index, row in enumerate(rows)
    ]
    created = model._default_manager.bulk_create(objects, batch_size=500)
    return [obj.pk for obj in created]


def write_history(
    models_written: Sequence[type[models.Model]], organization_id: int
) -> int:
    """One "+" history record per row of the organisation in each of
    ``models_written`` that has history, copied from the row as it is now. One
    query per history table; returns the records written."""
    written = 0
    when: datetime = timezone.now()
    quote = connection.ops.quote_name
    for model in dict.fromkeys(models_written):
        manager_name = getattr(model._meta, "simple_history_manager_attribute", None)
        if manager_name is None:
            continue
        history = getattr(model, manager_name).model
        tracked = [f.attname for f in history.tracked_fields]
        source = {f.attname: f.column for f in model._meta.concrete_fields}
        target = {f.attname: f.column for f in history._meta.concrete_fields}
        into = [quote(target[name]) for name in tracked] + [
            quote(target[name])
            for name in (
                "history_date",
                "history_change_reason",
                "history_type",
                "history_user_id",
            )
        ]
        # Identifiers come from model metadata (quoted); values are parameters.
        sql = (
            f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(into)}) "  # noqa: S608
            f"SELECT {', '.join(quote(source[name]) for name in tracked)}, "
            "%s, NULL, '+', NULL "
            f"FROM {quote(model._meta.db_table)} WHERE organization_id = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [when, organization_id])
            written += cursor.rowcount
    return written


def analyze(tables: list[str]) -> str | None:
    """ANALYZE ``tables`` so the planner knows the new rows (right after a bulk load
    it has no statistics; inside the loading transaction it counts that
    transaction's own rows). Returns a hint instead when the connected role may not
    (PostgreSQL lets only a table's owner analyse it); None on other databases.
    Queries: one, plus one per table."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) "
            "AND NOT pg_has_role(current_user, relowner, 'USAGE')",
            [tables],
        )
        refused = [row[0] for row in cursor.fetchall()]
        if refused:
            return (
                f"The role {connection.settings_dict['USER']} may not ANALYZE "
                f"{len(refused)} of the tables (only their owner may). Run ANALYZE as "
                "the owner role, or pages will be planned without statistics."
            )
        quote = connection.ops.quote_name
        for table in tables:
            cursor.execute(f"ANALYZE {quote(table)}")
    return None


def generic_plans() -> None:
    """Plan prepared statements generically for the rest of the transaction
    (PostgreSQL only).

    PostgreSQL checks foreign keys with prepared statements, one execution per row
    written or deleted (at commit, as Django's constraints are deferred). Planned
    for the actual organisation id, which the statistics have never seen, they
    expect one row for ``organization_id = <id>`` and walk the organisation's index
    instead of the unique key: every check reads every row of the organisation
    (quadratic; a thousand employees took minutes to delete). Generic plans go by
    the key. ``SET LOCAL`` ends with the transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")


@contextmanager
def without_nested_loops() -> Iterator[None]:
    """Plan the block's queries without nested-loop joins (PostgreSQL only).

    Right after a bulk load the planner has no statistics about the new
    organisation's rows: the row-level security condition on ``organization_id``
    looks like it matches a single row, so it picks nested loops that are quadratic
    in the real row counts (minutes for a thousand employees). Only the table owner
    may ANALYZE, and the seed may run as the application role; hash and merge joins
    are linear whatever the estimates. ``SET LOCAL`` ends with the transaction at
    the latest.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop = DEFAULT")


@dataclass
class Log:
    """Seconds per stage and rows per table, for ``seed_scale --verbosity 2``.

    ``on_stage`` (when given) hears of each stage as it ends: its name, seconds and
    the rows it inserted.
    """

    on_stage: Callable[[str, float, int], None] | None = None
    stages: list[tuple[str, float, int]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    written: list[type[models.Model]] = field(default_factory=list)
    _stage_rows: int = 0

    def count(self, model: type[models.Model], rows: int) -> None:
        self.tables[model._meta.label] = self.tables.get(model._meta.label, 0) + rows
        self.written.append(model)
        self._stage_rows += rows

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._stage_rows = 0
        started = perf_counter()
        yield
        seconds = perf_counter() - started
        self.stages.append((name, seconds, self._stage_rows))
        if self.on_stage is not None:
            self.on_stage(name, seconds, self._stage_rows)
