"""Indexes for the engagement list and the home page's "plans to write" (PostgreSQL
only; other databases skip them).

- ``engagement_list_order``: the engagement list's order (newest start first, then
  name) within the organisation, so a page of 25 comes from the index instead of
  sorting every engagement.
- ``plan_draft``: the organisation's draft plans by engagement. The home page lists
  the drafts on the engagements a member plans; without it the database reads every
  plan of the organisation to find the drafts.

Not declared on the models (their state would need the models changed);
``docs/performance.md`` lists them.
"""

from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS engagement_list_order ON engagements_engagement "
    "(organization_id, start_date DESC, name, id)",
    "CREATE INDEX IF NOT EXISTS plan_draft ON engagements_plan "
    "(organization_id, engagement_id) WHERE status = 'draft'",
]
DROP = [
    "DROP INDEX IF EXISTS engagement_list_order",
    "DROP INDEX IF EXISTS plan_draft",
]


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
        ("engagements", "0003_historicalreviewcycle_allow_early_evaluation_and_more"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
