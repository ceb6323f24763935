"""Demo closed cycles: the two half-years before the one in review, each closed with
every appraisal scored and finalised (HR's own excepted: only another HR admin may
finalise it, and acme has one), so reports have trends of three points and more.
Idempotent: a cycle that exists is left alone.

Only acme gets them (the demo logins act as reviewers, approvers and HR). Everything
goes through the services, as in ``demo.appraisals``: cycle moves, staffing, goals,
check-ins, ratings, submission, approval, finalisation, acknowledgement, surveys
and feedback. The reviewers rate differently (the manager login generously, the
reviewer login strictly, HR and the approver in between), and each person's results
drift from one cycle to the next, some up and some down. The moments the workflow
stamps with "now" are then moved back into the cycle's review weeks, as the other
demo seeders move feedback and surveys back.

Runs after ``demo.appraisals`` (which creates the cycle in review), so the demo's
other rows and the pages' "first cycle with appraisals" stay what they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from appraisals.enums import EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, Evaluation, EvaluationApproval
from appraisals.selectors import settings as selectors
from appraisals.services import appraisals as finalisation
from appraisals.services import evaluations as services
from appraisals.services.ratings import RatingInput
from demo.appraisals import LOGINS, previous_half_year
from demo.engagements import (
    CLIENTS,
    CheckInAuthors,
    business_unit_for,
    staff_consultants,
)
from engagements.enums import (
    CycleStatus,
    Direction,
    EngagementRole,
    EngagementStatus,
    GoalStatus,
    PlanKind,
)
from engagements.models import (
    Client,
    Engagement,
    EngagementType,
    Goal,
    GoalCheckIn,
    Plan,
    ReviewCycle,
)
from engagements.services.clients import save_client, save_engagement
from engagements.services.competencies import attach_missing_competencies
from engagements.services.cycles import create_cycle, transition_cycle
from engagements.services.plans import (
    activate_plan,
    add_goal,
    record_checkin,
    update_plan,
)
from feedback.enums import FeedbackKind, Visibility
from feedback.models import ClientSurvey, Feedback
from feedback.selectors.surveys import staffed_employees
from feedback.services import feedback as feedback_services
from feedback.services.surveys import answer_survey
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization

CLOSED_CYCLES = 2
REVIEW_DAYS = 35  # the review ran over the five weeks after the cycle's end

# How each login rates compared with the organisation (points on a 1-5 scale).
LENIENCY = {
    "manager": Decimal("0.6"),
    "reviewer": Decimal("-0.6"),
    "hr": Decimal("0.2"),
}

# (code suffix, name, client index, type, start and end offset from the cycle start,
# reviewer login): three engagements per closed cycle, ended before today.
ENGAGEMENTS = [
    ("1", "Finance close acceleration", 1, "Client delivery", 0, 170, "manager"),
    ("2", "Supply chain resilience", 4, "Client delivery", 20, 175, "reviewer"),
    ("3", "Knowledge base refresh", 3, "Internal improvement", 40, 180, "manager"),
]

# (title, metric, target, unit, direction, weight)
GOALS = [
    (
        "Deliver the agreed scope",
        "Milestones on time",
        Decimal(90),
        "%",
        Direction.HIGHER,
        60,
    ),
    ("Keep rework low", "Reopened tickets", Decimal(8), "tickets", Direction.LOWER, 40),
]

# Client survey overall ratings per engagement, by closed cycle (oldest first): some
# clients grow happier, one less so; the last survey of each stays unanswered.
SURVEY_OVERALL = [[3, 4, 4], [4, 5, 3], [4, 4]]
PREVIOUS_ENGAGEMENTS = ("ENG-090", "ENG-091")  # demo.appraisals' cycle in review
CONTACTS = ["Robin Ashdown", "Nia Castell", "Tomas Brevik"]
SURVEY_COMMENTS = [
    "Dependable team; the weekly reports made steering easy.",
    "Good outcome, though the first month was slow to start.",
    "Excellent workshops and a clean hand-over.",
]

# Feedback per closed cycle: (author login, engagement index or None, kind, visibility, body).
FEEDBACK = [
    (
        "manager",
        0,
        FeedbackKind.PRAISE,
        Visibility.SHARED,
        "The close calendar you drafted cut two days from the month-end.",
    ),
    (
        "approver",
        1,
        FeedbackKind.IMPROVEMENT,
        Visibility.SHARED,
        "Bring the supplier risks to the steering committee before they escalate.",
    ),
    (
        "reviewer",
        1,
        FeedbackKind.PRAISE,
        Visibility.SHARED,
        "Your supplier map was the clearest view the client had ever seen.",
    ),
    (
        "manager",
        2,
        FeedbackKind.NOTE,
        Visibility.MANAGERS_ONLY,
        "Keen to lead a workstream next half-year; worth a stretch assignment.",
    ),
    (
        "manager",
        None,
        FeedbackKind.NOTE,
        Visibility.MANAGERS_ONLY,
        "Asked about the data analysis course; budget it for next cycle.",
    ),
]


@dataclass(frozen=True)
class Cast:
    """The demo logins as memberships and as employees."""

    members: dict[str, Membership]
    people: dict[str, Employee]

    @property
    def hr(self) -> Membership:
        return self.members["hr"]


def closed_half_years(before: date) -> list[tuple[str, date, date]]:
    """The CLOSED_CYCLES half-years before the one starting on ``before``, oldest first."""
    found = []
    end = before - timedelta(days=1)
    for _ in range(CLOSED_CYCLES):
        start = date(end.year, 1 if end.month <= 6 else 7, 1)
        found.append((f"{end.year} H{1 if end.month <= 6 else 2}", start, end))
        end = start - timedelta(days=1)
    return found[::-1]


def seed(organization: Organization) -> None:
    if organization.slug != "acme":
        return
    members = {
        m.user.email.split("@")[0]: m
        for m in Membership.objects.filter(is_active=True).select_related(
            "organization", "user"
        )
    }
    if any(name not in members for name in LOGINS):
        return
    previous = ReviewCycle.objects.filter(
        name=previous_half_year(timezone.localdate())[0]
    ).first()
    if previous is None:
        return
    name_of = {m.user_id: name for name, m in members.items()}
    people = {
        name_of[e.user_id]: e
        for e in Employee.objects.filter(user_id__in=list(name_of))
        if e.user_id is not None
    }
    cast = Cast(members, people)
    for number, (name, start, end) in enumerate(closed_half_years(previous.start_date)):
        if not ReviewCycle.objects.filter(name=name).exists():
            _close(cast, number, name, start, end)
    # The cycle in review gets its clients' answers too, so satisfaction has a
    # point for every half-year.
    unsurveyed = [
        e
        for e in Engagement.objects.filter(code__in=PREVIOUS_ENGAGEMENTS).order_by(
            "code"
        )
        if not ClientSurvey.objects.filter(engagement=e).exists()
    ]
    if unsurveyed:
        _surveys(cast, unsurveyed, CLOSED_CYCLES, until=previous.end_date)


def _close(cast: Cast, number: int, name: str, start: date, end: date) -> None:
    hr = cast.hr
    cycle = create_cycle(actor=hr, name=name, start_date=start, end_date=end)
    transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.PLANNING)
    engagements = _staff(cast, cycle, number)
    _assign_reviewers(cast, cycle)
    _plan_goals(hr, cycle)
    attach_missing_competencies(cycle=cycle)
    transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.IN_PROGRESS)
    _record_outcomes(cycle, number)
    transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.REVIEW)
    _evaluate(cast, cycle, number)
    _finalise(cast, cycle)
    _surveys(cast, engagements, number)
    _feedback(cast, engagements, cycle)
    transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.CLOSED)


def _staff(cast: Cast, cycle: ReviewCycle, number: int) -> list[Engagement]:
    """Three engagements of the half-year, each with five or six consultants (the
    demo employee on the first), reviewed by the manager or reviewer login and
    approved by the approver login."""
    hr = cast.hr
    consultants = list(
        Employee.objects.filter(
            is_active=True,
            job_title__name__in=("Senior Consultant", "Consultant", "Analyst"),
        ).order_by("code")
    )
    engagements = []
    for index, (
        suffix,
        title,
        client_index,
        kind,
        begin,
        finish,
        reviewer,
    ) in enumerate(ENGAGEMENTS):
        code = f"ENG-0{7 + number}{suffix}"
        client_name, industry = CLIENTS[client_index]
        client = Client.objects.filter(name=client_name).first() or save_client(
            actor=hr, client=Client(name=client_name, industry=industry)
        )
        engagement = Engagement.objects.filter(code=code).first() or save_engagement(
            actor=hr,
            engagement=Engagement(
                client=client,
                code=code,
                name=title,
                start_date=cycle.start_date + timedelta(days=begin),
                end_date=cycle.start_date + timedelta(days=finish),
                status=EngagementStatus.CLOSED,
                business_unit=business_unit_for(code),
                engagement_type=EngagementType.objects.filter(name=kind).first(),
                description=f"{title} for {client_name}.",
            ),
        )
        # Teams change from one half-year to the next; the demo employee (the first
        # consultant) is always on the first engagement.
        team = [
            c
            for position, c in enumerate(consultants)
            if (position + (number if position else 0)) % 3 == index
        ][: 6 - index % 2]
        staff_consultants(
            hr,
            engagement,
            cycle,
            team,
            allocation=Decimal(50 + 10 * (index % 2)),
            roles=[
                (cast.people[reviewer], EngagementRole.REVIEWER),
                (cast.people["approver"], EngagementRole.APPROVER),
            ],
        )
        engagements.append(engagement)
    return engagements


def _assign_reviewers(cast: Cast, cycle: ReviewCycle) -> None:
    """Reviewers with a login for the general plans whose line manager has none (HR
    reviews them) and for the head of the organisation (the manager login); the
    manager login approves HR's own review, which nobody else could."""
    with_login = {e.pk for e in cast.people.values()}
    plans = Plan.objects.filter(cycle=cycle, kind=PlanKind.GENERAL).select_related(
        "employee__line_manager", "cycle", "engagement"
    )
    for plan in plans.order_by("employee__code"):
        manager = plan.employee.line_manager
        if plan.employee_id == cast.people["hr"].pk:
            changes = {"approver": cast.people["manager"]}
        elif manager is None:
            changes = {"reviewer": cast.people["manager"]}
        elif manager.pk not in with_login:
            changes = {"reviewer": cast.people["hr"]}
        else:
            continue
        update_plan(actor=cast.hr, plan=plan, version=plan.version, **changes)


