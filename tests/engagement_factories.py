"""factory-boy factories for the engagements app. Each tenant row derives its
organisation from its parent and is written inside that organisation's tenant context."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from engagements.enums import (
    CycleStatus,
    EngagementStatus,
    GoalStatus,
    PlanKind,
    PlanStatus,
)
from engagements.models import (
    Client,
    Engagement,
    Goal,
    GoalCheckIn,
    Plan,
    ReviewCycle,
)
from tests.factories import EmployeeFactory, OrganizationFactory, TenantFactory


class ClientFactory(TenantFactory):
    class Meta:
        model = Client

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Client {n:04d}")
    industry = "Consulting"


class EngagementFactory(TenantFactory):
    class Meta:
        model = Engagement

    organization = factory.SubFactory(OrganizationFactory)
    client = factory.SubFactory(
        ClientFactory, organization=factory.SelfAttribute("..organization")
    )
    code = factory.Sequence(lambda n: f"ENG{n:04d}")
    name = factory.Sequence(lambda n: f"Engagement {n:04d}")
    start_date = date(2025, 1, 1)
    end_date = date(2025, 12, 31)
    status = EngagementStatus.ACTIVE


class ReviewCycleFactory(TenantFactory):
    class Meta:
        model = ReviewCycle

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Cycle {n:04d}")
    start_date = date(2025, 1, 1)
    end_date = date(2025, 12, 31)
    status = CycleStatus.DRAFT
    general_weight = Decimal("40")


class PlanFactory(TenantFactory):
    """An engagement plan by default; pass ``kind=PlanKind.GENERAL, engagement=None,
    allocation=None`` for a general one."""

    class Meta:
        model = Plan

    organization = factory.SubFactory(OrganizationFactory)
    cycle = factory.SubFactory(
        ReviewCycleFactory, organization=factory.SelfAttribute("..organization")
    )
    employee = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    kind = PlanKind.ENGAGEMENT
    engagement = factory.SubFactory(
        EngagementFactory, organization=factory.SelfAttribute("..organization")
    )
    start_date = date(2025, 1, 1)
    end_date = date(2025, 12, 31)
    allocation = Decimal("50")
    goal_weight = Decimal("70")
    status = PlanStatus.DRAFT


class GoalFactory(TenantFactory):
    class Meta:
        model = Goal

    plan = factory.SubFactory(PlanFactory)
    organization = factory.LazyAttribute(lambda o: o.plan.organization)
    title = factory.Sequence(lambda n: f"Goal {n:04d}")
    weight = Decimal("50")
    progress = 0
    status = GoalStatus.NOT_STARTED


class GoalCheckInFactory(TenantFactory):
    class Meta:
        model = GoalCheckIn

    goal = factory.SubFactory(GoalFactory)
    organization = factory.LazyAttribute(lambda o: o.goal.organization)
    progress = 50
    status = GoalStatus.ON_TRACK
    note = factory.Sequence(lambda n: f"Check-in note {n:04d}")


# --- Staffing, roles and templates -------------------------------------------------


class PlanTemplateFactory(TenantFactory):
    class Meta:
        model = "engagements.PlanTemplate"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Template {n:04d}")
    description = "A blueprint"
    goal_weight = Decimal("60")


class TemplateGoalFactory(TenantFactory):
    class Meta:
        model = "engagements.TemplateGoal"

    template = factory.SubFactory(PlanTemplateFactory)
    organization = factory.LazyAttribute(lambda o: o.template.organization)
    title = factory.Sequence(lambda n: f"Template goal {n:04d}")
    weight = Decimal("50")
    key_activities = ""
    position = factory.Sequence(lambda n: n)


class RoleRuleFactory(TenantFactory):
    class Meta:
        model = "engagements.RoleRule"

    organization = factory.SubFactory(OrganizationFactory)
    job_title = factory.SubFactory(
        "tests.factories.JobTitleFactory",
        organization=factory.SelfAttribute("..organization"),
    )
    role = "reviewer"


# --- Key activities (plans and goals) ------------------------------------------------


class KeyActivityFactory(TenantFactory):
    class Meta:
        model = "engagements.KeyActivity"

    goal = factory.SubFactory(GoalFactory)
    organization = factory.LazyAttribute(lambda o: o.goal.organization)
    title = factory.Sequence(lambda n: f"Activity {n:04d}")
    done = False


class PlanCompetencyFactory(TenantFactory):
    """A competency on a plan (weight 1, expected level 3)."""

    class Meta:
        model = "engagements.PlanCompetency"

    plan = factory.SubFactory(PlanFactory)
    organization = factory.LazyAttribute(lambda o: o.plan.organization)
    competency = factory.SubFactory(
        "tests.competency_factories.CompetencyFactory",
        organization=factory.SelfAttribute("..organization"),
    )
    weight = Decimal(1)
    expected_level = Decimal(3)
    position = factory.Sequence(lambda n: n)
