"""Demo appraisals: last half-year's cycle in review, with evaluations in every state
and finalised, acknowledged appraisals whose scores are explained. Idempotent.

Only the acme demo gets it (it needs the demo logins to act as reviewer, approver, line
manager and employee). Everything goes through the services, so the demo exercises
the real workflow: staffing, goals, check-ins, the move to review (which opens the
appraisals), ratings, submission, approval, return, finalisation and acknowledgement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from appraisals.enums import EvaluationKind, EvaluationStatus, Potential
from appraisals.models import Appraisal, Evaluation
from appraisals.selectors import settings as selectors
from appraisals.services import appraisals as finalisation
from appraisals.services import evaluations as services
from appraisals.services.ratings import RatingInput
from demo.engagements import CheckInAuthors, business_unit_for, staff_consultants
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
    Plan,
    ReviewCycle,
)
from engagements.services.clients import save_client, save_engagement
from engagements.services.competencies import attach_missing_competencies
from engagements.services.cycles import create_cycle, transition_cycle
from engagements.services.plans import activate_plan, add_goal, record_checkin
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization

LOGINS = ("hr", "manager", "reviewer", "approver", "employee")

# (code, name, client, start offset, end offset from the cycle start, status, allocation)
PAST_ENGAGEMENTS = [
    ("ENG-090", "ERP roll-out", "Contoso Bank", 0, 150, EngagementStatus.CLOSED, 60),
    (
        "ENG-091",
        "Pricing analytics",
        "Northwind Traders",
        60,
        240,
        EngagementStatus.ACTIVE,
        40,
    ),
]

# (title, metric, target, unit, direction, weight, actual as share of target)
GOALS = [
    (
        "Deliver the agreed scope",
        "Milestones on time",
        Decimal(90),
        "%",
        Direction.HIGHER,
        60,
    ),
    (
        "Keep rework low",
        "Reopened tickets",
        Decimal(10),
        "tickets",
        Direction.LOWER,
        40,
    ),
]
SHARES = [
    Decimal("1.25"),
    Decimal("0.95"),
    Decimal("1.05"),
    Decimal("0.8"),
    Decimal("0.6"),
]

# The line managers' view of potential on the general reviews, by team position.
POTENTIALS = (Potential.MEDIUM, Potential.HIGH, Potential.LOW)

# What happens to each team member's appraisal, by position in the team.
FINALISED_ACKNOWLEDGED, FINALISED, APPROVED, SUBMITTED, RETURNED, PARTLY_RATED = range(
    6
)


def previous_half_year(today: date) -> tuple[str, date, date]:
    if today.month <= 6:
        return (
            f"{today.year - 1} H2",
            date(today.year - 1, 7, 1),
            date(today.year - 1, 12, 31),
        )
    return f"{today.year} H1", date(today.year, 1, 1), date(today.year, 6, 30)


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
    name, start, end = previous_half_year(timezone.localdate())
    if ReviewCycle.objects.filter(name=name).exists():
        return
    hr = members["hr"]
    cycle = create_cycle(actor=hr, name=name, start_date=start, end_date=end)
    transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.PLANNING)
    team = _staff(hr, cycle, members)
    _plan_goals(hr, cycle, team)
    attach_missing_competencies(cycle=cycle)
    transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.IN_PROGRESS)
    _record_outcomes(cycle)
    transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.REVIEW)
    _evaluate(cycle, team, members)


def _staff(
    hr: Membership, cycle: ReviewCycle, members: dict[str, Membership]
) -> list[Employee]:
    """Staff the demo employee and colleagues of the manager's and the reviewer's units
    on two engagements of that half-year; the reviewer reviews, the approver approves."""
    employee = Employee.objects.get(user=members["employee"].user)
    manager = Employee.objects.get(user=members["manager"].user)
    reviewer = Employee.objects.get(user=members["reviewer"].user)
    approver = Employee.objects.get(user=members["approver"].user)
    colleagues = list(
        Employee.objects.filter(
            is_active=True, line_manager__in=[manager, reviewer], user__isnull=True
        ).order_by("line_manager__code", "code")
    )
    team = [
        employee,
        *colleagues[:3],
        *[c for c in colleagues if c.line_manager_id == reviewer.pk][:2],
    ]
    for index, (
        code,
        title,
        client_name,
        begin,
        finish,
        status,
        allocation,
    ) in enumerate(PAST_ENGAGEMENTS):
        engagement = Engagement.objects.filter(code=code).first()
        if engagement is None:
            client = Client.objects.filter(name=client_name).first() or save_client(
                actor=hr, client=Client(name=client_name)
            )
            engagement = save_engagement(
                actor=hr,
                engagement=Engagement(
                    client=client,
                    code=code,
                    name=title,
                    start_date=cycle.start_date + timedelta(days=begin),
                    end_date=cycle.start_date + timedelta(days=finish),
                    status=status,
                    business_unit=business_unit_for(code),
                    engagement_type=EngagementType.objects.filter(
                        name="Client delivery"
                    ).first(),
                    description=f"{title} for {client_name}.",
                ),
            )
        staffed = team if index == 0 else team[::2]
        staff_consultants(
            hr,
            engagement,
            cycle,
            staffed,
            allocation=Decimal(allocation),
            roles=[
                (reviewer, EngagementRole.REVIEWER),
                (approver, EngagementRole.APPROVER),
            ],
        )
    return team


def _plan_goals(hr: Membership, cycle: ReviewCycle, team: Sequence[Employee]) -> None:
    # Every general plan gets goals too: none enters review without any.
    plans = Plan.objects.filter(
        Q(employee__in=team) | Q(kind=PlanKind.GENERAL), cycle=cycle
    ).order_by("kind", "pk")
    for plan in plans:
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


def _record_outcomes(cycle: ReviewCycle) -> None:
    authors = CheckInAuthors()
    goals = Goal.objects.filter(plan__cycle=cycle).select_related("plan").order_by("pk")
    for number, goal in enumerate(goals):
        share = SHARES[number % len(SHARES)]
        if goal.target_value is None:
            continue
        actual = (
            goal.target_value * share
            if goal.direction == Direction.HIGHER
            else goal.target_value / share
        ).quantize(Decimal("0.01"))
        author = authors.of(goal.plan.employee_id, manager_first=number % 2 == 1)
        if author is None:
            continue
        record_checkin(
            actor=author,
            goal=goal,
            progress=100,
            status=GoalStatus.ACHIEVED if share >= 1 else GoalStatus.MISSED,
            actual_value=actual,
            note="Final figures from the engagement close-out.",
        )


def _evaluate(
    cycle: ReviewCycle, team: Sequence[Employee], members: dict[str, Membership]
) -> None:
    """Walk each team member's evaluations to the state their position calls for."""
    by_user: dict[int | None, Membership] = {m.user_id: m for m in members.values()}
    hr, approver = members["hr"], members["approver"]
    bands = selectors.attainment_bands()
    finalise: list[Appraisal] = []
    acknowledge: list[Appraisal] = []
    for position, person in enumerate(team):
        appraisal = Appraisal.objects.get(cycle=cycle, employee=person)
        evaluations = list(
            Evaluation.objects.filter(appraisal=appraisal)
            .select_related("reviewer", "plan__cycle", "appraisal")
            .order_by("kind", "plan__kind", "pk")
        )
        for evaluation in evaluations:
            writer = (
                by_user.get(evaluation.reviewer.user_id)
                if evaluation.reviewer
                else None
            )
            if writer is None:
                continue  # nobody with a login writes it: it stays a draft
            if evaluation.kind == EvaluationKind.SELF:
                _rate(writer, evaluation, bands, submit=True, note="My own view.")
                continue
            state = position % 6 if position < 6 else PARTLY_RATED
            engagement_plan = evaluation.plan.kind == PlanKind.ENGAGEMENT
            # The line manager's view of potential, on the general review only.
            potential = None if engagement_plan else POTENTIALS[position % 3]
            if state == PARTLY_RATED:
                _rate(
                    writer,
                    evaluation,
                    bands,
                    submit=False,
                    partial=True,
                    potential=potential,
                )
                continue
            if state == SUBMITTED and engagement_plan:
                _rate(writer, evaluation, bands, submit=True)
                continue
            _rate(writer, evaluation, bands, submit=True, potential=potential)
            evaluation.refresh_from_db()
            if state == RETURNED and engagement_plan:
                services.return_evaluation(
                    actor=approver,
                    evaluation=evaluation,
                    comment="Please add examples from the client steering committee.",
                )
                continue
            if state in (SUBMITTED, RETURNED):
                continue
            _approve(evaluation, [approver, hr, members["manager"]])
        if position % 6 in (FINALISED, FINALISED_ACKNOWLEDGED) and position < 6:
            finalise.append(appraisal)
            if position % 6 == FINALISED_ACKNOWLEDGED:
                acknowledge.append(appraisal)
    ready = [a for a in finalise if _all_approved(a)]
    if ready:
        finalisation.finalise_appraisals(actor=hr, appraisals=[a.pk for a in ready])
    for appraisal in acknowledge:
        appraisal.refresh_from_db()
        member = by_user.get(appraisal.employee.user_id)
        if member is not None and appraisal.pk in {a.pk for a in ready}:
            finalisation.acknowledge_appraisal(
                actor=member,
                appraisal=appraisal,
                comment="Thank you: a fair summary of a busy half-year.",
            )


