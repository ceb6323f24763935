"""The evaluation queue's index (PostgreSQL only; other databases skip it).

``evaluation_submitted_review`` holds the submitted reviews of each organisation in
submission order: the candidates of the "To approve" tab, read in the order it
lists them, without touching the organisation's drafts, approved reviews and
self-assessments. The other tabs use the existing indexes on the reviewer.

The index is not declared on the model (its state would need the model changed);
``docs/performance.md`` lists it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS evaluation_submitted_review "
    "ON appraisals_evaluation (organization_id, submitted_at, id) "
    "WHERE kind = 'review' AND status = 'submitted'"
)
DROP = "DROP INDEX IF EXISTS evaluation_submitted_review"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("appraisals", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
