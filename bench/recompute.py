"""How long recomputing a review cycle's scores takes against the SQL floor, and one
appraisal's recompute after a rating changes.

Seeds two organisations, of 1,000 and 10,000 employees, each with a review cycle in
which every employee has an open appraisal, a general plan and two engagement plans
with six goals and four competencies each, an approved review of every plan and a
self-assessment of the general plan, every item rated: 40 ratings per employee
(``bench.review_cycle.seed_cycle``, set-based inserts; the recompute tests use it
too). Then, alternating the two sizes, it times:

- ``appraisals.scores.recompute_cycle``: the path of the ``recompute_scores``
  command and the HR "Recompute scores" button, figures, snapshots and all;
- the floor: one SQL statement (``FLOOR_SQL``) that computes the same evaluation,
  plan and appraisal scores in ``numeric`` and writes the same score columns, but no
  snapshot. Nothing that stores the same figures can be much faster;

each after the stored figures were cleared and the tables vacuumed, so every run
writes every row. It prints the median times, their ratio, and the queries of one
recompute at each size (equal, or the benchmark exits non-zero: the recompute is
set-based), and compares the floor's figures with the recompute's.

Last, at 10,000 employees, ``ONE_REPEATS`` times each and alternately: one rating of
an appraisal changes (committed), then ``recompute_appraisal_task`` runs as a
Celery worker would, or ``recompute_appraisals`` alone inside the tenant's
transaction. It prints the median database time (the time of each query summed,
measured around the driver with ``connection.execute_wrapper``), the queries and the
wall time.

Run it with ``make bench``; it needs the environment of ``make test`` (see
bench/README.md; the throwaway database comes from bench/harness.py).
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import database_description, run_in_bench_database  # noqa: E402

# The recompute tests build their cycles with it too.
from bench.review_cycle import seed_cycle as seed_cycle  # noqa: E402

SIZES = {"recompute-1k": 1_000, "recompute-10k": 10_000}
GOALS, COMPETENCIES = 6, 4
REPEATS = 5
ONE_REPEATS = 25

# The floor: rules 1–8 of docs/scoring.md in one statement over one cycle's open
# appraisals (client satisfaction left out: the benchmark's cycle has γ = 0), writing
# the evaluations' and appraisals' score columns where they changed. Its divisions
# run at 30 decimal places, where Python's Decimal keeps 28 significant digits, so a
# figure whose exact value ends in 5 at the third decimal can round the other way
# (by 0.01, in one row in twenty here): the benchmark counts those.
FLOOR_SQL = """
WITH cycle AS (
    SELECT c.id, c.start_date, c.end_date, c.engagement_weighting AS weighting,
           c.general_weight / 100 AS beta, s.min_value AS smin, s.max_value AS smax
    FROM engagements_reviewcycle AS c
    JOIN competencies_ratingscale AS s ON s.id = c.rating_scale_id
    WHERE c.id = %(cycle)s
),
open_appraisals AS (
    SELECT a.id FROM appraisals_appraisal AS a
    WHERE a.cycle_id = %(cycle)s AND a.status = 'open'
),
open_evaluations AS (
    SELECT e.id, e.appraisal_id, e.plan_id, e.kind, e.status
    FROM appraisals_evaluation AS e
    JOIN open_appraisals AS a ON a.id = e.appraisal_id
),
goal_sums AS (
    SELECT r.evaluation_id,
           SUM(item.weight * r.value) FILTER (WHERE item.plan_id = e.plan_id) AS total,
           SUM(item.weight) FILTER (WHERE item.plan_id = e.plan_id) AS weight
    FROM open_evaluations AS e
    JOIN appraisals_goalrating AS r ON r.evaluation_id = e.id
    JOIN engagements_goal AS item ON item.id = r.goal_id
    WHERE r.value IS NOT NULL
    GROUP BY r.evaluation_id
),
competency_sums AS (
    SELECT r.evaluation_id,
           SUM(item.weight * r.value) FILTER (WHERE item.plan_id = e.plan_id) AS total,
           SUM(item.weight) FILTER (WHERE item.plan_id = e.plan_id) AS weight
    FROM open_evaluations AS e
    JOIN appraisals_competencyrating AS r ON r.evaluation_id = e.id
    JOIN engagements_plancompetency AS item ON item.id = r.plan_competency_id
    WHERE r.value IS NOT NULL
    GROUP BY r.evaluation_id
),
means AS (
    SELECT e.id, e.appraisal_id, e.kind, e.status, p.kind AS plan_kind,
           p.goal_weight / 100 AS alpha, p.allocation, p.custom_weight,
           p.start_date, p.end_date,
           g.total::numeric(60, 30) / NULLIF(g.weight, 0) AS goal,
           c.total::numeric(60, 30) / NULLIF(c.weight, 0) AS competency
    FROM open_evaluations AS e
    JOIN engagements_plan AS p ON p.id = e.plan_id
    LEFT JOIN goal_sums AS g ON g.evaluation_id = e.id
    LEFT JOIN competency_sums AS c ON c.evaluation_id = e.id
),
evaluations AS (
    SELECT means.*, COALESCE(alpha * goal + (1 - alpha) * competency,
                             goal, competency) AS score
    FROM means
),
counted AS (
    SELECT ev.appraisal_id, ev.plan_kind, ev.score,
           CASE cycle.weighting
               WHEN 'equal' THEN 1
               WHEN 'custom' THEN COALESCE(ev.custom_weight, 0)
               ELSE COALESCE(ev.allocation, 0) * GREATEST(
                   LEAST(ev.end_date, cycle.end_date)
                   - GREATEST(ev.start_date, cycle.start_date) + 1, 0)
           END AS weight
    FROM evaluations AS ev CROSS JOIN cycle
    WHERE ev.kind = 'review' AND ev.status = 'approved' AND ev.score IS NOT NULL
),
parts AS (
    SELECT a.id,
           MAX(c.score) FILTER (WHERE c.plan_kind = 'general') AS general,
           SUM(c.weight * c.score)
               FILTER (WHERE c.plan_kind = 'engagement' AND c.weight > 0)
           / NULLIF(SUM(c.weight)
               FILTER (WHERE c.plan_kind = 'engagement' AND c.weight > 0), 0)
               AS engagement
    FROM open_appraisals AS a
    LEFT JOIN counted AS c ON c.appraisal_id = a.id
    GROUP BY a.id
),
finals AS (
    SELECT parts.*, COALESCE(cycle.beta * general + (1 - cycle.beta) * engagement,
                             general, engagement) AS final
    FROM parts CROSS JOIN cycle
),
stored_evaluations AS (
    UPDATE appraisals_evaluation AS e
    SET goal_score = ROUND(ev.goal, 2),
        competency_score = ROUND(ev.competency, 2),
        score = ROUND(ev.score, 2)
    FROM evaluations AS ev
    WHERE e.id = ev.id
      AND (e.goal_score, e.competency_score, e.score) IS DISTINCT FROM
          (ROUND(ev.goal, 2), ROUND(ev.competency, 2), ROUND(ev.score, 2))
    RETURNING e.id
)
UPDATE appraisals_appraisal AS a
SET general_score = ROUND(f.general, 2),
    engagement_score = ROUND(f.engagement, 2),
    final_score = ROUND(f.final, 2),
    percent = ROUND((f.final - cycle.smin) / (cycle.smax - cycle.smin) * 100, 2)
