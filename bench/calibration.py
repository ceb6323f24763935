"""How long a cycle's reviewer leniency takes against a plain SQL GROUP BY over the
same ratings, and the calibration session page's query count at 100 and 10,000
people in scope.

Seeds two organisations, of 100 and 10,000 employees, each with a review cycle in
which every employee has an open appraisal, a general plan and two engagement plans
with six goals and four competencies each, an approved review of every plan, every
item rated (``bench.review_cycle.seed_cycle``: 40 ratings per employee, 30 of them
by reviewers). Then it spreads the reviews over reviewers (one per 50 employees,
at least ten, in turn by the reviews' ids), records each goal rating's
attainment band as the rating it suggested, and makes the first tenth of the
reviewers lenient (every rating one point higher, at most 5) and the next tenth
harsh (one point lower, at least 1), so that the estimates have something to find.
``VACUUM ANALYZE`` as the owner after each load. It also gives each organisation an
HR admin login and an open session over the whole organisation.

At 10,000 employees (300,000 review ratings) it times, ``REPEATS`` rounds, each way
once per round, the first of a round moving on by one each round:

- ``cycle_leniency``: rules 1 and 2 of docs/scoring.md "Calibration" (the tallies
  in one query, ``leniency_tallies``, and the exact arithmetic in Python);
- ``leniency_tallies`` alone;
- the floor: ``FLOOR_SQL``, a plain GROUP BY of the same ratings by reviewer and
  competency (and by reviewer and attainment band for goals): count and sum.

and prints the best and the median of each and the ratio to the floor (the issue's
goal: at most 2). It checks that the tallies count the same ratings as the floor and
that ``cycle_leniency`` is one query (the shrinkage constant given), and exits 1
otherwise.

Then it opens the calibration session page (``appraisals:calibration_session``) as
the HR admin at both sizes (one warm-up request, one counted, then
``PAGE_REPEATS`` timed rounds) and prints its query count (at most 15, the same at
both sizes, or the benchmark exits 1) and median time; and last it times "Accept
all suggestions" at 10,000 employees, once, rolled back.

Run it with ``make bench-calibration``; it needs the environment of ``make test``
(bench/README.md; the throwaway database comes from bench/harness.py).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    analyze,
    database_description,
    lookups,
    run_in_bench_database,
)
from bench.review_cycle import insert_rows, seed_cycle  # noqa: E402

DATABASE = "hrms_bench_calibration"
SIZES = {"calibration-100": 100, "calibration-10k": 10_000}
GOALS, COMPETENCIES = 6, 4
PEOPLE_PER_REVIEWER = 50
REPEATS = 9
PAGE_REPEATS = 10
QUERY_BUDGET = 15
GOAL_RATIO = 2.0

# The floor: the same approved review ratings of one cycle, N/A and unrated left
# out, grouped by reviewer and item, with nothing but a count and a sum.
FLOOR_SQL = """
SELECT e.reviewer_id, pc.competency_id, count(*), sum(r.value)
FROM appraisals_competencyrating AS r
JOIN appraisals_evaluation AS e ON e.id = r.evaluation_id
JOIN appraisals_appraisal AS a ON a.id = e.appraisal_id
JOIN engagements_plancompetency AS pc ON pc.id = r.plan_competency_id
WHERE a.cycle_id = %(cycle)s AND e.kind = 'review' AND e.status = 'approved'
  AND e.reviewer_id IS NOT NULL AND r.value IS NOT NULL AND NOT r.not_applicable
GROUP BY 1, 2
UNION ALL
SELECT e.reviewer_id, r.suggested, count(*), sum(r.value)
FROM appraisals_goalrating AS r
JOIN appraisals_evaluation AS e ON e.id = r.evaluation_id
JOIN appraisals_appraisal AS a ON a.id = e.appraisal_id
WHERE a.cycle_id = %(cycle)s AND e.kind = 'review' AND e.status = 'approved'
  AND e.reviewer_id IS NOT NULL AND r.value IS NOT NULL AND NOT r.not_applicable
  AND r.suggested IS NOT NULL
