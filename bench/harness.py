"""What every benchmark here shares: the throwaway database and the roles.

``run_in_bench_database(run)`` sets Django up, creates and migrates ``hrms_bench`` as
the owner role named by DATABASE_URL (the post-migrate hook installs row-level
security), reconnects as DATABASE_APP_ROLE so the measured work runs under row-level
security as in production, calls ``run(owner)`` and drops the database at the end,
whatever happens. Without DATABASE_URL it falls back to an in-memory SQLite database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "hrms_bench"


def run_in_bench_database(run: Callable[[str], int]) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    from django.conf import settings
    from django.db import connection
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    # Measure what production runs: no DEBUG query log, no debug templates.
    setup_test_environment(debug=False)
    postgres = connection.vendor == "postgresql"
    if postgres:
        connection.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    owner = connection.settings_dict["USER"]
    db_config = setup_databases(
        verbosity=0,
        interactive=False,
        aliases={"default"},  # type: ignore[arg-type]
        serialized_aliases=set(),
    )
    try:
        if postgres:
            if not settings.DATABASE_APP_ROLE:
                print("DATABASE_APP_ROLE must name the application role.")
                return 2
            connection.close()
            connection.settings_dict["USER"] = settings.DATABASE_APP_ROLE
        return run(owner)
    finally:
        connection.close()
        connection.settings_dict["USER"] = owner
        teardown_databases(db_config, verbosity=0)
        teardown_test_environment()


def database_description() -> str:
    """Where the benchmark runs, for its first line of output."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return (
            f"PostgreSQL database {connection.settings_dict['NAME']} as role "
            f"{connection.settings_dict['USER']}"
        )
    return f"{connection.vendor} (no row-level security)"


def analyze(owner: str) -> None:
    """Refresh planner statistics as the table owner, as autovacuum would shortly
    after a bulk load (the application role may not ANALYZE)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    app_role = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = owner
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    connection.settings_dict["USER"] = app_role
