"""Demo feedback (idempotent): every kind and both visibilities on the acme demo
engagements, some about employee@acme.test, one edited, one withdrawn and a general
note from the line manager. Written through the services as the demo logins, so
every author is someone the rules allow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from engagements.enums import PlanKind
from engagements.models import Engagement, Goal, Plan
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.services import feedback as services
from organizations.models import Employee, Membership, Organization

EMPLOYEE = "employee@acme.test"
MANAGER = "manager@acme.test"  # line manager of EMPLOYEE; planner of ENG-101
REVIEWER = "reviewer@acme.test"  # planner (and reviewer by role rule) of ENG-102
APPROVER = "approver@acme.test"  # approver of every demo engagement
HR = "hr@acme.test"

FIRST_BODY = (
    "Your walkthrough of the migration runbook gave the client's operations team "
    "real confidence. Thank you for preparing it so carefully."
)


@dataclass(frozen=True)
class DemoFeedback:
    author: str
    subject: str  # EMPLOYEE, or "teammate" (another consultant on the engagement)
    engagement: str | None  # code; None for general feedback
    kind: str
    visibility: str
    body: str
    days_ago: int
    with_goal: bool = False


DEMO = [
    DemoFeedback(
        REVIEWER,
        EMPLOYEE,
        "ENG-102",
        FeedbackKind.PRAISE,
        Visibility.SHARED,
        FIRST_BODY,
        12,
        with_goal=True,
    ),
    DemoFeedback(
        APPROVER,
        EMPLOYEE,
        "ENG-101",
        FeedbackKind.IMPROVEMENT,
        Visibility.SHARED,
        "Status reports reach me a day late. Send them on Thursday evening so the "
        "steering meeting can use them.\nThe checklist is here: "
        "https://intranet.example/status-report",
        9,
    ),
    DemoFeedback(
        MANAGER,
        EMPLOYEE,
        "ENG-101",
        FeedbackKind.NOTE,
        Visibility.MANAGERS_ONLY,
        "Ready to lead the next workstream; discuss a stretch assignment at the "
        "review.",
        7,
    ),
    DemoFeedback(
        EMPLOYEE,
        "teammate",
        "ENG-101",
        FeedbackKind.PRAISE,
        Visibility.SHARED,
        "Thanks for pairing with me on the data cut-over; it saved us a weekend.",
        5,
    ),
    DemoFeedback(
        HR,
        "teammate",
        "ENG-102",
        FeedbackKind.NOTE,
        Visibility.MANAGERS_ONLY,
        "Asked for training in regulatory reporting; worth planning for next cycle.",
        3,
    ),
    DemoFeedback(
        MANAGER,
        EMPLOYEE,
        None,
        FeedbackKind.NOTE,
        Visibility.SHARED,
        "Good first half: two engagements at once handled calmly. Keep booking "
        "time for the knowledge articles.",
        2,
    ),
]
# Written, then edited within the edit window (its history shows both versions).
EDITED = DemoFeedback(
    REVIEWER,
    "teammate",
    "ENG-102",
    FeedbackKind.IMPROVEMENT,
    Visibility.SHARED,
    "The assessment slides were dense.",
    0,
)
EDITED_BODY = (
    "The assessment slides were dense: one message per slide would help the board "
    "follow the findings."
)
# Written, then withdrawn by its author (gone from every feed; kept in history).
WITHDRAWN = DemoFeedback(
    APPROVER,
    "teammate",
    "ENG-101",
    FeedbackKind.NOTE,
    Visibility.MANAGERS_ONLY,
    "Wrong person, sorry: this note was meant for someone else.",
    0,
)


def seed(organization: Organization) -> None:
    """Seed the demo feedback for organisations with the engagements demo (acme)."""
    if not Plan.objects.filter(kind=PlanKind.ENGAGEMENT).exists():
        return
    if Feedback.objects.filter(body=FIRST_BODY).exists():
        return
    members = {
        m.user.email: m
        for m in Membership.objects.filter(
            user__email__in=[EMPLOYEE, MANAGER, REVIEWER, APPROVER, HR], is_active=True
        ).select_related("user", "organization")
    }
    if len(members) < 5:
        return
    for spec in DEMO:
        _write(members, spec)
    edited = _write(members, EDITED)
    if edited is not None:
        services.edit_feedback(
            actor=members[EDITED.author],
            feedback=edited,
            kind=edited.kind,
            body=EDITED_BODY,
            visibility=edited.visibility,
            goal=edited.goal,
        )
    withdrawn = _write(members, WITHDRAWN)
    if withdrawn is not None:
        services.withdraw_feedback(actor=members[WITHDRAWN.author], feedback=withdrawn)


def _subject(spec: DemoFeedback, engagement: Engagement | None) -> Employee | None:
    """The demo employee, or a consultant staffed on the engagement who is neither the
    author nor the demo employee."""
    if spec.subject == EMPLOYEE:
        return Employee.objects.filter(user__email=EMPLOYEE).first()
    exclude = [EMPLOYEE, spec.author]
    return (
        Employee.objects.filter(
            plans__engagement=engagement, plans__kind=PlanKind.ENGAGEMENT
        )
        .filter(user__isnull=True)
        .exclude(user__email__in=exclude)
        .order_by("code")
        .first()
    )


def _write(members: dict[str, Membership], spec: DemoFeedback) -> Feedback | None:
    engagement = (
        Engagement.objects.filter(code=spec.engagement).first()
        if spec.engagement
        else None
    )
    if spec.engagement and engagement is None:
        return None
    subject = _subject(spec, engagement)
    if subject is None:
        return None
    goal = None
    if spec.with_goal and engagement is not None:
        goal = Goal.objects.filter(
            plan__engagement=engagement,
            plan__kind=PlanKind.ENGAGEMENT,
            plan__employee=subject,
        ).first()
    feedback = services.give_feedback(
        actor=members[spec.author],
        subject=subject,
        engagement=engagement,
        kind=spec.kind,
        body=spec.body,
        visibility=spec.visibility,
        goal=goal,
    )
    if spec.days_ago:
        # Spread the demo over the past days (older feedback is already permanent).
        Feedback.objects.filter(pk=feedback.pk).update(
            created_at=timezone.now() - timedelta(days=spec.days_ago)
        )
    return feedback
