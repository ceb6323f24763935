"""The competencies app's picker source (see ``organizations.pickers``): the
competencies HR adds to a competency set. Registered in ``CompetenciesConfig.ready``;
``engagements.pickers`` lists the same rows to the planners who add them to plans."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from competencies.models import Competency
from organizations.pickers import PickerTexts, hr_admins, named_source

COMPETENCY_TEXTS = PickerTexts(
    prompt=_("Type part of a competency's name"),
    find_one=_("Or type the competency's name"),
    find_many=_("Or type competency names, separated by commas"),
    not_found=_(
        "No competency you can choose here is named “%(typed)s”. Archived ones "
        "cannot be chosen. Check the spelling, or search for part of the name."
    ),
    choose=_("Choose a competency"),
)


def competencies_in_use() -> QuerySet[Competency]:
    """The library's competencies that are not archived (which plans and sets may
    take). Builds only."""
    return Competency.objects.filter(is_archived=False)


# HR admins: the competencies a set may take.
COMPETENCIES = named_source(
    "competencies", lambda m: competencies_in_use(), COMPETENCY_TEXTS, hr_admins
)

SOURCES = (COMPETENCIES,)
