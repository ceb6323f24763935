"""The set-based recompute stores exactly what recomputing each appraisal alone
stores, and exactly what the reference computation (every rating loaded, every rule
in Python) gives, on randomised cycles: mixed weights, missing, unrated and N/A
ratings, ratings of another plan's items, evaluations that do not count, plans partly
or wholly outside the cycle, every engagement weighting, client satisfaction."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from appraisals import scores
from appraisals.enums import EvaluationKind
from appraisals.models import Appraisal, CompetencyRating, Evaluation, GoalRating
from bench.review_cycle import seed_cycle
from engagements.enums import PlanKind
from engagements.models import Goal, Plan, PlanCompetency, ReviewCycle
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.feedback_factories import ClientSurveyFactory, ClientSurveyRatingFactory

pytestmark = pytest.mark.django_db
D = Decimal
SEEDS = [3, 17, 29, 41, 53]


def hundredths(rng: random.Random, low: int, high: int) -> Decimal:
    """A random number with two decimals in ``[low / 100, high / 100]``."""
    return D(rng.randint(low, high)) / 100


def randomise(org: Organization, cycle: ReviewCycle, rng: random.Random) -> None:
    """Shake every input of ``cycle`` that a score depends on."""
    with tenant_context(org):
        cycle.engagement_weighting = rng.choice(["effort", "equal", "custom"])
        cycle.general_weight = hundredths(rng, 0, 10000)
        cycle.csat_weight = rng.choice([D(0), hundredths(rng, 1, 5000)])
        cycle.save()
        plans = list(Plan.objects.filter(cycle=cycle))
        for plan in plans:
            plan.goal_weight = hundredths(rng, 0, 10000)
            if plan.kind == PlanKind.ENGAGEMENT:
                plan.allocation = hundredths(rng, 0, 10000)
                plan.custom_weight = rng.choice([None, D(0), hundredths(rng, 1, 9000)])
                # Some plans end before the cycle starts: no day inside it.
                plan.start_date = date(2025, 7, 1) + timedelta(days=rng.randint(0, 400))
                plan.end_date = plan.start_date + timedelta(days=rng.randint(0, 200))
        Plan.objects.bulk_update(
            plans,
            [
                "goal_weight",
                "allocation",
                "custom_weight",
                "start_date",
                "end_date",
            ],
        )
        for model in (Goal, PlanCompetency):
            items = list(model.objects.filter(plan__cycle=cycle))
            for item in items:
                item.weight = hundredths(rng, 1, 99999)
            model.objects.bulk_update(items, ["weight"])
        for model in (GoalRating, CompetencyRating):
            ratings = list(model.objects.filter(evaluation__appraisal__cycle=cycle))
            missing = []
            for rating in ratings:
                roll = rng.random()
                if roll < 0.1:
                    missing.append(rating.pk)
                rating.value = D(rng.randint(2, 10)) / 2 if roll >= 0.3 else None
                rating.not_applicable = 0.2 <= roll < 0.3
            model.objects.bulk_update(ratings, ["value", "not_applicable"])
            model.objects.filter(pk__in=missing).delete()
        _rate_items_of_other_plans(plans, rng)
        if cycle.csat_weight:
            _client_ratings(org, cycle, plans, rng)


def _rate_items_of_other_plans(plans: list[Plan], rng: random.Random) -> None:
    """A few general reviews rate a goal of one of the employee's engagement plans:
    the rules ignore a rating of an item that is not on the evaluation's plan."""
    general = {p.employee_id: p for p in plans if p.kind == PlanKind.GENERAL}
    for plan in plans:
        if plan.kind != PlanKind.ENGAGEMENT or rng.random() < 0.7:
            continue
        review = Evaluation.objects.filter(
            plan=general[plan.employee_id], kind=EvaluationKind.REVIEW
        ).first()
        goal = Goal.objects.filter(plan=plan).first()
        if review is not None and goal is not None:
            GoalRating.objects.get_or_create(
                organization_id=plan.organization_id,
                evaluation=review,
                goal=goal,
                defaults={"value": D(1)},
            )


