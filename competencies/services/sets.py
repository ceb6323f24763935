"""Operations on competency sets: a set's name, description and job titles, and the
competencies in it with their weight and expected level.

Keyword-only, one use case per function, transactional; history is recorded by
django-simple-history, the acting user named with
``organizations.history.record_author``. Domain errors are ``DomainError`` with
messages fit for the user, naming the form field they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from competencies.models import (
    Competency,
    CompetencySet,
    CompetencySetItem,
    CompetencySetJobTitle,
)
from competencies.selectors import default_points
from competencies.services.scales import format_point
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import JobTitle, Membership

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
            record_author(link, actor.user)
            link.delete()
    for title_id in sorted(wanted - set(links)):
        link = CompetencySetJobTitle(
            organization=actor.organization,
            competency_set=competency_set,
            job_title_id=title_id,
        )
        record_author(link, actor.user)
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
        record_author(competency_set, actor.user)
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
            record_author(competency_set, actor.user)
            competency_set.save()
        _sync_job_titles(actor, competency_set, job_titles)
    return competency_set


def _check_item(weight: Decimal | None, expected_level: Decimal | None) -> None:
    if weight is None or weight <= 0:
        raise DomainError(_("The weight must be more than 0."), field="weight")
    points = default_points()
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
        record_author(item, actor.user)
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
            record_author(item, actor.user)
            item.save()
    return item


def remove_set_item(*, actor: Membership, item: CompetencySetItem) -> None:
    """Take a competency out of a set. Plans that received it keep it."""
    with transaction.atomic():
        record_author(item, actor.user)
        item.delete()
