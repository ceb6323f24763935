"""Who may do what in the feedback app: the one entry point ``can`` and the
predicates behind it.

``can(access, action, target)`` answers for feedback, feedback requests and client
surveys without a query: the caller loads the facts first (``Access`` with the
guardian permissions on the engagement in play, from
``engagements.permissions.load_access``; the related rows each predicate names).

Whom a member may write feedback about depends on more facts than an ``Access``
holds (their directory entry, whether they or the subject are staffed on the
engagement): ``feedback.selectors.feedback.writer_for`` loads them once per page as
a ``Writer``, and ``refusal`` explains, in words fit for the user, why a member may
not write about someone (None when they may).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from django.utils.translation import gettext as _

from engagements.models import Engagement
from feedback.enums import Visibility
from feedback.models import Feedback, FeedbackRequest
from organizations.models import Employee, Membership
from organizations.permissions import Access

T = TypeVar("T")

# Any engagement role lets its holder write feedback about the people staffed there.
ROLE_PERMS = frozenset(
    {
        "plan_engagement",
        "review_engagement",
        "approve_engagement",
        "contribute_engagement",
    }
)
# Reviewers and approvers read all the feedback, every feedback request and the
# client surveys of their engagement; other role holders only the feedback they wrote.
READER_PERMS = ("review_engagement", "approve_engagement")


class Action(StrEnum):
    """What ``can`` answers, and the target each action takes."""

    EDIT = "edit"  # Feedback: change or withdraw it
    VIEW_HISTORY = "view_history"  # Feedback: read every version of it
    REQUEST_ABOUT = "request_about"  # RequestAbout: ask colleagues for feedback
    VIEW_REQUEST = "view_request"  # FeedbackRequest: read it and its answers
    CANCEL_REQUEST = "cancel_request"  # FeedbackRequest: withdraw it
    READ_ANSWER = "read_answer"  # NamedAnswer: read one named answer
    SEND_SURVEYS = "send_surveys"  # Engagement: send client surveys
    VIEW_SURVEYS = "view_surveys"  # Engagement: read the surveys' answers


@dataclass(frozen=True)
class RequestAbout:
    """Asking for feedback about ``subject`` on ``engagement``."""

    subject: Employee
    engagement: Engagement


@dataclass(frozen=True)
class NamedAnswer:
    """The feedback a requestee gave in answer to a named ``request``."""

    request: FeedbackRequest
    feedback: Feedback


def can(access: Access, action: Action | str, target: object = None) -> bool:
    """May ``access``'s member do ``action`` on ``target``? No query, given the
    related rows named below.

    ``edit``: its author, within the edit window (which the service checks, so that
    it can explain itself). Needs ``author``.
    ``view_history``: its author, HR admins and the subject's line manager. Needs
    ``author`` and ``subject__line_manager``.
    ``request_about``: HR admins, the subject, their line manager and the
    engagement's reviewers (the last needs the guardian permissions loaded).
    ``view_request``: the requester, the subject, their line manager, the
    engagement's reviewers and approvers, and HR admins.
    ``cancel_request``: its requester.
    ``read_answer``: as the feedback's visibility says: its author always; the
    subject only when shared; HR admins, the subject's line manager and the
    engagement's reviewers and approvers always; withdrawn feedback nobody.
    ``send_surveys``: HR admins and the engagement's reviewers.
    ``view_surveys``: HR admins and the engagement's reviewers and approvers.
    """
    if action == Action.EDIT:
        return _is_author(access, _target(Feedback, target))
    if action == Action.VIEW_HISTORY:
        return _can_see_history(access, _target(Feedback, target))
    if action == Action.REQUEST_ABOUT:
        return _may_request_about(access, _target(RequestAbout, target))
    if action == Action.VIEW_REQUEST:
        return _can_read_request(access, _target(FeedbackRequest, target))
    if action == Action.CANCEL_REQUEST:
        request = _target(FeedbackRequest, target)
        return request.requested_by.user_id == access.user_id
    if action == Action.READ_ANSWER:
        return _can_read_named_answer(access, _target(NamedAnswer, target))
    if action == Action.SEND_SURVEYS:
        engagement = _target(Engagement, target)
        return access.is_hr or "review_engagement" in access.on(engagement.pk)
    if action == Action.VIEW_SURVEYS:
        engagement = _target(Engagement, target)
        return access.is_hr or bool(set(READER_PERMS) & access.on(engagement.pk))
    raise ValueError(f"Unknown action for feedback: {action!r}")


def _target(kind: type[T], target: object) -> T:
    if not isinstance(target, kind):
        raise TypeError(f"Expected a {kind.__name__}, got {target!r}.")
    return target


def _manages(access: Access, employee: Employee) -> bool:
    """Whether the member is ``employee``'s line manager. Needs ``line_manager``."""
    manager = employee.line_manager
    return manager is not None and manager.user_id == access.user_id


