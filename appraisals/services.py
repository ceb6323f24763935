"""Operations of the evaluation workflow: opening appraisals, writing, submitting,
approving and returning evaluations, assigning reviewers, the appraisal settings.

Keyword-only, one use case per function, transactional. Workflow transitions lock the
appraisal row, then the evaluation row (``select_for_update(of=("self",))``), in that
order everywhere, so two approvers acting at once (or a concurrent recompute) queue
up instead of interleaving. Scores are never written here: after every change that
moves them, ``appraisals.recompute.queue_recompute`` recomputes the appraisal once the
transaction commits. E-mails go through ``queue_email`` with a key per event and
recipient, so each is sent exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from appraisals import permissions, selectors
from appraisals.enums import (
    AppraisalStatus,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    AttainmentBand,
    CompetencyRating,
    Evaluation,
    EvaluationApproval,
    GoalRating,
)
from engagements.enums import (
    CycleStatus,
    EngagementRole,
    EngagementStatus,
    PlanKind,
    PlanStatus,
)
from engagements.models import Goal, Plan, PlanCompetency, ReviewCycle
from engagements.selectors import scale_for_cycle
from organizations.enums import Role
from organizations.errors import DomainError, EditConflict
from organizations.models import Employee, Membership, Organization, User
from organizations.notifications import queue_email
from organizations.services import check_version


@dataclass(frozen=True)
class RatingInput:
    """One goal or competency as the writer entered it. ``value`` None and
    ``not_applicable`` False means "not rated yet"."""

    value: Decimal | None = None
    not_applicable: bool = False
    comment: str = ""
    override_reason: str = ""  # goals only


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
            )
        )
        self.errors = errors


def _recompute(appraisal: Appraisal) -> None:
    """Recompute the appraisal's scores after commit (the scores workstream's job)."""
    from appraisals.recompute import queue_recompute

    queue_recompute(appraisal)


def _today() -> date:
    return timezone.localdate()


# --- Opening appraisals ---------------------------------------------------------------------


def open_appraisals(*, cycle: ReviewCycle, actor: Membership | None = None) -> int:
    """Give every plan of ``cycle`` a review and a self-assessment evaluation, and
    every employee with a plan an appraisal (run when the cycle enters review).

    Idempotent: what exists already (e.g. opened early) is left alone. A fixed
    number of queries whatever the number of plans. Returns how many evaluations
    were created.
    """
    return _open(cycle, Plan.objects.filter(cycle=cycle), actor)


def open_early_evaluations(
    *, cycle: ReviewCycle, actor: Membership | None = None
) -> int:
    """Open evaluations now for the plans of an in-progress cycle whose engagement
    has closed or whose end date has passed, when the cycle allows early evaluation.

    Those plans are locked, as at the start of the review, so reviewers rate what was
    agreed. Idempotent; a fixed number of queries. Returns how many evaluations were
    created. Raises DomainError when the cycle does not allow it.
    """
    with transaction.atomic():
        cycle = ReviewCycle.objects.select_for_update(of=("self",)).get(pk=cycle.pk)
        if not cycle.allow_early_evaluation or cycle.status != CycleStatus.IN_PROGRESS:
            raise DomainError(
                _(
                    "Early evaluation is possible only while a cycle is in progress "
                    "and allows it. Turn on “evaluate early” in the cycle's settings "
                    "first."
                )
            )
        ended = Plan.objects.filter(cycle=cycle).filter(
            Q(engagement__status=EngagementStatus.CLOSED) | Q(end_date__lt=_today())
        )
        ended.exclude(status=PlanStatus.LOCKED).update(status=PlanStatus.LOCKED)
        return _open(cycle, ended, actor)


def _open(cycle: ReviewCycle, plans: QuerySet[Plan], actor: Membership | None) -> int:
    """Create the missing appraisals and evaluations of ``plans``: eight queries
    (fewer when nothing is missing), whatever their number."""
    settings = selectors.current_settings()
    review = Evaluation.objects.filter(plan=OuterRef("pk"), kind=EvaluationKind.REVIEW)
    own = Evaluation.objects.filter(plan=OuterRef("pk"), kind=EvaluationKind.SELF)
    todo = list(
        plans.annotate(has_review=Exists(review), has_self=Exists(own))
        .filter(Q(has_review=False) | Q(has_self=False))
        .select_related(
            "cycle", "engagement", "reviewer__user", "employee__line_manager__user"
        )
        .order_by("pk")
    )
    if not todo:
        return 0
    user = actor.user if actor is not None else None
    appraisal_ids = _ensure_appraisals(cycle, {p.employee_id for p in todo}, user)
    reviewers = selectors.engagement_people(
        {p.engagement_id for p in todo if p.engagement_id and p.reviewer_id is None},
        EngagementRole.REVIEWER,
    )
    due = _today() + timedelta(days=settings.evaluation_days)
    created: list[Evaluation] = []
    for plan in todo:
        common = {
            "organization_id": cycle.organization_id,
            "appraisal_id": appraisal_ids[plan.employee_id],
            "plan": plan,
            "employee_id": plan.employee_id,
            "due_date": due,
        }
        if not plan.has_review:  # type: ignore[attr-defined]
            reviewer = permissions.resolve_reviewer(
                plan, reviewers.get(plan.engagement_id or 0, [])
            )
            created.append(
                Evaluation(kind=EvaluationKind.REVIEW, reviewer=reviewer, **common)
            )
        if not plan.has_self:  # type: ignore[attr-defined]
            created.append(
                Evaluation(kind=EvaluationKind.SELF, reviewer=plan.employee, **common)
            )
    created = bulk_create_with_history(
        created, Evaluation, batch_size=500, default_user=user
    )
    organization = Organization.objects.get(pk=cycle.organization_id)
    for evaluation in created:
        if evaluation.kind == EvaluationKind.REVIEW and evaluation.reviewer is not None:
            _mail_assigned(organization, evaluation, evaluation.reviewer)
    return len(created)


def _ensure_appraisals(
    cycle: ReviewCycle, employee_ids: set[int], user: User | None
) -> dict[int, int]:
    """Appraisal id per employee, creating the missing ones. Three queries at most."""
    found = dict(
        Appraisal.objects.filter(cycle=cycle, employee_id__in=employee_ids).values_list(
            "employee_id", "pk"
        )
    )
    missing = [
        Appraisal(
            organization_id=cycle.organization_id, cycle=cycle, employee_id=employee_id
        )
        for employee_id in sorted(employee_ids - set(found))
    ]
    for appraisal in bulk_create_with_history(
        missing, Appraisal, batch_size=500, default_user=user
    ):
        found[appraisal.employee_id] = appraisal.pk
    return found


# --- Writing ----------------------------------------------------------------------------------


def _lock(evaluation: Evaluation) -> Evaluation:
    """Lock the appraisal, then the evaluation, and return the fresh evaluation with
    what the workflow reads."""
    Appraisal.objects.select_for_update(of=("self",)).filter(
        pk=evaluation.appraisal_id
    ).first()
    return (
        selectors.evaluation_queryset()
        .select_for_update(of=("self",))
        .get(pk=evaluation.pk)
    )


def _ensure_writer(actor: Membership, evaluation: Evaluation) -> None:
    if not permissions.is_writer(actor, evaluation):
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


def _bump(evaluation: Evaluation, actor: Membership, *fields: str) -> None:
    evaluation.version += 1
    evaluation._history_user = actor.user  # type: ignore[attr-defined]
    evaluation.save(update_fields=["version", *fields])


def _points(evaluation: Evaluation) -> set[Decimal]:
    scale = scale_for_cycle(evaluation.plan.cycle)
    return set(scale.points()) if scale is not None else set()


def _write(
    actor: Membership,
    evaluation: Evaluation,
    goal_ratings: Mapping[int, RatingInput],
    competency_ratings: Mapping[int, RatingInput],
) -> None:
    """Store the ratings given (others stay as they are). Values must be points of the
    cycle's scale; ids must be goals / competencies of the evaluation's plan.
    A fixed number of queries whatever the number of items."""
    points = _points(evaluation)
    goals = {
        g.pk: g
        for g in Goal.objects.filter(plan_id=evaluation.plan_id, pk__in=goal_ratings)
    }
    items = set(
        PlanCompetency.objects.filter(
            plan_id=evaluation.plan_id, pk__in=competency_ratings
        ).values_list("pk", flat=True)
    )
    for key, ids, prefix in (
        (goal_ratings, set(goals), "goal"),
        (competency_ratings, items, "competency"),
    ):
        for pk, rating in key.items():
            if pk not in ids:
                raise DomainError(
                    _("An item of the form is not part of this plan. Reload the page.")
                )
            if rating.value is not None and (
                rating.not_applicable or rating.value not in points
            ):
                raise DomainError(
                    _("Choose one of the points of the scale, or N/A."),
                    field=f"{prefix}_{pk}_value",
                )
    bands = selectors.attainment_bands()
    review = evaluation.kind == EvaluationKind.REVIEW
    existing = {r.goal_id: r for r in GoalRating.objects.filter(evaluation=evaluation)}
    _store(
        actor,
        GoalRating,
        existing,
        {
            pk: {
                "value": r.value,
                "not_applicable": r.not_applicable,
                "comment": r.comment,
                "override_reason": r.override_reason if review else "",
                "suggested": selectors.suggested_rating(goals[pk].attainment, bands),
            }
            for pk, r in goal_ratings.items()
        },
        lambda pk: GoalRating(goal_id=pk),
        evaluation,
    )
    existing_c = {
        r.plan_competency_id: r
        for r in CompetencyRating.objects.filter(evaluation=evaluation)
    }
    _store(
        actor,
        CompetencyRating,
        existing_c,
        {
            pk: {
                "value": r.value,
                "not_applicable": r.not_applicable,
                "comment": r.comment,
            }
            for pk, r in competency_ratings.items()
        },
        lambda pk: CompetencyRating(plan_competency_id=pk),
        evaluation,
    )


def _store(
    actor: Membership,
    model: type[GoalRating] | type[CompetencyRating],
    existing: Mapping[int, GoalRating | CompetencyRating],
    wanted: Mapping[int, dict[str, object]],
    new: object,
    evaluation: Evaluation,
) -> None:
    """Create the missing rating rows and update the changed ones, with history."""
    created, changed = [], []
    fields: list[str] = []
    for pk, values in wanted.items():
        fields = list(values)
        row = existing.get(pk)
        if row is None:
            row = new(pk)  # type: ignore[operator]
            row.organization_id = evaluation.organization_id
            row.evaluation = evaluation
            for name, value in values.items():
                setattr(row, name, value)
            created.append(row)
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    if created:
        bulk_create_with_history(created, model, default_user=actor.user)
    if changed:
        bulk_update_with_history(changed, model, fields, default_user=actor.user)


def save_evaluation(
    *,
    actor: Membership,
    evaluation: Evaluation,
    version: int,
    goal_ratings: Mapping[int, RatingInput],
    competency_ratings: Mapping[int, RatingInput],
    comments: str,
) -> Evaluation:
    """Save a draft: any time while the appraisal is open and the evaluation is a
    draft (or returned), by its writer only (the reviewer; the employee for a
    self-assessment). Incomplete ratings are fine here.

    Raises EvaluationConflict when ``version`` is stale (nothing is saved) and
    DomainError for anything else refused.
    """
    with transaction.atomic():
        evaluation = _lock(evaluation)
        _ensure_writer(actor, evaluation)
        _ensure_writable(evaluation)
        check_version(evaluation, version, conflict=EvaluationConflict)
        _write(actor, evaluation, goal_ratings, competency_ratings)
        evaluation.comments = comments
        _bump(evaluation, actor, "comments")
        if evaluation.kind == EvaluationKind.REVIEW:
            _recompute(evaluation.appraisal)
    return evaluation


def submission_errors(evaluation: Evaluation) -> dict[str, str]:
    """What stops ``evaluation`` from being submitted, by form field name: unrated
    items, and (reviews) ratings that differ from the suggested one without a
    reason. Four queries."""
    errors: dict[str, str] = {}
    goal_rows = {r.goal_id: r for r in GoalRating.objects.filter(evaluation=evaluation)}
    for goal_id in Goal.objects.filter(plan_id=evaluation.plan_id).values_list(
        "pk", flat=True
    ):
        row = goal_rows.get(goal_id)
        if row is None or not row.is_rated:
            errors[f"goal_{goal_id}_value"] = _("Rate this goal, or mark it N/A.")
        elif (
            evaluation.kind == EvaluationKind.REVIEW
            and row.value is not None
            and row.suggested is not None
            and row.value != row.suggested
            and not row.override_reason.strip()
        ):
            errors[f"goal_{goal_id}_reason"] = _(
                "Your rating differs from the suggested %(suggested)s: say why."
            ) % {"suggested": f"{row.suggested.normalize():f}"}
    competency_rows = {
        r.plan_competency_id: r
        for r in CompetencyRating.objects.filter(evaluation=evaluation)
    }
    for item_id in PlanCompetency.objects.filter(
        plan_id=evaluation.plan_id
    ).values_list("pk", flat=True):
        found = competency_rows.get(item_id)
        if found is None or not found.is_rated:
            errors[f"competency_{item_id}_value"] = _(
                "Rate this competency, or mark it N/A."
            )
    return errors


def submit_evaluation(
    *,
    actor: Membership,
    evaluation: Evaluation,
    version: int,
    goal_ratings: Mapping[int, RatingInput] | None = None,
    competency_ratings: Mapping[int, RatingInput] | None = None,
    comments: str | None = None,
) -> Evaluation:
    """Save what is given, then submit: a review goes to its approvers (e-mailed), a
    self-assessment is shared with the reviewer. Every goal and competency must be
    rated or N/A; in a review, a rating that differs from the suggested one needs a
    reason. On any refusal nothing is saved (EvaluationIncomplete lists each item).
    """
    with transaction.atomic():
        evaluation = _lock(evaluation)
        _ensure_writer(actor, evaluation)
        _ensure_writable(evaluation)
        check_version(evaluation, version, conflict=EvaluationConflict)
        _write(actor, evaluation, goal_ratings or {}, competency_ratings or {})
        if comments is not None:
            evaluation.comments = comments
        errors = submission_errors(evaluation)
        if errors:
            raise EvaluationIncomplete(errors)
        evaluation.status = EvaluationStatus.SUBMITTED
        evaluation.submission += 1
        evaluation.submitted_at = timezone.now()
        _bump(evaluation, actor, "comments", "status", "submission", "submitted_at")
        if evaluation.kind == EvaluationKind.REVIEW:
            _mail_submitted(evaluation)
            _recompute(evaluation.appraisal)
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
    return selectors.approved_capacities(
        evaluation,
        EvaluationApproval.objects.filter(
            evaluation=evaluation, submission=evaluation.submission
        ),
    )


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
        authority = selectors.authorities_for([evaluation])[evaluation.pk]
        me = _actor_employee(actor)
        approved = _approved_now(evaluation)
        is_hr = actor.role == Role.HR_ADMIN
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
        rows = [
            EvaluationApproval(
                organization_id=evaluation.organization_id,
                evaluation=evaluation,
                submission=evaluation.submission,
                approver=me,
                capacity=capacity,
                decision=ApprovalDecision.APPROVED,
                comment=comment,
            )
            for capacity in capacities
        ]
        bulk_create_with_history(rows, EvaluationApproval, default_user=actor.user)
        approved.update({capacity: me.pk for capacity in capacities})
        fields = []
        if authority.complete(approved):
            evaluation.status = EvaluationStatus.APPROVED
            evaluation.approved_at = timezone.now()
            fields = ["status", "approved_at"]
        _bump(evaluation, actor, *fields)
        _recompute(evaluation.appraisal)
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
        authority = selectors.authorities_for([evaluation])[evaluation.pk]
        me = _actor_employee(actor)
        my_id = me.pk if me is not None else None
        if me is None or not authority.involves(
            my_id, is_hr=actor.role == Role.HR_ADMIN
        ):
            raise DomainError(
                _("Only an approver of this evaluation can return it to the reviewer.")
            )
        manager = authority.line_manager
        capacity = (
            permissions.LINE_MANAGER
            if manager is not None and manager.pk == me.pk and not authority.combined
            else permissions.APPROVER
        )
        bulk_create_with_history(
            [
                EvaluationApproval(
                    organization_id=evaluation.organization_id,
                    evaluation=evaluation,
                    submission=evaluation.submission,
                    approver=me,
                    capacity=capacity,
                    decision=ApprovalDecision.RETURNED,
                    comment=comment,
                )
            ],
            EvaluationApproval,
            default_user=actor.user,
        )
        evaluation.status = EvaluationStatus.RETURNED
        evaluation.return_comment = comment
        _bump(evaluation, actor, "status", "return_comment")
        _mail_returned(evaluation, comment)
        _recompute(evaluation.appraisal)
    return evaluation


def assign_reviewer(
    *, actor: Membership, evaluation: Evaluation, reviewer: Employee
) -> Evaluation:
    """HR names (or replaces) the reviewer of a review evaluation still to write.

    Never the employee; the new reviewer is e-mailed. Raises DomainError otherwise.
    """
    if actor.role != Role.HR_ADMIN:
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
        _mail_assigned(organization, evaluation, reviewer)
        _recompute(evaluation.appraisal)
    return evaluation


# --- Settings ---------------------------------------------------------------------------------


def update_settings(
    *,
    actor: Membership,
    dual_approval: bool,
    evaluation_days: int,
    bands: Sequence[tuple[Decimal, Decimal]],
) -> AppraisalSettings:
    """Change the organisation's appraisal rules and attainment bands (HR admins).

    Band starts must be unique and ascending, ratings points of the organisation's
    default scale (when it has one). Bands are replaced as a whole.
    """
    if actor.role != Role.HR_ADMIN:
        raise DomainError(_("Only HR admins change the appraisal settings."))
    starts = [start for start, _rating in bands]
    if starts != sorted(set(starts)):
        raise DomainError(
            _("Each band must start above the one before it. Order them by start."),
            field="bands",
        )
    with transaction.atomic():
        settings, _created = AppraisalSettings.objects.get_or_create(
            organization=actor.organization
        )
        settings.dual_approval = dual_approval
        settings.evaluation_days = evaluation_days
        settings._history_user = actor.user  # type: ignore[attr-defined]
        settings.save()
        current = list(
            AttainmentBand.objects.order_by("min_attainment").values_list(
                "min_attainment", "rating"
            )
        )
        if current != list(bands):
            AttainmentBand.objects.all().delete()
            bulk_create_with_history(
                [
                    AttainmentBand(
                        organization=actor.organization,
                        min_attainment=start,
                        rating=rating,
                    )
                    for start, rating in bands
                ],
                AttainmentBand,
                default_user=actor.user,
            )
    return settings


# --- E-mails ----------------------------------------------------------------------------------


def _plan_label(evaluation: Evaluation) -> str:
    plan = evaluation.plan
    if plan.kind == PlanKind.GENERAL:
        return str(_("General plan"))
    return str(plan.engagement.name) if plan.engagement else ""


def _context(evaluation: Evaluation, organization_slug: str) -> dict[str, object]:
    return {
        "employee": evaluation.employee.full_name,
        "plan": _plan_label(evaluation),
        "cycle": evaluation.plan.cycle.name,
        "due": date_format(evaluation.due_date, "DATE_FORMAT")
        if evaluation.due_date
        else "",
        "path": reverse(
            "appraisals:evaluation_detail", args=[organization_slug, evaluation.pk]
        ),
    }


def _mail_assigned(
    organization: Organization, evaluation: Evaluation, reviewer: Employee
) -> None:
    if reviewer.user is None:
        return
    queue_email(
        organization=organization,
        key=f"evaluation.assigned:{evaluation.pk}:{reviewer.pk}:{evaluation.submission}",
        template="appraisals/email/evaluation_assigned.txt",
        context=_context(evaluation, organization.slug),
        user=reviewer.user,
        essential=True,
    )


def _hr_users() -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(
            role=Role.HR_ADMIN, is_active=True
        ).select_related("user")
    ]


def _mail_submitted(evaluation: Evaluation) -> None:
    """E-mail everyone who must act on this submission (each approver candidate, the
    line manager under dual approval, HR when HR approves for lack of anyone else)."""
    authority = selectors.authorities_for([evaluation])[evaluation.pk]
    excluded = {
        evaluation.employee.user_id,
        getattr(evaluation.reviewer, "user_id", None),
    }
    users: dict[int, User] = {}
    for person in authority.people():
        if person.user is not None:
            users[person.user.pk] = person.user
    if authority.hr_fallback:
        users.update({u.pk: u for u in _hr_users()})
    organization = Organization.objects.get(pk=evaluation.organization_id)
    context = _context(evaluation, organization.slug)
    context["reviewer"] = evaluation.reviewer.full_name if evaluation.reviewer else ""
    for user in users.values():
        if user.pk in excluded:
            continue
        queue_email(
            organization=organization,
            key=f"evaluation.submitted:{evaluation.pk}:{evaluation.submission}:{user.pk}",
            template="appraisals/email/evaluation_submitted.txt",
            context=context,
            user=user,
            essential=True,
        )


def _mail_returned(evaluation: Evaluation, comment: str) -> None:
    reviewer = evaluation.reviewer
    if reviewer is None or reviewer.user is None:
        return
    organization = Organization.objects.get(pk=evaluation.organization_id)
    context = _context(evaluation, organization.slug)
    context["comment"] = comment
    queue_email(
        organization=organization,
        key=f"evaluation.returned:{evaluation.pk}:{evaluation.submission}:{reviewer.user.pk}",
        template="appraisals/email/evaluation_returned.txt",
        context=context,
        user=reviewer.user,
        essential=True,
    )
