"""Operations of the evaluation workflow: opening appraisals and evaluations (also
early), writing, submitting, approving and returning evaluations, assigning reviewers.

Keyword-only, one use case per function, transactional. Workflow transitions lock the
appraisal row, then the evaluation row (``select_for_update(of=("self",))``), in that
order everywhere, so two approvers acting at once (or a concurrent recompute) queue
up instead of interleaving. Scores are never written here: after every change that
moves them, ``appraisals.services.recompute.queue_recompute`` recomputes the appraisal
once the transaction commits. E-mails go through ``appraisals.notifications`` with a
key per event and recipient, so each is sent exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from appraisals import notifications, permissions
from appraisals.enums import (
    AppraisalStatus,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
    Potential,
)
from appraisals.models import Appraisal, Evaluation, EvaluationApproval
from appraisals.permissions import Action, can
from appraisals.selectors.approvals import approved_capacities, authorities_for
from appraisals.selectors.evaluations import evaluation_queryset, takes_potential
from appraisals.services.ratings import RatingInput, submission_errors, write_ratings
from appraisals.services.recompute import queue_recompute
from organizations.errors import DomainError, EditConflict
from organizations.history import check_version, record_author
from organizations.models import Employee, Membership, Organization
from organizations.permissions import Access


class EvaluationConflict(EditConflict):
    """A stale save: someone saved the evaluation after the writer loaded it."""


class EvaluationIncomplete(DomainError):
    """Submit refused; ``errors`` maps form field names (``goal_<id>_value``...) to
    what the writer must do there."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(
            _(
                "The evaluation was not submitted: rate every goal and competency, "
                "or mark it N/A, and explain each rating that differs from the "
                "suggested one. The items to fix are marked below."
            ),
            errors=errors,
        )


# --- Writing ----------------------------------------------------------------------------------


def _lock(evaluation: Evaluation) -> Evaluation:
    """Lock the appraisal, then the evaluation, and return the fresh evaluation with
    what the workflow reads."""
    Appraisal.objects.select_for_update(of=("self",)).filter(
        pk=evaluation.appraisal_id
    ).first()
    return evaluation_queryset().select_for_update(of=("self",)).get(pk=evaluation.pk)


def _ensure_writer(actor: Membership, evaluation: Evaluation) -> None:
    if not can(Access(actor), Action.WRITE, evaluation):
        raise DomainError(
            _(
                "Only the reviewer writes an evaluation, and only the employee their self-assessment."
            )
        )


def _ensure_writable(evaluation: Evaluation) -> None:
    if evaluation.appraisal.status != AppraisalStatus.OPEN:
        raise DomainError(
            _(
                "The appraisal is %(status)s; its evaluations cannot change. HR can reopen it."
            )
            % {"status": evaluation.appraisal.get_status_display().lower()}
        )
    if not permissions.is_writable(evaluation):
        raise DomainError(
            _("This evaluation is %(status)s and cannot change any more.")
            % {"status": evaluation.get_status_display().lower()}
        )


def _set_potential(evaluation: Evaluation, potential: str | None) -> tuple[str, ...]:
    """Record ``potential`` ("" for not rated; None leaves it as it is) on the
    general plan's review, the only evaluation that takes one; the fields to
    save. Never touches a score."""
    if potential is None:
        return ()
    if not takes_potential(evaluation):
        raise DomainError(
            _(
                "Only the general plan's review records a potential; leave it empty "
                "here."
            ),
            "potential",
        )
    if potential and potential not in Potential.values:
        raise DomainError(
            _("Choose Low, Medium or High, or leave the potential not rated."),
            "potential",
        )
    evaluation.potential = potential
    return ("potential",)


def _bump(evaluation: Evaluation, actor: Membership, *fields: str) -> None:
    evaluation.version += 1
    record_author(evaluation, actor.user)
    evaluation.save(update_fields=["version", *fields])


