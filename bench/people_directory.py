"""How the people directory grows with the organisation: queries and time, in one run.

Seeds two organisations with ``seed_scale`` (100 and 2,000 employees) in a throwaway
database, then requests the first page of each directory as its HR admin, alternating
between the two sizes, and prints the query count of one request (must be equal) and
the median wall time, with the large/small ratio of each. Between seeding and
measuring it runs ANALYZE as the owner: right after a bulk load PostgreSQL's
statistics are empty until autovacuum catches up, and the planner's guesses would be
measured instead of the page.

Run it with ``make bench``. It needs the environment of ``make test``: DATABASE_URL
names the owner role, which creates, migrates and finally drops the database
``hrms_bench``; the requests then run as DATABASE_APP_ROLE, so row-level security is
in force as in production. Without DATABASE_URL it falls back to an in-memory SQLite
database (no row-level security; the numbers then say less).
"""

from __future__ import annotations

import statistics
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import analyze, database_description, run_in_bench_database  # noqa: E402

SIZES = {"bench-small": 100, "bench-large": 2000}
SEED = 1
WARMUP = 3
REPEATS = 25


def main() -> int:
    return run_in_bench_database(run)


def run(owner: str) -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from organizations.models import User

    where = database_description()
    print(f"People directory benchmark on {where}")

    clients: dict[str, Client] = {}
    urls: dict[str, str] = {}
    for slug, size in SIZES.items():
        started = time.perf_counter()
        call_command(
            "seed_scale",
            "--org",
            slug,
            "--employees",
            str(size),
            "--seed",
            str(SEED),
            stdout=StringIO(),
        )
        seconds = time.perf_counter() - started
        print(f"  seed_scale --employees {size:>5}: {seconds:6.2f} s")
        client = Client()
        client.force_login(
            User.objects.get(email=f"hr@{slug}.test"),
            backend="django.contrib.auth.backends.ModelBackend",
        )
        clients[slug], urls[slug] = client, reverse("organizations:people", args=[slug])
    analyze(owner)

    def get(slug: str) -> float:
        started = time.perf_counter()
        response = clients[slug].get(urls[slug])
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"GET {urls[slug]} answered {response.status_code}")
        return elapsed

    queries: dict[str, int] = {}
    for slug in SIZES:
        for _ in range(WARMUP):
            get(slug)
        with CaptureQueriesContext(connection) as captured:
            get(slug)
        queries[slug] = len(captured)
    timings: dict[str, list[float]] = {slug: [] for slug in SIZES}
    for _ in range(REPEATS):
        # Alternate, so drift in machine load hits both sizes alike.
        for slug in SIZES:
            timings[slug].append(get(slug))

    print(f"\n  GET /o/<slug>/people/ (first page), median of {REPEATS} requests:")
    print(f"  {'employees':>9}  {'queries':>7}  {'median ms':>9}  {'min ms':>7}")
    medians: dict[str, float] = {}
    for slug, size in SIZES.items():
        medians[slug] = statistics.median(timings[slug])
        print(
            f"  {size:>9}  {queries[slug]:>7}  {medians[slug] * 1000:>9.1f}"
            f"  {min(timings[slug]) * 1000:>7.1f}"
        )
    small, large = SIZES
    print(
        f"\n  ratio large/small ({SIZES[large] / SIZES[small]:.0f}x the employees): "
        f"queries {queries[large] / queries[small]:.2f}, "
        f"time {medians[large] / medians[small]:.2f}"
    )
    if queries[large] != queries[small]:
        print("  FAIL: the query count depends on the size of the organisation.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
