"""Read queries of the evaluation workflow and its access gate.

``get_evaluation_for`` is *the* gate for one evaluation: 404 when it does not exist,
belongs to another organisation or is not visible to the caller; 403 when it is
visible but the requested action is not the caller's. The queues and the plan's
evaluation list start from the same predicates (``appraisals.permissions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet, Subquery
from django.forms import BoundField
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisals import permissions
from appraisals.enums import (
    AppraisalStatus,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import (
    DEFAULT_BANDS,
    AppraisalSettings,
    AttainmentBand,
    CompetencyRating,
    Evaluation,
    EvaluationApproval,
    GoalRating,
)
from appraisals.permissions import Authority
from engagements.enums import EngagementRole, PlanKind
from engagements.models import Goal, Plan, RoleAssignment
from engagements.selectors import (
    PlanCompetencyRow,
    ScalePoint,
    plan_competencies,
    plan_competency_rows,
    scale_for_cycle,
    scale_points,
)
from organizations.enums import Role
from organizations.history import timeline
from organizations.models import Employee, Membership

Band = tuple[Decimal, Decimal]


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


# --- Settings and suggested ratings -------------------------------------------------------


def current_settings() -> AppraisalSettings:
    """The organisation's appraisal settings, or unsaved defaults. One query."""
    return AppraisalSettings.objects.first() or AppraisalSettings()


def attainment_bands() -> list[Band]:
    """(from attainment %, suggested rating) pairs, lowest first; the defaults when
    the organisation has none. One query."""
    rows = list(
        AttainmentBand.objects.order_by("min_attainment").values_list(
            "min_attainment", "rating"
        )
    )
    return rows or list(DEFAULT_BANDS)


def suggested_rating(
    attainment: Decimal | None, bands: Sequence[Band]
) -> Decimal | None:
    """The rating of the band with the highest start not above ``attainment``.

    None without an attainment or below the lowest band. No query.
    """
    if attainment is None:
        return None
    found = None
    for start, rating in sorted(bands):
        if attainment >= start:
            found = rating
    return found


# --- Who approves -------------------------------------------------------------------------


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


def _employee_id_among(
    membership: Membership, people: Iterable[Employee | None]
) -> int | None:
    for person in people:
        if person is not None and person.user_id == membership.user_id:
            return person.pk
    return None


# --- The gate ------------------------------------------------------------------------------


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


@dataclass
class EvaluationAccess:
    """The caller's relation to one evaluation and the workflow state around it."""

    membership: Membership
    evaluation: Evaluation
    review: Evaluation | None  # the plan's review evaluation
    assessment: Evaluation | None  # the plan's self-assessment
    authority: Authority | None  # of the review
    approvals: list[EvaluationApproval]  # of the review, every submission
    approved: dict[str, int]  # capacities approved in the current submission
    employee_id: int | None  # the caller's directory entry, when it matters
    may_view_review: bool
    may_view_assessment: bool
    capacities: list[str] = field(default_factory=list)

    @property
    def is_hr(self) -> bool:
        return self.membership.role == Role.HR_ADMIN

    @property
    def is_writer(self) -> bool:
        return permissions.is_writer(self.membership, self.evaluation)

    @property
    def editable(self) -> bool:
        return self.is_writer and permissions.is_writable(self.evaluation)

    @property
    def is_approver(self) -> bool:
        return self.evaluation.kind == EvaluationKind.REVIEW and (
            self.authority is not None
            and self.authority.involves(self.employee_id, is_hr=self.is_hr)
        )

    @property
    def can_approve(self) -> bool:
        return self.is_approver and bool(self.capacities) and self._pending

    @property
    def can_return(self) -> bool:
        return self.is_approver and self._pending

    @property
    def can_assign(self) -> bool:
        ev = self.evaluation
        return (
            self.is_hr
            and ev.kind == EvaluationKind.REVIEW
            and ev.appraisal.status == AppraisalStatus.OPEN
            and ev.status in permissions.WRITABLE
        )

    @property
    def _pending(self) -> bool:
        ev = self.evaluation
        return (
            ev.status == EvaluationStatus.SUBMITTED
            and ev.appraisal.status == AppraisalStatus.OPEN
        )


