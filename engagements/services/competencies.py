"""Competencies on plans and plan templates (weights and expected levels), and
giving new plans the competencies of their set."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from competencies.models import Competency, RatingScale
from engagements.enums import PlanStatus
from engagements.models import (
    Plan,
    PlanCompetency,
    PlanTemplate,
    ReviewCycle,
    TemplateCompetency,
)
from engagements.selectors.competencies import (
    general_set_ids,
    scale_for_cycle,
    set_items_by_set,
)
from engagements.services.plans import lock_editable_plan
from organizations.errors import DomainError
from organizations.models import Membership


def attach_set_competencies(plans: Sequence[tuple[Plan, int | None]]) -> int:
    """Give each new plan the competencies of its set (weights and expected levels
    copied from the set's items). Three queries whatever the number of plans (none
    without sets). Returns the competencies attached."""
    items = set_items_by_set({s for _plan, s in plans if s is not None})
    rows = [
        PlanCompetency(
            organization_id=plan.organization_id,
            plan_id=plan.pk,
            competency_id=item.competency_id,
            weight=item.weight,
            expected_level=item.expected_level,
            position=position,
        )
        for plan, set_id in plans
        if set_id is not None
        for position, item in enumerate(items.get(set_id, []))
    ]
    if rows:
        bulk_create_with_history(rows, PlanCompetency, batch_size=500)
    return len(rows)


def attach_missing_competencies(*, cycle: ReviewCycle) -> int:
    """Give the plans of ``cycle`` that have no competencies those of their set
    (job title for general plans, engagement or type for engagement plans). For
    plans created before their sets existed; plans that have competencies are left
    alone. A fixed number of queries. Returns the competencies attached."""
    if cycle.plans_locked:
        return 0
    plans = list(
        Plan.objects.filter(cycle=cycle, competencies__isnull=True)
        .exclude(status=PlanStatus.LOCKED)
        .select_related("employee", "engagement__engagement_type")
    )
    titles = {p.employee.job_title_id for p in plans if p.employee.job_title_id}
    set_of_title = general_set_ids(titles)
    pairs: list[tuple[Plan, int | None]] = []
    for plan in plans:
        if plan.engagement is not None:
            engagement = plan.engagement
            set_id = engagement.competency_set_id or (
                engagement.engagement_type.competency_set_id
                if engagement.engagement_type
                else None
            )
        else:
            set_id = set_of_title.get(plan.employee.job_title_id or 0)
        pairs.append((plan, set_id))
    return attach_set_competencies(pairs)


def _check_expected_level(
    level: Decimal | None, scale: RatingScale | None, *, default: bool = False
) -> None:
    """Refuse an expected level that is not a point of ``scale``: the plan's cycle's
    scale, or the default scale for plan templates (``default``), which belong to no
    cycle. No query."""
    if scale is None:
        if default:
            message = _(
                "The organisation has no default rating scale yet, so no level can "
                "be expected. Ask HR to create one first."
            )
        else:
            message = _(
                "The organisation has no rating scale yet, so no level can be "
                "expected. Ask HR to create one first."
            )
        raise DomainError(message, field="expected_level")
    if level is None or level not in scale.points():
        raise DomainError(
            _("Pick a point of the scale %(scale)s (%(points)s).")
            % {
                "scale": scale.name,
                "points": ", ".join(f"{p.normalize():f}" for p in scale.points()),
            },
            field="expected_level",
        )


def _check_competency_weight(weight: Decimal | None) -> None:
    if weight is None or weight <= 0:
        raise DomainError(_("The weight must be more than 0."), field="weight")


def add_plan_competency(
    *,
    actor: Membership,
    plan: Plan,
    competency: Competency,
    expected_level: Decimal,
    weight: Decimal = Decimal(1),
) -> PlanCompetency:
    """Add a competency at the end of a plan with its weight (> 0) and expected level
    (a point of the cycle's scale). Refused on a locked plan (with the lock
    explanation), for archived competencies and ones the plan has already."""
    with transaction.atomic():
        plan = lock_editable_plan(plan.pk)
        if competency.organization_id != actor.organization_id:
            raise DomainError(
                _("Choose one of the listed competencies."), field="competency"
            )
        if competency.is_archived:
            raise DomainError(
                _(
                    "%(name)s is archived, so it cannot be added to plans. Choose "
                    "another competency, or ask HR to restore it."
                )
                % {"name": competency.name},
                field="competency",
            )
        if PlanCompetency.objects.filter(plan=plan, competency=competency).exists():
            raise DomainError(
                _(
                    "%(name)s is on this plan already; change its weight or level "
                    "instead."
                )
                % {"name": competency.name},
                field="competency",
            )
        _check_competency_weight(weight)
        _check_expected_level(expected_level, scale_for_cycle(plan.cycle))
        last = PlanCompetency.objects.filter(plan=plan).aggregate(last=Max("position"))[
            "last"
        ]
        item = PlanCompetency(
            organization=actor.organization,
            plan=plan,
            competency=competency,
            weight=weight,
            expected_level=expected_level,
            position=0 if last is None else last + 1,
        )
        item.save()
    return item


def update_plan_competency(
    *,
    actor: Membership,
    plan_competency: PlanCompetency,
    weight: Decimal,
    expected_level: Decimal,
) -> PlanCompetency:
    """Re-weight a plan competency or change its expected level (a point of the
    cycle's scale). Refused on a locked plan with the lock explanation."""
    with transaction.atomic():
        plan = lock_editable_plan(plan_competency.plan_id)
        item = PlanCompetency.objects.select_for_update().get(pk=plan_competency.pk)
        _check_competency_weight(weight)
        _check_expected_level(expected_level, scale_for_cycle(plan.cycle))
        if (item.weight, item.expected_level) != (weight, expected_level):
            item.weight = weight
            item.expected_level = expected_level
            item.save(update_fields=["weight", "expected_level"])
    return item


def remove_plan_competency(
    *, actor: Membership, plan_competency: PlanCompetency
) -> None:
    """Take a competency off a plan. Refused on a locked plan with the lock
    explanation."""
    with transaction.atomic():
        lock_editable_plan(plan_competency.plan_id)
        plan_competency.delete()


def add_template_competency(
    *,
    actor: Membership,
    template: PlanTemplate,
    competency: Competency,
    expected_level: Decimal,
    weight: Decimal = Decimal(1),
) -> TemplateCompetency:
    """Add a competency to a plan template with its weight (> 0) and expected level
    (a point of the default scale). Archived competencies and ones the template has
    already are refused. Plans the template was applied to are not touched."""
    with transaction.atomic():
        template = PlanTemplate.objects.select_for_update().get(pk=template.pk)
        if competency.organization_id != actor.organization_id:
            raise DomainError(
                _("Choose one of the listed competencies."), field="competency"
            )
        if competency.is_archived:
            raise DomainError(
                _(
                    "%(name)s is archived, so it cannot be added. Choose another "
                    "competency, or ask HR to restore it."
                )
                % {"name": competency.name},
                field="competency",
            )
        if TemplateCompetency.objects.filter(
            template=template, competency=competency
        ).exists():
            raise DomainError(
                _("%(name)s is in this template already.") % {"name": competency.name},
                field="competency",
            )
        _check_competency_weight(weight)
        _check_expected_level(
            expected_level,
            RatingScale.objects.filter(is_default=True).first(),
            default=True,
        )
        item = TemplateCompetency(
            organization=actor.organization,
            template=template,
            competency=competency,
            weight=weight,
            expected_level=expected_level,
        )
        item.save()
    return item


def remove_template_competency(*, actor: Membership, item: TemplateCompetency) -> None:
    """Take a competency out of a template. Plans that received it keep it."""
    with transaction.atomic():
        item.delete()
