"""How a whole-cycle score recompute grows with the organisation: queries and time.

Seeds two organisations with ``seed_scale`` (100 and 1,000 employees) in a throwaway
database, gives each a review cycle in which every employee has a general plan and two
engagement plans with goals, a competency and approved evaluations (``seed_cycle``,
bulk inserts only), then recomputes each cycle with ``appraisals.scores``
``recompute_cycle``, alternating between the two sizes, and prints the query count
of one recompute (must be equal: the recompute is set-based) and the median wall time,
with the large/small ratio of each.

Run it with ``make bench``; it needs the environment of ``make test`` (see
bench/README.md; the throwaway database comes from bench/harness.py).
``seed_cycle`` is also what the recompute tests use to build large cycles quickly.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

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

        def new_evaluation(plan: Plan, kind: str, reviewer_id: int, status: str) -> Any:
            return Evaluation(
                organization=org,
                appraisal=appraisals[plan.employee_id],
                plan=plan,
                employee_id=plan.employee_id,
                kind=kind,
                reviewer_id=reviewer_id,
                status=status,
            )

        evaluations = []
        for plan in plans:
            evaluations.append(
                new_evaluation(
                    plan, EvaluationKind.REVIEW, reviewer.pk, rng.choice(statuses)
                )
            )
            if plan.kind == PlanKind.GENERAL:
                evaluations.append(
                    new_evaluation(
                        plan,
                        EvaluationKind.SELF,
                        plan.employee_id,
                        EvaluationStatus.SUBMITTED,
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

        def rate(model: Any, items: Sequence[Any], field: str) -> None:
            """A rating of each item by every evaluation of its plan, bulk-inserted."""
            ratings = []
            for item in items:
                for evaluation in of_plan[item.plan_id]:
                    rating, na = value()
                    ratings.append(
                        model(
                            organization=org,
                            evaluation=evaluation,
                            **{field: item},
                            value=rating,
                            not_applicable=na,
                        )
                    )
            model.objects.bulk_create(ratings)

        rate(GoalRating, goals, "goal")
        rate(CompetencyRating, uses, "plan_competency")
    return cycle


def main() -> int:
    return run_in_bench_database(run)


def run(owner: str) -> int:
    from appraisals.scores import recompute_cycle
    from organizations.models import Employee, Organization
    from organizations.tenancy import tenant_context

    where = database_description()
    print(f"Cycle recompute benchmark on {where}")
    cycles: dict[str, tuple[Organization, Any]] = {}
    for slug, size in SIZES.items():
        started = time.perf_counter()
        seed_organization(slug, size, SEED, people_only=True)
        organization = Organization.objects.get(slug=slug)
        with tenant_context(organization):
            people = list(Employee.objects.order_by("pk"))
        cycle = seed_cycle(organization, people, seed=SEED)
        seconds = time.perf_counter() - started
        print(f"  seed {size:>5} employees with plans and ratings: {seconds:6.2f} s")
        cycles[slug] = (organization, cycle)
    analyze(owner)

    updated: dict[str, int] = {}

    def recompute(slug: str) -> float:
        """Seconds of one recompute; how many appraisals it stored goes to
        ``updated`` (the same number on every run)."""
        organization, cycle = cycles[slug]
        started = time.perf_counter()
        with tenant_context(organization):
            count = recompute_cycle(cycle)
        elapsed = time.perf_counter() - started
        updated[slug] = count
        return elapsed

    queries, timings = measure(list(SIZES), recompute, warmup=WARMUP, repeats=REPEATS)
    return report(
        SIZES,
        queries,
        timings,
        header=(
            f"\n  recompute_cycle, median of {REPEATS} runs:\n"
            f"  {'employees':>9}  {'updated':>7}  {'queries':>7}  {'median ms':>9}"
        ),
        row=lambda slug, median: (
            f"  {SIZES[slug]:>9}  {updated[slug]:>7}  {queries[slug]:>7}"
            f"  {median * 1000:>9.1f}"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
