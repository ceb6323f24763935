"""Evaluation workflow services: save, submit, approve, return, assign; who may do
each in which status, dual approval in both orders, no self-approval through role
rules or line-manager chains, optimistic locking, and e-mails exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    Evaluation,
    EvaluationApproval,
    GoalRating,
)
from appraisals.services import evaluations
from appraisals.services.ratings import RatingInput
from engagements.enums import EngagementRole, PlanKind
from engagements.models import Plan
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee
from organizations.tenancy import tenant_context
from tests.appraisals.test_workflow_opening import (
    World,
    assign,
    build_world,
    employee_of,
    evaluation,
    start_review,
)
from tests.engagement_factories import PlanFactory

pytestmark = pytest.mark.django_db

FOUR = Decimal(4)


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def ratings(world: World, plan: Plan | None = None, **override: RatingInput):
    """Every goal and competency of the plan rated: Revenue 3 (its suggestion),
    Quality 4, the competency 4; ``override`` by goal title."""
    plan = plan or world.plan
    with tenant_context(world.org):
        goals = {
            g.pk: override.get(
                g.title,
                RatingInput(value=Decimal(3) if g.title == "Revenue" else FOUR),
            )
            for g in plan.goals.all()
        }
        competencies = {c.pk: RatingInput(value=FOUR) for c in plan.competencies.all()}
    return goals, competencies


def save(world, member, ev, goals=None, competencies=None, comments="ok", version=None):
    goals = goals if goals is not None else {}
    with tenant_context(world.org):
        ev.refresh_from_db()
        return evaluations.save_evaluation(
            actor=member,
            evaluation=ev,
            version=ev.version if version is None else version,
            goal_ratings=goals,
            competency_ratings=competencies or {},
            comments=comments,
        )


def submit(world, member, ev, plan=None, **override):
    with tenant_context(world.org):
        plan = plan or Plan.objects.get(pk=ev.plan_id)
    goals, competencies = ratings(world, plan, **override)
    with tenant_context(world.org):
        ev.refresh_from_db()
        return evaluations.submit_evaluation(
            actor=member,
            evaluation=ev,
            version=ev.version,
            goal_ratings=goals,
            competency_ratings=competencies,
            comments="Solid work",
        )


def approve(world, member, ev, comment=""):
    with tenant_context(world.org):
        return evaluations.approve_evaluation(
            actor=member, evaluation=ev, comment=comment
        )


def give_back(world, member, ev, comment="Explain the quality rating"):
    with tenant_context(world.org):
        return evaluations.return_evaluation(
            actor=member, evaluation=ev, comment=comment
        )


def fresh(world, ev) -> Evaluation:
    with tenant_context(world.org):
        return Evaluation.objects.get(pk=ev.pk)


def dual(world) -> None:
    with tenant_context(world.org):
        AppraisalSettings.objects.create(organization=world.org, dual_approval=True)


# --- saving and submitting ---------------------------------------------------------------------


def test_reviewer_saves_a_partial_draft(world):
    review = evaluation(world, world.plan)
    goals, _competencies = ratings(world)
    first = dict(list(goals.items())[:1])

    saved = save(world, world.reviewer, review, first, comments="Halfway")

    assert saved.status == EvaluationStatus.DRAFT
    assert saved.version == review.version + 1
    with tenant_context(world.org):
        stored = GoalRating.objects.get(evaluation=review)
    assert (stored.value, stored.suggested, saved.comments) == (
        Decimal(3),
        Decimal(3),
        "Halfway",
    )


def test_submit_moves_to_submitted_and_emails_the_approver_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    review = evaluation(world, world.plan)

    with django_capture_on_commit_callbacks(execute=True):
        done = submit(world, world.reviewer, review)

    assert (done.status, done.submission) == (EvaluationStatus.SUBMITTED, 1)
    assert [m.to for m in mailoutbox] == [[world.approver.user.email]]
    assert mailoutbox[0].subject == "Evaluation to approve: Olga Owner · Data Platform"


def test_submit_with_unrated_items_names_each_and_changes_nothing(world):
    review = evaluation(world, world.plan)
    goals, _competencies = ratings(world)
    revenue = next(iter(goals))

    with (
        tenant_context(world.org),
        pytest.raises(evaluations.EvaluationIncomplete) as exc,
    ):
        evaluations.submit_evaluation(
            actor=world.reviewer,
            evaluation=review,
            version=review.version,
            goal_ratings={revenue: goals[revenue]},
            competency_ratings={},
        )

    missing = {k for k in exc.value.errors}
    assert len(missing) == 2
    assert all(k.endswith("_value") for k in missing)
    after = fresh(world, review)
    assert (after.status, after.version) == (EvaluationStatus.DRAFT, review.version)
    with tenant_context(world.org):
        assert not GoalRating.objects.filter(evaluation=review).exists()


def test_not_applicable_counts_as_rated(world):
    review = evaluation(world, world.plan)

    done = submit(
        world, world.reviewer, review, Quality=RatingInput(not_applicable=True)
    )

    assert done.status == EvaluationStatus.SUBMITTED


def test_override_without_reason_is_refused_and_with_a_reason_accepted(world):
    review = evaluation(world, world.plan)
    with tenant_context(world.org):
        revenue = world.plan.goals.get(title="Revenue").pk

    with pytest.raises(evaluations.EvaluationIncomplete) as exc:
        submit(world, world.reviewer, review, Revenue=RatingInput(value=Decimal(5)))
    assert list(exc.value.errors) == [f"goal_{revenue}_reason"]
    assert fresh(world, review).status == EvaluationStatus.DRAFT

    done = submit(
        world,
        world.reviewer,
        review,
        Revenue=RatingInput(value=Decimal(5), override_reason="Landed a big deal"),
    )
    assert done.status == EvaluationStatus.SUBMITTED


def test_a_value_off_the_scale_is_refused(world):
    review = evaluation(world, world.plan)

    with pytest.raises(DomainError, match="points of the scale"):
        submit(world, world.reviewer, review, Quality=RatingInput(value=Decimal("3.5")))

    assert fresh(world, review).version == review.version


@pytest.mark.parametrize("who", ["owner", "approver", "hr", "manager", "stranger"])
def test_only_the_reviewer_writes_the_review(world, who):
    review = evaluation(world, world.plan)
    goals, _c = ratings(world)

    with pytest.raises(DomainError, match="Only the reviewer"):
        save(world, getattr(world, who), review, goals)

    assert fresh(world, review).version == review.version


def test_stale_save_names_who_changed_it_and_overwrites_nothing(world):
    review = evaluation(world, world.plan)
    goals, _c = ratings(world)
    save(world, world.reviewer, review, goals, comments="First")

    with pytest.raises(evaluations.EvaluationConflict) as exc:
        save(
            world, world.reviewer, review, {}, comments="Stale", version=review.version
        )

    assert exc.value.message.startswith("Changed by Rita Reviewer at ")
    assert fresh(world, review).comments == "First"


def test_self_assessment_is_written_and_shared_by_the_employee_only(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    own = evaluation(world, world.plan, EvaluationKind.SELF)
    goals, _c = ratings(world)
    with pytest.raises(DomainError):
        save(world, world.reviewer, own, goals)

    with django_capture_on_commit_callbacks(execute=True):
        shared = submit(world, world.owner, own, Revenue=RatingInput(value=Decimal(5)))

    assert shared.status == EvaluationStatus.SUBMITTED
    assert mailoutbox == []
    with pytest.raises(DomainError, match="cannot change"):
        save(world, world.owner, own, goals)
    with pytest.raises(DomainError, match="shared, not approved"):
        approve(world, world.approver, own)


# --- transitions by status -------------------------------------------------------------------


def test_approve_and_return_refused_on_a_draft(world):
    review = evaluation(world, world.plan)

    with pytest.raises(DomainError, match="Only a submitted evaluation"):
        approve(world, world.approver, review)
    with pytest.raises(DomainError, match="Only a submitted evaluation"):
        give_back(world, world.approver, review)


def test_approved_evaluation_cannot_change_or_be_returned(world):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)
    done = approve(world, world.approver, review)
    assert done.status == EvaluationStatus.APPROVED

    goals, _c = ratings(world)
    with pytest.raises(DomainError, match="approved and cannot change"):
        save(world, world.reviewer, review, goals)
    with pytest.raises(DomainError, match="Only a submitted evaluation"):
        give_back(world, world.approver, review)
    with pytest.raises(DomainError, match="Only a submitted evaluation"):
        approve(world, world.approver, review)


def test_submitted_evaluation_cannot_be_saved(world):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    with pytest.raises(DomainError, match="submitted and cannot change"):
        save(world, world.reviewer, review, {})


def test_finalised_appraisal_refuses_every_change(world):
    review = evaluation(world, world.plan)
    with tenant_context(world.org):
        Appraisal.objects.update(status=AppraisalStatus.FINALIZED)

    with pytest.raises(DomainError, match="finalised"):
        save(world, world.reviewer, review, {})


def test_return_needs_a_comment(world):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    with pytest.raises(DomainError, match="comment is required") as exc:
        give_back(world, world.approver, review, comment="  ")

    assert exc.value.field == "comment"
    assert fresh(world, review).status == EvaluationStatus.SUBMITTED


def test_return_goes_back_to_the_reviewer_and_emails_them_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    with django_capture_on_commit_callbacks(execute=True):
        back = give_back(world, world.approver, review)

    assert (back.status, back.return_comment) == (
        EvaluationStatus.RETURNED,
        "Explain the quality rating",
    )
    assert [m.to for m in mailoutbox] == [[world.reviewer.user.email]]
    assert "Explain the quality rating" in mailoutbox[0].body
    resubmitted = submit(world, world.reviewer, review)
    assert (resubmitted.status, resubmitted.submission) == (
        EvaluationStatus.SUBMITTED,
        2,
    )


# --- who approves -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer", "owner", "stranger", "manager", "planner"])
def test_only_approvers_approve(world, who):
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    with pytest.raises(DomainError, match="cannot approve"):
        approve(world, getattr(world, who), review)

    assert fresh(world, review).status == EvaluationStatus.SUBMITTED


def test_employee_who_is_approver_by_role_rule_cannot_approve_their_own(world):
    assign(world.engagement, world.owner, EngagementRole.APPROVER)
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    with pytest.raises(DomainError, match="cannot approve"):
        approve(world, world.owner, review)

    assert approve(world, world.approver, review).status == EvaluationStatus.APPROVED


def test_reviewer_who_is_also_an_approver_cannot_approve_what_they_wrote(world):
    assign(world.engagement, world.reviewer, EngagementRole.APPROVER)
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    with pytest.raises(DomainError, match="cannot approve"):
        approve(world, world.reviewer, review)


def test_general_plan_is_approved_by_the_managers_manager(world):
    review = evaluation(world, world.general)
    submit(world, world.manager, review)

    with pytest.raises(DomainError):
        approve(world, world.manager, review)

    assert approve(world, world.grand, review).status == EvaluationStatus.APPROVED


def test_line_manager_cycle_never_lets_the_employee_approve_and_hr_steps_in(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member, open_review=False)
    ann = make_member(org, Role.MANAGER, user__full_name="Ann Loop")
    bob = make_member(
        org,
        Role.MANAGER,
        user__full_name="Bob Loop",
        employee__line_manager=employee_of(ann),
    )
    with tenant_context(org):
        # A cycle A→B→A, as old data may hold (the directory refuses new ones).
        Employee.objects.filter(pk=employee_of(ann).pk).update(
            line_manager=employee_of(bob)
        )
    plan = PlanFactory(
        organization=org,
        cycle=world.cycle,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        employee=employee_of(ann),
    )
    start_review(world)
    review = evaluation(world, plan)
    assert review.reviewer == employee_of(bob)
    submit(world, bob, review)

    for member in (ann, bob):
        with pytest.raises(DomainError, match="cannot approve"):
            approve(world, member, review)

    assert approve(world, world.hr, review).status == EvaluationStatus.APPROVED


# --- dual approval ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", [("approver", "manager"), ("manager", "approver")])
def test_dual_approval_needs_both_in_either_order(org, other_org, make_member, order):
    world = build_world(org, other_org, make_member)
    dual(world)
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    first = approve(world, getattr(world, order[0]), review)
    assert first.status == EvaluationStatus.SUBMITTED
    with pytest.raises(DomainError, match="already approved"):
        approve(world, getattr(world, order[0]), review)
    second = approve(world, getattr(world, order[1]), review)

    assert second.status == EvaluationStatus.APPROVED
    with tenant_context(org):
        capacities = sorted(
            EvaluationApproval.objects.filter(evaluation=review).values_list(
                "capacity", flat=True
            )
        )
    assert capacities == ["approver", "line_manager"]


def test_dual_submission_emails_the_approver_and_the_line_manager(
    org, other_org, make_member, mailoutbox, django_capture_on_commit_callbacks
):
    world = build_world(org, other_org, make_member)
    dual(world)
    review = evaluation(world, world.plan)

    with django_capture_on_commit_callbacks(execute=True):
        submit(world, world.reviewer, review)

    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [world.approver.user.email, world.manager.user.email]
    )


def test_return_then_resubmit_needs_fresh_approvals(org, other_org, make_member):
    world = build_world(org, other_org, make_member)
    dual(world)
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)
    approve(world, world.approver, review)

    give_back(world, world.manager, review)
    submit(world, world.reviewer, review)
    after_manager = approve(world, world.manager, review)

    assert after_manager.status == EvaluationStatus.SUBMITTED
    assert approve(world, world.approver, review).status == EvaluationStatus.APPROVED


def test_line_manager_who_reviewed_is_not_required(org, other_org, make_member):
    world = build_world(org, other_org, make_member)
    dual(world)
    review = evaluation(world, world.general)
    assert review.reviewer == world.employee("manager")
    submit(world, world.manager, review)

    assert approve(world, world.grand, review).status == EvaluationStatus.APPROVED


def test_line_manager_who_is_the_only_approver_fills_both_capacities(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member)
    dual(world)
    with tenant_context(org):
        Plan.objects.filter(pk=world.plan.pk).update(approver=world.employee("manager"))
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    assert approve(world, world.manager, review).status == EvaluationStatus.APPROVED
    with tenant_context(org):
        assert EvaluationApproval.objects.filter(evaluation=review).count() == 2


def test_one_person_does_not_fill_both_capacities_when_others_can(
    org, other_org, make_member
):
    world = build_world(org, other_org, make_member)
    dual(world)
    assign(world.engagement, world.manager, EngagementRole.APPROVER)
    review = evaluation(world, world.plan)
    submit(world, world.reviewer, review)

    assert approve(world, world.manager, review).status == EvaluationStatus.SUBMITTED
    with pytest.raises(DomainError, match="already approved"):
        approve(world, world.manager, review)

    assert approve(world, world.approver, review).status == EvaluationStatus.APPROVED


# --- assigning a reviewer -----------------------------------------------------------------------


def test_hr_assigns_a_reviewer_and_they_are_emailed_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    review = evaluation(world, world.plan)

    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.org):
        evaluations.assign_reviewer(
            actor=world.hr, evaluation=review, reviewer=world.employee("stranger")
        )
        evaluations.assign_reviewer(
            actor=world.hr, evaluation=review, reviewer=world.employee("stranger")
        )

    assert fresh(world, review).reviewer_id == world.employee("stranger").pk
    assert [m.to for m in mailoutbox] == [[world.stranger.user.email]]


def test_the_employee_is_never_assigned_as_reviewer(world):
    review = evaluation(world, world.plan)

    with tenant_context(world.org), pytest.raises(DomainError) as exc:
        evaluations.assign_reviewer(
            actor=world.hr, evaluation=review, reviewer=world.employee("owner")
        )

    assert exc.value.field == "reviewer"
    assert fresh(world, review).reviewer_id == world.employee("reviewer").pk


def test_only_hr_assigns_reviewers(world):
    review = evaluation(world, world.plan)

    with tenant_context(world.org), pytest.raises(DomainError, match="Only HR"):
        evaluations.assign_reviewer(
            actor=world.manager, evaluation=review, reviewer=world.employee("stranger")
        )
