"""The rating tallies of the organisation-wide competency heatmap and reviewer
consistency, kept by triggers (PostgreSQL only; other databases get the tables,
empty, and the dashboards count the ratings themselves there).

``CompetencyTally`` sums a cycle's competency ratings per (competency, business unit,
job title, engagement type); ``ReviewerTally`` per (reviewer, competency), with the
sum of squares. HR's heatmap and reviewer pages read a few thousand of these rows
instead of grouping the cycle's ~100,000 ratings (10,000 employees) on every request.

A rating counts as the heatmap counts it: in a review evaluation that is submitted or
approved, not N/A, with a value; it is counted under its evaluation's plan's cycle
and engagement type, the evaluated person's business unit and job title, the
evaluation's reviewer and the plan competency's competency and expected level.
Statement-level ``AFTER`` triggers with transition tables keep both tallies exact in
the transaction of every write those depend on, whoever makes it:

- ratings: inserted, changed or deleted;
- evaluations: kind, status, reviewer, person or plan changed;
- employees: business unit or job title changed;
- engagements: engagement type changed;
- plan competencies: competency or expected level changed;
- plans: cycle or engagement changed.

Each statement's changed rows become one grouped delta (the old rows' contributions
subtracted, the new rows' added; an unchanged row's two cancel out), applied with an
``INSERT ... ON CONFLICT DO UPDATE`` per tally in key order (concurrent writers lock
tally rows in the same order); the tallies brought to zero ratings are deleted. Every
lookup is a ``LATERAL`` key probe behind ``OFFSET 0`` that matches the organisation
as well as the id (appraisals migration 0005 explains why). Statements that change no
counted column stop after one look at their rows. The triggers run as the writing
role, under row-level security like the write itself.

The backfill counts each organisation's ratings under its tenant setting.
"""

from django.db import migrations, models
import django.db.models.deletion

RATED = "('submitted', 'approved')"
REVIEW = "'review'"
COMPETENCY_KEYS = [
    "organization_id",
    "cycle_id",
    "competency_id",
    "business_unit_id",
    "job_title_id",
    "engagement_type_id",
]
REVIEWER_KEYS = ["organization_id", "cycle_id", "reviewer_id", "competency_id"]
# What a delta's rows carry: the keys of both tallies, the rating and its expected
# level, and ``d`` (+1 counted, -1 no longer counted).
DELTA_COLUMNS = """
    organization_id, cycle_id, competency_id, business_unit_id, job_title_id,
    engagement_type_id, reviewer_id, value, expected, d
"""


def _probe(
    alias: str, table: str, columns: str, where: str, *, left: bool = False
) -> str:
    """One key lookup per row, kept a lookup (``OFFSET 0``)."""
    join = "LEFT JOIN LATERAL" if left else "CROSS JOIN LATERAL"
    on = " ON true" if left else ""
    return f"""
        {join} (
            SELECT {columns} FROM {table} WHERE {where} OFFSET 0
        ) {alias}{on}"""


def _evaluation(alias: str, where: str, columns: str) -> str:
    return _probe(
        alias,
        "appraisals_evaluation",
        columns,
        f"{where} AND kind = {REVIEW} AND status IN {RATED}",
    )


def _ratings(alias: str, where: str) -> str:
    return _probe(
        alias,
        "appraisals_competencyrating",
        "plan_competency_id, value",
        f"{where} AND NOT not_applicable AND value IS NOT NULL",
    )


def _plan(alias: str, org: str, plan_id: str) -> str:
    return _probe(
        alias,
        "engagements_plan",
        "cycle_id, engagement_id",
        f"organization_id = {org} AND id = {plan_id}",
    )


def _employee(alias: str, org: str, employee_id: str) -> str:
    return _probe(
        alias,
        "organizations_employee",
        "business_unit_id, job_title_id",
        f"organization_id = {org} AND id = {employee_id}",
    )


