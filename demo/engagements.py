"""Demo data for engagement planning: cycles, clients, engagement types, engagements,
staffing, plans with competencies, goals in every state, check-ins, roles and a role
rule. Idempotent per organisation.

The competency sets come from the competencies seeder, which runs first; they are
looked up by name and may be missing (plans then simply get no competencies)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from competencies.models import CompetencySet
from engagements.enums import (
    CycleStatus,
    Direction,
    EngagementRole,
    EngagementStatus,
    GoalStatus,
    PlanKind,
    PlanStatus,
)
from engagements.models import (
    Client,
    Engagement,
    EngagementType,
    Goal,
    Plan,
    PlanTemplate,
    ReviewCycle,
    RoleRule,
    TemplateGoal,
)
from engagements.services.clients import (
    save_client,
    save_engagement,
    save_engagement_type,
)
from engagements.services.competencies import attach_missing_competencies
from engagements.services.cycles import create_cycle, transition_cycle
from engagements.services.plans import (
    activate_plan,
    add_goal,
    record_checkin,
    update_goal,
)
from engagements.services.roles import assign_role, create_role_rule
from engagements.services.staffing import default_plan_dates, staff_employees
from engagements.services.templates import apply_template
from organizations.enums import Role
from organizations.models import (
    BusinessUnit,
    Employee,
    JobTitle,
    Membership,
    Organization,
)

CLIENTS = [
    ("Northwind Traders", "Retail"),
    ("Contoso Bank", "Financial services"),
    ("Fabrikam Health", "Healthcare"),
    ("Tailspin Airlines", "Transport"),
    ("Wide World Importers", "Logistics"),
    ("Litware Energy", "Energy"),
]

# (code, name, client index, start offset days from cycle start, length days, status)
ENGAGEMENTS = [
    ("ENG-101", "Cloud migration", 0, -60, 240, EngagementStatus.ACTIVE),
    ("ENG-102", "Core banking assessment", 1, 0, 150, EngagementStatus.ACTIVE),
    ("ENG-103", "Patient portal rebuild", 2, 30, 200, EngagementStatus.ACTIVE),
    ("ENG-104", "Crew scheduling optimisation", 3, 10, 120, EngagementStatus.ACTIVE),
    ("ENG-105", "Warehouse analytics", 4, 45, 90, EngagementStatus.ACTIVE),
    ("ENG-106", "Grid maintenance planning", 5, 20, 160, EngagementStatus.ACTIVE),
    ("ENG-107", "Loyalty programme redesign", 0, 90, 120, EngagementStatus.ACTIVE),
    ("ENG-108", "Regulatory reporting", 1, -120, 150, EngagementStatus.CLOSED),
    ("ENG-109", "Data platform discovery", 2, 150, 120, EngagementStatus.PLANNED),
    ("ENG-110", "Fleet telemetry pilot", 3, 60, 75, EngagementStatus.ACTIVE),
]

GOAL_LIBRARY = [
    (
        "Deliver milestones on time",
        "Milestones delivered on time",
        Decimal(95),
        "%",
        Direction.HIGHER,
    ),
    (
        "Keep defect escape rate low",
        "Defects found after release",
        Decimal(5),
        "defects",
        Direction.LOWER,
    ),
    ("Client satisfaction", "Client CSAT", Decimal("4.5"), "/5", Direction.HIGHER),
    ("Grow the account", "New work won", Decimal(150000), "EUR", Direction.HIGHER),
    ("Reduce cycle time", "Lead time for changes", Decimal(3), "days", Direction.LOWER),
    ("Coach junior colleagues", "", None, "", Direction.HIGHER),
]

# Engagement types and the competency set each uses (by name).
ENGAGEMENT_TYPES = [
    ("Client delivery", "Client delivery"),
    ("Internal improvement", "Internal improvement"),
]
# Demo engagements of the "Internal improvement" type; the others deliver to clients.
INTERNAL_CODES = {"ENG-104", "ENG-106", "ENG-110"}
SMALL_CODE = "GX-1"

# Goal states in rotation: (status, progress %, actual as share of target or None, overdue?)
STATES = [
    (GoalStatus.ON_TRACK, 55, Decimal("0.9"), False),
    (GoalStatus.AT_RISK, 30, Decimal("0.6"), False),
    (GoalStatus.BEHIND, 20, Decimal("0.4"), True),
    (GoalStatus.ACHIEVED, 100, Decimal("1.2"), False),
    (GoalStatus.MISSED, 70, Decimal("0.7"), False),
    (GoalStatus.NOT_STARTED, 0, None, False),
]


def business_unit_for(code: str) -> BusinessUnit | None:
    """The business unit that runs demo engagement ``code``: the organisation's units
    below the top one (the top one where there are none) in rotation by the code's
    digits, so every unit runs some engagements. None when there is no unit."""
    units = list(
        BusinessUnit.objects.filter(parent__isnull=False).order_by("name")
    ) or list(BusinessUnit.objects.order_by("name"))
    if not units:
        return None
    number = int("".join(ch for ch in code if ch.isdigit()) or "0")
    return units[number % len(units)]


class CheckInAuthors:
    """Who writes the demo's check-ins: the person the plan is for when they have a
    login, else the nearest manager up their line who has one (the head of the
    organisation has), never HR on someone else's behalf. Two queries when built."""

    def __init__(self) -> None:
        self._members = {
            m.user_id: m
            for m in Membership.objects.filter(is_active=True).select_related(
                "organization", "user"
            )
        }
        self._people: dict[int, tuple[int | None, int | None]] = {
            pk: (user_id, manager_id)
            for pk, user_id, manager_id in Employee.objects.values_list(
                "pk", "user_id", "line_manager_id"
            )
        }

    def of(self, employee_id: int, *, manager_first: bool = False) -> Membership | None:
        """The member who records progress on ``employee_id``'s goals: with
        ``manager_first`` (final figures) their line manager's side before
        themself. None when nobody in the line has a login."""
        user_id, manager_id = self._people.get(employee_id, (None, None))
        line = self._line_from(manager_id)
        order = [*line, user_id] if manager_first else [user_id, *line]
        for candidate in order:
            if candidate is not None and candidate in self._members:
                return self._members[candidate]
        return None

    def _line_from(self, employee_id: int | None) -> list[int | None]:
        users: list[int | None] = []
        seen: set[int] = set()
        while employee_id is not None and employee_id not in seen:
            seen.add(employee_id)
            user_id, employee_id = self._people.get(employee_id, (None, None))
            users.append(user_id)
        return users


