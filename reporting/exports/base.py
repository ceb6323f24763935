"""What every export dataset is made of: its columns (key, translated label, type),
the ``Dataset`` itself, and the value helpers the datasets share (scores as exact
Decimals with two places, translated choice labels, the chosen cycle).

Rows are read with ``.values_list(...).iterator(chunk_size=CHUNK)``, which on
PostgreSQL is a server-side cursor: a large export never holds its rows in Python
at once. The job that runs a dataset (``reporting.services.run_report_job``)
activates the organisation's time zone and language, so labels, dates and times
come out in them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db.models import Aggregate, CharField
from django.utils.translation import gettext

from engagements.enums import PlanKind
from engagements.models import ReviewCycle
from reporting.scope import ReportScope

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrOrPromise
else:
    StrOrPromise = str

CHUNK = 2000
TWO_PLACES = Decimal("0.01")

Params = Mapping[str, Any]
Row = Sequence[Any]


class ColumnType(StrEnum):
    TEXT = "text"
    DECIMAL = "decimal"  # two places; a number in XLSX
    INTEGER = "integer"
    DATE = "date"
    DATETIME = "datetime"  # in the organisation's time zone


@dataclass(frozen=True)
class Column:
    key: str
    label: StrOrPromise
    type: ColumnType = ColumnType.TEXT


def hr_only(scope: ReportScope) -> bool:
    return scope.is_hr


@dataclass(frozen=True)
class Dataset:
    """One kind of export. ``rows(scope, params)`` yields tuples in ``columns``
    order; ``count(scope, params)`` (optional) how many it will yield;
    ``available(scope)`` whether the viewer may export it at all (checked when the
    job is requested and again when its file is downloaded; may run a query).
    ``needs_cycle``: the exports page asks for a review cycle (``params["cycle"]``).
    ``listed``: offered on the exports page (a dashboard's own export is not)."""

    kind: str
    label: StrOrPromise
    description: StrOrPromise
    columns: tuple[Column, ...]
    rows: Callable[[ReportScope, Params], Iterator[Row]]
    count: Callable[[ReportScope, Params], int] | None = None
    available: Callable[[ReportScope], bool] = hr_only
    needs_cycle: bool = True
    listed: bool = True

    @property
    def headers(self) -> list[str]:
        return [str(column.label) for column in self.columns]


# --- Value helpers ---------------------------------------------------------------------


def two_places(value: Decimal | None) -> Decimal | None:
    """A score as an exact Decimal with two places (half up), or None."""
    if value is None:
        return None
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def choice_label(choices: Any, value: Any) -> str:
    """The translated label of a choice (the value itself when unknown)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return "" if value is None else str(value)


def yes_no(flag: bool) -> str:
    return gettext("Yes") if flag else gettext("No")


def plan_label(kind: str, code: str | None, name: str | None) -> str:
    if kind == PlanKind.ENGAGEMENT and code:
        return f"{code} · {name}" if name else code
    return choice_label(PlanKind, kind)


def cycle_of(params: Params) -> int:
    return int(params["cycle"])


def period_of(params: Params) -> tuple[date, date] | None:
    """The chosen cycle's first and last day (None if it is not this
    organisation's: the scoped manager finds nothing)."""
    found = (
        ReviewCycle.objects.filter(pk=cycle_of(params))
        .values_list("start_date", "end_date")
        .first()
    )
    return found


class Joined(Aggregate):
    """The values of a group joined with ", " (``string_agg`` on PostgreSQL,
    ``group_concat`` on SQLite)."""

    function = "STRING_AGG"
    template = "%(function)s(%(distinct)s%(expressions)s, ', ')"
    allow_distinct = True
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            function="GROUP_CONCAT",
            template="%(function)s(%(distinct)s%(expressions)s)",
            **extra,
        )
