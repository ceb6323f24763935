"""Reviewer consistency from the tallies ranks reviewers of equal bias by name, across
page boundaries: the page's query reads the names of the reviewers who can be on the
page or before it only (those at least as lenient as its last row by bias), and must
still order ties exactly as the ratings do."""

from __future__ import annotations

from decimal import Decimal

import pytest

from appraisals.enums import EvaluationStatus
from competencies.models import Competency
from engagements.enums import PlanKind
from organizations.tenancy import tenant_context
from reporting.figures.reviewers import consistency_from_tallies, reviewer_consistency
from reporting.scope import ReportScope
from tests.appraisal_factories import (
    AppraisalFactory,
    CompetencyRatingFactory,
    EvaluationFactory,
)
from tests.engagement_factories import PlanCompetencyFactory, PlanFactory
from tests.factories import EmployeeFactory, OrganizationFactory
from tests.reporting.worlds import ReportWorld, build_world

# Reviewers who each rate one person's Teamwork 4: the same bias, ordered by name.
TIED = ["Zoe Tied", "Abe Tied", "Max Tied", "Kim Tied"]


@pytest.fixture
def world(db: None) -> ReportWorld:
    world = build_world(OrganizationFactory(slug="ties", name="Ties"))
    org = world.org
    with tenant_context(org):
        teamwork = Competency.objects.get(name="Teamwork")
    for name in TIED:
        reviewer = EmployeeFactory(organization=org, full_name=name)
        person = EmployeeFactory(organization=org, full_name=f"Rated by {name}")
        appraisal = AppraisalFactory(
            organization=org, cycle=world.cycle, employee=person
        )
        plan = PlanFactory(
            organization=org,
            cycle=world.cycle,
            employee=person,
            kind=PlanKind.ENGAGEMENT,
            engagement=world.engagement,
        )
        review = EvaluationFactory(
            organization=org,
            plan=plan,
            appraisal=appraisal,
            reviewer=reviewer,
            status=EvaluationStatus.APPROVED,
            score=Decimal(4),
        )
        CompetencyRatingFactory(
            organization=org,
            evaluation=review,
            plan_competency=PlanCompetencyFactory(
                organization=org, plan=plan, competency=teamwork, expected_level=3
            ),
            value=Decimal(4),
        )
    return world


@pytest.mark.parametrize("per_page", [1, 2, 3, 4])
def test_equal_biases_are_ranked_by_name_on_every_page(world, per_page):
    with tenant_context(world.org):
        reviews = ReportScope(world.hr).reviews().filter(plan__cycle=world.cycle)
        expected = reviewer_consistency(reviews, per_page=100).rows
        tallied = []
        page = 1
        while True:
            found = consistency_from_tallies(world.cycle, page=page, per_page=per_page)
            tallied += found.rows
            if page >= found.pages:
                break
            page += 1

    assert [r.name for r in tallied] == [r.name for r in expected]
    assert [r.bias for r in tallied] == [r.bias for r in expected]
    ties = [r.name for r in expected if r.name in TIED]
    assert ties == sorted(TIED)  # Abe, Kim, Max, Zoe
