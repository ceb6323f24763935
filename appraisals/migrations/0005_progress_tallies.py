"""The cycle progress page's tallies, kept by triggers (PostgreSQL only; other
databases get the tables, empty).

Five small tables (``appraisals.models``, "Progress tallies") count what HR's cycle
progress page shows, so the page reads a few dozen rows instead of aggregating the
cycle's ~10,000 appraisals and ~30,000 review evaluations on every request:

- ``CycleReviewTally``: review evaluations per (cycle, status, due date);
- ``EngagementReviewTally``: the same per engagement (0: the general plans);
- ``EngagementWorkload``: per engagement, total and approved (``waiting`` is their
  difference, indexed for "the busiest engagements");
- ``AppraisalReviewTally``: per appraisal, its review evaluations and approved ones;
- ``CycleAppraisalTally``: appraisals per (cycle, status, ready to finalise).

Statement-level ``AFTER`` triggers with transition tables keep them exact in the
transaction of every write, whoever makes it (services, bulk updates, the seed, the
recompute, raw SQL): each statement's rows become grouped deltas, applied with one
``INSERT ... ON CONFLICT DO UPDATE`` per tally, in key order (so concurrent writers
lock tally rows in the same order), then the tallies it brought to zero are deleted
by key. A delta for a tally that does not exist (its table was just emptied) leaves
nothing behind. Updates that change no counted column (scores, comments, versions) stop
after one look at the statement's rows.

Evaluations trigger all five; appraisals ``CycleAppraisalTally`` (status changes);
plans the evaluation tallies when a plan moves to another cycle or engagement. The
triggers run as the writing role, under row-level security like the write itself.

The backfill counts each organisation's existing rows under its tenant setting.
"""

from django.db import migrations, models
from django.db.models import expressions
from django.db.models.deletion import DO_NOTHING, PROTECT

REVIEW = "'review'"
APPROVED = "'approved'"
OPEN = "'open'"


def _apply(
    table: str,
    keys: list[str],
    counters: dict[str, str],
    delta: str,
    *,
    conflict: str = "",
    pk: str = "id",
) -> str:
    """Add the grouped ``delta`` (a query with the ``keys`` and a column ``d``) to
    ``table``: one upsert in key order, then delete (by primary key) the rows whose
    first counter it brought to zero. ``counters`` maps each counter column to its
    aggregate of ``d``. Linear in the statement's rows: the delta is read once."""
    first = next(iter(counters))
    cols = ", ".join(keys)
    sums = ", ".join(f"{agg} AS {name}" for name, agg in counters.items())
    changed = " OR ".join(f"{agg} <> 0" for agg in counters.values())
    increments = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in counters)
    return f"""
    WITH up AS (
        INSERT INTO {table} AS t ({cols}, {", ".join(counters)})
        SELECT {cols}, {sums} FROM ({delta}) x GROUP BY {cols} HAVING {changed}
        ORDER BY {cols}
        ON CONFLICT ({conflict or cols}) DO UPDATE SET {increments}
        RETURNING t.{pk} AS pk, t.{first} AS first
    )
    SELECT array_agg(pk) FILTER (WHERE first <= 0) INTO emptied FROM up;
    IF emptied IS NOT NULL THEN
        DELETE FROM {table} WHERE {pk} = ANY (emptied);
    END IF;
"""


def _ready(status: str, reviews: str, approved: str) -> str:
    """``selectors.appraisals.is_ready`` in SQL."""
    return f"({status} = {OPEN} AND {reviews} > 0 AND {reviews} = {approved})"


# --- Evaluations ---------------------------------------------------------------------

# An update's rows count as the new row (+1) and the old one (-1): an unchanged row's
# two cancel out in every grouped delta, so no join of the two transition tables is
# needed (PostgreSQL plans transition tables without statistics).
EVALUATION_ROWS = {
    "INSERT": f"SELECT *, 1 AS d FROM new_rows WHERE kind = {REVIEW}",
    "DELETE": f"SELECT *, -1 AS d FROM old_rows WHERE kind = {REVIEW}",
    "UPDATE": f"""
        SELECT *, 1 AS d FROM new_rows WHERE kind = {REVIEW}
        UNION ALL
        SELECT *, -1 AS d FROM old_rows WHERE kind = {REVIEW}
    """,
}
# Whether a statement changed anything counted: for an update, whether the new rows'
# counted columns differ from the old ones' (as multisets).
COUNTED = "appraisal_id, plan_id, kind, status, due_date"
EVALUATION_CHANGED = {
    "INSERT": f"SELECT 1 FROM new_rows WHERE kind = {REVIEW}",
    "DELETE": f"SELECT 1 FROM old_rows WHERE kind = {REVIEW}",
    "UPDATE": f"""
        SELECT {COUNTED} FROM new_rows EXCEPT ALL SELECT {COUNTED} FROM old_rows
    """,
}


