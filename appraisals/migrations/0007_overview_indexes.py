"""Two indexes of the cycle overview (PostgreSQL only; other databases skip them).

``evaluation_review_by_appraisal`` holds, per appraisal, its review evaluations'
status, due date, approval and creation times, reviewer and plan. An overview
narrowed by a filter (a business unit: 1,700 reviews at 10,000 employees) reads the
reviews of the appraisals the filter selects from the index alone, instead of
fetching each from the table, where they lie scattered among every cycle's
evaluations. Self-assessments are not in it.

``engagement_review_tally_due`` holds the per-engagement review tallies of each
cycle by status and due date, with their engagement and count: HR's overview finds
the approvers with the most late submitted reviews from the submitted ones past
their due date (2,200 engagements of 10,000 tally rows at 10,000 employees), read
from the index alone.

The index is not declared on the model (its state would need the model changed).
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS evaluation_review_by_appraisal "
    "ON appraisals_evaluation (organization_id, appraisal_id) "
    "INCLUDE (status, due_date, approved_at, created_at, reviewer_id, plan_id) "
    "WHERE kind = 'review'",
    "CREATE INDEX IF NOT EXISTS engagement_review_tally_due "
    "ON appraisals_engagementreviewtally (organization_id, cycle_id, status, due_date) "
    "INCLUDE (engagement_id, n)",
)
DROP = (
    "DROP INDEX IF EXISTS evaluation_review_by_appraisal",
    "DROP INDEX IF EXISTS engagement_review_tally_due",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("appraisals", "0006_snapshot_lz4"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
