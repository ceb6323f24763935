"""Read queries of evaluations: who approves them, the evaluation page's sheet,
history and status lines, and overdue ones. The queues of work are in
``selectors.queues``.

The access gate and visibility of one evaluation live in ``selectors.access``; the
predicates behind both in ``appraisals.permissions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.forms import BoundField
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisals import permissions
from appraisals.enums import (
    ApprovalCapacity,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import (
    CompetencyRating,
    Evaluation,
    EvaluationApproval,
    GoalRating,
)
from appraisals.selectors.settings import (
    attainment_bands,
    suggested_rating,
)
from engagements.enums import CycleStatus, PlanKind
from engagements.models import Goal, ReviewCycle
from engagements.selectors.competencies import (
    PlanCompetencyRow,
    ScalePoint,
    plan_competencies,
    plan_competency_rows,
    scale_for_cycle,
    scale_points,
)
from organizations.history import timeline
from organizations.models import Employee

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

    @property
    def suggested_choice(self) -> str:
        """The suggestion as the rating select's value ("3", "3.5"); "" for none."""
        if self.suggested is None:
            return ""
        return format(self.suggested.normalize(), "f")


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


def takes_potential(evaluation: Evaluation) -> bool:
    """Whether ``evaluation`` records the person's potential: only the review of the
    general plan (the line manager's). Potential places a person on the
    calibration nine-box grid and never counts toward a score. No query (needs the
    plan loaded)."""
    return (
        evaluation.kind == EvaluationKind.REVIEW
        and evaluation.plan.kind == PlanKind.GENERAL
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


# --- Cycles and due dates ------------------------------------------------------------------


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
