"""Operations that change rating scales, the competency library and competency sets.

Keyword-only, one use case per function, transactional; history is recorded by
django-simple-history (the acting user comes from the request, or ``_history_user``).
Domain errors are ``DomainError`` with messages fit for the user, naming the form
field they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from competencies.enums import ALLOWED_STEPS, MAX_SCALE_POINTS, DefaultCategory
from competencies.models import (
    Competency,
    CompetencyCategory,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    CompetencySetJobTitle,
    RatingLevel,
    RatingScale,
)
from competencies.usage import scale_lock_reason
from organizations.errors import DomainError
from organizations.models import JobTitle, Membership, Organization

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
            name=name,
            min_value=min_value,
            max_value=max_value,
            step=step,
            is_default=not RatingScale.objects.filter(is_default=True).exists(),
        )
        scale._history_user = actor.user  # type: ignore[attr-defined]
        scale.save()
        _sync_levels(actor, scale, points, levels)
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
        changed = (scale.name, scale.min_value, scale.max_value, scale.step) != (
            name,
            min_value,
            max_value,
            step,
        )
        if changed:
            scale.name = name
            scale.min_value = min_value
            scale.max_value = max_value
            scale.step = step
            scale._history_user = actor.user  # type: ignore[attr-defined]
            scale.save()
        _sync_levels(actor, scale, points, levels)
    return scale


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
            stale._history_user = actor.user  # type: ignore[attr-defined]
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
        row._history_user = actor.user  # type: ignore[attr-defined]
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
            previous._history_user = actor.user  # type: ignore[attr-defined]
            previous.save(update_fields=["is_default"])
        scale.is_default = True
        scale._history_user = actor.user  # type: ignore[attr-defined]
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
        copy._history_user = actor.user  # type: ignore[attr-defined]
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


# --- Categories ----------------------------------------------------------------------


def ensure_default_categories(organization: Organization) -> None:
    """Create the four default categories the first time an organisation needs
    categories (when it has none). Idempotent; one query once they exist. Runs in
    the organisation's tenant scope."""
    if CompetencyCategory.objects.filter(organization=organization).exists():
        return
    CompetencyCategory.objects.bulk_create(
        [
            CompetencyCategory(organization=organization, name=choice.value)
            for choice in DefaultCategory
        ],
        ignore_conflicts=True,
    )


def create_category(*, actor: Membership, name: str) -> CompetencyCategory:
    """Add an HR-defined category; names are unique (ignoring case)."""
    name = name.strip()
    with transaction.atomic():
        if not name:
            raise DomainError(_("Give the category a name."), field="name")
        if CompetencyCategory.objects.filter(name__iexact=name).exists():
            raise DomainError(
                _("A category with this name exists already."), field="name"
            )
        category = CompetencyCategory(organization=actor.organization, name=name)
        category.save()
    return category


# --- Competencies --------------------------------------------------------------------


def _default_points() -> list[Decimal]:
    scale = RatingScale.objects.filter(is_default=True).first()
    return scale.points() if scale is not None else []


def _check_competency(
    actor: Membership,
    name: str,
    category: CompetencyCategory | None,
    descriptors: Mapping[Decimal, str],
    competency: Competency | None = None,
) -> None:
    if not name:
        raise DomainError(_("Give the competency a name."), field="name")
    clash = Competency.objects.filter(name__iexact=name)
    if competency is not None:
        clash = clash.exclude(pk=competency.pk)
    if clash.exists():
        raise DomainError(
            _("A competency with this name exists already (perhaps archived)."),
            field="name",
        )
    if category is None or category.organization_id != actor.organization_id:
        raise DomainError(_("Choose one of the listed categories."), field="category")
    points = _default_points()
    for value, text in descriptors.items():
        if text.strip() and value not in points:
            raise DomainError(
                _(
                    "Point %(point)s is not on the default rating scale; describe "
                    "only its points."
                )
                % {"point": format_point(value)}
            )


def _sync_descriptors(
    actor: Membership, competency: Competency, descriptors: Mapping[Decimal, str]
) -> None:
    """Set the descriptor of every point in ``descriptors``; an empty text removes
    it. Points not named are left alone (e.g. those of a former default scale)."""
    existing = {
        row.value: row
        for row in CompetencyDescriptor.objects.filter(competency=competency)
    }
    for value, raw in descriptors.items():
        text = raw.strip()
        row = existing.get(value)
        if not text:
            if row is not None:
                row._history_user = actor.user  # type: ignore[attr-defined]
                row.delete()
            continue
        if row is None:
            row = CompetencyDescriptor(
                organization=actor.organization, competency=competency, value=value
            )
        elif row.text == text:
            continue
        row.text = text
        row._history_user = actor.user  # type: ignore[attr-defined]
        row.save()