def _evaluation_delta(rows: str) -> str:
    """Counted evaluation rows with their plan's cycle and engagement. Each lookup is
    a ``LATERAL`` subquery behind ``OFFSET 0``, so it stays one key probe per row: the
    planner has no statistics for transition tables and would otherwise join them on
    guesses. Every lookup here matches the organisation as well as the id, which
    keeps PostgreSQL on the unique ``(organization_id, id)`` index: with statistics
    taken before an organisation's rows arrived (a second tenant loaded in bulk), it
    believes that organisation holds one row, prefers the ``organization_id`` index
    that row-level security's condition matches, and scans the organisation's whole
    index once per row (minutes for 40,000 evaluations)."""
    return f"""
        SELECT r.organization_id, p.cycle_id, COALESCE(p.engagement_id, 0)
               AS engagement_id, r.appraisal_id, r.status, r.due_date, r.d
        FROM ({rows}) r
        CROSS JOIN LATERAL (
            SELECT cycle_id, engagement_id FROM engagements_plan
            WHERE organization_id = r.organization_id AND id = r.plan_id
            OFFSET 0
        ) p
    """


def _review_tallies(delta: str) -> str:
    """The three tallies of review evaluations, from an evaluation delta."""
    return (
        _apply(
            "appraisals_cyclereviewtally",
            ["organization_id", "cycle_id", "status", "due_date"],
            {"n": "sum(d)"},
            delta,
        )
        + _apply(
            "appraisals_engagementreviewtally",
            ["organization_id", "cycle_id", "engagement_id", "status", "due_date"],
            {"n": "sum(d)"},
            delta,
        )
        + _apply(
            "appraisals_engagementworkload",
            ["organization_id", "cycle_id", "engagement_id"],
            {
                "total": "sum(d)",
                "approved": f"COALESCE(sum(d) FILTER (WHERE status = {APPROVED}), 0)",
            },
            delta,
        )
    )


def _readiness_delta(delta: str) -> str:
    """How the evaluation ``delta`` moves appraisals in or out of "ready", per
    (cycle, status, ready): read before ``AppraisalReviewTally`` is updated."""
    return f"""
        WITH a AS (
            SELECT organization_id, appraisal_id, sum(d) AS dr,
                   COALESCE(sum(d) FILTER (WHERE status = {APPROVED}), 0) AS da
            FROM ({delta}) x GROUP BY organization_id, appraisal_id
        ), m AS (
            SELECT ap.organization_id, ap.cycle_id, ap.status,
                   {_ready("ap.status", "COALESCE(t.reviews, 0)", "COALESCE(t.approved, 0)")} AS was,
                   {_ready("ap.status", "COALESCE(t.reviews, 0) + a.dr", "COALESCE(t.approved, 0) + a.da")} AS now
            FROM a
            CROSS JOIN LATERAL (
                SELECT organization_id, cycle_id, status FROM appraisals_appraisal
                WHERE organization_id = a.organization_id AND id = a.appraisal_id
                OFFSET 0
            ) ap
            LEFT JOIN LATERAL (
                SELECT reviews, approved FROM appraisals_appraisalreviewtally
                WHERE organization_id = a.organization_id
                  AND appraisal_id = a.appraisal_id
                OFFSET 0
            ) t ON true
        )
        SELECT organization_id, cycle_id, status, was AS ready, -1 AS d FROM m
        WHERE was <> now
        UNION ALL
        SELECT organization_id, cycle_id, status, now AS ready, 1 AS d FROM m
        WHERE was <> now
    """


APPRAISAL_TALLY_KEYS = ["organization_id", "cycle_id", "status", "ready"]


