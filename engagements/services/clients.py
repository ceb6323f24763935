"""Clients, engagements and engagement types."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from competencies.models import CompetencySet
from engagements.models import Client, Engagement, EngagementType, Plan
from organizations.errors import DomainError
from organizations.models import Membership


def save_client(*, actor: Membership, client: Client) -> Client:
    client.organization = actor.organization
    client.save()
    return client


def save_engagement(*, actor: Membership, engagement: Engagement) -> Engagement:
    """Create or change an engagement. Its dates must still cover its plans."""
    with transaction.atomic():
        engagement.organization = actor.organization
        if engagement.pk:
            outside = Plan.objects.filter(engagement=engagement).filter(
                Q(end_date__lt=engagement.start_date)
                | Q(start_date__gt=engagement.end_date)
            )
            if outside.exists():
                raise DomainError(
                    _(
                        "Some plans on this engagement fall outside these dates. "
                        "Change those plans first."
                    ),
                    field="end_date",
                )
        engagement.save()
    return engagement


def _type_name_taken(name: str, engagement_type: EngagementType | None) -> bool:
    clash = EngagementType.objects.filter(name__iexact=name)
    if engagement_type is not None:
        clash = clash.exclude(pk=engagement_type.pk)
    return clash.exists()


def save_engagement_type(
    *,
    actor: Membership,
    name: str,
    competency_set: CompetencySet | None,
    engagement_type: EngagementType | None = None,
) -> EngagementType:
    """Create an engagement type, or rename it or change its competency set (given
    ``engagement_type``). Names are unique in the organisation. Plans already
    created keep the competencies they received."""
    name = name.strip()
    with transaction.atomic():
        if not name:
            raise DomainError(_("Give the engagement type a name."), field="name")
        if _type_name_taken(name, engagement_type):
            raise DomainError(
                _("An engagement type with this name exists already."), field="name"
            )
        if (
            competency_set is not None
            and competency_set.organization_id != actor.organization_id
        ):
            raise DomainError(
                _("Choose one of the listed competency sets."), field="competency_set"
            )
        if engagement_type is None:
            engagement_type = EngagementType(organization=actor.organization)
        else:
            engagement_type = EngagementType.objects.select_for_update().get(
                pk=engagement_type.pk
            )
        engagement_type.name = name
        engagement_type.competency_set = competency_set
        engagement_type.save()
    return engagement_type