def _half_year(today: date) -> tuple[str, date, date]:
    if today.month <= 6:
        return f"{today.year} H1", date(today.year, 1, 1), date(today.year, 6, 30)
    return f"{today.year} H2", date(today.year, 7, 1), date(today.year, 12, 31)


def seed(organization: Organization) -> None:
    """Seed engagement planning for the demo organisations (acme fully, globex lightly)."""
    actor = (
        Membership.objects.filter(role=Role.HR_ADMIN, is_active=True)
        .select_related("organization", "user")
        .first()
    )
    if actor is None:
        return
    today = timezone.localdate()
    name, start, end = _half_year(today)
    types = _engagement_types(actor)
    cycle = ReviewCycle.objects.filter(name=name).first()
    if cycle is not None:
        # Already seeded for this half-year; catch up with competencies added since.
        _type_engagements(types)
        _unit_engagements()
        attach_missing_competencies(cycle=cycle)
        return
    cycle = create_cycle(actor=actor, name=name, start_date=start, end_date=end)
    transition_cycle(actor=actor, cycle=cycle, to=CycleStatus.PLANNING)
    if organization.slug == "acme":
        _seed_acme(actor, cycle, today)
    else:
        _seed_small(actor, cycle)
    _type_engagements(types)
    attach_missing_competencies(cycle=cycle)
    # Next half-year waits in draft so HR can try the workflow.
    next_start = end + timedelta(days=1)
    next_name = _half_year(next_start)[0]
    if not ReviewCycle.objects.filter(name=next_name).exists():
        create_cycle(
            actor=actor,
            name=next_name,
            start_date=next_start,
            end_date=_half_year(next_start)[2],
        )