def _approve(evaluation: Evaluation, candidates: Sequence[Membership]) -> None:
    """Approve as the first candidate the workflow accepts (the engagement's approver,
    the line manager's manager, or HR when nobody else may)."""
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


def _all_approved(appraisal: Appraisal) -> bool:
    reviews = Evaluation.objects.filter(appraisal=appraisal, kind=EvaluationKind.REVIEW)
    return (
        reviews.exists()
        and not reviews.exclude(status=EvaluationStatus.APPROVED).exists()
    )


def _rate(
    writer: Membership,
    evaluation: Evaluation,
    bands: list[selectors.Band],
    *,
    submit: bool,
    partial: bool = False,
    note: str = "Solid delivery, well received by the client.",
    potential: str | None = None,
) -> None:
    goals = list(Goal.objects.filter(plan_id=evaluation.plan_id).order_by("pk"))
    goal_ratings = {
        goal.pk: RatingInput(
            value=selectors.suggested_rating(goal.attainment, bands) or Decimal(3),
            comment="Measured against the agreed target.",
        )
        for goal in (goals[:1] if partial else goals)
    }
    items = list(
        evaluation.plan.competencies.order_by("pk").values_list("pk", flat=True)
    )
    competency_ratings = {
        pk: RatingInput(value=Decimal(3 + (number % 2)))
        for number, pk in enumerate(items[:1] if partial else items)
    }
    evaluation.refresh_from_db()
    call = services.submit_evaluation if submit else services.save_evaluation
    call(
        actor=writer,
        evaluation=evaluation,
        version=evaluation.version,
        goal_ratings=goal_ratings,
        competency_ratings=competency_ratings,
        comments=note,
        potential=potential,
    )
