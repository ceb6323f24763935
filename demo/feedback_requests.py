"""Demo feedback requests (idempotent): named requests open and answered with one
declined ask, one anonymous request with enough answers to read and one without.

The demo employee (``employee@<org>.test`` when there is one) is the subject of some
and a requestee of others, so both sides show. Rows are written directly rather than
through the services: the demo needs past dates and must not e-mail anyone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.utils import timezone

from engagements.enums import PlanKind
from engagements.models import Engagement, Plan
from feedback.enums import AskStatus, FeedbackKind, Visibility
from feedback.models import Feedback, FeedbackAnswer, FeedbackAsk, FeedbackRequest
from feedback.services.requests import today_in
from organizations.models import Employee, Organization

QUESTIONS = "What should they keep doing?\nWhat could they do better?"
ANONYMOUS_ANSWERS = [
    ["Clear priorities every Monday.", "Share decisions in writing sooner."],
    ["Shields the team from scope churn.", "More time for one-to-ones."],
    ["Great client workshops.", "Delegate the status reports."],
]


def seed(organization: Organization) -> None:
    """Create the demo requests once, when the organisation has engagement plans."""
    if FeedbackRequest.objects.exists():
        return
    plans = list(
        Plan.objects.filter(kind=PlanKind.ENGAGEMENT)
        .select_related("employee__user", "engagement")
        .order_by("engagement__code", "employee__code")
    )
    if not plans:
        return
    teams: dict[Engagement, list[Employee]] = defaultdict(list)
    for plan in plans:
        if plan.engagement is not None and plan.employee.is_active:
            teams[plan.engagement].append(plan.employee)
    demo = _demo_employee(organization, [plan.employee for plan in plans])
    engagement = next(e for e, team in teams.items() if demo in team)
    team = teams[engagement]
    # Teammates other than the demo employee and their line manager.
    mates = [p for p in team if p.pk not in (demo.pk, demo.line_manager_id)]
    logins = list(
        Employee.objects.filter(is_active=True, user__isnull=False)
        .exclude(pk=demo.pk)
        .order_by("code")
    )
    today = today_in(organization)
    _named_about_demo(organization, demo, engagement, mates, logins, today)
    if mates:
        _named_asking_demo(organization, demo, engagement, mates, today)
    if len(mates) >= 3:
        _anonymous(organization, demo, engagement, mates, today, team)


def _demo_employee(organization: Organization, staffed: list[Employee]) -> Employee:
    wanted = f"employee@{organization.slug}.test"
    for person in staffed:
        if person.user is not None and person.user.email == wanted:
            return person
    return staffed[0]


def _request(
    organization: Organization,
    *,
    subject: Employee,
    requested_by: Employee,
    engagement: Engagement,
    requestees: list[Employee],
    today: date,
    anonymous: bool = False,
    questions: str = "",
    message: str = "",
) -> list[FeedbackAsk]:
    request = FeedbackRequest.objects.create(
        organization=organization,
        requested_by=requested_by,
        subject=subject,
        engagement=engagement,
        message=message,
        questions=questions,
        due_date=today + timedelta(days=5),
        anonymous=anonymous,
        created_at=timezone.now() - timedelta(days=6),
    )
    return [
        FeedbackAsk.objects.create(
            organization=organization, request=request, requestee=person
        )
        for person in dict.fromkeys(requestees)
        if person.pk != subject.pk
    ]


def _close(ask: FeedbackAsk, status: str, today: date, reason: str = "") -> None:
    ask.status = status
    ask.decline_reason = reason
    ask.closed_on = today - timedelta(days=2)
    ask.save(update_fields=["status", "decline_reason", "closed_on"])


def _named_about_demo(
    organization: Organization,
    demo: Employee,
    engagement: Engagement,
    mates: list[Employee],
    logins: list[Employee],
    today: date,
) -> None:
    """Asked by the demo employee's line manager: answered, declined and open."""
    requester = demo.line_manager or (logins[0] if logins else None)
    if requester is None:
        return
    people = [p for p in [*mates[:1], *logins] if p.pk not in (demo.pk, requester.pk)][
        :3
    ]
    asks = _request(
        organization,
        subject=demo,
        requested_by=requester,
        engagement=engagement,
        requestees=people,
        today=today,
        message="How is the first phase going from where you sit?",
    )
    if asks:
        _close(asks[0], AskStatus.ANSWERED, today)
        Feedback.objects.create(
            organization=organization,
            author=asks[0].requestee,
            subject=demo,
            engagement=engagement,
            ask=asks[0],
            kind=FeedbackKind.PRAISE,
            body="Ran the data-mapping workshop well; the client asked for more.",
            visibility=Visibility.SHARED,
        )
    if len(asks) > 1:
        _close(
            asks[1],
            AskStatus.DECLINED,
            today,
            reason="I have not worked with them on this engagement yet.",
        )


def _named_asking_demo(
    organization: Organization,
    demo: Employee,
    engagement: Engagement,
    mates: list[Employee],
    today: date,
) -> None:
    """About a teammate, asked of the demo employee (open) and another (answered)."""
    subject = mates[0]
    requester = subject.line_manager or subject
    asks = _request(
        organization,
        subject=subject,
        requested_by=requester,
        engagement=engagement,
        requestees=[demo, *mates[1:2]],
        today=today,
        questions=QUESTIONS,
    )
    for ask in asks[1:]:
        _close(ask, AskStatus.ANSWERED, today)
        Feedback.objects.create(
            organization=organization,
            author=ask.requestee,
            subject=subject,
            engagement=engagement,
            ask=ask,
            kind=FeedbackKind.IMPROVEMENT,
            body=f"{QUESTIONS.splitlines()[0]}\nPairing on the test plan.\n\n"
            f"{QUESTIONS.splitlines()[1]}\nFlag risks earlier in stand-ups.",
            visibility=Visibility.MANAGERS_ONLY,
        )


def _anonymous(
    organization: Organization,
    demo: Employee,
    engagement: Engagement,
    mates: list[Employee],
    today: date,
    team: list[Employee],
) -> None:
    """Upward feedback about the demo employee's line manager with three answers
    (the demo employee still open), and one about the demo employee with two."""
    manager = demo.line_manager
    if manager is not None and manager in team:
        asks = _request(
            organization,
            subject=manager,
            requested_by=manager,
            engagement=engagement,
            requestees=[*mates[:3], demo],
            today=today,
            anonymous=True,
            questions=QUESTIONS,
        )
        _answer_anonymously(organization, asks[:3], today)
    asks = _request(
        organization,
        subject=demo,
        requested_by=demo,
        engagement=engagement,
        requestees=mates[:4],
        today=today,
        anonymous=True,
        questions=QUESTIONS,
    )
    _answer_anonymously(organization, asks[:2], today)


def _answer_anonymously(
    organization: Organization, asks: list[FeedbackAsk], today: date
) -> None:
    questions = QUESTIONS.splitlines()
    for ask, texts in zip(asks, ANONYMOUS_ANSWERS, strict=False):
        _close(ask, AskStatus.ANSWERED, today)
        FeedbackAnswer.objects.create(
            organization=organization,
            request=ask.request,
            answers=[
                {"question": q, "answer": a}
                for q, a in zip(questions, texts, strict=True)
            ],
            submitted_on=today - timedelta(days=2),
        )
