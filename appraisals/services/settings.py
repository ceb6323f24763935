"""Changing the organisation's appraisal settings and attainment bands (HR admins)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from appraisals.models import AppraisalSettings, AttainmentBand
from organizations.errors import DomainError
from organizations.models import Membership


def update_settings(
    *,
    actor: Membership,
    dual_approval: bool,
    evaluation_days: int,
    bands: Sequence[tuple[Decimal, Decimal]],
) -> AppraisalSettings:
    """Change the organisation's appraisal rules and attainment bands (HR admins).

    Band starts must be unique and ascending, ratings points of the organisation's
    default scale (when it has one). Bands are replaced as a whole.
    """
    if not actor.is_hr_admin:
        raise DomainError(_("Only HR admins change the appraisal settings."))
    starts = [start for start, _rating in bands]
    if starts != sorted(set(starts)):
        raise DomainError(
            _("Each band must start above the one before it. Order them by start."),
            field="bands",
        )
    with transaction.atomic():
        settings, _created = AppraisalSettings.objects.get_or_create(
            organization=actor.organization
        )
        settings.dual_approval = dual_approval
        settings.evaluation_days = evaluation_days
        settings._history_user = actor.user  # type: ignore[attr-defined]  # read by django-simple-history as the change's author
        settings.save()
        current = list(
            AttainmentBand.objects.order_by("min_attainment").values_list(
                "min_attainment", "rating"
            )
        )
        if current != list(bands):
            AttainmentBand.objects.all().delete()
            bulk_create_with_history(
                [
                    AttainmentBand(
                        organization=actor.organization,
                        min_attainment=start,
                        rating=rating,
                    )
                    for start, rating in bands
                ],
                AttainmentBand,
                default_user=actor.user,
            )
    return settings
