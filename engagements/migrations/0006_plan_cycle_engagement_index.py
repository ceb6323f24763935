"""An index of the engagements staffed in each cycle (PostgreSQL only; other databases
skip it).

- ``plan_cycle_engagement``: the engagement plans of a cycle by engagement. The
  engagement analytics list the engagements (or clients) with someone staffed in the
  cycle; without it the database reads each of the cycle's engagement plans from the
  table (19,000 at 10,000 employees) to learn their engagements. With it, an
  index-only scan.

Not declared on the model (its state would need the model changed), as
``0004_list_indexes``; ``docs/performance.md`` lists it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS plan_cycle_engagement ON engagements_plan "
    "(organization_id, cycle_id, engagement_id) WHERE kind = 'engagement'"
)
DROP = "DROP INDEX IF EXISTS plan_cycle_engagement"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0005_cycle_plan_tally"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