def _evaluation_function(op: str) -> str:
    rows = EVALUATION_ROWS[op]
    delta = _evaluation_delta(rows)
    body = (
        _review_tallies(delta)
        + _apply(
            "appraisals_cycleappraisaltally",
            APPRAISAL_TALLY_KEYS,
            {"n": "sum(d)"},
            _readiness_delta(delta),
        )
        + _apply(
            "appraisals_appraisalreviewtally",
            ["organization_id", "appraisal_id"],
            {
                "reviews": "sum(d)",
                "approved": f"COALESCE(sum(d) FILTER (WHERE status = {APPROVED}), 0)",
            },
            delta,
            conflict="appraisal_id",
            pk="appraisal_id",
        )
    )
    return f"""
CREATE OR REPLACE FUNCTION appraisals_tally_evaluation_{op.lower()}()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    emptied bigint[];
BEGIN
    IF NOT EXISTS ({EVALUATION_CHANGED[op]}) THEN
        RETURN NULL;
    END IF;
    {body}
    RETURN NULL;
END
$fn$;
"""


# --- Appraisals ----------------------------------------------------------------------

APPRAISAL_ROWS = {
    "INSERT": "SELECT *, 1 AS d FROM new_rows",
    "DELETE": "SELECT *, -1 AS d FROM old_rows",
    "UPDATE": """
        SELECT *, 1 AS d FROM new_rows UNION ALL SELECT *, -1 AS d FROM old_rows
    """,
}
APPRAISAL_CHANGED = {
    "INSERT": "SELECT 1 FROM new_rows",
    "DELETE": "SELECT 1 FROM old_rows",
    "UPDATE": """
        SELECT id, cycle_id, status FROM new_rows
        EXCEPT ALL SELECT id, cycle_id, status FROM old_rows
    """,
}


def _appraisal_function(op: str) -> str:
    rows = APPRAISAL_ROWS[op]
    ready = _ready("r.status", "COALESCE(t.reviews, 0)", "t.approved")
    delta = f"""
        SELECT r.organization_id, r.cycle_id, r.status, COALESCE({ready}, false)
               AS ready, r.d
        FROM ({rows}) r
        LEFT JOIN LATERAL (
            SELECT reviews, approved FROM appraisals_appraisalreviewtally
            WHERE organization_id = r.organization_id AND appraisal_id = r.id
            OFFSET 0
        ) t ON true
    """
    body = _apply(
        "appraisals_cycleappraisaltally", APPRAISAL_TALLY_KEYS, {"n": "sum(d)"}, delta
    )
    return f"""
CREATE OR REPLACE FUNCTION appraisals_tally_appraisal_{op.lower()}()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    emptied bigint[];
BEGIN
    IF NOT EXISTS ({APPRAISAL_CHANGED[op]}) THEN
        RETURN NULL;
    END IF;
    {body}
    RETURN NULL;
END
$fn$;
"""


# --- Plans ---------------------------------------------------------------------------

# The plans whose cycle or engagement a statement changed, before and after.
PLANS_BEFORE = """
    SELECT organization_id, id, cycle_id, COALESCE(engagement_id, 0) AS engagement_id
    FROM old_rows
    EXCEPT SELECT organization_id, id, cycle_id, COALESCE(engagement_id, 0)
    FROM new_rows
"""
PLANS_AFTER = """
    SELECT organization_id, id, cycle_id, COALESCE(engagement_id, 0) AS engagement_id
    FROM new_rows
    EXCEPT SELECT organization_id, id, cycle_id, COALESCE(engagement_id, 0)
    FROM old_rows
"""


def _plan_function() -> str:
    reviews = f"""
        CROSS JOIN LATERAL (
            SELECT organization_id, appraisal_id, status, due_date
            FROM appraisals_evaluation
            WHERE organization_id = m.organization_id AND plan_id = m.id
              AND kind = {REVIEW}
            OFFSET 0
        ) e
    """
    delta = f"""
        SELECT e.organization_id, m.cycle_id, m.engagement_id, e.appraisal_id,
               e.status, e.due_date, -1 AS d
        FROM ({PLANS_BEFORE}) m {reviews}
        UNION ALL
        SELECT e.organization_id, m.cycle_id, m.engagement_id, e.appraisal_id,
               e.status, e.due_date, 1
        FROM ({PLANS_AFTER}) m {reviews}
    """
    return f"""
CREATE OR REPLACE FUNCTION appraisals_tally_plan_update()
RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    emptied bigint[];
BEGIN
    IF NOT EXISTS ({PLANS_AFTER}) THEN
        RETURN NULL;
    END IF;
    {_review_tallies(delta)}
    RETURN NULL;
END
$fn$;
"""


