"""The cycle progress page's index (PostgreSQL only; other databases skip it).

``evaluation_open_review_due`` holds the review evaluations not approved yet of each
organisation, the earliest due first (those without a due date last), then by id:
the order of the page's list of evaluations not approved yet. A page of that list
reads its 50 rows from the front of the index and looks up their appraisal (for the
cycle), people and plan one by one, instead of joining and sorting every open
evaluation of the cycle; approved reviews (every past cycle's) and self-assessments
are not in it.

The index is not declared on the model (its state would need the model changed).
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS evaluation_open_review_due "
    "ON appraisals_evaluation (organization_id, due_date, id) "
    "WHERE kind = 'review' AND status <> 'approved'"
)
DROP = "DROP INDEX IF EXISTS evaluation_open_review_due"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("appraisals", "0002_queue_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
