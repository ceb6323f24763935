"""Finalising, reopening and acknowledging appraisals (services; the bulk actions of
the cycle progress page are tests/appraisals/test_bulk_services.py's).

The builders at the top (``worked_example``, ``ready_appraisal``) are shared with the
appraisal page tests: they build docs/scoring.md's worked example with factories
and store its scores with the real recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appraisals.enums import (
    AppraisalStatus,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import Appraisal, Evaluation
from appraisals.scores import recompute_appraisals
from appraisals.services import appraisals as finalisation
from competencies.models import RatingScale
from engagements.enums import CycleStatus, PlanKind, Weighting
from engagements.models import ReviewCycle
from organizations.enums import Role
from organizations.errors import DomainError, EditConflict
from organizations.models import Employee, Membership, Organization, SentEmail
from organizations.tenancy import tenant_context
from tests.appraisal_factories import (
    AppraisalFactory,
    CompetencyRatingFactory,
    EvaluationFactory,
    GoalRatingFactory,
)
from tests.competency_factories import DefaultScaleFactory
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    PlanCompetencyFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

D = Decimal


# --- Builders (shared with tests/appraisals/views/test_appraisal_*.py) ---------------


def employee_of(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def review_cycle(org: Organization, **overrides: Any) -> ReviewCycle:
    """The worked example's cycle: 2026-01-01..2026-06-30, β 40 %, by effort."""
    fields: dict[str, Any] = {
        "start_date": date(2026, 1, 1),
        "end_date": date(2026, 6, 30),
        "general_weight": D(40),
        "engagement_weighting": Weighting.EFFORT,
        "status": CycleStatus.REVIEW,
    }
    fields.update(overrides)
    return ReviewCycleFactory(organization=org, **fields)


def _evaluation(plan: Any, appraisal: Appraisal, status: str, **kw: Any) -> Evaluation:
    return EvaluationFactory(plan=plan, appraisal=appraisal, status=status, **kw)


def _rate(
    evaluation: Evaluation,
    goals: list[tuple[int, int]],
    competencies: list[tuple[int, int]],
) -> None:
    for weight, rating in goals:
        goal = GoalFactory(plan=evaluation.plan, weight=D(weight))
        GoalRatingFactory(evaluation=evaluation, goal=goal, value=D(rating))
    for weight, rating in competencies:
        item = PlanCompetencyFactory(plan=evaluation.plan, weight=D(weight))
        CompetencyRatingFactory(
            evaluation=evaluation, plan_competency=item, value=D(rating)
        )


@dataclass
class Example:
    appraisal: Appraisal
    general: Evaluation
    engagement_a: Evaluation
    engagement_b: Evaluation

    @property
    def evaluations(self) -> list[Evaluation]:
        return [self.general, self.engagement_a, self.engagement_b]


def worked_example(
    org: Organization,
    employee: Employee,
    *,
    cycle: ReviewCycle | None = None,
    status: str = EvaluationStatus.APPROVED,
    b_status: str | None = None,
) -> Example:
    """docs/scoring.md's worked example for ``employee``: G 3.80, EC 3.85, final
    3.83, 70.69 %. Every review evaluation in ``status`` (engagement B's in
    ``b_status`` if given); stored scores recomputed."""
    cycle = cycle or review_cycle(org)
    if not _has_default_scale(org):
        DefaultScaleFactory(organization=org)
    appraisal = AppraisalFactory(organization=org, cycle=cycle, employee=employee)
    general_plan = PlanFactory(
        organization=org,
        cycle=cycle,
        employee=employee,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
        goal_weight=D(70),
    )
    general = _evaluation(general_plan, appraisal, status)
    _rate(general, [(50, 4), (50, 3)], [(1, 4), (1, 5)])
    plan_a = PlanFactory(
        organization=org,
        cycle=cycle,
        employee=employee,
        engagement=EngagementFactory(
            organization=org,
            name="Alpha rollout",
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
        ),
        allocation=D(60),
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
        goal_weight=D(70),
    )
    engagement_a = _evaluation(plan_a, appraisal, status)
    _rate(engagement_a, [(40, 5), (60, 4)], [(1, 3), (1, 4)])
    plan_b = PlanFactory(
        organization=org,
        cycle=cycle,
        employee=employee,
        engagement=EngagementFactory(
            organization=org,
            name="Beta migration",
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
        ),
        allocation=D(40),
        start_date=date(2026, 4, 1),
        end_date=date(2026, 9, 30),
        goal_weight=D(70),
    )
    engagement_b = _evaluation(plan_b, appraisal, b_status or status)
    _rate(engagement_b, [(100, 3)], [])
    with tenant_context(org):
        recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
    return Example(appraisal, general, engagement_a, engagement_b)


