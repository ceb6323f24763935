"""``field__any=[...]``: the field equals one of the listed values, sent as one array
parameter (``= ANY(%s)`` on PostgreSQL); ``field__among=[...]`` the same as a set to
join (``Among``).

Unlike ``__in``, an empty list is an ordinary query that matches nothing (``__in=[]``
makes Django skip the query, so the number of queries would depend on the data),
and a long list stays one parameter that PostgreSQL plans as a set, whatever its
length. For ids already read once in a request (``reporting.scope`` reads a viewer's
line and roles once and filters every figure by them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import models
from django.db.models import Lookup


class Ids:
    """Ids read from the database, for ``field__any=Ids(...)``: whole numbers that
    need no preparing. Not a list, so that Django does not copy it element by
    element for every filter built with it (a viewer's scope filters a dozen
    queries a page by the same few hundred ids), and written once as PostgreSQL's
    array text, whatever the number of queries that send it."""

    __slots__ = ("_text", "values")

    def __init__(self, values: Iterable[int]) -> None:
        self.values = values if isinstance(values, list) else list(values)
        self._text: str | None = None

    def __iter__(self) -> Iterator[int]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"Ids({self.values!r})"

    def text(self) -> str:
        """The ids as an array literal: ``{1,2,3}``."""
        if self._text is None:
            self._text = "{" + ",".join(str(int(v)) for v in self.values) + "}"
        return self._text


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_prep_lookup(self) -> Any:
        if isinstance(self.rhs, Ids):
            return self.rhs
        field = self.lhs.output_field
        target = getattr(field, "target_field", field)
        return [target.get_prep_value(v) for v in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            if isinstance(self.rhs, Ids):
                return f"{lhs} = ANY(%s::bigint[])", [*params, self.rhs.text()]
            return f"{lhs} = ANY(%s)", [*params, list(self.rhs)]
        values = list(self.rhs)
        # SQLite: the list as one JSON parameter, read as a table.
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [  # noqa: S608 - lhs is Django's compiled column
            *params,
            json.dumps(values),
        ]


class Among(AnyOf):
    """``field__among=Ids(...)``: the field is one of the ids, as a set PostgreSQL
    joins (``IN (SELECT unnest(...))``, sized from the array) rather than a test
    each row of a range must pass (``= ANY``). For a few hundred ids that each
    name a few rows through an index of their own: ``= ANY`` tends to make
    PostgreSQL 15 scan the whole range (a cycle's every plan) and test each row,
    where the join probes the index once per id. Elsewhere the same as ``__any``."""

    lookup_name = "among"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if connection.vendor != "postgresql":
            return super().as_sql(compiler, connection)
        lhs, params = self.process_lhs(compiler, connection)
        values = self.rhs.text() if isinstance(self.rhs, Ids) else list(self.rhs)
        cast = "::bigint[]" if isinstance(self.rhs, Ids) else ""
        return f"{lhs} IN (SELECT unnest(%s{cast}))", [*params, values]


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own
models.Field.register_lookup(Among)
models.ForeignObject.register_lookup(Among)
