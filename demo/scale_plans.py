"""Plans of a synthetic world (``demo.scale``): a general plan for every active
employee and an engagement plan per staffing in each cycle, all locked (their cycles
are in review or closed), with the competencies of their set, goals whose weights
total 100, key activities and check-ins.

Goals are past their cycle: most have an outcome (achieved or missed, with the actual
figure of the last check-in); in the cycle under review some are still behind, at
risk or on track, so overdue goals show. About one engagement plan in ten follows
the catalogue's plan template. Query cost: per table written, one query plus two
per batch of ``demo.scale_rows.BATCH`` rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from demo.engagements import GOAL_LIBRARY
from demo.scale_catalog import Catalog, GoalTemplate
from demo.scale_people import CHIEF, HR_INDEX, MANAGER, People
from demo.scale_rows import Log, Rows, at
from engagements.enums import Direction, GoalStatus, PlanKind, PlanStatus
from engagements.models import (
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanCompetency,
    attainment,
)

if TYPE_CHECKING:
    from demo.scale_work import Cycle, EngagementSpec, Work

GOALS = [
    *GOAL_LIBRARY,
    ("Win follow-on work", "Follow-on projects won", Decimal(2), "projects", "higher"),
    ("Keep the budget", "Budget overrun", Decimal(5), "%", "lower"),
    ("Develop the team", "Team members coached", Decimal(3), "people", "higher"),
]
GENERAL_WEIGHTS = [(Decimal(60), Decimal(40))]
ENGAGEMENT_WEIGHTS = [
    (Decimal(60), Decimal(40)),
    (Decimal(40), Decimal(35), Decimal(25)),
    (Decimal(50), Decimal(30), Decimal(20)),
]
ALLOCATIONS: dict[int, list[tuple[Decimal, ...]]] = {
    1: [(Decimal(80),), (Decimal(100),)],
    2: [(Decimal(50), Decimal(50)), (Decimal(60), Decimal(40)), (Decimal(40),) * 2],
    3: [(Decimal(40), Decimal(30), Decimal(30))],
}
# Actual as a share of the target at the end of the cycle.
SHARES = [Decimal(s) for s in ("1.25", "1.1", "1.05", "1", "0.95", "0.85", "0.7")]
UNFINISHED = [GoalStatus.BEHIND, GoalStatus.AT_RISK, GoalStatus.ON_TRACK]
UNFINISHED_SHARE = 0.12
TEMPLATE_SHARE = 0.1
MIDWAY_CHECKIN = 0.3  # goals of the cycle in review with a check-in half-way
# Goals of closed cycles whose outcome came with a check-in (the others' figures were
# entered on the goal itself at close-out).
CLOSED_CHECKIN = 0.7
ACTIVITY_COUNTS = (0, 0, 0, 0, 1, 2)  # key activities per goal, half a one on average
ACTIVITIES = [
    "Agree the measure with the client",
    "Mid-point review",
    "Steering committee update",
    "Hand-over workshop",
    "Lessons-learned session",
]
NOTES = [
    "Update from the weekly status meeting.",
    "Figures from the monthly client report.",
    "Discussed at the one-to-one.",
]
FINAL_NOTE = "Final figures from the engagement close-out."
NOON = time(12, 0)
ROLE_TITLES = {
    MANAGER: "Workstream lead",
    "Senior Consultant": "Senior consultant",
    "Consultant": "Consultant",
    "Analyst": "Analyst",
}


# A check-in to write: progress, actual, status, note, day; an activity: title,
# due date, done.
CheckIn = tuple[int, Decimal | None, str, str, date]
Activity = tuple[str, date, bool]


@dataclass(slots=True)
class GoalSpec:
    pk: int
    attainment: Decimal | None


@dataclass(slots=True)
class PlanSpec:
    """A plan as written; the review stage rates its goals and competencies."""

    pk: int
    cycle: Cycle
    person: int
    engagement: EngagementSpec | None
    start: date
    end: date
    reviewer: int | None = None  # a per-plan override
    template: bool = False
    goals: list[GoalSpec] = field(default_factory=list)
    items: list[tuple[int, Decimal]] = field(default_factory=list)  # (id, expected)


def write_plans(
    people: People, catalog: Catalog, work: Work, rng: random.Random, log: Log
) -> list[PlanSpec]:
    plans = _plans(people, catalog, work, rng, log)
    _competencies(people, catalog, plans, log)
    _goals(people, catalog, plans, rng, log)
    return plans


def _plans(
    people: People, catalog: Catalog, work: Work, rng: random.Random, log: Log
) -> list[PlanSpec]:
    persons = people.persons
    goal_weight = people.organization.goal_weight
    rows = Rows(
        Plan,
        (
            "cycle_id",
            "employee_id",
            "kind",
            "engagement_id",
            "start_date",
            "end_date",
            "allocation",
            "role_title",
            "goal_weight",
            "template_id",
            "reviewer_id",
            "status",
        ),
        organization_id=people.organization.pk,
    )
    plans: list[PlanSpec] = []
    head = next(p.index for p in persons if p.title == CHIEF)
    for cycle in work.cycles:
        for person in persons:
            if not person.is_active:
                continue
            # Nobody is above the head: HR's director reviews their general plan.
            reviewer = HR_INDEX if person.index == head else None
            plans.append(
                PlanSpec(0, cycle, person.index, None, cycle.start, cycle.end, reviewer)
            )
            rows.add(
                cycle.pk,
                person.pk,
                PlanKind.GENERAL,
                None,
                cycle.start,
                cycle.end,
                None,
                "",
                goal_weight,
                None,
                None if reviewer is None else persons[reviewer].pk,
                PlanStatus.LOCKED,
            )
        staffed: dict[int, list[EngagementSpec]] = {}
        for engagement in work.engagements:
            if engagement.cycle is cycle:
                for index in engagement.team:
                    staffed.setdefault(index, []).append(engagement)
        for index in sorted(staffed):
            shares = rng.choice(ALLOCATIONS[len(staffed[index])])
            for engagement, allocation in zip(staffed[index], shares, strict=True):
                start = max(engagement.start, cycle.start)
                end = min(engagement.end, cycle.end)
                template = rng.random() < TEMPLATE_SHARE
                plans.append(
                    PlanSpec(0, cycle, index, engagement, start, end, None, template)
                )
                rows.add(
                    cycle.pk,
                    persons[index].pk,
                    PlanKind.ENGAGEMENT,
                    engagement.pk,
                    start,
                    end,
                    allocation,
                    ROLE_TITLES.get(persons[index].title, "Consultant"),
                    goal_weight,
                    catalog.template_id if template else None,
                    None,
                    PlanStatus.LOCKED,
                )
    for plan, pk in zip(plans, rows.insert(log), strict=True):
        plan.pk = pk
    return plans


def _competencies(
    people: People, catalog: Catalog, plans: list[PlanSpec], log: Log
) -> None:
    """The competencies of each plan's set, as ``attach_set_competencies`` copies
    them: job title's set for general plans, engagement type's for the others."""
    persons = people.persons
    rows = Rows(
        PlanCompetency,
        ("plan_id", "competency_id", "weight", "expected_level", "position"),
        organization_id=people.organization.pk,
    )
    owners: list[PlanSpec] = []
    for plan in plans:
        if plan.engagement is None:
            title = people.titles[persons[plan.person].title].pk
            set_id = catalog.set_of_title.get(title)
        else:
            set_id = plan.engagement.set_id
        for position, item in enumerate(catalog.items.get(set_id or 0, [])):
            rows.add(plan.pk, item.competency_id, item.weight, item.expected, position)
            owners.append(plan)
    expected = [row[3] for row in rows.rows]
    for plan, pk, level in zip(owners, rows.insert(log), expected, strict=True):
        plan.items.append((pk, level))


def _actual(target: Decimal | None, direction: str, share: Decimal) -> Decimal | None:
    if target is None:
        return None
    value = target * share if direction == Direction.HIGHER else target / share
    return value.quantize(Decimal("0.01"))


def _goals(
    people: People,
    catalog: Catalog,
    plans: list[PlanSpec],
    rng: random.Random,
    log: Log,
) -> None:
    """Goals with their outcome, key activities and check-ins (the last one gives
    the goal its progress, status and actual, as ``record_checkin`` does)."""
    org = people.organization.pk
    goals = Rows(
        Goal,
        (
            "plan_id",
            "title",
            "metric",
            "target_value",
            "unit",
            "direction",
            "actual_value",
            "weight",
            "planned_start",
            "due_date",
            "status",
            "progress",
            "position",
            "version",
        ),
        organization_id=org,
    )
    # Per goal: (plan, planned check-ins, activities), to write once goal ids exist.
    pending: list[tuple[PlanSpec, list[CheckIn], list[Activity]]] = []
    for plan in plans:
        specs: list[GoalTemplate]
        if plan.template:
            specs = list(catalog.template_goals)
        else:
            weights = rng.choice(
                GENERAL_WEIGHTS if plan.engagement is None else ENGAGEMENT_WEIGHTS
            )
            library = rng.sample(GOALS, len(weights))
            specs = [
                (*entry, weight, "")
                for entry, weight in zip(library, weights, strict=True)
            ]
        review = not plan.cycle.closed
        span = (plan.end - plan.start).days
        for position, (
            title,
            metric,
            target,
            unit,
            direction,
            weight,
            lines,
        ) in enumerate(specs):
            due = max(
                plan.start, plan.end - timedelta(days=14 * (len(specs) - 1 - position))
            )
            share = rng.choice(SHARES)
            actual = _actual(target, direction, share)
            if review and rng.random() < UNFINISHED_SHARE:
                status = rng.choice(UNFINISHED)
                progress = rng.randint(30, 80)
                actual = _actual(target, direction, share * Decimal("0.6"))
            elif target is None:
                status = GoalStatus.ACHIEVED if share >= 1 else GoalStatus.MISSED
                progress = 100 if share >= 1 else 80
            else:
                status = GoalStatus.ACHIEVED if share >= 1 else GoalStatus.MISSED
                progress = 100 if share >= 1 else int(share * 100)
            checkins: list[CheckIn] = []
            if review or rng.random() < CLOSED_CHECKIN:
                final = plan.end - timedelta(days=3)
                checkins.append((progress, actual, status, FINAL_NOTE, final))
            if review and rng.random() < MIDWAY_CHECKIN:
                middle = plan.start + timedelta(days=span // 2)
                checkins.insert(
                    0,
                    (
                        min(progress, 50),
                        _actual(target, direction, share * Decimal("0.5")),
                        GoalStatus.ON_TRACK if share >= 1 else GoalStatus.AT_RISK,
                        rng.choice(NOTES),
                        middle,
                    ),
                )
            if lines:
                titles = lines.splitlines()
            else:
                titles = rng.sample(ACTIVITIES, rng.choice(ACTIVITY_COUNTS))
            activities: list[Activity] = [
                (
                    activity,
                    plan.start + timedelta(days=span * (n + 1) // (len(titles) + 1)),
                    not review or rng.random() < 0.8,
                )
                for n, activity in enumerate(titles)
            ]
            goals.add(
                plan.pk,
                title,
                metric,
                target,
                unit,
                direction,
                actual,
                weight,
                plan.start,
                due,
                status,
                progress,
                position,
                # One version per check-in; the goal was edited instead without.
                1 + (len(checkins) or 1),
            )
            plan.goals.append(GoalSpec(0, attainment(target, actual, direction)))
            pending.append((plan, checkins, activities))
    goal_ids = goals.insert(log)
    checkin_rows = Rows(
        GoalCheckIn,
        (
            "goal_id",
            "author_id",
            "progress",
            "actual_value",
            "status",
            "note",
            "created_at",
        ),
        organization_id=org,
    )
    activity_rows = Rows(
        KeyActivity, ("goal_id", "title", "due_date", "done"), organization_id=org
    )
    ids = iter(goal_ids)
    persons = people.persons
    for plan in plans:
        for goal in plan.goals:
            goal.pk = next(ids)
    for goal_id, (plan, planned, listed) in zip(goal_ids, pending, strict=True):
        author = persons[plan.person].user_id
        for *recorded, day in planned:
            checkin_rows.add(goal_id, author, *recorded, at(day, NOON))
        for title, due, done in listed:
            activity_rows.add(goal_id, title, due, done)
    checkin_rows.insert(log)
    activity_rows.insert(log)
