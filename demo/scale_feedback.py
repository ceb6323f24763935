"""Feedback of a synthetic world (``demo.scale``): feedback on engagements and from
line managers, feedback requests (named and anonymous) with their asks and answers,
and client surveys with the clients' ratings of the people staffed.

Authors are people the rules let write (``feedback.permissions.refusal``): a
teammate staffed on the engagement or a role holder on it, and the line manager for
general feedback. Requests are asked by their subject, the subject's line manager or
the engagement's reviewer, of teammates; anonymous answers carry no author. Surveys
go to the engagements of every cycle, answered on or after the cycle's first day so
they count where the cycle weighs client satisfaction. The employee login receives
feedback from their reviewer, a teammate and their line manager, gives some, is the
subject of an anonymous request with enough answers to read and of a named one, and
has an open ask. The manager login gets shared feedback from their own line manager
and asks for feedback about a direct report. Query cost: per table written, one query plus two per batch of
``demo.scale_rows.BATCH`` rows.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from demo.scale_people import People
from demo.scale_rows import Log, Rows, at
from feedback.enums import AskStatus, FeedbackKind, Visibility
from feedback.models import (
    ClientSurvey,
    ClientSurveyRating,
    Feedback,
    FeedbackAnswer,
    FeedbackAsk,
    FeedbackRequest,
)

if TYPE_CHECKING:
    from demo.scale_work import Cycle, EngagementSpec, Work

BODIES: dict[str, list[str]] = {
    FeedbackKind.PRAISE: [
        "Your walkthrough of the runbook gave the client's team real confidence.",
        "Thanks for pairing on the data cut-over; it saved us a weekend.",
        "The steering committee deck was clear and well argued.",
        "You kept the workshop on track when the discussion drifted.",
    ],
    FeedbackKind.IMPROVEMENT: [
        "Status reports reach me a day late; send them on Thursday evening.",
        "The assessment slides were dense: one message per slide would help.",
        "Flag risks earlier in the stand-ups, before they reach the client.",
    ],
    FeedbackKind.NOTE: [
        "Ready to lead the next workstream; discuss a stretch assignment.",
        "Asked for training in regulatory reporting; plan it for next cycle.",
        "Handled two engagements at once calmly this half-year.",
    ],
}
KINDS = (
    [FeedbackKind.PRAISE] * 5 + [FeedbackKind.IMPROVEMENT] * 3 + [FeedbackKind.NOTE] * 2
)
QUESTIONS = "What should they keep doing?\nWhat could they do better?"
ANSWERS = [
    ("Clear priorities every Monday.", "Share decisions in writing sooner."),
    ("Shields the team from scope churn.", "More time for one-to-ones."),
    ("Great client workshops.", "Delegate the status reports."),
    ("Calm under pressure.", "Write shorter e-mails."),
]
DECLINED = "I have not worked with them on this engagement yet."
CONTACTS = ["Dana Whitfield", "Sam Okafor", "Lee Marchetti", "Kim Duarte", "Ali Nour"]
SURVEY_COMMENTS = [
    "Clear communication and a team that owned the hard problems.",
    "Good work overall; the hand-over documentation came late.",
    "Very responsive, and the workshops were well prepared.",
]
FEEDBACK_PER_TEAMMATE = 0.5
GENERAL_SHARE = 0.15  # people who get general feedback from their line manager
REQUESTS_PER_EMPLOYEE = 10
ANONYMOUS_SHARE = 0.3


@dataclass(frozen=True)
class Context:
    people: People
    work: Work
    rng: random.Random
    now: datetime
    goal_of: dict[tuple[int, int], list[int]]  # (engagement pk, person) → goal ids

    def moment(self, first: date, last: date) -> datetime:
        """A working-day moment between two days, never later than now."""
        last = max(first, min(last, self.now.date() - timedelta(days=1)))
        day = first + timedelta(days=self.rng.randint(0, (last - first).days))
        return min(at(day, time(self.rng.randint(8, 17))), self.now)


def build_feedback(people: People, work: Work, rng: random.Random, log: Log) -> None:
    goal_of: dict[tuple[int, int], list[int]] = {}
    for plan in work.plans:
        if plan.engagement is not None:
            goal_of[(plan.engagement.pk, plan.person)] = [g.pk for g in plan.goals]
    context = Context(people, work, rng, timezone.now(), goal_of)
    feedback = Rows(
        Feedback,
        (
            "author_id",
            "subject_id",
            "engagement_id",
            "goal_id",
            "ask_id",
            "kind",
            "body",
            "visibility",
            "created_at",
            "edited_at",
            "withdrawn_at",
        ),
        organization_id=people.organization.pk,
    )
    for cycle in work.cycles:
        _on_engagements(context, cycle, feedback)
        _general(context, cycle, feedback)
    _requests(context, feedback, log)
    feedback.insert(log)
    _surveys(context, log)


def _add(
    context: Context,
    rows: Rows,
    author: int,
    subject: int,
    engagement: EngagementSpec | None,
    when: datetime,
    kind: str | None = None,
    ask: int | None = None,
) -> None:
    rng, persons = context.rng, context.people.persons
    # Only spontaneous feedback is ever edited or withdrawn: what the logins are
    # given (and answers to requests) stays readable.
    spontaneous = kind is None and ask is None
    kind = kind or rng.choice(KINDS)
    goals = context.goal_of.get((engagement.pk, subject), []) if engagement else []
    goal = rng.choice(goals) if goals and rng.random() < 0.3 else None
    private = kind == FeedbackKind.NOTE and rng.random() < 0.6
    roll = rng.random()
    rows.add(
        persons[author].pk,
        persons[subject].pk,
        None if engagement is None else engagement.pk,
        goal,
        ask,
        kind,
        rng.choice(BODIES[kind]),
        Visibility.MANAGERS_ONLY if private else Visibility.SHARED,
        when,
        when + timedelta(minutes=30) if spontaneous and roll < 0.05 else None,
        when + timedelta(hours=1) if spontaneous and 0.05 <= roll < 0.07 else None,
    )


def _on_engagements(context: Context, cycle: Cycle, rows: Rows) -> None:
    rng = context.rng
    employee = context.people.logins["employee"]
    for engagement in context.work.engagements:
        if engagement.cycle is not cycle or len(engagement.team) < 2:
            continue
        first = max(engagement.start, cycle.start)
        last = min(engagement.end, cycle.end)
        writers = [*engagement.team, engagement.lead, engagement.reviewer]
        for _ in range(int(len(engagement.team) * FEEDBACK_PER_TEAMMATE)):
            author = rng.choice(writers)
            subject = rng.choice([i for i in engagement.team if i != author])
            _add(
                context, rows, author, subject, engagement, context.moment(first, last)
            )
        if employee in engagement.team:
            mate = next(i for i in engagement.team if i != employee)
            for author, subject, kind in (
                (engagement.reviewer, employee, FeedbackKind.PRAISE),
                (mate, employee, FeedbackKind.IMPROVEMENT),
                (employee, mate, FeedbackKind.PRAISE),
            ):
                when = context.moment(first, last)
                _add(context, rows, author, subject, engagement, when, kind)


def _general(context: Context, cycle: Cycle, rows: Rows) -> None:
    """Line managers' general feedback (no engagement) about some of their reports."""
    persons, rng = context.people.persons, context.rng
    employee = context.people.logins["employee"]
    manager = context.people.logins["manager"]
    for person in persons:
        boss = person.boss
        if boss is None or not person.is_active:
            continue
        if person.index == employee or rng.random() < GENERAL_SHARE:
            when = context.moment(cycle.start, cycle.end)
            _add(context, rows, boss, person.index, None, when, FeedbackKind.NOTE)
        if person.index == manager:
            # Shared, so that the manager login reads feedback about themselves at
            # every size (a note may be for managers only).
            when = context.moment(cycle.start, cycle.end)
            _add(context, rows, boss, manager, None, when, FeedbackKind.PRAISE)


