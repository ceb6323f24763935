"""Demo client surveys (idempotent): answered ones with ratings of the staffed people
(the demo employee among them), open ones, and an expired one.

Runs inside the organisation's tenant context (``seed_demo``). Surveys are written
directly, not through ``send_survey``, so loading the demo e-mails nobody.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from engagements.enums import PlanKind
from engagements.models import Engagement
from feedback.models import ClientSurvey
from feedback.selectors.surveys import staffed_employees
from feedback.services.surveys import answer_survey
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization

CONTACTS = ["Dana Whitfield", "Sam Okafor", "Lee Marchetti", "Kim Duarte"]
COMMENTS = [
    "Clear communication and a team that owned the hard problems.",
    "Good work overall; the hand-over documentation came late.",
    "Very responsive, and the workshops were well prepared.",
]
DEMO_EMPLOYEE = "employee@acme.test"

# Per engagement, in order: the surveys to create as (days ago sent, days valid,
# answered?). The first engagements include the demo employee's.
PLANS = [
    [(40, 14, True), (12, 14, True), (3, 14, False)],
    [(25, 14, True), (30, 14, False)],
    [(5, 21, False)],
]


def seed(organization: Organization) -> None:
    """Seed surveys once, and only where people are staffed on engagements."""
    if ClientSurvey.objects.exists():
        return
    engagements = _engagements()
    if not engagements:
        return
    hr_users = Membership.objects.filter(role=Role.HR_ADMIN, is_active=True)
    sender = (
        Employee.objects.filter(user_id__in=hr_users.values("user_id"))
        .order_by("pk")
        .first()
    )
    now = timezone.now()
    for index, (engagement, surveys) in enumerate(
        zip(engagements, PLANS, strict=False)
    ):
        team = list(staffed_employees(engagement))
        for number, (days_ago, days_valid, answered) in enumerate(surveys):
            contact = CONTACTS[(index + number) % len(CONTACTS)]
            survey = ClientSurvey.objects.create(
                organization=organization,
                engagement=engagement,
                contact_name=contact,
                contact_email=_address(engagement, contact),
                sent_by=sender,
                sent_at=now,
                expires_at=now + timedelta(days=days_valid),
            )
            if answered:
                _answer(survey, team, seed=index + number)
            # Move the survey back to when it was "sent"; answers came two days later.
            sent_at = now - timedelta(days=days_ago)
            ClientSurvey.objects.filter(pk=survey.pk).update(
                sent_at=sent_at,
                expires_at=sent_at + timedelta(days=days_valid),
                answered_at=sent_at + timedelta(days=2) if answered else None,
            )


def _engagements() -> list[Engagement]:
    """Engagements with people staffed, the demo employee's first."""
    staffed = list(
        Engagement.objects.filter(plans__kind=PlanKind.ENGAGEMENT)
        .select_related("client")
        .distinct()
        .order_by("code")
    )
    mine = set(
        Engagement.objects.filter(
            plans__kind=PlanKind.ENGAGEMENT, plans__employee__user__email=DEMO_EMPLOYEE
        ).values_list("pk", flat=True)
    )
    return sorted(staffed, key=lambda e: (e.pk not in mine, e.code))[: len(PLANS)]


def _address(engagement: Engagement, contact: str) -> str:
    domain = engagement.client.contact_email.partition("@")[2] or "client.example"
    return f"{contact.split()[0].lower()}@{domain}"


def _answer(survey: ClientSurvey, team: list[Employee], seed: int) -> None:
    """Answer as a contact would: overall 4 or 5, everyone staffed rated 3 to 5."""
    answer_survey(
        survey,
        overall=4 + seed % 2,
        ratings={person.pk: 3 + (person.pk + seed) % 3 for person in team},
        comment=COMMENTS[seed % len(COMMENTS)],
    )