# --- Installing ----------------------------------------------------------------------

TRIGGERS = [
    ("appraisals_evaluation", "evaluation", op)
    for op in ("INSERT", "UPDATE", "DELETE")
] + [("appraisals_appraisal", "appraisal", op) for op in ("INSERT", "UPDATE", "DELETE")]


def _transitions(op: str) -> str:
    return {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }[op]


def functions_sql() -> list[str]:
    """Every trigger function (``CREATE OR REPLACE``; migration 0006 reinstalls
    them)."""
    statements = [_evaluation_function(op) for op in ("INSERT", "UPDATE", "DELETE")]
    statements += [_appraisal_function(op) for op in ("INSERT", "UPDATE", "DELETE")]
    statements.append(_plan_function())
    return statements


def install_sql() -> list[str]:
    """Every function and trigger, in the order to create them."""
    statements = functions_sql()
    for table, name, op in TRIGGERS:
        statements.append(
            f"CREATE TRIGGER tally_{name}_{op.lower()} AFTER {op} ON {table} "
            f"REFERENCING {_transitions(op)} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION appraisals_tally_{name}_{op.lower()}()"
        )
    statements.append(
        "CREATE TRIGGER tally_plan_update AFTER UPDATE ON engagements_plan "
        f"REFERENCING {_transitions('UPDATE')} FOR EACH STATEMENT "
        "EXECUTE FUNCTION appraisals_tally_plan_update()"
    )
    return statements


def uninstall_sql() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS tally_{name}_{op.lower()} ON {table}"
        for table, name, op in TRIGGERS
    ]
    statements.append("DROP TRIGGER IF EXISTS tally_plan_update ON engagements_plan")
    statements += [
        f"DROP FUNCTION IF EXISTS appraisals_tally_{name}_{op.lower()}()"
        for _table, name, op in TRIGGERS
    ]
    statements.append("DROP FUNCTION IF EXISTS appraisals_tally_plan_update()")
    return statements


# The tallies counted afresh from the rows of the organisation whose tenant setting is
# active (``check_progress_tallies`` compares with the same counts).
BACKFILL = [
    f"""
    INSERT INTO appraisals_cyclereviewtally (organization_id, cycle_id, status, due_date, n)
    SELECT e.organization_id, p.cycle_id, e.status, e.due_date, count(*)
    FROM appraisals_evaluation e JOIN engagements_plan p
        ON p.organization_id = e.organization_id AND p.id = e.plan_id
    WHERE e.kind = {REVIEW} GROUP BY 1, 2, 3, 4
    """,
    f"""
    INSERT INTO appraisals_engagementreviewtally
        (organization_id, cycle_id, engagement_id, status, due_date, n)
    SELECT e.organization_id, p.cycle_id, COALESCE(p.engagement_id, 0), e.status,
           e.due_date, count(*)
    FROM appraisals_evaluation e JOIN engagements_plan p
        ON p.organization_id = e.organization_id AND p.id = e.plan_id
    WHERE e.kind = {REVIEW} GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO appraisals_engagementworkload
        (organization_id, cycle_id, engagement_id, total, approved)
    SELECT e.organization_id, p.cycle_id, COALESCE(p.engagement_id, 0), count(*),
           count(*) FILTER (WHERE e.status = {APPROVED})
    FROM appraisals_evaluation e JOIN engagements_plan p
        ON p.organization_id = e.organization_id AND p.id = e.plan_id
    WHERE e.kind = {REVIEW} GROUP BY 1, 2, 3
    """,
    f"""
    INSERT INTO appraisals_appraisalreviewtally (organization_id, appraisal_id, reviews, approved)
    SELECT organization_id, appraisal_id, count(*),
           count(*) FILTER (WHERE status = {APPROVED})
    FROM appraisals_evaluation WHERE kind = {REVIEW} GROUP BY 1, 2
    """,
    f"""
    INSERT INTO appraisals_cycleappraisaltally (organization_id, cycle_id, status, ready, n)
    SELECT a.organization_id, a.cycle_id, a.status,
           COALESCE({_ready("a.status", "COALESCE(t.reviews, 0)", "t.approved")}, false),
           count(*)
    FROM appraisals_appraisal a
    LEFT JOIN appraisals_appraisalreviewtally t ON t.appraisal_id = a.id
    GROUP BY 1, 2, 3, 4
    """,
]


