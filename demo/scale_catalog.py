"""The reference data of a synthetic world (``demo.scale``): the rating scale and
its levels, the competency library of the demo (categories, competencies with
descriptors for every point), competency sets for job titles and engagement types,
engagement types, a plan template, a role rule, the appraisal settings with their
attainment bands, and the clients.

A few dozen rows whatever the size of the organisation, except the clients (one per
``EMPLOYEES_PER_CLIENT`` employees). Query cost: about three per table, plus two
selector queries that read the sets back exactly as staffing reads them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from appraisals.models import DEFAULT_BANDS, AppraisalSettings, AttainmentBand
from competencies.enums import DefaultCategory
from competencies.models import (
    Competency,
    CompetencyCategory,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    CompetencySetJobTitle,
    RatingLevel,
    RatingScale,
)
from demo.competencies import LIBRARY, SCALE_LEVELS, SCALE_NAME
from demo.scale_people import CHIEF, DIRECTOR, HR_DIRECTOR, HR_PARTNER, MANAGER, People
from demo.scale_rows import Log, Rows
from engagements.enums import Direction, EngagementRole
from engagements.models import (
    Client,
    EngagementType,
    PlanTemplate,
    RoleRule,
    TemplateGoal,
)
from engagements.selectors.competencies import general_set_ids, set_items_by_set
from organizations.models import Organization

EMPLOYEES_PER_CLIENT = 40
CLIENT_PREFIXES = (  # noqa: SIM905
    "Northwind Contoso Fabrikam Tailspin Litware Adatum Proseware Woodgrove Lucerne "
    "Alpine Coho Fourth Blue Margie Trey Wingtip Humongous Graphic Relecloud Bellows "
    "Consolidated Southridge Lamna Munson Tasmanian Wide Vanarsdel Fincher Contour "
    "Datum Greenleaf Harbor Ironwood Juniper Kestrel Lakeside Meridian Oakridge"
).split()
CLIENT_SUFFIXES = (
    "Traders",
    "Bank",
    "Health",
    "Airlines",
    "Energy",
    "Insurance",
    "Logistics",
    "Retail",
    "Foods",
    "Telecom",
    "Pharma",
    "Motors",
)
INDUSTRIES = {
    "Traders": "Retail",
    "Bank": "Financial services",
    "Health": "Healthcare",
    "Airlines": "Transport",
    "Energy": "Energy",
    "Insurance": "Financial services",
    "Logistics": "Logistics",
    "Retail": "Retail",
    "Foods": "Consumer goods",
    "Telecom": "Telecommunications",
    "Pharma": "Life sciences",
    "Motors": "Manufacturing",
}
CLIENT_DELIVERY = "Client delivery"
INTERNAL = "Internal improvement"
# (set name, description, job titles, [(competency, weight, expected level)]): the
# demo's frameworks cut to their core items (every item of a plan is rated twice per
# cycle, so four items per general plan and three per engagement plan keep a world of
# 10,000 people at a few million rows).
SETS: list[tuple[str, str, tuple[str, ...], list[tuple[str, int, int]]]] = [
    (
        "Consultant",
        "What we expect of analysts and consultants.",
        ("Consultant", "Analyst"),
        [
            ("Problem structuring", 2, 3),
            ("Data analysis", 2, 3),
            ("Quality of deliverables", 2, 3),
            ("Collaboration", 1, 3),
        ],
    ),
    (
        "Senior Consultant",
        "What we expect of senior consultants.",
        ("Senior Consultant",),
        [
            ("Problem structuring", 2, 4),
            ("Solution design", 2, 3),
            ("Client communication", 2, 3),
            ("Coaching and developing others", 1, 3),
        ],
    ),
    (
        "Engagement Manager",
        "What we expect of engagement managers.",
        (MANAGER,),
        [
            ("Engagement leadership", 3, 4),
            ("Stakeholder management", 2, 4),
            ("Business development", 2, 3),
            ("Coaching and developing others", 2, 4),
        ],
    ),
    (
        "Practice leadership",
        "What we expect of the chief executive and the practice directors.",
        (CHIEF, DIRECTOR, HR_DIRECTOR),
        [
            ("Business development", 2, 4),
            ("Coaching and developing others", 2, 4),
            ("Decision making", 2, 4),
            ("Stakeholder management", 1, 4),
        ],
    ),
    (
        "People partnering",
        "What we expect of HR business partners.",
        (HR_PARTNER,),
        [
            ("Collaboration", 2, 3),
            ("Coaching and developing others", 1, 3),
            ("Ownership and reliability", 1, 3),
            ("Stakeholder management", 1, 3),
        ],
    ),
    (
        CLIENT_DELIVERY,
        "Engagement-specific competencies for work delivered to clients.",
        (),
        [
            ("Client communication", 3, 3),
            ("Client focus", 2, 3),
            ("Quality of deliverables", 2, 3),
        ],
    ),
    (
        INTERNAL,
        "Engagement-specific competencies for internal initiatives.",
        (),
        [
            ("Problem structuring", 2, 3),
            ("Solution design", 2, 3),
            ("Collaboration", 2, 3),
        ],
    ),
]
TEMPLATE_NAME = "Consulting delivery"
# A goal to write: title, metric, target, unit, direction, weight, key activities
# (one per line).
GoalTemplate = tuple[str, str, Decimal | None, str, str, Decimal, str]
TEMPLATE_GOALS: list[GoalTemplate] = [
    (
        "Deliver agreed scope",
        "Milestones delivered on time",
        Decimal(90),
        "%",
        Direction.HIGHER,
        Decimal(50),
        "Weekly status report\nMilestone sign-off",
    ),
    (
        "Delight the client",
        "Client CSAT",
        Decimal("4.5"),
        "/5",
        Direction.HIGHER,
        Decimal(30),
        "Monthly client check-in",
    ),
    (
        "Share knowledge",
        "Knowledge articles published",
        Decimal(3),
        "articles",
        Direction.HIGHER,
        Decimal(20),
        "Write one article per quarter",
    ),
]
ROLE_RULE = ("Senior Consultant", EngagementRole.CONTRIBUTOR)


@dataclass(frozen=True)
class Item:
    """A competency of a set, as plans copy it."""

    competency_id: int
    weight: Decimal
    expected: Decimal


@dataclass(frozen=True)
class ClientRef:
    pk: int
    name: str
    domain: str


@dataclass
class Catalog:
    scale_id: int
    set_of_title: dict[int, int]  # job title id → competency set id
    items: dict[int, list[Item]]  # competency set id → its items in plan order
    types: dict[str, tuple[int, int]]  # type name → (type id, set id)
    template_id: int
    template_goals: list[GoalTemplate]
    rule_title_id: int  # job title whose staffed holders get the rule's role
    rule_role: str
    clients: list[ClientRef]


def build_catalog(people: People, rng: random.Random, log: Log) -> Catalog:
    """Write the reference data; returns what the later stages need."""
    organization = people.organization
    org = organization.pk
    scales = Rows(
        RatingScale,
        ("name", "min_value", "max_value", "step", "is_default"),
        organization_id=org,
    )
    scales.add(SCALE_NAME, Decimal(1), Decimal(5), Decimal(1), True)
    (scale,) = scales.insert(log)
    levels = Rows(
        RatingLevel, ("scale_id", "value", "label", "description"), organization_id=org
    )
    for value, label, description in SCALE_LEVELS:
        levels.add(scale, Decimal(value), label, description)
    levels.insert(log)
    competencies = _library(org, log)
    set_ids = _sets(people, competencies, log)
    types = Rows(EngagementType, ("name", "competency_set_id"), organization_id=org)
    for name in (CLIENT_DELIVERY, INTERNAL):
        types.add(name, set_ids[name])
    type_ids = types.insert(log)
    _settings(org, log)
    template_id = _template(org, log)
    rule = Rows(RoleRule, ("job_title_id", "role"), organization_id=org)
    rule_title = people.titles[ROLE_RULE[0]].pk
    rule.add(rule_title, ROLE_RULE[1])
    rule.insert(log)
    # Read back as staffing reads them, so plans get exactly the real competencies.
    by_set = set_items_by_set(set(set_ids.values()))
    return Catalog(
        scale_id=scale,
        set_of_title=general_set_ids({t.pk for t in people.titles.values()}),
        items={
            set_id: [Item(i.competency_id, i.weight, i.expected_level) for i in items]
            for set_id, items in by_set.items()
        },
        types={
            name: (type_id, set_ids[name])
            for name, type_id in zip((CLIENT_DELIVERY, INTERNAL), type_ids, strict=True)
        },
        template_id=template_id,
        template_goals=TEMPLATE_GOALS,
        rule_title_id=rule_title,
        rule_role=ROLE_RULE[1],
        clients=_clients(organization, len(people.persons), rng, log),
    )


def _library(org: int, log: Log) -> dict[str, int]:
    """The demo's categories and competencies with a descriptor for every point."""
    categories = Rows(CompetencyCategory, ("name",), organization_id=org)
    for choice in DefaultCategory:
        categories.add(choice.value)
    category_of = dict(
        zip((c.value for c in DefaultCategory), categories.insert(log), strict=True)
    )
    rows = Rows(Competency, ("name", "category_id", "description"), organization_id=org)
    for name, category, description, _descriptors in LIBRARY:
        rows.add(name, category_of[category], description)
    ids = rows.insert(log)
    descriptors = Rows(
        CompetencyDescriptor, ("competency_id", "value", "text"), organization_id=org
    )
    for competency_id, (_name, _category, _description, texts) in zip(
        ids, LIBRARY, strict=True
    ):
        for value, text in enumerate(texts, start=1):
            descriptors.add(competency_id, Decimal(value), text)
    descriptors.insert(log)
    return {entry[0]: pk for entry, pk in zip(LIBRARY, ids, strict=True)}