def _plan_goals(hr: Membership, cycle: ReviewCycle) -> None:
    for plan in Plan.objects.filter(cycle=cycle).order_by("kind", "pk"):
        for title, metric, target, unit, direction, weight in GOALS:
            add_goal(
                actor=hr,
                plan=plan,
                title=title,
                metric=metric,
                target_value=target,
                unit=unit,
                direction=direction,
                weight=Decimal(weight),
                planned_start=plan.start_date,
                due_date=plan.end_date,
                activities=[],
            )
        activate_plan(actor=hr, plan=plan)


def level(employee: Employee, number: int) -> Decimal:
    """How well ``employee`` did in closed cycle ``number`` (0 the oldest), in points
    around the middle of the scale: a steady part by person and a drift per cycle,
    up for some people, down for others (deterministic, by employee code)."""
    code = int(employee.code[1:])
    steady = Decimal((code * 7) % 9 - 4) / 5  # -0.8 .. 0.8
    drift = Decimal((code * 3) % 5 - 2) * Decimal("0.35")  # -0.7 .. 0.7 per cycle
    return steady + drift * (number - Decimal("0.5"))


def _record_outcomes(cycle: ReviewCycle, number: int) -> None:
    authors = CheckInAuthors()
    goals = Goal.objects.filter(plan__cycle=cycle).select_related("plan__employee")
    for position, goal in enumerate(goals.order_by("pk")):
        assert goal.target_value is not None  # noqa: S101 - GOALS all have targets
        share = (
            1 + level(goal.plan.employee, number) / 4 + Decimal(position % 3 - 1) / 20
        )
        actual = (
            goal.target_value * share
            if goal.direction == Direction.HIGHER
            else goal.target_value / share
        ).quantize(Decimal("0.01"))
        author = authors.of(goal.plan.employee_id, manager_first=position % 2 == 1)
        if author is None:
            continue
        record_checkin(
            actor=author,
            goal=goal,
            progress=100,
            status=GoalStatus.ACHIEVED if share >= 1 else GoalStatus.MISSED,
            actual_value=actual,
            note="Final figures from the half-year close-out.",
        )


