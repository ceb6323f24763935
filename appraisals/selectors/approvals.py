"""Who approves a review evaluation: the engagement's role holders, the approval
authority of each evaluation (``permissions.Authority``) and the approvals that count
for its current submission."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from appraisals import permissions
from appraisals.enums import ApprovalDecision, EvaluationKind
from appraisals.models import AppraisalSettings, Evaluation, EvaluationApproval
from appraisals.permissions import Authority
from appraisals.selectors.settings import current_settings
from engagements.enums import EngagementRole, PlanKind
from engagements.models import RoleAssignment
from organizations.models import Employee, Membership


def engagement_people(
    engagement_ids: Iterable[int], role: str
) -> dict[int, list[Employee]]:
    """The active holders of ``role`` on each engagement, by name. One query (none
    without engagements). Guardian permissions mirror these rows; the rows also name
    people without a login, who may still be chosen and get one later."""
    found: dict[int, list[Employee]] = {}
    ids = {pk for pk in engagement_ids if pk}
    if not ids:
        return found
    for assignment in (
        RoleAssignment.objects.filter(
            engagement_id__in=ids, role=role, employee__is_active=True
        )
        .select_related("employee__user")
        .order_by("employee__full_name", "employee_id")
    ):
        found.setdefault(assignment.engagement_id, []).append(assignment.employee)
    return found


def authorities_for(
    evaluations: Sequence[Evaluation], settings: AppraisalSettings | None = None
) -> dict[int, Authority]:
    """The approval authority of each review evaluation. Two queries (one with
    ``settings`` given) whatever their number; the evaluations must come with their
    plan (and its approver) and employee (and line managers) loaded."""
    reviews = [e for e in evaluations if e.kind == EvaluationKind.REVIEW]
    if not reviews:
        return {}
    settings = settings or current_settings()
    needing = {
        e.plan.engagement_id
        for e in reviews
        if e.plan.kind == PlanKind.ENGAGEMENT and e.plan.engagement_id
    }
    approvers = engagement_people(needing, EngagementRole.APPROVER)
    return {
        e.pk: permissions.approval_authority(
            e,
            dual_approval=settings.dual_approval,
            engagement_approvers=approvers.get(e.plan.engagement_id or 0, []),
        )
        for e in reviews
    }


def approved_capacities(
    evaluation: Evaluation, approvals: Iterable[EvaluationApproval]
) -> dict[str, int]:
    """Capacity → approver id of the approvals that count: those of the current
    submission. No query."""
    return {
        a.capacity: a.approver_id
        for a in approvals
        if a.decision == ApprovalDecision.APPROVED
        and a.submission == evaluation.submission
    }


def employee_id_among(
    membership: Membership, people: Iterable[Employee | None]
) -> int | None:
    for person in people:
        if person is not None and person.user_id == membership.user_id:
            return person.pk
    return None
