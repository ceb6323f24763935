"""Answering and declining a feedback request one was asked (a ``FeedbackAsk``).

Keyword-only, ``actor`` first, transactional; the request row and then the ask row
are locked, so answers, declines and cancellations of one request queue up. An
anonymous answer records nothing about who wrote it (see
``feedback.services.requests`` for the rules of anonymity).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from feedback.enums import ANONYMITY_THRESHOLD, AskStatus, FeedbackKind, Visibility
from feedback.models import Feedback, FeedbackAnswer, FeedbackAsk, FeedbackRequest
from feedback.services.feedback import notify_shared
from feedback.services.requests import email_requester, today_in
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import Membership, Organization

MAX_ANSWER_LENGTH = 2000
MAX_REASON_LENGTH = 1000
# Feedback.body holds a named answer with its questions.
MAX_FEEDBACK_BODY = 4000


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
        email_requester(
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
    record_author(feedback, actor.user)
    feedback.save()
    if request.requested_by_id != request.subject_id:
        # Shared feedback tells its subject, as any feedback does (the requester
        # being the subject hears of it below already).
        notify_shared(actor, feedback)
    email_requester(
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
            email_requester(
                request,
                f"feedback.request_declined:{ask.pk}",
                "feedback/email/request_declined.txt",
                {"requestee": ask.requestee.full_name, "reason": reason},
            )
    return ask
