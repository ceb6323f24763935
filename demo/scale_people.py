"""The people of the synthetic organisation (``demo.scale``): job titles, business
units, accounts, employees in a line-manager tree and memberships.

Employee 0 heads the organisation, employees 1 to ``FAN_OUT`` are the practice
directors (employee ``HR_INDEX`` heads HR), and everyone below has up to ``fan_out``
reports, filled level by level (breadth first, so a manager's index is always lower
than their reports'). Names, titles and leavers come from a seeded random generator,
so a seed always gives the same directory. Query cost: one query per table and batch
of ``BATCH_SIZE`` rows, two per level of the tree for the employees.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from simple_history.utils import bulk_create_with_history

from organizations.enums import Role
from organizations.models import (
    BusinessUnit,
    Employee,
    JobTitle,
    Membership,
    Organization,
    User,
)

# Some eighty names read better as two paragraphs than as eighty lines.
FIRST_NAMES = (  # noqa: SIM905
    "Ada Ahmed Aiko Alba Amara Anton Beatriz Bilal Camille Chen Dara Diego Elena Emeka "
    "Esra Felix Freya Gabriel Hana Idris Ines Ivan Jia Jonas Kaveh Kofi Lena Luca Mei "
    "Mateo Nadia Nikhil Olu Oskar Priya Rafael Rania Sofia Tomas Yara Zainab Zoltan"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Abara Bauer Becker Costa Dubois Eriksen Farouk Fischer Garcia Haddad Ito Jansen "
    "Kaur Kowalski Larsen Lopez Mensah Moreau Nakamura Novak Okafor Olsen Park Petrov "
    "Quinn Rossi Sato Schmidt Silva Tanaka Torres Umarov Varga Wagner Weber Xu Yilmaz "
    "Zhang Ziegler"
).split()

FAN_OUT = 8
BATCH_SIZE = 2000
# Employee 0 heads the organisation; employee 1 heads HR and is the HR admin login.
HR_INDEX = 1
# The first practice director outside HR: the manager login of a whole world.
MANAGER_INDEX = 2
PRACTICES = [
    "People & HR",
    "Technology Consulting",
    "Strategy & Operations",
    "Data & Analytics",
    "Cloud Engineering",
    "Risk & Compliance",
    "Finance Transformation",
    "Delivery Centre",
]
CHIEF = "Chief Executive"
DIRECTOR = "Practice Director"
HR_DIRECTOR = "HR Director"
MANAGER = "Engagement Manager"
HR_PARTNER = "HR Business Partner"
LADDER = ["Senior Consultant", "Consultant", "Consultant", "Analyst"]
JOB_TITLES = [CHIEF, DIRECTOR, HR_DIRECTOR, MANAGER, HR_PARTNER, *LADDER[:2], LADDER[3]]
INACTIVE_SHARE = 0.02  # some leavers, so filters on "active" have something to do


def manager_index(index: int, fan_out: int = FAN_OUT) -> int | None:
    """The line manager of employee ``index``: None for the head, 0 for the
    ``FAN_OUT`` directors, and below them a tree of fan-out ``fan_out`` filled level
    by level."""
    if index == 0:
        return None
    if index <= FAN_OUT:
        return 0
    return (index - 1 - FAN_OUT) // fan_out + 1


def first_report(index: int, fan_out: int = FAN_OUT) -> int:
    """The index of the first direct report of employee ``index`` (if that many
    employees exist)."""
    return 1 if index == 0 else 1 + FAN_OUT + (index - 1) * fan_out


def world_fan_out(employees: int) -> int | None:
    """The widest fan-out (up to FAN_OUT) at which the manager login, a practice
    director, has three levels of reports in a tree of ``employees``; None when even
    a fan-out of 2 leaves them fewer."""
    for fan_out in range(FAN_OUT, 1, -1):
        # Level 4 fills director 1's part first, then director 2's.
        fourth_level = 1 + FAN_OUT + FAN_OUT * fan_out + FAN_OUT * fan_out**2
        if fourth_level + fan_out**3 < employees:
            return fan_out
    return None


def synthetic_domain(slug: str) -> str:
    """The e-mail domain of the organisation's synthetic accounts (RFC 2606 .test)."""
    return f"{slug}.test".lower()