FROM finals AS f CROSS JOIN cycle
WHERE a.id = f.id
  AND (a.general_score, a.engagement_score, a.final_score, a.percent)
      IS DISTINCT FROM (ROUND(f.general, 2), ROUND(f.engagement, 2),
                        ROUND(f.final, 2),
                        ROUND((f.final - cycle.smin) / (cycle.smax - cycle.smin)
                              * 100, 2))
"""


def main() -> int:
    return run_in_bench_database(run, database="hrms_bench_recompute")


# --- Measuring --------------------------------------------------------------------------


@contextmanager
def database_time() -> Iterator[list[float]]:
    """Collect the seconds of every query run inside the block (from the call into
    the driver until it returns, so round trips included) into the yielded list."""
    from django.db import connection

    spent: list[float] = []

    def timed(execute: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(*args)
        finally:
            spent.append(time.perf_counter() - started)

    with connection.execute_wrapper(timed):
        yield spent


def as_owner(owner: str, *statements: str) -> None:
    """Run maintenance ``statements`` (VACUUM, ANALYZE) as the table owner, outside
    any transaction, then reconnect as the application role. The application role
    may not vacuum, and autovacuum may be off: repeated runs would otherwise pile up
    dead rows that slow the later ones."""
    from django.db import connection

    app_role = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = owner
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()
        connection.settings_dict["USER"] = app_role


STORED_TABLES = "appraisals_appraisal, appraisals_evaluation"
# Transaction bookkeeping, not counted as queries of the recompute.
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")


def clear(organization: Any, cycle: Any) -> None:
    """Forget the stored figures of ``cycle``, so the next run writes every row."""
    from appraisals.models import Appraisal, Evaluation
    from organizations.tenancy import tenant_context

    with tenant_context(organization):
        Appraisal.objects.filter(cycle=cycle).update(
            general_score=None,
            engagement_score=None,
            final_score=None,
            percent=None,
            snapshot={},
            computed_at=None,
        )
        Evaluation.objects.filter(appraisal__cycle=cycle).update(
            goal_score=None, competency_score=None, score=None
        )


def stored_figures(organization: Any, cycle: Any) -> dict[int, tuple[Any, ...]]:
    """Every stored figure of ``cycle``: per appraisal id its four, per evaluation
    (negative id) its three."""
    from appraisals.models import Appraisal, Evaluation
    from organizations.tenancy import tenant_context

    with tenant_context(organization):
        found: dict[int, tuple[Any, ...]] = {
            pk: tuple(rest)
            for pk, *rest in Appraisal.objects.filter(cycle=cycle).values_list(
                "pk", "general_score", "engagement_score", "final_score", "percent"
            )
        }
        for pk, *rest in Evaluation.objects.filter(appraisal__cycle=cycle).values_list(
            "pk", "goal_score", "competency_score", "score"
        ):
            found[-pk] = tuple(rest)
    return found


def gap(one: Decimal | None, other: Decimal | None) -> Decimal:
    """How far apart two stored figures are (infinitely when only one is empty)."""
    if one is None or other is None:
        return Decimal(0) if one is other else Decimal("Infinity")
    return abs(one - other)


def run(owner: str) -> int:
    from django.db import connection

    print(f"Cycle recompute benchmark on {database_description()}")
    if connection.vendor != "postgresql":
        print("  The floor is PostgreSQL SQL: set DATABASE_URL (bench/README.md).")
        return 2
    worlds = seed(owner)
    status = whole_cycles(owner, worlds)
    one_appraisal(owner, *worlds[list(SIZES)[-1]])
    return status


def seed(owner: str) -> dict[str, tuple[Any, Any]]:
    """Per size, an organisation and its cycle. The tables are analysed after each
    organisation: checking foreign keys against tables the planner believes empty
    would scan them whole, row after row."""
    from organizations.models import Organization

    worlds = {}
    for slug, size in SIZES.items():
        started = time.perf_counter()
        organization = Organization.objects.create(slug=slug, name=f"Bench {slug}")
        cycle = seed_cycle(organization, size, goals=GOALS, competencies=COMPETENCIES)
        as_owner(owner, "VACUUM ANALYZE")
        print(
            f"  seeded {size:>6,} employees, {size * (GOALS + COMPETENCIES) * 4:>7,} "
            f"ratings in {time.perf_counter() - started:5.1f} s"
        )
        worlds[slug] = (organization, cycle)
    return worlds


def whole_cycles(owner: str, worlds: dict[str, tuple[Any, Any]]) -> int:
    """Time ``recompute_cycle`` and the floor at each size, alternating, each run
    after the stored figures were cleared; print the medians, the ratios and the
    query counts, and check the floor's figures against the recompute's. Returns the
    exit status: 1 when the query count depends on the size or the floor computes
    something else.

    The floor runs twice: with just-in-time compilation off, as the recompute's
    transaction runs (the fair comparison), and with the server's defaults, where
    PostgreSQL compiles it (its row estimates are far too high) for seconds.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from appraisals.scores import recompute_cycle
    from organizations.tenancy import tenant_context

    def recompute(slug: str) -> float:
        organization, cycle = worlds[slug]
        started = time.perf_counter()
        with tenant_context(organization):
            recompute_cycle(cycle)
        return time.perf_counter() - started

    def floor(slug: str, *, jit: bool = False) -> float:
        organization, cycle = worlds[slug]
        started = time.perf_counter()
        with tenant_context(organization), connection.cursor() as cursor:
            if not jit:
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(FLOOR_SQL, {"cycle": cycle.pk})
        return time.perf_counter() - started

    def from_scratch(slug: str, once: Callable[[str], float]) -> float:
        clear(*worlds[slug])
        as_owner(owner, f"VACUUM {STORED_TABLES}")
        return once(slug)

    # Warm up, count the queries, and compare the floor's figures with the
    # recompute's.
    queries: dict[str, int] = {}
    rows = differing = 0
    largest = Decimal(0)
    for slug in SIZES:
        from_scratch(slug, floor)
        by_floor = stored_figures(*worlds[slug])
        clear(*worlds[slug])
        organization, cycle = worlds[slug]
        with tenant_context(organization), CaptureQueriesContext(connection) as run:
            recompute_cycle(cycle)
        queries[slug] = sum(not SAVEPOINT.match(q["sql"]) for q in run.captured_queries)
        for key, figures in stored_figures(*worlds[slug]).items():
            gaps = [
                gap(a, b) for a, b in zip(figures, by_floor[key], strict=True) if a != b
            ]
            rows += 1
            differing += bool(gaps)
            largest = max([largest, *gaps])

    ways: dict[str, Callable[[str], float]] = {
        "recompute": recompute,
        "floor": floor,
        "floor, server defaults": lambda slug: floor(slug, jit=True),
    }
    timings = {slug: {way: [] for way in ways} for slug in SIZES}
    for _ in range(REPEATS):
        for slug in SIZES:
            for way, once in ways.items():
                timings[slug][way].append(from_scratch(slug, once))
    medians = {
        slug: {way: statistics.median(times) for way, times in by_way.items()}
        for slug, by_way in timings.items()
    }

    print(
        f"\n  Whole cycle, every stored figure changing, median of {REPEATS} runs "
        f"(floor: JIT off, as the recompute;\n  default: the floor with the "
        f"server's defaults):\n"
        f"  {'employees':>9}  {'queries':>7}  {'recompute_cycle':>15}  "
        f"{'floor':>7}  {'ratio':>5}  {'default':>7}  {'ratio':>5}"
    )
    for slug, size in SIZES.items():
        mine, least = medians[slug]["recompute"], medians[slug]["floor"]
        default = medians[slug]["floor, server defaults"]
        print(
            f"  {size:>9,}  {queries[slug]:>7}  {mine:>13.2f} s  {least:>5.2f} s  "
            f"{mine / least:>5.2f}  {default:>5.2f} s  {mine / default:>5.2f}"
        )
    small, large = SIZES
    print(
        f"  {SIZES[large] / SIZES[small]:.0f}x the employees: "
        f"queries x{queries[large] / queries[small]:.2f}, "
        f"time x{medians[large]['recompute'] / medians[small]['recompute']:.2f}\n"
        f"  The floor stored recompute_cycle's figures in {rows - differing:,} of "
        f"{rows:,} rows; the others differ by {largest} at most."
    )
    status = 0
    if queries[large] != queries[small]:
        print("  FAIL: the query count depends on the size of the organisation.")
        status = 1
    if largest > Decimal("0.01"):
        print("  FAIL: the floor computes something else than recompute_cycle.")
        status = 1
    return status


