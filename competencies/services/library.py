"""Operations on the competency library: categories, competencies and what each point
of the default scale looks like for a competency (its descriptors).

Keyword-only, one use case per function, transactional; history is recorded by
django-simple-history, the acting user named with
``organizations.history.record_author``. Domain errors are ``DomainError`` with
messages fit for the user, naming the form field they belong to.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from competencies.enums import DefaultCategory
from competencies.models import Competency, CompetencyCategory, CompetencyDescriptor
from competencies.selectors import default_points
from competencies.services.scales import format_point
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import Membership, Organization

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
    points = default_points()
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
                record_author(row, actor.user)
                row.delete()
            continue
        if row is None:
            row = CompetencyDescriptor(
                organization=actor.organization, competency=competency, value=value
            )
        elif row.text == text:
            continue
        row.text = text
        record_author(row, actor.user)
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
        record_author(competency, actor.user)
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
        wanted = (name, category.pk, description.strip())
        if (competency.name, competency.category_id, competency.description) != wanted:
            competency.name, competency.category_id, competency.description = wanted
            record_author(competency, actor.user)
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
            record_author(competency, actor.user)
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
            or competency.plan_uses.exists()
            or competency.template_uses.exists()
        ):
            raise DomainError(in_use)
        record_author(competency, actor.user)
        try:
            with transaction.atomic():
                for descriptor in CompetencyDescriptor.objects.filter(
                    competency=competency
                ):
                    record_author(descriptor, actor.user)
                    descriptor.delete()
                competency.delete()
        except ProtectedError as exc:  # used meanwhile by another request
            raise DomainError(in_use) from exc