@dataclass
class Person:
    """One employee as planned; ``pk`` and ``user_id`` are set once written."""

    index: int
    first: str
    last: str
    boss: int | None
    depth: int
    title: str
    unit: BusinessUnit
    has_reports: bool
    is_active: bool
    pk: int = 0
    user_id: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Units:
    root: BusinessUnit
    practices: list[BusinessUnit]  # one per director
    teams: list[BusinessUnit]  # one per level-2 employee

    @property
    def all(self) -> list[BusinessUnit]:
        return [self.root, *self.practices, *self.teams]


@dataclass
class People:
    """The directory as written: who is who, and the three logins' indexes."""

    organization: Organization
    persons: list[Person]
    fan_out: int
    titles: dict[str, JobTitle]
    units: Units
    hr_admins: tuple[int, ...]  # the HR login first
    logins: dict[str, int] = field(default_factory=dict)  # "hr" → employee index
    users: list[User] = field(default_factory=list)

    def practice_of(self, index: int) -> int:
        """The director (1..FAN_OUT) whose practice ``index`` works in; 0 for the
        head."""
        while index > FAN_OUT:
            index = self.persons[index].boss or 0
        return index


def build_people(
    organization: Organization,
    *,
    employees: int,
    rng: random.Random,
    fan_out: int,
    password: str,
    world: bool,
) -> People:
    """Write the directory of ``employees`` people. With ``world``, the manager login
    (``MANAGER_INDEX``) and the employee login (the deepest first report below them)
    can sign in too, and the HR director's first report is a second HR admin (so
    nobody approves or finalises their own appraisal)."""
    names = [
        (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(employees)
    ]
    hr_index = HR_INDEX if employees > HR_INDEX else 0
    logins = {"hr": hr_index}
    hr_admins: tuple[int, ...] = (hr_index,)
    if world:
        employee = MANAGER_INDEX
        while first_report(employee, fan_out) < employees:
            employee = first_report(employee, fan_out)
        logins.update(manager=MANAGER_INDEX, employee=employee)
        hr_admins = (hr_index, first_report(hr_index, fan_out))
    titles = _job_titles(organization)
    units = _business_units(organization, organization.name, employees, fan_out)
    persons = _plan(names, units, fan_out, set(logins.values()), rng)
    people = People(organization, persons, fan_out, titles, units, hr_admins, logins)
    people.users = _users(organization.slug, people, password)
    for person, user in zip(persons, people.users, strict=True):
        person.user_id = user.pk
    _employees(people)
    _memberships(people)
    return people


def _job_titles(organization: Organization) -> dict[str, JobTitle]:
    created = JobTitle.objects.bulk_create(
        [JobTitle(organization=organization, name=name) for name in JOB_TITLES]
    )
    return {title.name: title for title in created}


def _business_units(
    organization: Organization, name: str, employees: int, fan_out: int
) -> Units:
    """The root unit, a practice per director and a team per level-2 manager."""
    root = BusinessUnit.objects.create(organization=organization, name=name)
    directors = range(1, min(employees, 1 + FAN_OUT))
    practices = BusinessUnit.objects.bulk_create(
        [
            BusinessUnit(organization=organization, name=PRACTICES[i - 1], parent=root)
            for i in directors
        ]
    )
    level_two = range(1 + FAN_OUT, min(employees, 1 + FAN_OUT + FAN_OUT * fan_out))
    teams = BusinessUnit.objects.bulk_create(
        [
            BusinessUnit(
                organization=organization,
                name=f"{PRACTICES[director - 1]} — Team {number}",
                parent=practices[director - 1],
            )
            for i in level_two
            for director in [manager_index(i, fan_out) or 0]
            for number in [(i - 1 - FAN_OUT) % fan_out + 1]
        ]
    )
    return Units(root=root, practices=practices, teams=teams)


def _plan(
    names: Sequence[tuple[str, str]],
    units: Units,
    fan_out: int,
    logins: set[int],
    rng: random.Random,
) -> list[Person]:
    """Place every employee in the tree: manager, unit, title, active. No queries."""
    size = len(names)
    hr_units = {u.pk for u in [*units.practices[:1], *units.teams[:fan_out]]}
    people: list[Person] = []
    for index, (first, last) in enumerate(names):
        boss = manager_index(index, fan_out)
        has_reports = first_report(index, fan_out) < size
        if boss is None:
            unit, title = units.root, CHIEF
        elif boss == 0:
            unit = units.practices[index - 1]
            title = HR_DIRECTOR if index == HR_INDEX else DIRECTOR
        else:
            unit = (
                units.teams[index - 1 - FAN_OUT]
                if boss <= FAN_OUT
                else people[boss].unit
            )
            if has_reports:
                title = MANAGER
            elif unit.pk in hr_units:
                title = HR_PARTNER
            else:
                title = rng.choice(LADDER)
        is_active = has_reports or index in logins or rng.random() >= INACTIVE_SHARE
        depth = 0 if boss is None else people[boss].depth + 1
        people.append(
            Person(index, first, last, boss, depth, title, unit, has_reports, is_active)
        )
    return people


def email_of(person: Person, slug: str) -> str:
    return f"{person.first}.{person.last}.{person.index + 1}".lower() + (
        f"@{synthetic_domain(slug)}"
    )


def _users(slug: str, people: People, password: str) -> list[User]:
    """One account per employee; only the logins' passwords are usable."""
    login_of = {index: name for name, index in people.logins.items()}
    usable = make_password(password)
    users = [
        User(
            email=f"{login_of[p.index]}@{synthetic_domain(slug)}"
            if p.index in login_of
            else email_of(p, slug),
            full_name=p.full_name,
            is_active=p.is_active,
            # make_password(None) is an unusable password: no hashing cost.
            password=usable if p.index in login_of else make_password(None),
        )
        for p in people.persons
    ]
    return User.objects.bulk_create(users, batch_size=BATCH_SIZE)


def _employees(people: People) -> None:
    """Insert the employees level by level, so each level knows its managers' ids.

    Queries: two per batch per level of the tree (the rows and their history).
    """
    persons, organization = people.persons, people.organization
    size = len(persons)
    start = 0
    while start < size:
        end = start
        while end < size and persons[end].depth == persons[start].depth:
            end += 1
        rows = [
            Employee(
                organization=organization,
                user_id=p.user_id,
                code=f"E{p.index + 1:06d}",
                full_name=p.full_name,
                email=email_of(p, organization.slug),
                job_title=people.titles[p.title],
                business_unit=p.unit,
                line_manager_id=None if p.boss is None else persons[p.boss].pk,
                is_active=p.is_active,
            )
            for p in persons[start:end]
        ]
        created = bulk_create_with_history(rows, Employee, batch_size=BATCH_SIZE)
        for person, employee in zip(persons[start:end], created, strict=True):
            person.pk = employee.pk
        start = end


def _memberships(people: People) -> None:
    def role(person: Person) -> str:
        if person.index in people.hr_admins:
            return Role.HR_ADMIN
        return Role.MANAGER if person.has_reports else Role.EMPLOYEE

    bulk_create_with_history(
        [
            Membership(
                organization=people.organization,
                user_id=p.user_id,
                role=role(p),
                is_active=p.is_active,
            )
            for p in people.persons
        ],
        Membership,
        batch_size=BATCH_SIZE,
    )