def create_competency(
    *,
    actor: Membership,
    name: str,
    category: CompetencyCategory,
    description: str = "",
    descriptors: Mapping[Decimal, str] | None = None,
) -> Competency:
    """Add a competency to the library with what each point of the default scale
    looks like for it. Raises DomainError for a name taken, another organisation's
    category or a point that is not on the default scale."""
    name = name.strip()
    descriptors = descriptors or {}
    with transaction.atomic():
        _check_competency(actor, name, category, descriptors)
        competency = Competency(
            organization=actor.organization,
            name=name,
            category=category,
            description=description.strip(),
        )
        competency._history_user = actor.user  # type: ignore[attr-defined]
        competency.save()
        _sync_descriptors(actor, competency, descriptors)
    return competency


def update_competency(
    *,
    actor: Membership,
    competency: Competency,
    name: str,
    category: CompetencyCategory,
    description: str = "",
    descriptors: Mapping[Decimal, str] | None = None,
) -> Competency:
    """Change a competency and its descriptors. Plans that use it show the change
    (the descriptors describe the competency, not a plan)."""
    name = name.strip()
    descriptors = descriptors or {}
    with transaction.atomic():
        competency = Competency.objects.select_for_update().get(pk=competency.pk)
        _check_competency(actor, name, category, descriptors, competency)
        fields: dict[str, Any] = {
            "name": name,
            "category_id": category.pk,
            "description": description.strip(),
        }
        if any(getattr(competency, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(competency, key, value)
            competency._history_user = actor.user  # type: ignore[attr-defined]
            competency.save()
        _sync_descriptors(actor, competency, descriptors)
    return competency


def set_competency_archived(
    *, actor: Membership, competency: Competency, archived: bool
) -> Competency:
    """Archive a competency (it stays on plans and sets that have it but cannot be
    added any more) or bring it back."""
    with transaction.atomic():
        competency = Competency.objects.select_for_update().get(pk=competency.pk)
        if competency.is_archived != archived:
            competency.is_archived = archived
            competency._history_user = actor.user  # type: ignore[attr-defined]
            competency.save(update_fields=["is_archived"])
    return competency


def delete_competency(*, actor: Membership, competency: Competency) -> None:
    """Delete a competency nobody uses. One in use on a plan, a competency set or a
    plan template is refused (DomainError): archive it instead."""
    with transaction.atomic():
        competency = Competency.objects.select_for_update().get(pk=competency.pk)
        in_use = _(
            "%(name)s is used on plans, competency sets or plan templates; "
            "archive it instead, so they keep it."
        ) % {"name": competency.name}
        if (
            competency.set_items.exists()
            or competency.plan_uses.exists()  # type: ignore[attr-defined]
            or competency.template_uses.exists()  # type: ignore[attr-defined]
        ):
            raise DomainError(in_use)
        competency._history_user = actor.user  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                for descriptor in CompetencyDescriptor.objects.filter(
                    competency=competency
                ):
                    descriptor._history_user = actor.user  # type: ignore[attr-defined]
                    descriptor.delete()
                competency.delete()
        except ProtectedError as exc:  # used meanwhile by another request
            raise DomainError(in_use) from exc


# --- Competency sets -----------------------------------------------------------------


def _check_set(
    actor: Membership,
    name: str,
    job_titles: Iterable[JobTitle],
    competency_set: CompetencySet | None = None,
) -> None:
    if not name:
        raise DomainError(_("Give the competency set a name."), field="name")
    clash = CompetencySet.objects.filter(name__iexact=name)
    if competency_set is not None:
        clash = clash.exclude(pk=competency_set.pk)
    if clash.exists():
        raise DomainError(
            _("A competency set with this name exists already."), field="name"
        )
    if any(t.organization_id != actor.organization_id for t in job_titles):
        raise DomainError(_("Choose job titles from the list."), field="job_titles")


def _sync_job_titles(
    actor: Membership, competency_set: CompetencySet, job_titles: Iterable[JobTitle]
) -> None:
    wanted = {t.pk for t in job_titles}
    links = {
        link.job_title_id: link
        for link in CompetencySetJobTitle.objects.filter(competency_set=competency_set)
    }
    for title_id, link in links.items():
        if title_id not in wanted:
            link._history_user = actor.user  # type: ignore[attr-defined]
            link.delete()
    for title_id in sorted(wanted - set(links)):
        link = CompetencySetJobTitle(
            organization=actor.organization,
            competency_set=competency_set,
            job_title_id=title_id,
        )
        link._history_user = actor.user  # type: ignore[attr-defined]
        link.save()


def create_competency_set(
    *,
    actor: Membership,
    name: str,
    description: str = "",
    job_titles: Iterable[JobTitle] = (),
) -> CompetencySet:
    """Create a competency set (a framework), optionally for some job titles. Raises
    DomainError for a name taken or a job title of another organisation."""
    name = name.strip()
    job_titles = list(job_titles)
    with transaction.atomic():
        _check_set(actor, name, job_titles)
        competency_set = CompetencySet(
            organization=actor.organization,
            name=name,
            description=description.strip(),
        )
        competency_set._history_user = actor.user  # type: ignore[attr-defined]
        competency_set.save()
        _sync_job_titles(actor, competency_set, job_titles)
    return competency_set


def update_competency_set(
    *,
    actor: Membership,
    competency_set: CompetencySet,
    name: str,
    description: str = "",
    job_titles: Iterable[JobTitle] = (),
) -> CompetencySet:
    """Rename or describe a set and change its job titles. Plans that already
    received its competencies keep them."""
    name = name.strip()
    job_titles = list(job_titles)
    with transaction.atomic():
        competency_set = CompetencySet.objects.select_for_update().get(
            pk=competency_set.pk
        )
        _check_set(actor, name, job_titles, competency_set)
        if (competency_set.name, competency_set.description) != (
            name,
            description.strip(),
        ):
            competency_set.name = name
            competency_set.description = description.strip()
            competency_set._history_user = actor.user  # type: ignore[attr-defined]
            competency_set.save()
        _sync_job_titles(actor, competency_set, job_titles)
    return competency_set


def _check_item(weight: Decimal | None, expected_level: Decimal | None) -> None:
    if weight is None or weight <= 0:
        raise DomainError(_("The weight must be more than 0."), field="weight")
    points = _default_points()
    if not points:
        raise DomainError(
            _(
                "Expected levels are points of the default rating scale, and there "
                "is none yet. Create a rating scale first."
            ),
            field="expected_level",
        )
    if expected_level not in points:
        raise DomainError(
            _("Choose a point of the default rating scale (%(min)s to %(max)s).")
            % {"min": format_point(points[0]), "max": format_point(points[-1])},
            field="expected_level",
        )


def add_set_item(
    *,
    actor: Membership,
    competency_set: CompetencySet,
    competency: Competency,
    weight: Decimal,
    expected_level: Decimal,
) -> CompetencySetItem:
    """Add a competency to a set with its weight (> 0) and expected level (a point
    of the default scale). Archived competencies and ones already in the set are
    refused."""
    with transaction.atomic():
        competency_set = CompetencySet.objects.select_for_update().get(
            pk=competency_set.pk
        )
        if competency.organization_id != actor.organization_id:
            raise DomainError(
                _("Choose one of the listed competencies."), field="competency"
            )
        if competency.is_archived:
            raise DomainError(
                _("%(name)s is archived; restore it in the library first.")
                % {"name": competency.name},
                field="competency",
            )
        if CompetencySetItem.objects.filter(
            competency_set=competency_set, competency=competency
        ).exists():
            raise DomainError(
                _("%(name)s is in this set already; change its row instead.")
                % {"name": competency.name},
                field="competency",
            )
        _check_item(weight, expected_level)
        item = CompetencySetItem(
            organization=actor.organization,
            competency_set=competency_set,
            competency=competency,
            weight=weight,
            expected_level=expected_level,
        )
        item._history_user = actor.user  # type: ignore[attr-defined]
        item.save()
    return item


def update_set_item(
    *,
    actor: Membership,
    item: CompetencySetItem,
    weight: Decimal,
    expected_level: Decimal,
) -> CompetencySetItem:
    """Change the weight and expected level of a competency in a set."""
    with transaction.atomic():
        item = CompetencySetItem.objects.select_for_update().get(pk=item.pk)
        _check_item(weight, expected_level)
        if (item.weight, item.expected_level) != (weight, expected_level):
            item.weight = weight
            item.expected_level = expected_level
            item._history_user = actor.user  # type: ignore[attr-defined]
            item.save()
    return item


def remove_set_item(*, actor: Membership, item: CompetencySetItem) -> None:
    """Take a competency out of a set. Plans that received it keep it."""
    with transaction.atomic():
        item._history_user = actor.user  # type: ignore[attr-defined]
        item.delete()