def _engagement(alias: str, org: str, engagement_id: str) -> str:
    return _probe(
        alias,
        "engagements_engagement",
        "engagement_type_id",
        f"organization_id = {org} AND id = {engagement_id}",
        left=True,
    )


def _plan_competency(alias: str, org: str, plan_competency_id: str) -> str:
    return _probe(
        alias,
        "engagements_plancompetency",
        "competency_id, expected_level",
        f"organization_id = {org} AND id = {plan_competency_id}",
    )


def _changed(table_columns: str) -> tuple[str, str]:
    """The rows an update changed in ``table_columns``, before and after."""
    before = (
        f"SELECT {table_columns} FROM old_rows "
        f"EXCEPT SELECT {table_columns} FROM new_rows"
    )
    after = (
        f"SELECT {table_columns} FROM new_rows "
        f"EXCEPT SELECT {table_columns} FROM old_rows"
    )
    return before, after


def _signed(before: str, after: str) -> str:
    return f"""
        SELECT *, -1 AS d FROM ({before}) b
        UNION ALL
        SELECT *, 1 AS d FROM ({after}) a
    """


# --- The deltas, per table --------------------------------------------------------------

RATING_ROWS = {
    "INSERT": "SELECT *, 1 AS d FROM new_rows",
    "DELETE": "SELECT *, -1 AS d FROM old_rows",
    "UPDATE": """
        SELECT *, 1 AS d FROM new_rows UNION ALL SELECT *, -1 AS d FROM old_rows
    """,
}
RATING_COUNTED = "evaluation_id, plan_competency_id, value, not_applicable"


def _rating_delta(op: str) -> str:
    org = "r.organization_id"
    return f"""
        SELECT r.organization_id, p.cycle_id, pc.competency_id, emp.business_unit_id,
               emp.job_title_id, eng.engagement_type_id, e.reviewer_id, r.value,
               pc.expected_level AS expected, r.d
        FROM ({RATING_ROWS[op]}) r
        {_evaluation("e", f"organization_id = {org} AND id = r.evaluation_id", "reviewer_id, employee_id, plan_id")}
        {_plan("p", org, "e.plan_id")}
        {_employee("emp", org, "e.employee_id")}
        {_engagement("eng", org, "p.engagement_id")}
        {_plan_competency("pc", org, "r.plan_competency_id")}
        WHERE NOT r.not_applicable AND r.value IS NOT NULL
    """


EVALUATION_COUNTED = (
    "organization_id, id, kind, status, reviewer_id, employee_id, plan_id"
)


def _evaluation_delta() -> str:
    org = "m.organization_id"
    return f"""
        SELECT m.organization_id, p.cycle_id, pc.competency_id, emp.business_unit_id,
               emp.job_title_id, eng.engagement_type_id, m.reviewer_id, r.value,
               pc.expected_level AS expected, m.d
        FROM ({_signed(*_changed(EVALUATION_COUNTED))}) m
        {_ratings("r", f"organization_id = {org} AND evaluation_id = m.id")}
        {_plan("p", org, "m.plan_id")}
        {_employee("emp", org, "m.employee_id")}
        {_engagement("eng", org, "p.engagement_id")}
        {_plan_competency("pc", org, "r.plan_competency_id")}
        WHERE m.kind = {REVIEW} AND m.status IN {RATED}
    """


EMPLOYEE_COUNTED = "organization_id, id, business_unit_id, job_title_id"


def _employee_delta() -> str:
    org = "m.organization_id"
    return f"""
        SELECT m.organization_id, p.cycle_id, pc.competency_id, m.business_unit_id,
               m.job_title_id, eng.engagement_type_id, e.reviewer_id, r.value,
               pc.expected_level AS expected, m.d
        FROM ({_signed(*_changed(EMPLOYEE_COUNTED))}) m
        {_evaluation("e", f"organization_id = {org} AND employee_id = m.id", "id, reviewer_id, plan_id")}
        {_ratings("r", f"organization_id = {org} AND evaluation_id = e.id")}
        {_plan("p", org, "e.plan_id")}
        {_engagement("eng", org, "p.engagement_id")}
        {_plan_competency("pc", org, "r.plan_competency_id")}
    """


