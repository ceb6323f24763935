"""A synthetic organisation of any size, for benchmarks and scale tests (bulk inserts
only). ``manage.py seed_scale`` runs ``seed_scale``; bench/ and the tests use it.

By default it builds a whole world, so every page of the product has content:

1. people (``demo.scale_people``): a line-manager tree under the head of the
   organisation and eight practice directors, business units, job titles, an account
   and a membership per employee, and three logins sharing one password:
   ``hr@<slug>.test`` (HR admin), ``manager@<slug>.test`` (a practice director with
   at least three levels of reports) and ``employee@<slug>.test`` (a consultant in
   that director's line, staffed on two engagements per cycle);
2. reference data (``demo.scale_catalog``): rating scale, competency library and
   sets, engagement types, a plan template, a role rule, appraisal settings, clients;
3. work (``demo.scale_work``, ``demo.scale_plans``): two closed review cycles and one
   in review, engagements with roles and their guardian permissions, plans with
   competencies, goals, key activities and check-ins;
4. feedback (``demo.scale_feedback``): feedback, requests, anonymous answers, client
   surveys;
5. appraisals (``demo.scale_reviews``): evaluations in every state, ratings,
   approvals, scores from the real recompute, finalisation;
6. history: one "+" record per row of every table with history.

``people_only`` keeps the people stage alone (every login but HR's unusable). A seed
always gives the same rows, names and states; dates follow the day it runs. Query
cost grows with the depth of the tree and the number of batches, never per row.
"""

from __future__ import annotations

import gc
import random
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from demo.scale_catalog import build_catalog
from demo.scale_feedback import build_feedback
from demo.scale_people import (
    FAN_OUT,
    HR_INDEX,
    People,
    build_people,
    manager_index,
    synthetic_domain,
    world_fan_out,
)
from demo.scale_reviews import build_reviews
from demo.scale_rows import Log, analyze, generic_plans, write_history
from demo.scale_work import build_work
from organizations.models import Membership, Organization, User
from organizations.tenancy import tenant_context

__all__ = [
    "FAN_OUT",
    "HR_INDEX",
    "SeedResult",
    "SeedScaleRefused",
    "analyze",
    "delete_organization",
    "manager_index",
    "seed_scale",
    "synthetic_domain",
    "tables_to_analyze",
]


@dataclass(frozen=True)
class SeedResult:
    organization: Organization
    hr_user: User
    password: str
    employees: int
    active: int
    business_units: int
    job_titles: int
    manager_user: User | None = None  # None with people_only
    employee_user: User | None = None
    stages: list[tuple[str, float, int]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)


class SeedScaleRefused(Exception):
    """The organisation cannot be created as asked; the message says why."""


def seed_scale(
    *,
    slug: str,
    employees: int,
    seed: int,
    name: str,
    replace: bool,
    people_only: bool = False,
    password: str | None = None,
    on_stage: Callable[[str, float, int], None] | None = None,
) -> SeedResult:
    """Create the organisation ``slug`` with ``employees`` people (and, unless
    ``people_only``, the whole world around them), all or nothing.

    ``password`` (random when None) is the three logins' password. ``on_stage``
    hears of each stage as it ends (name, seconds, rows inserted). Raises
    SeedScaleRefused when the slug exists and ``replace`` is false, when accounts
    @<slug>.test are left that belong to another organisation, or when a whole world
    is asked for with too few employees for the manager login's three levels of
    reports.
    """
    fan_out = FAN_OUT if people_only else world_fan_out(employees)
    if fan_out is None:
        raise SeedScaleRefused(
            f"A whole world needs at least {_smallest_world()} employees, so that "
            "the manager login has three levels of reports. Ask for more, or pass "
            "--people-only for people alone."
        )
    password = password or secrets.token_urlsafe(12)
    log = Log(on_stage=on_stage)
    # Millions of long-lived tuples in memory, none in a reference cycle: the cyclic
    # collector would only rescan them on every full pass.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _seed(
            slug=slug,
            employees=employees,
            seed=seed,
            name=name,
            replace=replace,
            people_only=people_only,
            fan_out=fan_out,
            password=password,
            log=log,
        )
    finally:
        if collecting:
            gc.enable()


