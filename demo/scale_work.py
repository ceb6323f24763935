"""The work of a synthetic world (``demo.scale``): three review cycles, engagements
with their roles and the django-guardian permissions those grant, and staffing —
every active employee's general plan and about two engagement plans per cycle, with
competencies, goals, key activities and check-ins.

The cycles are the three half-years before today: the latest in review (every plan
locked, as the move to review leaves them), the two before it closed. Each cycle has
about one engagement per four staffable people (everyone below the practice
directors); an engagement manager leads it (planner and reviewer) and their line
manager approves. The manager login reviews the engagements the employee login is
staffed on (their approver is the head of the organisation). Senior consultants get
the contributor role on the engagements they are staffed on (the catalogue's role
rule). Dates follow the day the command runs; everything else follows the seed.

Query cost: per table written, one query plus two per batch of
``demo.scale_rows.BATCH`` rows, and two for the permission ids.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from guardian.models import UserObjectPermission

from demo.scale_catalog import INTERNAL, Catalog
from demo.scale_people import HR_INDEX, People
from demo.scale_plans import PlanSpec, write_plans
from demo.scale_rows import Log, Rows
from engagements.enums import (
    AssignmentSource,
    CycleStatus,
    EngagementRole,
    EngagementStatus,
    Weighting,
)
from engagements.models import (
    ROLE_PERMISSIONS,
    Engagement,
    ReviewCycle,
    RoleAssignment,
)

PEOPLE_PER_ENGAGEMENT = 4  # each person has about two plans: teams of about eight
FUTURE_PER_EMPLOYEE = 250  # planned engagements that start after today
TOPICS = [
    "Cloud migration",
    "Core banking assessment",
    "Patient portal rebuild",
    "Crew scheduling optimisation",
    "Warehouse analytics",
    "Grid maintenance planning",
    "Loyalty programme redesign",
    "Regulatory reporting",
    "Data platform discovery",
    "Fleet telemetry pilot",
    "ERP roll-out",
    "Pricing analytics",
    "Customer journey redesign",
    "Cost reduction programme",
    "Cyber security review",
    "Supply chain resilience",
    "Finance close acceleration",
    "Digital onboarding",
    "Operating model design",
    "Contact centre automation",
]
INTERNAL_TOPICS = [
    "Knowledge base refresh",
    "Graduate programme",
    "Delivery method update",
    "Internal tooling upgrade",
]
INTERNAL_SHARE = 0.15


@dataclass
class Cycle:
    pk: int
    name: str
    start: date
    end: date
    closed: bool
    csat: Decimal


@dataclass
class EngagementSpec:
    """An engagement as planned; ``team`` holds the staffed people's indexes."""

    pk: int
    code: str
    cycle: Cycle | None
    start: date
    end: date
    set_id: int
    lead: int
    reviewer: int
    approver: int | None
    team: list[int] = field(default_factory=list)


@dataclass
class Work:
    today: date
    cycles: list[Cycle]  # oldest first; the last is in review
    engagements: list[EngagementSpec]
    plans: list[PlanSpec] = field(default_factory=list)

    @property
    def review(self) -> Cycle:
        return self.cycles[-1]


def half_years(today: date) -> list[tuple[str, date, date]]:
    """The three half-years before the one ``today`` is in, oldest first."""
    year, half = (today.year - 1, 2) if today.month <= 6 else (today.year, 1)
    found = []
    for _ in range(3):
        start = date(year, 1 if half == 1 else 7, 1)
        end = date(year, 6, 30) if half == 1 else date(year, 12, 31)
        found.append((f"{year} H{half}", start, end))
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    return found[::-1]