ENGAGEMENT_COUNTED = "organization_id, id, engagement_type_id"


def _engagement_delta() -> str:
    org = "m.organization_id"
    plans = _probe(
        "p",
        "engagements_plan",
        "id, cycle_id",
        f"organization_id = {org} AND engagement_id = m.id",
    )
    return f"""
        SELECT m.organization_id, p.cycle_id, pc.competency_id, emp.business_unit_id,
               emp.job_title_id, m.engagement_type_id, e.reviewer_id, r.value,
               pc.expected_level AS expected, m.d
        FROM ({_signed(*_changed(ENGAGEMENT_COUNTED))}) m
        {plans}
        {_evaluation("e", f"organization_id = {org} AND plan_id = p.id", "id, reviewer_id, employee_id")}
        {_ratings("r", f"organization_id = {org} AND evaluation_id = e.id")}
        {_employee("emp", org, "e.employee_id")}
        {_plan_competency("pc", org, "r.plan_competency_id")}
    """


PLAN_COMPETENCY_COUNTED = "organization_id, id, competency_id, expected_level"


def _plan_competency_delta() -> str:
    org = "m.organization_id"
    ratings = _probe(
        "r",
        "appraisals_competencyrating",
        "evaluation_id, value",
        f"organization_id = {org} AND plan_competency_id = m.id "
        "AND NOT not_applicable AND value IS NOT NULL",
    )
    return f"""
        SELECT m.organization_id, p.cycle_id, m.competency_id, emp.business_unit_id,
               emp.job_title_id, eng.engagement_type_id, e.reviewer_id, r.value,
               m.expected_level AS expected, m.d
        FROM ({_signed(*_changed(PLAN_COMPETENCY_COUNTED))}) m
        {ratings}
        {_evaluation("e", f"organization_id = {org} AND id = r.evaluation_id", "reviewer_id, employee_id, plan_id")}
        {_plan("p", org, "e.plan_id")}
        {_employee("emp", org, "e.employee_id")}
        {_engagement("eng", org, "p.engagement_id")}
    """


PLAN_COUNTED = "organization_id, id, cycle_id, engagement_id"


def _plan_delta() -> str:
    org = "m.organization_id"
    return f"""
        SELECT m.organization_id, m.cycle_id, pc.competency_id, emp.business_unit_id,
               emp.job_title_id, eng.engagement_type_id, e.reviewer_id, r.value,
               pc.expected_level AS expected, m.d
        FROM ({_signed(*_changed(PLAN_COUNTED))}) m
        {_evaluation("e", f"organization_id = {org} AND plan_id = m.id", "id, reviewer_id, employee_id")}
        {_ratings("r", f"organization_id = {org} AND evaluation_id = e.id")}
        {_employee("emp", org, "e.employee_id")}
        {_engagement("eng", org, "m.engagement_id")}
        {_plan_competency("pc", org, "r.plan_competency_id")}
    """


# --- Applying a delta -------------------------------------------------------------------


def _upsert(table: str, keys: list[str], counters: dict[str, str], where: str) -> str:
    cols = ", ".join(keys)
    sums = ", ".join(f"{agg}" for agg in counters.values())
    changed = " OR ".join(f"{agg} <> 0" for agg in counters.values())
    increments = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in counters)
    return f"""
        INSERT INTO {table} AS t ({cols}, {", ".join(counters)})
        SELECT {cols}, {sums} FROM x WHERE {where}
        GROUP BY {cols} HAVING {changed}
        ORDER BY {cols}
        ON CONFLICT ({cols}) DO UPDATE SET {increments}
        RETURNING t.id, t.n
    """


