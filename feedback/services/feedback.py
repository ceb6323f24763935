"""Operations that give, edit and withdraw feedback.

Keyword-only, one use case per function, transactional; history is recorded by
django-simple-history, the acting user named with ``record_author``. Rules refused
raise ``DomainError`` with a message fit for the user, beside ``field`` when it
names one. The subject hears about shared feedback by e-mail after the commit.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from engagements.enums import PlanKind
from engagements.models import Engagement, Goal
from feedback.enums import EDIT_WINDOW_HOURS, FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.permissions import refusal
from feedback.selectors.feedback import directory_entry, is_staffed, writer_for
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import Employee, Membership
from organizations.notifications import queue_email

MAX_BODY = 4000
SHARED_TEMPLATE = "feedback/email/feedback_shared.txt"


def _clean_body(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise DomainError(_("Write your feedback before sending it."), field="body")
    if len(text) > MAX_BODY:
        raise DomainError(
            _(
                "Feedback can be at most %(max)d characters long; this is %(n)d. "
                "Shorten it, or split it into two notes."
            )
            % {"max": MAX_BODY, "n": len(text)},
            field="body",
        )
    return text


def _check_choices(kind: str, visibility: str) -> None:
    if kind not in FeedbackKind.values:
        raise DomainError(_("Choose praise, improvement or note."), field="kind")
    if visibility not in Visibility.values:
        raise DomainError(_("Choose who can read this feedback."), field="visibility")


def _check_goal(
    goal: Goal | None, subject: Employee, engagement: Engagement | None
) -> None:
    """The goal, if any, must be one of the subject's goals on their plan of the
    engagement (their general plan for general feedback). One query."""
    if goal is None:
        return
    plans = {
        "plan__employee_id": subject.pk,
        "plan__kind": PlanKind.GENERAL if engagement is None else PlanKind.ENGAGEMENT,
    }
    if engagement is not None:
        plans["plan__engagement_id"] = engagement.pk
    if not Goal.objects.filter(pk=goal.pk, **plans).exists():
        where = (
            _("their general plan")
            if engagement is None
            else _("their plan on this engagement")
        )
        raise DomainError(
            _("Link one of %(name)s's goals on %(where)s, or leave the goal empty.")
            % {"name": subject.full_name, "where": where},
            field="goal",
        )


def _author(actor: Membership) -> Employee:
    author = directory_entry(actor)
    if author is None:
        raise DomainError(
            _(
                "You have no entry in the people directory of this organisation, so "
                "feedback cannot name you as its author. Ask an HR admin to link your "
                "login to your directory entry."
            )
        )
    return author


def notify_shared(actor: Membership, feedback: Feedback) -> None:
    """E-mail the subject that shared feedback about them arrived (optional e-mail;
    once per feedback and recipient, whatever happens to it later)."""
    user = feedback.subject.user
    if user is None or feedback.visibility != Visibility.SHARED:
        return
    organization = actor.organization
    context = {
        "author": feedback.author.full_name,
        "kind": str(FeedbackKind(feedback.kind).label),
        "engagement": feedback.engagement.name if feedback.engagement else "",
        "path": reverse("feedback:detail", args=[organization.slug, feedback.pk]),
    }
    queue_email(
        organization=organization,
        key=f"feedback.shared:{feedback.pk}:{user.pk}",
        template=SHARED_TEMPLATE,
        context=context,
        user=user,
    )


def give_feedback(
    *,
    actor: Membership,
    subject: Employee,
    engagement: Engagement | None,
    kind: str,
    body: str,
    visibility: str,
    goal: Goal | None = None,
) -> Feedback:
    """Write feedback about ``subject`` on ``engagement`` (general feedback when
    None), optionally pointing at one of their goals there.

    Raises DomainError when the actor has no directory entry, may not write about the
    subject (see ``feedback.permissions.refusal``), the subject is not staffed on the
    engagement, the goal is not theirs there, or the text is empty or too long.
    Shared feedback e-mails the subject after the commit.
    """
    with transaction.atomic():
        author = _author(actor)
        _check_choices(kind, visibility)
        writer = writer_for(actor, engagement, author)
        staffed = engagement is None or is_staffed(subject.pk, engagement.pk)
        refused = refusal(writer, subject, staffed)
        if refused is not None:
            raise DomainError(refused.message, field=refused.field)
        text = _clean_body(body)
        _check_goal(goal, subject, engagement)
        feedback = Feedback(
            organization=actor.organization,
            author=author,
            subject=subject,
            engagement=engagement,
            goal=goal,
            kind=kind,
            body=text,
            visibility=visibility,
        )
        record_author(feedback, actor.user)
        feedback.save()
        notify_shared(actor, feedback)
    return feedback


def _editable(actor: Membership, feedback: Feedback) -> Feedback:
    """The feedback, locked for this transaction and freshly read, if ``actor`` wrote
    it and it is still within its edit window; else DomainError. One query."""
    locked = (
        Feedback.objects.select_for_update(of=("self",))
        .select_related("author", "subject__user", "engagement")
        .get(pk=feedback.pk)
    )
    if locked.author.user_id != actor.user_id:
        raise DomainError(
            _("Only the author of this feedback can change or withdraw it.")
        )
    if locked.withdrawn_at is not None:
        raise DomainError(_("This feedback was withdrawn; it can no longer change."))
    if not locked.is_editable():
        raise DomainError(
            _(
                "Feedback can be edited or withdrawn for %(hours)d hours after it was "
                "written. This was written on %(when)s, so it is now permanent. Write "
                "a new note to add to it or correct it."
            )
            % {
                "hours": EDIT_WINDOW_HOURS,
                "when": date_format(
                    timezone.localtime(locked.created_at), "DATETIME_FORMAT"
                ),
            }
        )
    return locked


def edit_feedback(
    *,
    actor: Membership,
    feedback: Feedback,
    kind: str,
    body: str,
    visibility: str,
    goal: Goal | None,
) -> Feedback:
    """Change the kind, text, visibility or goal of one's own feedback within
    ``EDIT_WINDOW_HOURS`` of writing it; history keeps the previous version.

    Raises DomainError for someone else's feedback, after the window, and for the
    same bad input ``give_feedback`` refuses. Sharing feedback that was for managers
    only e-mails the subject (once, ever, per feedback).
    """
    with transaction.atomic():
        locked = _editable(actor, feedback)
        _check_choices(kind, visibility)
        text = _clean_body(body)
        _check_goal(goal, locked.subject, locked.engagement)
        changed = (
            locked.kind != kind
            or locked.body != text
            or locked.visibility != visibility
            or locked.goal_id != (goal.pk if goal else None)
        )
        if not changed:
            return locked
        now_shared = (
            locked.visibility != Visibility.SHARED and visibility == Visibility.SHARED
        )
        locked.kind, locked.body, locked.visibility, locked.goal = (
            kind,
            text,
            visibility,
            goal,
        )
        locked.edited_at = timezone.now()
        record_author(locked, actor.user)
        locked.save()
        if now_shared:
            notify_shared(actor, locked)
    return locked


def withdraw_feedback(*, actor: Membership, feedback: Feedback) -> Feedback:
    """Withdraw one's own feedback within ``EDIT_WINDOW_HOURS``: it leaves every
    feed; history keeps it. Raises DomainError for someone else's feedback and after
    the window."""
    with transaction.atomic():
        locked = _editable(actor, feedback)
        locked.withdrawn_at = timezone.now()
        record_author(locked, actor.user)
        locked.save(update_fields=["withdrawn_at"])
    return locked
