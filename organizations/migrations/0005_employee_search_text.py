"""``Employee.search_text``: the name, code and e-mail address in upper case, one per
line, a stored column that PostgreSQL computes (existing rows included: adding it
rewrites the table).

The directory search and the people pickers match it with one ``LIKE`` per row
instead of upper-casing three columns of every row of the organisation.

Rewriting the table leaves its visibility map empty, so the directory's index-only
scans (``employee_directory``, 0004) would read the table until autovacuum next
visits it, which a rewrite does not prompt: the migration vacuums the table itself
(PostgreSQL only, outside a transaction, as ``VACUUM`` must run).
"""

import django.db.models.functions.text
from django.db import migrations, models

import organizations.models


def vacuum(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("VACUUM (ANALYZE) organizations_employee")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("organizations", "0004_people_directory_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="employee",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    django.db.models.functions.text.Upper("full_name"),
                    models.Value("\n"),
                    django.db.models.functions.text.Upper("code"),
                    models.Value("\n"),
                    django.db.models.functions.text.Upper("email"),
                    output_field=models.TextField(),
                ),
                output_field=organizations.models.UpperTextField(),
            ),
        ),
        migrations.RunPython(vacuum, migrations.RunPython.noop, elidable=False),
    ]