def _sets(people: People, competencies: dict[str, int], log: Log) -> dict[str, int]:
    """The competency sets, linked to the job titles they name."""
    org = people.organization.pk
    specs = SETS
    sets = Rows(CompetencySet, ("name", "description"), organization_id=org)
    for name, description, _titles, _items in specs:
        sets.add(name, description)
    ids = dict(zip((s[0] for s in specs), sets.insert(log), strict=True))
    links = Rows(
        CompetencySetJobTitle,
        ("competency_set_id", "job_title_id"),
        organization_id=org,
    )
    items = Rows(
        CompetencySetItem,
        ("competency_set_id", "competency_id", "weight", "expected_level"),
        organization_id=org,
    )
    for name, _description, titles, entries in specs:
        for title in titles:
            if title in people.titles:
                links.add(ids[name], people.titles[title].pk)
        for competency, weight, expected in entries:
            items.add(ids[name], competencies[competency], weight, expected)
    links.insert(log)
    items.insert(log)
    return ids


def _settings(org: int, log: Log) -> None:
    settings = Rows(
        AppraisalSettings, ("dual_approval", "evaluation_days"), organization_id=org
    )
    settings.add(False, 14)
    settings.insert(log)
    bands = Rows(AttainmentBand, ("min_attainment", "rating"), organization_id=org)
    for start, rating in DEFAULT_BANDS:
        bands.add(start, rating)
    bands.insert(log)