def _evaluate(cast: Cast, cycle: ReviewCycle, number: int) -> None:
    """Every review rated by its reviewer, submitted and approved; the logins' own
    self-assessments submitted; the others' left unwritten."""
    login_of = {m.user_id: name for name, m in cast.members.items()}
    bands = selectors.attainment_bands()
    evaluations = (
        Evaluation.objects.filter(plan__cycle=cycle)
        .select_related("reviewer", "employee", "plan__cycle", "appraisal")
        .order_by("kind", "employee__code", "plan__kind", "pk")
    )
    approvers = [cast.members[n] for n in ("approver", "hr", "manager", "reviewer")]
    for position, evaluation in enumerate(evaluations):
        reviewer = evaluation.reviewer
        writer = (
            login_of.get(reviewer.user_id)
            if reviewer is not None and reviewer.user_id is not None
            else None
        )
        if writer is None:
            continue  # a self-assessment of someone without a login
        self_assessment = evaluation.kind == EvaluationKind.SELF
        bias = Decimal("0.5") if self_assessment else LENIENCY.get(writer, Decimal(0))
        _rate(
            cast.members[writer],
            evaluation,
            bands,
            level(evaluation.employee, number) + bias,
            position,
        )
        if not self_assessment:
            evaluation.refresh_from_db()
            _approve(evaluation, approvers)


