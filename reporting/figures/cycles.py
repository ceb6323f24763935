"""Which cycle a dashboard shows by default, and the rating scale its scores sit on."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, IntegerField, Value, When

from competencies.models import RatingScale
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle

# Which cycle is "the current one": in review first, then in progress, planning,
# and last a closed one; the latest start among equals.
CURRENT_ORDER = [
    CycleStatus.REVIEW,
    CycleStatus.IN_PROGRESS,
    CycleStatus.PLANNING,
    CycleStatus.CLOSED,
]
# The scale of a cycle without one when the organisation has no default either.
FALLBACK_SCALE = (Decimal(1), Decimal(5))


def default_cycle() -> ReviewCycle | None:
    """The cycle a dashboard and the home page's headlines show unless another is
    chosen: the current one (``CURRENT_ORDER``); never a draft. One query."""
    rank = Case(
        *[When(status=s, then=Value(i)) for i, s in enumerate(CURRENT_ORDER)],
        output_field=IntegerField(),
    )
    return (
        ReviewCycle.objects.exclude(status=CycleStatus.DRAFT)
        .select_related("rating_scale")
        .order_by(rank, "-start_date", "-pk")
        .first()
    )


def report_cycles() -> list[ReviewCycle]:
    """The cycles a dashboard may show (never a draft), newest first, with their
    rating scales. One query."""
    return list(
        ReviewCycle.objects.exclude(status=CycleStatus.DRAFT)
        .select_related("rating_scale")
        .order_by("-start_date", "-pk")
    )


def current_of(cycles: list[ReviewCycle]) -> ReviewCycle | None:
    """The current cycle among ``cycles`` (``CURRENT_ORDER``, the latest start
    among equals). No query."""
    ranked = sorted(
        (c for c in cycles if c.status in CURRENT_ORDER),
        key=lambda c: (
            CURRENT_ORDER.index(CycleStatus(c.status)),
            -c.start_date.toordinal(),
            -c.pk,
        ),
    )
    return ranked[0] if ranked else None


def scale_of(cycle: ReviewCycle) -> tuple[Decimal, Decimal]:
    """The lowest and highest point of the cycle's rating scale (the
    organisation's default when the cycle has none). No query when the cycle's
    scale is loaded; one for the default."""
    scale = cycle.rating_scale or RatingScale.objects.filter(is_default=True).first()
    if scale is None:
        return FALLBACK_SCALE
    return scale.min_value, scale.max_value
