"""Two indexes of the reporting dashboards (PostgreSQL only; other databases skip
them).

- ``plan_cycle_person``: the plans of a cycle by person, their status included. A
  dashboard narrowed to some people (a business unit, a line) counts their plans of
  the cycle by status: with it, an index-only probe per person
  (``organizations.lookups.Among``), where the database otherwise read the cycle's
  every plan (29,000 at 10,000 employees) to keep a business unit's 1,700.
- ``role_assignment_role_engagement``: each role's assignments by engagement, with
  the person. HR's overview looks up the approvers of the engagements with late
  submitted reviews (2,200 at 10,000 employees) in it, where the database read every
  role assignment (32,000) to hash the approvers'.

Not declared on the model (its state would need the model changed), as
``0004_list_indexes``; ``docs/performance.md`` lists it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS plan_cycle_person ON engagements_plan "
    "(organization_id, cycle_id, employee_id) INCLUDE (status)",
    "CREATE INDEX IF NOT EXISTS role_assignment_role_engagement "
    "ON engagements_roleassignment (organization_id, role, engagement_id) "
    "INCLUDE (employee_id)",
)
DROP = (
    "DROP INDEX IF EXISTS plan_cycle_person",
    "DROP INDEX IF EXISTS role_assignment_role_engagement",
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
        ("engagements", "0006_plan_cycle_engagement_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
