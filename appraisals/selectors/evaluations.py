"""Read queries of evaluations: who approves them, the evaluation page's sheet,
history and status lines, the queues of work, and overdue ones.

The access gate and visibility of one evaluation live in ``selectors.access``; the
predicates behind both in ``appraisals.permissions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.forms import BoundField
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisals import permissions
from appraisals.enums import (
    AppraisalStatus,
    ApprovalCapacity,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import (
    CompetencyRating,
    Evaluation,
    EvaluationApproval,
    GoalRating,
)
from appraisals.selectors.approvals import (
    approved_capacities,
    authorities_for,
    employee_id_among,
)
from appraisals.selectors.settings import (
    attainment_bands,
    suggested_rating,
)
from engagements.enums import CycleStatus, EngagementRole
from engagements.models import Goal, ReviewCycle, RoleAssignment
from engagements.selectors.competencies import (
    PlanCompetencyRow,
    ScalePoint,
    plan_competencies,
    plan_competency_rows,
    scale_for_cycle,
    scale_points,
)
from organizations.history import timeline
from organizations.models import Employee, Membership

if TYPE_CHECKING:
    from appraisals.selectors.access import EvaluationAccess

# The caller's directory entry, asked for only when it decides anything (HR approving
# for lack of anyone else): ``lambda: request.employee`` costs a query only then.
OwnEmployee = Callable[[], Employee | None]


def evaluation_queryset() -> QuerySet[Evaluation]:
    """Evaluations with everything the permission predicates and pages read."""
    return Evaluation.objects.select_related(
        "appraisal",
        "plan__cycle",
        "plan__engagement__client",
        "plan__approver__user",
        "plan__reviewer",
        "employee__line_manager__line_manager__user",
        "employee__line_manager__user",
        "employee__user",
        "reviewer__user",
    )


# --- The evaluation page -------------------------------------------------------------------


@dataclass
class GoalRow:
    goal: Goal
    attainment: Decimal | None
    suggested: Decimal | None
    rating: GoalRating | None  # of the evaluation shown
    own: GoalRating | None  # the employee's self-assessment, beside a review
    fields: dict[str, BoundField] = field(default_factory=dict)


@dataclass
class CompetencyRow:
    row: PlanCompetencyRow
    rating: CompetencyRating | None
    own: CompetencyRating | None
    fields: dict[str, BoundField] = field(default_factory=dict)


@dataclass
class EvaluationSheet:
    points: list[ScalePoint]
    goals: list[GoalRow]
    competencies: list[CompetencyRow]

    @property
    def point_labels(self) -> dict[Decimal, str]:
        return {p.value: p.text for p in self.points}


def evaluation_sheet(access: EvaluationAccess) -> EvaluationSheet:
    """Every goal and competency of the plan with the evaluation's ratings, the
    self-assessment's beside a review (when the caller may see it), attainment and
    suggested ratings, and the scale's points with each competency's descriptors.

    Seven queries at most whatever the number of items (the attainment bands only
    when a goal has no stored suggestion yet).
    """
    evaluation = access.evaluation
    plan = evaluation.plan
    goals = list(Goal.objects.filter(plan=plan).order_by("position", "pk"))
    points = scale_points(scale_for_cycle(plan.cycle))
    items = plan_competency_rows(plan_competencies(plan), points)
    beside = access.assessment if evaluation.kind == EvaluationKind.REVIEW else None
    if beside is not None and not access.may_view_assessment:
        beside = None
    ids = [evaluation.pk] + ([beside.pk] if beside is not None else [])
    goal_ratings = {
        (r.evaluation_id, r.goal_id): r
        for r in GoalRating.objects.filter(evaluation_id__in=ids)
    }
    competency_ratings = {
        (r.evaluation_id, r.plan_competency_id): r
        for r in CompetencyRating.objects.filter(evaluation_id__in=ids)
    }
    beside_id = beside.pk if beside is not None else 0
    # A saved rating stores the suggestion made from the (locked) goal's attainment.
    bands = (
        attainment_bands()
        if any((evaluation.pk, goal.pk) not in goal_ratings for goal in goals)
        else []
    )

    def suggestion(goal: Goal) -> Decimal | None:
        stored = goal_ratings.get((evaluation.pk, goal.pk))
        if stored is not None:
            return stored.suggested
        return suggested_rating(goal.attainment, bands)

    return EvaluationSheet(
        points=points,
        goals=[
            GoalRow(
                goal=goal,
                attainment=goal.attainment,
                suggested=suggestion(goal),
                rating=goal_ratings.get((evaluation.pk, goal.pk)),
                own=goal_ratings.get((beside_id, goal.pk)),
            )
            for goal in goals
        ],
        competencies=[
            CompetencyRow(
                row=item,
                rating=competency_ratings.get((evaluation.pk, item.item.pk)),
                own=competency_ratings.get((beside_id, item.item.pk)),
            )
            for item in items
        ],
    )


def _history_label(record: Any) -> str:
    model = record.instance_type
    if model is Evaluation:
        return _("Evaluation")
    if model is GoalRating:
        return _("Goal rating")
    if model is CompetencyRating:
        return _("Competency rating")
    return _("Approval decision")


def evaluation_history(evaluation: Evaluation) -> list[dict[str, object]]:
    """The change timeline of an evaluation, its ratings and approval decisions,
    newest first. Four queries, plus one per kind of reference whose value changed."""
    records = [
        *Evaluation.history.filter(id=evaluation.pk).select_related("history_user"),
        *GoalRating.history.filter(evaluation_id=evaluation.pk).select_related(
            "history_user"
        ),
        *CompetencyRating.history.filter(evaluation_id=evaluation.pk).select_related(
            "history_user"
        ),
        *EvaluationApproval.history.filter(evaluation_id=evaluation.pk).select_related(
            "history_user"
        ),
    ]
    return timeline(records, label=_history_label)


def approval_lines(access: EvaluationAccess) -> list[dict[str, Any]]:
    """One line per required capacity of the review shown: who may approve, and who
    did (this round). Empty on a self-assessment. No query."""
    authority = access.authority
    review = access.review
    if authority is None or review is None or access.evaluation is not review:
        return []
    by_id = {a.approver_id: a.approver for a in access.approvals}
    lines = []
    for capacity in authority.required:
        approver_id = access.approved.get(capacity)
        if capacity == permissions.LINE_MANAGER:
            names = [authority.line_manager.full_name] if authority.line_manager else []
        elif authority.hr_fallback:
            names = [_("an HR admin (nobody else qualifies)")]
        else:
            names = [p.full_name for p in authority.approvers]
        lines.append(
            {
                "label": ApprovalCapacity(capacity).label,
                "names": names,
                "done_by": by_id[approver_id].full_name if approver_id else "",
            }
        )
    return lines


def status_help(evaluation: Evaluation) -> str:
    """What the evaluation's status means for the reader, in a sentence."""
    if evaluation.kind == EvaluationKind.SELF:
        if evaluation.status == EvaluationStatus.DRAFT:
            return _(
                "Only you see this self-assessment until you share it with your "
                "reviewer. It is never part of your score."
            )
        return _("Shared with the reviewer. It is never part of the score.")
    if evaluation.reviewer_id is None:
        return _("This evaluation needs a reviewer: HR assigns one.")
    return {
        EvaluationStatus.DRAFT: _(
            "Draft: save as often as you like; submit when every item is rated or N/A."
        ),
        EvaluationStatus.SUBMITTED: _("Submitted: waiting for approval."),
        EvaluationStatus.APPROVED: _("Approved: it counts towards the appraisal."),
        EvaluationStatus.RETURNED: _(
            "Returned to the reviewer: change it and submit it again."
        ),
    }[EvaluationStatus(evaluation.status)]


