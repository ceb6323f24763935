"""An index of the reviews each reviewer owes, by due date (PostgreSQL only; other
databases skip it).

``owed_review_tally_due`` holds the owed-review tallies of each cycle by due date,
with the reviewer and the count: HR's overview sums those past their due date per
reviewer (3,000 of 8,000 rows at 10,000 employees) from the index alone, where the
database read the cycle's every tally row from the table.

Not declared on the model (its state would need the model changed), as the
indexes of ``engagements`` and ``appraisals``; ``docs/performance.md`` lists it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS owed_review_tally_due ON reporting_owedreviewtally "
    "(organization_id, cycle_id, due_date) INCLUDE (reviewer_id, n)"
)
DROP = "DROP INDEX IF EXISTS owed_review_tally_due"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_cycle_tallies"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