GROUP BY 1, 2
"""

# Who reviews, which goal band a rating fell in, and the biased reviewers, in three
# set-based statements over one cycle's review evaluations.
REVIEWERS_SQL = """
UPDATE appraisals_evaluation AS e
SET reviewer_id = (%(reviewers)s::bigint[])[
    1 + n.position %% cardinality(%(reviewers)s::bigint[])
]
FROM (
    SELECT e.id, row_number() OVER (ORDER BY e.id) AS position
    FROM appraisals_evaluation AS e
    JOIN appraisals_appraisal AS a ON a.id = e.appraisal_id
    WHERE a.cycle_id = %(cycle)s AND e.kind = 'review'
) AS n
WHERE n.id = e.id
"""
BANDS_SQL = """
UPDATE appraisals_goalrating AS r SET suggested = r.value
WHERE r.evaluation_id IN (
    SELECT e.id FROM appraisals_evaluation AS e
    JOIN appraisals_appraisal AS a ON a.id = e.appraisal_id
    WHERE a.cycle_id = %(cycle)s AND e.kind = 'review'
)
"""
BIAS_SQL = """
UPDATE {table} AS r SET value = LEAST(GREATEST(r.value + %(shift)s, 1), 5)
FROM appraisals_evaluation AS e
WHERE e.id = r.evaluation_id AND e.reviewer_id = ANY(%(reviewers)s::bigint[])
  AND r.value IS NOT NULL
