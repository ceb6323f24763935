"""The cycle list's and the cycle page's plan counts, kept by triggers (PostgreSQL
only; other databases get the table, empty).

``CyclePlanTally`` holds how many plans each cycle has per (kind, status), so the
cycle list and the cycle page read a few rows instead of counting the cycle's
~30,000 plans on every request. Statement-level ``AFTER`` triggers with transition
tables on ``engagements_plan`` keep it exact in the transaction of every write,
whoever makes it (services, bulk updates, the seed): each statement's rows become
grouped deltas applied with one ``INSERT ... ON CONFLICT DO UPDATE`` in key order,
then the tallies it brought to zero are deleted by key. Updates that change no counted
column stop after one look at the statement's rows. The triggers run as the writing
role, under row-level security like the write itself. The backfill counts each
organisation's plans under its tenant setting.
"""

from django.db import migrations, models
from django.db.models.deletion import DO_NOTHING, PROTECT

# An update's rows count as the new row (+1) and the old one (-1): an unchanged row's
# two cancel out in the grouped delta, so no join of the two transition tables is
# needed (PostgreSQL plans transition tables without statistics).
ROWS = {
    "INSERT": "SELECT organization_id, cycle_id, kind, status, 1 AS d FROM new_rows",
    "DELETE": "SELECT organization_id, cycle_id, kind, status, -1 AS d FROM old_rows",
    "UPDATE": """
        SELECT organization_id, cycle_id, kind, status, 1 AS d FROM new_rows
        UNION ALL
        SELECT organization_id, cycle_id, kind, status, -1 AS d FROM old_rows
    """,
}
# Whether a statement changed anything counted.
CHANGED = {
    "INSERT": "SELECT 1 FROM new_rows",
    "DELETE": "SELECT 1 FROM old_rows",
    "UPDATE": """
        SELECT cycle_id, kind, status FROM new_rows
        EXCEPT ALL SELECT cycle_id, kind, status FROM old_rows
    """,
}
TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
    "DELETE": "OLD TABLE AS old_rows",
}
KEYS = "organization_id, cycle_id, kind, status"


def _function(op: str) -> str:
    rows = ROWS[op]
    return f"""
CREATE OR REPLACE FUNCTION engagements_tally_plan_{op.lower()}()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    emptied bigint[];
BEGIN
    IF NOT EXISTS ({CHANGED[op]}) THEN
        RETURN NULL;
    END IF;
    WITH up AS (
        INSERT INTO engagements_cycleplantally AS t ({KEYS}, n)
        SELECT {KEYS}, sum(d) FROM ({rows}) x GROUP BY {KEYS} HAVING sum(d) <> 0
        ORDER BY {KEYS}
        ON CONFLICT ({KEYS}) DO UPDATE SET n = t.n + EXCLUDED.n
        RETURNING t.id, t.n
    )
    SELECT array_agg(id) FILTER (WHERE n <= 0) INTO emptied FROM up;
    IF emptied IS NOT NULL THEN
        DELETE FROM engagements_cycleplantally WHERE id = ANY (emptied);
    END IF;
    RETURN NULL;
END
$fn$;
"""


def functions_sql() -> list[str]:
    """The trigger functions (``CREATE OR REPLACE``; migration 0006 reinstalls
    them)."""
    return [_function(op) for op in TRANSITIONS]


BACKFILL = f"""
    INSERT INTO engagements_cycleplantally ({KEYS}, n)
    SELECT {KEYS}, count(*) FROM engagements_plan GROUP BY {KEYS}
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for op, transitions in TRANSITIONS.items():
        schema_editor.execute(_function(op))
        schema_editor.execute(
            f"CREATE TRIGGER engagements_tally_plan_{op.lower()} AFTER {op} "
            "ON engagements_plan "
            f"REFERENCING {transitions} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION engagements_tally_plan_{op.lower()}()"
        )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM organizations_organization ORDER BY id")
        for (organization,) in cursor.fetchall():
            cursor.execute(
                "SELECT set_config('app.organization_id', %s, true)",
                [str(organization)],
            )
            cursor.execute(BACKFILL)
        cursor.execute("SELECT set_config('app.organization_id', '', true)")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for op in TRANSITIONS:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS engagements_tally_plan_{op.lower()} "
            "ON engagements_plan"
        )
        schema_editor.execute(
            f"DROP FUNCTION IF EXISTS engagements_tally_plan_{op.lower()}()"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0004_list_indexes"),
        ("organizations", "0004_people_directory_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="CyclePlanTally",
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
                (
                    "kind",
                    models.CharField(
                        choices=[("general", "General"), ("engagement", "Engagement")],
                        max_length=12,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("active", "Active"),
                            ("locked", "Locked"),
                        ],
                        max_length=10,
                    ),
                ),
                ("n", models.IntegerField()),
                (
                    "cycle",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=DO_NOTHING,
                        related_name="+",
                        to="engagements.reviewcycle",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=PROTECT,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "cycle", "kind", "status"),
                        name="cycle_plan_tally_key",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
