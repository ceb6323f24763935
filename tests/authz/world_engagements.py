"""The engagements and competencies of the authorisation matrix's world: a cycle, a
client with two engagements, plans with goals and key activities, engagement roles,
templates, rating scales, competencies and their sets, for one organisation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engagements.enums import CycleStatus, PlanKind
from engagements.models import Goal, Plan
from engagements.services.roles import assign_role
from organizations.models import Employee, Organization
from organizations.tenancy import tenant_context
from tests.authz.policy import Target
from tests.competency_factories import (
    CompetencyCategoryFactory,
    CompetencyDescriptorFactory,
    CompetencyFactory,
    CompetencySetFactory,
    CompetencySetItemFactory,
    DefaultScaleFactory,
    RatingScaleFactory,
)
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    KeyActivityFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    RoleRuleFactory,
    TemplateGoalFactory,
)
from tests.engagements.test_plan_competencies import (
    EngagementTypeFactory,
    PlanCompetencyFactory,
    TemplateCompetencyFactory,
)
from tests.factories import EmployeeFactory

# The goal progress of the teammate's plan, as the engagement page would show it.
TEAMMATE_PROGRESS = 37


def plan_with_goals(**plan: Any) -> tuple[Plan, Goal, Any]:
    """A draft plan with two goals weighing 60 and 40, each with a key activity."""
    made = PlanFactory(**plan)
    first = GoalFactory(plan=made, weight=Decimal("60"), position=0)
    second = GoalFactory(plan=made, weight=Decimal("40"), position=1)
    activity = KeyActivityFactory(goal=first)
    KeyActivityFactory(goal=second)
    return made, first, activity


def general_plan_with_goals(**plan: Any) -> tuple[Plan, Goal, Any]:
    """``plan_with_goals`` for a general plan: on no engagement, with no allocation."""
    return plan_with_goals(
        **plan, kind=PlanKind.GENERAL, engagement=None, allocation=None
    )


def engagement_objects(
    organization: Organization,
    employee: Employee,
    peer: Employee,
    roles: dict[str, Employee],
    other_roles: dict[str, Employee],
) -> dict[Target, dict[str, dict[str, Any]]]:
    """A cycle, a client with two engagements, ``employee`` staffed on the first (an
    engagement plan, and a general plan, with goals and key activities), ``peer`` on
    the second; engagement roles on each; a role rule; two templates with a goal each.

    Returns the URL kwargs of each target kind, for OWN and the other targets (they
    are another organisation's objects when this is the other organisation).
    """
    cycle = ReviewCycleFactory(organization=organization, status=CycleStatus.DRAFT)
    engagement = EngagementFactory(organization=organization)
    other_engagement = EngagementFactory(
        organization=organization, client=engagement.client
    )
    plan, goal, activity = plan_with_goals(
        organization=organization, cycle=cycle, engagement=engagement, employee=employee
    )
    general, general_goal, general_activity = general_plan_with_goals(
        organization=organization, cycle=cycle, employee=employee
    )
    plan_with_goals(
        organization=organization,
        cycle=cycle,
        engagement=other_engagement,
        employee=peer,
    )
    # A teammate of ``employee`` on the engagement (no login), whose plan neither
    # ``employee`` nor their line manager may open.
    GoalFactory(
        plan=PlanFactory(
            organization=organization,
            cycle=cycle,
            engagement=engagement,
            employee=EmployeeFactory(
                organization=organization, job_title=None, business_unit=None
            ),
        ),
        weight=Decimal("100"),
        progress=TEAMMATE_PROGRESS,
    )
    with tenant_context(organization):
        assignments = [
            assign_role(actor=None, engagement=engagement, employee=person, role=role)
            for role, person in roles.items()
        ]
        other_assignments = [
            assign_role(
                actor=None, engagement=other_engagement, employee=person, role=role
            )
            for role, person in other_roles.items()
        ]
    template = PlanTemplateFactory(organization=organization)
    template_goal = TemplateGoalFactory(template=template, key_activities="Kick-off")
    other_template = PlanTemplateFactory(organization=organization)
    other_template_goal = TemplateGoalFactory(template=other_template)
    competencies = competency_objects(
        organization,
        plans=(plan, general),
        templates=(template, other_template),
    )
    objects = {
        Target.OWN: {
            "cycle": {"pk": cycle.pk},
            "client": {"pk": engagement.client_id},
            "engagement": {"pk": engagement.pk},
            "plan": {"pk": plan.pk},
            "goal": {"pk": goal.pk},
            "activity": {"pk": activity.pk},
            # The last role given (the contributor's at home) is the one revoked.
            "role_assignment": {"pk": engagement.pk, "rid": assignments[-1].pk},
            "role_rule": {"pk": RoleRuleFactory(organization=organization).pk},
            "template": {"pk": template.pk},
            "template_goal": {"pk": template.pk, "gid": template_goal.pk},
        },
        Target.GENERAL_PLAN: {
            "plan": {"pk": general.pk},
            "goal": {"pk": general_goal.pk},
            "activity": {"pk": general_activity.pk},
        },
        Target.OTHER_PARENT: {
            "role_assignment": {"pk": engagement.pk, "rid": other_assignments[0].pk},
            "template_goal": {"pk": template.pk, "gid": other_template_goal.pk},
        },
    }
    for target, kinds in competencies.items():
        objects[target].update(kinds)
    return objects


def competency_objects(
    organization: Organization,
    plans: tuple[Plan, Plan],
    templates: tuple[Any, Any],
) -> dict[Target, dict[str, dict[str, Any]]]:
    """A default rating scale and another one; a competency used nowhere (the one
    the forms add, and the one HR may delete); a competency set with an item and
    another set with one; an engagement type; that item's competency on both
    ``plans`` (engagement, general) and both ``templates`` (the second for
    OTHER_PARENT). Returns the URL kwargs of each target kind by target."""
    DefaultScaleFactory(organization=organization)
    scale = RatingScaleFactory(organization=organization)
    category = CompetencyCategoryFactory(organization=organization)
    unused = CompetencyFactory(organization=organization, category=category)
    CompetencyDescriptorFactory(organization=organization, competency=unused)
    competency_set = CompetencySetFactory(organization=organization)
    item = CompetencySetItemFactory(
        competency_set=competency_set,
        competency=CompetencyFactory(organization=organization, category=category),
    )
    other_item = CompetencySetItemFactory(
        competency_set=CompetencySetFactory(organization=organization),
        competency=item.competency,
    )
    plan, general = plans
    on_plan, on_general = (
        PlanCompetencyFactory(
            organization=organization, plan=p, competency=item.competency
        )
        for p in (plan, general)
    )
    template, other_template = templates
    in_template, in_other_template = (
        TemplateCompetencyFactory(
            organization=organization, template=t, competency=item.competency
        )
        for t in (template, other_template)
    )
    kind = EngagementTypeFactory(
        organization=organization, competency_set=competency_set
    )
    return {
        Target.OWN: {
            "scale": {"pk": scale.pk},
            "category": {"pk": category.pk},
            "competency": {"pk": unused.pk},
            "competency_set": {"pk": competency_set.pk},
            "set_item": {"pk": competency_set.pk, "item_pk": item.pk},
            "plan_competency": {"pk": on_plan.pk},
            "template_competency": {"pk": template.pk, "cid": in_template.pk},
            "engagement_type": {"pk": kind.pk},
        },
        Target.GENERAL_PLAN: {"plan_competency": {"pk": on_general.pk}},
        Target.OTHER_PARENT: {
            "set_item": {"pk": competency_set.pk, "item_pk": other_item.pk},
            "template_competency": {"pk": template.pk, "cid": in_other_template.pk},
        },
    }