def _client_ratings(
    org: Organization, cycle: ReviewCycle, plans: list[Plan], rng: random.Random
) -> None:
    """Answered client surveys rating some engagement plans' employees, some before
    the cycle started (those do not count)."""
    for plan in plans:
        if plan.kind != PlanKind.ENGAGEMENT or rng.random() < 0.5:
            continue
        for _ in range(rng.randint(1, 3)):
            answered = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(
                days=rng.randint(-60, 200)
            )
            survey = ClientSurveyFactory(
                organization=org,
                engagement=plan.engagement,
                answered_at=answered,
                overall=3,
            )
            ClientSurveyRatingFactory(
                survey=survey, employee=plan.employee, rating=rng.randint(1, 5)
            )


def stored(org: Organization, cycle: ReviewCycle) -> dict[str, dict[int, Any]]:
    """What is stored: per appraisal its four figures and snapshot, per evaluation
    its three figures."""
    with tenant_context(org):
        return {
            "appraisals": {
                pk: tuple(rest)
                for pk, *rest in Appraisal.objects.filter(cycle=cycle).values_list(
                    "pk",
                    "general_score",
                    "engagement_score",
                    "final_score",
                    "percent",
                    "snapshot",
                )
            },
            "evaluations": {
                pk: tuple(rest)
                for pk, *rest in Evaluation.objects.filter(
                    appraisal__cycle=cycle
                ).values_list("pk", "goal_score", "competency_score", "score")
            },
        }


def reference(org: Organization, cycle: ReviewCycle) -> dict[str, dict[int, Any]]:
    """What the reference computation says should be stored."""
    with tenant_context(org):
        figures = scores.figures_to_store(list(Appraisal.objects.filter(cycle=cycle)))
    return {
        "appraisals": {
            pk: (
                f.general_score,
                f.engagement_score,
                f.final_score,
                f.percent,
                f.snapshot,
            )
            for pk, f in figures.appraisals.items()
        },
        "evaluations": {
            pk: (f.goal_score, f.competency_score, f.score)
            for pk, f in figures.evaluations.items()
        },
    }


def forget(org: Organization, cycle: ReviewCycle) -> None:
    with tenant_context(org):
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


def variety(expected: dict[str, dict[int, Any]]) -> set[str]:
    """Which of the cases worth covering the expected snapshots contain."""
    found = set()
    for *_figures, snapshot in expected["appraisals"].values():
        for plan in snapshot["plans"]:
            found.add(f"{plan['kind']} {'counted' if plan['counted'] else 'left out'}")
            ratings = [r["rating"] for r in plan["goals"] + plan["competencies"]]
            if None in ratings:
                found.add("N/A or unrated")
            if plan["csat"] is not None:
                found.add("client satisfaction")
            if plan["kind"] == "engagement" and plan["days"] == 0:
                found.add("no day inside the cycle")
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_set_based_one_by_one_and_reference_store_the_same_figures(
    org: Organization, seed: int
) -> None:
    rng = random.Random(seed)
    cycle = seed_cycle(org, 8, seed=seed, variety=True, goals=3, competencies=2)
    randomise(org, cycle, rng)
    expected = reference(org, cycle)

    with tenant_context(org):
        scores.recompute_cycle(cycle)
    together = stored(org, cycle)
    forget(org, cycle)
    with tenant_context(org):
        for pk in expected["appraisals"]:
            scores.recompute_appraisals([pk])
    one_by_one = stored(org, cycle)
    forget(org, cycle)
    with tenant_context(org):
        scores.store_rated(list(Appraisal.objects.filter(cycle=cycle)))
    by_reference = stored(org, cycle)

    assert together == expected
    assert one_by_one == expected
    assert by_reference == expected
    assert {"general counted", "engagement counted", "N/A or unrated"} <= variety(
        expected
    )


def test_the_seeds_cover_every_case_worth_covering(org: Organization) -> None:
    found: set[str] = set()
    weightings = set()

    for seed in SEEDS:
        rng = random.Random(seed)
        cycle = seed_cycle(
            org, 8, seed=seed, name=f"Cycle {seed}", variety=True, goals=3
        )
        randomise(org, cycle, rng)
        found |= variety(reference(org, cycle))
        weightings.add(cycle.engagement_weighting)

    assert found == {
        "general counted",
        "general left out",
        "engagement counted",
        "engagement left out",
        "N/A or unrated",
        "client satisfaction",
        "no day inside the cycle",
    }
    assert weightings == {"effort", "equal", "custom"}
