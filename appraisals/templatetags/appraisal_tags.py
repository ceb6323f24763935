"""Template helpers of the appraisal pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

from appraisals.selectors.appraisals import ScoreBands

register = template.Library()


@register.simple_tag
def score_band(bands: ScoreBands | None, cycle_id: int, score: Decimal | None) -> str:
    """The band name of ``score`` in cycle ``cycle_id`` ("4 · Exceeds"), from the
    page's ``score_bands``; empty when there is none. No query."""
    if bands is None:
        return ""
    return bands.label(cycle_id, score)
