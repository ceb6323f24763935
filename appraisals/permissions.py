"""Who writes, sees, approves and assigns evaluations, and who acknowledges, finalises
and reopens appraisals: the one place for these rules. ``can(access, action, target)``
is the app's one permission entry point; the predicates below back it (and the
visibility rules of ``selectors.access``).

People in the workflow are ``Employee`` rows; the acting member is matched to them by
user id. Every predicate here is pure (no query): callers load the evaluation with its
plan, employee, line manager chain and reviewer, plus the engagement's approvers, and
build an ``Authority`` once per evaluation (``selectors.authorities_for``).

Approval authority
------------------
* Capacity ``approver``: the plan's approver; else, for engagement plans, the
  engagement's approvers (role ``approver``); for general plans, the line manager's
  line manager. An override that does not qualify falls back to these defaults. When
  nobody qualifies, HR admins approve in this capacity, so no evaluation is stuck.
* Capacity ``line_manager`` (dual approval only): the employee's line manager, in
  either order with the approver. Not required when there is no active line manager
  or when the line manager wrote the evaluation; the page says so.
* Nobody approves an evaluation about themselves or one they reviewed, however the
  roles were given (role rules, overrides, cyclic line-manager chains A→B→A).
* One person never fills both capacities, with one exception: when the line manager is
  the *only* person holding the approver capacity (e.g. the line manager is also the
  plan's approver), their single approval counts for both; requiring someone else
  would leave the evaluation with nobody able to approve it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

from appraisals.enums import (
    AppraisalStatus,
    ApprovalCapacity,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import Appraisal, Evaluation
from engagements.enums import PlanKind
from engagements.models import Plan
from organizations.models import Employee, Membership
from organizations.permissions import Access

APPROVER = ApprovalCapacity.APPROVER.value
LINE_MANAGER = ApprovalCapacity.LINE_MANAGER.value
VISIBLE_TO_EMPLOYEE = (AppraisalStatus.FINALIZED, AppraisalStatus.ACKNOWLEDGED)
WRITABLE = (EvaluationStatus.DRAFT, EvaluationStatus.RETURNED)


class Action(StrEnum):
    """What ``can`` answers for this app's objects."""

    MANAGE = "manage"  # no target: settings, cycle progress, recomputation (HR)
    WRITE = "write"  # target: an Evaluation (its writer)
    EDIT = "edit"  # target: an Evaluation (its writer, while it may still change)
    ASSIGN_REVIEWER = "assign_reviewer"  # target: an Evaluation (a review; HR)
    ACKNOWLEDGE = "acknowledge"  # target: an Appraisal (its employee)
    FINALISE = (
        "finalise"  # target: an Appraisal (finalise or reopen; HR, not their own)
    )


def can(access: Access, action: Action | str, target: object = None) -> bool:
    """May ``access``'s member do ``action`` (on ``target``)? No query when the
    evaluation's reviewer and appraisal, or the appraisal's employee, are loaded.

    ``manage``: HR admins. ``write`` an evaluation: its reviewer (the employee for a
    self-assessment); ``edit``: the same while it may still change. ``assign_reviewer``:
    HR, on review evaluations. ``acknowledge`` an appraisal: its employee.
    ``finalise`` (or reopen) an appraisal: HR admins, never their own. Approving
    depends on the evaluation's approval ``Authority``; see ``Authority.involves``.
    Raises ValueError for an unknown action and TypeError for a target of the wrong
    kind.
    """
    if action == Action.MANAGE:
        return access.is_hr
    if action in (Action.ACKNOWLEDGE, Action.FINALISE):
        if not isinstance(target, Appraisal):
            raise TypeError(f"{action} needs an Appraisal, not {target!r}")
        own = target.employee.user_id == access.user_id
        return own if action == Action.ACKNOWLEDGE else access.is_hr and not own
    predicate = EVALUATION_PREDICATES.get(action)
    if predicate is None:
        raise ValueError(f"Unknown action for appraisals: {action!r}")
    if not isinstance(target, Evaluation):
        raise TypeError(f"{action} needs an Evaluation, not {target!r}")
    return predicate(access.membership, target)


