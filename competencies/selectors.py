"""Read queries of the competencies app and its access gates.

The library (competencies and their descriptors) is readable by every member; rating
scales, categories and competency sets are for HR admins (``competencies.permissions``).
HR-only gates refuse other roles *before* the lookup, so the 403 reveals nothing about
which ids exist; an id of another organisation is 404 (the tenant-scoped manager
cannot see it).

The selectors near the end (``set_for_job_title``, ``set_items``, ``default_scale``,
``default_points``, ``scale_levels``, ``descriptors_for``) are what the apps above
this one use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from competencies.models import (
    Competency,
    CompetencyCategory,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    CompetencySetJobTitle,
    RatingLevel,
    RatingScale,
)
from organizations.history import timeline
from organizations.http import TenantRequest
from organizations.models import JobTitle
from organizations.permissions import get_for_hr_admin, require_hr_admin

# --- Rating scales -------------------------------------------------------------------


def scale_list() -> QuerySet[RatingScale]:
    """Every scale with its levels, the default first. Two queries."""
    return RatingScale.objects.prefetch_related(
        Prefetch("levels", queryset=RatingLevel.objects.order_by("value"))
    ).order_by("-is_default", "name", "pk")


def get_scale_for(request: TenantRequest, pk: int) -> RatingScale:
    """The scale ``pk`` for an HR admin: 403 for other roles (before the lookup),
    404 when it is not in this organisation. One query."""
    return get_for_hr_admin(
        request.membership,
        RatingScale.objects.all(),
        pk,
        missing="No such rating scale.",
    )


def scale_history(scale: RatingScale) -> list[dict[str, object]]:
    """Changes to the scale and its point labels, newest first. Two queries."""
    own = scale.history.select_related("history_user")
    levels = RatingLevel.history.filter(scale_id=scale.pk).select_related(
        "history_user"
    )

    def label(record: Any) -> str:
        if record.instance_type is RatingScale:
            return _("Scale")
        return _("Point %(point)s") % {"point": format(record.value.normalize(), "f")}

    return timeline([*own, *levels], label=label)


# --- Categories ----------------------------------------------------------------------


def category_list() -> QuerySet[CompetencyCategory]:
    """Every category with how many competencies it holds, by name. One query."""
    return CompetencyCategory.objects.annotate(
        n_competencies=Count("competencies")
    ).order_by("name", "pk")


# --- The competency library ----------------------------------------------------------


def competency_library() -> QuerySet[Competency]:
    """Every competency (archived too: filters hide them) with its category, by
    name. One query (plus the count when paginated)."""
    return Competency.objects.select_related("category").order_by("name", "pk")


def get_competency_for(
    request: TenantRequest, pk: int, perm: str = "view"
) -> Competency:
    """The competency ``pk``: every member may view (404 when not in this
    organisation); ``perm="manage"`` is for HR admins only, refused (403) before
    the lookup. One query."""
    if perm == "manage":
        require_hr_admin(request.membership)
    competency = Competency.objects.select_related("category").filter(pk=pk).first()
    if competency is None:
        raise Http404("No such competency.")
    return competency


@dataclass(frozen=True)
class DescribedLevel:
    """One point of the default scale and what it looks like for a competency."""

    value: Decimal
    label: str
    description: str
    text: str


def competency_levels(
    competency: Competency, levels: list[RatingLevel]
) -> list[DescribedLevel]:
    """The points ``levels`` (of the default scale) with the competency's descriptor
    for each (empty when not written). One query."""
    if not levels:
        return []
    texts = {
        row.value: row.text
        for row in CompetencyDescriptor.objects.filter(competency=competency)
    }
    return [
        DescribedLevel(
            value=level.value,
            label=level.label,
            description=level.description,
            text=texts.get(level.value, ""),
        )
        for level in levels
    ]


@dataclass(frozen=True)
class CompetencyUsage:
    plans: int
    sets: list[CompetencySet]
    templates: int

    @property
    def in_use(self) -> bool:
        return bool(self.plans or self.sets or self.templates)


def competency_usage(competency: Competency) -> CompetencyUsage:
    """Where the competency is used: how many plans and plan templates, and which
    competency sets. Three queries."""
    sets = list(
        CompetencySet.objects.filter(items__competency=competency).order_by("name")
    )
    return CompetencyUsage(
        plans=competency.plan_uses.count(),
        sets=sets,
        templates=competency.template_uses.count(),
    )


def competency_history(competency: Competency) -> list[dict[str, object]]:
    """Changes to the competency and its descriptors, newest first. Two queries,
    plus one when its category changed (to name it)."""
    own = competency.history.select_related("history_user")
    descriptors = CompetencyDescriptor.history.filter(
        competency_id=competency.pk
    ).select_related("history_user")

    def label(record: Any) -> str:
        if record.instance_type is Competency:
            return _("Competency")
        return _("What a %(point)s looks like") % {
            "point": format(record.value.normalize(), "f")
        }

    return timeline([*own, *descriptors], label=label)


# --- Competency sets -----------------------------------------------------------------


def competency_set_list() -> QuerySet[CompetencySet]:
    """Every set with its item count and its job titles, by name. Two queries."""
    return (
        CompetencySet.objects.annotate(n_items=Count("items"))
        .prefetch_related(
            Prefetch("job_titles", queryset=JobTitle.objects.order_by("name"))
        )
        .order_by("name", "pk")
    )


def get_competency_set_for(request: TenantRequest, pk: int) -> CompetencySet:
    """The set ``pk`` for an HR admin: 403 for other roles (before the lookup), 404
    when it is not in this organisation. One query."""
    return get_for_hr_admin(
        request.membership,
        CompetencySet.objects.all(),
        pk,
        missing="No such competency set.",
    )


def get_set_item_for(competency_set: CompetencySet, pk: int) -> CompetencySetItem:
    """The item ``pk`` *of this set* (else 404), with its competency. The caller has
    already authorised the set. One query."""
    item = (
        CompetencySetItem.objects.filter(competency_set=competency_set, pk=pk)
        .select_related("competency")
        .first()
    )
    if item is None:
        raise Http404("No such competency in this set.")
    return item


def set_job_titles(competency_set: CompetencySet) -> list[JobTitle]:
    """The job titles linked to the set, by name. One query."""
    return list(competency_set.job_titles.order_by("name"))


def addable_competencies(competency_set: CompetencySet) -> QuerySet[Competency]:
    """Competencies that may join the set: not archived, not in it yet."""
    return (
        Competency.objects.filter(is_archived=False)
        .exclude(set_items__competency_set=competency_set)
        .select_related("category")
        .order_by("name")
    )


def competency_set_history(competency_set: CompetencySet) -> list[dict[str, object]]:
    """Changes to the set, its items and its job titles, newest first. Three
    queries, plus one per kind of reference whose value changed."""
    own = competency_set.history.select_related("history_user")
    items = CompetencySetItem.history.filter(
        competency_set_id=competency_set.pk
    ).select_related("history_user", "competency")
    links = CompetencySetJobTitle.history.filter(
        competency_set_id=competency_set.pk
    ).select_related("history_user", "job_title")

    def label(record: Any) -> str:
        model = record.instance_type
        if model is CompetencySet:
            return _("Competency set")
        if model is CompetencySetItem:
            return _("Competency: %(name)s") % {
                "name": record.competency or _("(removed)")
            }
        return _("Job title: %(name)s") % {"name": record.job_title or _("(removed)")}

    return timeline([*own, *items, *links], label=label)


# --- For the apps above this one -----------------------------------------------------


def default_scale() -> RatingScale | None:
    """The organisation's default rating scale, or None. One query."""
    return RatingScale.objects.filter(is_default=True).first()


