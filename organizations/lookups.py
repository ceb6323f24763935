"""``field__any=[...]``: the field equals one of the listed values, sent as one array
parameter (``= ANY(%s)`` on PostgreSQL).

Unlike ``__in``, an empty list is an ordinary query that matches nothing (``__in=[]``
makes Django skip the query, so the number of queries would depend on the data),
and a long list stays one parameter that PostgreSQL plans as a set, whatever its
length. For ids already read once in a request (``reporting.scope`` reads a viewer's
line and roles once and filters every figure by them).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_prep_lookup(self) -> list[Any]:
        field = self.lhs.output_field
        target = getattr(field, "target_field", field)
        return [target.get_prep_value(v) for v in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, values]
        # SQLite: the list as one JSON parameter, read as a table.
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [  # noqa: S608 - lhs is Django's compiled column
            *params,
            json.dumps(values),
        ]


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own