def save_evaluation(
    *,
    actor: Membership,
    evaluation: Evaluation,
    version: int,
    goal_ratings: Mapping[int, RatingInput],
    competency_ratings: Mapping[int, RatingInput],
    comments: str,
    potential: str | None = None,
) -> Evaluation:
    """Save a draft: any time while the appraisal is open and the evaluation is a
    draft (or returned), by its writer only (the reviewer; the employee for a
    self-assessment). Incomplete ratings are fine here. ``potential`` (the general
    plan's review only; None leaves it) never moves a score.

    Raises EvaluationConflict when ``version`` is stale (nothing is saved) and
    DomainError for anything else refused.
    """
    with transaction.atomic():
        evaluation = _lock(evaluation)
        _ensure_writer(actor, evaluation)
        _ensure_writable(evaluation)
        check_version(evaluation, version, conflict=EvaluationConflict)
        potential_field = _set_potential(evaluation, potential)
        write_ratings(actor, evaluation, goal_ratings, competency_ratings)
        evaluation.comments = comments
        _bump(evaluation, actor, "comments", *potential_field)
        if evaluation.kind == EvaluationKind.REVIEW:
            queue_recompute(evaluation.appraisal)
    return evaluation


def submit_evaluation(
    *,
    actor: Membership,
    evaluation: Evaluation,
    version: int,
    goal_ratings: Mapping[int, RatingInput] | None = None,
    competency_ratings: Mapping[int, RatingInput] | None = None,
    comments: str | None = None,
    potential: str | None = None,
) -> Evaluation:
    """Save what is given (``potential`` as ``save_evaluation``), then submit: a review goes to its approvers (e-mailed), a
    self-assessment is shared with the reviewer. Every goal and competency must be
    rated or N/A; in a review, a rating that differs from the suggested one needs a
    reason. On any refusal nothing is saved (EvaluationIncomplete lists each item).
    """
    with transaction.atomic():
        evaluation = _lock(evaluation)
        _ensure_writer(actor, evaluation)
        _ensure_writable(evaluation)
        check_version(evaluation, version, conflict=EvaluationConflict)
        potential_field = _set_potential(evaluation, potential)
        write_ratings(actor, evaluation, goal_ratings or {}, competency_ratings or {})
        if comments is not None:
            evaluation.comments = comments
        errors = submission_errors(evaluation)
        if errors:
            raise EvaluationIncomplete(errors)
        evaluation.status = EvaluationStatus.SUBMITTED
        evaluation.submission += 1
        evaluation.submitted_at = timezone.now()
        _bump(
            evaluation,
            actor,
            "comments",
            "status",
            "submission",
            "submitted_at",
            *potential_field,
        )
        if evaluation.kind == EvaluationKind.REVIEW:
            notifications.mail_submitted(evaluation)
            queue_recompute(evaluation.appraisal)
    return evaluation


# --- Approving ---------------------------------------------------------------------------------


def _actor_employee(actor: Membership) -> Employee | None:
    return Employee.objects.filter(user_id=actor.user_id).first()


def _pending_review(evaluation: Evaluation) -> None:
    if evaluation.kind != EvaluationKind.REVIEW:
        raise DomainError(_("Self-assessments are shared, not approved."))
    if evaluation.appraisal.status != AppraisalStatus.OPEN:
        raise DomainError(
            _(
                "The appraisal is %(status)s; its evaluations cannot change. HR can reopen it."
            )
            % {"status": evaluation.appraisal.get_status_display().lower()}
        )
    if evaluation.status != EvaluationStatus.SUBMITTED:
        raise DomainError(
            _(
                "Only a submitted evaluation can be approved or returned; this one is %(status)s."
            )
            % {"status": evaluation.get_status_display().lower()}
        )


def _approved_now(evaluation: Evaluation) -> dict[str, int]:
    return approved_capacities(
        evaluation,
        EvaluationApproval.objects.filter(
            evaluation=evaluation, submission=evaluation.submission
        ),
    )


def _record_decision(
    actor: Membership,
    evaluation: Evaluation,
    approver: Employee,
    capacities: list[str],
    decision: str,
    comment: str,
) -> None:
    """Record ``approver``'s decision on the current submission, one row per
    capacity, with history. One query."""
    rows = [
        EvaluationApproval(
            organization_id=evaluation.organization_id,
            evaluation=evaluation,
            submission=evaluation.submission,
            approver=approver,
            capacity=capacity,
            decision=decision,
            comment=comment,
        )
        for capacity in capacities
    ]
    bulk_create_with_history(rows, EvaluationApproval, default_user=actor.user)


