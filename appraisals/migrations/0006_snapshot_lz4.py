"""Appraisal snapshots compressed with LZ4 instead of PostgreSQL's default pglz
(PostgreSQL 14 and later, when the server was built with LZ4, as Debian's and the
official images are; elsewhere nothing changes).

A snapshot is about 2.7 KB of JSON, compressed whenever its row is written: a whole
cycle's recompute writes 10,000 of them, and LZ4 compresses several times faster
than pglz for about the same size (measured with ``bench/recompute.py``: 0.1 s of a
10,000-employee cycle's 3 s). Values already stored keep their compression until
they are next written; reading either is transparent.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

SUPPORTS_LZ4 = """
SELECT 'lz4' = ANY(enumvals) FROM pg_settings
WHERE name = 'default_toast_compression'
"""


def compress_snapshots_with_lz4(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(SUPPORTS_LZ4)
        row = cursor.fetchone()
        if row is None or not row[0]:
            return
        cursor.execute(
            "ALTER TABLE appraisals_appraisal ALTER COLUMN snapshot SET COMPRESSION lz4"
        )


def compress_snapshots_with_pglz(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE appraisals_appraisal ALTER COLUMN snapshot "
            "SET COMPRESSION default"
        )


class Migration(migrations.Migration):
    dependencies = [("appraisals", "0005_progress_tallies")]

    operations = [
        migrations.RunPython(compress_snapshots_with_lz4, compress_snapshots_with_pglz)
    ]
