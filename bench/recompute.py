"""How a whole-cycle score recompute grows with the organisation: queries and time.

Seeds two organisations with ``seed_scale`` (100 and 1,000 employees) in a throwaway
database, gives each a review cycle in which every employee has a general plan and two
engagement plans with goals, a competency and approved evaluations (``seed_cycle``,
bulk inserts only), then recomputes each cycle with ``appraisals.recompute``
``recompute_cycle``, alternating between the two sizes, and prints the query count
of one recompute (must be equal: the recompute is set-based) and the median wall time,
with the large/small ratio of each.

Run it with ``make bench``; it needs the environment of ``make test`` (see
bench/README.md; the throwaway database comes from bench/harness.py).
``seed_cycle`` is also what the recompute tests use to build large cycles quickly.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import analyze, database_description, run_in_bench_database  # noqa: E402

SIZES = {"bench-small": 100, "bench-large": 1000}
SEED = 1
WARMUP = 2
REPEATS = 7


def seed_cycle(
    organization: Any,
    employees: int | list[Any],
    *,
    seed: int = SEED,
    name: str = "Bench cycle H1 2026",
    variety: bool = False,
) -> Any:
    """A cycle in review (2026-01-01..2026-06-30, β 40 %, effort weighting, 1–5 scale)
    where each employee has an open appraisal, a general plan and two engagement plans
    (two goals and one competency each), a review evaluation per plan with every item
    rated, approved, and a self-assessment of the general plan. Bulk inserts only.

    ``employees`` is a list of Employee rows or a number of new ones to create.
    ``variety`` makes some review evaluations submitted or draft and some ratings N/A,
    so that approved-only and provisional figures differ. Returns the cycle.
    """
    from appraisals.enums import EvaluationKind, EvaluationStatus
    from appraisals.models import Appraisal, CompetencyRating, Evaluation, GoalRating
    from competencies.models import Competency, CompetencyCategory, RatingScale
    from engagements.enums import CycleStatus, PlanKind, PlanStatus
    from engagements.models import (
        Client,
        Engagement,
        Goal,
        Plan,
        PlanCompetency,
        ReviewCycle,
    )
    from organizations.models import Employee
    from organizations.tenancy import tenant_context

    rng = random.Random(seed)
    org = organization
    with tenant_context(org):
        if isinstance(employees, int):
            people = Employee.objects.bulk_create(
                Employee(
                    organization=org,
                    code=f"B{seed}-{i:05d}",
                    full_name=f"Person {i:05d}",
                    email=f"person{seed}.{i}@{org.slug}.test",
                )
                for i in range(employees)
            )
        else:
            people = list(employees)
        reviewer = Employee.objects.create(
            organization=org,
            code=f"B{seed}-reviewer",
            full_name="Rita Reviewer",
            email=f"rita.{seed}@{org.slug}.test",
        )
        scale = RatingScale.objects.create(
            organization=org,
            name=f"{name} scale",
            min_value=Decimal(1),
            max_value=Decimal(5),
            step=Decimal(1),
        )
        start, end = date(2026, 1, 1), date(2026, 6, 30)
        cycle = ReviewCycle.objects.create(
            organization=org,
            name=name,
            start_date=start,
            end_date=end,
            status=CycleStatus.REVIEW,
            general_weight=Decimal(40),
            rating_scale=scale,
        )
        client = Client.objects.create(organization=org, name=f"{name} client")
        engagements = Engagement.objects.bulk_create(
            Engagement(
                organization=org,
                client=client,
                code=f"B{seed}-E{i}",
                name=f"{name} engagement {i}",
                start_date=date(2025, 10, 1),
                end_date=date(2026, 12, 31),
            )
            for i in range(4)
        )
        category = CompetencyCategory.objects.create(
            organization=org, name=f"{name} category"
        )
        competency = Competency.objects.create(
            organization=org, name=f"{name} teamwork", category=category
        )
        plans: list[Plan] = []
        for i, person in enumerate(people):
            plans.append(
                Plan(
                    organization=org,
                    cycle=cycle,
                    employee=person,
                    kind=PlanKind.GENERAL,
                    start_date=start,
                    end_date=end,
                    goal_weight=Decimal(70),
                    status=PlanStatus.LOCKED,
                )
            )
            for k in range(2):
                plans.append(
                    Plan(
                        organization=org,
                        cycle=cycle,
                        employee=person,
                        kind=PlanKind.ENGAGEMENT,
                        engagement=engagements[(i + k) % len(engagements)],
                        start_date=date(2026, 1 + 3 * k, 1),
                        end_date=date(2026, 6 + 3 * k, 30),
                        allocation=Decimal(rng.choice([20, 40, 50, 60])),
                        goal_weight=Decimal(70),
                        status=PlanStatus.LOCKED,
                    )
                )
        Plan.objects.bulk_create(plans)
        goals = Goal.objects.bulk_create(
            Goal(
                organization=org,
                plan=plan,
                title=f"Goal {g}",
                weight=Decimal(rng.choice([30, 50, 70])),
                position=g,
            )
            for plan in plans
            for g in range(2)
        )
        uses = PlanCompetency.objects.bulk_create(
            PlanCompetency(
                organization=org,
                plan=plan,
                competency=competency,
                weight=Decimal(1),
                expected_level=Decimal(3),
            )
            for plan in plans
        )
        appraisals = {
            a.employee_id: a
            for a in Appraisal.objects.bulk_create(
                Appraisal(organization=org, cycle=cycle, employee=person)
                for person in people
            )
        }
        statuses = [EvaluationStatus.APPROVED]
        if variety:
            statuses += [EvaluationStatus.SUBMITTED, EvaluationStatus.DRAFT]
        evaluations = []
        for plan in plans:
            evaluations.append(
                Evaluation(
                    organization=org,
                    appraisal=appraisals[plan.employee_id],
                    plan=plan,
                    employee_id=plan.employee_id,
                    kind=EvaluationKind.REVIEW,
                    reviewer=reviewer,
                    status=rng.choice(statuses),
                )
            )
            if plan.kind == PlanKind.GENERAL:
                evaluations.append(
                    Evaluation(
                        organization=org,
                        appraisal=appraisals[plan.employee_id],
                        plan=plan,
                        employee_id=plan.employee_id,
                        kind=EvaluationKind.SELF,
                        reviewer_id=plan.employee_id,
                        status=EvaluationStatus.SUBMITTED,
                    )
                )
        Evaluation.objects.bulk_create(evaluations)
        of_plan: dict[int, list[Evaluation]] = {}
        for evaluation in evaluations:
            of_plan.setdefault(evaluation.plan_id, []).append(evaluation)

        def value() -> tuple[Decimal | None, bool]:
            if variety and rng.random() < 0.1:
                return None, True
            return Decimal(rng.randint(1, 5)), False

        goal_ratings = []
        for goal in goals:
            for evaluation in of_plan[goal.plan_id]:
                rating, na = value()
                goal_ratings.append(
                    GoalRating(
                        organization=org,
                        evaluation=evaluation,
                        goal=goal,
                        value=rating,
                        not_applicable=na,
                    )
                )
        GoalRating.objects.bulk_create(goal_ratings)
        competency_ratings = []
        for use in uses:
            for evaluation in of_plan[use.plan_id]:
                rating, na = value()
                competency_ratings.append(
                    CompetencyRating(
                        organization=org,
                        evaluation=evaluation,
                        plan_competency=use,
                        value=rating,
                        not_applicable=na,
                    )
                )
        CompetencyRating.objects.bulk_create(competency_ratings)
    return cycle


def main() -> int:
    return run_in_bench_database(run)


def run(owner: str) -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from appraisals.recompute import recompute_cycle
    from organizations.models import Employee, Organization
    from organizations.tenancy import tenant_context

    where = database_description()
    print(f"Cycle recompute benchmark on {where}")
    cycles: dict[str, tuple[Organization, Any]] = {}
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
        organization = Organization.objects.get(slug=slug)
        with tenant_context(organization):
            people = list(Employee.objects.order_by("pk"))
        cycle = seed_cycle(organization, people, seed=SEED)
        seconds = time.perf_counter() - started
        print(f"  seed {size:>5} employees with plans and ratings: {seconds:6.2f} s")
        cycles[slug] = (organization, cycle)
    analyze(owner)

    def recompute(slug: str) -> tuple[float, int]:
        organization, cycle = cycles[slug]
        started = time.perf_counter()
        with tenant_context(organization):
            count = recompute_cycle(cycle)
        return time.perf_counter() - started, count

    queries: dict[str, int] = {}
    updated: dict[str, int] = {}
    for slug in SIZES:
        for _ in range(WARMUP):
            recompute(slug)
        with CaptureQueriesContext(connection) as captured:
            _seconds, updated[slug] = recompute(slug)
        queries[slug] = len(captured)
    timings: dict[str, list[float]] = {slug: [] for slug in SIZES}
    for _ in range(REPEATS):
        # Alternate, so drift in machine load hits both sizes alike.
        for slug in SIZES:
            timings[slug].append(recompute(slug)[0])

    print(f"\n  recompute_cycle, median of {REPEATS} runs:")
    print(f"  {'employees':>9}  {'updated':>7}  {'queries':>7}  {'median ms':>9}")
    medians: dict[str, float] = {}
    for slug, size in SIZES.items():
        medians[slug] = statistics.median(timings[slug])
        print(
            f"  {size:>9}  {updated[slug]:>7}  {queries[slug]:>7}"
            f"  {medians[slug] * 1000:>9.1f}"
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