def _apply(delta: str) -> str:
    """Add the ``delta`` (rows of ``DELTA_COLUMNS``) to both tallies in one
    statement (the delta is read once), then delete the tallies it brought to zero
    ratings."""
    competencies = _upsert(
        "reporting_competencytally",
        COMPETENCY_KEYS,
        {"n": "sum(d)", "total": "sum(d * value)", "expected": "sum(d * expected)"},
        "true",
    )
    reviewers = _upsert(
        "reporting_reviewertally",
        REVIEWER_KEYS,
        {
            "n": "sum(d)",
            "total": "sum(d * value)",
            "squares": "sum(d * value * value)",
        },
        "reviewer_id IS NOT NULL",
    )
    return f"""
    WITH x AS MATERIALIZED (
        SELECT {DELTA_COLUMNS} FROM ({delta}) delta
    ), c AS ({competencies}), v AS ({reviewers})
    SELECT (SELECT array_agg(id) FILTER (WHERE n <= 0) FROM c),
           (SELECT array_agg(id) FILTER (WHERE n <= 0) FROM v)
    INTO emptied_competencies, emptied_reviewers;
    IF emptied_competencies IS NOT NULL THEN
        DELETE FROM reporting_competencytally WHERE id = ANY (emptied_competencies);
    END IF;
    IF emptied_reviewers IS NOT NULL THEN
        DELETE FROM reporting_reviewertally WHERE id = ANY (emptied_reviewers);
    END IF;
"""


