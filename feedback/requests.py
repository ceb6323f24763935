"""Feedback requests: asking named colleagues for feedback, named or anonymous.

Services (writes, keyword-only, ``actor`` first) and selectors (reads and the access
gates) of requests live together here because the anonymity rules span both.

Anonymity holds by construction, not by hiding:

- an anonymous answer is a ``FeedbackAnswer``: no author, no link to its ask, a random
  UUID key and a day-only date; the ask only becomes "answered" with a day-only date;
- readers of an anonymous request get counts of its asks, never who answered or
  declined (decline reasons come sorted by their text, without names);
- answers are read only once ``ANONYMITY_THRESHOLD`` exist, ordered by their random key;
- the requester is e-mailed once, when the threshold is first reached, with a count.

HR admins read what the subject's managers read, nothing more: no page, e-mail or
query here can tell who wrote an anonymous answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from engagements.enums import PlanKind
from engagements.models import Engagement, Plan
from engagements.permissions import load_access
from feedback.enums import ANONYMITY_THRESHOLD, AskStatus, FeedbackKind, Visibility
from feedback.models import Feedback, FeedbackAnswer, FeedbackAsk, FeedbackRequest
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization
from organizations.notifications import queue_email
from organizations.permissions import Access

MAX_REQUESTEES = 20
MAX_DUE_DAYS = 365
MAX_QUESTIONS = 10
MAX_QUESTION_LENGTH = 300
MAX_ANSWER_LENGTH = 2000
MAX_REASON_LENGTH = 1000
# Feedback.body holds a named answer with its questions.
MAX_FEEDBACK_BODY = 4000
REMINDER_DAYS = 2
# Guardian permissions whose holders read every request on the engagement.
READER_PERMS = ("review_engagement", "approve_engagement")


def today_in(organization: Organization) -> date:
    """Today in the organisation's time zone (requests, due dates and tasks agree)."""
    return timezone.localdate(timezone=ZoneInfo(organization.timezone))


def employee_of(membership: Membership) -> Employee | None:
    """The member's directory entry in the active organisation, or None. One query."""
    return Employee.objects.filter(user_id=membership.user_id).first()


# --- Who may do what ---------------------------------------------------------------


def reader_engagements(membership: Membership) -> QuerySet[Engagement]:
    """Engagements on which the member reviews or approves (guardian object perms only;
    model-wide and superuser permissions are ignored, see SECURITY.md)."""
    return get_objects_for_user(
        membership.user,
        [f"engagements.{perm}" for perm in READER_PERMS],
        klass=Engagement.objects.all(),
        any_perm=True,
        accept_global_perms=False,
        with_superuser=False,
    )


def _is_line_manager(membership: Membership, employee: Employee) -> bool:
    manager = employee.line_manager
    return manager is not None and manager.user_id == membership.user_id


def may_request_about(
    membership: Membership, subject: Employee, engagement: Engagement
) -> bool:
    """HR admins, the subject, their line manager and the engagement's reviewers may
    ask for feedback about ``subject``. Up to two queries (guardian)."""
    if membership.role == Role.HR_ADMIN or subject.user_id == membership.user_id:
        return True
    if _is_line_manager(membership, subject):
        return True
    access = load_access(membership, [engagement])
    return "review_engagement" in access.on(engagement.pk)


def can_read_request(
    membership: Membership, access: Access, request: FeedbackRequest
) -> bool:
    """The requester, the subject, their line manager, the engagement's reviewers and
    approvers, and HR admins read a request and its answers (by the rules below)."""
    uid = membership.user_id
    if access.is_hr or uid in (request.requested_by.user_id, request.subject.user_id):
        return True
    if _is_line_manager(membership, request.subject):
        return True
    return bool(set(READER_PERMS) & access.on(request.engagement_id))