def default_points() -> list[Decimal]:
    """Every point of the default rating scale, lowest first (empty without a
    default scale): the points descriptors and expected levels may use. One query."""
    scale = default_scale()
    return scale.points() if scale is not None else []


def default_scale_with_levels() -> tuple[RatingScale | None, list[RatingLevel]]:
    """The default scale and its labelled points, lowest first. One query (two when
    the default scale has no labelled point)."""
    levels = list(
        RatingLevel.objects.filter(scale__is_default=True)
        .select_related("scale")
        .order_by("value")
    )
    if levels:
        return levels[0].scale, levels
    return default_scale(), []


def scale_levels(scale: RatingScale) -> list[RatingLevel]:
    """The labelled points of ``scale``, lowest first. One query."""
    return list(RatingLevel.objects.filter(scale=scale).order_by("value"))


def set_for_job_title(job_title_id: int | None) -> CompetencySet | None:
    """The competency set for a job title: the first by name linked to it, or None.
    One query (none without a job title)."""
    if job_title_id is None:
        return None
    return (
        CompetencySet.objects.filter(job_title_links__job_title_id=job_title_id)
        .order_by("name", "pk")
        .first()
    )


def set_items(competency_set: CompetencySet) -> list[CompetencySetItem]:
    """The set's competencies with weight and expected level, by competency name,
    each with its competency and category loaded. One query."""
    return list(
        CompetencySetItem.objects.filter(competency_set=competency_set)
        .select_related("competency__category")
        .order_by("competency__name", "pk")
    )


def descriptors_for(
    competency_ids: Iterable[int],
) -> dict[int, list[CompetencyDescriptor]]:
    """The descriptors of each competency, lowest point first, keyed by competency
    id (ids without descriptors are absent). One query."""
    result: dict[int, list[CompetencyDescriptor]] = {}
    ids = set(competency_ids)
    if not ids:
        return result
    for row in CompetencyDescriptor.objects.filter(competency_id__in=ids).order_by(
        "competency_id", "value"
    ):
        result.setdefault(row.competency_id, []).append(row)
    return result
