"""A review cycle seeded in bulk, for the recompute benchmark (bench/recompute.py) and
the tests that need cycles of any size quickly."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.db import connection, models
from django.utils import timezone

SEED = 1
BATCH = 50_000


def insert_rows(
    organization: Any,
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    constants: dict[str, Any] | None = None,
) -> list[int]:
    """Insert ``rows`` of ``organization`` (tuples in the order of ``fields``,
    attnames) with the ``constants`` on every row and every other column at its
    default; returns the new ids in order.

    On PostgreSQL the ids come from the table's sequence first, then each batch of
    ``BATCH`` rows goes in as one JSON text (``json_populate_recordset``): the driver
    escapes a string in C, where it would quote an array parameter value by value in
    Python, and ``COPY FROM`` is refused under row-level security. Two queries per
    batch, each batch in its own transaction unless the caller holds one: checking
    the foreign keys of 400,000 rows at one commit took minutes. Elsewhere (SQLite)
    ``bulk_create``.
    """
    from organizations.tenancy import tenant_context

    if not rows:
        return []
    constants = {"organization_id": organization.pk, **(constants or {})}
    now = timezone.now()
    columns: dict[str, Any] = {}
    for concrete in model._meta.concrete_fields:
        field = cast("models.Field[Any, Any]", concrete)
        if field.primary_key or field.attname in fields or field.generated:
            continue
        if field.attname in constants:
            columns[field.attname] = constants[field.attname]
        elif getattr(field, "auto_now_add", False) or field.default is timezone.now:
            columns[field.attname] = now
        else:
            columns[field.attname] = field.get_default()
    if connection.vendor != "postgresql":
        with tenant_context(organization):
            created = model._default_manager.bulk_create(
                [
                    model(**dict(zip(fields, row, strict=True)), **columns)
                    for row in rows
                ],
                batch_size=500,
            )
        return [obj.pk for obj in created]
    table = connection.ops.quote_name(model._meta.db_table)
    column = {f.attname: f.column for f in model._meta.concrete_fields}
    names = ["id", *(column[name] for name in (*fields, *columns))]
    quoted = ", ".join(connection.ops.quote_name(name) for name in names)
    # Identifiers come from the model's metadata (quoted); values are one parameter.
    sql = (
        f"INSERT INTO {table} ({quoted}) SELECT {quoted} "  # noqa: S608
        f"FROM json_populate_recordset(NULL::{table}, %s)"
    )
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        with tenant_context(organization), connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                "FROM generate_series(1, %s)",
                [model._meta.db_table, len(chunk)],
            )
            chunk_ids = [row[0] for row in cursor.fetchall()]
            constant = list(columns.values())
            document = json.dumps(
                [
                    dict(zip(names, (pk, *row, *constant), strict=True))
                    for pk, row in zip(chunk_ids, chunk, strict=True)
                ],
                default=str,
            )
            cursor.execute(sql, [document])
            ids.extend(chunk_ids)
    return ids


def seed_cycle(
    organization: Any,
    employees: int | list[Any],
    *,
    seed: int = SEED,
    name: str = "Bench cycle H1 2026",
    variety: bool = False,
    goals: int = 2,
    competencies: int = 1,
) -> Any:
    """A cycle in review (2026-01-01..2026-06-30, β 40 %, effort weighting, 1–5 scale)
    where each employee has an open appraisal, a general plan and two engagement plans
    (``goals`` goals and ``competencies`` competencies each), a review evaluation per
    plan with every item rated, approved, and a self-assessment of the general plan.

    ``employees`` is a list of Employee rows or a number of new ones to create.
    ``variety`` makes some review evaluations submitted or draft and some ratings N/A,
    so that approved-only and provisional figures differ. Set-based inserts
    (``insert_rows``): a few queries per table whatever the size.
    Returns the cycle.
    """
    from appraisals.enums import EvaluationKind, EvaluationStatus
    from appraisals.models import Appraisal, CompetencyRating, Evaluation, GoalRating
    from competencies.models import Competency, CompetencyCategory, RatingScale
    from engagements.enums import CycleStatus, PlanKind, PlanStatus
    from engagements.models import (
        Client,
        Engagement,
        Goal,
        Plan,
        PlanCompetency,
        ReviewCycle,
    )
    from organizations.models import Employee
    from organizations.tenancy import tenant_context

    rng = random.Random(seed)
    if isinstance(employees, int):
        people = insert_rows(
            organization,
            Employee,
            ("code", "full_name", "email"),
            [
                (
                    f"B{seed}-{i:05d}",
                    f"Person {i:05d}",
                    f"person{seed}.{i}@{organization.slug}.test",
                )
                for i in range(employees)
            ],
        )
    else:
        people = [person.pk for person in employees]
    start, end = date(2026, 1, 1), date(2026, 6, 30)
    with tenant_context(organization):
        reviewer = Employee.objects.create(
            organization=organization,
            code=f"B{seed}-reviewer",
            full_name="Rita Reviewer",
            email=f"rita.{seed}@{organization.slug}.test",
        )
        scale = RatingScale.objects.create(
            organization=organization,
            name=f"{name} scale",
            min_value=Decimal(1),
            max_value=Decimal(5),
            step=Decimal(1),
        )
        cycle = ReviewCycle.objects.create(
            organization=organization,
            name=name,
            start_date=start,
            end_date=end,
            status=CycleStatus.REVIEW,
            general_weight=Decimal(40),
            rating_scale=scale,
        )
        client = Client.objects.create(organization=organization, name=f"{name} client")
        engagements = [
            Engagement.objects.create(
                organization=organization,
                client=client,
                code=f"B{seed}-E{i}",
                name=f"{name} engagement {i}",
                start_date=date(2025, 10, 1),
                end_date=date(2026, 12, 31),
            ).pk
            for i in range(4)
        ]
        category = CompetencyCategory.objects.create(
            organization=organization, name=f"{name} category"
        )
        skills = [
            Competency.objects.create(
                organization=organization, name=f"{name} skill {c}", category=category
            ).pk
            for c in range(competencies)
        ]

    # (employee, kind, engagement, start, end, allocation) per plan.
    plan_rows: list[tuple[Any, ...]] = []
    for i, person in enumerate(people):
        plan_rows.append((person, PlanKind.GENERAL, None, start, end, None))
        for k in range(2):
            plan_rows.append(
                (
                    person,
                    PlanKind.ENGAGEMENT,
                    engagements[(i + k) % len(engagements)],
                    date(2026, 1 + 3 * k, 1),
                    date(2026, 6 + 3 * k, 30),
                    Decimal(rng.choice([20, 40, 50, 60])),
                )
            )
    plans = insert_rows(
        organization,
        Plan,
        (
            "employee_id",
            "kind",
            "engagement_id",
            "start_date",
            "end_date",
            "allocation",
        ),
        plan_rows,
        {
            "cycle_id": cycle.pk,
            "goal_weight": Decimal(70),
            "status": PlanStatus.LOCKED,
        },
    )
    goal_rows = [
        (plan, f"Goal {g}", Decimal(rng.choice([30, 50, 70])), g)
        for plan in plans
        for g in range(goals)
    ]
    goal_ids = insert_rows(
        organization, Goal, ("plan_id", "title", "weight", "position"), goal_rows
    )
    use_rows = [(plan, skill, c) for plan in plans for c, skill in enumerate(skills)]
    use_ids = insert_rows(
        organization,
        PlanCompetency,
        ("plan_id", "competency_id", "position"),
        use_rows,
        {"weight": Decimal(1), "expected_level": Decimal(3)},
    )
    appraisal_ids = insert_rows(
        organization,
        Appraisal,
        ("employee_id",),
        [(person,) for person in people],
        {"cycle_id": cycle.pk},
    )
    appraisal_of = dict(zip(people, appraisal_ids, strict=True))

    statuses = [EvaluationStatus.APPROVED]
    if variety:
        statuses += [EvaluationStatus.SUBMITTED, EvaluationStatus.DRAFT]
    # (appraisal, plan, employee, kind, reviewer, status) per evaluation.
    evaluation_rows: list[tuple[Any, ...]] = []
    for plan, (person, kind, *_rest) in zip(plans, plan_rows, strict=True):
        evaluation_rows.append(
            (
                appraisal_of[person],
                plan,
                person,
                EvaluationKind.REVIEW,
                reviewer.pk,
                rng.choice(statuses),
            )
        )
        if kind == PlanKind.GENERAL:
            evaluation_rows.append(
                (
                    appraisal_of[person],
                    plan,
                    person,
                    EvaluationKind.SELF,
                    person,
                    EvaluationStatus.SUBMITTED,
                )
            )
    evaluation_ids = insert_rows(
        organization,
        Evaluation,
        (
            "appraisal_id",
            "plan_id",
            "employee_id",
            "kind",
            "reviewer_id",
            "status",
        ),
        evaluation_rows,
    )
    of_plan: dict[int, list[int]] = {}
    for evaluation, row in zip(evaluation_ids, evaluation_rows, strict=True):
        of_plan.setdefault(row[1], []).append(evaluation)

    def value() -> tuple[Decimal | None, bool]:
        if variety and rng.random() < 0.1:
            return None, True
        return Decimal(rng.randint(1, 5)), False

    def rate(model: Any, item: str, items: list[int], item_plans: list[Any]) -> None:
        """A rating of each item by every evaluation of its plan."""
        insert_rows(
            organization,
            model,
            ("evaluation_id", item, "value", "not_applicable"),
            [
                (evaluation, pk, *value())
                for pk, plan in zip(items, item_plans, strict=True)
                for evaluation in of_plan[plan]
            ],
        )

    rate(GoalRating, "goal_id", goal_ids, [row[0] for row in goal_rows])
    rate(CompetencyRating, "plan_competency_id", use_ids, [r[0] for r in use_rows])
    return cycle
