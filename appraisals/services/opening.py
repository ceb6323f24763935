"""Opening a cycle's appraisals and evaluations: every plan gets a review and a
self-assessment evaluation, every employee with a plan an appraisal. Run when the cycle
enters review (``appraisals.receivers.open_on_review``), or early, for plans that have
ended, when the cycle allows it. The reviewers named are e-mailed.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from appraisals import notifications, permissions
from appraisals.enums import EvaluationKind
from appraisals.models import Appraisal, Evaluation
from appraisals.selectors.approvals import engagement_people
from appraisals.selectors.settings import current_settings
from engagements.enums import CycleStatus, EngagementRole, EngagementStatus, PlanStatus
from engagements.models import Plan, ReviewCycle
from organizations.errors import DomainError
from organizations.models import Membership, Organization, User


def _today() -> date:
    return timezone.localdate()


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
    settings = current_settings()
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
    reviewers = engagement_people(
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
        if not plan.has_review:
            reviewer = permissions.resolve_reviewer(
                plan, reviewers.get(plan.engagement_id or 0, [])
            )
            created.append(
                Evaluation(kind=EvaluationKind.REVIEW, reviewer=reviewer, **common)
            )
        if not plan.has_self:
            created.append(
                Evaluation(kind=EvaluationKind.SELF, reviewer=plan.employee, **common)
            )
    created = bulk_create_with_history(
        created, Evaluation, batch_size=500, default_user=user
    )
    organization = Organization.objects.get(pk=cycle.organization_id)
    for evaluation in created:
        if evaluation.kind == EvaluationKind.REVIEW and evaluation.reviewer is not None:
            notifications.mail_assigned(organization, evaluation, evaluation.reviewer)
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