def _engagement_types(actor: Membership) -> dict[str, EngagementType]:
    """The demo engagement types, each with its competency set when that exists."""
    types = {}
    for type_name, set_name in ENGAGEMENT_TYPES:
        found = EngagementType.objects.filter(name=type_name).first()
        competency_set = CompetencySet.objects.filter(name=set_name).first()
        if found is None:
            found = save_engagement_type(
                actor=actor, name=type_name, competency_set=competency_set
            )
        elif found.competency_set_id is None and competency_set is not None:
            found = save_engagement_type(
                actor=actor,
                name=type_name,
                competency_set=competency_set,
                engagement_type=found,
            )
        types[type_name] = found
    return types


def _type_of(code: str, types: dict[str, EngagementType]) -> EngagementType:
    name = "Internal improvement" if code in INTERNAL_CODES else "Client delivery"
    return types[name]


def _type_engagements(types: dict[str, EngagementType]) -> None:
    """Give the demo engagements without a type theirs."""
    codes = [spec[0] for spec in ENGAGEMENTS] + [SMALL_CODE]
    for engagement in Engagement.objects.filter(
        engagement_type__isnull=True, code__in=codes
    ):
        _give_type(engagement, types)


def _unit_engagements() -> None:
    """Give the engagements seeded before they had a business unit theirs."""
    for engagement in Engagement.objects.filter(business_unit__isnull=True):
        engagement.business_unit = business_unit_for(engagement.code)
        if engagement.business_unit is not None:
            engagement.save(update_fields=["business_unit"])


def _give_type(engagement: Engagement, types: dict[str, EngagementType]) -> None:
    if engagement.engagement_type_id is None:
        engagement.engagement_type = _type_of(engagement.code, types)
        engagement.save(update_fields=["engagement_type"])


def _engagements(
    actor: Membership, cycle: ReviewCycle, specs: list[Any]
) -> list[Engagement]:
    clients = []
    for client_name, industry in CLIENTS:
        client = Client.objects.filter(name=client_name).first() or save_client(
            actor=actor,
            client=Client(
                name=client_name,
                industry=industry,
                contact_email=f"contact@{client_name.split()[0].lower()}.example",
            ),
        )
        clients.append(client)
    engagements = []
    for code, name, client_index, offset, length, status in specs:
        engagement = Engagement.objects.filter(code=code).first()
        if engagement is None:
            begin = cycle.start_date + timedelta(days=offset)
            engagement = save_engagement(
                actor=actor,
                engagement=Engagement(
                    client=clients[client_index],
                    code=code,
                    name=name,
                    start_date=begin,
                    end_date=begin + timedelta(days=length),
                    status=status,
                    business_unit=business_unit_for(code),
                    description=f"{name} for {clients[client_index].name}.",
                ),
            )
        engagements.append(engagement)
    # Typed before staffing, so the plans get the competencies of their type's set.
    types = _engagement_types(actor)
    for engagement in engagements:
        _give_type(engagement, types)
    return engagements