def can_read_named_answer(
    membership: Membership,
    access: Access,
    request: FeedbackRequest,
    feedback: Feedback,
) -> bool:
    """A named answer follows its feedback's visibility, as ``feedback.selectors``
    defines it: its author always; the subject only when ``shared``; HR admins, the
    subject's line manager and the engagement's reviewers and approvers always.
    Withdrawn feedback nobody reads here."""
    if feedback.withdrawn_at is not None:
        return False
    uid = membership.user_id
    if feedback.author.user_id == uid:
        return True
    if request.subject.user_id == uid:
        return feedback.visibility == Visibility.SHARED
    if access.is_hr or _is_line_manager(membership, request.subject):
        return True
    return bool(set(READER_PERMS) & access.on(request.engagement_id))


# --- Selectors ---------------------------------------------------------------------


def requests_visible_to(membership: Membership) -> QuerySet[FeedbackRequest]:
    """*The* definition of who reads which request (see ``can_read_request``).
    Builds a queryset only; the guardian part is a subquery."""
    qs = FeedbackRequest.objects.all()
    if membership.role == Role.HR_ADMIN:
        return qs
    uid = membership.user_id
    return qs.filter(
        Q(requested_by__user_id=uid)
        | Q(subject__user_id=uid)
        | Q(subject__line_manager__user_id=uid)
        | Q(engagement__in=reader_engagements(membership).values("pk"))
    )


def _request_queryset() -> QuerySet[FeedbackRequest]:
    return FeedbackRequest.objects.select_related(
        "subject__line_manager",
        "engagement__client",
        "requested_by",
    )


def get_request_for(
    request: HttpRequest, pk: int, perm: str = "view"
) -> tuple[FeedbackRequest, Access]:
    """The request if the caller may read it (else 404) and their access to its
    engagement; ``perm`` "view" or "cancel" (the requester only, else 403).
    Two or three queries."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    found = (
        _request_queryset()
        .filter(pk=pk, pk__in=requests_visible_to(membership).values("pk"))
        .first()
    )
    if found is None:
        raise Http404("No such feedback request.")
    access = load_access(membership, [found.engagement])
    if not can_read_request(membership, access, found):
        raise Http404("No such feedback request.")
    if perm == "cancel" and found.requested_by.user_id != membership.user_id:
        raise PermissionDenied
    return found, access


def get_ask_for(request: HttpRequest, pk: int) -> FeedbackAsk:
    """An ask of the caller's (they are its requestee), else 404: nobody else may act
    on it, and for anonymous requests nobody else may even learn its id. One query."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    ask = (
        FeedbackAsk.objects.select_related(
            "requestee",
            "request__subject",
            "request__engagement__client",
            "request__requested_by",
        )
        .filter(pk=pk, requestee__user_id=membership.user_id)
        .first()
    )
    if ask is None:
        raise Http404("No such feedback request.")
    return ask


def _with_counts(qs: QuerySet[FeedbackRequest]) -> QuerySet[FeedbackRequest]:
    return qs.annotate(
        answered_count=Count("asks", filter=Q(asks__status=AskStatus.ANSWERED)),
        declined_count=Count("asks", filter=Q(asks__status=AskStatus.DECLINED)),
        open_count=Count("asks", filter=Q(asks__status=AskStatus.OPEN)),
    ).order_by("-created_at", "-pk")


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
    """Requests the member made or that are about them, with ask counts."""
    uid = membership.user_id
    return _with_counts(
        _request_queryset().filter(
            Q(requested_by__user_id=uid) | Q(subject__user_id=uid)
        )
    )


def requests_about_others(membership: Membership) -> QuerySet[FeedbackRequest]:
    """Requests the member reads as a manager, reviewer, approver or HR admin about
    someone else, made by someone else; with ask counts."""
    uid = membership.user_id
    return _with_counts(
        _request_queryset()
        .filter(pk__in=requests_visible_to(membership).values("pk"))
        .exclude(Q(requested_by__user_id=uid) | Q(subject__user_id=uid))
    )


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