def _has_default_scale(org: Organization) -> bool:
    with tenant_context(org):
        return RatingScale.objects.filter(is_default=True).exists()


def ready_appraisal(org: Organization, employee: Employee | None = None) -> Appraisal:
    """A small open appraisal whose one review evaluation is approved."""
    employee = employee or EmployeeFactory(organization=org)
    plan = PlanFactory(organization=org, employee=employee)
    evaluation = EvaluationFactory(plan=plan, status=EvaluationStatus.APPROVED)
    _rate(evaluation, [(100, 4)], [])
    return evaluation.appraisal


def stored(appraisal: Appraisal) -> dict[str, Any]:
    with tenant_context(appraisal.organization):
        return Appraisal.objects.filter(pk=appraisal.pk).values().get()


# --- Finalisation ---------------------------------------------------------------------------


def test_finalise_freezes_the_worked_example_scores(org, hr_admin, make_member):
    employee = employee_of(make_member(org))
    example = worked_example(org, employee)
    with tenant_context(org):
        # A stale stored figure: finalisation recomputes before freezing.
        Appraisal.objects.filter(pk=example.appraisal.pk).update(final_score=D(1))

    with tenant_context(org):
        done = finalisation.finalise_appraisals(
            actor=hr_admin, appraisals=[example.appraisal.pk]
        )

    row = stored(example.appraisal)
    assert [a.pk for a in done] == [example.appraisal.pk]
    assert row["status"] == AppraisalStatus.FINALIZED
    assert (row["general_score"], row["engagement_score"]) == (D("3.80"), D("3.85"))
    assert (row["final_score"], row["percent"]) == (D("3.83"), D("70.69"))
    assert row["finalized_by_id"] == hr_admin.user_id
    assert row["finalized_at"] is not None
    assert row["snapshot"]["result"]["final_score"] == "3.83"
    assert row["version"] == example.appraisal.version + 1


def test_finalise_records_who_in_the_history(org, hr_admin):
    appraisal = ready_appraisal(org)

    with tenant_context(org):
        finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)
        latest = appraisal.history.order_by("-history_date", "-history_id").first()

    assert latest.status == AppraisalStatus.FINALIZED
    assert latest.history_user_id == hr_admin.user_id


def test_finalise_refuses_an_appraisal_with_an_unapproved_evaluation(
    org, hr_admin, make_member
):
    employee = employee_of(make_member(org))
    example = worked_example(org, employee, b_status=EvaluationStatus.SUBMITTED)
    before = stored(example.appraisal)

    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.finalise_appraisals(
            actor=hr_admin, appraisals=[example.appraisal.pk]
        )

    assert "Not ready" in error.value.message
    assert employee.full_name in error.value.message
    assert stored(example.appraisal) == before


def test_finalise_refuses_an_appraisal_without_review_evaluations(org, hr_admin):
    appraisal = AppraisalFactory(organization=org, cycle=review_cycle(org))

    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.finalise_appraisals(actor=hr_admin, appraisals=[appraisal.pk])

    assert "Not ready" in error.value.message
    assert stored(appraisal)["status"] == AppraisalStatus.OPEN


