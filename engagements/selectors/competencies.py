"""Competencies as plans and templates use them: the scale points a cycle rates on,
a plan's or template's competency rows, what may still be added, and the competency
sets that new plans receive."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from competencies.models import (
    Competency,
    CompetencyDescriptor,
    CompetencySetItem,
    CompetencySetJobTitle,
    RatingLevel,
    RatingScale,
)
from engagements.models import (
    Engagement,
    EngagementType,
    Plan,
    PlanCompetency,
    PlanTemplate,
    ReviewCycle,
    TemplateCompetency,
)


def scale_for_cycle(cycle: ReviewCycle) -> RatingScale | None:
    """The rating scale of ``cycle``: its own, else the organisation's default; None
    when the organisation has no scale yet. The scale's ``levels`` are loaded
    (ordered by point). One query (two for a scale without levels)."""
    if cycle.rating_scale_id is None:
        return default_scale()
    return _scale_with_levels(
        RatingLevel.objects.filter(scale_id=cycle.rating_scale_id),
        RatingScale.objects.filter(pk=cycle.rating_scale_id),
    )


def default_scale() -> RatingScale | None:
    """The organisation's default scale with its levels loaded. One query (two for a
    scale without levels)."""
    return _scale_with_levels(
        RatingLevel.objects.filter(scale__is_default=True),
        RatingScale.objects.filter(is_default=True),
    )


def _scale_with_levels(
    levels: QuerySet[RatingLevel], scales: QuerySet[RatingScale]
) -> RatingScale | None:
    """The scale of ``levels`` with those levels loaded (ordered by point), read
    from ``scales`` when it has no level. One query (two for a scale without
    levels)."""
    found = list(levels.select_related("scale").order_by("value"))
    scale = found[0].scale if found else scales.first()
    if scale is not None:
        # The scale's own cache of its levels, so scale.levels.all() costs nothing.
        scale._prefetched_objects_cache = {"levels": found}  # type: ignore[attr-defined]  # Django's prefetch cache, not declared on models
    return scale


@dataclass(frozen=True)
class ScalePoint:
    value: Decimal
    label: str
    description: str = ""

    @property
    def text(self) -> str:
        """ "3 · Meets expectations", or "3" for a point without a label."""
        number = format(self.value.normalize(), "f")
        return f"{number} · {self.label}" if self.label else number


def scale_points(scale: RatingScale | None) -> list[ScalePoint]:
    """Every point of ``scale`` with its label (from its loaded levels). No query
    after ``scale_for_cycle``; empty without a scale."""
    if scale is None:
        return []
    levels = {level.value: level for level in scale.levels.all()}
    return [
        ScalePoint(
            value=value,
            label=levels[value].label if value in levels else "",
            description=levels[value].description if value in levels else "",
        )
        for value in scale.points()
    ]


@dataclass(frozen=True)
class DescribedPoint:
    point: ScalePoint
    descriptor: str  # what this point looks like for the competency ("" if unwritten)
    expected: bool


@dataclass(frozen=True)
class PlanCompetencyRow:
    item: PlanCompetency
    expected: ScalePoint | None  # None when the level is not a point of the scale
    points: list[DescribedPoint]


def plan_competencies(plan: Plan) -> list[PlanCompetency]:
    """The plan's competencies in order, with competency, category and descriptors.

    Two queries whatever their number."""
    return list(
        PlanCompetency.objects.filter(plan=plan)
        .select_related("competency__category")
        .prefetch_related(
            Prefetch(
                "competency__descriptors",
                queryset=CompetencyDescriptor.objects.order_by("value"),
            )
        )
        .order_by("position", "pk")
    )


def plan_competency_rows(
    items: list[PlanCompetency], points: list[ScalePoint]
) -> list[PlanCompetencyRow]:
    """Each plan competency with its expected point and the descriptor of every
    point of the scale. No query (descriptors come loaded by ``plan_competencies``)."""
    by_value = {point.value: point for point in points}
    rows = []
    for item in items:
        descriptors = {d.value: d.text for d in item.competency.descriptors.all()}
        rows.append(
            PlanCompetencyRow(
                item=item,
                expected=by_value.get(item.expected_level),
                points=[
                    DescribedPoint(
                        point=point,
                        descriptor=descriptors.get(point.value, ""),
                        expected=point.value == item.expected_level,
                    )
                    for point in points
                ],
            )
        )
    return rows


def addable_competencies(plan: Plan) -> QuerySet[Competency]:
    """Competencies that may be added to ``plan``: not archived and not on it yet,
    by category and name. Builds a queryset only."""
    return (
        Competency.objects.filter(is_archived=False)
        .exclude(pk__in=PlanCompetency.objects.filter(plan=plan).values("competency"))
        .select_related("category")
        .order_by("category__name", "name")
    )


def template_competencies(template: PlanTemplate) -> list[TemplateCompetency]:
    """The template's competencies with their category, by name. One query."""
    return list(
        TemplateCompetency.objects.filter(template=template)
        .select_related("competency__category")
        .order_by("competency__name", "pk")
    )


def addable_template_competencies(template: PlanTemplate) -> QuerySet[Competency]:
    """Competencies that may be added to ``template``: not archived and not in it
    yet, by category and name. Builds a queryset only."""
    return (
        Competency.objects.filter(is_archived=False)
        .exclude(
            pk__in=TemplateCompetency.objects.filter(template=template).values(
                "competency"
            )
        )
        .select_related("category")
        .order_by("category__name", "name")
    )


def general_set_ids(job_title_ids: Collection[int]) -> dict[int, int]:
    """The competency set of each job title: the first linked to it (by set name).

    One query."""
    found: dict[int, int] = {}
    if not job_title_ids:
        return found
    links = (
        CompetencySetJobTitle.objects.filter(job_title_id__in=job_title_ids)
        .order_by("competency_set__name", "competency_set_id")
        .values_list("job_title_id", "competency_set_id")
    )
    for job_title_id, set_id in links:
        found.setdefault(job_title_id, set_id)
    return found


def engagement_set_id(engagement: Engagement) -> int | None:
    """The competency set of an engagement's plans: its own, else its type's.

    One query when the engagement has a type and no set of its own."""
    if engagement.competency_set_id is not None:
        return engagement.competency_set_id
    if engagement.engagement_type_id is None:
        return None
    return (
        EngagementType.objects.filter(pk=engagement.engagement_type_id)
        .values_list("competency_set_id", flat=True)
        .first()
    )


def set_items_by_set(set_ids: Collection[int]) -> dict[int, list[CompetencySetItem]]:
    """The items of each competency set, by competency name. One query (none without
    sets)."""
    found: dict[int, list[CompetencySetItem]] = {}
    if not set_ids:
        return found
    for item in CompetencySetItem.objects.filter(
        competency_set_id__in=set_ids
    ).order_by("competency__name", "pk"):
        found.setdefault(item.competency_set_id, []).append(item)
    return found