# --- The predicates behind ``can`` and the visibility rules -----------------------------


def _qualifies(person: Employee | None, excluded: set[int | None]) -> bool:
    return person is not None and person.is_active and person.pk not in excluded


def resolve_reviewer(
    plan: Plan, engagement_reviewers: Sequence[Employee]
) -> Employee | None:
    """Who reviews ``plan``: the plan's own reviewer, else (engagement plans) the first
    of the engagement's reviewers by name, else (general plans) the line manager.

    Never the employee; None when nobody qualifies (HR then assigns someone). No query
    when the plan's reviewer and employee's line manager are loaded.
    """
    excluded: set[int | None] = {plan.employee_id}
    if _qualifies(plan.reviewer, excluded):
        return plan.reviewer
    if plan.kind == PlanKind.ENGAGEMENT:
        return next((p for p in engagement_reviewers if _qualifies(p, excluded)), None)
    manager = plan.employee.line_manager
    return manager if _qualifies(manager, excluded) else None


@dataclass(frozen=True)
class Authority:
    """Who must approve one review evaluation, and in which capacities."""

    employee_id: int
    reviewer_id: int | None
    approvers: tuple[Employee, ...]  # may approve in capacity "approver"
    hr_fallback: bool  # nobody qualifies as approver: HR admins act in that capacity
    line_manager: Employee | None  # must approve in capacity "line_manager"
    combined: bool  # the line manager is the only approver: one approval fills both
    dual: bool
    line_manager_note: str  # why the line manager's approval is not required

    @property
    def approver_ids(self) -> set[int]:
        return {person.pk for person in self.approvers}

    @property
    def required(self) -> tuple[str, ...]:
        return (APPROVER, LINE_MANAGER) if self.line_manager else (APPROVER,)

    def people(self) -> list[Employee]:
        """Everyone named in this authority (the approvers and the line manager)."""
        found = list(self.approvers)
        if self.line_manager is not None:
            found.append(self.line_manager)
        return found

    def involves(self, employee_id: int | None, *, is_hr: bool) -> bool:
        """Whether this person is one of the approvers (in any capacity)."""
        if employee_id is None or employee_id in (self.employee_id, self.reviewer_id):
            return False
        if employee_id in self.approver_ids:
            return True
        if self.line_manager is not None and employee_id == self.line_manager.pk:
            return True
        return self.hr_fallback and is_hr

    def capacities_for(
        self, employee_id: int | None, *, is_hr: bool, approved: Mapping[str, int]
    ) -> list[str]:
        """The capacities this person fills by approving now; empty when they may not.

        ``approved`` maps each capacity already approved in the current submission to
        the approver's employee id.
        """
        if not self.involves(employee_id, is_hr=is_hr):
            return []
        manager_id = self.line_manager.pk if self.line_manager else None
        if self.combined:
            if employee_id != manager_id:
                return []
            return [c for c in (APPROVER, LINE_MANAGER) if c not in approved]
        if manager_id is not None and employee_id == manager_id:
            return [] if LINE_MANAGER in approved else [LINE_MANAGER]
        may_approve = employee_id in self.approver_ids or (self.hr_fallback and is_hr)
        if (
            may_approve
            and APPROVER not in approved
            and approved.get(LINE_MANAGER) != employee_id
        ):
            return [APPROVER]
        return []

    def complete(self, approved: Mapping[str, int]) -> bool:
        """Whether every required capacity has approved the current submission."""
        return all(capacity in approved for capacity in self.required)