def _rate(
    writer: Membership,
    evaluation: Evaluation,
    bands: list[selectors.Band],
    points: Decimal,
    seed: int,
) -> None:
    """Goals at the rating their attainment suggests; competencies around the
    middle of the scale moved by ``points``, with a little noise per item."""
    goals = Goal.objects.filter(plan_id=evaluation.plan_id).order_by("pk")
    goal_ratings = {
        goal.pk: RatingInput(
            value=selectors.suggested_rating(goal.attainment, bands) or Decimal(3),
            comment="Measured against the agreed target.",
        )
        for goal in goals
    }
    items = evaluation.plan.competencies.order_by("pk").values_list("pk", flat=True)
    competency_ratings = {}
    for number, pk in enumerate(items):
        noise = Decimal((seed + number) % 3 - 1) * Decimal("0.4")
        value = (3 + points + noise).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        competency_ratings[pk] = RatingInput(
            value=min(max(value, Decimal(1)), Decimal(5))
        )
    services.submit_evaluation(
        actor=writer,
        evaluation=evaluation,
        version=evaluation.version,
        goal_ratings=goal_ratings,
        competency_ratings=competency_ratings,
        comments="A fair picture of the half-year.",
    )


def _approve(evaluation: Evaluation, candidates: Sequence[Membership]) -> None:
    for member in candidates:
        try:
            services.approve_evaluation(
                actor=member, evaluation=evaluation, comment="Agreed."
            )
        except (DomainError, PermissionDenied):
            continue
        evaluation.refresh_from_db()
        if evaluation.status == EvaluationStatus.APPROVED:
            return


def _finalise(cast: Cast, cycle: ReviewCycle) -> None:
    """Finalise every ready appraisal HR may (not HR's own); the logins acknowledge
    theirs. Then move the workflow's moments back into the review weeks."""
    hr = cast.hr
    appraisals = Appraisal.objects.filter(cycle=cycle).exclude(
        employee=cast.people["hr"]
    )
    ready = [
        a.pk
        for a in appraisals
        if not Evaluation.objects.filter(appraisal=a, kind=EvaluationKind.REVIEW)
        .exclude(status=EvaluationStatus.APPROVED)
        .exists()
    ]
    finalisation.finalise_appraisals(actor=hr, appraisals=ready)
    for name in ("employee", "manager", "reviewer", "approver"):
        appraisal = Appraisal.objects.filter(
            cycle=cycle, employee=cast.people[name], pk__in=ready
        ).first()
        if appraisal is not None:
            finalisation.acknowledge_appraisal(
                actor=cast.members[name],
                appraisal=appraisal,
                comment="Thank you; a fair summary of the half-year.",
            )
    _backdate_reviews(cycle)