def _is_author(access: Access, feedback: Feedback) -> bool:
    return feedback.author.user_id == access.user_id


def _can_see_history(access: Access, feedback: Feedback) -> bool:
    return (
        access.is_hr
        or _is_author(access, feedback)
        or _manages(access, feedback.subject)
    )


def _may_request_about(access: Access, about: RequestAbout) -> bool:
    subject = about.subject
    if access.is_hr or subject.user_id == access.user_id:
        return True
    if _manages(access, subject):
        return True
    return "review_engagement" in access.on(about.engagement.pk)


def _can_read_request(access: Access, request: FeedbackRequest) -> bool:
    uid = access.user_id
    if access.is_hr or uid in (request.requested_by.user_id, request.subject.user_id):
        return True
    if _manages(access, request.subject):
        return True
    return bool(set(READER_PERMS) & access.on(request.engagement_id))


def _can_read_named_answer(access: Access, answer: NamedAnswer) -> bool:
    request, feedback = answer.request, answer.feedback
    if feedback.withdrawn_at is not None:
        return False
    uid = access.user_id
    if feedback.author.user_id == uid:
        return True
    if request.subject.user_id == uid:
        return feedback.visibility == Visibility.SHARED
    if access.is_hr or _manages(access, request.subject):
        return True
    return bool(set(READER_PERMS) & access.on(request.engagement_id))


# --- Whom a member may write feedback about ------------------------------------


@dataclass(frozen=True)
class Writer:
    """What decides whom a member may write about on one engagement (or in general
    when ``engagement_id`` is None)."""

    membership: Membership
    author: Employee | None  # the member's directory entry
    engagement_id: int | None
    holds_role: bool = False  # any engagement role on it
    staffed: bool = False  # the member has an engagement plan on it (a teammate)

    @property
    def is_hr(self) -> bool:
        return self.membership.is_hr_admin


@dataclass(frozen=True)
class Refusal:
    """Why a member may not write feedback about someone, beside ``field``."""

    message: str
    field: str | None = None


def refusal(writer: Writer, subject: Employee, subject_staffed: bool) -> Refusal | None:
    """Why ``writer`` may not write about ``subject``, or None when they may.

    On an engagement: the subject must be staffed there, and the writer must hold a
    role on it, be the subject's line manager, a teammate staffed there, or an HR
    admin. In general (no engagement): only the line manager or an HR admin. Nobody
    writes about themselves.
    """
    author = writer.author
    if author is None:
        return Refusal(
            _(
                "You have no entry in the people directory of this organisation, so "
                "feedback cannot name you as its author. Ask an HR admin to link your "
                "login to your directory entry."
            )
        )
    if author.pk == subject.pk:
        return Refusal(
            _(
                "You cannot give feedback about yourself. Record your own progress "
                "with a check-in on your plan instead."
            ),
            field="subject",
        )
    line_manager = subject.line_manager_id == author.pk
    if writer.engagement_id is None:
        if writer.is_hr or line_manager:
            return None
        return Refusal(
            _(
                "Only %(name)s's line manager or an HR admin can give general "
                "feedback. Give feedback on an engagement you share instead."
            )
            % {"name": subject.full_name},
            field="subject",
        )
    if not subject_staffed:
        return Refusal(
            _(
                "%(name)s is not staffed on this engagement. Choose someone from its "
                "team."
            )
            % {"name": subject.full_name},
            field="subject",
        )
    if writer.is_hr or line_manager or writer.holds_role or writer.staffed:
        return None
    return Refusal(
        _(
            "Only people with a role on this engagement, teammates staffed on it, "
            "%(name)s's line manager and HR admins can give feedback about %(name)s "
            "here."
        )
        % {"name": subject.full_name},
        field="subject",
    )


def writes_about_everyone(writer: Writer) -> bool:
    """Whether ``writer`` may write about everybody staffed on the engagement (else
    only about their direct reports there)."""
    return writer.author is not None and (
        writer.is_hr or writer.holds_role or writer.staffed
    )