def build_work(
    people: People, catalog: Catalog, rng: random.Random, today: date, log: Log
) -> Work:
    """Write cycles, engagements, roles, permissions and every plan with its
    content; returns the plan of it all for the review and feedback stages."""
    org = people.organization.pk
    rows = Rows(
        ReviewCycle,
        (
            "name",
            "start_date",
            "end_date",
            "status",
            "general_weight",
            "rating_scale_id",
            "engagement_weighting",
            "csat_weight",
        ),
        organization_id=org,
    )
    specs = half_years(today)
    for number, (name, start, end) in enumerate(specs):
        in_review = number == len(specs) - 1
        rows.add(
            name,
            start,
            end,
            CycleStatus.REVIEW if in_review else CycleStatus.CLOSED,
            people.organization.general_weight,
            catalog.scale_id,
            Weighting.EFFORT,
            Decimal(0) if number == 0 else Decimal(10),
        )
    cycles = [
        Cycle(pk, name, start, end, closed=number < len(specs) - 1, csat=csat)
        for number, (pk, (name, start, end), csat) in enumerate(
            zip(
                rows.insert(log),
                specs,
                [Decimal(0), Decimal(10), Decimal(10)],
                strict=True,
            )
        )
    ]
    work = Work(today=today, cycles=cycles, engagements=[])
    for cycle in cycles:
        work.engagements += _staff_cycle(people, catalog, cycle, rng, work)
    work.engagements += _future(people, catalog, rng, today)
    _write_engagements(people, catalog, work, rng, log)
    _write_roles(people, catalog, work, log)
    work.plans = write_plans(people, catalog, work, rng, log)
    return work


def _leads(people: People) -> list[int]:
    """Engagement managers who may lead: active, below the directors, with reports;
    the most senior first."""
    return [
        p.index
        for p in sorted(people.persons, key=lambda p: (p.depth, p.index))
        if p.is_active and p.depth >= 2 and p.has_reports
    ]


def _set_of(catalog: Catalog, internal: bool) -> int:
    return catalog.types[INTERNAL if internal else "Client delivery"][1]


