"""Feedback requests: asking named colleagues for feedback, named or anonymous;
cancelling a request, and the reminders of open asks. Answering and declining an ask
are in ``feedback.services.asks``.

Services are keyword-only with ``actor`` first, transactional, and e-mail after the
commit. Anonymity holds by construction, not by hiding:

- an anonymous answer is a ``FeedbackAnswer``: no author, no link to its ask, a random
  UUID key and a day-only date; the ask only becomes "answered" with a day-only date;
- readers of an anonymous request get counts of its asks, never who answered or
  declined (decline reasons come sorted by their text, without names);
- answers are read only once ``ANONYMITY_THRESHOLD`` exist, ordered by their random key;
- the requester is e-mailed once, when the threshold is first reached, with a count.

HR admins read what the subject's managers read, nothing more: no page, e-mail or
query can tell who wrote an anonymous answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from engagements.models import Engagement
from engagements.permissions import load_access
from feedback.enums import ANONYMITY_THRESHOLD, AskStatus
from feedback.models import FeedbackAsk, FeedbackRequest
from feedback.permissions import Action, RequestAbout, can
from feedback.selectors.feedback import directory_entry, is_staffed
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import Employee, Membership, Organization
from organizations.notifications import queue_email
from organizations.permissions import Access

MAX_REQUESTEES = 20
MAX_DUE_DAYS = 365
MAX_QUESTIONS = 10
MAX_QUESTION_LENGTH = 300
REMINDER_DAYS = 2


def today_in(organization: Organization) -> date:
    """Today in the organisation's time zone (requests, due dates and tasks agree)."""
    return timezone.localdate(timezone=ZoneInfo(organization.timezone))


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


def _may_request_about(
    actor: Membership, subject: Employee, engagement: Engagement
) -> bool:
    """``can(access, "request_about", ...)``, loading the actor's guardian
    permissions on the engagement only when the tenant role and the reporting line
    do not decide. Up to two queries (guardian)."""
    about = RequestAbout(subject, engagement)
    if can(Access(actor), Action.REQUEST_ABOUT, about):
        return True
    return can(load_access(actor, [engagement]), Action.REQUEST_ABOUT, about)


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
    requester = directory_entry(actor)
    if requester is None:
        raise DomainError(
            _(
                "You are not in this organisation's people directory, so you cannot "
                "ask for feedback. Ask your HR team to add you."
            )
        )
    if not _may_request_about(actor, subject, engagement):
        raise DomainError(
            _(
                "You may ask for feedback about yourself, people who report to you "
                "and people on engagements you review. Choose one of them."
            ),
            field="subject",
        )
    if not subject.is_active or not is_staffed(subject.pk, engagement.pk):
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
        record_author(feedback_request, actor.user)
        feedback_request.save()
        asks = FeedbackAsk.objects.bulk_create(
            FeedbackAsk(
                organization=organization, request=feedback_request, requestee=person
            )
            for person in people
        )
        for ask in asks:
            email_requestee(feedback_request, ask, "request_asked")
    return feedback_request


def email_requestee(request: FeedbackRequest, ask: FeedbackAsk, kind: str) -> None:
    """One e-mail of ``kind`` to the ask's requestee (``key`` names the ask)."""
    person = ask.requestee
    if person.user_id is None:
        return
    queue_email(
        organization=request.organization,
        key=f"feedback.{kind}:{ask.pk}:{person.user_id}",
        template=f"feedback/email/{kind}.txt",
        context=_ask_context(request.organization, request, ask),
        user=person.user,
    )


def _ask_context(
    organization: Organization, request: FeedbackRequest, ask: FeedbackAsk
) -> dict[str, Any]:
    """What an e-mail to a requestee says of the request, and where to answer it."""
    return {
        "requester": request.requested_by.full_name,
        "subject_name": request.subject.full_name,
        "engagement": request.engagement.name,
        "due": _day(request.due_date),
        "anonymous": int(request.anonymous),
        "path": _path(organization, "ask_answer", ask.pk),
    }


def email_requester(
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
        if not can(Access(actor), Action.CANCEL_REQUEST, request):
            raise PermissionDenied
        if request.cancelled_at is not None:
            raise DomainError(_("This request is already cancelled."))
        open_asks = list(
            FeedbackAsk.objects.select_for_update(of=("self",))
            .select_related("requestee__user")
            .filter(request=request, status=AskStatus.OPEN)
        )
        request.cancelled_at = timezone.now()
        record_author(request, actor.user)
        request.save(update_fields=["cancelled_at"])
        today = today_in(actor.organization)
        for ask in open_asks:
            ask.status = AskStatus.CANCELLED
            ask.closed_on = today
            ask.save(update_fields=["status", "closed_on"])
            email_requestee(request, ask, "request_cancelled")
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
                **_ask_context(organization, request, ask),
                "days_left": (request.due_date - today).days,
            },
            user=ask.requestee.user,
        )
    return len(asks)