PERMS = ("view", "write", "approve", "assign")


def get_evaluation_for(
    request: HttpRequest, pk: int, perm: str = "view"
) -> tuple[Evaluation, EvaluationAccess]:
    """The evaluation ``pk`` if the caller may see it (else 404) and their access.

    ``perm``: "view"; "write" (its reviewer, or the employee for a self-assessment);
    "approve" (approve or return: its approvers in any capacity); "assign" (HR).
    Raises PermissionDenied when visible but the action is not the caller's. Three to
    five queries: the plan's evaluations, the settings, the engagement's approvers,
    the approvals (and the caller's directory entry for HR acting as approver).
    """
    if perm not in PERMS:
        raise ValueError(perm)
    membership = _membership(request)
    access = load_access(membership, pk, lambda: request.employee)  # type: ignore[attr-defined]
    if access is None:
        raise Http404("No such evaluation.")
    allowed = {
        "view": True,
        "write": access.is_writer,
        "approve": access.is_approver,
        "assign": access.is_hr and access.evaluation.kind == EvaluationKind.REVIEW,
    }[perm]
    if not allowed:
        raise PermissionDenied
    return access.evaluation, access


def load_access(
    membership: Membership, pk: int, own_employee: Any = None
) -> EvaluationAccess | None:
    """The caller's access to evaluation ``pk``, or None when they may not see it.

    ``own_employee`` (a callable) returns the caller's directory entry; it is asked
    only for an HR admin when HR approves for lack of anyone else.
    """
    siblings_qs = evaluation_queryset().filter(plan__evaluations__pk=pk)
    if membership.role == Role.HR_ADMIN:
        # HR may approve for lack of anyone else: their directory entry rides along
        # with the evaluations instead of costing a query of its own.
        siblings_qs = siblings_qs.annotate(
            caller_employee_id=Subquery(
                Employee.objects.filter(user_id=membership.user_id).values("pk")[:1]
            )
        )
    siblings = list(siblings_qs)
    evaluation = next((e for e in siblings if e.pk == pk), None)
    if evaluation is None:
        return None
    if membership.role == Role.HR_ADMIN:
        caller_id = evaluation.caller_employee_id  # type: ignore[attr-defined]

        def own_employee() -> Any:
            return Employee(pk=caller_id) if caller_id is not None else None

    review = next((e for e in siblings if e.kind == EvaluationKind.REVIEW), None)
    assessment = next((e for e in siblings if e.kind == EvaluationKind.SELF), None)
    authority = authorities_for([review])[review.pk] if review is not None else None
    approvals: list[EvaluationApproval] = []
    if review is not None and review.submission:
        approvals = list(
            EvaluationApproval.objects.filter(evaluation=review).select_related(
                "approver"
            )
        )
    employee_id = _caller_employee_id(membership, review, authority, own_employee)
    if review is None or authority is None:
        may_view_review = membership.role == Role.HR_ADMIN
    else:
        may_view_review = permissions.can_view_review(
            membership, review, authority, employee_id
        )
    may_view_assessment = (
        assessment is not None
        and permissions.can_view_self_assessment(
            membership, assessment, may_view_review
        )
    )
    visible = may_view_review if evaluation is review else may_view_assessment
    if not visible:
        return None
    approved = approved_capacities(review, approvals) if review is not None else {}
    access = EvaluationAccess(
        membership=membership,
        evaluation=evaluation,
        review=review,
        assessment=assessment,
        authority=authority,
        approvals=approvals,
        approved=approved,
        employee_id=employee_id,
        may_view_review=may_view_review,
        may_view_assessment=may_view_assessment,
    )
    if authority is not None and evaluation is review:
        access.capacities = authority.capacities_for(
            employee_id, is_hr=access.is_hr, approved=approved
        )
    return access