# The appraisal list's status filter (and its ready count's open rows): counted from
# the index alone.
STATUS_INDEX = (
    "CREATE INDEX IF NOT EXISTS appraisal_cycle_status "
    "ON appraisals_appraisal (organization_id, cycle_id, status)"
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(STATUS_INDEX)
    for statement in install_sql():
        schema_editor.execute(statement)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM organizations_organization ORDER BY id")
        organizations = [row[0] for row in cursor.fetchall()]
        for organization in organizations:
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
    schema_editor.execute("DROP INDEX IF EXISTS appraisal_cycle_status")


def _cycle():
    return models.ForeignKey(
        db_constraint=False,
        on_delete=DO_NOTHING,
        related_name="+",
        to="engagements.reviewcycle",
    )


def _organization():
    return models.ForeignKey(
        on_delete=PROTECT, related_name="+", to="organizations.organization"
    )


def _id():
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


EVALUATION_STATUSES = [
    ("draft", "Draft"),
    ("submitted", "Submitted"),
    ("approved", "Approved"),
    ("returned", "Returned"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("appraisals", "0004_queue"),
        ("engagements", "0004_list_indexes"),
        ("organizations", "0004_people_directory_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="AppraisalReviewTally",
            fields=[
                (
                    "appraisal",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=DO_NOTHING,
                        primary_key=True,
                        related_name="review_tally",
                        serialize=False,
                        to="appraisals.appraisal",
                    ),
                ),
                ("reviews", models.IntegerField()),
                ("approved", models.IntegerField()),
                ("organization", _organization()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "appraisal"),
                        name="appraisal_review_tally_tenant_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CycleAppraisalTally",
            fields=[
                ("id", _id()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("finalized", "Finalised"),
                            ("acknowledged", "Acknowledged"),
                        ],
                        max_length=12,
                    ),
                ),
                ("ready", models.BooleanField()),
                ("n", models.IntegerField()),
                ("cycle", _cycle()),
                ("organization", _organization()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "cycle", "status", "ready"),
                        name="cycle_appraisal_tally_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CycleReviewTally",
            fields=[
                ("id", _id()),
                (
                    "status",
                    models.CharField(choices=EVALUATION_STATUSES, max_length=10),
                ),
                ("due_date", models.DateField(null=True)),
                ("n", models.IntegerField()),
                ("cycle", _cycle()),
                ("organization", _organization()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "cycle", "status", "due_date"),
                        name="cycle_review_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EngagementReviewTally",
            fields=[
                ("id", _id()),
                ("engagement_id", models.BigIntegerField()),
                (
                    "status",
                    models.CharField(choices=EVALUATION_STATUSES, max_length=10),
                ),
                ("due_date", models.DateField(null=True)),
                ("n", models.IntegerField()),
                ("cycle", _cycle()),
                ("organization", _organization()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "organization",
                            "cycle",
                            "engagement_id",
                            "status",
                            "due_date",
                        ),
                        name="engagement_review_tally_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EngagementWorkload",
            fields=[
                ("id", _id()),
                ("engagement_id", models.BigIntegerField()),
                ("total", models.IntegerField()),
                ("approved", models.IntegerField()),
                (
                    "waiting",
                    models.GeneratedField(
                        db_persist=True,
                        expression=expressions.CombinedExpression(
                            models.F("total"), "-", models.F("approved")
                        ),
                        output_field=models.IntegerField(),
                    ),
                ),
                ("cycle", _cycle()),
                ("organization", _organization()),
            ],
            options={
                "indexes": [
                    models.Index(
                        models.F("organization"),
                        models.F("cycle"),
                        models.OrderBy(models.F("waiting"), descending=True),
                        name="engagement_workload_busiest",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "cycle", "engagement_id"),
                        name="engagement_workload_key",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
