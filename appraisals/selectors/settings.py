"""Read queries of the organisation's appraisal settings and attainment bands, and
the rating a goal's attainment suggests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from appraisals.models import DEFAULT_BANDS, AppraisalSettings, AttainmentBand

Band = tuple[Decimal, Decimal]


def current_settings() -> AppraisalSettings:
    """The organisation's appraisal settings, or unsaved defaults. One query."""
    return AppraisalSettings.objects.first() or AppraisalSettings()


def attainment_bands() -> list[Band]:
    """(from attainment %, suggested rating) pairs, lowest first; the defaults when
    the organisation has none. One query."""
    rows = list(
        AttainmentBand.objects.order_by("min_attainment").values_list(
            "min_attainment", "rating"
        )
    )
    return rows or list(DEFAULT_BANDS)


def suggested_rating(
    attainment: Decimal | None, bands: Sequence[Band]
) -> Decimal | None:
    """The rating of the band with the highest start not above ``attainment``.

    None without an attainment or below the lowest band. No query.
    """
    if attainment is None:
        return None
    found = None
    for start, rating in sorted(bands):
        if attainment >= start:
            found = rating
    return found