def request_detail(
    membership: Membership, access: Access, request: FeedbackRequest
) -> RequestDetail:
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
            readable = feedback is not None and can_read_named_answer(
                membership, access, request, feedback
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


# --- Services ----------------------------------------------------------------------


def _path(organization: Organization, name: str, pk: int) -> str:
    return reverse(f"feedback:{name}", args=[organization.slug, pk])


def _day(value: date) -> str:
    return str(date_format(value, "DATE_FORMAT"))


def _check_requestees(
    *,
    organization: Organization,
    subject: Employee,
    requester: Employee,
    requestees: Sequence[Employee],
    anonymous: bool,
) -> list[Employee]:
    ids = [person.pk for person in requestees]
    if not ids:
        raise DomainError(_("Choose at least one person to ask."), field="requestees")
    if len(set(ids)) != len(ids):
        raise DomainError(
            _("Each person can be asked only once; remove the duplicates."),
            field="requestees",
        )
    if len(ids) > MAX_REQUESTEES:
        raise DomainError(
            _("Ask at most %(n)d people at a time; remove some and send another.")
            % {"n": MAX_REQUESTEES},
            field="requestees",
        )
    if subject.pk in ids:
        raise DomainError(
            _(
                "%(name)s is who the feedback is about and cannot be asked for it. "
                "Remove them from the people to ask."
            )
            % {"name": subject.full_name},
            field="requestees",
        )
    if requester.pk in ids:
        raise DomainError(
            _(
                "You cannot ask yourself; remove yourself from the people to ask "
                "and give your feedback directly instead."
            ),
            field="requestees",
        )
    eligible = {
        person.pk: person
        for person in Employee.objects.select_related("user").filter(
            pk__in=ids,
            is_active=True,
            user__is_active=True,
            user__memberships__organization=organization,
            user__memberships__is_active=True,
        )
    }
    refused = [person.full_name for person in requestees if person.pk not in eligible]
    if refused:
        raise DomainError(
            _(
                "%(names)s cannot be asked: only active colleagues with a login "
                "here can answer. Remove them from the list."
            )
            % {"names": ", ".join(sorted(refused))},
            field="requestees",
        )
    if anonymous and len(ids) < ANONYMITY_THRESHOLD:
        raise DomainError(
            _(
                "Ask at least %(n)d people for anonymous feedback: answers are shown "
                "only once %(n)d exist, so that nobody can tell who wrote which. Add "
                "people or ask for named feedback instead."
            )
            % {"n": ANONYMITY_THRESHOLD},
            field="requestees",
        )
    return [eligible[pk] for pk in ids]


def _check_due_date(organization: Organization, due_date: date) -> None:
    today = today_in(organization)
    if due_date < today:
        raise DomainError(
            _("The answer-by date has passed; choose today or a later day."),
            field="due_date",
        )
    if due_date > today + timedelta(days=MAX_DUE_DAYS):
        raise DomainError(
            _("Choose an answer-by date within a year from today."),
            field="due_date",
        )


def clean_questions(questions: str) -> str:
    """The questions one per line, blank lines dropped. Raises DomainError when there
    are too many or one is too long."""
    lines = [line.strip() for line in questions.splitlines() if line.strip()]
    if len(lines) > MAX_QUESTIONS:
        raise DomainError(
            _("Ask at most %(n)d questions, one per line.") % {"n": MAX_QUESTIONS},
            field="questions",
        )
    if any(len(line) > MAX_QUESTION_LENGTH for line in lines):
        raise DomainError(
            _("Keep each question under %(n)d characters.")
            % {"n": MAX_QUESTION_LENGTH},
            field="questions",
        )
    return "\n".join(lines)


def create_request(
    *,
    actor: Membership,
    subject: Employee,
    engagement: Engagement,
    requestees: Sequence[Employee],
    due_date: date,
    message: str = "",
    questions: str = "",
    anonymous: bool = False,
) -> FeedbackRequest:
    """Ask ``requestees`` for feedback about ``subject`` on ``engagement``.

    Allowed for HR admins, the subject, their line manager and the engagement's
    reviewers; the subject must be staffed on the engagement (an engagement plan);
    1–20 active colleagues with a login, never the subject or the requester, no
    duplicates (at least ``ANONYMITY_THRESHOLD`` when anonymous); due today (in the
    organisation's time zone) or within a year. E-mails each requestee once after
    commit. Raises DomainError (with the field to show it beside) and saves nothing.
    """
    organization = actor.organization
    requester = employee_of(actor)
    if requester is None:
        raise DomainError(
            _(
                "You are not in this organisation's people directory, so you cannot "
                "ask for feedback. Ask your HR team to add you."
            )
        )
    if not may_request_about(actor, subject, engagement):
        raise DomainError(
            _(
                "You may ask for feedback about yourself, people who report to you "
                "and people on engagements you review. Choose one of them."
            ),
            field="subject",
        )
    staffed = Plan.objects.filter(
        employee=subject, engagement=engagement, kind=PlanKind.ENGAGEMENT
    ).exists()
    if not subject.is_active or not staffed:
        raise DomainError(
            _(
                "%(name)s is not staffed on %(engagement)s. Choose an engagement "
                "they have a plan on."
            )
            % {"name": subject.full_name, "engagement": engagement.name},
            field="engagement",
        )
    people = _check_requestees(
        organization=organization,
        subject=subject,
        requester=requester,
        requestees=requestees,
        anonymous=anonymous,
    )
    _check_due_date(organization, due_date)
    questions = clean_questions(questions)
    with transaction.atomic():
        feedback_request = FeedbackRequest(
            organization=organization,
            requested_by=requester,
            subject=subject,
            engagement=engagement,
            message=message.strip(),
            questions=questions,
            due_date=due_date,
            anonymous=anonymous,
        )
        feedback_request._history_user = actor.user  # type: ignore[attr-defined]
        feedback_request.save()
        asks = FeedbackAsk.objects.bulk_create(
            FeedbackAsk(
                organization=organization, request=feedback_request, requestee=person
            )
            for person in people
        )
        for ask in asks:
            _email_requestee(feedback_request, ask, "request_asked")
    return feedback_request


def _email_requestee(request: FeedbackRequest, ask: FeedbackAsk, kind: str) -> None:
    """One e-mail of ``kind`` to the ask's requestee (``key`` names the ask)."""
    person = ask.requestee
    if person.user_id is None:
        return
    queue_email(
        organization=request.organization,
        key=f"feedback.{kind}:{ask.pk}:{person.user_id}",
        template=f"feedback/email/{kind}.txt",
        context={
            "requester": request.requested_by.full_name,
            "subject_name": request.subject.full_name,
            "engagement": request.engagement.name,
            "due": _day(request.due_date),
            "anonymous": int(request.anonymous),
            "path": _path(request.organization, "ask_answer", ask.pk),
        },
        user=person.user,
    )


def _email_requester(
    request: FeedbackRequest, key: str, template: str, context: dict[str, Any]
) -> None:
    requester = request.requested_by
    if requester.user_id is None:
        return
    queue_email(
        organization=request.organization,
        key=f"{key}:{requester.user_id}",
        template=template,
        context={
            "subject_name": request.subject.full_name,
            "engagement": request.engagement.name,
            "path": _path(request.organization, "request_detail", request.pk),
            **context,
        },
        user=requester.user,
    )


def _lock_ask(
    ask: FeedbackAsk, organization: Organization
) -> tuple[FeedbackRequest, FeedbackAsk]:
    """Lock the request, then the ask (always in this order), and reload both: answers,
    declines and cancellations of one request queue up here."""
    request = (
        FeedbackRequest.objects.select_for_update(of=("self",))
        .select_related("requested_by__user", "subject", "engagement")
        .get(pk=ask.request_id)
    )
    request.organization = organization
    locked = (
        FeedbackAsk.objects.select_for_update(of=("self",))
        .select_related("requestee")
        .get(pk=ask.pk)
    )
    locked.request = request
    return request, locked


def _check_open(actor: Membership, request: FeedbackRequest, ask: FeedbackAsk) -> None:
    if ask.requestee.user_id != actor.user_id:
        raise PermissionDenied
    if request.cancelled_at is not None:
        raise DomainError(_("This request was cancelled; there is nothing to answer."))
    if ask.status != AskStatus.OPEN:
        raise DomainError(
            _("You already answered or declined this request; it is closed.")
        )


def _clean_answers(request: FeedbackRequest, answers: Sequence[str]) -> list[str]:
    """One answer per question (or one for a request without questions), stripped;
    at least one filled in, each within ``MAX_ANSWER_LENGTH``."""
    expected = max(len(request.question_list), 1)
    texts = [str(text or "").strip() for text in answers]
    if len(texts) != expected:
        raise DomainError(_("Answer the questions shown on the page and send again."))
    if not any(texts):
        raise DomainError(
            _("Write your feedback before sending it."),
            field="answer_0",
        )
    for index, text in enumerate(texts):
        if len(text) > MAX_ANSWER_LENGTH:
            raise DomainError(
                _("Keep each answer under %(n)d characters.")
                % {"n": MAX_ANSWER_LENGTH},
                field=f"answer_{index}",
            )
    return texts


def _named_body(request: FeedbackRequest, texts: list[str]) -> str:
    questions = request.question_list
    if not questions:
        return texts[0]
    return "\n\n".join(
        f"{question}\n{text}"
        for question, text in zip(questions, texts, strict=True)
        if text
    )


def answer_request(
    *,
    actor: Membership,
    ask: FeedbackAsk,
    answers: Sequence[str],
    kind: str = "",
    visibility: str = "",
) -> Feedback | FeedbackAnswer:
    """Answer an open ask of the actor's (else PermissionDenied / DomainError).

    ``answers``: one text per question, or one when the request has none. A named
    request gets a ``Feedback`` by the requestee (``kind`` and ``visibility`` as
    chosen) and the requester is e-mailed. An anonymous one gets a ``FeedbackAnswer``
    that records nothing about who wrote it, dated to the day; the requester is
    e-mailed only when the answers first reach ``ANONYMITY_THRESHOLD``.
    """
    with transaction.atomic():
        request, ask = _lock_ask(ask, actor.organization)
        _check_open(actor, request, ask)
        texts = _clean_answers(request, answers)
        today = today_in(actor.organization)
        if request.anonymous:
            result: Feedback | FeedbackAnswer = _answer_anonymously(
                request, texts, today
            )
        else:
            result = _answer_by_name(actor, request, ask, texts, kind, visibility)
        ask.status = AskStatus.ANSWERED
        ask.closed_on = today
        ask.save(update_fields=["status", "closed_on"])
    return result


def _answer_anonymously(
    request: FeedbackRequest, texts: list[str], today: date
) -> FeedbackAnswer:
    questions = request.question_list or [""]
    answer = FeedbackAnswer.objects.create(
        organization=request.organization,
        request=request,
        answers=[
            {"question": question, "answer": text}
            for question, text in zip(questions, texts, strict=True)
        ],
        submitted_on=today,
    )
    if request.anonymous_answers.count() == ANONYMITY_THRESHOLD:
        _email_requester(
            request,
            f"feedback.request_ready:{request.pk}",
            "feedback/email/request_ready.txt",
            {"count": ANONYMITY_THRESHOLD},
        )
    return answer


def _answer_by_name(
    actor: Membership,
    request: FeedbackRequest,
    ask: FeedbackAsk,
    texts: list[str],
    kind: str,
    visibility: str,
) -> Feedback:
    if kind not in FeedbackKind.values:
        raise DomainError(_("Choose the kind of feedback."), field="kind")
    if visibility not in Visibility.values:
        raise DomainError(_("Choose who can read your feedback."), field="visibility")
    body = _named_body(request, texts)
    if len(body) > MAX_FEEDBACK_BODY:
        raise DomainError(
            _("Your answers are too long together; keep them under %(n)d characters.")
            % {"n": MAX_FEEDBACK_BODY}
        )
    feedback = Feedback(
        organization=request.organization,
        author=ask.requestee,
        subject=request.subject,
        engagement=request.engagement,
        ask=ask,
        kind=kind,
        body=body,
        visibility=visibility,
    )
    feedback._history_user = actor.user  # type: ignore[attr-defined]
    feedback.save()
    if request.requested_by_id != request.subject_id:
        # Shared feedback tells its subject, as any feedback does (the requester
        # being the subject hears of it below already).
        from feedback.services import notify_shared

        notify_shared(actor, feedback)
    _email_requester(
        request,
        f"feedback.request_answered:{ask.pk}",
        "feedback/email/request_answered.txt",
        {"requestee": ask.requestee.full_name},
    )
    return feedback


def decline_request(*, actor: Membership, ask: FeedbackAsk, reason: str) -> FeedbackAsk:
    """Decline an open ask of the actor's, saying why (required). The requester of a
    named request is e-mailed the reason; for an anonymous one nobody is, because who
    declined narrows down who answered."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            _("Say briefly why you decline, so the requester can ask someone else."),
            field="reason",
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError(
            _("Keep the reason under %(n)d characters.") % {"n": MAX_REASON_LENGTH},
            field="reason",
        )
    with transaction.atomic():
        request, ask = _lock_ask(ask, actor.organization)
        _check_open(actor, request, ask)
        ask.status = AskStatus.DECLINED
        ask.decline_reason = reason
        ask.closed_on = today_in(actor.organization)
        ask.save(update_fields=["status", "decline_reason", "closed_on"])
        if not request.anonymous:
            _email_requester(
                request,
                f"feedback.request_declined:{ask.pk}",
                "feedback/email/request_declined.txt",
                {"requestee": ask.requestee.full_name, "reason": reason},
            )
    return ask


def cancel_request(*, actor: Membership, request: FeedbackRequest) -> FeedbackRequest:
    """Withdraw a request (its requester only). Open asks close as cancelled and
    their requestees are told; answers already given stay."""
    with transaction.atomic():
        request = (
            FeedbackRequest.objects.select_for_update(of=("self",))
            .select_related("requested_by", "subject", "engagement")
            .get(pk=request.pk)
        )
        request.organization = actor.organization
        if request.requested_by.user_id != actor.user_id:
            raise PermissionDenied
        if request.cancelled_at is not None:
            raise DomainError(_("This request is already cancelled."))
        open_asks = list(
            FeedbackAsk.objects.select_for_update(of=("self",))
            .select_related("requestee__user")
            .filter(request=request, status=AskStatus.OPEN)
        )
        request.cancelled_at = timezone.now()
        request._history_user = actor.user  # type: ignore[attr-defined]
        request.save(update_fields=["cancelled_at"])
        today = today_in(actor.organization)
        for ask in open_asks:
            ask.status = AskStatus.CANCELLED
            ask.closed_on = today
            ask.save(update_fields=["status", "closed_on"])
            _email_requestee(request, ask, "request_cancelled")
    return request


def send_due_reminders(*, organization: Organization) -> int:
    """E-mail the requestees of open asks due within ``REMINDER_DAYS`` (today
    included, in the organisation's time zone). The ledger key names the ask and its
    due date, so running twice a day sends once. Returns the number queued. Two
    queries whatever the number of asks."""
    today = today_in(organization)
    asks = list(
        FeedbackAsk.objects.filter(
            status=AskStatus.OPEN,
            request__cancelled_at__isnull=True,
            request__due_date__gte=today,
            request__due_date__lte=today + timedelta(days=REMINDER_DAYS),
            requestee__user__isnull=False,
            requestee__is_active=True,
        ).select_related(
            "requestee__user",
            "request__subject",
            "request__engagement",
            "request__requested_by",
        )
    )
    for ask in asks:
        request = ask.request
        queue_email(
            organization=organization,
            key=f"feedback.reminder:{ask.pk}:{request.due_date.isoformat()}",
            template="feedback/email/request_reminder.txt",
            context={
                "requester": request.requested_by.full_name,
                "subject_name": request.subject.full_name,
                "engagement": request.engagement.name,
                "due": _day(request.due_date),
                "anonymous": int(request.anonymous),
                "days_left": (request.due_date - today).days,
                "path": _path(organization, "ask_answer", ask.pk),
            },
            user=ask.requestee.user,
        )
    return len(asks)


def staffed_subjects(membership: Membership) -> QuerySet[Employee]:
    """Whom the member may ask about: HR admins anyone active; others themselves,
    their direct reports and people staffed on engagements they review."""
    qs = Employee.objects.filter(is_active=True)
    if membership.role == Role.HR_ADMIN:
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


def engagement_choices(membership: Membership) -> QuerySet[Engagement]:
    """Engagements offered on the request form: those the member sees."""
    from engagements.selectors import engagements_visible_to

    return engagements_visible_to(membership).select_related("client")
