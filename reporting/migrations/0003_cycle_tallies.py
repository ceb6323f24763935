"""The cycle overview's completion line and the trends across cycles, kept by
triggers (PostgreSQL only; other databases get the tables, empty, and the dashboards
count the rows themselves there).

- ``ReviewDayTally``: per (cycle, day), the review evaluations created and those
  approved that day, days in the organisation's time zone;
- ``OwedReviewTally``: per (cycle, reviewer, due date), the review evaluations the
  reviewer owes (a draft, or one sent back);
- ``ScoreTally``: per (cycle, business unit, job title, appraisal status), the
  appraisals with a final score and the sum of their scores;
- ``DistributionTally``: per (cycle, business unit, job title, appraisal status,
  final score, percent band), how many appraisals (those not scored yet too);
- ``StaffingTally``: per (cycle, employee, engagement type), the person's engagement
  plans of that type, and ``TypeDistributionTally``: per (cycle, engagement type,
  status, final score, band), the appraisals of the people staffed on that type
  (each person once per type).

HR's overview, score distribution and trends read these (and the progress tallies of appraisals migration
0005 and engagements migration 0005) instead of grouping a cycle's ~30,000 review
evaluations and every cycle's appraisals on each request. Statement-level ``AFTER``
triggers with transition tables keep them exact in the transaction of every write,
as in migration 0002 (same conventions: grouped deltas, upserts in key order, empty
tallies deleted, organisation-and-id key probes, early exit when nothing counted
changed, the writing role under row-level security):

- evaluations (inserted, deleted; kind, status, plan, creation or approval time
  changed; for the owed reviews also reviewer and due date) and plans moved to
  another cycle: ``ReviewDayTally`` and ``OwedReviewTally``;
- an organisation's time zone changed: its ``ReviewDayTally`` counted anew (the days
  are local days);
- appraisals (inserted, deleted; cycle, person, status, final score or percent
  changed) and employees (business unit or job title changed): ``ScoreTally`` and
  ``DistributionTally``; appraisals also ``TypeDistributionTally``, under each
  engagement type their person is staffed on;
- plans (inserted, deleted; kind, cycle, person or engagement changed) and
  engagements (engagement type changed): ``StaffingTally``, and
  ``TypeDistributionTally`` for the people whose plans of a type go from none to
  some or back.

The backfill counts each organisation's rows under its tenant setting.
"""

import django.db.models.deletion
from django.db import migrations, models

REVIEW = "'review'"
APPROVED = "'approved'"
TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
    "DELETE": "OLD TABLE AS old_rows",
}
SIGNED_ROWS = {
    "INSERT": "SELECT *, 1 AS d FROM new_rows",
    "DELETE": "SELECT *, -1 AS d FROM old_rows",
    "UPDATE": """
        SELECT *, 1 AS d FROM new_rows UNION ALL SELECT *, -1 AS d FROM old_rows
    """,
}


def _changed(op: str, columns: str) -> str:
    """Whether a statement changed ``columns`` of any row (as multisets)."""
    if op == "INSERT":
        return "SELECT 1 FROM new_rows"
    if op == "DELETE":
        return "SELECT 1 FROM old_rows"
    return f"SELECT {columns} FROM new_rows EXCEPT ALL SELECT {columns} FROM old_rows"


def _upsert(table: str, keys: str, counters: dict[str, str], delta: str) -> str:
    """Add the grouped ``delta`` to ``table`` in key order, then delete the rows
    whose counters are all zero."""
    sums = ", ".join(counters.values())
    changed = " OR ".join(f"{agg} <> 0" for agg in counters.values())
    increments = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in counters)
    empty = " AND ".join(f"{c} = 0" for c in counters)
    return f"""
    WITH up AS (
        INSERT INTO {table} AS t ({keys}, {", ".join(counters)})
        SELECT {keys}, {sums} FROM ({delta}) x GROUP BY {keys} HAVING {changed}
        ORDER BY {keys}
        ON CONFLICT ({keys}) DO UPDATE SET {increments}
        RETURNING t.id, ({empty}) AS empty
    )
    SELECT array_agg(id) FILTER (WHERE empty) INTO emptied FROM up;
    IF emptied IS NOT NULL THEN
        DELETE FROM {table} WHERE id = ANY (emptied);
    END IF;
"""


