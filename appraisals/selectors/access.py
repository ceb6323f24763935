"""Who sees which evaluation and appraisal: the visibility definitions and the gates.

``get_evaluation_for`` is *the* gate for one evaluation: 404 when it does not exist,
belongs to another organisation or is not visible to the caller; 403 when it is
visible but the requested action is not the caller's. The queues and the plan's
evaluation list start from the same predicates (``appraisals.permissions``).

``appraisals_visible_to`` is *the* definition of who sees an appraisal: HR admins all,
the employee their own, a line manager their direct reports'. Engagement roles give no
access to an appraisal (a reviewer sees the evaluation they write, through the
evaluation pages, never the whole appraisal). ``get_appraisal_for`` is its gate.
HR-only lookups refuse other roles before any query (``require_hr_admin``), so the 403
is the same for this organisation's ids, another's and unknown ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet, Subquery
from django.http import Http404

from appraisals import permissions
from appraisals.enums import (
    FINAL_STATUSES,
    AppraisalStatus,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import Appraisal, Evaluation, EvaluationApproval, RecomputeRun
from appraisals.permissions import Action, Authority, can
from appraisals.selectors.approvals import (
    approved_capacities,
    authorities_for,
    employee_id_among,
)
from appraisals.selectors.evaluations import OwnEmployee, evaluation_queryset
from engagements.models import Plan
from organizations.http import TenantRequest
from organizations.models import Employee, Membership
from organizations.permissions import Access, get_for_hr_admin, require_hr_admin

# --- One evaluation ----------------------------------------------------------------


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
        return self.membership.is_hr_admin

    @property
    def is_writer(self) -> bool:
        return can(Access(self.membership), Action.WRITE, self.evaluation)

    @property
    def editable(self) -> bool:
        return can(Access(self.membership), Action.EDIT, self.evaluation)

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
    request: TenantRequest, pk: int, perm: str = "view"
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
    membership = request.membership
    access = load_access(membership, pk, lambda: request.employee)
    if access is None:
        raise Http404("No such evaluation.")
    allowed = {
        "view": True,
        "write": access.is_writer,
        "approve": access.is_approver,
        "assign": can(Access(membership), Action.ASSIGN_REVIEWER, access.evaluation),
    }[perm]
    if not allowed:
        raise PermissionDenied
    return access.evaluation, access


def load_access(
    membership: Membership, pk: int, own_employee: OwnEmployee | None = None
) -> EvaluationAccess | None:
    """The caller's access to evaluation ``pk``, or None when they may not see it.

    ``own_employee`` (a callable) returns the caller's directory entry; it is asked
    only for an HR admin when HR approves for lack of anyone else.
    """
    # The plan's id by a subquery rather than a join back to the evaluations, and no
    # order (the model's would join the cycle and the employee once more): with a
    # dozen tables already joined, planning the statement cost more than running it.
    siblings_qs = (
        evaluation_queryset()
        .order_by()
        .filter(plan_id=Subquery(Evaluation.objects.filter(pk=pk).values("plan_id")))
    )
    if membership.is_hr_admin:
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
    if membership.is_hr_admin:
        caller_id = evaluation.caller_employee_id  # type: ignore[attr-defined]  # annotated on the queryset above

        def own_employee() -> Employee | None:
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
        may_view_review = membership.is_hr_admin
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
    own_employee: OwnEmployee | None,
) -> int | None:
    """The caller's directory entry id when it decides anything: found among the
    people of the authority without a query; for HR approving as a fallback, asked
    of ``own_employee``."""
    if review is None or authority is None:
        return None
    found = employee_id_among(
        membership, [*authority.people(), review.reviewer, review.employee]
    )
    if found is None and membership.is_hr_admin and authority.hr_fallback:
        employee = own_employee() if own_employee is not None else None
        found = employee.pk if employee is not None else None
    return found


def plan_evaluations(membership: Membership, plan: Plan) -> list[Evaluation]:
    """The evaluations of ``plan`` the member may see (review first). Two or three
    queries; the caller has already authorised the plan."""
    rows = list(evaluation_queryset().filter(plan=plan).order_by("kind", "pk"))
    review = next((e for e in rows if e.kind == EvaluationKind.REVIEW), None)
    may_view_review = membership.is_hr_admin
    if review is not None:
        authority = authorities_for([review])[review.pk]
        employee_id = employee_id_among(membership, authority.people())
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


# A person's page lists the evaluations of at most this many (newest first).
PERSON_EVALUATIONS_SHOWN = 60


def person_evaluations(membership: Membership, employee: Employee) -> list[Evaluation]:
    """The evaluations of ``employee``'s plans the member may see, newest cycle
    first (each plan's review before its self-assessment), among the latest
    ``PERSON_EVALUATIONS_SHOWN``. The rule of ``plan_evaluations`` for many plans at
    once: a review to whoever ``can_view_review`` admits, a self-assessment as
    ``can_view_self_assessment`` says. Three queries whatever their number (the
    rows and the reviews' authorities)."""
    rows = list(
        evaluation_queryset()
        .filter(employee=employee)
        .order_by(
            "-plan__cycle__start_date",
            "plan__kind",
            "plan__engagement__name",
            "plan_id",
            "kind",
            "pk",
        )[:PERSON_EVALUATIONS_SHOWN]
    )
    authorities = authorities_for(rows)
    may_view_review: dict[int, bool] = {}
    for evaluation in rows:
        if evaluation.kind == EvaluationKind.REVIEW:
            authority = authorities[evaluation.pk]
            may_view_review[evaluation.plan_id] = permissions.can_view_review(
                membership,
                evaluation,
                authority,
                employee_id_among(membership, authority.people()),
            )
    visible = []
    for evaluation in rows:
        if evaluation.kind == EvaluationKind.REVIEW:
            shown = may_view_review[evaluation.plan_id]
        else:
            shown = permissions.can_view_self_assessment(
                membership,
                evaluation,
                may_view_review.get(evaluation.plan_id, membership.is_hr_admin),
            )
        if shown:
            visible.append(evaluation)
    return visible


# --- One appraisal -----------------------------------------------------------------


def appraisals_visible_to(membership: Membership) -> QuerySet[Appraisal]:
    """HR admins see every appraisal; others their own and their direct reports'.
    Builds a queryset only."""
    qs = Appraisal.objects.all()
    if membership.is_hr_admin:
        return qs
    uid = membership.user_id
    return qs.filter(Q(employee__user_id=uid) | Q(employee__line_manager__user_id=uid))


@dataclass(frozen=True)
class AppraisalAccess:
    """What the caller may do with one appraisal (templates get these booleans)."""

    is_hr: bool
    is_subject: bool
    is_line_manager: bool

    @property
    def sees_provisional(self) -> bool:
        """Provisional figures (submitted evaluations included): HR and the line
        manager, never the employee (an HR admin reading their own appraisal reads
        it as its employee)."""
        return (self.is_hr and not self.is_subject) or self.is_line_manager


def access_to(membership: Membership, appraisal: Appraisal) -> AppraisalAccess:
    """The caller's relationship to ``appraisal``. No query when its employee (with
    their line manager) is loaded."""
    employee = appraisal.employee
    manager = employee.line_manager
    return AppraisalAccess(
        is_hr=membership.is_hr_admin,
        is_subject=employee.user_id == membership.user_id,
        is_line_manager=manager is not None and manager.user_id == membership.user_id,
    )


def sees_scores(access: AppraisalAccess, appraisal: Appraisal) -> bool:
    """The employee sees their scores once the appraisal is finalised; HR and the
    line manager always."""
    return access.sees_provisional or appraisal.status in FINAL_STATUSES


def may_open_evaluation(
    access: AppraisalAccess, evaluation: Evaluation, show_scores: bool
) -> bool:
    """Whether to link an evaluation from the appraisal page (the evaluation page has
    its own gate; this only avoids links that would be refused): the employee opens
    their self-assessments always and reviews once finalised; others open reviews,
    and self-assessments once shared (submitted)."""
    if evaluation.kind == EvaluationKind.SELF:
        return access.is_subject or evaluation.status == EvaluationStatus.SUBMITTED
    return not access.is_subject or show_scores


def get_appraisal_for(
    request: TenantRequest, pk: int, perm: str = "view"
) -> tuple[Appraisal, AppraisalAccess]:
    """The appraisal if visible to the caller (else 404) with their access.

    ``perm``: "view"; "acknowledge" (only its employee, else 403); "manage"
    (finalise or reopen: HR admins, checked before the lookup, so 403 for any id).
    HR admins may not manage their own appraisal (403). One query.
    """
    return appraisal_for_member(request.membership, pk, perm)


def appraisal_for_member(
    membership: Membership, pk: int, perm: str = "view"
) -> tuple[Appraisal, AppraisalAccess]:
    """``get_appraisal_for`` for ``membership`` outside a request (a report job
    that renders the appraisal for whoever asked for it). One query."""
    if perm == "manage":
        require_hr_admin(membership)
    appraisal = (
        appraisals_visible_to(membership)
        .select_related(
            "cycle",
            "employee__line_manager",
            "employee__job_title",
            "employee__business_unit",
            "finalized_by",
        )
        .filter(pk=pk)
        .first()
    )
    if appraisal is None:
        raise Http404("No such appraisal.")
    access = access_to(membership, appraisal)
    allowed = {
        "view": True,
        "acknowledge": can(Access(membership), Action.ACKNOWLEDGE, appraisal),
        "manage": can(Access(membership), Action.FINALISE, appraisal),
    }[perm]
    if not allowed:
        raise PermissionDenied
    return appraisal, access


def get_recompute_for(request: TenantRequest, pk: int) -> RecomputeRun:
    """A recomputation run for an HR admin (403 for others before the lookup, 404
    when not in this organisation). One query."""
    return get_for_hr_admin(
        request.membership,
        RecomputeRun.objects.select_related("cycle"),
        pk,
        missing="No such recomputation.",
    )


# --- A manager's team ----------------------------------------------------------------


def get_team_manager_for(request: TenantRequest, raw: str | None) -> Employee | None:
    """Whose team the "My team" page shows: for an HR admin the person ``raw`` names
    (any employee of the organisation; 404 for another organisation's id, an unknown
    or malformed one), or their own directory entry without ``raw``; for any other
    member always their own entry, ``raw`` ignored. None when the member has no
    directory entry. At most one query (the caller's cached entry otherwise)."""
    if raw and request.membership.is_hr_admin:
        if not raw.isdigit():
            raise Http404("No such manager.")
        found = Employee.objects.select_related("job_title").filter(pk=int(raw)).first()
        if found is None:
            raise Http404("No such manager.")
        return found
    return request.employee
