"""Change history shown in the UI, built on django-simple-history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.utils.translation import gettext as _

# Bookkeeping fields that mean nothing to a reader (optimistic-locking counters).
HIDDEN_FIELDS = frozenset({"version"})


def timeline(
    records: Iterable[Any], label: Callable[[Any], str] | None = None
) -> list[dict[str, object]]:
    """Who changed what, when, before and after: newest first.

    ``records`` are django-simple-history rows of one or more objects (of any models),
    in any order; each object's rows are diffed against that object's previous row.
    References are shown by name (one query per referenced model), never by id.
    ``label`` names the object an entry is about (for mixed timelines).
    """
    entries: list[dict[str, object]] = []
    raw: list[tuple[Any, list[Any]]] = []
    wanted: dict[Any, set[int]] = {}
    last: dict[tuple[Any, Any], Any] = {}
    for record in sorted(records, key=lambda r: (r.history_date, r.history_id)):
        key = (record.instance_type, record.id)
        previous = last.get(key)
        last[key] = record
        changes: list[tuple[Any, Any, Any]] = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous, foreign_keys_are_objs=False)
            for change in delta.changes:
                if change.field in HIDDEN_FIELDS:
                    continue
                field = record.instance_type._meta.get_field(change.field)
                if field.is_relation and field.related_model is not None:
                    for value in (change.old, change.new):
                        if value is not None:
                            wanted.setdefault(field.related_model, set()).add(value)
                changes.append((field, change.old, change.new))
        raw.append((record, changes))
    names: dict[tuple[Any, int], str] = {}
    for model, ids in wanted.items():
        for obj in model._default_manager.filter(pk__in=ids):
            names[(model, obj.pk)] = str(obj)

    def shown(field: Any, value: Any) -> Any:
        if value is None:
            return value
        if field.is_relation:
            return names.get((field.related_model, value), _("(removed)"))
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        return value

    for record, changes in raw:
        entries.append(
            {
                "when": record.history_date,
                "who": record.history_user,
                "kind": record.get_history_type_display(),
                "subject": label(record) if label else "",
                "changes": [
                    {
                        "field": str(field.verbose_name),
                        "old": shown(field, old),
                        "new": shown(field, new),
                    }
                    for field, old, new in changes
                ],
            }
        )
    entries.reverse()
    return entries
