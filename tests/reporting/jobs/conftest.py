"""The world of the reporting tests: two organisations, each with an HR admin, a line
manager with one report, a person outside that line, a review cycle running today
and what the six exports read (appraisals, a review with a competency rating, a goal,
feedback, anonymous answers, a client survey). Names that would be formulas in a
spreadsheet stand in for the people, the client and the goal of the home
organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from engagements.enums import CycleStatus, PlanKind
from engagements.models import Engagement, Goal, Plan, ReviewCycle
from feedback.enums import FeedbackKind
from feedback.models import ClientSurvey
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import (
    AppraisalFactory,
    CompetencyRatingFactory,
    EvaluationFactory,
)
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    GoalFactory,
    PlanCompetencyFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory, MembershipFactory
from tests.feedback_factories import (
    ClientSurveyFactory,
    FeedbackAnswerFactory,
    FeedbackFactory,
    FeedbackRequestFactory,
)

HOSTILE_EMPLOYEE = '=HYPERLINK("http://x","y")'
HOSTILE_CLIENT = "@SUM(1)"
HOSTILE_GOAL = "+1"
HOSTILE_MANAGER = "-2+3"


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> Path:
    """Report files of each test go to a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@dataclass
class Tenant:
    org: Organization
    hr_admin: Membership
    manager: Membership
    manager_entry: Employee
    report: Employee
    outsider_of_line: Employee
    cycle: ReviewCycle
    engagement: Engagement
    appraisal: Appraisal
    other_appraisal: Appraisal
    plan: Plan
    goal: Goal
    review: Evaluation
    survey: ClientSurvey


def _entry(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def build_tenant(org: Organization, *, hostile: bool) -> Tenant:
    """One organisation's side of the world (``hostile``: formula-like names)."""
    today = timezone.localdate()
    hr_admin = MembershipFactory(organization=org, role=Role.HR_ADMIN)
    manager = MembershipFactory(
        organization=org,
        role=Role.MANAGER,
        user__full_name=HOSTILE_MANAGER if hostile else "Mina Manager",
    )
    manager_entry = _entry(manager)
    report = EmployeeFactory(
        organization=org,
        full_name=HOSTILE_EMPLOYEE if hostile else "Rita Report",
        line_manager=manager_entry,
    )
    outsider = EmployeeFactory(organization=org, full_name="Otto Outside")
    cycle = ReviewCycleFactory(
        organization=org,
        name="Cycle of today",
        start_date=today - timedelta(days=30),
        end_date=today + timedelta(days=30),
        status=CycleStatus.REVIEW,
    )
    client = ClientFactory(
        organization=org, name=HOSTILE_CLIENT if hostile else "Calm Client"
    )
    engagement = EngagementFactory(
        organization=org, client=client, code="ENG-A", name="Audit"
    )
    appraisal = AppraisalFactory(
        cycle=cycle,
        organization=org,
        employee=report,
        general_score=Decimal("3.25"),
        engagement_score=Decimal("4.10"),
        final_score=Decimal("3.75"),
        percent=Decimal("75.00"),
    )
    other_appraisal = AppraisalFactory(
        cycle=cycle,
        organization=org,
        employee=outsider,
        status=AppraisalStatus.FINALIZED,
        finalized_at=timezone.now(),
        final_score=Decimal("2.50"),
    )
    plan = PlanFactory(
        organization=org,
        cycle=cycle,
        employee=report,
        engagement=engagement,
        kind=PlanKind.ENGAGEMENT,
    )
    goal = GoalFactory(
        plan=plan,
        title=HOSTILE_GOAL if hostile else "Grow revenue",
        target_value=Decimal("200"),
        actual_value=Decimal("150"),
    )
    reviewer = EmployeeFactory(organization=org, full_name="Rob Reviewer")
    review = EvaluationFactory(
        plan=plan,
        appraisal=appraisal,
        reviewer=reviewer,
        status=EvaluationStatus.SUBMITTED,
        submission=1,
        submitted_at=timezone.now(),
        goal_score=Decimal("3.5"),
        competency_score=Decimal("4"),
        score=Decimal("3.8"),
    )
    plan_competency = PlanCompetencyFactory(plan=plan)
    CompetencyRatingFactory(
        evaluation=review, plan_competency=plan_competency, value=Decimal("4.5")
    )
    on_engagement = {"organization": org, "engagement": engagement}
    FeedbackFactory.create_batch(
        2, subject=report, kind=FeedbackKind.PRAISE, **on_engagement
    )
    FeedbackFactory(subject=report, kind=FeedbackKind.IMPROVEMENT, **on_engagement)
    FeedbackFactory(subject=outsider, kind=FeedbackKind.PRAISE, **on_engagement)
    counted = FeedbackRequestFactory(
        requested_by=report, anonymous=True, **on_engagement
    )
    FeedbackAnswerFactory.create_batch(3, request=counted, organization=org)
    too_few = FeedbackRequestFactory(
        requested_by=report, anonymous=True, **on_engagement
    )
    FeedbackAnswerFactory.create_batch(2, request=too_few, organization=org)
    survey = ClientSurveyFactory(
        engagement=engagement,
        organization=org,
        answered_at=timezone.now(),
        overall=4,
    )
    return Tenant(
        org=org,
        hr_admin=hr_admin,
        manager=manager,
        manager_entry=manager_entry,
        report=report,
        outsider_of_line=outsider,
        cycle=cycle,
        engagement=engagement,
        appraisal=appraisal,
        other_appraisal=other_appraisal,
        plan=plan,
        goal=goal,
        review=review,
        survey=survey,
    )


@pytest.fixture
def home(org: Organization) -> Tenant:
    return build_tenant(org, hostile=True)


@pytest.fixture
def away(other_org: Organization) -> Tenant:
    return build_tenant(other_org, hostile=False)


@pytest.fixture
def both(home: Tenant, away: Tenant) -> tuple[Tenant, Tenant]:
    """Both organisations, the second's rows there to leak if anything leaked."""
    return home, away