def one_appraisal(owner: str, organization: Any, cycle: Any) -> None:
    """``ONE_REPEATS`` times, alternately: one rating of an appraisal changes
    (committed), then either the Celery task recomputes it as a worker would, or
    ``recompute_appraisals`` alone does, inside the tenant's transaction. Prints the
    median database and wall times and the query counts of each."""
    from appraisals.models import Appraisal, GoalRating
    from appraisals.scores import recompute_appraisals
    from appraisals.tasks import recompute_appraisal_task
    from organizations.tenancy import tenant_context

    def task(appraisal_id: int) -> list[float]:
        with database_time() as spent:
            recompute_appraisal_task(
                organization_id=organization.pk, appraisal_id=appraisal_id
            )
        return spent

    def alone(appraisal_id: int) -> list[float]:
        with tenant_context(organization), database_time() as spent:
            recompute_appraisals([appraisal_id])
        return spent

    as_owner(owner, f"VACUUM {STORED_TABLES}")
    with tenant_context(organization):
        ids = list(
            Appraisal.objects.filter(cycle=cycle)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    picked = ids[:: len(ids) // (2 * ONE_REPEATS)][: 2 * ONE_REPEATS]
    measured: dict[str, dict[str, list[float]]] = {
        name: {"db": [], "wall": [], "queries": []} for name in ("task", "alone")
    }
    for index, appraisal_id in enumerate(picked):
        with tenant_context(organization):
            rating = GoalRating.objects.filter(
                evaluation__appraisal_id=appraisal_id,
                evaluation__kind="review",
                value__isnull=False,
            ).order_by("pk")[0]
            rating.value = Decimal(int(rating.value or 0) % 5 + 1)
            rating.save(update_fields=["value"])
        name, way = ("task", task) if index % 2 else ("alone", alone)
        started = time.perf_counter()
        spent = way(appraisal_id)
        measured[name]["wall"].append((time.perf_counter() - started) * 1000)
        measured[name]["db"].append(sum(spent) * 1000)
        measured[name]["queries"].append(len(spent))
    print(
        f"\n  One appraisal after one rating change, "
        f"{len(ids):,} appraisals in the cycle, "
        f"median of {ONE_REPEATS}:"
    )
    for name, label in (
        ("task", "recompute_appraisal_task, as a worker runs it"),
        ("alone", "of which recompute_appraisals"),
    ):
        figures = measured[name]
        print(
            f"    {label}: {statistics.median(figures['db']):.2f} ms database time "
            f"in {statistics.median(figures['queries']):.0f} queries, "
            f"{statistics.median(figures['wall']):.2f} ms wall time"
        )


if __name__ == "__main__":
    sys.exit(main())
