"""The people directory's order as an index (PostgreSQL only; other databases skip
it).

``employee_directory`` holds the directory's order (name, code) within the
organisation and carries the columns its filters and the HR home page's figures read
(active, unit, title, line manager, login). A page's 25 rows come in index order
instead of sorting the organisation, and once the table is vacuumed its exact total
and the home page's counts need no table access.

Search (``icontains`` on name, code and e-mail) gets no index: under row-level
security PostgreSQL evaluates functions that are not leakproof (``upper``, ``LIKE``)
only after the policy, so no expression or trigram index can serve them; search
reads the organisation's entries (see ``docs/performance.md``).

The index is not declared on the model, whose state cannot express INCLUDE columns
portably; ``docs/performance.md`` lists it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS employee_directory ON organizations_employee "
    "(organization_id, full_name, code) "
    "INCLUDE (is_active, business_unit_id, job_title_id, line_manager_id, user_id)"
)
DROP = "DROP INDEX IF EXISTS employee_directory"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0003_outbox_and_rate_limit_counter"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