def test_finalise_ignores_self_assessments_when_judging_readiness(org, hr_admin):
    appraisal = ready_appraisal(org)
    with tenant_context(org):
        evaluation = appraisal.evaluations.select_related("plan__employee").get()
    EvaluationFactory(
        plan=evaluation.plan,
        appraisal=appraisal,
        kind=EvaluationKind.SELF,
        reviewer=evaluation.plan.employee,
        status=EvaluationStatus.DRAFT,
    )

    with tenant_context(org):
        finalisation.finalise_appraisals(actor=hr_admin, appraisals=[appraisal.pk])

    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED


def test_bulk_finalise_with_a_foreign_id_changes_nothing(org, other_org, hr_admin):
    mine = [ready_appraisal(org), ready_appraisal(org)]
    foreign = ready_appraisal(other_org)

    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.finalise_appraisals(
            actor=hr_admin, appraisals=[mine[0].pk, foreign.pk, mine[1].pk]
        )

    assert "nothing was finalised" in error.value.message
    assert [stored(a)["status"] for a in [*mine, foreign]] == [AppraisalStatus.OPEN] * 3


def test_bulk_finalise_with_an_unknown_id_changes_nothing(org, hr_admin):
    appraisal = ready_appraisal(org)

    with tenant_context(org), pytest.raises(DomainError):
        finalisation.finalise_appraisals(
            actor=hr_admin, appraisals=[appraisal.pk, appraisal.pk + 10_000]
        )

    assert stored(appraisal)["status"] == AppraisalStatus.OPEN


def test_bulk_finalise_with_one_unready_appraisal_changes_nothing(org, hr_admin):
    ready = ready_appraisal(org)
    unready = EvaluationFactory(
        plan=PlanFactory(organization=org), status=EvaluationStatus.RETURNED
    ).appraisal

    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.finalise_appraisals(
            actor=hr_admin, appraisals=[ready.pk, unready.pk]
        )

    assert unready.employee.full_name in error.value.message
    assert stored(ready)["status"] == AppraisalStatus.OPEN


def test_bulk_finalise_restricted_to_a_cycle_refuses_another_cycles_appraisal(
    org, hr_admin
):
    appraisal = ready_appraisal(org)
    other_cycle = review_cycle(org)

    with tenant_context(org), pytest.raises(DomainError):
        finalisation.finalise_appraisals(
            actor=hr_admin, appraisals=[appraisal.pk], cycle=other_cycle
        )

    assert stored(appraisal)["status"] == AppraisalStatus.OPEN


def test_bulk_finalise_finalises_every_ready_appraisal(org, hr_admin):
    appraisals = [ready_appraisal(org) for _ in range(3)]

    with tenant_context(org):
        finalisation.finalise_appraisals(
            actor=hr_admin, appraisals=[a.pk for a in appraisals]
        )

    assert {stored(a)["status"] for a in appraisals} == {AppraisalStatus.FINALIZED}
    assert {stored(a)["final_score"] for a in appraisals} == {D("4.00")}


def test_finalise_refuses_an_already_finalised_appraisal(org, hr_admin):
    appraisal = ready_appraisal(org)
    with tenant_context(org):
        finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)

    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)

    assert "Already finalised" in error.value.message


def test_hr_admin_cannot_finalise_their_own_appraisal(org, hr_admin):
    own = ready_appraisal(org, employee_of(hr_admin))
    other = ready_appraisal(org)

    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.finalise_appraisals(actor=hr_admin, appraisals=[other.pk, own.pk])

    assert "your own appraisal" in error.value.message
    assert stored(own)["status"] == stored(other)["status"] == AppraisalStatus.OPEN


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_hr_admins_finalise(org, make_member, role):
    appraisal = ready_appraisal(org)
    member = make_member(org, role)

    with tenant_context(org), pytest.raises(PermissionDenied):
        finalisation.finalise_appraisals(actor=member, appraisals=[appraisal.pk])

    assert stored(appraisal)["status"] == AppraisalStatus.OPEN


