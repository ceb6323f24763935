"""Read queries of the feedback app and its access gate.

``feedback_visible_to`` is *the* definition of who reads which feedback; every feed,
filter, the detail page and the appraisal form start from it. ``get_feedback_for`` is
the access gate (404 when not visible, 403 when the action is refused).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from engagements.enums import PlanKind
from engagements.models import Engagement, Goal, Plan
from engagements.permissions import load_access
from engagements.selectors import engagements_with_perm
from feedback.enums import Visibility
from feedback.models import Feedback
from feedback.permissions import (
    READ_ALL_PERMS,
    ROLE_PERMS,
    Writer,
    is_author,
    refusal,
    writes_about_everyone,
)
from organizations.enums import Role
from organizations.history import timeline
from organizations.models import Employee, Membership
from organizations.permissions import Access

# Related rows every feed row shows.
ROW_RELATED = ("author", "subject", "engagement", "goal")


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def author_of(membership: Membership) -> Employee | None:
    """The member's directory entry (None when they have none). One query."""
    return Employee.objects.filter(user_id=membership.user_id).first()


# --- Visibility ---------------------------------------------------------------------


def _about(membership: Membership) -> Q:
    return Q(subject__user_id=membership.user_id)


def _entitled(membership: Membership) -> Q:
    """Feedback the member reads because of who they are to its subject: the line
    manager of the subject, or a reviewer or approver of its engagement."""
    condition = Q(subject__line_manager__user_id=membership.user_id)
    for perm in READ_ALL_PERMS:
        condition |= Q(
            engagement__in=engagements_with_perm(membership, perm).values("pk")
        )
    return condition


def feedback_visible_to(membership: Membership) -> QuerySet[Feedback]:
    """The feedback the member may read; never withdrawn feedback.

    HR admins: all. Authors: their own. The subject: what was shared with them. The
    subject's line manager: all about their direct reports. Reviewers and approvers
    of an engagement: all on it. Planners, contributors and teammates: only what they
    wrote. Nobody, HR admins included, reads managers-only feedback about themselves.
    Builds a queryset only (the guardian lookups are subqueries).
    """
    qs = Feedback.objects.filter(withdrawn_at__isnull=True)
    about_me = _about(membership)
    if membership.role == Role.HR_ADMIN:
        return qs.exclude(about_me & Q(visibility=Visibility.MANAGERS_ONLY))
    return qs.filter(
        Q(author__user_id=membership.user_id)
        | (about_me & Q(visibility=Visibility.SHARED))
        | (_entitled(membership) & ~about_me)
    )


def team_feedback(membership: Membership) -> QuerySet[Feedback]:
    """What the member reads because they manage, review, approve or run HR: the
    "My team and engagements" tab. Builds a queryset only."""
    about_me = _about(membership)
    qs = Feedback.objects.filter(withdrawn_at__isnull=True).exclude(about_me)
    if membership.role == Role.HR_ADMIN:
        return qs
    return qs.filter(_entitled(membership))


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


def get_feedback_for(request: HttpRequest, pk: int, perm: str = "view") -> Feedback:
    """The feedback ``pk`` if the caller may read it (else 404); ``perm`` "view" or
    "edit" (edit and withdraw: its author only, else 403). The edit window is the
    service's to check, so that it can explain itself. One query."""
    if perm not in ("view", "edit"):
        raise ValueError(f"Unknown permission {perm!r}.")
    membership = _membership(request)
    feedback = (
        feedback_visible_to(membership)
        .select_related("author", "subject__line_manager", "engagement", "goal")
        .filter(pk=pk)
        .first()
    )
    if feedback is None:
        raise Http404("No such feedback.")
    if perm == "edit" and not is_author(membership, feedback):
        raise PermissionDenied
    return feedback


def feedback_history(feedback: Feedback) -> list[dict[str, object]]:
    """Every version of ``feedback``, newest first. One query, plus one per kind of
    reference whose value changed (to name it)."""
    records = Feedback.history.filter(id=feedback.pk).select_related(  # type: ignore[attr-defined]
        "history_user"
    )
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
    if membership.role == Role.HR_ADMIN:
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
    writer = writer_for(membership, engagement, author_of(membership))
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
    writer = writer or writer_for(membership, engagement, author_of(membership))
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