def reviewer_choices(evaluation: Evaluation) -> QuerySet[Employee]:
    """Who HR may make the reviewer: active people other than the employee."""
    return Employee.objects.filter(is_active=True).exclude(pk=evaluation.employee_id)


# --- Queues --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    to_write: list[Evaluation]
    to_approve: list[Evaluation]
    unassigned: list[Evaluation]  # HR: review evaluations without a reviewer


def _open() -> Q:
    return Q(appraisal__status=AppraisalStatus.OPEN)


def evaluations_to_write(membership: Membership) -> list[Evaluation]:
    """The member's review evaluations and self-assessments still to write (draft
    or returned) in open appraisals, earliest due first. One query."""
    return list(
        evaluation_queryset()
        .filter(
            _open(),
            reviewer__user_id=membership.user_id,
            status__in=permissions.WRITABLE,
        )
        .order_by("due_date", "employee__full_name", "pk")
    )


def evaluations_to_approve(
    membership: Membership, own_employee: OwnEmployee | None = None
) -> list[Evaluation]:
    """Submitted review evaluations the member may approve now, oldest first.

    Four queries whatever their number (five for an HR admin): the candidates, the
    settings, the engagements' approvers and the approvals of the candidates.
    """
    uid = membership.user_id
    candidates = evaluation_queryset().filter(
        _open(), kind=EvaluationKind.REVIEW, status=EvaluationStatus.SUBMITTED
    )
    is_hr = membership.is_hr_admin
    if not is_hr:
        mine = RoleAssignment.objects.filter(
            employee__user_id=uid, role=EngagementRole.APPROVER
        ).values("engagement_id")
        candidates = candidates.filter(
            Q(plan__approver__user_id=uid)
            | Q(plan__engagement_id__in=mine)
            | Q(employee__line_manager__user_id=uid)
            | Q(employee__line_manager__line_manager__user_id=uid)
        )
    rows = list(candidates.order_by("submitted_at", "pk"))
    if not rows:
        return []
    authorities = authorities_for(rows)
    approvals: dict[int, list[EvaluationApproval]] = {}
    for approval in EvaluationApproval.objects.filter(
        evaluation_id__in=[e.pk for e in rows], decision=ApprovalDecision.APPROVED
    ):
        approvals.setdefault(approval.evaluation_id, []).append(approval)
    own_id: int | None = None
    if is_hr and own_employee is not None:
        own = own_employee()
        own_id = own.pk if own else None
    result = []
    for evaluation in rows:
        authority = authorities[evaluation.pk]
        employee_id = employee_id_among(membership, authority.people()) or own_id
        approved = approved_capacities(evaluation, approvals.get(evaluation.pk, []))
        if authority.capacities_for(employee_id, is_hr=is_hr, approved=approved):
            result.append(evaluation)
    return result