def _staff_cycle(
    people: People, catalog: Catalog, cycle: Cycle, rng: random.Random, work: Work
) -> list[EngagementSpec]:
    """The cycle's engagements and their teams (no queries): one engagement per
    PEOPLE_PER_ENGAGEMENT staffable people, ordered by practice, and each person on
    one to three of them (two mostly) from their own practice's block and another
    half the list away, never on one they lead."""
    persons = people.persons
    practice = [people.practice_of(p.index) for p in persons]
    staff = sorted(
        (p.index for p in persons if p.is_active and p.depth >= 2),
        key=lambda i: (practice[i], i),
    )
    leads = _leads(people)
    count = max(2, len(staff) // PEOPLE_PER_ENGAGEMENT)
    chosen = sorted(
        (leads[k % len(leads)] for k in range(count)), key=lambda i: (practice[i], i)
    )
    short = cycle.name[2:4] + cycle.name[-2:]
    engagements = []
    for number, lead in enumerate(chosen):
        start = cycle.start + timedelta(days=rng.randint(-75, 60))
        end = start + timedelta(days=rng.randint(100, 260))
        start = min(start, cycle.end - timedelta(days=45))
        end = max(end, cycle.start + timedelta(days=45), start)
        internal = practice[lead] == HR_INDEX or rng.random() < INTERNAL_SHARE
        boss = persons[lead].boss
        engagements.append(
            EngagementSpec(
                pk=0,
                code=f"{short}-{number + 1:04d}",
                cycle=cycle,
                start=start,
                end=end,
                set_id=_set_of(catalog, internal),
                lead=lead,
                reviewer=lead,
                approver=boss,
            )
        )
    employee = people.logins["employee"]
    for position, index in enumerate(staff):
        share = rng.random()
        wanted = 1 if share < 0.15 else 3 if share >= 0.9 else 2
        if index == employee:
            wanted = 2
        first = position * count // len(staff)
        picked: list[int] = []
        for step in range(wanted):
            slot = (first + step * count // wanted) % count
            for _ in range(count):
                if engagements[slot].lead != index and slot not in picked:
                    picked.append(slot)
                    break
                slot = (slot + 1) % count
        for slot in picked:
            engagements[slot].team.append(index)
    # The manager login reviews the employee login's engagements.
    manager = people.logins["manager"]
    for engagement in engagements:
        if employee in engagement.team:
            engagement.reviewer = manager
            engagement.approver = persons[manager].boss
    return engagements


def _future(
    people: People, catalog: Catalog, rng: random.Random, today: date
) -> list[EngagementSpec]:
    """Engagements planned to start after today: roles, nobody staffed yet."""
    leads = _leads(people)
    found = []
    for number in range(max(2, len(people.persons) // FUTURE_PER_EMPLOYEE)):
        lead = leads[number % len(leads)]
        start = today + timedelta(days=rng.randint(15, 90))
        found.append(
            EngagementSpec(
                pk=0,
                code=f"NEXT-{number + 1:04d}",
                cycle=None,
                start=start,
                end=start + timedelta(days=rng.randint(120, 200)),
                set_id=_set_of(catalog, internal=False),
                lead=lead,
                reviewer=lead,
                approver=people.persons[lead].boss,
            )
        )
    return found


def _status(engagement: EngagementSpec, today: date) -> str:
    if engagement.end < today:
        return EngagementStatus.CLOSED
    if engagement.start > today:
        return EngagementStatus.PLANNED
    return EngagementStatus.ACTIVE


def _write_engagements(
    people: People, catalog: Catalog, work: Work, rng: random.Random, log: Log
) -> None:
    rows = Rows(
        Engagement,
        (
            "client_id",
            "code",
            "name",
            "description",
            "business_unit_id",
            "engagement_type_id",
            "start_date",
            "end_date",
            "status",
        ),
        organization_id=people.organization.pk,
    )
    type_of_set = {set_id: type_id for type_id, set_id in catalog.types.values()}
    internal_set = catalog.types[INTERNAL][1]
    for engagement in work.engagements:
        client = rng.choice(catalog.clients)
        topics = INTERNAL_TOPICS if engagement.set_id == internal_set else TOPICS
        name = rng.choice(topics)
        rows.add(
            client.pk,
            engagement.code,
            name,
            f"{name} for {client.name}.",
            people.persons[engagement.lead].unit.pk,
            type_of_set[engagement.set_id],
            engagement.start,
            engagement.end,
            _status(engagement, work.today),
        )
    for engagement, pk in zip(work.engagements, rows.insert(log), strict=True):
        engagement.pk = pk


def _write_roles(people: People, catalog: Catalog, work: Work, log: Log) -> None:
    """Role assignments and the guardian object permissions
    ``engagements.services.roles.assign_role`` grants for them: the role's
    permission and ``view_engagement`` on the engagement, for the holder's login."""
    persons = people.persons
    org = people.organization.pk
    rule_title = next(
        name for name, t in people.titles.items() if t.pk == catalog.rule_title_id
    )
    assignments = Rows(
        RoleAssignment,
        ("engagement_id", "employee_id", "role", "source"),
        organization_id=org,
    )
    held: dict[tuple[int, int], set[str]] = {}
    for engagement in work.engagements:
        roles: list[tuple[int, str, str]] = [
            (engagement.lead, EngagementRole.PLANNER, AssignmentSource.MANUAL),
            (engagement.reviewer, EngagementRole.REVIEWER, AssignmentSource.MANUAL),
        ]
        if engagement.approver is not None:
            roles.append(
                (engagement.approver, EngagementRole.APPROVER, AssignmentSource.MANUAL)
            )
        roles += [
            (index, catalog.rule_role, AssignmentSource.RULE)
            for index in engagement.team
            if persons[index].title == rule_title
        ]
        for index, role, source in roles:
            assignments.add(engagement.pk, persons[index].pk, role, source)
            held.setdefault((persons[index].user_id, engagement.pk), set()).add(role)
    assignments.insert(log)
    content_type = ContentType.objects.get_for_model(Engagement)
    codenames = [*ROLE_PERMISSIONS.values(), "view_engagement"]
    permission = dict(
        Permission.objects.filter(
            content_type=content_type, codename__in=codenames
        ).values_list("codename", "pk")
    )
    grants = Rows(
        UserObjectPermission,
        ("user_id", "permission_id", "object_pk"),
        content_type_id=content_type.pk,
    )
    for (user_id, engagement_id), roles_held in held.items():
        for codename in sorted(
            {ROLE_PERMISSIONS[role] for role in roles_held} | {"view_engagement"}
        ):
            grants.add(user_id, permission[codename], str(engagement_id))
    grants.insert(log)