def _finalise_queries(org: Organization, hr: Membership, count: int) -> int:
    appraisals = [ready_appraisal(org) for _ in range(count)]
    with tenant_context(org), CaptureQueriesContext(connection) as queries:
        finalisation.finalise_appraisals(
            actor=hr, appraisals=[a.pk for a in appraisals]
        )
    return len(queries)


def test_bulk_finalise_query_count_does_not_grow_with_the_batch(org, hr_admin):
    small = _finalise_queries(org, hr_admin, 5)
    large = _finalise_queries(org, hr_admin, 25)

    assert small == large


# --- E-mails ------------------------------------------------------------------------------


def test_finalise_emails_the_employee_exactly_once(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    member = make_member(org)
    appraisal = ready_appraisal(org, employee_of(member))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        tenant_context(org),
    ):
        finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)
    for callback in callbacks:  # a second delivery of the same task sends nothing
        callback()

    assert [m.to for m in mailoutbox] == [[member.user.email]]
    assert appraisal.cycle.name in mailoutbox[0].subject
    assert f"/o/{org.slug}/appraisals/{appraisal.pk}/" in mailoutbox[0].body


def test_an_appraisal_finalised_again_after_reopening_is_announced_again(
    org, hr_admin, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    member = make_member(org)
    appraisal = ready_appraisal(org, employee_of(member))

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        done = finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)
        finalisation.reopen_appraisal(
            actor=hr_admin, appraisal=done, reason="Rating typo on goal 1"
        )
        finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)

    assert len(mailoutbox) == 2
    with tenant_context(org):
        assert (
            SentEmail.objects.filter(key__startswith="appraisal.finalised:").count()
            == 2
        )


def test_finalise_sends_no_email_to_an_employee_without_a_login(
    org, hr_admin, mailoutbox, django_capture_on_commit_callbacks
):
    appraisal = ready_appraisal(org)

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)

    assert mailoutbox == []
    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED


# --- Reopening ------------------------------------------------------------------------------


def _finalised(org: Organization, hr: Membership, employee: Employee | None = None):
    appraisal = ready_appraisal(org, employee)
    with tenant_context(org):
        return finalisation.finalise_appraisal(actor=hr, appraisal=appraisal)


def test_reopen_records_the_reason_and_reopens(org, hr_admin):
    appraisal = _finalised(org, hr_admin)

    with tenant_context(org):
        finalisation.reopen_appraisal(
            actor=hr_admin,
            appraisal=appraisal,
            reason="The Beta rating was entered on the wrong goal.",
            version=appraisal.version,
        )
        latest = appraisal.history.order_by("-history_date", "-history_id").first()

    row = stored(appraisal)
    assert row["status"] == AppraisalStatus.OPEN
    assert (row["finalized_at"], row["finalized_by_id"]) == (None, None)
    assert row["reopen_reason"] == "The Beta rating was entered on the wrong goal."
    assert latest.history_change_reason == row["reopen_reason"]
    assert latest.history_user_id == hr_admin.user_id


def test_reopen_recomputes_the_scores(org, hr_admin):
    appraisal = _finalised(org, hr_admin)
    with tenant_context(org):
        rating = appraisal.evaluations.get().goal_ratings.get()
        rating.value = D(2)
        rating.save()

    with tenant_context(org):
        finalisation.reopen_appraisal(
            actor=hr_admin, appraisal=appraisal, reason="Rating corrected"
        )

    assert stored(appraisal)["final_score"] == D("2.00")


def test_reopen_clears_the_acknowledgement(org, hr_admin, make_member):
    member = make_member(org)
    appraisal = _finalised(org, hr_admin, employee_of(member))
    with tenant_context(org):
        finalisation.acknowledge_appraisal(
            actor=member, appraisal=appraisal, comment="Read it."
        )

    with tenant_context(org):
        finalisation.reopen_appraisal(
            actor=hr_admin, appraisal=appraisal, reason="New approval needed"
        )

    row = stored(appraisal)
    assert (row["acknowledged_at"], row["acknowledgement"]) == (None, "")