def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _backdate_reviews(cycle: ReviewCycle) -> None:
    """Reviews opened the day after the cycle ended and were due two weeks later;
    submissions, approvals, finalisation and acknowledgements are spread over the
    review weeks."""
    opened = cycle.end_date + timedelta(days=1)
    evaluations = Evaluation.objects.filter(plan__cycle=cycle).order_by("pk")
    for position, evaluation in enumerate(evaluations):
        submitted = _at(opened + timedelta(days=2 + position % 17), 9 + position % 8)
        Evaluation.objects.filter(pk=evaluation.pk).update(
            created_at=_at(opened, 9),
            due_date=opened + timedelta(days=14),
            submitted_at=submitted if evaluation.submitted_at else None,
            approved_at=submitted + timedelta(days=1 + position % 4)
            if evaluation.approved_at
            else None,
        )
        EvaluationApproval.objects.filter(evaluation=evaluation).update(
            decided_at=submitted + timedelta(days=1 + position % 4)
        )
    finalised = _at(opened + timedelta(days=REVIEW_DAYS - 7), 15)
    appraisals = Appraisal.objects.filter(cycle=cycle)
    appraisals.update(created_at=_at(opened, 9))
    appraisals.filter(finalized_at__isnull=False).update(finalized_at=finalised)
    appraisals.filter(acknowledged_at__isnull=False).update(
        acknowledged_at=finalised + timedelta(days=3)
    )
    GoalCheckIn.objects.filter(goal__plan__cycle=cycle).update(
        created_at=_at(cycle.end_date - timedelta(days=3), 16)
    )


def _surveys(
    cast: Cast,
    engagements: Sequence[Engagement],
    number: int,
    until: date | None = None,
) -> None:
    """Per engagement three surveys over its months (up to ``until``): two
    answered, the last sent but never answered (it expired)."""
    sender = cast.people["hr"]
    now = timezone.now()
    for index, engagement in enumerate(engagements):
        team = list(staffed_employees(engagement))
        last = min(engagement.end_date, until or engagement.end_date)
        span = (last - engagement.start_date).days
        overall = SURVEY_OVERALL[number][index]
        for step in range(3):
            contact = CONTACTS[(index + step) % len(CONTACTS)]
            survey = ClientSurvey.objects.create(
                organization=engagement.organization,
                engagement=engagement,
                contact_name=contact,
                contact_email=f"{contact.split()[0].lower()}@client{index}.example",
                sent_by=sender,
                sent_at=now,
                expires_at=now + timedelta(days=14),
            )
            answered = step < 2
            if answered:
                answer_survey(
                    survey,
                    overall=min(5, overall + step % 2 * (1 if overall < 4 else 0)),
                    ratings={
                        person.pk: min(5, max(1, 3 + int(level(person, number) * 2)))
                        for person in team
                    },
                    comment=SURVEY_COMMENTS[(index + step) % len(SURVEY_COMMENTS)],
                )
            sent = _at(engagement.start_date + timedelta(days=span * (step + 1) // 4))
            ClientSurvey.objects.filter(pk=survey.pk).update(
                sent_at=sent,
                expires_at=sent + timedelta(days=14),
                answered_at=sent + timedelta(days=3) if answered else None,
            )


def _feedback(
    cast: Cast, engagements: Sequence[Engagement], cycle: ReviewCycle
) -> None:
    """Feedback of every kind from the logins about consultants without one, dated
    inside the half-year."""
    for position, (author, index, kind, visibility, body) in enumerate(FEEDBACK):
        engagement = engagements[index] if index is not None else None
        if engagement is not None:
            subject = (
                Employee.objects.filter(
                    plans__engagement=engagement, plans__kind=PlanKind.ENGAGEMENT
                )
                .filter(user__isnull=True)
                .order_by("code")[position % 2 :]
                .first()
            )
        else:
            subject = (
                Employee.objects.filter(line_manager=cast.people["manager"])
                .filter(user__isnull=True)
                .order_by("code")
                .first()
            )
        if subject is None:
            continue
        feedback = feedback_services.give_feedback(
            actor=cast.members[author],
            subject=subject,
            engagement=engagement,
            kind=kind,
            body=body,
            visibility=visibility,
        )
        Feedback.objects.filter(pk=feedback.pk).update(
            created_at=_at(cycle.start_date + timedelta(days=40 + 25 * position), 11)
        )
