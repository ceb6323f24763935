"""Plan templates: their goals, and applying them to plans (goals, key activities,
competencies and the goal weight α), all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from engagements.enums import CycleStatus, Direction, PlanKind, PlanStatus
from engagements.models import (
    Engagement,
    Goal,
    KeyActivity,
    Plan,
    PlanCompetency,
    PlanTemplate,
    ReviewCycle,
    TemplateCompetency,
    TemplateGoal,
)
from engagements.services.plans import raise_first_error
from organizations.errors import DomainError
from organizations.models import Membership


def _template_name_taken(name: str, template: PlanTemplate | None = None) -> bool:
    clash = PlanTemplate.objects.filter(name__iexact=name)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    return clash.exists()


def create_template(
    *, actor: Membership, name: str, goal_weight: Decimal, description: str = ""
) -> PlanTemplate:
    """Create a plan template; its name is unique in the organisation."""
    name = name.strip()
    with transaction.atomic():
        if _template_name_taken(name):
            raise DomainError(
                _("A template with this name exists already."), field="name"
            )
        template = PlanTemplate(
            organization=actor.organization,
            name=name,
            description=description,
            goal_weight=goal_weight,
        )
        template.save()
    return template


def update_template(
    *,
    actor: Membership,
    template: PlanTemplate,
    name: str,
    goal_weight: Decimal,
    description: str = "",
) -> PlanTemplate:
    """Rename or describe a template, or change its α. Plans it was already applied
    to keep what they received."""
    name = name.strip()
    with transaction.atomic():
        template = PlanTemplate.objects.select_for_update().get(pk=template.pk)
        if _template_name_taken(name, template):
            raise DomainError(
                _("A template with this name exists already."), field="name"
            )
        template.name = name
        template.description = description
        template.goal_weight = goal_weight
        template.save()
    return template


def validate_template_goal(data: dict[str, Any]) -> dict[str, str]:
    """Field errors for a template goal; empty when valid."""
    errors: dict[str, str] = {}
    weight = data.get("weight")
    if weight is None or weight <= 0:
        errors["weight"] = _("The weight must be more than 0.")
    if data.get("metric") and data.get("target_value") is None:
        errors["target_value"] = _("A goal with a metric needs a target value.")
    return errors


def add_template_goal(
    *,
    actor: Membership,
    template: PlanTemplate,
    title: str,
    weight: Decimal,
    description: str = "",
    metric: str = "",
    target_value: Decimal | None = None,
    unit: str = "",
    direction: str = Direction.HIGHER,
    key_activities: str = "",
) -> TemplateGoal:
    """Add a goal blueprint at the end of a template (``key_activities``: one title
    per line).

    Raises DomainError for a weight not above 0 or a metric without a target.
    """
    raise_first_error(
        validate_template_goal(
            {"weight": weight, "metric": metric, "target_value": target_value}
        )
    )
    with transaction.atomic():
        template = PlanTemplate.objects.select_for_update().get(pk=template.pk)
        last = TemplateGoal.objects.filter(template=template).aggregate(
            last=Max("position")
        )["last"]
        goal = TemplateGoal(
            organization=actor.organization,
            template=template,
            position=0 if last is None else last + 1,
            title=title,
            description=description,
            metric=metric,
            target_value=target_value,
            unit=unit,
            direction=direction,
            weight=weight,
            key_activities=key_activities,
        )
        goal.save()
    return goal


def delete_template_goal(*, actor: Membership, goal: TemplateGoal) -> None:
    """Remove a goal blueprint. Goals already copied onto plans stay."""
    with transaction.atomic():
        goal.delete()


def apply_template(
    *, actor: Membership, template: PlanTemplate, plans: Sequence[Plan]
) -> int:
    """Copy a template's goals and key activities onto plans, and its goal weight α.

    Every plan must be editable, else nothing changes. The plans are locked for the
    duration and the objects passed in are updated. Returns goals created.
    """
    with transaction.atomic():
        fresh = list(
            Plan.objects.select_for_update(of=("self",))
            .select_related("cycle")
            .filter(pk__in=[p.pk for p in plans])
            .order_by("pk")
        )
        locked = [
            p for p in fresh if p.status == PlanStatus.LOCKED or p.cycle.plans_locked
        ]
        if locked:
            raise DomainError(
                _("%(n)s of these plans are locked; nothing was applied.")
                % {"n": len(locked)}
            )
        blueprints = list(TemplateGoal.objects.filter(template=template))
        competencies = list(TemplateCompetency.objects.filter(template=template))
        if not blueprints and not competencies:
            raise DomainError(_("This template has no goals yet."))
        _copy_template_competencies(fresh, competencies)
        created = 0
        for plan in fresh:
            offset = plan.goals.count()
            for index, blueprint in enumerate(blueprints):
                goal = Goal.objects.create(
                    organization=actor.organization,
                    plan=plan,
                    title=blueprint.title,
                    description=blueprint.description,
                    metric=blueprint.metric,
                    target_value=blueprint.target_value,
                    unit=blueprint.unit,
                    direction=blueprint.direction,
                    weight=blueprint.weight,
                    position=offset + index,
                )
                created += 1
                activities = [
                    KeyActivity(organization=actor.organization, goal=goal, title=title)
                    for title in blueprint.activity_titles
                ]
                if activities:
                    bulk_create_with_history(activities, KeyActivity)
            plan.template = template
            plan.goal_weight = template.goal_weight
            plan.version += 1
            plan.save(update_fields=["template", "goal_weight", "version"])
        by_pk = {p.pk: p for p in fresh}
        for original in plans:
            if original.pk in by_pk:
                updated = by_pk[original.pk]
                original.template = template
                original.goal_weight = updated.goal_weight
                original.version = updated.version
    return created


def _copy_template_competencies(
    plans: Sequence[Plan], competencies: Sequence[TemplateCompetency]
) -> None:
    """Add a template's competencies to plans, skipping those a plan already has.
    Three queries whatever the number of plans (none without competencies)."""
    if not competencies or not plans:
        return
    have: dict[int, set[int]] = {}
    last: dict[int, int] = {}
    for plan_id, competency_id, position in PlanCompetency.objects.filter(
        plan__in=[p.pk for p in plans]
    ).values_list("plan_id", "competency_id", "position"):
        have.setdefault(plan_id, set()).add(competency_id)
        last[plan_id] = max(last.get(plan_id, -1), position)
    rows = []
    for plan in plans:
        position = last.get(plan.pk, -1)
        for blueprint in competencies:
            if blueprint.competency_id in have.get(plan.pk, set()):
                continue
            position += 1
            rows.append(
                PlanCompetency(
                    organization_id=plan.organization_id,
                    plan_id=plan.pk,
                    competency_id=blueprint.competency_id,
                    weight=blueprint.weight,
                    expected_level=blueprint.expected_level,
                    position=position,
                )
            )
    if rows:
        bulk_create_with_history(rows, PlanCompetency, batch_size=500)


def apply_template_to_engagement(
    *,
    actor: Membership,
    template: PlanTemplate,
    engagement: Engagement,
    cycle: ReviewCycle | None = None,
) -> tuple[int, int]:
    """Apply ``template`` to every plan on ``engagement``: those of ``cycle``, or of
    every cycle not yet in review or closed. All or nothing, as ``apply_template``.

    Returns (plans changed, goals created). Raises DomainError when there is no such
    plan, when one of them is locked, or when the template has no goals.
    """
    plans = Plan.objects.filter(
        engagement=engagement, kind=PlanKind.ENGAGEMENT
    ).select_related("cycle")
    if cycle is not None:
        plans = plans.filter(cycle=cycle)
    else:
        plans = plans.exclude(
            cycle__status__in=[CycleStatus.REVIEW, CycleStatus.CLOSED]
        )
    targets = list(plans)
    if not targets:
        if cycle is not None:
            message = _(
                "Nobody is staffed on this engagement in %(cycle)s. Staff people first "
                "or pick another cycle."
            ) % {"cycle": cycle.name}
        else:
            message = _(
                "Nobody is staffed on this engagement in an open cycle. Staff people "
                "first."
            )
        raise DomainError(message, field="cycle")
    created = apply_template(actor=actor, template=template, plans=targets)
    return len(targets), created
