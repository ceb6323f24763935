"""A small organisation whose every dashboard figure is worked out by hand in the
tests (``ReportWorld``), and ``build_world`` to make it, in any organisation.

Cycle "Review" (in review, scale 1–5). Business units Audit and Tax. The manager's
line: Ada (Audit, final 4.00, finalised) and Ben (Audit, 3.00, open). Outside it:
Cleo (Tax, 2.50, finalised) and Dan (Audit, not scored). Every one has an
engagement plan on "Ledger" (client "North") with a review; reviewer Rita rates
Teamwork 4 (Ada), 3 (Ben), 5 (Dan); reviewer Rolf rates Cleo 2. Expected level 3.
Goals on Ledger: Ada 120/100 (met), Ben 80/100 (missed), Cleo lower-is-better 5/10
(met).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Appraisal
from engagements.enums import CycleStatus, Direction, EngagementRole, PlanKind
from engagements.models import Engagement, ReviewCycle
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import (
    AppraisalFactory,
    CompetencyRatingFactory,
    EvaluationFactory,
)
from tests.competency_factories import CompetencyFactory
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    GoalFactory,
    PlanCompetencyFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import (
    BusinessUnitFactory,
    EmployeeFactory,
    JobTitleFactory,
    MembershipFactory,
)


@dataclass
class ReportWorld:
    org: Organization
    cycle: ReviewCycle
    hr: Membership
    manager: Membership
    employee: Membership  # Ada's login
    reviewer: Membership  # Rita's login
    engagement: Engagement
    people: dict[str, Employee]
    appraisals: dict[str, Appraisal]


def build_world(org: Organization, *, extra_people: int = 0) -> ReportWorld:
    """The world described above in ``org``; ``extra_people`` more people in
    Tax with a final score of 3.00 and a Teamwork rating of 3 by Rolf (to grow
    the data without changing the manager's line)."""
    audit = BusinessUnitFactory(organization=org, name="Audit")
    tax = BusinessUnitFactory(organization=org, name="Tax")
    title = JobTitleFactory(organization=org, name="Consultant")
    hr = MembershipFactory(organization=org, role=Role.HR_ADMIN)
    manager = MembershipFactory(organization=org, role=Role.MANAGER)
    with tenant_context(org):
        boss = Employee.objects.get(user=manager.user)
    cycle = ReviewCycleFactory(
        organization=org,
        name="Review",
        status=CycleStatus.REVIEW,
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
    )
    engagement = EngagementFactory(
        organization=org,
        name="Ledger",
        client=ClientFactory(organization=org, name="North"),
    )
    teamwork = CompetencyFactory(organization=org, name="Teamwork")

    def person(name: str, unit: object, line: bool) -> Employee:
        return EmployeeFactory(
            organization=org,
            full_name=name,
            business_unit=unit,
            job_title=title,
            line_manager=boss if line else None,
        )

    rita = person("Rita Reviewer", audit, False)
    rolf = person("Rolf Reviewer", tax, False)
    specs = [
        # name, unit, in line, final, percent, status, rating, reviewer, goal
        (
            "Ada",
            audit,
            True,
            "4.00",
            "75.00",
            AppraisalStatus.FINALIZED,
            4,
            rita,
            (Direction.HIGHER, 100, 120),
        ),
        (
            "Ben",
            audit,
            True,
            "3.00",
            "50.00",
            AppraisalStatus.OPEN,
            3,
            rita,
            (Direction.HIGHER, 100, 80),
        ),
        (
            "Cleo",
            tax,
            False,
            "2.50",
            "37.50",
            AppraisalStatus.FINALIZED,
            2,
            rolf,
            (Direction.LOWER, 10, 5),
        ),
        ("Dan", audit, False, None, None, AppraisalStatus.OPEN, 5, rita, None),
    ]
    specs += [
        (f"Extra {i}", tax, False, "3.00", "50.00", AppraisalStatus.OPEN, 3, rolf, None)
        for i in range(extra_people)
    ]
    people, appraisals = {}, {}
    approved_at = timezone.now() - timedelta(days=1)
    for name, unit, line, final, percent, status, rating, reviewer, goal in specs:
        employee = person(name, unit, line)
        appraisal = AppraisalFactory(
            organization=org,
            cycle=cycle,
            employee=employee,
            status=status,
            final_score=Decimal(final) if final else None,
            percent=Decimal(percent) if percent else None,
        )
        plan = PlanFactory(
            organization=org,
            cycle=cycle,
            employee=employee,
            kind=PlanKind.ENGAGEMENT,
            engagement=engagement,
        )
        review = EvaluationFactory(
            organization=org,
            plan=plan,
            appraisal=appraisal,
            reviewer=reviewer,
            status=EvaluationStatus.APPROVED,
            score=Decimal(rating),
            approved_at=approved_at,
        )
        expected = PlanCompetencyFactory(
            organization=org, plan=plan, competency=teamwork, expected_level=3
        )
        CompetencyRatingFactory(
            organization=org,
            evaluation=review,
            plan_competency=expected,
            value=Decimal(rating),
        )
        if goal is not None:
            direction, target, actual = goal
            GoalFactory(
                organization=org,
                plan=plan,
                direction=direction,
                target_value=Decimal(target),
                actual_value=Decimal(actual),
            )
        people[name] = employee
        appraisals[name] = appraisal
    employee = MembershipFactory(
        organization=org, role=Role.EMPLOYEE, employee=people["Ada"]
    )
    reviewer = MembershipFactory(organization=org, role=Role.EMPLOYEE, employee=rita)
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=rita,
            role=EngagementRole.REVIEWER,
        )
    return ReportWorld(
        org=org,
        cycle=cycle,
        hr=hr,
        manager=manager,
        employee=employee,
        reviewer=reviewer,
        engagement=engagement,
        people=people,
        appraisals=appraisals,
    )
