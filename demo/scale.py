"""A synthetic organisation of any size, for benchmarks and scale tests (bulk inserts
only). ``manage.py seed_scale`` runs ``seed_scale``; bench/ and the tests use it.

The people form a complete line-manager tree of fan-out ``FAN_OUT``: employee 0 heads
the organisation, employee 1 heads HR and is the only login that can sign in. Names
come from a seeded random generator, so a seed always gives the same directory.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
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
from organizations.tenancy import tenant_context

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


def manager_index(index: int) -> int | None:
    """The line manager of employee ``index`` in a complete tree of fan-out FAN_OUT."""
    return None if index == 0 else (index - 1) // FAN_OUT


@dataclass(frozen=True)
class SeedResult:
    organization: Organization
    hr_user: User
    password: str
    employees: int
    active: int
    business_units: int
    job_titles: int


class SeedScaleRefused(Exception):
    """The organisation cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class _Person:
    """One employee as planned before anything is written."""

    index: int
    first: str
    last: str
    boss: int | None
    title: str
    unit: BusinessUnit
    has_reports: bool
    is_active: bool

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


def seed_scale(
    *, slug: str, employees: int, seed: int, name: str, replace: bool
) -> SeedResult:
    """Create the organisation ``slug`` with ``employees`` people, all or nothing.

    Every employee gets an account and a membership (HR admin, manager for people
    with reports, employee otherwise); only the HR admin's account has a usable
    password. Raises SeedScaleRefused when the slug exists and ``replace`` is false, or
    when accounts @<slug>.test are left that belong to another organisation. Query
    cost grows with the depth of the tree and ``employees / BATCH_SIZE``, never per
    row.
    """
    rng = random.Random(seed)  # noqa: S311 - synthetic names, not secrets
    names = [
        (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(employees)
    ]
    password = secrets.token_urlsafe(12)
    hr_index = HR_INDEX if employees > HR_INDEX else 0
    with transaction.atomic():
        existing = Organization.objects.filter(slug=slug).first()
        if existing is not None:
            if not replace:
                raise SeedScaleRefused(
                    f"The organisation '{slug}' already exists. Pass --replace to "
                    "delete it with all its rows and create it again."
                )
            delete_organization(existing)
        if User.objects.filter(email__endswith=f"@{synthetic_domain(slug)}").exists():
            raise SeedScaleRefused(
                f"Accounts @{synthetic_domain(slug)} already exist and belong to another "
                "organisation; choose another slug."
            )
        organization = Organization.objects.create(slug=slug, name=name)
        with tenant_context(organization):
            titles = _job_titles(organization)
            units = _business_units(organization, name, employees)
            people = _plan(names, units, hr_index, rng)
            users = _users(slug, people, hr_index, password)
            _employees(organization, people, titles, users)
            _memberships(organization, people, users, hr_index)
    return SeedResult(
        organization=organization,
        hr_user=users[hr_index],
        password=password,
        employees=employees,
        active=sum(p.is_active for p in people),
        business_units=len(units.all),
        job_titles=len(titles),
    )


def delete_organization(organization: Organization) -> None:
    """Delete the organisation, every row that carries its id, and its test accounts.

    One DELETE per table (raw SQL, no signals): rows of tables without
    ``organization_id`` that point at the organisation's rows (many-to-many links)
    first, then every table with ``organization_id``, then the organisation itself.
    Foreign keys are checked at commit (Django creates them deferrable), so the order
    between tenant tables is free. Finally the accounts @<slug>.test that were members
    and now belong to no organisation are deleted through the ORM. Must run inside a
    transaction.
    """
    qn = connection.ops.quote_name
    models = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]
    owned = [
        m
        for m in models
        if any(f.column == "organization_id" for f in m._meta.concrete_fields)
    ]
    # Identifiers come from model metadata, the only value is a parameter.
    links: list[tuple[Any, Any]] = [
        (model, field)
        for model in models
        if model not in owned
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model in owned
    ]
    statements = [
        f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(field.column)} IN "  # noqa: S608
        f"(SELECT {qn(field.target_field.column)} FROM "
        f"{qn(field.related_model._meta.db_table)} WHERE organization_id = %s)"
        for model, field in links
    ]
    statements += [
        f"DELETE FROM {qn(model._meta.db_table)} WHERE organization_id = %s"  # noqa: S608
        for model in owned
    ]
    statements.append(
        f"DELETE FROM {qn(Organization._meta.db_table)} WHERE id = %s"  # noqa: S608
    )
    with tenant_context(organization):
        members = list(Membership.objects.values_list("user_id", flat=True))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, [organization.pk])
    User.objects.filter(
        pk__in=members,
        email__endswith=f"@{synthetic_domain(organization.slug)}",
        memberships__isnull=True,
    ).delete()