def _template(org: int, log: Log) -> int:
    template = Rows(
        PlanTemplate, ("name", "description", "goal_weight"), organization_id=org
    )
    template.add(
        TEMPLATE_NAME,
        "Standard goals for consultants on a client engagement.",
        Decimal(70),
    )
    (template_id,) = template.insert(log)
    goals = Rows(
        TemplateGoal,
        (
            "template_id",
            "title",
            "metric",
            "target_value",
            "unit",
            "direction",
            "weight",
            "key_activities",
            "position",
        ),
        organization_id=org,
    )
    for position, spec in enumerate(TEMPLATE_GOALS):
        goals.add(template_id, *spec, position)
    goals.insert(log)
    return template_id


def _clients(
    organization: Organization, employees: int, rng: random.Random, log: Log
) -> list[ClientRef]:
    """One client per EMPLOYEES_PER_CLIENT employees (at least six), named from the
    prefixes and suffixes above; numbered once every pair is used."""
    count = max(6, employees // EMPLOYEES_PER_CLIENT)
    pairs = [(p, s) for p in CLIENT_PREFIXES for s in CLIENT_SUFFIXES]
    rng.shuffle(pairs)
    rows = Rows(
        Client,
        ("name", "industry", "contact_email"),
        organization_id=organization.pk,
    )
    named: list[tuple[str, str]] = []
    for number in range(count):
        prefix, suffix = pairs[number % len(pairs)]
        round_ = number // len(pairs)
        name = f"{prefix} {suffix}" + (f" {round_ + 1}" if round_ else "")
        domain = f"{prefix}-{suffix}{round_ or ''}".lower() + ".example"
        rows.add(name, INDUSTRIES[suffix], f"contact@{domain}")
        named.append((name, domain))
    ids = rows.insert(log)
    return [
        ClientRef(pk, name, domain)
        for pk, (name, domain) in zip(ids, named, strict=True)
    ]