def _function(name: str, changed: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION reporting_tally_{name}()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    emptied bigint[];
BEGIN
    IF NOT EXISTS ({changed}) THEN
        RETURN NULL;
    END IF;
    {body}
    RETURN NULL;
END
$fn$;
"""


# --- Review days --------------------------------------------------------------------------

DAY_KEYS = "organization_id, cycle_id, day"
DAY_COUNTERS = {"created": "sum(created)", "approved": "sum(approved)"}


def _local_day(column: str) -> str:
    return f"({column} AT TIME ZONE o.timezone)::date"


def _days(rows: str, cycle: str, plan_probe: bool) -> str:
    """Each counted review of ``rows`` (with ``d``) as its creation day and, once
    approved, its approval day."""
    plan = (
        """
        CROSS JOIN LATERAL (
            SELECT cycle_id FROM engagements_plan
            WHERE organization_id = r.organization_id AND id = r.plan_id OFFSET 0
        ) p"""
        if plan_probe
        else ""
    )
    return f"""
        SELECT r.organization_id, {cycle} AS cycle_id, {_local_day("r.created_at")} AS day,
               r.d AS created, 0 AS approved
        FROM ({rows}) r {plan}
        CROSS JOIN LATERAL (
            SELECT timezone FROM organizations_organization
            WHERE id = r.organization_id OFFSET 0
        ) o
        WHERE r.kind = {REVIEW}
        UNION ALL
        SELECT r.organization_id, {cycle}, {_local_day("r.approved_at")}, 0, r.d
        FROM ({rows}) r {plan}
        CROSS JOIN LATERAL (
            SELECT timezone FROM organizations_organization
            WHERE id = r.organization_id OFFSET 0
        ) o
        WHERE r.kind = {REVIEW} AND r.status = {APPROVED} AND r.approved_at IS NOT NULL
    """


EVALUATION_COUNTED = (
    "plan_id, kind, status, approved_at, created_at, reviewer_id, due_date"
)

# --- Owed reviews ---------------------------------------------------------------------------

OWED_KEYS = "organization_id, cycle_id, reviewer_id, due_date"
# What a reviewer owes: a draft, or a review sent back to them.
OWES = "('draft', 'returned')"


def _owed(rows: str, cycle: str, plan_probe: bool) -> str:
    """The reviews of ``rows`` (with ``d``) that their reviewer owes, with their
    cycle and due date."""
    plan = (
        """
        CROSS JOIN LATERAL (
            SELECT cycle_id FROM engagements_plan
            WHERE organization_id = r.organization_id AND id = r.plan_id OFFSET 0
        ) p"""
        if plan_probe
        else ""
    )
    return f"""
        SELECT r.organization_id, {cycle} AS cycle_id, r.reviewer_id, r.due_date, r.d
        FROM ({rows}) r {plan}
        WHERE r.kind = {REVIEW} AND r.status IN {OWES} AND r.reviewer_id IS NOT NULL
    """


def _evaluation_body(op: str) -> str:
    return _upsert(
        "reporting_reviewdaytally",
        DAY_KEYS,
        DAY_COUNTERS,
        _days(SIGNED_ROWS[op], "p.cycle_id", plan_probe=True),
    ) + _upsert(
        "reporting_owedreviewtally",
        OWED_KEYS,
        {"n": "sum(d)"},
        _owed(SIGNED_ROWS[op], "p.cycle_id", plan_probe=True),
    )


def _plan_body() -> str:
    moved = """
        SELECT m.*, e.kind, e.status, e.approved_at, e.created_at, e.reviewer_id,
               e.due_date
        FROM (
            SELECT organization_id, id, cycle_id, -1 AS d FROM (
                SELECT organization_id, id, cycle_id FROM old_rows
                EXCEPT SELECT organization_id, id, cycle_id FROM new_rows) b
            UNION ALL
            SELECT organization_id, id, cycle_id, 1 FROM (
                SELECT organization_id, id, cycle_id FROM new_rows
                EXCEPT SELECT organization_id, id, cycle_id FROM old_rows) a
        ) m
        CROSS JOIN LATERAL (
            SELECT kind, status, approved_at, created_at, reviewer_id, due_date
            FROM appraisals_evaluation
            WHERE organization_id = m.organization_id AND plan_id = m.id
              AND kind = 'review'
            OFFSET 0
        ) e
    """
    return _upsert(
        "reporting_reviewdaytally",
        DAY_KEYS,
        DAY_COUNTERS,
        _days(moved, "r.cycle_id", plan_probe=False),
    ) + _upsert(
        "reporting_owedreviewtally",
        OWED_KEYS,
        {"n": "sum(d)"},
        _owed(moved, "r.cycle_id", plan_probe=False),
    )


# The days of the organisations whose time zone a statement changed, counted anew
# (each under its own tenant setting, restored afterwards).
ORGANIZATION_BODY = f"""
    FOR org IN
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.timezone IS DISTINCT FROM o.timezone
    LOOP
        previous := current_setting('app.organization_id', true);
        PERFORM set_config('app.organization_id', org::text, true);
        DELETE FROM reporting_reviewdaytally WHERE organization_id = org;
        INSERT INTO reporting_reviewdaytally ({DAY_KEYS}, created, approved)
        SELECT organization_id, cycle_id, day, sum(created), sum(approved) FROM (
            SELECT e.organization_id, p.cycle_id,
                   {_local_day("e.created_at")} AS day, 1 AS created, 0 AS approved
            FROM appraisals_evaluation e
            JOIN engagements_plan p
                ON p.organization_id = e.organization_id AND p.id = e.plan_id
            JOIN organizations_organization o ON o.id = e.organization_id
            WHERE e.organization_id = org AND e.kind = {REVIEW}
            UNION ALL
            SELECT e.organization_id, p.cycle_id, {_local_day("e.approved_at")}, 0, 1
            FROM appraisals_evaluation e
            JOIN engagements_plan p
                ON p.organization_id = e.organization_id AND p.id = e.plan_id
            JOIN organizations_organization o ON o.id = e.organization_id
            WHERE e.organization_id = org AND e.kind = {REVIEW}
              AND e.status = {APPROVED} AND e.approved_at IS NOT NULL
        ) x
        GROUP BY organization_id, cycle_id, day;
        PERFORM set_config('app.organization_id', COALESCE(previous, ''), true);
    END LOOP;
"""
ORGANIZATION_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reporting_tally_organization_update()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    org bigint;
    previous text;
BEGIN
    {ORGANIZATION_BODY}
    RETURN NULL;
END
$fn$;
"""


# --- Scores ----------------------------------------------------------------------------------

SCORE_KEYS = "organization_id, cycle_id, business_unit_id, job_title_id, status"
SCORE_COUNTERS = {"scored": "sum(d)", "total": "sum(d * final_score)"}
DISTRIBUTION_KEYS = f"{SCORE_KEYS}, final_score, band"
APPRAISAL_COUNTED = "cycle_id, employee_id, status, final_score, percent"
# ``reporting.figures.distribution.band_expression``: an empty percent is band 4.
BAND = """
    CASE WHEN percent < 20 THEN 0 WHEN percent < 40 THEN 1 WHEN percent < 60 THEN 2
         WHEN percent < 80 THEN 3 ELSE 4 END
"""


def _score_tallies(delta: str) -> str:
    """Both appraisal tallies from a delta of appraisals (with their unit, title,
    status, final score, percent and ``d``)."""
    scored = f"SELECT * FROM ({delta}) s WHERE final_score IS NOT NULL"
    banded = f"SELECT *, {BAND} AS band FROM ({delta}) s"
    return _upsert(
        "reporting_scoretally", SCORE_KEYS, SCORE_COUNTERS, scored
    ) + _upsert(
        "reporting_distributiontally", DISTRIBUTION_KEYS, {"n": "sum(d)"}, banded
    )


def _appraisal_body(op: str) -> str:
    return _appraisal_scores(op) + _upsert(
        "reporting_typedistributiontally",
        TYPE_KEYS,
        {"n": "sum(d)"},
        _appraisal_types(op),
    )


def _appraisal_scores(op: str) -> str:
    delta = f"""
        SELECT r.organization_id, r.cycle_id, emp.business_unit_id, emp.job_title_id,
               r.status, r.final_score, r.percent, r.d
        FROM ({SIGNED_ROWS[op]}) r
        CROSS JOIN LATERAL (
            SELECT business_unit_id, job_title_id FROM organizations_employee
            WHERE organization_id = r.organization_id AND id = r.employee_id OFFSET 0
        ) emp
    """
    return _score_tallies(delta)


EMPLOYEE_COUNTED = "organization_id, id, business_unit_id, job_title_id"


def _employee_body() -> str:
    delta = f"""
        SELECT m.organization_id, a.cycle_id, m.business_unit_id, m.job_title_id,
               a.status, a.final_score, a.percent, m.d
        FROM (
            SELECT *, -1 AS d FROM (
                SELECT {EMPLOYEE_COUNTED} FROM old_rows
                EXCEPT SELECT {EMPLOYEE_COUNTED} FROM new_rows) b
            UNION ALL
            SELECT *, 1 FROM (
                SELECT {EMPLOYEE_COUNTED} FROM new_rows
                EXCEPT SELECT {EMPLOYEE_COUNTED} FROM old_rows) a
        ) m
        CROSS JOIN LATERAL (
            SELECT cycle_id, status, final_score, percent FROM appraisals_appraisal
            WHERE organization_id = m.organization_id AND employee_id = m.id
            OFFSET 0
        ) a
    """
    return _score_tallies(delta)


# --- Engagement types ---------------------------------------------------------------------

STAFFING_KEYS = "organization_id, cycle_id, employee_id, engagement_type_id"
TYPE_KEYS = "organization_id, cycle_id, engagement_type_id, status, final_score, band"
PLAN_STAFFING_COUNTED = "kind, cycle_id, employee_id, engagement_id"


def _appraisal_types(op: str) -> str:
    """An appraisal delta under each engagement type its person is staffed on in
    its cycle (the staffing tally's rows, all above zero)."""
    return f"""
        SELECT r.organization_id, r.cycle_id, st.engagement_type_id, r.status,
               r.final_score, {BAND.replace("percent", "r.percent")} AS band, r.d
        FROM ({SIGNED_ROWS[op]}) r
        CROSS JOIN LATERAL (
            SELECT engagement_type_id FROM reporting_staffingtally
            WHERE organization_id = r.organization_id AND cycle_id = r.cycle_id
              AND employee_id = r.employee_id
            OFFSET 0
        ) st
    """


def _staffing(staffing_delta: str) -> str:
    """Apply a staffing delta (organisation, cycle, employee, engagement type,
    ``d``): first the type distribution of the people whose plans of a type go from
    none to some or from some to none (read from the staffing tally before it
    changes), then the staffing tally itself."""
    crossings = f"""
        WITH s AS (
            SELECT {STAFFING_KEYS}, sum(d) AS d FROM ({staffing_delta}) x
            GROUP BY {STAFFING_KEYS} HAVING sum(d) <> 0
        ), m AS (
            SELECT s.*, COALESCE(t.plans, 0) AS was FROM s
            LEFT JOIN LATERAL (
                SELECT plans FROM reporting_staffingtally
                WHERE organization_id = s.organization_id AND cycle_id = s.cycle_id
                  AND employee_id = s.employee_id
                  AND engagement_type_id IS NOT DISTINCT FROM s.engagement_type_id
                OFFSET 0
            ) t ON true
        )
        SELECT m.organization_id, m.cycle_id, m.engagement_type_id, a.status,
               a.final_score, {BAND.replace("percent", "a.percent")} AS band,
               CASE WHEN m.was = 0 THEN 1 ELSE -1 END AS d
        FROM m
        CROSS JOIN LATERAL (
            SELECT status, final_score, percent FROM appraisals_appraisal
            WHERE organization_id = m.organization_id AND cycle_id = m.cycle_id
              AND employee_id = m.employee_id
            OFFSET 0
        ) a
        WHERE (m.was = 0) <> (m.was + m.d = 0)
    """
    return _upsert(
        "reporting_typedistributiontally", TYPE_KEYS, {"n": "sum(d)"}, crossings
    ) + _upsert(
        "reporting_staffingtally", STAFFING_KEYS, {"plans": "sum(d)"}, staffing_delta
    )


def _plan_staffing_body(op: str) -> str:
    delta = f"""
        SELECT r.organization_id, r.cycle_id, r.employee_id, eng.engagement_type_id,
               r.d
        FROM ({SIGNED_ROWS[op]}) r
        LEFT JOIN LATERAL (
            SELECT engagement_type_id FROM engagements_engagement
            WHERE organization_id = r.organization_id AND id = r.engagement_id OFFSET 0
        ) eng ON true
        WHERE r.kind = 'engagement'
    """
    return _staffing(delta)


ENGAGEMENT_COUNTED = "organization_id, id, engagement_type_id"


def _engagement_staffing_body() -> str:
    delta = f"""
        SELECT m.organization_id, p.cycle_id, p.employee_id, m.engagement_type_id, m.d
        FROM (
            SELECT *, -1 AS d FROM (
                SELECT {ENGAGEMENT_COUNTED} FROM old_rows
                EXCEPT SELECT {ENGAGEMENT_COUNTED} FROM new_rows) b
            UNION ALL
            SELECT *, 1 FROM (
                SELECT {ENGAGEMENT_COUNTED} FROM new_rows
                EXCEPT SELECT {ENGAGEMENT_COUNTED} FROM old_rows) a
        ) m
        CROSS JOIN LATERAL (
            SELECT cycle_id, employee_id FROM engagements_plan
            WHERE organization_id = m.organization_id AND engagement_id = m.id
              AND kind = 'engagement'
            OFFSET 0
        ) p
    """
    return _staffing(delta)


# --- Installing -------------------------------------------------------------------------------

# (table, function name, operation, whether anything counted changed, body)
TRIGGERS = (
    [
        (
            "appraisals_evaluation",
            f"review_day_{op.lower()}",
            op,
            _changed(op, EVALUATION_COUNTED),
            _evaluation_body(op),
        )
        for op in TRANSITIONS
    ]
    + [
        (
            "engagements_plan",
            "review_day_plan_update",
            "UPDATE",
            _changed("UPDATE", "id, cycle_id"),
            _plan_body(),
        )
    ]
    + [
        (
            "appraisals_appraisal",
            f"score_{op.lower()}",
            op,
            _changed(op, APPRAISAL_COUNTED),
            _appraisal_body(op),
        )
        for op in TRANSITIONS
    ]
    + [
        (
            "engagements_plan",
            f"staffing_plan_{op.lower()}",
            op,
            _changed(op, PLAN_STAFFING_COUNTED),
            _plan_staffing_body(op),
        )
        for op in TRANSITIONS
    ]
    + [
        (
            "engagements_engagement",
            "staffing_engagement_update",
            "UPDATE",
            _changed("UPDATE", ENGAGEMENT_COUNTED),
            _engagement_staffing_body(),
        )
    ]
    + [
        (
            "organizations_employee",
            "score_employee_update",
            "UPDATE",
            _changed("UPDATE", EMPLOYEE_COUNTED),
            _employee_body(),
        )
    ]
)


def install_sql() -> list[str]:
    statements = []
    for table, name, op, changed, body in TRIGGERS:
        statements.append(_function(name, changed, body))
        statements.append(
            f"CREATE TRIGGER reporting_tally_{name} AFTER {op} ON {table} "
            f"REFERENCING {TRANSITIONS[op]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION reporting_tally_{name}()"
        )
    statements.append(ORGANIZATION_FUNCTION)
    statements.append(
        "CREATE TRIGGER reporting_tally_organization_update AFTER UPDATE "
        f"ON organizations_organization REFERENCING {TRANSITIONS['UPDATE']} "
        "FOR EACH STATEMENT EXECUTE FUNCTION reporting_tally_organization_update()"
    )
    return statements


def uninstall_sql() -> list[str]:
    statements = []
    for table, name, _op, _changed_rows, _body in TRIGGERS:
        statements.append(f"DROP TRIGGER IF EXISTS reporting_tally_{name} ON {table}")
        statements.append(f"DROP FUNCTION IF EXISTS reporting_tally_{name}()")
    statements.append(
        "DROP TRIGGER IF EXISTS reporting_tally_organization_update "
        "ON organizations_organization"
    )
    statements.append("DROP FUNCTION IF EXISTS reporting_tally_organization_update()")
    return statements


BACKFILL = [
    f"""
    INSERT INTO reporting_reviewdaytally ({DAY_KEYS}, created, approved)
    SELECT organization_id, cycle_id, day, sum(created), sum(approved) FROM (
        SELECT e.organization_id, p.cycle_id, {_local_day("e.created_at")} AS day,
               1 AS created, 0 AS approved
        FROM appraisals_evaluation e
        JOIN engagements_plan p
            ON p.organization_id = e.organization_id AND p.id = e.plan_id
        JOIN organizations_organization o ON o.id = e.organization_id
        WHERE e.kind = {REVIEW}
        UNION ALL
        SELECT e.organization_id, p.cycle_id, {_local_day("e.approved_at")}, 0, 1
        FROM appraisals_evaluation e
        JOIN engagements_plan p
            ON p.organization_id = e.organization_id AND p.id = e.plan_id
        JOIN organizations_organization o ON o.id = e.organization_id
        WHERE e.kind = {REVIEW} AND e.status = {APPROVED} AND e.approved_at IS NOT NULL
    ) x
    GROUP BY organization_id, cycle_id, day
    """,
    f"""
    INSERT INTO reporting_scoretally ({SCORE_KEYS}, scored, total)
    SELECT a.organization_id, a.cycle_id, emp.business_unit_id, emp.job_title_id,
           a.status, count(*), sum(a.final_score)
    FROM appraisals_appraisal a
    JOIN organizations_employee emp
        ON emp.organization_id = a.organization_id AND emp.id = a.employee_id
    WHERE a.final_score IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO reporting_owedreviewtally ({OWED_KEYS}, n)
    SELECT e.organization_id, p.cycle_id, e.reviewer_id, e.due_date, count(*)
    FROM appraisals_evaluation e
    JOIN engagements_plan p ON p.organization_id = e.organization_id AND p.id = e.plan_id
    WHERE e.kind = {REVIEW} AND e.status IN {OWES} AND e.reviewer_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    """,
    f"""
    INSERT INTO reporting_distributiontally ({DISTRIBUTION_KEYS}, n)
    SELECT a.organization_id, a.cycle_id, emp.business_unit_id, emp.job_title_id,
           a.status, a.final_score, {BAND.replace("percent", "a.percent")}, count(*)
    FROM appraisals_appraisal a
    JOIN organizations_employee emp
        ON emp.organization_id = a.organization_id AND emp.id = a.employee_id
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    """,
    f"""
    INSERT INTO reporting_staffingtally ({STAFFING_KEYS}, plans)
    SELECT p.organization_id, p.cycle_id, p.employee_id, eng.engagement_type_id,
           count(*)
    FROM engagements_plan p
    LEFT JOIN engagements_engagement eng
        ON eng.organization_id = p.organization_id AND eng.id = p.engagement_id
    WHERE p.kind = 'engagement'
    GROUP BY 1, 2, 3, 4
    """,
    f"""
    INSERT INTO reporting_typedistributiontally ({TYPE_KEYS}, n)
    SELECT a.organization_id, a.cycle_id, st.engagement_type_id, a.status,
           a.final_score, {BAND.replace("percent", "a.percent")}, count(*)
    FROM appraisals_appraisal a
    JOIN reporting_staffingtally st
        ON st.organization_id = a.organization_id AND st.cycle_id = a.cycle_id
       AND st.employee_id = a.employee_id
    GROUP BY 1, 2, 3, 4, 5, 6
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
        ("engagements", "0005_cycle_plan_tally"),
        ("organizations", "0006_report_retention_days"),
        ("reporting", "0002_rating_tallies"),
    ]

    operations = [
        migrations.CreateModel(
            name="DistributionTally",
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
                ("status", models.CharField(max_length=12)),
                (
                    "final_score",
                    models.DecimalField(decimal_places=2, max_digits=5, null=True),
                ),
                ("band", models.SmallIntegerField()),
                ("n", models.IntegerField()),
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
                    "cycle",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="engagements.reviewcycle",
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
                            "business_unit",
                            "job_title",
                            "status",
                            "final_score",
                            "band",
                        ),
                        name="distribution_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OwedReviewTally",
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
                ("due_date", models.DateField(null=True)),
                ("n", models.IntegerField()),
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
                        fields=("organization", "cycle", "reviewer", "due_date"),
                        name="owed_review_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ReviewDayTally",
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
                ("day", models.DateField()),
                ("created", models.IntegerField()),
                ("approved", models.IntegerField()),
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
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "cycle", "day"),
                        name="review_day_tally_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ScoreTally",
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
                ("status", models.CharField(max_length=12)),
                ("scored", models.IntegerField()),
                ("total", models.DecimalField(decimal_places=2, max_digits=14)),
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
                    "cycle",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="engagements.reviewcycle",
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
                            "business_unit",
                            "job_title",
                            "status",
                        ),
                        name="score_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="StaffingTally",
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
                ("plans", models.IntegerField()),
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
                    "employee",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organizations.employee",
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
                        fields=("organization", "cycle", "employee", "engagement_type"),
                        name="staffing_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="TypeDistributionTally",
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
                ("status", models.CharField(max_length=12)),
                (
                    "final_score",
                    models.DecimalField(decimal_places=2, max_digits=5, null=True),
                ),
                ("band", models.SmallIntegerField()),
                ("n", models.IntegerField()),
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
                            "engagement_type",
                            "status",
                            "final_score",
                            "band",
                        ),
                        name="type_distribution_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
