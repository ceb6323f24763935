"""Reads of feedback: the feeds on the engagement, plan and person pages, one piece's
history, and whom a member may write about (the form's choices).

Every feed starts from ``feedback.selectors.access.feedback_visible_to``; the
appraisal form reads ``feedback_about``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from engagements.enums import PlanKind
from engagements.models import Engagement, Goal, Plan
from engagements.permissions import load_access
from feedback.models import Feedback
from feedback.permissions import (
    ROLE_PERMS,
    Action,
    Writer,
    can,
    refusal,
    writes_about_everyone,
)
from feedback.selectors.access import feedback_visible_to
from organizations.history import timeline
from organizations.models import Employee, Membership
from organizations.permissions import Access

# Related rows every feed row shows.
ROW_RELATED = ("author", "subject", "engagement", "goal")


def directory_entry(membership: Membership) -> Employee | None:
    """The member's entry in the people directory (None when they have none): the
    author of their feedback, the requester of their requests. One query."""
    return Employee.objects.filter(user_id=membership.user_id).first()


# --- Feeds ---------------------------------------------------------------------------


def feed(qs: QuerySet[Feedback]) -> QuerySet[Feedback]:
    """``qs`` newest first with what a feed row shows: one query whatever its size."""
    return qs.select_related(*ROW_RELATED).order_by("-created_at", "-pk")


def feedback_about(
    membership: Membership, subject_id: int, engagement_id: int | None = None
) -> QuerySet[Feedback]:
    """The feedback about ``subject_id`` the member may read, newest first, with
    author, engagement and goal loaded; only that engagement's when
    ``engagement_id`` is given (else every engagement's and the general feedback).
    Builds a queryset; one query when evaluated."""
    qs = feedback_visible_to(membership).filter(subject_id=subject_id)
    if engagement_id is not None:
        qs = qs.filter(engagement_id=engagement_id)
    return feed(qs)


def feedback_by(membership: Membership, author_id: int) -> QuerySet[Feedback]:
    """The feedback written by ``author_id`` that the member may read
    (``feedback_visible_to``), newest first, loaded as ``feedback_about``. Builds a
    queryset; one query when evaluated."""
    return feed(feedback_visible_to(membership).filter(author_id=author_id))


def engagement_feedback(
    membership: Membership, engagement: Engagement
) -> QuerySet[Feedback]:
    """The feedback on ``engagement`` the member may read, newest first."""
    return feed(feedback_visible_to(membership).filter(engagement=engagement))


def plan_feedback(membership: Membership, plan: Plan) -> QuerySet[Feedback]:
    """Feedback about the plan's employee on its engagement, or the general feedback
    about them for a general plan, that the member may read, newest first."""
    qs = feedback_visible_to(membership).filter(subject_id=plan.employee_id)
    if plan.engagement_id is None:
        qs = qs.filter(engagement__isnull=True)
    else:
        qs = qs.filter(engagement_id=plan.engagement_id)
    return feed(qs)


def feedback_history(feedback: Feedback) -> list[dict[str, object]]:
    """Every version of ``feedback``, newest first. One query, plus one per kind of
    reference whose value changed (to name it)."""
    records = Feedback.history.filter(id=feedback.pk).select_related("history_user")
    return timeline(records)


# --- Who may write about whom --------------------------------------------------------


def is_staffed(employee_id: int, engagement_id: int) -> bool:
    """Whether the employee has an engagement plan on it, in any cycle. One query."""
    return Plan.objects.filter(
        kind=PlanKind.ENGAGEMENT, engagement_id=engagement_id, employee_id=employee_id
    ).exists()


def writer_for(
    membership: Membership,
    engagement: Engagement | None,
    author: Employee | None,
    access: Access | None = None,
) -> Writer:
    """The facts that decide whom the member may write about on ``engagement`` (in
    general when None). ``author`` is the member's directory entry; ``access`` their
    loaded guardian permissions, if the caller has them. Up to three queries."""
    if engagement is None or author is None:
        return Writer(membership=membership, author=author, engagement_id=None)
    if membership.is_hr_admin:
        holds_role = False
    else:
        access = access or load_access(membership, [engagement])
        holds_role = bool(access.on(engagement.pk) & ROLE_PERMS)
    return Writer(
        membership=membership,
        author=author,
        engagement_id=engagement.pk,
        holds_role=holds_role,
        staffed=is_staffed(author.pk, engagement.pk),
    )


def can_give_feedback(
    membership: Membership, subject: Employee, engagement: Engagement | None
) -> bool:
    """Whether the member may write feedback about ``subject`` on ``engagement`` (in
    general when None). Up to five queries."""
    writer = writer_for(membership, engagement, directory_entry(membership))
    staffed = engagement is None or is_staffed(subject.pk, engagement.pk)
    return refusal(writer, subject, staffed) is None


def _staffed_on(engagement: Engagement) -> QuerySet[Employee]:
    return Employee.objects.filter(
        pk__in=Plan.objects.filter(
            kind=PlanKind.ENGAGEMENT, engagement=engagement
        ).values("employee_id")
    )


def feedback_subjects(
    membership: Membership, engagement: Engagement, writer: Writer | None = None
) -> QuerySet[Employee]:
    """The active people the member may write about on ``engagement`` (the form's
    choices), by name: everyone staffed there for role holders, teammates and HR
    admins; only their direct reports staffed there for a line manager. Builds a
    queryset (plus the queries of ``writer_for`` when ``writer`` is not given)."""
    writer = writer or writer_for(membership, engagement, directory_entry(membership))
    author = writer.author
    if author is None:
        return Employee.objects.none()
    people = (
        _staffed_on(engagement)
        .filter(is_active=True)
        .exclude(pk=author.pk)
        .order_by("full_name", "pk")
    )
    if writes_about_everyone(writer):
        return people
    return people.filter(line_manager=author)


def goal_choices(engagement: Engagement | None, subjects: Any) -> QuerySet[Goal]:
    """Goals feedback may point at: the subjects' goals on their plans of
    ``engagement``, or on their general plans when None. ``subjects`` is a queryset
    of employees or a list of ids. Builds a queryset."""
    if engagement is None:
        goals = Goal.objects.filter(plan__kind=PlanKind.GENERAL)
    else:
        goals = Goal.objects.filter(
            plan__kind=PlanKind.ENGAGEMENT, plan__engagement=engagement
        )
    return (
        goals.filter(plan__employee__in=subjects)
        .select_related("plan__employee", "plan__cycle")
        .order_by("plan__employee__full_name", "-plan__cycle__start_date", "position")
    )


def mark_changeable(membership: Membership, rows: list[Feedback]) -> list[Feedback]:
    """Flag the rows the member may still edit or withdraw (their own, within the
    edit window) as ``can_change``, for the templates. No query; needs ``author``."""
    now = timezone.now()
    access = Access(membership)
    for row in rows:
        row.can_change = can(access, Action.EDIT, row) and row.is_editable(now)  # type: ignore[attr-defined]  # a flag for the templates, not a field
    return rows