def _seed_acme(actor: Membership, cycle: ReviewCycle, today: date) -> None:
    em_title = JobTitle.objects.filter(name="Engagement Manager").first()
    if em_title and not RoleRule.objects.filter(job_title=em_title).exists():
        create_role_rule(actor=actor, job_title=em_title, role=EngagementRole.REVIEWER)
    template = _template(actor)
    engagements = _engagements(actor, cycle, ENGAGEMENTS)
    people = list(
        Employee.objects.filter(is_active=True)
        .select_related("job_title", "user")
        .order_by("code")
    )
    by_email = {p.user.email: p for p in people if p.user}
    employee = by_email["employee@acme.test"]
    manager = by_email["manager@acme.test"]
    reviewer = by_email["reviewer@acme.test"]
    approver = by_email["approver@acme.test"]
    consultants = [
        p
        for p in people
        if p.job_title
        and p.job_title.name in ("Senior Consultant", "Consultant", "Analyst")
        and p.pk != employee.pk
    ]
    open_engagements = [e for e in engagements if e.status != EngagementStatus.CLOSED]
    for index, engagement in enumerate(open_engagements):
        if default_plan_dates(engagement, cycle) is None:
            continue
        team = consultants[index * 3 : index * 3 + 3]
        lead = manager if index % 2 == 0 else reviewer
        if index < 2:
            team = [employee, *team]  # overlapping allocations for the demo employee
        staff_employees(
            actor=actor,
            engagement=engagement,
            cycle=cycle,
            employees=[lead],
            allocation=Decimal(30),
            role_title="Engagement manager",
        )
        roles = [(lead, EngagementRole.PLANNER), (approver, EngagementRole.APPROVER)]
        if index % 3 == 0 and team:
            roles.append((team[-1], EngagementRole.CONTRIBUTOR))
        staff_consultants(
            actor,
            engagement,
            cycle,
            team,
            allocation=Decimal(60) if index < 2 else Decimal(50),
            roles=roles,
        )
    plans = list(
        Plan.objects.filter(cycle=cycle)
        .select_related("engagement", "employee", "cycle")
        .order_by("kind", "engagement__code", "employee__code")
    )
    engagement_plans = [p for p in plans if p.kind == PlanKind.ENGAGEMENT]
    # Leave a few engagement plans empty or unbalanced, so every planning state shows.
    for number, plan in enumerate(engagement_plans):
        if number % 7 == 6:
            continue  # draft, no goals yet
        if number % 5 == 0:
            apply_template(actor=actor, template=template, plans=[plan])
        else:
            _goals(actor, plan, number, today, balanced=number % 9 != 4)
    general = [p for p in plans if p.kind == PlanKind.GENERAL]
    for number, plan in enumerate(general[:12]):
        _goals(actor, plan, number + 3, today, balanced=True)
    transition_cycle(actor=actor, cycle=cycle, to=CycleStatus.IN_PROGRESS)
    _progress(actor, cycle, today)


def staff_consultants(
    actor: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    team: Sequence[Employee],
    *,
    allocation: Decimal,
    roles: Sequence[tuple[Employee, EngagementRole]],
) -> None:
    """Staff ``team`` on ``engagement`` for ``cycle`` as consultants at ``allocation``
    percent, then give each person of ``roles`` their role on the engagement, in
    that order."""
    staff_employees(
        actor=actor,
        engagement=engagement,
        cycle=cycle,
        employees=team,
        allocation=allocation,
        role_title="Consultant",
    )
    for employee, role in roles:
        assign_role(actor=actor, engagement=engagement, employee=employee, role=role)


def _template(actor: Membership) -> PlanTemplate:
    template = PlanTemplate.objects.filter(name="Consulting delivery").first()
    if template is not None:
        return template
    template = PlanTemplate.objects.create(
        organization=actor.organization,
        name="Consulting delivery",
        description="Standard goals for consultants on a client engagement.",
        goal_weight=Decimal(70),
    )
    for position, (
        title,
        metric,
        target,
        unit,
        direction,
        weight,
        activities,
    ) in enumerate(
        [
            (
                "Deliver agreed scope",
                "Milestones delivered on time",
                Decimal(90),
                "%",
                Direction.HIGHER,
                50,
                "Weekly status report\nMilestone sign-off",
            ),
            (
                "Delight the client",
                "Client CSAT",
                Decimal("4.5"),
                "/5",
                Direction.HIGHER,
                30,
                "Monthly client check-in",
            ),
            (
                "Share knowledge",
                "Knowledge articles published",
                Decimal(3),
                "articles",
                Direction.HIGHER,
                20,
                "Write one article per quarter",
            ),
        ]
    ):
        TemplateGoal.objects.create(
            organization=actor.organization,
            template=template,
            title=title,
            metric=metric,
            target_value=target,
            unit=unit,
            direction=direction,
            weight=Decimal(weight),
            key_activities=activities,
            position=position,
        )
    return template