def _caller_employee_id(
    membership: Membership,
    review: Evaluation | None,
    authority: Authority | None,
    own_employee: Any,
) -> int | None:
    """The caller's directory entry id when it decides anything: found among the
    people of the authority without a query; for HR approving as a fallback, asked
    of ``own_employee``."""
    if review is None or authority is None:
        return None
    found = _employee_id_among(
        membership, [*authority.people(), review.reviewer, review.employee]
    )
    if found is None and membership.role == Role.HR_ADMIN and authority.hr_fallback:
        employee = own_employee() if own_employee is not None else None
        # ``request.employee`` is a lazy object: test its truth, not identity.
        found = employee.pk if employee else None
    return found


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
        *Evaluation.history.filter(id=evaluation.pk).select_related("history_user"),  # type: ignore[attr-defined]
        *GoalRating.history.filter(evaluation_id=evaluation.pk).select_related(  # type: ignore[attr-defined]
            "history_user"
        ),
        *CompetencyRating.history.filter(  # type: ignore[attr-defined]
            evaluation_id=evaluation.pk
        ).select_related("history_user"),
        *EvaluationApproval.history.filter(  # type: ignore[attr-defined]
            evaluation_id=evaluation.pk
        ).select_related("history_user"),
    ]
    return timeline(records, label=_history_label)


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
    membership: Membership, own_employee: Any = None
) -> list[Evaluation]:
    """Submitted review evaluations the member may approve now, oldest first.

    Four queries whatever their number (five for an HR admin): the candidates, the
    settings, the engagements' approvers and the approvals of the candidates.
    """
    uid = membership.user_id
    candidates = evaluation_queryset().filter(
        _open(), kind=EvaluationKind.REVIEW, status=EvaluationStatus.SUBMITTED
    )
    is_hr = membership.role == Role.HR_ADMIN
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
        employee_id = _employee_id_among(membership, authority.people()) or own_id
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


def evaluation_queue(membership: Membership, own_employee: Any = None) -> Queue:
    """Both tabs of the queue page (and HR's unassigned list). Up to seven queries
    whatever the number of evaluations."""
    is_hr = membership.role == Role.HR_ADMIN
    return Queue(
        to_write=evaluations_to_write(membership),
        to_approve=evaluations_to_approve(membership, own_employee),
        unassigned=evaluations_without_reviewer() if is_hr else [],
    )


# --- The plan page's list ------------------------------------------------------------------


def plan_evaluations(membership: Membership, plan: Plan) -> list[Evaluation]:
    """The evaluations of ``plan`` the member may see (review first). Two or three
    queries; the caller has already authorised the plan."""
    rows = list(evaluation_queryset().filter(plan=plan).order_by("kind", "pk"))
    review = next((e for e in rows if e.kind == EvaluationKind.REVIEW), None)
    may_view_review = membership.role == Role.HR_ADMIN
    if review is not None:
        authority = authorities_for([review])[review.pk]
        employee_id = _employee_id_among(membership, authority.people())
        may_view_review = permissions.can_view_review(
            membership, review, authority, employee_id
        )
    visible = []
    for evaluation in rows:
        if evaluation.kind == EvaluationKind.REVIEW:
            shown = may_view_review
        else:
            shown = permissions.can_view_self_assessment(
                membership, evaluation, may_view_review
            )
        if shown:
            visible.append(evaluation)
    return visible


def is_overdue(evaluation: Evaluation, today: date | None = None) -> bool:
    """Due date passed while still to write."""
    today = today or timezone.localdate()
    return (
        evaluation.due_date is not None
        and evaluation.due_date < today
        and evaluation.status in permissions.WRITABLE
    )
