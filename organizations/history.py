"""Change history, built on django-simple-history: naming who made a change, the
stale-edit check that names who changed an object last, and the timeline the UI
shows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from organizations.errors import EditConflict
from organizations.models import User

# Bookkeeping fields that mean nothing to a reader (optimistic-locking counters, the
# secret key of a survey link).
HIDDEN_FIELDS = frozenset({"version", "nonce"})


def record_author(obj: models.Model, user: User) -> None:
    """Name ``user`` as the author of the history row that ``obj``'s next save records.

    django-simple-history takes the author from the instance's ``_history_user`` before
    the request's user, so services name the acting member even outside a request
    (tasks, commands). No query.
    """
    obj._history_user = user  # type: ignore[attr-defined]  # simple-history's hook, not a model field


def record_reason(obj: models.Model, reason: str) -> None:
    """Give the history row that ``obj``'s next save records ``reason`` (cut to the
    100 characters django-simple-history keeps; the service's own record keeps it
    whole). No query."""
    short = reason if len(reason) <= 100 else reason[:99] + "…"
    obj._change_reason = short  # type: ignore[attr-defined]  # simple-history's hook, not a model field


def check_version(
    obj: Any,
    version: int,
    *,
    conflict: type[EditConflict] = EditConflict,
    advice: str | None = None,
) -> None:
    """Optimistic locking for human edits: refuse a stale ``version`` with
    ``conflict``, naming who changed ``obj`` last and when (from its history), so
    nothing is silently overwritten. ``obj`` has a ``version`` column and history."""
    if obj.version == version:
        return
    latest = (
        obj.history.select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    who = str(latest.history_user) if latest and latest.history_user else _("someone")
    when = timezone.localtime(latest.history_date).strftime("%H:%M") if latest else ""
    raise conflict(
        _("Changed by %(who)s at %(when)s — %(advice)s.")
        % {
            "who": who,
            "when": when,
            "advice": advice or _("review their changes and resubmit"),
        },
        current_version=obj.version,
    )


def timeline(
    records: Iterable[Any], label: Callable[[Any], str] | None = None
) -> list[dict[str, object]]:
    """Who changed what, when, before and after: newest first.

    ``records`` are django-simple-history rows of one or more objects (of any models),
    in any order; each object's rows are diffed against that object's previous row.
    Fields are named by their ``verbose_name``; references are shown by name (one
    query per referenced model), choices by their label, never by id or code.
    ``label`` names the object an entry is about (for mixed timelines); without it a
    creation is named by the object's title or name when it has one.

    Consecutive creations of objects of one model by one person (a plan's goals
    written one after another) collapse into one entry, "Created 5 goals", whose
    ``items`` name the objects; see ``collapse_creations``.
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
                "subject": label(record) if label else _created_name(record),
                "items": [],
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
    entries = collapse_creations([record for record, _changes in raw], entries)
    entries.reverse()
    return entries


def _created_name(record: Any) -> str:
    """What a creation without a ``label`` is about: the new object's title or name,
    else nothing. Other kinds of entry name nothing here."""
    if record.history_type != "+":
        return ""
    return str(getattr(record, "title", "") or getattr(record, "name", "") or "")


def collapse_creations(
    records: list[Any], entries: list[dict[str, object]]
) -> list[dict[str, object]]:
    """``entries`` (one per history row of ``records``, oldest first) with each run of
    two or more consecutive creations of one model by one person made one entry:
    kind "Created 5 goals", the latest creation's time, no subject, and ``items``
    naming each created object (the entries' subjects) in the order created. No
    query."""
    collapsed: list[dict[str, object]] = []
    run: list[dict[str, object]] = []
    run_key: tuple[Any, Any] | None = None

    def flush() -> None:
        if len(run) == 1:
            collapsed.append(run[0])
        elif run:
            model = run_key[0] if run_key else None
            meta = model._meta if model is not None else None
            count = len(run)
            noun = (
                str(meta.verbose_name if count == 1 else meta.verbose_name_plural)
                if meta is not None
                else ""
            )
            collapsed.append(
                {
                    **run[-1],
                    "kind": ngettext(
                        "Created %(count)d %(things)s",
                        "Created %(count)d %(things)s",
                        count,
                    )
                    % {"count": count, "things": noun},
                    "subject": "",
                    "items": [e["subject"] for e in run if e["subject"]],
                    "count": count,
                }
            )
        run.clear()

    for record, entry in zip(records, entries, strict=True):
        key = (record.instance_type, record.history_user_id)
        if record.history_type == "+" and key == run_key:
            run.append(entry)
            continue
        flush()
        if record.history_type == "+":
            run.append(entry)
            run_key = key
        else:
            collapsed.append(entry)
            run_key = None
    flush()
    return collapsed
