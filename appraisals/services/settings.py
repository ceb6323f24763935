"""Changing the organisation's appraisal settings and attainment bands (HR admins)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from appraisals.models import AppraisalSettings, AttainmentBand
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import Membership


@dataclass(frozen=True)
class CalibrationSettings:
    """The organisation's calibration settings (``AppraisalSettings.calibration_*``):
    whether a closed session must cover an appraisal before finalising, the
    shrinkage constant k, the guideline distribution ("10,20,40,20,10") and its
    tolerance in percentage points, and whether employees see that their score was
    calibrated and why."""

    required: bool
    shrinkage: int
    guideline: str
    tolerance: int
    visible: bool

    def check(self) -> None:
        """DomainError on the field to blame when a value is out of range. No
        query."""
        if self.shrinkage < 0:
            raise DomainError(
                _("Enter 0 or more (10 is usual)."), field="calibration_shrinkage"
            )
        if not 0 <= self.tolerance <= 50:
            raise DomainError(
                _("Enter a tolerance from 0 to 50 percentage points."),
                field="calibration_tolerance",
            )
        parts = self.guideline.split(",")
        if (
            not all(p.isascii() and p.isdigit() for p in parts)
            or sum(int(p) for p in parts if p.isascii() and p.isdigit()) != 100
        ):
            raise DomainError(
                _(
                    "Enter whole percents separated by commas that add up to 100, "
                    "e.g. 10,20,40,20,10."
                ),
                field="calibration_guideline",
            )


def update_settings(
    *,
    actor: Membership,
    dual_approval: bool,
    evaluation_days: int,
    bands: Sequence[tuple[Decimal, Decimal]],
    calibration: CalibrationSettings | None = None,
) -> AppraisalSettings:
    """Change the organisation's appraisal rules and attainment bands (HR admins),
    and with ``calibration`` its calibration settings (validated by the settings
    form: a guideline of whole percents adding up to 100, k ≥ 0, a tolerance of 0 to
    50 points; refused here too, on the field to blame).

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
    if calibration is not None:
        calibration.check()
    with transaction.atomic():
        settings, _created = AppraisalSettings.objects.get_or_create(
            organization=actor.organization
        )
        settings.dual_approval = dual_approval
        settings.evaluation_days = evaluation_days
        if calibration is not None:
            settings.calibration_required = calibration.required
            settings.calibration_shrinkage = calibration.shrinkage
            settings.calibration_guideline = calibration.guideline
            settings.calibration_tolerance = calibration.tolerance
            settings.calibration_visible = calibration.visible
        record_author(settings, actor.user)
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
