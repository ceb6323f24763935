"""Operations on rating scales, and the rules of a scale's points.

The points helpers (``format_point``, ``point_key``, ``scale_points``,
``scale_shape_errors``, ``level_errors``) are pure and shared with the forms; the
services below check the same rules again.

Keyword-only, one use case per function, transactional; history is recorded by
django-simple-history, the acting user named with
``organizations.history.record_author``. Domain errors are ``DomainError`` with
messages fit for the user, naming the form field they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from competencies.enums import ALLOWED_STEPS, MAX_SCALE_POINTS
from competencies.models import RatingLevel, RatingScale
from competencies.usage import scale_lock_reason
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import Membership

# --- Points of a scale ---------------------------------------------------------------


def format_point(value: Decimal) -> str:
    """3.0 -> "3", 2.50 -> "2.5" (``normalize`` alone would give "1E+1" for 10)."""
    return format(value.normalize(), "f")


def point_key(value: Decimal) -> str:
    """A form-field-safe key of a point: 3 -> "3", 2.5 -> "2_5"."""
    return format_point(value).replace(".", "_").replace("-", "m")


def scale_points(
    min_value: Decimal, max_value: Decimal, step: Decimal
) -> list[Decimal]:
    """Every point from ``min_value`` to ``max_value`` by ``step`` (shape assumed valid)."""
    return RatingScale(min_value=min_value, max_value=max_value, step=step).points()


def scale_shape_errors(
    min_value: Decimal | None, max_value: Decimal | None, step: Decimal | None
) -> dict[str, str]:
    """Field errors for a scale's lowest point, highest point and step; empty if valid.

    Rules: the step is 1 or 0.5; the lowest point is not negative; the highest is
    above the lowest, a whole number of steps away, and the scale has at most
    ``MAX_SCALE_POINTS`` points. No query.
    """
    errors: dict[str, str] = {}
    if step is None or step not in ALLOWED_STEPS:
        errors["step"] = _("Choose whole points (1) or half points (0.5).")
    if min_value is not None and min_value < 0:
        errors["min_value"] = _("The lowest point cannot be below 0.")
    if errors or min_value is None or max_value is None or step is None:
        return errors
    if max_value <= min_value:
        errors["max_value"] = _(
            "The highest point must be above the lowest point (%(min)s)."
        ) % {"min": format_point(min_value)}
        return errors
    steps = (max_value - min_value) / step
    if steps != steps.to_integral_value():
        below = min_value + step * int(steps)
        errors["max_value"] = _(
            "With steps of %(step)s the highest point must be a whole number of steps "
            "above the lowest; try %(below)s or %(above)s."
        ) % {
            "step": format_point(step),
            "below": format_point(below),
            "above": format_point(below + step),
        }
        return errors
    count = int(steps) + 1
    if count > MAX_SCALE_POINTS:
        errors["max_value"] = _(
            "A scale can have at most %(max)d points; this one would have %(n)d. "
            "Narrow the range or use whole points."
        ) % {"max": MAX_SCALE_POINTS, "n": count}
    return errors


@dataclass(frozen=True)
class LevelInput:
    """The label and description wanted for one point of a scale."""

    value: Decimal
    label: str
    description: str = ""


def level_errors(
    points: Sequence[Decimal], levels: Iterable[LevelInput]
) -> dict[str, str]:
    """Errors keyed ``label_<point key>`` for points without a label. No query."""
    by_value = {level.value: level for level in levels}
    errors: dict[str, str] = {}
    for value in points:
        level = by_value.get(value)
        if level is None or not level.label.strip():
            errors[f"label_{point_key(value)}"] = _(
                "Give point %(point)s a label, for example “Meets expectations”."
            ) % {"point": format_point(value)}
    return errors


def _raise_first(errors: Mapping[str, str]) -> None:
    for field, message in errors.items():
        raise DomainError(message, field=field)


# --- Rating scales -------------------------------------------------------------------


def _scale_name_taken(name: str, scale: RatingScale | None = None) -> bool:
    clash = RatingScale.objects.filter(name__iexact=name)
    if scale is not None and scale.pk:
        clash = clash.exclude(pk=scale.pk)
    return clash.exists()


def _check_scale(
    name: str,
    min_value: Decimal,
    max_value: Decimal,
    step: Decimal,
    levels: Sequence[LevelInput],
    scale: RatingScale | None = None,
) -> list[Decimal]:
    _raise_first(scale_shape_errors(min_value, max_value, step))
    points = scale_points(min_value, max_value, step)
    _raise_first(level_errors(points, levels))
    if not name:
        raise DomainError(_("Give the scale a name."), field="name")
    if _scale_name_taken(name, scale):
        raise DomainError(
            _("Another scale already has this name; choose a different one."),
            field="name",
        )
    return points


def create_scale(
    *,
    actor: Membership,
    name: str,
    min_value: Decimal,
    max_value: Decimal,
    step: Decimal,
    levels: Sequence[LevelInput],
) -> RatingScale:
    """Create a rating scale with a label (and optional description) for every point.

    The organisation's first scale becomes its default. Raises DomainError for a
    shape the rules refuse (see ``scale_shape_errors``), a point without a label or a
    name already taken.
    """
    name = name.strip()
    with transaction.atomic():
        points = _check_scale(name, min_value, max_value, step, levels)
        scale = RatingScale(
            organization=actor.organization,
            is_default=not RatingScale.objects.filter(is_default=True).exists(),
        )
        _store_scale(actor, scale, (name, min_value, max_value, step), points, levels)
    return scale


def update_scale(
    *,
    actor: Membership,
    scale: RatingScale,
    name: str,
    min_value: Decimal,
    max_value: Decimal,
    step: Decimal,
    levels: Sequence[LevelInput],
) -> RatingScale:
    """Change a scale's name, range, step and point labels.

    Refused (DomainError, nothing changed) while ``scale_lock_reason`` names a
    reason: ratings in a cycle that uses the scale must keep their meaning. Points
    that leave the range lose their label.
    """
    name = name.strip()
    with transaction.atomic():
        scale = RatingScale.objects.select_for_update().get(pk=scale.pk)
        reason = scale_lock_reason(scale)
        if reason:
            raise DomainError(
                _("%(reason)s Create a new scale from this one instead.")
                % {"reason": reason}
            )
        points = _check_scale(name, min_value, max_value, step, levels, scale)
        _store_scale(actor, scale, (name, min_value, max_value, step), points, levels)
    return scale


def _store_scale(
    actor: Membership,
    scale: RatingScale,
    shape: tuple[str, Decimal, Decimal, Decimal],
    points: Sequence[Decimal],
    levels: Sequence[LevelInput],
) -> None:
    """Give ``scale`` its ``shape`` (name, lowest point, highest point, step), saved
    with ``actor`` as the author when the scale is new or the shape changed (so the
    history shows only real changes), then its levels (``_sync_levels``)."""
    current = (scale.name, scale.min_value, scale.max_value, scale.step)
    if scale.pk is None or current != shape:
        scale.name, scale.min_value, scale.max_value, scale.step = shape
        record_author(scale, actor.user)
        scale.save()
    _sync_levels(actor, scale, points, levels)


def _sync_levels(
    actor: Membership,
    scale: RatingScale,
    points: Sequence[Decimal],
    levels: Sequence[LevelInput],
) -> None:
    """Make the scale's levels exactly ``points`` with the given labels; rows that
    do not change are not saved (so the history shows only real changes)."""
    wanted = {level.value: level for level in levels if level.value in points}
    existing = {level.value: level for level in RatingLevel.objects.filter(scale=scale)}
    for value, stale in existing.items():
        if value not in wanted:
            record_author(stale, actor.user)
            stale.delete()
    for value in points:
        level = wanted[value]
        label, description = level.label.strip(), level.description.strip()
        row = existing.get(value)
        if row is None:
            row = RatingLevel(organization=actor.organization, scale=scale, value=value)
        elif (row.label, row.description) == (label, description):
            continue
        row.label, row.description = label, description
        record_author(row, actor.user)
        row.save()


def set_default_scale(*, actor: Membership, scale: RatingScale) -> RatingScale:
    """Make ``scale`` the organisation's default (the one before stops being it).

    Review cycles without a scale of their own and new competency descriptors and
    expected levels use the default scale.
    """
    with transaction.atomic():
        scale = RatingScale.objects.select_for_update().get(pk=scale.pk)
        if scale.is_default:
            return scale
        # One default per organisation (a partial unique constraint): clear first.
        for previous in RatingScale.objects.select_for_update().filter(is_default=True):
            previous.is_default = False
            record_author(previous, actor.user)
            previous.save(update_fields=["is_default"])
        scale.is_default = True
        record_author(scale, actor.user)
        scale.save(update_fields=["is_default"])
    return scale


def _copy_name(name: str) -> str:
    taken = {
        n.lower()
        for n in RatingScale.objects.filter(name__istartswith=name[:100]).values_list(
            "name", flat=True
        )
    }
    number = 1
    while True:
        suffix = _(" (copy)") if number == 1 else _(" (copy %(n)d)") % {"n": number}
        candidate = name[: 120 - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        number += 1


def copy_scale(*, actor: Membership, scale: RatingScale) -> RatingScale:
    """A new, editable scale with the same range, step and labels as ``scale``,
    named "<name> (copy)"; it is not the default. Works on locked scales too."""
    with transaction.atomic():
        levels = [
            LevelInput(
                value=level.value, label=level.label, description=level.description
            )
            for level in RatingLevel.objects.filter(scale=scale)
        ]
        copy = RatingScale(
            organization=actor.organization,
            name=_copy_name(scale.name),
            min_value=scale.min_value,
            max_value=scale.max_value,
            step=scale.step,
            is_default=False,
        )
        record_author(copy, actor.user)
        copy.save()
        points = copy.points()
        known = {level.value for level in levels}
        # A scale saved before every point had a label still copies completely.
        levels += [
            LevelInput(value=value, label=format_point(value))
            for value in points
            if value not in known
        ]
        _sync_levels(actor, copy, points, levels)
    return copy
