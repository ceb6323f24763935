"""factory-boy factories for the appraisals app (shared by every appraisal test module)."""

from __future__ import annotations

import factory

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import (
    Appraisal,
    CompetencyRating,
    Evaluation,
    GoalRating,
    RecomputeRun,
)
from tests.engagement_factories import PlanFactory
from tests.factories import EmployeeFactory, TenantFactory


class AppraisalFactory(TenantFactory):
    """An appraisal for ``plan``'s employee in ``plan``'s cycle by default."""

    class Meta:
        model = Appraisal

    organization = factory.LazyAttribute(lambda o: o.cycle.organization)
    cycle = factory.SubFactory("tests.engagement_factories.ReviewCycleFactory")
    employee = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    status = AppraisalStatus.OPEN


class EvaluationFactory(TenantFactory):
    """A review evaluation of ``plan`` by a fresh reviewer of the same organisation."""

    class Meta:
        model = Evaluation

    plan = factory.SubFactory(PlanFactory)
    organization = factory.LazyAttribute(lambda o: o.plan.organization)
    appraisal = factory.SubFactory(
        AppraisalFactory,
        cycle=factory.SelfAttribute("..plan.cycle"),
        employee=factory.SelfAttribute("..plan.employee"),
    )
    employee = factory.LazyAttribute(lambda o: o.plan.employee)
    kind = EvaluationKind.REVIEW
    reviewer = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    status = EvaluationStatus.DRAFT


class GoalRatingFactory(TenantFactory):
    class Meta:
        model = GoalRating

    evaluation = factory.SubFactory(EvaluationFactory)
    organization = factory.LazyAttribute(lambda o: o.evaluation.organization)
    goal = factory.SubFactory(
        "tests.engagement_factories.GoalFactory",
        plan=factory.SelfAttribute("..evaluation.plan"),
    )
    value = None
    not_applicable = False


class CompetencyRatingFactory(TenantFactory):
    class Meta:
        model = CompetencyRating

    evaluation = factory.SubFactory(EvaluationFactory)
    organization = factory.LazyAttribute(lambda o: o.evaluation.organization)
    plan_competency = None  # pass a PlanCompetency of the evaluation's plan
    value = None
    not_applicable = False


class RecomputeRunFactory(TenantFactory):
    """A finished recomputation of ``cycle``'s scores (so that another may start)."""

    class Meta:
        model = RecomputeRun

    cycle = factory.SubFactory("tests.engagement_factories.ReviewCycleFactory")
    organization = factory.LazyAttribute(lambda o: o.cycle.organization)
    status = RecomputeRun.Status.DONE