"""


def main() -> int:
    return run_in_bench_database(run, database=DATABASE)


def run(owner: str) -> int:
    from django.db import connection

    print(f"Calibration benchmark on {database_description()}")
    if connection.vendor != "postgresql":
        print("  The floor is PostgreSQL SQL: set DATABASE_URL (bench/README.md).")
        return 2
    worlds = {slug: seed(owner, slug, size) for slug, size in SIZES.items()}
    status = leniency(worlds[list(SIZES)[-1]])
    status = session_page(worlds) or status
    return accept_everything(worlds[list(SIZES)[-1]]) or status


def seed(owner: str, slug: str, size: int) -> dict[str, Any]:
    """An organisation of ``size`` employees with its cycle (as the module docstring
    says), an HR admin login and an open session over everyone; analysed."""
    from django.db import connection

    from appraisals.enums import CalibrationScope
    from appraisals.models import CalibrationSession
    from organizations.enums import Role
    from organizations.models import Employee, Membership, Organization, User
    from organizations.tenancy import tenant_context

    started = time.perf_counter()
    organization = Organization.objects.create(slug=slug, name=f"Bench {slug}")
    cycle = seed_cycle(organization, size, goals=GOALS, competencies=COMPETENCIES)
    count = max(size // PEOPLE_PER_REVIEWER, 10)
    reviewers = insert_rows(
        organization,
        Employee,
        ("code", "full_name", "email"),
        [
            (f"R-{i:04d}", f"Reviewer {i:04d}", f"reviewer{i}@{slug}.test")
            for i in range(count)
        ],
    )
    tenth = max(count // 10, 1)
    # Statistics first: the planner's guesses for tables it believes empty made the
    # updates below nested loops over the whole cycle.
    analyze(owner)
    with tenant_context(organization), connection.cursor() as cursor:
        cursor.execute(REVIEWERS_SQL, {"reviewers": reviewers, "cycle": cycle.pk})
        cursor.execute(BANDS_SQL, {"cycle": cycle.pk})
        for table in ("appraisals_competencyrating", "appraisals_goalrating"):
            for shift, biased in (
                (1, reviewers[:tenth]),
                (-1, reviewers[tenth:][:tenth]),
            ):
                cursor.execute(
                    BIAS_SQL.format(table=table),
                    {"shift": shift, "reviewers": biased},
                )
        user = User.objects.create_user(f"hr@{slug}.test", full_name="Bench HR")
        Membership.objects.create(
            organization=organization, user=user, role=Role.HR_ADMIN
        )
        session = CalibrationSession.objects.create(
            organization=organization,
            cycle=cycle,
            name="Bench calibration",
            scope=CalibrationScope.ORGANIZATION,
            opened_by=user,
        )
    analyze(owner)
    print(
        f"  seeded {size:>6,} employees, {size * (GOALS + COMPETENCIES) * 3:>7,} "
        f"review ratings, {count:>3} reviewers in "
        f"{time.perf_counter() - started:5.1f} s"
    )
    return {
        "organization": organization,
        "cycle": cycle,
        "user": user,
        "session": session,
        "lenient": set(reviewers[:tenth]),
        "harsh": set(reviewers[tenth:][:tenth]),
    }


def leniency(world: dict[str, Any]) -> int:
    """Time ``cycle_leniency``, ``leniency_tallies`` and the floor, alternating;
    print the best and median times and the ratios. Returns 1 when the tallies and
    the floor count different ratings or ``cycle_leniency`` is not one query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from appraisals.selectors.calibration_inputs import (
        cycle_leniency,
        leniency_tallies,
    )
    from organizations.tenancy import tenant_context

    organization, cycle = world["organization"], world["cycle"]

    def timed(work: Callable[[], Any]) -> Callable[[], float]:
        def once() -> float:
            with tenant_context(organization):
                started = time.perf_counter()
                work()
                return time.perf_counter() - started

        return once

    def floor() -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, {"cycle": cycle.pk})
            return cursor.fetchall()

    ways: dict[str, Callable[[], float]] = {
        "cycle_leniency": timed(lambda: cycle_leniency(cycle.pk, k=10)),
        "leniency_tallies": timed(lambda: leniency_tallies(cycle.pk)),
        "floor (GROUP BY)": timed(floor),
    }
    status = 0
    with tenant_context(organization):
        with CaptureQueriesContext(connection) as captured:
            estimates = cycle_leniency(cycle.pk, k=10)
        tallies = leniency_tallies(cycle.pk)
        floor_rows = floor()
    queries = lookups(captured)
    counted = sum(row.count for row in tallies)
    floor_counted = sum(row[2] for row in floor_rows)
    for once in ways.values():  # warm-up
        once()
    timings: dict[str, list[float]] = {way: [] for way in ways}
    order = list(ways)
    for _ in range(REPEATS):
        # Each way in turn, starting one further each round, so that neither drift
        # in machine load nor what ran just before favours one of them.
        for way in order:
            timings[way].append(ways[way]())
        order = order[1:] + order[:1]

    best_floor = min(timings["floor (GROUP BY)"])
    median_floor = statistics.median(timings["floor (GROUP BY)"])
    print(
        f"\n  Leniency of a cycle of 10,000 employees ({counted:,} review "
        f"ratings, {len(tallies):,} reviewer x item rows), {REPEATS} runs each, "
        f"alternating:\n"
        f"  {'':<18}  {'best':>8}  {'median':>8}  {'best/floor':>10}  "
        f"{'median/floor':>12}"
    )
    for way, times in timings.items():
        best, median = min(times), statistics.median(times)
        print(
            f"  {way:<18}  {best * 1000:>5.0f} ms  {median * 1000:>5.0f} ms  "
            f"{best / best_floor:>10.2f}  {median / median_floor:>12.2f}"
        )
    ratio = min(timings["cycle_leniency"]) / best_floor
    verdict = "within" if ratio <= GOAL_RATIO else "OVER"
    print(
        f"  cycle_leniency / floor, best of each: {ratio:.2f} ({verdict} the goal of {GOAL_RATIO:.0f}x)"
    )
    print(f"  cycle_leniency queries (k given): {queries}")
    lenient = [e.shrunk for r, e in estimates.items() if r in world["lenient"]]
    harsh = [e.shrunk for r, e in estimates.items() if r in world["harsh"]]
    neutral = [
        e.shrunk
        for r, e in estimates.items()
        if r not in world["lenient"] and r not in world["harsh"]
    ]
    print(
        f"  shrunk leniency (k = 10), mean per group: lenient {statistics.mean(lenient):+.3f} "
        f"({len(lenient)}), harsh {statistics.mean(harsh):+.3f} ({len(harsh)}), "
        f"others {statistics.mean(neutral):+.3f} ({len(neutral)})"
    )
    if counted != floor_counted:
        print(
            f"  FAIL: the tallies count {counted:,} ratings, the floor {floor_counted:,}."
        )
        status = 1
    if queries != 1:
        print("  FAIL: cycle_leniency with k given is not one query.")
        status = 1
    return status


