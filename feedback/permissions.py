"""Who may write feedback about whom, and who may read its history.

The predicates are pure: ``feedback.selectors`` loads the facts (the writer's
directory entry, their guardian permissions on the engagement, whether they are
staffed on it) once per page and asks these functions for every subject.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from feedback.models import Feedback
from organizations.enums import Role
from organizations.models import Employee, Membership

# Any engagement role lets its holder write feedback about the people staffed there.
ROLE_PERMS = frozenset(
    {
        "plan_engagement",
        "review_engagement",
        "approve_engagement",
        "contribute_engagement",
    }
)
# Reviewers and approvers read all the feedback on their engagement; other role
# holders only what they wrote.
READ_ALL_PERMS = ("review_engagement", "approve_engagement")


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
        return self.membership.role == Role.HR_ADMIN


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


def is_author(membership: Membership, feedback: Feedback) -> bool:
    """Needs ``feedback.author`` loaded."""
    return feedback.author.user_id == membership.user_id


def can_see_history(membership: Membership, feedback: Feedback) -> bool:
    """Every version of a piece of feedback: its author, HR admins and the subject's
    line manager. Needs ``author`` and ``subject__line_manager`` loaded."""
    if membership.role == Role.HR_ADMIN or is_author(membership, feedback):
        return True
    manager = feedback.subject.line_manager
    return manager is not None and manager.user_id == membership.user_id