def _requests(context: Context, feedback: Rows, log: Log) -> None:
    """Feedback requests during the review, with their asks and answers."""
    people, work, rng = context.people, context.work, context.rng
    persons, org = people.persons, people.organization.pk
    today = context.now.date()
    employee = people.logins["employee"]
    mine = [
        e for e in work.engagements if e.cycle is work.review and employee in e.team
    ]
    teams = [e for e in work.engagements if e.cycle is work.review and len(e.team) >= 3]
    requests = Rows(
        FeedbackRequest,
        (
            "requested_by_id",
            "subject_id",
            "engagement_id",
            "message",
            "questions",
            "due_date",
            "anonymous",
            "created_at",
            "cancelled_at",
        ),
        organization_id=org,
    )
    planned: list[tuple[EngagementSpec, int, list[int], bool, bool]] = []
    specs = []
    boss = persons[employee].boss
    if mine:
        # About the employee login: anonymous with four asked, named by their manager.
        specs.append((mine[0], employee, employee, True, 4))
        if boss is not None:
            specs.append((mine[-1], employee, boss, False, 3))
        # Asked of the employee login, about a teammate.
        mate = next(i for i in mine[0].team if i != employee)
        specs.append((mine[0], mate, mate, False, 0))
    # Asked by the manager login, about a direct report: their own requests at every
    # size.
    manager_login = people.logins["manager"]
    for engagement in work.engagements:
        if engagement.cycle is not work.review:
            continue
        reports = [i for i in engagement.team if persons[i].boss == manager_login]
        if reports and len(engagement.team) >= 2:
            specs.append((engagement, reports[0], manager_login, False, 2))
            break
    for _ in range(max(3, len(persons) // REQUESTS_PER_EMPLOYEE)):
        if not teams:
            break
        engagement = rng.choice(teams)
        subject = rng.choice(engagement.team)
        roll = rng.random()
        manager = persons[subject].boss
        requester = (
            subject
            if roll < 0.4 or manager is None
            else manager
            if roll < 0.8
            else engagement.reviewer
        )
        specs.append(
            (engagement, subject, requester, rng.random() < ANONYMOUS_SHARE, 3)
        )
    for engagement, subject, requester, anonymous, size in specs:
        others = [i for i in engagement.team if i not in (subject, requester)]
        asked = rng.sample(others, min(len(others), size or 2))
        if size == 0:
            asked = [employee, *[i for i in asked if i != employee][:1]]
        if not asked:
            continue
        created = context.now - timedelta(
            days=rng.randint(2, 20), hours=rng.randint(0, 9)
        )
        cancelled = size and rng.random() < 0.05
        requests.add(
            persons[requester].pk,
            persons[subject].pk,
            engagement.pk,
            "How is the engagement going from where you sit?",
            QUESTIONS if anonymous or rng.random() < 0.5 else "",
            created.date() + timedelta(days=rng.randint(7, 14)),
            anonymous,
            created,
            created + timedelta(days=1) if cancelled else None,
        )
        planned.append((engagement, subject, asked, anonymous, bool(cancelled)))
    request_ids = requests.insert(log)
    asks = Rows(
        FeedbackAsk,
        ("request_id", "requestee_id", "status", "decline_reason", "closed_on"),
        organization_id=org,
    )
    answers = Rows(
        FeedbackAnswer,
        ("id", "request_id", "answers", "submitted_on"),
        organization_id=org,
    )
    named: list[tuple[int, EngagementSpec, int, int]] = []  # ask row, engagement, ...
    for request_id, (engagement, subject, asked, anonymous, cancelled) in zip(
        request_ids, planned, strict=True
    ):
        for number, person in enumerate(asked):
            roll = rng.random()
            if cancelled:
                status = AskStatus.CANCELLED
            elif person == employee:
                status = AskStatus.OPEN
            elif (anonymous and subject == employee and number < 3) or roll < 0.55:
                status = AskStatus.ANSWERED
            elif roll < 0.65:
                status = AskStatus.DECLINED
            else:
                status = AskStatus.OPEN
            closed = None if status == AskStatus.OPEN else today - timedelta(days=1)
            position = asks.add(
                request_id,
                persons[person].pk,
                status,
                DECLINED if status == AskStatus.DECLINED else "",
                closed,
            )
            if status != AskStatus.ANSWERED:
                continue
            if anonymous:
                texts = rng.choice(ANSWERS)
                answers.add(
                    uuid.uuid4(),  # random: ids are global and must not hint
                    request_id,
                    [
                        {"question": q, "answer": a}
                        for q, a in zip(QUESTIONS.splitlines(), texts, strict=True)
                    ],
                    closed,
                )
            else:
                named.append((position, engagement, person, subject))
    ask_ids = asks.insert(log)
    answers.insert(log)
    for position, engagement, author, subject in named:
        when = context.now - timedelta(days=1, hours=rng.randint(0, 8))
        _add(
            context, feedback, author, subject, engagement, when, ask=ask_ids[position]
        )


def _surveys(context: Context, log: Log) -> None:
    """Client surveys of the engagements of every cycle, so satisfaction has a
    trend (in a cycle whose satisfaction weight is 0 they never touch scores): most
    answered (with a rating of everyone staffed), some open, some expired."""
    people, work, rng, now = context.people, context.work, context.rng, context.now
    persons, org = people.persons, people.organization.pk
    surveys = Rows(
        ClientSurvey,
        (
            "engagement_id",
            "contact_name",
            "contact_email",
            "sent_by_id",
            "nonce",
            "sent_at",
            "expires_at",
            "answered_at",
            "overall",
            "comment",
        ),
        organization_id=org,
    )
    teams: list[list[int] | None] = []
    for engagement in work.engagements:
        cycle = engagement.cycle
        if cycle is None or not engagement.team:
            continue
        roll = rng.random()
        contact = rng.choice(CONTACTS)
        email = f"{contact.split()[0].lower()}@client-{engagement.pk}.example"
        sender = persons[engagement.reviewer].pk
        nonce = uuid.uuid4()  # part of the signed link: random, like the model's
        first = max(engagement.start, cycle.start) + timedelta(days=20)
        if roll < 0.6:
            sent = context.moment(first, min(engagement.end, cycle.end))
            answered = min(sent + timedelta(days=2), now)
            surveys.add(
                engagement.pk,
                contact,
                email,
                sender,
                nonce,
                sent,
                sent + timedelta(days=14),
                answered,
                rng.randint(3, 5),
                rng.choice(SURVEY_COMMENTS),
            )
            teams.append(engagement.team)
        elif roll < 0.75:
            sent = now - timedelta(days=rng.randint(1, 6))
            surveys.add(
                engagement.pk,
                contact,
                email,
                sender,
                nonce,
                sent,
                sent + timedelta(days=14),
                None,
                None,
                "",
            )
            teams.append(None)
        elif roll < 0.85:
            sent = context.moment(first, min(engagement.end, cycle.end))
            surveys.add(
                engagement.pk,
                contact,
                email,
                sender,
                nonce,
                sent,
                min(sent + timedelta(days=14), now - timedelta(days=1)),
                None,
                None,
                "",
            )
            teams.append(None)
    ratings = Rows(
        ClientSurveyRating, ("survey_id", "employee_id", "rating"), organization_id=org
    )
    for survey_id, team in zip(surveys.insert(log), teams, strict=True):
        for index in team or []:
            ratings.add(survey_id, persons[index].pk, rng.randint(2, 5))
    ratings.insert(log)