def _goals(
    actor: Membership, plan: Plan, seed: int, today: date, balanced: bool
) -> None:
    weights = (
        [Decimal(40), Decimal(35), Decimal(25)]
        if balanced
        else [Decimal(50), Decimal(30)]
    )
    for offset, weight in enumerate(weights):
        title, metric, target, unit, direction = GOAL_LIBRARY[
            (seed + offset) % len(GOAL_LIBRARY)
        ]
        # Due dates spread over the plan's last weeks, so only "behind" goals are late.
        due = max(
            plan.start_date,
            plan.end_date - timedelta(days=14 * (len(weights) - 1 - offset)),
        )
        add_goal(
            actor=actor,
            plan=plan,
            title=title,
            metric=metric,
            target_value=target,
            unit=unit,
            direction=direction,
            weight=weight,
            planned_start=plan.start_date,
            due_date=due,
            activities=["Agree the measure with the client", "Mid-point review"][
                : offset + 1
            ],
        )
    if balanced:
        activate_plan(actor=actor, plan=plan)


def _progress(actor: Membership, cycle: ReviewCycle, today: date) -> None:
    authors = CheckInAuthors()
    goals = list(
        Goal.objects.filter(plan__cycle=cycle, plan__status=PlanStatus.ACTIVE)
        .select_related("plan")
        .order_by("pk")
    )
    for number, goal in enumerate(goals):
        status, progress, share, overdue = STATES[number % len(STATES)]
        if status == GoalStatus.NOT_STARTED:
            continue
        actual = None
        if share is not None and goal.target_value is not None:
            if goal.direction == Direction.HIGHER:
                actual = (goal.target_value * share).quantize(Decimal("0.01"))
            else:
                actual = (goal.target_value / share).quantize(Decimal("0.01"))
        if overdue and goal.due_date and goal.due_date >= today:
            past = max(goal.plan.start_date, today - timedelta(days=7))
            if past < today:
                update_goal(actor=actor, goal=goal, version=goal.version, due_date=past)
                goal.refresh_from_db()
        author = authors.of(goal.plan.employee_id)
        if author is None:
            continue
        record_checkin(
            actor=author,
            goal=goal,
            progress=progress,
            status=status,
            actual_value=actual,
            note="Update from the weekly status meeting.",
        )


def _seed_small(actor: Membership, cycle: ReviewCycle) -> None:
    client = Client.objects.filter(name="Initech").first() or save_client(
        actor=actor, client=Client(name="Initech", industry="Software")
    )
    engagement = Engagement.objects.filter(code=SMALL_CODE).first() or save_engagement(
        actor=actor,
        engagement=Engagement(
            client=client,
            code=SMALL_CODE,
            name="Plant automation",
            start_date=cycle.start_date,
            end_date=cycle.end_date,
            status=EngagementStatus.ACTIVE,
            business_unit=business_unit_for(SMALL_CODE),
        ),
    )
    _give_type(engagement, _engagement_types(actor))
    engineers = list(
        Employee.objects.filter(job_title__name="Engineer").order_by("code")[:3]
    )
    staff_employees(
        actor=actor,
        engagement=engagement,
        cycle=cycle,
        employees=engineers,
        allocation=Decimal(80),
    )