def approve_evaluation(
    *, actor: Membership, evaluation: Evaluation, comment: str = ""
) -> Evaluation:
    """Approve the current submission in the capacity (or capacities) the actor
    holds; the evaluation is approved once every required capacity has approved.

    Nobody approves an evaluation about themselves or one they reviewed. Raises
    DomainError when the actor may not approve (now). Only the decision is recorded:
    ratings and comments of the evaluation never change here.
    """
    with transaction.atomic():
        evaluation = _lock(evaluation)
        _pending_review(evaluation)
        authority = authorities_for([evaluation])[evaluation.pk]
        me = _actor_employee(actor)
        approved = _approved_now(evaluation)
        is_hr = actor.is_hr_admin
        my_id = me.pk if me is not None else None
        capacities = authority.capacities_for(my_id, is_hr=is_hr, approved=approved)
        if not capacities:
            if authority.involves(my_id, is_hr=is_hr):
                raise DomainError(
                    _(
                        "You have already approved this submission; it now waits for "
                        "the other approval."
                    )
                )
            raise DomainError(
                _(
                    "You cannot approve this evaluation: nobody approves an evaluation "
                    "about themselves or one they wrote, and only its approvers may."
                )
            )
        assert me is not None  # capacities imply a directory entry  # noqa: S101
        _record_decision(
            actor, evaluation, me, capacities, ApprovalDecision.APPROVED, comment
        )
        approved.update({capacity: me.pk for capacity in capacities})
        fields = []
        if authority.complete(approved):
            evaluation.status = EvaluationStatus.APPROVED
            evaluation.approved_at = timezone.now()
            fields = ["status", "approved_at"]
        _bump(evaluation, actor, *fields)
        queue_recompute(evaluation.appraisal)
    return evaluation


def return_evaluation(
    *, actor: Membership, evaluation: Evaluation, comment: str
) -> Evaluation:
    """Send a submitted evaluation back to its reviewer with a comment (required).

    Approvals of that submission no longer count: the next submission needs fresh
    ones. Any approver (in any capacity) may return. E-mails the reviewer.
    """
    comment = comment.strip()
    if not comment:
        raise DomainError(
            _("Say what the reviewer should change: a comment is required to return."),
            field="comment",
        )
    with transaction.atomic():
        evaluation = _lock(evaluation)
        _pending_review(evaluation)
        authority = authorities_for([evaluation])[evaluation.pk]
        me = _actor_employee(actor)
        my_id = me.pk if me is not None else None
        if me is None or not authority.involves(my_id, is_hr=actor.is_hr_admin):
            raise DomainError(
                _("Only an approver of this evaluation can return it to the reviewer.")
            )
        manager = authority.line_manager
        capacity = (
            permissions.LINE_MANAGER
            if manager is not None and manager.pk == me.pk and not authority.combined
            else permissions.APPROVER
        )
        _record_decision(
            actor, evaluation, me, [capacity], ApprovalDecision.RETURNED, comment
        )
        evaluation.status = EvaluationStatus.RETURNED
        evaluation.return_comment = comment
        _bump(evaluation, actor, "status", "return_comment")
        notifications.mail_returned(evaluation, comment)
        queue_recompute(evaluation.appraisal)
    return evaluation


def assign_reviewer(
    *, actor: Membership, evaluation: Evaluation, reviewer: Employee
) -> Evaluation:
    """HR names (or replaces) the reviewer of a review evaluation still to write.

    Never the employee; the new reviewer is e-mailed. Raises DomainError otherwise.
    """
    if not actor.is_hr_admin:
        raise DomainError(_("Only HR admins assign reviewers."))
    with transaction.atomic():
        evaluation = _lock(evaluation)
        if evaluation.kind != EvaluationKind.REVIEW:
            raise DomainError(_("The employee writes their own self-assessment."))
        _ensure_writable(evaluation)
        if reviewer.pk == evaluation.employee_id:
            raise DomainError(
                _(
                    "Nobody reviews their own evaluation: an independent view keeps "
                    "it fair. Choose someone else."
                ),
                field="reviewer",
            )
        if not reviewer.is_active:
            raise DomainError(
                _("%(name)s is inactive. Choose an active person.")
                % {"name": reviewer.full_name},
                field="reviewer",
            )
        if reviewer.pk == evaluation.reviewer_id:
            return evaluation
        evaluation.reviewer = reviewer
        _bump(evaluation, actor, "reviewer")
        organization = Organization.objects.get(pk=evaluation.organization_id)
        notifications.mail_assigned(organization, evaluation, reviewer)
        queue_recompute(evaluation.appraisal)
    return evaluation
