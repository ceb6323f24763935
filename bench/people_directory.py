"""How the people directory grows with the organisation: queries and time, in one run.

Seeds two organisations with ``seed_scale --people-only`` (100 and 2,000 employees:
people, business units, job titles and accounts) in a throwaway database, then
requests the first page of each directory as its HR admin, alternating between the
two sizes, and prints the query count of one request (must be equal) and the median
wall time, with the large/small ratio of each. Between seeding and
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

import sys
import time
from pathlib import Path

from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    analyze,
    database_description,
    measure,
    report,
    run_in_bench_database,
    seed_organization,
)

SIZES = {"bench-small": 100, "bench-large": 2000}
SEED = 1
WARMUP = 3
REPEATS = 25


def main() -> int:
    return run_in_bench_database(run)


def run(owner: str) -> int:
    from organizations.models import User

    where = database_description()
    print(f"People directory benchmark on {where}")

    clients: dict[str, Client] = {}
    urls: dict[str, str] = {}
    for slug, size in SIZES.items():
        started = time.perf_counter()
        # The directory lists people: the rest of the world would only slow seeding.
        seed_organization(slug, size, SEED, people_only=True)
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

    queries, timings = measure(list(SIZES), get, warmup=WARMUP, repeats=REPEATS)
    return report(
        SIZES,
        queries,
        timings,
        header=(
            f"\n  GET /o/<slug>/people/ (first page), median of {REPEATS} requests:\n"
            f"  {'employees':>9}  {'queries':>7}  {'median ms':>9}  {'min ms':>7}"
        ),
        row=lambda slug, median: (
            f"  {SIZES[slug]:>9}  {queries[slug]:>7}  {median * 1000:>9.1f}"
            f"  {min(timings[slug]) * 1000:>7.1f}"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
