"""Reads of feedback requests: the list's tabs, what a reader sees of one request,
and the request form's choices.

Anonymity holds by construction (see ``feedback.services.requests``): readers of an
anonymous request get counts of its asks, never who answered or declined (decline
reasons come sorted by their text, without names), and its answers only once
``ANONYMITY_THRESHOLD`` exist, ordered by their random key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from guardian.shortcuts import get_objects_for_user

from engagements.enums import PlanKind
from engagements.models import Engagement, Plan
from feedback.enums import ANONYMITY_THRESHOLD, AskStatus
from feedback.models import Feedback, FeedbackAnswer, FeedbackAsk, FeedbackRequest
from feedback.permissions import Action, NamedAnswer, can
from feedback.selectors.access import (
    requests_by_or_about_me,
    requests_of_others,
    requests_visible_to,
)
from organizations.models import Employee, Membership
from organizations.permissions import Access


def _asks_in(status: str) -> Coalesce:
    """How many of a request's asks are in ``status``: a correlated subquery, run for
    the rows of the page shown only (Django leaves it out of the list's total)."""
    asks = (
        FeedbackAsk.objects.filter(request=OuterRef("pk"), status=status)
        .order_by()
        .values("request")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(asks), 0)


# What a row of the list shows. Not the subject's line manager, which the detail
# page's gate loads: one more outer join multiplies the time PostgreSQL spends
# choosing a plan (tenfold, to 10 ms, at 10,000 employees).
LIST_RELATED = ("subject", "engagement__client", "requested_by")


def _with_counts(qs: QuerySet[FeedbackRequest]) -> QuerySet[FeedbackRequest]:
    """``qs`` newest first with what a row of the list shows and its asks counted
    by status (0 when none)."""
    return (
        qs.select_related(*LIST_RELATED)
        .annotate(
            answered_count=_asks_in(AskStatus.ANSWERED),
            declined_count=_asks_in(AskStatus.DECLINED),
            open_count=_asks_in(AskStatus.OPEN),
        )
        .order_by("-created_at", "-pk")
    )


def asks_of(membership: Membership) -> QuerySet[FeedbackAsk]:
    """What the member was asked: open ones first (soonest due first), then the rest,
    newest first. One query per page."""
    return (
        FeedbackAsk.objects.filter(requestee__user_id=membership.user_id)
        .select_related(
            "request__subject", "request__engagement", "request__requested_by"
        )
        .annotate(
            settled=Case(
                When(
                    status=AskStatus.OPEN,
                    request__cancelled_at__isnull=True,
                    then=Value(0),
                ),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("settled", "request__due_date", "-request__created_at", "pk")
    )


def open_asks_of(membership: Membership) -> QuerySet[FeedbackAsk]:
    """The member's asks still waiting for an answer, soonest due first."""
    return asks_of(membership).filter(
        status=AskStatus.OPEN, request__cancelled_at__isnull=True
    )


def requests_by_or_about(membership: Membership) -> QuerySet[FeedbackRequest]:
    """Requests the member made or that are about them, with ask counts. The total
    is one count over index lookups; the counts run for the page's rows only."""
    return _with_counts(requests_by_or_about_me(membership))


def requests_about_others(membership: Membership) -> QuerySet[FeedbackRequest]:
    """Requests the member reads as a manager, reviewer, approver or HR admin about
    someone else, made by someone else; with ask counts (as
    ``requests_by_or_about``)."""
    return _with_counts(requests_of_others(membership))


def requests_about(
    membership: Membership, employee: Employee
) -> QuerySet[FeedbackRequest]:
    """The requests about ``employee`` the member may read (``requests_visible_to``),
    newest first, with ask counts: a person's page. One query when evaluated."""
    return _with_counts(requests_visible_to(membership).filter(subject=employee))


# --- One request ---------------------------------------------------------------------


@dataclass
class NamedRow:
    """One requestee of a named request, with their answer if the reader may read it."""

    ask: FeedbackAsk
    feedback: Feedback | None
    readable: bool


@dataclass
class RequestDetail:
    """What a reader sees of a request. For anonymous requests only counts, sorted
    decline reasons and (past the threshold) the answers: no ask, no requestee."""

    request: FeedbackRequest
    counts: dict[str, int]
    named_rows: list[NamedRow] = field(default_factory=list)
    decline_reasons: list[str] = field(default_factory=list)
    anonymous_count: int = 0
    anonymous_answers: list[FeedbackAnswer] = field(default_factory=list)

    @property
    def answers_shown(self) -> bool:
        return self.anonymous_count >= ANONYMITY_THRESHOLD


def request_detail_for(access: Access, request: FeedbackRequest) -> RequestDetail:
    """The detail of a request the caller may read. Named: one query (asks with their
    requestee and feedback). Anonymous: two or three (ask statuses, the answer count,
    the answers once there are enough)."""
    if not request.anonymous:
        asks = list(
            request.asks.select_related("requestee", "feedback__author").order_by(
                "requestee__full_name", "pk"
            )
        )
        rows = []
        for ask in asks:
            feedback = getattr(ask, "feedback", None)
            readable = feedback is not None and can(
                access, Action.READ_ANSWER, NamedAnswer(request, feedback)
            )
            rows.append(NamedRow(ask=ask, feedback=feedback, readable=readable))
        counts = Counter(ask.status for ask in asks)
        return RequestDetail(request=request, counts=_counts(counts), named_rows=rows)
    # Only statuses and reasons are loaded, never who they belong to; the default
    # ordering (by requestee name) is dropped so not even the order hints at it.
    statuses = list(request.asks.order_by().values_list("status", "decline_reason"))
    reasons = sorted(
        reason for status, reason in statuses if status == AskStatus.DECLINED
    )
    answer_count = request.anonymous_answers.count()
    answers = (
        list(request.anonymous_answers.order_by("id"))
        if answer_count >= ANONYMITY_THRESHOLD
        else []
    )
    return RequestDetail(
        request=request,
        counts=_counts(Counter(status for status, _reason in statuses)),
        decline_reasons=reasons,
        anonymous_count=answer_count,
        anonymous_answers=answers,
    )


def _counts(counter: Counter[str]) -> dict[str, int]:
    return {status: counter.get(status, 0) for status in AskStatus.values}


# --- The request form's choices ------------------------------------------------------


def staffed_subjects(membership: Membership) -> QuerySet[Employee]:
    """Whom the member may ask about: HR admins anyone active; others themselves,
    their direct reports and people staffed on engagements they review."""
    qs = Employee.objects.filter(is_active=True)
    if membership.is_hr_admin:
        return qs
    uid = membership.user_id
    reviewed = get_objects_for_user(
        membership.user,
        "engagements.review_engagement",
        klass=Engagement.objects.all(),
        accept_global_perms=False,
        with_superuser=False,
    ).values("pk")
    staffed = Plan.objects.filter(
        kind=PlanKind.ENGAGEMENT, engagement__in=reviewed
    ).values("employee_id")
    return qs.filter(Q(user_id=uid) | Q(line_manager__user_id=uid) | Q(pk__in=staffed))


def askable_people() -> QuerySet[Employee]:
    """Colleagues who can be asked: active, with an active login here."""
    return Employee.objects.filter(
        is_active=True,
        user__is_active=True,
        user__memberships__organization_id=F("organization_id"),
        user__memberships__is_active=True,
    ).order_by("full_name", "pk")
