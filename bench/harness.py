"""What every benchmark here shares: the throwaway database and the roles, seeding
an organisation, the measuring loop and the closing comparison of two sizes.

``run_in_bench_database(run)`` sets Django up, creates and migrates ``hrms_bench`` (or
the ``database`` given) as the owner role named by DATABASE_URL (the post-migrate hook
installs row-level security), reconnects as DATABASE_APP_ROLE so the measured work runs
under row-level security as in production, calls ``run(owner)`` and drops the database
at the end, whatever happens. Without DATABASE_URL it falls back to an in-memory SQLite
database. Benchmarks that request the floor page (bench/floor.py) pass
``settings_module="bench.settings"``: the project's settings with the floor's URL in
front of the product's.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from io import StringIO
from pathlib import Path

import django
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import (
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "hrms_bench"


def run_in_bench_database(
    run: Callable[[str], int],
    *,
    database: str = BENCH_DATABASE,
    settings_module: str = "config.settings",
    keep: bool = False,
) -> int:
    """Run ``run(owner)`` in a fresh database ``database`` as the application role,
    with ``settings_module``; drop the database afterwards. Returns what ``run``
    returns (the exit status). With ``keep`` the database is reused when it exists
    (migrated again, not recreated) and left in place afterwards: for measuring one
    page again and again while working on it, without seeding each time."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    django.setup()

    # Measure what production runs: no DEBUG query log, no debug templates.
    setup_test_environment(debug=False)
    postgres = connection.vendor == "postgresql"
    if postgres:
        connection.settings_dict["TEST"]["NAME"] = database
    owner = connection.settings_dict["USER"]
    db_config = setup_databases(
        verbosity=0,
        interactive=False,
        aliases={"default"},  # type: ignore[arg-type]  # Django takes a set; the stubs say Mapping
        serialized_aliases=set(),
        keepdb=keep,
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
        teardown_databases(db_config, verbosity=0, keepdb=keep)
        teardown_test_environment()


def database_description() -> str:
    """Where the benchmark runs, for its first line of output."""
    if connection.vendor == "postgresql":
        return (
            f"PostgreSQL database {connection.settings_dict['NAME']} as role "
            f"{connection.settings_dict['USER']}"
        )
    return f"{connection.vendor} (no row-level security)"


def analyze(owner: str) -> None:
    """``VACUUM ANALYZE`` as the table owner, as autovacuum would shortly after a bulk
    load (the application role may do neither): planner statistics, and the
    visibility map that index-only scans (the exact list counts) rely on. The
    PostgreSQL of our development machines runs without autovacuum."""
    if connection.vendor != "postgresql":
        return
    app_role = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = owner
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    connection.settings_dict["USER"] = app_role


def seed_organization(
    slug: str, employees: int, seed: int, *, people_only: bool = False
) -> None:
    """``seed_scale --org <slug> --employees <employees> --seed <seed>``, quietly (a
    failure still raises): the whole world, or with ``people_only`` the people,
    units, titles and accounts alone.

    Each organisation is seeded on a database session of its own: PostgreSQL keeps
    the plans of a session's foreign-key checks and trigger statements, and plans
    made while the first organisation was loaded, reused for the second, ten times
    larger, made its seed take 350 s instead of 90 s."""
    connection.close()
    call_command(
        "seed_scale",
        "--org",
        slug,
        "--employees",
        str(employees),
        "--seed",
        str(seed),
        *(["--people-only"] if people_only else []),
        stdout=StringIO(),
        # Its hint that the application role may not ANALYZE: analyze() does, as owner.
        stderr=StringIO(),
    )


# Transaction bookkeeping, not lookups: what a request's atomic blocks issue (BEGIN
# and COMMIT; SAVEPOINTs when nested) and the row-security reset after a view under
# an outer transaction. The suite's query budgets leave the same statements out
# (tests/organizations/views/test_query_counts.py), so both count the same way.
BOOKKEEPING = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b"
    r"|^\s*SELECT set_config\("
)


def lookups(captured: CaptureQueriesContext) -> int:
    """How many of the captured statements are lookups (``BOOKKEEPING`` left out)."""
    return sum(1 for q in captured.captured_queries if not BOOKKEEPING.match(q["sql"]))


def measure(
    keys: Sequence[str],
    once: Callable[[str], float],
    *,
    warmup: int,
    repeats: int,
) -> tuple[dict[str, int], dict[str, list[float]]]:
    """Per key, ``warmup`` runs of ``once(key)`` (which returns its seconds), then one
    more whose queries are counted; then ``repeats`` rounds of one run per key,
    alternating, so drift in machine load hits every key alike. Returns the query
    count of the counted run (its lookups: ``BOOKKEEPING`` left out) and the seconds
    of the rounds, per key."""
    queries: dict[str, int] = {}
    for key in keys:
        for _ in range(warmup):
            once(key)
        with CaptureQueriesContext(connection) as captured:
            once(key)
        queries[key] = lookups(captured)
    timings: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(repeats):
        # Alternate, so drift in machine load hits both sizes alike.
        for key in keys:
            timings[key].append(once(key))
    return queries, timings


def report(
    sizes: Mapping[str, int],
    queries: Mapping[str, int],
    timings: Mapping[str, list[float]],
    *,
    header: str,
    row: Callable[[str, float], str],
) -> int:
    """Print ``header``, one ``row(key, median seconds)`` per size and the large/small
    ratios of queries and median time (``sizes`` lists the small one first). Returns
    1 when the query count depends on the size of the organisation, else 0."""
    print(header)
    medians: dict[str, float] = {}
    for key in sizes:
        medians[key] = statistics.median(timings[key])
        print(row(key, medians[key]))
    small, large = sizes
    print(
        f"\n  ratio large/small ({sizes[large] / sizes[small]:.0f}x the employees): "
        f"queries {queries[large] / queries[small]:.2f}, "
        f"time {medians[large] / medians[small]:.2f}"
    )
    if queries[large] != queries[small]:
        print("  FAIL: the query count depends on the size of the organisation.")
        return 1
    return 0