def _seed(
    *,
    slug: str,
    employees: int,
    seed: int,
    name: str,
    replace: bool,
    people_only: bool,
    fan_out: int,
    password: str,
    log: Log,
) -> SeedResult:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    with transaction.atomic():
        generic_plans()
        existing = Organization.objects.filter(slug=slug).first()
        if existing is not None:
            if not replace:
                raise SeedScaleRefused(
                    f"The organisation '{slug}' already exists. Pass --replace to "
                    "delete it with all its rows and create it again."
                )
            with log.stage("delete the old organisation"):
                delete_organization(existing)
        if User.objects.filter(email__endswith=f"@{synthetic_domain(slug)}").exists():
            raise SeedScaleRefused(
                f"Accounts @{synthetic_domain(slug)} already exist and belong to another "
                "organisation; choose another slug."
            )
        organization = Organization.objects.create(slug=slug, name=name)
        with tenant_context(organization), _keys_checked_per_statement():
            with log.stage("people"):
                people = build_people(
                    organization,
                    employees=employees,
                    rng=rng,
                    fan_out=fan_out,
                    password=password,
                    world=not people_only,
                )
            if not people_only:
                _world(people, seed, log)
    users = people.users
    return SeedResult(
        organization=organization,
        hr_user=users[people.logins["hr"]],
        password=password,
        employees=employees,
        active=sum(p.is_active for p in people.persons),
        business_units=len(people.units.all),
        job_titles=len(people.titles),
        manager_user=None if people_only else users[people.logins["manager"]],
        employee_user=None if people_only else users[people.logins["employee"]],
        stages=log.stages,
        tables=log.tables,
    )


@contextmanager
def _keys_checked_per_statement() -> Iterator[None]:
    """Check foreign keys at the end of each statement instead of at COMMIT.

    Django declares every foreign key DEFERRABLE INITIALLY DEFERRED, so PostgreSQL
    queues one check per inserted row until COMMIT and then runs them one by one
    from a queue of millions, which grew faster than the rows did (about 230 of the
    285 seconds of a 10,000-employee world, all in COMMIT). Checked per statement,
    each batch's checks run while its parents are hot in the cache. The seed inserts
    parents before their children, so nothing it writes needs the deferral; deleting
    an organisation does, so the keys are deferred again afterwards (every deferrable
    constraint of the schema is a foreign key declared INITIALLY DEFERRED)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _smallest_world() -> int:
    return next(n for n in range(1, 10_000) if world_fan_out(n) is not None)


def _world(people: People, seed: int, log: Log) -> None:
    """Everything after the people, each stage with its own random stream (so a
    change in one stage leaves the others' rows alone)."""
    today = timezone.localdate()

    def stream(stage: str) -> random.Random:
        return random.Random(f"{seed}:{stage}")  # noqa: S311 - synthetic data

    with log.stage("reference data"):
        catalog = build_catalog(people, stream("catalog"), log)
    with log.stage("cycles, engagements, roles, plans, goals"):
        work = build_work(people, catalog, stream("work"), today, log)
    with log.stage("feedback, requests, surveys"):
        build_feedback(people, work, stream("feedback"), log)
    with log.stage("appraisals, evaluations, scores"):
        build_reviews(people, work, stream("reviews"), log)
    with log.stage("history"):
        write_history(log.written, people.organization.pk)


def tables_to_analyze() -> list[str]:
    """Every table of the apps and their history, guardian's and the accounts'."""
    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.managed and not model._meta.proxy
        }
    )


def delete_organization(organization: Organization) -> None:
    """Delete the organisation, every row that carries its id, the guardian
    permissions on its rows, and its test accounts (with their permissions).

    One DELETE per table (raw SQL, no signals): the guardian object permissions whose
    object is one of its rows (they point at it by content type and id, not by a
    foreign key), rows of tables without
    ``organization_id`` that point at the organisation's rows (many-to-many links),
    then every table with ``organization_id``, then the organisation itself. Foreign
    keys are checked at commit (Django creates them deferrable), so the order between
    tenant tables is free. Finally the accounts @<slug>.test that were members and now
    belong to no organisation are deleted through the ORM. Must run inside a
    transaction.
    """
    qn = connection.ops.quote_name
    tables = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]
    owned = [
        m
        for m in tables
        if any(f.column == "organization_id" for f in m._meta.concrete_fields)
    ]
    # Identifiers come from model metadata, the only value is a parameter.
    statements = _guardian_statements(owned)
    links: list[tuple[Any, Any]] = [
        (model, field)
        for model in tables
        if model not in owned
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model in owned
    ]
    statements += [
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


def _guardian_statements(owned: list[type[models.Model]]) -> list[str]:
    """DELETEs of the guardian object permissions whose object is one of the
    organisation's rows: one per guardian table and tenant model that has any (two
    queries to find them). Its accounts' own permissions go with the accounts."""
    qn = connection.ops.quote_name
    statements = []
    for permissions in (UserObjectPermission, GroupObjectPermission):
        used = permissions.objects.values_list("content_type_id", flat=True)
        for content_type_id in sorted(set(used.distinct())):
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            if model not in owned:
                continue
            assert model is not None  # noqa: S101 - owned holds models only
            # Identifiers come from model metadata, ids are integers from the database.
            statements.append(
                f"DELETE FROM {qn(permissions._meta.db_table)} "  # noqa: S608
                f"WHERE content_type_id = {int(content_type_id)} AND object_pk IN "
                f"(SELECT id::text FROM {qn(model._meta.db_table)} "
                "WHERE organization_id = %s)"
            )
    return statements