def session_page(worlds: dict[str, dict[str, Any]]) -> int:
    """The session page as the HR admin at both sizes: queries and median time.
    Returns 1 when the query count differs between the sizes, is over the budget or
    the page does not answer 200."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    urls = {
        slug: reverse(
            "appraisals:calibration_session", args=[slug, world["session"].pk]
        )
        for slug, world in worlds.items()
    }
    clients = {}
    for slug, world in worlds.items():
        client = Client(raise_request_exception=False)
        client.force_login(
            world["user"], backend="django.contrib.auth.backends.ModelBackend"
        )
        clients[slug] = client

    def get(slug: str) -> float:
        started = time.perf_counter()
        response = clients[slug].get(urls[slug])
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise PageError(f"GET {urls[slug]} answered {response.status_code}")
        return elapsed

    queries: dict[str, int] = {}
    timings: dict[str, list[float]] = {slug: [] for slug in worlds}
    try:
        for slug in worlds:
            get(slug)
            with CaptureQueriesContext(connection) as captured:
                get(slug)
            queries[slug] = lookups(captured)
        for _ in range(PAGE_REPEATS):
            for slug in worlds:
                timings[slug].append(get(slug))
    except PageError as error:
        print(f"\n  FAIL: {error}")
        return 1
    print(
        f"\n  Calibration session page as HR, whole organisation in scope, median of "
        f"{PAGE_REPEATS}:\n  {'people':>7}  {'queries':>7}  {'median':>9}"
    )
    for slug, size in SIZES.items():
        print(
            f"  {size:>7,}  {queries[slug]:>7}  "
            f"{statistics.median(timings[slug]) * 1000:>6.0f} ms"
        )
    small, large = SIZES
    print(
        f"  100x the people: queries x{queries[large] / queries[small]:.2f}, time "
        f"x{statistics.median(timings[large]) / statistics.median(timings[small]):.2f}"
    )
    status = 0
    if queries[large] != queries[small]:
        print("  FAIL: the query count depends on the number of people in scope.")
        status = 1
    if max(queries.values()) > QUERY_BUDGET:
        print(f"  FAIL: more than {QUERY_BUDGET} queries.")
        status = 1
    return status


def accept_everything(world: dict[str, Any]) -> int:
    """ "Accept all suggestions" at the large size, as the HR admin, once (it writes:
    a second run would find nothing left to accept): how long, how many accepted,
    and the time per accepted appraisal. Rolled back afterwards. Returns 1 when
    nothing was accepted (the seeded lenient and harsh reviewers must give
    suggestions)."""
    from django.db import transaction

    from appraisals.scores import recompute_cycle
    from appraisals.services.calibration import accept_all
    from organizations.models import Membership
    from organizations.tenancy import tenant_context

    class Undo(Exception):
        pass

    organization = world["organization"]
    accepted = 0
    elapsed = 0.0
    try:
        with tenant_context(organization), transaction.atomic():
            actor = Membership.objects.select_related("organization", "user").get(
                user=world["user"]
            )
            # The seeded appraisals have no scores yet: a suggestion replays an
            # appraisal's snapshot, so compute them first (not timed).
            recompute_cycle(world["cycle"])
            started = time.perf_counter()
            accepted = accept_all(actor=actor, session=world["session"])
            elapsed = time.perf_counter() - started
            raise Undo
    except Undo:
        pass
    print(
        f"\n  Accept all suggestions at {list(SIZES.values())[-1]:,} employees: "
        f"{accepted:,} accepted in {elapsed:.1f} s "
        f"({elapsed / max(accepted, 1) * 1_000_000:.0f} µs each), one request"
    )
    if not accepted:
        print("  FAIL: nothing was accepted.")
        return 1
    return 0


class PageError(Exception):
    """The page answered something else than 200."""


if __name__ == "__main__":
    sys.exit(main())