@pytest.mark.parametrize("reason", ["", "   "])
def test_reopen_without_a_reason_is_refused(org, hr_admin, reason):
    appraisal = _finalised(org, hr_admin)
    before = stored(appraisal)

    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.reopen_appraisal(
            actor=hr_admin, appraisal=appraisal, reason=reason
        )

    assert error.value.field == "reason"
    assert stored(appraisal) == before


def test_reopen_of_an_open_appraisal_is_refused(org, hr_admin):
    appraisal = ready_appraisal(org)

    with tenant_context(org), pytest.raises(DomainError):
        finalisation.reopen_appraisal(
            actor=hr_admin, appraisal=appraisal, reason="Why not"
        )

    assert stored(appraisal)["status"] == AppraisalStatus.OPEN


def test_reopen_with_a_stale_version_names_who_changed_it(org, hr_admin):
    appraisal = _finalised(org, hr_admin)

    with tenant_context(org), pytest.raises(EditConflict) as error:
        finalisation.reopen_appraisal(
            actor=hr_admin,
            appraisal=appraisal,
            reason="Stale form",
            version=appraisal.version - 1,
        )

    assert str(hr_admin.user) in error.value.message
    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED


def test_reopen_by_a_manager_is_refused(org, hr_admin, manager):
    appraisal = _finalised(org, hr_admin)

    with tenant_context(org), pytest.raises(PermissionDenied):
        finalisation.reopen_appraisal(actor=manager, appraisal=appraisal, reason="x")

    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED


# --- Acknowledgement ---------------------------------------------------------------------


def test_employee_acknowledges_their_finalised_appraisal_once(
    org, hr_admin, make_member
):
    member = make_member(org)
    appraisal = _finalised(org, hr_admin, employee_of(member))

    with tenant_context(org):
        finalisation.acknowledge_appraisal(
            actor=member,
            appraisal=appraisal,
            comment="  Fair, thank you.  ",
            version=appraisal.version,
        )
    row = stored(appraisal)
    with tenant_context(org), pytest.raises(DomainError) as error:
        finalisation.acknowledge_appraisal(actor=member, appraisal=appraisal)

    assert row["status"] == AppraisalStatus.ACKNOWLEDGED
    assert row["acknowledgement"] == "Fair, thank you."
    assert row["acknowledged_at"] is not None
    assert "already" in error.value.message
    assert stored(appraisal) == row


def test_employee_cannot_acknowledge_an_open_appraisal(org, make_member):
    member = make_member(org)
    appraisal = ready_appraisal(org, employee_of(member))

    with tenant_context(org), pytest.raises(DomainError):
        finalisation.acknowledge_appraisal(actor=member, appraisal=appraisal)

    assert stored(appraisal)["status"] == AppraisalStatus.OPEN


@pytest.mark.parametrize("role", [Role.HR_ADMIN, Role.MANAGER, Role.EMPLOYEE])
def test_nobody_else_acknowledges_an_appraisal(org, hr_admin, make_member, role):
    subject = make_member(org)
    manager = make_member(org, Role.MANAGER)
    with tenant_context(org):
        Employee.objects.filter(user=subject.user).update(
            line_manager=employee_of(manager)
        )
    appraisal = _finalised(org, hr_admin, employee_of(subject))
    other = manager if role == Role.MANAGER else make_member(org, role)

    with tenant_context(org), pytest.raises(PermissionDenied):
        finalisation.acknowledge_appraisal(actor=other, appraisal=appraisal)

    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED


def test_acknowledge_with_a_stale_version_is_refused(org, hr_admin, make_member):
    member = make_member(org)
    appraisal = _finalised(org, hr_admin, employee_of(member))

    with tenant_context(org), pytest.raises(EditConflict):
        finalisation.acknowledge_appraisal(
            actor=member, appraisal=appraisal, version=appraisal.version + 5
        )

    assert stored(appraisal)["status"] == AppraisalStatus.FINALIZED
