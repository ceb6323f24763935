"""Plan templates: creating and editing them, and applying them to plans (goals, key
activities and α copied; all or nothing when a plan is locked)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engagements.enums import CycleStatus, Direction, PlanStatus
from engagements.models import (
    Engagement,
    Goal,
    KeyActivity,
    Plan,
    PlanTemplate,
    TemplateGoal,
)
from engagements.services.templates import (
    add_template_goal,
    apply_template,
    apply_template_to_engagement,
    create_template,
    delete_template_goal,
    update_template,
)
from organizations.errors import DomainError
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    TemplateGoalFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(org: Organization) -> PlanTemplate:
    template = PlanTemplateFactory(organization=org, goal_weight=Decimal("65"))
    TemplateGoalFactory(
        organization=org,
        template=template,
        title="Client satisfaction",
        description="Keep the client happy",
        metric="NPS",
        target_value=Decimal("8"),
        unit="points",
        direction=Direction.HIGHER,
        weight=Decimal("60"),
        key_activities="Kick-off survey\n\n  Monthly check-in  \n",
        position=0,
    )
    TemplateGoalFactory(
        organization=org,
        template=template,
        title="Defects",
        metric="Escaped defects",
        target_value=Decimal("3"),
        direction=Direction.LOWER,
        weight=Decimal("40"),
        position=1,
    )
    return template


@pytest.fixture
def engagement(org: Organization) -> Engagement:
    return EngagementFactory(organization=org)


def _apply(actor: Membership, template: PlanTemplate, plans: list[Plan]) -> int:
    with tenant_context(actor.organization):
        return apply_template(actor=actor, template=template, plans=plans)


def _goals(plan: Plan) -> list[tuple[Any, ...]]:
    with tenant_context(plan.organization):
        return list(
            Goal.objects.filter(plan=plan)
            .order_by("position")
            .values_list(
                "title",
                "description",
                "metric",
                "target_value",
                "unit",
                "direction",
                "weight",
                "position",
            )
        )


def _activities(plan: Plan) -> list[tuple[str, str]]:
    with tenant_context(plan.organization):
        return list(
            KeyActivity.objects.filter(goal__plan=plan)
            .order_by("goal__position", "pk")
            .values_list("goal__title", "title")
        )


def _plan_row(plan: Plan) -> tuple[Any, ...]:
    with tenant_context(plan.organization):
        return Plan.objects.values_list("template_id", "goal_weight", "version").get(
            pk=plan.pk
        )


# --- apply_template --------------------------------------------------------------------


def test_apply_template_copies_goals_key_activities_and_alpha(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    plan = PlanFactory(organization=hr_admin.organization, engagement=engagement)

    created = _apply(hr_admin, template, [plan])

    assert created == 2
    assert _goals(plan) == [
        (
            "Client satisfaction",
            "Keep the client happy",
            "NPS",
            Decimal("8.00"),
            "points",
            Direction.HIGHER,
            Decimal("60.00"),
            0,
        ),
        (
            "Defects",
            "",
            "Escaped defects",
            Decimal("3.00"),
            "",
            Direction.LOWER,
            Decimal("40.00"),
            1,
        ),
    ]
    assert _activities(plan) == [
        ("Client satisfaction", "Kick-off survey"),
        ("Client satisfaction", "Monthly check-in"),
    ]
    assert _plan_row(plan) == (template.pk, Decimal("65.00"), 2)


def test_apply_template_records_history_of_the_copied_activities(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    plan = PlanFactory(organization=hr_admin.organization, engagement=engagement)

    _apply(hr_admin, template, [plan])

    with tenant_context(hr_admin.organization):
        recorded = sorted(
            KeyActivity.history.filter(goal__plan=plan).values_list("title", flat=True)
        )
    assert recorded == ["Kick-off survey", "Monthly check-in"]


def test_apply_template_adds_after_the_goals_a_plan_already_has(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    plan = PlanFactory(organization=hr_admin.organization, engagement=engagement)
    GoalFactory(organization=hr_admin.organization, plan=plan, title="Own goal")

    _apply(hr_admin, template, [plan])

    assert [(row[0], row[-1]) for row in _goals(plan)] == [
        ("Own goal", 0),
        ("Client satisfaction", 1),
        ("Defects", 2),
    ]


def test_apply_template_updates_the_plan_objects_passed_in(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    plan = PlanFactory(organization=hr_admin.organization, engagement=engagement)

    _apply(hr_admin, template, [plan])

    assert (plan.template_id, plan.goal_weight, plan.version) == (
        template.pk,
        Decimal("65.00"),
        2,
    )


def test_apply_template_is_all_or_nothing_when_one_plan_is_locked(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    org = hr_admin.organization
    open_plan = PlanFactory(organization=org, engagement=engagement)
    locked_plan = PlanFactory(
        organization=org, engagement=engagement, status=PlanStatus.LOCKED
    )
    before = _plan_row(open_plan)

    with pytest.raises(DomainError) as caught:
        _apply(hr_admin, template, [open_plan, locked_plan])

    assert caught.value.message == "1 of these plans are locked; nothing was applied."
    assert (_goals(open_plan), _goals(locked_plan)) == ([], [])
    assert _activities(open_plan) == []
    assert _plan_row(open_plan) == before


def test_apply_template_refuses_plans_of_a_cycle_in_review(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    cycle = ReviewCycleFactory(
        organization=hr_admin.organization, status=CycleStatus.REVIEW
    )
    plan = PlanFactory(
        organization=hr_admin.organization, engagement=engagement, cycle=cycle
    )

    with pytest.raises(DomainError):
        _apply(hr_admin, template, [plan])

    assert _goals(plan) == []


def test_apply_template_refuses_a_template_without_goals(
    hr_admin: Membership, engagement: Engagement
) -> None:
    empty = PlanTemplateFactory(organization=hr_admin.organization)
    plan = PlanFactory(organization=hr_admin.organization, engagement=engagement)

    with pytest.raises(DomainError) as caught:
        _apply(hr_admin, empty, [plan])

    assert caught.value.message == "This template has no goals yet."
    assert _plan_row(plan) == (None, Decimal("70.00"), 1)


# --- apply_template_to_engagement ----------------------------------------------------------


def _apply_to_engagement(
    actor: Membership, template: PlanTemplate, engagement: Engagement, **kwargs: Any
) -> tuple[int, int]:
    with tenant_context(actor.organization):
        return apply_template_to_engagement(
            actor=actor, template=template, engagement=engagement, **kwargs
        )


def test_apply_template_to_engagement_covers_every_plan_in_open_cycles(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    org = hr_admin.organization
    current = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    past = ReviewCycleFactory(organization=org, status=CycleStatus.CLOSED)
    first = PlanFactory(organization=org, engagement=engagement, cycle=current)
    second = PlanFactory(organization=org, engagement=engagement, cycle=current)
    old = PlanFactory(
        organization=org, engagement=engagement, cycle=past, status=PlanStatus.LOCKED
    )
    elsewhere = PlanFactory(organization=org, cycle=current)

    result = _apply_to_engagement(hr_admin, template, engagement)

    assert result == (2, 4)
    assert [len(_goals(p)) for p in (first, second, old, elsewhere)] == [2, 2, 0, 0]


def test_apply_template_to_engagement_can_be_restricted_to_a_cycle(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    org = hr_admin.organization
    chosen = ReviewCycleFactory(organization=org, status=CycleStatus.PLANNING)
    other = ReviewCycleFactory(organization=org, status=CycleStatus.PLANNING)
    inside = PlanFactory(organization=org, engagement=engagement, cycle=chosen)
    outside = PlanFactory(organization=org, engagement=engagement, cycle=other)

    result = _apply_to_engagement(hr_admin, template, engagement, cycle=chosen)

    assert result == (1, 2)
    assert [len(_goals(p)) for p in (inside, outside)] == [2, 0]


def test_apply_template_to_engagement_changes_nothing_when_the_cycle_is_locked(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    org = hr_admin.organization
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.REVIEW)
    plans = [
        PlanFactory(organization=org, engagement=engagement, cycle=cycle),
        PlanFactory(
            organization=org,
            engagement=engagement,
            cycle=cycle,
            status=PlanStatus.LOCKED,
        ),
    ]

    with pytest.raises(DomainError) as caught:
        _apply_to_engagement(hr_admin, template, engagement, cycle=cycle)

    assert caught.value.message == "2 of these plans are locked; nothing was applied."
    assert [_goals(p) for p in plans] == [[], []]


def test_apply_template_to_engagement_without_plans_says_to_staff_first(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    with pytest.raises(DomainError) as caught:
        _apply_to_engagement(hr_admin, template, engagement)

    assert (caught.value.field, caught.value.message) == (
        "cycle",
        "Nobody is staffed on this engagement in an open cycle. Staff people first.",
    )


# --- templates and their goals ---------------------------------------------------------------


def test_create_template_stores_it_in_the_organization(hr_admin: Membership) -> None:
    with tenant_context(hr_admin.organization):
        template = create_template(
            actor=hr_admin,
            name="  Delivery lead  ",
            description="For leads",
            goal_weight=Decimal("70"),
        )

    with tenant_context(hr_admin.organization):
        stored = PlanTemplate.objects.values_list(
            "organization_id", "name", "description", "goal_weight"
        ).get(pk=template.pk)
    assert stored == (
        hr_admin.organization.pk,
        "Delivery lead",
        "For leads",
        Decimal("70.00"),
    )


def test_create_template_refuses_a_name_in_use(
    hr_admin: Membership, template: PlanTemplate
) -> None:
    with pytest.raises(DomainError) as caught, tenant_context(hr_admin.organization):
        create_template(
            actor=hr_admin, name=template.name.upper(), goal_weight=Decimal("50")
        )

    assert caught.value.field == "name"
    with tenant_context(hr_admin.organization):
        assert PlanTemplate.objects.count() == 1


def test_create_template_accepts_a_name_used_by_another_organization(
    hr_admin: Membership, other_org: Organization
) -> None:
    PlanTemplateFactory(organization=other_org, name="Shared name")

    with tenant_context(hr_admin.organization):
        create_template(actor=hr_admin, name="Shared name", goal_weight=Decimal("50"))

    with tenant_context(hr_admin.organization):
        assert list(PlanTemplate.objects.values_list("name", flat=True)) == [
            "Shared name"
        ]


def test_update_template_changes_name_description_and_alpha(
    hr_admin: Membership, template: PlanTemplate
) -> None:
    with tenant_context(hr_admin.organization):
        update_template(
            actor=hr_admin,
            template=template,
            name="Renamed",
            description="New text",
            goal_weight=Decimal("80"),
        )

    with tenant_context(hr_admin.organization):
        stored = PlanTemplate.objects.values_list(
            "name", "description", "goal_weight"
        ).get(pk=template.pk)
    assert stored == ("Renamed", "New text", Decimal("80.00"))


def test_update_template_refuses_another_templates_name(
    hr_admin: Membership, template: PlanTemplate
) -> None:
    other = PlanTemplateFactory(organization=hr_admin.organization, name="Taken")

    with pytest.raises(DomainError) as caught, tenant_context(hr_admin.organization):
        update_template(
            actor=hr_admin, template=template, name="taken", goal_weight=Decimal("50")
        )

    assert caught.value.field == "name"
    with tenant_context(hr_admin.organization):
        assert PlanTemplate.objects.get(pk=template.pk).name == template.name
        assert PlanTemplate.objects.get(pk=other.pk).name == "Taken"


def test_add_template_goal_appends_it(
    hr_admin: Membership, template: PlanTemplate
) -> None:
    with tenant_context(hr_admin.organization):
        goal = add_template_goal(
            actor=hr_admin,
            template=template,
            title="Knowledge sharing",
            weight=Decimal("10"),
            key_activities="Brown-bag talk",
        )

    with tenant_context(hr_admin.organization):
        titles = list(
            TemplateGoal.objects.filter(template=template)
            .order_by("position")
            .values_list("title", "position")
        )
    assert titles == [("Client satisfaction", 0), ("Defects", 1), (goal.title, 2)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"weight": Decimal("0")}, "weight", "The weight must be more than 0."),
        ({"weight": Decimal("-5")}, "weight", "The weight must be more than 0."),
        (
            {"weight": Decimal("10"), "metric": "NPS"},
            "target_value",
            "A goal with a metric needs a target value.",
        ),
    ],
)
def test_add_template_goal_refuses_bad_values(
    hr_admin: Membership,
    template: PlanTemplate,
    fields: dict[str, Any],
    field: str,
    message: str,
) -> None:
    with pytest.raises(DomainError) as caught, tenant_context(hr_admin.organization):
        add_template_goal(actor=hr_admin, template=template, title="Bad", **fields)

    assert (caught.value.field, caught.value.message) == (field, message)
    with tenant_context(hr_admin.organization):
        assert TemplateGoal.objects.filter(template=template).count() == 2


def test_delete_template_goal_keeps_goals_already_copied(
    hr_admin: Membership, template: PlanTemplate, engagement: Engagement
) -> None:
    plan = PlanFactory(organization=hr_admin.organization, engagement=engagement)
    _apply(hr_admin, template, [plan])
    with tenant_context(hr_admin.organization):
        blueprint = TemplateGoal.objects.get(template=template, title="Defects")

    with tenant_context(hr_admin.organization):
        delete_template_goal(actor=hr_admin, goal=blueprint)

    with tenant_context(hr_admin.organization):
        remaining = list(
            TemplateGoal.objects.filter(template=template).values_list(
                "title", flat=True
            )
        )
    assert remaining == ["Client satisfaction"]
    assert [row[0] for row in _goals(plan)] == ["Client satisfaction", "Defects"]