def evaluations_without_reviewer() -> list[Evaluation]:
    """Review evaluations in open appraisals that nobody can write yet. One query."""
    return list(
        evaluation_queryset()
        .filter(_open(), kind=EvaluationKind.REVIEW, reviewer__isnull=True)
        .order_by("employee__full_name", "pk")
    )


def evaluation_queue(
    membership: Membership, own_employee: OwnEmployee | None = None
) -> Queue:
    """Both tabs of the queue page (and HR's unassigned list). Up to seven queries
    whatever the number of evaluations."""
    is_hr = membership.is_hr_admin
    return Queue(
        to_write=evaluations_to_write(membership),
        to_approve=evaluations_to_approve(membership, own_employee),
        unassigned=evaluations_without_reviewer() if is_hr else [],
    )


def early_evaluation_cycles() -> QuerySet[ReviewCycle]:
    """The cycles in progress that allow evaluating ended plans early. Builds a
    queryset only."""
    return ReviewCycle.objects.filter(
        status=CycleStatus.IN_PROGRESS, allow_early_evaluation=True
    )


def is_overdue(evaluation: Evaluation, today: date | None = None) -> bool:
    """Due date passed while still to write."""
    today = today or timezone.localdate()
    return (
        evaluation.due_date is not None
        and evaluation.due_date < today
        and evaluation.status in permissions.WRITABLE
    )