def _function(name: str, changed: str, delta: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION reporting_tally_{name}()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    emptied_competencies bigint[];
    emptied_reviewers bigint[];
BEGIN
    IF NOT EXISTS ({changed}) THEN
        RETURN NULL;
    END IF;
    {_apply(delta)}
    RETURN NULL;
END
$fn$;
"""


RATING_CHANGED = {
    "INSERT": "SELECT 1 FROM new_rows",
    "DELETE": "SELECT 1 FROM old_rows",
    "UPDATE": f"""
        SELECT {RATING_COUNTED} FROM new_rows
        EXCEPT ALL SELECT {RATING_COUNTED} FROM old_rows
    """,
}
TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
    "DELETE": "OLD TABLE AS old_rows",
}
# (table, function name, operation, whether the statement changed anything, delta)
TRIGGERS = [
    (
        "appraisals_competencyrating",
        f"rating_{op.lower()}",
        op,
        RATING_CHANGED[op],
        _rating_delta(op),
    )
    for op in TRANSITIONS
] + [
    (table, f"{name}_update", "UPDATE", _changed(counted)[1], delta())
    for table, name, counted, delta in (
        ("appraisals_evaluation", "evaluation", EVALUATION_COUNTED, _evaluation_delta),
        ("organizations_employee", "employee", EMPLOYEE_COUNTED, _employee_delta),
        (
            "engagements_engagement",
            "engagement",
            ENGAGEMENT_COUNTED,
            _engagement_delta,
        ),
        (
            "engagements_plancompetency",
            "plan_competency",
            PLAN_COMPETENCY_COUNTED,
            _plan_competency_delta,
        ),
        ("engagements_plan", "plan", PLAN_COUNTED, _plan_delta),
    )
]


def install_sql() -> list[str]:
    """Every function and trigger, in the order to create them."""
    statements = []
    for table, name, op, changed, delta in TRIGGERS:
        statements.append(_function(name, changed, delta))
        statements.append(
            f"CREATE TRIGGER reporting_tally_{name} AFTER {op} ON {table} "
            f"REFERENCING {TRANSITIONS[op]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION reporting_tally_{name}()"
        )
    return statements


def uninstall_sql() -> list[str]:
    statements = []
    for table, name, _op, _changed_rows, _delta in TRIGGERS:
        statements.append(f"DROP TRIGGER IF EXISTS reporting_tally_{name} ON {table}")
        statements.append(f"DROP FUNCTION IF EXISTS reporting_tally_{name}()")
    return statements


# Every counted rating of the organisation whose tenant setting is active.
COUNTED_RATINGS = f"""
    SELECT r.organization_id, p.cycle_id, pc.competency_id, emp.business_unit_id,
           emp.job_title_id, eng.engagement_type_id, e.reviewer_id, r.value,
           pc.expected_level AS expected
    FROM appraisals_competencyrating r
    JOIN appraisals_evaluation e
        ON e.organization_id = r.organization_id AND e.id = r.evaluation_id
    JOIN engagements_plan p ON p.organization_id = e.organization_id AND p.id = e.plan_id
    JOIN organizations_employee emp
        ON emp.organization_id = e.organization_id AND emp.id = e.employee_id
    LEFT JOIN engagements_engagement eng
        ON eng.organization_id = p.organization_id AND eng.id = p.engagement_id
    JOIN engagements_plancompetency pc
        ON pc.organization_id = r.organization_id AND pc.id = r.plan_competency_id
    WHERE e.kind = {REVIEW} AND e.status IN {RATED}
      AND NOT r.not_applicable AND r.value IS NOT NULL
"""
BACKFILL = [
    f"""
    INSERT INTO reporting_competencytally ({", ".join(COMPETENCY_KEYS)}, n, total, expected)
    SELECT {", ".join(COMPETENCY_KEYS)}, count(*), sum(value), sum(expected)
    FROM ({COUNTED_RATINGS}) x GROUP BY {", ".join(COMPETENCY_KEYS)}
    """,
    f"""
    INSERT INTO reporting_reviewertally ({", ".join(REVIEWER_KEYS)}, n, total, squares)
    SELECT {", ".join(REVIEWER_KEYS)}, count(*), sum(value), sum(value * value)
    FROM ({COUNTED_RATINGS}) x WHERE reviewer_id IS NOT NULL
    GROUP BY {", ".join(REVIEWER_KEYS)}
    """,
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in install_sql():
        schema_editor.execute(statement)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM organizations_organization ORDER BY id")
        for (organization,) in cursor.fetchall():
            cursor.execute(
                "SELECT set_config('app.organization_id', %s, true)",
                [str(organization)],
            )
            for statement in BACKFILL:
                cursor.execute(statement)
        cursor.execute("SELECT set_config('app.organization_id', '', true)")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in uninstall_sql():
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("competencies", "0001_initial"),
        ("engagements", "0005_cycle_plan_tally"),
        ("organizations", "0006_report_retention_days"),
        ("reporting", "0001_report_jobs"),
        ("appraisals", "0006_snapshot_lz4"),
    ]

    operations = [
        migrations.CreateModel(
            name="CompetencyTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("n", models.IntegerField()),
                ("total", models.DecimalField(decimal_places=2, max_digits=14)),
                ("expected", models.DecimalField(decimal_places=2, max_digits=14)),
                (
                    "business_unit",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organizations.businessunit",
                    ),
                ),
                (
                    "competency",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="competencies.competency",
                    ),
                ),
                (
                    "cycle",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="engagements.reviewcycle",
                    ),
                ),
                (
                    "engagement_type",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="engagements.engagementtype",
                    ),
                ),
                (
                    "job_title",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organizations.jobtitle",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "organization",
                            "cycle",
                            "competency",
                            "business_unit",
                            "job_title",
                            "engagement_type",
                        ),
                        name="competency_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ReviewerTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("n", models.IntegerField()),
                ("total", models.DecimalField(decimal_places=2, max_digits=14)),
                ("squares", models.DecimalField(decimal_places=4, max_digits=16)),
                (
                    "competency",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="competencies.competency",
                    ),
                ),
                (
                    "cycle",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="engagements.reviewcycle",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
                (
                    "reviewer",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organizations.employee",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "cycle", "reviewer", "competency"),
                        name="reviewer_tally_key",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