def _job_titles(organization: Organization) -> dict[str, JobTitle]:
    created = JobTitle.objects.bulk_create(
        [JobTitle(organization=organization, name=name) for name in JOB_TITLES]
    )
    return {title.name: title for title in created}


@dataclass(frozen=True)
class _Units:
    root: BusinessUnit
    practices: list[BusinessUnit]  # one per level-1 employee
    teams: list[BusinessUnit]  # one per level-2 employee

    @property
    def all(self) -> list[BusinessUnit]:
        return [self.root, *self.practices, *self.teams]


def _business_units(organization: Organization, name: str, employees: int) -> _Units:
    """The root unit, a practice per director and a team per level-2 manager."""
    root = BusinessUnit.objects.create(organization=organization, name=name)
    directors = range(1, min(employees, 1 + FAN_OUT))
    practices = BusinessUnit.objects.bulk_create(
        [
            BusinessUnit(organization=organization, name=PRACTICES[i - 1], parent=root)
            for i in directors
        ]
    )
    level_two = range(1 + FAN_OUT, min(employees, 1 + FAN_OUT + FAN_OUT**2))
    teams = BusinessUnit.objects.bulk_create(
        [
            BusinessUnit(
                organization=organization,
                name=f"{PRACTICES[director - 1]} — Team {(i - 1) % FAN_OUT + 1}",
                parent=practices[director - 1],
            )
            for i in level_two
            for director in [(i - 1) // FAN_OUT]
        ]
    )
    return _Units(root=root, practices=practices, teams=teams)


def _plan(
    names: Sequence[tuple[str, str]],
    units: _Units,
    hr_index: int,
    rng: random.Random,
) -> list[_Person]:
    """Place every employee in the tree: manager, unit, title, active. No queries."""
    size = len(names)
    hr_units = {u.pk for u in [*units.practices[:1], *units.teams[:FAN_OUT]]}
    people: list[_Person] = []
    for index, (first, last) in enumerate(names):
        boss = manager_index(index)
        has_reports = index * FAN_OUT + 1 < size
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
        is_active = has_reports or index == hr_index or rng.random() >= INACTIVE_SHARE
        people.append(
            _Person(index, first, last, boss, title, unit, has_reports, is_active)
        )
    return people


def synthetic_domain(slug: str) -> str:
    """The e-mail domain of the organisation's synthetic accounts (RFC 2606 .test)."""
    return f"{slug}.test".lower()


def _email(person: _Person, slug: str) -> str:
    return f"{person.first}.{person.last}.{person.index + 1}".lower() + (
        f"@{synthetic_domain(slug)}"
    )


def _users(
    slug: str, people: Sequence[_Person], hr_index: int, password: str
) -> list[User]:
    """One account per employee; only the HR admin's password is usable."""
    users = [
        User(
            email=f"hr@{synthetic_domain(slug)}"
            if p.index == hr_index
            else _email(p, slug),
            full_name=p.full_name,
            is_active=p.is_active,
            # make_password(None) is an unusable password: no hashing cost.
            password=make_password(password if p.index == hr_index else None),
        )
        for p in people
    ]
    return User.objects.bulk_create(users, batch_size=BATCH_SIZE)


def _employees(
    organization: Organization,
    people: Sequence[_Person],
    titles: dict[str, JobTitle],
    users: Sequence[User],
) -> None:
    """Insert the employees level by level, so each level knows its managers' ids.

    Queries: two per batch per level of the tree (the rows and their history).
    """
    size = len(people)
    pks: list[int] = [0] * size
    start = 0
    while start < size:
        # Level k of a complete tree occupies indices [start, start * FAN_OUT + 1).
        end = min(size, start * FAN_OUT + 1)
        rows = [
            Employee(
                organization=organization,
                user=users[p.index],
                code=f"E{p.index + 1:06d}",
                full_name=p.full_name,
                email=_email(p, organization.slug),
                job_title=titles[p.title],
                business_unit=p.unit,
                line_manager_id=None if p.boss is None else pks[p.boss],
                is_active=p.is_active,
            )
            for p in people[start:end]
        ]
        created = bulk_create_with_history(rows, Employee, batch_size=BATCH_SIZE)
        for index, employee in zip(range(start, end), created, strict=True):
            pks[index] = employee.pk
        start = end


def _memberships(
    organization: Organization,
    people: Sequence[_Person],
    users: Sequence[User],
    hr_index: int,
) -> None:
    def role(person: _Person) -> str:
        if person.index == hr_index:
            return Role.HR_ADMIN
        return Role.MANAGER if person.has_reports else Role.EMPLOYEE

    bulk_create_with_history(
        [
            Membership(
                organization=organization,
                user=users[p.index],
                role=role(p),
                is_active=p.is_active,
            )
            for p in people
        ],
        Membership,
        batch_size=BATCH_SIZE,
    )