def approval_authority(
    evaluation: Evaluation,
    *,
    dual_approval: bool,
    engagement_approvers: Sequence[Employee],
) -> Authority:
    """The approval authority of a review evaluation (see the module docstring).

    No query when the evaluation's plan (with approver), employee (with line manager
    and theirs) are loaded; ``engagement_approvers`` are the engagement's approvers.
    """
    plan = evaluation.plan
    excluded: set[int | None] = {evaluation.employee_id, evaluation.reviewer_id}
    approvers: tuple[Employee, ...]
    if plan.approver is not None and _qualifies(plan.approver, excluded):
        approvers = (plan.approver,)
    elif plan.kind == PlanKind.ENGAGEMENT:
        approvers = tuple(p for p in engagement_approvers if _qualifies(p, excluded))
    else:
        manager = evaluation.employee.line_manager
        above = manager.line_manager if manager is not None else None
        approvers = (
            (above,) if above is not None and _qualifies(above, excluded) else ()
        )
    line_manager, note = _line_manager_capacity(evaluation, dual_approval)
    combined = line_manager is not None and [p.pk for p in approvers] == [
        line_manager.pk
    ]
    if line_manager is not None and not combined:
        approvers = tuple(p for p in approvers if p.pk != line_manager.pk)
    return Authority(
        employee_id=evaluation.employee_id,
        reviewer_id=evaluation.reviewer_id,
        approvers=approvers,
        hr_fallback=not approvers,
        line_manager=line_manager,
        combined=combined,
        dual=dual_approval,
        line_manager_note=note,
    )


def _line_manager_capacity(
    evaluation: Evaluation, dual_approval: bool
) -> tuple[Employee | None, str]:
    if not dual_approval:
        return None, ""
    manager = evaluation.employee.line_manager
    if manager is None or not manager.is_active:
        return None, _(
            "The organisation requires the line manager's approval too, but "
            "%(name)s has no active line manager: the approver's approval is enough."
        ) % {"name": evaluation.employee.full_name}
    if manager.pk in (evaluation.reviewer_id, evaluation.employee_id):
        return None, _(
            "The organisation requires the line manager's approval too, but the line "
            "manager %(manager)s wrote this evaluation and cannot approve it: the "
            "approver's approval is enough."
        ) % {"manager": manager.full_name}
    return manager, ""


# --- Viewing and writing ------------------------------------------------------------------


def _is(person: Employee | None, membership: Membership) -> bool:
    return person is not None and person.user_id == membership.user_id


def is_writer(membership: Membership, evaluation: Evaluation) -> bool:
    """The reviewer writes a review; the employee writes their self-assessment."""
    return _is(evaluation.reviewer, membership)


def is_writable(evaluation: Evaluation) -> bool:
    """Whether the evaluation's content may still change (by its writer)."""
    if evaluation.appraisal.status != AppraisalStatus.OPEN:
        return False
    if evaluation.kind == EvaluationKind.SELF:
        return evaluation.status == EvaluationStatus.DRAFT
    return evaluation.status in WRITABLE


def can_view_review(
    membership: Membership,
    review: Evaluation,
    authority: Authority,
    actor_employee_id: int | None,
) -> bool:
    """HR, the reviewer, the approvers (including the line manager under dual
    approval), the employee's line manager; the employee once the appraisal is
    finalised or acknowledged."""
    if membership.is_hr_admin or _is(review.reviewer, membership):
        return True
    if _is(review.employee.line_manager, membership):
        return True
    if authority.involves(actor_employee_id, is_hr=False):
        return True
    return (
        _is(review.employee, membership)
        and review.appraisal.status in VISIBLE_TO_EMPLOYEE
    )


def can_view_self_assessment(
    membership: Membership, assessment: Evaluation, may_view_review: bool
) -> bool:
    """The employee always; once shared (submitted), whoever may see the review of
    the same plan, except the employee's view of the review itself."""
    if _is(assessment.employee, membership):
        return True
    return assessment.status == EvaluationStatus.SUBMITTED and may_view_review


def may_edit(membership: Membership, evaluation: Evaluation) -> bool:
    """Its writer, while the evaluation may still change."""
    return is_writer(membership, evaluation) and is_writable(evaluation)


def may_assign_reviewer(membership: Membership, evaluation: Evaluation) -> bool:
    """HR admins name the reviewer of a review evaluation."""
    return membership.is_hr_admin and evaluation.kind == EvaluationKind.REVIEW


EVALUATION_PREDICATES: dict[str, Callable[[Membership, Evaluation], bool]] = {
    Action.WRITE: is_writer,
    Action.EDIT: may_edit,
    Action.ASSIGN_REVIEWER: may_assign_reviewer,
}
