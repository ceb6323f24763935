"""The queue's approval rule in SQL (``selectors.queues.approvable_ids``) lists exactly
the reviews that ``permissions.Authority.capacities_for`` lets each member approve.

Organisations are built from a seed with every case the rule distinguishes: plan
approvers (none, active, inactive, the reviewer), engagements with no, one or several
approvers (the line manager among them, or alone), general plans approved by the
line manager's manager, line-manager chains with cycles, people without a login,
inactive people, reviews without a reviewer, earlier submissions, approvals in either
capacity, appraisals no longer open, an HR admin with and one without a directory
entry, with dual approval off and on. For every member, the SQL answer is compared
with the Python rule over every submitted review.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from appraisals.enums import (
    AppraisalStatus,
    ApprovalCapacity,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import AppraisalSettings, EvaluationApproval
from appraisals.selectors.approvals import (
    approved_capacities,
    authorities_for,
    employee_id_among,
)
from appraisals.selectors.evaluations import evaluation_queryset
from appraisals.selectors.queues import Tab, approvable_ids, evaluation_queue
from engagements.enums import EngagementRole, PlanKind
from engagements.models import RoleAssignment
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import AppraisalFactory, EvaluationFactory
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SEEDS = range(6)


def _build(org: Organization, seed: int, *, dual: bool) -> list[Membership]:
    """A small organisation drawn from ``seed`` (see the module docstring); returns
    its members."""
    rnd = random.Random(seed)
    members = [
        MembershipFactory(organization=org, role=Role.HR_ADMIN),
        MembershipFactory(organization=org, role=Role.HR_ADMIN, employee=False),
        *(
            MembershipFactory(organization=org, role=rnd.choice(list(Role)))
            for _ in range(7)
        ),
    ]
    EmployeeFactory.create_batch(2, organization=org)  # without a login
    with tenant_context(org):
        people = list(Employee.objects.order_by("pk"))
        for person in people:
            Employee.objects.filter(pk=person.pk).update(
                # Any chain, cycles included: the rule must hold whatever HR typed.
                line_manager=rnd.choice([None, *[p for p in people if p != person]]),
                is_active=rnd.random() > 0.15,
            )
        AppraisalSettings.objects.create(organization=org, dual_approval=dual)
    engagements = [EngagementFactory(organization=org) for _ in range(4)]
    with tenant_context(org):
        for engagement in engagements:
            for person in rnd.sample(people, rnd.choice([0, 1, 1, 2, 3])):
                RoleAssignment.objects.create(
                    organization=org,
                    engagement=engagement,
                    employee=person,
                    role=EngagementRole.APPROVER,
                )
        # Some engagements approved by a line manager alone, or with others.
        for person in people[:4]:
            if person.line_manager_id and rnd.random() < 0.5:
                RoleAssignment.objects.get_or_create(
                    organization=org,
                    engagement=rnd.choice(engagements),
                    employee_id=Employee.objects.get(pk=person.pk).line_manager_id,
                    role=EngagementRole.APPROVER,
                )
    cycle = ReviewCycleFactory(organization=org)
    for person in people:
        _plans_of(org, rnd, cycle, person, people, engagements)
    return members


def _plans_of(org, rnd, cycle, person, people, engagements) -> None:
    others = [p for p in people if p.pk != person.pk]
    open_appraisal = rnd.random() > 0.15
    appraisal = AppraisalFactory(
        organization=org,
        cycle=cycle,
        employee=person,
        status=AppraisalStatus.OPEN if open_appraisal else AppraisalStatus.FINALIZED,
        finalized_at=None if open_appraisal else timezone.now(),
    )
    plans = [
        PlanFactory(
            organization=org,
            cycle=cycle,
            employee=person,
            kind=PlanKind.GENERAL,
            engagement=None,
            allocation=None,
            approver=rnd.choice([None, None, *others]),
        ),
        *(
            PlanFactory(
                organization=org,
                cycle=cycle,
                employee=person,
                engagement=engagement,
                approver=rnd.choice([None, None, None, *others]),
            )
            for engagement in rnd.sample(engagements, rnd.choice([1, 2]))
        ),
    ]
    for plan in plans:
        _review_of(org, rnd, plan, appraisal, people, others)


def _review_of(org, rnd, plan, appraisal, people, others) -> None:
    """The plan's review, submitted four times in five, with approvals in either
    capacity, some of an earlier submission."""
    submission = rnd.choice([1, 1, 2])
    evaluation = EvaluationFactory(
        organization=org,
        plan=plan,
        appraisal=appraisal,
        reviewer=rnd.choice([None, plan.approver, *others, *others]),
        status=rnd.choice([EvaluationStatus.SUBMITTED] * 4 + [EvaluationStatus.DRAFT]),
        submission=submission,
        submitted_at=timezone.now() - timedelta(minutes=rnd.randint(0, 500)),
    )
    with tenant_context(org):
        for capacity in ApprovalCapacity:
            if rnd.random() < 0.3:
                EvaluationApproval.objects.create(
                    organization=org,
                    evaluation=evaluation,
                    submission=rnd.choice([submission, submission, submission - 1]),
                    approver=rnd.choice(people),
                    capacity=capacity,
                    decision=ApprovalDecision.APPROVED,
                )


def _python_rule(membership: Membership) -> set[int]:
    """The reviews ``membership`` may approve by ``Authority.capacities_for``."""
    rows = list(
        evaluation_queryset().filter(
            appraisal__status=AppraisalStatus.OPEN,
            kind=EvaluationKind.REVIEW,
            status=EvaluationStatus.SUBMITTED,
        )
    )
    authorities = authorities_for(rows)
    own = Employee.objects.filter(user_id=membership.user_id).first()
    found = set()
    for evaluation in rows:
        authority = authorities[evaluation.pk]
        employee_id = employee_id_among(membership, authority.people())
        if membership.is_hr_admin and employee_id is None and own is not None:
            employee_id = own.pk
        approved = approved_capacities(evaluation, evaluation.approvals.all())
        if authority.capacities_for(
            employee_id, is_hr=membership.is_hr_admin, approved=approved
        ):
            found.add(evaluation.pk)
    return found


@pytest.mark.parametrize("dual", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_sql_rule_lists_what_the_python_rule_lets_each_member_approve(org, seed, dual):
    members = _build(org, seed, dual=dual)

    with tenant_context(org):
        answers = []
        for member in members:
            sql = set(approvable_ids(org.pk, member.user_id, is_hr=member.is_hr_admin))
            answers.append((member.pk, sql, _python_rule(member)))

    assert [(pk, sql) for pk, sql, _ in answers] == [
        (pk, expected) for pk, _, expected in answers
    ]
    # Not vacuous: somebody may approve something in every organisation drawn.
    assert any(expected for _, _, expected in answers)


def test_queue_counts_match_the_lists_of_each_tab(org):
    members = _build(org, 3, dual=True)

    with tenant_context(org):
        for member in members:
            queue = evaluation_queue(member)

            counts = [queue.count(tab) for tab in Tab]
            listed = [len(queue.rows(tab)[:1000]) for tab in Tab]

            assert counts == listed
            assert queue.to_approve == len(_python_rule(member))


def test_every_case_of_the_rule_occurs_in_the_organisations_drawn(db):
    """The seeds reach the rule's rare branches: HR approving for lack of anyone and
    the line manager alone filling both capacities."""
    fallback = alone = False
    for seed in SEEDS:
        organization = OrganizationFactory(slug=f"seed-{seed}")
        _build(organization, seed, dual=True)
        with tenant_context(organization):
            rows = list(
                evaluation_queryset().filter(
                    kind=EvaluationKind.REVIEW, status=EvaluationStatus.SUBMITTED
                )
            )
            for authority in authorities_for(rows).values():
                fallback |= authority.hr_fallback
                alone |= authority.combined

    assert (fallback, alone) == (True, True)
